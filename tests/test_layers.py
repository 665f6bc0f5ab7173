"""The package's layers: point clouds and topology are numpy in, numpy out — they never import a
deep-learning framework, a data loader or the networks, so they run (and are tested) without them."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "topohelpers"
CLOUDS = ("weights", "patches", "filtration", "ideal")
TOPOLOGY = ("persistence", "mapper", "graphs", "learning")
FRAMEWORKS = {"keras", "tensorflow", "jax", "torch"}
UPPER = {
    "data",
    "cifar",
    "svhn",
    "vgg",
    "nets",
    "models",
    "induced",
    "activation",
    "attacks",
    "callbacks",
    "shipped",
    "plotting",
    "reportcard",
}


def _imports(path):
    """(absolute top-level modules, relative modules) imported anywhere in the file, functions included."""
    absolute, relative = set(), set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            absolute |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                relative.add((node.module or "").split(".")[0])
            else:
                absolute.add(node.module.split(".")[0])
    return absolute, relative


@pytest.mark.parametrize("module", CLOUDS + TOPOLOGY)
def test_clouds_and_topology_import_no_framework_loader_or_network(module):
    absolute, relative = _imports(PACKAGE / f"{module}.py")
    assert not absolute & FRAMEWORKS, f"{module} imports {absolute & FRAMEWORKS}"
    assert not relative & UPPER, f"{module} imports the upper layers {relative & UPPER}"
    if module in CLOUDS:
        assert not relative & set(TOPOLOGY), f"{module} (point clouds) imports topology: {relative & set(TOPOLOGY)}"


def test_the_rule_sees_a_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from .data import load_mnist\n    import keras\n")
    assert _imports(bad) == ({"keras"}, {"data"})
