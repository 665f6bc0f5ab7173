"""The training loop: one for ensembles, single networks and weight recordings.

Steps run in *chunks*: one compiled call runs up to ``chunk`` optimizer steps on the device —
the batch of every member is gathered there from the training set held there, by indices
drawn on the host (:class:`~topohelpers.nets.streams.BatchStreams`: a few kilobytes per
chunk) — and the per-member losses come back once per chunk. Chunk boundaries fall on every
snapshot step, so snapshots and evaluations happen between chunks. JAX runs the chunk as a
``fori_loop`` over ``stateless_call`` + ``optimizer.stateless_apply`` under ``jax.jit`` on an
accelerator (on a CPU one compiled step per call, dispatched asynchronously); TensorFlow as a
``tf.function`` loop (XLA-compiled on a GPU).

Runs with a cache key write an atomic checkpoint — every variable of the model (weights,
dropout streams), of the optimizer, the step, the losses and what was recorded so far — every
``checkpoint_seconds`` and when interrupted (Ctrl-C, a disconnect's ``KeyboardInterrupt``);
the same call later continues from it. A loss that is not finite stops the run with
:class:`TrainingDiverged`; nothing of it is cached.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..cache import cache_dir, config_key, load_arrays, save_arrays
from ..checks import one_of, positive_int
from ..sweeps import progress_bar
from .ensemble import accelerator, member_losses
from .precision import precision_scope

LAYOUTS = ("ensemble", "single")
_HOST_CHUNK_BYTES = 64 * 2**20  # at most this much of prepared batches per chunk on the host path


class TrainingDiverged(ValueError):
    """The loss became NaN or infinite; nothing of the run is cached."""


def _check_weights(model, step):
    """Raise :class:`TrainingDiverged` if a weight is not finite. The loss alone does not tell:
    the cross-entropy clips probabilities, and on some CPUs a NaN activation comes out of ReLU as 0,
    so networks with NaN kernels can report a finite loss of log 10. Checked once, when the run
    ends (NaN is absorbing under gradient steps), not at every snapshot: nothing is cached before
    the end either way."""
    for v in model.trainable_variables:
        w = np.asarray(v.numpy())
        if not np.all(np.isfinite(w)):
            raise TrainingDiverged(
                f"the weights {v.path} became {w[~np.isfinite(w)].flat[0]} by step {step:,}: "
                "lower the learning_rate (or check the data for NaN or infinite pixels); "
                "nothing was cached."
            )


def _ops():
    import keras

    return keras.ops


def _members_view(out, yb, layout):
    """(outputs, labels) as (B, N, C) and (B, N)."""
    ops = _ops()
    if layout == "single":
        return ops.expand_dims(out, 1), ops.expand_dims(yb, 1)
    return out, yb


def _gather(data, inputs, layout):
    """The batch of one step from the training set held on the device: idx (N, B)."""
    ops = _ops()
    x, y = data
    (idx,) = inputs
    if layout == "single":
        return ops.take(x, idx[0], axis=0), ops.take(y, idx[0], axis=0)
    xb = ops.take(x, idx, axis=0)  # (N, B, h, w, c)
    n, b, h, w, c = xb.shape
    xb = ops.reshape(ops.transpose(xb, (1, 2, 3, 0, 4)), (b, h, w, n * c))
    return xb, ops.transpose(ops.take(y, idx, axis=0))  # (B, h, w, N·c), (B, N)


def _given(data, inputs, layout):
    """The batch of one step, prepared on the host."""
    return inputs


class _Runner:
    """Runs chunks of optimizer steps; the model's Keras variables are current after ``sync()``."""

    def __init__(self, model, optimizer, batch, data, layout, chunk, n_members):
        self.model, self.optimizer, self.batch, self.layout = model, optimizer, batch, layout
        self.chunk, self.n_members = chunk, n_members
        self.data = tuple(self._device(d) for d in data)

    def _device(self, a):
        return _ops().convert_to_tensor(a)

    def _loss(self, out, yb, extra):
        ops = _ops()
        out, yb = _members_view(out, yb, self.layout)
        pm = member_losses(yb, out)
        total = ops.sum(pm)
        for loss in extra:
            total = total + ops.cast(loss, "float32")
        return total, pm

    def run(self, inputs, n):
        """Run ``n`` ≤ chunk steps; returns the (≥ n, N) per-member losses (maybe still on the
        device)."""
        raise NotImplementedError

    def sync(self):
        """Make the Keras variables current."""

    def load(self):
        """Take the Keras variables as the state to continue from."""


