"""CIFAR-10 and its offline stand-in.

``load_cifar10()`` tries the real CIFAR-10 (the Keras cache, our cache, then the official
download: what happens on Colab). Offline there is no CIFAR-10 inside any package, so it
falls back to a documented stand-in with real natural-image statistics: a 10-class task of
32×32 crops of ten bundled colour photographs, the class being the photograph. Train and
test crops come from disjoint regions of each photograph (the left and the right part), so
no test pixel was seen in training. The returned :class:`~topohelpers.data.Dataset` says
which source it holds.

Images are kept as uint8 (0–255) to spare memory;
:class:`~topohelpers.data.images.ImagePipeline` turns them into the network's input.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np

from ..cache import cache_dir, cached
from ..checks import positive_int
from .base import Dataset, NumpyOnlyUnpickler, absent, download, first_available
from .photographs import STANDIN_PHOTOGRAPHS, load_colour_photographs

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"


# --------------------------------------------------------------------------- the stand-in


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
            raise ValueError(
                f"{name} must be a positive multiple of 10 (balanced classes), got {n!r}."
            )
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
            arrays[f"x_{split}"], arrays[f"y_{split}"] = (
                _crops(photos, boxes, size),
                boxes[:, 0].astype(np.int64),
            )
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
            d = NumpyOnlyUnpickler(fh, encoding="bytes").load()
        xs.append(
            np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        )
        ys.append(np.asarray(d[b"labels"], dtype=np.int64))
    return np.concatenate(xs), np.concatenate(ys)


TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]


def _cifar_from(folder: Path | None, tar: Path | None):
    if folder is not None:
        opener = lambda name: open(folder / name, "rb")
        return (
            *_read_cifar_batches(opener, TRAIN_BATCHES),
            *_read_cifar_batches(opener, ["test_batch"]),
        )
    with tarfile.open(tar, "r:gz") as t:
        opener = lambda name: t.extractfile(f"cifar-10-batches-py/{name}")
        return (
            *_read_cifar_batches(opener, TRAIN_BATCHES),
            *_read_cifar_batches(opener, ["test_batch"]),
        )


def load_cifar10(
    *,
    allow_download: bool = True,
    timeout: float = 20.0,
    standin_size=(20_000, 5_000),
    verbose: bool = True,
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
            download(CIFAR10_URL, tar, timeout)
        return Dataset(*_cifar_from(None, absent(tar)), "CIFAR-10 (official archive)")

    def stand_in():
        return photo_crops(*standin_size)

    ds, tried = first_available(
        [
            (
                "Keras cache",
                lambda: Dataset(
                    *_cifar_from(absent(keras_dir / "test_batch").parent, None),
                    "CIFAR-10 (Keras cache)",
                ),
            ),
            ("official archive", archive),
            ("stand-in", stand_in),
        ]
    )
    if tried:
        ds = Dataset(
            ds.x_train, ds.y_train, ds.x_test, ds.y_test, ds.source + " — " + "; ".join(tried)
        )
    if verbose:
        print(f"load_cifar10: {ds}")
    return ds
