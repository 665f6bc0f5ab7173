"""Benchmark: the batched ensemble engine against N sequential ``model.fit`` runs.

Time per network per training step of N independent M(X, Y, Z) networks at batch 128, all in
one run on one machine:

- ``sequential``: the anchor, N plain Keras models each trained with ``model.fit``, one after
  the other;
- ``batch``: the batched model (``th.EnsembleM``) fed one host batch per ``train_on_batch``
  call (the engine before the fused loop);
- ``fused``: the training loop of ``th.train_ensemble`` — ``chunk`` steps per compiled call,
  batches gathered on the device, losses read once per chunk — at each ``--precisions``.

Compile and warm-up steps are excluded; the ratio sequential ÷ path is the speed-up.
``--end-to-end STEPS`` also times ``th.train_ensemble`` itself on MNIST (N = the largest
``--members``; wall time including compilation, prediction and the test accuracy reached).

    python benchmarks/train_ensemble.py                          # CPU: N=16, branches
    KERAS_BACKEND=jax python benchmarks/train_ensemble.py --members 16 100 --steps 200 \\
        --precisions float32 mixed_bfloat16 --end-to-end 3000     # GPU
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np


def _sequential(th, keras, x, y, n, sizes, batch, steps, warmup):
    per_net = []
    for i in range(n):
        model = th.build_m(*sizes, seed=i)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
        model.fit(x[: batch * warmup], y[: batch * warmup], batch_size=batch, epochs=1, verbose=0)
        t = time.perf_counter()
        model.fit(x, y, batch_size=batch, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=True)
        per_net.append((time.perf_counter() - t) / steps)
    return float(np.sum(per_net)) / n


def _batch(th, keras, x, y, n, sizes, batch, steps, warmup, strategy):
    from topohelpers.nets import loop

    ens = th.EnsembleM(sizes, n, strategy=strategy)
    ens.model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=th.nets.member_loss)
    streams = th.BatchStreams(len(x), batch_size=batch, members=range(n))
    held = (x, y.astype(np.int32))
    batches = [
        [keras.ops.convert_to_numpy(a) for a in loop._gather(held, (idx,), "ensemble")]
        for idx in streams.indices(0, min(steps + warmup, 8))
    ]  # host batches, used in turn
    for j in range(warmup):
        ens.model.train_on_batch(*batches[j % len(batches)])
    t = time.perf_counter()
    for j in range(steps):
        loss = ens.model.train_on_batch(*batches[j % len(batches)])
    np.asarray(loss)  # wait for the device
    return (time.perf_counter() - t) / steps / n


def _fused(th, keras, x, y, n, sizes, batch, steps, strategy, precision, chunk):
    from topohelpers.nets import loop

    ens = th.EnsembleM(sizes, n, strategy=strategy, precision=precision)
    opt = keras.optimizers.Adam(1e-3)
    opt.build(ens.model.trainable_variables)
    streams = th.BatchStreams(len(x), batch_size=batch, members=range(n))
    with th.precision_scope(precision):
        runner = loop._runner(
            ens.model, opt, loop._gather, (x, y.astype(np.int32)), "ensemble", chunk, n
        )
        np.asarray(runner.run((streams.indices(0, chunk),), chunk))  # compile + warm-up
        rounds = max(1, steps // chunk)
        inputs = [(streams.indices(chunk * (r + 1), chunk),) for r in range(rounds)]
        t = time.perf_counter()
        outs = [runner.run(inp, chunk) for inp in inputs]
        np.asarray(outs[-1])
        seconds = time.perf_counter() - t
    return seconds / (rounds * chunk) / n


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--members", type=int, nargs="+", default=[16])
    ap.add_argument("--sizes", type=int, nargs=3, default=[64, 32, 64])
    ap.add_argument("--steps", type=int, default=20, help="timed steps per measurement")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument(
        "--chunk", type=int, default=50, help="steps per compiled call of the fused loop"
    )
    ap.add_argument("--paths", nargs="+", default=["sequential", "batch", "fused"])
    ap.add_argument(
        "--strategies",
        nargs="+",
        default=None,
        help="layouts to time (default: grouped on an accelerator, branches on a CPU)",
    )
    ap.add_argument("--precisions", nargs="+", default=["float32"])
    ap.add_argument(
        "--sequential-max",
        type=int,
        default=16,
        help="time the sequential anchor on at most this many networks (it is per network anyway)",
    )
    ap.add_argument(
        "--batch-max",
        type=int,
        default=1_000_000,
        help="time the batch path only up to this many members",
    )
    ap.add_argument(
        "--end-to-end",
        type=int,
        default=0,
        metavar="STEPS",
        help="also time th.train_ensemble for STEPS steps on MNIST at the largest N",
    )
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args()

    import keras

    import topohelpers as th

    backend = keras.backend.backend()
    device = "accelerator" if th.nets.accelerator() else "cpu"
    strategies = args.strategies or [th.nets.default_strategy()]
    sizes = tuple(args.sizes)
    rng = np.random.default_rng(0)
    n_train = max(args.batch * (args.steps + args.warmup + 2 * args.chunk), 10_000)
    x = rng.random((n_train, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, n_train)
    print(
        f"backend={backend} device={device} python={platform.python_version()} "
        f"keras={keras.__version__}"
    )
    print(
        f"M{sizes}, batch {args.batch}, {args.steps} timed steps; "
        f"fused: {args.chunk} steps per call",
        flush=True,
    )

    results = []
    for n in args.members:
        row = {"members": n}
        if "sequential" in args.paths:
            m = min(n, args.sequential_max)
            row["sequential"] = _sequential(
                th, keras, x, y, m, sizes, args.batch, args.steps, args.warmup
            )
            print(
                f"N={n:4d}  sequential model.fit ({m} nets): "
                f"{1e3 * row['sequential']:8.3f} ms per network-step",
                flush=True,
            )
        for strategy in strategies:
            timed = []
            if "batch" in args.paths and n <= args.batch_max:
                timed.append(
                    (
                        f"batch/{strategy}",
                        lambda n=n, strategy=strategy: _batch(
                            th, keras, x, y, n, sizes, args.batch, args.steps, args.warmup, strategy
                        ),
                    )
                )
            if "fused" in args.paths:
                for p in args.precisions:
                    timed.append(
                        (
                            f"fused/{strategy}/{p}",
                            lambda p=p, n=n, strategy=strategy: _fused(
                                th,
                                keras,
                                x,
                                y,
                                n,
                                sizes,
                                args.batch,
                                args.steps,
                                strategy,
                                p,
                                args.chunk,
                            ),
                        )
                    )
            for name, run in timed:
                row[name] = run()
                ratio = (
                    f"→ {row['sequential'] / row[name]:5.2f}× sequential"
                    if "sequential" in row
                    else ""
                )
                print(
                    f"N={n:4d}  {name:28s}: {1e3 * row[name]:8.3f} ms per network-step  {ratio}",
                    flush=True,
                )
        results.append(row)

    end_to_end = []
    if args.end_to_end:
        mnist = th.load_mnist(verbose=False)
        n = max(args.members)
        for p in args.precisions:
            r = th.train_ensemble(
                mnist,
                sizes=sizes,
                n_members=n,
                steps=args.end_to_end,
                batch_size=args.batch,
                precision=p,
                chunk=args.chunk,
                use_cache=False,
                progress=False,
            )
            per = r.seconds / (n * args.end_to_end)
            end_to_end.append(
                {
                    "members": n,
                    "steps": args.end_to_end,
                    "precision": p,
                    "seconds": r.seconds,
                    "ms_per_net_step": 1e3 * per,
                    "mean_test_accuracy": float(r.test_accuracy.mean()),
                    "data": r.source,
                }
            )
            print(
                f"train_ensemble end to end, {n} × M{sizes}, {args.end_to_end} steps, {p}: "
                f"{r.seconds:.1f} s ({1e3 * per:.3f} ms per network-step, "
                "incl. compile and test); mean test accuracy "
                f"{r.test_accuracy.mean():.4f}; 40,000 steps ≈ {per * n * 40_000 / 60:.1f} min",
                flush=True,
            )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(
                {
                    "backend": backend,
                    "device": device,
                    "sizes": args.sizes,
                    "batch": args.batch,
                    "steps": args.steps,
                    "chunk": args.chunk,
                    "results": results,
                    "end_to_end": end_to_end,
                },
                fh,
                indent=1,
            )


if __name__ == "__main__":
    main()
