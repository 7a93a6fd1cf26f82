"""Activation functions and losses, as plain NumPy functions with the lectures' names.

Every function keeps the input's floating dtype (float32 in gives float32 out). Integer input is
computed in float64, as NumPy does.

Conventions
-----------
* ``relu_grad(0) == 0``: the gradient of ReLU at exactly 0 is taken to be 0, here and in the
  :class:`~dlscratch.layers.ReLU` layer (its mask is ``x > 0``).
* Probabilities ``y`` and scores ``x`` put classes on the last axis; a 1-D array is one sample.
* Labels ``t`` may be one-hot (same shape as ``y``) or integer class indices (one fewer axis).
"""

from __future__ import annotations

import numpy as np

#: The lectures' guard against log(0) in cross_entropy_error: ``log(y + 1e-7)``.
CROSS_ENTROPY_DELTA = 1e-7


# ---------------------------------------------------------------------- activations
def identity_function(x: np.ndarray) -> np.ndarray:
    """h(x) = x (the output activation for regression)."""
    return x


def step_function(x: np.ndarray) -> np.ndarray:
    """h(x) = 1 if x > 0 else 0, as an int array (the perceptron's activation)."""
    return np.array(np.asarray(x) > 0, dtype=int)


def sign(x: np.ndarray) -> np.ndarray:
    """h(x) = -1, 0 or +1: the sign of x (seed 002's perceptron output)."""
    return np.sign(x)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """h(x) = 1 / (1 + exp(-x)), computed without overflow for any x.

    For x >= 0 it evaluates 1 / (1 + e^-x); for x < 0 the equal form e^x / (1 + e^x), so the
    exponent is never positive: finite and silent at +-1000, and accurate in both tails.
    """
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    with np.errstate(under="ignore"):  # e^-1000 rounds to 0, which is the right answer
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def sigmoid_grad(x: np.ndarray) -> np.ndarray:
    """dh/dx of the sigmoid at x: h(x) * (1 - h(x))."""
    y = sigmoid(x)
    return (1.0 - y) * y


def tanh(x: np.ndarray) -> np.ndarray:
    """h(x) = tanh(x) = (e^x - e^-x) / (e^x + e^-x)."""
    return np.tanh(x)


def tanh_grad(x: np.ndarray) -> np.ndarray:
    """dh/dx = 1 - tanh(x)^2."""
    y = np.tanh(x)
    return 1.0 - y * y


def relu(x: np.ndarray) -> np.ndarray:
    """h(x) = max(0, x)."""
    return np.maximum(0, x)


def relu_grad(x: np.ndarray) -> np.ndarray:
    """dh/dx = 1 where x > 0, else 0 (0 at x == 0, the same rule as the ReLU layer)."""
    x = np.asarray(x)
    dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64
    return (x > 0).astype(dtype)


def leaky_relu(x: np.ndarray, alpha: float = 0.01) -> np.ndarray:
    """h(x) = x if x > 0 else alpha * x."""
    x = np.asarray(x)
    return np.where(x > 0, x, x * np.asarray(alpha, dtype=_float_dtype(x)))


def softmax(x: np.ndarray) -> np.ndarray:
    """y_k = exp(x_k - max x) / sum_j exp(x_j - max x) along the last axis.

    Subtracting the per-row maximum keeps the exponent <= 0, so the result is finite at +-1000;
    1-D and batched input (N, C) give the same rows.
    """
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    with np.errstate(under="ignore"):  # exp(-2000) rounds to 0: harmless, keep it silent
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        e /= e.sum(axis=-1, keepdims=True)
    return e


def log_softmax(x: np.ndarray) -> np.ndarray:
    """log(softmax(x)) = x - max x - log sum exp(x - max x), along the last axis, stably."""
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    shifted = x - x.max(axis=-1, keepdims=True)
    with np.errstate(under="ignore"):
        return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


# ---------------------------------------------------------------------- losses
def sum_squares_error(y: np.ndarray, t: np.ndarray) -> float:
    """E = 0.5 * sum_k (y_k - t_k)^2 (seed 000's SSE; sums over everything, including a batch)."""
    y, t = _same_shape("sum_squares_error", y, t)
    return 0.5 * np.sum((y - t) ** 2)


def mean_squared_error(y: np.ndarray, t: np.ndarray) -> float:
    """E = mean over all elements of (y - t)^2."""
    y, t = _same_shape("mean_squared_error", y, t)
    return np.mean((y - t) ** 2)


def mean_absolute_error(y: np.ndarray, t: np.ndarray) -> float:
    """E = mean over all elements of |y - t| (robust to outliers)."""
    y, t = _same_shape("mean_absolute_error", y, t)
    return np.mean(np.abs(y - t))


