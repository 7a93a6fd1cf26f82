"""dlscratch.gradient: numerical differentiation, gradient descent and gradient checks."""

from __future__ import annotations

import numpy as np
import pytest

from dlscratch.gradient import (
    gradient_check,
    gradient_descent,
    numerical_diff,
    numerical_gradient,
    relative_error,
    tangent_line,
)


def function_1(x):
    return 0.01 * x**2 + 0.1 * x


def function_2(x):
    return x[0] ** 2 + x[1] ** 2


def test_numerical_diff_and_tangent_line():
    assert numerical_diff(function_1, 5) == pytest.approx(0.2, abs=1e-6)
    assert numerical_diff(function_1, 10) == pytest.approx(0.3, abs=1e-6)
    tf = tangent_line(function_1, 5)
    # tangent at 5: slope 0.2 through (5, 0.75)
    assert tf(5) == pytest.approx(0.75, abs=1e-9)
    assert tf(0) == pytest.approx(0.75 - 0.2 * 5, abs=1e-6)


def test_numerical_gradient_function_2():
    np.testing.assert_allclose(numerical_gradient(function_2, np.array([3.0, 4.0])), [6, 8],
                               atol=1e-6)
    np.testing.assert_allclose(numerical_gradient(function_2, np.array([0.0, 2.0])), [0, 2 * 2],
                               atol=1e-6)
    np.testing.assert_allclose(numerical_gradient(function_2, np.array([3.0, 0.0])), [6, 0],
                               atol=1e-6)


def test_numerical_gradient_does_not_change_x():
    x = np.array([3.0, 4.0])
    numerical_gradient(function_2, x)
    np.testing.assert_array_equal(x, [3.0, 4.0])


def test_numerical_gradient_refuses_integer_arrays():
    """The book's version returns [5000, 15000] for [3, 4]: x + 1e-4 is rounded back to int."""
    with pytest.raises(TypeError, match="floating-point"):
        numerical_gradient(function_2, np.array([3, 4]))
    with pytest.raises(TypeError, match="NumPy array"):
        numerical_gradient(function_2, [3.0, 4.0])


def _book_numerical_gradient(f, x):
    """The lectures' _numerical_gradient_no_batch, verbatim apart from names."""
    h = 1e-4
    grad = np.zeros_like(x)
    for idx in range(x.size):
        tmp_val = x[idx]
        x[idx] = tmp_val + h
        fxh1 = f(x)
        x[idx] = tmp_val - h
        fxh2 = f(x)
        grad[idx] = (fxh1 - fxh2) / (2 * h)
        x[idx] = tmp_val
    return grad


def test_book_version_on_integers_is_garbage_which_is_why_we_refuse():
    bad = _book_numerical_gradient(function_2, np.array([3, 4]))
    assert np.abs(bad - [6, 8]).max() > 1000  # x + 1e-4 is truncated back to an integer
    np.testing.assert_allclose(_book_numerical_gradient(function_2, np.array([3.0, 4.0])),
                               numerical_gradient(function_2, np.array([3.0, 4.0])), rtol=1e-12)


def test_numerical_gradient_restores_every_value_when_f_raises():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    original = x.copy()
    calls = []

    def f(arr):
        calls.append(arr.copy())
        if len(calls) == 3:
            raise RuntimeError("boom")
        return np.sum(arr**2)

    with pytest.raises(RuntimeError, match="boom"):
        numerical_gradient(f, x)
    np.testing.assert_array_equal(x, original)
    # and the third call did see a perturbed array (so something had to be put back)
    assert not np.array_equal(calls[-1], original)


def test_numerical_gradient_perturbs_every_element_of_nd_arrays():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4))
    w = rng.standard_normal((2, 3, 4))
    g = numerical_gradient(lambda a: np.sum(w * a**2), x)
    np.testing.assert_allclose(g, 2 * w * x, atol=1e-8)
    assert g.shape == x.shape


def test_numerical_gradient_on_shared_array_lambda():
    """The lectures' ``lambda W: net.loss(x, t)``: f ignores its argument; x is shared."""
    W = np.array([[1.0, 2.0], [3.0, 4.0]])
    v = np.array([0.5, -1.0])
    g = numerical_gradient(lambda _: float(v @ W @ v), W)
    np.testing.assert_allclose(g, np.outer(v, v), atol=1e-9)


