"""Loss layers: forward(x, t) returns the scalar loss; backward(dout=1) returns dL/dx.

SoftmaxWithLoss fuses softmax with cross-entropy: on scores x (N, C),

    y = softmax(x),   L = -(1/N) sum_n log y[n, t_n],   dx = (y - onehot(t)) / N.

Its loss is computed with log-softmax, so it is exact and finite for any scores.
"""

from __future__ import annotations

import numpy as np

from ..functions import check_labels, log_softmax, sigmoid
from .module import Module


class _Loss(Module):
    def _need_forward(self):
        if getattr(self, "x", None) is None:
            raise RuntimeError(f"{type(self).__name__}.backward() called before forward()")


def _no_nan(layer: Module, x: np.ndarray, what: str = "input") -> None:
    if np.isnan(x).any():
        raise ValueError(
            f"{type(layer).__name__}: the {what} contains NaN (often a learning rate that is "
            "too large, or NaN in the data)"
        )


def check_class_targets(name: str, t, scores_shape: tuple[int, int]) -> np.ndarray:
    """Validate classification targets for scores of shape (N, C).

    ``t`` is one-hot (or soft) labels (N, C) without NaN, returned as given, or integer
    labels (N,) in [0, C), returned as intp. Anything else (another width, another length,
    negative or too large labels, fractional labels, NaN) is a ValueError naming ``name``.
    The loss (:class:`SoftmaxWithLoss`) and the networks' ``accuracy`` / ``evaluate`` share it.
    """
    t = np.asarray(t)
    n, c = scores_shape
    if t.shape == (n, c):
        if np.issubdtype(t.dtype, np.inexact) and np.isnan(t).any():
            raise ValueError(
                f"{name}: the labels contains NaN (often a learning rate that is too large, or "
                "NaN in the data)"
            )
        return t
    if t.shape == (n,):
        return check_labels(name, t, c)
    raise ValueError(
        f"{name}: labels of shape {t.shape} do not fit scores of shape ({n}, {c}); use "
        f"one-hot labels ({n}, {c}) or integer labels ({n},)"
    )


def _as_float(x) -> np.ndarray:
    x = np.asarray(x)
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)


def _targets(layer: Module, x: np.ndarray, t) -> np.ndarray:
    """Targets shaped like x, in x's dtype (so float32 in gives float32 gradients)."""
    t = np.asarray(t)
    if x.shape != t.shape:
        raise ValueError(
            f"{type(layer).__name__}: prediction shape {x.shape} and target shape {t.shape} differ"
        )
    _no_nan(layer, x)
    _no_nan(layer, t, "target")
    return t.astype(x.dtype, copy=False)


class SoftmaxWithLoss(_Loss):
    """Softmax + cross-entropy on scores x of shape (N, C) (or (C,)).

    ``t`` is one-hot (N, C) or integer labels (N,). After forward, ``self.y`` holds the
    probabilities and ``self.loss`` the loss, as in the lectures.
    """

    def __init__(self) -> None:
        super().__init__()
        self.loss = None
        self.y = None
        self.t = None
        self.x = None
        self.original_x_shape = None

    def forward(self, x: np.ndarray, t: np.ndarray) -> float:
        x = _as_float(x)
        t = np.asarray(t)
        self.original_x_shape = x.shape
        if x.ndim == 1:
            x = x.reshape(1, -1)
            t = t.reshape(1, -1) if t.size == x.size and t.ndim == 1 else t.reshape(1)
        if x.ndim != 2:
            raise ValueError(f"SoftmaxWithLoss: scores must be (N, C), got shape {x.shape}")
        _no_nan(self, x)
        n, c = x.shape
        logp = log_softmax(x)
        t = check_class_targets("SoftmaxWithLoss", t, x.shape)
        if t.ndim == 2:
            t = t.astype(x.dtype, copy=False)
            loss = -np.sum(t * logp) / n
        else:
            loss = -np.sum(logp[np.arange(n), t]) / n
        self.x = x
        self.t = t
        with np.errstate(under="ignore"):  # exp(-2000) is 0, silently
            self.y = np.exp(logp)
        self.loss = float(loss)
        return self.loss

    def backward(self, dout: float = 1.0) -> np.ndarray:
        self._need_forward()
        y, t = self.y, self.t
        n = y.shape[0]
        if t.shape == y.shape:
            dx = y - t
        else:
            dx = y.copy()
            dx[np.arange(n), t] -= 1
        dx *= dx.dtype.type(dout / n)
        return dx.reshape(self.original_x_shape)


class MSELoss(_Loss):
    """L = mean over all elements of (y - t)^2;  dy = 2 (y - t) / y.size."""

    def __init__(self) -> None:
        super().__init__()
        self.x = None

    def forward(self, y: np.ndarray, t: np.ndarray) -> float:
        y = _as_float(y)
        t = _targets(self, y, t)
        self.x = y
        self.diff = y - t
        return float(np.mean(self.diff**2))

    def backward(self, dout: float = 1.0) -> np.ndarray:
        self._need_forward()
        d = self.diff
        return d * d.dtype.type(2.0 * dout / d.size)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross-entropy on scores x, any shape, targets t in [0, 1]:

        L = mean(log(1 + e^x) - t x),   dx = (sigmoid(x) - t) / x.size
    """

    def __init__(self) -> None:
        super().__init__()
        self.x = None

    def forward(self, x: np.ndarray, t: np.ndarray) -> float:
        x = _as_float(x)
        t = _targets(self, x, t)
        self.x, self.t = x, t
        self.y = sigmoid(x)
        with np.errstate(under="ignore"):
            return float(np.mean(np.logaddexp(0, x) - t * x))

    def backward(self, dout: float = 1.0) -> np.ndarray:
        self._need_forward()
        d = self.y - self.t
        return d * d.dtype.type(dout / d.size)


class BCELoss(_Loss):
    """Binary cross-entropy on probabilities y (e.g. a Sigmoid layer's output):

        L = -mean(t log y + (1 - t) log(1 - y)),   dy = (y - t) / (y (1 - y)) / y.size

    y is clipped to [eps, 1 - eps]. Prefer :class:`BCEWithLogitsLoss` on scores.
    """

    def __init__(self, eps: float = 1e-7) -> None:
        super().__init__()
        self.eps = eps
        self.x = None

    def forward(self, y: np.ndarray, t: np.ndarray) -> float:
        y = _as_float(y)
        t = _targets(self, y, t)
        self.x, self.t = y, t
        yc = np.clip(y, self.eps, 1 - self.eps)
        self.yc = yc
        return float(-np.mean(t * np.log(yc) + (1 - t) * np.log(1 - yc)))

    def backward(self, dout: float = 1.0) -> np.ndarray:
        self._need_forward()
        yc, t = self.yc, self.t
        d = (yc - t) / (yc * (1 - yc))
        return d * d.dtype.type(dout / d.size)


SigmoidWithLoss = BCEWithLogitsLoss
