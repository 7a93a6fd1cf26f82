"""The dlscratch command line: help, version, entry points, `dlscratch datasets`, progress in a
terminal. (A whole run end to end: test_cli_run.py; errors: test_cli_errors.py; every model and
option: test_cli_matrix.py; Ctrl-C and resume: test_cli_interrupt.py.)"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from helpers_cli import cli_env, dlscratch

from dlscratch import __version__
from dlscratch.cli import build_parser, main


def _subparser(name: str):
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return action.choices[name]


@pytest.mark.parametrize("command", ["train", "evaluate", "predict", "plot", "datasets"])
def test_every_option_has_help_and_shows_its_default(command):
    sub = _subparser(command)
    text = sub.format_help()
    for action in sub._actions:
        if action.dest in ("help",):
            continue
        assert action.help, f"{command} {action.option_strings or action.dest} has no help"
        if action.option_strings and action.default not in (None, False):
            assert f"(default: {action.default})" in " ".join(text.split()), action.dest


def test_train_help_lists_the_choices():
    text = " ".join(_subparser("train").format_help().split())
    assert "{mlp,twolayer,cnn,deepcnn" in text
    assert "{sgd,momentum,nesterov,adagrad,rmsprop,adam}" in text and "(default: adam)" in text
    assert "(default: mnist-sample)" in text and "(default: 5)" in text


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"dlscratch {__version__}"


def test_entry_points_run_from_any_folder(tmp_path):
    for module in ("dlscratch", "dlscratch.cli"):
        proc = subprocess.run([sys.executable, "-m", module, "train", "--help"], cwd=tmp_path,
                              capture_output=True, text=True, env=cli_env(tmp_path))
        assert proc.returncode == 0 and "--resume RUN_DIR" in proc.stdout, proc.stderr


def test_datasets_lists_what_is_here_and_what_can_be_downloaded(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DLSCRATCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr("dlscratch.datasets.sources.LOCAL_DIRS", {})
    mine = tmp_path / "mine"
    (mine / "fashion-mnist").mkdir(parents=True)
    from dlscratch.datasets.sources import FILES

    for name in FILES.values():
        (mine / "fashion-mnist" / name).write_bytes(b"")
    assert main(["datasets", "--data-dir", str(mine)]) == 0
    out = capsys.readouterr().out
    here, downloadable = out.split("Can be downloaded:")
    assert "mnist-sample" in here and "bundled with dlscratch" in here
    assert f"fashion-mnist  found: {mine / 'fashion-mnist'}" in here
    assert "get it with: dlscratch datasets --download mnist" in downloadable
    assert "fashion-mnist" not in downloadable
    assert f"Downloads go to {tmp_path / 'cache'}" in out


def test_python_m_datasets_prints_the_same_listing(tmp_path):
    env = cli_env(tmp_path)
    a = dlscratch("datasets", cwd=tmp_path, env=env)
    b = subprocess.run([sys.executable, "-m", "dlscratch.datasets"], cwd=tmp_path, env=env,
                       capture_output=True, text=True)
    assert a.returncode == b.returncode == 0
    assert a.stdout == b.stdout and "On this machine:" in a.stdout


def test_only_downloadable_sets_can_be_downloaded(capsys):
    with pytest.raises(SystemExit) as info:
        main(["datasets", "--download", "mnist-sample"])
    assert info.value.code == 2
    assert "argument --download: invalid choice: 'mnist-sample'" in capsys.readouterr().err


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_a_terminal_gets_a_progress_bar(tmp_path):
    """In a terminal the epoch runs under a tqdm bar (redrawn with \\r); in a pipe it does not
    (test_cli_run checks that side)."""
    import fcntl
    import struct
    import termios

    controller, terminal = os.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))  # 100 wide
    proc = subprocess.Popen([sys.executable, "-m", "dlscratch.cli", "train", "--limit", "300",
                             "--batch-size", "10", "--epochs", "1", "--test-limit", "100",
                             "--out", "run", "--no-plots"], cwd=tmp_path,
                            env=cli_env(tmp_path), stdout=terminal, stderr=terminal)
    os.close(terminal)
    chunks = []
    while True:
        try:
            data = os.read(controller, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(controller)
    assert proc.wait(timeout=300) == 0
    out = b"".join(chunks).decode("utf-8", "replace")
    redraws = out.replace("\r\n", "\n").count("\r")
    assert redraws >= 2 and "epoch 1/1:" in out and "step" in out, out
    assert "epoch 1/1: train_loss" in out and "test accuracy" in out
