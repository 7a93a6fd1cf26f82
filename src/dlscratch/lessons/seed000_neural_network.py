"""Lecture 000: neural networks - forward pass, softmax, MNIST inference, losses, numerical
gradients, gradient descent, simpleNet and TwoLayerNet.

Imports changed from the note (``common.functions`` -> ``dlscratch.functions``, ``dataset.mnist``
-> ``dlscratch.datasets``), no ``sys.path`` hack, and the pickle of pretrained weights read
through the restricted importer.
"""

from __future__ import annotations

import numpy as np

from .._rng import as_generator
from ..data import random_batch
from ..datasets import load_mnist, load_sample_weights
from ..functions import (
    cross_entropy_error,
    identity_function,
    sigmoid,
    softmax,
    sum_squares_error,
)
from ..gradient import gradient_descent, numerical_diff, numerical_gradient
from ..models import TwoLayerNet, simpleNet


# ---------------------------------------------------------------------- the 3-layer network
def init_network() -> dict[str, np.ndarray]:
    network = {}
    network["W1"] = np.array([[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]])
    network["b1"] = np.array([0.1, 0.2, 0.3])
    network["W2"] = np.array([[0.1, 0.4], [0.2, 0.5], [0.3, 0.6]])
    network["b2"] = np.array([0.1, 0.2])
    network["W3"] = np.array([[0.1, 0.3], [0.2, 0.4]])
    network["b3"] = np.array([0.1, 0.2])
    return network


def forward(network, x):
    W1, W2, W3 = network["W1"], network["W2"], network["W3"]
    b1, b2, b3 = network["b1"], network["b2"], network["b3"]
    a1 = np.dot(x, W1) + b1
    z1 = sigmoid(a1)
    a2 = np.dot(z1, W2) + b2
    z2 = sigmoid(a2)
    a3 = np.dot(z2, W3) + b3
    return identity_function(a3)


# ---------------------------------------------------------------------- MNIST inference
def get_data():
    """The MNIST test set, all 10,000 images (shipped with dlscratch as the mnist-sample)."""
    (x_train, t_train), (x_test, t_test) = load_mnist(
        normalize=True, flatten=True, one_hot_label=False, dataset="mnist-sample")
    return np.concatenate([x_train, x_test]), np.concatenate([t_train, t_test])


def predict(network, x):
    W1, W2, W3 = network["W1"], network["W2"], network["W3"]
    b1, b2, b3 = network["b1"], network["b2"], network["b3"]
    z1 = sigmoid(np.dot(x, W1) + b1)
    z2 = sigmoid(np.dot(z1, W2) + b2)
    return softmax(np.dot(z2, W3) + b3)


def mnist_accuracy(batch_size: int | None = None) -> float:
    """Accuracy of the book's pretrained network, one image at a time or in batches."""
    x, t = get_data()
    network = load_sample_weights()
    accuracy_cnt = 0
    if batch_size is None:
        for i in range(len(x)):
            if np.argmax(predict(network, x[i])) == t[i]:
                accuracy_cnt += 1
    else:
        for i in range(0, len(x), batch_size):
            p = np.argmax(predict(network, x[i:i + batch_size]), axis=1)
            accuracy_cnt += int(np.sum(p == t[i:i + batch_size]))
    return accuracy_cnt / len(x)


# ---------------------------------------------------------------------- gradients
def function_1(x):
    return 0.01 * x**2 + 0.1 * x


def function_2(x):
    return x[0] ** 2 + x[1] ** 2


def gradient_examples() -> dict[str, np.ndarray]:
    return {
        "diff_at_5": numerical_diff(function_1, 5),
        "diff_at_10": numerical_diff(function_1, 10),
        "grad_at_3_4": numerical_gradient(function_2, np.array([3.0, 4.0])),
        "grad_at_0_2": numerical_gradient(function_2, np.array([0.0, 2.0])),
        "grad_at_3_0": numerical_gradient(function_2, np.array([3.0, 0.0])),
        "descent": gradient_descent(function_2, np.array([-3.0, 4.0]), lr=0.1, step_num=100)[0],
    }


def simple_net_gradient(rng=0):
    """dL/dW of simpleNet at x = [0.6, 0.9], t = [0, 0, 1], by numerical_gradient."""
    net = simpleNet(rng=rng)
    x = np.array([0.6, 0.9])
    t = np.array([0, 0, 1])

    def f(W):
        return net.loss(x, t)

    return net, numerical_gradient(f, net.W)


def train_two_layer_net(iters_num=1000, batch_size=100, learning_rate=0.1, rng=0,
                        use_backprop=True):
    """The note's mini-batch loop; ``use_backprop=False`` uses the (very slow) numerical one."""
    (x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, one_hot_label=True,
                                                      dataset="mnist-sample")
    g = as_generator(rng)
    network = TwoLayerNet(input_size=784, hidden_size=50, output_size=10, rng=g)
    train_loss_list = []
    for _ in range(iters_num):
        x_batch, t_batch = random_batch(x_train, t_train, batch_size, rng=g)
        if use_backprop:
            grad = network.gradient(x_batch, t_batch)
        else:
            grad = network.numerical_gradient(x_batch, t_batch)
        for key in ("W1", "b1", "W2", "b2"):
            network.params[key] -= learning_rate * grad[key]
        train_loss_list.append(network.loss(x_batch, t_batch))
    return train_loss_list, network.accuracy(x_test, t_test)


def main() -> None:
    print(forward(init_network(), np.array([1.0, 0.5])))  # [0.31682708 0.69627909]
    print(softmax(np.array([1010, 1000, 990])))  # finite: the max is subtracted
    y = np.array([0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0])
    t = np.array([0, 0, 1, 0, 0, 0, 0, 0, 0, 0])
    print("SSE", sum_squares_error(y, t), "CEE", cross_entropy_error(y, t))
    print("Accuracy: " + str(mnist_accuracy()))
    print("Accuracy (batches of 100): " + str(mnist_accuracy(batch_size=100)))
    for k, v in gradient_examples().items():
        print(k, v)
    _, dW = simple_net_gradient()
    print("simpleNet dW\n", dW)
    losses, acc = train_two_layer_net()
    print(f"TwoLayerNet: loss {losses[0]:.3f} -> {losses[-1]:.3f}, test accuracy {acc:.4f}")


if __name__ == "__main__":
    main()
