"""Sweeps: one function over a grid of settings, in parallel, each task through the cache.

The book's heavy work is embarrassingly parallel: stability grids, per-snapshot and per-layer
analyses, seed studies, the paper-weights shards. :func:`sweep` maps a function over a list of
tasks (keyword dicts, e.g. from :func:`grid`):

- **local processes** (joblib's ``loky``) by default, as many as there are cores
  (``$TOPO_N_JOBS`` or ``n_jobs=`` to change it; 1 runs in this process);
- **a Dask cluster** when ``$TOPO_DASK_SCHEDULER`` holds a scheduler address (or a
  ``distributed.Client`` is passed): the same call, each task a Dask future, and nothing in the
  notebook changes.

Each finished task is written to the on-disk cache (:mod:`topohelpers.cache`) under a key made
of the function's name, source and defaults, what it reads from outside (:func:`fingerprint`),
its arguments and a hash of this package's code (:func:`package_digest`), so a rerun, an
interrupted sweep or a task another worker finished is not computed again, and a change to the
function, to what it reads or to the package computes it anew. A cached result is a
dict of arrays or numbers, a number, an array, or an object of this package that has
``to_arrays()`` and ``from_arrays()`` (:class:`~topohelpers.topology.persistence.Persistence`,
:class:`~topohelpers.analysis.CloudReport`); anything else needs ``cache=False``.

Workers do not fight for cores: each local worker runs its BLAS and TensorFlow with
``cores // n_jobs`` threads, each Dask task with its machine's cores over the tasks that
machine's workers run at once. A sweep inside a task runs in that task's worker. On a GPU,
processes are not the way to go faster: one process trains many networks at once with the
ensemble engine (:func:`~topohelpers.train_ensemble`), so :func:`train_many` trains in this
process when it sees an accelerator and there is no cluster.
"""

from __future__ import annotations

import contextvars
import dataclasses
import functools
import hashlib
import importlib
import importlib.metadata
import inspect
import itertools
import os
import sys
import sysconfig
import types
import warnings
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
_IN_TASK: contextvars.ContextVar = contextvars.ContextVar("topohelpers_in_task", default=False)


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
    """Cores this process may run on (its CPU affinity and container quota, as joblib counts)."""
    from joblib import cpu_count

    return max(1, int(cpu_count()))


def progress_bar(total: int, desc: str, *, initial: int = 0, leave: bool = True):
    """A tqdm bar: a widget in Jupyter where ipywidgets is installed, else text, without the
    warning tqdm prints when it is not (that warning would land on the book's pages)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from tqdm.auto import tqdm
    return tqdm(total=total, initial=initial, desc=desc, leave=leave, mininterval=2.0)


def _jobs(n_jobs) -> int:
    if _IN_TASK.get():  # a sweep inside a sweep's task runs in that task's worker
        return 1
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
    if not address or _IN_TASK.get():  # a task does not send work back to its own cluster
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


@functools.lru_cache(maxsize=1)
def package_digest() -> str:
    """A hash of this package's source files. It is in every sweep key: a chapter's function
    calls the package, so when the package's code changes, the sweeps' cached results are stale."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:20]


@functools.lru_cache(maxsize=1)
def _library_roots() -> tuple:
    paths = sysconfig.get_paths()
    keys = ("purelib", "platlib", "stdlib", "platstdlib")
    return tuple({Path(paths[k]).resolve() for k in keys if paths.get(k)})


@functools.lru_cache(maxsize=1)
def _distributions() -> dict:
    return importlib.metadata.packages_distributions()


