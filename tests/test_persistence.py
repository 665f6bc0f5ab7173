import numpy as np
import pytest

import topohelpers as th


def test_noisy_circle_has_one_h1_bar_far_longer_than_the_rest(noisy_circle):
    pers = th.rips(noisy_circle)
    assert pers.largest_gap(1)[0] == 1
    assert pers.gap_ratio(1) > 10
    assert pers.n_bars(0, longer_than=0.5) == 1  # one component (the essential bar)


def test_klein_bottle_has_two_h1_bars_over_z2_and_one_over_z3():
    X, _, _ = th.klein_bottle(3000, random_state=0)
    z2 = th.rips(X, n_landmarks=600, coeff=2)
    z3 = th.rips(X, n_landmarks=600, coeff=3)
    assert z2.largest_gap(1)[0] == 2 and z2.gap_ratio(1, rank=2) > 2
    assert z3.largest_gap(1)[0] == 1 and z3.gap_ratio(1) > 2


def test_three_circle_model_has_five_h1_bars():
    X, _ = th.three_circle(900, noise=0.02, random_state=0)
    count, ratio = th.rips(X).largest_gap(1)
    assert count == 5 and ratio > 10


def test_landmark_subsample_is_deterministic_and_keeps_the_circle(noisy_circle):
    a = th.rips(noisy_circle, n_landmarks=100)
    b = th.rips(noisy_circle, n_landmarks=100)
    assert a.n_landmarks == 100 and a.n_points == len(noisy_circle)
    assert all(np.array_equal(x, y) for x, y in zip(a.dgms, b.dgms))
    assert a.largest_gap(1)[0] == 1


def test_two_clusters_give_two_long_h0_bars(rng):
    X = np.r_[rng.normal(size=(50, 2)) * 0.1, rng.normal(size=(50, 2)) * 0.1 + 5]
    assert th.rips(X, maxdim=0).n_bars(0, longer_than=1.0) == 2


def test_repr_lists_longest_bars(noisy_circle):
    assert "H1:" in repr(th.rips(noisy_circle))


@pytest.mark.parametrize(
    "kwargs, word", [({"maxdim": -1}, "maxdim"), ({"n_landmarks": 1}, "n_landmarks")]
)
def test_rips_rejects_bad_arguments(noisy_circle, kwargs, word):
    with pytest.raises(ValueError, match=word):
        th.rips(noisy_circle, **kwargs)


def test_asking_for_an_uncomputed_dimension_names_maxdim(noisy_circle):
    with pytest.raises(ValueError, match="maxdim"):
        th.rips(noisy_circle, maxdim=0).n_bars(1)


@pytest.mark.parametrize("coeff", [0, 1, -3, 4, 2.0, True])
def test_rips_coefficients_must_be_a_prime_field(coeff):
    with pytest.raises(ValueError, match="coeff must be a prime"):
        th.rips(np.random.default_rng(0).random((10, 2)), coeff=coeff)