def test_numerical_gradient_quiver_batch():
    """Seed 000's quiver plot: one gradient per point of a flattened meshgrid."""
    x0 = np.arange(-2, 2.5, 0.25)
    x1 = np.arange(-2, 2.5, 0.25)
    X, Y = np.meshgrid(x0, x1)
    X = X.flatten()
    Y = Y.flatten()
    points = np.array([X, Y])
    # seed 000's function_2 (one value per column) and the book's batched form (one per row)
    grad = numerical_gradient(function_2, points)
    np.testing.assert_allclose(grad, 2 * np.array([X, Y]), atol=1e-6)

    def function_2_batched(x):
        return np.sum(x**2) if x.ndim == 1 else np.sum(x**2, axis=1)

    grad = numerical_gradient(function_2_batched, np.array([X, Y]))
    assert grad.shape == (2, 324)
    np.testing.assert_allclose(grad, 2 * np.array([X, Y]), atol=1e-6)


def test_numerical_gradient_size_one_output():
    g = numerical_gradient(lambda x: np.array([x[0] ** 3]), np.array([2.0]))
    np.testing.assert_allclose(g, [12.0], atol=1e-6)


def test_gradient_descent_function_2():
    init_x = np.array([-3.0, 4.0])
    x, history = gradient_descent(function_2, init_x=init_x, lr=0.1, step_num=100)
    assert np.linalg.norm(x) < 1e-8
    assert history.shape == (100, 2)
    np.testing.assert_array_equal(history[0], [-3.0, 4.0])
    # each step multiplies x by (1 - 2 lr) = 0.8
    np.testing.assert_allclose(history[1], [-2.4, 3.2], atol=1e-8)
    np.testing.assert_allclose(x, 0.8**100 * np.array([-3.0, 4.0]), atol=1e-12)
    np.testing.assert_array_equal(init_x, [-3.0, 4.0])  # not modified


def test_gradient_descent_learning_rates():
    """The book: lr = 10 diverges, lr = 1e-10 barely moves."""
    x_big, _ = gradient_descent(function_2, np.array([-3.0, 4.0]), lr=10.0, step_num=100)
    assert np.linalg.norm(x_big) > 1e10
    x_small, _ = gradient_descent(function_2, np.array([-3.0, 4.0]), lr=1e-10, step_num=100)
    np.testing.assert_allclose(x_small, [-3.0, 4.0], rtol=1e-7)


def test_relative_error():
    a = np.array([1.0, 2.0, 3.0])
    assert relative_error(a, a) == 0.0
    assert relative_error(a, -a) == pytest.approx(1.0)
    assert relative_error(a, a * (1 + 1e-8)) < 1e-8
    # the floor: two tiny, noisy "zero" gradients do not count as a large relative error
    assert relative_error(np.array([1e-12]), np.array([-1e-12])) < 1e-7


class _Quadratic:
    """A minimal model with the lectures' interface for gradient_check."""

    def __init__(self, wrong: bool = False, dtype=np.float64):
        self.params = {"W": np.array([[0.5, -1.0], [2.0, 0.25]], dtype=dtype)}
        self.wrong = wrong

    def loss(self, x, t):
        return 0.5 * float(np.sum((x @ self.params["W"] - t) ** 2))

    def gradient(self, x, t):
        g = x.T @ (x @ self.params["W"] - t)
        return {"W": g * (1.1 if self.wrong else 1.0)}

    def numerical_gradient(self, x, t):
        return {"W": numerical_gradient(lambda _: self.loss(x, t), self.params["W"])}


def test_gradient_check_detects_right_and_wrong_backprop():
    x = np.array([[1.0, 2.0], [0.5, -1.0], [3.0, 0.0]])
    t = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]])
    assert gradient_check(_Quadratic(), x, t)["W"] < 1e-8
    assert gradient_check(_Quadratic(wrong=True), x, t)["W"] > 1e-2
    with pytest.raises(TypeError, match="float64"):
        gradient_check(_Quadratic(dtype=np.float32), x, t)
