"""CIFAR-10 stand-in, the input pipeline, C(X,Y,Z) ensembles, VGG kernels, Klein-bottle fit,
approximate density filtration."""

import io

import numpy as np
import pytest

import topohelpers as th
from topohelpers.data import Dataset
from topohelpers.data.cifar import _crops
from topohelpers.data.vgg import _kernels_from_h5

# --------------------------------------------------------------------------- the stand-in


def _overlap(a, b):
    """Do two boxes (class, top, left, side) of the same photograph share a pixel?"""
    return (
        a[0] == b[0]
        and a[1] < b[1] + b[3]
        and b[1] < a[1] + a[3]
        and a[2] < b[2] + b[3]
        and b[2] < a[2] + a[3]
    )


def test_standin_train_and_test_crops_never_overlap():
    shapes = [p.shape[:2] for p in th.load_colour_photographs().values()]
    train = th.standin_boxes(shapes, 300, split="train", random_state=3)
    test = th.standin_boxes(shapes, 100, split="test", random_state=3)
    for c in range(10):
        tr, te = train[train[:, 0] == c], test[test[:, 0] == c]
        # every train crop ends left of every test crop's start: no shared column, hence no pixel
        assert tr[:, 2].__add__(tr[:, 3]).max() <= te[:, 2].min()
        assert not any(_overlap(a, b) for a in tr[:50] for b in te[:50])
        h, w = shapes[c]
        assert (
            (tr[:, 1] >= 0).all()
            and (tr[:, 1] + tr[:, 3] <= h).all()
            and (te[:, 2] + te[:, 3] <= w).all()
        )


def test_standin_is_balanced_seeded_and_real_photographs():
    a = th.photo_crops(200, 100, random_state=1)
    b = th.photo_crops(200, 100, random_state=1)
    c = th.photo_crops(200, 100, random_state=2)
    assert (
        np.bincount(a.y_train).tolist() == [20] * 10 and np.bincount(a.y_test).tolist() == [10] * 10
    )
    assert a.x_train.shape == (200, 32, 32, 3) and a.x_train.dtype == np.uint8
    assert np.array_equal(a.x_train, b.x_train) and not np.array_equal(a.x_train, c.x_train)
    assert "stand-in" in a.source
    # a crop at scale 1 is a piece of its photograph, pixel for pixel
    photos = list(th.load_colour_photographs().values())
    box = th.standin_boxes(
        [p.shape[:2] for p in photos], 5, split="train", scales=(1,), random_state=0
    )[7]
    crop = _crops(photos, box[None], 32)[0]
    cls, top, left, side = box
    assert np.array_equal(crop, photos[cls][top : top + 32, left : left + 32])


def test_standin_rejects_unbalanced_sizes():
    with pytest.raises(ValueError, match="n_train must be a positive multiple of 10"):
        th.photo_crops(205, 100)


# --------------------------------------------------------------------------- the pipeline


def test_grayscale_uses_the_papers_weights():
    img = np.zeros((1, 2, 2, 3), np.uint8)
    img[0, 0, 0] = (255, 0, 0)
    img[0, 0, 1] = (0, 255, 0)
    img[0, 1, 0] = (0, 0, 255)
    img[0, 1, 1] = (255, 255, 255)
    g = th.grayscale(img)[0, ..., 0]
    assert np.allclose(g, [[0.2989, 0.5870], [0.1140, 0.9999]], atol=1e-6)


def test_crop_and_flip_on_a_hand_made_image():
    x = np.arange(6 * 6, dtype=np.float32).reshape(1, 6, 6, 1).repeat(400, axis=0)
    crops, offsets, flipped = th.random_crop_flip(x, 4, np.random.default_rng(0))
    assert crops.shape == (400, 4, 4, 1)
    for c, (r0, c0), f in zip(crops, offsets, flipped):
        expect = x[0, r0 : r0 + 4, c0 : c0 + 4]
        assert np.array_equal(c, expect[:, ::-1] if f else expect)
    assert (
        0.4 < flipped.mean() < 0.6 and len({tuple(o) for o in offsets}) == 9
    )  # all 3×3 offsets occur


