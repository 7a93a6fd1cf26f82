"""Ctrl-C, SIGTERM and SIGKILL during `dlscratch train`, then `--resume`: the resumed run ends
with exactly the parameters and metrics of an uninterrupted run with the same seed (CPU)."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers_cli import dlscratch, load_state, popen

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

# a SimpleConvNet: slow enough per step (tens of ms) to be caught mid-epoch, 2 x 20 steps
SETTINGS = ("--model", "cnn", "--limit", "200", "--batch-size", "10", "--test-limit", "100",
            "--seed", "3", "--no-plots")
ARGS = (*SETTINGS, "--epochs", "2")


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("reference")
    proc = dlscratch("train", *ARGS, "--out", "ref", "--quiet", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return cwd / "ref"


def _metrics(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "metrics.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        del row["seconds"]  # wall-clock time: the only column allowed to differ
    return rows


def _assert_same_run(run_dir: Path, reference: Path) -> None:
    got, want = load_state(run_dir / "model.npz"), load_state(reference / "model.npz")
    assert got.keys() == want.keys()
    for key in want:
        assert got[key].dtype == want[key].dtype
        assert np.array_equal(got[key], want[key]), f"{key} differs after the resume"
    assert _metrics(run_dir) == _metrics(reference)


def _start_and_wait_for_checkpoint(cwd: Path, run: str) -> subprocess.Popen:
    proc = popen("train", *ARGS, "--out", run, "--checkpoint-every", "3", cwd=cwd)
    deadline = time.monotonic() + 300
    while not (cwd / run / "checkpoint.npz").exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no checkpoint after 300 s"
        time.sleep(0.01)
    return proc


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupt_then_resume_is_bit_identical(sig, tmp_path, reference):
    proc = _start_and_wait_for_checkpoint(tmp_path, "run")
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err
    assert "training started" in out
    last = err.strip().splitlines()[-1]
    assert last.startswith("interrupted at epoch 1 step "), err  # mid-epoch (20 steps each)
    assert last.endswith("resume with: dlscratch train --resume run")
    assert not (tmp_path / "run" / "model.npz").exists()  # not finished

    resumed = dlscratch("train", "--resume", "run", "--no-plots", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    step = last.split("interrupted at epoch 1 step ")[1].split()[0]
    assert (f"resuming from run/checkpoint.npz: 0 epochs done, step {step} of 20 in epoch 1 "
            f"(step {step} in all)") in resumed.stdout  # continued, not started again
    _assert_same_run(tmp_path / "run", reference)


def test_sigkill_leaves_a_loadable_checkpoint_and_no_temp_files(tmp_path, reference):
    from dlscratch.io import read_model_file

    proc = _start_and_wait_for_checkpoint(tmp_path, "run")
    time.sleep(0.05)  # somewhere in the next steps, maybe inside a checkpoint write
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    files = sorted(p.name for p in (tmp_path / "run").iterdir())
    assert files == ["checkpoint.npz", "config.json", "metrics.csv"]  # no temp files
    read_model_file(tmp_path / "run" / "checkpoint.npz")  # complete and readable
    resumed = dlscratch("train", "--resume", "run", "--no-plots", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    _assert_same_run(tmp_path / "run", reference)


def test_resume_can_extend_a_finished_run(tmp_path, reference):
    """--resume with a larger --epochs continues a finished run (here: reference's 2 -> 3)."""
    proc = dlscratch("train", *SETTINGS, "--epochs", "1", "--out", "short", "--quiet",
                     cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    proc = dlscratch("train", "--resume", "short", "--epochs", "2", "--quiet", "--no-plots",
                     cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    _assert_same_run(tmp_path / "short", reference)
