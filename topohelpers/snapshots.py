"""Weight snapshots along training: every dense layer's incoming-weight vectors (one point per
neuron per snapshot), with test accuracy and the confusion matrix at each snapshot.

Used to follow how weights learn (Gabella 2019): the snapshots of one layer form a point
cloud of (snapshots × neurons) points whose shape — a tree, a surface — is the subject.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .cache import cached
from .training import BatchStreams, _progress, data_key
from .weights import dense_vectors


@dataclass(frozen=True, repr=False)
class WeightHistory:
    """Snapshots of a network's dense layers.

    Attributes
    ----------
    steps : (S,) training step of each snapshot (0 = before training).
    epochs : (S,) the same in epochs.
    layers : dict layer name -> (S, n_neurons, n_inputs) incoming weights of each neuron.
    accuracy : (S,) test accuracy.  confusion : (S, C, C) test confusion matrices
    (row = true class, column = predicted class).
    """

    config: dict
    steps: np.ndarray
    epochs: np.ndarray
    layers: dict
    accuracy: np.ndarray
    confusion: np.ndarray
    source: str
    seconds: float

    def _layer(self, layer):
        if layer not in self.layers:
            raise ValueError(f"layer={layer!r} was not recorded: choose from {list(self.layers)}.")
        return self.layers[layer]

    def cloud(self, layer: str):
        """The layer's (snapshots × neurons) point cloud and labels: ``(points, step, neuron)``,
        snapshot-major (all neurons of snapshot 0 first)."""
        W = self._layer(layer)
        S, n, _ = W.shape
        return W.reshape(S * n, -1), np.repeat(self.steps, n), np.tile(np.arange(n), S)

    def norms(self, layer: str) -> np.ndarray:
        """(S, n_neurons) Euclidean norm of each neuron's incoming weights."""
        return np.linalg.norm(self._layer(layer), axis=2)

    def __repr__(self):
        shapes = ", ".join(f"{k} {v.shape[1]}×{v.shape[2]}" for k, v in self.layers.items())
        return (f"WeightHistory({self.config['name']}: {len(self.steps)} snapshots over {self.steps[-1]:,} steps "
                f"({self.epochs[-1]:.0f} epochs) in {self.seconds:.0f} s; layers {shapes}; "
                f"final test accuracy {self.accuracy[-1]:.4f})")


def record_training(build, data, *, name: str, epochs: float, batch_size: int, learning_rate: float,
                    n_snapshots: int = 200, seed: int = 0, use_cache: bool = True,
                    progress: bool = True) -> WeightHistory:
    """Train ``build()`` with plain SGD and record its dense layers at ``n_snapshots`` evenly
    spaced steps (the first before training, the last at the end). ``name`` must identify
    the architecture and initialization; the result is cached by the full configuration.

    Images are flattened when the model takes vectors.
    """
    import keras

    if not epochs > 0:
        raise ValueError(f"epochs must be positive, got {epochs!r}.")
    if isinstance(n_snapshots, bool) or not isinstance(n_snapshots, (int, np.integer)) or n_snapshots < 2:
        raise ValueError(f"n_snapshots must be an integer >= 2, got {n_snapshots!r}.")
    n_train = len(data.x_train)
    per_epoch = n_train // batch_size
    if per_epoch < 1:
        raise ValueError(f"batch_size={batch_size} is larger than the training set ({n_train}).")
    total = int(round(epochs * per_epoch))
    snap_steps = np.unique(np.linspace(0, total, n_snapshots).round().astype(int))
    config = {"name": name, "epochs": float(epochs), "batch_size": int(batch_size), "learning_rate": float(learning_rate),
              "n_snapshots": int(n_snapshots), "seed": int(seed), "backend": keras.backend.backend(),
              **data_key(data)}

    def compute():
        start = time.perf_counter()
        keras.utils.set_random_seed(seed)
        model = build()
        dense = [lay for lay in model.layers if isinstance(lay, keras.layers.Dense)]
        if not dense:
            raise ValueError(f"the model {model.name!r} has no Dense layer to record.")
        flat = len(model.inputs[0].shape) == 2
        x_train = np.asarray(data.x_train, np.float32)
        x_test = np.asarray(data.x_test, np.float32)
        if flat:
            x_train, x_test = x_train.reshape(n_train, -1), x_test.reshape(len(x_test), -1)
        n_classes = int(model.outputs[0].shape[-1])
        model.compile(optimizer=keras.optimizers.SGD(learning_rate), loss="sparse_categorical_crossentropy")
        y_train = np.asarray(data.y_train)
        streams = BatchStreams(x_train, y_train, 1, int(batch_size), seed=seed)
        rec = {lay.name: [] for lay in dense}
        acc, conf = [], []

        def record():
            for lay in dense:
                rec[lay.name].append(dense_vectors(np.asarray(lay.get_weights()[0])))
            pred = np.asarray(model.predict(x_test, batch_size=2000, verbose=0)).argmax(-1)
            cm = np.zeros((n_classes, n_classes), dtype=np.int32)
            np.add.at(cm, (np.asarray(data.y_test), pred), 1)
            conf.append(cm)
            acc.append(np.trace(cm) / len(pred))

        record()
        todo = set(snap_steps[1:].tolist())
        for step in (_progress(range(total), name) if progress else range(total)):
            idx = streams.indices()[0]
            model.train_on_batch(x_train[idx], y_train[idx])
            if step + 1 in todo:
                record()
        arrays = {f"layer_{k}": np.stack(v) for k, v in rec.items()}
        arrays.update(accuracy=np.array(acc), confusion=np.stack(conf), seconds=np.array(time.perf_counter() - start))
        return arrays

    arrays = cached(config, compute, name="history") if use_cache else compute()
    layers = {k[len("layer_"):]: v for k, v in arrays.items() if k.startswith("layer_")}
    return WeightHistory(config, snap_steps, snap_steps / per_epoch, layers, arrays["accuracy"], arrays["confusion"],
                         data.source, float(arrays["seconds"]))


def build_mlp(hidden=(100,), *, n_inputs: int = 784, n_classes: int = 10, init: str = "zeros", std: float = 1e-6,
              seed: int | None = None):
    """Gabella's networks: dense layers without biases, sigmoid inside, softmax out.

    ``init`` is ``"zeros"`` (every weight exactly 0) or ``"normal"`` (N(0, ``std``²)).
    Layers are named ``hidden1``, ``hidden2``, …, ``output``.
    """
    import keras

    if init == "zeros":
        initializer = keras.initializers.Zeros()
    elif init == "normal":
        initializer = keras.initializers.RandomNormal(stddev=std, seed=seed)
    else:
        raise ValueError(f"init must be 'zeros' or 'normal', got {init!r}.")
    layers = [keras.Input((n_inputs,))]
    for i, h in enumerate(hidden):
        layers.append(keras.layers.Dense(h, activation="sigmoid", use_bias=False, kernel_initializer=initializer,
                                         name=f"hidden{i + 1}"))
    layers.append(keras.layers.Dense(n_classes, activation="softmax", use_bias=False, kernel_initializer=initializer,
                                     name="output"))
    return keras.Sequential(layers, name="mlp_" + "_".join(map(str, hidden)) + f"_{init}")
