"""The paper-scale pipeline: shards trained, shipped with a manifest, verified and loaded.

Trained here on a tiny experiment (3 members of M(4,2,4), 12 steps), the way a GPU trains the
papers' ensembles; and the repository's own shipped shards, checked file by file.
"""

import json
import os
from pathlib import Path

import numpy as np
import pytest

import topohelpers as th
from topohelpers import shipped
from topohelpers.data import Dataset


@pytest.fixture
def tiny(monkeypatch):
    exp = shipped.Experiment(
        "tiny",
        "00_test",
        "3 × M(4,2,4), 12 steps",
        3,
        {
            "architecture": "M",
            "sizes": [4, 2, 4],
            "kernel_size": 3,
            "steps": 12,
            "batch_size": 8,
            "learning_rate": 1e-2,
            "seed": 0,
            "snapshots": [0, 12],
        },
        n_shards=3,
        full_members=1,
    )
    monkeypatch.setitem(shipped.EXPERIMENTS, "tiny", exp)
    rng = np.random.default_rng(0)
    x = rng.random((120, 28, 28), dtype=np.float32)
    y = (x[:, :14].mean(axis=(1, 2)) > x[:, 14:].mean(axis=(1, 2))).astype(np.int64)  # learnable
    data = Dataset(x[:96], y[:96], x[96:], y[96:], "tiny images (test)")
    return exp, data


def _ship(tmp_path, data, *shards):
    root = tmp_path / "artifacts"
    for s in shards:
        shipped.train_shard("tiny", shard=s, root=root, data=data, progress=False)
    return root


def test_shards_ship_with_a_manifest_and_load_with_what_is_missing(tiny, tmp_path):
    exp, data = tiny
    root = _ship(tmp_path, data, "0/3", "2/3")
    manifest = json.loads((root / "tiny" / "manifest.json").read_text())
    assert sorted(manifest["shards"]) == ["members-000-001.npz", "members-002-003.npz"]
    for file, entry in manifest["shards"].items():
        assert entry["sha256"] == shipped.sha256(root / "tiny" / file)
        assert entry["provenance"]["precision"] == "float32" and entry["provenance"]["device"]
        assert entry["key"] == th.config_key(entry["config"])
    run = shipped.load_shipped("tiny", root=root, download=False)
    assert list(run.members) == [0, 2] and run.missing == [(1, 2)] and not run.complete
    assert run.how_to_finish() == "python -m topohelpers.shipped train tiny --shard 1/3"
    assert run.filters("conv1").shape == (2 * 4, 9) and run.filters("conv2", step=0).shape == (
        2 * 4 * 2,
        9,
    )
    assert not np.array_equal(
        run.filters("conv1", step=0), run.filters("conv1")
    )  # training moved them
    assert run.loss.shape == (0, 2) and sorted(run.full) == [0, 2]  # 12 steps < one window
    first = run.filters("conv2", n_members=1)  # the first shipped member's share, member-major
    assert np.array_equal(first, run.filters("conv2")[: len(first)]) and len(first) == 4 * 2
    with pytest.raises(ValueError, match="n_members=3 is more than the 2 shipped"):
        run.filters("conv1", n_members=3)


def test_shipped_members_are_the_members_of_the_whole_run(tiny, tmp_path):
    exp, data = tiny
    run = shipped.load_shipped("tiny", root=_ship(tmp_path, data, "1/3"), download=False)
    whole = th.train_ensemble(
        data,
        n_members=3,
        progress=False,
        **{k: (tuple(v) if k == "sizes" else v) for k, v in exp.train.items()},
    )
    np.testing.assert_allclose(
        run.snapshots[12]["conv1"], whole.snapshots[12]["conv1"][1:2], atol=1e-5
    )
    np.testing.assert_allclose(run.test_accuracy, whole.test_accuracy[1:2])


def test_verify_passes_then_refuses_a_damaged_file_a_stale_key_and_a_wrong_accuracy(
    tiny, tmp_path, monkeypatch
):
    exp, data = tiny
    root = _ship(tmp_path, data, "0/3")
    lines = shipped.verify_shipped("tiny", root=root, data=data)
    assert any(line.startswith("member 0: test accuracy") for line in lines)
    path = root / "tiny" / "members-000-001.npz"
    manifest_path = root / "tiny" / "manifest.json"
    good = path.read_bytes()

    # a recorded accuracy that the weights do not reach
    arrays = th.load_arrays(path)
    arrays["test_accuracy"] = arrays["test_accuracy"] + 0.5
    th.save_arrays(path, arrays)
    manifest = json.loads(manifest_path.read_text())
    manifest["shards"]["members-000-001.npz"]["sha256"] = shipped.sha256(path)
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(shipped.ShippedWeightsError, match="not the ones trained"):
        shipped.verify_shipped("tiny", root=root, data=data)

    # a file that is not the one the manifest names
    path.write_bytes(good)
    with pytest.raises(shipped.ShippedWeightsError, match="sha256"):
        shipped.load_shipped("tiny", root=root, download=False)

    # an experiment changed since the shard was trained
    manifest["shards"]["members-000-001.npz"]["sha256"] = shipped.sha256(path)
    manifest_path.write_text(json.dumps(manifest))
    shipped.verify_shipped("tiny", root=root, data=data)
    monkeypatch.setitem(
        shipped.EXPERIMENTS,
        "tiny",
        shipped.Experiment(
            "tiny",
            exp.chapter,
            exp.what,
            exp.n_members,
            {**exp.train, "steps": 13},
            exp.n_shards,
            exp.full_members,
        ),
    )
    with pytest.raises(
        shipped.ShippedWeightsError, match=r"another configuration .*steps.*--members 0:1"
    ):
        shipped.verify_shipped("tiny", root=root, data=data)


