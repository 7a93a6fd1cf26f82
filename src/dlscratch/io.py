"""Model files: safe save/load, and a restricted importer for the lectures' pickles.

The format
----------
A model file is a NumPy ``.npz`` archive (a zip of ``.npy`` arrays; no pickles inside):

* one array per entry of the model's ``state_dict()`` (parameters *and* buffers such as
  BatchNorm's running statistics), under its dotted name (``layers.Affine1.W``);
* ``__metadata__``: a JSON string with ``format`` ("dlscratch"), ``format_version``,
  ``dlscratch_version``, ``kind`` ("model" or "params"), and for models the ``class`` name and
  the constructor ``config`` that rebuild the network.

Files are read with ``np.load(..., allow_pickle=False)`` and written atomically: to a temporary
file in the same folder, flushed to disk, then renamed over the target, so a crash mid-save
leaves the previous file intact.

The lectures' ``.pkl`` weights (``sample_weight.pkl``, ``params.pkl``) are pickles, and
unpickling an untrusted file can run any code. :func:`load_pickle_weights` reads them with an
unpickler that can build only NumPy arrays inside dicts; anything else is refused before it runs.
"""

from __future__ import annotations

import io as _io
import json
import os
import pickle
import tempfile
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ._version import __version__

FORMAT_VERSION = 1
_META_KEY = "__metadata__"
_ZIP_MAGIC = b"PK\x03\x04"


class ModelFileError(ValueError):
    """A model or weight file that cannot be read: corrupt, foreign, newer, or unsafe."""