class _JaxRunner(_Runner):
    def __init__(self, *args):
        super().__init__(*args)
        import jax
        import jax.numpy as jnp

        model, opt, K = self.model, self.optimizer, self.chunk
        self.load()

        def loss_fn(tv, ntv, xb, yb):
            out, ntv, extra = model.stateless_call(tv, ntv, xb, training=True, return_losses=True)
            total, pm = self._loss(out, yb, extra)
            return total, (ntv, pm)

        grad = jax.value_and_grad(loss_fn, has_aux=True)

        def step(state, data, inputs):
            tv, ntv, ov = state
            xb, yb = self.batch(data, inputs, self.layout)
            (_, (ntv, pm)), g = grad(tv, ntv, xb, yb)
            tv, ov = opt.stateless_apply(ov, g, tv)
            return (tv, ntv, ov), pm

        def run(state, data, inputs, n):
            def body(j, carry):
                state, losses = carry
                state, pm = step(state, data, [a[j] for a in inputs])
                return state, losses.at[j].set(pm)

            losses = jnp.full((K, self.n_members), jnp.nan, jnp.float32)
            return jax.lax.fori_loop(0, n, body, (state, losses))

        # XLA:CPU runs the body of a compiled loop about 10× slower than the same step compiled on
        # its own (measured here), so on a CPU each step is one call — still asynchronous, the
        # losses still read once per chunk.
        self._fused = accelerator()
        self._run = jax.jit(run if self._fused else step, donate_argnums=(0,))

    def run(self, inputs, n):
        import jax.numpy as jnp

        if self.state is None:
            self.load()
        if self._fused:
            self.state, losses = self._run(self.state, self.data, tuple(inputs), np.int32(n))
            return losses
        losses = []
        for j in range(n):
            self.state, pm = self._run(self.state, self.data, [a[j] for a in inputs])
            losses.append(pm)
        return jnp.stack(losses)

    def sync(self):
        """Hand the state to the Keras variables (which own it from then on: Keras may donate
        their buffers, so the next chunk starts from a copy)."""
        if self.state is None:
            return
        for var_list, values in zip(self._lists(), self.state):
            for v, value in zip(var_list, values):
                v.assign(value)
        self.state = None

    def load(self):
        import jax.numpy as jnp

        self.state = tuple([jnp.array(v.value, copy=True) for v in vs] for vs in self._lists())

    def _lists(self):
        return (
            self.model.trainable_variables,
            self.model.non_trainable_variables,
            self.optimizer.variables,
        )


class _TfRunner(_Runner):
    def __init__(self, *args):
        super().__init__(*args)
        import tensorflow as tf

        model, opt = self.model, self.optimizer

        def run(data, inputs, n):
            losses = tf.TensorArray(tf.float32, size=n)
            for j in tf.range(n):
                xb, yb = self.batch(data, [a[j] for a in inputs], self.layout)
                with tf.GradientTape() as tape:
                    out = model(xb, training=True)
                    total, pm = self._loss(out, yb, model.losses)
                grads = tape.gradient(total, model.trainable_variables)
                opt.apply(grads, model.trainable_variables)
                losses = losses.write(j, pm)
            return losses.stack()

        self._run = tf.function(run, jit_compile=accelerator(), reduce_retracing=True)

    def run(self, inputs, n):
        import tensorflow as tf

        return self._run(
            self.data, tuple(tf.convert_to_tensor(a) for a in inputs), tf.constant(n, tf.int32)
        )


def _runner(*args) -> _Runner:
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        return _JaxRunner(*args)
    if backend == "tensorflow":
        return _TfRunner(*args)
    raise ValueError(
        f"the training loop runs on the tensorflow and jax Keras backends, not {backend!r}: "
        f"set KERAS_BACKEND=tensorflow or jax before importing keras."
    )


