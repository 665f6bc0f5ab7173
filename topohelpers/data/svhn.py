"""SVHN (street-view house numbers) and its offline stand-in, as 28×28 grayscale digits.

``load_svhn()`` tries the real SVHN cropped digits (``train_32x32.mat`` / ``test_32x32.mat``,
read with scipy: what happens on Colab), grayscales them with (0.2989, 0.5870, 0.1140) and
rescales them to 28×28 as Gabrielsson & Carlsson did. Offline there is no SVHN in any
package, so it falls back to a documented stand-in in the spirit of the synthetic-digit sets
of domain adaptation (:func:`synthetic_digits`): printed digits in the fonts that ship with
matplotlib (DejaVu, STIX and Computer Modern families; regular, bold, italic/oblique, mono),
random size, position, rotation and colour, neighbouring digits cut off at the sides, on crops
of the bundled colour photographs, blurred and noised, then grayscaled and rescaled exactly
like SVHN. Seeded, balanced, any size. The returned Dataset says which source it holds.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from ..cache import cache_dir, cached
from .base import Dataset, absent, download, first_available
from .images import GRAY_WEIGHTS, grayscale
from .photographs import load_colour_photographs

SVHN_URL = "http://ufldl.stanford.edu/housenumbers/{split}_32x32.mat"
FONTS = (
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSans-Oblique.ttf",
    "DejaVuSans-BoldOblique.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSansMono-Bold.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSerif-Bold.ttf",
    "DejaVuSerif-Italic.ttf",
    "DejaVuSerif-BoldItalic.ttf",
    "STIXGeneral.ttf",
    "STIXGeneralBol.ttf",
    "STIXGeneralItalic.ttf",
    "STIXGeneralBolIta.ttf",
    "cmr10.ttf",
    "cmss10.ttf",
    "cmtt10.ttf",
    "cmb10.ttf",
)
"""The matplotlib fonts the stand-in draws digits with."""
GLYPH = 64  # glyphs are rendered on a GLYPH×GLYPH canvas, digit height ≈ 0.7·GLYPH


@functools.cache
def glyphs() -> np.ndarray:
    """Every digit in every font of :data:`FONTS`: (n_fonts, 10, 64, 64) coverage in [0, 1],
    each glyph centred on its ink."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    out = np.zeros((len(FONTS), 10, GLYPH, GLYPH), dtype=np.float32)
    for f, name in enumerate(FONTS):
        prop = FontProperties(fname=str(folder / name), size=0.7 * GLYPH * 72 / 100)
        for d in range(10):
            fig = Figure(figsize=(GLYPH / 100, GLYPH / 100), dpi=100)
            canvas = FigureCanvasAgg(fig)
            fig.text(0.5, 0.5, str(d), fontproperties=prop, ha="center", va="center", color="k")
            canvas.draw()
            img = 1.0 - np.asarray(canvas.buffer_rgba())[..., 0].astype(np.float32) / 255.0
            ys, xs = np.nonzero(img > 0.05)  # recentre on the ink's bounding box
            dy = int(round(GLYPH / 2 - (ys.min() + ys.max() + 1) / 2))
            dx = int(round(GLYPH / 2 - (xs.min() + xs.max() + 1) / 2))
            out[f, d] = np.roll(img, (dy, dx), axis=(0, 1))
    return out


def _warp(glyph, size, scale, angle, shift):
    """The glyph rotated by ``angle``, scaled so its canvas spans ``scale``·size pixels and
    centred at size/2 + shift (x, y), on a size×size canvas."""
    from scipy.ndimage import affine_transform

    c, s = np.cos(angle), np.sin(angle)
    zoom = GLYPH / (scale * size)  # output pixels -> glyph pixels
    M = zoom * np.array([[c, -s], [s, c]])
    centre_out = np.array([size / 2 + shift[1], size / 2 + shift[0]])  # (row, col)
    offset = np.array([GLYPH / 2, GLYPH / 2]) - M @ centre_out
    return affine_transform(glyph, M, offset=offset, output_shape=(size, size), order=1, cval=0.0)


