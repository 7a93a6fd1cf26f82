"""Lessons 000 and 001 in fast mode: run as scripts from another folder and in-process (their
section cells' values), their key numbers and the checks that guard them, their pictures and
their labels in Korean and English, the numerical-gradient training's measured time estimate,
params.pkl."""

from __future__ import annotations

import os
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest
from helpers_lessons import run_lesson

from dlscratch.lessons import seed000_neural_network as s000
from dlscratch.lessons import seed001_cnn as s001
from dlscratch.lessons._common import LessonCheckError

PNG = b"\x89PNG\r\n\x1a\n"


def _run_lesson(module, tmp_path_factory, name):
    cwd = tmp_path_factory.mktemp(f"{name}-cwd")
    out = tmp_path_factory.mktemp(f"{name}-out")
    env = dict(os.environ, DLSCRATCH_FAST="1", DLSCRATCH_OFFLINE="1", MPLBACKEND="Agg")
    proc = subprocess.run([sys.executable, "-m", f"dlscratch.lessons.{module}", "--out", str(out)],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc, cwd, out


@pytest.fixture(scope="module")
def run000(tmp_path_factory):
    return _run_lesson("seed000_neural_network", tmp_path_factory, "s000")


@pytest.fixture(scope="module")
def run001(tmp_path_factory):
    return _run_lesson("seed001_cnn", tmp_path_factory, "s001")


def test_seed000_script_fast_mode(run000):
    proc, cwd, out = run000
    assert list(cwd.iterdir()) == []  # nothing written to the working directory
    assert "Accuracy: 0.9352" in proc.stdout
    assert "Accuracy (batch_size = 100): 0.9352" in proc.stdout
    assert "[0.31682708 0.69627909]" in proc.stdout
    assert "[nan nan nan]" in proc.stdout  # the note's first softmax overflows
    names = ["seed000_img_show.png", "seed000_tangent_line.png", "seed000_gradient_field.png",
             "seed000_descent_path.png"]
    assert sorted(p.name for p in out.iterdir()) == sorted(names)
    for name in names:  # every picture is listed at the end and is a PNG
        assert f"  {name}" in proc.stdout.split("files written to")[-1]
        assert (out / name).read_bytes()[:8] == PNG


def test_seed000_numerical_training_estimate_is_measured(capsys):
    losses, seconds, max_diff = s000.train_numerical(iters_num=3, batch_size=5, hidden_size=2,
                                                     rng=0, verbose=True)
    text = capsys.readouterr().out
    m = re.search(r"one numerical gradient \((\d+) parameters, 2 losses each\): ([\d.]+) s; "
                  r"3 iterations: about ([\d.]+) s", text)
    assert m, text
    assert int(m.group(1)) == 784 * 2 + 2 + 2 * 10 + 10  # the tiny network's parameters
    assert float(m.group(2)) == pytest.approx(seconds, abs=0.006)  # the time it measured
    # the estimate is 3 x the measured gradient
    assert float(m.group(3)) == pytest.approx(3 * seconds, abs=0.051)
    assert "3/3" in text  # the progress bar reached its end
    assert len(losses) == 3 and all(np.isfinite(losses))
    assert max_diff < 1e-6  # float64 numerical gradient equals backprop's


def test_seed000_sections_values():
    naive, stable = s000.softmax_overflow_demo()
    assert np.all(np.isnan(naive))
    np.testing.assert_allclose(stable, [9.99954600e-01, 4.53978686e-05, 2.06106005e-09],
                               rtol=1e-6)
    img, label = s000.first_training_image()
    assert img.shape == (784,) and img.max() == 255 and label == 7  # raw pixels, first image
    onehot, labels = s000.minibatch_losses(rng=1)
    # float32: the one-hot sum adds the zeros too, in another order (the lesson says so)
    assert onehot == pytest.approx(labels, rel=1e-6, abs=0) and 0 < onehot < 2
    g = s000.gradient_examples()
    assert g["tmp1_at_3"] == pytest.approx(6.0, abs=1e-6)
    assert g["tmp2_at_4"] == pytest.approx(8.0, abs=1e-6)
    x, hist = s000.descent_path()
    assert hist.shape == (20, 2)
    np.testing.assert_allclose(hist[1], [-2.4, 3.2])  # each step multiplies x by 0.8
    np.testing.assert_allclose(x, np.array([-3.0, 4.0]) * 0.8**20, rtol=1e-6)


def _has_hangul(text: str) -> bool:
    return any("\uac00" <= ch <= "\ud7a3" for ch in text)


def _texts(fig) -> list[str]:
    """Every text a figure draws: titles, labels, legends, tick labels."""
    from matplotlib.text import Text

    return [t.get_text() for t in fig.findobj(Text)]


def test_seed000_cells_values_in_process(tmp_path, monkeypatch):
    """Each section's cell computes the note's numbers; the pictures are labelled in Korean
    by default (a Korean font is installed here and in CI)."""
    g = run_lesson("seed000_neural_network", tmp_path, monkeypatch)
    assert g["accuracy"] == 0.9352 and g["accuracy_batch"] == 0.9352
    np.testing.assert_allclose(g["y"], [0.31682708, 0.69627909], rtol=0, atol=5e-9)
    assert np.all(np.isnan(g["y_naive"])) and g["y_stable"][0] == pytest.approx(0.9999546, 1e-6)
    assert int(g["label"]) == 7 and g["img"].shape == (28, 28)
    assert g["losses"]["SSE"] == pytest.approx(0.0975, abs=1e-12)
    assert g["losses"]["CEE"] == pytest.approx(0.510825457099338, abs=1e-12)
    assert g["diffs"]["diff_at_5"] == pytest.approx(0.2, abs=1e-9)
    assert g["tf"](0.0) == pytest.approx(-0.25, abs=1e-8)  # f(5) - 0.2 * 5
    assert g["partials"] == pytest.approx({"tmp1_at_3": 6.0, "tmp2_at_4": 8.0}, abs=1e-6)
    np.testing.assert_allclose(g["grads"]["grad_at_0_2"], [0.0, 4.0], atol=1e-6)
    np.testing.assert_allclose(g["x_history"][-1], np.array([-3.0, 4.0]) * 0.8**19, rtol=1e-9)
    assert len(g["train_loss_list"]) == 3 and g["max_diff"] < 1e-6
    assert g["bp_iters"] == 300 and np.mean(g["bp_losses"][-50:]) < 2.0  # measured 1.795
    assert g["lesson"].lang == "ko"
    assert g["fig_img"].axes[0].get_title() == "정답: 7"
    assert _has_hangul(g["fig_tangent"].axes[0].get_title())  # 수치 미분: 접선
    assert [p.name for p in g["lesson"].outputs.written] == [
        "seed000_img_show.png", "seed000_tangent_line.png", "seed000_gradient_field.png",
        "seed000_descent_path.png"]


def test_seed000_lang_en_labels_in_english(tmp_path, monkeypatch):
    g = run_lesson("seed000_neural_network", tmp_path, monkeypatch, "--lang", "en")
    assert g["lesson"].lang == "en"
    assert g["fig_img"].axes[0].get_title() == "label: 7"
    for name in ("fig_img", "fig_tangent", "fig_field", "fig_path"):
        texts = _texts(g[name])
        assert texts and not any(_has_hangul(t) for t in texts), (name, texts)
    assert (tmp_path / "out" / "seed000_descent_path.png").read_bytes()[:8] == PNG


def test_seed000_cell_check_catches_a_wrong_accuracy(tmp_path, monkeypatch):
    """The inference cell's expect fails loudly, naming 0.9352, when the weights are wrong
    (here: the scores of digits 0 and 1 swapped)."""
    import dlscratch.datasets

    real = dlscratch.datasets.load_sample_weights

    def swapped():
        w = dict(real())
        w["W3"], w["b3"] = w["W3"][:, [1, 0, *range(2, 10)]], w["b3"][[1, 0, *range(2, 10)]]
        return w

    monkeypatch.setattr(dlscratch.datasets, "load_sample_weights", swapped)
    with pytest.raises(LessonCheckError, match="0.9352"):
        run_lesson("seed000_neural_network", tmp_path, monkeypatch)


def test_seed001_script_fast_mode(run001):
    proc, cwd, out = run001
    assert list(cwd.iterdir()) == []
    assert "[[18. 19.]\n [ 9. 18.]]" in proc.stdout
    assert sorted(p.name for p in out.iterdir()) == [
        "params.pkl", "seed001_accuracy.png", "seed001_filters_before_after.png"]
    acc = float(re.search(r"test accuracy after 3 epochs on 2000 images: ([\d.]+)",
                          proc.stdout).group(1))
    assert 0.7 < acc < 1.0  # measured 0.778 (60 Adam steps; chance is 0.1)
    # the book's load_params reads it: a plain pickle of {name: ndarray}
    with open(out / "params.pkl", "rb") as f:
        params = pickle.load(f)  # noqa: S301 - written by this test's own run
    assert sorted(params) == ["W1", "W2", "W3", "b1", "b2", "b3"]
    assert params["W1"].shape == (30, 1, 5, 5) and params["W2"].shape == (4320, 100)
    np.testing.assert_array_equal(s001.filters_after_from_pickle(out / "params.pkl"),
                                  params["W1"])


def test_seed001_note_loops_equal_naive_and_layers():
    np.testing.assert_array_equal(s001.convolution_loop(s001.x_input, s001.kernel),
                                  [[18, 19], [9, 18]])
    padded = s001.convolution_loop_padded(s001.x_input_7, s001.kernel, padding=1, stride=2)
    np.testing.assert_array_equal(padded, s001.loop_examples()["conv_pad1_stride2"])
    # top-left window: padded rows [0 0 0], [0 1 2], [0 0 1] times the kernel, plus 3
    assert padded[0, 0] == (1 * 1 + 2 * 2) + (1 * 2) + 3
    np.testing.assert_array_equal(s001.pooling_loop(s001.conved_input), [[6, 8], [3, 4]])
    np.testing.assert_array_equal(s001.pooling_loop(s001.conved_input, reduce=np.mean),
                                  [[3.25, 5.25], [2, 2]])
    assert s001.layers_match_loops() == {"conv": True, "conv_pad1_stride2": True,
                                         "max_pooling": True}


def test_seed001_cells_values_and_korean_labels_in_process(tmp_path, monkeypatch):
    g = run_lesson("seed001_cnn", tmp_path, monkeypatch)
    np.testing.assert_array_equal(g["loops"]["conv"], [[18, 19], [9, 18]])
    np.testing.assert_array_equal(g["average_pooling_result"], [[3.25, 5.25], [2, 2]])
    assert all(g["layers_match"].values())
    assert (g["max_epochs"], g["n_train"], g["n_test"]) == (3, 2000, 500)
    assert len(g["trainer"].test_acc_list) == 3
    assert g["trainer"].test_acc_list[-1] == pytest.approx(0.778, abs=0.05)  # measured 0.778
    assert g["pickle_roundtrip"] and g["filter_change"] > 0.5  # measured 5.70
    ax = g["fig_acc"].axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("에폭", "정확도")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["학습 데이터", "시험 데이터"]
    assert {"학습 전", "학습 후"} <= set(_texts(g["fig_filters"]))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "params.pkl", "seed001_accuracy.png", "seed001_filters_before_after.png"]
