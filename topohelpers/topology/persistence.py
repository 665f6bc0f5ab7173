"""Vietoris–Rips persistent homology (ripser) with small, named results."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.utils import check_array

from ..checks import int_at_least, nonnegative_int


@dataclass(frozen=True, repr=False)
class Persistence:
    """Persistence diagrams of one point cloud.

    Attributes
    ----------
    dgms : list of (m, 2) arrays, one per dimension 0..maxdim (birth, death); death may be inf.
    lifetimes : list of 1-D arrays, death − birth sorted longest first (inf for essential bars).
    n_points, n_landmarks, coeff : what was computed.
    """

    dgms: list
    n_points: int
    n_landmarks: int
    coeff: int
    lifetimes: list = field(init=False)

    def __post_init__(self):
        lt = [np.sort(d[:, 1] - d[:, 0])[::-1] if len(d) else np.zeros(0) for d in self.dgms]
        object.__setattr__(self, "lifetimes", lt)

    @property
    def maxdim(self) -> int:
        return len(self.dgms) - 1

    def _check_dim(self, dim):
        if not 0 <= dim <= self.maxdim:
            raise ValueError(f"dim={dim} was not computed: maxdim is {self.maxdim}.")

    def n_bars(self, dim: int, longer_than: float = 0.0) -> int:
        """Number of bars in dimension ``dim`` whose lifetime exceeds ``longer_than``."""
        self._check_dim(dim)
        return int(np.sum(self.lifetimes[dim] > longer_than))

    def longest(self, dim: int, n: int = 1) -> np.ndarray:
        """The ``n`` longest lifetimes in dimension ``dim`` (padded with zeros)."""
        self._check_dim(dim)
        lt = self.lifetimes[dim]
        return np.concatenate([lt, np.zeros(max(0, n - len(lt)))])[:n]

    def gap_ratio(self, dim: int, rank: int = 1) -> float:
        """Lifetime of bar ``rank`` over that of bar ``rank + 1`` (1 = longest; inf if none
        follows)."""
        a, b = self.longest(dim, rank + 1)[rank - 1 : rank + 1]
        return float(a / b) if b > 0 else float("inf")

    def largest_gap(self, dim: int, among: int = 10):
        """Where the bars of dimension ``dim`` fall apart: ``(count, ratio)`` where ``count``
        bars stand before the largest ratio between consecutive lifetimes among the
        ``among`` longest finite bars, and ``ratio`` is that ratio (≥ 1). A clear topological
        signal has a large ratio; ratios near 1 mean no count stands out.

        Examples
        --------
        >>> Persistence([np.zeros((0, 2)), np.array([[0, 1.0], [0, .9], [0, .2], [0, .15]])],
        ...             4, 4, 2).largest_gap(1)
        (2, 4.5)
        """
        self._check_dim(dim)
        lt = self.lifetimes[dim]
        lt = lt[np.isfinite(lt) & (lt > 0)][:among]
        if len(lt) < 2:
            return len(lt), float("inf")
        ratios = lt[:-1] / lt[1:]
        k = int(np.argmax(ratios))
        return k + 1, float(ratios[k])

    def to_arrays(self) -> dict:
        """The diagrams and counts as named arrays (what the cache stores; see
        :func:`topohelpers.sweeps.sweep`)."""
        out = {
            f"dgm{d}": np.asarray(g, dtype=np.float64).reshape(-1, 2)
            for d, g in enumerate(self.dgms)
        }
        out["counts"] = np.array([self.n_points, self.n_landmarks, self.coeff], dtype=np.int64)
        return out

    @classmethod
    def from_arrays(cls, arrays: dict) -> Persistence:
        """Inverse of :meth:`to_arrays`.

        Examples
        --------
        >>> p = rips(np.random.default_rng(0).normal(size=(30, 2)))
        >>> q = Persistence.from_arrays(p.to_arrays())
        >>> all(np.array_equal(a, b) for a, b in zip(p.dgms, q.dgms)), q.n_points
        (True, 30)
        """
        dims = sorted(int(k[3:]) for k in arrays if k.startswith("dgm"))
        if not dims or dims != list(range(len(dims))) or "counts" not in arrays:
            raise ValueError(f"arrays must hold dgm0..dgmN and counts, got {sorted(arrays)}.")
        n_points, n_landmarks, coeff = (int(x) for x in arrays["counts"])
        return cls([np.asarray(arrays[f"dgm{d}"]) for d in dims], n_points, n_landmarks, coeff)

    def __repr__(self):
        parts = []
        for dim, lt in enumerate(self.lifetimes):
            top = ", ".join("inf" if np.isinf(x) else f"{x:.3g}" for x in lt[:4])
            parts.append(f"H{dim}: {len(lt)} bars, longest [{top}{', …' if len(lt) > 4 else ''}]")
        sub = f" ({self.n_landmarks} landmarks)" if self.n_landmarks < self.n_points else ""
        return (
            f"Persistence(n_points={self.n_points}{sub}, coeff={self.coeff}; "
            + "; ".join(parts)
            + ")"
        )


def rips(X, *, maxdim: int = 1, n_landmarks: int | None = None, coeff: int = 2) -> Persistence:
    """Vietoris–Rips persistence of a point cloud with ripser.

    Parameters
    ----------
    X : array (n, d)
    maxdim : highest homology dimension.
    n_landmarks : if set and < n, compute on a greedy max-min (farthest point) subsample of
        that many landmarks (ripser's ``n_perm``, deterministic: it starts at row 0), which
        preserves the large-scale shape.
    coeff : prime field Z/coeff of the coefficients (2 shows the Klein bottle's two H1 bars).

    Examples
    --------
    >>> theta = np.linspace(0, 2 * np.pi, 60, endpoint=False)
    >>> rips(np.c_[np.cos(theta), np.sin(theta)]).n_bars(1, longer_than=1.0)
    1
    """
    import ripser

    X = check_array(X, dtype=np.float64)
    n = X.shape[0]
    if n < 2:
        raise ValueError(f"X needs at least 2 points, got {n}.")
    nonnegative_int("maxdim", maxdim)
    if (
        isinstance(coeff, bool)
        or not isinstance(coeff, (int, np.integer))
        or coeff < 2
        or any(coeff % d == 0 for d in range(2, int(coeff**0.5) + 1))
    ):
        raise ValueError(f"coeff must be a prime (the field Z/coeff: 2, 3, 5, …), got {coeff!r}.")
    if n_landmarks is not None:
        int_at_least("n_landmarks", n_landmarks, 2, why=" (or None: every point)")
    m = n if n_landmarks is None or n_landmarks >= n else int(n_landmarks)
    kwargs = {"n_perm": m} if m < n else {}
    res = ripser.ripser(X, maxdim=maxdim, coeff=coeff, **kwargs)
    return Persistence(
        dgms=[np.asarray(d) for d in res["dgms"]], n_points=n, n_landmarks=m, coeff=coeff
    )
