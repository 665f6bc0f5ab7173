"""Benchmark: chapter 2's stability grids, serial vs local processes vs a local Dask cluster.

The grids of chapter 2 on the first-layer filters of its shipped paper-scale networks
(``artifacts/paper/mnist-circles``): the density filtration and Rips persistence over
(k, p) = (¼, ½, 1, 2, 4) × the paper's k=200 × (0.1, 0.2, 0.3, 0.5), then Mapper over
(resolution, gain) = (10, 20, 30, 40) × (2, 3, 4) on the paper's p(200, 0.3). The same
``th.sweep`` call runs them three ways in one process, one after another:

- serially in this process (``n_jobs=1``, the anchor);
- in local processes (joblib's loky, one per core);
- on a ``distributed.LocalCluster`` (one worker process per core, one thread each), the path a
  real cluster takes (``$TOPO_DASK_SCHEDULER``).

No cache is read or written (``cache=False``), every way computes everything, and the results
must be equal. Prints seconds and the speed-up over serial, for a first sweep (which starts the
workers: each imports the package) and the same sweep again on the running workers: close to
the number of cores is the goal (≈ 2× on two).

    python benchmarks/sweep.py                     # 100 networks, 6,400 filters, as chapter 2
    python benchmarks/sweep.py --networks 10 --landmarks 200   # a quick run
"""

from __future__ import annotations

import argparse
import functools
import time

import numpy as np


def mapper_loops(X, resolution, gain):
    import topohelpers as th

    return th.Mapper(resolution=resolution, gain=gain).fit(X).summary_.n_loops


def grids(layer1, core, k1, landmarks, **how):
    """Both grids of chapter 2 through th.sweep: (longest H1 per (k, p), loops per cover)."""
    import topohelpers as th

    analyze = functools.partial(th.analyze_filters, mapper=False, n_landmarks=landmarks)
    ks = [max(1, min(len(layer1) - 1, round(f * k1))) for f in (0.25, 0.5, 1, 2, 4)]
    reps = th.sweep(
        analyze, th.grid(k=ks, p=[0.1, 0.2, 0.3, 0.5]), shared=dict(F=layer1), cache=False, **how
    )
    loops = th.sweep(
        mapper_loops,
        th.grid(resolution=[10, 20, 30, 40], gain=[2, 3, 4]),
        shared=dict(X=core),
        cache=False,
        **how,
    )
    return [r.persistence.dgms for r in reps], list(loops)


def same(a, b) -> bool:
    (da, la), (db, lb) = a, b
    return la == lb and all(all(np.array_equal(x, y) for x, y in zip(p, q)) for p, q in zip(da, db))


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--networks", type=int, default=100, help="shipped networks (≤ 100)")
    ap.add_argument("--landmarks", type=int, default=800, help="Rips landmarks (book: 800)")
    ap.add_argument("--jobs", type=int, default=None, help="processes (default: every core)")
    args = ap.parse_args(argv)
    from distributed import Client, LocalCluster

    import topohelpers as th

    jobs = args.jobs or th.sweeps.n_cores()
    layer1 = th.load_shipped("mnist-circles").filters("conv1", n_members=args.networks)
    k1 = th.cloud_k(200, len(th.normalize(layer1)), k_scale="cap")
    core = th.analyze_filters(layer1, k=k1, p=0.3, mapper=False, n_landmarks=args.landmarks).core
    print(
        f"chapter 2's stability grids: {len(layer1):,} first-layer filters of {args.networks} "
        f"shipped networks, k = {k1}, {args.landmarks} landmarks; 20 (k, p) cells + 12 covers; "
        f"{jobs} worker processes on {th.sweeps.n_cores()} cores"
    )

    times, results = {}, {}
    t = time.perf_counter()
    results["serial"] = grids(layer1, core, k1, args.landmarks, n_jobs=1)
    times["serial (this process)"] = time.perf_counter() - t

    for run in ("first", "again"):  # the first sweep also starts the workers (imports)
        t = time.perf_counter()
        results["loky"] = grids(layer1, core, k1, args.landmarks, n_jobs=jobs)
        times[f"local processes (loky, {jobs}), {run}"] = time.perf_counter() - t

    t = time.perf_counter()
    with (
        LocalCluster(
            n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        started = time.perf_counter() - t
        for run in ("first", "again"):
            results["dask"] = grids(layer1, core, k1, args.landmarks, client=client)
            times[f"local Dask cluster ({jobs} workers), {run}"] = time.perf_counter() - t
            t = time.perf_counter()

    serial = times["serial (this process)"]
    for name, s in times.items():
        print(f"  {name:<42} {s:7.2f} s   {serial / s:4.2f}× serial")
    print(
        f"  (first: with the workers' start, each importing the package; Dask's first also "
        f"{started:.1f} s to start the cluster)"
    )
    for name in ("loky", "dask"):
        if not same(results[name], results["serial"]):
            raise SystemExit(f"{name} results differ from the serial ones")
    print("results: identical in all three ways")


if __name__ == "__main__":
    main()
