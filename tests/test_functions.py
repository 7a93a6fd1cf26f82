"""dlscratch.functions: activations and losses against values worked out by formula."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from dlscratch import functions as F
from dlscratch.layers import ReLU

# The book's example (seed 000): the network says "2" with probability 0.6.
Y_BOOK = np.array([0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0])
T_BOOK = np.array([0, 0, 1, 0, 0, 0, 0, 0, 0, 0])
# ... and the same scores with "7" most likely (the book's second example).
Y_BOOK_WRONG = np.array([0.1, 0.05, 0.1, 0.0, 0.05, 0.1, 0.0, 0.6, 0.0, 0.0])


@pytest.fixture
def strict_numpy():
    """Any NumPy warning or floating-point error (overflow, underflow, invalid) fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            yield


# ---------------------------------------------------------------------- activations
def test_step_function_returns_ints():
    y = F.step_function(np.array([-1.0, 0.0, 0.5, 2.0]))
    assert np.issubdtype(y.dtype, np.integer)
    np.testing.assert_array_equal(y, [0, 0, 1, 1])


def test_sign():
    np.testing.assert_array_equal(F.sign(np.array([-2.5, 0.0, 3.0])), [-1.0, 0.0, 1.0])


def test_identity_function_returns_input():
    x = np.array([1.5, -2.0])
    assert F.identity_function(x) is x


def test_sigmoid_values():
    x = np.array([-1.0, 0.0, 1.0, 2.0])
    np.testing.assert_allclose(F.sigmoid(x), 1 / (1 + np.exp(-x)), rtol=1e-15)
    assert F.sigmoid(np.array(0.0)) == 0.5


def test_sigmoid_finite_and_silent_at_1000(strict_numpy):
    x = np.array([-1000.0, -100.0, 0.0, 100.0, 1000.0])
    y = F.sigmoid(x)
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose(y, [0.0, math.exp(-100) / (1 + math.exp(-100)), 0.5, 1.0, 1.0],
                               rtol=1e-12, atol=0)
    y32 = F.sigmoid(x.astype(np.float32))
    assert y32.dtype == np.float32 and np.all(np.isfinite(y32))


def test_sigmoid_grad_tanh_grad():
    x = np.array([-2.0, 0.0, 0.7])
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(F.sigmoid_grad(x), s * (1 - s), rtol=1e-14)
    assert F.sigmoid_grad(np.array(0.0)) == 0.25
    np.testing.assert_allclose(F.tanh(x), np.tanh(x))
    np.testing.assert_allclose(F.tanh_grad(x), 1 - np.tanh(x) ** 2, rtol=1e-14)


def test_relu_and_relu_grad_at_zero_agree_with_layer():
    x = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(F.relu(x), [0.0, 0.0, 2.0])
    np.testing.assert_array_equal(F.relu_grad(x), [0.0, 0.0, 1.0])
    assert F.relu_grad(np.array(0.0)) == 0.0
    layer = ReLU()
    layer.forward(x)
    np.testing.assert_array_equal(layer.backward(np.ones(3)), F.relu_grad(x))


def test_leaky_relu():
    x = np.array([-2.0, 0.0, 3.0])
    np.testing.assert_allclose(F.leaky_relu(x), [-0.02, 0.0, 3.0])
    np.testing.assert_allclose(F.leaky_relu(x, alpha=0.1), [-0.2, 0.0, 3.0])


def test_softmax_sums_to_one_and_matches_formula():
    a = np.array([0.3, 2.9, 4.0])  # the book's example
    y = F.softmax(a)
    np.testing.assert_allclose(y, np.exp(a) / np.exp(a).sum(), rtol=1e-15)
    np.testing.assert_allclose(y, [0.01821127, 0.24519181, 0.73659691], atol=1e-8)
    assert abs(y.sum() - 1) < 1e-15


def test_softmax_1d_equals_batched_rows():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4, 5)) * 3
    Y = F.softmax(X)
    for i in range(4):
        np.testing.assert_allclose(Y[i], F.softmax(X[i]), rtol=1e-15)
    np.testing.assert_allclose(Y.sum(axis=1), 1.0, rtol=1e-15)
    # shifting one row must not change the others (the per-row max uses axis=-1, keepdims)
    X2 = X.copy()
    X2[0] += 500
    np.testing.assert_allclose(F.softmax(X2), Y, rtol=1e-12)


