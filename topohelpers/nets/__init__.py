"""The networks wing: the papers' models, their training, and what is computed from a trained one.

- :mod:`~topohelpers.nets.models`: the papers' networks M, C, Gebhart's, the 2017 report's, MLPs.
- :mod:`~topohelpers.nets.ensemble`: N independent M/C networks as one Keras model (two layouts).
- :mod:`~topohelpers.nets.streams`: which training images each member sees at each step.
- :mod:`~topohelpers.nets.precision`: float32, TF32 or mixed bfloat16, made explicit.
- :mod:`~topohelpers.nets.loop`: the chunked, on-device, resumable training loop.
- :mod:`~topohelpers.nets.runs`: what a run leaves (and merging shards).
- :mod:`~topohelpers.nets.training`: ``train_ensemble``, ``train_many``, ``train_network``,
  ``record_training``.
- :mod:`~topohelpers.nets.callbacks`: neural persistence during training (and early stopping on it).
- :mod:`~topohelpers.nets.induced`: the graph a trained network induces on one input.
- :mod:`~topohelpers.nets.probes`: input-gradient probes (activation maximization, PGD attacks).
"""

import logging as _logging

from .callbacks import (
    model_neural_persistence,
    neural_persistence_stopping,
    neural_persistence_tracker,
)
from .ensemble import EnsembleM, accelerator, default_strategy, member_loss, member_losses
from .induced import InducedGraph, induced_graph
from .loop import TrainingDiverged, fit
from .models import build_c, build_gebhart, build_m, build_mlp, build_report2017, c_layers
from .precision import PRECISIONS, precision_scope
from .probes import maximize_activation, pgd, pgd_minimal
from .runs import TrainedEnsemble, TrainedNetwork, WeightHistory, data_key, merge_shards
from .streams import BatchStreams
from .training import record_training, train_ensemble, train_many, train_network


class _NoRetracingNotice(_logging.Filter):
    """Drops TensorFlow's "… triggered tf.function retracing" notice. Every model this wing
    builds (an ensemble, a run of the training loop, a network probed) brings its own
    ``tf.function``, so a chapter that trains or evaluates several of them meets the notice by
    design; it is about speed, not correctness. Other TensorFlow messages pass."""

    def filter(self, record):
        return "triggered tf.function retracing" not in record.getMessage()


if not any(isinstance(f, _NoRetracingNotice) for f in _logging.getLogger("tensorflow").filters):
    _logging.getLogger("tensorflow").addFilter(_NoRetracingNotice())
