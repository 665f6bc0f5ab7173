"""pytest plugin (``-p tests.nbval_cache``): keep what nbval executed, so that the site build
that follows does not execute the notebooks a second time.

With ``TOPO_NB_CACHE`` set to a folder, every notebook whose cells all ran without error under
nbval is stored, with the outputs nbval collected from the kernel, in the jupyter-cache at that
folder: the cache that myst-nb reads with ``execute_notebooks: cache``. The cache matches a page
to a stored notebook by its code cells and their metadata (the ``.md`` page and its ``.ipynb``
twin hash alike), so a changed notebook never matches and is executed by the build as usual.
``make test`` points it at ``_build/smoke/_build/.jupyter_cache``, where the smoke build looks.
"""

from __future__ import annotations

import copy
import os
import time
from pathlib import Path

import pytest

_files: dict = {}  # nbval's IPyNbFile -> {"ran": cells run, "failed": any failure, "t0", "t1"}


def _state(item):
    parent = item.parent
    if parent not in _files:
        _files[parent] = {"ran": 0, "failed": False, "t0": time.perf_counter()}
    return _files[parent]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if not os.environ.get("TOPO_NB_CACHE") or not hasattr(item, "test_outputs"):
        return
    report = outcome.get_result()
    state = _state(item)
    if report.failed or report.skipped:
        state["failed"] = True
    elif call.when == "call":
        item.cell.outputs = copy.deepcopy(list(item.test_outputs or []))
        state["ran"] += 1
        state["t1"] = time.perf_counter()


def pytest_sessionfinish(session):
    folder = os.environ.get("TOPO_NB_CACHE")
    if not folder or not _files:
        return
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache = get_cache(folder)
    for nbfile, state in _files.items():
        nb = getattr(nbfile, "nb", None)
        code = [c for c in getattr(nb, "cells", []) if c.cell_type == "code"]
        if nb is None or state["failed"] or state["ran"] != len(code):
            continue
        page = Path(str(nbfile.fspath)).with_suffix(".md")
        cache.cache_notebook_bundle(
            CacheBundleIn(
                nb,
                uri=str(page if page.exists() else nbfile.fspath),
                data={"execution_seconds": state.get("t1", state["t0"]) - state["t0"]},
            ),
            check_validity=False,
            overwrite=True,
        )
