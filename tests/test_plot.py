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


# --- a training run's plots: learning curves, confusion matrix, misclassified images ---------

def _png_size(path) -> tuple[int, int]:
    """(height, width) in pixels of the PNG at ``path``, read back with matplotlib."""
    import matplotlib.image as mpimg

    assert path.read_bytes()[:8] == PNG_MAGIC
    return mpimg.imread(path).shape[:2]


def _texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]


METRICS = {"epoch": [1, 2, 3], "train_loss": [2.0, 1.0, 0.5], "train_acc": [0.5, 0.8, 0.9],
           "test_loss": [2.1, 1.2, 0.7], "test_acc": [0.45, 0.75, 0.85], "lr": [0.1] * 3}


def test_plot_learning_curves_two_panels(tmp_path):
    pytest.importorskip("matplotlib")
    from dlscratch.plot import plot_learning_curves

    path = tmp_path / "runs" / "curves.png"  # a missing folder is created
    fig = plot_learning_curves(METRICS, path=path)
    h, w = _png_size(path)
    assert 300 <= h <= 2000 and 600 <= w <= 3000 and w > h
    loss, acc = fig.axes
    assert loss.get_ylabel() == "loss" and acc.get_ylabel() == "accuracy"
    assert loss.get_xlabel() == acc.get_xlabel() == "epoch"
    for ax, train, test in ((loss, "train_loss", "test_loss"), (acc, "train_acc", "test_acc")):
        assert [line.get_label() for line in ax.get_lines()] == ["train", "test"]
        np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), METRICS["epoch"])
        np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), METRICS[train])
        np.testing.assert_array_equal(ax.get_lines()[1].get_ydata(), METRICS[test])
    assert "epoch 3: train 0.500, test 0.700" in loss.get_title()
    assert acc.get_ylim()[0] == 0 and 1 <= acc.get_ylim()[1] <= 1.05
    assert list(os.listdir(path.parent)) == ["curves.png"]  # no temp file left


def test_plot_learning_curves_from_csv_rows_with_one_epoch_and_gaps(tmp_path):
    pytest.importorskip("matplotlib")
    import csv

    from dlscratch.plot import plot_learning_curves

    csv_path = tmp_path / "metrics.csv"
    csv_path.write_text("epoch,train_loss,train_acc,test_loss,test_acc\n1,2.3,0.1,,\n",
                        encoding="utf-8")
    with open(csv_path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    fig = plot_learning_curves(rows, path=tmp_path / "one.png")
    _png_size(tmp_path / "one.png")
    loss, acc = fig.axes
    assert [line.get_label() for line in loss.get_lines()] == ["train"]  # no test values
    assert list(loss.get_lines()[0].get_ydata()) == [2.3]
    lo, hi = loss.get_xlim()
    assert lo < 1 < hi and np.isfinite([lo, hi]).all()
    assert list(loss.get_xticks()) == [1]
    assert np.isfinite(loss.get_ylim()).all() and loss.get_ylim()[1] > 2.3  # the point shows


def test_plot_learning_curves_leaves_out_a_diverged_loss():
    pytest.importorskip("matplotlib")
    from dlscratch.plot import plot_learning_curves

    metrics = {"epoch": [1, 2, 3], "train_loss": [1.0, 0.5, float("inf")]}
    fig = plot_learning_curves(metrics)
    loss = fig.axes[0]
    np.testing.assert_array_equal(loss.get_lines()[0].get_ydata(), [1.0, 0.5])
    assert np.isfinite(loss.get_ylim()).all()
    assert any("not drawn: train at epoch 3" in s for s in _texts(fig))


@pytest.mark.parametrize("metrics, error, match", [
    ({"train_loss": [1.0]}, KeyError, "no 'epoch' column"),
    ({"epoch": [1]}, KeyError, "none of train_loss"),
    ({"epoch": [], "train_loss": []}, ValueError, "no epochs to plot"),
    ({"epoch": [1, 2], "train_loss": [1.0]}, ValueError, "train_loss has 1 values but epoch has 2"),
    ({"epoch": [1], "train_acc": ["high"]}, ValueError, r"train_acc\[0\] = 'high' is not a number"),
    (42, TypeError, "dict of lists"),
])
def test_plot_learning_curves_refuses_bad_metrics(metrics, error, match):
    pytest.importorskip("matplotlib")
    from dlscratch.plot import plot_learning_curves

    with pytest.raises(error, match=match):
        plot_learning_curves(metrics)


def test_plot_confusion_matrix_counts_names_and_row_colours(tmp_path):
    pytest.importorskip("matplotlib")
    from dlscratch.metrics import confusion_matrix
    from dlscratch.plot import plot_confusion_matrix

    rng = np.random.default_rng(1)
    t = rng.integers(0, 10, 500)
    y = np.where(rng.random(500) < 0.8, t, rng.integers(0, 10, 500))
    cm = confusion_matrix(t, y, 10)
    names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
             "Sneaker", "Bag", "Ankle boot"]
    path = tmp_path / "cm.png"
    fig = plot_confusion_matrix(cm, class_names=names, path=path)
    h, w = _png_size(path)
    assert 400 <= h <= 2000 and 400 <= w <= 2500
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == names
    assert [t.get_text() for t in ax.get_yticklabels()] == names
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    assert f"{np.trace(cm) / cm.sum():.2%}" in ax.get_title()
    cells = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text()
             for t in ax.texts}
    assert len(cells) == 100
    assert all(cells[i, j] == str(cm[i, j]) for i in range(10) for j in range(10))
    shown = ax.images[0].get_array()
    np.testing.assert_allclose(shown, cm / cm.sum(axis=1, keepdims=True))
    assert ax.images[0].get_clim() == (0.0, 1.0)


