"""Pass rules: what a claim must show to count as reproduced, written before any number.

Every report-card row of the book is judged by one of these rules. A rule is a small frozen
object with a ``text`` (shown on the page beside the row) and ``holds(value)``; the thresholds
are the named constants below, so that a reader can find, in one place, what "a circle",
"a loop" or "a tree" means in this book. Each row also applies its rule to a *null*: the same
measurement where the claim is known to be false (random filters of the same size, a shuffled
order, a chance-level network). A rule that also holds on its null cannot tell the claim from
noise, and the row is not reproduced.

Examples
--------
>>> rule = Bars(count=1)
>>> rule.holds([1.3, 0.2, 0.1]), rule.holds([0.35, 0.1]), rule.holds([1.2, 0.9, 0.1])
(True, False, False)
>>> print(rule.text)
exactly 1 H1 bar longer than 0.4, the last of them ≥ 2× the next
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .checks import int_at_least

LONG_BAR = 0.4
"""Minimum lifetime of an H1 bar of unit-normalized filters that counts as a circle: random
clouds of a few hundred unit filters make bars up to about 0.3; the ideal primary circle makes
one of about 1.4."""
GAP = 2.0
"""A count of bars *stands out* when its last bar lives at least this many times longer than
the next."""
COVER_SHARE = 2 / 3
"""A Mapper shape counts when it appears in at least this share of the covers around the paper's."""
COVER_STEPS = (0.8, 1.0, 1.25)
"""The neighbourhood of covers: the paper's resolution and gain each times these factors
(3 × 3 covers)."""
ALPHA = 0.05
"""Significance level of comparisons between groups of networks."""
MIN_SERIES = 10
"""Fewest points a correlation over time is computed on."""


def _lifetimes(value, dim):
    """Finite positive lifetimes, longest first, from a Persistence or a 1-D array."""
    lt = (
        value.lifetimes[dim]
        if hasattr(value, "lifetimes")
        else np.asarray(value, dtype=float).ravel()
    )
    lt = np.sort(lt[np.isfinite(lt) & (lt > 0)])[::-1]
    return lt


def _plural(n, word):
    return f"{n} {word}" + ("" if n == 1 else "s")


class Rule:
    """Base class: ``text`` says the rule in words, ``holds(value)`` applies it."""

    text: str = ""

    def holds(self, value) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def __str__(self):
        return self.text


@dataclass(frozen=True)
class Bars(Rule):
    """Exactly ``count`` bars of dimension ``dim`` live longer than ``min_lifetime``, and the
    last of them at least ``gap`` times longer than the next one. The value is a
    :class:`~topohelpers.Persistence` or the lifetimes (inf and zero bars are ignored)."""

    count: int = 1
    dim: int = 1
    min_lifetime: float = LONG_BAR
    gap: float = GAP

    def __post_init__(self):
        int_at_least("count", self.count, 1, why=" (use NoBars for 'no bar')")

    @property
    def text(self):
        return (
            f"exactly {_plural(self.count, f'H{self.dim} bar')} longer than {self.min_lifetime:g}, "
            f"the last of them ≥ {self.gap:g}× the next"
        )

    def holds(self, value) -> bool:
        lt = _lifetimes(value, self.dim)
        if np.sum(lt > self.min_lifetime) != self.count:
            return False
        nxt = lt[self.count] if len(lt) > self.count else 0.0
        return bool(nxt == 0 or lt[self.count - 1] >= self.gap * nxt)


@dataclass(frozen=True)
class NoBars(Rule):
    """No bar of dimension ``dim`` lives longer than ``min_lifetime`` (a claim of absence; its
    null is a cloud that has the shape, e.g. the ideal circle with the same number of points)."""

    dim: int = 1
    min_lifetime: float = LONG_BAR

    @property
    def text(self):
        return f"no H{self.dim} bar longer than {self.min_lifetime:g}"

    def holds(self, value) -> bool:
        return bool(np.sum(_lifetimes(value, self.dim) > self.min_lifetime) == 0)


