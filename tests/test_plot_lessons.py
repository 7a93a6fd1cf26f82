"""The lecture notes' pictures in dlscratch.plot: PNGs written, and what they draw is right."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
pytest.importorskip("matplotlib")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _is_png(path) -> bool:
    return path.stat().st_size > 1000 and path.read_bytes()[:8] == PNG_MAGIC


def test_importing_plot_still_does_not_import_matplotlib_or_pyplot():
    code = ("import sys, dlscratch.plot, dlscratch.plot.fonts; "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    # drawing with show=False stays pyplot-free (no GUI backend chosen)
    code = ("import sys, numpy as np; from dlscratch.plot import img_show, plot_gradient_field; "
            "img_show(np.zeros(784), show=False); plot_gradient_field(); "
            "print('matplotlib.pyplot' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_img_show_draws_the_digit_as_28x28(tmp_path):
    from dlscratch.plot import img_show

    rng = np.random.default_rng(0)
    row = rng.integers(0, 256, 784).astype(np.uint8)  # a raw MNIST row, flattened
    fig = img_show(row, label=5, show=False, path=tmp_path / "digit.png")
    assert _is_png(tmp_path / "digit.png")
    ax = fig.axes[0]
    (image,) = ax.get_images()
    np.testing.assert_array_equal(image.get_array(), row.reshape(28, 28))
    assert image.get_clim() == (0.0, 255.0)  # a faint digit is not stretched
    assert ax.get_title() == "label: 5" and not ax.axison
    # normalized (1, 28, 28) image: drawn on 0..1
    fig = img_show(row.reshape(1, 28, 28) / 255.0, show=False)
    assert fig.axes[0].get_images()[0].get_clim() == (0.0, 1.0)
    with pytest.raises(ValueError, match="784"):
        img_show(np.zeros(10), show=False)


def test_tangent_line_slope_is_the_derivative(tmp_path):
    from dlscratch.plot import plot_tangent_line

    def function_1(x):
        return 0.01 * x ** 2 + 0.1 * x

    fig = plot_tangent_line(function_1, 5, path=tmp_path / "tangent.png")
    assert _is_png(tmp_path / "tangent.png")
    ax = fig.axes[0]
    curve, tangent, point = ax.get_lines()
    x, y2 = tangent.get_xdata(), tangent.get_ydata()
    slope = np.polyfit(x, y2, 1)[0]
    assert slope == pytest.approx(0.2, abs=1e-8)  # f'(x) = 0.02 x + 0.1 at x = 5
    # the tangent touches f at x0 = 5: f(5) = 0.75
    np.testing.assert_allclose(np.interp(5.0, x, y2), 0.75, atol=1e-8)
    np.testing.assert_allclose(curve.get_ydata(), function_1(np.arange(0.0, 20.0, 0.1)))
    np.testing.assert_allclose(point.get_xydata(), [[5.0, 0.75]])
    assert ax.get_xlabel() == "x" and ax.get_ylabel() == "f(x)"


def test_gradient_field_arrows_point_along_minus_grad(tmp_path):
    from matplotlib.quiver import Quiver

    from dlscratch.plot import plot_gradient_field

    fig = plot_gradient_field(path=tmp_path / "quiver.png")
    assert _is_png(tmp_path / "quiver.png")
    ax = fig.axes[0]
    (q,) = [c for c in ax.collections if isinstance(c, Quiver)]
    grid = np.arange(-2, 2.5, 0.25)
    assert q.N == len(grid) ** 2
    # f = x0^2 + x1^2: -grad f = (-2 x0, -2 x1), every arrow toward the origin
    np.testing.assert_allclose(q.U, -2 * q.X, atol=1e-6)
    np.testing.assert_allclose(q.V, -2 * q.Y, atol=1e-6)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x0", "x1")

    # another f: f = x0^2 - x1 -> -grad = (-2 x0, +1)
    fig = plot_gradient_field(lambda x: x[0] ** 2 - x[1])
    (q,) = [c for c in fig.axes[0].collections if isinstance(c, Quiver)]
    np.testing.assert_allclose(q.U, -2 * q.X, atol=1e-6)
    np.testing.assert_allclose(q.V, np.ones_like(q.V), atol=1e-6)


def test_descent_path_draws_the_history_on_contours(tmp_path):
    from dlscratch.gradient import gradient_descent
    from dlscratch.plot import plot_descent_path
    from dlscratch.plot.calculus import function_2

    _, history = gradient_descent(function_2, np.array([-3.0, 4.0]), lr=0.1, step_num=20)
    fig = plot_descent_path(history, f=function_2, path=tmp_path / "descent.png")
    assert _is_png(tmp_path / "descent.png")
    ax = fig.axes[0]
    path_line = ax.get_lines()[-1]
    np.testing.assert_array_equal(path_line.get_xydata(), history)
    assert path_line.get_marker() == "o"
    assert len(ax.collections) >= 1  # the contour lines
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("X0", "X1")
    fig = plot_descent_path(history)  # no f: no contours
    assert len(fig.axes[0].collections) == 0
    with pytest.raises(ValueError, match="steps, 2"):
        plot_descent_path(np.zeros((3, 3)))


def test_decision_boundary_separates_the_classes(tmp_path):
    from matplotlib.collections import PathCollection

    from dlscratch.plot import plot_decision_boundary, plot_scatter

    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 2)) * 1.5
    t = np.where(x[:, 0] - 0.5 * x[:, 1] > 0.3, 1, -1)  # the perceptron's -1/+1 labels

    def predict(grid):
        return np.sign(grid[:, 0] - 0.5 * grid[:, 1] - 0.3)

    fig = plot_decision_boundary(predict, x, t, path=tmp_path / "boundary.png")
    assert _is_png(tmp_path / "boundary.png")
    ax = fig.axes[0]
    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(scatters) == 2
    np.testing.assert_array_equal(scatters[0].get_offsets(), x[t == -1])
    np.testing.assert_array_equal(scatters[1].get_offsets(), x[t == 1])
    # the boundary line lies on x0 - 0.5 x1 = 0.3 (within a grid step)
    boundary = ax.collections[1]
    vertices = np.concatenate([p.vertices for p in boundary.get_paths()])
    assert len(vertices) > 10
    step = (x.max() - x.min() + 1) / 199
    assert np.abs(vertices[:, 0] - 0.5 * vertices[:, 1] - 0.3).max() < 2 * step
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["class -1", "class 1"]

    # scores (M, K): argmax; three classes, two boundaries
    centers = np.array([[0.0, 3.0], [-3.0, -2.0], [3.0, -2.0]])
    t3 = np.repeat(np.arange(3), 20)
    x3 = centers[t3] + rng.normal(scale=0.5, size=(60, 2))
    fig = plot_decision_boundary(lambda g: -((g[:, None, :] - centers) ** 2).sum(-1), x3,
                                 np.eye(3)[t3])
    assert len([c for c in fig.axes[0].collections if isinstance(c, PathCollection)]) == 3

    fig = plot_scatter(x, t, title="Groundtruth", path=tmp_path / "scatter.png")
    assert _is_png(tmp_path / "scatter.png")
    assert fig.axes[0].get_title() == "Groundtruth"
    with pytest.raises(ValueError, match="whole numbers"):
        plot_decision_boundary(lambda g: g[:, 0] + 0.5, x, t)


def test_activation_curves_are_the_functions(tmp_path):
    from dlscratch.functions import relu, sigmoid
    from dlscratch.plot import plot_activations

    fig = plot_activations(path=tmp_path / "act.png")
    assert _is_png(tmp_path / "act.png")
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title().split("\n")[0] for ax in axes] == ["step", "sigmoid", "relu", "tanh"]
    x = np.arange(-5.0, 5.0, 0.1)
    np.testing.assert_allclose(axes[0].get_lines()[0].get_ydata(), (x > 0).astype(float))
    np.testing.assert_allclose(axes[1].get_lines()[0].get_ydata(), sigmoid(x))
    np.testing.assert_allclose(axes[2].get_lines()[0].get_ydata(), relu(x))
    np.testing.assert_allclose(axes[3].get_lines()[0].get_ydata(), np.tanh(x))
    with pytest.raises(ValueError, match="softplus"):
        plot_activations(["softplus"])


def test_filters_before_and_after(tmp_path):
    from dlscratch.plot import plot_filters_before_after

    rng = np.random.default_rng(1)
    before = rng.normal(size=(30, 1, 5, 5))
    after = before + rng.normal(size=before.shape)
    fig = plot_filters_before_after(before, after, path=tmp_path / "filters.png")
    assert _is_png(tmp_path / "filters.png")
    top, bottom = fig.subfigs
    assert len(top.axes) == len(bottom.axes) == 30
    np.testing.assert_array_equal(top.axes[7].get_images()[0].get_array(), before[7, 0])
    np.testing.assert_array_equal(bottom.axes[7].get_images()[0].get_array(), after[7, 0])
    with pytest.raises(ValueError, match="same shape"):
        plot_filters_before_after(before, after[:3])


def test_korean_labels_fall_back_to_english_without_a_font(monkeypatch):
    import matplotlib

    from dlscratch.plot import fonts, plot_tangent_line

    monkeypatch.setattr(fonts, "korean_font_name", lambda: None)
    monkeypatch.setattr(fonts, "_warned", False)
    family = list(matplotlib.rcParams["font.family"])
    with pytest.warns(UserWarning, match="labels stay English"):
        assert fonts.use_korean_font() is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once only
        fig = plot_tangent_line(np.square, 1.0, lang="ko")
    assert fig.axes[0].get_title() == "numerical_diff: the tangent line"
    assert list(matplotlib.rcParams["font.family"]) == family  # nothing changed
    with pytest.raises(ValueError, match="'en' or 'ko'"):
        plot_tangent_line(np.square, 1.0, lang="kr")


def test_korean_labels_with_a_korean_font(monkeypatch):
    import matplotlib
    from matplotlib import font_manager

    from dlscratch.plot import fonts, plot_activations, plot_decision_boundary

    # pretend DejaVu Sans is installed under a Korean font's name
    dejavu = font_manager.findfont("DejaVu Sans")
    fake = font_manager.FontEntry(fname=dejavu, name="NanumGothic", style="normal",
                                  variant="normal", weight=400, stretch="normal")
    monkeypatch.setattr(font_manager.fontManager, "ttflist",
                        [*font_manager.fontManager.ttflist, fake])
    with matplotlib.rc_context():
        assert fonts.use_korean_font() == "NanumGothic"
        assert matplotlib.rcParams["font.family"] == ["NanumGothic"]
        assert matplotlib.rcParams["axes.unicode_minus"] is False
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # DejaVu has no Hangul glyphs
            fig = plot_activations(["relu"], lang="ko")
            assert fig._suptitle.get_text() == "활성 함수"
            x = np.array([[0.0, 0.0], [1.0, 1.0]])
            fig = plot_decision_boundary(lambda g: g[:, 0] > 0.5, x, np.array([0, 1]),
                                         lang="ko")
            assert fig.axes[0].get_title() == "결정 경계"
