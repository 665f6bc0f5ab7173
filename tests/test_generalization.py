"""Chapter 8's helpers: the SVHN stand-in, fixed first layers, appended filter responses."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import topohelpers as th  # noqa: E402
from topohelpers.data import Dataset, svhn  # noqa: E402
from topohelpers.nets import EnsembleM, member_loss  # noqa: E402

# --------------------------------------------------------------------------- the SVHN stand-in


def test_standin_digits_are_seeded_balanced_and_svhn_shaped():
    x, y = th.synthetic_digits(100, random_state=5)
    x2, y2 = th.synthetic_digits(100, random_state=5)
    x3, _ = th.synthetic_digits(100, random_state=6)
    assert x.shape == (100, 28, 28) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    assert np.bincount(y).tolist() == [10] * 10
    assert np.array_equal(x, x2) and np.array_equal(y, y2) and not np.array_equal(x, x3)
    with pytest.raises(ValueError, match="multiple of 10"):
        th.synthetic_digits(15)


def _match_rate(x, labels, p, idx):
    """Share of samples whose image correlates best with the glyph of their label, each candidate
    glyph drawn in the sample's own font with the sample's own size, rotation and position."""
    from skimage.transform import resize

    hits = 0
    centre = slice(7, 21)  # the neighbours, cut off at the sides, stay out of it
    for i in idx:
        im = x[i][:, centre] - x[i][:, centre].mean()
        scores = []
        for d in range(10):
            m = resize(svhn.render_digit(d, p, i, background=False), (28, 28), anti_aliasing=True)[
                :, centre
            ]
            m = m - m.mean()
            scores.append(abs((m * im).sum()) / (np.linalg.norm(m) * np.linalg.norm(im) + 1e-9))
        hits += int(np.argmax(scores) == labels[i])
    return hits / len(idx)


def test_standin_labels_match_the_rendered_digit_by_template_matching():
    x, y, p = th.synthetic_digits(100, random_state=3, return_params=True)
    idx = range(100)
    assert _match_rate(x, y, p, idx) >= 0.95
    assert _match_rate(x, (y + 1) % 10, p, idx) <= 0.3  # wrong labels do not match


def test_sklearn_digits_are_a_28x28_test_set():
    d = th.load_sklearn_digits()
    assert d.x_test.shape == (1797, 28, 28) and len(d.x_train) == 0
    assert d.x_test[:, :4].max() == 0 and 0.9 < d.x_test.max() <= 1.0


# --------------------------------------------------------------------------- ideal filters


def test_circle_filters_are_evenly_spaced_ideal_edges():
    F = th.circle_filters(64)
    theta, res = th.fit_primary_circle(F)
    assert res.max() < 1e-6
    steps = np.diff(np.unwrap(theta))
    assert np.allclose(steps, 2 * np.pi / 64)
    K = th.klein_filters(8, 8)
    assert K.shape == (64, 9) and th.fit_klein_bottle(K)[2].max() < 0.02
    assert np.allclose(th.spatial_filters(th.filters_to_kernel(F)), F)


# ------------------------------------------------------------------------ fixed and appended layers


@pytest.fixture(scope="module")
def tiny_mnist():
    rng = np.random.default_rng(0)
    return Dataset(
        rng.random((64, 28, 28), dtype=np.float32),
        rng.integers(0, 10, 64),
        rng.random((16, 28, 28), dtype=np.float32),
        rng.integers(0, 10, 16),
        "random images",
    )


@pytest.mark.parametrize("strategy", ["branches", "grouped"])
def test_a_frozen_first_layer_does_not_change_during_training(tiny_mnist, strategy):
    K = th.filters_to_kernel(th.circle_filters(8))
    r = th.train_ensemble(
        tiny_mnist,
        sizes=(8, 4, 6),
        n_members=2,
        steps=4,
        batch_size=8,
        fixed_conv1=K,
        snapshots=(0, 4),
        strategy=strategy,
        learning_rate=1e-2,
        progress=False,
    )
    for member in range(2):
        assert np.array_equal(r.kernels("conv1")[member], K.astype(np.float32))
        assert np.array_equal(r.weights[1][member], np.zeros(8, np.float32))  # its bias too
    assert not np.allclose(r.kernels("conv2", step=0), r.kernels("conv2"))  # the rest learns


@pytest.mark.parametrize("strategy", ["branches", "grouped"])
def test_appended_features_equal_a_plain_convolution_concatenated_to_the_input(strategy):
    rng = np.random.default_rng(1)
    x = rng.random((5, 28, 28, 1)).astype("float32")
    A = th.filters_to_kernel(th.klein_filters(2, 3)).astype("float32")  # 6 fixed filters
    ens = EnsembleM((8, 4, 6), 2, strategy=strategy, append=A, seed=0)
    probs = ens.predict(x)
    inp = keras.Input((28, 28, 1))
    conv = keras.layers.Conv2D(6, 3, padding="same", use_bias=False)
    plain = th.build_m(8, 4, 6, input_shape=(28, 28, 7))
    ref = keras.Model(inp, plain(keras.layers.Concatenate()([inp, conv(inp)])))
    conv.set_weights([A])
    # the responses themselves: scipy's correlation with zero padding
    from scipy.ndimage import correlate

    resp = keras.Model(inp, conv(inp)).predict(x, verbose=0)
    assert np.allclose(
        resp[0, ..., 2], correlate(x[0, ..., 0], A[:, :, 0, 2], mode="constant"), atol=1e-5
    )
    for i in range(2):
        plain.set_weights(ens.member_weights(i))
        assert np.allclose(probs[:, i], ref.predict(x, verbose=0), atol=1e-5)
    ens.model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=member_loss)
    ens.model.train_on_batch(np.concatenate([x, x], -1), np.zeros((5, 2), int))
    name = "append_0" if strategy == "branches" else "append"
    kernel = ens.model.get_layer(name).get_weights()[0]
    assert np.array_equal(kernel[..., :6], A)  # the fixed filters stay fixed


def test_snapshot_accuracies_and_cross_domain_evaluation(tiny_mnist):
    A = th.filters_to_kernel(th.circle_filters(4)).astype("float32")
    r = th.train_ensemble(
        tiny_mnist,
        sizes=(4, 0, 4),
        n_members=2,
        steps=3,
        batch_size=8,
        append=A,
        snapshots=(0, 3),
        eval_snapshots=10,
        progress=False,
    )
    steps, acc = r.accuracy_curve()
    assert steps.tolist() == [0, 3] and acc.shape == (2, 2)
    full = r.accuracy(tiny_mnist.x_test[:10, :, :, None], tiny_mnist.y_test[:10])
    assert np.allclose(full, acc[-1])  # same weights, same images, same answer
    with pytest.raises(ValueError, match="fixed_conv1 must have shape"):
        EnsembleM((4, 0, 4), 2, fixed_conv1=np.zeros((3, 3, 1, 5)))


def test_prediction_in_chunks_equals_prediction_at_once():
    ens = EnsembleM((4, 0, 4), 2, seed=0)
    x = np.random.default_rng(2).random((4200, 28, 28, 1)).astype("float32")
    whole = ens.predict(x, batch_size=256)  # 2,048-image chunks: three of them
    assert whole.shape == (4200, 2, 10)
    assert np.allclose(whole[4100:], ens.predict(x[4100:]), atol=1e-6)
    assert np.allclose(whole[:5], ens.predict(x[:5]), atol=1e-6)
