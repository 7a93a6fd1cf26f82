"""The built wheel holds what ``pip install .`` users need: every module, the bundled data, py.typed.

The editable install the suite runs on reads ``src/`` directly, so a file left out of the wheel
(e.g. ``datasets/_data/*`` missing from package-data) passes every other test and breaks
``pip install . && dlscratch train``. Here the wheel is built once from a copy of the sources
and inspected with ``zipfile``, then installed into a scratch folder and imported from there.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "dlscratch"
TOP_LEVEL_FILES = ("pyproject.toml", "README.md", "MANIFEST.in", "setup.cfg", "setup.py")


def _setuptools_is_new_enough() -> bool:
    """pyproject.toml needs setuptools >= 77 (``license = "MIT"``); older ones need isolation."""
    try:
        major = int(importlib.metadata.version("setuptools").split(".")[0])
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return False
    return major >= 77


def _source_files() -> list[Path]:
    """The package's files as the repository has them (no caches, no build leftovers)."""
    return sorted(
        p for p in PACKAGE.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo")
        and not p.name.startswith(".")
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Build the wheel once, from a clean copy of the sources (no stale build/ in the tree)."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    shutil.copytree(REPO / "src", source / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
    for name in TOP_LEVEL_FILES + tuple(p.name for p in REPO.glob("LICEN[CS]E*")):
        if (REPO / name).is_file():
            shutil.copy2(REPO / name, source / name)
    out = root / "dist"
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out)]
    if _setuptools_is_new_enough():
        command.append("--no-build-isolation")  # offline and fast with the venv's setuptools
    result = subprocess.run([*command, str(source)], capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}"
    wheels = list(out.glob("dlscratch-*.whl"))
    assert len(wheels) == 1, f"expected one dlscratch wheel in {out}, found {wheels}"
    return wheels[0]


@pytest.fixture(scope="module")
def names(wheel) -> set[str]:
    with zipfile.ZipFile(wheel) as zf:
        return set(zf.namelist())


def test_wheel_holds_the_bundled_data_and_py_typed(names):
    data = [p for p in _source_files() if p.parent == PACKAGE / "datasets" / "_data"]
    assert {p.name for p in data} >= {"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
                                      "sample_weight.pkl"}
    missing = [p.relative_to(PACKAGE.parent).as_posix() for p in data
               if p.relative_to(PACKAGE.parent).as_posix() not in names]
    assert not missing, f"left out of the wheel: {missing} (see package-data in pyproject.toml)"
    assert "dlscratch/py.typed" in names


def test_wheel_holds_every_subpackage_and_module(names):
    packages = sorted(p.parent for p in PACKAGE.rglob("__init__.py")
                      if "__pycache__" not in p.parts)
    assert PACKAGE in packages and PACKAGE / "datasets" in packages
    missing = [p.relative_to(PACKAGE.parent).as_posix() for p in packages
               if f"{p.relative_to(PACKAGE.parent).as_posix()}/__init__.py" not in names]
    assert not missing, f"subpackages left out of the wheel: {missing}"
    modules = [p.relative_to(PACKAGE.parent).as_posix() for p in _source_files()
               if p.suffix == ".py"]
    assert sorted(set(modules) - names) == []


def test_wheel_declares_the_command_and_dependencies(wheel, names):
    dist_info = {n.split("/")[0] for n in names if ".dist-info/" in n}
    assert len(dist_info) == 1
    (folder,) = dist_info
    with zipfile.ZipFile(wheel) as zf:
        entry_points = zf.read(f"{folder}/entry_points.txt").decode()
        metadata = zf.read(f"{folder}/METADATA").decode()
    assert "dlscratch = dlscratch.cli:main" in entry_points
    requires = [line.split(":", 1)[1].strip() for line in metadata.splitlines()
                if line.startswith("Requires-Dist:") and "extra ==" not in line]
    assert any(r.startswith("numpy") for r in requires), requires


def test_installed_wheel_loads_the_sample_from_another_folder(wheel, tmp_path):
    """Installed (not editable) into a scratch folder, imported with the cwd elsewhere."""
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--quiet",
                    "--target", str(target), str(wheel)], check=True, timeout=120)
    code = (
        "import dlscratch, sys\n"
        "from pathlib import Path\n"
        "from dlscratch.datasets import load_mnist, sample_weight_path\n"
        f"assert Path(dlscratch.__file__).is_relative_to({str(target)!r}), dlscratch.__file__\n"
        "(x, t), (xt, tt) = load_mnist(dataset='mnist-sample', download=False)\n"
        "print(x.shape, xt.shape, sample_weight_path().stat().st_size > 0)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(target), "DLSCRATCH_OFFLINE": "1",
           "DLSCRATCH_CACHE": str(tmp_path / "cache")}
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    result = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(8000, 784) (2000, 784) True"
