"""The restricted importer for the lectures' weight pickles (``sample_weight.pkl``, ``params.pkl``).

Unpickling an untrusted file can run any code. :func:`load_pickle_weights` reads these pickles
with an unpickler that can build only numeric NumPy arrays inside a dict: every other global
(``os.system``, ``builtins.eval``, any class) is refused before it runs, and so are object
dtypes (an object array would hold arbitrary Python objects).
"""

from __future__ import annotations

import io as _io
import os
import pickle
from collections import OrderedDict
from pathlib import Path

import numpy as np

__all__ = ["ModelFileError", "load_pickle_weights"]


class ModelFileError(ValueError):
    """A model or weight file that cannot be read: corrupt, foreign, newer, or unsafe."""


# ---------------------------------------------------------------------- restricted pickles
_RECONSTRUCT = np.ndarray.__reduce__(np.zeros(1))[0]  # numpy's multiarray._reconstruct
_SCALAR = np.float32(0).__reduce__()[0]  # numpy's multiarray.scalar
_FROMBUFFER = np.zeros(1).__reduce_ex__(5)[0]  # numpy's numeric._frombuffer (protocol 5)


def _latin1_encode(text: str, encoding: str = "utf-8") -> bytes:
    """What protocol-2 pickles call to rebuild bytes (``_codecs.encode(s, "latin1")``)."""
    if encoding != "latin1" or not isinstance(text, str):
        raise pickle.UnpicklingError(f"refused: _codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


def _numeric_dtype(*args, **kwargs) -> np.dtype:
    """``np.dtype`` for numeric types only: object (and structured) dtypes are refused."""
    dt = np.dtype(*args, **kwargs)
    if dt.hasobject or dt.kind not in "biufc":
        raise pickle.UnpicklingError(
            f"refused: dtype {dt} (a weight file may only hold numeric arrays; object arrays "
            "would hold arbitrary Python objects)"
        )
    return dt


_ALLOWED_GLOBALS = {
    ("_codecs", "encode"): _latin1_encode,
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy.core.multiarray", "scalar"): _SCALAR,
    ("numpy._core.multiarray", "scalar"): _SCALAR,
    ("numpy.core.numeric", "_frombuffer"): _FROMBUFFER,
    ("numpy._core.numeric", "_frombuffer"): _FROMBUFFER,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): _numeric_dtype,
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
        if not isinstance(k, str) or not isinstance(v, np.ndarray):
            raise ModelFileError(
                f"{path}: expected a dict of str -> numeric arrays, found {k!r}: {type(v).__name__}"
            )
        if v.dtype.hasobject or v.dtype.kind not in "biufc":
            raise ModelFileError(f"{path}: refused {k!r}: dtype {v.dtype}; a weight file may only "
                                 "hold numeric arrays")
        out[k] = v
    return out