@functools.cache
def library_version(module: str | None) -> str | None:
    """``"name version"`` of the installed library (or the standard library) that ``module``
    belongs to; ``None`` for this package and for the user's own code (``__main__``, a notebook,
    a file beside it), whose functions are keyed by their source instead."""
    top = (module or "").split(".")[0]
    if not top or top in ("__main__", "topohelpers"):
        return None
    if top in sys.builtin_module_names:
        return f"python {sys.version.split()[0]}"
    mod = sys.modules.get(module) or sys.modules.get(top)
    file = getattr(mod, "__file__", None)
    if file is None:
        return None
    path = Path(file).resolve()
    root = next((r for r in _library_roots() if path.is_relative_to(r)), None)
    if root is None:
        return None
    if root in {Path(sysconfig.get_paths()[k]).resolve() for k in ("stdlib", "platstdlib")}:
        if "site-packages" not in path.parts and "dist-packages" not in path.parts:
            return f"python {sys.version.split()[0]}"
    for dist in _distributions().get(top, [top]):
        try:
            return f"{dist} {importlib.metadata.version(dist)}"
        except importlib.metadata.PackageNotFoundError:
            continue
    return f"{top} {getattr(mod, '__version__', '?')}"


def _array_fingerprint(a: np.ndarray) -> dict:
    a = np.ascontiguousarray(a)
    if a.dtype == object:
        return {"objects": [fingerprint(x) for x in a.ravel().tolist()], "shape": list(a.shape)}
    return {
        "sha256": hashlib.sha256(a.view(np.uint8).reshape(-1) if a.size else b"").hexdigest(),
        "dtype": str(a.dtype),
        "shape": list(a.shape),
    }


def _users_code(module: str) -> bool:
    """Code neither a library's nor this package's: keyed by its source, its reads walked."""
    return library_version(module) is None and module.split(".")[0] != "topohelpers"


def _named(kind: str, obj) -> dict:
    """A library's function or class by name and the library's version; the user's own by name
    and source."""
    module = getattr(obj, "__module__", None) or ""
    out = {kind: f"{module}.{getattr(obj, '__qualname__', type(obj).__qualname__)}"}
    version = library_version(module)
    if version is not None:
        out["library"] = version
    elif _users_code(module):  # (the package's own code is in package_digest)
        try:
            out["source"] = hashlib.sha256(inspect.getsource(obj).encode()).hexdigest()
        except (OSError, TypeError):
            pass
    return out


def fingerprint(obj, _depth: int = 0):
    """A JSON value that changes when ``obj`` changes: numbers and strings as they are, arrays
    by hash, dataclasses by their fields, estimators by their parameters and fitted state, the
    user's functions by source, defaults and the values they read from outside (globals, also
    inside comprehensions and lambdas, and closures, to a depth of three functions), a library's
    functions by name and the library's version, other objects by :func:`joblib.hash`."""
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
        version = library_version(obj.__name__)
        return {"module": obj.__name__, **({"library": version} if version else {})}
    if isinstance(obj, type):
        return _named("class", obj)
    if isinstance(obj, functools.partial):
        return {
            "partial": fingerprint(obj.func, _depth),
            "args": fingerprint(obj.args, _depth),
            "keywords": fingerprint(obj.keywords, _depth),
        }
    if isinstance(obj, (types.FunctionType, types.MethodType)):
        return _function_fingerprint(obj, _depth)
    if callable(obj) and getattr(obj, "__qualname__", None) and not hasattr(obj, "get_params"):
        return _named("callable", obj)  # builtins, numpy ufuncs
    kind = f"{type(obj).__module__}.{type(obj).__qualname__}"
    if dataclasses.is_dataclass(obj):
        return {
            "dataclass": kind,
            **{f.name: fingerprint(getattr(obj, f.name), _depth) for f in dataclasses.fields(obj)},
        }
    if hasattr(obj, "get_params"):  # scikit-learn style estimators (Mapper, clusterers)
        fitted = {k: v for k, v in vars(obj).items() if k.endswith("_") and not k.startswith("_")}
        return {
            "estimator": kind,
            "params": fingerprint(obj.get_params(deep=False), _depth),
            "fitted": fingerprint(fitted, _depth),
        }
    import joblib

    try:  # anything else (a pandas frame, a scipy distribution) by the bytes of its pickle
        return {"object": kind, "joblib_hash": joblib.hash(obj)}
    except Exception as err:
        raise ValueError(
            f"cannot key a {kind} for the cache ({err}): pass its numbers as task arguments, "
            "or sweep(..., cache=False)."
        ) from err