def cross_entropy_error(y: np.ndarray, t: np.ndarray) -> float:
    """E = -(1/N) sum_n sum_k t_nk log(y_nk + 1e-7), the lectures' cross-entropy.

    ``y`` holds probabilities (e.g. softmax output), shape (C,) or (N, C). ``t`` is one-hot (same
    shape as ``y``) or integer labels, shape () / (N,). The batch mean divides by N once. The
    ``1e-7`` guard is the lectures'; it makes the value up to ~1e-7/y larger than the exact
    ``-log y``. On logits prefer :func:`softmax_cross_entropy`, which needs no guard.
    """
    y2, idx, onehot = _prepare_classification("cross_entropy_error", y, t)
    n = y2.shape[0]
    if onehot is not None:
        return -np.sum(onehot * np.log(y2 + CROSS_ENTROPY_DELTA)) / n
    return -np.sum(np.log(y2[np.arange(n), idx] + CROSS_ENTROPY_DELTA)) / n


def softmax_cross_entropy(x: np.ndarray, t: np.ndarray) -> float:
    """E = -(1/N) sum_n sum_k t_nk log softmax(x_n)_k, computed on scores (logits) x.

    Uses :func:`log_softmax`, so it is exact and finite for any scores; labels as in
    :func:`cross_entropy_error`.
    """
    x2, idx, onehot = _prepare_classification("softmax_cross_entropy", x, t)
    logp = log_softmax(x2)
    n = x2.shape[0]
    if onehot is not None:
        return -np.sum(onehot * logp) / n
    return -np.sum(logp[np.arange(n), idx]) / n


def binary_cross_entropy(y: np.ndarray, t: np.ndarray, eps: float = 1e-7) -> float:
    """E = -mean(t log(y) + (1 - t) log(1 - y)) for probabilities y in [0, 1] and targets t.

    ``y`` is clipped to [eps, 1 - eps] to avoid log(0); on scores prefer
    :func:`binary_cross_entropy_with_logits`.
    """
    y, t = _same_shape("binary_cross_entropy", y, t)
    y = np.clip(y, eps, 1 - eps)
    return -np.mean(t * np.log(y) + (1 - t) * np.log(1 - y))


def binary_cross_entropy_with_logits(x: np.ndarray, t: np.ndarray) -> float:
    """E = mean(softplus(x) - t x), the binary cross-entropy of sigmoid(x), stable for any x."""
    x, t = _same_shape("binary_cross_entropy_with_logits", x, t)
    with np.errstate(under="ignore"):
        return np.mean(np.logaddexp(0, x) - t * x)


# ---------------------------------------------------------------------- checks
def _float_dtype(x: np.ndarray) -> np.dtype:
    return x.dtype if np.issubdtype(x.dtype, np.floating) else np.dtype(np.float64)


def _same_shape(name: str, y, t) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y)
    t = np.asarray(t)
    if y.shape != t.shape:
        raise ValueError(f"{name}: prediction shape {y.shape} and target shape {t.shape} differ")
    if np.isnan(y).any():
        raise ValueError(f"{name}: the prediction contains NaN; check the forward pass and lr")
    return y, t


def check_labels(name: str, t: np.ndarray, num_classes: int) -> np.ndarray:
    """Validate integer labels in [0, num_classes) and return them as intp."""
    if not (np.issubdtype(t.dtype, np.integer) or np.issubdtype(t.dtype, np.bool_)):
        if np.issubdtype(t.dtype, np.floating) and np.all(np.mod(t, 1) == 0):
            t = t.astype(np.intp)
        else:
            raise ValueError(
                f"{name}: integer class labels expected, got dtype {t.dtype}; pass class "
                "indices 0..C-1 or one-hot labels shaped like the prediction"
            )
    if t.size and (t.min() < 0 or t.max() >= num_classes):
        raise ValueError(
            f"{name}: labels must lie in [0, {num_classes}) for {num_classes} classes, "
            f"got values from {t.min()} to {t.max()}"
        )
    return t.astype(np.intp, copy=False)


def _prepare_classification(name: str, y, t):
    """Return (y as (N, C), integer labels or None, one-hot labels or None)."""
    y = np.asarray(y)
    t = np.asarray(t)
    if y.ndim == 1:
        y = y.reshape(1, -1)
        t = t.reshape(1, -1) if t.ndim == 1 and t.size == y.size else t.reshape(1)
    if y.ndim != 2:
        raise ValueError(f"{name}: expected (C,) or (N, C) input, got shape {y.shape}")
    if np.isnan(y).any():
        raise ValueError(f"{name}: the input contains NaN; check the forward pass and lr")
    if t.shape == y.shape:
        return y, None, t
    if t.shape == (y.shape[0],):
        return y, check_labels(name, t, y.shape[1]), None
    raise ValueError(
        f"{name}: labels of shape {t.shape} do not fit predictions of shape {y.shape}; "
        f"use one-hot labels {y.shape} or integer labels ({y.shape[0]},)"
    )
