"""The three ways the book trains, all through one loop (:func:`~topohelpers.nets.loop.fit`)
and one vocabulary: a model description, ``steps``, a snapshot schedule, a cache key.

- :func:`train_ensemble`: N independent M(X, Y, Z) / C(X, Y, Z) networks with Adam (or a
  shard of them), conv kernels at the snapshot steps.
- :func:`train_network`: one Keras network from a builder, chosen layers' kernels at the
  snapshot steps.
- :func:`record_training`: one network with plain SGD, its dense layers, test accuracy and
  confusion matrix at evenly spaced steps.

Everything is cached on disk by the full configuration, so rebuilding a chapter never
retrains; an interrupted run resumes from its checkpoint.
"""

from __future__ import annotations

import functools
import hashlib
import os
import uuid

import numpy as np

from ..cache import cached
from ..checks import int_at_least, nonnegative_int, positive_int, positive_number
from ..clouds.weights import dense_vectors
from .ensemble import EnsembleM, check_model_args, default_strategy
from .loop import Checkpoint, fit
from .precision import check_precision, precision_scope
from .runs import ENGINE, TrainedEnsemble, TrainedNetwork, WeightHistory, data_key, unpack
from .streams import BatchStreams


def _keras():
    import keras

    return keras


def _run(config, name, compute, use_cache):
    """``compute(checkpoint)`` through the cache (with a checkpoint, removed once the result
    is cached) or without either."""
    if not use_cache:
        return compute(None)
    checkpoint = Checkpoint(name, config)
    arrays = cached(config, lambda: compute(checkpoint), name=name)
    checkpoint.remove()
    return arrays


def _snapshot_steps(snapshots, steps) -> list:
    try:
        out = sorted({int(s) for s in snapshots})
    except (TypeError, ValueError):
        raise ValueError(f"snapshots must be a list of steps, got {snapshots!r}.") from None
    if out and (out[0] < 0 or out[-1] > steps):
        raise ValueError(f"snapshots must lie in [0, steps={steps}], got {out}.")
    return out


def _check_run(steps, batch_size, learning_rate, n_train):
    steps = positive_int("steps", steps)
    batch_size = positive_int("batch_size", batch_size)
    if batch_size > n_train:
        raise ValueError(
            f"batch_size must be in [1, {n_train}] (the training-set size), got {batch_size}."
        )
    return steps, batch_size, positive_number("learning_rate", learning_rate)


def _as_images(x) -> np.ndarray:
    """float32 images with a channel axis: (n, h, w) grayscale gets one; uint8 is read as 0–255."""
    from ..data.images import to_float

    return to_float(x)


def _array_key(a: np.ndarray) -> str:
    return hashlib.sha256(a.tobytes() + str(a.shape).encode()).hexdigest()[:16]


