"""Lecture 002: the perceptron, a linear classifier with a sign activation.

The note builds it with TensorFlow; here it is NumPy, with the gradients written out. For a
sample x with label y in {-1, +1}:

    z = w . x + b,   y_pred = sign(z),   loss = -(y - y_pred) * z

sign() has zero gradient, so dloss/dw = -(y - y_pred) * x and dloss/db = -(y - y_pred): nothing
changes for a correct sample, and a wrong one moves w by 2 * eta * y * x (the perceptron rule).
One gradient step per sample, eta = 0.1, one pass over the data, as in the note.
"""

from __future__ import annotations

import numpy as np

from .._rng import as_generator
from ..datasets import make_blobs_classification
from ..functions import sign


class Perceptron:
    """z = x @ w + b with w of shape (n_features, 1) drawn from N(0, 1), b = 0."""

    def __init__(self, n_features: int = 2, rng=None) -> None:
        self.w = as_generator(rng).standard_normal((n_features, 1))
        self.b = 0.0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Scores z: (N,) for x of shape (N, n_features), or (1,) for one sample."""
        return np.sum(self.w.T * x, axis=1) + self.b


def loss_func(y_true, y_pred, z):
    """The perceptron's loss: positive only for misclassified samples."""
    return -(y_true - y_pred) * z


def train_step(model: Perceptron, X: np.ndarray, y: np.ndarray, eta: float) -> None:
    """One pass over the data, a gradient-descent step after every sample."""
    for x, y_true in zip(X, y):
        z = model(x)
        y_pred = sign(z)
        dw = (-(y_true - y_pred) * x).reshape(model.w.shape)
        db = float(-(y_true - y_pred)[0])
        model.w -= eta * dw
        model.b -= eta * db


def run(rng=20) -> dict[str, float]:
    """The note's experiment: 100 samples, class_sep 2.0, labels -1/+1, eta 0.1."""
    X, y = make_blobs_classification(n_samples=100, class_sep=2.0, labels="pm1", rng=rng)
    model = Perceptron(rng=rng)
    before = float(np.mean(sign(model(X)) == y))
    train_step(model, X, y, eta=0.1)
    after = float(np.mean(sign(model(X)) == y))
    return {"accuracy_before": before, "accuracy_after": after, "n": len(X)}


def main() -> None:
    r = run()
    print(f"X.shape = ({r['n']}, 2)")
    print(f"accuracy before training: {r['accuracy_before']:.2f}")
    print(f"accuracy after one pass of the perceptron rule: {r['accuracy_after']:.2f}")


if __name__ == "__main__":
    main()
