"""Adversarial inputs by projected gradient descent (Madry et al. 2018), written with the
Keras backend's gradients so it runs on TensorFlow, JAX or PyTorch."""

from __future__ import annotations

import numpy as np

from .activation import _value_and_grad


def pgd(model, x, y, *, eps: float = 0.1, steps: int = 10, step_size: float | None = None,
        clip=(0.0, 1.0), batch_size: int = 256) -> np.ndarray:
    """L∞ projected gradient ascent on the cross-entropy of the true labels ``y``: each step
    moves every pixel by ``step_size`` (default 2.5·eps/steps) in the sign of the gradient,
    then projects back into the ``eps`` box around ``x`` and the valid range ``clip``.
    ``steps=1`` with ``step_size=eps`` is FGSM."""
    from keras import ops

    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} inputs but y has {len(y)} labels.")
    if not eps > 0:
        raise ValueError(f"eps must be positive, got {eps!r}.")
    step_size = 2.5 * eps / steps if step_size is None else step_size
    out = np.empty_like(x)
    for start in range(0, len(x), batch_size):
        x0, yb = x[start:start + batch_size], y[start:start + batch_size]
        onehot = np.eye(int(model.outputs[0].shape[-1]), dtype=np.float32)[yb]

        def loss(xa):
            p = ops.clip(model(xa), 1e-7, 1.0)
            return -ops.sum(onehot * ops.log(p))

        xa = x0.copy()
        for _ in range(steps):
            _, g = _value_and_grad(loss, xa)
            xa = np.clip(np.clip(xa + step_size * np.sign(g), x0 - eps, x0 + eps), *clip).astype(np.float32)
        out[start:start + batch_size] = xa
    return out
