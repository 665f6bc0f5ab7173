"""Ideal filters: the primary circle, the Klein bottle and the three-circle model.

All filters are evaluated on the grid x, y ∈ {−1, 0, 1} (x grows to the right, y grows
upward, so the top row has y = 1), flattened row-major, mean-centred and scaled to unit
norm (Carlsson, Ishkhanov, de Silva & Zomorodian 2008). ``size=5`` (or any odd size)
evaluates the same polynomials on a size×size grid over [−1, 1]², for 5×5 filters.
"""

from __future__ import annotations

import numpy as np

from ..checks import int_at_least, positive_int
from .weights import normalize


def grid(size: int = 3):
    """Flattened x and y coordinates of a size×size grid over [−1, 1]² (top row y = 1)."""
    int_at_least("size", size, 2)
    t = np.linspace(-1.0, 1.0, size)
    Y, X = np.meshgrid(t[::-1], t, indexing="ij")
    return X.ravel(), Y.ravel()


def _size_of(X):
    size = int(round(np.sqrt(X.shape[1]))) if X.ndim == 2 else 0
    if X.ndim != 2 or size * size != X.shape[1] or size < 2:
        raise ValueError(
            f"X must hold flattened square filters, shape (n, 9) or (n, 25); got {X.shape}."
        )
    return size


def _rng(random_state):
    return np.random.default_rng(random_state)


def _noisy(F, noise, rng):
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise!r}.")
    if noise:
        F = F + noise * rng.standard_normal(F.shape)
    return normalize(F)


def primary_filter(theta, size: int = 3) -> np.ndarray:
    """P(θ) = cos θ·x + sin θ·y, normalized: an edge whose gradient points along θ."""
    theta = np.atleast_1d(np.asarray(theta, dtype=np.float64))
    gx, gy = grid(size)
    return normalize(np.cos(theta)[:, None] * gx + np.sin(theta)[:, None] * gy)


def klein_filter(theta, phi, size: int = 3) -> np.ndarray:
    """K(θ, φ) = cos φ·t² + sin φ·t with t = x cos θ + y sin θ, normalized.

    φ = π/2 gives the primary circle (edges); φ = 0 gives lines. K(θ+π, φ) = K(θ, −φ).
    """
    theta, phi = np.broadcast_arrays(np.atleast_1d(theta), np.atleast_1d(phi))
    gx, gy = grid(size)
    t = np.cos(theta)[:, None] * gx + np.sin(theta)[:, None] * gy
    return normalize(np.cos(phi)[:, None] * t**2 + np.sin(phi)[:, None] * t)


def primary_circle(n: int, *, noise: float = 0.0, random_state=None):
    """Sample n filters of the primary circle at uniform random angles.

    Returns ``(X, theta)`` with X of shape (n, 9). ``noise`` is the standard deviation of
    Gaussian noise added to each unit filter before renormalizing.

    Examples
    --------
    >>> X, theta = primary_circle(5, random_state=0)
    >>> X.shape, np.allclose(np.linalg.norm(X, axis=1), 1)
    ((5, 9), True)
    """
    _check_n(n)
    rng = _rng(random_state)
    theta = rng.uniform(0, 2 * np.pi, n)
    return _noisy(primary_filter(theta), noise, rng), theta


def klein_bottle(n: int, *, noise: float = 0.0, random_state=None):
    """Sample n filters of the Klein bottle K(θ, φ), θ ∈ [0, π), φ ∈ [0, 2π).

    Returns ``(X, theta, phi)``.
    """
    _check_n(n)
    rng = _rng(random_state)
    theta = rng.uniform(0, np.pi, n)
    phi = rng.uniform(0, 2 * np.pi, n)
    return _noisy(klein_filter(theta, phi), noise, rng), theta, phi


def three_circle(n: int, *, noise: float = 0.0, random_state=None):
    """Sample the three-circle model: the primary circle and the secondary circles at θ = 0, π/2.

    A third of the points on each circle. Returns ``(X, circle)`` with ``circle`` in
    {0: primary, 1: secondary θ=0 (vertical structure), 2: secondary θ=π/2 (horizontal)}.
    """
    _check_n(n)
    rng = _rng(random_state)
    circle = np.arange(n) % 3
    angle = rng.uniform(0, 2 * np.pi, n)
    F = np.empty((n, 9))
    F[circle == 0] = primary_filter(angle[circle == 0])
    for c, theta in ((1, 0.0), (2, np.pi / 2)):
        F[circle == c] = klein_filter(theta, angle[circle == c])
    return _noisy(F, noise, rng), circle


def fit_primary_circle(X):
    """Angle of each 3×3 (or 5×5, …) filter on the primary circle and its residual distance to it.

    θ maximizes ⟨x, P(θ)⟩ (closed form: the angle of x's projection onto the x- and
    y-gradients); the residual is ‖x̂ − P(θ)‖ for the normalized filter x̂, in [0, 2]:
    0 on the circle, √2 for a filter orthogonal to every edge.

    Examples
    --------
    >>> th, res = fit_primary_circle(primary_filter([0.5, 2.0]))
    >>> th.round(6), res.round(6)
    (array([0.5, 2. ]), array([0., 0.]))
    """
    X = np.asarray(X, dtype=np.float64)
    gx, gy = grid(_size_of(X))
    Xn = normalize(X)
    a, b = Xn @ (gx / np.linalg.norm(gx)), Xn @ (gy / np.linalg.norm(gy))
    theta = np.mod(np.arctan2(b, a), 2 * np.pi)
    residual = np.sqrt(np.clip(2 - 2 * np.hypot(a, b), 0, None))
    return theta, residual


