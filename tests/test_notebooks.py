"""The notebooks in notebooks/: one per lesson, up to date with its ``# %%`` source, and each
runs as is in fast mode (nbclient, a temporary working folder, downloads switched off).

Regenerate them with ``python -m dlscratch.lessons._notebooks``. Executing every notebook takes
minutes, so those tests are marked slow (``pytest -m slow tests/test_notebooks.py``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("jupytext")
nbformat = pytest.importorskip("nbformat")

from dlscratch.lessons import _notebooks  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
LESSONS = _notebooks.lesson_names()


def _cells(nb) -> list[tuple[str, str]]:
    return [(c["cell_type"], c["source"]) for c in nb["cells"]]


def test_every_lesson_has_a_notebook_and_nothing_else():
    assert len(LESSONS) >= 7  # seed000-004, transfer_learning, torch_side_by_side
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == LESSONS


@pytest.mark.parametrize("name", LESSONS)
def test_notebook_is_up_to_date_with_its_lesson(name):
    committed = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    fresh = _notebooks.lesson_notebook(name)
    assert _cells(committed) == _cells(fresh), (
        f"notebooks/{name}.ipynb is out of date with src/dlscratch/lessons/{name}.py; "
        "regenerate: python -m dlscratch.lessons._notebooks")


def test_generated_notebook_runs_on_its_own():
    nb = _notebooks.lesson_notebook("seed000_neural_network")
    nbformat.validate(nb)
    code = [c["source"] for c in nb["cells"] if c["cell_type"] == "code"]
    assert code[0] == _notebooks.INSTALL_CELL  # first code cell: install where missing
    assert code[0].index('find_spec("dlscratch") is None') < code[0].index("%pip install")
    assert not any(line.lstrip().startswith("from .") for c in code for line in c.splitlines())
    assert "from dlscratch.lessons._common import" in "\n".join(code)
    # each section's example runs in its own cell, under the section (not all in a last cell)
    mains = [c for c in code if c.lstrip().startswith('if __name__ == "__main__":')]
    assert len(mains) >= 5, f"only {len(mains)} section cells run anything"
    assert not any(c.strip() in ("main()", "main([])") for c in code)
    # the text is deterministic: generating twice gives the same bytes
    assert _notebooks.notebook_text("seed001_cnn") == _notebooks.notebook_text("seed001_cnn")


class _FakeIPython:
    """Stands in for the kernel: records the %pip line the install cell runs."""

    def __init__(self):
        self.magics = []

    def run_line_magic(self, name, line, _stack_depth=1):
        # IPython expands {names} in a magic's line from the calling cell's namespace
        frame = sys._getframe(_stack_depth)
        self.magics.append((name, line.format(**{**frame.f_globals, **frame.f_locals})))


def _run_install_cell(cwd, monkeypatch, installed: bool, source: str = ""):
    from IPython.core.inputtransformer2 import TransformerManager

    code = TransformerManager().transform_cell(_notebooks.INSTALL_CELL)
    if source:
        code = code.replace('DLSCRATCH_SOURCE = ""', f"DLSCRATCH_SOURCE = {source!r}")
    monkeypatch.chdir(cwd)
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: object() if installed else None)
    ip = _FakeIPython()
    exec(compile(code, "install-cell", "exec"), {"get_ipython": lambda: ip})
    return ip.magics


def test_install_cell_installs_only_where_missing_and_never_a_guessed_name(tmp_path, monkeypatch):
    pytest.importorskip("IPython")
    # installed: nothing happens
    assert _run_install_cell(NOTEBOOKS, monkeypatch, installed=True) == []
    # missing, notebook inside a checkout: the checkout is installed, exactly that path
    magics = _run_install_cell(NOTEBOOKS, monkeypatch, installed=False)
    assert magics == [("pip", f'install -q "{ROOT}"')]
    # missing, elsewhere (Colab): a clear error that says what to set, nothing installed
    with pytest.raises(ImportError, match="set DLSCRATCH_SOURCE"):
        _run_install_cell(tmp_path, monkeypatch, installed=False)
    # missing, elsewhere, with a source the user named: that source
    magics = _run_install_cell(tmp_path, monkeypatch, installed=False,
                               source="/x/dlscratch-0.3.0-py3-none-any.whl")
    assert magics == [("pip", 'install -q "/x/dlscratch-0.3.0-py3-none-any.whl"')]


def test_check_mode_reports_a_stale_notebook(tmp_path):
    assert _notebooks.write_notebooks(tmp_path) == [tmp_path / f"{n}.ipynb" for n in LESSONS]
    assert _notebooks.write_notebooks(tmp_path, check=True) == []
    stale = tmp_path / "seed001_cnn.ipynb"
    nb = json.loads(stale.read_text(encoding="utf-8"))
    nb["cells"][3]["source"] = "x = 1"
    stale.write_text(json.dumps(nb), encoding="utf-8")
    assert _notebooks.write_notebooks(tmp_path, check=True) == [stale]
    assert _notebooks.main(["--out", str(tmp_path), "--check"]) == 1


@pytest.mark.slow
@pytest.mark.parametrize("name", LESSONS)
def test_notebook_executes_in_fast_mode(name, tmp_path, monkeypatch):
    nbclient = pytest.importorskip("nbclient")
    if name == "torch_side_by_side":
        pytest.importorskip("torch")
    monkeypatch.setenv("DLSCRATCH_FAST", "1")
    monkeypatch.setenv("DLSCRATCH_OFFLINE", "1")  # no downloads: bundled data only
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, with the cell and traceback, on any error
    errors = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert errors == []
    assert list(tmp_path.iterdir()) == []  # nothing written to the working folder
    text = "".join(o.get("text", "") for c in nb["cells"] if c["cell_type"] == "code"
                   for o in c.get("outputs", []))
    assert "files written to" in text
    # outputs sit under their sections: several cells print, not only the last one
    printing = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"
                and any(o.get("text") for o in c.get("outputs", []))]
    assert len(printing) >= 3, f"only cells {printing} print anything"
    # every figure the lesson saves is shown as a picture where it is made
    pictures = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])
                if "image/png" in o.get("data", {})]
    shown_as_text = [o for c in nb["cells"] if c["cell_type"] == "code"
                     for o in c.get("outputs", [])
                     if "<Figure size" in o.get("data", {}).get("text/plain", "")]
    assert pictures and not shown_as_text
    if name == "seed000_neural_network":
        assert "Accuracy: 0.9352" in text
