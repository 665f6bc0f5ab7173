"""The package as Colab gets it: built into a wheel, installed from the wheel alone (not from this
checkout), with every wing and every ``th.`` name importable."""

import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "topohelpers"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out, src = tmp_path_factory.mktemp("wheel"), tmp_path_factory.mktemp("source")
    # built from a copy of what the wheel is made of, so the build leaves nothing in the checkout
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(PACKAGE, src / "topohelpers", ignore=shutil.ignore_patterns("__pycache__"))
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(src)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, f"pip wheel failed:\n{build.stderr[-3000:]}"
    (path,) = out.glob("topohelpers-*.whl")
    return path


def test_the_wheel_holds_every_module_of_the_source_tree(wheel):
    source = {
        p.relative_to(ROOT).as_posix()
        for p in PACKAGE.rglob("*.py")
        if "__pycache__" not in p.parts
    }
    with zipfile.ZipFile(wheel) as z:
        shipped = {n for n in z.namelist() if n.endswith(".py")}
    assert source - shipped == set(), f"missing from the wheel: {sorted(source - shipped)}"


def test_installed_from_the_wheel_every_wing_and_every_th_name_imports(wheel, tmp_path):
    site = tmp_path / "site"
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--quiet",
            "--target",
            str(site),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    probe = textwrap.dedent(
        f"""
        import importlib, pkgutil, sys
        from pathlib import Path
        import topohelpers as th
        # the wheel's copy, not the checkout
        assert Path(th.__file__).is_relative_to({str(site)!r}), th.__file__
        modules = [m.name for m in pkgutil.walk_packages(th.__path__, "topohelpers.")]
        for name in modules:
            importlib.import_module(name)
        missing = [n for n in th.__all__ if not hasattr(th, n)]
        assert not missing, missing
        for wing in ("data", "nets", "clouds", "topology"):
            assert f"topohelpers.{{wing}}" in modules, wing
        print(" ".join(modules))
        """
    )
    # run outside the checkout, with the wheel's copy first on the path (the editable install of the
    # development environment comes later on sys.path and must not be the one imported)
    env = {
        "PYTHONPATH": str(site),
        "PATH": "/usr/bin:/bin",
        "KERAS_BACKEND": "tensorflow",
        "HOME": str(tmp_path),
    }
    run = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    imported = set(run.stdout.split())
    expected = {
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in PACKAGE.rglob("*.py")
        if "__pycache__" not in p.parts
    } - {"topohelpers"}
    assert imported == expected
