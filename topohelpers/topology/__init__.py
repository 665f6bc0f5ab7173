"""The topology wing: numpy in, numpy out, no deep-learning framework.

- :mod:`~topohelpers.topology.persistence`: Vietoris–Rips persistence and its barcodes;
- :mod:`~topohelpers.topology.mapper`: Mapper (a scikit-learn estimator), its covers and graphs;
- :mod:`~topohelpers.topology.learning`: Mapper graphs of weight trajectories (trees, branches);
- :mod:`~topohelpers.topology.graphs`: neural persistence and the persistence of induced graphs.
"""

from .graphs import (
    GraphPersistence,
    greater_than_null,
    neural_persistence,
    permuted_neural_persistence,
    subgraph_features,
    superlevel_h0,
)
from .learning import (
    GABELLA,
    GABELLA_LENS,
    GABELLA_OVERLAP,
    LearningSweep,
    count_branches,
    is_tree,
    kmapper11_overlap,
    learning_graph,
    learning_sweep,
    mean_step,
    null_trajectories,
    phases,
)
from .mapper import (
    CoverSweep,
    GapSingleLinkage,
    GraphSummary,
    Mapper,
    ball_mapper,
    clique_betti1,
    gain_to_overlap,
    neighbourhood_lens,
    over_covers,
    variance_normalize,
)
from .persistence import Persistence, rips
