import numpy as np
import pytest
from scipy.spatial.distance import cdist

import topohelpers as th


@pytest.mark.parametrize("k, p", [(1, 0.5), (5, 0.3), (20, 0.1), (49, 1.0)])
def test_density_filtration_keeps_floor_pn_densest_points_like_brute_force(rng, k, p):
    X = rng.normal(size=(50, 3)) * rng.uniform(0.2, 2, size=(50, 1))
    Y, idx = th.density_filtration(X, k=k, p=p, return_index=True)
    D = cdist(X, X)
    rho = np.sort(D, axis=1)[:, k]  # column 0 is the point itself
    assert len(idx) == int(np.floor(p * len(X)))
    assert set(idx) == set(np.argsort(rho, kind="stable")[: len(idx)])
    assert rho[idx].max() <= np.sort(rho)[len(idx) - 1] + 1e-12
    np.testing.assert_array_equal(Y, X[idx])


def test_knn_distance_does_not_count_the_point_itself():
    np.testing.assert_allclose(th.knn_distance([[0.0], [1.0], [3.0]], k=1), [1, 1, 2])


def test_filtration_removes_clutter_around_a_circle(rng):
    circle, _ = th.primary_circle(300, noise=0.05, random_state=0)
    clutter = th.normalize(rng.normal(size=(300, 9)))
    _, idx = th.density_filtration(np.r_[circle, clutter], k=10, p=0.4, return_index=True)
    assert np.mean(idx < 300) > 0.95


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"k": 10, "p": 0.5}, "k=10"),
        ({"k": 0, "p": 0.5}, "k"),
        ({"k": 2, "p": 0}, "p"),
        ({"k": 2, "p": 1.5}, "p"),
        ({"k": 2, "p": 0.01}, "p"),
    ],
)
def test_density_filtration_rejects_bad_arguments(rng, kwargs, word):
    with pytest.raises(ValueError, match=word):
        th.density_filtration(rng.normal(size=(10, 2)), **kwargs)


@pytest.mark.parametrize("normalization, dim", [("dct", 8), ("euclidean", 9)])
def test_normalize_patches_puts_patches_on_the_unit_sphere(rng, normalization, dim):
    X = th.normalize_patches(rng.normal(size=(40, 9)) + 3.0, normalization)
    assert X.shape == (40, dim)
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0)


def test_normalize_patches_matches_natural_patches():
    img = np.random.default_rng(0).uniform(0.05, 1, size=(40, 50))
    pixel = th.natural_patches([img], n_per_image=200, normalization="euclidean", random_state=1)
    dct = th.natural_patches([img], n_per_image=200, normalization="dct", random_state=1)
    np.testing.assert_allclose(th.normalize_patches(pixel, "dct"), dct, atol=1e-12)
    np.testing.assert_allclose(th.normalize_patches(pixel, "euclidean"), pixel, atol=1e-12)


@pytest.mark.parametrize(
    "P, kwargs, word",
    [
        (np.ones((3, 8)), {}, "3×3"),
        (np.ones((3, 9)), {}, "constant"),
        (np.eye(9), {"normalization": "pca"}, "normalization"),
    ],
)
def test_normalize_patches_rejects_bad_arguments(P, kwargs, word):
    with pytest.raises(ValueError, match=word):
        th.normalize_patches(P, **kwargs)


def test_cloud_k_keeps_caps_or_scales_the_paper_s_k_and_refuses_a_k_the_cloud_cannot_hold():
    assert th.cloud_k(10, 11) == 10
    assert (
        th.cloud_k(200, 150, k_scale="cap") == 149 and th.cloud_k(200, 6400, k_scale="cap") == 200
    )
    assert th.cloud_k(200, 3200, k_scale="ratio", n_paper=6400) == 100
    with pytest.raises(ValueError, match="k_scale='cap'"):
        th.cloud_k(10, 10)
    with pytest.raises(ValueError, match="n_paper"):
        th.cloud_k(10, 100, k_scale="ratio")
    with pytest.raises(ValueError, match="n_paper"):
        th.cloud_k(10, 100, n_paper=6400)
    with pytest.raises(ValueError, match="k_scale"):
        th.cloud_k(10, 100, k_scale="scaled")


def test_analyze_filters_reports_the_k_it_used():
    X, _ = th.primary_circle(120, noise=0.05, random_state=0)
    assert th.analyze_filters(X, k=200, p=0.5, k_scale="cap", mapper=False).k == 119
    assert th.analyze_filters(X, k=200, p=0.5, k_scale="ratio", n_paper=6400, mapper=False).k == 4
    with pytest.raises(ValueError, match="k=200 needs more than 200 points"):
        th.analyze_filters(X, k=200, p=0.5, mapper=False)
