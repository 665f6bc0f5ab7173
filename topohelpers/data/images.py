"""Image arrays into a network's input: floats with a channel axis, grayscale with the paper's
weights, per-image standardization, random crops and flips, and :class:`ImagePipeline`, the
CIFAR-10 input pipeline of Gabrielsson & Carlsson §V.B (random 24×24 crop, random left–right flip,
per-image mean-centring and normalizing, optionally grayscale)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

GRAY_WEIGHTS = (0.2989, 0.5870, 0.1140)
"""TensorFlow's ``rgb_to_grayscale`` weights (ITU-R BT.601), the paper's."""


def to_float(x) -> np.ndarray:
    """Images as float32 in [0, 1] with a channel axis (uint8 is read as 0–255)."""
    x = np.asarray(x)
    out = x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)
    return out[..., None] if out.ndim == 3 else out


def grayscale(x) -> np.ndarray:
    """RGB images (n, h, w, 3) -> (n, h, w, 1) with the paper's weights (0.2989, 0.5870, 0.1140).

    Examples
    --------
    >>> grayscale(np.ones((1, 2, 2, 3), dtype=np.float32) * [1, 0, 0])[0, 0, 0, 0].round(4)
    np.float32(0.2989)
    """
    x = to_float(x)
    if x.shape[-1] != 3:
        raise ValueError(f"grayscale needs RGB images with 3 channels last, got shape {x.shape}.")
    return (x @ np.asarray(GRAY_WEIGHTS, dtype=np.float32))[..., None]


def standardize(x) -> np.ndarray:
    """Per-image mean-centring and normalizing, as TensorFlow's ``per_image_standardization``:
    (x − mean) / max(std, 1/√(h·w·c)) over each image's pixels and channels."""
    x = to_float(x)
    if not np.all(np.isfinite(x)):
        raise ValueError(
            "x holds NaN or infinite pixels: standardizing would spread them over the whole image."
        )
    axes = tuple(range(1, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    std = x.std(axis=axes, keepdims=True)
    floor = 1.0 / np.sqrt(np.prod(x.shape[1:]))
    return (x - mean) / np.maximum(std, floor)


def random_crop_flip(x, size: int, rng, *, flip: bool = True):
    """A random ``size``×``size`` crop of every image and, if ``flip``, a left–right flip of a
    random half. Returns ``(crops, offsets (n, 2) as (row, col), flipped (n,) bool)``."""
    x = np.asarray(x)
    n, h, w = x.shape[:3]
    if not 1 <= size <= min(h, w):
        raise ValueError(f"crop size={size} must be in [1, {min(h, w)}] for images of {h}×{w}.")
    oy = rng.integers(0, h - size + 1, n)
    ox = rng.integers(0, w - size + 1, n)
    flipped = rng.random(n) < 0.5 if flip else np.zeros(n, bool)
    r = np.arange(size)
    rows = oy[:, None] + r
    cols = ox[:, None] + np.where(flipped[:, None], r[::-1], r)
    crops = x[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]
    return crops, np.stack([oy, ox], axis=1), flipped


def centre_crop(x, size: int) -> np.ndarray:
    x = np.asarray(x)
    h, w = x.shape[1:3]
    if not 1 <= size <= min(h, w):
        raise ValueError(f"crop size={size} must be in [1, {min(h, w)}] for images of {h}×{w}.")
    top, left = (h - size) // 2, (w - size) // 2
    return x[:, top : top + size, left : left + size]


@dataclass(frozen=True)
class ImagePipeline:
    """The paper's CIFAR-10 input pipeline.

    Training images: random ``crop``×``crop`` crop, random left–right flip, grayscale (if
    asked), per-image standardization. Test images: the centre crop, then the same (as in
    TensorFlow's CIFAR-10 tutorial the paper follows). ``crop=None`` keeps the whole image.
    """

    crop: int | None = 24
    flip: bool = True
    grayscale: bool = False
    standardize: bool = True

    def output_shape(self, image_shape) -> tuple:
        h, w = image_shape[:2]
        c = 1 if (self.grayscale or len(image_shape) == 2) else image_shape[2]
        return (self.crop or h, self.crop or w, c)

    def _finish(self, x):
        x = to_float(x)
        if self.grayscale and x.shape[-1] != 1:
            x = grayscale(x)
        return standardize(x) if self.standardize else x

    def train(self, x, rng) -> np.ndarray:
        """A freshly augmented batch of training images (float32)."""
        if self.crop is not None:
            x = random_crop_flip(x, self.crop, rng, flip=self.flip)[0]
        elif self.flip:
            x = np.asarray(x).copy()
            flip = rng.random(len(x)) < 0.5
            x[flip] = x[flip][:, :, ::-1]
        return self._finish(x)

    def test(self, x) -> np.ndarray:
        """Test images: centre crop, no flip."""
        return self._finish(centre_crop(x, self.crop) if self.crop is not None else x)

    def key(self) -> dict:
        return asdict(self)
