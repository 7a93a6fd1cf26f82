"""Shared helpers for the command-line tests: run ``dlscratch`` as a user would.

Every command runs in a subprocess (``python -m dlscratch.cli ...``, the same ``main`` as the
``dlscratch`` console script), offline (``DLSCRATCH_OFFLINE=1``), with its own empty data cache
the Agg matplotlib backend and one BLAS thread, in the folder given as ``cwd``.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np

TIMEOUT = 600


def cli_env(cwd: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DLSCRATCH_")}
    env.update({"DLSCRATCH_OFFLINE": "1", "DLSCRATCH_CACHE": str(Path(cwd) / ".cache"),
                "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1", "COLUMNS": "100"})
    # one BLAS thread per subprocess: tiny matrices gain nothing from threads, and on a busy
    # machine (CI, pytest -n) oversubscribed BLAS threads made one small run take 30x longer
    env.update({name: "1" for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                       "MKL_NUM_THREADS")})
    env.update(extra)
    return env


def dlscratch(*args, cwd: Path, env: dict[str, str] | None = None,
              timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    """Run ``dlscratch ARGS`` in ``cwd``; returns the finished process (text output)."""
    return subprocess.run([sys.executable, "-m", "dlscratch.cli", *map(str, args)], cwd=cwd,
                          env=env or cli_env(cwd), capture_output=True, text=True,
                          timeout=timeout)


def popen(*args, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start ``dlscratch ARGS`` in ``cwd`` (stdout and stderr piped, text)."""
    return subprocess.Popen([sys.executable, "-m", "dlscratch.cli", *map(str, args)], cwd=cwd,
                            env=env or cli_env(cwd), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def assert_one_line_error(proc: subprocess.CompletedProcess, *fragments: str,
                          status: int | None = None) -> str:
    """The process failed with one line on stderr, no traceback, containing ``fragments``."""
    err = proc.stderr
    assert proc.returncode != 0, f"expected a failure; stdout:\n{proc.stdout}"
    if status is not None:
        assert proc.returncode == status, (proc.returncode, err)
    assert "Traceback" not in err, err
    assert err.endswith("\n") and err.count("\n") == 1, f"not one line:\n{err}"
    for fragment in fragments:
        assert fragment in err, f"{fragment!r} not in {err!r}"
    return err


def accuracy_of(stdout: str) -> float:
    """The number after "test accuracy " in a command's output."""
    return float(stdout.split("test accuracy ")[1].split()[0].rstrip(";"))


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) of a PNG file, after checking its signature and header chunk."""
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    width, height = struct.unpack(">II", data[16:24])
    crc = struct.unpack(">I", data[29:33])[0]
    assert crc == zlib.crc32(data[12:29]), f"{path}: damaged IHDR chunk"
    return width, height


def load_state(path: Path) -> dict[str, np.ndarray]:
    """The model arrays of a dlscratch model file."""
    from dlscratch.io import read_model_file

    return {k: np.asarray(v) for k, v in read_model_file(path).state.items()}
