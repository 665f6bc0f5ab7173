"""Mapper in the papers' (Ayasdi) convention, built on KeplerMapper, and Ball Mapper.

``Mapper(resolution, gain)``: ``resolution`` intervals per lens dimension and an overlap
fraction of ``1 − 1/gain`` (gain 3 → 2/3). The cover is KeplerMapper's: equal intervals
whose centres are spaced range/resolution apart, so the end intervals overhang the range
of the lens; ``Mapper.intervals_`` gives the endpoints so a reader can check. Inside each
cover set the points are clustered by single linkage cut at the first empty bin of the
merge-height histogram (Singh, Mémoli & Carlsson 2007).
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.decomposition import PCA
from sklearn.utils import check_array

from ..checks import positive_int


def gain_to_overlap(gain: float) -> float:
    """Ayasdi's gain as KeplerMapper's overlap fraction: ``1 − 1/gain``.

    Examples
    --------
    >>> gain_to_overlap(3), gain_to_overlap(2)
    (0.6666666666666667, 0.5)
    """
    if (
        isinstance(gain, bool)
        or not isinstance(gain, (int, float, np.number))
        or not 1 <= gain < np.inf
    ):
        raise ValueError(f"gain must be a finite number >= 1 (gain 3 = 2/3 overlap), got {gain!r}.")
    return 1.0 - 1.0 / float(gain)


def variance_normalize(X) -> np.ndarray:
    """Divide each column by its standard deviation: Euclidean distance on the result is the
    variance-normalized Euclidean metric d(x, y)² = Σ (x_i − y_i)² / var_i (scipy ``seuclidean``).
    """
    X = check_array(X, dtype=np.float64)
    sd = X.std(axis=0)
    if np.any(sd == 0):
        cols = np.flatnonzero(sd == 0).tolist()
        raise ValueError(
            f"X has constant columns {cols}: "
            "the variance-normalized metric needs every column to vary."
        )
    return X / sd


class GapSingleLinkage(ClusterMixin, BaseEstimator):
    """Single linkage cut at the first empty bin of the merge-height histogram.

    The Singh–Mémoli–Carlsson (2007) heuristic as their Mapper code implements it: histogram
    the n − 1 merge heights of the single-linkage dendrogram together with the diameter of
    the set, in ``n_bins`` equal bins over [smallest height, diameter], and cut at the first
    empty bin. Merges below the cut join, so a set whose heights have no gap as wide as a
    bin — (diameter − smallest height) / ``n_bins`` — stays one cluster; a merge that
    happens only after such a gap splits it.

    Parameters
    ----------
    n_bins : int, default 10
    min_samples : int, default 1
        The fewest points a cover set needs to be clustered at all (KeplerMapper reads this
        parameter; 1 keeps lone points as their own nodes instead of dropping them).

    Attributes
    ----------
    labels_ : (n,) int array
    n_clusters_ : int
    threshold_ : float, the cut height (inf when nothing was cut)

    Examples
    --------
    >>> X = np.r_[np.zeros((5, 2)), np.full((5, 2), 10.0)] + np.arange(10)[:, None] * 0.01
    >>> GapSingleLinkage().fit(X).n_clusters_
    2
    """

    def __init__(self, n_bins: int = 10, min_samples: int = 1):
        self.n_bins = n_bins
        self.min_samples = min_samples

    def fit(self, X, y=None):
        from scipy.spatial.distance import pdist

        X = check_array(X, dtype=np.float64, ensure_min_samples=1)
        positive_int("n_bins", self.n_bins)
        n = X.shape[0]
        self.threshold_ = np.inf
        self.labels_ = np.zeros(n, dtype=int)
        if n >= 3:
            Z = linkage(X, method="single")
            heights = Z[:, 2]
            lo, diam = heights.min(), pdist(X).max()
            if diam > lo:
                counts, edges = np.histogram(
                    np.r_[heights, diam], bins=self.n_bins, range=(lo, diam)
                )
                empty = np.flatnonzero(counts == 0)
                if len(empty):
                    self.threshold_ = float(edges[empty[0]])
                    self.labels_ = fcluster(Z, t=self.threshold_, criterion="distance") - 1
        self.n_clusters_ = int(self.labels_.max()) + 1 if n else 0
        return self


@dataclass(frozen=True)
class GraphSummary:
    """Shape of a Mapper graph.

    ``n_cycles`` is the cycle rank E − V + C of the graph itself. With a 2-D lens every
    point lies in several overlapping cover sets, so neighbouring nodes form triangles and
    the cycle rank counts each of them; ``n_loops`` is the number of independent loops of
    the graph once every triangle is filled in (the first Betti number of its clique
    complex), which is what a reader sees as "a loop" in the drawing.
    """

    n_nodes: int
    n_edges: int
    n_components: int
    n_cycles: int
    n_loops: int

    @classmethod
    def of(cls, G: nx.Graph) -> GraphSummary:
        v, e = G.number_of_nodes(), G.number_of_edges()
        c = nx.number_connected_components(G) if v else 0
        return cls(v, e, c, e - v + c, clique_betti1(G))


def clique_betti1(G: nx.Graph) -> int:
    """First Betti number (Z/2) of the clique complex of ``G`` (triangles filled in).

    Computed with ripser on the graph as a sparse distance matrix (edges at 1), where the
    flag complex at scale 1 is the clique complex: the H1 classes alive there never die.

    Examples
    --------
    >>> clique_betti1(nx.cycle_graph(6)), clique_betti1(nx.complete_graph(4))
    (1, 0)
    """
    import ripser
    from scipy.sparse import coo_matrix

    if G.number_of_edges() < 3:
        return 0
    index = {v: i for i, v in enumerate(G.nodes)}
    ij = np.array([(index[a], index[b]) for a, b in G.edges if a != b])
    n = len(index)
    D = coo_matrix((np.ones(len(ij)), (ij[:, 0], ij[:, 1])), shape=(n, n))
    h1 = ripser.ripser(D, distance_matrix=True, maxdim=1)["dgms"][1]
    return int(np.sum(np.isinf(h1[:, 1])))


def neighbourhood_lens(
    X, *, n_neighbors: int = 15, method: str = "umap", random_state=0
) -> np.ndarray:
    """A 2-D embedding of the k-nearest-neighbour graph: the open analogue of Ayasdi's
    "neighborhood lenses". ``method`` is ``"umap"`` (umap-learn) or ``"spectral"``
    (scikit-learn's spectral embedding of the kNN graph).
    """
    X = check_array(X, dtype=np.float64)
    if not isinstance(n_neighbors, (int, np.integer)) or not 2 <= n_neighbors < X.shape[0]:
        raise ValueError(
            f"n_neighbors must be an integer in [2, n) with n={X.shape[0]}, got {n_neighbors!r}."
        )
    if method == "umap":
        import umap

        return umap.UMAP(
            n_components=2, n_neighbors=n_neighbors, random_state=random_state
        ).fit_transform(X)
    if method == "spectral":
        from sklearn.manifold import SpectralEmbedding

        return SpectralEmbedding(
            n_components=2,
            affinity="nearest_neighbors",
            n_neighbors=n_neighbors,
            random_state=random_state,
        ).fit_transform(X)
    raise ValueError(f"method must be 'umap' or 'spectral', got {method!r}.")


def _indexed_nerve():
    """KeplerMapper's ``GraphNerve`` (an edge between two nodes that share a point), found by
    indexing point → nodes instead of comparing every pair of nodes: the same links in the
    same order, several times faster on the graphs of a cover sweep."""
    from collections import defaultdict
    from itertools import combinations

    from kmapper.nerve import GraphNerve

    class IndexedGraphNerve(GraphNerve):
        def compute(self, nodes):
            if self.min_intersection != 1:
                return super().compute(nodes)
            order = {k: i for i, k in enumerate(nodes)}
            keys = list(nodes)
            by_point = defaultdict(list)
            for k, members in nodes.items():
                for m in members:
                    by_point[m].append(order[k])
            pairs = set()
            for owners in by_point.values():
                if len(owners) > 1:
                    pairs.update(combinations(sorted(set(owners)), 2))
            result = defaultdict(list)
            for i, j in sorted(pairs):
                result[keys[i]].append(keys[j])
            edges = [[x, end] for x in result for end in result[x]]
            return result, [[n] for n in nodes] + edges

    return IndexedGraphNerve()


class Mapper(BaseEstimator):
    """Mapper(resolution, gain) with PCA lenses, the VNE metric and the gap clusterer.

    Parameters
    ----------
    resolution : int, intervals per lens dimension.
    gain : float >= 1, overlap fraction 1 − 1/gain.
    n_components : int, number of PCA lenses when no lens is given to ``fit``.
    metric : ``"vne"`` (variance-normalized Euclidean, the papers') or ``"euclidean"``.
    clusterer : sklearn clusterer, default :class:`GapSingleLinkage`.

    Attributes
    ----------
    lens_ : (n, d) lens values.  graph_ : KeplerMapper's graph dict.
    G_ : networkx graph; node attribute ``members`` holds point indices.
    nodes_ : dict node id -> member indices.  intervals_ : list of (resolution, 2) arrays
    of interval endpoints per lens dimension.  summary_ : :class:`GraphSummary`.

    Examples
    --------
    >>> theta = np.random.default_rng(0).uniform(0, 2 * np.pi, 300)
    >>> m = Mapper(resolution=8, gain=3).fit(np.c_[np.cos(theta), np.sin(theta)])
    >>> m.summary_.n_loops
    1
    """

    def __init__(
        self,
        resolution: int = 30,
        gain: float = 3.0,
        n_components: int = 2,
        metric: str = "vne",
        clusterer=None,
    ):
        self.resolution = resolution
        self.gain = gain
        self.n_components = n_components
        self.metric = metric
        self.clusterer = clusterer

    def fit(self, X, y=None, lens=None):
        import kmapper as km
        from sklearn.base import clone

        X = check_array(X, dtype=np.float64)
        positive_int("resolution", self.resolution)
        overlap = gain_to_overlap(self.gain)
        if self.metric == "vne":
            space = variance_normalize(X)
        elif self.metric == "euclidean":
            space = X
        else:
            raise ValueError(f"metric must be 'vne' or 'euclidean', got {self.metric!r}.")
        if lens is None:
            if not 1 <= self.n_components <= X.shape[1]:
                raise ValueError(
                    f"n_components must be in [1, {X.shape[1]}], got {self.n_components!r}."
                )
            lens = PCA(n_components=self.n_components).fit_transform(X)
        lens = check_array(lens, dtype=np.float64, ensure_2d=False)
        lens = lens.reshape(len(lens), -1)
        if len(lens) != len(X):
            raise ValueError(
                f"lens has {len(lens)} rows but X has {len(X)}: give one lens value per point."
            )
        clusterer = clone(self.clusterer) if self.clusterer is not None else GapSingleLinkage()
        cover = km.Cover(n_cubes=self.resolution, perc_overlap=overlap)
        mapper = km.KeplerMapper(verbose=0)
        self.graph_ = mapper.map(
            lens, space, clusterer=clusterer, cover=cover, nerve=_indexed_nerve()
        )
        self.lens_ = lens
        self.intervals_ = [
            np.c_[
                np.unique([c[d] for c in cover.centers_]) - cover.radius_[d],
                np.unique([c[d] for c in cover.centers_]) + cover.radius_[d],
            ]
            for d in range(lens.shape[1])
        ]
        self.nodes_ = {k: np.asarray(v) for k, v in self.graph_["nodes"].items()}
        G = nx.Graph()
        for k, members in self.nodes_.items():
            G.add_node(k, members=members, size=len(members))
        for a, bs in self.graph_["links"].items():
            G.add_edges_from((a, b) for b in bs)
        self.G_ = G
        self.summary_ = GraphSummary.of(G)
        self.n_points_ = len(X)
        return self

    def positions(self) -> dict:
        """Node -> mean lens value of its members (the first two lens coordinates)."""
        return {k: self.lens_[m, :2].mean(axis=0) for k, m in self.nodes_.items()}

    def around(self, n: int = 8) -> list:
        """``n`` nodes spread around the drawing, in angular order: split the plane of the
        (first two) lens coordinates into ``n`` equal angular sectors about the mean node
        position and take the largest node of each non-empty sector. On a loop these walk
        once around it."""
        if not hasattr(self, "G_"):
            raise ValueError("the Mapper is not fitted: call fit(X) first.")
        if self.lens_.shape[1] < 2:
            raise ValueError("around() needs a lens with at least two coordinates.")
        positive_int("n", n)
        pos = self.positions()
        nodes = list(pos)
        if not nodes:
            return []
        xy = np.array([pos[k] for k in nodes])
        sizes = np.array([len(self.nodes_[k]) for k in nodes])
        centre = xy.mean(axis=0)
        sector = (
            np.floor((np.arctan2(*(xy - centre).T[::-1]) + np.pi) / (2 * np.pi) * n).astype(int) % n
        )
        return [
            nodes[np.flatnonzero(sector == s)[np.argmax(sizes[sector == s])]]
            for s in np.unique(sector)
        ]

    def node_means(self, X) -> dict:
        """Mean of ``X`` over each node's members (e.g. the mean filter drawn beside a node)."""
        X = np.asarray(X)
        if len(X) != self.n_points_:
            raise ValueError(f"X has {len(X)} rows but the Mapper was fitted on {self.n_points_}.")
        return {k: X[m].mean(axis=0) for k, m in self.nodes_.items()}


@dataclass(frozen=True)
class CoverSweep:
    """Mapper graphs of one cloud over a neighbourhood of covers: one entry per cover.

    ``resolution`` and ``gain`` are the covers; ``loops``, ``components`` and ``cycles`` the
    :class:`GraphSummary` counts of each graph (what the rules of :mod:`topohelpers.rules` read).
    """

    resolution: np.ndarray
    gain: np.ndarray
    loops: np.ndarray
    components: np.ndarray
    cycles: np.ndarray

    def pairs(self) -> np.ndarray:
        """(components, loops) per cover: the value of :class:`~topohelpers.rules.Tree`."""
        return np.c_[self.components, self.loops]

    def __repr__(self):
        return (
            f"CoverSweep({len(self.loops)} covers; loops {self.loops.tolist()}, "
            f"components {self.components.tolist()})"
        )


def over_covers(mapper: Mapper, X, *, lens=None, steps=None) -> CoverSweep:
    """Fit ``mapper`` (unfitted, its resolution and gain being the paper's cover) on ``X`` once
    per cover of the neighbourhood: resolution × each of ``steps`` (rounded, ≥ 1) and gain ×
    each of ``steps`` (kept > 1), ``len(steps)²`` covers in all. A shape that is really there
    survives small changes of the cover; one cover's accident does not.

    Examples
    --------
    >>> theta = np.random.default_rng(0).uniform(0, 2 * np.pi, 300)
    >>> sweep = over_covers(Mapper(resolution=8, gain=3), np.c_[np.cos(theta), np.sin(theta)])
    >>> len(sweep.loops), int(np.median(sweep.loops))
    (9, 1)
    """
    from sklearn.base import clone

    from ..rules import COVER_STEPS

    steps = COVER_STEPS if steps is None else tuple(steps)
    if not steps or any(not s > 0 for s in steps):
        raise ValueError(f"steps must be positive factors, got {steps!r}.")
    rows = []
    for a in steps:
        for b in steps:
            res = max(1, int(round(mapper.resolution * a)))
            gain = max(1.0 + 1e-9, mapper.gain * b) if mapper.gain > 1 else mapper.gain
            s = clone(mapper).set_params(resolution=res, gain=gain).fit(X, lens=lens).summary_
            rows.append((res, gain, s.n_loops, s.n_components, s.n_cycles))
    r = np.array(rows, dtype=float)
    return CoverSweep(r[:, 0].astype(int), r[:, 1], *(r[:, i].astype(int) for i in (2, 3, 4)))


def ball_mapper(X, eps: float) -> nx.Graph:
    """Ball Mapper (Dłotko 2019) via pyballmapper: a greedy ε-net of balls, an edge where two
    balls share a point. Node attribute ``members`` holds the point indices of each ball.

    Examples
    --------
    >>> theta = np.linspace(0, 2 * np.pi, 100, endpoint=False)
    >>> GraphSummary.of(ball_mapper(np.c_[np.cos(theta), np.sin(theta)], eps=0.3)).n_cycles
    1
    """
    import warnings

    with (
        warnings.catch_warnings()
    ):  # pyballmapper imports tqdm.autonotebook, which warns without ipywidgets
        warnings.simplefilter("ignore")
        from pyballmapper import BallMapper

    X = check_array(X, dtype=np.float64)
    if isinstance(eps, bool) or not (isinstance(eps, (int, float, np.number)) and 0 < eps < np.inf):
        raise ValueError(f"eps must be a finite positive radius, got {eps!r}.")
    bm = BallMapper(X=X, eps=float(eps))
    G = nx.Graph()
    for node, pts in bm.points_covered_by_landmarks.items():
        G.add_node(node, members=np.asarray(pts), size=len(pts))
    G.add_edges_from(bm.Graph.edges())
    return G
