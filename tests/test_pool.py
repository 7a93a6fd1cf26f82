"""Pooling layers (max, average, global average) and BatchNorm on images (N, C, H, W)."""

from __future__ import annotations

import numpy as np
import pytest

from dlscratch import naive
from dlscratch.gradient import numerical_gradient, relative_error
from dlscratch.layers import (
    BATCHNORM_EPS,
    AvgPool2d,
    BatchNorm,
    Conv2d,
    GlobalAvgPool2d,
    MaxPool2d,
    Pooling,
)

GRAD_TOL = 1e-6
CONVED = np.array([[1, 1, 2, 4],
                   [5, 6, 7, 8],
                   [3, 2, 1, 0],
                   [1, 2, 3, 4]], dtype=float)

POOL_CASES = [
    # (N, C, H, W), kernel, stride, pad
    ((2, 3, 6, 6), 2, 2, 0),  # the usual 2x2 pooling (the two-step path)
    ((2, 3, 9, 6), 3, 3, 0),  # two-step path, 3x3, non-square input
    ((2, 3, 7, 9), 3, 2, 1),  # overlapping windows and padding
    ((2, 3, 7, 9), 3, 1, 1),
    ((2, 2, 7, 9), (2, 3), 1, 0),  # non-square window
    ((2, 2, 8, 8), 2, 3, 0),  # stride > kernel: gaps between windows
    ((1, 2, 8, 8), 4, 2, 1),
]


def distinct_values(shape, seed=0):
    """Values at least 0.1 apart, so that h = 1e-4 never swaps the order of two of them."""
    return np.random.default_rng(seed).permutation(int(np.prod(shape))).reshape(shape) * 0.1


def max_pool_backward_by_loops(x, dout, ph, pw, stride, pad):
    """Reference: each window's gradient goes to np.argmax of the flattened window (the first
    maximum in row-major order); overlapping windows add up."""
    N, C, H, W = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), constant_values=-np.inf)
    dxp = np.zeros_like(xp)
    for n in range(N):
        for c in range(C):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    window = xp[n, c, i * stride:i * stride + ph, j * stride:j * stride + pw]
                    y, x_ = divmod(int(np.argmax(window)), pw)
                    dxp[n, c, i * stride + y, j * stride + x_] += dout[n, c, i, j]
    return dxp[:, :, pad:pad + H, pad:pad + W]


def _hw(kernel):
    return (kernel, kernel) if isinstance(kernel, int) else kernel


# ----------------------------------------------------------------------------- forward
def test_lecture_example_through_the_layers():
    x = CONVED[None, None]
    np.testing.assert_array_equal(MaxPool2d(2).forward(x)[0, 0], [[6, 8], [3, 4]])
    np.testing.assert_array_equal(Pooling(2, 2, stride=2).forward(x)[0, 0], [[6, 8], [3, 4]])
    np.testing.assert_array_equal(AvgPool2d(2).forward(x)[0, 0], [[3.25, 5.25], [2, 2]])


@pytest.mark.parametrize("shape, kernel, stride, pad", POOL_CASES)
def test_pooling_forward_matches_the_loops(shape, kernel, stride, pad):
    x = np.random.default_rng(1).standard_normal(shape)
    ph, pw = _hw(kernel)
    np.testing.assert_array_equal(MaxPool2d(kernel, stride, pad).forward(x),
                                  naive.max_pool_nchw(x, ph, pw, stride, pad))
    np.testing.assert_allclose(AvgPool2d(kernel, stride, pad).forward(x),
                               naive.avg_pool_nchw(x, ph, pw, stride, pad), rtol=1e-12)


def test_max_pool_pads_with_minus_infinity():
    x = -distinct_values((1, 2, 4, 4)) - 1  # all negative: a zero pad would win
    out = MaxPool2d(3, stride=1, pad=1).forward(x)
    np.testing.assert_array_equal(out, naive.max_pool_nchw(x, 3, 3, 1, 1))
    assert out.max() < 0


def test_avg_pool_pads_with_zeros_that_count():
    out = AvgPool2d(3, stride=1, pad=1).forward(np.ones((1, 1, 3, 3)))
    assert out[0, 0, 0, 0] == pytest.approx(4 / 9) and out[0, 0, 1, 1] == 1.0


def test_pooling_refuses_windows_that_do_not_fit():
    with pytest.raises(ValueError, match=r"MaxPool2d: stride 2 does not divide .*= 5"):
        MaxPool2d(2).forward(np.ones((1, 1, 7, 8)))  # the book's Pooling would drop a row
    with pytest.raises(ValueError, match="more than half the window"):
        MaxPool2d(2, pad=2)
    with pytest.raises(ValueError, match="give stride"):
        AvgPool2d((2, 3))


