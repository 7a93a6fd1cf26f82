"""Generate one Jupyter notebook per lesson from its ``# %%`` source (jupytext's percent format).

``python -m dlscratch.lessons._notebooks [--out DIR] [--check]`` writes ``notebooks/NAME.ipynb``
at the repository's root (or into ``DIR``) for every lesson module of :mod:`dlscratch.lessons`;
``--check`` writes nothing and exits with status 1 when a notebook there is missing or out of
date with its lesson. Needs ``jupytext`` and ``nbformat`` (development tools, not dependencies
of dlscratch).

A notebook is its lesson, cell for cell, with three changes so that it runs on its own (in
Jupyter or Colab):

* a first cell that installs dlscratch where it is missing: from the checkout the notebook
  sits in, else from ``DLSCRATCH_SOURCE`` (a wheel or Git URL the user names: dlscratch has
  no published location, and nothing is installed from a guessed name);
* the lesson's relative imports (``from ..functions import``, ``from ._common import``) become
  absolute (``from dlscratch.functions import``, ``from dlscratch.lessons._common import``);
* a lesson's ``if __name__ == "__main__":`` cells stay as they are: ``__name__`` is
  ``"__main__"`` in a kernel too, so each section's output appears under it (and the lessons'
  command line ignores the kernel's own ``sys.argv``).

Cells carry deterministic ids and no outputs, so regenerating gives the same files byte for
byte; ``tests/test_notebooks.py`` fails when a committed notebook differs from its lesson.
"""

from __future__ import annotations

import argparse
import json
import pkgutil
import re
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["INSTALL_CELL", "lesson_names", "lesson_notebook", "notebook_text", "write_notebooks"]

LESSONS_DIR = Path(__file__).resolve().parent

INSTALL_CELL = '''\
# dlscratch 설치 (dlscratch가 없을 때만, 예: Colab) — install dlscratch only where it is missing
import importlib.util
import pathlib

if importlib.util.find_spec("dlscratch") is None:
    # A wheel file or a Git URL of dlscratch ("git+https://github.com/OWNER/dlscratch"): needed
    # where this notebook is not inside a dlscratch checkout (Colab). dlscratch is not on PyPI,
    # and nothing is installed from a guessed name.
    DLSCRATCH_SOURCE = ""
    _checkout = pathlib.Path.cwd().parent  # notebooks/ sits beside pyproject.toml in a checkout
    if not DLSCRATCH_SOURCE and (_checkout / "src" / "dlscratch" / "__init__.py").is_file():
        DLSCRATCH_SOURCE = str(_checkout)
    if not DLSCRATCH_SOURCE:
        raise ImportError("dlscratch is not installed and this notebook is not in a dlscratch "
                          "checkout: set DLSCRATCH_SOURCE in this cell to a wheel file or a Git "
                          "URL of dlscratch, then run the cell again")
    %pip install -q "{DLSCRATCH_SOURCE}"'''

_REL_PARENT = re.compile(r"^(\s*)from \.\.(\w[\w.]*)? import ", re.M)
_REL_HERE = re.compile(r"^(\s*)from \.(\w[\w.]*) import ", re.M)


def lesson_names() -> list[str]:
    """The lesson modules of :mod:`dlscratch.lessons` (every module not starting with ``_``)."""
    return sorted(m.name for m in pkgutil.iter_modules([str(LESSONS_DIR)])
                  if not m.name.startswith("_") and not m.ispkg)


def _absolute_imports(code: str) -> str:
    code = _REL_PARENT.sub(lambda m: f"{m.group(1)}from dlscratch"
                           f"{'.' + m.group(2) if m.group(2) else ''} import ", code)
    return _REL_HERE.sub(lambda m: f"{m.group(1)}from dlscratch.lessons.{m.group(2)} import ",
                         code)


def lesson_notebook(name: str):
    """The notebook (an ``nbformat`` NotebookNode, version 4.5) of lesson ``name``."""
    try:
        import jupytext
        import nbformat
    except ImportError as e:
        raise ImportError(f"generating the notebooks needs jupytext and nbformat ({e}); "
                          "pip install jupytext nbformat") from None
    path = LESSONS_DIR / f"{name}.py"
    if name not in lesson_names():
        raise ValueError(f"no lesson called {name!r}; lessons: {', '.join(lesson_names())}")
    source = path.read_text(encoding="utf-8")
    parsed = jupytext.reads(source, fmt="py:percent")
    v4 = nbformat.v4
    cells = [v4.new_markdown_cell(
                 f"*Generated from `src/dlscratch/lessons/{name}.py` by "
                 "`python -m dlscratch.lessons._notebooks`; edit the lesson, not this notebook. "
                 "Fast mode: set the environment variable `DLSCRATCH_FAST=1` before starting "
                 "the kernel.*"),
             v4.new_code_cell(INSTALL_CELL)]
    for cell in parsed.cells:
        text = cell.source
        if cell.cell_type == "code":
            text = _absolute_imports(text)
            cells.append(v4.new_code_cell(text))
        elif cell.cell_type == "markdown":
            cells.append(v4.new_markdown_cell(text))
        else:
            cells.append(v4.new_raw_cell(text))
    for i, cell in enumerate(cells):
        cell["id"] = f"{name[:40]}-{i:02d}"
    nb = v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    })
    return nb


def notebook_text(name: str) -> str:
    """The .ipynb text of lesson ``name`` (JSON, one-space indent, ending with a newline)."""
    import nbformat

    nb = lesson_notebook(name)
    nbformat.validate(nb)
    return json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def default_folder() -> Path:
    """``notebooks/`` at the root of the source checkout this module runs from."""
    root = LESSONS_DIR.parents[2]
    if not (root / "pyproject.toml").is_file():
        raise FileNotFoundError(f"{root} is not a dlscratch source checkout (no pyproject.toml);"
                                " give the folder with --out")
    return root / "notebooks"


def write_notebooks(folder: str | Path | None = None, check: bool = False) -> list[Path]:
    """Write (or with ``check``, compare) every lesson's notebook; return the paths that were
    written (or, with ``check``, that are missing or out of date)."""
    from .._files import atomic_write_text

    folder = default_folder() if folder is None else Path(folder)
    changed = []
    for name in lesson_names():
        path = folder / f"{name}.ipynb"
        text = notebook_text(name)
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        changed.append(path)
        if not check:
            folder.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, text)
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate the lessons' notebooks.")
    parser.add_argument("--out", metavar="DIR", default=None,
                        help="folder for the notebooks (default: notebooks/ of the checkout)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when a notebook is missing or out of date")
    args = parser.parse_args(argv)
    changed = write_notebooks(args.out, check=args.check)
    for p in changed:
        print(("out of date: " if args.check else "wrote ") + str(p))
    if args.check and changed:
        print("regenerate with: python -m dlscratch.lessons._notebooks", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
