"""The weight-file format's primitives: validated ``.npz`` reading and writing, and the
lectures' ``params`` files.

Both :mod:`dlscratch.io` (whole models, checkpoints) and :mod:`dlscratch.models`
(``Net.save_params`` / ``load_params``) use this module; it imports neither of them.

An archive is a NumPy ``.npz`` (a zip of ``.npy`` arrays, never pickles). Reading it:

1. the file must start like a zip archive (random bytes or a pickle are named as such);
2. every member's ``.npy`` header is read first: only numeric arrays (bool, int, uint, float,
   complex) and the metadata string are admitted, and their sizes are summed *before* any data
   is read, so a file cannot make the reader allocate more than a stated limit;
3. ``__metadata__`` (a JSON object) is checked field by field: ``format`` must be
   ``"dlscratch"``, ``format_version`` an integer this version reads, ``kind`` known.

Every problem is a :class:`ModelFileError` naming the file and what is wrong.

The lectures' ``params`` files: :func:`save_params` writes what the file name says, a plain
pickle of ``{name: ndarray}`` for ``.pkl`` (the book's ``pickle.load`` reads it) and the .npz
above for any other name; :func:`load_params` reads both, pickles only through the restricted
unpickler of :mod:`dlscratch._pickleweights`.
"""

from __future__ import annotations

import json
import os
import zipfile
import zlib
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._files import atomic_write
from ._pickleweights import ModelFileError, load_pickle_weights
from ._version import __version__

__all__ = ["ModelFileError", "load_params", "load_pickle_weights", "read_params", "save_params"]

FORMAT_VERSION = 1
META_KEY = "__metadata__"
#: extra arrays (a checkpoint's optimizer state, ...) are stored as ``__extra__/<name>``
EXTRA_PREFIX = "__extra__/"
KINDS = ("model", "params")
#: default limit on the numbers a file may hold (its model state); extras may hold 4x this
DEFAULT_MAX_PARAMETERS = 500_000_000
_MAX_META_BYTES = 16 << 20
_ZIP_MAGIC = b"PK\x03\x04"
_NUMERIC_KINDS = "biufc"


@dataclass
class ArrayInfo:
    """Shape and dtype of one stored array, read from its ``.npy`` header."""

    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=object))


@dataclass
class Archive:
    """What an ``.npz`` holds, before its arrays are read."""

    path: Path
    meta: dict[str, Any]
    state: dict[str, ArrayInfo] = field(default_factory=dict)
    extra: dict[str, ArrayInfo] = field(default_factory=dict)

    @property
    def state_size(self) -> int:
        return sum(a.size for a in self.state.values())