def test_pooling_alias_has_the_lectures_defaults():
    layer = Pooling(3, 3)  # the book's default stride is 1
    assert (layer.pool_h, layer.pool_w, layer.stride, layer.pad) == (3, 3, 1, 0)
    assert MaxPool2d(2).stride == 2  # PyTorch's default: stride = kernel size


@pytest.mark.parametrize("layout", ["nchw", "channels_last", "channel_major"])
def test_pooling_works_in_any_memory_layout(layout):
    x = distinct_values((3, 4, 6, 6))
    order = {"nchw": (0, 1, 2, 3), "channels_last": (0, 2, 3, 1),
             "channel_major": (1, 0, 2, 3)}[layout]
    xs = np.ascontiguousarray(x.transpose(order)).transpose(np.argsort(order))
    dout = np.random.default_rng(2).standard_normal((3, 4, 3, 3))
    for make in (lambda: MaxPool2d(2), lambda: MaxPool2d(3, 1, 1), lambda: AvgPool2d(2)):
        a, b = make(), make()
        np.testing.assert_array_equal(a.forward(xs), b.forward(x))
        if a.out_shape == dout.shape:
            np.testing.assert_array_equal(a.backward(dout), b.backward(dout))


# ----------------------------------------------------------------------------- backward
@pytest.mark.parametrize("shape, kernel, stride, pad", POOL_CASES)
@pytest.mark.parametrize("cls", [MaxPool2d, AvgPool2d])
def test_pooling_backward_matches_numerical_gradients(cls, shape, kernel, stride, pad):
    x = distinct_values(shape, seed=3)
    layer = cls(kernel, stride, pad)
    R = np.random.default_rng(4).standard_normal(layer.forward(x).shape)
    layer.forward(x)
    dx = layer.backward(R)

    def loss(_):
        return float(np.sum(layer.forward(x) * R))

    assert relative_error(dx, numerical_gradient(loss, x)) < GRAD_TOL


@pytest.mark.parametrize("shape, kernel, stride, pad", POOL_CASES)
def test_max_pool_ties_go_to_the_first_maximum(shape, kernel, stride, pad):
    # values in {0, 1, 2}: most windows hold several equal maxima (as after a ReLU)
    x = np.random.default_rng(5).integers(0, 3, shape).astype(float)
    layer = MaxPool2d(kernel, stride, pad)
    dout = np.random.default_rng(6).standard_normal(layer.forward(x).shape)
    ph, pw = _hw(kernel)
    np.testing.assert_allclose(layer.backward(dout),  # (sums in another order: rounding)
                               max_pool_backward_by_loops(x, dout, ph, pw, stride, pad),
                               rtol=1e-12, atol=1e-12)


def test_max_pool_tie_rule_by_hand():
    layer = MaxPool2d(2)
    layer.forward(np.array([[[[1.0, 3.0], [3.0, 2.0]]]]))  # maxima at (0, 1) and (1, 0)
    np.testing.assert_array_equal(layer.backward(np.ones((1, 1, 1, 1)))[0, 0], [[0, 1], [0, 0]])
    layer.forward(np.zeros((1, 1, 2, 2)))  # all equal: the first position
    np.testing.assert_array_equal(layer.backward(np.ones((1, 1, 1, 1)))[0, 0], [[1, 0], [0, 0]])
    # overlapping windows (stride 1) on equal values: each window picks its top-left cell
    layer = MaxPool2d(2, stride=1)
    layer.forward(np.zeros((1, 1, 3, 3)))
    np.testing.assert_array_equal(layer.backward(np.ones((1, 1, 2, 2)))[0, 0],
                                  [[1, 1, 0], [1, 1, 0], [0, 0, 0]])


def test_two_step_path_agrees_with_the_general_path():
    x = np.random.default_rng(7).integers(0, 4, (4, 5, 8, 6)).astype(np.float32)
    dout = np.random.default_rng(8).standard_normal((4, 5, 4, 3)).astype(np.float32)
    fast, general = MaxPool2d(2), MaxPool2d(2)
    general.separable = False
    assert fast.separable
    np.testing.assert_array_equal(fast.forward(x), general.forward(x))
    np.testing.assert_array_equal(fast.backward(dout), general.backward(dout))