def train_ensemble(
    data,
    *,
    sizes=(64, 32, 64),
    n_members: int = 100,
    steps: int = 40_000,
    batch_size: int = 128,
    learning_rate: float = 1e-3,
    seed: int = 0,
    snapshots=(),
    strategy: str = "auto",
    kernel_size: int = 3,
    architecture: str = "M",
    pool: bool = True,
    weight_decay=None,
    pipeline=None,
    fixed_conv1=None,
    append=None,
    eval_snapshots: int = 0,
    members=None,
    precision: str = "float32",
    chunk: int = 50,
    checkpoint_seconds: float = 120.0,
    use_cache: bool = True,
    progress: bool = True,
) -> TrainedEnsemble:
    """Train ``n_members`` independent M(X, Y, Z) networks (``architecture="C"``: C(X, Y, Z),
    with ``pool`` and L2 ``weight_decay``, default 0.004) on ``data`` (a
    :class:`~topohelpers.data.Dataset`) with Adam, as one batched model; cached on disk by the
    full configuration.

    ``pipeline`` (an :class:`~topohelpers.data.images.ImagePipeline`) turns each member's batch into
    network input with the member's own random crops and flips, and the test images into
    centre crops. ``snapshots`` lists the iterations after which the conv kernels are saved
    (0 = at initialization); with ``eval_snapshots`` = n > 0 every member's accuracy on the
    first n test images is recorded there too (``TrainedEnsemble.accuracy_curve``).
    ``fixed_conv1`` freezes the first conv layer to the given kernels (zero bias): (k, k,
    c_in, X) for all members or (n_members, k, k, c_in, X) one per member. ``append`` (a, a,
    c, F) fixed filters turn every image into c + F channels: the image and its F filter
    responses.

    ``members=(a, b)`` trains only members a, …, b − 1 of the ensemble — exactly as they are
    in the full run (each member's initial weights, batches and dropout depend on ``seed`` and
    its index alone) — so an ensemble can be trained in shards, anywhere, and joined with
    :func:`~topohelpers.nets.runs.merge_shards`. ``precision`` is ``"float32"`` (exact, the
    default), ``"tf32"`` or ``"mixed_bfloat16"`` (for accelerators). ``chunk`` optimizer steps
    run per compiled call. An interrupted run continues from its last checkpoint (written every
    ``checkpoint_seconds`` and on Ctrl-C) when called again.

    The cache key holds the architecture, sizes, members, steps, batch size, learning rate,
    seed, snapshots, pipeline, fixed or appended filters, precision, data source and size and
    the Keras backend (whose random streams drive dropout), so any change retrains and nothing
    else does. The layout (``strategy``: "branches" on a CPU, "grouped" on an accelerator) and
    ``chunk`` compute the same thing and are not part of it.
    """
    keras = _keras()
    n_members = positive_int("n_members", n_members)
    if weight_decay is None:
        weight_decay = 0.004 if architecture == "C" else 0.0
    sizes = check_model_args(
        sizes=sizes,
        architecture=architecture,
        kernel_size=kernel_size,
        pool=pool,
        weight_decay=weight_decay,
    )
    steps, batch_size, learning_rate = _check_run(
        steps, batch_size, learning_rate, len(data.x_train)
    )
    snapshots = _snapshot_steps(snapshots, steps)
    check_precision(precision)
    strategy = default_strategy() if strategy == "auto" else strategy
    if members is not None and (not isinstance(members, (tuple, list)) or len(members) != 2):
        raise ValueError(
            f"members must be a pair (a, b): members a, …, b − 1 of the ensemble; got {members!r}."
        )
    a, b = (0, n_members) if members is None else members
    a, b = nonnegative_int("members[0]", a), positive_int("members[1]", b)
    if not a < b <= n_members:
        raise ValueError(
            f"members=(a, b) must satisfy 0 <= a < b <= n_members={n_members}, got {members!r}."
        )
    if pipeline is None:
        x_train = _as_images(data.x_train)
        input_shape = tuple(int(s) for s in x_train.shape[1:])
    else:
        x_train = np.asarray(data.x_train)
        input_shape = tuple(int(s) for s in pipeline.output_shape(x_train.shape[1:]))
    config = {
        "engine": ENGINE,
        "architecture": architecture,
        "sizes": list(sizes),
        "kernel_size": int(kernel_size),
        "pool": bool(pool),
        "weight_decay": float(weight_decay),
        "n_members": n_members,
        "members": [a, b],
        "steps": steps,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "seed": int(seed),
        "snapshots": snapshots,
        "precision": precision,
        "backend": keras.backend.backend(),
        **data_key(data),
        "input_shape": list(input_shape),
    }
    if pipeline is not None:
        config["pipeline"] = pipeline.key()
    extra, model_extra = {}, {}
    for key, arr in (("fixed_conv1", fixed_conv1), ("append", append)):
        if arr is not None:
            arr = np.asarray(arr, dtype=np.float32)
            config[key] = _array_key(arr)
            per_member = key == "fixed_conv1" and arr.ndim == 5
            if per_member and arr.shape[0] != n_members:
                raise ValueError(
                    f"fixed_conv1 holds {arr.shape[0]} members' kernels; n_members is {n_members}."
                )
            extra[key] = model_extra[key] = arr[a:b] if per_member else arr
    if eval_snapshots:
        config["eval_snapshots"] = int(
            min(positive_int("eval_snapshots", eval_snapshots), len(data.x_test))
        )

    def compute(checkpoint):
        ens = EnsembleM(
            sizes,
            b - a,
            input_shape=input_shape,
            strategy=strategy,
            seed=seed,
            kernel_size=kernel_size,
            architecture=architecture,
            pool=pool,
            weight_decay=float(weight_decay),
            first_member=a,
            precision=precision,
            **model_extra,
        )
        x_eval = y_eval = None
        if eval_snapshots:
            n_eval = config["eval_snapshots"]
            x_eval = (
                data.x_test[:n_eval] if pipeline is None else pipeline.test(data.x_test[:n_eval])
            )
            y_eval = np.asarray(data.y_test[:n_eval])[:, None]

        def record(step):
            out = {f"snap{step}_{k}": v for k, v in ens.conv_kernels().items()}
            if x_eval is not None:
                out[f"acc{step}"] = (ens.predict(x_eval).argmax(-1) == y_eval).mean(axis=0)
            return out

        streams = BatchStreams(len(x_train), batch_size=batch_size, members=range(a, b), seed=seed)
        desc = f"{b - a} × {architecture}{tuple(sizes)}" + ("" if pool else " without pooling")
        arrays = fit(
            ens.model,
            keras.optimizers.Adam(learning_rate),
            (x_train, data.y_train),
            streams,
            steps=steps,
            layout="ensemble",
            snapshots=snapshots,
            record=record,
            transform=None if pipeline is None else pipeline.train,
            precision=precision,
            chunk=chunk,
            checkpoint=checkpoint,
            checkpoint_seconds=checkpoint_seconds,
            desc=desc,
            progress=progress,
        )
        probs = ens.predict(data.x_test if pipeline is None else pipeline.test(data.x_test))
        arrays["test_accuracy"] = (probs.argmax(-1) == np.asarray(data.y_test)[:, None]).mean(
            axis=0
        )
        arrays.update({f"w{j}": w for j, w in enumerate(ens.stacked_weights())})
        arrays.update(extra)
        return arrays

    arrays = _run(config, "ensemble", compute, use_cache)
    weights, snaps = unpack(arrays)
    extras = {
        k: v
        for k, v in arrays.items()
        if k.startswith("acc") or k in ("fixed_conv1", "append", "resumed_at")
    }
    return TrainedEnsemble(
        config,
        weights,
        snaps,
        arrays["test_accuracy"],
        arrays["loss"],
        data.source,
        float(arrays["seconds"]),
        extras,
    )


