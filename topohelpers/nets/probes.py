"""Probes of a trained network through its input gradients: activation maximization (the input a
unit responds to most) and adversarial inputs by projected gradient descent. Gradients come from
whichever Keras backend is active (TensorFlow, JAX or PyTorch), through one helper.

Activation maximization is projected gradient ascent on the input of a Keras model: maximize the
mean activation of ``channels`` of ``layer`` over images with zero mean and unit root-mean-square
contrast. Fixing the contrast keeps the input bounded without an arbitrary penalty weight, and
removing the mean stops a filter from being "maximized" by plain brightness. For a (nearly) linear
first layer the answer is the grating the filters respond to most: stripes across the direction of
the edge.

:func:`pgd` attacks at a given ε (one for all inputs, or one per input) (Madry et al. 2018);
:func:`pgd_minimal` searches, per input, the smallest ε at which PGD fools the network — what
foolbox 1.x's ``ProjectedGradientDescentAttack`` does with its default ``binary_search=True``, the
attack of Gebhart's code.
"""

from __future__ import annotations

import numpy as np

from ..checks import nonnegative_int, positive_int


def _value_and_grad(fn, x):
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = fn(x)
        return float(value), np.asarray(tape.gradient(value, x))
    if backend == "jax":
        import jax

        value, grad = jax.value_and_grad(fn)(x)
        return float(value), np.asarray(grad)
    if backend == "torch":
        import torch

        t = torch.tensor(x, requires_grad=True)
        value = fn(t)
        value.backward()
        return float(value.detach()), t.grad.detach().cpu().numpy()
    raise ValueError(
        f"activation maximization needs the tensorflow, jax or torch backend, not {backend!r}."
    )


def maximize_activation(
    model, layer: str, channels, *, steps: int = 150, learning_rate: float = 0.1, random_state=0
) -> np.ndarray:
    """The zero-mean, unit-contrast input image that maximizes the mean activation of
    ``channels`` of ``layer`` (averaged over the channels and all spatial positions).

    Starts from noise and takes ``steps`` normalized gradient-ascent steps, each followed by
    projection back to zero mean and unit root-mean-square. Returns an array of the model's
    input shape (without the batch axis).
    """
    import keras
    from keras import ops

    names = [m.name for m in model.layers]
    if layer not in names:
        raise ValueError(f"layer={layer!r} is not in the model: choose from {names}.")
    channels = np.atleast_1d(np.asarray(channels, dtype=int))
    out = model.get_layer(layer).output
    if len(channels) == 0 or channels.min() < 0 or channels.max() >= out.shape[-1]:
        raise ValueError(
            f"channels must be indices in [0, {out.shape[-1]}) of layer {layer!r}, "
            f"got {channels.tolist()}."
        )
    probe = keras.Model(model.inputs, out)
    idx = channels.tolist()

    def objective(x):
        return ops.mean(ops.take(probe(x), idx, axis=-1))

    def project(x):
        x = x - x.mean()
        return (x / (np.sqrt(np.mean(x**2)) + 1e-12)).astype("float32")

    shape = (1, *model.inputs[0].shape[1:])
    x = project(np.random.default_rng(random_state).standard_normal(shape))
    for _ in range(steps):
        _, g = _value_and_grad(objective, x)
        x = project(x + learning_rate * g / (np.sqrt(np.mean(g**2)) + 1e-12))
    return x[0]


# --------------------------------------------------------------------------- adversarial inputs


def _per_input(value, n, name):
    arr = np.asarray(value, dtype=np.float32)
    if arr.ndim not in (0, 1) or (arr.ndim == 1 and len(arr) != n):
        raise ValueError(
            f"{name} must be a number or one number per input ({n}), got shape {arr.shape}."
        )
    return np.broadcast_to(arr, (n,)).copy()


