"""Superlevel H0 of weighted graphs and neural persistence, checked against networkx and by hand."""

import networkx as nx
import numpy as np
import pytest

import topohelpers as th


def _random_graph(seed, n=30, p=0.2):
    rng = np.random.default_rng(seed)
    G = nx.gnp_random_graph(n, p, seed=seed)
    edges = np.array(G.edges)
    return edges[:, 0], edges[:, 1], rng.random(len(edges)), G


@pytest.mark.parametrize("seed", range(6))
def test_forest_is_networkx_maximum_spanning_forest(seed):
    u, v, w, G = _random_graph(seed)
    for (a, b), x in zip(zip(u, v), w):
        G[a][b]["weight"] = x
    p = th.superlevel_h0(u, v, w)
    mst = nx.maximum_spanning_tree(G)  # a forest on a disconnected graph
    assert p.forest[:, 2].sum() == pytest.approx(sum(d["weight"] for *_, d in mst.edges(data=True)))
    assert len(p.forest) == mst.number_of_edges()
    assert len(p.essential) == nx.number_connected_components(
        G.subgraph([n for n in G if G.degree(n) > 0])
    )


@pytest.mark.parametrize("seed", range(4))
def test_h0_pairs_match_a_brute_force_elder_rule(seed):
    u, v, w, _ = _random_graph(seed, n=12, p=0.4)
    p = th.superlevel_h0(u, v, w)
    # brute force: sweep thresholds, track components and their births
    order = np.argsort(-w, kind="stable")
    comps, pairs = {}, []
    for e in order:
        a, b, x = int(u[e]), int(v[e]), w[e]
        for c in (a, b):
            if c not in comps:
                comps[c] = ({c}, x)
        (sa, ba), (sb, bb) = comps[a], comps[b]
        if sa is sb:
            continue
        young_birth = min(ba, bb)
        pairs.append((young_birth, x))
        merged = (sa | sb, max(ba, bb))
        for c in merged[0]:
            comps[c] = merged
    assert sorted(map(tuple, p.pairs.round(12))) == sorted(
        (round(b, 12), round(d, 12)) for b, d in pairs
    )
    assert np.all(p.pairs[:, 0] >= p.pairs[:, 1])  # superlevel: born above where it dies


def test_zero_weight_edges_are_kept():
    p = th.superlevel_h0([0, 1], [1, 2], [1.0, 0.0])
    assert len(p.forest) == 2 and len(p.essential) == 1


def test_neural_persistence_of_a_hand_made_2x2_layer():
    # |w| / max: [[1, .5], [.25, 0]]; maximum spanning forest on 4 vertices: 1, .5, .25 -> 3 edges
    per_layer, mean = th.neural_persistence([np.array([[2.0, -1.0], [0.5, 0.0]])], normalize=False)
    expected = np.sqrt((1 - 1) ** 2 + (1 - 0.5) ** 2 + (1 - 0.25) ** 2 + 1)
    assert per_layer[0] == pytest.approx(expected) and mean == pytest.approx(expected)
    normalized, _ = th.neural_persistence([np.array([[2.0, -1.0], [0.5, 0.0]])])
    assert normalized[0] == pytest.approx(expected / np.sqrt(3))


def test_neural_persistence_normalizes_over_the_whole_network():
    small, big = np.full((2, 2), 0.1), np.full((2, 2), 1.0)
    per_layer, _ = th.neural_persistence([small, big], normalize=False)
    assert (
        per_layer[0] > per_layer[1]
    )  # the small layer's weights are far below the network maximum


@pytest.mark.parametrize(
    "args, word",
    [
        (([0, 1], [1], [1.0]), "one length"),
        (([0], [1], [np.nan]), "NaN"),
        (([-1], [1], [1.0]), "non-negative"),
    ],
)
def test_superlevel_h0_rejects_bad_input(args, word):
    with pytest.raises(ValueError, match=word):
        th.superlevel_h0(*args)


def test_neural_persistence_rejects_bad_input():
    with pytest.raises(ValueError, match="2-D"):
        th.neural_persistence([np.ones(3)])
    with pytest.raises(ValueError, match="zero"):
        th.neural_persistence([np.zeros((2, 2))])


