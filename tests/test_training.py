"""The training engine: members are independent networks equal to plain Keras models; the one
loop trains them in chunks on the device, resumes, shards and stops on divergence.

Runs under TensorFlow (``make test``) and JAX (``make test`` runs this file again with
``KERAS_BACKEND=jax``)."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import topohelpers as th  # noqa: E402
from topohelpers.data import Dataset  # noqa: E402
from topohelpers.nets import loop, member_loss  # noqa: E402

SIZES = (4, 3, 8)
STRATEGIES = ["branches", "grouped"]
# float32 on a CPU: the two layouts, shards and resumed runs agree to rounding
TIGHT = dict(rtol=0, atol=1e-5)


@pytest.fixture(scope="module")
def tiny_data():
    rng = np.random.default_rng(0)
    return Dataset(
        rng.random((96, 28, 28), dtype=np.float32),
        rng.integers(0, 10, 96),
        rng.random((20, 28, 28), dtype=np.float32),
        rng.integers(0, 10, 20),
        "random test images",
    )


@pytest.fixture(scope="module")
def digits():
    """scikit-learn's 8×8 digits: a small task that a small network really learns."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)
    return Dataset(x[:1400], d.target[:1400], x[1400:], d.target[1400:], "scikit-learn digits 8×8")


def _train(ens, batches):
    ens.model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=member_loss)
    for xb, yb in batches:
        ens.model.train_on_batch(xb, yb)
    return ens.stacked_weights()


def _batches(data, n_members, steps, batch_size=8):
    """Keras-layout batches (B, h, w, N·c), (B, N) from the engine's own streams and gather."""
    streams = th.BatchStreams(
        len(data.x_train), batch_size=batch_size, members=range(n_members), seed=0
    )
    held = (data.x_train[..., None], data.y_train.astype(np.int32))
    return [
        tuple(keras.ops.convert_to_numpy(a) for a in loop._gather(held, (idx,), "ensemble"))
        for idx in streams.indices(0, steps)
    ]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_members_start_from_different_weights(strategy):
    ens = th.EnsembleM(SIZES, 3, strategy=strategy, seed=0)
    k = ens.conv_kernels()["conv1"]
    assert not np.allclose(k[0], k[1]) and not np.allclose(k[1], k[2])


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_member_init_has_the_spread_of_a_plain_model(strategy):
    ens = th.EnsembleM((16, 8, 8), 4, strategy=strategy, seed=0)
    plain = th.build_m(16, 8, 8, seed=0)
    for mine, theirs in zip(ens.member_weights(2), plain.get_weights()):
        assert mine.shape == theirs.shape
        assert mine.std() == pytest.approx(np.asarray(theirs).std(), rel=0.2, abs=1e-12)


def test_both_layouts_and_a_shard_start_from_the_same_weights():
    a = th.EnsembleM(SIZES, 3, strategy="branches", seed=4).stacked_weights()
    b = th.EnsembleM(SIZES, 3, strategy="grouped", seed=4).stacked_weights()
    shard = th.EnsembleM(SIZES, 2, strategy="grouped", seed=4, first_member=1).stacked_weights()
    for wa, wb, ws in zip(a, b, shard):
        np.testing.assert_array_equal(wa, wb)
        np.testing.assert_array_equal(wa[1:], ws)