def _params(rng, n, n_fonts):
    return {
        "font": rng.integers(0, n_fonts, n),
        "scale": rng.uniform(1.0, 1.45, n),
        "angle": np.radians(rng.uniform(-15, 15, n)),
        "dx": rng.uniform(-2, 2, n),
        "dy": rng.uniform(-2, 2, n),
        "left": rng.integers(0, 10, n),
        "right": rng.integers(0, 10, n),
        "gap": rng.uniform(0.50, 0.75, n),
        "neighbours": rng.random(n) < 0.8,
        "blur": rng.uniform(0.0, 1.0, n),
        "noise": rng.uniform(0.0, 0.04, n),
    }


def render_digit(label: int, p: dict, i: int, *, background=None, size: int = 32):
    """Sample ``i`` of the stand-in: its colour image (size, size, 3) in [0, 1] from the
    parameters ``p`` (see :func:`synthetic_digits`), on ``background`` (else mid-gray), or
    only the central digit's coverage mask when ``background is False``."""
    G = glyphs()
    f = p["font"][i]
    ink = _warp(G[f, label], size, p["scale"][i], p["angle"][i], (p["dx"][i], p["dy"][i]))
    if background is False:
        return ink
    if p["neighbours"][i]:
        step = (
            p["gap"][i] * p["scale"][i] * size
        )  # neighbours sit one digit-width away, cut by the edge
        for d, sgn in ((p["left"][i], -1), (p["right"][i], 1)):
            ink = np.maximum(
                ink,
                _warp(
                    G[f, d],
                    size,
                    p["scale"][i],
                    p["angle"][i],
                    (p["dx"][i] + sgn * step, p["dy"][i]),
                ),
            )
    bg = np.full((size, size, 3), 0.5, np.float32) if background is None else background
    colour = p["colour"][i]
    img = bg * (1 - ink[..., None]) + colour * ink[..., None]
    if p["blur"][i] > 0.05:
        from scipy.ndimage import gaussian_filter

        img = gaussian_filter(img, sigma=(p["blur"][i], p["blur"][i], 0))
    return img


def _to_svhn_28(img):
    """(n, 32, 32, 3) in [0, 1] -> (n, 28, 28) grayscale in [0, 1], as the paper treated SVHN."""
    from skimage.transform import resize

    g = grayscale(np.asarray(img, np.float32))[..., 0]
    return resize(g, (len(g), 28, 28), order=1, anti_aliasing=True, preserve_range=True).astype(
        np.float32
    )


