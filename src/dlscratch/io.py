"""Model files and checkpoints: safe, validated save/load.

The format
----------
A model file is a NumPy ``.npz`` archive (a zip of ``.npy`` arrays; no pickles inside):

* one array per entry of the model's ``state_dict()`` (parameters *and* buffers such as
  BatchNorm's running statistics), under its dotted name (``layers.Affine1.W``);
* ``__extra__/<name>``: extra arrays, e.g. a checkpoint's optimizer state (never confused with
  the model's arrays, and ignored by :func:`load_model`);
* ``__metadata__``: a JSON object with ``format`` ("dlscratch"), ``format_version``,
  ``dlscratch_version``, ``kind`` ("model" or "params"), for models the ``class`` name, the
  constructor ``config`` that rebuilds the network and ``training`` (its mode), and ``extra``
  (extra metadata: a checkpoint's counters, rng states, history).

So a checkpoint is a model file with extras, and :func:`load_model` loads it as a model.

Loading checks, before the network is built: the file is a dlscratch ``.npz`` (random bytes, a
truncated zip, a pickle, bad or incomplete metadata are each named), the class is a registered
network (:func:`dlscratch.models.registry.model_classes`), the config fits the class's
constructor (unknown keys, missing keys, wrong types), and the network's size computed from the
config agrees with the stored arrays and stays under ``max_parameters``. Weights holding NaN or
inf are refused unless ``allow_nonfinite=True``. Every problem raises :class:`ModelFileError`
naming the file and what is wrong. Files are written atomically with the user's umask
(:mod:`dlscratch._files`).

The lectures' ``.pkl`` weights are read by :func:`load_pickle_weights` with an unpickler that can
build only numeric arrays in a dict.
"""

from __future__ import annotations

import os
import warnings
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._pickleweights import load_pickle_weights
from ._weightfile import (
    DEFAULT_MAX_PARAMETERS,
    EXTRA_PREFIX,
    FORMAT_VERSION,
    META_KEY,
    ModelFileError,
    load_params,
    metadata,
    nonfinite_names,
    open_archive,
    read_arrays,
    save_params,
    write_npz,
)
from .models.config import ConfigError, check_config
from .models.registry import model_classes

__all__ = ["DEFAULT_MAX_PARAMETERS", "FORMAT_VERSION", "ModelFile", "ModelFileError",
           "load_model", "load_params", "load_pickle_weights", "load_state", "read_model_file",
           "save", "save_params"]

_META_KEY = META_KEY  # the name older code used


@dataclass
class ModelFile:
    """The contents of a model file or checkpoint.

    Attributes
    ----------
    state : the model's arrays (``state_dict()`` order), name -> array.
    meta : the metadata (format, versions, kind, class, config, training), without ``extra``.
    extra_arrays : arrays saved with ``extra_arrays`` (e.g. optimizer state).
    extra_meta : the ``extra_meta`` dict saved with the file (e.g. counters, history).
    """

    state: OrderedDict[str, np.ndarray]
    meta: dict[str, Any]
    extra_arrays: dict[str, np.ndarray] = field(default_factory=dict)
    extra_meta: dict[str, Any] = field(default_factory=dict)


def save(model, path: str | os.PathLike, *, extra_arrays: Mapping[str, Any] | None = None,
         extra_meta: Mapping[str, Any] | None = None) -> Path:
    """Save ``model``'s state_dict and architecture (``get_config()``) to ``path``, atomically.

    Parameters
    ----------
    model : a :class:`~dlscratch.models.Net` (any Module with ``state_dict``).
    path : the file; kept as given (``.npz`` is not appended). Missing folders are created.
    extra_arrays : more arrays to keep with the model (stored as ``__extra__/<name>``).
    extra_meta : a JSON-serialisable dict kept in the metadata under ``extra``.

    Returns
    -------
    The path written. The file gets the umask's permissions (normally 0o644).
    """
    state = model.state_dict()
    for k in state:
        if k.startswith("__"):
            raise ValueError(f"a state_dict key may not start with '__' ({k!r}): that prefix is "
                             "reserved for the file's metadata and extra arrays")
    fields: dict[str, Any] = {"class": type(model).__name__,
                              "training": bool(getattr(model, "training", True))}
    if hasattr(model, "get_config"):
        fields["config"] = model.get_config()
    if getattr(model, "dropout_mode", None) is not None and model.dropout_mode() is not None:
        fields["dropout"] = model.dropout_mode()  # the book's test-time scaling survives a save
    if extra_meta is not None:
        if not isinstance(extra_meta, Mapping):
            raise TypeError(f"extra_meta must be a dict, got {type(extra_meta).__name__}")
        fields["extra"] = dict(extra_meta)
    arrays: dict[str, np.ndarray] = dict(state)
    for k, v in (extra_arrays or {}).items():
        if not isinstance(k, str) or not k:
            raise ValueError(f"extra_arrays keys must be non-empty strings, got {k!r}")
        arrays[EXTRA_PREFIX + k] = np.asarray(v)
    return write_npz(path, arrays, metadata("model", **fields))


