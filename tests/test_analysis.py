"""analyze_filters: the chapters' filter-cloud pipeline gives the right measures on known clouds."""

import numpy as np
import pytest

import topohelpers as th


def test_a_noisy_circle_is_a_circle_on_every_measure():
    X, _ = th.primary_circle(600, noise=0.1, random_state=0)
    r = th.analyze_filters(X, k=20, p=0.5, resolution=12, gain=3)
    assert len(r.core) == 300 and r.k == 20 and r.n_filters == 600
    assert r.circle and r.h1[0] == 1
    assert r.near_primary > 0.95 and r.far_from_klein() < 0.05
    assert r.mapper.summary_.n_loops == 1 and r.mapper.summary_.n_components == 1
    assert set(r.row()) >= {
        "H1 bars",
        "drop ratio",
        "near circle",
        "far from Klein",
        "Mapper loops",
    }


def test_random_filters_are_not_a_circle_and_lie_off_the_models():
    R = np.random.default_rng(0).standard_normal((600, 9))
    r = th.analyze_filters(R, mapper=False)
    assert not r.circle
    assert r.near_primary < 0.1 and r.far_from_klein() > 0.5
    assert r.mapper is None and "Mapper loops" not in r.row()


def test_lines_count_on_the_secondary_circles_and_edges_do_not():
    lines = th.klein_filter(np.zeros(50), np.zeros(50))  # vertical lines: secondary θ = 0, φ = 0
    edges, _ = th.primary_circle(50, random_state=0)
    r = th.analyze_filters(np.concatenate([lines, edges]), mapper=False)
    assert r.on_secondary(1) == pytest.approx(0.5) and r.on_secondary(2) == 0
    assert r.near_primary == pytest.approx(0.5)


def test_k_and_p_go_together():
    with pytest.raises(ValueError, match="give both k and p"):
        th.analyze_filters(np.random.default_rng(0).standard_normal((50, 9)), k=5)


def test_vanishing_filters_are_dropped_and_counted_not_hidden():
    X, _ = th.primary_circle(200, noise=0.05, random_state=0)
    F = np.concatenate([X, np.zeros((7, 9)), 1e-9 * X[:5]])
    with pytest.raises(ValueError, match="7 constant rows"):
        th.analyze_filters(F, mapper=False)
    r = th.analyze_filters(F, mapper=False, drop_vanishing=True)
    assert r.n_dropped == 12 and r.n_filters == 200 and r.row()["vanishing"] == 12


def test_long_bars_count_the_circle_and_not_random_clouds():
    key = f"H1 > {th.analysis.LONG_BAR:g}"
    for seed in range(3):
        R = np.random.default_rng(seed).standard_normal((300, 9))
        assert th.analyze_filters(R, mapper=False).row()[key] == 0
    X, _ = th.primary_circle(300, noise=0.1, random_state=0)
    assert th.analyze_filters(X, mapper=False).row()[key] == 1
