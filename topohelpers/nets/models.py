"""The papers' CNNs in Keras 3 (backend-agnostic: TensorFlow, JAX or PyTorch).

M(X, Y, Z) (Gabrielsson & Carlsson, Table I): conv 3×3×X ReLU → maxpool 2×2 → conv 3×3×Y
ReLU → maxpool 2×2 → FC Z ReLU → dropout 0.5 → 10 softmax; 'same' padding. Y = 0 removes
the second conv block, Z = 0 removes the FC block (and its dropout).

C(X, Y, Z) (Table II, CIFAR): conv 3×3×X ReLU → 3×3 maxpool stride 2 → LRN → conv 3×3×Y
ReLU → 2×2 maxpool stride 1 → LRN → FC Z ReLU → 10 softmax; trained with L2 weight decay.
"""

from __future__ import annotations

import functools

import numpy as np

from ..checks import nonnegative_int, nonnegative_number, positive_number


def _keras():
    import keras

    return keras


def check_sizes(X, Y, Z):
    for name, v in (("X", X), ("Y", Y), ("Z", Z)):
        nonnegative_int(name, v, what=" (0 removes the block)")
    if X < 1:
        raise ValueError("X must be >= 1: every network here has a first conv layer.")


KERNEL_SIZES = (3, 5, 7)


def check_kernel_size(kernel_size):
    if isinstance(kernel_size, bool) or kernel_size not in KERNEL_SIZES:
        raise ValueError(f"kernel_size must be one of {KERNEL_SIZES}, got {kernel_size!r}.")


def m_layers(
    X: int,
    Y: int,
    Z: int,
    *,
    prefix: str = "",
    n_classes: int = 10,
    kernel_size: int = 3,
    dtype=None,
    dropout_seed: int | None = None,
) -> list:
    """The layers of M(X, Y, Z) in order (shared by the single model and the ensemble branches).
    ``kernel_size`` 5 gives the 5×5 variant of the 2017 report's improved model. ``dtype`` is the
    hidden layers' Keras dtype policy (the softmax readout always computes in float32);
    ``dropout_seed`` seeds the dropout layer's own random stream."""
    keras = _keras()
    L = keras.layers
    check_sizes(X, Y, Z)
    check_kernel_size(kernel_size)
    ks, dt = kernel_size, dict(dtype=dtype)
    out = [
        L.Conv2D(X, ks, padding="same", activation="relu", name=f"{prefix}conv1", **dt),
        L.MaxPooling2D(2, name=f"{prefix}pool1", **dt),
    ]
    if Y:
        out += [
            L.Conv2D(Y, ks, padding="same", activation="relu", name=f"{prefix}conv2", **dt),
            L.MaxPooling2D(2, name=f"{prefix}pool2", **dt),
        ]
    out += [L.Flatten(name=f"{prefix}flatten", **dt)]
    if Z:
        out += [
            L.Dense(Z, activation="relu", name=f"{prefix}fc", **dt),
            L.Dropout(0.5, seed=dropout_seed, name=f"{prefix}dropout", **dt),
        ]
    out += [L.Dense(n_classes, activation="softmax", name=f"{prefix}readout", dtype="float32")]
    return out


def build_m(
    X: int,
    Y: int,
    Z: int,
    *,
    input_shape=(28, 28, 1),
    n_classes: int = 10,
    kernel_size: int = 3,
    seed: int | None = None,
):
    """A single M(X, Y, Z) network (uncompiled).

    Examples
    --------
    >>> model = build_m(64, 32, 64)          # doctest: +SKIP
    >>> [w.shape for w in model.get_weights()][:2]   # doctest: +SKIP
    [(3, 3, 1, 64), (64,)]
    """
    keras = _keras()
    if seed is not None:
        keras.utils.set_random_seed(seed)
    layers = m_layers(X, Y, Z, n_classes=n_classes, kernel_size=kernel_size)
    return keras.Sequential([keras.Input(input_shape), *layers], name=f"M_{X}_{Y}_{Z}")


def lrn(x, depth_radius=4, bias=1.0, alpha=0.001 / 9.0, beta=0.75):
    """Local response normalization over the last axis (``keras.ops``; any backend).

    The windowed sum of squares Σ_{|j−c|≤r} x_j² is one product with a band matrix: an
    order of magnitude faster to train than summing shifted slices."""
    from keras import ops

    c = x.shape[-1]
    i = np.arange(c)
    band = (np.abs(i[:, None] - i[None, :]) <= depth_radius).astype("float32")
    total = ops.matmul(ops.square(x), ops.convert_to_tensor(band, dtype=x.dtype))
    return x * ops.exp(-beta * ops.log(bias + alpha * total))