def test_bad_arguments_name_the_fix(tiny, tmp_path):
    exp, data = tiny
    with pytest.raises(ValueError, match="experiment='nope' is not known"):
        shipped.train_shard("nope", shard="0/3", root=tmp_path)
    with pytest.raises(ValueError, match="exactly one of shard"):
        shipped.train_shard("tiny", root=tmp_path, data=data)
    with pytest.raises(ValueError, match="shard k/n = 3/3 is out of range"):
        shipped.train_shard("tiny", shard="3/3", root=tmp_path, data=data)
    with pytest.raises(ValueError, match=r"members=\(a, b\)"):
        shipped.train_shard("tiny", members=(2, 5), root=tmp_path, data=data)
    root = _ship(tmp_path, data, "0/3")
    with pytest.raises(ValueError, match="overlap the shipped"):
        shipped.train_shard("tiny", members=(0, 2), root=root, data=data)


def test_nothing_shipped_means_every_member_is_missing(tiny, tmp_path, capsys):
    run = shipped.load_shipped("tiny", root=tmp_path, download=False)
    assert run.n_members == 0 and run.missing == [(0, 3)]
    assert run.how_to_finish().splitlines() == [
        f"python -m topohelpers.shipped train tiny --shard {k}/3" for k in range(3)
    ]
    assert "train tiny --shard k/3 for k = 0, …, 2" in run.not_run().reason
    shipped.main(["list", "--root", str(tmp_path)])
    assert "tiny" in capsys.readouterr().out


def test_the_repository_s_shipped_shards_verify(monkeypatch):
    """Every shard under artifacts/paper: its hash, its key under the current code, and its
    full-weight members' test accuracy re-evaluated here."""
    root = Path(__file__).resolve().parents[1] / "artifacts" / "paper"
    names = [n for n in shipped.EXPERIMENTS if (root / n / "manifest.json").exists()]
    if not names:
        pytest.skip(
            "no shard is shipped yet (python -m topohelpers.shipped list says what to train)"
        )
    monkeypatch.setenv(
        "TOPO_CACHE",
        os.environ.get("TOPO_TEST_DATA_CACHE", str(Path.home() / ".cache" / "topohelpers")),
    )
    data = th.load_mnist(verbose=False)  # the data cache only: the official test set
    for name in names:
        lines = shipped.verify_shipped(name, root=root, data=data)
        assert any("test accuracy" in line for line in lines), lines


def test_what_is_missing_is_said_in_the_experiment_s_own_shards_where_they_fit():
    exp = shipped.experiment("mnist-circles")  # 5 shards of 20 networks
    run = shipped.ShippedRun(exp, np.arange(50), {}, np.zeros(50), np.zeros((0, 50)), {})
    assert run.missing == [(50, 100)]
    assert [line.split("mnist-circles ")[1] for line in run.how_to_finish().splitlines()] == [
        "--members 50:60",
        "--shard 3/5",
        "--shard 4/5",
    ]


def test_outside_the_checkout_the_files_are_fetched_from_the_repository_and_hash_checked(
    tiny, tmp_path, monkeypatch
):
    exp, data = tiny
    repo = _ship(tmp_path, data, "1/3")  # what the repository's raw URL serves
    monkeypatch.setattr(shipped, "RAW_URL", repo.as_uri())
    here = tmp_path / "colab"  # an installed package: no artifacts beside it
    run = shipped.load_shipped("tiny", root=here)
    assert list(run.members) == [1] and (here / "tiny" / "members-001-002.npz").exists()
    arrays = th.load_arrays(
        repo / "tiny" / "members-001-002.npz"
    )  # the served file changes, not its manifest
    arrays["test_accuracy"] = arrays["test_accuracy"] + 0.1
    th.save_arrays(repo / "tiny" / "members-001-002.npz", arrays)
    (here / "tiny" / "members-001-002.npz").unlink()
    with pytest.raises(shipped.ShippedWeightsError, match="damaged or stale"):
        shipped.load_shipped("tiny", root=here)


def test_train_shards_trains_what_is_missing_one_task_each(tiny, tmp_path, capsys):
    exp, data = tiny
    root = _ship(tmp_path, data, "1/3")
    paths = shipped.train_shards("tiny", root=root, data=data, n_jobs=1)
    assert [p.name for p in paths] == ["members-000-001.npz", "members-002-003.npz"]
    run = shipped.load_shipped("tiny", root=root, download=False)
    assert run.complete and list(run.members) == [0, 1, 2]
    assert shipped.train_shards("tiny", root=root, data=data) == []
    assert "every shard is shipped" in capsys.readouterr().out
    # the same shards as one at a time
    alone = _ship(tmp_path / "alone", data, "0/3")
    np.testing.assert_allclose(
        shipped.load_shipped("tiny", root=alone, download=False).snapshots[12]["conv1"],
        run.snapshots[12]["conv1"][:1],
    )