def synthetic_digits(n: int, *, random_state=0, return_params: bool = False):
    """``n`` stand-in SVHN digits, balanced over 0–9 (n must be a multiple of 10): (x (n, 28,
    28) float32 in [0, 1], y). Backgrounds are random crops of the ten colour photographs of
    the CIFAR stand-in; the digit's colour is drawn to differ from its background's mean by at
    least 0.3 in luminance (house numbers are meant to be read)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 10 or n % 10:
        raise ValueError(f"n must be a positive multiple of 10 (balanced classes), got {n!r}.")
    rng = np.random.default_rng([random_state, 7])
    y = rng.permutation(np.arange(n) % 10)
    p = _params(rng, n, len(FONTS))
    photos = [ph.astype(np.float32) / 255 for ph in load_colour_photographs().values()]
    lum = np.asarray(GRAY_WEIGHTS, np.float32)
    x = np.empty((n, 32, 32, 3), np.float32)
    p["colour"] = np.empty((n, 3), np.float32)
    for i in range(n):
        ph = photos[rng.integers(len(photos))]
        side = int(rng.integers(32, 97))
        top, left = rng.integers(0, ph.shape[0] - side + 1), rng.integers(0, ph.shape[1] - side + 1)
        crop = ph[top : top + side, left : left + side]
        bg = crop[np.linspace(0, side - 1, 32).astype(int)][
            :, np.linspace(0, side - 1, 32).astype(int)
        ]
        mean = float(bg.reshape(-1, 3).mean(0) @ lum)
        while True:  # a colour that stands out from the background
            c = rng.random(3).astype(np.float32)
            if abs(float(c @ lum) - mean) >= 0.3:
                break
        p["colour"][i] = c
        img = render_digit(int(y[i]), p, i, background=bg)
        x[i] = np.clip(img + p["noise"][i] * rng.standard_normal(img.shape), 0, 1)
    out = (_to_svhn_28(x), y.astype(np.int64))
    return (*out, p) if return_params else out


def _read_mat(path: Path):
    from scipy.io import loadmat

    m = loadmat(path)
    x = np.transpose(m["X"], (3, 0, 1, 2)).astype(np.float32) / 255.0  # (n, 32, 32, 3)
    y = m["y"].ravel().astype(np.int64) % 10  # SVHN writes 0 as 10
    return _to_svhn_28(x), y


def load_svhn(
    *,
    allow_download: bool = True,
    timeout: float = 20.0,
    standin_size=(20_000, 5_000),
    verbose: bool = True,
) -> Dataset:
    """SVHN cropped digits as 28×28 grayscale (73,257 train / 26,032 test), or the stand-in.

    Tried in order: the .mat files in our cache, their download (``timeout`` seconds each),
    then :func:`synthetic_digits` with ``standin_size`` = (n_train, n_test), cached. Prints
    which one it used."""
    folder = cache_dir() / "data"
    paths = {s: folder / f"svhn_{s}_32x32.mat" for s in ("train", "test")}

    def official():
        if allow_download:
            for s, p in paths.items():
                if not p.exists():
                    download(SVHN_URL.format(split=s), p, timeout)

        def compute():
            (xtr, ytr), (xte, yte) = (
                _read_mat(absent(paths["train"])),
                _read_mat(absent(paths["test"])),
            )
            return {"x_train": xtr, "y_train": ytr, "x_test": xte, "y_test": yte}

        a = cached({"svhn": "official 32x32, gray, 28x28"}, compute, name="svhn", folder=folder)
        return Dataset(
            a["x_train"], a["y_train"], a["x_test"], a["y_test"], "SVHN (official cropped digits)"
        )

    def stand_in():
        n_train, n_test = standin_size

        def compute():
            xtr, ytr = synthetic_digits(n_train, random_state=0)
            xte, yte = synthetic_digits(n_test, random_state=1)
            return {"x_train": xtr, "y_train": ytr, "x_test": xte, "y_test": yte}

        config = {"svhn-standin": 1, "n_train": n_train, "n_test": n_test, "fonts": list(FONTS)}
        a = cached(config, compute, name="svhn-standin", folder=folder)
        return Dataset(
            a["x_train"],
            a["y_train"],
            a["x_test"],
            a["y_test"],
            "SVHN stand-in: printed digits in matplotlib's fonts on photographs",
        )

    ds, tried = first_available([("official .mat files", official), ("stand-in", stand_in)])
    if tried:
        ds = Dataset(
            ds.x_train, ds.y_train, ds.x_test, ds.y_test, ds.source + " — " + "; ".join(tried)
        )
    if verbose:
        print(f"load_svhn: {ds}")
    return ds


def load_sklearn_digits() -> Dataset:
    """scikit-learn's 1,797 handwritten 8×8 digits, upscaled to 28×28 in [0, 1]: a second
    out-of-domain test set (all in ``x_test``; ``x_train`` is empty)."""
    from skimage.transform import resize
    from sklearn.datasets import load_digits

    d = load_digits()
    x = resize(d.images / 16.0, (len(d.images), 20, 20), order=1, anti_aliasing=False).astype(
        np.float32
    )
    x = np.pad(x, ((0, 0), (4, 4), (4, 4)))  # MNIST-like: a 20×20 digit in a 28×28 frame
    return Dataset(
        x[:0], d.target[:0], x, d.target.astype(np.int64), "scikit-learn digits (8×8, upscaled)"
    )
