"""Learning graphs (Gabella 2019): Mapper of a layer's (snapshots × neurons) weight cloud.

The lens is the L2 norm of each weight vector (trajectories grow away from the origin) or
PCA components; clusters come from DBSCAN; nodes are coloured by their mean training step.
A tree-shaped graph means trajectories that only ever split; its branches at the end of
training count how many different things the layer's neurons have become.

Gabella's own settings (his notebook, KeplerMapper 1.1) are :data:`GABELLA` (DBSCAN radius
and number of intervals per layer), :data:`GABELLA_LENS` (the L2 norm of the centred
PCA-20 coordinates, ``lens="pca_norm"``) and :data:`GABELLA_OVERLAP` — his
``overlap_perc=0.99`` translated to today's KeplerMapper by :func:`kmapper11_overlap`.
:func:`learning_sweep` measures a graph over a neighbourhood of these settings and
:func:`null_trajectories` gives the null cloud of a shape claim.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np
from sklearn.cluster import DBSCAN
from sklearn.decomposition import PCA

from ..checks import positive_int
from .mapper import GraphSummary, Mapper

LENSES = ("norm", "pca_norm", "pca")


def kmapper11_overlap(perc: float) -> float:
    """KeplerMapper ≤ 1.1's ``overlap_perc`` as today's overlap fraction: ``perc / (1 + perc)``.

    In KeplerMapper ≤ 1.1 interval i of n over the lens range [lo, hi] is
    ``[lo + i·c, lo + (i+1)·c + perc·c]`` with ``c = (hi − lo) / n`` (see
    :func:`kmapper11_intervals`): intervals of length ``(1 + perc)·c`` every ``c``, so
    neighbours share ``perc·c`` of their ``(1 + perc)·c``. From 1.2 on ``perc_overlap`` *is*
    that shared fraction, so Gabella's 0.99 is 0.99 / 1.99 ≈ 0.497 today (not 0.99, which
    now makes every interval span nearly the whole lens range).

    Examples
    --------
    >>> round(kmapper11_overlap(0.99), 4), kmapper11_overlap(0.0)
    (0.4975, 0.0)
    """
    if (
        isinstance(perc, bool)
        or not isinstance(perc, (int, float, np.number))
        or not (0 <= perc < np.inf)
    ):
        raise ValueError(
            "perc must be a finite number >= 0 (KeplerMapper 1.1's overlap_perc, e.g. 0.99), "
            f"got {perc!r}."
        )
    return float(perc) / (1.0 + float(perc))


def kmapper11_intervals(lo: float, hi: float, n_cubes: int, perc: float) -> np.ndarray:
    """The ``(n_cubes, 2)`` interval endpoints of KeplerMapper ≤ 1.1's cover of [lo, hi]:
    interval i is ``[lo + i·c, lo + (i+1)·c + perc·c]``, ``c = (hi − lo) / n_cubes``.

    Today's cover with overlap :func:`kmapper11_overlap` ``(perc)`` has the same lengths and
    spacing, centred on the range instead (shifted by ``perc·c / 2``).

    Examples
    --------
    >>> kmapper11_intervals(0, 1, 2, 0.5).tolist()
    [[0.0, 0.75], [0.5, 1.25]]
    """
    positive_int("n_cubes", n_cubes)
    kmapper11_overlap(perc)  # checks perc
    if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
        raise ValueError(f"lo and hi must be finite with hi > lo, got lo={lo!r}, hi={hi!r}.")
    c = (hi - lo) / n_cubes
    i = np.arange(n_cubes)
    return np.c_[lo + i * c, lo + (i + 1) * c + perc * c]


GABELLA_PERC = 0.99
"""``overlap_perc`` of Gabella's notebook (KeplerMapper 1.1's convention)."""
GABELLA_OVERLAP = kmapper11_overlap(GABELLA_PERC)
"""His cover in today's convention: ≈ 0.497 of each interval shared with the next."""
GABELLA = {"hidden1": (0.1, 30), "hidden2": (0.2, 25), "output": (0.5, 20)}
"""(DBSCAN eps, number of intervals) per layer of his 784 → 100 → 100 → 10 network (his
layers 0 / 1 / 2). The one-hidden-layer run of the paper has no published settings; the book
uses those of the layer in the same role (first hidden layer, output layer)."""
GABELLA_LENS = {"lens": "pca_norm", "pca_dims": 20, "min_samples": 2, "overlap": GABELLA_OVERLAP}
"""The rest of his Mapper: lens = L2 norm of the centred PCA-20 coordinates, DBSCAN(min_samples=2)
on those 20 coordinates, his cover."""


def _check_points(points):
    X = np.asarray(points, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"points must be a 2-D array (points × features), got shape {X.shape}.")
    if not np.isfinite(X).all():
        raise ValueError("points must be finite: the weight cloud holds nan or inf.")
    return X


