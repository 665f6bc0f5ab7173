"""The induced graph: unrolled edges reproduce every layer's pre-activation."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import topohelpers as th  # noqa: E402

L = keras.layers


def _model(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([
        keras.Input((9, 10, 2)),
        L.Conv2D(3, 3, strides=2, padding="same", activation="relu", name="c1"),
        L.MaxPooling2D(2, padding="same", name="mp"),
        L.Conv2D(4, 2, padding="valid", activation="relu", name="c2"),
        L.AveragePooling2D(2, padding="same", name="ap"),
        L.Flatten(name="fl"),
        L.Dense(5, activation="sigmoid", name="d1"),
        L.Dropout(0.5, name="do"),
        L.Dense(3, activation="softmax", name="d2"),
    ])


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
    pre1 = keras.ops.convert_to_numpy(keras.ops.conv(x[None], k1, strides=2, padding="same"))[0] + b1
    np.testing.assert_allclose(_incoming_sum(g, "c1") + b1, pre1, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(_incoming_sum(g, "mp"), acts["mp"], rtol=1e-6)          # max pooling: the winner
    k2, b2 = model.get_layer("c2").get_weights()
    pre2 = keras.ops.convert_to_numpy(keras.ops.conv(acts["mp"][None], k2, padding="valid"))[0] + b2
    np.testing.assert_allclose(_incoming_sum(g, "c2") + b2, pre2, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(_incoming_sum(g, "ap"), acts["ap"], rtol=1e-5, atol=1e-6)  # average pooling
    W, b = model.get_layer("d1").get_weights()
    np.testing.assert_allclose(_incoming_sum(g, "d1") + b, acts["ap"].reshape(-1) @ W + b, rtol=1e-5, atol=1e-6)
    assert "fl" not in g.layers and "do" not in g.layers                                   # no vertices of their own
    assert np.all(g.phi >= 0) and np.allclose(g.phi, np.abs(g.signed))


def test_vertices_are_numbered_layer_by_layer():
    model = _model()
    g = th.induced_graph(model, np.ones((9, 10, 2), "float32"))
    assert list(g.layers) == ["input", "c1", "mp", "c2", "ap", "d1", "d2"]
    assert g.n_vertices == sum(int(np.prod(s)) for _, s in g.layers.values())
    assert np.all(g.layer_of(g.v) == g.layer_of(g.u) + 1)                               # edges join consecutive layers
    without = th.induced_graph(model, np.ones((9, 10, 2), "float32"), include_input=False)
    assert "input" not in without.layers and len(without.u) < len(g.u)


def test_conv_vertex_reads_exactly_its_receptive_field():
    model = keras.Sequential([keras.Input((5, 5, 1)), L.Conv2D(1, 3, padding="valid", use_bias=False, name="c")])
    g = th.induced_graph(model, np.ones((5, 5, 1), "float32"))
    first, _ = g.layers["c"]
    centre = first + 1 * 3 + 1                                      # output (1, 1) reads input rows/cols 1..3
    src = np.sort(g.u[g.v == centre])
    assert src.tolist() == [r * 5 + c for r in (1, 2, 3) for c in (1, 2, 3)]


def test_unsupported_layer_and_wrong_input_are_named():
    model = keras.Sequential([keras.Input((4, 4, 1)), L.Conv2D(2, 3, name="c"), L.BatchNormalization(name="bn")])
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