@functools.cache
def _lrn_layer_class():
    keras = _keras()

    @keras.saving.register_keras_serializable(package="topohelpers")
    class LRN(keras.layers.Layer):
        """Local response normalization across channels (AlexNet / TF
        ``local_response_normalization``): x / (bias + alpha · Σ_{|j−c|≤r} x_j²)^beta, defaults
        as TensorFlow's CIFAR-10 tutorial (r = 4, bias = 1, alpha = 0.001/9, beta = 0.75)."""

        def __init__(self, depth_radius=4, bias=1.0, alpha=0.001 / 9.0, beta=0.75, **kwargs):
            super().__init__(**kwargs)
            self.depth_radius, self.bias, self.alpha, self.beta = depth_radius, bias, alpha, beta

        def call(self, x):
            return lrn(x, self.depth_radius, self.bias, self.alpha, self.beta)

        def get_config(self):
            return {
                **super().get_config(),
                "depth_radius": self.depth_radius,
                "bias": self.bias,
                "alpha": self.alpha,
                "beta": self.beta,
            }

    return LRN


def c_layers(
    X: int,
    Y: int,
    Z: int,
    *,
    prefix: str = "",
    n_classes: int = 10,
    weight_decay: float = 0.004,
    pool: bool = True,
    dtype=None,
) -> list:
    """The layers of C(X, Y, Z) in order (shared by the single model and the ensemble branches).
    ``pool=False`` removes the max-pooling layers (the paper's two-circle run, C(48,0,64)*).
    ``dtype`` as for :func:`m_layers`."""
    keras = _keras()
    L = keras.layers
    check_sizes(X, Y, Z)
    nonnegative_number("weight_decay", weight_decay)
    LRN = _lrn_layer_class()
    reg = (lambda: keras.regularizers.L2(weight_decay)) if weight_decay else (lambda: None)
    dt = dict(dtype=dtype)
    out = [
        L.Conv2D(
            X,
            3,
            padding="same",
            activation="relu",
            kernel_regularizer=reg(),
            name=f"{prefix}conv1",
            **dt,
        )
    ]
    if pool:
        out += [L.MaxPooling2D(3, strides=2, padding="same", name=f"{prefix}pool1", **dt)]
    out += [LRN(name=f"{prefix}lrn1", **dt)]
    if Y:
        out += [
            L.Conv2D(
                Y,
                3,
                padding="same",
                activation="relu",
                kernel_regularizer=reg(),
                name=f"{prefix}conv2",
                **dt,
            )
        ]
        if pool:
            out += [L.MaxPooling2D(2, strides=1, padding="same", name=f"{prefix}pool2", **dt)]
        out += [LRN(name=f"{prefix}lrn2", **dt)]
    out += [L.Flatten(name=f"{prefix}flatten", **dt)]
    if Z:
        out += [L.Dense(Z, activation="relu", kernel_regularizer=reg(), name=f"{prefix}fc", **dt)]
    out += [L.Dense(n_classes, activation="softmax", name=f"{prefix}readout", dtype="float32")]
    return out


def build_c(
    X: int,
    Y: int,
    Z: int,
    *,
    input_shape=(24, 24, 3),
    n_classes: int = 10,
    weight_decay: float = 0.004,
    pool: bool = True,
    seed: int | None = None,
):
    """A single C(X, Y, Z) network (uncompiled); L2 weight decay on conv and FC kernels.

    Examples
    --------
    >>> [
    ...     w.shape for w in build_c(8, 0, 4, input_shape=(24, 24, 1)).get_weights()
    ... ][:2]  # doctest: +SKIP
    [(3, 3, 1, 8), (8,)]
    """
    keras = _keras()
    if seed is not None:
        keras.utils.set_random_seed(seed)
    layers = c_layers(X, Y, Z, n_classes=n_classes, weight_decay=weight_decay, pool=pool)
    name = f"C_{X}_{Y}_{Z}" + ("" if pool else "_nopool")
    return keras.Sequential([keras.Input(input_shape), *layers], name=name)


