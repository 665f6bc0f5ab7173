"""The book's own invariants: jupytext pairs in sync, outputs stripped, Colab install cells
pointing at the one repository named in _config.yml, and every chapter reading the profile."""

import json
import re
from pathlib import Path

import jupytext
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "notebooks").glob("*.md"))
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
REPO_URL = CONFIG["repository"]["url"].rstrip("/")


def _cells(nb):
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


def test_there_are_chapters():
    assert CHAPTERS, "no notebooks/*.md found"


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.name)
def test_markdown_and_notebook_twins_have_the_same_cells(md):
    ipynb = md.with_suffix(".ipynb")
    assert ipynb.exists(), f"{ipynb.name} is missing: run `make sync`"
    assert _cells(jupytext.read(md)) == _cells(jupytext.read(ipynb)), (
        f"{md.name} and {ipynb.name} differ: run `make sync`"
    )


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs(md):
    nb = json.loads(md.with_suffix(".ipynb").read_text())
    assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.name)
def test_colab_install_and_badge_use_the_configured_repository(md):
    text = md.read_text()
    installs = re.findall(r'%pip install[^\n]*"topohelpers @ git\+([^"]+)"', text)
    assert installs, "the chapter needs the Colab install cell"
    assert all(u.rstrip("/") == REPO_URL for u in installs), (installs, REPO_URL)
    assert 'if "google.colab" in sys.modules' in text  # runs only inside Colab
    assert "tensorflow" not in " ".join(re.findall(r"%pip install[^\n]*", text))  # keep Colab's TF
    slug = REPO_URL.removeprefix("https://github.com/")
    badge = f"https://colab.research.google.com/github/{slug}/blob/{CONFIG['repository']['branch']}/notebooks/{md.stem}.ipynb"
    assert badge in text, f"Colab badge should link {badge}"


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.name)
def test_chapter_reads_the_profile_in_a_parameters_cell(md):
    nb = jupytext.read(md)
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and "th.profile()" in params[0].source


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.name)
def test_chapter_is_in_the_table_of_contents_and_saves_a_report_card(md):
    assert f"notebooks/{md.stem}" in (ROOT / "_toc.yml").read_text()
    text = md.read_text()
    assert f'th.ReportCard("{md.stem}")' in text and "card.save()" in text