def _check_n(n, name="n"):
    positive_int(name, n)


def fit_three_circle(X, *, n_samples: int = 720):
    """Nearest point of the three-circle model for each 3×3 (or 5×5, …) filter.

    Returns ``(circle, angle, residual)``: which circle is nearest (0 = primary, 1 =
    secondary at θ = 0, 2 = secondary at θ = π/2), the angle along it (θ for the primary
    circle, φ for a secondary one) and the Euclidean distance of the normalized filter to that
    nearest ideal filter, found among ``n_samples`` points per circle.
    """
    X = np.asarray(X, dtype=np.float64)
    size = _size_of(X)
    a = np.linspace(0, 2 * np.pi, n_samples, endpoint=False)
    ideal = np.concatenate(
        [
            primary_filter(a, size),
            klein_filter(np.zeros_like(a), a, size),
            klein_filter(np.full_like(a, np.pi / 2), a, size),
        ]
    )
    sim = normalize(X) @ ideal.T
    best = sim.argmax(axis=1)
    residual = np.sqrt(np.clip(2 - 2 * sim[np.arange(len(X)), best], 0, None))
    return best // n_samples, a[best % n_samples], residual


def fit_klein_bottle(X, *, n_theta: int = 360, chunk: int = 20_000):
    """Nearest point of the Klein bottle K(θ, φ) for each 3×3 (or 5×5, …) filter.

    For a fixed θ the filters K(θ, ·) are exactly the unit vectors of the plane spanned by
    the (centred) t² and t, t = x cos θ + y sin θ, so the best φ is the direction of the
    filter's projection onto that plane and the distance is √(2 − 2‖projection‖). θ is
    searched on ``n_theta`` values of [0, π). Returns ``(theta, phi, residual)``: residual 0
    on the Klein bottle, √2 for a filter orthogonal to all of it.

    Examples
    --------
    >>> th_, ph_, res = fit_klein_bottle(klein_filter([0.25, 1.0], [0.5, 4.0]), n_theta=720)
    >>> bool(np.all(res < 0.01))
    True
    """
    X = np.asarray(X, dtype=np.float64)
    size = _size_of(X)
    _check_n(n_theta, "n_theta")
    _check_n(chunk, "chunk")
    gx, gy = grid(size)
    thetas = np.arange(n_theta) * np.pi / n_theta
    t = np.cos(thetas)[:, None] * gx + np.sin(thetas)[:, None] * gy  # (n_theta, d)
    t2 = t**2 - (t**2).mean(axis=1, keepdims=True)
    tc = t - t.mean(axis=1, keepdims=True)
    na, nb = np.linalg.norm(t2, axis=1), np.linalg.norm(tc, axis=1)
    A, B = t2 / na[:, None], tc / nb[:, None]
    # on odd symmetric grids t is odd and t² even about the centre, so A ⟂ B; keep B ⟂ A anyway
    B = B - (B * A).sum(1, keepdims=True) * A
    nb_orth = np.linalg.norm(B, axis=1)
    B = B / nb_orth[:, None]
    Xn = normalize(X)
    theta, phi, residual = (np.empty(len(X)) for _ in range(3))
    for s in range(0, len(X), chunk):
        part = Xn[s : s + chunk]
        a, b = part @ A.T, part @ B.T  # (m, n_theta)
        best = np.hypot(a, b).argmax(axis=1)
        rows = np.arange(len(part))
        ab, bb = a[rows, best], b[rows, best]
        theta[s : s + chunk] = thetas[best]
        # K ∝ cos φ·‖t²‖·A + sin φ·‖t‖·B (A ⟂ B), so φ is the angle of (a/‖t²‖, b/‖t‖)
        phi[s : s + chunk] = np.mod(np.arctan2(bb / nb[best], ab / na[best]), 2 * np.pi)
        residual[s : s + chunk] = np.sqrt(np.clip(2 - 2 * np.hypot(ab, bb), 0, None))
    return theta, phi, residual


def circle_filters(n: int = 64, *, size: int = 3) -> np.ndarray:
    """``n`` filters evenly spaced on the primary circle, θ_j = 2πj/n: (n, size²)."""
    _check_n(n)
    return primary_filter(2 * np.pi * np.arange(n) / n, size)


def klein_filters(n_theta: int = 8, n_phi: int = 8, *, size: int = 3) -> np.ndarray:
    """A regular n_theta × n_phi grid on the Klein bottle, θ ∈ [0, π), φ ∈ [0, 2π):
    (n_theta·n_phi, size²)."""
    _check_n(n_theta, "n_theta")
    _check_n(n_phi, "n_phi")
    theta, phi = np.meshgrid(
        np.pi * np.arange(n_theta) / n_theta, 2 * np.pi * np.arange(n_phi) / n_phi, indexing="ij"
    )
    return klein_filter(theta.ravel(), phi.ravel(), size)