def build_report2017(*, n_classes: int = 10, input_shape=(28, 28, 1), seed: int | None = None):
    """The CNN of Gabrielsson's 2017 report (§4), after TensorFlow's "Deep MNIST" tutorial it
    extends: conv 512 @5×5 ReLU → maxpool 2 → conv 128 @5×5 ReLU → maxpool 2 → FC 1024 ReLU →
    dropout 0.5 → softmax. Kernels start from a truncated normal with standard deviation 0.1
    and biases at 0.1, as in that tutorial (the report writes "variance 0.1")."""
    keras = _keras()
    L = keras.layers
    if seed is not None:
        keras.utils.set_random_seed(seed)
    init = dict(
        kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.1),
        bias_initializer=keras.initializers.Constant(0.1),
    )
    return keras.Sequential(
        [
            keras.Input(input_shape),
            L.Conv2D(512, 5, padding="same", activation="relu", name="conv1", **init),
            L.MaxPooling2D(2, name="pool1"),
            L.Conv2D(128, 5, padding="same", activation="relu", name="conv2", **init),
            L.MaxPooling2D(2, name="pool2"),
            L.Flatten(name="flatten"),
            L.Dense(1024, activation="relu", name="fc", **init),
            L.Dropout(0.5, name="dropout"),
            L.Dense(n_classes, activation="softmax", name="readout", **init),
        ],
        name="report2017",
    )


def build_gebhart(
    kind: str = "CCFF", *, activation: str = "relu", padding: str = "valid", seed: int | None = None
):
    """Gebhart's small networks, without biases: ``"CCFF"`` = conv 3@5×5 → conv 3@3×3 → FC 256 →
    10; ``"CFF"`` = conv 5@5×5 → FC 50 → 10 (softmax readout). ``padding`` is his ``"valid"``
    (no padding: CCFF has 22·22·3 = 1,452 units before the dense layer) or ``"same"``.

    Examples
    --------
    >>> build_gebhart("CCFF").get_layer("flatten").output.shape[-1]
    1452
    """
    keras = _keras()
    L = keras.layers
    if padding not in ("valid", "same"):
        raise ValueError(f"padding must be 'valid' (Gebhart's) or 'same', got {padding!r}.")
    if seed is not None:
        keras.utils.set_random_seed(seed)
    if kind == "CCFF":
        body = [
            L.Conv2D(3, 5, padding=padding, activation=activation, use_bias=False, name="conv1"),
            L.Conv2D(3, 3, padding=padding, activation=activation, use_bias=False, name="conv2"),
            L.Flatten(name="flatten"),
            L.Dense(256, activation=activation, use_bias=False, name="fc"),
        ]
    elif kind == "CFF":
        body = [
            L.Conv2D(5, 5, padding=padding, activation=activation, use_bias=False, name="conv1"),
            L.Flatten(name="flatten"),
            L.Dense(50, activation=activation, use_bias=False, name="fc"),
        ]
    else:
        raise ValueError(f"kind must be 'CCFF' or 'CFF', got {kind!r}.")
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            *body,
            L.Dense(10, activation="softmax", use_bias=False, name="readout"),
        ],
        name=f"{kind}_{activation}",
    )


def build_mlp(
    hidden=(100,),
    *,
    n_inputs: int = 784,
    n_classes: int = 10,
    init: str = "zeros",
    std: float = 1e-6,
    seed: int | None = None,
):
    """Gabella's networks: dense layers without biases, sigmoid inside, softmax out.

    ``init`` is ``"zeros"`` (every weight exactly 0) or ``"normal"`` (N(0, ``std``²)).
    Layers are named ``hidden1``, ``hidden2``, …, ``output``.
    """
    keras = _keras()

    if init == "zeros":
        initializer = keras.initializers.Zeros()
    elif init == "normal":
        initializer = keras.initializers.RandomNormal(stddev=positive_number("std", std), seed=seed)
    else:
        raise ValueError(f"init must be 'zeros' or 'normal', got {init!r}.")
    layers = [keras.Input((n_inputs,))]
    for i, h in enumerate(hidden):
        layers.append(
            keras.layers.Dense(
                h,
                activation="sigmoid",
                use_bias=False,
                kernel_initializer=initializer,
                name=f"hidden{i + 1}",
            )
        )
    layers.append(
        keras.layers.Dense(
            n_classes,
            activation="softmax",
            use_bias=False,
            kernel_initializer=initializer,
            name="output",
        )
    )
    return keras.Sequential(layers, name="mlp_" + "_".join(map(str, hidden)) + f"_{init}")