def test_softmax_finite_and_silent_at_1000(strict_numpy):
    y = F.softmax(np.array([1000.0, 0.0, -1000.0]))
    np.testing.assert_array_equal(y, [1.0, 0.0, 0.0])
    Y = F.softmax(np.array([[1010.0, 1000.0, 990.0], [-1000.0, -1000.0, -1000.0]]))
    e = np.exp([0.0, -10.0, -20.0])
    np.testing.assert_allclose(Y[0], e / e.sum(), rtol=1e-14)
    np.testing.assert_allclose(Y[1], [1 / 3] * 3, rtol=1e-15)
    y32 = F.softmax(np.array([1000.0, -1000.0], dtype=np.float32))
    assert y32.dtype == np.float32
    np.testing.assert_array_equal(y32, [1.0, 0.0])


def test_log_softmax(strict_numpy):
    x = np.array([[1.0, 2.0, 3.0], [1000.0, 0.0, -1000.0]])
    out = F.log_softmax(x)
    np.testing.assert_allclose(out[0], np.log(F.softmax(x[0])), rtol=1e-14)
    np.testing.assert_allclose(out[1], [0.0, -1000.0, -2000.0], rtol=1e-14)


@pytest.mark.parametrize(
    "fn",
    [F.sigmoid, F.sigmoid_grad, F.tanh, F.tanh_grad, F.relu, F.relu_grad, F.leaky_relu,
     F.softmax, F.log_softmax, F.identity_function, F.sign],
)
def test_float32_preserved(fn):
    x = np.array([[-1.5, 0.0, 2.0], [0.5, -0.25, 3.0]], dtype=np.float32)
    assert fn(x).dtype == np.float32


# ---------------------------------------------------------------------- losses
def test_sum_squares_error_book_values():
    assert F.sum_squares_error(Y_BOOK, T_BOOK) == pytest.approx(0.0975, abs=1e-15)
    assert F.sum_squares_error(Y_BOOK_WRONG, T_BOOK) == pytest.approx(0.5975, abs=1e-15)
    y = np.array([0.5, 0.2])
    t = np.array([1.0, 0.0])
    assert F.sum_squares_error(y, t) == pytest.approx(0.5 * (0.25 + 0.04), abs=1e-15)


def test_cross_entropy_error_book_values():
    assert F.cross_entropy_error(Y_BOOK, T_BOOK) == pytest.approx(0.510825457099338, abs=1e-12)
    assert F.cross_entropy_error(Y_BOOK_WRONG, T_BOOK) == pytest.approx(
        2.302584092994546, abs=1e-12)
    # the formula, with the lectures' 1e-7 guard
    assert F.cross_entropy_error(Y_BOOK, T_BOOK) == pytest.approx(-math.log(0.6 + 1e-7),
                                                                  rel=1e-15)


def test_cross_entropy_error_guard_value():
    """y = 0 at the true class gives -log(1e-7) instead of inf (the lectures' delta)."""
    t3 = np.eye(10)[3]
    assert F.CROSS_ENTROPY_DELTA == 1e-7
    assert F.cross_entropy_error(Y_BOOK, t3) == pytest.approx(-math.log(1e-7), rel=1e-15)
    assert F.cross_entropy_error(Y_BOOK, t3) == pytest.approx(16.11809565095832, rel=1e-14)
    assert F.cross_entropy_error(Y_BOOK, np.array(3)) == pytest.approx(16.11809565095832,
                                                                        rel=1e-14)


def test_cross_entropy_onehot_equals_integer_labels():
    y = np.array([Y_BOOK, Y_BOOK_WRONG, F.softmax(np.arange(10.0))])
    labels = np.array([2, 7, 4])
    onehot = np.eye(10)[labels]
    a = F.cross_entropy_error(y, onehot)
    b = F.cross_entropy_error(y, labels)
    assert a == pytest.approx(b, rel=1e-14)
    # 1-D with a scalar label, a one-element label and a one-hot row
    assert F.cross_entropy_error(Y_BOOK, 2) == pytest.approx(0.510825457099338, abs=1e-12)
    assert F.cross_entropy_error(Y_BOOK, np.array([2])) == pytest.approx(0.510825457099338,
                                                                          abs=1e-12)


def test_cross_entropy_batch_mean_divides_by_n_once():
    single = [F.cross_entropy_error(Y_BOOK, T_BOOK), F.cross_entropy_error(Y_BOOK_WRONG, T_BOOK)]
    batch = F.cross_entropy_error(np.array([Y_BOOK, Y_BOOK_WRONG]), np.array([T_BOOK, T_BOOK]))
    assert batch == pytest.approx((single[0] + single[1]) / 2, rel=1e-14)
    # 1-D input is a batch of one
    assert F.cross_entropy_error(Y_BOOK, T_BOOK) == pytest.approx(
        F.cross_entropy_error(Y_BOOK[None], T_BOOK[None]), rel=1e-15)


