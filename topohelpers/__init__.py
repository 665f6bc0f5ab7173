"""topohelpers: the helper package of the book *Topology of neural-network weights*.

One import per chapter: ``import topohelpers as th``. Numpy in, numpy out; one module
per idea: ``profile``, ``cache``, data (``data``, ``cifar``, ``svhn``, ``vgg``), point clouds
(``weights``, ``patches``, ``filtration``, ``ideal``, ``analysis``), topology (``mapper``,
``persistence``, ``graphs``, ``learning``), networks (``models``, the ``nets`` package — ensemble,
streams, precision, loop, runs, training — ``induced``, ``activation``, ``attacks``,
``callbacks``), and
``plotting``, ``rules`` (the pass rules), ``reportcard``, ``checks``, and ``shipped`` (the papers'
scale, trained once on a GPU and shipped with the book).
"""

__version__ = "0.1.0"

from . import rules, shipped
from .activation import maximize_activation
from .analysis import CloudReport, analyze_filters, vanishing
from .attacks import pgd, pgd_minimal
from .cache import cache_dir, cached, config_key, load_arrays, save_arrays
from .callbacks import model_neural_persistence, neural_persistence_stopping, neural_persistence_tracker
from .cifar import (
    ImagePipeline,
    grayscale,
    load_cifar10,
    load_colour_photographs,
    photo_crops,
    random_crop_flip,
    standardize,
    standin_boxes,
)
from .data import Dataset, load_mnist, load_photographs, load_shapes, synthetic_shapes
from .filtration import density_filtration, knn_distance, scaled_k
from .graphs import (
    GraphPersistence,
    greater_than_null,
    neural_persistence,
    permuted_neural_persistence,
    subgraph_features,
    superlevel_h0,
)
from .ideal import (
    circle_filters,
    fit_klein_bottle,
    fit_primary_circle,
    fit_three_circle,
    klein_bottle,
    klein_filter,
    klein_filters,
    primary_circle,
    primary_filter,
    three_circle,
)
from .induced import InducedGraph, induced_graph
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
from .models import build_c, build_gebhart, build_m, build_mlp, build_report2017, c_layers
from .nets import (
    PRECISIONS,
    BatchStreams,
    EnsembleM,
    TrainedEnsemble,
    TrainedNetwork,
    TrainingDiverged,
    WeightHistory,
    merge_shards,
    precision_scope,
    record_training,
    train_ensemble,
    train_network,
)
from .patches import d_norm, dct_basis, natural_patches, normalize_patches
from .persistence import Persistence, rips
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
from .shipped import ShippedRun, ShippedWeightsError, load_shipped, verify_shipped
from .svhn import load_sklearn_digits, load_svhn, synthetic_digits
from .vgg import VGGKernels, WeightsUnavailable, hed_distance_from_imagenet, load_vgg_kernels, relative_distance
from .weights import dense_vectors, filters_to_kernel, normalize, spatial_filters

__all__ = [name for name in dir() if not name.startswith("_")]
