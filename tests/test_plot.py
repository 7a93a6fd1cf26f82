"""Plots (seed 001's filter_show and accuracy curves): written as PNG files, headless."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _is_png(path) -> bool:
    return path.stat().st_size > 1000 and path.read_bytes()[:8] == PNG_MAGIC


def test_importing_plot_does_not_import_matplotlib():
    code = "import sys, dlscratch.plot; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_filter_show_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    from dlscratch.models import SimpleConvNet
    from dlscratch.plot import filter_show

    network = SimpleConvNet(rng=0)
    path = tmp_path / "filters.png"
    fig = filter_show(network.params["W1"], show=False, path=path)
    assert _is_png(path)
    assert len(fig.axes) == 30  # one image per filter, 8 per row -> 4 rows
    plt.close(fig)
    with pytest.raises(ValueError, match="FN, C, FH, FW"):
        filter_show(np.zeros((3, 3)), show=False)


def test_plot_accuracy_and_history_write_pngs(tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    from dlscratch.plot import plot_accuracy, plot_history

    train, test = [0.5, 0.8, 0.9, 0.95], [0.45, 0.75, 0.85, 0.9]
    fig = plot_accuracy(train, test, show=False, path=tmp_path / "acc.png")
    assert _is_png(tmp_path / "acc.png")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "epochs" and ax.get_ylabel() == "accuracy"
    assert [line.get_label() for line in ax.get_lines()] == ["train", "test"]
    np.testing.assert_array_equal(ax.get_lines()[1].get_ydata(), test)
    plt.close(fig)

    fig = plot_history({"train_acc_list": train, "test_acc_list": test}, show=False,
                       path=tmp_path / "history.png")
    assert _is_png(tmp_path / "history.png")
    plt.close(fig)

    # what Trainer.train() returns
    fig = plot_history({"loss": [1.0], "train_acc": train, "test_acc": test}, show=False)
    np.testing.assert_array_equal(fig.axes[0].get_lines()[0].get_ydata(), train)
    plt.close(fig)
    with pytest.raises(KeyError, match="train_acc"):
        plot_history({"loss": [1.0]}, show=False)
