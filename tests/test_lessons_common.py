"""What every lesson shares (``dlscratch.lessons._common``): the command line, notebook-awareness,
the plots' language with its English fallback, and saving figures."""

from __future__ import annotations

import sys

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from dlscratch.lessons import _common  # noqa: E402
from dlscratch.plot import fonts  # noqa: E402


def test_command_line_out_and_lang(tmp_path, monkeypatch):
    monkeypatch.delenv("DLSCRATCH_LANG", raising=False)
    args = _common.parse_args(["--out", str(tmp_path)], "d")
    assert args.out == str(tmp_path) and args.lang == "ko"  # the notes' language by default
    assert _common.parse_args(["--lang", "en"], "d").lang == "en"
    monkeypatch.setenv("DLSCRATCH_LANG", "en")
    assert _common.parse_args([], "d").lang == "en"
    with pytest.raises(SystemExit):
        _common.parse_args(["--lang", "fr"], "d")


def test_bad_language_in_the_environment_says_what_to_set(monkeypatch, capsys):
    monkeypatch.setenv("DLSCRATCH_LANG", "jp")
    with pytest.raises(SystemExit):
        _common.parse_args([], "d")
    assert "DLSCRATCH_LANG must be ko or en" in capsys.readouterr().err


def test_a_notebook_kernels_arguments_are_not_the_lessons(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["ipykernel_launcher.py", "-f", "/k/kernel-1.json"])
    with pytest.raises(SystemExit):  # a script would refuse them
        _common.parse_args(None, "d")
    monkeypatch.setitem(sys.modules, "ipykernel", sys)  # inside a kernel: ignored
    assert _common.parse_args(None, "d").out is None


def test_start_gives_korean_labels_only_with_a_korean_font(tmp_path, monkeypatch):
    monkeypatch.setenv("DLSCRATCH_FAST", "1")
    lesson = _common.start("t", "d", ["--out", str(tmp_path), "--lang", "ko"])
    assert lesson.fast and lesson.outputs.folder == tmp_path
    if fonts.korean_font_name() is None:
        pytest.fail("no Korean font installed (apt-get install fonts-noto-cjk)")
    assert lesson.lang == "ko" and lesson.label("Accuracy", "정확도") == "정확도"
    # without a Korean font: English labels and a warning that says how to install one
    monkeypatch.setattr(fonts, "korean_font_name", lambda: None)
    monkeypatch.setattr(fonts, "_warned", False)
    with pytest.warns(UserWarning, match="install one"):
        lesson = _common.start("t", "d", ["--out", str(tmp_path)])
    assert lesson.lang == "en" and lesson.label("Accuracy", "정확도") == "Accuracy"
    assert _common.start("t", "d", ["--out", str(tmp_path), "--lang", "en"]).lang == "en"


def test_save_writes_the_png_lists_it_and_closes_the_figure(tmp_path):
    lesson = _common.start("t", "d", ["--out", str(tmp_path), "--lang", "en"])
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    path = lesson.save(fig, "line.png")
    assert path == tmp_path / "line.png" and path.read_bytes()[:4] == b"\x89PNG"
    assert not plt.fignum_exists(fig.number)
    assert "line.png" in lesson.outputs.listing()
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left beside it