def _lens_and_space(X, lens, pca_dims, n_lens_components):
    """The lens values (n, d) and the space DBSCAN clusters in."""
    if lens not in LENSES:
        raise ValueError(f"lens must be one of {LENSES}, got {lens!r}.")
    space = X
    if pca_dims is not None and pca_dims < X.shape[1]:
        space = PCA(n_components=min(pca_dims, len(X))).fit_transform(X)  # centred coordinates
    if lens == "norm":
        f = np.linalg.norm(X, axis=1)
    elif lens == "pca_norm":
        centred = space if space is not X else X - X.mean(axis=0)
        f = np.linalg.norm(centred, axis=1)
    else:
        f = PCA(n_components=n_lens_components).fit_transform(X)
    return f.reshape(len(X), -1), space


def _fit(space, f, *, n_cubes, overlap, eps, min_samples):
    if not 0 <= overlap < 1:
        raise ValueError(
            f"overlap must be in [0, 1) (today's KeplerMapper convention; for KeplerMapper 1.1's "
            f"overlap_perc use kmapper11_overlap(perc)), got {overlap!r}."
        )
    mapper = Mapper(
        resolution=n_cubes,
        gain=1.0 / (1.0 - overlap),
        metric="euclidean",
        clusterer=DBSCAN(eps=eps, min_samples=min_samples),
    )
    return mapper.fit(space, lens=f)


def learning_graph(
    points,
    *,
    lens: str = "norm",
    n_cubes: int = 25,
    overlap: float = 0.99,
    eps: float = 0.2,
    min_samples: int = 2,
    pca_dims: int | None = 20,
    n_lens_components: int = 3,
) -> Mapper:
    """Mapper of a weight cloud.

    ``lens`` is ``"norm"`` (L2 norm of each original weight vector), ``"pca_norm"`` (L2 norm
    of the centred coordinates in the ``pca_dims`` principal components — Gabella's lens) or
    ``"pca"`` (``n_lens_components`` principal components). Clustering is DBSCAN(``eps``,
    ``min_samples``) on the cloud reduced to ``pca_dims`` principal components (None: no
    reduction); ``overlap`` is the fraction of overlap between consecutive intervals in
    today's KeplerMapper convention (gain = 1 / (1 − overlap); KeplerMapper 1.1's
    ``overlap_perc`` p is ``kmapper11_overlap(p)``). DBSCAN's noise points belong to no node.
    Gabella's settings: ``learning_graph(X, **GABELLA_LENS, eps=GABELLA[layer][0],
    n_cubes=GABELLA[layer][1])``.
    """
    X = _check_points(points)
    f, space = _lens_and_space(X, lens, pca_dims, n_lens_components)
    return _fit(space, f, n_cubes=n_cubes, overlap=overlap, eps=eps, min_samples=min_samples)


def mean_step(mapper: Mapper, step) -> dict:
    """Node -> mean training step of its points (the colour of a learning graph)."""
    step = np.asarray(step)
    return {k: float(step[m].mean()) for k, m in mapper.nodes_.items()}


def count_branches(mapper: Mapper, step) -> int:
    """Branches at the end of training: the connected groups of nodes that hold points of the
    last snapshot (two final points in one group have not split apart)."""
    step = np.asarray(step)
    final = np.flatnonzero(step == step.max())
    ends = [k for k, m in mapper.nodes_.items() if np.isin(m, final).any()]
    return nx.number_connected_components(mapper.G_.subgraph(ends)) if ends else 0


def is_tree(mapper: Mapper) -> bool:
    """Connected, and without a loop once triangles are filled (the clique complex is a tree)."""
    s: GraphSummary = mapper.summary_
    return s.n_components == 1 and s.n_loops == 0


@dataclass(frozen=True)
class LearningSweep:
    """Learning graphs of one cloud over a neighbourhood of settings: one entry per graph.

    ``n_cubes`` and ``eps`` are the settings; ``branches``, ``components`` and ``loops`` what
    the rules of :mod:`topohelpers.rules` read (``OverCovers(what="branches")`` reads
    ``branches``; ``Tree`` reads :meth:`pairs`).
    """

    n_cubes: np.ndarray
    eps: np.ndarray
    branches: np.ndarray
    components: np.ndarray
    loops: np.ndarray

    def pairs(self) -> np.ndarray:
        """(components, loops) per graph: the value of :class:`~topohelpers.rules.Tree`."""
        return np.c_[self.components, self.loops]

    def __repr__(self):
        return (
            f"LearningSweep({len(self.branches)} graphs; branches {self.branches.tolist()}, "
            f"components {self.components.tolist()}, loops {self.loops.tolist()})"
        )