def test_pipeline_standardizes_each_image_and_centre_crops_the_test_set():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (10, 32, 32, 3), dtype=np.uint8)
    pipe = th.ImagePipeline(crop=24, grayscale=True)
    tr, te = pipe.train(x, rng), pipe.test(x)
    assert tr.shape == te.shape == (10, 24, 24, 1) == (10, *pipe.output_shape(x.shape[1:]))
    assert np.allclose(tr.mean(axis=(1, 2, 3)), 0, atol=1e-5) and np.allclose(
        tr.std(axis=(1, 2, 3)), 1, atol=1e-4
    )
    gray = th.grayscale(x)[:, 4:28, 4:28]
    assert np.allclose(te, th.standardize(gray), atol=1e-5)
    flat = np.full((1, 24, 24, 1), 0.5, np.float32)  # a constant image does not divide by 0
    assert np.all(np.isfinite(th.standardize(flat)))


# --------------------------------------------------------------------------- C(X,Y,Z) ensembles


@pytest.mark.parametrize("strategy", ["branches", "grouped"])
@pytest.mark.parametrize("pool,Y", [(True, 6), (False, 0)])
def test_c_ensemble_members_equal_plain_c_networks(strategy, pool, Y):
    x = np.random.default_rng(0).standard_normal((4, 24, 24, 3)).astype("float32")
    ens = th.EnsembleM(
        (8, Y, 5),
        3,
        input_shape=(24, 24, 3),
        strategy=strategy,
        architecture="C",
        pool=pool,
        weight_decay=0.004,
        seed=1,
    )
    p = ens.predict(x)
    for i in range(3):
        m = th.build_c(8, Y, 5, input_shape=(24, 24, 3), pool=pool)
        m.set_weights(ens.member_weights(i))
        assert np.allclose(p[:, i], np.asarray(m.predict(x, verbose=0)), atol=1e-5)


def test_train_ensemble_c_with_pipeline_caches_and_reads_channels():
    rng = np.random.default_rng(0)
    data = Dataset(
        rng.integers(0, 256, (60, 32, 32, 3), dtype=np.uint8),
        rng.integers(0, 10, 60),
        rng.integers(0, 256, (20, 32, 32, 3), dtype=np.uint8),
        rng.integers(0, 10, 20),
        "random uint8",
    )
    kw = dict(
        sizes=(6, 4, 5),
        architecture="C",
        n_members=2,
        steps=3,
        batch_size=8,
        snapshots=(0, 3),
        pipeline=th.ImagePipeline(),
        progress=False,
    )
    r = th.train_ensemble(data, **kw)
    assert r.config["input_shape"] == [24, 24, 3] and r.config["architecture"] == "C"
    assert r.kernels("conv1").shape == (2, 3, 3, 3, 6)
    assert th.train_ensemble(data, **kw).seconds == r.seconds  # read back from the cache
    green = r.filters("conv1", channel=1)
    assert green.shape == (2 * 6, 9)
    assert np.allclose(green[:6], th.spatial_filters(r.kernels("conv1")[0][:, :, 1:2]))
    assert r.filters("conv1", members=[1]).shape == (18, 9)
    m = r.member_model(1)
    assert np.allclose(m.get_weights()[0], r.weights[0][1])
    with pytest.raises(ValueError, match="channel=3 is out of range"):
        r.filters("conv1", channel=3)


def test_pool_and_weight_decay_belong_to_c_only():
    with pytest.raises(ValueError, match="architecture='C' only"):
        th.EnsembleM((4, 0, 4), 2, pool=False)


# --------------------------------------------------------------------------- VGG kernels


def test_kernels_are_read_in_depth_order_from_a_keras_style_file():
    h5py = pytest.importorskip("h5py")
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        for b, n in ((2, 1), (1, 2), (1, 1), (10, 1)):  # written out of order
            f.create_dataset(
                f"block{b}_conv{n}/block{b}_conv{n}_W_1:0", data=np.full((3, 3, 2, 2), 10 * b + n)
            )
            f.create_dataset(f"block{b}_conv{n}/block{b}_conv{n}_b_1:0", data=np.zeros(2))
        f.create_dataset("dsn1/vars/0", data=np.zeros((1, 1, 2, 1)))
    buf.seek(0)
    ks = _kernels_from_h5(buf)
    assert [int(k.flat[0]) for k in ks] == [11, 12, 21, 101]


