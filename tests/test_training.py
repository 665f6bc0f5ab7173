"""The batched ensemble engine: members are independent networks, equal to plain Keras models."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import topohelpers as th  # noqa: E402
from topohelpers.data import Dataset  # noqa: E402
from topohelpers.training import member_loss  # noqa: E402

SIZES = (4, 3, 8)
STRATEGIES = ["branches", "grouped"]


@pytest.fixture(scope="module")
def tiny_data():
    rng = np.random.default_rng(0)
    return Dataset(rng.random((96, 28, 28), dtype=np.float32), rng.integers(0, 10, 96),
                   rng.random((20, 28, 28), dtype=np.float32), rng.integers(0, 10, 20), "random test images")


def _train(ens, batches):
    ens.model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=member_loss)
    for xb, yb in batches:
        ens.model.train_on_batch(xb, yb)
    return ens.stacked_weights()


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_members_start_from_different_weights(strategy):
    ens = th.EnsembleM(SIZES, 3, strategy=strategy, seed=0)
    k = ens.conv_kernels()["conv1"]
    assert not np.allclose(k[0], k[1]) and not np.allclose(k[1], k[2])


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_member_init_has_the_spread_of_a_plain_model(strategy):
    ens = th.EnsembleM((16, 8, 8), 4, strategy=strategy, seed=0)
    plain = th.build_m(16, 8, 8, seed=0)
    assert ens.member_weights(2)[0].std() == pytest.approx(np.asarray(plain.get_weights()[0]).std(), rel=0.2)


def test_members_see_different_batch_orders(tiny_data):
    streams = th.BatchStreams(tiny_data.x_train, tiny_data.y_train, n_members=3, batch_size=8, seed=0)
    idx = streams.indices()
    assert idx.shape == (3, 8) and not np.array_equal(idx[0], idx[1])
    # every member still sees every training image once per epoch
    epoch = np.concatenate([idx] + [streams.indices() for _ in range(96 // 8 - 1)], axis=1)
    assert all(sorted(row) == list(range(96)) for row in epoch)


def test_batch_layout_puts_member_i_in_channel_i(tiny_data):
    streams = th.BatchStreams(tiny_data.x_train[..., None], tiny_data.y_train, n_members=3, batch_size=8, seed=0)
    idx = streams.indices()
    streams.pos -= 8                                   # replay the same batch
    xb, yb = streams.next()
    np.testing.assert_array_equal(xb[..., 1], tiny_data.x_train[idx[1]])
    np.testing.assert_array_equal(yb[:, 2], tiny_data.y_train[idx[2]])


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_training_one_members_data_does_not_move_another_members_weights(tiny_data, strategy):
    streams = th.BatchStreams(tiny_data.x_train[..., None], tiny_data.y_train, n_members=3, batch_size=8, seed=0)
    batches = [streams.next() for _ in range(4)]
    altered = []
    for xb, yb in batches:
        xb, yb = xb.copy(), yb.copy()
        xb[..., 0] = 1.0 - xb[..., 0]                   # member 0 sees other images and labels
        yb[:, 0] = (yb[:, 0] + 1) % 10
        altered.append((xb, yb))
    a = _train(th.EnsembleM(SIZES, 3, strategy=strategy, seed=0), batches)
    b = _train(th.EnsembleM(SIZES, 3, strategy=strategy, seed=0), altered)
    assert not np.allclose(a[0][0], b[0][0])                     # member 0 did learn differently
    for wa, wb in zip(a, b):
        np.testing.assert_allclose(wa[1:], wb[1:], rtol=0, atol=1e-6)   # members 1 and 2 did not move


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_batched_member_forward_pass_equals_a_plain_keras_model(strategy):
    ens = th.EnsembleM(SIZES, 3, strategy=strategy, seed=3)
    x = np.random.default_rng(1).random((5, 28, 28, 1), dtype=np.float32)
    probs = ens.predict(x)
    for i in range(3):
        plain = th.build_m(*SIZES)
        plain.set_weights(ens.member_weights(i))
        np.testing.assert_allclose(plain.predict(x, verbose=0), probs[:, i], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("sizes", [(4, 0, 8), (4, 3, 0)])
def test_dropped_blocks_match_too(sizes):
    ens = th.EnsembleM(sizes, 2, strategy="grouped", seed=0)
    plain = th.build_m(*sizes)
    assert [w.shape for w in ens.member_weights(1)] == [tuple(w.shape) for w in plain.get_weights()]


def test_snapshots_load_back_bit_identical_from_the_cache(tiny_data):
    kw = dict(sizes=SIZES, n_members=2, steps=3, batch_size=8, snapshots=(0, 2, 3), strategy="branches", progress=False)
    first = th.train_ensemble(tiny_data, **kw)
    again = th.train_ensemble(tiny_data, **kw)          # from the cache: no training
    for step in (0, 2, 3):
        a, b = first.kernels("conv1", step), again.kernels("conv1", step)
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
    assert all(x.tobytes() == y.tobytes() for x, y in zip(first.weights, again.weights))
    assert not np.array_equal(first.kernels("conv1", 0), first.kernels("conv1", 3))   # training moved them
    np.testing.assert_array_equal(first.kernels("conv1"), first.kernels("conv1", 3))
    assert first.filters("conv2").shape == (2 * 4 * 3, 9)


def test_member_model_reproduces_the_recorded_accuracy(tiny_data):
    r = th.train_ensemble(tiny_data, sizes=SIZES, n_members=2, steps=2, batch_size=8, strategy="grouped", progress=False)
    pred = r.member_model(1).predict(tiny_data.x_test[..., None], verbose=0).argmax(-1)
    assert np.mean(pred == tiny_data.y_test) == pytest.approx(r.test_accuracy[1])


@pytest.mark.parametrize("kwargs, word", [({"steps": 0}, "steps"), ({"snapshots": (5,)}, "snapshots"),
                                          ({"batch_size": 1000}, "batch_size"), ({"n_members": 0}, "n_members"),
                                          ({"strategy": "vmap"}, "strategy"), ({"sizes": (0, 3, 8)}, "X")])
def test_train_ensemble_rejects_bad_arguments(tiny_data, kwargs, word):
    args = dict(sizes=SIZES, n_members=2, steps=2, batch_size=8, use_cache=False, progress=False)
    with pytest.raises(ValueError, match=word):
        th.train_ensemble(tiny_data, **{**args, **kwargs})


def test_c_network_builds_with_lrn():
    model = th.build_c(8, 8, 16)
    out = model.predict(np.zeros((2, 24, 24, 3), np.float32), verbose=0)
    assert out.shape == (2, 10)
    np.testing.assert_allclose(out.sum(-1), 1, rtol=1e-5)
