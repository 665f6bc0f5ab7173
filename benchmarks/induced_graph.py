"""Benchmark: induced-graph H0 persistence per input for Gebhart's CCFF network.

Times, per input, (a) ``th.induced_graph`` + ``th.superlevel_h0`` (union-find over the sparse
edge list) against (b) the anchor: the same edges loaded into networkx and its maximum spanning
tree. Same inputs, same run; prints the ratio anchor ÷ ours.

    python benchmarks/induced_graph.py --inputs 5
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--inputs", type=int, default=5)
    args = ap.parse_args()
    import networkx as nx

    import topohelpers as th

    model = th.build_gebhart("CCFF")
    x = th.load_mnist(verbose=False).x_test[: args.inputs, :, :, None]
    ours, anchor, n_edges = [], [], 0
    for img in x:
        t = time.perf_counter()
        g = th.induced_graph(model, img)
        p = th.superlevel_h0(g.u, g.v, g.phi, n_vertices=g.n_vertices)
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        g2 = th.induced_graph(model, img)
        G = nx.Graph()
        G.add_weighted_edges_from(zip(g2.u.tolist(), g2.v.tolist(), g2.phi.tolist()))
        T = nx.maximum_spanning_tree(G)
        anchor.append(time.perf_counter() - t)
        assert T.number_of_edges() == len(p.forest)
        n_edges = len(g.u)
    a, o = float(np.median(anchor)), float(np.median(ours))
    print(f"CCFF induced graph: {g.n_vertices:,} vertices, {n_edges:,} edges")
    print(
        f"networkx maximum spanning tree: {a:.3f} s per input; union-find: {o:.3f} s per input "
        f"→ ratio {a / o:.2f}× (median of {args.inputs} inputs)"
    )


if __name__ == "__main__":
    main()