def test_max_pool_after_a_conv_layer_in_float32():
    # a convolution's output is a view of channel-major memory; pooling must not care
    rng = np.random.default_rng(9)
    conv = Conv2d(2, 3, 3, pad=1, rng=0)
    out = np.maximum(conv.forward(rng.standard_normal((2, 2, 6, 6)).astype(np.float32)), 0)
    layer = MaxPool2d(2)
    y = layer.forward(out)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, naive.max_pool_nchw(out, 2, 2, 2).astype(np.float32))
    dout = rng.standard_normal(y.shape).astype(np.float32)
    np.testing.assert_allclose(layer.backward(dout),
                               max_pool_backward_by_loops(out.astype(float), dout, 2, 2, 2, 0))


def test_global_avg_pool():
    x = np.random.default_rng(10).standard_normal((2, 3, 4, 5))
    layer = GlobalAvgPool2d()
    np.testing.assert_allclose(layer.forward(x), x.mean(axis=(2, 3)))
    R = np.random.default_rng(11).standard_normal((2, 3))
    layer.forward(x)
    dx = layer.backward(R)
    np.testing.assert_allclose(dx, np.broadcast_to(R[:, :, None, None] / 20, x.shape))
    numerical = numerical_gradient(lambda _: float(np.sum(layer.forward(x) * R)), x)
    assert relative_error(dx, numerical) < GRAD_TOL


# ----------------------------------------------------------------------------- BatchNorm 4-D
def _batchnorm(C=3, seed=12):
    rng = np.random.default_rng(seed)
    bn = BatchNorm(C, dtype=np.float64)
    bn.gamma = rng.uniform(0.5, 2.0, C)  # gamma != 1 and beta != 0: a test with 1 and 0
    bn.beta = rng.standard_normal(C)  # hides bugs
    return bn


def test_batchnorm_normalises_each_channel_over_n_h_w():
    rng = np.random.default_rng(13)
    x = rng.standard_normal((4, 3, 5, 6)) * np.array([1, 5, 0.1])[None, :, None, None] + 2
    bn = _batchnorm()
    out = bn.forward(x)
    mu = x.mean(axis=(0, 2, 3), keepdims=True)
    var = x.var(axis=(0, 2, 3), keepdims=True)
    g, b = bn.gamma[None, :, None, None], bn.beta[None, :, None, None]
    np.testing.assert_allclose(out, g * (x - mu) / np.sqrt(var + BATCHNORM_EPS) + b, rtol=1e-10)
    xn = (out - b) / g
    np.testing.assert_allclose(xn.mean(axis=(0, 2, 3)), 0, atol=1e-10)
    np.testing.assert_allclose(xn.var(axis=(0, 2, 3)), var.ravel() / (var.ravel() + 1e-5))


def test_batchnorm_eval_mode_uses_the_running_statistics():
    rng = np.random.default_rng(14)
    bn = _batchnorm()
    for _ in range(50):
        bn.forward(rng.standard_normal((8, 3, 4, 4)) * 3 + 1)
    assert "running_mean" not in dict(bn.named_parameters())
    np.testing.assert_allclose(bn.running_mean, 1, atol=0.3)
    np.testing.assert_allclose(bn.running_var, 9, rtol=0.2)
    bn.eval()
    x = rng.standard_normal((2, 3, 4, 4))
    rm = bn.running_mean[None, :, None, None]
    rv = bn.running_var[None, :, None, None]
    expected = bn.gamma[None, :, None, None] * (x - rm) / np.sqrt(rv + BATCHNORM_EPS) \
        + bn.beta[None, :, None, None]
    np.testing.assert_allclose(bn.forward(x), expected, rtol=1e-10)
    before = bn.running_mean.copy()
    bn.forward(x)
    np.testing.assert_array_equal(bn.running_mean, before)  # eval mode does not update them


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_4d_gradient_check(training):
    rng = np.random.default_rng(15)
    x = rng.standard_normal((3, 3, 4, 5))
    bn = _batchnorm()
    bn.running_mean = rng.standard_normal(3)
    bn.running_var = rng.uniform(0.5, 2, 3)
    bn.train(training)
    state = (bn.running_mean.copy(), bn.running_var.copy())
    R = rng.standard_normal(x.shape)

    def loss(_):
        bn.running_mean, bn.running_var = state  # keep the statistics fixed
        return float(np.sum(bn.forward(x) * R))

    loss(None)
    dx = bn.backward(R)
    assert relative_error(dx, numerical_gradient(loss, x)) < GRAD_TOL
    assert relative_error(bn.dgamma, numerical_gradient(loss, bn.gamma)) < GRAD_TOL
    assert relative_error(bn.dbeta, numerical_gradient(loss, bn.beta)) < GRAD_TOL
