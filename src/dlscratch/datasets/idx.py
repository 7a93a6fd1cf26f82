"""Read and write IDX files, the format MNIST and Fashion-MNIST are published in.

An IDX file is a 4-byte big-endian magic number, one 4-byte big-endian size per dimension, then
the data in row-major order::

    magic = 0x00 0x00 <dtype code> <number of dimensions>
    0x00000801  labels: 1-D unsigned bytes, shape (N,)
    0x00000803  images: 3-D unsigned bytes, shape (N, rows, cols)

Files may be gzip-compressed (as they are published) or raw. Every size is checked against the
header, because a truncated gzip file only fails when it is read to the end.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

from .._files import atomic_write_bytes

__all__ = ["DatasetError", "read_idx", "write_idx", "decode_idx", "decompress"]

GZIP_MAGIC = b"\x1f\x8b"

# IDX dtype codes -> big-endian NumPy dtypes.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODE_OF_KIND = {(dt.kind, dt.itemsize): code for code, dt in IDX_DTYPES.items()}


class DatasetError(ValueError):
    """A data file is missing, damaged or inconsistent; the message says which and what to do."""


def _fix(what: str) -> str:
    return f"{what} Delete the file and download it again, or replace it with a good copy."


def decompress(raw: bytes, name: str = "<bytes>") -> bytes:
    """Return ``raw`` gunzipped if it starts with the gzip magic bytes, else unchanged.

    A truncated or corrupted gzip stream raises :class:`DatasetError` naming ``name``.
    """
    if not raw.startswith(GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except EOFError as exc:
        raise DatasetError(
            _fix(f"{name}: the gzip data is truncated ({exc}); the file was not copied or "
                 "downloaded completely.")
        ) from exc
    except (OSError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise DatasetError(_fix(f"{name}: the gzip data is corrupted ({exc}).")) from exc


def decode_idx(data: bytes, name: str = "<bytes>", ndim: int | None = None) -> np.ndarray:
    """Parse IDX ``data`` (raw or gzip bytes) into an array in native byte order.

    Args:
        data: the file's bytes.
        name: used in error messages (normally the file's path).
        ndim: if given, the number of dimensions the file must have (1 for labels, 3 for images).

    Returns:
        A writable array with the shape stored in the header, e.g. ``(N, 28, 28)`` uint8.
    """
    data = decompress(data, name)
    if len(data) < 4:
        raise DatasetError(_fix(f"{name}: {len(data)} bytes is too short for an IDX header."))
    magic = int.from_bytes(data[:4], "big")
    zeros, code, dims = magic >> 16, (magic >> 8) & 0xFF, magic & 0xFF
    if zeros != 0 or code not in IDX_DTYPES or dims == 0:
        raise DatasetError(
            _fix(f"{name}: bad magic number 0x{magic:08X}; an IDX file starts with 0x0000 then "
                 "a type code and a dimension count (0x00000803 for images, 0x00000801 for "
                 "labels). The file is damaged or is not an IDX file.")
        )
    if ndim is not None and dims != ndim:
        raise DatasetError(
            f"{name}: expected a {ndim}-D IDX file (magic 0x0000{code:02X}{ndim:02X}) but the "
            f"header says {dims}-D (magic 0x{magic:08X}). Check that images and labels files "
            "are not swapped."
        )
    header_len = 4 + 4 * dims
    if len(data) < header_len:
        raise DatasetError(_fix(f"{name}: the file ends inside its header (truncated)."))
    shape = tuple(
        int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)
    )
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    actual = len(data) - header_len
    shape_text = " x ".join(str(s) for s in shape)
    if actual < expected:
        raise DatasetError(
            _fix(f"{name} is truncated: its header declares {shape_text} values "
                 f"({expected:,} bytes) but only {actual:,} bytes of data follow.")
        )
    if actual > expected:
        raise DatasetError(
            _fix(f"{name} has {actual - expected:,} trailing bytes after the {expected:,} bytes "
                 f"its header declares ({shape_text}); it is not a valid IDX file.")
        )
    array = np.frombuffer(data, dtype=dtype, offset=header_len).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=True)


def read_idx(path: str | os.PathLike[str], *, ndim: int | None = None) -> np.ndarray:
    """Read an IDX file (gzip-compressed or raw) and check it against its header.

    Args:
        path: e.g. ``"t10k-images-idx3-ubyte.gz"``.
        ndim: if given, the number of dimensions the file must have.

    Returns:
        An array with the header's shape: ``(N, rows, cols)`` for images, ``(N,)`` for labels.

    Raises:
        DatasetError: bad magic number, truncated or corrupted gzip, data shorter or longer
            than the header declares. The message names the file.
        FileNotFoundError: the file does not exist.
    """
    path = Path(path)
    return decode_idx(path.read_bytes(), name=str(path), ndim=ndim)


def write_idx(
    path: str | os.PathLike[str], array: np.ndarray, *, compress: bool | None = None
) -> Path:
    """Write ``array`` as an IDX file, atomically (temporary file, then ``os.replace``).

    Args:
        path: destination; gzip-compressed when it ends in ``.gz`` (unless ``compress`` says).
        array: uint8, int8, int16, int32, float32 or float64 data with at least one dimension.
        compress: force gzip on or off.

    Returns:
        The path written.
    """
    path = Path(path)
    array = np.asarray(array)
    code = _CODE_OF_KIND.get((array.dtype.kind, array.dtype.itemsize))
    if code is None or array.ndim == 0 or array.ndim > 255:
        raise ValueError(
            f"cannot write dtype {array.dtype} with {array.ndim} dimensions as IDX; use uint8, "
            "int8, int16, int32, float32 or float64 with 1 to 255 dimensions"
        )
    header = bytes([0, 0, code, array.ndim]) + b"".join(
        int(s).to_bytes(4, "big") for s in array.shape
    )
    payload = header + np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()
    if compress if compress is not None else path.suffix == ".gz":
        payload = gzip.compress(payload, mtime=0)
    atomic_write_bytes(path, payload)
    return path
