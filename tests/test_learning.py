"""Weight-snapshot recorder and learning graphs (Gabella 2019)."""

import networkx as nx
import numpy as np
import pytest

import topohelpers as th
from topohelpers.data import Dataset


@pytest.fixture(scope="module")
def tiny():
    rng = np.random.default_rng(0)
    return Dataset(
        rng.random((60, 8, 8), dtype=np.float32),
        rng.integers(0, 3, 60),
        rng.random((30, 8, 8), dtype=np.float32),
        rng.integers(0, 3, 30),
        "random 8×8 images",
    )


def _build():
    return th.build_mlp((5,), n_inputs=64, n_classes=3, init="normal", std=0.1, seed=1)


def test_recorder_returns_the_exact_weights_the_model_had_at_each_step(tiny):
    pytest.importorskip("keras")
    # 60 images at batch 10: 6 steps per epoch
    long = th.record_training(
        _build,
        tiny,
        name="t",
        epochs=1,
        batch_size=10,
        learning_rate=0.5,
        n_snapshots=7,
        progress=False,
    )
    short = th.record_training(
        _build,
        tiny,
        name="t",
        epochs=0.5,
        batch_size=10,
        learning_rate=0.5,
        n_snapshots=2,
        progress=False,
    )
    assert long.steps.tolist() == list(range(7)) and short.steps.tolist() == [0, 3]
    for layer in ("hidden1", "output"):
        np.testing.assert_array_equal(
            long.layers[layer][3], short.layers[layer][-1]
        )  # step 3 of both runs
        assert not np.array_equal(
            long.layers[layer][0], long.layers[layer][6]
        )  # training moved them
    model = _build()
    np.testing.assert_array_equal(long.layers["output"][0], np.asarray(model.get_weights()[1]).T)
    assert long.layers["hidden1"].shape == (7, 5, 64) and long.confusion.shape == (7, 3, 3)
    assert long.confusion[-1].sum() == 30 and np.isclose(
        long.accuracy[-1], np.trace(long.confusion[-1]) / 30
    )


def test_zero_initialized_mlp_starts_at_zero():
    keras = pytest.importorskip("keras")
    model = th.build_mlp((4,), n_inputs=6, n_classes=3)
    assert all(not np.asarray(w).any() for w in model.get_weights())
    assert [type(lay) for lay in model.layers] == [keras.layers.Dense] * 2 and not model.layers[
        0
    ].use_bias


def test_cloud_is_snapshot_major(tiny):
    pytest.importorskip("keras")
    h = th.record_training(
        _build,
        tiny,
        name="t",
        epochs=1,
        batch_size=10,
        learning_rate=0.5,
        n_snapshots=3,
        progress=False,
    )
    pts, step, neuron = h.cloud("output")
    assert (
        pts.shape == (9, 5)
        and step.tolist() == [0, 0, 0, 3, 3, 3, 6, 6, 6]
        and neuron.tolist() == [0, 1, 2] * 3
    )
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
    pts[:, 1:] = 0  # no split at all: one line out of the origin
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


@pytest.mark.parametrize(
    "kwargs, word", [({"lens": "tsne"}, "lens"), ({"overlap": 1.0}, "overlap")]
)
def test_learning_graph_rejects_bad_arguments(kwargs, word):
    with pytest.raises(ValueError, match=word):
        th.learning_graph(np.random.default_rng(0).random((20, 3)), **kwargs)


def test_recorder_rejects_bad_arguments(tiny):
    with pytest.raises(ValueError, match="n_snapshots"):
        th.record_training(
            _build, tiny, name="t", epochs=1, batch_size=10, learning_rate=0.1, n_snapshots=1
        )
    with pytest.raises(ValueError, match="batch_size"):
        th.record_training(_build, tiny, name="t", epochs=1, batch_size=100, learning_rate=0.1)
    with pytest.raises(ValueError, match="init"):
        th.build_mlp(init="ones")


# --- Gabella's own settings: KeplerMapper 1.1's cover, the PCA-norm lens, the null ----------------

from topohelpers.topology import learning as L  # noqa: E402  (this part of the file tests Gabella's settings)


@pytest.mark.parametrize("perc, n_cubes", [(0.99, 20), (0.5, 7), (0.0, 5)])
def test_kmapper11_overlap_reproduces_the_1_1_cover_in_todays_kmapper(perc, n_cubes):
    lens = np.linspace(0.0, 3.0, 301)
    lo, hi = lens.min(), lens.max()
    c = (hi - lo) / n_cubes
    old = L.kmapper11_intervals(lo, hi, n_cubes, perc)
    np.testing.assert_allclose(old[:, 0], lo + np.arange(n_cubes) * c)  # the 1.1 formula
    np.testing.assert_allclose(old[:, 1], lo + (np.arange(n_cubes) + 1) * c + perc * c)
    p = L.kmapper11_overlap(perc)
    assert p == pytest.approx(perc / (1 + perc))
    m = th.Mapper(resolution=n_cubes, gain=1 / (1 - p), metric="euclidean").fit(
        lens[:, None], lens=lens
    )
    new = m.intervals_[0]
    # today's intervals: the same length and spacing as 1.1's, centred on the range
    # (shifted by perc·c/2)
    np.testing.assert_allclose(np.diff(new, axis=1), np.diff(old, axis=1), rtol=1e-9)
    np.testing.assert_allclose(np.diff(new[:, 0]), np.diff(old[:, 0]), rtol=1e-9)
    np.testing.assert_allclose(new - old, -perc * c / 2, atol=1e-9)
    if n_cubes > 1:  # neighbours share perc / (1 + perc) of an interval
        shared = (old[0, 1] - old[1, 0]) / (old[0, 1] - old[0, 0])
        assert shared == pytest.approx(p)


