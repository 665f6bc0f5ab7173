import re

import numpy as np
import pytest

import topohelpers as th


@pytest.fixture(scope="module")
def circle_mapper():
    rng = np.random.default_rng(0)
    X = th.primary_filter(rng.uniform(0, 2 * np.pi, 600)) + 0.05 * rng.standard_normal((600, 9))
    return th.Mapper(resolution=15, gain=3).fit(X), X


def test_mapper_page_loads_nothing_from_outside(circle_mapper):
    page = th.mapper_html(*circle_mapper)
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', page)
    assert "<script src" not in page and "<link" not in page


def test_mapper_page_draws_every_node_inside_its_frame(circle_mapper):
    mapper, X = circle_mapper
    page = th.mapper_html(mapper, X)
    w, h = (float(v) for v in re.search(r'viewBox="0 0 (\S+) (\S+)"', page).groups())
    circles = re.findall(r'<circle data-i="\d+" cx="(\S+)" cy="(\S+)" r="(\S+)"', page)
    assert len(circles) == mapper.summary_.n_nodes
    for cx, cy, r in (tuple(map(float, c)) for c in circles):
        assert r <= cx <= w - r and r <= cy <= h - r
    assert page.count("<line ") == mapper.summary_.n_edges


def test_mapper_page_lists_each_nodes_members_with_a_thumbnail(circle_mapper):
    import json

    mapper, X = circle_mapper
    page = th.mapper_html(mapper, X)
    members = json.loads(re.search(r"var M = (\[.*?\]), T = ", page).group(1))
    thumbs = json.loads(re.search(r", T = (\{.*?\}), V = ", page).group(1))
    assert [sorted(m) for m in members] == [sorted(map(int, m)) for m in mapper.nodes_.values()]
    assert {str(i) for m in members for i in m} == set(thumbs)
    assert all(t.startswith("data:image/png;base64,") for t in thumbs.values())


def test_mapper_page_is_the_same_for_the_same_seed(circle_mapper):
    assert th.mapper_html(*circle_mapper, seed=1) == th.mapper_html(*circle_mapper, seed=1)


def test_mapper_page_colours_by_a_given_value_with_its_legend(circle_mapper):
    mapper, X = circle_mapper
    value = {k: float(X[m, 0].mean()) for k, m in mapper.nodes_.items()}
    page = th.mapper_html(mapper, X, node_color=value, color_label="first pixel")
    assert "node colour: first pixel" in page
    assert len(set(re.findall(r'fill="(#[0-9a-f]{6})"', page))) > 5


def test_mapper_page_rejects_bad_input(circle_mapper):
    mapper, X = circle_mapper
    with pytest.raises(ValueError, match="not fitted"):
        th.mapper_html(th.Mapper(), X)
    with pytest.raises(ValueError, match="X has 10 rows"):
        th.mapper_html(mapper, X[:10])
    with pytest.raises(ValueError, match="node_color has no value"):
        th.mapper_html(mapper, X, node_color={})


def test_trajectory_page_carries_plotly_inside_it():
    rng = np.random.default_rng(0)
    pts = rng.standard_normal((60, 5))
    page = th.trajectories_3d(pts, np.tile(np.arange(20), 3), np.repeat(np.arange(3), 20))
    assert not re.search(r'<script[^>]+src="(https?:)?//', page)
    assert "Plotly" in page and len(page) > 1_000_000