@dataclass(frozen=True)
class OverCovers(Rule):
    """A Mapper count (``what``: ``"loops"``, ``"components"`` or ``"branches"``) equals
    ``count`` (or lies in ``[count, at_most]``) in at least ``share`` of a neighbourhood of
    covers. The value is the sequence of counts, one per cover (see
    :func:`topohelpers.over_covers`, or its :class:`~topohelpers.CoverSweep`)."""

    what: str = "loops"
    count: int = 1
    at_most: int | None = None
    share: float = COVER_SHARE

    def __post_init__(self):
        if self.what not in ("loops", "components", "branches"):
            raise ValueError(
                f"what must be 'loops', 'components' or 'branches', got {self.what!r}."
            )
        if self.at_most is not None and self.at_most < self.count:
            raise ValueError(f"at_most ({self.at_most}) must be ≥ count ({self.count}).")

    @property
    def text(self):
        single = self.at_most in (None, self.count)
        n = str(self.count) if single else f"{self.count}–{self.at_most}"
        what = (
            self.what[:-1]
            if single and self.count == 1 and self.what != "branches"
            else ("branch" if single and self.count == 1 else self.what)
        )
        return f"{n} {what} in ≥ {self.share:.0%} of the covers around the paper's"

    def holds(self, value) -> bool:
        counts = np.asarray(getattr(value, self.what, value), dtype=float).ravel()
        if counts.size == 0:
            raise ValueError("value must hold one count per cover; got none.")
        hi = self.count if self.at_most is None else self.at_most
        return bool(np.mean((counts >= self.count) & (counts <= hi)) >= self.share)


@dataclass(frozen=True)
class Tree(Rule):
    """A tree: one component and no loop (triangles filled) in at least ``share`` of the covers.
    The value is a :class:`~topohelpers.CoverSweep` or a sequence of ``(components, loops)``
    pairs, one per cover."""

    share: float = COVER_SHARE

    @property
    def text(self):
        return f"one component and no loop in ≥ {self.share:.0%} of the covers around the paper's"

    def holds(self, value) -> bool:
        pairs = np.asarray(
            value.pairs() if hasattr(value, "pairs") else value, dtype=float
        ).reshape(-1, 2)
        return bool(np.mean((pairs[:, 0] == 1) & (pairs[:, 1] == 0)) >= self.share)


@dataclass(frozen=True)
class AtLeast(Rule):
    """A number at least ``threshold`` (``what`` names it on the page)."""

    threshold: float
    what: str = "value"

    @property
    def text(self):
        return f"{self.what} ≥ {self.threshold:g}"

    def __post_init__(self):
        if isinstance(self.threshold, bool) or not np.isfinite(self.threshold):
            raise ValueError(f"threshold must be a finite number, got {self.threshold!r}.")

    def holds(self, value) -> bool:
        return bool(float(np.mean(value)) >= self.threshold)


@dataclass(frozen=True)
class Within(Rule):
    """A number (the mean, if several) within ``tolerance`` of ``target``."""

    target: float
    tolerance: float
    what: str = "value"

    @property
    def text(self):
        return f"{self.what} within ±{self.tolerance:g} of {self.target:g}"

    def holds(self, value) -> bool:
        return bool(abs(float(np.mean(value)) - self.target) <= self.tolerance)


@dataclass(frozen=True)
class Greater(Rule):
    """The first group is larger than the second beyond chance: the value is
    ``(difference, p)`` with the p-value of a one-sided test; holds when difference > 0 and
    p < ``alpha``."""

    alpha: float = ALPHA
    what: str = "first group"

    @property
    def text(self):
        return f"{self.what} larger, one-sided p < {self.alpha:g}"

    def holds(self, value) -> bool:
        diff, p = value
        return bool(diff > 0 and p < self.alpha)