def test_members_see_different_batch_orders_and_every_image_once_per_epoch(tiny_data):
    streams = th.BatchStreams(len(tiny_data.x_train), batch_size=8, members=range(3), seed=0)
    idx = streams.indices(0, 96 // 8)  # one epoch: (12, 3, 8)
    assert idx.shape == (12, 3, 8) and not np.array_equal(idx[0, 0], idx[0, 1])
    for m in range(3):
        assert sorted(idx[:, m].ravel()) == list(range(96))
    assert not np.array_equal(streams.indices(12, 1)[0], idx[0])  # the next epoch is another order


def test_a_stream_depends_on_the_member_and_step_alone():
    whole = th.BatchStreams(100, batch_size=7, members=range(4), seed=3).indices(0, 40)
    part = th.BatchStreams(100, batch_size=7, members=[2, 3], seed=3).indices(
        25, 15
    )  # later start, a shard
    np.testing.assert_array_equal(whole[25:, 2:], part)


def test_the_gather_puts_member_i_in_channel_i(tiny_data):
    streams = th.BatchStreams(len(tiny_data.x_train), batch_size=8, members=range(3), seed=0)
    idx = streams.indices(0, 1)[0]
    xb, yb = _batches(tiny_data, 3, 1)[0]
    assert xb.shape == (8, 28, 28, 3) and yb.shape == (8, 3)
    np.testing.assert_array_equal(xb[..., 1], tiny_data.x_train[idx[1]])
    np.testing.assert_array_equal(yb[:, 2], tiny_data.y_train[idx[2]])


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_training_one_members_data_does_not_move_another_members_weights(tiny_data, strategy):
    batches = _batches(tiny_data, 3, 4)
    altered = []
    for xb, yb in batches:
        xb, yb = xb.copy(), yb.copy()
        xb[..., 0] = 1.0 - xb[..., 0]  # member 0 sees other images and labels
        yb[:, 0] = (yb[:, 0] + 1) % 10
        altered.append((xb, yb))
    a = _train(th.EnsembleM(SIZES, 3, strategy=strategy, seed=0), batches)
    b = _train(th.EnsembleM(SIZES, 3, strategy=strategy, seed=0), altered)
    assert not np.allclose(a[0][0], b[0][0])  # member 0 did learn differently
    for wa, wb in zip(a, b):
        np.testing.assert_allclose(
            wa[1:], wb[1:], rtol=0, atol=1e-6
        )  # members 1 and 2 did not move


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


def test_both_layouts_train_the_same_networks(tiny_data):
    kw = dict(
        sizes=SIZES,
        n_members=3,
        steps=7,
        batch_size=8,
        snapshots=(0, 3, 7),
        chunk=4,
        use_cache=False,
        progress=False,
    )
    a = th.train_ensemble(tiny_data, strategy="branches", **kw)
    b = th.train_ensemble(tiny_data, strategy="grouped", **kw)
    np.testing.assert_allclose(a.loss, b.loss, rtol=1e-5)  # same batches, same dropout masks
    for wa, wb in zip(a.weights, b.weights):
        np.testing.assert_allclose(wa, wb, **TIGHT)
    assert a.loss.shape == (7, 3) and np.all(np.isfinite(a.loss))


def test_the_xla_compiled_loop_of_an_accelerator_trains_the_same_networks(tiny_data, monkeypatch):
    # on a GPU TensorFlow compiles the chunk with XLA; without dropout (whose random stream is
    # XLA's own there) it must compute what the plain loop computes
    kw = dict(
        sizes=(4, 3, 0),
        n_members=3,
        steps=5,
        batch_size=8,
        strategy="grouped",
        chunk=2,
        use_cache=False,
        progress=False,
    )
    plain = th.train_ensemble(tiny_data, **kw)
    monkeypatch.setattr(loop, "accelerator", lambda: True)
    compiled = th.train_ensemble(tiny_data, **kw)
    for wa, wb in zip(plain.weights, compiled.weights):
        np.testing.assert_allclose(wa, wb, **TIGHT)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_shard_trains_exactly_the_members_of_the_full_run(tiny_data, strategy):
    kw = dict(
        sizes=SIZES,
        n_members=4,
        steps=6,
        batch_size=8,
        snapshots=(0, 6),
        strategy=strategy,
        chunk=4,
        use_cache=False,
        progress=False,
    )
    full = th.train_ensemble(tiny_data, **kw)
    shards = [
        th.train_ensemble(tiny_data, members=(2, 4), **kw),
        th.train_ensemble(tiny_data, members=(0, 2), **kw),
    ]
    assert list(shards[0].members) == [2, 3] and "members 2–3 of 4" in repr(shards[0])
    for wf, ws in zip(full.weights, shards[0].weights):
        np.testing.assert_allclose(wf[2:], ws, **TIGHT)
    merged = th.merge_shards(shards)
    assert merged.config == full.config
    for wf, wm in zip(full.weights, merged.weights):
        np.testing.assert_allclose(wf, wm, **TIGHT)
    np.testing.assert_allclose(full.kernels("conv1", 0), merged.kernels("conv1", 0), **TIGHT)
    np.testing.assert_allclose(full.loss, merged.loss, rtol=1e-5)
    np.testing.assert_array_equal(full.test_accuracy, merged.test_accuracy)


def test_a_shard_keeps_its_own_members_fixed_first_layer(tiny_data):
    K = np.random.default_rng(5).normal(size=(4, 3, 3, 1, 4)).astype(np.float32)  # one per member
    kw = dict(
        sizes=SIZES,
        n_members=4,
        steps=2,
        batch_size=8,
        fixed_conv1=K,
        use_cache=False,
        progress=False,
    )
    shard = th.train_ensemble(tiny_data, members=(1, 3), **kw)
    np.testing.assert_array_equal(shard.kernels("conv1"), K[1:3])
    with pytest.raises(ValueError, match="fixed_conv1 holds 4"):
        th.train_ensemble(tiny_data, **{**kw, "n_members": 5})


def test_shards_of_different_runs_or_with_a_gap_do_not_merge(tiny_data):
    kw = dict(sizes=SIZES, n_members=4, steps=2, batch_size=8, use_cache=False, progress=False)
    a, c = (
        th.train_ensemble(tiny_data, members=(0, 1), **kw),
        th.train_ensemble(tiny_data, members=(2, 4), **kw),
    )
    with pytest.raises(ValueError, match="do not meet"):
        th.merge_shards([a, c])
    other = th.train_ensemble(tiny_data, members=(1, 2), **{**kw, "learning_rate": 1e-2})
    with pytest.raises(ValueError, match="learning_rate"):
        th.merge_shards([a, other])


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_an_interrupted_run_resumes_to_the_weights_of_an_uninterrupted_one(
    tiny_data, strategy, monkeypatch
):
    kw = dict(
        sizes=SIZES,
        n_members=2,
        steps=8,
        batch_size=8,
        snapshots=(0, 2, 8),
        strategy=strategy,
        chunk=2,
        progress=False,
    )
    straight = th.train_ensemble(tiny_data, use_cache=False, **kw)
    real = th.BatchStreams.indices

    def ctrl_c_at_step_4(self, start, count):
        if start >= 4:
            raise KeyboardInterrupt
        return real(self, start, count)

    monkeypatch.setattr(th.BatchStreams, "indices", ctrl_c_at_step_4)
    with pytest.raises(KeyboardInterrupt):
        th.train_ensemble(tiny_data, **kw)
    monkeypatch.setattr(th.BatchStreams, "indices", real)
    assert len(list(th.cache_dir().glob("ensemble-*.ckpt.npz"))) == 1  # the checkpoint it left
    resumed = th.train_ensemble(tiny_data, **kw)
    assert resumed.extras["resumed_at"].tolist() == [4]
    assert not list(th.cache_dir().glob("*.ckpt.npz"))  # done: the checkpoint is gone
    for ws, wr in zip(straight.weights, resumed.weights):
        np.testing.assert_allclose(ws, wr, **TIGHT)
    np.testing.assert_allclose(straight.loss, resumed.loss, rtol=1e-5)
    np.testing.assert_allclose(straight.kernels("conv1", 2), resumed.kernels("conv1", 2), **TIGHT)


def test_bfloat16_reaches_the_float32_accuracy(digits):
    # stated tolerance: mean test accuracy of 4 members within 3 points after the same 300 steps
    kw = dict(
        sizes=(16, 8, 32),
        n_members=4,
        steps=300,
        batch_size=32,
        learning_rate=3e-3,
        use_cache=False,
        progress=False,
    )
    f32 = th.train_ensemble(digits, **kw)
    bf16 = th.train_ensemble(digits, precision="mixed_bfloat16", **kw)
    assert f32.test_accuracy.mean() > 0.85  # the task is learnt at all
    assert abs(bf16.test_accuracy.mean() - f32.test_accuracy.mean()) <= 0.03
    assert bf16.weights[0].dtype == np.float32  # weights stay float32


def test_a_loss_that_is_not_finite_stops_the_run_and_caches_nothing(tiny_data):
    # one NaN image poisons the weights; on some CPUs the loss stays log 10 all the same (oneDNN's
    # ReLU maps NaN to 0 and the cross-entropy clips), so the loop checks the weights as well as
    # the loss
    x = tiny_data.x_train.copy()
    x[5] = np.nan
    bad = Dataset(x, tiny_data.y_train, tiny_data.x_test, tiny_data.y_test, "images with a NaN")
    with pytest.raises(th.TrainingDiverged, match="learning_rate"):
        th.train_ensemble(
            bad, sizes=SIZES, n_members=2, steps=30, batch_size=8, chunk=4, progress=False
        )
    assert not list(th.cache_dir().glob("*.npz"))


def test_snapshots_load_back_bit_identical_from_the_cache(tiny_data):
    kw = dict(
        sizes=SIZES,
        n_members=2,
        steps=3,
        batch_size=8,
        snapshots=(0, 2, 3),
        strategy="branches",
        progress=False,
    )
    first = th.train_ensemble(tiny_data, **kw)
    again = th.train_ensemble(tiny_data, **kw)  # from the cache: no training
    for step in (0, 2, 3):
        a, b = first.kernels("conv1", step), again.kernels("conv1", step)
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
    assert all(x.tobytes() == y.tobytes() for x, y in zip(first.weights, again.weights))
    assert not np.array_equal(
        first.kernels("conv1", 0), first.kernels("conv1", 3)
    )  # training moved them
    np.testing.assert_array_equal(first.kernels("conv1"), first.kernels("conv1", 3))
    assert first.filters("conv2").shape == (2 * 4 * 3, 9)


def test_member_model_reproduces_the_recorded_accuracy(tiny_data):
    r = th.train_ensemble(
        tiny_data,
        sizes=SIZES,
        n_members=2,
        steps=2,
        batch_size=8,
        strategy="grouped",
        progress=False,
    )
    pred = r.member_model(1).predict(tiny_data.x_test[..., None], verbose=0).argmax(-1)
    assert np.mean(pred == tiny_data.y_test) == pytest.approx(r.test_accuracy[1])


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"steps": 0}, "steps"),
        ({"steps": 2.5}, "steps"),
        ({"snapshots": (5,)}, "snapshots"),
        ({"batch_size": 1000}, "batch_size"),
        ({"batch_size": True}, "batch_size"),
        ({"n_members": 0}, "n_members"),
        ({"n_members": 2.5}, "n_members"),
        ({"strategy": "vmap"}, "strategy"),
        ({"sizes": (0, 3, 8)}, "X"),
        ({"sizes": (4, 3)}, "sizes"),
        ({"kernel_size": 4}, "kernel_size"),
        ({"learning_rate": float("nan")}, "learning_rate"),
        ({"learning_rate": -1e-3}, "learning_rate"),
        ({"members": (1, 5)}, "members"),
        ({"members": (2, 2)}, "members"),
        ({"members": 1}, "members"),
        ({"precision": "float16"}, "precision"),
        ({"eval_snapshots": True}, "eval_snapshots"),
        ({"pool": False}, "architecture='C'"),
    ],
)
def test_train_ensemble_rejects_bad_arguments(tiny_data, kwargs, word, strategy):
    args = dict(
        sizes=SIZES,
        n_members=2,
        steps=2,
        batch_size=8,
        strategy=strategy,
        use_cache=False,
        progress=False,
    )
    with pytest.raises(ValueError, match=word):
        th.train_ensemble(tiny_data, **{**args, **kwargs})


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"sizes": (0, 3, 8)}, "X"),
        ({"n_members": 2.5}, "n_members"),
        ({"kernel_size": 2}, "kernel_size"),
        ({"precision": "fp8"}, "precision"),
    ],
)
def test_the_grouped_layout_checks_what_the_branches_check(kwargs, word):
    with pytest.raises(ValueError, match=word):
        th.EnsembleM(**{"sizes": SIZES, "n_members": 2, "strategy": "grouped", **kwargs})


def test_c_network_builds_with_lrn():
    model = th.build_c(8, 8, 16)
    out = model.predict(np.zeros((2, 24, 24, 3), np.float32), verbose=0)
    assert out.shape == (2, 10)
    np.testing.assert_allclose(out.sum(-1), 1, rtol=1e-5)


def test_tensorflows_retracing_notice_is_dropped_and_other_messages_pass(caplog):
    import logging

    logger = logging.getLogger("tensorflow")
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        logger.warning("5 out of the last 5 calls to <function f> triggered tf.function retracing.")
        logger.warning("something else went wrong")
    messages = [r.getMessage() for r in caplog.records if r.name == "tensorflow"]
    assert messages == ["something else went wrong"]
