"""Argument checks shared by the package: each names the argument and says what would do.

Examples
--------
>>> positive_int("steps", 10)
10
>>> positive_int("n_members", 2.5)
Traceback (most recent call last):
...
ValueError: n_members must be a positive integer, got 2.5.
"""

from __future__ import annotations

import math

import numpy as np


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def positive_int(name: str, value) -> int:
    """``value`` as an ``int`` if it is an integer ≥ 1 (``True`` is not an integer here)."""
    if not _is_int(value) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def nonnegative_int(name: str, value, *, what: str = "") -> int:
    """``value`` as an ``int`` if it is an integer ≥ 0."""
    if not _is_int(value) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer{what}, got {value!r}.")
    return int(value)


def int_at_least(name: str, value, minimum: int, *, why: str = "") -> int:
    """``value`` as an ``int`` if it is an integer ≥ ``minimum``; ``why`` adds the reason.

    >>> int_at_least("size", 1, 2, why=" (a filter needs a centre and a neighbour)")
    Traceback (most recent call last):
    ...
    ValueError: size must be an integer >= 2 (a filter needs a centre and a neighbour), got 1.
    """
    if not _is_int(value) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}{why}, got {value!r}.")
    return int(value)


def positive_number(name: str, value) -> float:
    """``value`` as a ``float`` if it is a finite real number > 0."""
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"{name} must be a finite positive number, got {value!r}.")
    return float(value)


def nonnegative_number(name: str, value) -> float:
    """``value`` as a ``float`` if it is a finite real number ≥ 0."""
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not math.isfinite(value)
        or value < 0
    ):
        raise ValueError(f"{name} must be a finite non-negative number, got {value!r}.")
    return float(value)


def one_of(name: str, value, choices):
    """``value`` if it is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}.")
    return value
