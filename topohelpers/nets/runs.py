"""What a training run leaves: frozen records of weights, snapshots, accuracies and losses.

:class:`TrainedEnsemble` (an ensemble or a shard of one; shards merge with
:func:`merge_shards`), :class:`TrainedNetwork` (one Keras network) and :class:`WeightHistory`
(a network's dense layers at evenly spaced steps).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..clouds.weights import spatial_filters

ENGINE = 2  # in every cache key: runs of the earlier engine (other streams and inits) are retrained


def data_key(data) -> dict:
    """The part of a cache key that names the data: its source (without the note on which
    sources were tried first) and its sizes."""
    return {
        "data": data.source.split(" — ")[0],
        "n_train": len(data.x_train),
        "n_test": len(data.x_test),
    }


def unpack(arrays: dict):
    """Cached arrays -> (weights "w0", "w1", … in order; snapshots {step: {layer: kernel}} from
    "snap<step>_<layer>")."""
    weights = [
        arrays[f"w{j}"] for j in range(sum(k.startswith("w") and k[1:].isdigit() for k in arrays))
    ]
    snaps: dict = {}
    for key, v in arrays.items():
        if key.startswith("snap"):
            step, layer = key[4:].split("_", 1)
            snaps.setdefault(int(step), {})[layer] = v
    return weights, snaps


@dataclass(frozen=True, repr=False)
class TrainedEnsemble:
    """What training leaves: per-member weights, conv-kernel snapshots, test accuracy."""

    config: dict
    weights: list  # plain-layout weights stacked over members, each (N, ...)
    snapshots: dict  # step -> {"conv1": (N, 3, 3, c_in, X), ...}
    test_accuracy: np.ndarray  # (N,)
    loss: np.ndarray  # (steps, N): each member's training loss at each step
    source: str
    seconds: float  # wall time the training took when it ran (not when loaded from the cache)
    extras: dict = field(
        default_factory=dict
    )  # "acc<step>" accuracies, "fixed_conv1", "append" arrays

    @property
    def n_members(self) -> int:
        """Members in this record (a shard holds fewer than the ensemble it belongs to)."""
        return len(self.test_accuracy)

    @property
    def members(self) -> range:
        """The ensemble indices of these members."""
        a, b = self.config["members"]
        return range(a, b)

    def kernels(self, layer: str = "conv1", step: int | None = None) -> np.ndarray:
        """Conv kernels of every member, (N, 3, 3, c_in, c_out), at the end or at a snapshot
        step."""
        if step is None:
            convs = [w for w in self.weights if w.ndim == 5]
            table = {f"conv{j + 1}": k for j, k in enumerate(convs)}
        else:
            if step not in self.snapshots:
                raise ValueError(
                    f"no snapshot at step={step}: snapshots were taken at {sorted(self.snapshots)}."
                )
            table = self.snapshots[step]
        if layer not in table:
            raise ValueError(
                f"layer={layer!r} is not a conv layer of these networks: "
                f"choose from {sorted(table)}."
            )
        return table[layer]

    def filters(
        self,
        layer: str = "conv1",
        step: int | None = None,
        *,
        channel: int | None = None,
        members=None,
    ) -> np.ndarray:
        """Spatial filters pooled over members (all, or the indices in ``members``):
        (n·c_in·c_out, 9), member-major. ``channel`` keeps only the filters reading that input
        channel (0, 1, 2 = R, G, B for a colour first layer)."""
        kernels = self.kernels(layer, step)
        if members is not None:
            kernels = kernels[np.atleast_1d(members)]
        if channel is not None:
            c_in = kernels.shape[3]
            if not 0 <= channel < c_in:
                raise ValueError(
                    f"channel={channel} is out of range: {layer} reads {c_in} input channel(s)."
                )
            kernels = kernels[:, :, :, channel : channel + 1]
        return np.concatenate([spatial_filters(k) for k in kernels])

    def accuracy_curve(self):
        """(steps, accuracies (n_snapshots, N)) recorded with ``eval_snapshots``."""
        steps = sorted(int(k[3:]) for k in self.extras if k.startswith("acc"))
        if not steps:
            raise ValueError(
                "no accuracies were recorded: train with eval_snapshots=<number of test images>."
            )
        return np.array(steps), np.stack([self.extras[f"acc{s}"] for s in steps])

    def ensemble(self, strategy: str = "branches"):
        """The trained members as one :class:`~topohelpers.nets.ensemble.EnsembleM` again
        (fixed and appended filters included)."""
        from .ensemble import EnsembleM

        c = self.config
        ens = EnsembleM(
            tuple(c["sizes"]),
            self.n_members,
            input_shape=tuple(c["input_shape"]),
            strategy=strategy,
            kernel_size=c["kernel_size"],
            architecture=c["architecture"],
            pool=c["pool"],
            weight_decay=c["weight_decay"],
            fixed_conv1=self.extras.get("fixed_conv1"),
            append=self.extras.get("append"),
            precision=c["precision"],
        )
        ens.set_stacked_weights(self.weights)
        return ens

    def accuracy(self, x, y) -> np.ndarray:
        """Every member's accuracy on images ``x`` (already in the networks' input shape) with
        labels ``y``: (N,)."""
        probs = self.ensemble().predict(x)
        return (probs.argmax(-1) == np.asarray(y)[:, None]).mean(axis=0)

    def member_model(self, i: int):
        """A plain Keras M(X, Y, Z) (or C(X, Y, Z)) model carrying member ``i``'s trained weights
        (``i`` counted within this record)."""
        from .models import build_c, build_m

        X, Y, Z = self.config["sizes"]
        shape = tuple(self.config["input_shape"])
        if self.config["architecture"] == "C":
            model = build_c(
                X,
                Y,
                Z,
                input_shape=shape,
                weight_decay=self.config["weight_decay"],
                pool=self.config["pool"],
            )
        else:
            model = build_m(X, Y, Z, input_shape=shape, kernel_size=self.config["kernel_size"])
        model.set_weights([w[i] for w in self.weights])
        return model

    def __repr__(self):
        acc = self.test_accuracy
        c = self.config
        X, Y, Z = c["sizes"]
        ks = c["kernel_size"]
        arch = (
            f"{c['architecture']}({X},{Y},{Z})"
            + ("" if ks == 3 else f" with {ks}×{ks} kernels")
            + ("" if c["pool"] else " without max-pooling")
        )
        a, b = c["members"]
        who = (
            f"{self.n_members}"
            if (a, b) == (0, c["n_members"])
            else f"members {a}–{b - 1} of {c['n_members']}"
        )
        return (
            f"TrainedEnsemble({who} × {arch}, {c['steps']} steps of batch {c['batch_size']} "
            f"in {self.seconds:.0f} s; test accuracy mean {acc.mean():.4f} "
            f"[{acc.min():.4f}, {acc.max():.4f}]; data: {self.source})"
        )


def merge_shards(shards) -> TrainedEnsemble:
    """Shards of one ensemble (``train_ensemble(..., members=(a, b))``), in any order, covering
    members ``[a₀, b)`` without gaps, as one :class:`TrainedEnsemble`."""
    shards = sorted(shards, key=lambda r: r.config["members"][0])
    if not shards:
        raise ValueError("shards is empty: pass the TrainedEnsemble of every shard.")
    same = [{k: v for k, v in r.config.items() if k != "members"} for r in shards]
    for c in same[1:]:
        if c != same[0]:
            diff = sorted(k for k in set(c) | set(same[0]) if c.get(k) != same[0].get(k))
            raise ValueError(f"shards belong to different runs: they differ in {diff}.")
    for left, right in zip(shards, shards[1:]):
        if left.config["members"][1] != right.config["members"][0]:
            raise ValueError(
                f"shards do not meet: members {left.config['members']} "
                f"then {right.config['members']}."
            )
    stack = lambda arrays, axis=0: np.concatenate(arrays, axis=axis)
    first = shards[0]
    config = {
        **first.config,
        "members": [first.config["members"][0], shards[-1].config["members"][1]],
    }
    weights = [stack(ws) for ws in zip(*(r.weights for r in shards))]
    snapshots = {
        s: {layer: stack([r.snapshots[s][layer] for r in shards]) for layer in first.snapshots[s]}
        for s in first.snapshots
    }
    extras = {}
    for k, v in first.extras.items():
        per_member = k.startswith("acc") or (k == "fixed_conv1" and v.ndim == 5)
        extras[k] = stack([r.extras[k] for r in shards]) if per_member else v
    return TrainedEnsemble(
        config,
        weights,
        snapshots,
        stack([r.test_accuracy for r in shards]),
        stack([r.loss for r in shards], axis=1),
        first.source,
        float(sum(r.seconds for r in shards)),
        extras,
    )


@dataclass(frozen=True, repr=False)
class TrainedNetwork:
    """One trained Keras network: its final weights, kernel snapshots and test accuracy."""

    config: dict
    weights: list  # model.get_weights() at the end
    snapshots: dict  # step -> {layer name: kernel}
    test_accuracy: float
    loss: np.ndarray  # (steps,) training loss at each step
    source: str
    seconds: float

    def kernel(self, layer: str = "conv1", step: int | None = None) -> np.ndarray:
        """A layer's kernel at a snapshot step (``None`` = the last snapshot)."""
        step = max(self.snapshots) if step is None else step
        if step not in self.snapshots:
            raise ValueError(
                f"no snapshot at step={step}: snapshots were taken at {sorted(self.snapshots)}."
            )
        if layer not in self.snapshots[step]:
            raise ValueError(
                f"layer={layer!r} was not recorded: choose from {sorted(self.snapshots[step])}."
            )
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
        return (
            f"TrainedNetwork({self.config['name']}, {self.config['steps']} steps of batch "
            f"{self.config['batch_size']} in {self.seconds:.0f} s; "
            f"test accuracy {self.test_accuracy:.4f}; data: {self.source})"
        )