def _code_names(code: types.CodeType) -> set:
    """The global names a code object and the code nested in it (comprehensions, lambdas,
    inner functions) may read."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def _code_digest(code: types.CodeType) -> str:
    """Bytecode and constants, nested code included (for a function whose source is gone)."""
    h = hashlib.sha256(code.co_code)
    for const in code.co_consts:
        h.update(
            (_code_digest(const) if isinstance(const, types.CodeType) else repr(const)).encode()
        )
    return h.hexdigest()


def _function_fingerprint(fn, depth: int) -> dict:
    bound = getattr(fn, "__self__", None)
    fn = getattr(fn, "__func__", fn)
    module = getattr(fn, "__module__", None) or ""
    out = _named("function", fn)
    if bound is not None:
        out["self"] = fingerprint(bound, depth)
    if not _users_code(module):
        return out  # a library's function (by its version) or this package's (package_digest)
    out.setdefault("source", _code_digest(fn.__code__))  # a function whose source is gone
    out["defaults"] = fingerprint(fn.__defaults__, depth)
    out["kwdefaults"] = fingerprint(fn.__kwdefaults__, depth)
    if depth >= 3:
        return out
    scope = fn.__globals__
    reads = {name: scope[name] for name in _code_names(fn.__code__) if name in scope}
    cells = zip(fn.__code__.co_freevars, fn.__closure__ or ())
    for name, cell in cells:
        try:
            reads[name] = cell.cell_contents
        except ValueError:  # not yet bound
            continue
    out["reads"] = {name: fingerprint(value, depth + 1) for name, value in sorted(reads.items())}
    return out


def task_key(fn, task: dict, shared: dict | None = None, *, name: str = "sweep") -> str:
    """The cache key of one task of a :func:`sweep`."""
    return _keys(fn, [task], shared, name)[0]


def _keys(fn, tasks, shared, name) -> list:
    common = {
        "sweep": name,
        "package": package_digest(),
        "fn": fingerprint(fn),
        "shared": fingerprint(shared or {}),
    }
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


def _host_threads(client) -> dict:
    """host -> threads of all the cluster's workers there (tasks that run there at once)."""
    out: dict = {}
    for w in client.scheduler_info().get("workers", {}).values():
        host = str(w.get("host", ""))
        out[host] = out.get(host, 0) + int(w.get("nthreads", 1))
    return out


def _dask_worker():
    """The Dask worker running this task, or ``None``."""
    try:
        from distributed import get_worker

        return get_worker()
    except (ImportError, ValueError):
        return None


