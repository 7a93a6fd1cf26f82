"""Lecture 004: the delta rule, why one layer cannot learn XOR, and backprop that can.

Inputs carry a bias column: X = [[0,0,1], [0,1,1], [1,0,1], [1,1,1]]. Weights act from the left
as in the note (v = W @ x), start uniform in [-1, 1), and are updated after every sample with
alpha = 0.9 for 10,000 epochs.

* delta rule (one sigmoid unit):  delta = y (1 - y) (d - y),  W <- W + alpha * delta * x
* backprop (3 -> 4 -> 1): output delta as above, hidden delta1 = y1 (1 - y1) (W2.T @ delta)
* with cross-entropy the sigmoid's derivative cancels and the output delta is just d - y.
"""

from __future__ import annotations

import numpy as np

from .._rng import as_generator
from ..datasets import logic_gate
from ..functions import sigmoid


def calc_output(W, x):
    return sigmoid(np.matmul(W, x))


def delta_GD(W, X, D, alpha):  # noqa: N802 - the note's name
    """One epoch of the delta rule on a single sigmoid unit W (1, 3)."""
    for k in range(len(X)):
        x = X[k, :].T
        d = D[k]
        y = calc_output(W, x)
        delta = y * (1 - y) * (d - y)
        W = W + alpha * delta * x
    return W


def calc_output2(W1, W2, x):
    y1 = sigmoid(np.matmul(W1, x))
    y = sigmoid(np.matmul(W2, y1))
    return y, y1


def backprop_XOR(W1, W2, X, D, alpha, cross_entropy=False):  # noqa: N802 - the note's name
    """One epoch of backprop on the 3-4-1 sigmoid network (MSE delta or cross-entropy delta)."""
    for k in range(len(X)):
        x = X[k, :].T
        d = D[k]
        y, y1 = calc_output2(W1, W2, x)
        e = d - y
        delta = e if cross_entropy else y * (1 - y) * e
        e1 = np.matmul(W2.T, delta)
        delta1 = y1 * (1 - y1) * e1
        W1 = W1 + (alpha * delta1).reshape(-1, 1) * x.reshape(1, -1)
        W2 = W2 + alpha * delta * y1
    return W1, W2


def train_single_layer(D: np.ndarray, epochs: int = 10_000, alpha: float = 0.9,
                       rng=0) -> np.ndarray:
    """Outputs (4,) of one sigmoid unit trained by the delta rule towards targets D (4, 1)."""
    X, _ = logic_gate("XOR", bias=True)
    W = 2 * as_generator(rng).random((1, 3)) - 1
    for _ in range(epochs):
        W = delta_GD(W, X, D, alpha)
    return np.array([calc_output(W, X[k].T)[0] for k in range(4)])


def train_xor(epochs: int = 10_000, alpha: float = 0.9, cross_entropy: bool = True,
              rng=0) -> np.ndarray:
    """Outputs (4,) of the 3-4-1 network trained on XOR by backprop."""
    X, D = logic_gate("XOR", bias=True)
    g = as_generator(rng)
    W1 = 2 * g.random((4, 3)) - 1
    W2 = 2 * g.random((1, 4)) - 1
    for _ in range(epochs):
        W1, W2 = backprop_XOR(W1, W2, X, D, alpha, cross_entropy)
    return np.array([calc_output2(W1, W2, X[k].T)[0][0] for k in range(4)])


def main() -> None:
    np.set_printoptions(precision=4, suppress=True)
    X, D_xor = logic_gate("XOR", bias=True)
    D_first = X[:, :1]  # the note's first data set: the target is the first input, [0, 0, 1, 1]
    print("delta rule, targets [0, 0, 1, 1]:", train_single_layer(D_first))
    print("delta rule, XOR [0, 1, 1, 0] (a single layer cannot):", train_single_layer(D_xor))
    print("backprop, XOR, cross-entropy delta:", train_xor(cross_entropy=True))


if __name__ == "__main__":
    main()
