"""Numerical precision of training and prediction, made explicit.

- ``"float32"``: float32 storage *and* float32 arithmetic. On NVIDIA GPUs from Ampere on, XLA
  (JAX, TensorFlow with XLA) and cuDNN otherwise compute float32 convolutions and matrix
  products in TF32 (10-bit mantissa); this setting turns that off while the engine runs, so
  results agree with a CPU run to float32 rounding. The default, and what tight tests use.
- ``"tf32"``: float32 storage, the GPU's TF32 matrix units (the frameworks' GPU default).
- ``"mixed_bfloat16"``: float32 weights, bfloat16 arithmetic (Keras's ``mixed_bfloat16``
  policy); the readout's softmax and the loss stay in float32. For accelerators.

On a CPU ``"float32"`` and ``"tf32"`` compute the same thing.
"""

from __future__ import annotations

import contextlib

from ..checks import one_of

PRECISIONS = ("float32", "tf32", "mixed_bfloat16")


def check_precision(precision: str) -> str:
    return one_of("precision", precision, PRECISIONS)


def dtype_policy(precision: str) -> str:
    """The Keras dtype policy of the hidden layers: ``"mixed_bfloat16"`` or ``"float32"``."""
    return "mixed_bfloat16" if check_precision(precision) == "mixed_bfloat16" else "float32"


@contextlib.contextmanager
def precision_scope(precision: str):
    """Within the block, float32 matrix products and convolutions run at ``precision``
    (exact float32 for ``"float32"``, TF32 otherwise) on the active Keras backend."""
    import keras

    exact = check_precision(precision) == "float32"
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        with jax.default_matmul_precision("float32" if exact else "tensorfloat32"):
            yield
    elif backend == "tensorflow":
        import tensorflow as tf

        before = tf.config.experimental.tensor_float_32_execution_enabled()
        tf.config.experimental.enable_tensor_float_32_execution(not exact)
        try:
            yield
        finally:
            tf.config.experimental.enable_tensor_float_32_execution(before)
    elif backend == "torch":
        import torch

        before = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = not exact
        try:
            yield
        finally:
            torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = before
    else:
        yield
