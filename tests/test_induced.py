"""The induced graph: unrolled edges reproduce every layer's pre-activation."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import topohelpers as th  # noqa: E402

L = keras.layers


def _model(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((9, 10, 2)),
            L.Conv2D(3, 3, strides=2, padding="same", activation="relu", name="c1"),
            L.MaxPooling2D(2, padding="same", name="mp"),
            L.Conv2D(4, 2, padding="valid", activation="relu", name="c2"),
            L.AveragePooling2D(2, padding="same", name="ap"),
            L.Flatten(name="fl"),
            L.Dense(5, activation="sigmoid", name="d1"),
            L.Dropout(0.5, name="do"),
            L.Dense(3, activation="softmax", name="d2"),
        ]
    )


def _incoming_sum(g, layer):
    first, shape = g.layers[layer]
    total = np.zeros(int(np.prod(shape)))
    mask = (g.v >= first) & (g.v < first + total.size)
    np.add.at(total, g.v[mask] - first, g.signed[mask])
    return total.reshape(shape)


def test_unrolled_edges_reproduce_every_layers_pre_activation():
    model = _model()
    x = np.random.default_rng(0).random((9, 10, 2)).astype("float32")
    g = th.induced_graph(model, x)
    acts = g.activations
    k1, b1 = model.get_layer("c1").get_weights()
    pre1 = (
        keras.ops.convert_to_numpy(keras.ops.conv(x[None], k1, strides=2, padding="same"))[0] + b1
    )
    np.testing.assert_allclose(_incoming_sum(g, "c1") + b1, pre1, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(
        _incoming_sum(g, "mp"), acts["mp"], rtol=1e-6
    )  # max pooling: the winner
    k2, b2 = model.get_layer("c2").get_weights()
    pre2 = keras.ops.convert_to_numpy(keras.ops.conv(acts["mp"][None], k2, padding="valid"))[0] + b2
    np.testing.assert_allclose(_incoming_sum(g, "c2") + b2, pre2, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(
        _incoming_sum(g, "ap"), acts["ap"], rtol=1e-5, atol=1e-6
    )  # average pooling
    W, b = model.get_layer("d1").get_weights()
    np.testing.assert_allclose(
        _incoming_sum(g, "d1") + b, acts["ap"].reshape(-1) @ W + b, rtol=1e-5, atol=1e-6
    )
    assert "fl" not in g.layers and "do" not in g.layers  # no vertices of their own
    assert np.all(g.phi >= 0) and np.allclose(g.phi, np.abs(g.signed))


def test_vertices_are_numbered_layer_by_layer():
    model = _model()
    g = th.induced_graph(model, np.ones((9, 10, 2), "float32"))
    assert list(g.layers) == ["input", "c1", "mp", "c2", "ap", "d1", "d2"]
    assert g.n_vertices == sum(int(np.prod(s)) for _, s in g.layers.values())
    assert np.all(g.layer_of(g.v) == g.layer_of(g.u) + 1)  # edges join consecutive layers
    without = th.induced_graph(model, np.ones((9, 10, 2), "float32"), include_input=False)
    assert "input" not in without.layers and len(without.u) < len(g.u)


def test_conv_vertex_reads_exactly_its_receptive_field():
    model = keras.Sequential(
        [keras.Input((5, 5, 1)), L.Conv2D(1, 3, padding="valid", use_bias=False, name="c")]
    )
    g = th.induced_graph(model, np.ones((5, 5, 1), "float32"))
    first, _ = g.layers["c"]
    centre = first + 1 * 3 + 1  # output (1, 1) reads input rows/cols 1..3
    src = np.sort(g.u[g.v == centre])
    assert src.tolist() == [r * 5 + c for r in (1, 2, 3) for c in (1, 2, 3)]


def test_unsupported_layer_and_wrong_input_are_named():
    model = keras.Sequential(
        [keras.Input((4, 4, 1)), L.Conv2D(2, 3, name="c"), L.BatchNormalization(name="bn")]
    )
    with pytest.raises(ValueError, match="'bn'"):
        th.induced_graph(model, np.ones((4, 4, 1), "float32"))
    with pytest.raises(ValueError, match="expects one input of shape"):
        th.induced_graph(_model(), np.ones((10, 10, 2), "float32"))


def test_persistent_subgraph_of_an_induced_graph_is_a_spanning_forest():
    model = _model()
    g = th.induced_graph(model, np.random.default_rng(1).random((9, 10, 2)).astype("float32"))
    p = th.superlevel_h0(g.u, g.v, g.phi, n_vertices=g.n_vertices)
    touched = np.unique(np.r_[g.u, g.v])
    assert len(p.forest) == len(touched) - len(p.essential)


def test_pgd_stays_in_the_box_and_raises_the_loss():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,)), L.Dense(3, activation="softmax")])
    rng = np.random.default_rng(0)
    x, y = rng.random((20, 6)).astype("float32"), rng.integers(0, 3, 20)
    adv = th.pgd(model, x, y, eps=0.05, steps=5)
    assert np.abs(adv - x).max() <= 0.05 + 1e-6 and adv.min() >= 0 and adv.max() <= 1
    ce = lambda inp: -np.log(np.asarray(model.predict(inp, verbose=0))[np.arange(20), y]).mean()
    assert ce(adv) > ce(x)
    with pytest.raises(ValueError, match="labels"):
        th.pgd(model, x, y[:3])


def test_percentile_cut_keeps_the_top_edges_of_each_layer_separately():
    model = _model()
    x = np.random.default_rng(2).random((9, 10, 2)).astype("float32")
    full = th.induced_graph(model, x)
    cut = th.induced_graph(model, x, percentile=90)
    assert cut.percentile == 90 and "90th percentile" in repr(cut)
    assert cut.n_vertices == full.n_vertices and cut.layers.keys() == full.layers.keys()
    layer_full, layer_cut = full.layer_of(full.v), cut.layer_of(cut.v)
    for layer in np.unique(layer_full):
        phi = full.phi[layer_full == layer]
        kept = cut.phi[layer_cut == layer]
        assert np.sort(kept).tolist() == np.sort(phi[phi > np.percentile(phi, 90)]).tolist()
        assert len(kept) <= 0.1 * len(phi) + 1  # a tenth of each layer


def test_gebharts_graph_has_no_input_vertices_and_a_cut():
    model = _model()
    x = np.random.default_rng(3).random((9, 10, 2)).astype("float32")
    g = th.induced_graph(model, x, include_input=False, percentile=90)
    first_layer_start = g.layers["c1"][0]
    assert "input" not in g.layers and first_layer_start == 0
    assert not np.any(g.v < g.layers["mp"][0])  # nothing enters the first layer
    assert len(g.u) < len(th.induced_graph(model, x, include_input=False).u)


@pytest.mark.parametrize("bad", [100, -1, "90", True])
def test_percentile_out_of_range_is_refused_by_name(bad):
    with pytest.raises(ValueError, match="percentile"):
        th.induced_graph(_model(), np.ones((9, 10, 2), "float32"), percentile=bad)


def test_pgd_takes_one_eps_per_input():
    from topohelpers.nets.probes import pgd

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,)), L.Dense(3, activation="softmax")])
    rng = np.random.default_rng(1)
    x, y = rng.random((4, 6)).astype("float32") * 0.5 + 0.25, rng.integers(0, 3, 4)
    eps = np.array([0.01, 0.02, 0.05, 0.1], "float32")
    adv = pgd(model, x, y, eps=eps, steps=5)
    assert np.all(np.abs(adv - x).max(axis=1) <= eps + 1e-6)
    with pytest.raises(ValueError, match="eps"):
        pgd(model, x, y, eps=np.ones(3))


def test_pgd_minimal_finds_a_small_eps_that_fools_and_no_smaller():
    from topohelpers.nets.probes import pgd, pgd_minimal

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,)), L.Dense(3, activation="softmax")])
    rng = np.random.default_rng(0)
    x = rng.random((16, 6)).astype("float32")
    y = np.asarray(model.predict(x, verbose=0)).argmax(-1)  # all right at first
    y[0] = (y[0] + 1) % 3  # ... but one, already wrong
    adv, eps, fooled = pgd_minimal(model, x, y, eps=0.05, steps=20, rounds=8)
    pred = np.asarray(model.predict(adv, verbose=0)).argmax(-1)
    assert eps[0] == 0 and np.array_equal(adv[0], x[0])
    assert np.all(pred[fooled] != y[fooled]) and fooled.sum() >= 12
    assert np.all(np.abs(adv - x).max(axis=1)[fooled] <= eps[fooled] + 1e-6)
    idx = np.flatnonzero(fooled & (eps > 0))
    weaker = pgd(model, x[idx], y[idx], eps=eps[idx] * 0.5, steps=20, step_size=eps[idx] * 0.5 / 30)
    assert np.mean(np.asarray(model.predict(weaker, verbose=0)).argmax(-1) != y[idx]) < 0.5
    with pytest.raises(ValueError, match="grow"):
        pgd_minimal(model, x, y, grow=1.0)
