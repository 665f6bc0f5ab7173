"""Activation maximization: the input that a unit (or a group of channels) responds to most.

Gradient ascent on the input of a Keras model, with an L2 penalty that keeps the input
bounded: maximize mean(activation of ``channels`` of ``layer``) − ``l2``·mean(x²). Gradients
come from whichever Keras backend is active (TensorFlow, JAX or PyTorch).
"""

from __future__ import annotations

import numpy as np


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
    raise ValueError(f"activation maximization needs the tensorflow, jax or torch backend, not {backend!r}.")


def maximize_activation(model, layer: str, channels, *, steps: int = 150, learning_rate: float = 0.05,
                        l2: float = 1.0, random_state=0) -> np.ndarray:
    """The input image that maximizes the mean activation of ``channels`` of ``layer``.

    Starts from small noise and takes ``steps`` normalized gradient-ascent steps; the
    objective is the activation averaged over the channels and all spatial positions, minus
    ``l2`` times the mean squared input. Returns an array of the model's input shape
    (without the batch axis).
    """
    import keras
    from keras import ops

    names = [m.name for m in model.layers]
    if layer not in names:
        raise ValueError(f"layer={layer!r} is not in the model: choose from {names}.")
    channels = np.atleast_1d(np.asarray(channels, dtype=int))
    out = model.get_layer(layer).output
    if len(channels) == 0 or channels.min() < 0 or channels.max() >= out.shape[-1]:
        raise ValueError(f"channels must be indices in [0, {out.shape[-1]}) of layer {layer!r}, got {channels.tolist()}.")
    probe = keras.Model(model.inputs, out)
    idx = channels.tolist()

    def objective(x):
        act = probe(x)
        chosen = ops.take(act, idx, axis=-1)
        return ops.mean(chosen) - l2 * ops.mean(ops.square(x))

    shape = (1, *model.inputs[0].shape[1:])
    x = 0.01 * np.random.default_rng(random_state).standard_normal(shape).astype("float32")
    for _ in range(steps):
        _, g = _value_and_grad(objective, x)
        x = x + learning_rate * g / (np.sqrt(np.mean(g**2)) + 1e-12)
    return x[0]
