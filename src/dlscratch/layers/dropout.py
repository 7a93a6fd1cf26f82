"""Inverted dropout.

In training each element is kept with probability 1 - p and scaled by 1 / (1 - p):

    mask = (u >= p) / (1 - p),  u ~ U[0, 1);   out = x * mask;   dx = dout * mask

so the expected activation is unchanged and evaluation is the identity. (The book's Dropout
scales by (1 - p) at test time instead; weights trained with it need that factor applied.)
"""

from __future__ import annotations

import numpy as np

from .._rng import as_generator
from .module import Module


class Dropout(Module):
    """Drop each element with probability ``p`` in training mode; identity in eval mode."""

    def __init__(self, p: float = 0.5, rng=None) -> None:
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"Dropout probability p must be in [0, 1), got {p}")
        self.p = p
        self.rng = as_generator(rng)
        self.mask = None
        self._forwarded = False

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._forwarded = True
        if not self.training or self.p == 0:
            self.mask = None
            return x
        dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.dtype(np.float64)
        u = self.rng.random(x.shape, dtype=dtype)
        self.mask = (u >= self.p).astype(dtype)
        self.mask *= dtype.type(1.0 / (1.0 - self.p))
        return x * self.mask

    def backward(self, dout: np.ndarray) -> np.ndarray:
        if not self._forwarded:
            raise RuntimeError("Dropout.backward() called before forward()")
        if self.mask is None:
            return np.array(dout, copy=True)
        return dout * self.mask

    def extra_repr(self) -> str:
        return f"p={self.p}"