def _train_in_worker(parent_cache, token, progress, /, **kwargs):
    """One :func:`train_many` task: train into the parent's cache folder when this worker
    shares it (the parent's ``token`` file is there: same machine or shared storage), else into
    the worker's own and send the arrays back."""
    import contextlib
    from pathlib import Path

    from ..cache import cache_dir, cache_folder, config_key, load_arrays

    shared = (Path(parent_cache) / token).exists()
    with cache_folder(parent_cache) if shared else contextlib.nullcontext():
        run = train_ensemble(progress=progress, **kwargs)
        name = f"ensemble-{config_key(run.config)}.npz"
        if shared:
            return {"file": name}
        return {"file": name, "arrays": load_arrays(cache_dir() / name)}


def train_many(configs, *, n_jobs=None, client=None, **common) -> list:
    """:func:`train_ensemble` for each of ``configs`` (keyword dicts, with ``common`` added to
    each; ``data`` may be in either): a seed study, a grid of architectures.

    Where the runs are trained: each is an ensemble already (its members are trained at once),
    so on a **GPU** or another accelerator the runs are trained one after another in this
    process, the fastest way there. On **CPU cores** they are spread over local processes
    (:func:`topohelpers.sweeps.sweep`), each with its share of the cores: by default one process
    per two cores, as TensorFlow wants two threads (``$TOPO_N_JOBS`` or ``n_jobs`` change it).
    On a **Dask cluster** (``client``, or ``$TOPO_DASK_SCHEDULER``) they go to its workers.
    Workers write the cache as this process would (or send the weights back when they cannot
    reach its folder), and the runs are then read from it: the results are those of
    ``train_ensemble``, cached as usual. A worker with fewer threads may sum in another order,
    so its weights can differ from this process's in the last bits of float32.
    """
    from ..cache import cache_dir, save_arrays
    from ..sweeps import JOBS_ENV, _jobs, dask_client, n_cores, sweep
    from .ensemble import accelerator

    if isinstance(configs, dict):
        raise ValueError("configs must be a list of keyword dicts: wrap one dict in a list.")
    configs = [dict(common, **c) for c in configs]
    for i, c in enumerate(configs):
        if "data" not in c:
            raise ValueError(f"configs[{i}] has no data: pass data= to train_many or in it.")
        if c.get("use_cache") is False:
            raise ValueError("train_many trains through the cache: leave use_cache out.")
    cluster = dask_client(client)
    todo = configs
    if n_jobs is None and cluster is None and not os.environ.get(JOBS_ENV, "").strip():
        n_jobs = max(1, n_cores() // 2)  # a TensorFlow worker wants two threads (ops, and within)
    if cluster is None and (accelerator() or _jobs(n_jobs) == 1 or len(configs) == 1):
        todo = []  # one process: train below, in order
    if todo:
        progress = False  # the workers' bars would interleave: the sweep shows runs finishing
        kwargs = [{k: v for k, v in c.items() if k != "progress"} for c in todo]
        folder = cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        token = (
            folder / f".train-many-{uuid.uuid4().hex}"
        )  # a worker that sees it shares the folder
        token.touch()
        try:
            back = sweep(
                functools.partial(_train_in_worker, str(folder), token.name, progress),
                kwargs,
                n_jobs=n_jobs,
                client=cluster,
                cache=False,
                desc="training runs",
            )
        finally:
            token.unlink(missing_ok=True)
        for out in back:
            if "arrays" in out and not (folder / out["file"]).exists():
                save_arrays(folder / out["file"], out["arrays"])
    return [train_ensemble(**c) for c in configs]


def _optimizer(name, learning_rate):
    keras = _keras()
    if name == "adam":
        return keras.optimizers.Adam(learning_rate)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate)
    raise ValueError(f"optimizer must be 'adam' or 'sgd', got {name!r}.")


