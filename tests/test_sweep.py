"""Sweeps (topohelpers.sweeps): the same results serially, in local processes and on a real Dask
cluster; finished tasks are read from the cache, never recomputed; a killed worker's task runs
again elsewhere."""

import contextlib
import os
import sys
from pathlib import Path

import cloudpickle  # joblib's pickler for functions (its dependency), and Dask's
import numpy as np
import pytest

import topohelpers as th
from topohelpers import sweeps as sw

# the task functions below travel to the workers by value (this file is not importable there)
cloudpickle.register_pickle_by_value(sys.modules[__name__])

TASKS = sw.grid(radius=[1.0, 2.0], noise=[0.02, 0.1])


def circle_bars(radius, noise, n=120, log=None):
    """H1 of a noisy circle; ``log`` (a folder) records each computation as a file."""
    if log is not None:
        Path(log, f"{radius}-{noise}-{os.getpid()}-{np.random.default_rng().integers(1e9)}").touch()
    theta = np.random.default_rng(int(radius * 100 + noise * 1000)).uniform(0, 2 * np.pi, n)
    X = radius * np.c_[np.cos(theta), np.sin(theta)]
    X += np.random.default_rng(1).normal(scale=noise, size=X.shape)
    return th.rips(X)


def computed(log) -> int:
    return len(list(Path(log).iterdir()))


def same(a, b) -> bool:
    return all(
        len(p.dgms) == len(q.dgms) and all(np.array_equal(x, y) for x, y in zip(p.dgms, q.dgms))
        for p, q in zip(a, b)
    ) and len(a) == len(b)


@pytest.fixture
def serial(tmp_path):
    return sw.sweep(circle_bars, TASKS, n_jobs=1, cache=False)


def test_grid_varies_the_last_axis_fastest():
    g = sw.grid(a=[1, 2], b="xy" and ["x", "y"], c=[0])
    assert [(t["a"], t["b"]) for t in g] == [(1, "x"), (1, "y"), (2, "x"), (2, "y")]
    assert np.reshape([t["a"] for t in g], (2, 2)).tolist() == [[1, 1], [2, 2]]


def test_serial_results_are_the_computation(serial):
    # each task really ran: a circle has one long H1 bar, well above the next
    for task, pers in zip(TASKS, serial):
        assert pers.n_bars(1, longer_than=task["radius"]) == 1
        assert pers.longest(1, 2)[1] < 0.5 * task["radius"]


def test_local_processes_return_exactly_the_serial_results(serial, tmp_path):
    out = sw.sweep(circle_bars, TASKS, n_jobs=2, folder=tmp_path)
    assert same(out, serial)
    assert len(list(tmp_path.glob("sweep-*.npz"))) == len(TASKS)


def test_a_cached_task_is_not_recomputed(tmp_path):
    log = tmp_path / "log"
    log.mkdir()
    first = sw.sweep(circle_bars, TASKS[:2], shared={"log": str(log)}, n_jobs=1, folder=tmp_path)
    assert computed(log) == 2
    # an interrupted sweep, resumed with more tasks: only the new ones run
    again = sw.sweep(circle_bars, TASKS, shared={"log": str(log)}, n_jobs=2, folder=tmp_path)
    assert computed(log) == len(TASKS)
    assert same(again[:2], first)
    sw.sweep(circle_bars, TASKS, shared={"log": str(log)}, n_jobs=2, folder=tmp_path)
    assert computed(log) == len(TASKS)
    # a damaged file is recomputed, not trusted
    victim = sorted(tmp_path.glob("sweep-*.npz"))[0]
    victim.write_bytes(b"not a zip")
    sw.sweep(circle_bars, TASKS, shared={"log": str(log)}, n_jobs=1, folder=tmp_path)
    assert computed(log) == len(TASKS) + 1


SCALE = 1.0


def scaled(x):
    return {"y": SCALE * x}


def test_the_key_follows_the_function_its_reads_and_its_arguments(tmp_path):
    global SCALE
    k0 = sw.task_key(scaled, {"x": 1})
    assert k0 == sw.task_key(scaled, {"x": 1})
    assert k0 != sw.task_key(scaled, {"x": 2})
    assert sw.task_key(circle_bars, {}, {"a": np.zeros(3)}) != sw.task_key(
        circle_bars, {}, {"a": np.ones(3)}
    )
    SCALE = 2.0
    try:
        assert sw.task_key(scaled, {"x": 1}) != k0  # a global the function reads changed
        assert sw.sweep(scaled, [{"x": 3}], n_jobs=1, folder=tmp_path)[0]["y"] == 6.0
    finally:
        SCALE = 1.0
    assert sw.sweep(scaled, [{"x": 3}], n_jobs=1, folder=tmp_path)[0]["y"] == 3.0


