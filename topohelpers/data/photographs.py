"""The photographs that ship with scikit-image and scikit-learn: the offline natural images of
the book, looked up in one place.

Two grayscale conventions meet here, each the one its paper's pipeline used:

- :func:`load_photographs` (natural image patches, chapter 1) converts with scikit-image's
  ``rgb2gray``, the luminance of modern displays (ITU-R BT.709: 0.2125, 0.7154, 0.0721);
- the CIFAR-10 pipeline (:func:`~topohelpers.data.images.grayscale`, chapters 7 and 8) uses
  TensorFlow's ``rgb_to_grayscale`` weights (BT.601: 0.2989, 0.5870, 0.1140), as Gabrielsson &
  Carlsson did; it receives the colour photographs of :func:`load_colour_photographs` untouched.

The two differ by a few grey levels on saturated colours and not at all on gray pixels; the
topology of 3×3 patches does not see the difference, but a cache key does, so neither is
changed to the other.
"""

from __future__ import annotations

import numpy as np

PHOTOGRAPHS = (
    "camera",
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "grass",
    "china.jpg",
    "flower.jpg",
)
"""The grayscale photographs of chapter 1: scikit-image's ``data`` module and scikit-learn's
sample images."""

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
"""The ten colour photographs of the CIFAR-10 stand-in; class ``i`` is photograph ``i``."""


def photograph(name: str) -> np.ndarray:
    """One bundled photograph as it ships (uint8; (h, w) or (h, w, 3[+1])): ``"<name>.jpg"``
    from scikit-learn's sample images, ``"motorcycle"`` the left view of scikit-image's stereo
    pair, anything else a function of ``skimage.data``.

    Examples
    --------
    >>> photograph("camera").shape, photograph("china.jpg").shape
    ((512, 512), (427, 640, 3))
    """
    import skimage.data

    if not isinstance(name, str):
        raise ValueError(
            f"a photograph name must be a string, got {name!r}: choose from {_known()}."
        )
    if name.endswith(".jpg"):
        from sklearn.datasets import load_sample_image

        try:
            return np.asarray(load_sample_image(name))
        except AttributeError:
            pass  # scikit-learn has no such image: the error below names the known ones
    elif name == "motorcycle":
        return np.asarray(skimage.data.stereo_motorcycle()[0])
    elif hasattr(skimage.data, name) and not name.startswith("_"):
        return np.asarray(getattr(skimage.data, name)())
    raise ValueError(f"unknown photograph {name!r}: choose from {_known()}.")


def _known() -> tuple:
    return tuple(dict.fromkeys(PHOTOGRAPHS + STANDIN_PHOTOGRAPHS))


def load_photographs(names=PHOTOGRAPHS) -> dict:
    """Photographs as grayscale float arrays in [0, 1] (BT.709 luminance, see the module's note).

    Examples
    --------
    >>> load_photographs(["camera"])["camera"].shape
    (512, 512)
    """
    from skimage.color import rgb2gray

    out = {}
    for name in names:
        img = photograph(name)
        g = rgb2gray(img[..., :3]) if img.ndim == 3 else img / 255.0
        out[name] = np.asarray(g, dtype=np.float64)
    return out


def load_colour_photographs(names=STANDIN_PHOTOGRAPHS) -> dict:
    """Colour photographs as uint8 arrays (h, w, 3), untouched."""
    out = {}
    for name in names:
        img = photograph(name)
        if img.ndim != 3 or img.shape[2] < 3:
            raise ValueError(f"photograph {name!r} is not a colour image (shape {img.shape}).")
        out[name] = np.ascontiguousarray(img[..., :3]).astype(np.uint8)
    return out