def architecture(model) -> list:
    """A model's layers as plain data — class, activation, padding, strides and weight shapes —
    so that two builds that differ in any of these never share a cache entry.

    Examples
    --------
    >>> from topohelpers.nets.models import build_gebhart
    >>> architecture(build_gebhart("CCFF")) == architecture(build_gebhart("CCFF", padding="same"))
    False
    """
    out = []
    for lay in model.layers:
        act = getattr(lay, "activation", None)
        out.append(
            [
                type(lay).__name__,
                getattr(act, "__name__", None),
                getattr(lay, "padding", None),
                list(getattr(lay, "strides", ()) or ()),
                [list(map(int, w.shape)) for w in lay.weights],
            ]
        )
    return out


def train_network(
    build,
    data,
    *,
    name: str,
    steps: int,
    batch_size: int,
    learning_rate: float = 1e-4,
    seed: int = 0,
    snapshots=(),
    layers=("conv1",),
    optimizer: str = "adam",
    precision: str = "float32",
    chunk: int = 50,
    use_cache: bool = True,
    progress: bool = True,
) -> TrainedNetwork:
    """Train one network ``build()`` (an uncompiled Keras model; ``name`` labels it, and its
    :func:`architecture` is part of the cache key) with ``optimizer`` ("adam" or "sgd") on
    ``data``, recording the kernels of ``layers`` after each step in ``snapshots`` (0 =
    initialization; the last step is always recorded). Cached, chunked and resumable like
    :func:`train_ensemble`.
    """
    keras = _keras()
    steps, batch_size, learning_rate = _check_run(
        steps, batch_size, learning_rate, len(data.x_train)
    )
    snapshots = sorted(set(_snapshot_steps(snapshots, steps)) | {steps})
    _optimizer(optimizer, learning_rate)
    check_precision(precision)
    x_train, x_test = _as_images(data.x_train), _as_images(data.x_test)
    config = {
        "engine": ENGINE,
        "name": name,
        "architecture": architecture(build()),
        "steps": steps,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "optimizer": optimizer,
        "seed": int(seed),
        "snapshots": snapshots,
        "layers": list(layers),
        "precision": precision,
        "backend": keras.backend.backend(),
        **data_key(data),
    }

    def compute(checkpoint):
        keras.utils.set_random_seed(seed)
        model = build()
        missing = [lay for lay in layers if lay not in {m.name for m in model.layers}]
        if missing:
            raise ValueError(
                f"layers {missing} are not in the model: it has {[m.name for m in model.layers]}."
            )

        def record(step):
            return {
                f"snap{step}_{lay}": np.asarray(model.get_layer(lay).get_weights()[0])
                for lay in layers
            }

        streams = BatchStreams(len(x_train), batch_size=batch_size, members=[0], seed=seed)
        arrays = fit(
            model,
            _optimizer(optimizer, learning_rate),
            (x_train, data.y_train),
            streams,
            steps=steps,
            layout="single",
            snapshots=snapshots,
            record=record,
            precision=precision,
            chunk=chunk,
            checkpoint=checkpoint,
            desc=name,
            progress=progress,
        )
        with precision_scope(precision):
            pred = np.asarray(model.predict(x_test, batch_size=500, verbose=0)).argmax(-1)
        arrays["test_accuracy"] = np.array(np.mean(pred == np.asarray(data.y_test)))
        arrays["loss"] = arrays["loss"][:, 0]
        arrays.update({f"w{j}": np.asarray(w) for j, w in enumerate(model.get_weights())})
        return arrays

    arrays = _run(config, "network", compute, use_cache)
    weights, snaps = unpack(arrays)
    return TrainedNetwork(
        config,
        weights,
        snaps,
        float(arrays["test_accuracy"]),
        arrays["loss"],
        data.source,
        float(arrays["seconds"]),
    )


