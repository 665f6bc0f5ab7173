"""One filter cloud, every measure: the pipeline the chapters repeat.

filters → mean-centre and normalize → density filtration p(k, p) → Rips persistence (with
landmarks) + Mapper + distances to the ideal models (primary circle, three circles, Klein
bottle). ``analyze_filters`` returns all of it in a :class:`CloudReport`, whose ``row()``
is one line of a results table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .checks import positive_number
from .clouds.filtration import cloud_k, density_filtration
from .clouds.ideal import fit_klein_bottle, fit_primary_circle, fit_three_circle
from .clouds.weights import normalize
from .rules import GAP, LONG_BAR, Bars
from .topology.mapper import Mapper
from .topology.persistence import Persistence, rips

NEAR = 0.5
"""Residual under which a filter counts as *on* an ideal model (≈ 29° from its nearest ideal
filter)."""


@dataclass(frozen=True, repr=False)
class CloudReport:
    core: np.ndarray  # the kept, normalized filters
    k: int | None
    p: float | None
    n_filters: int  # before the filtration
    persistence: Persistence
    mapper: Mapper | None
    primary_residual: np.ndarray  # per kept filter
    klein_residual: np.ndarray
    three_circle: tuple  # (circle, angle, residual) per kept filter
    clear_gap: float
    n_dropped: int = 0  # vanishing filters removed before normalizing (drop_vanishing=True)

    @property
    def h1(self) -> tuple:
        """(count, ratio): how many H1 bars stand before the largest drop, and that drop."""
        return self.persistence.largest_gap(1)

    @property
    def circle(self) -> bool:
        """The rule :class:`~topohelpers.rules.Bars` (count 1, gap ``clear_gap``): exactly one H1
        bar longer than :data:`~topohelpers.rules.LONG_BAR`, at least ``clear_gap`` times
        longer than the next."""
        return Bars(count=1, gap=self.clear_gap).holds(self.persistence)

    @property
    def longest_h1(self) -> float:
        return float(self.persistence.longest(1)[0])

    @property
    def near_primary(self) -> float:
        """Share of kept filters within :data:`NEAR` of the primary circle."""
        return float(np.mean(self.primary_residual < NEAR))

    def far_from_klein(self, distance: float = NEAR) -> float:
        """Share of kept filters farther than ``distance`` from the Klein bottle."""
        return float(np.mean(self.klein_residual > distance))

    def on_secondary(self, circle: int) -> float:
        """Share of kept filters within :data:`NEAR` of secondary circle ``circle`` (1: θ = 0,
        2: θ = π/2) and farther than that from the primary circle: lines, not edges."""
        which, _, res = self.three_circle
        return float(np.mean((which == circle) & (res < NEAR) & (self.primary_residual >= NEAR)))

    def row(self) -> dict:
        count, ratio = self.h1
        out = {
            "filters": self.n_filters,
            "vanishing": self.n_dropped,
            "k": self.k,
            "p": self.p,
            "kept": len(self.core),
            "H1 bars": count,
            "drop ratio": round(ratio, 1),
            "longest H1": round(self.longest_h1, 3),
            f"H1 > {LONG_BAR:g}": self.persistence.n_bars(1, longer_than=LONG_BAR),
            "near circle": round(self.near_primary, 3),
            "far from Klein": round(self.far_from_klein(), 3),
        }
        if self.mapper is not None:
            out.update(
                {
                    "Mapper loops": self.mapper.summary_.n_loops,
                    "Mapper components": self.mapper.summary_.n_components,
                }
            )
        return out

    def to_arrays(self) -> dict:
        """Everything but the Mapper graph as named arrays (the graph is refitted by
        :meth:`from_arrays` from the kept filters: it is deterministic). What the cache stores; see
        :func:`topohelpers.sweeps.sweep`."""
        which, angle, residual = self.three_circle
        out = {f"persistence_{k}": v for k, v in self.persistence.to_arrays().items()}
        out.update(
            core=self.core,
            numbers=np.array(
                [
                    -1 if self.k is None else self.k,
                    np.nan if self.p is None else self.p,
                    self.n_filters,
                    self.clear_gap,
                    self.n_dropped,
                ],
                dtype=np.float64,
            ),
            primary_residual=self.primary_residual,
            klein_residual=self.klein_residual,
            three_which=which,
            three_angle=angle,
            three_residual=residual,
        )
        if self.mapper is not None:
            out["mapper"] = np.array([self.mapper.resolution, self.mapper.gain], dtype=np.float64)
        return out

    @classmethod
    def from_arrays(cls, arrays: dict) -> CloudReport:
        """Inverse of :meth:`to_arrays`.

        Examples
        --------
        >>> X, _ = __import__("topohelpers").primary_circle(200, noise=0.05, random_state=0)
        >>> r = analyze_filters(X, k=10, p=0.5, resolution=10)
        >>> s = CloudReport.from_arrays(r.to_arrays())
        >>> s.row() == r.row(), s.mapper.summary_ == r.mapper.summary_
        (True, True)
        """
        pers = Persistence.from_arrays(
            {k[len("persistence_") :]: v for k, v in arrays.items() if k.startswith("persistence_")}
        )
        k, p, n_filters, clear_gap, n_dropped = (float(x) for x in arrays["numbers"])
        core = np.asarray(arrays["core"])
        graph = None
        if "mapper" in arrays:
            resolution, gain = (float(x) for x in arrays["mapper"])
            graph = Mapper(resolution=int(resolution), gain=gain).fit(core)
        return cls(
            core,
            None if k < 0 else int(k),
            None if np.isnan(p) else p,
            int(n_filters),
            pers,
            graph,
            np.asarray(arrays["primary_residual"]),
            np.asarray(arrays["klein_residual"]),
            tuple(np.asarray(arrays[f"three_{x}"]) for x in ("which", "angle", "residual")),
            clear_gap,
            int(n_dropped),
        )

    def __repr__(self):
        return "CloudReport(" + ", ".join(f"{k}={v}" for k, v in self.row().items()) + ")"


VANISHING = 1e-3
"""A filter *vanishes* when its mean-centred norm is below this fraction of the median one."""


def vanishing(F, *, rel: float = VANISHING) -> np.ndarray:
    """Boolean mask of the filters without a direction: constant, or decayed to (almost)
    nothing — centred norm below ``rel`` × the median centred norm of the cloud. Weight decay
    drives the filters of dead channels there; normalized, they would be pure noise.

    Examples
    --------
    >>> vanishing(np.array([[0.0, 1.0, 2.0], [1e-9, 0.0, 0.0], [3.0, 3.0, 3.0], [2.0, 0.0, 1.0]]))
    array([False,  True,  True, False])
    """
    positive_number("rel", rel)
    F = np.asarray(F, dtype=np.float64)
    norms = np.linalg.norm(F - F.mean(axis=1, keepdims=True), axis=1)
    return norms <= rel * np.median(norms)


def analyze_filters(
    F,
    *,
    k: int | None = None,
    p: float | None = None,
    resolution: int = 30,
    gain: float = 3.0,
    mapper: bool = True,
    n_landmarks: int | None = 800,
    clear_gap: float = GAP,
    method: str = "auto",
    drop_vanishing: bool = False,
    k_scale: str = "given",
    n_paper: int | None = None,
) -> CloudReport:
    """Normalize the spatial filters ``F`` (n, h·w), keep p(k, p) of them (``k=p=None``: all),
    and measure the rest: Rips persistence up to H1 (``n_landmarks`` landmarks when larger),
    Mapper(``resolution``, ``gain``) with the PCA lenses (``mapper=False`` skips it), and the
    residual of every kept filter to the primary circle, the three-circle model and the Klein
    bottle. ``drop_vanishing=True`` first removes the filters of :func:`vanishing` (their
    number is reported as ``n_dropped``); otherwise a constant filter is an error.
    ``k_scale`` (with ``n_paper``) fits a paper's ``k`` to the cloud that is left, as
    :func:`~topohelpers.clouds.filtration.cloud_k` says; the report's ``k`` is the one used.

    Examples
    --------
    >>> X, _ = __import__("topohelpers").primary_circle(300, noise=0.05, random_state=0)
    >>> r = analyze_filters(X, k=10, p=0.5, mapper=False)
    >>> r.circle, r.near_primary > 0.9
    (True, True)
    """
    F = np.asarray(F, dtype=np.float64)
    n_dropped = 0
    if drop_vanishing:
        dead = vanishing(F)
        n_dropped = int(dead.sum())
        F = F[~dead]
    X = normalize(F)
    if (k is None) != (p is None):
        raise ValueError(
            "give both k and p for a density filtration, or neither to keep every filter."
        )
    if k is not None:
        k = cloud_k(k, len(X), k_scale=k_scale, n_paper=n_paper)
    core = X if k is None else density_filtration(X, k=k, p=p, method=method)
    pers = rips(core, n_landmarks=n_landmarks if n_landmarks and len(core) > n_landmarks else None)
    graph = Mapper(resolution=resolution, gain=gain).fit(core) if mapper else None
    _, primary = fit_primary_circle(core)
    _, _, klein = fit_klein_bottle(core)
    return CloudReport(
        core,
        k,
        p,
        len(X),
        pers,
        graph,
        primary,
        klein,
        fit_three_circle(core),
        clear_gap,
        n_dropped,
    )
