"""Keras callbacks around neural persistence (Rieck et al. 2019): track it during training,
and stop training when it stops growing. Built on demand, so importing topohelpers does not
import Keras."""

from __future__ import annotations

import numpy as np

from ..checks import positive_int
from ..topology.graphs import neural_persistence


def model_neural_persistence(model, *, normalize: bool = True):
    """Neural persistence of a Keras model's Dense layers, each bias folded in as an extra
    input row. Returns ``(per_layer, mean)``."""
    kernels = []
    for layer in model.layers:
        ws = layer.get_weights()
        if type(layer).__name__ == "Dense":
            k = np.asarray(ws[0])
            kernels.append(np.vstack([k, np.asarray(ws[1])[None]]) if len(ws) > 1 else k)
    if not kernels:
        raise ValueError(f"model {model.name!r} has no Dense layer: neural persistence needs one.")
    return neural_persistence(kernels, normalize=normalize)


def neural_persistence_tracker(every: int = 1):
    """A callback that records the mean normalized neural persistence after every ``every``
    epochs in ``.history`` as (epoch, mean, per_layer)."""
    import keras

    class Tracker(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.history = []

        def on_epoch_end(self, epoch, logs=None):
            if (epoch + 1) % every == 0:
                per_layer, mean = model_neural_persistence(self.model)
                self.history.append((epoch + 1, mean, per_layer))

    return Tracker()


def neural_persistence_stopping(patience: int = 3, every: int = 1):
    """Early stopping on neural persistence: stop once the mean normalized neural persistence
    has not grown for ``patience`` consecutive checks (one check every ``every`` epochs).
    ``.stopped_epoch`` is the epoch training stopped after (0 if it ran to the end)."""
    import keras

    positive_int("patience", patience)

    class Stopper(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.best, self.wait, self.stopped_epoch, self.history = -np.inf, 0, 0, []

        def on_epoch_end(self, epoch, logs=None):
            if (epoch + 1) % every:
                return
            _, mean = model_neural_persistence(self.model)
            self.history.append((epoch + 1, mean))
            if mean > self.best:
                self.best, self.wait = mean, 0
            else:
                self.wait += 1
                if self.wait >= patience:
                    self.stopped_epoch = epoch + 1
                    self.model.stop_training = True

    return Stopper()
