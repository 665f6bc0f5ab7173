import networkx as nx
import numpy as np
import pytest

import topohelpers as th


def test_gain_3_is_overlap_two_thirds_and_gain_2_is_one_half():
    assert th.gain_to_overlap(3) == pytest.approx(2 / 3)
    assert th.gain_to_overlap(2) == pytest.approx(0.5)


@pytest.mark.parametrize("gain", [0.5, 0, -2, "3", True])
def test_gain_below_one_or_not_a_number_is_rejected(gain):
    with pytest.raises(ValueError, match="gain"):
        th.gain_to_overlap(gain)


def test_gap_clusterer_splits_two_blobs(rng):
    X = np.r_[rng.normal(size=(100, 2)), rng.normal(size=(100, 2)) + 10]
    labels = th.GapSingleLinkage().fit(X).labels_
    assert len(set(labels)) == 2
    assert len(set(labels[:100])) == 1 and len(set(labels[100:])) == 1


@pytest.mark.parametrize("seed", range(5))
def test_gap_clusterer_keeps_one_blob_whole(seed):
    rng = np.random.default_rng(seed)
    assert th.GapSingleLinkage().fit(rng.uniform(size=(200, 2))).n_clusters_ == 1
    assert th.GapSingleLinkage().fit(rng.normal(size=(200, 5))).n_clusters_ == 1


def test_gap_clusterer_keeps_a_regular_grid_whole():
    X = np.stack(np.meshgrid(np.arange(10.0), np.arange(10.0)), -1).reshape(-1, 2)
    assert th.GapSingleLinkage().fit(X).n_clusters_ == 1


def test_gap_clusterer_needs_a_gap_wider_than_a_bin():
    # a line of unit steps, with one step of 2: the bins are (diameter - 1)/10 wide
    near = np.r_[np.arange(20.0), 21.0][:, None]  # diameter 21 -> bins of 2: no empty bin
    far = np.r_[np.arange(20.0), 40.0][:, None]  # a gap of 21 leaves empty bins
    assert th.GapSingleLinkage().fit(near).n_clusters_ == 1
    assert th.GapSingleLinkage().fit(far).n_clusters_ == 2


def test_gap_clusterer_cut_lies_in_the_empty_bin(rng):
    X = np.r_[rng.uniform(size=(50, 2)), rng.uniform(size=(50, 2)) + 5]
    c = th.GapSingleLinkage().fit(X)
    assert 0 < c.threshold_ < 5


def test_mapper_of_noisy_circle_has_one_loop(noisy_circle):
    m = th.Mapper(resolution=8, gain=3).fit(noisy_circle)
    assert m.summary_.n_loops == 1


def test_mapper_with_one_lens_on_circle_has_cycle_rank_one(noisy_circle):
    m = th.Mapper(resolution=10, gain=2, n_components=1).fit(noisy_circle)
    big = max(nx.connected_components(m.G_), key=len)
    G = m.G_.subgraph(big)
    assert th.GraphSummary.of(G).n_cycles == 1


def test_mapper_with_fixed_input_gives_the_same_graph(noisy_circle):
    a = th.Mapper(resolution=10, gain=3).fit(noisy_circle)
    b = th.Mapper(resolution=10, gain=3).fit(noisy_circle)
    assert a.graph_["links"] == b.graph_["links"]
    assert all(np.array_equal(a.nodes_[k], b.nodes_[k]) for k in a.nodes_)


def test_mapper_intervals_have_the_gain_overlap(noisy_circle):
    m = th.Mapper(resolution=6, gain=3).fit(noisy_circle)
    iv = m.intervals_[0]
    length = iv[0, 1] - iv[0, 0]
    step = iv[1, 0] - iv[0, 0]
    assert iv.shape == (6, 2)
    assert (length - step) / length == pytest.approx(2 / 3)


def test_every_point_lands_in_some_node(noisy_circle):
    m = th.Mapper(resolution=12, gain=2).fit(noisy_circle)
    assert set(np.concatenate(list(m.nodes_.values()))) == set(range(len(noisy_circle)))


def test_clique_betti_fills_triangles():
    assert th.clique_betti1(nx.cycle_graph(5)) == 1
    assert th.clique_betti1(nx.complete_graph(5)) == 0
    two = nx.disjoint_union(nx.cycle_graph(4), nx.cycle_graph(7))
    assert th.clique_betti1(two) == 2


def test_vne_metric_divides_columns_by_their_std(rng):
    X = rng.normal(size=(100, 3)) * [1, 10, 100]
    np.testing.assert_allclose(th.variance_normalize(X).std(axis=0), 1)


def test_vne_rejects_a_constant_column():
    with pytest.raises(ValueError, match="constant columns"):
        th.variance_normalize(np.c_[np.arange(5.0), np.ones(5)])


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"resolution": 0}, "resolution"),
        ({"gain": 0.5}, "gain"),
        ({"metric": "cosine"}, "metric"),
        ({"n_components": 20}, "n_components"),
    ],
)
def test_mapper_rejects_bad_parameters(noisy_circle, kwargs, word):
    with pytest.raises(ValueError, match=word):
        th.Mapper(**kwargs).fit(noisy_circle)


def test_mapper_rejects_a_lens_of_the_wrong_length(noisy_circle):
    with pytest.raises(ValueError, match="lens"):
        th.Mapper().fit(noisy_circle, lens=np.zeros(3))


def test_neighbourhood_lens_spectral_is_2d(noisy_circle):
    L = th.neighbourhood_lens(noisy_circle, method="spectral")
    assert L.shape == (len(noisy_circle), 2)
    with pytest.raises(ValueError, match="method"):
        th.neighbourhood_lens(noisy_circle, method="tsne")


def test_ball_mapper_of_circle_has_one_loop_and_covers_every_point(noisy_circle):
    G = th.ball_mapper(noisy_circle, eps=0.3)
    assert th.GraphSummary.of(G).n_loops == 1
    covered = set(np.concatenate([G.nodes[v]["members"] for v in G.nodes]))
    assert covered == set(range(len(noisy_circle)))


def test_ball_mapper_rejects_non_positive_eps(noisy_circle):
    with pytest.raises(ValueError, match="eps"):
        th.ball_mapper(noisy_circle, eps=0)


def test_around_walks_once_round_a_circle_in_angular_order(noisy_circle):
    m = th.Mapper(resolution=10, gain=3).fit(noisy_circle)
    nodes = m.around(8)
    pos = m.positions()
    centre = np.mean([pos[k] for k in pos], axis=0)
    angles = [np.arctan2(*(pos[k] - centre)[::-1]) for k in nodes]
    assert len(nodes) == 8 and np.all(np.diff(angles) > 0)
    with pytest.raises(ValueError, match="n must"):
        m.around(0)


def test_indexed_nerve_gives_kepler_mappers_links():
    from kmapper.nerve import GraphNerve

    from topohelpers.topology.mapper import _indexed_nerve

    rng = np.random.default_rng(3)
    nodes = {
        f"c{i}": sorted(rng.choice(60, size=rng.integers(1, 12), replace=False).tolist())
        for i in range(40)
    }
    ours, ours_s = _indexed_nerve().compute(nodes)
    theirs, theirs_s = GraphNerve().compute(nodes)
    assert dict(ours) == dict(theirs) and ours_s == theirs_s
    assert sum(map(len, theirs.values())) > 0
