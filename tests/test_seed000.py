"""Seed 000 (the lecture on neural networks and their training), value by value."""

from __future__ import annotations

import numpy as np
import pytest

from dlscratch.functions import (
    cross_entropy_error,
    softmax,
    sum_squares_error,
)
from dlscratch.gradient import gradient_descent, numerical_diff, numerical_gradient
from dlscratch.layers import Affine, Identity, Sequential, Sigmoid

# The lecture's own init_network() and forward(), as the lesson keeps them.
from dlscratch.lessons.seed000_neural_network import (  # noqa: E402
    forward,
    function_2,
    init_network,
)
from dlscratch.models import TwoLayerNet, simpleNet

SEED_OUTPUT = [0.31682708, 0.69627909]


def test_three_layer_network():
    y = forward(init_network(), np.array([1.0, 0.5]))
    np.testing.assert_allclose(y, SEED_OUTPUT, atol=1e-8)


def test_three_layer_network_as_layers():
    """The same network from Affine and Sigmoid layers, which wrap the lecture's arrays."""
    n = init_network()
    net = Sequential(Affine(n["W1"], n["b1"]), Sigmoid(), Affine(n["W2"], n["b2"]), Sigmoid(),
                     Affine(n["W3"], n["b3"]), Identity())
    np.testing.assert_allclose(net.forward(np.array([1.0, 0.5])), SEED_OUTPUT, atol=1e-8)
    batch = net.forward(np.array([[1.0, 0.5], [1.0, 0.5]]))
    np.testing.assert_allclose(batch, [SEED_OUTPUT, SEED_OUTPUT], atol=1e-8)


def test_softmax_overflow_fix():
    a = np.array([1010.0, 1000.0, 990.0])
    with np.errstate(over="ignore", invalid="ignore"):
        naive = np.exp(a) / np.sum(np.exp(a))
    assert np.all(np.isnan(naive))  # the lecture's first softmax
    np.testing.assert_allclose(softmax(a), [9.99954600e-01, 4.53978686e-05, 2.06106005e-09],
                               rtol=1e-6)
    np.testing.assert_allclose(softmax(np.array([0.3, 2.9, 4.0])),
                               [0.01821127, 0.24519181, 0.73659691], atol=1e-8)


def test_batched_inference_accuracy_loop():
    """The lecture's batch loop counts the same hits as the one-at-a-time loop."""
    rng = np.random.default_rng(0)
    network = {"W1": rng.standard_normal((4, 5)), "b1": rng.standard_normal(5),
               "W2": rng.standard_normal((5, 3)), "b2": rng.standard_normal(3),
               "W3": rng.standard_normal((3, 3)), "b3": rng.standard_normal(3)}
    x = rng.standard_normal((250, 4))
    t = rng.integers(0, 3, 250)

    def predict(x):
        return softmax(forward(network, x))

    one_by_one = sum(int(np.argmax(predict(x[i])) == t[i]) for i in range(len(x)))
    batch_size = 100
    batched = 0
    for i in range(0, len(x), batch_size):
        p = np.argmax(predict(x[i:i + batch_size]), axis=1)
        batched += int(np.sum(p == t[i:i + batch_size]))
    assert batched == one_by_one


def test_loss_functions_book_examples():
    t = [0, 0, 1, 0, 0, 0, 0, 0, 0, 0]
    y = [0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0]
    assert sum_squares_error(np.array(y), np.array(t)) == pytest.approx(0.0975, abs=1e-15)
    assert cross_entropy_error(np.array(y), np.array(t)) == pytest.approx(0.510825457099338,
                                                                          abs=1e-12)
    y = [0.1, 0.05, 0.1, 0.0, 0.05, 0.1, 0.0, 0.6, 0.0, 0.0]
    assert sum_squares_error(np.array(y), np.array(t)) == pytest.approx(0.5975, abs=1e-15)
    assert cross_entropy_error(np.array(y), np.array(t)) == pytest.approx(2.302584092994546,
                                                                          abs=1e-12)


def test_cross_entropy_error2_integer_labels():
    """cross_entropy_error2: y[np.arange(batch_size), t] for labels that are not one-hot."""
    y = np.array([[0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0],
                  [0.1, 0.05, 0.1, 0.0, 0.05, 0.1, 0.0, 0.6, 0.0, 0.0]])
    t = np.array([2, 2])
    expected = -np.sum(np.log(y[np.arange(2), t] + 1e-7)) / 2
    assert cross_entropy_error(y, t) == pytest.approx(expected, rel=1e-15)
    assert cross_entropy_error(y, np.eye(10)[t]) == pytest.approx(expected, rel=1e-14)


def test_partial_derivatives():
    def function_tmp1(x0):
        return x0 * x0 + 4.0**2.0

    def function_tmp2(x1):
        return 3.0**2.0 + x1 * x1

    assert numerical_diff(function_tmp1, 3.0) == pytest.approx(6.0, abs=1e-6)
    assert numerical_diff(function_tmp2, 4.0) == pytest.approx(8.0, abs=1e-6)


