"""What every ``dlscratch`` command shares: the error type, option checks, data loading."""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import NoReturn


class CliError(Exception):
    """An error the user can fix; ``main`` prints it as one line and exits with ``status``."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line: what is wrong and where to read more."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


class Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows every option's default, without a "(default: None)" for optional paths."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def one_line(text: str) -> str:
    """``text`` with its lines joined by spaces (messages from the library may span lines)."""
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


# ---------------------------------------------------------------- argparse value checks
def positive_int(text: str) -> int:
    """An integer >= 1."""
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    """An integer >= 0."""
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def existing_dir(text: str) -> str:
    """A path to an existing folder."""
    if not text:
        raise argparse.ArgumentTypeError("is empty; give a folder")
    path = Path(text).expanduser()
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{text} does not exist")
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is not a folder")
    return str(path)


def non_empty_path(text: str) -> str:
    """A path that is not the empty string."""
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty; give a path")
    return text


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


# ---------------------------------------------------------------- files and folders
def check_writable_dir(folder: Path, what: str) -> None:
    """Create ``folder`` (and its parents) if needed and prove it can be written.

    Raises CliError naming ``what`` (e.g. "--out") when a file is in the way, the place is
    read-only, or the folder cannot be created.
    """
    for parent in [folder, *folder.parents]:
        if parent.exists():
            if not parent.is_dir():
                raise CliError(f"{what}: {parent} is a file, not a folder; choose another path")
            break
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder, prefix=".dlscratch-write-test-"):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise CliError(f"{what}: cannot write into {folder} ({reason}); "
                       "choose a folder you can write to") from None


def check_output_file(text: str, what: str) -> Path:
    """Check, before any work, that a file can be written at ``text`` (its folder is made)."""
    if not text.strip():
        raise CliError(f"{what} is empty; give a file name such as model.npz", status=2)
    path = Path(text).expanduser()
    if path.is_dir() or text.endswith(("/", os.sep)):
        raise CliError(f"{what}: {text} is a folder; give a file name such as {path / 'model.npz'}")
    check_writable_dir(path.parent if str(path.parent) else Path("."), what)
    return path


def model_file(text: str) -> Path:
    """The model file named on the command line; a run folder stands for its model.npz."""
    path = Path(text).expanduser()
    if path.is_dir():
        for name in ("model.npz", "checkpoint.npz"):
            if (path / name).is_file():
                return path / name
        raise CliError(f"{text} is a folder without model.npz or checkpoint.npz; give a model "
                       "file or a run folder")
    if not path.is_file():
        raise CliError(f"no such model file: {text}")
    return path


def run_config_near(path: Path) -> dict | None:
    """The config.json of the run folder holding ``path``, if there is one and it is readable."""
    from .. import runs

    try:
        return runs.read_config(path.parent)
    except (OSError, ValueError):
        return None


# ---------------------------------------------------------------- data
def load_data(dataset: str, flatten: bool, data_dir: str | None):
    """``load_mnist`` for a command: data-set problems become one-line CliErrors."""
    from ..datasets import DatasetError, DatasetNotFoundError, DownloadError, load_mnist
    from ..datasets.mnist import download_command

    try:
        return load_mnist(normalize=True, flatten=flatten, dataset=dataset, data_dir=data_dir)
    except DatasetNotFoundError as exc:
        where = ", ".join(str(d) for d in exc.searched) or "the usual folders"
        raise CliError(
            f"data set {dataset} is not on this machine (looked in {where}) and downloading is "
            f"switched off; run `{download_command(dataset)}` on a machine with internet "
            "access, or point --data-dir at a folder holding its four .gz files "
            "(--dataset mnist-sample needs no download)") from None
    except DownloadError as exc:
        raise CliError(
            f"could not download {dataset}: {one_line(exc)} -- try again later with "
            f"`{download_command(dataset)}`, or use --dataset mnist-sample (bundled)") from None
    except DatasetError as exc:
        raise CliError(one_line(exc)) from None


def input_shape_for(net) -> tuple[bool, str]:
    """(flatten, model name) for a loaded network, from the model registry."""
    from ..models.registry import spec_for_class

    spec = spec_for_class(type(net).__name__)
    if spec is None:
        raise CliError(f"{type(net).__name__} is not a model the command line knows; "
                       "use it from Python")
    return spec.flatten, spec.name


def stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