@dataclass(frozen=True)
class RiseTogether(Rule):
    """Two series rise together beyond their common trend: Spearman ρ of their step-to-step
    changes ≥ ``min_rho``, on at least ``min_points`` points. The value is ``(x, y)``."""

    min_rho: float = 0.5
    min_points: int = MIN_SERIES

    @property
    def text(self):
        return (
            f"Spearman ρ of the step-to-step changes ≥ {self.min_rho:g}, "
            f"on ≥ {self.min_points} points"
        )

    def holds(self, value) -> bool:
        return bool(rise_together(*value, min_points=self.min_points) >= self.min_rho)


def rise_together(x, y, *, min_points: int = MIN_SERIES) -> float:
    """Spearman ρ of the first differences of two series (nan with fewer than ``min_points``
    points): two quantities that both just grow with time give ρ ≈ 0 here."""
    from scipy.stats import spearmanr

    int_at_least("min_points", min_points, 3, why=" (two changes to correlate)")
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(
            f"x and y must be 1-D series of one length, got shapes {x.shape} and {y.shape}."
        )
    if len(x) < min_points:
        return float("nan")
    return float(spearmanr(np.diff(x), np.diff(y))[0])


def null_filters(n: int, dim: int, *, random_state=0) -> np.ndarray:
    """``n`` random filters of dimension ``dim`` (standard Gaussian): the null cloud of a
    shape claim about ``n`` filters of that size."""
    if int(n) != n or n < 1 or int(dim) != dim or dim < 2:
        raise ValueError(f"n must be ≥ 1 and dim ≥ 2 (integers), got n={n!r}, dim={dim!r}.")
    return np.random.default_rng(random_state).standard_normal((int(n), int(dim)))


UNLIKE = ("scale", "stand-in data", "other weights", "other method")
"""Why a row is not comparable with the paper: smaller than the paper's scale, data that
stands in for the paper's, weights that are not the paper's, or a method the paper did not use."""


def unlike_paper(*, at_least=(), trained=None, **params) -> dict:
    """The ``scale`` entry of a row's ``unlike_paper``: every parameter ``name=(ours, paper)``
    that differs, in words; empty when all equal the paper's. Parameters named in
    ``at_least`` (e.g. ``("seeds", "networks")``; names not given are ignored) count as the
    paper's when ours is at least as large: more repeats than the paper's is not a smaller run.
    ``trained=(accuracy, rule)`` adds to the scale entry when the network's accuracy fails
    ``rule`` (e.g. ``AtLeast(0.72)``): a shape claim — above all a claim of absence — about a
    network that has not trained as far as the paper's is no finding.

    Examples
    --------
    >>> unlike_paper(networks=(6, 100), iterations=(40_000, 40_000))
    {'scale': 'networks 6 (paper 100)'}
    >>> unlike_paper(epochs=(70, 70), seeds=(20, 3), at_least=("seeds",))
    {}
    >>> unlike_paper(epochs=(70, 70), trained=(0.23, AtLeast(0.72, what="test accuracy")))
    {'scale': "test accuracy 23.0%, short of the paper's (test accuracy ≥ 0.72)"}
    """
    at_least = (at_least,) if isinstance(at_least, str) else tuple(at_least)
    diffs = []
    for name, pair in params.items():
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise ValueError(f"{name} must be a pair (ours, paper's), got {pair!r}.")
        ours, paper = pair
        if ours != paper and not (name in at_least and ours >= paper):
            f = (lambda v: f"{v:,}") if all(isinstance(v, (int, np.integer)) for v in pair) else str
            diffs.append(f"{name.replace('_', ' ')} {f(ours)} (paper {f(paper)})")
    out = ", ".join(diffs)
    if trained is not None:
        accuracy, rule = trained
        if not rule.holds(accuracy):
            out = "; ".join(
                filter(
                    None,
                    [
                        out,
                        f"{getattr(rule, 'what', 'accuracy')} {float(accuracy):.1%}, "
                        f"short of the paper's ({rule.text})",
                    ],
                )
            )
    return {"scale": out} if out else {}
