"""CIFAR-10, its offline stand-in, and the paper's input pipeline.

``load_cifar10()`` tries the real CIFAR-10 (the Keras cache, our cache, then the official
download: what happens on Colab). Offline there is no CIFAR-10 inside any package, so it
falls back to a documented stand-in with real natural-image statistics: a 10-class task of
32×32 crops of ten bundled colour photographs, the class being the photograph. Train and
test crops come from disjoint regions of each photograph (the left and the right part), so
no test pixel was seen in training. The returned :class:`~topohelpers.data.Dataset` says
which source it holds.

Images are kept as uint8 (0–255) to spare memory; :class:`ImagePipeline` turns them into
the network's input: random 24×24 crop, random left–right flip, per-image mean-centring
and normalizing (Gabrielsson & Carlsson §V.B), optionally grayscale with
(0.2989, 0.5870, 0.1140).
"""

from __future__ import annotations

import tarfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .cache import cache_dir, cached
from .checks import positive_int
from .data import Dataset, _absent, _download, _NumpyOnlyUnpickler, first_available

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
GRAY_WEIGHTS = (0.2989, 0.5870, 0.1140)

STANDIN_PHOTOGRAPHS = (
    "astronaut",
    "chelsea",
    "coffee",
    "hubble_deep_field",
    "immunohistochemistry",
    "retina",
    "rocket",
    "motorcycle",
    "china.jpg",
    "flower.jpg",
)
"""The ten colour photographs of the stand-in (scikit-image's ``data`` and scikit-learn's sample
images); class ``i`` is photograph ``i``."""


# --------------------------------------------------------------------------- the pipeline


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
        raise ValueError("x holds NaN or infinite pixels: standardizing would spread them over the whole image.")
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


# --------------------------------------------------------------------------- the stand-in


def load_colour_photographs(names=STANDIN_PHOTOGRAPHS) -> dict:
    """The bundled colour photographs as uint8 arrays (h, w, 3)."""
    import skimage.data
    from sklearn.datasets import load_sample_image

    out = {}
    for name in names:
        if name.endswith(".jpg"):
            img = load_sample_image(name)
        elif name == "motorcycle":
            img = skimage.data.stereo_motorcycle()[0]
        elif hasattr(skimage.data, name):
            img = getattr(skimage.data, name)()
        else:
            raise ValueError(f"unknown photograph {name!r}: choose from {STANDIN_PHOTOGRAPHS}.")
        img = np.asarray(img)
        if img.ndim != 3 or img.shape[2] < 3:
            raise ValueError(f"photograph {name!r} is not a colour image (shape {img.shape}).")
        out[name] = np.ascontiguousarray(img[..., :3]).astype(np.uint8)
    return out


