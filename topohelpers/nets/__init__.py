"""Networks and their training: the batched ensemble model, the one training loop, run records.

- :mod:`~topohelpers.nets.ensemble`: N independent M/C networks as one Keras model (two layouts).
- :mod:`~topohelpers.nets.streams`: which training images each member sees at each step.
- :mod:`~topohelpers.nets.precision`: float32, TF32 or mixed bfloat16, made explicit.
- :mod:`~topohelpers.nets.loop`: the chunked, on-device, resumable training loop.
- :mod:`~topohelpers.nets.runs`: what a run leaves (and merging shards).
- :mod:`~topohelpers.nets.training`: ``train_ensemble``, ``train_network``, ``record_training``.
"""

from .ensemble import EnsembleM, accelerator, default_strategy, member_loss, member_losses
from .loop import TrainingDiverged, fit
from .precision import PRECISIONS, precision_scope
from .runs import TrainedEnsemble, TrainedNetwork, WeightHistory, data_key, merge_shards
from .streams import BatchStreams
from .training import record_training, train_ensemble, train_network
