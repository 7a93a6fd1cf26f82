"""How the Trainer measures a network: accuracy and loss over a data set in eval mode, and
why a step met NaN or inf. Works for dlscratch Modules and for lecture-style objects alike."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from .layers.module import Module


@contextmanager
def eval_mode(network) -> Iterator[None]:
    """Put a network with ``train``/``eval`` in eval mode; restore its mode afterwards."""
    was_training = getattr(network, "training", None)
    if was_training is not None:
        network.eval()
    try:
        yield
    finally:
        if was_training is not None:
            network.train(was_training)


def accuracy(network, x: np.ndarray, t: np.ndarray, batch_size: int) -> float:
    """``network.accuracy(x, t)``, in batches when it takes ``batch_size`` (the book's
    TwoLayerNet does not)."""
    acc = network.accuracy
    try:
        takes_batch = "batch_size" in inspect.signature(acc).parameters
    except (TypeError, ValueError):
        takes_batch = False
    return float(acc(x, t, batch_size=batch_size) if takes_batch else acc(x, t))


def mean_loss(network, x: np.ndarray, t: np.ndarray, batch_size: int) -> float:
    """The sample-weighted mean of ``network.loss`` over batches of ``x``."""
    total = 0.0
    for i in range(0, len(x), batch_size):
        xb, tb = x[i:i + batch_size], t[i:i + batch_size]
        total += float(network.loss(xb, tb)) * len(xb)
    return total / len(x) if len(x) else float("nan")


def evaluate_epoch(network, x_train, t_train, x_test, t_test,
                   batch_size: int) -> tuple[float, float, float]:
    """``(train_acc, test_loss, test_acc)`` in eval mode; the test pair from
    ``network.evaluate`` when the network has it, else from its loss and accuracy."""
    with eval_mode(network):
        train_acc = accuracy(network, x_train, t_train, batch_size)
        if hasattr(network, "evaluate"):
            test_loss, test_acc = network.evaluate(x_test, t_test, batch_size=batch_size)
        else:
            test_loss = mean_loss(network, x_test, t_test, batch_size)
            test_acc = accuracy(network, x_test, t_test, batch_size)
    return float(train_acc), float(test_loss), float(test_acc)


def nonfinite_cause(network, x_batch: np.ndarray) -> str | None:
    """Why a step met NaN/inf: the batch's inputs or a weight (named); None if neither."""
    xb = np.asarray(x_batch)
    if np.issubdtype(xb.dtype, np.inexact) and not np.isfinite(xb).all():
        return "the mini-batch's inputs contain NaN or inf"
    named = (((n, p.data) for n, p in network.named_parameters()) if isinstance(network, Module)
             else getattr(network, "params", {}).items())
    for name, value in named:
        if not np.isfinite(value).all():
            return f"the weights {name} contain NaN or inf"
    return None
