"""Learning graphs (Gabella 2019): Mapper of a layer's (snapshots × neurons) weight cloud.

The lens is the L2 norm of each weight vector (trajectories grow away from the origin) or
PCA components; clusters come from DBSCAN; nodes are coloured by their mean training step.
A tree-shaped graph means trajectories that only ever split; its branches at the end of
training count how many different things the layer's neurons have become.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
from sklearn.cluster import DBSCAN
from sklearn.decomposition import PCA

from .mapper import GraphSummary, Mapper


def learning_graph(points, *, lens: str = "norm", n_cubes: int = 25, overlap: float = 0.99, eps: float = 0.2,
                   min_samples: int = 2, pca_dims: int | None = 20, n_lens_components: int = 3) -> Mapper:
    """Mapper of a weight cloud with Gabella's settings.

    ``lens`` is ``"norm"`` (L2 norm of each original weight vector) or ``"pca"``
    (``n_lens_components`` principal components). Clustering is DBSCAN(``eps``,
    ``min_samples``) on the cloud reduced to ``pca_dims`` principal components (None: no
    reduction); ``overlap`` is the fraction of overlap between consecutive intervals
    (KeplerMapper's convention; gain = 1 / (1 − overlap)). DBSCAN's noise points belong
    to no node.
    """
    X = np.asarray(points, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"points must be a 2-D array (points × features), got shape {X.shape}.")
    if not 0 <= overlap < 1:
        raise ValueError(f"overlap must be in [0, 1), got {overlap!r}.")
    if lens == "norm":
        f = np.linalg.norm(X, axis=1)[:, None]
    elif lens == "pca":
        f = PCA(n_components=n_lens_components).fit_transform(X)
    else:
        raise ValueError(f"lens must be 'norm' or 'pca', got {lens!r}.")
    space = X
    if pca_dims is not None and pca_dims < X.shape[1]:
        space = PCA(n_components=min(pca_dims, len(X))).fit_transform(X)
    mapper = Mapper(resolution=n_cubes, gain=1.0 / (1.0 - overlap), metric="euclidean",
                    clusterer=DBSCAN(eps=eps, min_samples=min_samples))
    return mapper.fit(space, lens=f)


def mean_step(mapper: Mapper, step) -> dict:
    """Node -> mean training step of its points (the colour of a learning graph)."""
    step = np.asarray(step)
    return {k: float(step[m].mean()) for k, m in mapper.nodes_.items()}


def count_branches(mapper: Mapper, step) -> int:
    """Branches at the end of training: the connected groups of nodes that hold points of the
    last snapshot (two final points in one group have not split apart)."""
    step = np.asarray(step)
    final = np.flatnonzero(step == step.max())
    ends = [k for k, m in mapper.nodes_.items() if np.isin(m, final).any()]
    return nx.number_connected_components(mapper.G_.subgraph(ends)) if ends else 0


def is_tree(mapper: Mapper) -> bool:
    """Connected, and without a loop once triangles are filled (the clique complex is a tree)."""
    s: GraphSummary = mapper.summary_
    return s.n_components == 1 and s.n_loops == 0
