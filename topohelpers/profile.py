"""Scale profiles: one environment variable decides how big every chapter runs.

``smoke`` is for CI (seconds per chapter), ``book`` is what the rendered site shows
(minutes per chapter on a laptop CPU), ``paper`` is the papers' own scale (a GPU).
A profile changes sizes only, never the method.
"""

from __future__ import annotations

import os

PROFILES = ("smoke", "book", "paper")
ENV_VAR = "TOPO_PROFILE"
DEFAULT = "book"


def profile() -> str:
    """Return the active profile, read from ``$TOPO_PROFILE`` (default ``"book"``).

    Examples
    --------
    >>> import os
    >>> os.environ["TOPO_PROFILE"] = "smoke"
    >>> profile()
    'smoke'
    >>> del os.environ["TOPO_PROFILE"]
    >>> profile()
    'book'
    """
    name = os.environ.get(ENV_VAR, DEFAULT).strip().lower() or DEFAULT
    if name not in PROFILES:
        raise ValueError(
            f"${ENV_VAR}={name!r} is not a profile: set it to one of {', '.join(PROFILES)}."
        )
    return name


def by_profile(*, smoke, book, paper, name: str | None = None):
    """Pick the value that belongs to the active profile (or to ``name``).

    Examples
    --------
    >>> by_profile(smoke=500, book=20_000, paper=100_000, name="smoke")
    500
    """
    name = profile() if name is None else name
    if name not in PROFILES:
        raise ValueError(f"name={name!r} is not a profile: use one of {', '.join(PROFILES)}.")
    return {"smoke": smoke, "book": book, "paper": paper}[name]
