"""Density filtration p(k, p, X): keep the densest fraction of a point cloud."""

from __future__ import annotations

import numpy as np
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import check_array

from ..checks import positive_int

METHODS = ("auto", "exact", "approx")
AUTO_APPROX_ABOVE = 50_000
"""``method="auto"`` uses the approximate k-NN above this many points."""


def _check_method(method):
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}.")


def knn_distance(X, k: int, *, method: str = "auto", random_state=0) -> np.ndarray:
    """Distance from each point to its k-th nearest neighbour (a point is not its own).

    ``method="exact"`` uses scikit-learn's tree search; ``"approx"`` uses pynndescent's
    nearest-neighbour descent (it ships with umap-learn), much faster on clouds of
    10⁵ points; ``"auto"`` is exact up to 50,000 points and approximate above.

    Examples
    --------
    >>> knn_distance([[0.0], [1.0], [3.0]], k=1)
    array([1., 1., 2.])
    """
    X = check_array(X, dtype=np.float64)
    n = X.shape[0]
    positive_int("k", k)
    if k >= n:
        raise ValueError(f"k={k} must be smaller than the number of points n={n}.")
    _check_method(method)
    if method == "approx" or (method == "auto" and n > AUTO_APPROX_ABOVE):
        from pynndescent import NNDescent

        index = NNDescent(
            X, n_neighbors=k + 1, random_state=random_state, low_memory=True, compressed=True
        )
        dist = np.sort(index.neighbor_graph[1], axis=1)
    else:
        dist, _ = NearestNeighbors(n_neighbors=k + 1).fit(X).kneighbors(X)
    # column 0 is the point itself (distance 0) unless duplicates tie with it; either way
    # the (k+1)-th smallest distance over all points including itself is the k-th neighbour.
    return np.asarray(dist[:, k], dtype=np.float64)


def density_filtration(X, k: int, p: float, *, return_index: bool = False, method: str = "auto"):
    """p(k, p, X): the ⌊p·n⌋ points with the smallest k-th-neighbour distance.

    Parameters
    ----------
    X : array of shape (n, d)
    k : int, 1 <= k < n
        Which neighbour measures the density (large k = smooth, global density).
    p : float, 0 < p <= 1
        Fraction of points kept.
    return_index : bool
        Also return the indices of the kept points into ``X`` (densest first).
    method : {"auto", "exact", "approx"}
        How the k-th-neighbour distances are found (see :func:`knn_distance`).

    Examples
    --------
    >>> X = np.array([[0.0], [0.05], [0.2], [5.0]])
    >>> density_filtration(X, k=2, p=0.5, return_index=True)[1]
    array([1, 0])
    """
    X = check_array(X, dtype=np.float64)
    if isinstance(p, bool) or not isinstance(p, (int, float, np.number)) or not (0 < p <= 1):
        raise ValueError(f"p must be a fraction in (0, 1], got {p!r}.")
    m = int(np.floor(p * X.shape[0]))
    if m < 1:
        raise ValueError(f"p={p} keeps no point of n={X.shape[0]}: raise p or pass more points.")
    rho = knn_distance(X, k, method=method)
    idx = np.argsort(rho, kind="stable")[:m]
    return (X[idx], idx) if return_index else X[idx]


def scaled_k(k_paper: int, n_paper: int, n: int) -> int:
    """The neighbour count that measures density at the same relative scale as a paper's
    ``k_paper`` did on ``n_paper`` points: ``k = round(k_paper · n / n_paper)``, at least 1
    and below ``n``. A smaller cloud (fewer networks) keeps the method's k/n.

    Examples
    --------
    >>> scaled_k(200, 6400, 6400), scaled_k(200, 6400, 1024), scaled_k(10, 204_800, 32_768)
    (200, 32, 2)
    """
    for name, v in (("k_paper", k_paper), ("n_paper", n_paper), ("n", n)):
        positive_int(name, v)
    if n < 2:
        raise ValueError(f"n={n} points are too few for a density estimate.")
    return int(min(max(1, round(k_paper * n / n_paper)), n - 1))


K_SCALES = ("given", "cap", "ratio")


def cloud_k(k: int, n: int, *, k_scale: str = "given", n_paper: int | None = None) -> int:
    """The ``k`` of p(k, p) on a cloud of ``n`` points when a paper chose ``k``:

    - ``"given"``: ``k`` itself (an error if the cloud has no more than ``k`` points);
    - ``"cap"``: ``k``, cut to ``n − 1`` on a cloud too small for it (a deviation of scale
      that a report card states);
    - ``"ratio"``: :func:`scaled_k` (``k``, ``n_paper``, ``n``), the book's variant that keeps
      the paper's k/n.

    Examples
    --------
    >>> cloud_k(200, 6400), cloud_k(200, 150, k_scale="cap")
    (200, 149)
    >>> cloud_k(200, 1024, k_scale="ratio", n_paper=6400)
    32
    """
    positive_int("k", k)
    positive_int("n", n)
    if k_scale not in K_SCALES:
        raise ValueError(f"k_scale must be one of {K_SCALES}, got {k_scale!r}.")
    if (k_scale == "ratio") != (n_paper is not None):
        raise ValueError(
            f"n_paper is the size of the paper's cloud, needed with k_scale='ratio' and only there "
            f"(got k_scale={k_scale!r}, n_paper={n_paper!r})."
        )
    if n < 2:
        raise ValueError(f"n={n} points are too few for a density estimate.")
    if k_scale == "ratio":
        return scaled_k(k, n_paper, n)
    if k_scale == "cap":
        return min(k, n - 1)
    if k >= n:
        raise ValueError(
            f"k={k} needs more than {k} points, the cloud has {n}: pass k_scale='cap' to cut k to "
            f"n − 1 (and say so), or k_scale='ratio' with n_paper to scale it."
        )
    return k