def learning_sweep(
    points,
    step,
    *,
    n_cubes: int,
    eps: float,
    steps=None,
    lens: str = "norm",
    overlap: float = 0.99,
    min_samples: int = 2,
    pca_dims: int | None = 20,
) -> LearningSweep:
    """:func:`learning_graph` once per setting of a neighbourhood: ``n_cubes`` × each of
    ``steps`` (rounded, ≥ 1) and ``eps`` × each of ``steps`` (default
    :data:`topohelpers.rules.COVER_STEPS`, 3 × 3 graphs), lens and PCA computed once. A branch
    count or a tree that is really in the weights survives these small changes; one setting's
    accident does not. ``step`` labels each point with its training step (as from
    ``WeightHistory.cloud``).
    """
    from ..rules import COVER_STEPS

    X = _check_points(points)
    step = np.asarray(step)
    if step.shape != (len(X),):
        raise ValueError(
            f"step must hold one training step per point ({len(X)}), got shape {step.shape}."
        )
    steps = COVER_STEPS if steps is None else tuple(steps)
    if not steps or any(not s > 0 for s in steps):
        raise ValueError(f"steps must be positive factors, got {steps!r}.")
    positive_int("n_cubes", n_cubes)
    if not eps > 0:
        raise ValueError(f"eps must be a positive DBSCAN radius, got {eps!r}.")
    f, space = _lens_and_space(X, lens, pca_dims, 3)
    rows = []
    for a in steps:
        for b in steps:
            cubes = max(1, int(round(n_cubes * a)))
            g = _fit(space, f, n_cubes=cubes, overlap=overlap, eps=eps * b, min_samples=min_samples)
            rows.append(
                (
                    cubes,
                    eps * b,
                    count_branches(g, step),
                    g.summary_.n_components,
                    g.summary_.n_loops,
                )
            )
    r = np.array(rows, dtype=float)
    return LearningSweep(r[:, 0].astype(int), r[:, 1], *(r[:, i].astype(int) for i in (2, 3, 4)))


def null_trajectories(weights, *, random_state=0) -> np.ndarray:
    """The null of a learning-graph shape claim: a ``(snapshots, neurons, dims)`` history of
    the same shape with no learned structure. Each neuron's trajectory is replaced by an
    independent Gaussian random walk from its real starting point, each step as long as the
    real one, and each point then rescaled to the real neuron's norm at that snapshot (so
    the norm lens sees the same growth). Numpy in, numpy out (float64).
    """
    W = np.asarray(weights, dtype=np.float64)
    if W.ndim != 3 or W.shape[0] < 2:
        raise ValueError(
            f"weights must be a (snapshots ≥ 2, neurons, dims) array, got shape {W.shape}."
        )
    if not np.isfinite(W).all():
        raise ValueError("weights must be finite.")
    rng = np.random.default_rng(random_state)
    length = np.linalg.norm(np.diff(W, axis=0), axis=2, keepdims=True)  # (S-1, n, 1)
    d = rng.standard_normal(W[1:].shape)
    d *= length / np.maximum(np.linalg.norm(d, axis=2, keepdims=True), np.finfo(float).tiny)
    walk = np.concatenate([W[:1], W[:1] + np.cumsum(d, axis=0)])
    real, now = (
        np.linalg.norm(W, axis=2, keepdims=True),
        np.linalg.norm(walk, axis=2, keepdims=True),
    )
    return np.where(now > 0, walk * (real / np.where(now > 0, now, 1.0)), walk)


@dataclass(frozen=True)
class Phases:
    """Phases of a layer's training (Gabella's Figure 6), one entry per snapshot.

    ``spread``: mean distance of the neurons' weight vectors to their centroid; ``one_dir``:
    the share of that spread on its first principal direction. ``uniform``: spread below
    ``still`` × its maximum (the neurons move together); ``surface``: after that, while at
    least ``one_direction`` of the spread lies along one direction (the neurons lie along one
    curve, which sweeps a sheet); ``chaotic``: every later snapshot.
    """

    spread: np.ndarray
    one_dir: np.ndarray
    uniform: np.ndarray
    surface: np.ndarray
    chaotic: np.ndarray

    def count(self, min_surface: int = 3) -> int:
        """How many of the three phases occur (the surface only if it lasts ≥ ``min_surface``
        snapshots)."""
        return (
            int(self.uniform.any())
            + int(self.surface.sum() >= min_surface)
            + int(self.chaotic.any())
        )


def phases(weights, *, still: float = 0.01, one_direction: float = 0.9) -> Phases:
    """The :class:`Phases` of a ``(snapshots, neurons, dims)`` weight history."""
    W = np.asarray(weights, dtype=np.float64)
    if W.ndim != 3:
        raise ValueError(
            f"weights must be a (snapshots, neurons, dims) array, got shape {W.shape}."
        )
    if not (0 < still < 1 and 0 < one_direction <= 1):
        raise ValueError(
            "still must be in (0, 1) and one_direction in (0, 1], "
            f"got {still!r}, {one_direction!r}."
        )
    W = W - W.mean(axis=1, keepdims=True)
    spread = np.linalg.norm(W, axis=2).mean(axis=1)
    s = np.linalg.svd(W, compute_uv=False)
    one_dir = (s[:, 0] ** 2) / np.maximum((s**2).sum(axis=1), 1e-300)
    uniform = spread <= still * spread.max() if spread.max() > 0 else np.ones(len(W), bool)
    surface = (
        ~uniform
        & (one_dir >= one_direction)
        & (np.cumsum(~uniform & (one_dir < one_direction)) == 0)
    )
    return Phases(spread, one_dir, uniform, surface, ~uniform & ~surface)
