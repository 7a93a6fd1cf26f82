"""Dropout: inverted (dlscratch's default) or the book's, which scales at test time.

With u ~ U[0, 1) drawn per element and mask = (u >= p) (keep with probability 1 - p):

* inverted (``scale_at_test=False``, the default)::

      training:  out = x * mask / (1 - p)      dx = dout * mask / (1 - p)
      eval:      out = x                       dx = dout

  the expected activation is the same in both modes, so evaluation is the identity;

* the book's (``scale_at_test=True``, ``common/layers.py`` ``Dropout``)::

      training:  out = x * mask                dx = dout * mask
      eval:      out = x * (1 - p)             dx = dout * (1 - p)

  weights trained with the book's code (its ``deep_convnet_params.pkl``) expect this: loaded
  into an inverted Dropout they would give different scores, and on some images different
  predictions. ``Net.load_params`` switches this mode on when it loads a lecture pickle.
"""

from __future__ import annotations

import numpy as np

from .._rng import as_generator
from .module import Module


class Dropout(Module):
    """Drop each element with probability ``p`` in training mode.

    Parameters
    ----------
    p : float
        The probability of dropping an element (the book's ``dropout_ratio``), in [0, 1).
    rng : None, int or numpy.random.Generator
        Where the masks come from.
    scale_at_test : bool
        False: inverted dropout (scale by 1 / (1 - p) in training; identity in eval mode).
        True: the book's dropout (no scaling in training; multiply by (1 - p) in eval mode).
        See the module's docstring for the formulas.
    """

    def __init__(self, p: float = 0.5, rng=None, scale_at_test: bool = False) -> None:
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"Dropout probability p must be in [0, 1), got {p}")
        self.p = p
        self.rng = as_generator(rng)
        self.scale_at_test = bool(scale_at_test)
        self.mask = None
        self._forwarded = False
        self._scale = None  # eval mode of the book's dropout: the factor 1 - p, for backward

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._forwarded = True
        self.mask = self._scale = None
        if self.p == 0:
            return x
        dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.dtype(np.float64)
        if not self.training:
            if not self.scale_at_test:
                return x
            self._scale = dtype.type(1.0 - self.p)
            return x * self._scale  # the book's x * (1.0 - self.dropout_ratio)
        u = self.rng.random(x.shape, dtype=dtype)
        self.mask = (u >= self.p).astype(dtype)
        if not self.scale_at_test:
            self.mask *= dtype.type(1.0 / (1.0 - self.p))
        return x * self.mask

    def backward(self, dout: np.ndarray) -> np.ndarray:
        if not self._forwarded:
            raise RuntimeError("Dropout.backward() called before forward()")
        if self.mask is not None:
            return dout * self.mask
        if self._scale is not None:
            return dout * self._scale
        return np.array(dout, copy=True)

    def extra_repr(self) -> str:
        return f"p={self.p}" + (", scale_at_test=True" if self.scale_at_test else "")
