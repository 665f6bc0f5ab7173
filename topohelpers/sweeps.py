"""Sweeps: one function over a grid of settings, in parallel, each task through the cache.

The book's heavy work is embarrassingly parallel: stability grids, per-snapshot and per-layer
analyses, seed studies, the paper-weights shards. :func:`sweep` maps a function over a list of
tasks (keyword dicts, e.g. from :func:`grid`) with :class:`joblib.Parallel`:

- **local processes** (joblib's ``loky``) by default, as many as there are cores
  (``$TOPO_N_JOBS`` or ``n_jobs=`` to change it; 1 runs in this process);
- **a Dask cluster** when ``$TOPO_DASK_SCHEDULER`` holds a scheduler address (or a
  ``distributed.Client`` is passed): the same call, through ``joblib.parallel_config(backend=
  "dask")``, and nothing in the notebook changes.

Each finished task is written to the on-disk cache (:mod:`topohelpers.cache`) under a key made
of the function's name and source, what it reads from outside, and its arguments, so a rerun, an
interrupted sweep or a task another worker finished is not computed again. A cached result is a
dict of arrays or numbers, a number, an array, or an object of this package that has
``to_arrays()`` and ``from_arrays()`` (:class:`~topohelpers.topology.persistence.Persistence`,
:class:`~topohelpers.analysis.CloudReport`); anything else needs ``cache=False``.

Workers do not fight for cores: each local worker runs its BLAS and TensorFlow with
``cores // n_jobs`` threads. On a GPU, processes are not the way to go faster: one process
trains many networks at once with the ensemble engine (:func:`~topohelpers.train_ensemble`),
so :func:`train_many` trains in this process when it sees an accelerator and there is no cluster.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib
import inspect
import itertools
import os
import types
from pathlib import Path

import numpy as np

from .cache import cache_dir, config_key, load_arrays, save_arrays
from .checks import positive_int

SCHEDULER_ENV = "TOPO_DASK_SCHEDULER"
"""Address of a Dask scheduler (``tcp://host:8786``): sweeps run on its workers."""
JOBS_ENV = "TOPO_N_JOBS"
"""Local worker processes of a sweep (default: the cores this process may use)."""
CONNECT_TIMEOUT = "20s"
"""How long :func:`dask_client` waits for the scheduler at ``$TOPO_DASK_SCHEDULER``."""
_TYPE = "__type__"


def grid(**axes) -> list:
    """Every combination of the ``axes`` (name -> values), the last one varying fastest: the
    tasks of a :func:`sweep`, in the order ``np.reshape`` expects.

    Examples
    --------
    >>> grid(k=[5, 10], p=[0.1, 0.3])
    [{'k': 5, 'p': 0.1}, {'k': 5, 'p': 0.3}, {'k': 10, 'p': 0.1}, {'k': 10, 'p': 0.3}]
    """
    if not axes:
        raise ValueError("grid needs at least one axis, e.g. grid(k=[5, 10], p=[0.1, 0.3]).")
    for name, values in axes.items():
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            raise ValueError(f"axis {name!r} must be a list of values, got {values!r}.")
    names = list(axes)
    return [dict(zip(names, combo)) for combo in itertools.product(*axes.values())]


def n_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _jobs(n_jobs) -> int:
    if n_jobs is None:
        text = os.environ.get(JOBS_ENV, "").strip()
        if not text:
            return n_cores()
        try:
            n_jobs = int(text)
        except ValueError:
            raise ValueError(
                f"${JOBS_ENV} must be a whole number of processes, got {text!r}."
            ) from None
        if n_jobs < 1:
            raise ValueError(f"${JOBS_ENV} must be at least 1, got {n_jobs}.")
        return n_jobs
    return positive_int("n_jobs", n_jobs)


_CLIENTS: dict = {}


def dask_client(client=None):
    """The Dask client sweeps run on: ``client`` itself, or one connected (once) to the
    scheduler at ``$TOPO_DASK_SCHEDULER``; ``None`` when neither is given (local processes)."""
    if client is not None:
        if not hasattr(client, "scheduler_info"):
            raise ValueError(
                f"client must be a distributed.Client, got {type(client).__name__}: "
                f"or leave it out and set ${SCHEDULER_ENV}."
            )
        return client
    address = os.environ.get(SCHEDULER_ENV, "").strip()
    if not address:
        return None
    if address not in _CLIENTS or _CLIENTS[address].status in ("closed", "closing"):
        try:
            from distributed import Client
        except ImportError as err:
            raise ImportError(
                f"${SCHEDULER_ENV} is set but the dask 'distributed' package is missing: "
                "pip install 'dask[distributed]' (or unset the variable for local processes)."
            ) from err
        try:
            _CLIENTS[address] = Client(address, timeout=CONNECT_TIMEOUT)
        except OSError as err:
            raise OSError(
                f"no Dask scheduler answers at ${SCHEDULER_ENV}={address!r} ({err}): start one "
                "with `dask scheduler` and `dask worker ADDRESS`, or unset the variable."
            ) from err
    return _CLIENTS[address]


def engine(n_jobs=None, client=None) -> str:
    """In words, where a :func:`sweep` with these arguments runs (for a page to say)."""
    c = dask_client(client)
    if c is not None:
        workers = c.scheduler_info().get("workers", {})
        threads = sum(w.get("nthreads", 0) for w in workers.values())
        return (
            f"a Dask cluster at {c.scheduler.address} ({len(workers)} workers, {threads} threads)"
        )
    n = _jobs(n_jobs)
    if n == 1:
        return "this process (one task at a time)"
    return f"{n} local processes (joblib loky) on {n_cores()} cores"


# -- cache keys ---------------------------------------------------------------------------------


def _array_fingerprint(a: np.ndarray) -> dict:
    a = np.ascontiguousarray(a)
    if a.dtype == object:
        return {"objects": [fingerprint(x) for x in a.ravel().tolist()], "shape": list(a.shape)}
    return {
        "sha256": hashlib.sha256(a.view(np.uint8).reshape(-1) if a.size else b"").hexdigest(),
        "dtype": str(a.dtype),
        "shape": list(a.shape),
    }


def fingerprint(obj, _depth: int = 0):
    """A JSON value that changes when ``obj`` changes: numbers and strings as they are, arrays
    by hash, dataclasses and estimators by their fields, functions by name, source and the
    values they read from outside (globals and closures, to a depth of three functions)."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return _array_fingerprint(obj)
    if isinstance(obj, (list, tuple)):
        return [fingerprint(x, _depth) for x in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted((fingerprint(x, _depth) for x in obj), key=repr)
    if isinstance(obj, dict):
        return {str(k): fingerprint(v, _depth) for k, v in obj.items()}
    if isinstance(obj, types.ModuleType):
        return {"module": obj.__name__}
    if isinstance(obj, type):
        return {"class": f"{obj.__module__}.{obj.__qualname__}"}
    if isinstance(obj, functools.partial):
        return {
            "partial": fingerprint(obj.func, _depth),
            "args": fingerprint(obj.args, _depth),
            "keywords": fingerprint(obj.keywords, _depth),
        }
    if isinstance(obj, (types.FunctionType, types.MethodType)):
        return _function_fingerprint(obj, _depth)
    if callable(obj) and getattr(obj, "__qualname__", None) and not hasattr(obj, "get_params"):
        return {"callable": f"{getattr(obj, '__module__', '')}.{obj.__qualname__}"}
    kind = f"{type(obj).__module__}.{type(obj).__qualname__}"
    if dataclasses.is_dataclass(obj):
        return {
            "dataclass": kind,
            **{f.name: fingerprint(getattr(obj, f.name), _depth) for f in dataclasses.fields(obj)},
        }
    if hasattr(obj, "get_params"):  # scikit-learn style estimators (Mapper, clusterers)
        return {"estimator": kind, "params": fingerprint(obj.get_params(deep=False), _depth)}
    text = repr(obj)
    if " at 0x" in text:
        raise ValueError(
            f"cannot key a {kind} for the cache (its repr names a memory address): pass its "
            "numbers as task arguments, or sweep(..., cache=False)."
        )
    return {"object": kind, "repr": text}


def _function_fingerprint(fn, depth: int) -> dict:
    bound = getattr(fn, "__self__", None)
    fn = getattr(fn, "__func__", fn)
    out = {"function": f"{fn.__module__}.{fn.__qualname__}"}
    if bound is not None:
        out["self"] = fingerprint(bound, depth)
    if fn.__module__.split(".")[0] == "topohelpers":
        return out  # the package's own code: its version is in every key (config_key)
    try:
        source = inspect.getsource(fn)
    except (OSError, TypeError):
        source = fn.__code__.co_code.hex()
    out["source"] = hashlib.sha256(source.encode()).hexdigest()
    if depth >= 3:
        return out
    try:
        outside = inspect.getclosurevars(fn)
    except (TypeError, ValueError):
        return out
    reads = {**outside.globals, **outside.nonlocals}
    out["reads"] = {name: fingerprint(value, depth + 1) for name, value in sorted(reads.items())}
    return out


def task_key(fn, task: dict, shared: dict | None = None, *, name: str = "sweep") -> str:
    """The cache key of one task of a :func:`sweep`."""
    return _keys(fn, [task], shared, name)[0]


def _keys(fn, tasks, shared, name) -> list:
    common = {"sweep": name, "fn": fingerprint(fn), "shared": fingerprint(shared or {})}
    return [config_key({**common, "task": fingerprint(t)}) for t in tasks]


# -- results as arrays ---------------------------------------------------------------------------


def encode(result) -> dict:
    """``result`` as a dict of arrays for the cache (see the module docstring for what fits)."""
    if hasattr(result, "to_arrays") and hasattr(type(result), "from_arrays"):
        kind = f"{type(result).__module__}:{type(result).__qualname__}"
        arrays = dict(result.to_arrays())
    elif isinstance(result, dict) and result and all(isinstance(k, str) for k in result):
        kind, arrays = "dict", dict(result)
    elif isinstance(result, (bool, int, float, np.generic, np.ndarray, list, tuple)):
        kind, arrays = "value", {"value": result}
    else:
        raise ValueError(
            f"a sweep task returned a {type(result).__name__}, which the cache cannot hold: "
            "return a dict of arrays or numbers (or a Persistence, CloudReport), or pass "
            "cache=False."
        )
    out = {}
    for k, v in arrays.items():
        a = np.asarray(v)
        if a.dtype == object:
            raise ValueError(
                f"a sweep task's result {k!r} is not numeric (dtype object): return arrays or "
                "numbers, or pass cache=False."
            )
        out[k] = a
    out[_TYPE] = np.array(kind)
    return out


def decode(arrays: dict):
    """Inverse of :func:`encode`."""
    arrays = dict(arrays)
    kind = str(arrays.pop(_TYPE))
    if kind == "value":
        v = arrays["value"]
        return v.item() if v.ndim == 0 else v
    if kind == "dict":
        return {k: (v.item() if v.ndim == 0 else v) for k, v in arrays.items()}
    module, _, qualname = kind.partition(":")
    if module.split(".")[0] != "topohelpers":
        raise ValueError(f"cached result of unknown type {kind!r}: delete the file to recompute.")
    cls = importlib.import_module(module)
    for part in qualname.split("."):
        cls = getattr(cls, part)
    return cls.from_arrays(arrays)


# -- running ------------------------------------------------------------------------------------

_THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
)


def _limit_threads(threads: int):
    """Cap this worker's BLAS and TensorFlow threads (TensorFlow reads them when it starts; a
    running one is told through its config, which it may refuse once it has run ops)."""
    for var in _THREAD_VARS:
        os.environ[var] = str(threads)
    import sys

    if "tensorflow" in sys.modules:
        tf = sys.modules["tensorflow"]
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except (RuntimeError, AttributeError):
            pass
    from threadpoolctl import threadpool_limits

    return threadpool_limits(threads)


def _run_task(fn, index, task, path, threads, /, **shared):
    """One task in a worker: read the cache (another worker may have finished it), else compute,
    write (where the cache folder is reachable) and send the result back as arrays."""
    import contextlib

    from joblib import parallel_config

    # joblib inside a task (scikit-learn's neighbour searches) stays in this worker: under the
    # Dask backend it would send its pieces back to the cluster, slower than doing them here
    with (
        _limit_threads(threads) if threads else contextlib.nullcontext(),
        parallel_config(backend="threading", n_jobs=threads or 1),
    ):
        if path is not None:
            path = Path(path)
            if path.exists():
                try:
                    return index, load_arrays(path)
                except ValueError:
                    pass
        result = fn(**shared, **task)
        if path is None:
            return index, result
        arrays = encode(result)
        try:
            save_arrays(path, arrays)
        except OSError:  # not on shared storage: the parent writes it
            pass
        return index, arrays


def sweep(
    fn,
    tasks,
    *,
    shared: dict | None = None,
    n_jobs: int | None = None,
    client=None,
    cache: bool = True,
    name: str = "sweep",
    threads: int | None = None,
    desc: str | None = None,
    folder=None,
) -> list:
    """``[fn(**shared, **task) for task in tasks]``, in parallel and through the cache.

    Parameters
    ----------
    fn : the function of one task (a notebook's own function is fine: it is sent by value).
    tasks : list of keyword dicts, e.g. ``grid(k=[5, 10], p=[0.1, 0.3])``.
    shared : keyword arguments common to every task (a cloud, a data set): sent once per worker.
    n_jobs : local processes (default ``$TOPO_N_JOBS``, else every core; 1: in this process).
    client : a ``distributed.Client``; default: one to ``$TOPO_DASK_SCHEDULER`` when it is set.
    cache : keep each result on disk (see the module docstring for what a result may be).
    name : prefix of the cache files.
    threads : BLAS/TensorFlow threads per worker (default: cores // processes locally; on a
        cluster, what the workers were started with).
    desc : label of the progress bar (shown as tasks complete; ``TQDM_DISABLE=1`` hides it).
    folder : cache folder (default :func:`~topohelpers.cache.cache_dir`).

    Returns the results in the order of ``tasks``.

    Examples
    --------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> def cube(x, offset):
    ...     return {"y": x**3 + offset}
    >>> out = sweep(cube, grid(x=[1, 2, 3]), shared={"offset": 1}, n_jobs=1, folder=d)
    >>> [r["y"] for r in out]
    [2, 9, 28]
    """
    from joblib import Parallel, delayed, parallel_config
    from tqdm.auto import tqdm

    if not callable(fn):
        raise ValueError(f"fn must be a function of one task, got {type(fn).__name__}.")
    if isinstance(tasks, dict):
        raise ValueError(
            "tasks must be a list of keyword dicts: wrap one dict in a list, or grid()."
        )
    tasks = list(tasks)
    for i, t in enumerate(tasks):
        if not isinstance(t, dict) or not all(isinstance(k, str) for k in t):
            raise ValueError(
                f"tasks[{i}] must be a dict of keyword arguments, got {t!r}: "
                "build tasks with grid()."
            )
    shared = dict(shared or {})
    clash = sorted({k for t in tasks for k in t} & set(shared))
    if clash:
        raise ValueError(f"arguments {clash} are both in shared and in a task: give each once.")
    if threads is not None:
        positive_int("threads", threads)
    c = dask_client(client)
    n = len(tasks) if c is not None else _jobs(n_jobs)

    folder = Path(folder) if folder is not None else cache_dir()
    paths = (
        [folder / f"{name}-{key}.npz" for key in _keys(fn, tasks, shared, name)]
        if cache
        else [None] * len(tasks)
    )
    results: dict = {}
    for i, path in enumerate(paths):
        if path is not None and path.exists():
            try:
                results[i] = decode(load_arrays(path))
            except ValueError:
                path.unlink()
    todo = [i for i in range(len(tasks)) if i not in results]
    if not todo:
        return [results[i] for i in range(len(tasks))]

    def keep(i, payload):
        if paths[i] is None:
            results[i] = payload
            return
        if not paths[i].exists():  # a worker that cannot reach this cache folder
            try:
                save_arrays(paths[i], payload)
            except OSError as err:
                if not unkept:
                    import warnings

                    warnings.warn(
                        f"the cache folder {folder} is not writable ({err}); the sweep's results "
                        "are not kept: set $TOPO_CACHE to a writable folder.",
                        stacklevel=3,
                    )
                unkept.append(i)
        results[i] = decode(payload)

    unkept: list = []

    bar = tqdm(total=len(todo), desc=desc or getattr(fn, "__name__", "sweep"), leave=False)
    if c is None and (n == 1 or len(todo) == 1):
        for i in todo:
            keep(*_run_task(fn, i, tasks[i], paths[i], None, **shared))
            bar.update()
    else:
        if c is None:
            n = min(n, len(todo))
            per_worker = threads or max(1, n_cores() // n)
            config = parallel_config(backend="loky", n_jobs=n, inner_max_num_threads=per_worker)
        else:
            per_worker = threads
            # what every task reads is sent to every worker once (joblib alone would send it to
            # one worker, and the scheduler would then run every task there)
            big = [v for v in shared.values() if not isinstance(v, (str, int, float, bool))]
            config = parallel_config(backend="dask", client=c, n_jobs=-1, scatter=big or None)
        with config:
            calls = (
                delayed(_run_task)(
                    fn, i, tasks[i], paths[i] and str(paths[i]), per_worker, **shared
                )
                for i in todo
            )
            for i, payload in Parallel(return_as="generator_unordered", batch_size=1)(calls):
                keep(i, payload)
                bar.update()
    bar.close()
    return [results[i] for i in range(len(tasks))]
