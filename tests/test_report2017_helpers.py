"""Helpers of the 2017-report chapter: synthetic shapes, activation maximization, the
three-circle fit and single-network training with snapshots."""

import numpy as np
import pytest

import topohelpers as th

# ---------------------------------------------------------------- synthetic shapes


def test_synthetic_shapes_labels_match_the_drawn_shapes():
    x, y, r = th.synthetic_shapes(200, random_state=0)
    for img, label, size in zip(x, y, r):
        rows, cols = np.nonzero(img > 0.5)
        cy, cx = rows.mean(), cols.mean()
        dist = np.hypot(rows - cy, cols - cx)
        cheb = np.maximum(np.abs(rows - cy), np.abs(cols - cx))
        if label == 0:  # a circle: lit pixels at one Euclidean distance from the centre
            assert np.std(dist) < np.std(cheb) and abs(dist.mean() - size) < 1.0
        else:  # a square: lit pixels at one Chebyshev distance (max of |dx|, |dy|)
            assert np.std(cheb) < min(0.3, np.std(dist)) and abs(cheb.mean() - size) < 0.3


def test_synthetic_shapes_sizes_in_range_and_both_classes_present():
    x, y, r = th.synthetic_shapes(500, radius=(4, 9), random_state=3)
    assert x.shape == (500, 28, 28) and x.dtype == np.float32
    assert r.min() >= 4 and r.max() <= 9 and 0 <= x.min() and x.max() <= 1
    assert 0.4 < y.mean() < 0.6


def test_synthetic_shapes_are_seeded():
    a = th.synthetic_shapes(50, random_state=7)
    b = th.synthetic_shapes(50, random_state=7)
    c = th.synthetic_shapes(50, random_state=8)
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert not np.array_equal(a[0], c[0])


def test_load_shapes_splits_train_and_test():
    ds = th.load_shapes(300, 100, random_state=0)
    assert ds.x_train.shape == (300, 28, 28) and ds.x_test.shape == (100, 28, 28)
    assert "circles and squares" in ds.source


@pytest.mark.parametrize(
    "kwargs, word", [({"n": 0}, "n must"), ({"n": 5, "radius": (3, 20)}, "radius")]
)
def test_synthetic_shapes_reject_bad_arguments(kwargs, word):
    with pytest.raises(ValueError, match=word):
        th.synthetic_shapes(**kwargs)


# ---------------------------------------------------------------- three-circle fit


def test_three_circle_fit_names_the_circle_and_angle():
    X = np.r_[
        th.primary_filter([0.3]), th.klein_filter([0.0], [1.0]), th.klein_filter([np.pi / 2], [4.0])
    ]
    circle, angle, residual = th.fit_three_circle(X)
    assert circle.tolist() == [0, 1, 2]
    np.testing.assert_allclose(angle, [0.3, 1.0, 4.0], atol=0.01)
    assert residual.max() < 0.01


def test_three_circle_fit_puts_a_klein_bottle_point_off_the_model():
    # a line at 45° (θ = π/4, φ = 0) lies on the Klein bottle but on none of the three circles
    *_, residual = th.fit_three_circle(th.klein_filter([np.pi / 4], [0.0]))
    assert residual[0] > 0.5


# ---------------------------------------------------------------- activation maximization


def _edge_model(keras, kernel):
    model = keras.Sequential(
        [
            keras.Input((12, 12, 1)),
            keras.layers.Conv2D(1, 3, activation="relu", name="edge", use_bias=False),
        ]
    )
    model.get_layer("edge").set_weights([kernel[:, :, None, None].astype("float32")])
    return model


def test_vertical_edge_filter_is_maximized_by_a_vertical_edge():
    keras = pytest.importorskip("keras")
    vertical = np.array([[-1.0, 0, 1]] * 3)  # intensity rises from left to right
    x = th.maximize_activation(_edge_model(keras, vertical), "edge", [0])[..., 0]
    across, along = np.mean(np.diff(x, axis=1) ** 2), np.mean(np.diff(x, axis=0) ** 2)
    assert across > 10 * along  # it changes across columns, not down rows
    assert x[:, 7].mean() > x[:, 5].mean()  # and brightens to the right, like the filter
    horizontal = th.maximize_activation(_edge_model(keras, vertical.T), "edge", [0])[..., 0]
    assert np.mean(np.diff(horizontal, axis=0) ** 2) > 10 * np.mean(
        np.diff(horizontal, axis=1) ** 2
    )


def test_maximize_activation_names_a_bad_layer_or_channel():
    keras = pytest.importorskip("keras")
    model = _edge_model(keras, np.eye(3))
    with pytest.raises(ValueError, match="layer"):
        th.maximize_activation(model, "conv9", [0])
    with pytest.raises(ValueError, match="channels"):
        th.maximize_activation(model, "edge", [3])


# ---------------------------------------------------------------- single-network training


def test_train_network_records_the_weights_the_model_had_at_each_snapshot():
    keras = pytest.importorskip("keras")
    ds = th.load_shapes(64, 16, random_state=0)

    def build():
        return keras.Sequential(
            [
                keras.Input((28, 28, 1)),
                keras.layers.Conv2D(4, 5, name="conv1", activation="relu"),
                keras.layers.GlobalMaxPooling2D(),
                keras.layers.Dense(2, activation="softmax"),
            ]
        )

    r = th.train_network(
        build,
        ds,
        name="tiny",
        steps=3,
        batch_size=8,
        learning_rate=1e-2,
        snapshots=(0, 1),
        progress=False,
    )
    assert sorted(r.snapshots) == [0, 1, 3]
    np.testing.assert_array_equal(r.kernel("conv1"), r.weights[0])  # last snapshot = final weights
    assert not np.array_equal(r.kernel("conv1", 0), r.kernel("conv1", 3))
    keras.utils.set_random_seed(0)
    np.testing.assert_array_equal(
        r.kernel("conv1", 0), build().get_weights()[0]
    )  # step 0 = the seeded init
    again = th.train_network(
        build,
        ds,
        name="tiny",
        steps=3,
        batch_size=8,
        learning_rate=1e-2,
        snapshots=(0, 1),
        progress=False,
    )
    assert again.kernel("conv1", 1).tobytes() == r.kernel("conv1", 1).tobytes()
    assert r.filters("conv1").shape == (4, 25)
    with pytest.raises(ValueError, match="layers"):
        th.train_network(
            build,
            ds,
            name="tiny",
            steps=1,
            batch_size=8,
            layers=("conv7",),
            use_cache=False,
            progress=False,
        )
