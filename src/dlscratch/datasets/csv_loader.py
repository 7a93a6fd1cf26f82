"""``load_csv``: Kaggle's "MNIST in CSV" files (``mnist_train.csv``, ``mnist_test.csv``).

Each file has a header row ``label,1x1,1x2,...,28x28`` and then one image per row: the label
(0-9) in the first column and 784 pixel values (0-255). Lecture 003 reads them with pandas;
this loader needs only NumPy and returns arrays in ``load_mnist``'s conventions.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from ..data import one_hot
from .idx import DatasetError

__all__ = ["load_csv"]

NUM_PIXELS = 784
NUM_CLASSES = 10
# "utf-8-sig" is UTF-8 that also skips the byte-order mark Excel writes on Windows.
ENCODING = "utf-8-sig"


def _is_header(line: str) -> bool:
    first = line.split(",", 1)[0].strip()
    try:
        int(first)
    except ValueError:
        return True
    return False


def _find_bad_row(path: Path, has_header: bool) -> str | None:
    """The first malformed row as 'line L: reason', scanning in pure Python (slow path)."""
    with path.open(encoding=ENCODING, newline="") as f:
        for lineno, line in enumerate(f, start=1):
            if (lineno == 1 and has_header) or not line.strip():
                continue
            fields = line.strip().split(",")
            if len(fields) != 1 + NUM_PIXELS:
                return (f"line {lineno}: expected {1 + NUM_PIXELS} comma-separated values "
                        f"(a label and {NUM_PIXELS} pixels), found {len(fields)}")
            for column, field in enumerate(fields, start=1):
                try:
                    value = int(field)
                except ValueError:
                    return f"line {lineno}, column {column}: {field.strip()!r} is not an integer"
                if column == 1 and not 0 <= value < NUM_CLASSES:
                    return f"line {lineno}: label {value} is outside 0-{NUM_CLASSES - 1}"
                if column > 1 and not 0 <= value <= 255:
                    return f"line {lineno}, column {column}: pixel value {value} is outside 0-255"
    return None


def _malformed(path: Path, has_header: bool, fallback: str) -> DatasetError:
    reason = _find_bad_row(path, has_header) or fallback
    return DatasetError(
        f"{path}: {reason}. Expected MNIST-in-CSV rows: label (0-9) then {NUM_PIXELS} pixel "
        "values (0-255). Fix or delete that row."
    )


def _parse(path: Path, has_header: bool) -> np.ndarray:
    """All rows as an int64 array (N, columns), via ``np.loadtxt``'s fast C parser."""
    with path.open(encoding=ENCODING, newline="") as f:
        if has_header:
            f.readline()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # "input contained no data"
                # NumPy 1.x parses "12.5" as the integer 12 with only a DeprecationWarning.
                warnings.simplefilter("error", DeprecationWarning)
                return np.loadtxt(f, delimiter=",", dtype=np.int64, ndmin=2)
        except (ValueError, DeprecationWarning) as exc:
            raise _malformed(path, has_header, str(exc)) from None


def load_csv(
    path: str | os.PathLike[str],
    normalize: bool = True,
    flatten: bool = True,
    one_hot_label: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Load an MNIST-in-CSV file.

    Args:
        path: e.g. ``"mnist_train.csv"``; the header row is optional.
        normalize: float32 pixels in [0, 1] if True, else uint8 0-255.
        flatten: images as rows ``(N, 784)`` if True, else ``(N, 1, 28, 28)``.
        one_hot_label: labels as float32 one-hot ``(N, 10)`` if True, else int64 ``(N,)``.

    Returns:
        ``(x, t)``.

    Raises:
        DatasetError: a malformed row (the message gives its line number and what is wrong)
            or a file without data rows.
    """
    path = Path(path)
    with path.open(encoding=ENCODING, newline="") as f:
        has_header = _is_header(f.readline())
    data = _parse(path, has_header)
    if data.shape[0] == 0:
        raise DatasetError(f"{path}: no data rows found; is this an MNIST-in-CSV file?")
    labels, pixels = data[:, 0], data[:, 1:]
    if (
        data.shape[1] != 1 + NUM_PIXELS
        or labels.min() < 0 or labels.max() >= NUM_CLASSES
        or pixels.min() < 0 or pixels.max() > 255
    ):
        raise _malformed(path, has_header, "a value is out of range")
    x = pixels.astype(np.uint8)
    if normalize:
        x = x.astype(np.float32)
        x /= 255.0
    if not flatten:
        x = x.reshape(-1, 1, 28, 28)
    t = one_hot(labels, NUM_CLASSES) if one_hot_label else labels.astype(np.int64)
    return x, t