def with_default(x, factor=2.0):
    return {"y": factor * x}


def reads_in_a_comprehension(x):
    return {"y": [SCALE * v for v in range(x)]}


def test_the_key_follows_defaults_nested_reads_the_package_and_fitted_state(monkeypatch):
    global SCALE
    k = sw.task_key(with_default, {"x": 1})
    with_default.__defaults__ = (3.0,)
    try:
        assert sw.task_key(with_default, {"x": 1}) != k  # a default changed
    finally:
        with_default.__defaults__ = (2.0,)
    k = sw.task_key(reads_in_a_comprehension, {"x": 2})
    SCALE = 5.0
    try:  # SCALE is read inside a comprehension only (nested code)
        assert sw.task_key(reads_in_a_comprehension, {"x": 2}) != k
    finally:
        SCALE = 1.0
    # the package's code is in every key: a chapter's function calls it
    monkeypatch.setattr(sw, "package_digest", lambda: "other code")
    assert sw.task_key(reads_in_a_comprehension, {"x": 2}) != k
    monkeypatch.undo()
    assert sw.task_key(reads_in_a_comprehension, {"x": 2}) == k
    # estimators by their fitted state, not only their parameters
    from sklearn.preprocessing import StandardScaler

    a, b = StandardScaler().fit([[0.0], [1.0]]), StandardScaler().fit([[0.0], [5.0]])
    assert sw.fingerprint(a) != sw.fingerprint(b)
    assert sw.fingerprint(a) == sw.fingerprint(StandardScaler().fit([[0.0], [1.0]]))


def test_library_functions_are_keyed_by_name_and_version_not_walked():
    from scipy import stats
    from sklearn.cluster import DBSCAN, dbscan

    for fn in (dbscan, stats.norm.pdf, np.linalg.norm):
        key = sw.fingerprint(fn)  # walking these would meet objects that cannot be keyed
        assert "source" not in key and "reads" not in key
    assert sw.fingerprint(dbscan)["library"].startswith("scikit-learn ")
    assert sw.fingerprint(DBSCAN)["library"] == sw.fingerprint(dbscan)["library"]
    assert sw.fingerprint(sw.grid) == {"function": "topohelpers.sweeps.grid"}
    # objects without a repr to trust go by the bytes of their pickle
    assert sw.fingerprint(stats.norm(0, 1)) != sw.fingerprint(stats.norm(0, 2))
    # a function made by exec has no module
    scope: dict = {}
    exec("def made(x):\n    return x", scope)
    scope["made"].__module__ = None
    assert "source" in sw.fingerprint(scope["made"])


def test_a_cached_result_comes_back_the_same_computed_or_read(tmp_path):
    def pair(x):
        return {"y": [x, x + 1]}

    first = sw.sweep(pair, [{"x": 1}], n_jobs=1, folder=tmp_path)
    again = sw.sweep(pair, [{"x": 1}], n_jobs=1, folder=tmp_path)
    assert isinstance(first[0]["y"], np.ndarray) and np.array_equal(first[0]["y"], again[0]["y"])


def inner_engine(x):
    return {"engine": sw.engine(), "inner": sw.sweep(scaled, sw.grid(x=[x]), cache=False)}


def worker_threads(x):
    from threadpoolctl import threadpool_info

    blas = [p["num_threads"] for p in threadpool_info()]
    return {
        "tf": os.environ.get("TF_NUM_INTRAOP_THREADS"),  # Dask's nanny sets only BLAS's
        "blas_max": max(blas, default=0),
    }


def test_a_sweep_inside_a_task_runs_in_its_worker(monkeypatch):
    monkeypatch.setenv(sw.JOBS_ENV, "2")
    out = sw.sweep(inner_engine, sw.grid(x=[1, 2]), cache=False)
    assert [r["engine"] for r in out] == ["this process (one task at a time)"] * 2
    assert [r["inner"][0]["y"] for r in out] == [1.0, 2.0]


def test_local_workers_get_their_share_of_the_cores():
    out = sw.sweep(worker_threads, sw.grid(x=[1, 2]), n_jobs=2, cache=False)
    share = max(1, sw.n_cores() // 2)
    assert [r["tf"] for r in out] == [str(share)] * 2
    assert all(r["blas_max"] <= share for r in out)


def test_results_the_cache_cannot_hold_need_cache_false(tmp_path):
    with pytest.raises(ValueError, match="cache=False"):
        sw.sweep(lambda x: {x}, [{"x": 1}], n_jobs=1, folder=tmp_path)
    assert sw.sweep(lambda x: {x}, [{"x": 1}], n_jobs=1, cache=False) == [{1}]
    with pytest.raises(ValueError, match="cache=False"):
        sw.sweep(lambda x: x, [{"x": object()}], n_jobs=1, folder=tmp_path)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(tasks={"x": 1}), "list of keyword dicts"),
        (dict(tasks=[(1,)]), r"tasks\[0\] must be a dict"),
        (dict(tasks=[{"x": 1}], shared={"x": 2}), "both in shared and in a task"),
        (dict(tasks=[{"x": 1}], n_jobs=0), "n_jobs"),
        (dict(tasks=[{"x": 1}], threads=0), "threads"),
        (dict(tasks=[{"x": 1}], client="tcp://x"), "distributed.Client"),
    ],
)
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sw.sweep(scaled, **kwargs)


