"""The notebooks in notebooks/: one per lesson, up to date with its ``# %%`` source, and each
runs as is in fast mode (nbclient, a temporary working folder, downloads switched off).

Regenerate them with ``python -m dlscratch.lessons._notebooks``. Executing every notebook takes
minutes, so those tests are marked slow (``pytest -m slow tests/test_notebooks.py``).
"""

from __future__ import annotations

import json
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
    assert code[0].index("import dlscratch") < code[0].index("%pip install")
    assert not any(line.lstrip().startswith("from .") for c in code for line in c.splitlines())
    assert "from dlscratch.lessons._common import" in "\n".join(code)
    assert code[-1] == "main([])"  # not main(): argparse would read the kernel's sys.argv
    # the text is deterministic: generating twice gives the same bytes
    assert _notebooks.notebook_text("seed001_cnn") == _notebooks.notebook_text("seed001_cnn")


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
    assert "files written to" in text or name not in ("seed000_neural_network", "seed001_cnn")
    if name == "seed000_neural_network":
        assert "Accuracy: 0.9352" in text