def read_model_file(path: str | os.PathLike, *, allow_nonfinite: bool = False,
                    max_parameters: int = DEFAULT_MAX_PARAMETERS) -> ModelFile:
    """Read and check a model file or checkpoint written by :func:`save` (builds nothing).

    Raises :class:`ModelFileError` for a damaged or foreign file, one holding more than
    ``max_parameters`` numbers, or model arrays with NaN/inf (a RuntimeWarning instead with
    ``allow_nonfinite=True``); FileNotFoundError if there is no such file.
    """
    arc = open_archive(path, max_parameters=max_parameters)
    state, extra = read_arrays(arc)
    _check_finite(arc.path, state, allow_nonfinite)
    meta = dict(arc.meta)
    extra_meta = meta.pop("extra", {})
    return ModelFile(state, meta, extra, extra_meta)


def load_state(path: str | os.PathLike, *, allow_nonfinite: bool = False
               ) -> tuple[OrderedDict[str, np.ndarray], dict[str, Any]]:
    """``(state_dict, metadata)`` from a file written by :func:`save` (extras left out)."""
    f = read_model_file(path, allow_nonfinite=allow_nonfinite)
    return f.state, f.meta


def _check_finite(path: Path, state: Mapping[str, np.ndarray], allow: bool) -> None:
    bad = nonfinite_names(state)
    if not bad:
        return
    listed = ", ".join(bad[:10]) + (f" and {len(bad) - 10} more" if len(bad) > 10 else "")
    if not allow:
        raise ModelFileError(
            f"{path}: weights contain NaN or inf ({listed}); the model diverged before it "
            "was saved. Load it anyway with allow_nonfinite=True"
        )
    warnings.warn(f"{path}: weights contain NaN or inf ({listed})", RuntimeWarning,
                  stacklevel=3)


def load_model(path: str | os.PathLike, *, allow_nonfinite: bool = False,
               max_parameters: int = DEFAULT_MAX_PARAMETERS):
    """Rebuild a network saved with :func:`save` (or a checkpoint), checked before it is built.

    Parameters
    ----------
    path : a file written by :func:`save`.
    allow_nonfinite : load weights holding NaN or inf (with a RuntimeWarning) instead of
        refusing them.
    max_parameters : refuse a file whose network would have more trainable numbers.

    Notes
    -----
    Only the classes of :func:`dlscratch.models.registry.model_classes` are constructed. The
    network is returned in the mode it was saved in (``training``).
    """
    # the stored arrays include buffers (BatchNorm's statistics): the exact limit on the
    # parameters follows from the config, below
    arc = open_archive(path, max_parameters=2 * max_parameters)
    path, meta = arc.path, arc.meta
    if meta.get("kind") != "model" or "config" not in meta:
        raise ModelFileError(
            f"{path} holds no architecture (kind={meta.get('kind')!r}); build the network "
            "yourself and call model.load_state_dict(dlscratch.io.load_state(path)[0])"
        )
    name = meta.get("class")
    classes = model_classes()
    cls = classes.get(name)
    if cls is None:
        raise ModelFileError(f"{path}: unknown network class {name!r}; dlscratch loads "
                             f"{', '.join(sorted(classes))}")
    try:
        config = check_config(cls, meta["config"])
        n_params = cls.count_parameters(config)
        n_buffers = cls.count_buffers(config)
    except NotImplementedError as e:
        raise ModelFileError(f"{path}: {e}") from None
    except (ConfigError, TypeError, ValueError, KeyError) as e:
        raise ModelFileError(f"{path}: invalid config for {name}: {e}") from None
    if n_params > max_parameters:
        raise ModelFileError(
            f"{path}: its config asks for a {name} with {n_params:,} parameters, more than "
            f"the limit of {max_parameters:,}; if you trust the file, pass a larger "
            "max_parameters"
        )
    stored = arc.state_size
    inconsistent = (stored != n_params + n_buffers) if n_buffers is not None else (
        stored < n_params)
    if inconsistent:
        raise ModelFileError(
            f"{path}: its config describes a {name} with {n_params:,} parameters"
            + (f" and {n_buffers:,} buffer values" if n_buffers else "")
            + f", but the file stores {stored:,} numbers; the file is inconsistent"
        )
    state, _ = read_arrays(arc)
    _check_finite(path, state, allow_nonfinite)
    try:
        model = cls(**meta["config"])
    except (TypeError, ValueError, KeyError) as e:
        raise ModelFileError(f"{path}: invalid config for {name}: {e}") from None
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except ValueError as e:
        raise ModelFileError(f"{path} does not match {name}: {e}") from None
    if missing or unexpected:
        raise ModelFileError(
            f"{path} does not match {name}: missing keys {missing}, unexpected keys {unexpected}"
        )
    if getattr(model, "dropout_mode", None) is not None and model.dropout_mode() is not None:
        model.set_dropout_mode(meta.get("dropout", "inverted"))
    model.train(bool(meta.get("training", True)))
    return model
