"""The papers' own scale, trained once on a GPU and shipped with the book.

An *experiment* is one of the papers' training runs at the paper's sizes (for example
``"mnist-circles"``: §V.A's 100 × M(64,32,64), 40,000 iterations). It is trained in *shards*,
member ranges of the ensemble that each fit in a few minutes of one GPU, by one command::

    python -m topohelpers.shipped train mnist-circles --shard 0/5    # anywhere; resumable
    python -m topohelpers.shipped train mnist-circles --all          # every missing shard
    python -m topohelpers.shipped verify                             # hashes, keys, accuracies
    python -m topohelpers.shipped list                               # what is shipped,
                                                                     # what is missing

Each shard leaves ``artifacts/paper/<experiment>/members-AAA-BBB.npz`` (float32 conv kernels
of every member at the paper's snapshot steps, each member's test accuracy and loss curve, and
the full weights of the shard's first members) and its entry in that folder's ``manifest.json``:
the file's sha256, the run's configuration and key, and where it ran (code commit, backend,
device, precision, wall time). :func:`load_shipped` reads what is there — from the checkout,
else (Colab) from the repository's raw URL — checks every hash, and says which members are
missing; nothing is extrapolated. :func:`verify_shipped` also recomputes each shard's key with
the current code and re-evaluates the full-weight members on the MNIST test set.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .cache import cache_dir, config_key, load_arrays, save_arrays
from .checks import nonnegative_int, positive_int
from .data.base import download as _download

ENV_VAR = "TOPO_ARTIFACTS"
RAW_URL = "https://raw.githubusercontent.com/tda-weights/tda-weights-book/main/artifacts/paper"
FORMAT = 1
LOSS_EVERY = 100  # the shipped loss curve: each member's mean loss over windows of this many steps
ACCURACY_TOLERANCE = (
    0.001  # a shipped member's accuracy, re-evaluated anywhere: within 10 of 10,000 test images
)


_CHECKOUT = Path(__file__).resolve().parents[1]
_CHECKOUT = (
    _CHECKOUT if (_CHECKOUT / "_toc.yml").exists() else None
)  # the book's repository, if installed from it


class ShippedWeightsError(ValueError):
    """A shipped file or manifest entry fails a check (hash, key, accuracy)."""


@dataclass(frozen=True)
class Experiment:
    """One of the papers' ensembles at the paper's sizes: ``train_ensemble`` arguments and
    how it is cut into shards."""

    name: str
    chapter: str
    what: str
    n_members: int
    train: dict  # the remaining train_ensemble arguments (sizes, steps, batch_size, ...)
    n_shards: int
    full_members: int = 2  # members of each shard shipped with all their weights

    @property
    def steps(self) -> int:
        return int(self.train["steps"])

    def shard(self, k: int, n: int | None = None) -> tuple:
        """Members (a, b) of shard ``k`` of ``n`` (default: the experiment's own cut)."""
        n = self.n_shards if n is None else positive_int("n", n)
        k = nonnegative_int("k", k)
        if k >= n or n > self.n_members:
            raise ValueError(
                f"shard k/n = {k}/{n} is out of range: use 0 <= k < n <= {self.n_members}."
            )
        return (k * self.n_members // n, (k + 1) * self.n_members // n)

    def config(self, members, *, precision: str, backend: str, data: dict) -> dict:
        """Everything that decides a shard's numbers; its :func:`~topohelpers.cache.config_key`
        names the shard. ``data`` is :func:`data_identity` of the training set."""
        from .nets.runs import ENGINE

        a, b = (int(m) for m in members)
        return {
            "format": FORMAT,
            "engine": ENGINE,
            "experiment": self.name,
            "n_members": self.n_members,
            "members": [a, b],
            **json.loads(json.dumps(self.train)),
            "precision": precision,
            "backend": backend,
            "data": data,
        }


def _m(name, chapter, what, sizes, n_shards, *, steps=40_000, batch_size=128, kernel_size=3):
    return Experiment(
        name,
        chapter,
        what,
        100,
        {
            "architecture": "M",
            "sizes": list(sizes),
            "kernel_size": kernel_size,
            "steps": steps,
            "batch_size": batch_size,
            "learning_rate": 1e-3,
            "seed": 0,
            "snapshots": [0, steps],
        },
        n_shards,
    )


EXPERIMENTS = {
    e.name: e
    for e in (
        _m(
            "mnist-circles",
            "02_mnist_circles",
            "§V.A, Figure 2: 100 × M(64,32,64) on MNIST, 40,000 iterations of "
            "batch 128, kernels at initialization and at the end",
            (64, 32, 64),
            5,
        ),
        *(
            _m(
                f"mnist-circles-M{x}-{y}-{z}",
                "02_mnist_circles",
                f"§V.A robustness: 100 × M({x},{y},{z}) on MNIST, 40,000 iterations of batch 128",
                (x, y, z),
                n,
            )
            for (x, y, z), n in (
                ((64, 0, 64), 5),
                ((64, 8, 512), 5),
                ((64, 16, 512), 5),
                ((256, 32, 512), 10),
            )
        ),
        _m(
            "report2017-improved",
            "03_report2017",
            "§7 of the 2017 report: the improved model, 100 × M(64,8,512) "
            "with 5×5 kernels on MNIST, 10,000 iterations of batch 100",
            (64, 8, 512),
            2,
            steps=10_000,
            batch_size=100,
            kernel_size=5,
        ),
    )
}
"""The experiments this module trains and ships, by name."""


def experiment(name: str) -> Experiment:
    if name not in EXPERIMENTS:
        raise ValueError(f"experiment={name!r} is not known: choose from {', '.join(EXPERIMENTS)}.")
    return EXPERIMENTS[name]


def artifacts_dir() -> Path:
    """``$TOPO_ARTIFACTS``, else ``artifacts/paper`` of the checkout this package lives in,
    else ``artifacts/paper`` in the data cache (where :func:`load_shipped` downloads to)."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    return _CHECKOUT / "artifacts" / "paper" if _CHECKOUT else cache_dir() / "artifacts" / "paper"


def data_identity(data) -> dict:
    """What the key says of the training data: its name, sizes and a hash of its labels (the
    official MNIST split has one), never where on disk it was found."""
    h = hashlib.sha256(
        np.asarray(data.y_train, np.int64).tobytes() + np.asarray(data.y_test, np.int64).tobytes()
    )
    name = data.source.split(" (")[0].split(" — ")[0]
    return {
        "name": name,
        "n_train": len(data.x_train),
        "n_test": len(data.x_test),
        "labels": h.hexdigest()[:16],
    }


def sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def shard_name(members) -> str:
    a, b = members
    return f"members-{a:03d}-{b:03d}.npz"


def _manifest_path(root, name) -> Path:
    return Path(root) / name / "manifest.json"


def read_manifest(name: str, root=None) -> dict:
    """The manifest of one experiment (``{"experiment": ..., "shards": {file: entry}}``); empty if
    none."""
    path = _manifest_path(artifacts_dir() if root is None else root, name)
    if not path.exists():
        return {"experiment": name, "format": FORMAT, "shards": {}}
    return json.loads(path.read_text())


def _write_manifest(root, name, manifest) -> Path:
    path = _manifest_path(root, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return path


def _commit() -> str:
    """The code's commit (``$TOPO_COMMIT`` where the copy has no git, as on a device machine)."""
    if os.environ.get("TOPO_COMMIT"):
        return os.environ["TOPO_COMMIT"]
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            cwd=Path(__file__).resolve().parent,
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            cwd=Path(__file__).resolve().parent,
        ).stdout.strip()
        return (
            out.stdout.strip() + ("+changes" if dirty else "") if out.returncode == 0 else "unknown"
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _device() -> str:
    import keras

    backend = keras.backend.backend()
    try:
        if backend == "jax":
            import jax

            d = jax.devices()[0]
            return f"{d.platform}: {getattr(d, 'device_kind', d)}"
        if backend == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            if gpus:
                return "gpu: " + tf.config.experimental.get_device_details(gpus[0]).get(
                    "device_name", "GPU"
                )
    except Exception:  # a description only: never fail a finished run for it
        pass
    return f"cpu: {platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def _loss_curve(loss: np.ndarray, every: int = LOSS_EVERY) -> np.ndarray:
    """(steps, N) -> (steps // every, N): mean over consecutive windows (a partial last window
    dropped)."""
    n = len(loss) // every
    return (
        loss[: n * every].reshape(n, every, -1).mean(axis=1).astype(np.float32) if n else loss[:0]
    )


def train_shard(
    name: str,
    *,
    shard=None,
    members=None,
    precision: str = "float32",
    root=None,
    data=None,
    progress: bool = True,
) -> Path:
    """Train one shard of experiment ``name`` and write its artifact and manifest entry.

    ``shard=(k, n)`` (or ``"k/n"``) or ``members=(a, b)`` choose the members. Training goes
    through :func:`~topohelpers.nets.training.train_ensemble`, so it is cached and resumes from
    its checkpoint when interrupted; a shard already in the manifest is left as it is.
    """
    from .data import load_mnist
    from .nets.training import train_ensemble

    exp = experiment(name)
    if (shard is None) == (members is None):
        raise ValueError("give exactly one of shard=(k, n) (or 'k/n') and members=(a, b).")
    if shard is not None:
        k, n = (int(s) for s in shard.split("/")) if isinstance(shard, str) else shard
        members = exp.shard(k, n)
    a, b = (int(m) for m in members)
    if not 0 <= a < b <= exp.n_members:
        raise ValueError(
            f"members=(a, b) must satisfy 0 <= a < b <= {exp.n_members}, got {members!r}."
        )
    root = artifacts_dir() if root is None else Path(root)
    manifest = read_manifest(name, root)
    file = shard_name((a, b))
    if file in manifest["shards"] and (root / name / file).exists():
        print(f"{name} {file}: already shipped; delete its manifest entry to retrain.")
        return root / name / file
    overlap = [
        f for f, e in manifest["shards"].items() if e["members"][0] < b and a < e["members"][1]
    ]
    if overlap:
        raise ValueError(
            f"members {a}–{b - 1} overlap the shipped {overlap}: train only what is missing "
            f"(python -m topohelpers.shipped list says which commands)."
        )

    import keras

    data = load_mnist() if data is None else data
    config = exp.config(
        (a, b), precision=precision, backend=keras.backend.backend(), data=data_identity(data)
    )
    started = time.time()
    run = train_ensemble(data, progress=progress, **_shard_run(exp, (a, b), precision))
    full = list(range(min(exp.full_members, b - a)))
    arrays = {
        f"snap{step}_{layer}": kern.astype(np.float32)
        for step, layers in run.snapshots.items()
        for layer, kern in layers.items()
    }
    arrays.update(
        {
            "test_accuracy": run.test_accuracy.astype(np.float64),
            "loss": _loss_curve(run.loss),
            "full_members": np.array([a + i for i in full], np.int64),
        }
    )
    arrays.update({f"w{j}": w[full].astype(np.float32) for j, w in enumerate(run.weights)})
    path = save_arrays(root / name / file, arrays)

    manifest["shards"][file] = {
        "sha256": sha256(path),
        "bytes": path.stat().st_size,
        "members": [a, b],
        "key": config_key(config),
        "config": config,
        "test_accuracy": [round(float(x), 6) for x in run.test_accuracy],
        "provenance": {
            "commit": _commit(),
            "backend": keras.backend.backend(),
            "keras": keras.__version__,
            "device": _device(),
            "precision": precision,
            "training_seconds": round(run.seconds, 1),
            "wall_seconds": round(time.time() - started, 1),
            "data_source": data.source,
            "python": platform.python_version(),
            "numpy": np.__version__,
            "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
    }
    _write_manifest(root, name, manifest)
    print(
        f"{name} {file}: {b - a} members, mean test accuracy {run.test_accuracy.mean():.4f}, "
        f"{run.seconds:.0f} s of training; written to {path}"
    )
    return path


def _shard_run(exp, members, precision) -> dict:
    """The keyword arguments of :func:`~topohelpers.nets.training.train_ensemble` for one shard."""
    a, b = members
    return dict(
        n_members=exp.n_members,
        members=(a, b),
        precision=precision,
        **{k: (tuple(v) if k == "sizes" else v) for k, v in exp.train.items()},
    )


def train_shards(
    name: str,
    *,
    shards=None,
    precision: str = "float32",
    root=None,
    data=None,
    n_jobs=None,
    client=None,
) -> list:
    """Train several shards of experiment ``name``, one task each, then ship them.

    ``shards`` lists ``(k, n)`` pairs (or ``"k/n"``); by default every shard of the experiment's
    own cut that is not shipped yet. The training goes through
    :func:`~topohelpers.nets.training.train_many`: one process on a GPU (the ensemble engine
    already trains a shard's members at once), local processes on CPU cores, or the workers of
    a Dask cluster (``client`` or ``$TOPO_DASK_SCHEDULER``); then each shard is shipped here, in
    turn, by :func:`train_shard` from the cache. Returns the artifacts' paths.
    """
    from .data import load_mnist
    from .nets.training import train_many

    exp = experiment(name)
    manifest = read_manifest(name, root)
    shipped = [tuple(e["members"]) for e in manifest["shards"].values()]
    if shards is None:
        cut = [exp.shard(k) for k in range(exp.n_shards)]
        members = [m for m in cut if not any(a < m[1] and m[0] < b for a, b in shipped)]
    else:
        members = []
        for sh in shards:
            k, n = (int(x) for x in sh.split("/")) if isinstance(sh, str) else sh
            members.append(exp.shard(k, n))
    if not members:
        print(f"{name}: every shard is shipped.")
        return []
    data = load_mnist() if data is None else data
    train_many(
        [_shard_run(exp, m, precision) for m in members], data=data, n_jobs=n_jobs, client=client
    )
    return [
        train_shard(name, members=m, precision=precision, root=root, data=data, progress=False)
        for m in members
    ]


def add_shards(folder, *, root=None) -> list:
    """Ship the shards that another machine wrote to ``folder`` (its ``manifest.json`` and
    ``.npz`` files, e.g. a device machine's ``$OUT/<experiment>``): each file is checked
    against that manifest's sha256, copied into ``root`` and its entry merged into the
    experiment's manifest there. Returns the files added."""
    import shutil

    folder = Path(folder)
    incoming = json.loads((folder / "manifest.json").read_text())
    name = incoming["experiment"]
    experiment(name)
    root = artifacts_dir() if root is None else Path(root)
    manifest = read_manifest(name, root)
    added = []
    for file, entry in sorted(incoming["shards"].items()):
        if sha256(folder / file) != entry["sha256"]:
            raise ShippedWeightsError(
                f"{folder / file} does not match its manifest's sha256: copy it again."
            )
        a, b = entry["members"]
        overlap = [
            f
            for f, e in manifest["shards"].items()
            if f != file and e["members"][0] < b and a < e["members"][1]
        ]
        if overlap:
            raise ShippedWeightsError(
                f"{file} (members {a}–{b - 1}) overlaps the shipped {overlap}."
            )
        (root / name).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(folder / file, root / name / file)
        manifest["shards"][file] = entry
        added.append(file)
    _write_manifest(root, name, manifest)
    return added


@dataclass(frozen=True, repr=False)
class ShippedRun:
    """The shipped shards of one experiment, joined: kernels at the snapshot steps, test
    accuracies and loss curves of the members present, and which members are missing."""

    experiment: Experiment
    members: np.ndarray  # ensemble indices present, ascending
    snapshots: dict  # step -> {layer: (n, k, k, c_in, c_out)}
    test_accuracy: np.ndarray
    loss: np.ndarray  # (steps // LOSS_EVERY, n)
    shards: dict  # file -> manifest entry
    full: dict = field(default_factory=dict)  # ensemble index -> list of that member's weights

    @property
    def n_members(self) -> int:
        return len(self.members)

    @property
    def missing(self) -> list:
        """Member ranges (a, b) of the experiment that no shipped shard holds."""
        have = np.zeros(self.experiment.n_members, bool)
        have[self.members] = True
        out, a = [], None
        for i, h in enumerate([*have, True]):
            if not h and a is None:
                a = i
            elif h and a is not None:
                out.append((a, i))
                a = None
        return out

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def data(self) -> list:
        """The training data of the shipped shards, as :func:`data_identity` gives it (one entry
        per kind)."""
        out = []
        for e in self.shards.values():
            if e["config"]["data"] not in out:
                out.append(e["config"]["data"])
        return out

    @property
    def source(self) -> str:
        """Where the shipped shards were trained, for a report card's source column."""
        seen = sorted(
            {
                (
                    p["provenance"]["device"],
                    p["provenance"]["backend"],
                    p["provenance"]["precision"],
                )
                for p in self.shards.values()
            }
        )
        return (
            "; ".join(f"trained on {d} ({b}, {p})" for d, b, p in seen)
            + f"; {self.n_members} of {self.experiment.n_members} networks shipped"
        )

    def filters(
        self, layer: str = "conv1", step: int | None = None, *, n_members: int | None = None
    ) -> np.ndarray:
        """Spatial filters of every shipped member, (n·c_in·c_out, k·k), member-major, at
        ``step`` (default: the last snapshot); with ``n_members``, of the first that many
        shipped members only (a smaller profile's share)."""
        from .clouds.weights import spatial_filters

        if n_members is not None and positive_int("n_members", n_members) > self.n_members:
            raise ValueError(
                f"n_members={n_members} is more than the {self.n_members} shipped members."
            )

        step = max(self.snapshots) if step is None else step
        if step not in self.snapshots:
            raise ValueError(
                f"no snapshot at step={step}: the shipped ones are {sorted(self.snapshots)}."
            )
        if layer not in self.snapshots[step]:
            raise ValueError(
                f"layer={layer!r} was not shipped: choose from {sorted(self.snapshots[step])}."
            )
        kernels = self.snapshots[step][layer][:n_members]
        return np.concatenate([spatial_filters(k) for k in kernels])

    def member_model(self, i: int):
        """Member ``i`` (an ensemble index among ``full``) as a plain Keras model with its shipped
        weights."""
        from .nets.models import build_m

        if i not in self.full:
            raise ValueError(
                f"member {i} was not shipped with all its weights: choose from {sorted(self.full)}."
            )
        X, Y, Z = self.experiment.train["sizes"]
        model = build_m(X, Y, Z, kernel_size=self.experiment.train["kernel_size"])
        model.set_weights(self.full[i])
        return model

    def how_to_finish(self) -> str:
        """The commands that would train the missing members."""
        e = self.experiment
        lines = []
        for a, b in self.missing:
            while a < b:  # the experiment's own shards where they fit, member ranges for the rest
                k = next(
                    (k for k in range(e.n_shards) if e.shard(k)[0] == a and e.shard(k)[1] <= b),
                    None,
                )
                end = (
                    e.shard(k)[1]
                    if k is not None
                    else min(
                        [b, *(e.shard(j)[0] for j in range(e.n_shards) if a < e.shard(j)[0] < b)]
                    )
                )
                lines.append(
                    f"python -m topohelpers.shipped train {e.name} "
                    + (f"--shard {k}/{e.n_shards}" if k is not None else f"--members {a}:{end}")
                )
                a = end
        return "\n".join(lines)

    def not_run(self):
        """A report card's :class:`~topohelpers.reportcard.NotRun` for a run with nothing shipped:
        the reason names the commands that would train it."""
        from .reportcard import NotRun

        e = self.experiment
        if self.n_members == 0:
            return NotRun(
                f"{e.name} is not shipped yet: train it with python -m topohelpers.shipped train "
                f"{e.name} --shard k/{e.n_shards} for k = 0, …, {e.n_shards - 1}"
            )
        return NotRun(
            f"{e.name} is shipped in part; train the rest with: "
            + "; ".join(self.how_to_finish().splitlines())
        )

    def __repr__(self):
        acc = self.test_accuracy
        missing = ", ".join(f"{a}–{b - 1}" for a, b in self.missing) or "none"
        stats = (
            f"test accuracy mean {acc.mean():.4f} [{acc.min():.4f}, {acc.max():.4f}]"
            if len(acc)
            else "no members"
        )
        return (
            f"ShippedRun({self.experiment.name}: {self.n_members} of "
            f"{self.experiment.n_members} networks, "
            f"{self.experiment.steps:,} steps; {stats}; missing members: {missing})"
        )


def _fetch(name, file, root, expected_sha):
    """A shipped file from the checkout, else from the repository's raw URL into ``root``;
    hash-checked."""
    path = Path(root) / name / file
    if not path.exists():
        _download(f"{RAW_URL}/{name}/{file}", path, timeout=60)
    got = sha256(path)
    if got != expected_sha:
        raise ShippedWeightsError(
            f"{path} has sha256 {got[:12]}…, the manifest says {expected_sha[:12]}…: "
            "the file is damaged or stale; delete it (and fetch or retrain that shard)."
        )
    return path


def load_shipped(name: str, *, root=None, download: bool = True) -> ShippedRun:
    """The shipped shards of experiment ``name``, every file checked against the manifest's
    sha256. Without a local manifest (Colab installs the package without the artifacts)
    manifest and files are fetched from the repository (``download``), except into the
    book's own checkout, whose ``artifacts/paper`` is what is shipped. A run with no shard
    has no members: its ``missing`` and :meth:`ShippedRun.how_to_finish` say what to train."""
    exp = experiment(name)
    root = artifacts_dir() if root is None else Path(root)
    path = _manifest_path(root, name)
    in_checkout = _CHECKOUT is not None and Path(root).resolve().is_relative_to(_CHECKOUT)
    if (
        not path.exists() and download and not in_checkout
    ):  # the checkout is the source: nothing to fetch
        try:
            _download(f"{RAW_URL}/{name}/manifest.json", path, timeout=30)
        except OSError as err:
            print(
                f"load_shipped: no manifest of {name!r} in {root} and none downloaded "
                f"({type(err).__name__})."
            )
    manifest = read_manifest(name, root)
    shards = dict(sorted(manifest["shards"].items(), key=lambda kv: kv[1]["members"][0]))
    parts = [load_arrays(_fetch(name, f, root, e["sha256"])) for f, e in shards.items()]
    members = np.concatenate(
        [np.arange(*e["members"]) for e in shards.values()] or [np.zeros(0, int)]
    )
    if len(np.unique(members)) != len(members):
        raise ShippedWeightsError(
            f"the shards of {name!r} overlap: {[e['members'] for e in shards.values()]}."
        )
    from .nets.runs import unpack

    unpacked = [
        unpack(arrays) for arrays in parts
    ]  # (full members' weights, {step: {layer: kernels}})
    snapshots = (
        {
            step: {
                layer: np.concatenate([snaps[step][layer] for _, snaps in unpacked])
                for layer in table
            }
            for step, table in sorted(unpacked[0][1].items())
        }
        if parts
        else {}
    )
    full = {
        int(i): [w[r] for w in weights]
        for arrays, (weights, _) in zip(parts, unpacked)
        for r, i in enumerate(arrays["full_members"])
    }
    cat = lambda key, axis=0: (
        np.concatenate([p[key] for p in parts], axis=axis) if parts else np.zeros((0,) * (axis + 1))
    )
    return ShippedRun(
        exp, members, snapshots, cat("test_accuracy"), cat("loss", axis=1), shards, full
    )


def verify_shipped(name: str, *, root=None, data=None, check_accuracy: bool = True) -> list:
    """Check experiment ``name``'s shipped shards and return one line per check passed;
    raise :class:`ShippedWeightsError` at the first that fails:

    - every file's sha256 is the manifest's (:func:`load_shipped`);
    - every shard's key is the one the current code gives its configuration (an experiment
      or engine changed since it was trained makes it stale);
    - every full-weight member, evaluated here on the MNIST test set, reaches its recorded
      test accuracy within :data:`ACCURACY_TOLERANCE`.
    """
    run = load_shipped(name, root=root, download=False)
    lines = [f"{name}: {len(run.shards)} shard(s), sha256 of every file as in the manifest"]
    for file, entry in run.shards.items():
        c = entry["config"]
        expected = run.experiment.config(
            c["members"], precision=c["precision"], backend=c["backend"], data=c["data"]
        )
        if config_key(expected) != entry["key"] or expected != c:
            diff = sorted(k for k in set(expected) | set(c) if expected.get(k) != c.get(k))
            raise ShippedWeightsError(
                f"{name}/{file} was trained with another configuration than the current "
                f"code's (differs in {diff or 'the package version'}): retrain it with "
                f"python -m topohelpers.shipped train {name} --members "
                f"{c['members'][0]}:{c['members'][1]}"
            )
        lines.append(f"{file}: key {entry['key']} is the current code's")
    if check_accuracy and run.full:
        from .data import load_mnist

        data = load_mnist(verbose=False) if data is None else data
        for entry in run.shards.values():
            if entry["config"]["data"] != data_identity(data):
                raise ShippedWeightsError(
                    f"the shards of {name!r} were trained on {entry['config']['data']}, "
                    f"the test set here is {data_identity(data)}: load the official MNIST."
                )
        x = np.asarray(data.x_test, np.float32)[..., None]
        for i in sorted(run.full):
            recorded = float(run.test_accuracy[np.searchsorted(run.members, i)])
            probs = np.asarray(run.member_model(i).predict(x, batch_size=1000, verbose=0))
            here = float(np.mean(probs.argmax(-1) == np.asarray(data.y_test)))
            if abs(here - recorded) > ACCURACY_TOLERANCE:
                raise ShippedWeightsError(
                    f"{name}: member {i} reaches test accuracy {here:.4f} here, "
                    f"{recorded:.4f} was recorded: its shipped weights are not the ones "
                    "trained."
                )
            lines.append(f"member {i}: test accuracy {here:.4f} here, {recorded:.4f} recorded")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m topohelpers.shipped", description=__doc__.split("\n\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train one shard of an experiment and ship it")
    t.add_argument("experiment", choices=sorted(EXPERIMENTS))
    who = t.add_mutually_exclusive_group(required=True)
    who.add_argument("--shard", help="k/n: shard k of n (e.g. 0/5)")
    who.add_argument("--members", help="a:b: members a, …, b − 1")
    who.add_argument(
        "--all",
        action="store_true",
        help="every shard not shipped yet, one task each (local processes, a GPU in turn, or "
        "the Dask cluster at $TOPO_DASK_SCHEDULER)",
    )
    t.add_argument(
        "--precision", default="float32", help="float32 (default), tf32 or mixed_bfloat16"
    )
    t.add_argument(
        "--root", default=None, help="artifacts folder (default: artifacts/paper of the checkout)"
    )
    v = sub.add_parser("verify", help="check hashes, keys and the full-weight members' accuracies")
    v.add_argument("experiments", nargs="*", default=None)
    v.add_argument("--root", default=None)
    ad = sub.add_parser(
        "add", help="ship shards another machine wrote (folders holding manifest.json)"
    )
    ad.add_argument("folders", nargs="+")
    ad.add_argument("--root", default=None)
    ls = sub.add_parser("list", help="experiments, shipped members and what is missing")
    ls.add_argument("--root", default=None)
    args = parser.parse_args(argv)
    if args.command == "train" and args.all:
        train_shards(args.experiment, precision=args.precision, root=args.root)
    elif args.command == "train":
        members = None
        if args.members:
            members = tuple(int(m) for m in args.members.split(":"))
        train_shard(
            args.experiment,
            shard=args.shard,
            members=members,
            precision=args.precision,
            root=args.root,
        )
    elif args.command == "verify":
        names = args.experiments or [
            n for n in EXPERIMENTS if read_manifest(n, args.root)["shards"]
        ]
        for n in names:
            print("\n".join(verify_shipped(n, root=args.root)))
    elif args.command == "add":
        for folder in args.folders:
            print(f"{folder}: added {', '.join(add_shards(folder, root=args.root)) or 'nothing'}")
    else:
        for n, e in EXPERIMENTS.items():
            run = load_shipped(n, root=args.root, download=False)
            print(f"{n} ({e.chapter}): {e.what}\n  {run!r}")
            if run.missing:
                print("  to train: " + run.how_to_finish().replace("\n", "\n            "))
    return 0


if __name__ == "__main__":
    sys.exit(main())
