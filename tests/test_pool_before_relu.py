"""Sequential runs a ReLU that is directly followed by max pooling after the pooling.

max over a window of max(x, 0) equals max(max over the window of x, 0), and the gradients
agree (``max_pool_before_relu``'s docstring). These tests compare the two orders, bit for bit,
on the cases where they could part: windows whose maximum is 0 or negative, ties at 0 and
above, signed zeros, infinities, overlapping and padded windows, both dtypes, both modes, and
whole networks.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

from dlscratch.gradient import numerical_gradient, relative_error
from dlscratch.layers import (
    AvgPool2d,
    Conv2d,
    Flatten,
    LeakyReLU,
    Linear,
    MaxPool2d,
    Pooling,
    ReLU,
    Relu,
    Sequential,
    Sigmoid,
)
from dlscratch.layers.sequential import max_pool_before_relu
from dlscratch.models import DeepConvNet, SimpleConvNet


def _names(seq: Sequential) -> list[str]:
    return [name for name, _ in seq.run_order()]


def _both(*make):
    """Two Sequentials of the same layers (made twice): reordered, and as written."""
    fast, book = Sequential(*[m() for m in make]), Sequential(*[m() for m in make])
    book.pool_before_relu = False
    return fast, book


def test_run_order_moves_each_relu_that_precedes_max_pooling_after_it():
    seq = Sequential(OrderedDict(
        conv=Conv2d(1, 2, 3, rng=0), relu=ReLU(), pool=MaxPool2d(2),
        relu2=Relu(), relu3=ReLU(), pool2=Pooling(2, 2, stride=2),  # the lectures' names
        flat=Flatten(), fc=Linear(2, 3, rng=0), relu4=ReLU()))
    assert _names(seq) == ["conv", "pool", "relu", "relu2", "pool2", "relu3", "flat", "fc",
                           "relu4"]
    seq.pool_before_relu = False
    assert _names(seq) == list(seq.keys())


@pytest.mark.parametrize("first, second", [
    (LeakyReLU, lambda: MaxPool2d(2)),  # rounding of alpha * x can tie distinct values
    (Sigmoid, lambda: MaxPool2d(2)),  # saturation ties distinct values
    (ReLU, lambda: AvgPool2d(2)),  # mean(max(x, 0)) != max(mean(x), 0)
    (lambda: type("MyReLU", (ReLU,), {})(), lambda: MaxPool2d(2)),  # a subclass may differ
    (ReLU, lambda: type("MyPool", (MaxPool2d,), {})(2)),
])
def test_run_order_leaves_every_other_pair_as_written(first, second):
    seq = Sequential(first(), second())
    assert _names(seq) == ["0", "1"]


def test_max_pool_before_relu_on_a_plain_list():
    relu, pool = ReLU(), MaxPool2d(2)
    assert max_pool_before_relu([("a", relu), ("b", pool)]) == [("b", pool), ("a", relu)]
    assert max_pool_before_relu([]) == []
    assert max_pool_before_relu([("a", relu)]) == [("a", relu)]


# Windows (2x2) where the orders could part: the maximum 0, negative, tied, signed zeros, inf.
EDGE_WINDOWS = [
    [[-1.0, -2.0], [-3.0, -0.5]],  # all negative: no gradient anywhere
    [[0.0, -1.0], [0.0, -2.0]],  # maximum 0, tied: no gradient (ReLU's gradient at 0 is 0)
    [[-0.0, 0.0], [-1.0, -0.0]],  # signed zeros
    [[2.0, 2.0], [-1.0, 2.0]],  # positive ties: the first maximum
    [[-1.0, 3.0], [3.0, 0.0]],
    [[0.0, 0.0], [0.0, 0.0]],
    [[-np.inf, -np.inf], [-np.inf, -np.inf]],
    [[np.inf, 1.0], [np.inf, -np.inf]],
    [[1e-30, -1e-30], [0.0, 5e-31]],
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("training", [True, False])
def test_edge_windows_give_the_same_values_and_gradients_in_both_orders(dtype, training):
    windows = np.array(EDGE_WINDOWS, dtype=dtype)  # (9, 2, 2)
    x = np.concatenate([windows, -windows, windows[::-1]])[None]  # (1, 27, 2, 2)
    fast, book = _both(ReLU, lambda: MaxPool2d(2))
    assert _names(fast) == ["1", "0"]
    for seq in (fast, book):
        seq.train(training)
    dout = np.arange(1.0, 28.0, dtype=dtype).reshape(1, 27, 1, 1)
    y_fast, y_book = fast.forward(x), book.forward(x)
    np.testing.assert_array_equal(y_fast, y_book)
    dx_fast, dx_book = fast.backward(dout), book.backward(dout)
    np.testing.assert_array_equal(dx_fast, dx_book)
    assert dx_fast.dtype == dtype
    # by hand: the window [[2, 2], [-1, 2]] sends its dout (4) to its first element only
    np.testing.assert_array_equal(dx_fast[0, 3], [[4.0, 0.0], [0.0, 0.0]])
    # windows whose maximum is <= 0 get no gradient
    for c in (0, 1, 2, 5, 6):
        np.testing.assert_array_equal(dx_fast[0, c], np.zeros((2, 2)))


@pytest.mark.parametrize("kernel, stride, pad, size",
                         [(2, 2, 0, 10), (3, 2, 1, 9), (3, 1, 1, 9), (2, 1, 0, 9)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_random_data_with_ties_same_in_both_orders_for_any_window(kernel, stride, pad, size,
                                                                  dtype):
    rng = np.random.default_rng(kernel * 10 + stride + pad)
    x = rng.integers(-3, 4, size=(3, 4, size, size)).astype(dtype)  # many ties and zeros
    fast, book = _both(ReLU, lambda: MaxPool2d(kernel, stride=stride, pad=pad))
    y = fast.forward(x)
    np.testing.assert_array_equal(y, book.forward(x))
    dout = rng.standard_normal(y.shape).astype(dtype)
    np.testing.assert_array_equal(fast.backward(dout), book.backward(dout))


def test_nan_gives_nan_in_both_orders():
    x = np.array([[[[np.nan, 1.0], [-1.0, 2.0]], [[-1.0, np.nan], [-2.0, -3.0]]]])
    fast, book = _both(ReLU, lambda: MaxPool2d(2))
    np.testing.assert_array_equal(fast.forward(x), book.forward(x))
    assert np.isnan(fast.forward(x)).all()


def test_the_relu_then_keeps_the_pooled_shape_and_the_book_order_keeps_the_written_one():
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 4))
    fast, book = _both(ReLU, lambda: MaxPool2d(2))
    fast.forward(x)
    book.forward(x)
    assert fast[0].mask.shape == (2, 3, 2, 2)
    assert book[0].mask.shape == (2, 3, 4, 4)


def test_backward_follows_the_order_of_the_last_forward():
    x = np.random.default_rng(1).standard_normal((2, 3, 4, 4))
    seq = Sequential(ReLU(), MaxPool2d(2))
    y = seq.forward(x)
    seq.pool_before_relu = False  # changed between forward and backward
    dx = seq.backward(np.ones_like(y))
    book = Sequential(ReLU(), MaxPool2d(2))
    book.pool_before_relu = False
    book.forward(x)
    np.testing.assert_array_equal(dx, book.backward(np.ones_like(y)))


def test_a_small_network_still_matches_numerical_gradients():
    rng = np.random.default_rng(2)
    seq = Sequential(Conv2d(2, 3, 3, pad=1, rng=0, dtype=np.float64), ReLU(), MaxPool2d(2),
                     Flatten())
    x = rng.standard_normal((2, 2, 6, 6))
    dout = rng.standard_normal((2, 27))
    assert _names(seq) == ["0", "2", "1", "3"]
    seq.forward(x)
    dx = seq.backward(dout)
    num = numerical_gradient(lambda v: float(np.sum(seq.forward(v) * dout)), x.copy())
    assert relative_error(dx, num) < 1e-7


@pytest.mark.parametrize("make", [
    lambda: SimpleConvNet(rng=0),
    lambda: DeepConvNet(dropout_ratio=0.0, rng=0),
], ids=["SimpleConvNet", "DeepConvNet"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_networks_give_identical_losses_gradients_and_predictions_in_both_orders(make, dtype):
    fast, book = make(), make()
    for net in (fast, book):
        net.to(dtype)
    book.layers.pool_before_relu = False
    assert _names(fast.layers) != list(fast.layers.keys())  # something was reordered
    rng = np.random.default_rng(3)
    x = rng.random((6, 1, 28, 28)).astype(dtype)
    t = rng.integers(0, 10, 6)
    assert fast.loss(x, t) == book.loss(x, t)
    g_fast, g_book = fast.gradient(x, t), book.gradient(x, t)
    assert g_fast.keys() == g_book.keys()
    for key in g_fast:
        np.testing.assert_array_equal(g_fast[key], g_book[key], err_msg=key)
    np.testing.assert_array_equal(fast.predict(x), book.predict(x))


def test_the_run_order_follows_a_replaced_or_added_layer():
    seq = Sequential(ReLU(), MaxPool2d(2))
    assert _names(seq) == ["1", "0"]
    seq.add_module("1", AvgPool2d(2))  # replaced in place: nothing to swap now
    assert _names(seq) == ["0", "1"]
    seq.add_module("1", MaxPool2d(2))
    seq.append(ReLU()).append(Pooling(2, 2, stride=2))
    assert _names(seq) == ["1", "0", "3", "2"]
    x = np.random.default_rng(4).standard_normal((1, 2, 4, 4))
    assert seq.forward(x).shape == (1, 2, 1, 1)