def test_bad_environment_is_named(monkeypatch):
    monkeypatch.setenv(sw.JOBS_ENV, "two")
    with pytest.raises(ValueError, match=sw.JOBS_ENV):
        sw.sweep(scaled, [{"x": 1}])
    monkeypatch.setenv(sw.JOBS_ENV, "1")
    assert sw.engine().startswith("this process")
    with pytest.raises(ValueError, match="at least one axis"):
        sw.grid()
    with pytest.raises(ValueError, match="axis 'k'"):
        sw.grid(k=3)


# -- a real Dask cluster: two worker processes ----------------------------------------------------


@contextlib.contextmanager
def local_cluster(n_workers):
    """A real Dask cluster here: ``n_workers`` processes of one thread each, and its client."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as c:
        with distributed.Client(c) as client:
            yield c, client


@pytest.fixture(scope="module")
def cluster():
    with local_cluster(2) as both:
        yield both


def test_a_dask_cluster_returns_exactly_the_serial_results(cluster, serial, tmp_path, monkeypatch):
    c, client = cluster
    out = sw.sweep(circle_bars, TASKS, client=client, folder=tmp_path / "a")
    assert same(out, serial)
    assert "Dask cluster" in sw.engine(client=client)
    # the same notebook, one variable set: $TOPO_DASK_SCHEDULER
    monkeypatch.setenv(sw.SCHEDULER_ENV, c.scheduler_address)
    monkeypatch.setattr(sw, "_CLIENTS", {})
    try:
        assert same(sw.sweep(circle_bars, TASKS, folder=tmp_path / "b"), serial)
    finally:
        for opened in sw._CLIENTS.values():
            opened.close()
    assert len(list((tmp_path / "b").glob("sweep-*.npz"))) == len(TASKS)


def inner_backend(x):
    from joblib.parallel import get_active_backend

    return {"dask": type(get_active_backend()[0]).__name__.startswith("Dask")}


def test_joblib_inside_a_task_stays_in_its_worker(cluster):
    # scikit-learn's neighbour search calls joblib: under the Dask backend its pieces would go
    # back to the cluster (twice as slow: benchmarks/sweep.py)
    _, client = cluster
    out = sw.sweep(inner_backend, sw.grid(x=[1, 2]), client=client, cache=False)
    assert [r["dask"] for r in out] == [False, False]


def die_once(x, marker):
    """Kill this worker process the first time any worker runs it."""
    marker = Path(marker)
    if not marker.exists():
        marker.touch()
        os._exit(1)
    return {"y": x * x, "pid": os.getpid()}


def test_a_killed_workers_task_is_retried(cluster, tmp_path):
    _, client = cluster
    marker = tmp_path / "died"
    out = sw.sweep(
        die_once,
        sw.grid(x=[1, 2, 3]),
        shared={"marker": str(marker)},
        client=client,
        folder=tmp_path,
    )
    assert marker.exists()  # a worker did die
    assert [r["y"] for r in out] == [1, 4, 9]


def test_a_cluster_reads_finished_tasks_and_limits_its_workers_threads(cluster, tmp_path):
    _, client = cluster
    log = tmp_path / "log"
    log.mkdir()
    shared = {"log": str(log)}
    # one task finished before (here, as another worker would have): the cluster computes the rest
    sw.sweep(circle_bars, TASKS[:1], shared=shared, n_jobs=1, folder=tmp_path)
    sw.sweep(circle_bars, TASKS, shared=shared, client=client, folder=tmp_path)
    assert computed(log) == len(TASKS)
    sw.sweep(circle_bars, TASKS, shared=shared, client=client, folder=tmp_path)
    assert computed(log) == len(TASKS)
    # two one-thread workers on this machine (both up: another test kills one): each task gets
    # half its cores
    client.wait_for_workers(2, timeout=60)
    out = sw.sweep(worker_threads, sw.grid(x=[1, 2, 3]), client=client, cache=False)
    share = max(1, sw.n_cores() // 2)
    assert [r["tf"] for r in out] == [str(share)] * 3
    assert all(r["blas_max"] <= share for r in out)


def where_am_i(x):
    return {"pid": os.getpid()}


def test_a_one_thread_cluster_still_runs_the_tasks_on_its_worker():
    # joblib's Dask backend would run them in this process: one thread in all is "n_jobs=1"
    with local_cluster(1) as (_, client):
        out = sw.sweep(where_am_i, sw.grid(x=[1, 2]), client=client, cache=False)
    assert all(r["pid"] != os.getpid() for r in out)


def test_unreachable_scheduler_is_named(monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setenv(sw.SCHEDULER_ENV, "tcp://127.0.0.1:9")
    monkeypatch.setattr(sw, "_CLIENTS", {})
    monkeypatch.setattr(sw, "CONNECT_TIMEOUT", "2s")
    with pytest.raises(OSError, match=sw.SCHEDULER_ENV):
        sw.dask_client()


# -- training runs: th.train_many ------------------------------------------------------------------


@pytest.fixture
def tiny_data():
    rng = np.random.default_rng(0)
    x = rng.random((80, 28, 28), dtype=np.float32)
    y = (x[:, :14].mean(axis=(1, 2)) > x[:, 14:].mean(axis=(1, 2))).astype(np.int64)
    return th.Dataset(x[:64], y[:64], x[64:], y[64:], "tiny images (test)")


RUN = dict(sizes=(4, 2, 4), n_members=2, steps=6, batch_size=8, snapshots=[0, 6], progress=False)


def test_train_many_in_local_processes_gives_train_ensemble_s_runs(
    tiny_data, tmp_path, monkeypatch
):
    from topohelpers.nets import ensemble

    monkeypatch.setattr(ensemble, "accelerator", lambda: False)  # as on a CPU, wherever it runs
    calls = []
    real = sw.sweep
    monkeypatch.setattr(sw, "sweep", lambda *a, **kw: calls.append(kw) or real(*a, **kw))
    seeds = [dict(seed=0), dict(seed=1)]
    runs = th.train_many(seeds, data=tiny_data, n_jobs=2, **RUN)
    assert [(c["n_jobs"], c["cache"]) for c in calls] == [(2, False)]  # one sweep, two processes
    assert len(list(Path(os.environ["TOPO_CACHE"]).glob("ensemble-*.npz"))) == 2  # workers wrote
    assert not list(Path(os.environ["TOPO_CACHE"]).glob(".train-many-*"))  # its token is gone
    for s, run in zip(seeds, runs):
        alone = th.train_ensemble(tiny_data, use_cache=False, **s, **RUN)
        # float32 summed with other thread counts: equal up to rounding
        np.testing.assert_allclose(run.kernels("conv1"), alone.kernels("conv1"), atol=1e-5)
        assert run.config == alone.config
    assert not np.allclose(runs[0].kernels("conv1"), runs[1].kernels("conv1"))  # two seeds


def test_a_worker_without_the_cache_folder_sends_the_weights_back(tiny_data, tmp_path):
    from topohelpers.nets.training import _train_in_worker

    out = _train_in_worker(
        str(tmp_path / "elsewhere"),
        ".token",
        False,
        data=tiny_data,
        **{k: v for k, v in RUN.items() if k != "progress"},
    )
    assert out["file"].startswith("ensemble-") and "w0" in out["arrays"]
    mine = Path(os.environ["TOPO_CACHE"]) / "mine"
    mine.mkdir()
    (mine / ".token").touch()
    out = _train_in_worker(
        str(mine),
        ".token",
        False,
        data=tiny_data,
        seed=3,
        **{k: v for k, v in RUN.items() if k != "progress"},
    )
    assert "arrays" not in out and (mine / out["file"]).exists()


def test_train_many_names_bad_arguments(tiny_data):
    with pytest.raises(ValueError, match="list of keyword dicts"):
        th.train_many({"seed": 0}, data=tiny_data)
    with pytest.raises(ValueError, match=r"configs\[0\] has no data"):
        th.train_many([{"seed": 0}])
    with pytest.raises(ValueError, match="use_cache"):
        th.train_many([{"seed": 0}], data=tiny_data, use_cache=False)


def test_the_sweep_benchmark_runs_all_three_ways_with_equal_results():
    import subprocess

    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [
            sys.executable,
            "benchmarks/sweep.py",
            "--networks",
            "2",
            "--landmarks",
            "60",
            "--jobs",
            "2",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "TQDM_DISABLE": "1"},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "identical in all three ways" in out.stdout
    assert out.stdout.count("× serial") == 5


def test_an_unwritable_cache_folder_warns_and_still_returns(tmp_path):
    (tmp_path / "a-file").write_text("")
    folder = tmp_path / "a-file" / "cache"  # cannot be created, not even by root
    with pytest.warns(UserWarning, match="not writable"):
        out = sw.sweep(scaled, sw.grid(x=[1, 2]), n_jobs=1, folder=folder)
    assert [r["y"] for r in out] == [1.0, 2.0]