def standin_boxes(
    shapes,
    n_per_class: int,
    *,
    split: str,
    size: int = 32,
    scales=(1, 2, 3),
    test_fraction: float = 0.25,
    random_state=0,
) -> np.ndarray:
    """Where the stand-in's crops come from: rows (class, top, left, side) for ``n_per_class``
    crops of each photograph. ``split="train"`` draws from the left ``1 − test_fraction`` of the
    columns, ``"test"`` from the right ``test_fraction``, so a train crop and a test crop of the
    same photograph never share a pixel. ``side = size · scale`` for a random scale."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}.")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}.")
    rng = np.random.default_rng([random_state, 0 if split == "train" else 1])
    rows = []
    for c, (h, w) in enumerate(shapes):
        cut = int(round(w * (1 - test_fraction)))
        lo, hi = (0, cut) if split == "train" else (cut, w)
        side = size * rng.choice(scales, n_per_class)
        if (side > min(h, hi - lo)).any():
            raise ValueError(
                f"photograph {c} ({h}×{w}) is too small for crops of side {side.max()}: "
                "lower the scales or the test_fraction."
            )
        top = rng.integers(0, h - side + 1)
        left = lo + rng.integers(0, hi - lo - side + 1)
        rows.append(np.stack([np.full(n_per_class, c), top, left, side], axis=1))
    return np.concatenate(rows)


def _crops(photos: list, boxes: np.ndarray, size: int) -> np.ndarray:
    out = np.empty((len(boxes), size, size, 3), dtype=np.uint8)
    for i, (c, top, left, side) in enumerate(boxes):
        f = side // size
        patch = photos[c][top : top + side, left : left + side].astype(np.float32)
        out[i] = np.rint(patch.reshape(size, f, size, f, 3).mean(axis=(1, 3))).astype(np.uint8)
    return out


def photo_crops(
    n_train: int = 20_000,
    n_test: int = 5_000,
    *,
    size: int = 32,
    scales=(1, 2, 3),
    test_fraction: float = 0.25,
    random_state=0,
) -> Dataset:
    """The offline CIFAR-10 stand-in: ``n_train`` / ``n_test`` crops (balanced over the ten
    photographs of :data:`STANDIN_PHOTOGRAPHS`), each a random square of side 32·s (s ∈
    ``scales``) averaged down to 32×32. Shuffled, seeded, cached."""
    for name, n in (("n_train", n_train), ("n_test", n_test)):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 10 or n % 10:
            raise ValueError(f"{name} must be a positive multiple of 10 (balanced classes), got {n!r}.")
    positive_int("size", size)
    config = {
        "n_train": int(n_train),
        "n_test": int(n_test),
        "size": int(size),
        "scales": [int(s) for s in scales],
        "test_fraction": float(test_fraction),
        "random_state": int(random_state),
        "photographs": list(STANDIN_PHOTOGRAPHS),
    }

    def compute():
        photos = list(load_colour_photographs().values())
        shapes = [p.shape[:2] for p in photos]
        arrays = {}
        for split, n in (("train", n_train), ("test", n_test)):
            boxes = standin_boxes(
                shapes,
                n // 10,
                split=split,
                size=size,
                scales=scales,
                test_fraction=test_fraction,
                random_state=random_state,
            )
            order = np.random.default_rng([random_state, 2, len(split)]).permutation(len(boxes))
            boxes = boxes[order]
            arrays[f"x_{split}"], arrays[f"y_{split}"] = _crops(photos, boxes, size), boxes[:, 0].astype(np.int64)
        return arrays

    a = cached(config, compute, name="cifar-standin", folder=cache_dir() / "data")
    return Dataset(
        a["x_train"],
        a["y_train"],
        a["x_test"],
        a["y_test"],
        "CIFAR-10 stand-in: 32×32 crops of 10 bundled photographs (class = photograph), "
        "train/test from disjoint regions",
    )


# --------------------------------------------------------------------------- the real CIFAR-10


def _read_cifar_batches(open_member, names):
    xs, ys = [], []
    for name in names:
        with open_member(name) as fh:
            d = _NumpyOnlyUnpickler(fh, encoding="bytes").load()
        xs.append(np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        ys.append(np.asarray(d[b"labels"], dtype=np.int64))
    return np.concatenate(xs), np.concatenate(ys)


TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]


def _cifar_from(folder: Path | None, tar: Path | None):
    if folder is not None:
        opener = lambda name: open(folder / name, "rb")
        return (*_read_cifar_batches(opener, TRAIN_BATCHES), *_read_cifar_batches(opener, ["test_batch"]))
    with tarfile.open(tar, "r:gz") as t:
        opener = lambda name: t.extractfile(f"cifar-10-batches-py/{name}")
        return (*_read_cifar_batches(opener, TRAIN_BATCHES), *_read_cifar_batches(opener, ["test_batch"]))


def load_cifar10(
    *, allow_download: bool = True, timeout: float = 20.0, standin_size=(20_000, 5_000), verbose: bool = True
) -> Dataset:
    """CIFAR-10 (50,000 train / 10,000 test, uint8 32×32×3), or its offline stand-in.

    Tried in order: the Keras cache (``~/.keras/datasets/cifar-10-batches-py``), the
    official archive in our cache, its download (``timeout`` seconds), and finally
    :func:`photo_crops` with ``standin_size`` = (n_train, n_test). Prints which one it used.
    """
    keras_dir = Path.home() / ".keras" / "datasets" / "cifar-10-batches-py"
    tar = cache_dir() / "data" / "cifar-10-python.tar.gz"

    def archive():
        if not tar.exists() and allow_download:
            _download(CIFAR10_URL, tar, timeout)
        return Dataset(*_cifar_from(None, _absent(tar)), "CIFAR-10 (official archive)")

    def stand_in():
        return photo_crops(*standin_size)

    ds, tried = first_available(
        [
            (
                "Keras cache",
                lambda: Dataset(*_cifar_from(_absent(keras_dir / "test_batch").parent, None), "CIFAR-10 (Keras cache)"),
            ),
            ("official archive", archive),
            ("stand-in", stand_in),
        ]
    )
    if tried:
        ds = Dataset(ds.x_train, ds.y_train, ds.x_test, ds.y_test, ds.source + " — " + "; ".join(tried))
    if verbose:
        print(f"load_cifar10: {ds}")
    return ds