def record_training(
    build,
    data,
    *,
    name: str,
    epochs: float,
    batch_size: int,
    learning_rate: float,
    n_snapshots: int = 200,
    seed: int = 0,
    precision: str = "float32",
    chunk: int = 50,
    use_cache: bool = True,
    progress: bool = True,
) -> WeightHistory:
    """Train ``build()`` with plain SGD and record its dense layers at ``n_snapshots`` evenly
    spaced steps (the first before training, the last at the end). ``name`` must identify
    the architecture and initialization; the result is cached by the full configuration.

    Images are flattened when the model takes vectors.
    """
    keras = _keras()
    positive_number("epochs", epochs)
    int_at_least("n_snapshots", n_snapshots, 2)
    n_train = len(data.x_train)
    _, batch_size, learning_rate = _check_run(1, batch_size, learning_rate, n_train)
    per_epoch = n_train // batch_size
    total = max(1, int(round(epochs * per_epoch)))
    check_precision(precision)
    snap_steps = np.unique(np.linspace(0, total, n_snapshots).round().astype(int))
    config = {
        "engine": ENGINE,
        "name": name,
        "epochs": float(epochs),
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "n_snapshots": int(n_snapshots),
        "seed": int(seed),
        "precision": precision,
        "backend": keras.backend.backend(),
        **data_key(data),
    }

    def compute(checkpoint):
        keras.utils.set_random_seed(seed)
        model = build()
        dense = [lay for lay in model.layers if isinstance(lay, keras.layers.Dense)]
        if not dense:
            raise ValueError(f"the model {model.name!r} has no Dense layer to record.")
        x_train = np.asarray(data.x_train, np.float32)
        x_test = np.asarray(data.x_test, np.float32)
        if len(model.inputs[0].shape) == 2:
            x_train, x_test = x_train.reshape(n_train, -1), x_test.reshape(len(x_test), -1)
        n_classes = int(model.outputs[0].shape[-1])
        y_test = np.asarray(data.y_test)

        def record(step):
            with precision_scope(precision):
                pred = np.asarray(model.predict(x_test, batch_size=2000, verbose=0)).argmax(-1)
            cm = np.zeros((n_classes, n_classes), dtype=np.int32)
            np.add.at(cm, (y_test, pred), 1)
            out = {
                f"layer_{lay.name}@{step}": dense_vectors(np.asarray(lay.get_weights()[0]))
                for lay in dense
            }
            return {**out, f"confusion@{step}": cm}

        streams = BatchStreams(n_train, batch_size=batch_size, members=[0], seed=seed)
        arrays = fit(
            model,
            keras.optimizers.SGD(learning_rate),
            (x_train, data.y_train),
            streams,
            steps=total,
            layout="single",
            snapshots=snap_steps.tolist(),
            record=record,
            precision=precision,
            chunk=chunk,
            checkpoint=checkpoint,
            desc=name,
            progress=progress,
        )
        conf = np.stack([arrays.pop(f"confusion@{s}") for s in snap_steps])
        out = {
            f"layer_{lay.name}": np.stack([arrays.pop(f"layer_{lay.name}@{s}") for s in snap_steps])
            for lay in dense
        }
        out.update(
            confusion=conf,
            accuracy=np.trace(conf, axis1=1, axis2=2) / conf[0].sum(),
            seconds=arrays["seconds"],
            loss=arrays["loss"][:, 0],
        )
        return out

    arrays = _run(config, "history", compute, use_cache)
    layers = {k[len("layer_") :]: v for k, v in arrays.items() if k.startswith("layer_")}
    return WeightHistory(
        config,
        snap_steps,
        snap_steps / per_epoch,
        layers,
        arrays["accuracy"],
        arrays["confusion"],
        data.source,
        float(arrays["seconds"]),
    )
