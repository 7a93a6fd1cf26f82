"""Weight initialisation.

``weight_init_std`` in the lectures is either a number (a plain Gaussian std, 0.01 in the book)
or the name of a scheme that scales the std by the fan-in of the layer:

* ``"xavier"`` / ``"sigmoid"`` / ``"tanh"``: std = sqrt(1 / fan_in) (Xavier/Glorot, for S-shaped
  activations);
* ``"he"`` / ``"relu"``: std = sqrt(2 / fan_in) (He, for ReLU).

fan_in is the number of inputs to one output unit: ``in_features`` for Linear, ``C * FH * FW``
for a convolution.
"""

from __future__ import annotations

import numpy as np

from .._rng import as_generator

_SCHEMES = {"xavier": 1.0, "sigmoid": 1.0, "tanh": 1.0, "he": 2.0, "relu": 2.0}


def init_std(weight_init_std: float | str, fan_in: int) -> float:
    """The standard deviation for ``weight_init_std`` (a number or a scheme name) and fan_in."""
    if isinstance(weight_init_std, str):
        key = weight_init_std.lower()
        if key not in _SCHEMES:
            raise ValueError(
                f"unknown weight_init_std {weight_init_std!r}; use a number or one of "
                f"{sorted(_SCHEMES)}"
            )
        return float(np.sqrt(_SCHEMES[key] / fan_in))
    std = float(weight_init_std)
    if not std >= 0:
        raise ValueError(f"weight_init_std must be >= 0, got {weight_init_std!r}")
    return std


def normal(shape: tuple[int, ...], std: float, dtype=np.float32, rng=None) -> np.ndarray:
    """Gaussian weights N(0, std^2) of the given shape and dtype, drawn from ``rng``."""
    g = as_generator(rng)
    return (std * g.standard_normal(shape)).astype(dtype)


def xavier(shape: tuple[int, ...], fan_in: int, dtype=np.float32, rng=None) -> np.ndarray:
    """Xavier/Glorot weights: N(0, 1 / fan_in)."""
    return normal(shape, init_std("xavier", fan_in), dtype, rng)


def he(shape: tuple[int, ...], fan_in: int, dtype=np.float32, rng=None) -> np.ndarray:
    """He weights: N(0, 2 / fan_in)."""
    return normal(shape, init_std("he", fan_in), dtype, rng)