@pytest.fixture(scope="module")
def vgg16(tmp_path_factory):
    import os

    old = os.environ.get("TOPO_CACHE")
    os.environ["TOPO_CACHE"] = str(tmp_path_factory.mktemp("vggcache"))
    try:
        return th.load_vgg_kernels("vgg16", verbose=False)
    finally:
        if old is None:
            os.environ.pop("TOPO_CACHE")
        else:
            os.environ["TOPO_CACHE"] = old


def test_vgg16_loader_returns_the_13_conv_kernels(vgg16):
    widths = [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]
    assert len(vgg16) == 13
    c_in = 3
    for i, w in enumerate(widths, start=1):
        assert vgg16.layer(i).shape == (3, 3, c_in, w)
        c_in = w
    assert "VGG16" in vgg16.source
    with pytest.raises(ValueError, match="conv layers 1..13"):
        vgg16.layer(14)


def test_vgg16_early_layer_holds_the_primary_circle(vgg16):
    F = th.normalize(th.spatial_filters(vgg16.layer(2)))
    core = th.density_filtration(F, k=100, p=0.4)
    count, ratio = th.rips(core, n_landmarks=400).largest_gap(1)
    assert count == 1 and ratio > 2


def test_relative_distance_is_per_layer_and_zero_for_identical_kernels(vgg16):
    d = th.relative_distance(vgg16, vgg16)
    assert d.shape == (13,) and np.all(d == 0)
    b = [np.ones((3, 3, 1, 2)), np.full((3, 3, 2, 4), 2.0)]
    assert np.allclose(th.relative_distance([k * 1.5 for k in b], b), 0.5)


def test_relative_distance_refuses_mismatched_networks():
    b = [np.ones((3, 3, 1, 2)), np.ones((3, 3, 2, 2))]
    with pytest.raises(ValueError, match="a has 1 layers but b has 2"):
        th.relative_distance(b[:1], b)
    with pytest.raises(ValueError, match="layer 2: a has shape"):
        th.relative_distance([b[0], np.ones((3, 3, 2, 3))], b)
    with pytest.raises(ValueError, match="layer 1 of b is all zeros"):
        th.relative_distance(b, [np.zeros((3, 3, 1, 2)), b[1]])


def test_hed_distance_without_imagenet_weights_says_unmeasured(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))  # no Keras cache there
    monkeypatch.setattr(__import__("pathlib").Path, "home", staticmethod(lambda: tmp_path))
    with pytest.raises(th.WeightsUnavailable, match="unmeasured"):
        th.hed_distance_from_imagenet(allow_download=False)


def test_unknown_net_is_named():
    with pytest.raises(ValueError, match="net must be 'vgg16' or 'vgg19'"):
        th.load_vgg_kernels("resnet50")


# ------------------------------------------------------------------------ Klein bottle and density


def test_klein_distance_is_zero_on_the_klein_bottle_and_large_for_random_filters():
    X, theta, phi = th.klein_bottle(500, random_state=0)
    t, p, res = th.fit_klein_bottle(X, n_theta=720)
    assert res.max() < 0.01
    assert np.allclose(
        np.abs((th.klein_filter(t, p) * X).sum(1)), 1, atol=1e-4
    )  # the fit is the point
    R = np.random.default_rng(0).standard_normal((500, 9))
    assert np.median(th.fit_klein_bottle(R)[2]) > 0.6
    # edges (the primary circle) lie on the Klein bottle at φ = ±π/2
    C, _ = th.primary_circle(50, random_state=0)
    _, pc, rc = th.fit_klein_bottle(C)
    assert rc.max() < 0.01 and np.allclose(np.abs(np.sin(pc)), 1, atol=1e-3)


def test_approximate_density_keeps_the_exact_kept_set():
    X, _ = th.primary_circle(6000, noise=0.3, random_state=0)
    R = th.normalize(np.random.default_rng(1).standard_normal((6000, 9)))
    cloud = np.concatenate([X, R])
    _, exact = th.density_filtration(cloud, k=15, p=0.2, return_index=True, method="exact")
    _, approx = th.density_filtration(cloud, k=15, p=0.2, return_index=True, method="approx")
    assert len(set(exact) & set(approx)) >= 0.99 * len(exact)


def test_unknown_density_method_is_named():
    with pytest.raises(ValueError, match="method must be one of"):
        th.knn_distance(np.zeros((5, 2)), 2, method="fast")