def test_gabella_constants_are_his_notebooks():
    assert L.GABELLA == {"hidden1": (0.1, 30), "hidden2": (0.2, 25), "output": (0.5, 20)}
    assert L.GABELLA_OVERLAP == pytest.approx(0.99 / 1.99)
    assert L.GABELLA_LENS == {
        "lens": "pca_norm",
        "pca_dims": 20,
        "min_samples": 2,
        "overlap": L.GABELLA_OVERLAP,
    }


def test_pca_norm_lens_is_the_norm_of_the_centred_pca_coordinates():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((80, 30)) + 5.0  # far from the origin: raw and centred norms differ
    m = th.learning_graph(X, lens="pca_norm", pca_dims=4, eps=10.0, n_cubes=3, overlap=0.3)
    from sklearn.decomposition import PCA

    np.testing.assert_allclose(m.lens_[:, 0], np.linalg.norm(PCA(4).fit_transform(X), axis=1))
    full = th.learning_graph(X, lens="pca_norm", pca_dims=None, eps=10.0, n_cubes=3, overlap=0.3)
    np.testing.assert_allclose(full.lens_[:, 0], np.linalg.norm(X - X.mean(axis=0), axis=1))
    raw = th.learning_graph(X, lens="norm", pca_dims=4, eps=10.0, n_cubes=3, overlap=0.3)
    np.testing.assert_allclose(raw.lens_[:, 0], np.linalg.norm(X, axis=1))


def test_learning_sweep_finds_the_three_leaves_over_a_neighbourhood():
    pts, step = _trajectories([0, 0, 1, 1, 2, 2])
    sweep = L.learning_sweep(pts, step, n_cubes=15, eps=0.05, overlap=0.5, pca_dims=None)
    assert len(sweep.branches) == 9 and sorted(set(sweep.n_cubes.tolist())) == [12, 15, 19]
    assert sweep.pairs().shape == (9, 2)
    assert th.OverCovers("branches", count=3).holds(sweep) and th.Tree().holds(sweep)
    one = th.learning_graph(pts, n_cubes=15, overlap=0.5, eps=0.05, pca_dims=None)
    assert sweep.branches[4] == th.count_branches(one, step)  # the middle setting is the given one


def test_null_trajectories_keep_shape_start_and_norms_but_not_the_branches():
    pts, step = _trajectories([0, 0, 0, 1, 1, 1], noise=1e-4)
    W = pts.reshape(-1, 6, 4)
    null = L.null_trajectories(W, random_state=1)
    assert null.shape == W.shape
    np.testing.assert_array_equal(null[0], W[0])
    np.testing.assert_allclose(np.linalg.norm(null, axis=2), np.linalg.norm(W, axis=2), rtol=1e-9)
    # the real neurons 0–2 end together; their null walks end apart
    assert np.linalg.norm(W[-1, 0] - W[-1, 1]) < 0.01 < np.linalg.norm(null[-1, 0] - null[-1, 1])
    np.testing.assert_array_equal(
        L.null_trajectories(np.zeros((3, 2, 5))), 0
    )  # nothing moves: nothing to walk


def test_phases_of_a_still_then_fanning_then_scattered_history():
    rng = np.random.default_rng(0)
    S, n, d = 30, 20, 10
    W = np.zeros((S, n, d))
    W[:, :, 0] = np.linspace(0, 1, S)[:, None]  # all move together...
    fan = np.linspace(-1, 1, n)
    for t in range(10, 20):
        W[t, :, 1] = fan * (t - 9)  # ...then spread along one direction...
    for t in range(20, S):
        W[t] = W[19] + rng.standard_normal((n, d)) * 10  # ...then in all directions
    ph = L.phases(W)
    assert ph.uniform[:10].all() and ph.surface[10:20].all() and ph.chaotic[20:].all()
    assert ph.count() == 3 and L.phases(np.zeros((4, 3, 2))).count() == 1


@pytest.mark.parametrize(
    "call, word",
    [
        (lambda: L.kmapper11_overlap(-0.1), "perc"),
        (lambda: L.kmapper11_intervals(0, 1, 0, 0.5), "n_cubes"),
        (lambda: L.kmapper11_intervals(1, 1, 3, 0.5), "hi > lo"),
        (lambda: L.learning_sweep(np.zeros((4, 2)), [0, 1], n_cubes=3, eps=0.1), "step"),
        (lambda: L.learning_sweep(np.zeros((4, 2)), [0, 0, 1, 1], n_cubes=3, eps=0.0), "eps"),
        (lambda: L.null_trajectories(np.zeros((1, 3, 2))), "snapshots"),
        (lambda: L.phases(np.zeros((3, 2))), "weights"),
    ],
)
def test_gabella_helpers_reject_bad_arguments(call, word):
    with pytest.raises(ValueError, match=word):
        call()
