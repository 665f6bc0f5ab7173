"""The package's layers: the point-cloud and topology wings are numpy in, numpy out — they never
import a deep-learning framework, a data loader or the networks, so they run (and are tested)
without them; point clouds do not need topology either. Every module of the package lives in a
wing or is one of the book's plumbing modules, so a new file cannot slip past the rule."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "topohelpers"
WINGS = ("data", "nets", "clouds", "topology")
PLUMBING = {
    "profile",
    "cache",
    "checks",
    "rules",
    "analysis",
    "reportcard",
    "plotting",
    "shipped",
    "sweeps",
}
FRAMEWORKS = {"keras", "tensorflow", "jax", "torch"}
FORBIDDEN = {"clouds": {"data", "nets", "topology"}, "topology": {"data", "nets", "clouds"}}
LOWER_ONLY = {"clouds", "topology"}


def _imports(path, here=None):
    """(absolute top-level packages, package-relative targets as tuples of names) imported
    anywhere in the file, inside functions too. ``from ..nets.models import x`` in
    ``topohelpers/clouds/a.py`` gives ``("nets", "models")``; ``from . import rules`` in
    ``topohelpers/__init__.py`` gives ``("rules",)``."""
    here = path.relative_to(PACKAGE).parent.parts if here is None else here
    absolute, relative = set(), set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            absolute |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)] if node.level > 1 else here
                target = (*base, *(node.module.split(".") if node.module else ()))
                if node.module:
                    relative.add(target)
                else:
                    relative |= {(*target, a.name) for a in node.names}
            elif node.module.split(".")[0] == "topohelpers":
                relative.add(tuple(node.module.split(".")[1:]))
            else:
                absolute.add(node.module.split(".")[0])
    return absolute, relative


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _wing(path):
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else None


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_module_is_in_a_wing_or_is_plumbing(path):
    wing = _wing(path)
    assert wing in WINGS or path.stem in PLUMBING | {"__init__", "__main__"}, (
        f"{path.relative_to(PACKAGE)} is neither in a wing {WINGS} nor a plumbing module "
        f"{sorted(PLUMBING)}"
    )


@pytest.mark.parametrize(
    "path",
    [p for p in MODULES if _wing(p) in LOWER_ONLY],
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_clouds_and_topology_import_no_framework_loader_or_network(path):
    wing = _wing(path)
    absolute, relative = _imports(path)
    assert not absolute & FRAMEWORKS, f"{path.name} imports {absolute & FRAMEWORKS}"
    reached = {t[0] for t in relative if t}
    assert not reached & FORBIDDEN[wing], f"{wing}/{path.name} imports {reached & FORBIDDEN[wing]}"
    assert not reached & {"analysis", "plotting", "reportcard", "shipped", "sweeps"}, (
        f"{path.name} imports plumbing above it"
    )


def test_the_rule_sees_a_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "def f():\n    from ..data import load_mnist\n    from .weights import normalize\n"
        "    import keras\n"
    )
    absolute, relative = _imports(bad, here=("clouds",))  # read as if it lived in the clouds wing
    assert absolute == {"keras"}
    assert relative == {("data",), ("clouds", "weights")}
