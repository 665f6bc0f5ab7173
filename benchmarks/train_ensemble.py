"""Benchmark: batched ensemble training against N sequential ``model.fit`` runs.

Time per network per training step of N independent M(X, Y, Z) networks at batch 128:
(a) the anchor, N plain Keras models each trained with ``model.fit`` one after the other,
(b) the batched engine (``th.EnsembleM``) in each layout. Same data, same machine, same run;
the ratio anchor / batched is the speed-up. Compile/warm-up steps are excluded from both.

    python benchmarks/train_ensemble.py                       # N=16, M(64,32,64), 20 timed steps
    KERAS_BACKEND=jax python benchmarks/train_ensemble.py --members 16 64 --steps 50   # on a GPU
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--members", type=int, nargs="+", default=[16])
    ap.add_argument("--sizes", type=int, nargs=3, default=[64, 32, 64])
    ap.add_argument("--steps", type=int, default=20, help="timed steps per measurement")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--strategies", nargs="+", default=None,
                    help="layouts to time (default: branches and grouped; grouped is skipped on a TensorFlow CPU, "
                         "whose grouped-convolution gradient takes tens of seconds per step)")
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args()

    import keras

    import topohelpers as th

    backend = keras.backend.backend()
    device = th.training.default_strategy() == "grouped" and "accelerator" or "cpu"
    strategies = args.strategies or (["branches", "grouped"] if (device != "cpu" or backend != "tensorflow")
                                     else ["branches"])
    X, Y, Z = args.sizes
    rng = np.random.default_rng(0)
    n_train = args.batch * (args.steps + args.warmup)
    x = rng.random((n_train, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, n_train)
    print(f"backend={backend} device={device} python={platform.python_version()} keras={keras.__version__}")
    print(f"M({X},{Y},{Z}), batch {args.batch}, {args.steps} timed steps after {args.warmup} warm-up steps")

    results = []
    for n in args.members:
        # (a) anchor: n plain models, each trained with model.fit, one after the other
        per_net = []
        for i in range(n):
            model = th.build_m(X, Y, Z, seed=i)
            model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
            model.fit(x[: args.batch * args.warmup], y[: args.batch * args.warmup], batch_size=args.batch, epochs=1, verbose=0)
            t = time.perf_counter()
            model.fit(x, y, batch_size=args.batch, epochs=1, steps_per_epoch=args.steps, verbose=0, shuffle=True)
            per_net.append((time.perf_counter() - t) / args.steps)
        anchor = float(np.sum(per_net)) / n          # seconds per network-step
        row = {"members": n, "anchor_s_per_net_step": anchor}
        print(f"N={n:4d}  sequential model.fit: {1e3 * anchor:8.2f} ms per network-step")
        # (b) the batched engine
        for strategy in strategies:
            ens = th.EnsembleM((X, Y, Z), n, strategy=strategy)
            ens.model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=th.training.member_loss)
            streams = th.BatchStreams(x, y, n, args.batch)
            for _ in range(args.warmup):
                ens.model.train_on_batch(*streams.next())
            batches = [streams.next() for _ in range(args.steps)]
            t = time.perf_counter()
            for xb, yb in batches:
                loss = ens.model.train_on_batch(xb, yb)
            np.asarray(loss)                          # wait for the device
            batched = (time.perf_counter() - t) / args.steps / n
            row[f"{strategy}_s_per_net_step"] = batched
            row[f"{strategy}_speedup"] = anchor / batched
            print(f"N={n:4d}  batched ({strategy:8s}):  {1e3 * batched:8.2f} ms per network-step  "
                  f"→ speed-up {anchor / batched:5.2f}×")
        results.append(row)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"backend": backend, "device": device, "sizes": args.sizes, "batch": args.batch,
                       "steps": args.steps, "results": results}, fh, indent=1)


if __name__ == "__main__":
    main()