def metadata(kind: str, **fields: Any) -> dict[str, Any]:
    """The metadata every file carries, plus ``fields``."""
    return {"format": "dlscratch", "format_version": FORMAT_VERSION,
            "dlscratch_version": __version__, "kind": kind, **fields}


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray) and not obj.dtype.hasobject:
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def write_npz(path: str | os.PathLike, arrays: Mapping[str, np.ndarray],
              meta: Mapping[str, Any]) -> Path:
    """Write ``arrays`` and ``meta`` (JSON) to ``path`` atomically; returns the path."""
    try:
        text = json.dumps(dict(meta), default=_json_default, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise TypeError(f"cannot store the metadata of {path} as JSON: {e}") from None
    out: dict[str, np.ndarray] = {}
    for k, v in arrays.items():
        a = np.asarray(v)
        if a.dtype.kind not in _NUMERIC_KINDS:
            raise TypeError(f"cannot store {k!r} in {path}: only numeric arrays are allowed, "
                            f"got dtype {a.dtype}")
        out[k] = a
    if META_KEY in out:
        raise ValueError(f"an array may not be named {META_KEY!r}")
    out[META_KEY] = np.array(text)
    with atomic_write(path, "wb") as f:
        np.savez(f, **out)
    return Path(path)


# ---------------------------------------------------------------------- reading
def _fail(path: Path, problem: str) -> ModelFileError:
    return ModelFileError(f"{path}: {problem}")


def _npy_header(path: Path, fp, name: str) -> ArrayInfo:
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(fp)
        else:
            raise ValueError(f".npy format version {version} is not supported")
    except (ValueError, EOFError, OSError, zipfile.BadZipFile, zlib.error) as e:
        raise _fail(path, f"array {name!r} has a damaged header ({e})") from None
    return ArrayInfo(tuple(int(s) for s in shape), np.dtype(dtype))


def _check_format_version(path: Path, meta: dict[str, Any]) -> None:
    if "format_version" not in meta:
        raise _fail(path, "the metadata has no 'format_version'; not a file dlscratch wrote")
    version = meta["format_version"]
    if isinstance(version, bool) or not isinstance(version, int):
        raise _fail(path, f"the metadata's format_version must be an integer, got {version!r}")
    if version < 1:
        raise _fail(path, f"format_version {version} is not a valid dlscratch file version")
    if version > FORMAT_VERSION:
        raise _fail(
            path,
            f"it was written in dlscratch file format version {version} (by dlscratch "
            f"{meta.get('dlscratch_version')}), newer than this dlscratch {__version__} reads "
            f"(version {FORMAT_VERSION}); upgrade: pip install -U dlscratch",
        )


def parse_metadata(path: Path, text: str) -> dict[str, Any]:
    """Check the metadata JSON field by field; returns it as a dict."""
    try:
        meta = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as e:
        raise _fail(path, f"the metadata is not valid JSON ({e})") from None
    if not isinstance(meta, dict):
        raise _fail(path, f"the metadata must be a JSON object, found a JSON "
                          f"{type(meta).__name__}")
    if meta.get("format") != "dlscratch":
        found = f"format {meta['format']!r}" if "format" in meta else "no 'format' field"
        raise _fail(path, f"not a dlscratch file (its metadata has {found}, expected "
                          "'dlscratch')")
    _check_format_version(path, meta)
    if meta.get("kind") not in KINDS:
        raise _fail(path, f"unknown kind {meta.get('kind')!r} in the metadata; expected one "
                          f"of {list(KINDS)}")
    for key, typ, what in (("class", str, "a string"), ("config", dict, "a JSON object"),
                           ("training", bool, "true or false"), ("extra", dict, "a JSON object")):
        if key in meta and not isinstance(meta[key], typ):
            raise _fail(path, f"the metadata's {key!r} must be {what}, got {meta[key]!r}")
    if meta.get("dropout", "inverted") not in ("book", "inverted"):
        raise _fail(path, f"the metadata's 'dropout' must be 'book' or 'inverted', got "
                          f"{meta['dropout']!r}")
    return meta


def _check_start(path: Path) -> None:
    if not path.exists():
        raise FileNotFoundError(f"no such model file: {path}")
    if path.is_dir():
        raise _fail(path, "is a folder, not a model file")
    with open(path, "rb") as f:
        head = f.read(6)
    if head.startswith(_ZIP_MAGIC):
        return
    if head == b"\x93NUMPY":
        raise _fail(path, "is a single .npy array, not a dlscratch model file (.npz)")
    if head[:1] == b"\x80":
        raise _fail(path, "is a pickle, not a dlscratch model file; for the lectures' weight "
                          "pickles use dlscratch.io.load_params")
    raise _fail(path, "is not a dlscratch model file (not an .npz archive: it does not start "
                      "like a zip file)")


def open_archive(path: str | os.PathLike, *, need_metadata: bool = True,
                 max_parameters: int = DEFAULT_MAX_PARAMETERS) -> Archive:
    """Check ``path`` and read its metadata and array headers (no array data yet)."""
    path = Path(path)
    _check_start(path)
    arc = Archive(path, {})
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if not info.filename.endswith(".npy"):
                    raise _fail(path, f"unexpected member {info.filename!r} (an .npz holds only "
                                      ".npy arrays)")
                name = info.filename[:-4]
                with zf.open(info) as fp:
                    head = _npy_header(path, fp, name)
                    if name == META_KEY:
                        if head.dtype.kind != "U" or head.shape != ():
                            raise _fail(path, f"{META_KEY} must be a JSON string")
                        if head.dtype.itemsize > _MAX_META_BYTES:
                            raise _fail(path, "the metadata is unreasonably large")
                        raw = fp.read(head.dtype.itemsize)
                        if len(raw) != head.dtype.itemsize:
                            raise _fail(path, "the metadata is truncated")
                        text = str(np.frombuffer(raw, dtype=head.dtype)[0])
                        arc.meta = parse_metadata(path, text)
                        continue
                if head.dtype.hasobject or head.dtype.kind not in _NUMERIC_KINDS:
                    raise _fail(path, f"array {name!r} has dtype {head.dtype}; model files hold "
                                      "numeric arrays only (object arrays would need pickle, "
                                      "which dlscratch never loads from a file)")
                if info.file_size < head.size * head.dtype.itemsize:
                    raise _fail(path, f"array {name!r} is truncated: its header says "
                                      f"{head.shape}, more than the stored bytes")
                if name.startswith(EXTRA_PREFIX):
                    arc.extra[name[len(EXTRA_PREFIX):]] = head
                else:
                    arc.state[name] = head
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, zlib.error,
            ValueError, NotImplementedError, RuntimeError) as e:
        raise _fail(path, f"damaged or not a dlscratch model file ({type(e).__name__}: {e})"
                    ) from None
    if need_metadata and not arc.meta:
        raise _fail(path, f"has no {META_KEY}; it is an .npz archive, but not a file "
                          "dlscratch saved")
    if arc.state_size > max_parameters:
        raise _fail(path, f"holds {arc.state_size:,} numbers, more than the limit of "
                          f"{max_parameters:,} (max_parameters)")
    extra = sum(a.size for a in arc.extra.values())
    if extra > 4 * max_parameters:
        raise _fail(path, f"holds {extra:,} extra numbers, more than the limit of "
                          f"{4 * max_parameters:,} (4 x max_parameters)")
    return arc