@dataclass(frozen=True, repr=False)
class WeightHistory:
    """Snapshots of a network's dense layers.

    Attributes
    ----------
    steps : (S,) training step of each snapshot (0 = before training).
    epochs : (S,) the same in epochs.
    layers : dict layer name -> (S, n_neurons, n_inputs) incoming weights of each neuron.
    accuracy : (S,) test accuracy.  confusion : (S, C, C) test confusion matrices
    (row = true class, column = predicted class).
    """

    config: dict
    steps: np.ndarray
    epochs: np.ndarray
    layers: dict
    accuracy: np.ndarray
    confusion: np.ndarray
    source: str
    seconds: float

    def _layer(self, layer):
        if layer not in self.layers:
            raise ValueError(f"layer={layer!r} was not recorded: choose from {list(self.layers)}.")
        return self.layers[layer]

    def cloud(self, layer: str):
        """The layer's (snapshots × neurons) point cloud and labels: ``(points, step, neuron)``,
        snapshot-major (all neurons of snapshot 0 first)."""
        W = self._layer(layer)
        S, n, _ = W.shape
        return W.reshape(S * n, -1), np.repeat(self.steps, n), np.tile(np.arange(n), S)

    def norms(self, layer: str) -> np.ndarray:
        """(S, n_neurons) Euclidean norm of each neuron's incoming weights."""
        return np.linalg.norm(self._layer(layer), axis=2)

    def __repr__(self):
        shapes = ", ".join(f"{k} {v.shape[1]}×{v.shape[2]}" for k, v in self.layers.items())
        return (
            f"WeightHistory({self.config['name']}: {len(self.steps)} snapshots "
            f"over {self.steps[-1]:,} steps "
            f"({self.epochs[-1]:.0f} epochs) in {self.seconds:.0f} s; layers {shapes}; "
            f"final test accuracy {self.accuracy[-1]:.4f})"
        )
