"""The dlscratch command line: the README's main job, offline on the bundled sample."""

from __future__ import annotations

import subprocess
import sys

from dlscratch.cli import main


def test_train_mlp_on_bundled_sample_and_evaluate(tmp_path, capsys):
    path = tmp_path / "mlp.npz"
    assert main(["train", "--epochs", "2", "--quiet", "--save", str(path)]) == 0
    out = capsys.readouterr().out
    acc = float(out.split("test accuracy ")[1].split()[0])
    assert acc > 0.9
    assert path.exists()
    assert main(["evaluate", str(path)]) == 0
    assert f"test accuracy {acc:.4f}" in capsys.readouterr().out


def test_errors_are_messages_not_tracebacks(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "missing.npz")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dlscratch: error:") and "missing.npz" in err


def test_module_entry_point_runs_from_any_directory(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "dlscratch", "train", "--help"],
                          cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0 and "--model" in proc.stdout
