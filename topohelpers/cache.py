"""On-disk cache of computed arrays (trained weights, snapshots, diagrams).

Artifacts are ``.npz`` files (never pickles) named by a hash of the full configuration
plus the helper version, written atomically and verified by a checksum on load, so a
rebuild never recomputes and a truncated file is never trusted.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

ENV_VAR = "TOPO_CACHE"
_CHECKSUM = "__sha256__"
_FOLDER: contextvars.ContextVar = contextvars.ContextVar("topohelpers_cache_folder", default=None)


def cache_dir() -> Path:
    """Cache folder: the one :func:`cache_folder` set here, else ``$TOPO_CACHE``, else
    ``~/.cache/topohelpers``."""
    root = _FOLDER.get() or os.environ.get(ENV_VAR) or Path.home() / ".cache" / "topohelpers"
    return Path(root)


@contextlib.contextmanager
def cache_folder(folder):
    """Within the block, :func:`cache_dir` is ``folder`` in this thread only (a worker thread
    writing into another machine's folder leaves its neighbours and ``$TOPO_CACHE`` alone).

    Examples
    --------
    >>> with cache_folder("/tmp/elsewhere"):
    ...     print(cache_dir())
    /tmp/elsewhere
    """
    token = _FOLDER.set(str(folder))
    try:
        yield Path(folder)
    finally:
        _FOLDER.reset(token)


def config_key(config: dict) -> str:
    """Stable hex key of a JSON-serializable configuration and the helper version.

    Examples
    --------
    >>> config_key({"k": 3, "net": "M(64,32,64)"}) == config_key({"net": "M(64,32,64)", "k": 3})
    True
    """
    from . import __version__

    if not isinstance(config, dict):
        raise ValueError(f"config must be a dict of JSON values, got {type(config).__name__}.")
    try:
        text = json.dumps({"config": config, "topohelpers": __version__}, sort_keys=True)
    except TypeError as err:
        raise ValueError(
            f"config must hold only JSON values (str, int, float, list, dict): {err}"
        ) from err
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _digest(arrays: dict) -> np.ndarray:
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(name.encode())
        h.update(str(a.dtype).encode())
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return np.frombuffer(h.digest(), dtype=np.uint8)


def save_arrays(path, arrays: dict) -> Path:
    """Write ``arrays`` (name -> ndarray) to ``path`` atomically, with a checksum."""
    path = Path(path)
    if not arrays:
        raise ValueError("arrays is empty: pass at least one named array to save.")
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    for name, a in arrays.items():
        if a.dtype == object:
            raise ValueError(
                f"array {name!r} has dtype object: the cache stores numeric arrays only."
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp.npz")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays, **{_CHECKSUM: _digest(arrays)})
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def load_arrays(path) -> dict:
    """Read arrays written by :func:`save_arrays`; raise ``ValueError`` if corrupt."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except FileNotFoundError:
        raise
    except (
        Exception
    ) as err:  # a damaged zip can raise almost anything (BadZipFile, NotImplementedError, ...)
        raise ValueError(
            f"cache file {path} is unreadable ({type(err).__name__}: {err}): "
            "delete it to recompute."
        ) from err
    stored = arrays.pop(_CHECKSUM, None)
    if stored is None or not np.array_equal(stored, _digest(arrays)):
        raise ValueError(f"cache file {path} fails its checksum: delete it to recompute.")
    return arrays


def cached(config: dict, compute, *, name: str = "artifact", folder=None) -> dict:
    """Return ``compute()`` for ``config``, from the cache when it is there.

    ``compute`` returns a dict of arrays. A corrupt entry is recomputed and replaced.

    Examples
    --------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> out = cached({"n": 3}, lambda: {"x": np.arange(3)}, folder=d)
    >>> cached({"n": 3}, lambda: 1 / 0, folder=d)["x"]   # second call reads the file
    array([0, 1, 2])
    """
    folder = Path(folder) if folder is not None else cache_dir()
    path = folder / f"{name}-{config_key(config)}.npz"
    if path.exists():
        try:
            return load_arrays(path)
        except ValueError:
            path.unlink()
    arrays = compute()
    if not isinstance(arrays, dict):
        raise ValueError("compute must return a dict of name -> array.")
    try:
        save_arrays(path, arrays)
    except OSError as err:  # an unwritable cache: the result is still good, only not kept
        import warnings

        warnings.warn(
            f"the cache folder {folder} is not writable ({type(err).__name__}: {err}); "
            f"the result is not kept: set ${ENV_VAR} to a writable folder.",
            stacklevel=2,
        )
        return {k: np.asarray(v) for k, v in arrays.items()}
    return load_arrays(path)
