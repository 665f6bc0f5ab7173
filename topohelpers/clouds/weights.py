"""Point clouds made from network weights.

A *spatial filter* is one h×w slice of a convolution kernel for one (input channel,
output channel) pair, so a kernel of shape ``(h, w, c_in, c_out)`` gives ``c_in·c_out``
points in R^(h·w). Every point is mean-centred and scaled to unit norm before any
filtration (Gabrielsson & Carlsson).
"""

from __future__ import annotations

import numpy as np


def _kernel_array(kernel) -> np.ndarray:
    """Accept an ndarray or a Keras layer (its first weight is the kernel)."""
    if hasattr(kernel, "get_weights") and not isinstance(kernel, np.ndarray):
        ws = kernel.get_weights()
        if not ws:
            raise ValueError(
                f"layer {getattr(kernel, 'name', kernel)!r} has no weights: build it first."
            )
        kernel = ws[0]
    return np.asarray(kernel, dtype=np.float64)


def spatial_filters(kernel) -> np.ndarray:
    """Spatial filters of a conv kernel as rows: ``(h, w, c_in, c_out) -> (c_in·c_out, h·w)``.

    Row ``i·c_out + j`` is the filter from input channel ``i`` to output channel ``j``,
    flattened row-major (row ``y``, column ``x``).

    Examples
    --------
    >>> k = np.zeros((3, 3, 2, 4)); k[0, 2, 1, 3] = 1.0
    >>> F = spatial_filters(k)
    >>> F.shape, np.argwhere(F)
    ((8, 9), array([[7, 2]]))
    """
    k = _kernel_array(kernel)
    if k.ndim != 4:
        raise ValueError(
            "kernel must have shape (h, w, c_in, c_out) (Keras Conv2D layout), "
            f"got shape {k.shape}."
        )
    h, w, cin, cout = k.shape
    return np.transpose(k, (2, 3, 0, 1)).reshape(cin * cout, h * w)


def dense_vectors(kernel) -> np.ndarray:
    """Incoming weight vector of each unit of a dense layer: ``(n_in, n_out) -> (n_out, n_in)``.

    Examples
    --------
    >>> dense_vectors(np.arange(6.0).reshape(3, 2))
    array([[0., 2., 4.],
           [1., 3., 5.]])
    """
    k = _kernel_array(kernel)
    if k.ndim != 2:
        raise ValueError(
            f"kernel must have shape (n_in, n_out) (Keras Dense layout), got shape {k.shape}."
        )
    return k.T.copy()


def normalize(X, *, atol: float = 1e-12) -> np.ndarray:
    """Mean-centre every row, then scale it to unit Euclidean norm.

    Rows that are constant (zero after centring) or hold NaN/inf have no direction; they
    are rejected with a count rather than silently dropped.

    Examples
    --------
    >>> normalize([[1.0, 2.0, 3.0]]).round(4)
    array([[-0.7071,  0.    ,  0.7071]])
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] < 2:
        raise ValueError(f"X must be a 2-D array with at least 2 columns, got shape {X.shape}.")
    bad = ~np.isfinite(X).all(axis=1)
    if bad.any():
        raise ValueError(
            f"X has {int(bad.sum())} rows with NaN or inf: remove them before normalizing."
        )
    Y = X - X.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(Y, axis=1)
    flat = norms <= atol
    if flat.any():
        raise ValueError(
            f"X has {int(flat.sum())} constant rows (zero after mean-centring) "
            "that have no direction: drop them first, e.g. X[np.ptp(X, axis=1) > 0]."
        )
    return Y / norms[:, None]


def filters_to_kernel(F, *, c_in: int = 1) -> np.ndarray:
    """Inverse of :func:`spatial_filters`: rows (c_in·c_out, h·w) -> kernel (h, w, c_in, c_out).

    Examples
    --------
    >>> k = np.random.default_rng(0).standard_normal((3, 3, 2, 4))
    >>> bool(np.array_equal(filters_to_kernel(spatial_filters(k), c_in=2), k))
    True
    """
    F = np.asarray(F, dtype=np.float64)
    if F.ndim != 2:
        raise ValueError(f"F must be a 2-D array of flattened filters, got shape {F.shape}.")
    size = int(round(np.sqrt(F.shape[1])))
    if size * size != F.shape[1]:
        raise ValueError(
            f"each row of F must be a flattened square filter, got {F.shape[1]} values."
        )
    if c_in < 1 or F.shape[0] % c_in:
        raise ValueError(f"c_in={c_in} must divide the number of filters {F.shape[0]}.")
    c_out = F.shape[0] // c_in
    return F.reshape(c_in, c_out, size, size).transpose(2, 3, 0, 1).copy()
