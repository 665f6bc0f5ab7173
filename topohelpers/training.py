"""Batched ensemble training: N independent M(X, Y, Z) or C(X, Y, Z) networks trained as one model.

Each member has its own initialization and its own shuffled stream of training batches,
its loss enters the total as a separate term (so its gradient is exactly its own), and
Adam keeps per-parameter state: the members are as independent as N separate runs, but
one optimizer step trains all of them. Two layouts compute the same thing:

- ``"branches"``: N parallel copies of the network in one Keras model. Best on a CPU,
  where one small network already keeps the cores busy.
- ``"grouped"``: the N networks fused into grouped convolutions and batched matrix
  products, one kernel per layer for all members. Best on a GPU, which one small network
  cannot fill.

Trained weights, snapshots and accuracies are cached on disk keyed by the full
configuration, so rebuilding a chapter never retrains.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field

import numpy as np

from .cache import cached
from .models import c_layers, lrn, m_layers
from .weights import spatial_filters

STRATEGIES = ("auto", "branches", "grouped")


def _keras():
    import keras

    return keras


def default_strategy() -> str:
    """``"grouped"`` when an accelerator is visible to the Keras backend, else ``"branches"``."""
    keras = _keras()
    backend = keras.backend.backend()
    try:
        if backend == "jax":
            import jax

            gpu = any(d.platform != "cpu" for d in jax.devices())
        elif backend == "tensorflow":
            import tensorflow as tf

            gpu = bool(tf.config.list_physical_devices("GPU"))
        elif backend == "torch":
            import torch

            gpu = torch.cuda.is_available()
        else:
            gpu = False
    except Exception:
        gpu = False
    return "grouped" if gpu else "branches"


# ------------------------------------------------------------------ the grouped layout

def _grouped_layers():
    keras = _keras()
    from keras import ops

    class EnsembleDense(keras.layers.Layer):
        """N independent dense layers: (B, N, in) -> (B, N, out), kernel (N, in, out)."""

        def __init__(self, n_members, units, activation=None, kernel_regularizer=None, **kwargs):
            super().__init__(**kwargs)
            self.n_members, self.units = n_members, units
            self.activation = keras.activations.get(activation)
            self.kernel_regularizer = kernel_regularizer

        def build(self, input_shape):
            fan_in = input_shape[-1]
            limit = float(np.sqrt(6.0 / (fan_in + self.units)))   # Glorot uniform of one member
            self.kernel = self.add_weight(shape=(self.n_members, fan_in, self.units), name="kernel",
                                          initializer=keras.initializers.RandomUniform(-limit, limit),
                                          regularizer=self.kernel_regularizer)
            self.bias = self.add_weight(shape=(self.n_members, self.units), name="bias", initializer="zeros")

        def call(self, x):
            return self.activation(ops.einsum("bni,nio->bno", x, self.kernel) + self.bias)

    class PerMember(keras.layers.Layer):
        """A weightless layer that knows how many members share its channels."""

        def __init__(self, n_members, **kwargs):
            super().__init__(**kwargs)
            self.n_members = n_members

    class MemberFlatten(PerMember):
        """(B, h, w, N·c) member-major channels -> (B, N, h·w·c), each member flattened like Flatten."""

        def call(self, x):
            _, h, w, nc = x.shape
            c = nc // self.n_members
            x = ops.reshape(x, (-1, h, w, self.n_members, c))
            x = ops.transpose(x, (0, 3, 1, 2, 4))
            return ops.reshape(x, (-1, self.n_members, h * w * c))

    class MemberLRN(PerMember):
        """Local response normalization within each member's channels of (B, h, w, N·c)."""

        def call(self, x):
            _, h, w, nc = x.shape
            y = lrn(ops.reshape(x, (-1, h, w, self.n_members, nc // self.n_members)))
            return ops.reshape(y, (-1, h, w, nc))

    class MemberConcat(PerMember):
        """[(B, h, w, N·c), (B, h, w, N·f)] member-major -> (B, h, w, N·(c+f)), member i's c then f channels."""

        def __init__(self, n_members, c, f, **kwargs):
            super().__init__(n_members, **kwargs)
            self.c, self.f = c, f

        def call(self, inputs):
            x, a = inputs
            _, h, w, _ = x.shape
            N = self.n_members
            both = ops.concatenate([ops.reshape(x, (-1, h, w, N, self.c)), ops.reshape(a, (-1, h, w, N, self.f))], axis=-1)
            return ops.reshape(both, (-1, h, w, N * (self.c + self.f)))

    return EnsembleDense, MemberFlatten, MemberLRN, MemberConcat


def _grouped_conv(keras, n_members, filters, c_in, name, ks=3, regularizer=None):
    limit = float(np.sqrt(6.0 / (ks * ks * (c_in + filters))))   # Glorot uniform of one member's kernel
    return keras.layers.Conv2D(n_members * filters, ks, padding="same", activation="relu", groups=n_members,
                               kernel_initializer=keras.initializers.RandomUniform(-limit, limit),
                               kernel_regularizer=regularizer, name=name)


ARCHITECTURES = ("M", "C")


# ------------------------------------------------------------------ the ensemble

@dataclass
class EnsembleM:
    """N members of M(X, Y, Z) (or, with ``architecture="C"``, of C(X, Y, Z)) as one Keras model.

    ``model`` maps (B, h, w, N·c) — member i's images in channels [i·c, (i+1)·c) — to
    (B, N, n_classes) class probabilities. ``member_weights(i)`` gives member i's weights in
    the order of a plain ``build_m(X, Y, Z).get_weights()`` (``build_c`` for C). ``pool`` and
    ``weight_decay`` apply to C only (L2 on every conv and FC kernel; summed over members,
    so each member's gradient is its own).
    """

    sizes: tuple
    n_members: int
    input_shape: tuple = (28, 28, 1)
    n_classes: int = 10
    strategy: str = "branches"
    seed: int = 0
    kernel_size: int = 3
    architecture: str = "M"
    pool: bool = True
    weight_decay: float = 0.0
    fixed_conv1: object = None     # (ks, ks, c_in, X) or (N, ks, ks, c_in, X): conv1 frozen to these (bias 0)
    append: object = None          # (a, a, c, F) fixed filters: their responses become F extra input channels
    model: object = field(init=False, repr=False)

    def __post_init__(self):
        keras = _keras()
        X, Y, Z = self.sizes
        if not isinstance(self.n_members, (int, np.integer)) or self.n_members < 1:
            raise ValueError(f"n_members must be a positive integer, got {self.n_members!r}.")
        if self.strategy == "auto":
            self.strategy = default_strategy()
        if self.strategy not in STRATEGIES[1:]:
            raise ValueError(f"strategy must be one of {STRATEGIES}, got {self.strategy!r}.")
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {self.architecture!r}.")
        is_c = self.architecture == "C"
        if is_c and self.kernel_size != 3:
            raise ValueError("C(X, Y, Z) networks have 3×3 kernels: leave kernel_size at 3.")
        if not is_c and (not self.pool or self.weight_decay):
            raise ValueError("pool and weight_decay apply to architecture='C' only.")
        keras.utils.set_random_seed(self.seed)
        h, w, c = self.input_shape
        N = self.n_members
        inp = keras.Input((h, w, N * c))
        A = None
        if self.append is not None:
            A = np.asarray(self.append, dtype=np.float32)
            if A.ndim != 4 or A.shape[2] != c or A.shape[0] != A.shape[1] or A.shape[0] % 2 == 0:
                raise ValueError(f"append must hold square odd-sized filters of shape (a, a, {c}, F), got {A.shape}.")
        if self.strategy == "branches":
            outs = []
            for i in range(N):
                x = inp[..., i * c:(i + 1) * c]
                if A is not None:
                    appended = keras.layers.Conv2D(A.shape[3], A.shape[0], padding="same", use_bias=False,
                                                   trainable=False, name=f"append_{i}")
                    x = keras.layers.Concatenate(name=f"with_append_{i}")([x, appended(x)])
                    appended.set_weights([A])
                if is_c:
                    layers = c_layers(X, Y, Z, prefix=f"m{i}_", n_classes=self.n_classes,
                                      weight_decay=self.weight_decay, pool=self.pool)
                else:
                    layers = m_layers(X, Y, Z, prefix=f"m{i}_", n_classes=self.n_classes, kernel_size=self.kernel_size)
                for layer in layers:
                    x = layer(x)
                outs.append(x)
            out = keras.ops.stack(outs, axis=1)
        else:
            EnsembleDense, MemberFlatten, MemberLRN, _MemberConcat = _grouped_layers()
            L = keras.layers
            ks = self.kernel_size
            reg = (lambda: keras.regularizers.L2(self.weight_decay)) if self.weight_decay else (lambda: None)
            x, c1 = inp, c
            if A is not None:
                F = A.shape[3]
                appended = L.Conv2D(N * F, A.shape[0], padding="same", use_bias=False, groups=N, trainable=False,
                                    name="append")
                x = _MemberConcat(N, c, F, name="with_append")([inp, appended(inp)])
                appended.set_weights([np.concatenate([A] * N, axis=-1)])
                c1 = c + F
            # conv blocks: M pools 2×2; C pools 3×3/2 then 2×2/1 (unless pool=False), then LRN
            c_pools = [dict(pool_size=3, strides=2, padding="same"), dict(pool_size=2, strides=1, padding="same")]
            for j, (filters, c_in) in enumerate([(X, c1), (Y, X)]):
                if not filters:
                    continue
                x = _grouped_conv(keras, N, filters, c_in, f"conv{j + 1}", ks, reg())(x)
                if not is_c:
                    x = L.MaxPooling2D(2, name=f"pool{j + 1}")(x)
                    continue
                x = L.MaxPooling2D(**c_pools[j], name=f"pool{j + 1}")(x) if self.pool else x
                x = MemberLRN(N, name=f"lrn{j + 1}")(x)
            x = MemberFlatten(N, name="flatten")(x)
            if Z:
                x = EnsembleDense(N, Z, activation="relu", kernel_regularizer=reg(), name="fc")(x)
                if not is_c:
                    x = L.Dropout(0.5, name="dropout")(x)
            out = EnsembleDense(N, self.n_classes, activation="softmax", name="readout")(x)
        arch = f"{self.architecture}_{X}_{Y}_{Z}" + ("" if self.pool else "_nopool")
        self.model = keras.Model(inp, out, name=f"ensemble_{N}x{arch}_{self.strategy}")
        if self.fixed_conv1 is not None:
            self._freeze_conv1(np.asarray(self.fixed_conv1, dtype=np.float32))

    def _freeze_conv1(self, K):
        if K.ndim == 4:
            K = np.stack([K] * self.n_members)
        convs = self._conv1_layers()
        k0 = convs[0].get_weights()[0]
        want = (self.n_members, *k0.shape[:3], self.sizes[0])
        if K.shape != want:
            raise ValueError(f"fixed_conv1 must have shape {want[1:]} or {want}, got {K.shape}.")
        if self.strategy == "branches":
            for i, layer in enumerate(convs):
                layer.set_weights([K[i], np.zeros(K.shape[-1], np.float32)])
                layer.trainable = False
        else:
            convs[0].set_weights([np.concatenate(list(K), axis=-1), np.zeros(K.shape[0] * K.shape[-1], np.float32)])
            convs[0].trainable = False

    def _conv1_layers(self):
        if self.strategy == "branches":
            return [self.model.get_layer(f"m{i}_conv1") for i in range(self.n_members)]
        return [self.model.get_layer("conv1")]

    # the per-member view --------------------------------------------------------
    def member_weights(self, i: int) -> list:
        """Member ``i``'s weights, in the order of ``build_m(X, Y, Z).get_weights()``."""
        if not 0 <= i < self.n_members:
            raise ValueError(f"member i={i} is out of range: there are {self.n_members} members.")
        if self.strategy == "branches":
            return [np.asarray(w) for layer in self.model.layers if layer.name.startswith(f"m{i}_")
                    for w in layer.get_weights()]
        out = []
        for layer in self.model.layers:
            ws = layer.get_weights()
            if not ws or layer.name == "append":
                continue
            k, b = (np.asarray(w) for w in ws)
            if k.ndim == 4:                      # grouped conv: output channels are member-major
                f = k.shape[-1] // self.n_members
                out += [k[..., i * f:(i + 1) * f], b[i * f:(i + 1) * f]]
            else:                                # EnsembleDense
                out += [k[i], b[i]]
        return out

    def stacked_weights(self) -> list:
        """Every weight of the plain layout, stacked over members: arrays of shape (N, ...)."""
        per_member = [self.member_weights(i) for i in range(self.n_members)]
        return [np.stack(ws) for ws in zip(*per_member)]

    def set_stacked_weights(self, stacked: list) -> None:
        """Inverse of :meth:`stacked_weights`."""
        if self.strategy == "branches":
            for i in range(self.n_members):
                ws = iter(s[i] for s in stacked)
                for layer in self.model.layers:
                    if layer.name.startswith(f"m{i}_") and layer.get_weights():
                        layer.set_weights([next(ws) for _ in layer.get_weights()])
            return
        it = iter(stacked)
        for layer in self.model.layers:
            if not layer.get_weights() or layer.name == "append":
                continue
            k, b = next(it), next(it)
            if k.ndim == 5:                      # (N, 3, 3, c_in, f) -> (3, 3, c_in, N·f)
                layer.set_weights([np.concatenate(list(k), axis=-1), b.reshape(-1)])
            else:
                layer.set_weights([k, b])

    def conv_kernels(self) -> dict:
        """The conv kernels, stacked over members: {"conv1": (N, 3, 3, c_in, X), ...}."""
        stacked = self.stacked_weights()
        kernels = [w for w in stacked if w.ndim == 5]
        return {f"conv{j + 1}": k for j, k in enumerate(kernels)}

    def predict(self, x, batch_size: int = 512) -> np.ndarray:
        """Class probabilities of every member on the same images: (n, N, n_classes)."""
        x = _with_channels(x, self.input_shape)
        chunk = 8 * batch_size            # tile N copies of a chunk at a time, not of the whole set
        return np.concatenate([np.asarray(self.model.predict(np.concatenate([x[s:s + chunk]] * self.n_members, axis=-1),
                                                             batch_size=batch_size, verbose=0))
                               for s in range(0, len(x), chunk)])


def _with_channels(x, input_shape):
    x = _as_images(x)
    if tuple(x.shape[1:]) != tuple(input_shape):
        raise ValueError(f"images have shape {x.shape[1:]}, the networks expect {tuple(input_shape)}.")
    return x


def member_loss(y_true, y_pred):
    """Σ over members of each member's cross-entropy: y_true (B, N) labels, y_pred (B, N, C).

    Keras averages this over the batch, so every member's term is its own mean loss and its
    gradient does not depend on N."""
    keras = _keras()
    ce = keras.losses.sparse_categorical_crossentropy(y_true, y_pred)   # (B, N)
    return keras.ops.sum(ce, axis=-1)


class BatchStreams:
    """Independent shuffled batch streams, one per member, over the same training set.

    Member i draws a fresh permutation of the training set every epoch from its own
    generator, seeded with (seed, i). ``next()`` returns x of shape (B, h, w, N·c) and y of
    shape (B, N).
    """

    def __init__(self, x, y, n_members: int, batch_size: int, seed: int = 0, transform=None):
        if batch_size < 1 or batch_size > len(x):
            raise ValueError(f"batch_size must be in [1, {len(x)}] (the training-set size), got {batch_size}.")
        if len(x) != len(y):
            raise ValueError(f"x has {len(x)} images but y has {len(y)} labels.")
        self.x, self.y = x, np.asarray(y)
        self.n_members, self.batch_size = n_members, batch_size
        self.rngs = [np.random.default_rng([seed, i]) for i in range(n_members)]
        self.orders = [r.permutation(len(x)) for r in self.rngs]
        self.pos = 0
        self.transform = transform        # transform(images, rng) -> float32 images, per member
        self.aug_rngs = [np.random.default_rng([seed, i, 1]) for i in range(n_members)]

    def indices(self) -> np.ndarray:
        """The next (N, B) training indices."""
        n, B = len(self.x), self.batch_size
        if self.pos + B > n:
            self.orders = [r.permutation(n) for r in self.rngs]
            self.pos = 0
        idx = np.stack([o[self.pos:self.pos + B] for o in self.orders])
        self.pos += B
        return idx

    def next(self):
        idx = self.indices()
        if self.transform is None:
            xb = self.x[idx]                               # (N, B, h, w, c)
        else:                                              # member i augments with its own generator
            xb = np.stack([self.transform(self.x[ix], r) for ix, r in zip(idx, self.aug_rngs)])
        xb = np.moveaxis(xb, 0, -2)                        # (B, h, w, N, c)
        return xb.reshape(*xb.shape[:3], -1), self.y[idx].T


@dataclass(frozen=True, repr=False)
class TrainedEnsemble:
    """What training leaves: per-member weights, conv-kernel snapshots, test accuracy."""

    config: dict
    weights: list                  # plain-layout weights stacked over members, each (N, ...)
    snapshots: dict                # step -> {"conv1": (N, 3, 3, c_in, X), ...}
    test_accuracy: np.ndarray      # (N,)
    loss: np.ndarray               # (steps,) summed member loss per step
    source: str
    seconds: float                 # wall time the training took when it ran (not when loaded from the cache)
    extras: dict = field(default_factory=dict)   # "acc<step>" accuracies, "fixed_conv1", "append" arrays

    @property
    def n_members(self) -> int:
        return int(self.config["n_members"])

    def kernels(self, layer: str = "conv1", step: int | None = None) -> np.ndarray:
        """Conv kernels of every member, (N, 3, 3, c_in, c_out), at the end or at a snapshot step."""
        if step is None:
            convs = [w for w in self.weights if w.ndim == 5]
            table = {f"conv{j + 1}": k for j, k in enumerate(convs)}
        else:
            if step not in self.snapshots:
                raise ValueError(f"no snapshot at step={step}: snapshots were taken at {sorted(self.snapshots)}.")
            table = self.snapshots[step]
        if layer not in table:
            raise ValueError(f"layer={layer!r} is not a conv layer of these networks: choose from {sorted(table)}.")
        return table[layer]

    def filters(self, layer: str = "conv1", step: int | None = None, *, channel: int | None = None,
                members=None) -> np.ndarray:
        """Spatial filters pooled over members (all, or the indices in ``members``):
        (n·c_in·c_out, 9), member-major. ``channel`` keeps only the filters reading that input
        channel (0, 1, 2 = R, G, B for a colour first layer)."""
        kernels = self.kernels(layer, step)
        if members is not None:
            kernels = kernels[np.atleast_1d(members)]
        if channel is not None:
            c_in = kernels.shape[3]
            if not 0 <= channel < c_in:
                raise ValueError(f"channel={channel} is out of range: {layer} reads {c_in} input channel(s).")
            kernels = kernels[:, :, :, channel:channel + 1]
        return np.concatenate([spatial_filters(k) for k in kernels])

    def accuracy_curve(self):
        """(steps, accuracies (n_snapshots, N)) recorded with ``eval_snapshots``."""
        steps = sorted(int(k[3:]) for k in self.extras if k.startswith("acc"))
        if not steps:
            raise ValueError("no accuracies were recorded: train with eval_snapshots=<number of test images>.")
        return np.array(steps), np.stack([self.extras[f"acc{s}"] for s in steps])

    def ensemble(self) -> "EnsembleM":
        """The trained members as one :class:`EnsembleM` again (fixed and appended filters included)."""
        c = self.config
        ens = EnsembleM(tuple(c["sizes"]), self.n_members, input_shape=tuple(c["input_shape"]), strategy="branches",
                        kernel_size=c.get("kernel_size", 3), architecture=c.get("architecture", "M"),
                        pool=c.get("pool", True), weight_decay=c.get("weight_decay", 0.0),
                        fixed_conv1=self.extras.get("fixed_conv1"), append=self.extras.get("append"))
        ens.set_stacked_weights(self.weights)
        return ens

    def accuracy(self, x, y) -> np.ndarray:
        """Every member's accuracy on images ``x`` (already in the networks' input shape) with labels ``y``: (N,)."""
        probs = self.ensemble().predict(x)
        return (probs.argmax(-1) == np.asarray(y)[:, None]).mean(axis=0)

    def member_model(self, i: int):
        """A plain Keras M(X, Y, Z) (or C(X, Y, Z)) model carrying member ``i``'s trained weights."""
        from .models import build_c, build_m

        X, Y, Z = self.config["sizes"]
        shape = tuple(self.config["input_shape"])
        if self.config.get("architecture", "M") == "C":
            model = build_c(X, Y, Z, input_shape=shape, weight_decay=self.config.get("weight_decay", 0.004),
                            pool=self.config.get("pool", True))
        else:
            model = build_m(X, Y, Z, input_shape=shape, kernel_size=self.config.get("kernel_size", 3))
        model.set_weights([w[i] for w in self.weights])
        return model

    def __repr__(self):
        acc = self.test_accuracy
        X, Y, Z = self.config["sizes"]
        ks = self.config.get("kernel_size", 3)
        arch = (f"{self.config.get('architecture', 'M')}({X},{Y},{Z})" + ("" if ks == 3 else f" with {ks}×{ks} kernels")
                + ("" if self.config.get("pool", True) else " without max-pooling"))
        return (f"TrainedEnsemble({self.n_members} × {arch}, {self.config['steps']} steps of batch "
                f"{self.config['batch_size']} in {self.seconds:.0f} s; test accuracy mean {acc.mean():.4f} "
                f"[{acc.min():.4f}, {acc.max():.4f}]; data: {self.source})")


def train_ensemble(data, *, sizes=(64, 32, 64), n_members: int = 100, steps: int = 40_000, batch_size: int = 128,
                   learning_rate: float = 1e-3, seed: int = 0, snapshots=(), strategy: str = "auto",
                   kernel_size: int = 3, architecture: str = "M", pool: bool = True, weight_decay=None,
                   pipeline=None, fixed_conv1=None, append=None, eval_snapshots: int = 0, use_cache: bool = True,
                   progress: bool = True) -> TrainedEnsemble:
    """Train ``n_members`` independent M(X, Y, Z) networks (``architecture="C"``: C(X, Y, Z),
    with ``pool`` and L2 ``weight_decay``, default 0.004) on ``data`` (a
    :class:`~topohelpers.data.Dataset`) with Adam, as one batched model; cached on disk by the
    full configuration.

    ``pipeline`` (an :class:`~topohelpers.cifar.ImagePipeline`) turns each member's batch into
    network input with the member's own random crops and flips, and the test images into
    centre crops. ``snapshots`` lists the iterations after which the conv kernels are saved
    (0 = at initialization); with ``eval_snapshots`` = n > 0 every member's accuracy on the
    first n test images is recorded there too (``TrainedEnsemble.accuracy_curve``).
    ``fixed_conv1`` freezes the first conv layer to the given kernels (zero bias): (k, k,
    c_in, X) for all members or (N, k, k, c_in, X) one per member. ``append`` (a, a, c, F)
    fixed filters turn every image into c + F channels: the image and its F filter responses.
    The cache key holds the architecture, sizes, members, steps,
    batch size, learning rate, seed, snapshots, pipeline, data source and size, Keras backend
    and layout, so any change retrains and nothing else does.
    """
    keras = _keras()
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}.")
    snapshots = sorted({int(s) for s in snapshots})
    if snapshots and (snapshots[0] < 0 or snapshots[-1] > steps):
        raise ValueError(f"snapshots must lie in [0, steps={steps}], got {snapshots}.")
    strategy = default_strategy() if strategy == "auto" else strategy
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {architecture!r}.")
    if weight_decay is None:
        weight_decay = 0.004 if architecture == "C" else 0.0
    if pipeline is None:
        x_train = _as_images(data.x_train)
        input_shape = tuple(int(s) for s in x_train.shape[1:])
    else:
        x_train = np.asarray(data.x_train)
        input_shape = tuple(int(s) for s in pipeline.output_shape(x_train.shape[1:]))
    config = {"sizes": [int(s) for s in sizes], "n_members": int(n_members), "steps": int(steps),
              "batch_size": int(batch_size), "learning_rate": float(learning_rate), "seed": int(seed),
              "snapshots": snapshots, "strategy": strategy, "backend": keras.backend.backend(),
              **data_key(data),
              "input_shape": list(input_shape)}
    if kernel_size != 3:                  # (3×3 keys stay as they were, so cached 3×3 runs stay valid)
        config["kernel_size"] = int(kernel_size)
    if architecture != "M":               # (the same for M runs: their keys are unchanged)
        config.update(architecture=architecture, pool=bool(pool), weight_decay=float(weight_decay))
    elif not pool or weight_decay:
        raise ValueError("pool and weight_decay apply to architecture='C' only.")
    if pipeline is not None:
        config["pipeline"] = pipeline.key()
    extra = {}
    for key, arr in (("fixed_conv1", fixed_conv1), ("append", append)):
        if arr is not None:
            extra[key] = np.asarray(arr, dtype=np.float32)
            config[key] = hashlib.sha256(extra[key].tobytes() + str(extra[key].shape).encode()).hexdigest()[:16]
    if eval_snapshots:
        if isinstance(eval_snapshots, bool) or not isinstance(eval_snapshots, (int, np.integer)) or eval_snapshots < 1:
            raise ValueError(f"eval_snapshots must be a positive number of test images (or 0), got {eval_snapshots!r}.")
        config["eval_snapshots"] = int(min(eval_snapshots, len(data.x_test)))

    def compute():
        start = time.perf_counter()
        ens = EnsembleM(tuple(sizes), int(n_members), input_shape=input_shape, strategy=strategy, seed=seed,
                        kernel_size=kernel_size, architecture=architecture, pool=pool, weight_decay=float(weight_decay),
                        fixed_conv1=extra.get("fixed_conv1"), append=extra.get("append"))
        x_eval = y_eval = None
        if eval_snapshots:
            n_eval = config["eval_snapshots"]
            x_eval = data.x_test[:n_eval] if pipeline is None else pipeline.test(data.x_test[:n_eval])
            y_eval = np.asarray(data.y_test[:n_eval])[:, None]

        def record(step):
            arrays.update({f"snap{step}_{k}": v for k, v in ens.conv_kernels().items()})
            if x_eval is not None:
                arrays[f"acc{step}"] = (ens.predict(x_eval).argmax(-1) == y_eval).mean(axis=0)

        ens.model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=member_loss)
        streams = BatchStreams(x_train, data.y_train, int(n_members), int(batch_size), seed=seed,
                               transform=None if pipeline is None else pipeline.train)
        arrays, losses = {}, np.zeros(steps, dtype=np.float32)
        if 0 in snapshots:
            record(0)
        desc = f"{n_members} × {architecture}{tuple(sizes)}" + ("" if pool else " without pooling")
        bar = _progress(range(steps), desc) if progress else range(steps)
        for step in bar:
            xb, yb = streams.next()
            losses[step] = float(np.asarray(ens.model.train_on_batch(xb, yb)).ravel()[0])
            if step + 1 in snapshots:
                record(step + 1)
        probs = ens.predict(data.x_test if pipeline is None else pipeline.test(data.x_test))
        arrays["test_accuracy"] = (probs.argmax(-1) == np.asarray(data.y_test)[:, None]).mean(axis=0)
        arrays["loss"] = losses
        arrays.update({f"w{j}": w for j, w in enumerate(ens.stacked_weights())})
        arrays["seconds"] = np.array(time.perf_counter() - start)
        arrays.update(extra)
        return arrays

    arrays = cached(config, compute, name="ensemble") if use_cache else compute()
    weights, snaps = _unpack(arrays)
    extras = {k: v for k, v in arrays.items() if k.startswith("acc") or k in ("fixed_conv1", "append")}
    return TrainedEnsemble(config, weights, snaps, arrays["test_accuracy"], arrays["loss"], data.source,
                           float(arrays["seconds"]), extras)


@dataclass(frozen=True, repr=False)
class TrainedNetwork:
    """One trained Keras network: its final weights, kernel snapshots and test accuracy."""

    config: dict
    weights: list                  # model.get_weights() at the end
    snapshots: dict                # step -> {layer name: kernel}
    test_accuracy: float
    loss: np.ndarray
    source: str
    seconds: float

    def kernel(self, layer: str = "conv1", step: int | None = None) -> np.ndarray:
        """A layer's kernel at a snapshot step (``None`` = the last snapshot)."""
        step = max(self.snapshots) if step is None else step
        if step not in self.snapshots:
            raise ValueError(f"no snapshot at step={step}: snapshots were taken at {sorted(self.snapshots)}.")
        if layer not in self.snapshots[step]:
            raise ValueError(f"layer={layer!r} was not recorded: choose from {sorted(self.snapshots[step])}.")
        return self.snapshots[step][layer]

    def filters(self, layer: str = "conv1", step: int | None = None) -> np.ndarray:
        """Spatial filters of a recorded conv layer, (c_in·c_out, h·w)."""
        return spatial_filters(self.kernel(layer, step))

    def model(self, build):
        """``build()`` (the same builder that was trained) carrying the trained weights."""
        model = build()
        model.set_weights(self.weights)
        return model

    def __repr__(self):
        return (f"TrainedNetwork({self.config['name']}, {self.config['steps']} steps of batch {self.config['batch_size']} "
                f"in {self.seconds:.0f} s; test accuracy {self.test_accuracy:.4f}; data: {self.source})")


def train_network(build, data, *, name: str, steps: int, batch_size: int, learning_rate: float = 1e-4,
                  seed: int = 0, snapshots=(), layers=("conv1",), optimizer: str = "adam", use_cache: bool = True,
                  progress: bool = True) -> TrainedNetwork:
    """Train one network ``build()`` (an uncompiled Keras model; ``name`` must identify its
    architecture) with ``optimizer`` ("adam" or "sgd") on ``data``, recording the kernels of
    ``layers`` after each step in ``snapshots`` (0 = initialization; the last step is always
    recorded). Cached like :func:`train_ensemble`."""
    keras = _keras()
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}.")
    snapshots = sorted({int(s) for s in snapshots} | {int(steps)})
    if snapshots[0] < 0 or snapshots[-1] > steps:
        raise ValueError(f"snapshots must lie in [0, steps={steps}], got {snapshots}.")
    x_train, x_test = _as_images(data.x_train), _as_images(data.x_test)
    config = {"name": name, "steps": int(steps), "batch_size": int(batch_size), "learning_rate": float(learning_rate),
              "seed": int(seed), "snapshots": snapshots, "layers": list(layers), "backend": keras.backend.backend(),
              **data_key(data)}
    if optimizer not in ("adam", "sgd"):
        raise ValueError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}.")
    if optimizer != "adam":               # (Adam keys stay as they were, so cached Adam runs stay valid)
        config["optimizer"] = optimizer

    def compute():
        start = time.perf_counter()
        keras.utils.set_random_seed(seed)
        model = build()
        missing = [lay for lay in layers if lay not in {m.name for m in model.layers}]
        if missing:
            raise ValueError(f"layers {missing} are not in the model: it has {[m.name for m in model.layers]}.")
        opt = keras.optimizers.Adam(learning_rate) if optimizer == "adam" else keras.optimizers.SGD(learning_rate)
        model.compile(optimizer=opt, loss="sparse_categorical_crossentropy")
        streams = BatchStreams(x_train, data.y_train, 1, int(batch_size), seed=seed)

        def record(step):
            for lay in layers:
                arrays[f"snap{step}_{lay}"] = np.asarray(model.get_layer(lay).get_weights()[0])

        arrays, losses = {}, np.zeros(steps, dtype=np.float32)
        if 0 in snapshots:
            record(0)
        bar = _progress(range(steps), name) if progress else range(steps)
        for step in bar:
            xb, yb = streams.next()
            losses[step] = float(np.asarray(model.train_on_batch(xb, yb[:, 0])).ravel()[0])
            if step + 1 in snapshots:
                record(step + 1)
        pred = np.asarray(model.predict(x_test, batch_size=500, verbose=0)).argmax(-1)
        arrays["test_accuracy"] = np.array(np.mean(pred == np.asarray(data.y_test)))
        arrays["loss"] = losses
        arrays.update({f"w{j}": np.asarray(w) for j, w in enumerate(model.get_weights())})
        arrays["seconds"] = np.array(time.perf_counter() - start)
        return arrays

    arrays = cached(config, compute, name="network") if use_cache else compute()
    weights, snaps = _unpack(arrays)
    return TrainedNetwork(config, weights, snaps, float(arrays["test_accuracy"]), arrays["loss"], data.source,
                          float(arrays["seconds"]))


def data_key(data) -> dict:
    """The part of a cache key that names the data: its source (without the note on which
    sources were tried first) and its sizes."""
    return {"data": data.source.split(" — ")[0], "n_train": len(data.x_train), "n_test": len(data.x_test)}


def _unpack(arrays: dict):
    """Cached arrays -> (weights "w0", "w1", … in order; snapshots {step: {layer: kernel}} from "snap<step>_<layer>")."""
    weights = [arrays[f"w{j}"] for j in range(sum(k.startswith("w") for k in arrays))]
    snaps: dict = {}
    for key, v in arrays.items():
        if key.startswith("snap"):
            step, layer = key[4:].split("_", 1)
            snaps.setdefault(int(step), {})[layer] = v
    return weights, snaps


def _as_images(x) -> np.ndarray:
    """float32 images with a channel axis: (n, h, w) grayscale gets one; uint8 is read as 0–255."""
    from .cifar import to_float

    return to_float(x)


def _progress(iterable, desc):
    import warnings

    with warnings.catch_warnings():       # without ipywidgets tqdm.auto warns, then prints text bars
        warnings.simplefilter("ignore")
        from tqdm.auto import tqdm
    return tqdm(iterable, desc=desc, mininterval=2.0)
