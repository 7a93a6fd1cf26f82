"""Lecture 003: a fully connected sigmoid network on MNIST in Kaggle's CSV format.

The note reads ``mnist_train.csv`` / ``mnist_test.csv`` (a label column, then 784 pixels) with
pandas, builds a [784, 128, 64, 10] network with a sigmoid on every layer and the MSE loss, and
writes the backward pass by hand. Its code does not run as published (``feed_forward`` and
``initialize_parameters`` are never defined, and ``dW = np.outer(db, a_prev)``, ``da = W.T @ db``
have the transposes the wrong way round for ``W`` of shape (in, out)); this is the same network
with dlscratch's layers, whose backward passes are gradient-checked:

    a0 = x,  z_l = a_{l-1} @ W_l + b_l,  a_l = sigmoid(z_l),  L = mean((a_L - y)^2)

Two changes make it learn: Xavier initial weights (the note's N(0, 1) saturates every sigmoid of
a 784-input layer) and mini-batches of 32 instead of one full-batch step per epoch. The MSE of
sigmoid outputs gives small gradients, hence the large learning rate.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from .._rng import as_generator
from ..data import DataLoader
from ..datasets import load_csv, load_mnist
from ..layers import Linear, MSELoss, Sequential, Sigmoid


def weight_initializer(neuron_layer_structure: list[int], rng=None) -> Sequential:
    """Linear + Sigmoid for each pair of sizes, e.g. [784, 128, 64, 10]."""
    g = as_generator(rng)
    layers = []
    for n_in, n_out in zip(neuron_layer_structure[:-1], neuron_layer_structure[1:]):
        layers += [Linear(n_in, n_out, weight_init_std="xavier", rng=g), Sigmoid()]
    return Sequential(*layers)


def compute_accuracy(x_val: np.ndarray, y_val: np.ndarray, network: Sequential) -> float:
    return float(np.mean(np.argmax(network.forward(x_val), axis=1) == np.argmax(y_val, axis=1)))


def train_nn(X_train, Y_train, X_test, Y_test, neurons_per_layer, epoch, alpha,  # noqa: N803
             batch_size=32, rng=0, verbose=True):
    """Train by mini-batch gradient descent; returns (loss_list, network)."""
    g = as_generator(rng)
    network = weight_initializer(neurons_per_layer, rng=g)
    loss_layer = MSELoss()
    loss_list = []
    for i in range(epoch):
        for x, y in DataLoader(X_train, Y_train, batch_size=batch_size, shuffle=True, rng=g):
            network.zero_grad()
            loss_layer.forward(network.forward(x), y)
            network.backward(loss_layer.backward())
            for p in network.parameters():
                p.data -= alpha * p.grad
        loss_list.append(loss_layer.forward(network.forward(X_train), Y_train))
        if verbose:
            acc = compute_accuracy(X_test, Y_test, network)
            print(f"epoch {i + 1}: loss {loss_list[-1]:.4f}, test accuracy {acc:.4f}")
    return loss_list, network


def write_sample_csv(folder: str | Path) -> tuple[Path, Path]:
    """Write the bundled MNIST sample as Kaggle-style mnist_train.csv / mnist_test.csv."""
    folder = Path(folder)
    (x_tr, t_tr), (x_te, t_te) = load_mnist(dataset="mnist-sample", normalize=False)
    header = "label," + ",".join(f"{r}x{c}" for r in range(1, 29) for c in range(1, 29))
    paths = []
    for name, x, t in (("mnist_train.csv", x_tr, t_tr), ("mnist_test.csv", x_te, t_te)):
        path = folder / name
        np.savetxt(path, np.column_stack([t, x]), fmt="%d", delimiter=",", header=header,
                   comments="", encoding="utf-8")
        paths.append(path)
    return paths[0], paths[1]


def run(train_csv=None, test_csv=None, epoch=10, alpha=20.0, rng=0, verbose=True):
    """Load the CSVs (the bundled sample written as CSV when none are given) and train."""
    with tempfile.TemporaryDirectory() as tmp:
        if train_csv is None:
            train_csv, test_csv = write_sample_csv(tmp)
        x_train, y_train = load_csv(train_csv, one_hot_label=True)
        x_test, y_test = load_csv(test_csv, one_hot_label=True)
    if verbose:
        print(y_train.shape, x_train.shape, y_test.shape, x_test.shape)
    loss_list, network = train_nn(x_train, y_train, x_test, y_test, [784, 128, 64, 10],
                                  epoch, alpha, rng=rng, verbose=verbose)
    return {"loss_list": loss_list, "accuracy": compute_accuracy(x_test, y_test, network)}


def main() -> None:
    r = run()
    print(f"final test accuracy {r['accuracy']:.4f}")


if __name__ == "__main__":
    main()