def read_arrays(arc: Archive) -> tuple[OrderedDict[str, np.ndarray], dict[str, np.ndarray]]:
    """``(state, extra_arrays)``: the arrays of an archive checked by :func:`open_archive`."""
    state: OrderedDict[str, np.ndarray] = OrderedDict()
    extra: dict[str, np.ndarray] = {}
    try:
        with np.load(arc.path, allow_pickle=False) as z:
            for name in arc.state:
                state[name] = z[name]
            for name in arc.extra:
                extra[name] = z[EXTRA_PREFIX + name]
    except (zipfile.BadZipFile, EOFError, OSError, zlib.error, ValueError, KeyError) as e:
        raise _fail(arc.path, f"damaged model file; reading its arrays failed "
                              f"({type(e).__name__}: {e})") from None
    return state, extra


def nonfinite_names(arrays: Mapping[str, np.ndarray]) -> list[str]:
    """Names of the arrays holding NaN or inf."""
    return [k for k, v in arrays.items()
            if v.dtype.kind in "fc" and not np.isfinite(v).all()]


# ---------------------------------------------------------------------- the lectures' params
#: file suffixes that :func:`save_params` writes as a pickle (the book's format)
PICKLE_SUFFIXES = (".pkl", ".pickle")
#: the pickle protocol of the ``.pkl`` files written: read by every Python 3 ``pickle.load``
PICKLE_PROTOCOL = 4


def is_pickle_name(file_name: str | os.PathLike) -> bool:
    """Whether :func:`save_params` writes ``file_name`` as a pickle (``.pkl`` / ``.pickle``)."""
    return Path(file_name).suffix.lower() in PICKLE_SUFFIXES


def save_params(params: Mapping[str, np.ndarray], file_name: str | os.PathLike, *,
                meta: Mapping[str, Any] | None = None) -> Path:
    """Save a lecture-style ``params`` dict (W1, b1, ...) in the format its name says.

    * ``.pkl`` (or ``.pickle``): a plain pickle (protocol 4) of ``{name: ndarray}``, the
      book's layout, which the book's ``pickle.load(open(file_name, "rb"))`` reads;
    * any other name (``params.npz``, ...): dlscratch's safe ``.npz`` with metadata; ``meta``
      adds fields to that metadata (a pickle holds the arrays only).

    Written atomically; returns the path.
    """
    arrays = {}
    for k, v in params.items():
        a = np.array(v, copy=True)
        if a.dtype.kind not in _NUMERIC_KINDS:
            raise TypeError(f"cannot store {k!r} in {file_name}: only numeric arrays are "
                            f"allowed, got dtype {a.dtype}")
        arrays[str(k)] = a
    if not is_pickle_name(file_name):
        return write_npz(file_name, arrays, metadata("params", **dict(meta or {})))
    import pickle

    with atomic_write(file_name, "wb") as f:
        pickle.dump(arrays, f, protocol=PICKLE_PROTOCOL)
    return Path(file_name)


def read_params(file_name: str | os.PathLike) -> tuple[dict[str, np.ndarray],
                                                         dict[str, Any] | None]:
    """``(params, meta)`` from a dlscratch .npz file (``meta``: its metadata, {} for a bare
    .npz) or a lecture pickle read by the restricted unpickler (``meta`` None)."""
    path = Path(file_name)
    if not path.exists():
        raise FileNotFoundError(f"no such parameter file: {path}")
    with open(path, "rb") as f:
        head = f.read(4)
    if head == _ZIP_MAGIC:
        arc = open_archive(path, need_metadata=False)
        return dict(read_arrays(arc)[0]), dict(arc.meta)
    if head[:1] == b"\x80":
        return load_pickle_weights(path), None
    raise ModelFileError(f"{path} is neither a dlscratch .npz file nor a pickle of weights")


def load_params(file_name: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a params dict from a dlscratch .npz file or a lecture pickle (restricted)."""
    return read_params(file_name)[0]
