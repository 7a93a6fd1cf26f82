"""The import rules of the package (README / architecture): imports run one way,
functions <- layers <- models <- trainer <- cli, with gradient, optim, data/datasets, io and
plot beside them. The math and the layers never import data, files, plotting, the trainer or
the command line, and nothing imports the command line."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import dlscratch

PACKAGE = Path(dlscratch.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Top-level dlscratch modules (``layers``, ``io``, ...) that the file imports, anywhere
    in it (lazy imports inside functions count too)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
                targets = [target] if node.module else [f"{target}.{a.name}" for a in node.names]
            else:
                targets = [node.module or ""]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            continue
        for target in targets:
            parts = target.split(".")
            if parts[0] == "dlscratch" and len(parts) > 1:
                found.add(parts[1])
    found.discard(name.split(".")[1] if "." in name else "")
    return found


FILES = sorted(p for p in PACKAGE.rglob("*.py") if "lessons" not in p.parts)
OUTSIDE_THE_MATH = {"data", "datasets", "io", "plot", "trainer", "cli", "lessons", "models",
                    "optim", "lr_scheduler"}
RULES = {  # module -> dlscratch modules it must never import
    "functions": OUTSIDE_THE_MATH | {"layers", "gradient"},
    "gradient": OUTSIDE_THE_MATH | {"layers"},
    "util": OUTSIDE_THE_MATH | {"layers", "functions", "gradient"},
    "naive": OUTSIDE_THE_MATH | {"layers", "functions", "gradient", "util"},
    "layers": OUTSIDE_THE_MATH,
    "optim": OUTSIDE_THE_MATH - {"optim"},
    "lr_scheduler": OUTSIDE_THE_MATH - {"optim", "lr_scheduler"},
    "models": {"trainer", "cli", "plot", "lessons", "datasets", "data"},
    "data": {"layers", "models", "trainer", "cli", "plot", "lessons"},
    "datasets": {"layers", "models", "trainer", "cli", "plot", "lessons"},
    "plot": {"trainer", "cli", "lessons"},
    "trainer": {"cli", "lessons"},
}


def test_the_rules_cover_real_modules():
    tops = {_module_name(p).split(".")[1] for p in FILES if "." in _module_name(p)}
    assert set(RULES) <= tops


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_run_one_way(path):
    name = _module_name(path)
    top = name.split(".")[1] if "." in name else ""
    imported = _imports(path)
    if name != "dlscratch.__main__":
        assert "cli" not in imported or top == "cli", f"{name} imports the command line"
    forbidden = imported & RULES.get(top, set())
    assert not forbidden, f"{name} imports {sorted(forbidden)}, against the package's layering"