@pytest.mark.parametrize("seed", range(3))
def test_large_graph_fast_path_gives_the_same_persistence(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    G = nx.gnm_random_graph(800, 6000, seed=seed)
    u, v = np.array(G.edges).T
    w = rng.integers(0, 50, len(u)) / 50.0  # many ties and some zero weights
    fast = th.superlevel_h0(u, v, w)
    import topohelpers.topology.graphs as graphs

    monkeypatch.setattr(
        graphs, "_candidate_edges", lambda u, v, w, n: np.argsort(-w, kind="stable")
    )
    slow = th.superlevel_h0(u, v, w)
    assert sorted(map(tuple, fast.pairs)) == sorted(map(tuple, slow.pairs))
    assert fast.forest[:, 2].sum() == pytest.approx(slow.forest[:, 2].sum())
    np.testing.assert_array_equal(fast.essential, slow.essential)


def test_forest_lifetimes_pair_each_forest_edge_with_the_class_it_ends():
    # path 0-1 (w=3), then vertex 2 joins at 1 via (1,2,w=1) after being born at 2 on (2,3)
    p = th.superlevel_h0([0, 2, 1], [1, 3, 2], [3.0, 2.0, 1.0])
    assert p.forest[:, 2].tolist() == [3.0, 2.0, 1.0]
    assert p.forest_lifetime.tolist() == [0.0, 0.0, 1.0]  # the {2,3} class, born at 2, dies at 1


def test_subgraph_features_share_columns_across_graphs():
    a = th.superlevel_h0([0, 2, 1], [1, 3, 2], [3.0, 2.0, 1.0])
    b = th.superlevel_h0([0, 2, 1], [1, 3, 2], [1.0, 0.8, 0.5])  # {2,3} born at 0.8 ends at 0.5
    X, edges = th.subgraph_features([a, b], n_vertices=4)
    assert X.shape == (2, len(edges)) and sorted(map(tuple, edges.tolist())) == [
        (0, 1),
        (1, 2),
        (2, 3),
    ]
    col = {tuple(e): i for i, e in enumerate(edges.tolist())}
    assert X[0, col[(1, 2)]] == 1.0 and X[1, col[(1, 2)]] == pytest.approx(0.3)


def test_model_neural_persistence_folds_the_bias_in():
    keras = pytest.importorskip("keras")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, name="d")])
    model.get_layer("d").set_weights([np.array([[2.0, -1.0], [0.5, 0.0]]), np.array([0.0, 0.0])])
    per_layer, _ = th.model_neural_persistence(model, normalize=False)
    # bias row of zeros adds one vertex joined by weight-0 edges: (1 − 0)² once more
    expected = np.sqrt((1 - 0.5) ** 2 + (1 - 0.25) ** 2 + (1 - 0.0) ** 2 + 1)
    assert per_layer[0] == pytest.approx(expected)


def test_neural_persistence_stopping_stops_when_it_stops_growing():
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(0)
    x, y = rng.random((64, 4)).astype("float32"), rng.integers(0, 2, 64)
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(3, activation="relu"),
            keras.layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile(
        keras.optimizers.SGD(0.0), "sparse_categorical_crossentropy"
    )  # weights never change
    stop, track = th.neural_persistence_stopping(patience=2), th.neural_persistence_tracker()
    hist = model.fit(x, y, epochs=10, verbose=0, callbacks=[stop, track])
    assert (
        stop.stopped_epoch == 3 and len(hist.history["loss"]) == 3
    )  # best at 1, no growth at 2, 3
    assert len(track.history) == 3 and track.history[0][1] == pytest.approx(track.history[-1][1])
    with pytest.raises(ValueError, match="patience"):
        th.neural_persistence_stopping(patience=0)


def test_permuted_neural_persistence_keeps_the_weights_and_varies_with_their_arrangement():
    from topohelpers.topology.graphs import permuted_neural_persistence

    rng = np.random.default_rng(0)
    k = [rng.standard_normal((20, 8)), rng.standard_normal((8, 3))]
    null = permuted_neural_persistence(k, n_permutations=5, random_state=1)
    assert null.shape == (5,) and np.all(np.isfinite(null)) and np.ptp(null) > 0
    # a constant layer is the same whatever the arrangement
    flat = permuted_neural_persistence([np.ones((4, 3))], n_permutations=3)
    assert np.allclose(flat, th.neural_persistence([np.ones((4, 3))])[1])
    with pytest.raises(ValueError, match="n_permutations"):
        permuted_neural_persistence(k, n_permutations=0)


def test_greater_than_null_separates_a_shift_from_exchangeable_values():
    from topohelpers.topology.graphs import greater_than_null

    rng = np.random.default_rng(0)
    null = rng.standard_normal((4, 19))
    diff, p = greater_than_null(null[:, 0] + 5, null[:, 1:])
    assert diff > 4 and p < 0.01
    diffs = [
        greater_than_null(rng.standard_normal(4), rng.standard_normal((4, 19)), random_state=s)[1]
        for s in range(40)
    ]
    assert 0.2 < np.mean(diffs) < 0.8  # p roughly uniform without a shift
    with pytest.raises(ValueError, match="null"):
        greater_than_null([1.0, 2.0], np.ones((3, 4)))
