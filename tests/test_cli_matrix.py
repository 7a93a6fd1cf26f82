"""`dlscratch train` over every registered model and every option: each option must have its
effect (a CLI that ignores --limit or --lr, or an evaluate that flattens a CNN's input, fails
here). Tiny runs: a few dozen images, one epoch."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers_cli import accuracy_of, dlscratch, load_state

from dlscratch.models.registry import MODELS, get_spec

BASE = ("--limit", "300", "--batch-size", "100", "--epochs", "1", "--test-limit", "200",
        "--no-plots")


def _train(cwd: Path, out: str, *args: str) -> tuple[str, Path]:
    proc = dlscratch("train", "--out", out, *args, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout, cwd / out


def _same_weights(a: Path, b: Path) -> bool:
    sa, sb = load_state(a / "model.npz"), load_state(b / "model.npz")
    return sa.keys() == sb.keys() and all(np.array_equal(sa[k], sb[k]) for k in sa)


def _metric_rows(run_dir: Path) -> int:
    return len((run_dir / "metrics.csv").read_text().strip().splitlines()) - 1


# ---------------------------------------------------------------- every model, train + evaluate
@pytest.mark.parametrize("model", list(MODELS))
def test_each_model_trains_and_evaluates_with_its_input_shape(model, tmp_path):
    conv = not get_spec(model).flatten  # plots for CNNs only (filters); test_cli_run: an MLP's
    out, run_dir = _train(tmp_path, model, "--model", model, "--limit", "40", "--batch-size", "20",
                          "--epochs", "1", "--test-limit", "60", "--quiet",
                          *([] if conv else ["--no-plots"]))
    assert out.count("\n") == 1 and out.startswith("test accuracy ")  # --quiet: the result only
    config = json.loads((run_dir / "config.json").read_text())
    assert config["model"] == model and config["train_size"] == 40
    for name in ("model.npz", "checkpoint.npz", "metrics.csv"):
        assert (run_dir / name).is_file(), name
    if conv:
        for name in ("filters", "confusion_matrix", "misclassified", "learning_curves"):
            assert (run_dir / "plots" / f"{name}.png").is_file(), name
    # evaluate rebuilds the input shape from the registry: same 60 images, same accuracy
    proc = dlscratch("evaluate", run_dir / "model.npz", "--limit", "60", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert accuracy_of(proc.stdout) == accuracy_of(out)
    assert "(60 images)" in proc.stdout


def test_evaluate_feeds_images_to_a_deep_cnn(tmp_path):
    """A DeepConvNet file evaluated from outside a run: the input must stay (N, 1, 28, 28)."""
    from dlscratch.datasets import load_mnist
    from dlscratch.io import save
    from dlscratch.models.registry import build_model

    net = build_model("deepcnn", rng=1)
    save(net, tmp_path / "deep.npz")
    _, (x, t) = load_mnist(flatten=False, dataset="mnist-sample")
    net.eval()
    expected = float((np.argmax(net.predict(x[:50]), axis=1) == t[:50]).mean())
    proc = dlscratch("evaluate", "deep.npz", "--limit", "50", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert accuracy_of(proc.stdout) == pytest.approx(expected, abs=1e-12)


# ---------------------------------------------------------------- every option has its effect
@pytest.fixture(scope="module")
def base(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("matrix")
    out, run_dir = _train(cwd, "base", *BASE)
    return cwd, out, run_dir


def test_seed_makes_runs_reproducible_and_different(base):
    cwd, _, run_dir = base
    _, again = _train(cwd, "again", *BASE)
    assert _same_weights(again, run_dir)
    assert not (again / "plots").exists()  # --no-plots
    _, other = _train(cwd, "seed1", *BASE, "--seed", "1")
    assert not _same_weights(other, run_dir)
    assert json.loads((other / "config.json").read_text())["seed"] == 1


def test_limit_changes_the_training_images(base):
    cwd, out, _ = base
    assert "300 training and 200 test images" in out and "1 epochs of 3 steps" in out
    out600, run600 = _train(cwd, "limit600", *BASE, "--limit", "600")
    assert "600 training and 200 test images" in out600 and "1 epochs of 6 steps" in out600
    assert json.loads((run600 / "config.json").read_text())["train_size"] == 600


def test_lr_changes_the_result(base):
    cwd, _, run_dir = base
    _, fast = _train(cwd, "lr", *BASE, "--lr", "0.01")
    assert not _same_weights(fast, run_dir)
    assert (fast / "metrics.csv").read_text() != (run_dir / "metrics.csv").read_text()


def test_epochs_change_the_metrics_rows(base):
    cwd, out, run_dir = base
    assert _metric_rows(run_dir) == 1
    out3, run3 = _train(cwd, "epochs3", *BASE, "--epochs", "3")
    assert _metric_rows(run3) == 3 and "epoch 3/3:" in out3
    assert "epoch 2/" not in out


def test_batch_size_changes_the_steps(base):
    cwd, _, run_dir = base
    out, small = _train(cwd, "bs", *BASE, "--batch-size", "30")
    assert "1 epochs of 10 steps (batch size 30)" in out
    assert not _same_weights(small, run_dir)


def test_optimizer_changes_the_update_rule(base):
    cwd, _, run_dir = base
    out, sgd = _train(cwd, "sgd", *BASE, "--optimizer", "SGD")
    assert "sgd lr 0.001" in out
    assert json.loads((sgd / "config.json").read_text())["optimizer"] == "sgd"
    assert not _same_weights(sgd, run_dir)


def test_save_copies_the_final_model(base):
    cwd, _, run_dir = base
    _, saved = _train(cwd, "saved", *BASE, "--save", "models/final.npz")
    assert (cwd / "models" / "final.npz").read_bytes() == (saved / "model.npz").read_bytes()
    assert _same_weights(saved, run_dir)


def test_dataset_and_data_dir_are_used(base):
    """--dataset mnist --data-dir DIR: a folder with 50 training images of our own (and the real
    MNIST test files, whose checksums are known) trains on exactly those."""
    from importlib import resources

    from dlscratch.datasets import write_idx

    cwd, _, _ = base
    folder = cwd / "mydata"
    folder.mkdir()
    bundled = resources.files("dlscratch.datasets") / "_data"
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (folder / name).write_bytes((bundled / name).read_bytes())
    rng = np.random.default_rng(0)
    write_idx(folder / "train-images-idx3-ubyte", rng.integers(0, 256, (50, 28, 28), np.uint8))
    write_idx(folder / "train-labels-idx1-ubyte", rng.integers(0, 10, 50).astype(np.uint8))
    out, run_dir = _train(cwd, "mine", "--dataset", "mnist", "--data-dir", "mydata",
                          "--epochs", "1", "--test-limit", "100", "--no-plots")
    assert "dataset mnist: 50 training and 100 test images" in out
    config = json.loads((run_dir / "config.json").read_text())
    assert config["dataset"] == "mnist" and config["data_dir"] == str(folder.resolve())
    shutil.rmtree(cwd / ".cache", ignore_errors=True)


def test_threads_split_batches_with_the_same_result(base):
    cwd, _, run_dir = base
    _, two = _train(cwd, "threads2", *BASE, "--threads", "2")
    assert json.loads((two / "config.json").read_text())["threads"] == 2
    assert json.loads((run_dir / "config.json").read_text())["threads"] == 1
    sa, sb = load_state(run_dir / "model.npz"), load_state(two / "model.npz")
    assert sa.keys() == sb.keys()
    for k in sa:  # the same steps, summed in another order: float32 rounding apart
        np.testing.assert_allclose(sb[k], sa[k], rtol=1e-4, atol=1e-5, err_msg=k)


def test_processes_give_the_threads_numbers_and_need_threads(base):
    from helpers_cli import assert_one_line_error

    cwd, _, _ = base
    _, threads = _train(cwd, "threads2-again", *BASE, "--threads", "2")
    _, procs = _train(cwd, "processes2", *BASE, "--threads", "2", "--processes")
    config = json.loads((procs / "config.json").read_text())
    assert config["threads"] == 2 and config["processes"] is True
    assert json.loads((threads / "config.json").read_text())["processes"] is False
    sa, sb = load_state(threads / "model.npz"), load_state(procs / "model.npz")
    assert sa.keys() == sb.keys()
    for k in sa:  # the same parts, the same sums in the same order: the same bits
        np.testing.assert_array_equal(sb[k], sa[k], err_msg=k)
    proc = dlscratch("train", "--processes", "--out", "lonely", *BASE, cwd=cwd)
    assert_one_line_error(proc, "--processes", "--threads 2", status=2)
    assert not (cwd / "lonely").exists()


def test_threads_with_batchnorm_and_the_errors(tmp_path):
    from helpers_cli import assert_one_line_error, cli_env

    small = ("--model", "resnet-small", "--limit", "64", "--batch-size", "64", "--epochs", "1",
             "--test-limit", "64", "--no-plots")
    _, one = _train(tmp_path, "one", *small)
    _, two = _train(tmp_path, "two", *small, "--threads", "2")
    sa, sb = load_state(one / "model.npz"), load_state(two / "model.npz")
    for k in sa:  # BatchNorm's statistics over the whole batch: float32 rounding apart
        np.testing.assert_allclose(sb[k], sa[k], rtol=1e-4, atol=1e-5, err_msg=k)
    proc = dlscratch("train", "--threads", "0", cwd=tmp_path)
    assert proc.returncode == 2 and "--threads" in proc.stderr and "at least 1" in proc.stderr
    fake = tmp_path / "fake"  # a machine without threadpoolctl
    fake.mkdir()
    (fake / "threadpoolctl.py").write_text("raise ImportError('not installed')\n")
    proc = dlscratch("train", "--threads", "2", "--out", "r", *BASE, cwd=tmp_path,
                     env=cli_env(tmp_path, PYTHONPATH=str(fake)))
    assert_one_line_error(proc, "--threads 2", "dlscratch[parallel]", status=2)
    assert not (tmp_path / "r").exists()  # refused before the run folder was made
