"""Persistence of weighted graphs: superlevel H0 by union-find, and neural persistence.

A superlevel filtration adds the strongest edges first. A vertex is born when its strongest
edge enters; when an edge joins two components the younger one dies (elder rule), giving
the H0 diagram, and the merging edges form the maximum spanning forest — the *persistent
subgraphs* (Gebhart 2019). Neural persistence (Rieck et al. 2019) is the same computation
on each layer's bipartite graph of normalized |weights|.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..checks import positive_int


@dataclass(frozen=True, repr=False)
class GraphPersistence:
    """Superlevel H0 persistence of a weighted graph.

    Attributes
    ----------
    pairs : (m, 2) (birth, death) weights of the finite H0 classes (birth >= death: superlevel).
    essential : (c,) birth weights of the classes that never die (one per connected component).
    forest : (k, 3) the maximum-spanning-forest edges (u, v, weight), strongest first.
    component : (k,) index of the final component each forest edge belongs to.
    forest_lifetime : (k,) lifetime (birth − death) of the class that forest edge ends.
    """

    pairs: np.ndarray
    essential: np.ndarray
    forest: np.ndarray
    component: np.ndarray
    forest_lifetime: np.ndarray

    @property
    def lifetimes(self) -> np.ndarray:
        return self.pairs[:, 0] - self.pairs[:, 1]

    def __repr__(self):
        return (
            f"GraphPersistence({len(self.pairs)} finite H0 pairs, "
            f"{len(self.essential)} component(s), "
            f"forest of {len(self.forest)} edges)"
        )


def superlevel_h0(u, v, w, n_vertices: int | None = None) -> GraphPersistence:
    """H0 persistence of the superlevel filtration of an edge-weighted graph (union-find).

    ``u``, ``v`` are integer vertex ids and ``w`` the edge weights. Zero-weight edges are kept
    (a spanning-tree routine that drops them would change the answer). Vertices without edges
    are ignored; ``n_vertices`` only sizes the tables.

    Examples
    --------
    >>> p = superlevel_h0([0, 1, 0], [1, 2, 2], [3.0, 2.0, 1.0])   # a triangle
    >>> p.pairs.tolist(), p.essential.tolist(), p.forest[:, 2].tolist()
    ([[3.0, 3.0], [2.0, 2.0]], [3.0], [3.0, 2.0])
    """
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    w = np.asarray(w, dtype=np.float64)
    if not (u.shape == v.shape == w.shape) or u.ndim != 1:
        raise ValueError(
            f"u, v and w must be 1-D arrays of one length, got {u.shape}, {v.shape}, {w.shape}."
        )
    if len(w) and (not np.isfinite(w).all()):
        raise ValueError("w holds NaN or inf: give every edge a finite weight.")
    if len(u) and min(u.min(), v.min()) < 0:
        raise ValueError("vertex ids in u and v must be non-negative integers.")
    n = int(n_vertices if n_vertices is not None else (max(u.max(), v.max()) + 1 if len(u) else 0))
    parent = np.arange(n)
    birth = np.full(n, -np.inf)  # a vertex is born with its strongest edge
    seen = np.zeros(n, dtype=bool)

    def find(a):
        root = a
        while parent[root] != root:
            root = parent[root]
        while parent[a] != root:  # path compression
            parent[a], a = root, parent[a]
        return root

    for c, x in ((u, w), (v, w)):  # a vertex is born with its strongest edge
        np.maximum.at(birth, c, x)
    seen[u] = seen[v] = True
    pairs, forest = [], []
    for e in _candidate_edges(u, v, w, n):
        a, b, x = u[e], v[e], w[e]
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        # elder rule: the component born later (lower birth in a superlevel filtration) dies
        young, old = (
            (ra, rb) if birth[ra] < birth[rb] or (birth[ra] == birth[rb] and ra > rb) else (rb, ra)
        )
        pairs.append((birth[young], x))
        parent[young] = old
        forest.append((a, b, x))
    roots = np.array([find(c) for c in np.flatnonzero(seen)], dtype=np.int64)
    essential = np.sort(birth[np.unique(roots)])[::-1] if len(roots) else np.zeros(0)
    forest = np.array(forest, dtype=np.float64).reshape(-1, 3)
    comp_ids = {r: i for i, r in enumerate(np.unique(roots))}
    component = np.array([comp_ids[find(int(a))] for a in forest[:, 0]], dtype=np.int64)
    pairs = np.array(pairs, dtype=np.float64).reshape(-1, 2)
    return GraphPersistence(pairs, essential, forest, component, pairs[:, 0] - pairs[:, 1])


def subgraph_features(persistences, n_vertices: int):
    """Persistent-subgraph features of several graphs on the same vertex set (Gebhart): one
    sparse row per graph, one column per forest edge that occurs in any of them, valued by the
    lifetime of the class the edge ends. Returns ``(X, edges)``: a CSR matrix and the (u, v)
    vertex pair of each column."""
    from scipy.sparse import csr_matrix

    keys = [
        np.minimum(p.forest[:, 0], p.forest[:, 1]).astype(np.int64) * n_vertices
        + np.maximum(p.forest[:, 0], p.forest[:, 1]).astype(np.int64)
        for p in persistences
    ]
    vocab, cols = np.unique(
        np.concatenate(keys) if keys else np.zeros(0, np.int64), return_inverse=True
    )
    rows = np.repeat(np.arange(len(keys)), [len(k) for k in keys])
    vals = np.concatenate([p.forest_lifetime for p in persistences]) if keys else np.zeros(0)
    X = csr_matrix((vals, (rows, cols)), shape=(len(keys), len(vocab)))
    return X, np.c_[vocab // n_vertices, vocab % n_vertices]


def _candidate_edges(u, v, w, n):
    """Edge indices, strongest first, that the union-find must visit. Only maximum-spanning-
    forest edges can merge components, so for a large graph the forest is found first with
    scipy's spanning tree on the order-reversing weights (top + 1 − w > 0, so no edge of
    weight 0 is lost) and only its edges are visited; merges and pairs are the same."""
    if len(w) < 5000:
        return np.argsort(-w, kind="stable")
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import minimum_spanning_tree

    idx = np.flatnonzero(u != v)  # self-loops never merge anything
    lo, hi = np.minimum(u[idx], v[idx]), np.maximum(u[idx], v[idx])
    # each entry stores its edge's index + 1; parallel edges would be summed, so then visit all
    index = coo_matrix((idx + 1, (lo, hi)), shape=(n, n)).tocsr()
    if index.nnz != len(idx):
        return np.argsort(-w, kind="stable")
    cost = (w.max() + 1.0) - w[idx]
    T = minimum_spanning_tree(coo_matrix((cost, (lo, hi)), shape=(n, n))).tocoo()
    rows, cols = np.minimum(T.row, T.col), np.maximum(T.row, T.col)
    chosen = np.asarray(index[rows, cols]).ravel().astype(np.int64) - 1
    return chosen[np.argsort(-w[chosen], kind="stable")]


def neural_persistence(kernels, *, normalize: bool = True):
    """Neural persistence (Rieck et al. 2019) of a stack of dense layers.

    ``kernels`` is a list of (n_in, n_out) weight matrices (fold a bias in as an extra input
    row). Weights become |w| / max |w| over the whole network; each layer's bipartite graph
    has every vertex born at 1, and its H0 diagram has a point (1, w') per maximum-spanning-
    forest edge. NP_k = (Σ (1 − w')² + 1)^½ (the essential class counted with persistence 1),
    divided by √(n_k − 1) with n_k the layer's vertex count when ``normalize``.

    Returns ``(per_layer, mean)``.

    Examples
    --------
    >>> per_layer, mean = neural_persistence([np.array([[1.0, 0.5], [0.5, 1.0]])], normalize=False)
    >>> round(float(per_layer[0]), 4)   # forest weights 1, 1, 0.5: sqrt(0 + 0 + 0.25 + 1)
    1.118
    """
    mats = [np.abs(np.asarray(k, dtype=np.float64)) for k in kernels]
    if not mats or any(m.ndim != 2 for m in mats):
        raise ValueError("kernels must be a non-empty list of 2-D (n_in, n_out) weight matrices.")
    top = max(m.max() for m in mats)
    if not top > 0:
        raise ValueError("every weight is zero: neural persistence is undefined.")
    values = []
    for m in mats:
        n_in, n_out = m.shape
        ii, jj = np.meshgrid(np.arange(n_in), n_in + np.arange(n_out), indexing="ij")
        p = superlevel_h0(ii.ravel(), jj.ravel(), (m / top).ravel(), n_vertices=n_in + n_out)
        np_k = np.sqrt(np.sum((1.0 - p.forest[:, 2]) ** 2) + 1.0)
        values.append(np_k / np.sqrt(n_in + n_out - 1) if normalize else np_k)
    values = np.array(values)
    return values, float(values.mean())


def permuted_neural_persistence(
    kernels, *, n_permutations: int = 19, normalize: bool = True, random_state=0
):
    """Mean neural persistence of ``n_permutations`` copies of a network whose weights are
    shuffled within each layer: the same weights (so the same |w| distribution and maximum),
    with their arrangement destroyed — the null of a claim that training gives neural
    persistence structure beyond its weight distribution. Returns an array of
    ``n_permutations`` means.

    Examples
    --------
    >>> k = [np.arange(12.0).reshape(3, 4)]
    >>> permuted_neural_persistence(k, n_permutations=3).shape
    (3,)
    """
    positive_int("n_permutations", n_permutations)
    mats = [np.asarray(k, dtype=np.float64) for k in kernels]
    if not mats or any(m.ndim != 2 for m in mats):
        raise ValueError("kernels must be a non-empty list of 2-D (n_in, n_out) weight matrices.")
    rng = np.random.default_rng(random_state)
    return np.array(
        [
            neural_persistence(
                [rng.permutation(m.ravel()).reshape(m.shape) for m in mats], normalize=normalize
            )[1]
            for _ in range(n_permutations)
        ]
    )


def greater_than_null(observed, null, *, n_resamples: int = 10_000, random_state=0):
    """One-sided test that each of several networks' values exceeds its own null copies.

    ``observed`` has one value per network, ``null`` (networks × copies) that network's
    null values (e.g. :func:`permuted_neural_persistence`). The statistic is the mean over
    networks of observed − mean(null); its p-value treats, under the null, each network's
    observed value as exchangeable with its copies (a stratified permutation test,
    ``n_resamples`` random draws). Returns ``(difference, p)`` — the value
    :class:`topohelpers.rules.Greater` reads.

    Examples
    --------
    >>> diff, p = greater_than_null([5.0, 6.0], [[1.0, 2.0, 1.5], [2.0, 2.5, 1.0]])
    >>> round(diff, 3), p < 0.1
    (3.833, True)
    """
    positive_int("n_resamples", n_resamples)
    obs = np.asarray(observed, dtype=np.float64).ravel()
    nul = np.asarray(null, dtype=np.float64)
    if nul.ndim != 2 or len(nul) != len(obs) or nul.shape[1] < 1 or not len(obs):
        raise ValueError(
            f"null must be (networks, copies) with one row per observed value ({len(obs)}), "
            f"got shape {nul.shape}."
        )
    if not (np.isfinite(obs).all() and np.isfinite(nul).all()):
        raise ValueError("observed and null must be finite.")
    pool = np.column_stack([obs, nul])  # column 0: observed
    k = pool.shape[1]
    stat = lambda picked, total: float(np.mean(picked - (total - picked) / (k - 1)))
    total = pool.sum(axis=1)
    diff = stat(obs, total)
    rng = np.random.default_rng(random_state)
    picks = pool[np.arange(len(obs))[:, None], rng.integers(0, k, size=(len(obs), n_resamples))]
    null_stats = np.mean(picks - (total[:, None] - picks) / (k - 1), axis=0)
    p = (1 + np.sum(null_stats >= diff - 1e-12)) / (n_resamples + 1)
    return diff, float(p)