class Checkpoint:
    """The checkpoint file of one run: ``<cache>/<name>-<key>.ckpt.npz``, written atomically."""

    def __init__(self, name: str, config: dict):
        self.path = Path(cache_dir()) / f"{name}-{config_key(config)}.ckpt.npz"

    def save(self, model, optimizer, step, losses, recorded, resumed, seconds):
        arrays = {f"v{j}": np.asarray(v.numpy()) for j, v in enumerate(model.variables)}
        arrays.update({f"o{j}": np.asarray(v.numpy()) for j, v in enumerate(optimizer.variables)})
        arrays.update({f"r:{k}": v for k, v in recorded.items()})
        save_arrays(
            self.path,
            {
                **arrays,
                "step": np.array(step),
                "loss": losses[:step],
                "resumed_at": np.array(resumed),
                "seconds": np.array(seconds),
            },
        )

    def load(self, model, optimizer, losses):
        """Restore the variables; returns (step, recorded arrays, resume steps, seconds so far) or
        None."""
        if not self.path.exists():
            return None
        try:
            arrays = load_arrays(self.path)
        except ValueError:
            self.path.unlink(missing_ok=True)
            return None
        variables = list(model.variables) + list(optimizer.variables)
        stored = [
            arrays[f"{p}{j}"]
            for p, vs in (("v", model.variables), ("o", optimizer.variables))
            for j in range(len(vs))
            if f"{p}{j}" in arrays
        ]
        n_stored = sum(k[0] in "vo" and k[1:].isdigit() for k in arrays)
        if n_stored != len(variables) or any(
            tuple(v.shape) != a.shape for v, a in zip(variables, stored)
        ):
            raise ValueError(
                f"checkpoint {self.path} does not fit this model and optimizer: "
                "delete it to start over."
            )
        for v, a in zip(variables, stored):
            v.assign(a)
        step = int(arrays["step"])
        losses[:step] = arrays["loss"]
        recorded = {k[2:]: v for k, v in arrays.items() if k.startswith("r:")}
        return (
            step,
            recorded,
            [int(s) for s in np.atleast_1d(arrays["resumed_at"])],
            float(arrays["seconds"]),
        )

    def remove(self):
        self.path.unlink(missing_ok=True)


