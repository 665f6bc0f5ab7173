import numpy as np
import pytest

import topohelpers as th


def test_spatial_filters_give_cin_times_cout_points_of_hw(rng):
    k = rng.normal(size=(3, 3, 4, 5))
    F = th.spatial_filters(k)
    assert F.shape == (20, 9)
    np.testing.assert_array_equal(F[2 * 5 + 3], k[:, :, 2, 3].ravel())


def test_spatial_filters_read_a_keras_layer():
    keras = pytest.importorskip("keras")
    layer = keras.layers.Conv2D(6, 3)
    layer.build((None, 8, 8, 2))
    F = th.spatial_filters(layer)
    assert F.shape == (12, 9)
    np.testing.assert_allclose(F[7], np.asarray(layer.get_weights()[0])[:, :, 1, 1].ravel())


def test_dense_vectors_are_incoming_weights(rng):
    W = rng.normal(size=(784, 100))
    np.testing.assert_array_equal(th.dense_vectors(W)[17], W[:, 17])


def test_normalize_gives_mean_zero_unit_rows(rng):
    Y = th.normalize(rng.normal(size=(30, 9)) * 5 + 3)
    np.testing.assert_allclose(Y.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(Y, axis=1), 1)


def test_normalize_rejects_constant_rows_with_a_count():
    with pytest.raises(ValueError, match="2 constant rows"):
        th.normalize(np.array([[1.0, 1, 1], [0, 1, 2], [2, 2, 2]]))


def test_normalize_rejects_non_finite_rows_with_a_count():
    with pytest.raises(ValueError, match="1 rows with NaN"):
        th.normalize(np.array([[np.nan, 1, 1], [0, 1, 2]]))


@pytest.mark.parametrize("shape", [(3, 3, 2), (9,), (3, 3, 1, 1, 1)])
def test_spatial_filters_reject_wrong_shapes(shape):
    with pytest.raises(ValueError, match="kernel"):
        th.spatial_filters(np.zeros(shape))


def test_ideal_filters_are_mean_zero_and_unit_norm():
    for F in (
        th.primary_filter(np.linspace(0, 6, 7)),
        th.klein_filter(np.r_[0.3, 1.0], np.r_[0.5, 2.0]),
    ):
        np.testing.assert_allclose(F.sum(axis=1), 0, atol=1e-12)
        np.testing.assert_allclose(np.linalg.norm(F, axis=1), 1)


def test_primary_circle_is_the_klein_bottle_at_phi_half_pi():
    theta = np.linspace(0, 3, 5)
    np.testing.assert_allclose(
        th.klein_filter(theta, np.pi / 2), th.primary_filter(theta), atol=1e-12
    )


def test_klein_bottle_identification_theta_plus_pi_is_phi_minus():
    theta, phi = np.r_[0.2, 1.1], np.r_[0.7, 2.5]
    np.testing.assert_allclose(
        th.klein_filter(theta + np.pi, phi), th.klein_filter(theta, -phi), atol=1e-12
    )


def test_angle_fit_recovers_angles_and_rejects_non_edges():
    theta = np.linspace(0, 2 * np.pi, 13, endpoint=False)
    est, res = th.fit_primary_circle(th.primary_filter(theta))
    np.testing.assert_allclose(np.exp(1j * est), np.exp(1j * theta), atol=1e-9)
    np.testing.assert_allclose(res, 0, atol=1e-6)
    # a pure line (phi = 0) is orthogonal to every edge: residual sqrt(2)
    _, res_line = th.fit_primary_circle(th.klein_filter([0.0], [0.0]))
    assert res_line[0] == pytest.approx(np.sqrt(2))


def test_angle_fit_of_noisy_circle_is_close(rng):
    X, theta = th.primary_circle(200, noise=0.02, random_state=3)
    est, res = th.fit_primary_circle(X)
    assert np.abs(np.angle(np.exp(1j * (est - theta)))).max() < 0.1
    assert res.max() < 0.15


def test_angle_fit_needs_square_filters():
    with pytest.raises(ValueError, match=r"\(n, 9\)"):
        th.fit_primary_circle(np.ones((4, 24)))


def test_5x5_ideal_filters_fit_back_to_their_angles():
    theta = np.linspace(0, 2 * np.pi, 7, endpoint=False)
    est, res = th.fit_primary_circle(th.primary_filter(theta, size=5))
    np.testing.assert_allclose(np.exp(1j * est), np.exp(1j * theta), atol=1e-9)
    circle, angle, res3 = th.fit_three_circle(th.klein_filter([0.0], [1.0], size=5))
    assert circle[0] == 1 and abs(angle[0] - 1.0) < 0.01 and res3[0] < 0.01


def test_three_circle_labels_and_sizes():
    X, c = th.three_circle(30, random_state=0)
    assert X.shape == (30, 9) and np.bincount(c).tolist() == [10, 10, 10]


@pytest.mark.parametrize("fn", [th.primary_circle, th.klein_bottle, th.three_circle])
def test_samplers_reject_bad_n_and_noise(fn):
    with pytest.raises(ValueError, match="n must"):
        fn(0)
    with pytest.raises(ValueError, match="noise"):
        fn(5, noise=-1)
