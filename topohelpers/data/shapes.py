"""The synthetic data set of the 2017 report (§6): one circle outline or one square outline per
image, at random positions and sizes."""

from __future__ import annotations

import numpy as np

from ..checks import positive_int
from .base import Dataset

SHAPES = ("circle", "square")


def synthetic_shapes(n: int, *, size: int = 28, radius=(3, 11), random_state=0):
    """``n`` images of one anti-aliased circle outline or one axis-aligned square outline
    (Gabrielsson 2017, §6), at random positions.

    ``radius`` bounds the circle's radius and the square's half-width (pixels). Returns
    ``(images, labels, sizes)``: images (n, size, size) float32 in [0, 1], labels 0 = circle
    and 1 = square, sizes the radius / half-width of each shape.

    Examples
    --------
    >>> x, y, r = synthetic_shapes(4, random_state=1)
    >>> x.shape, set(y) <= {0, 1}, bool(((3 <= r) & (r <= 11)).all())
    ((4, 28, 28), True, True)
    """
    from skimage.draw import circle_perimeter_aa, polygon_perimeter

    positive_int("n", n)
    lo, hi = radius
    if not (1 <= lo <= hi and 2 * hi + 3 <= size):
        raise ValueError(
            f"radius={radius} must satisfy 1 <= low <= high and 2·high + 3 <= size={size}."
        )
    rng = np.random.default_rng(random_state)
    labels = rng.integers(0, 2, n)
    sizes = rng.integers(lo, hi + 1, n)
    images = np.zeros((n, size, size), dtype=np.float32)
    for i, (label, r) in enumerate(zip(labels, sizes)):
        cy, cx = rng.integers(r + 1, size - r - 1, 2)
        if label == 0:
            rr, cc, val = circle_perimeter_aa(int(cy), int(cx), int(r), shape=(size, size))
            images[i, rr, cc] = np.maximum(images[i, rr, cc], val)
        else:
            rows = [cy - r, cy - r, cy + r, cy + r]
            cols = [cx - r, cx + r, cx + r, cx - r]
            rr, cc = polygon_perimeter(rows, cols, shape=(size, size))
            images[i, rr, cc] = 1.0
    return images, labels, sizes


def load_shapes(n_train: int = 10_000, n_test: int = 2_500, *, random_state=0) -> Dataset:
    """The §6 data set of the 2017 report: circles (label 0) and squares (label 1)."""
    n_train, n_test = positive_int("n_train", n_train), positive_int("n_test", n_test)
    x, y, _ = synthetic_shapes(n_train + n_test, random_state=random_state)
    return Dataset(
        x[:n_train],
        y[:n_train],
        x[n_train:],
        y[n_train:],
        f"synthetic circles and squares (seed {random_state})",
    )
