"""Shared helpers for the core tests: gradient checks of layers and the MNIST sample.

Imported as ``from helpers_core import ...``: pytest's default ("prepend") import mode puts
this folder on ``sys.path`` because tests/ has no ``__init__.py``.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from dlscratch.gradient import numerical_gradient, relative_error

REPO_ROOT = Path(__file__).resolve().parents[1]
GRAD_TOL = 1e-6


def layer_gradients(
    layer,
    x: np.ndarray,
    R: np.ndarray,
    before: Callable[[], None] | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Backprop dL/dx and dL/dparam for L = sum(layer(x) * R) (one forward, one backward)."""
    layer.zero_grad()
    if before is not None:
        before()
    layer.forward(x)
    dx = layer.backward(R.copy())
    grads = {name: np.array(p.grad, copy=True) for name, p in layer.named_parameters()}
    return dx, grads


def check_layer(
    layer,
    x: np.ndarray,
    seed: int = 0,
    before: Callable[[], None] | None = None,
) -> dict[str, float]:
    """Relative errors between backprop and numerical gradients of sum(layer(x) * R).

    ``before`` runs before every forward pass (e.g. to re-create Dropout's generator so that
    every evaluation draws the same mask). Returns ``{"x": err, param_name: err, ...}``.
    """
    if before is not None:
        before()
    out = layer.forward(x)
    R = np.random.default_rng(seed).standard_normal(out.shape)
    dx, grads = layer_gradients(layer, x, R, before)

    def f(_):
        if before is not None:
            before()
        return float(np.sum(layer.forward(x) * R))

    errors = {"x": relative_error(dx, numerical_gradient(f, x))}
    for name, p in layer.named_parameters():
        errors[name] = relative_error(grads[name], numerical_gradient(f, p.data))
    return errors


def check_loss(loss_layer, x: np.ndarray, t: np.ndarray, dout: float = 1.0) -> float:
    """Relative error between a loss layer's backward(dout) and numerical d(dout * L)/dx."""
    loss_layer.forward(x, t)
    dx = loss_layer.backward(dout)

    def f(_):
        return dout * loss_layer.forward(x, t)

    return relative_error(dx, numerical_gradient(f, x))


def assert_small(errors: dict[str, float], tol: float = GRAD_TOL) -> None:
    bad = {k: v for k, v in errors.items() if not v < tol}
    assert not bad, f"relative errors above {tol}: {bad} (all: {errors})"


def _read_idx_gz(path: Path, offset: int) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def mnist_sample() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """The MNIST test set split 8,000 train / 2,000 test, float32 in [0, 1], integer labels.

    Prefers the copy packaged with dlscratch (``load_mnist(dataset="mnist-sample")``), falls
    back to ``../shared/data/mnist-test`` next to the repository, and skips the test when
    neither is there.
    """
    try:
        from dlscratch.datasets import load_mnist

        return load_mnist(dataset="mnist-sample", download=False)
    except ImportError:
        pass
    folder = REPO_ROOT.parent / "shared" / "data" / "mnist-test"
    images_path = folder / "t10k-images-idx3-ubyte.gz"
    labels_path = folder / "t10k-labels-idx1-ubyte.gz"
    if not (images_path.exists() and labels_path.exists()):
        pytest.skip(
            "no MNIST sample: dlscratch.datasets is not importable and "
            f"{folder} does not hold t10k-images-idx3-ubyte.gz / t10k-labels-idx1-ubyte.gz"
        )
    x = _read_idx_gz(images_path, 16).reshape(-1, 784).astype(np.float32) / 255.0
    t = _read_idx_gz(labels_path, 8).astype(np.int64)
    return (x[:8000], t[:8000]), (x[8000:], t[8000:])