def _worker_threads(per_host: dict) -> int | None:
    """Threads for one task in a Dask worker: this machine's cores over the tasks its workers
    run at once (``per_host``: host -> threads, from the scheduler when the sweep started)."""
    worker = _dask_worker()
    if worker is None:
        return None
    host = worker.address.split("://")[-1].rsplit(":", 1)[0].strip("[]")
    busy = per_host.get(host) or worker.state.nthreads
    return max(1, n_cores() // max(1, busy))


def _run_task(fn, index, task, where, threads, shared):
    """One task in a worker: read the cache (another worker may have finished it), else compute,
    write and send the result back as arrays. ``where`` is ``(folder, file)``: the sweep's
    folder when this worker sees it (same machine, shared storage at the same path), else the
    worker's own :func:`~topohelpers.cache.cache_dir`. ``threads``: a number; on Dask host ->
    threads (or ``None``: as many as this process has, in the notebook's own process)."""
    import contextlib

    from joblib import parallel_config

    on_dask = threads is None or isinstance(threads, dict)
    if on_dask:
        threads = _worker_threads(threads or {})
    limit = contextlib.nullcontext()
    if threads:
        limit = _limit_threads(threads)
        if on_dask:  # a worker's tasks share its process: the limits stay for the worker's life
            limit = contextlib.nullcontext()
    path = None
    if where is not None:
        folder, file = Path(where[0]), where[1]
        remote = not folder.is_dir() and _dask_worker() is not None
        path = (cache_dir() if remote else folder) / file
    # joblib inside a task (scikit-learn's neighbour searches) stays in this worker, in threads:
    # it would start processes of its own, or under joblib's Dask backend send its pieces back
    # to the cluster (slower than doing them here); a sweep inside the task runs in it too
    mark = _IN_TASK.set(True)
    try:
        with limit, parallel_config(backend="threading", n_jobs=threads or 1):
            if path is not None and path.exists():
                try:
                    return index, load_arrays(path)
                except ValueError:
                    pass
            result = fn(**shared, **task)
            if path is None:
                return index, result
            arrays = encode(result)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                save_arrays(path, arrays)
            except OSError:  # not writable here: the parent writes it
                pass
            return index, arrays
    finally:
        _IN_TASK.reset(mark)


def _on_dask(client, fn, tasks, todo, where, threads, shared):
    """The tasks ``todo`` as futures on a Dask cluster, yielded as they finish.

    Dask's own futures, not joblib's Dask backend: joblib runs a call in the calling process
    when the cluster has one thread in all (a one-worker cluster, or one whose other worker is
    restarting), and a sweep sent to a cluster must run there."""
    from distributed import as_completed

    # what every task reads is sent to every worker once, not once per task
    big = [k for k, v in shared.items() if not isinstance(v, (str, int, float, bool, type(None)))]
    sent = dict(shared)
    if big:
        sent.update(zip(big, client.scatter([shared[k] for k in big], broadcast=True)))
    futures = [
        client.submit(_run_task, fn, i, tasks[i], where(i), threads, sent, pure=False) for i in todo
    ]
    try:
        for future in as_completed(futures):
            yield future.result()
    finally:
        client.cancel(futures)


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
    threads : BLAS/TensorFlow threads per task in worker processes (default: cores //
        processes locally; on a cluster, each machine's cores // the tasks its workers run at
        once). Tasks that run in this process (``n_jobs=1``) keep its threads.
    desc : label of the progress bar (shown as tasks complete; ``TQDM_DISABLE=1`` hides it).
    folder : cache folder (default :func:`~topohelpers.cache.cache_dir`).

    Returns the results in the order of ``tasks``. A result that went through the cache comes
    back as the cache holds it, the same whether it was computed now or read: lists and tuples
    as arrays, 0-d arrays as numbers (with ``cache=False`` results are what ``fn`` returned).

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
    if cache:
        try:  # so that workers on this machine or on shared storage write into it
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            pass
    results: dict = {}
    for i, path in enumerate(paths):
        if path is not None and path.exists():
            try:
                results[i] = decode(load_arrays(path))
            except (ValueError, KeyError, AttributeError, TypeError, ImportError):
                path.unlink()  # damaged, or written by another version of a class: recompute
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
                    warnings.warn(
                        f"the cache folder {folder} is not writable ({err}); the sweep's results "
                        "are not kept: set $TOPO_CACHE to a writable folder.",
                        stacklevel=3,
                    )
                unkept.append(i)
        results[i] = decode(payload)

    unkept: list = []

    bar = progress_bar(len(todo), desc or getattr(fn, "__name__", "sweep"), leave=False)

    def where(i):
        return paths[i] and (str(folder), paths[i].name)

    if c is None and (n == 1 or len(todo) == 1):
        for i in todo:
            keep(*_run_task(fn, i, tasks[i], where(i), None, shared))  # threads: the notebook's
            bar.update()
    elif c is None:
        n = min(n, len(todo))
        per_worker = threads or max(1, n_cores() // n)
        with parallel_config(backend="loky", n_jobs=n, inner_max_num_threads=per_worker):
            calls = (
                delayed(_run_task)(fn, i, tasks[i], where(i), per_worker, shared) for i in todo
            )
            for i, payload in Parallel(return_as="generator_unordered", batch_size=1)(calls):
                keep(i, payload)
                bar.update()
    else:
        for i, payload in _on_dask(c, fn, tasks, todo, where, threads or _host_threads(c), shared):
            keep(i, payload)
            bar.update()
    bar.close()
    return [results[i] for i in range(len(tasks))]
