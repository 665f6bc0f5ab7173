"""N independent M(X, Y, Z) or C(X, Y, Z) networks as one Keras model.

Each member is a network of its own: its initial weights are drawn from
``numpy.random.default_rng([seed, m])`` and its dropout masks from a random stream seeded by
``(seed, m)``, where ``m`` is the member's index in the whole ensemble. So a shard — members
``[a, b)`` built on their own with ``first_member=a`` — starts exactly as those members of the
full ensemble, and both layouts start from the same weights. Two layouts compute the same thing:

- ``"branches"``: N parallel copies of the network in one Keras model. Best on a CPU,
  where one small network already keeps the cores busy.
- ``"grouped"``: the N networks fused into grouped convolutions and batched matrix
  products, one kernel per layer for all members. Best on a GPU, which one small network
  cannot fill.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..checks import nonnegative_int, nonnegative_number, one_of, positive_int
from .models import c_layers, check_kernel_size, check_sizes, lrn, m_layers
from .precision import check_precision, dtype_policy, precision_scope

STRATEGIES = ("auto", "branches", "grouped")
ARCHITECTURES = ("M", "C")


def _keras():
    import keras

    return keras


def default_strategy() -> str:
    """``"grouped"`` when an accelerator is visible to the Keras backend, else ``"branches"``."""
    return "grouped" if accelerator() else "branches"


def accelerator() -> bool:
    """Whether the active Keras backend sees a GPU (or another accelerator)."""
    backend = _keras().backend.backend()
    try:
        if backend == "jax":
            import jax

            return any(d.platform != "cpu" for d in jax.devices())
        if backend == "tensorflow":
            import tensorflow as tf

            return bool(tf.config.list_physical_devices("GPU"))
        if backend == "torch":
            import torch

            return torch.cuda.is_available()
    except Exception:  # a backend that cannot list its devices has none we can use
        return False
    return False


def check_model_args(
    *, sizes, architecture="M", kernel_size=3, pool=True, weight_decay=0.0
) -> tuple:
    """The one check of a network description; returns ``sizes`` as a tuple of ints."""
    one_of("architecture", architecture, ARCHITECTURES)
    if not isinstance(sizes, (tuple, list)) or len(sizes) != 3:
        raise ValueError(f"sizes must be three layer sizes (X, Y, Z), got {sizes!r}.")
    check_sizes(*sizes)
    check_kernel_size(kernel_size)
    nonnegative_number("weight_decay", weight_decay)
    if architecture == "C" and kernel_size != 3:
        raise ValueError("C(X, Y, Z) networks have 3×3 kernels: leave kernel_size at 3.")
    if architecture == "M" and (not pool or weight_decay):
        raise ValueError("pool and weight_decay apply to architecture='C' only.")
    return tuple(int(s) for s in sizes)


def member_seed(seed: int, member: int, stream: int) -> int:
    """A 31-bit seed for one random stream of one member (0: weights, 1: dropout)."""
    return int(np.random.default_rng([int(seed), int(member), int(stream)]).integers(2**31 - 1))


def glorot_member(shapes, seed: int, member: int) -> list:
    """Initial weights of one member, in plain-layout order: Glorot-uniform kernels (the
    fans of a Keras ``Conv2D``/``Dense`` kernel of that shape), zero biases."""
    rng = np.random.default_rng(member_seed(seed, member, 0))
    out = []
    for shape in shapes:
        if len(shape) == 1:
            out.append(np.zeros(shape, np.float32))
            continue
        receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
        limit = np.sqrt(6.0 / (receptive * (shape[-2] + shape[-1])))
        out.append(rng.uniform(-limit, limit, shape).astype(np.float32))
    return out


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
            self.kernel = self.add_weight(
                shape=(self.n_members, input_shape[-1], self.units),
                name="kernel",
                initializer="zeros",
                regularizer=self.kernel_regularizer,
            )
            self.bias = self.add_weight(
                shape=(self.n_members, self.units), name="bias", initializer="zeros"
            )

        def call(self, x):
            return self.activation(ops.einsum("bni,nio->bno", x, self.kernel) + self.bias)

    class PerMember(keras.layers.Layer):
        """A weightless layer that knows how many members share its channels."""

        def __init__(self, n_members, **kwargs):
            super().__init__(**kwargs)
            self.n_members = n_members

    class MemberFlatten(PerMember):
        """(B, h, w, N·c) member-major channels -> (B, N, h·w·c), each member flattened like
        Flatten."""

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
        """[(B, h, w, N·c), (B, h, w, N·f)] member-major -> (B, h, w, N·(c+f)), member i's c then
        f channels."""

        def __init__(self, n_members, c, f, **kwargs):
            super().__init__(n_members, **kwargs)
            self.c, self.f = c, f

        def call(self, inputs):
            x, a = inputs
            _, h, w, _ = x.shape
            N = self.n_members
            both = ops.concatenate(
                [ops.reshape(x, (-1, h, w, N, self.c)), ops.reshape(a, (-1, h, w, N, self.f))],
                axis=-1,
            )
            return ops.reshape(both, (-1, h, w, N * (self.c + self.f)))

    class MemberDropout(PerMember):
        """Dropout of (B, N, units), each member with its own random stream (its own seed), so
        member i's masks are those a plain ``Dropout(rate, seed=seeds[i])`` layer would draw."""

        def __init__(self, n_members, rate, seeds, **kwargs):
            super().__init__(n_members, **kwargs)
            self.rate = rate
            self.generators = [keras.random.SeedGenerator(int(s)) for s in seeds]

        def call(self, x, training=False):
            if not training:
                return x
            return ops.stack(
                [
                    keras.random.dropout(x[:, i], self.rate, seed=g)
                    for i, g in enumerate(self.generators)
                ],
                axis=1,
            )

    return EnsembleDense, MemberFlatten, MemberLRN, MemberConcat, MemberDropout


