"""Activation maximization: the input that a unit (or a group of channels) responds to most.

Projected gradient ascent on the input of a Keras model: maximize the mean activation of
``channels`` of ``layer`` over images with zero mean and unit root-mean-square contrast.
Fixing the contrast keeps the input bounded without an arbitrary penalty weight, and removing
the mean stops a filter from being "maximized" by plain brightness. For a (nearly) linear first
layer the answer is the grating the filters respond to most: stripes across the direction of the
edge. Gradients come from whichever Keras backend is active (TensorFlow, JAX or PyTorch).
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
            f"channels must be indices in [0, {out.shape[-1]}) of layer {layer!r}, got {channels.tolist()}."
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
