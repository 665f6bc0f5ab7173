"""Bad input, tried as a careless user would: every public name answers with a ValueError (or
TypeError) that names the argument — never a silent result, a deep library error or a crash."""

import numpy as np
import pytest

import topohelpers as th

rng = np.random.default_rng(0)
X = rng.random((60, 9))
img = rng.random((40, 40))
nanimg = img.copy()
nanimg[3, 3] = np.nan

CASES = [
    (
        "natural_patches constant",
        "images",
        lambda: th.natural_patches([np.ones((40, 40))], n_per_image=50),
    ),
    ("natural_patches negative", "images", lambda: th.natural_patches([-img], n_per_image=50)),
    ("fit_klein_bottle chunk=-1", "chunk", lambda: th.fit_klein_bottle(th.normalize(X), chunk=-1)),
    (
        "fit_klein_bottle n_theta=0",
        "n_theta",
        lambda: th.fit_klein_bottle(th.normalize(X), n_theta=0),
    ),
    ("photo_crops size=0", "size", lambda: th.photo_crops(n_train=20, n_test=10, size=0)),
    ("load_shapes n_train=-5", "n_train", lambda: th.load_shapes(n_train=-5, n_test=5)),
    ("standardize NaN", "x", lambda: th.standardize(nanimg[None, ..., None])),
    ("density p=True", "p", lambda: th.density_filtration(X, k=5, p=True)),
    ("density k=True", "k", lambda: th.density_filtration(X, k=True, p=0.5)),
    ("density k=2.5", "k", lambda: th.density_filtration(X, k=2.5, p=0.5)),
    ("ball_mapper eps=True", "eps", lambda: th.ball_mapper(X, eps=True)),
    ("ball_mapper eps=-1", "eps", lambda: th.ball_mapper(X, eps=-1)),
    ("Mapper gain=inf", "gain", lambda: th.Mapper(gain=float("inf")).fit(X)),
    ("Mapper resolution=0", "resolution", lambda: th.Mapper(resolution=0).fit(X)),
    ("Mapper resolution=2.5", "resolution", lambda: th.Mapper(resolution=2.5).fit(X)),
    ("ReportCard profile bogus", "profile", lambda: th.ReportCard("x", profile="bogus")),
    ("klein_bottle noise=-1", "noise", lambda: th.klein_bottle(10, noise=-1)),
    ("primary_circle noise=-1", "noise", lambda: th.primary_circle(10, noise=-1)),
    ("three_circle n=0", "n", lambda: th.three_circle(0)),
    ("build_mlp std=-1", "std", lambda: th.build_mlp(init="normal", std=-1)),
    ("null_filters n=0", "n", lambda: th.null_filters(0, 9)),
    ("null_filters n=2.5", "n", lambda: th.null_filters(2.5, 9)),
    ("rips maxdim=True", "maxdim", lambda: th.rips(X, maxdim=True)),
    ("knn k=0", "k", lambda: th.knn_distance(X, k=0)),
    ("knn k=True", "k", lambda: th.knn_distance(X, k=True)),
    ("scaled_k n=0", "n", lambda: th.scaled_k(200, 6400, 0)),
    ("cloud_k k too large", "k_scale", lambda: th.cloud_k(200, 60)),
    ("cloud_k ratio without n_paper", "n_paper", lambda: th.cloud_k(200, 60, k_scale="ratio")),
    ("cloud_k bogus k_scale", "k_scale", lambda: th.cloud_k(20, 60, k_scale="scaled")),
    ("analyze k larger than the cloud", "k_scale", lambda: th.analyze_filters(X, k=200, p=0.3)),
    ("circle_filters n=2.5", "n", lambda: th.circle_filters(2.5)),
    ("synthetic_shapes n=-1", "n", lambda: th.synthetic_shapes(-1)),
    ("normalize NaN", "X", lambda: th.normalize(np.r_[X, [[np.nan] * 9]])),
    ("analyze k only", "k", lambda: th.analyze_filters(X, k=5)),
    ("primary_filter size=0", "size", lambda: th.primary_filter(0.3, size=0)),
    ("klein_filters n_theta=0", "n_theta", lambda: th.klein_filters(0, 4)),
    ("normalize_patches bad", "normalization", lambda: th.normalize_patches(X, "foo")),
    ("vanishing rel=-1", "rel", lambda: th.vanishing(X, rel=-1)),
    ("gain_to_overlap 0.5", "gain", lambda: th.gain_to_overlap(0.5)),
    ("kmapper11_overlap -1", "perc", lambda: th.kmapper11_overlap(-1)),
    ("synthetic_digits n=0", "n", lambda: th.synthetic_digits(0)),
    ("rise_together short", "min_points", lambda: th.rise_together([1, 2], [1, 2], min_points=0)),
    (
        "neighbourhood_lens n_neighbors=0",
        "n_neighbors",
        lambda: th.neighbourhood_lens(X, n_neighbors=0),
    ),
    ("superlevel_h0 mismatched", "u", lambda: th.superlevel_h0([0, 1], [1], [0.5, 0.2])),
    (
        "greater_than_null n_resamples=0",
        "n_resamples",
        lambda: th.greater_than_null([1.0], [[0.1, 0.2]], n_resamples=0),
    ),
    ("by_profile name bogus", "name", lambda: th.by_profile(smoke=1, book=2, paper=3, name="x")),
    ("Bars count=-1", "count", lambda: th.Bars(count=-1)),
    ("AtLeast threshold nan", "threshold", lambda: th.AtLeast(float("nan"))),
    ("OverCovers what bogus", "what", lambda: th.OverCovers("bogus")),
    ("plot_filters ncols=0", "ncols", lambda: th.plot_filters(X, ncols=0)),
    ("spatial_filters 2d", "kernel", lambda: th.spatial_filters(np.ones((3, 3)))),
    ("filters_to_kernel c_in=0", "c_in", lambda: th.filters_to_kernel(X, c_in=0)),
    ("GapSingleLinkage n_bins=0", "n_bins", lambda: th.GapSingleLinkage(n_bins=0).fit(X)),
    ("d_norm NaN", "P", lambda: th.d_norm(np.r_[X, [[np.nan] * 9]])),
]


@pytest.mark.parametrize("label, argument, call", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_with_the_argument_named(label, argument, call):
    with pytest.raises((ValueError, TypeError)) as err:
        call()
    assert argument in str(err.value), (
        f"{label}: the message does not name {argument!r}: {err.value}"
    )