# ---------------------------------------------------------------------- atomic writing
def _atomic_savez(path: str | os.PathLike, arrays: Mapping[str, np.ndarray]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def _metadata(kind: str, **extra: Any) -> np.ndarray:
    meta = {"format": "dlscratch", "format_version": FORMAT_VERSION,
            "dlscratch_version": __version__, "kind": kind, **extra}
    return np.array(json.dumps(meta))


def _read_npz(path: str | os.PathLike) -> tuple[OrderedDict[str, np.ndarray], dict[str, Any]]:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such model file: {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = OrderedDict((k, z[k]) for k in z.files)
    except ValueError as e:  # object arrays would need pickle
        raise ModelFileError(f"{path}: refused to read: {e}") from e
    except Exception as e:
        raise ModelFileError(f"{path} is not a readable .npz model file ({e})") from e
    meta: dict[str, Any] = {}
    if _META_KEY in arrays:
        meta = json.loads(str(arrays.pop(_META_KEY)))
        version = int(meta.get("format_version", 0))
        if version > FORMAT_VERSION:
            raise ModelFileError(
                f"{path} was written in dlscratch file format version {version} (by dlscratch "
                f"{meta.get('dlscratch_version')}), newer than this dlscratch {__version__} "
                f"reads (version {FORMAT_VERSION}); upgrade: pip install -U dlscratch"
            )
    return arrays, meta


# ---------------------------------------------------------------------- models
def save(model, path: str | os.PathLike) -> Path:
    """Save ``model``'s state_dict and, when it has ``get_config()``, its architecture."""
    meta: dict[str, Any] = {"class": type(model).__name__, "training": bool(model.training)}
    if hasattr(model, "get_config"):
        meta["config"] = model.get_config()
    arrays: dict[str, np.ndarray] = dict(model.state_dict())
    if _META_KEY in arrays:
        raise ValueError(f"a state_dict key may not be named {_META_KEY!r}")
    arrays[_META_KEY] = _metadata("model", **meta)
    return _atomic_savez(path, arrays)


def load_state(path: str | os.PathLike) -> tuple[OrderedDict[str, np.ndarray], dict[str, Any]]:
    """``(state_dict, metadata)`` from a file written by :func:`save`."""
    return _read_npz(path)


def load_model(path: str | os.PathLike):
    """Rebuild a network saved with :func:`save`, without restating its architecture.

    Only dlscratch's own network classes (those in ``dlscratch.models``) are constructed.
    """
    from . import models

    state, meta = _read_npz(path)
    if meta.get("kind") != "model" or "config" not in meta:
        raise ModelFileError(
            f"{path} holds no architecture (kind={meta.get('kind')!r}); build the network "
            "yourself and call model.load_state_dict(dlscratch.io.load_state(path)[0])"
        )
    name = meta.get("class")
    cls = getattr(models, str(name), None)
    if not (isinstance(cls, type) and hasattr(cls, "get_config")):
        raise ModelFileError(
            f"{path}: unknown network class {name!r}; it is not in dlscratch.models"
        )
    model = cls(**meta["config"])
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ModelFileError(
            f"{path} does not match {name}: missing keys {missing}, unexpected keys {unexpected}"
        )
    model.train(bool(meta.get("training", True)))
    return model


# ---------------------------------------------------------------------- the lectures' params
def save_params(params: Mapping[str, np.ndarray], file_name: str | os.PathLike) -> Path:
    """Save a lecture-style ``params`` dict (W1, b1, ...) in the safe .npz format.

    The file name is kept as given (``params.pkl`` stays ``params.pkl``), but the content is
    always .npz; :func:`load_params` tells the formats apart by their first bytes.
    """
    arrays = {k: np.asarray(v) for k, v in params.items()}
    arrays[_META_KEY] = _metadata("params")
    return _atomic_savez(file_name, arrays)


def load_params(file_name: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a params dict from a dlscratch .npz file or a lecture pickle (restricted)."""
    path = Path(file_name)
    if not path.exists():
        raise FileNotFoundError(f"no such parameter file: {path}")
    with open(path, "rb") as f:
        head = f.read(4)
    if head == _ZIP_MAGIC:
        return dict(_read_npz(path)[0])
    if head[:1] == b"\x80":
        return load_pickle_weights(path)
    raise ModelFileError(f"{path} is neither a dlscratch .npz file nor a pickle of weights")


# ---------------------------------------------------------------------- restricted pickles
_RECONSTRUCT = np.ndarray.__reduce__(np.zeros(1))[0]  # numpy's multiarray._reconstruct
_SCALAR = np.float32(0).__reduce__()[0]  # numpy's multiarray.scalar
_FROMBUFFER = np.zeros(1).__reduce_ex__(5)[0]  # numpy's numeric._frombuffer (protocol 5)



def _latin1_encode(text: str, encoding: str = "utf-8") -> bytes:
    """What protocol-2 pickles call to rebuild bytes (``_codecs.encode(s, "latin1")``)."""
    if encoding != "latin1" or not isinstance(text, str):
        raise pickle.UnpicklingError(f"refused: _codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


_ALLOWED_GLOBALS = {
    ("_codecs", "encode"): _latin1_encode,
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy.core.multiarray", "scalar"): _SCALAR,
    ("numpy._core.multiarray", "scalar"): _SCALAR,
    ("numpy.core.numeric", "_frombuffer"): _FROMBUFFER,
    ("numpy._core.numeric", "_frombuffer"): _FROMBUFFER,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("collections", "OrderedDict"): OrderedDict,
}


class _WeightsUnpickler(pickle.Unpickler):
    """Admits numpy arrays, dtypes and (Ordered)dicts; refuses every other global."""

    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refused to load {module}.{name}: a weight file may only contain NumPy arrays "
                "in a dict, and this one asks to build or call something else (a pickle can "
                "run code; nothing from this file was run)"
            ) from None

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("refused: persistent ids are not allowed in a weight file")


def load_pickle_weights(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Load a lecture pickle (e.g. ``sample_weight.pkl``) as ``{name: array}``, safely.

    Raises :class:`ModelFileError` if the file tries to build anything but arrays in a dict
    (such as a call to ``os.system``), before anything in it runs.
    """
    path = Path(path)
    data = path.read_bytes()
    try:
        obj = _WeightsUnpickler(_io.BytesIO(data)).load()
    except pickle.UnpicklingError as e:
        raise ModelFileError(f"{path}: {e}") from None
    except Exception as e:
        raise ModelFileError(f"{path} is not a readable pickle of weights ({e})") from e
    if not isinstance(obj, dict):
        raise ModelFileError(f"{path}: expected a dict of arrays, found {type(obj).__name__}")
    out: dict[str, np.ndarray] = {}
    for k, v in obj.items():
        if not isinstance(k, str) or not isinstance(v, np.ndarray) or v.dtype.hasobject:
            raise ModelFileError(
                f"{path}: expected a dict of str -> numeric arrays, found {k!r}: {type(v).__name__}"
            )
        out[k] = v
    return out