def test_plot_confusion_matrix_default_names_and_an_empty_class():
    pytest.importorskip("matplotlib")
    from dlscratch.plot import plot_confusion_matrix

    cm = np.array([[3, 1, 0], [0, 0, 0], [0, 2, 2]])  # class 1 never occurs
    fig = plot_confusion_matrix(cm)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1", "2"]
    np.testing.assert_allclose(ax.images[0].get_array(), [[0.75, 0.25, 0], [0, 0, 0], [0, 0.5, 0.5]])
    with pytest.raises(ValueError, match="class_names has 2 names but there are 3 classes"):
        plot_confusion_matrix(cm, class_names=["a", "b"])
    with pytest.raises(ValueError, match="square"):
        plot_confusion_matrix(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="non-negative"):
        plot_confusion_matrix(-np.eye(2))


def _digits():
    from dlscratch.datasets import load_mnist

    (_, _), (x, t) = load_mnist(flatten=False, dataset="mnist-sample")
    return x[:60], t[:60]


def test_plot_misclassified_grid_titles_and_limit(tmp_path):
    pytest.importorskip("matplotlib")
    from dlscratch.plot import plot_misclassified

    x, t = _digits()
    y = t.copy()
    wrong = np.arange(0, 60, 2)  # 30 mistakes
    y[wrong] = (t[wrong] + 1) % 10
    path = tmp_path / "mistakes.png"
    fig = plot_misclassified(x, t, y, max_images=25, path=path)
    h, w = _png_size(path)
    assert 400 <= h <= 2500 and 400 <= w <= 2500
    assert len(fig.axes) == 25
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == [f"true {t[i]} / pred {y[i]}" for i in wrong[:25]]
    np.testing.assert_array_equal(fig.axes[3].images[0].get_array(), x[wrong[3], 0])
    assert "30 of 60 images" in fig._suptitle.get_text()
    assert "first 25 shown" in fig._suptitle.get_text()

    # flat rows and class names; fewer mistakes than max_images
    names = [f"n{i}" for i in range(10)]
    fig = plot_misclassified(x.reshape(60, 784), t, y, class_names=names, max_images=100)
    assert len(fig.axes) == 30
    assert fig.axes[0].get_title() == f"true n{t[0]} / pred n{y[0]}"
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), x[0, 0])
    # long names go on two lines so that neighbouring titles do not run into each other
    names = [f"long class name {i}" for i in range(10)]
    fig = plot_misclassified(x, t, y, class_names=names, max_images=1)
    assert fig.axes[0].get_title() == f"true {names[t[0]]}\npred {names[y[0]]}"


def test_plot_misclassified_without_mistakes_says_so(tmp_path):
    pytest.importorskip("matplotlib")
    from dlscratch.plot import plot_misclassified

    x, t = _digits()
    fig = plot_misclassified(x, t, t.copy(), path=tmp_path / "none.png")
    h, w = _png_size(tmp_path / "none.png")
    assert h >= 100 and w >= 200
    assert fig.axes == []
    assert "no misclassified images" in _texts(fig)
    assert "all 60 predictions are correct" in _texts(fig)
    # only the mistakes passed in, and there were none
    fig = plot_misclassified(x[:0].reshape(0, 784), t[:0], t[:0], path=tmp_path / "empty.png")
    _png_size(tmp_path / "empty.png")
    assert "no misclassified images" in _texts(fig) and fig.axes == []


def test_plot_misclassified_given_only_the_mistakes():
    pytest.importorskip("matplotlib")
    from dlscratch.plot import plot_misclassified

    x, t = _digits()
    fig = plot_misclassified(x[:7], t[:7], (t[:7] + 1) % 10)
    assert len(fig.axes) == 7
    assert fig._suptitle.get_text() == "misclassified: 7 images"


@pytest.mark.parametrize("kwargs, match", [
    ({"y": np.zeros(59, dtype=int)}, "59 labels in y for 60 images"),
    ({"t": np.zeros((60, 10))}, r"1-D integer class indices.*argmax"),
    ({"max_images": 0}, "max_images must be an int >= 1"),
    ({"images": np.zeros((60, 700))}, "square size"),
    ({"class_names": ["a"]}, "class_names has 1 names"),
])
def test_plot_misclassified_refuses_bad_input(kwargs, match):
    pytest.importorskip("matplotlib")
    from dlscratch.plot import plot_misclassified

    x, t = _digits()
    args = {"images": x, "t": t, "y": (t + 1) % 10} | kwargs
    with pytest.raises(ValueError, match=match):
        plot_misclassified(**args)


def test_figures_made_without_show_stay_out_of_pyplot(tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    from dlscratch.plot import plot_confusion_matrix, plot_learning_curves

    before = plt.get_fignums()
    plot_learning_curves(METRICS, path=tmp_path / "a.png")
    plot_confusion_matrix(np.eye(3, dtype=int), path=tmp_path / "b.png")
    assert plt.get_fignums() == before  # nothing to close, no window, no display needed


def test_plot_package_keeps_every_name():
    import dlscratch.plot as plot

    for name in ("filter_show", "plot_accuracy", "plot_history", "plot_learning_curves",
                 "plot_confusion_matrix", "plot_misclassified"):
        assert callable(getattr(plot, name)) and name in plot.__all__
