"""Activation layers. Each caches the least it needs and returns a fresh dx.

Shapes: any; the output has the input's shape and dtype.
"""

from __future__ import annotations

import numpy as np

from ..functions import sigmoid
from .module import Module

#: the row length of max_with_zero's rows (64 KiB of float32: in the cache beside a row of x)
_ROW = 16384
_zero_rows: dict[np.dtype, np.ndarray] = {}  # per dtype, read-only: shared by all threads


def max_with_zero(x: np.ndarray) -> np.ndarray:
    """max(x, 0) elementwise: ``np.maximum(x, 0)``'s values (NaN stays NaN, -inf becomes 0) and
    memory order, computed against a row of zeros.

    Why: NumPy (1.26 to 2.4) runs ``maximum`` with a scalar operand through a loop that is not
    vectorised, 4.5x slower for float32 than with two arrays (0.47 against 0.11 ms for the
    50x16x28x28 output of DeepConvNet's first layer); ReLU takes a third of that layer's time.
    x's memory is taken as rows of 16,384 values, each compared with one kept row of zeros.
    Other arrays (not contiguous in any axis order, other dtypes): against ``zeros_like(x)``.
    """
    # x's axes from outermost to innermost, sorted in plain Python (np.argsort of the strides
    # cost 4 us, twice a call: at a batch of one image most of a ReLU's time)
    order = sorted(range(x.ndim), key=x.strides.__getitem__)[::-1]
    in_memory = x.transpose(order)
    if x.dtype.kind != "f" or not in_memory.flags.c_contiguous:
        return np.maximum(x, np.zeros_like(x))
    zeros = _zero_rows.get(x.dtype)
    if zeros is None:
        zeros = np.zeros(_ROW, x.dtype)
        zeros.flags.writeable = False
        _zero_rows[x.dtype] = zeros
    flat = in_memory.reshape(-1)
    out_in_memory = np.empty(in_memory.shape, x.dtype)
    out = out_in_memory.reshape(-1)
    whole = flat.size - flat.size % _ROW
    if whole:
        np.maximum(flat[:whole].reshape(-1, _ROW), zeros, out=out[:whole].reshape(-1, _ROW))
    if whole < flat.size:
        np.maximum(flat[whole:], zeros[:flat.size - whole], out=out[whole:])
    back = [0] * x.ndim  # the inverse of order
    for k, axis in enumerate(order):
        back[axis] = k
    return out_in_memory.transpose(back)


def _need(cache, layer: Module):
    if cache is None:
        raise RuntimeError(
            f"{type(layer).__name__}.backward() called before forward(); run forward first"
        )
    return cache


class ReLU(Module):
    """y = max(0, x); dx = dout * (x > 0). The gradient at x == 0 is 0 (as ``relu_grad``).

    In eval mode the forward keeps x itself instead of the mask (inference never asks for
    it, and building it is a second pass over the batch); a backward then builds it from x.
    """

    def __init__(self) -> None:
        super().__init__()
        self.mask = None
        self._eval_x = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        if self.training:
            self.mask, self._eval_x = x > 0, None
        else:
            self.mask, self._eval_x = None, x
        # max(x, 0) rather than x * mask: -inf * 0 is NaN, max(-inf, 0) is 0 (keeps x's dtype)
        return max_with_zero(x)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        if self.mask is None and self._eval_x is not None:
            self.mask = self._eval_x > 0
        return dout * _need(self.mask, self)


class LeakyReLU(Module):
    """y = x if x > 0 else alpha * x; dx = dout * (1 or alpha)."""

    def __init__(self, alpha: float = 0.01) -> None:
        super().__init__()
        self.alpha = alpha
        self.mask = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.mask = x > 0
        return np.where(self.mask, x, x * x.dtype.type(self.alpha))

    def backward(self, dout: np.ndarray) -> np.ndarray:
        mask = _need(self.mask, self)
        return np.where(mask, dout, dout * dout.dtype.type(self.alpha))

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class Sigmoid(Module):
    """y = 1 / (1 + exp(-x)); dx = dout * y * (1 - y)."""

    def __init__(self) -> None:
        super().__init__()
        self.out = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = sigmoid(x)
        return self.out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        y = _need(self.out, self)
        return dout * (1.0 - y) * y


class Tanh(Module):
    """y = tanh(x); dx = dout * (1 - y^2)."""

    def __init__(self) -> None:
        super().__init__()
        self.out = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = np.tanh(x)
        return self.out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        y = _need(self.out, self)
        return dout * (1.0 - y * y)


class Identity(Module):
    """y = x; dx = dout (returned as a copy, so callers may modify it)."""

    def __init__(self) -> None:
        super().__init__()
        self._forwarded = False

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._forwarded = True
        return x

    def backward(self, dout: np.ndarray) -> np.ndarray:
        _need(True if self._forwarded else None, self)
        return np.array(dout, copy=True)


class Step(Module):
    """y = 1 if x > 0 else 0 (in x's dtype). Its derivative is 0 almost everywhere, so dx = 0:
    a network of steps cannot learn by backprop, which is why the lectures move to sigmoid."""

    def __init__(self) -> None:
        super().__init__()
        self._forwarded = False

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._forwarded = True
        return (x > 0).astype(x.dtype)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        _need(True if self._forwarded else None, self)
        return np.zeros_like(dout)


class Sign(Module):
    """y = sign(x) in {-1, 0, +1}; like Step, its gradient is 0 almost everywhere."""

    def __init__(self) -> None:
        super().__init__()
        self._forwarded = False

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._forwarded = True
        return np.sign(x)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        _need(True if self._forwarded else None, self)
        return np.zeros_like(dout)


class Softmax(Module):
    """y = softmax(x) along the last axis; dx = y * (dout - sum(dout * y, last axis)).

    For classification train with :class:`SoftmaxWithLoss`, which fuses softmax with the loss.
    """

    def __init__(self) -> None:
        super().__init__()
        self.out = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        from ..functions import softmax

        self.out = softmax(x)
        return self.out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        y = _need(self.out, self)
        return y * (dout - np.sum(dout * y, axis=-1, keepdims=True))


Relu = ReLU  # the lectures' name
