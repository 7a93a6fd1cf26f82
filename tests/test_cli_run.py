"""The README's main job end to end, as a user runs it: `dlscratch train` with no options, then
evaluate, predict (a test digit as PNG, and the same digit as dark ink on white paper at another
size) and plot. One run (module fixture) serves every test here."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers_cli import accuracy_of, cli_env, dlscratch, load_state, png_size

from dlscratch import __version__

CONSOLE_SCRIPT = Path(sys.executable).with_name("dlscratch")
DIGIT_INDEX = 0  # the first test image of mnist-sample (a 4)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """`dlscratch train` (the README's command, no options) in an empty folder."""
    cwd = tmp_path_factory.mktemp("readme")
    command = ([str(CONSOLE_SCRIPT)] if CONSOLE_SCRIPT.exists()
               else [sys.executable, "-m", "dlscratch.cli"])
    proc = subprocess.run([*command, "train"], cwd=cwd, env=cli_env(cwd), capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    folders = list((cwd / "runs").iterdir())
    assert len(folders) == 1
    return cwd, folders[0], proc


def test_readme_command_trains_the_mlp_and_says_where_the_run_went(run):
    cwd, run_dir, proc = run
    assert run_dir.name.startswith("mlp-mnist-sample-")
    stamp = run_dir.name.removeprefix("mlp-mnist-sample-")
    assert len(stamp) == 15 and stamp[8] == "-" and stamp.replace("-", "").isdigit()
    lines = proc.stdout.splitlines()
    rel = str(run_dir.relative_to(cwd))
    assert lines[0] == f"run folder: {rel}"  # at the start ...
    assert any(line.startswith(f"run folder: {rel}") for line in lines[-3:])  # ... and the end
    assert f"dlscratch evaluate {rel}/model.npz" in proc.stdout
    assert f"dlscratch plot {rel}" in proc.stdout
    assert "8,000 training and 2,000 test images" in proc.stdout
    assert accuracy_of(proc.stdout) > 0.93  # about 0.95 after 5 epochs
    assert proc.stderr == ""


def test_progress_is_one_plain_line_per_epoch_when_not_a_terminal(run):
    _, _, proc = run
    assert "\r" not in proc.stdout  # no bar redraws in logs
    epoch_lines = [line for line in proc.stdout.splitlines() if line.startswith("epoch ")]
    assert [line.split(":")[0] for line in epoch_lines] == [f"epoch {i}/5" for i in range(1, 6)]


def test_the_run_folder_holds_everything(run):
    cwd, run_dir, proc = run
    for name in ("config.json", "metrics.csv", "model.npz", "checkpoint.npz",
                 "plots/learning_curves.png", "plots/confusion_matrix.png",
                 "plots/misclassified.png"):
        assert (run_dir / name).is_file(), name
    assert not (run_dir / "plots/filters.png").exists()  # an MLP has no filters
    leftovers = [p.name for p in run_dir.rglob("*") if p.name.startswith(".")]
    assert leftovers == []  # no temporary files
    for png in (run_dir / "plots").iterdir():
        width, height = png_size(png)
        assert 300 <= width <= 3000 and 200 <= height <= 3000, (png.name, width, height)


def test_config_has_everything_to_rerun(run):
    cwd, run_dir, _ = run
    config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    assert config["command"] == "dlscratch train"
    assert config["dlscratch_version"] == __version__
    expected = {"model": "mlp", "dataset": "mnist-sample", "epochs": 5, "batch_size": 100,
                "optimizer": "adam", "lr": 0.001, "seed": 0, "limit": None, "data_dir": None,
                "train_size": 8000, "test_size": 2000}
    assert {k: config[k] for k in expected} == expected


def test_metrics_csv_has_a_row_per_epoch(run):
    _, run_dir, proc = run
    with open(run_dir / "metrics.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr",
                             "seconds"]
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4, 5]
    losses = [float(r["train_loss"]) for r in rows]
    assert losses[-1] < losses[0]
    assert float(rows[-1]["test_acc"]) == pytest.approx(accuracy_of(proc.stdout), abs=5e-5)


def test_checkpoint_and_model_hold_the_same_final_weights(run):
    _, run_dir, _ = run
    model, ckpt = load_state(run_dir / "model.npz"), load_state(run_dir / "checkpoint.npz")
    assert model.keys() == ckpt.keys()
    for key in model:
        np.testing.assert_array_equal(model[key], ckpt[key])


def test_evaluate_prints_accuracy_per_class_and_confusion_matrix(run, tmp_path):
    cwd, run_dir, train = run
    proc = dlscratch("evaluate", run_dir / "model.npz", "--out", tmp_path / "ev", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    assert accuracy_of(proc.stdout) == accuracy_of(train.stdout)
    assert "on mnist-sample (2,000 images)" in proc.stdout
    lines = proc.stdout.splitlines()
    start = lines.index("per-class accuracy:")
    per_class = lines[start + 1:start + 11]
    assert [line.split()[0] for line in per_class] == [str(i) for i in range(10)]
    counts = [int(line.split("(")[1].split()[0]) for line in per_class]
    assert sum(counts) == 2000
    cm_start = lines.index("confusion matrix (rows: true class, columns: predicted class):")
    cm = np.array([[int(v) for v in line.split()[1:]] for line in lines[cm_start + 2:cm_start + 12]])
    assert cm.shape == (10, 10) and cm.sum(axis=1).tolist() == counts
    assert np.trace(cm) / cm.sum() == pytest.approx(accuracy_of(proc.stdout), abs=5e-5)
    assert png_size(tmp_path / "ev" / "confusion_matrix.png")[0] >= 300


def _digit(cwd: Path) -> tuple[np.ndarray, int]:
    from dlscratch.datasets import load_mnist

    _, (x_test, t_test) = load_mnist(normalize=False, flatten=False, dataset="mnist-sample")
    return x_test[DIGIT_INDEX, 0], int(t_test[DIGIT_INDEX])


def test_predict_a_test_digit_and_the_same_digit_on_paper(run):
    from PIL import Image

    cwd, run_dir, _ = run
    image, label = _digit(cwd)
    Image.fromarray(image).save(cwd / "digit.png")
    # dark ink on white paper, larger and not square, the digit off-centre
    paper = np.full((130, 100), 255, np.uint8)
    big = np.asarray(Image.fromarray(255 - image).resize((84, 84), Image.BILINEAR))
    paper[30:114, 6:90] = big
    Image.fromarray(paper).save(cwd / "paper.png")
    proc = dlscratch("predict", run_dir / "model.npz", "digit.png", "paper.png", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 2
    for line, name in zip(lines, ["digit.png", "paper.png"]):
        head, top = line.split("  (top 3: ")
        assert head == f"{name}: {label}"
        classes = [item.split()[0] for item in top.rstrip(")").split(", ")]
        probs = [float(item.split()[1]) for item in top.rstrip(")").split(", ")]
        assert classes[0] == str(label) and len(set(classes)) == 3
        assert probs == sorted(probs, reverse=True) and 0.5 < probs[0] <= 1.0


def test_predict_names_a_bad_image_and_goes_on(run):
    cwd, run_dir, _ = run
    (cwd / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    proc = dlscratch("predict", run_dir / "model.npz", "broken.png", "missing.png", cwd=cwd)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    errors = proc.stderr.splitlines()
    assert len(errors) == 2
    assert errors[0].startswith("dlscratch: error: ") and "broken.png" in errors[0]
    assert "missing.png" in errors[1]


def test_plot_redraws_the_plots(run):
    cwd, run_dir, _ = run
    copy = cwd / "copy"
    shutil.copytree(run_dir, copy)
    shutil.rmtree(copy / "plots")
    proc = dlscratch("plot", "copy", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    for name in ("learning_curves", "confusion_matrix", "misclassified"):
        path = copy / "plots" / f"{name}.png"
        assert f"wrote {Path('copy') / 'plots' / f'{name}.png'}" in proc.stdout
        assert png_size(path) == png_size(run_dir / "plots" / f"{name}.png")


def test_evaluate_accepts_a_run_folder(run):
    cwd, run_dir, train = run
    proc = dlscratch("evaluate", run_dir, cwd=cwd)
    assert proc.returncode == 0 and accuracy_of(proc.stdout) == accuracy_of(train.stdout)
