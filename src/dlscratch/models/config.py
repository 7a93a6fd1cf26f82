"""Checking a network's constructor config before anything is built.

A model file stores ``get_config()``, the constructor's arguments. Before a network is rebuilt
from a file, :func:`check_config` compares that config with the constructor's signature
(unknown keys, missing required keys, the types the annotations allow) and each class's
``count_parameters(config)`` computes the size it would allocate, without allocating it.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["ConfigError", "as_int", "check_config"]

#: constructor arguments a stored config may not set
_NOT_IN_CONFIG = {"self", "rng"}
_FLOAT_DTYPES = ("float16", "float32", "float64")


class ConfigError(ValueError):
    """A constructor config that does not fit the network's signature."""


def as_int(value: Any, what: str, minimum: int | None = 1) -> int:
    """``value`` as an int, refusing bools, floats and strings (``what`` names it)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ConfigError(f"{what} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{what} must be at least {minimum}, got {value}")
    return int(value)


def _type_ok(value: Any, annotation: str) -> bool:
    """Whether ``value`` (from JSON) fits an annotation string such as ``float | str``."""
    for alt in annotation.split("|"):
        base = alt.strip().split("[")[0].strip()
        if base in ("None", "Optional") and value is None:
            return True
        if base == "bool" and isinstance(value, bool):
            return True
        if base == "int" and isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            return True
        if (base == "float" and isinstance(value, (int, float, np.integer, np.floating))
                and not isinstance(value, bool)):
            return True
        if base == "str" and isinstance(value, str):
            return True
        if base in ("list", "tuple", "Sequence") and isinstance(value, (list, tuple)):
            return True
        if base in ("dict", "Mapping") and isinstance(value, dict):
            return True
        if base not in ("None", "Optional", "bool", "int", "float", "str", "list", "tuple",
                        "Sequence", "dict", "Mapping"):
            return True  # an annotation this check does not know: leave it to the class
    return False


def check_config(cls: type, config: Mapping[str, Any]) -> dict[str, Any]:
    """Check ``config`` against ``cls.__init__``; return it completed with the defaults.

    Raises :class:`ConfigError` naming unknown keys (and the accepted ones), missing required
    keys, a value whose type the annotation does not allow, or a dtype that is not a float.
    """
    if not isinstance(config, Mapping):
        raise ConfigError(f"the config must be a mapping, got {type(config).__name__}")
    sig = inspect.signature(cls.__init__)
    params = {n: p for n, p in sig.parameters.items()
              if n not in _NOT_IN_CONFIG
              and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    unknown = sorted(k for k in config if k not in params)
    if unknown:
        raise ConfigError(f"{cls.__name__} does not take {unknown}; its arguments are "
                          f"{sorted(params)}")
    missing = [n for n, p in params.items() if p.default is p.empty and n not in config]
    if missing:
        raise ConfigError(f"{cls.__name__} needs {missing}, which the config does not give")
    full: dict[str, Any] = {}
    for n, p in params.items():
        value = config[n] if n in config else p.default
        if n in config and isinstance(p.annotation, str) and not _type_ok(value, p.annotation):
            raise ConfigError(f"{cls.__name__}: {n} must be {p.annotation}, got {value!r}")
        full[n] = value
    if "dtype" in config:
        dt = config["dtype"]
        if not (isinstance(dt, str) and dt in _FLOAT_DTYPES):
            raise ConfigError(f"{cls.__name__}: dtype must be one of {list(_FLOAT_DTYPES)}, "
                              f"got {dt!r}")
    return full
