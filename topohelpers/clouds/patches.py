"""3×3 patches as a point cloud: contrast (the D-norm), the DCT basis, normalization, and the
high-contrast patches of natural images (Lee, Pedersen & Mumford 2003) — the data of the
primer and the frame every filter cloud of the book is read in."""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_array

NORMALIZATIONS = ("dct", "euclidean")


# the 3×3 grid Laplacian: x·Dx = Σ over 4-neighbour pairs (x_i − x_j)²
def _grid_laplacian(k: int = 3) -> np.ndarray:
    idx = np.arange(k * k).reshape(k, k)
    D = np.zeros((k * k, k * k))
    for a, b in [
        *zip(idx[:, :-1].ravel(), idx[:, 1:].ravel()),
        *zip(idx[:-1].ravel(), idx[1:].ravel()),
    ]:
        D[a, a] += 1
        D[b, b] += 1
        D[a, b] -= 1
        D[b, a] -= 1
    return D


def d_norm(P) -> np.ndarray:
    """Contrast (D-norm) of flattened 3×3 patches: sqrt of Σ (x_i − x_j)² over 4-neighbours."""
    P = np.asarray(P, dtype=np.float64)
    if P.ndim != 2 or P.shape[1] != 9:
        raise ValueError(f"P must hold flattened 3×3 patches, shape (n, 9); got {P.shape}.")
    if not np.all(np.isfinite(P)):
        raise ValueError("P holds NaN or infinite values: drop those patches first.")
    D = _grid_laplacian(3)
    return np.sqrt(np.einsum("ij,jk,ik->i", P, D, P).clip(0))


def dct_basis() -> np.ndarray:
    """The 8 non-constant 3×3 DCT basis patches (rows), scaled so that for a mean-zero patch x
    the coordinates ``A @ x`` have Euclidean norm equal to the D-norm of x (Lee et al. 2003)."""
    c = np.array([[1, 1, 1], [1, 0, -1], [1, -2, 1]], dtype=np.float64)
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    B = np.array([np.outer(c[i], c[j]).ravel() for i in range(3) for j in range(3)])[1:]
    # D is diagonal in the DCT basis: scale each vector by sqrt of its eigenvalue.
    lam = np.einsum("ij,jk,ik->i", B, _grid_laplacian(3), B)
    return B * np.sqrt(lam)[:, None]


def natural_patches(
    images, *, n_per_image: int = 5000, top: float = 0.2, normalization: str = "dct", random_state=0
) -> np.ndarray:
    """High-contrast 3×3 patches of natural images (Lee, Pedersen & Mumford 2003).

    From each image: ``n_per_image`` random 3×3 patches of log intensities; keep the ``top``
    fraction with the largest D-norm (contrast); mean-centre; then normalize:

    - ``"dct"``: divide by the D-norm and express in the DCT basis, so the patches lie on the
      7-sphere S⁷ in R⁸ with Euclidean distance there (Lee et al.; Carlsson et al. 2008);
    - ``"euclidean"``: divide by the Euclidean norm and keep the 9 pixel coordinates (the
      normalization the CNN-weight chapters apply to filters).

    Returns an array of shape (m, 8) for ``"dct"`` or (m, 9) for ``"euclidean"``.
    """
    if isinstance(images, dict):
        images = list(images.values())
    if not len(images):
        raise ValueError("images is empty: pass at least one 2-D grayscale image.")
    if not 0 < top <= 1:
        raise ValueError(f"top must be a fraction in (0, 1], got {top!r}.")
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"normalization must be 'dct' or 'euclidean', got {normalization!r}.")
    rng = np.random.default_rng(random_state)
    kept = []
    for i, img in enumerate(images):
        img = np.asarray(img, dtype=np.float64)
        if img.ndim != 2 or min(img.shape) < 3:
            raise ValueError(
                f"every image must be 2-D grayscale and at least 3×3, got shape {img.shape}."
            )
        if not np.all(np.isfinite(img)) or img.min() < 0:
            raise ValueError(
                f"images[{i}] must hold finite intensities ≥ 0 (it has NaN, inf or negative "
                "values): pass grayscale floats in [0, 1]."
            )
        logi = np.log(img + 1.0 / 255.0)
        r = rng.integers(0, img.shape[0] - 2, n_per_image)
        c = rng.integers(0, img.shape[1] - 2, n_per_image)
        P = np.stack([logi[r + i, c + j] for i in range(3) for j in range(3)], axis=1)
        contrast = d_norm(P)
        m = max(1, int(np.floor(top * n_per_image)))
        P = P[np.argsort(-contrast, kind="stable")[:m]]
        if np.any(d_norm(P) <= 1e-9):
            raise ValueError(
                f"images[{i}] (shape {img.shape}) has flat patches among its top {top:.0%} "
                "by contrast: lower top or leave out that image."
            )
        kept.append(P)
    P = np.concatenate(kept)
    return normalize_patches(P, normalization)


def normalize_patches(P, normalization: str = "dct") -> np.ndarray:
    """Mean-centre flattened 3×3 patches and normalize them as :func:`~topohelpers.natural_patches`
    does, so that any cloud (e.g. the random filters of :func:`~topohelpers.null_filters`) can
    go through the same pipeline as the natural patches.

    - ``"dct"``: divide by the D-norm and take the coordinates in the DCT basis: shape (n, 8),
      points on the unit 7-sphere (Lee, Pedersen & Mumford 2003);
    - ``"euclidean"``: divide by the Euclidean norm in pixel space: shape (n, 9).

    Examples
    --------
    >>> X = normalize_patches(np.arange(18.0).reshape(2, 9) ** 2)
    >>> X.shape, np.allclose(np.linalg.norm(X, axis=1), 1)
    ((2, 8), True)
    """
    P = check_array(P, dtype=np.float64)
    if P.shape[1] != 9:
        raise ValueError(f"P must hold flattened 3×3 patches, shape (n, 9); got {P.shape}.")
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {normalization!r}.")
    P = P - P.mean(axis=1, keepdims=True)
    scale = d_norm(P) if normalization == "dct" else np.linalg.norm(P, axis=1)
    if np.any(scale <= 1e-12):
        raise ValueError(
            "P has constant patches (zero norm after mean-centring): drop them before normalizing."
        )
    P = P / scale[:, None]
    return P @ dct_basis().T if normalization == "dct" else P