@pytest.mark.parametrize("bad", [10, -1, 12])
def test_cross_entropy_labels_out_of_range_raise(bad):
    y = np.array([Y_BOOK, Y_BOOK])
    with pytest.raises(ValueError, match=r"\[0, 10\)"):
        F.cross_entropy_error(y, np.array([2, bad]))
    with pytest.raises(ValueError):
        F.softmax_cross_entropy(y, np.array([bad, 0]))


def test_cross_entropy_non_integer_labels_and_bad_shapes_raise():
    y = np.array([Y_BOOK, Y_BOOK])
    with pytest.raises(ValueError, match="integer class labels"):
        F.cross_entropy_error(y, np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match="do not fit"):
        F.cross_entropy_error(y, np.array([1, 2, 3]))


def test_losses_refuse_nan():
    y = Y_BOOK.copy()
    y[0] = np.nan
    for fn, t in [(F.cross_entropy_error, T_BOOK), (F.softmax_cross_entropy, T_BOOK),
                  (F.sum_squares_error, T_BOOK), (F.mean_squared_error, T_BOOK),
                  (F.mean_absolute_error, T_BOOK), (F.binary_cross_entropy, T_BOOK),
                  (F.binary_cross_entropy_with_logits, T_BOOK)]:
        with pytest.raises(ValueError, match="NaN"):
            fn(y, t)


def test_mean_squared_error_means_over_all_elements():
    y = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    t = np.array([[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    # squared errors 0, 4, 9, 1, 1, 1: sum 16 over 6 elements (not over the batch of 2)
    assert F.mean_squared_error(y, t) == pytest.approx(16 / 6, rel=1e-15)


def test_mean_absolute_error():
    y = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    t = np.array([[1.0, 0.0, 0.0], [1.0, 1.0, -1.0]])
    assert F.mean_absolute_error(y, t) == pytest.approx((0 + 2 + 3 + 1 + 1 + 1) / 6, rel=1e-15)


def test_squared_errors_shape_mismatch_raises():
    with pytest.raises(ValueError, match="shape"):
        F.mean_squared_error(np.zeros(3), np.zeros(4))


def test_softmax_cross_entropy_matches_cross_entropy_of_softmax():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 4)) * 2
    t = np.array([0, 3, 1, 2, 3])
    expected = -np.mean(np.log(F.softmax(x)[np.arange(5), t]))
    assert F.softmax_cross_entropy(x, t) == pytest.approx(expected, rel=1e-13)
    assert F.softmax_cross_entropy(x, t) == pytest.approx(
        F.cross_entropy_error(F.softmax(x), t), abs=1e-6)
    assert F.softmax_cross_entropy(x, np.eye(4)[t]) == pytest.approx(
        F.softmax_cross_entropy(x, t), rel=1e-14)


def test_softmax_cross_entropy_finite_for_huge_logits(strict_numpy):
    x = np.array([[1000.0, 0.0, -1000.0], [0.0, 1000.0, 0.0]])
    loss = F.softmax_cross_entropy(x, np.array([2, 1]))
    # row 0: -log softmax = 2000, row 1: -log(1 / (1 + 2 e^-1000)) = 0
    assert loss == pytest.approx(1000.0, rel=1e-14)
    assert math.isfinite(loss)


def test_binary_cross_entropy():
    y = np.array([0.9, 0.2, 0.6])
    t = np.array([1.0, 0.0, 1.0])
    expected = -(math.log(0.9) + math.log(0.8) + math.log(0.6)) / 3
    assert F.binary_cross_entropy(y, t) == pytest.approx(expected, rel=1e-6)
    # exact 0 and 1 are clipped, not log(0)
    assert math.isfinite(F.binary_cross_entropy(np.array([0.0, 1.0]), np.array([1.0, 0.0])))


def test_binary_cross_entropy_with_logits(strict_numpy):
    x = np.array([2.0, -1.0, 0.5])
    t = np.array([1.0, 0.0, 0.3])
    s = 1 / (1 + np.exp(-x))
    expected = -np.mean(t * np.log(s) + (1 - t) * np.log(1 - s))
    assert F.binary_cross_entropy_with_logits(x, t) == pytest.approx(expected, rel=1e-13)
    big = F.binary_cross_entropy_with_logits(np.array([1000.0, -1000.0]), np.array([0.0, 1.0]))
    assert big == pytest.approx(1000.0, rel=1e-14)