def pgd(
    model, x, y, *, eps=0.1, steps: int = 10, step_size=None, clip=(0.0, 1.0), batch_size: int = 256
) -> np.ndarray:
    """L∞ projected gradient ascent on the cross-entropy of the true labels ``y``: each step
    moves every pixel by ``step_size`` (default 2.5·eps/steps) in the sign of the gradient,
    then projects back into the ``eps`` box around ``x`` and the valid range ``clip``.
    ``eps`` and ``step_size`` are numbers or one number per input.
    ``steps=1`` with ``step_size=eps`` is FGSM."""
    from keras import ops

    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} inputs but y has {len(y)} labels.")
    eps = _per_input(eps, len(x), "eps")
    if not np.all(eps > 0):
        raise ValueError(f"eps must be positive, got {eps.min()!r}.")
    positive_int("steps", steps)
    step_size = (
        2.5 * eps / steps if step_size is None else _per_input(step_size, len(x), "step_size")
    )
    box = (-1,) + (1,) * (x.ndim - 1)
    out = np.empty_like(x)
    for start in range(0, len(x), batch_size):
        sl = slice(start, start + batch_size)
        x0, yb = x[sl], y[sl]
        e, s = eps[sl].reshape(box), step_size[sl].reshape(box)
        onehot = np.eye(int(model.outputs[0].shape[-1]), dtype=np.float32)[yb]

        def loss(xa, onehot=onehot):
            p = ops.clip(model(xa), 1e-7, 1.0)
            return -ops.sum(onehot * ops.log(p))

        xa = x0.copy()
        for _ in range(steps):
            _, g = _value_and_grad(loss, xa)
            xa = np.clip(np.clip(xa + s * np.sign(g), x0 - e, x0 + e), *clip).astype(np.float32)
        out[sl] = xa
    return out


def pgd_minimal(
    model,
    x,
    y,
    *,
    eps: float = 0.3,
    steps: int = 40,
    step_ratio: float = 1 / 30,
    grow: float = 1.5,
    max_grow: int = 10,
    rounds: int = 10,
    clip=(0.0, 1.0),
    batch_size: int = 256,
):
    """The smallest-ε PGD adversarial of each input (foolbox 1.x ``ProjectedGradientDescentAttack``
    with ``binary_search=True``: ε starts at ``eps``, grows ×``grow`` until the attack fools
    the network (at most ``max_grow`` times), then ``rounds`` bisections; each try runs
    ``steps`` PGD steps of ``step_ratio``·ε). Inputs the network already gets wrong are
    returned unchanged with ε = 0.

    Returns ``(x_adv, eps, fooled)``: the adversarials (the input itself where none was
    found), the smallest ε that fooled (inf where none), and whether one was found.
    """
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} inputs but y has {len(y)} labels.")
    for name, val in (("eps", eps), ("step_ratio", step_ratio)):
        if not val > 0:
            raise ValueError(f"{name} must be positive, got {val!r}.")
    if not grow > 1:
        raise ValueError(f"grow must be > 1 (the factor ε grows by), got {grow!r}.")
    for name, val in (("max_grow", max_grow), ("rounds", rounds)):
        nonnegative_int(name, val)

    def wrong(xa, idx):
        pred = np.asarray(model.predict(xa, verbose=0, batch_size=batch_size)).argmax(-1)
        return pred != y[idx]

    n = len(x)
    best = x.copy()
    every = np.arange(n)
    found = wrong(x, every) if n else np.zeros(0, bool)
    hi = np.where(found, 0.0, np.inf)  # smallest ε known to fool
    lo = np.zeros(n)  # largest ε known not to
    cur = np.full(n, float(eps))
    for _ in range(max_grow + 1):
        idx = np.flatnonzero(~found)
        if not len(idx):
            break
        adv = pgd(
            model,
            x[idx],
            y[idx],
            eps=cur[idx],
            steps=steps,
            step_size=cur[idx] * step_ratio,
            clip=clip,
            batch_size=batch_size,
        )
        ok = wrong(adv, idx)
        best[idx[ok]], hi[idx[ok]], found[idx[ok]] = adv[ok], cur[idx[ok]], True
        lo[idx[~ok]] = cur[idx[~ok]]
        cur[idx[~ok]] *= grow
    for _ in range(rounds):
        idx = np.flatnonzero(found & (hi > 0))
        if not len(idx):
            break
        mid = (lo[idx] + hi[idx]) / 2
        adv = pgd(
            model,
            x[idx],
            y[idx],
            eps=mid,
            steps=steps,
            step_size=mid * step_ratio,
            clip=clip,
            batch_size=batch_size,
        )
        ok = wrong(adv, idx)
        best[idx[ok]], hi[idx[ok]] = adv[ok], mid[ok]
        lo[idx[~ok]] = mid[~ok]
    return best, hi, found
