import numpy as np
import pytest

import topohelpers as th


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def noisy_circle():
    X, _ = th.primary_circle(500, noise=0.05, random_state=1)
    return X


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path, monkeypatch):
    """No test writes into the user's cache or the book's report cards."""
    monkeypatch.setenv("TOPO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TOPO_REPORTCARDS", str(tmp_path / "reportcards"))


@pytest.fixture(autouse=True, scope="session")
def _exact_float32():
    """Tests compare in float32: no TF32 matrix units on GPUs (XLA's default there), on any
    backend."""
    with th.precision_scope("float32"):
        yield