# ------------------------------------------------------------------ the ensemble


@dataclass
class EnsembleM:
    """N members of M(X, Y, Z) (or, with ``architecture="C"``, of C(X, Y, Z)) as one Keras model.

    ``model`` maps (B, h, w, N·c) — member i's images in channels [i·c, (i+1)·c) — to
    (B, N, n_classes) class probabilities. ``member_weights(i)`` gives member i's weights in
    the order of a plain ``build_m(X, Y, Z).get_weights()`` (``build_c`` for C). ``pool`` and
    ``weight_decay`` apply to C only (L2 on every conv and FC kernel; summed over members,
    so each member's gradient is its own). ``first_member`` = a makes the members those with
    indices a, a+1, … of a larger ensemble (a shard). ``precision`` is one of
    :data:`~topohelpers.nets.precision.PRECISIONS`.
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
    fixed_conv1: object = (
        None  # (ks, ks, c_in, X) or (N, ks, ks, c_in, X): conv1 frozen to these (bias 0)
    )
    append: object = (
        None  # (a, a, c, F) fixed filters: their responses become F extra input channels
    )
    first_member: int = 0
    precision: str = "float32"
    model: object = field(init=False, repr=False)

    def __post_init__(self):
        keras = _keras()
        self.sizes = check_model_args(
            sizes=self.sizes,
            architecture=self.architecture,
            kernel_size=self.kernel_size,
            pool=self.pool,
            weight_decay=self.weight_decay,
        )
        self.n_members = positive_int("n_members", self.n_members)
        self.first_member = nonnegative_int("first_member", self.first_member)
        one_of("strategy", self.strategy, STRATEGIES)
        check_precision(self.precision)
        if self.strategy == "auto":
            self.strategy = default_strategy()
        X, Y, Z = self.sizes
        is_c = self.architecture == "C"
        h, w, c = self.input_shape
        N = self.n_members
        members = range(self.first_member, self.first_member + N)
        dtype = dtype_policy(self.precision)
        drop_seeds = [member_seed(self.seed, m, 1) for m in members]
        inp = keras.Input((h, w, N * c))
        A = None
        if self.append is not None:
            A = np.asarray(self.append, dtype=np.float32)
            if A.ndim != 4 or A.shape[2] != c or A.shape[0] != A.shape[1] or A.shape[0] % 2 == 0:
                raise ValueError(
                    "append must hold square odd-sized filters of shape "
                    f"(a, a, {c}, F), got {A.shape}."
                )
        if self.strategy == "branches":
            outs = []
            for i in range(N):
                x = inp[..., i * c : (i + 1) * c]
                if A is not None:
                    appended = keras.layers.Conv2D(
                        A.shape[3],
                        A.shape[0],
                        padding="same",
                        use_bias=False,
                        trainable=False,
                        name=f"append_{i}",
                        dtype=dtype,
                    )
                    x = keras.layers.Concatenate(name=f"with_append_{i}", dtype=dtype)(
                        [x, appended(x)]
                    )
                    appended.set_weights([A])
                if is_c:
                    layers = c_layers(
                        X,
                        Y,
                        Z,
                        prefix=f"m{i}_",
                        n_classes=self.n_classes,
                        weight_decay=self.weight_decay,
                        pool=self.pool,
                        dtype=dtype,
                    )
                else:
                    layers = m_layers(
                        X,
                        Y,
                        Z,
                        prefix=f"m{i}_",
                        n_classes=self.n_classes,
                        kernel_size=self.kernel_size,
                        dtype=dtype,
                        dropout_seed=drop_seeds[i],
                    )
                for layer in layers:
                    x = layer(x)
                outs.append(x)
            out = keras.ops.stack(outs, axis=1)
        else:
            EnsembleDense, MemberFlatten, MemberLRN, MemberConcat, MemberDropout = _grouped_layers()
            L = keras.layers
            ks = self.kernel_size
            reg = (
                (lambda: keras.regularizers.L2(self.weight_decay))
                if self.weight_decay
                else (lambda: None)
            )
            x = inp
            if A is not None:
                F = A.shape[3]
                appended = L.Conv2D(
                    N * F,
                    A.shape[0],
                    padding="same",
                    use_bias=False,
                    groups=N,
                    trainable=False,
                    name="append",
                    dtype=dtype,
                )
                x = MemberConcat(N, c, F, name="with_append", dtype=dtype)([inp, appended(inp)])
                appended.set_weights([np.concatenate([A] * N, axis=-1)])
            # conv blocks: M pools 2×2; C pools 3×3/2 then 2×2/1 (unless pool=False), then LRN
            c_pools = [
                dict(pool_size=3, strides=2, padding="same"),
                dict(pool_size=2, strides=1, padding="same"),
            ]
            for j, filters in enumerate([X, Y]):
                if not filters:
                    continue
                x = L.Conv2D(
                    N * filters,
                    ks,
                    padding="same",
                    activation="relu",
                    groups=N,
                    kernel_regularizer=reg(),
                    name=f"conv{j + 1}",
                    dtype=dtype,
                )(x)
                if not is_c:
                    x = L.MaxPooling2D(2, name=f"pool{j + 1}", dtype=dtype)(x)
                    continue
                x = (
                    L.MaxPooling2D(**c_pools[j], name=f"pool{j + 1}", dtype=dtype)(x)
                    if self.pool
                    else x
                )
                x = MemberLRN(N, name=f"lrn{j + 1}", dtype=dtype)(x)
            x = MemberFlatten(N, name="flatten", dtype=dtype)(x)
            if Z:
                x = EnsembleDense(
                    N, Z, activation="relu", kernel_regularizer=reg(), name="fc", dtype=dtype
                )(x)
                if not is_c:
                    x = MemberDropout(N, 0.5, drop_seeds, name="dropout", dtype=dtype)(x)
            out = EnsembleDense(
                N, self.n_classes, activation="softmax", name="readout", dtype="float32"
            )(x)
        arch = f"{self.architecture}_{X}_{Y}_{Z}" + ("" if self.pool else "_nopool")
        self.model = keras.Model(inp, out, name=f"ensemble_{N}x{arch}_{self.strategy}")
        shapes = [w.shape for w in self.member_weights(0)]
        self.set_stacked_weights(
            [np.stack(ws) for ws in zip(*(glorot_member(shapes, self.seed, m) for m in members))]
        )
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
            convs[0].set_weights(
                [np.concatenate(list(K), axis=-1), np.zeros(K.shape[0] * K.shape[-1], np.float32)]
            )
            convs[0].trainable = False

    def _conv1_layers(self):
        if self.strategy == "branches":
            return [self.model.get_layer(f"m{i}_conv1") for i in range(self.n_members)]
        return [self.model.get_layer("conv1")]

    # the per-member view --------------------------------------------------------
    def member_weights(self, i: int) -> list:
        """Member ``i``'s weights (``i`` counted within this model), in the order of
        ``build_m(X, Y, Z).get_weights()``."""
        if not 0 <= i < self.n_members:
            raise ValueError(f"member i={i} is out of range: there are {self.n_members} members.")
        if self.strategy == "branches":
            return [
                np.asarray(w)
                for layer in self.model.layers
                if layer.name.startswith(f"m{i}_")
                for w in layer.get_weights()
            ]
        out = []
        for layer in self.model.layers:
            ws = layer.get_weights()
            if not ws or layer.name == "append":
                continue
            k, b = (np.asarray(w) for w in ws)
            if k.ndim == 4:  # grouped conv: output channels are member-major
                f = k.shape[-1] // self.n_members
                out += [k[..., i * f : (i + 1) * f], b[i * f : (i + 1) * f]]
            else:  # EnsembleDense
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
            if k.ndim == 5:  # (N, 3, 3, c_in, f) -> (3, 3, c_in, N·f)
                layer.set_weights([np.concatenate(list(k), axis=-1), b.reshape(-1)])
            else:
                layer.set_weights([k, b])

    def conv_kernels(self) -> dict:
        """The conv kernels, stacked over members: {"conv1": (N, 3, 3, c_in, X), ...}."""
        stacked = self.stacked_weights()
        kernels = [w for w in stacked if w.ndim == 5]
        return {f"conv{j + 1}": k for j, k in enumerate(kernels)}

    def member_inputs(self, x) -> np.ndarray:
        """The same images for every member: (n, h, w, c) -> (n, h, w, N·c)."""
        return np.concatenate([_with_channels(x, self.input_shape)] * self.n_members, axis=-1)

    def predict(self, x, batch_size: int = 512) -> np.ndarray:
        """Class probabilities of every member on the same images: (n, N, n_classes)."""
        x = _with_channels(x, self.input_shape)
        chunk = 8 * batch_size  # tile N copies of a chunk at a time, not of the whole set
        with precision_scope(self.precision):
            return np.concatenate(
                [
                    np.asarray(
                        self.model.predict(
                            self.member_inputs(x[s : s + chunk]), batch_size=batch_size, verbose=0
                        )
                    )
                    for s in range(0, len(x), chunk)
                ]
            )


def _with_channels(x, input_shape):
    from ..data.images import to_float

    x = to_float(x)
    if tuple(x.shape[1:]) != tuple(input_shape):
        raise ValueError(
            f"images have shape {x.shape[1:]}, the networks expect {tuple(input_shape)}."
        )
    return x


def member_losses(y_true, y_pred):
    """Each member's mean cross-entropy over the batch: y_true (B, N) labels, y_pred (B, N, C)
    probabilities -> (N,), in float32."""
    keras = _keras()
    ops = keras.ops
    ce = keras.losses.sparse_categorical_crossentropy(y_true, ops.cast(y_pred, "float32"))  # (B, N)
    return ops.mean(ce, axis=0)


def member_loss(y_true, y_pred):
    """Σ over members of each member's cross-entropy, per example (a Keras loss for
    ``model.compile``): y_true (B, N) labels, y_pred (B, N, C).

    Keras averages this over the batch, so every member's term is its own mean loss and its
    gradient does not depend on N."""
    keras = _keras()
    ce = keras.losses.sparse_categorical_crossentropy(y_true, y_pred)  # (B, N)
    return keras.ops.sum(ce, axis=-1)