# The book prints [6. 8.], [0. 4.] and [6. 0.]: the gradient of x0^2 + x1^2 is (2 x0, 2 x1).
@pytest.mark.parametrize("point, expected", [([3.0, 4.0], [6.0, 8.0]), ([0.0, 2.0], [0.0, 4.0]),
                                             ([3.0, 0.0], [6.0, 0.0])])
def test_numerical_gradient_points(point, expected):
    np.testing.assert_allclose(numerical_gradient(function_2, np.array(point)), expected,
                               atol=1e-6)


def test_gradient_descent_reaches_origin():
    init_x = np.array([-3.0, 4.0])
    x, x_history = gradient_descent(function_2, init_x=init_x, lr=0.1, step_num=100)
    assert np.all(np.abs(x) < 1e-8)
    assert x_history.shape == (100, 2)
    np.testing.assert_array_equal(x_history[0], [-3.0, 4.0])
    np.testing.assert_array_equal(init_x, [-3.0, 4.0])
    # the lecture's plot: 20 steps, every point on the segment from (-3, 4) to the origin
    _, hist20 = gradient_descent(function_2, np.array([-3.0, 4.0]), lr=0.1, step_num=20)
    assert hist20.shape == (20, 2)
    np.testing.assert_allclose(hist20[:, 0] / hist20[:, 1], -0.75)
    assert np.all(np.diff(np.linalg.norm(hist20, axis=1)) < 0)


def test_quiver_gradients():
    x0 = np.arange(-2, 2.5, 0.25)
    x1 = np.arange(-2, 2.5, 0.25)
    X, Y = np.meshgrid(x0, x1)
    X = X.flatten()
    Y = Y.flatten()

    def function_2_batched(x):
        if x.ndim == 1:
            return np.sum(x**2)
        return np.sum(x**2, axis=1)

    grad = numerical_gradient(function_2_batched, np.array([X, Y]))
    np.testing.assert_allclose(grad, 2 * np.array([X, Y]), atol=1e-6)
    grad = numerical_gradient(function_2, np.array([X, Y]))  # the seed's own function_2
    np.testing.assert_allclose(grad, 2 * np.array([X, Y]), atol=1e-6)


def test_simple_net():
    """The book's worked example (section 4.4.2), whose W and printed results are fixed."""
    net = simpleNet(rng=0)
    assert net.W.shape == (2, 3) and net.W.dtype == np.float64
    net.W = np.array([[0.47355232, 0.9977393, 0.84668094],
                      [0.85557411, 0.03563661, 0.69422093]])
    x = np.array([0.6, 0.9])
    t = np.array([0, 0, 1])
    p = net.predict(x)
    np.testing.assert_allclose(p, [1.05414809, 0.63071653, 1.1328074], atol=1e-8)
    assert np.argmax(p) == 2
    assert net.loss(x, t) == pytest.approx(0.92806853663411326, abs=1e-6)
    dW = numerical_gradient(lambda W: net.loss(x, t), net.W)
    np.testing.assert_allclose(dW, [[0.21924763, 0.14356247, -0.36281009],
                                    [0.32887144, 0.2153437, -0.54421514]], atol=1e-6)
    np.testing.assert_allclose(dW, np.outer(x, softmax(p) - t), atol=1e-6)
    np.testing.assert_allclose(dW.sum(axis=1), 0.0, atol=1e-6)  # softmax - t sums to 0


def test_two_layer_net_numerical_training_loop():
    """The lecture's mini-batch loop with numerical gradients, on a net small enough to run."""
    net = TwoLayerNet(input_size=8, hidden_size=5, output_size=3, weight_init_std=0.5,
                      dtype=np.float64, rng=0)
    rng = np.random.default_rng(0)
    x_train = rng.uniform(0, 1, (50, 8))
    t_train = np.eye(3)[(x_train[:, 0] > 0.5).astype(int) + (x_train[:, 1] > 0.5)]
    train_loss_list = []
    for _ in range(5):
        batch_mask = rng.choice(50, 10)
        x_batch, t_batch = x_train[batch_mask], t_train[batch_mask]
        grad = net.numerical_gradient(x_batch, t_batch)
        backprop = net.gradient(x_batch, t_batch)
        for key in ("W1", "b1", "W2", "b2"):
            np.testing.assert_allclose(grad[key], backprop[key], atol=1e-8)
            net.params[key] -= 0.1 * grad[key]
        train_loss_list.append(net.loss(x_batch, t_batch))
    assert all(np.isfinite(train_loss_list))
    full = [net.loss(x_train, t_train)]
    for _ in range(50):
        grad = net.gradient(x_train, t_train)
        for key in ("W1", "b1", "W2", "b2"):
            net.params[key] -= 0.5 * grad[key]
        full.append(net.loss(x_train, t_train))
    assert full[-1] < full[0]