def fit(
    model,
    optimizer,
    data,
    streams,
    *,
    steps: int,
    layout: str,
    snapshots=(),
    record=None,
    transform=None,
    precision: str = "float32",
    chunk: int = 50,
    checkpoint: Checkpoint | None = None,
    checkpoint_seconds: float = 120.0,
    desc: str = "training",
    progress: bool = True,
) -> dict:
    """Train ``model`` (compiled or not: its own loss is not used) with ``optimizer`` for
    ``steps`` steps on ``data`` = (x, y), member batches from ``streams``.

    ``layout`` is ``"ensemble"`` (input channels member-major, output (B, N, C)) or
    ``"single"`` (output (B, C)). ``record(step)`` is called at step 0 (if in ``snapshots``) and
    after each step in ``snapshots``, with the model's variables current, and returns a dict of
    arrays, stored under their names. ``transform(images, rng)`` (images of one member ->
    network input) prepares batches on the host instead, with a generator of (seed, member, step).

    Returns the recorded arrays plus ``loss`` (steps, N) per-member losses, ``resumed_at``
    (the steps it was resumed at) and ``seconds`` (wall time, over all sessions of the run).
    """
    one_of("layout", layout, LAYOUTS)
    steps, chunk = positive_int("steps", steps), positive_int("chunk", chunk)
    start_time = time.perf_counter()
    x, y = data
    n_members = len(streams.members)
    if transform is None:
        batch, held = _gather, (np.asarray(x), np.asarray(y).astype(np.int32))
    else:
        batch, held = _given, ()
        per_step = (
            4
            * streams.batch_size
            * n_members
            * int(np.prod(transform(x[:1], np.random.default_rng(0)).shape))
        )
        chunk = max(1, min(chunk, _HOST_CHUNK_BYTES // per_step))
    losses = np.full((steps, n_members), np.nan, np.float32)
    recorded, resumed, done, earlier = {}, [], 0, 0.0
    with precision_scope(precision):
        if not optimizer.built:  # its variables exist before a checkpoint fills them
            optimizer.build(model.trainable_variables)
        if checkpoint is not None:
            state = checkpoint.load(model, optimizer, losses)
            if state is not None:
                done, recorded, resumed, earlier = state
                resumed = resumed + [done]
        runner = _runner(model, optimizer, batch, held, layout, chunk, n_members)
        record = record or (lambda step: {})
        if done == 0 and 0 in snapshots:
            recorded.update(record(0))
        stops = sorted({s for s in snapshots if done < s <= steps} | {steps})
        bar = (
            progress_bar(
                steps, desc + (f" (resumed at step {done:,})" if resumed else ""), initial=done
            )
            if progress
            else None
        )
        last_save, pending = time.perf_counter(), None

        def collect():
            nonlocal pending
            if pending is None:
                return
            (start, n, out), pending = pending, None
            out = np.asarray(out)[:n]
            if not np.all(np.isfinite(out)):
                bad = start + int(np.argmax(~np.isfinite(out).all(axis=1)))
                raise TrainingDiverged(
                    f"the loss became {out[~np.isfinite(out)][0]} at step {bad + 1:,}: "
                    f"lower the learning_rate (or check the data for NaN); nothing was cached."
                )
            losses[start : start + n] = out
            if bar is not None:
                bar.update(n)
                bar.set_postfix(loss=f"{float(out[-1].mean()):.4f}", refresh=False)

        def save():
            checkpoint.save(
                model,
                optimizer,
                done,
                losses,
                recorded,
                resumed,
                earlier + time.perf_counter() - start_time,
            )

        try:
            while done < steps:
                stop = next(s for s in stops if s > done)
                n = min(chunk, stop - done)
                out = runner.run(_chunk_inputs(streams, done, n, chunk, x, y, transform), n)
                collect()  # the previous chunk, read while this one runs
                pending, done = (done, n, out), done + n
                due = (
                    checkpoint is not None
                    and done < steps
                    and time.perf_counter() - last_save > checkpoint_seconds
                )
                if done == stop or due:
                    collect()
                    runner.sync()
                    if done == steps:  # a NaN weight stays NaN: one look at the end suffices
                        _check_weights(model, done)
                    if done in snapshots:
                        recorded.update(record(done))
                    if due:
                        save()
                        last_save = time.perf_counter()
        except TrainingDiverged:
            if checkpoint is not None:
                checkpoint.remove()
            raise
        except KeyboardInterrupt:
            if checkpoint is not None and done > 0:
                try:  # keep the last finished chunk if the state is consistent
                    collect()
                    runner.sync()
                    if int(np.asarray(optimizer.iterations.numpy())) == done:
                        save()
                except Exception:  # interrupted mid-call: the last periodic checkpoint stands
                    pass
            raise
        finally:
            if bar is not None:
                bar.close()
    return {
        **recorded,
        "loss": losses,
        "resumed_at": np.array(resumed, dtype=np.int64),
        "seconds": np.array(earlier + time.perf_counter() - start_time),
    }


def _chunk_inputs(streams, start, n, chunk, x, y, transform):
    """The per-step inputs of one chunk, padded to ``chunk`` steps (one compiled shape)."""
    idx = streams.indices(start, n)  # (n, N, B)
    if transform is None:
        return (_pad(idx, chunk),)
    xs, ys = [], []
    for j, step_idx in enumerate(idx):
        member_images = [
            transform(x[ix], np.random.default_rng([streams.seed, m, 1, start + j]))
            for ix, m in zip(step_idx, streams.members)
        ]
        xb = np.moveaxis(np.stack(member_images), 0, -2)  # (B, h, w, N, c)
        xs.append(xb.reshape(*xb.shape[:3], -1))
        ys.append(np.asarray(y)[step_idx].T.astype(np.int32))
    return _pad(np.stack(xs), chunk), _pad(np.stack(ys), chunk)


def _pad(a, chunk):
    if len(a) == chunk:
        return a
    return np.concatenate([a, np.zeros((chunk - len(a), *a.shape[1:]), a.dtype)])
