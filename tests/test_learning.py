"""Weight-snapshot recorder and learning graphs (Gabella 2019)."""

import networkx as nx
import numpy as np
import pytest

import topohelpers as th
from topohelpers.data import Dataset


@pytest.fixture(scope="module")
def tiny():
    rng = np.random.default_rng(0)
    return Dataset(rng.random((60, 8, 8), dtype=np.float32), rng.integers(0, 3, 60),
                   rng.random((30, 8, 8), dtype=np.float32), rng.integers(0, 3, 30), "random 8×8 images")


def _build():
    return th.build_mlp((5,), n_inputs=64, n_classes=3, init="normal", std=0.1, seed=1)


def test_recorder_returns_the_exact_weights_the_model_had_at_each_step(tiny):
    pytest.importorskip("keras")
    # 60 images at batch 10: 6 steps per epoch
    long = th.record_training(_build, tiny, name="t", epochs=1, batch_size=10, learning_rate=0.5, n_snapshots=7,
                              progress=False)
    short = th.record_training(_build, tiny, name="t", epochs=0.5, batch_size=10, learning_rate=0.5, n_snapshots=2,
                               progress=False)
    assert long.steps.tolist() == list(range(7)) and short.steps.tolist() == [0, 3]
    for layer in ("hidden1", "output"):
        np.testing.assert_array_equal(long.layers[layer][3], short.layers[layer][-1])   # step 3 of both runs
        assert not np.array_equal(long.layers[layer][0], long.layers[layer][6])          # training moved them
    model = _build()
    np.testing.assert_array_equal(long.layers["output"][0], np.asarray(model.get_weights()[1]).T)
    assert long.layers["hidden1"].shape == (7, 5, 64) and long.confusion.shape == (7, 3, 3)
    assert long.confusion[-1].sum() == 30 and np.isclose(long.accuracy[-1], np.trace(long.confusion[-1]) / 30)


def test_zero_initialized_mlp_starts_at_zero():
    keras = pytest.importorskip("keras")
    model = th.build_mlp((4,), n_inputs=6, n_classes=3)
    assert all(not np.asarray(w).any() for w in model.get_weights())
    assert [type(lay) for lay in model.layers] == [keras.layers.Dense] * 2 and not model.layers[0].use_bias


def test_cloud_is_snapshot_major(tiny):
    pytest.importorskip("keras")
    h = th.record_training(_build, tiny, name="t", epochs=1, batch_size=10, learning_rate=0.5, n_snapshots=3,
                           progress=False)
    pts, step, neuron = h.cloud("output")
    assert pts.shape == (9, 5) and step.tolist() == [0, 0, 0, 3, 3, 3, 6, 6, 6] and neuron.tolist() == [0, 1, 2] * 3
    np.testing.assert_array_equal(pts[4], h.layers["output"][1][1])
    with pytest.raises(ValueError, match="layer"):
        h.cloud("hidden7")


def _trajectories(branch_of, n_steps=120, noise=1e-3, seed=0):
    """Neurons moving out from the origin together, then splitting into the given branches."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, n_steps)
    dirs = np.eye(4)[1:]
    pts, steps = [], []
    for s, ti in enumerate(t):
        for b in branch_of:
            p = np.zeros(4)
            p[0] = ti
            p += dirs[b] * max(0.0, ti - 0.4) * 3
            pts.append(p + noise * rng.standard_normal(4))
            steps.append(s)
    return np.array(pts), np.array(steps)


def test_branch_count_of_a_synthetic_tree_with_three_leaves():
    pts, step = _trajectories([0, 0, 1, 1, 2, 2])
    m = th.learning_graph(pts, n_cubes=15, overlap=0.5, eps=0.05, pca_dims=None)
    assert th.count_branches(m, step) == 3
    assert th.is_tree(m)


def test_learning_graph_of_a_straight_trajectory_is_a_path():
    pts, step = _trajectories([0, 0, 0, 0], noise=0)
    pts[:, 1:] = 0                                     # no split at all: one line out of the origin
    m = th.learning_graph(pts, n_cubes=12, overlap=0.3, eps=0.05, pca_dims=None)
    G = m.G_
    assert nx.is_connected(G) and nx.is_tree(G) and max(d for _, d in G.degree) <= 2
    assert th.count_branches(m, step) == 1


def test_node_colour_is_the_mean_step():
    pts, step = _trajectories([0, 1])
    m = th.learning_graph(pts, n_cubes=10, overlap=0.5, eps=0.05, pca_dims=None)
    colours = th.mean_step(m, step)
    k = next(iter(m.nodes_))
    assert colours[k] == pytest.approx(step[m.nodes_[k]].mean())


@pytest.mark.parametrize("kwargs, word", [({"lens": "tsne"}, "lens"), ({"overlap": 1.0}, "overlap")])
def test_learning_graph_rejects_bad_arguments(kwargs, word):
    with pytest.raises(ValueError, match=word):
        th.learning_graph(np.random.default_rng(0).random((20, 3)), **kwargs)


def test_recorder_rejects_bad_arguments(tiny):
    with pytest.raises(ValueError, match="n_snapshots"):
        th.record_training(_build, tiny, name="t", epochs=1, batch_size=10, learning_rate=0.1, n_snapshots=1)
    with pytest.raises(ValueError, match="batch_size"):
        th.record_training(_build, tiny, name="t", epochs=1, batch_size=100, learning_rate=0.1)
    with pytest.raises(ValueError, match="init"):
        th.build_mlp(init="ones")
