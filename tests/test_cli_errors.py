"""Every error a user can cause on the command line: one line on stderr that says what to do,
a non-zero exit status, no traceback, and nothing trained or written before the check."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from helpers_cli import assert_one_line_error, dlscratch

from dlscratch.cli import main

# ---------------------------------------------------------------- option values (argparse)
BAD_OPTIONS = [
    (["train", "--limit", "0"], "--limit: must be at least 1, got 0"),
    (["train", "--limit", "-5"], "--limit: must be at least 1"),
    (["train", "--batch-size", "0"], "--batch-size: must be at least 1"),
    (["train", "--epochs", "0"], "--epochs: must be at least 1"),
    (["train", "--epochs", "two"], "--epochs: expected a whole number, got 'two'"),
    (["train", "--seed", "-1"], "--seed: must be 0 or more, got -1"),
    (["train", "--lr", "0"], "--lr: must be a finite number > 0, got 0"),
    (["train", "--lr", "-0.1"], "--lr: must be a finite number > 0"),
    (["train", "--lr", "nan"], "--lr: must be a finite number > 0, got nan"),
    (["train", "--lr", "inf"], "--lr: must be a finite number > 0, got inf"),
    (["train", "--lr", "fast"], "--lr: expected a number, got 'fast'"),
    (["train", "--checkpoint-every", "-1"], "--checkpoint-every: must be 0 or more"),
    (["train", "--model", "vgg"], "--model: invalid choice: 'vgg'"),
    (["train", "--optimizer", "lbfgs"], "--optimizer: invalid choice: 'lbfgs'"),
    (["train", "--dataset", "cifar10"], "--dataset: invalid choice: 'cifar10'"),
    (["train", "--out", ""], "--out: is empty"),
    (["train", "--data-dir", "no/such/folder"], "--data-dir: no/such/folder does not exist"),
    (["train", "--frobnicate"], "unrecognized arguments: --frobnicate"),
    (["evaluate"], "the following arguments are required: MODEL_FILE"),
    (["predict", "model.npz"], "the following arguments are required: IMAGE"),
    ([], "the following arguments are required: COMMAND"),
]


@pytest.mark.parametrize("argv,message", BAD_OPTIONS, ids=lambda v: " ".join(v)
                         if isinstance(v, list) else None)
def test_bad_option_values_are_one_line(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and "--help" in err  # one line, pointing at the help
    assert not (tmp_path / "runs").exists()


def test_data_dir_that_is_a_file(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.gz").write_bytes(b"")
    with pytest.raises(SystemExit):
        main(["train", "--data-dir", "data.gz"])
    assert "--data-dir: data.gz is not a folder" in capsys.readouterr().err


# ---------------------------------------------------------------- the same, as a user runs it
def test_bad_lr_in_a_subprocess(tmp_path):
    proc = dlscratch("train", "--lr", "-1", cwd=tmp_path)
    assert_one_line_error(proc, "dlscratch train: error: argument --lr: must be a finite number",
                          status=2)
    assert proc.stdout == "" and not (tmp_path / "runs").exists()


# ---------------------------------------------------------------- output places
def _read_only_place(tmp_path: Path) -> Path:
    """A folder path that cannot be created (root ignores permissions: use /sys there)."""
    if os.geteuid() == 0:
        return Path("/sys/dlscratch-cannot-write-here/run")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    return locked / "run"


@pytest.mark.parametrize("case", ["file in the way", "file as parent", "read-only",
                                  "existing run"])
def test_out_folder_is_checked_before_training(case, tmp_path):
    if case == "file in the way":
        (tmp_path / "taken").write_text("x")
        out, expected = "taken", ["taken is a file, not a folder"]
    elif case == "file as parent":
        (tmp_path / "taken").write_text("x")
        out, expected = "taken/run", ["taken is a file, not a folder"]
    elif case == "read-only":
        out, expected = str(_read_only_place(tmp_path)), ["cannot create the run folder",
                                                          "choose another with --out"]
    else:
        (tmp_path / "old").mkdir()
        (tmp_path / "old" / "config.json").write_text("{}")
        out, expected = "old", ["old already holds a run (config.json)", "--resume old"]
    proc = dlscratch("train", "--out", out, "--limit", "100", cwd=tmp_path)
    assert_one_line_error(proc, *expected)
    assert "training started" not in proc.stdout


@pytest.mark.parametrize("case", ["empty", "folder", "file as parent", "read-only"])
def test_save_path_is_checked_before_training(case, tmp_path):
    (tmp_path / "file").write_text("x")
    (tmp_path / "folder").mkdir()
    save, expected = {
        "empty": ("", "--save is empty"),
        "folder": ("folder", "--save: folder is a folder"),
        "file as parent": ("file/model.npz", "--save: file is a file, not a folder"),
        "read-only": (str(_read_only_place(tmp_path) / "model.npz"), "--save: cannot write"),
    }[case]
    proc = dlscratch("train", "--save", save, "--out", "run", cwd=tmp_path)
    assert_one_line_error(proc, expected)
    assert "training started" not in proc.stdout
    assert not (tmp_path / "run").exists()  # nothing made before the check


def test_missing_data_set_names_the_download_command(tmp_path):
    proc = dlscratch("train", "--dataset", "mnist", "--out", "run", cwd=tmp_path)
    err = assert_one_line_error(proc, "data set mnist is not on this machine",
                                "`dlscratch datasets --download mnist`", str(tmp_path / ".cache"),
                                "--dataset mnist-sample")
    assert "load_mnist" not in err and "python" not in err  # a command, not a Python call
    assert not (tmp_path / "run").exists()


def test_data_dir_without_the_files(tmp_path):
    (tmp_path / "empty").mkdir()
    proc = dlscratch("train", "--dataset", "mnist", "--data-dir", "empty", cwd=tmp_path)
    assert_one_line_error(proc, "is not on this machine", str(tmp_path / "empty"),
                          "point --data-dir at a folder holding its four .gz files")


def test_nonfinite_loss_is_one_line_with_the_step(tmp_path):
    proc = dlscratch("train", "--optimizer", "sgd", "--lr", "1e300", "--limit", "200",
                     "--out", "run", "--no-plots", cwd=tmp_path)
    assert_one_line_error(proc, "not finite at step 2 (epoch 1)", "learning rate too high",
                          status=1)
    assert not (tmp_path / "run" / "model.npz").exists()
    assert not (tmp_path / "run" / "checkpoint.npz").exists()  # nothing non-finite is kept


def test_overflow_with_finite_weights_is_one_line_with_the_step(tmp_path):
    """lr 1e25 keeps the weights finite but makes the next forward pass overflow: the loss
    layer's NaN refusal becomes the same one-line error with the step, and the checkpoint
    of the last good step stays loadable."""
    proc = dlscratch("train", "--optimizer", "sgd", "--lr", "1e25", "--limit", "500",
                     "--checkpoint-every", "1", "--out", "run", "--no-plots", cwd=tmp_path)
    assert_one_line_error(proc, "not finite at step 2 (epoch 1)", "overflowed",
                          "learning rate too high", status=1)
    from dlscratch import io

    assert io.read_model_file(tmp_path / "run" / "checkpoint.npz").extra_meta["checkpoint"][
        "step"] == 1


# ---------------------------------------------------------------- --resume
def test_resume_errors(tmp_path):
    proc = dlscratch("train", "--resume", "nowhere", cwd=tmp_path)
    assert_one_line_error(proc, "--resume: nowhere is not a run folder")
    (tmp_path / "half").mkdir()
    proc = dlscratch("train", "--resume", "half", cwd=tmp_path)
    assert_one_line_error(proc, "--resume: half is not a run folder: it has no config.json")
    (tmp_path / "half" / "config.json").write_text("{not json")
    proc = dlscratch("train", "--resume", "half", cwd=tmp_path)
    assert_one_line_error(proc, "half/config.json: not valid JSON")
    config = {"format": "dlscratch-run", "format_version": 1, "model": "mlp",
              "dataset": "mnist-sample", "epochs": 2, "batch_size": 100, "optimizer": "adam",
              "lr": 0.001, "seed": 0, "limit": None, "checkpoint_every": 0, "data_dir": None,
              "command": "dlscratch train --out half"}
    (tmp_path / "half" / "config.json").write_text(json.dumps(config))
    proc = dlscratch("train", "--resume", "half", cwd=tmp_path)
    assert_one_line_error(proc, "half has no checkpoint.npz", "dlscratch train --out half")
    proc = dlscratch("train", "--resume", "half", "--model", "cnn", "--lr", "0.1", cwd=tmp_path)
    assert_one_line_error(proc, "--lr, --model cannot change them", status=2)


# ---------------------------------------------------------------- evaluate, predict, plot
def test_evaluate_errors(tmp_path):
    proc = dlscratch("evaluate", "missing.npz", cwd=tmp_path)
    assert_one_line_error(proc, "no such model file: missing.npz")
    (tmp_path / "noise.npz").write_bytes(np.random.default_rng(0).bytes(3000))
    proc = dlscratch("evaluate", "noise.npz", cwd=tmp_path)
    err = assert_one_line_error(proc, "noise.npz")
    assert "allow_pickle" not in err
    (tmp_path / "folder").mkdir()
    proc = dlscratch("evaluate", "folder", cwd=tmp_path)
    assert_one_line_error(proc, "folder is a folder without model.npz")


def test_evaluate_refuses_nan_weights(tmp_path):
    from dlscratch.io import save
    from dlscratch.models.registry import build_model

    save(build_model("mlp", rng=0), tmp_path / "good.npz")
    with np.load(tmp_path / "good.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    name = next(k for k, v in arrays.items() if v.dtype.kind == "f" and v.ndim == 2)
    arrays[name] = arrays[name].copy()
    arrays[name][0, 0] = np.nan
    np.savez(tmp_path / "nan.npz", **arrays)
    proc = dlscratch("evaluate", "nan.npz", cwd=tmp_path)
    assert_one_line_error(proc, "nan.npz")


def test_predict_and_plot_errors(tmp_path):
    proc = dlscratch("predict", "missing.npz", "x.png", cwd=tmp_path)
    assert_one_line_error(proc, "no such model file: missing.npz")
    proc = dlscratch("plot", "nowhere", cwd=tmp_path)
    assert_one_line_error(proc, "nowhere is not a run folder")


def test_datasets_dir_needs_download(tmp_path):
    proc = dlscratch("datasets", "--dir", "x", cwd=tmp_path)
    assert_one_line_error(proc, "--dir only goes with --download NAME", status=2)


def test_debug_shows_the_traceback(tmp_path):
    proc = dlscratch("evaluate", "missing.npz", "--debug", cwd=tmp_path)
    assert proc.returncode != 0 and "Traceback" in proc.stderr


def test_unexpected_errors_are_one_line_too(tmp_path, monkeypatch, capsys):
    from dlscratch.cli import datasets as ds_cmd

    def broken(args):
        raise TypeError("boom")

    monkeypatch.setattr(ds_cmd, "run", broken)
    assert main(["datasets"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unexpected TypeError: boom" in err and "--debug" in err
    with pytest.raises(TypeError):
        main(["datasets", "--debug"])


def test_version(tmp_path):
    proc = dlscratch("--version", cwd=tmp_path)
    from dlscratch import __version__

    assert proc.returncode == 0 and proc.stdout.strip() == f"dlscratch {__version__}"
