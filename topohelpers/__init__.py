"""topohelpers: the helper package of the book *Topology of neural-network weights*.

One import per chapter: ``import topohelpers as th``; every name below is ``th.<name>``. Numpy in,
numpy out, in four wings, each layer importing only the ones before it:

- :mod:`~topohelpers.data`: loaders that say their source (MNIST, CIFAR-10 and SVHN or their
  stand-ins, photographs, synthetic shapes, VGG kernels) and the image pipeline;
- :mod:`~topohelpers.nets`: the papers' networks, the batched training engine, induced graphs,
  input-gradient probes;
- :mod:`~topohelpers.clouds`: weights and patches as point clouds, the density filtration, ideal
  filters (numpy only);
- :mod:`~topohelpers.topology`: persistence, Mapper, learning graphs, graph persistence (numpy
  only);

beside the book's plumbing: ``profile`` (scale), ``cache``, ``checks`` (argument checks),
``rules`` (the pass rules), ``analysis`` (a filter cloud's report), ``sweeps`` (a function over a
grid, on local processes or a Dask cluster), ``reportcard``, ``plotting`` and ``shipped`` (the
papers' scale, trained once on a GPU and shipped with the book).
"""

__version__ = "0.1.0"

import types as _types

from . import analysis, clouds, data, nets, reportcard, rules, sweeps, topology
from .analysis import CloudReport, analyze_filters, vanishing
from .cache import cache_dir, cached, config_key, load_arrays, save_arrays
from .clouds import (
    circle_filters,
    cloud_k,
    d_norm,
    dct_basis,
    dense_vectors,
    density_filtration,
    filters_to_kernel,
    fit_klein_bottle,
    fit_primary_circle,
    fit_three_circle,
    klein_bottle,
    klein_filter,
    klein_filters,
    knn_distance,
    natural_patches,
    normalize,
    normalize_patches,
    primary_circle,
    primary_filter,
    scaled_k,
    spatial_filters,
    three_circle,
)
from .data import (
    Dataset,
    ImagePipeline,
    VGGKernels,
    WeightsUnavailable,
    grayscale,
    hed_distance_from_imagenet,
    load_cifar10,
    load_colour_photographs,
    load_mnist,
    load_photographs,
    load_shapes,
    load_sklearn_digits,
    load_svhn,
    load_vgg_kernels,
    photo_crops,
    photograph,
    random_crop_flip,
    relative_distance,
    standardize,
    standin_boxes,
    synthetic_digits,
    synthetic_shapes,
)
from .nets import (
    PRECISIONS,
    BatchStreams,
    EnsembleM,
    InducedGraph,
    TrainedEnsemble,
    TrainedNetwork,
    TrainingDiverged,
    WeightHistory,
    build_c,
    build_gebhart,
    build_m,
    build_mlp,
    build_report2017,
    c_layers,
    induced_graph,
    maximize_activation,
    merge_shards,
    model_neural_persistence,
    neural_persistence_stopping,
    neural_persistence_tracker,
    pgd,
    pgd_minimal,
    precision_scope,
    record_training,
    train_ensemble,
    train_many,
    train_network,
)
from .plotting import (
    mapper_html,
    plot_barcode,
    plot_diagram,
    plot_filters,
    plot_grid,
    plot_mapper,
    show_html,
    trajectories_3d,
)
from .profile import PROFILES, by_profile, profile
from .reportcard import VERDICTS, NotRun, ReportCard, counts, glue, load_rows, reportcard_dir
from .rules import (
    AtLeast,
    Bars,
    Greater,
    NoBars,
    OverCovers,
    RiseTogether,
    Tree,
    Within,
    null_filters,
    rise_together,
    unlike_paper,
)
from .sweeps import grid, sweep
from .topology import (
    GABELLA,
    GABELLA_LENS,
    GABELLA_OVERLAP,
    CoverSweep,
    GapSingleLinkage,
    GraphPersistence,
    GraphSummary,
    LearningSweep,
    Mapper,
    Persistence,
    ball_mapper,
    clique_betti1,
    count_branches,
    gain_to_overlap,
    greater_than_null,
    is_tree,
    kmapper11_overlap,
    learning_graph,
    learning_sweep,
    mean_step,
    neighbourhood_lens,
    neural_persistence,
    null_trajectories,
    over_covers,
    permuted_neural_persistence,
    phases,
    rips,
    subgraph_features,
    superlevel_h0,
    variance_normalize,
)

_LAZY = ("ShippedRun", "ShippedWeightsError", "load_shipped", "verify_shipped")

__all__ = sorted(
    [
        name
        for name, value in globals().items()
        if not name.startswith("_") and not isinstance(value, _types.ModuleType)
    ]
    + list(_LAZY)
)
"""Every ``th.`` name. The wings and the plumbing modules (``th.nets``, ``th.rules`` …) are
attributes, not star-exported."""


def __getattr__(name):
    # ``shipped`` is imported on first use, so that ``python -m topohelpers.shipped`` runs it as
    # __main__ without importing it twice.
    if name == "shipped" or name in _LAZY:
        import importlib

        module = importlib.import_module(".shipped", __name__)
        return module if name == "shipped" else getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
