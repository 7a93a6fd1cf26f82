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
TRAINING = {"trainer", "callbacks", "checkpoint", "history", "_loop", "_evaluation"}
APPS = {"cli", "lessons", "runs", "web"}
OUTSIDE_THE_MATH = ({"data", "datasets", "io", "plot", "models", "optim", "lr_scheduler",
                     "interop", "images", "metrics", "_files", "_weightfile", "_pickleweights",
                     "_interrupt"} | TRAINING | APPS)
RULES = {  # module -> dlscratch modules it must never import
    "functions": OUTSIDE_THE_MATH | {"layers", "gradient"},
    "gradient": OUTSIDE_THE_MATH | {"layers"},
    "util": OUTSIDE_THE_MATH | {"layers", "functions", "gradient"},
    "naive": OUTSIDE_THE_MATH | {"layers", "functions", "gradient", "util"},
    "layers": OUTSIDE_THE_MATH,
    "optim": OUTSIDE_THE_MATH - {"optim"},
    "lr_scheduler": OUTSIDE_THE_MATH - {"optim", "lr_scheduler"},
    # models sit below io: io finds their classes through the registry, never the reverse
    "models": {"io", "plot", "datasets", "data", "interop", "images", "metrics"} | TRAINING | APPS,
    "io": {"plot", "data", "datasets", "interop", "images"} | TRAINING | APPS,
    "data": {"layers", "models", "plot", "interop"} | TRAINING | APPS,
    "datasets": {"layers", "models", "plot", "interop", "io"} | TRAINING | APPS,
    "plot": {"interop"} | TRAINING | APPS,
    "interop": {"plot", "datasets", "data"} | TRAINING | APPS,
    **{name: APPS | {"interop"} for name in TRAINING},
    "runs": APPS - {"runs"},
    "web": {"cli", "lessons"},  # the web app sits beside the CLI; only `dlscratch serve` starts it
}
# Small modules at the bottom that may import only these dlscratch modules.
ONLY = {
    "_files": set(), "_pickleweights": set(), "_interrupt": set(), "_rng": set(),
    "_version": set(), "metrics": set(), "images": {"_files"},
    "_weightfile": {"_files", "_pickleweights", "_version"},
}


def test_the_rules_cover_real_modules():
    tops = {_module_name(p).split(".")[1] for p in FILES if "." in _module_name(p)}
    assert set(RULES) | set(ONLY) <= tops


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_run_one_way(path):
    name = _module_name(path)
    top = name.split(".")[1] if "." in name else ""
    imported = _imports(path)
    if name != "dlscratch.__main__":
        assert "cli" not in imported or top == "cli", f"{name} imports the command line"
    forbidden = imported & RULES.get(top, set())
    assert not forbidden, f"{name} imports {sorted(forbidden)}, against the package's layering"
    if top in ONLY:
        extra = imported - ONLY[top] - {top}
        assert not extra, f"{name} may import only {sorted(ONLY[top])}, but imports {sorted(extra)}"


def test_every_top_level_module_has_a_rule():
    tops = {_module_name(p).split(".")[1] for p in FILES if "." in _module_name(p)}
    unruled = tops - set(RULES) - set(ONLY) - {"cli", "__main__"}
    assert not unruled, f"add import rules for {sorted(unruled)} to tests/test_architecture.py"
