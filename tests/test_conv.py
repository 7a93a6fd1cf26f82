"""Convolution: conv_output_size, im2col / col2im, the Conv2d layer, and the layer contract
shared by all the image layers (Conv2d, MaxPool2d, AvgPool2d, GlobalAvgPool2d, Flatten)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from dlscratch import naive
from dlscratch.gradient import numerical_gradient, relative_error
from dlscratch.layers import (
    AvgPool2d,
    Conv2d,
    Convolution,
    Flatten,
    GlobalAvgPool2d,
    MaxPool2d,
    Pooling,
)
from dlscratch.util import col2im, conv_output_size, im2col

GRAD_TOL = 1e-6


# ----------------------------------------------------------------------------- output sizes
def test_conv_output_size_formula():
    assert conv_output_size(28, 5) == 24
    assert conv_output_size(7, 3, stride=2, pad=1) == 4
    assert conv_output_size(24, 2, stride=2) == 12
    assert conv_output_size(14, 3, stride=1, pad=2) == 16


def test_conv_output_size_refuses_sizes_the_stride_does_not_divide():
    with pytest.raises(ValueError, match=r"stride 2 does not divide .*\(7 \+ 2\*0 - 2\) = 5"):
        conv_output_size(7, 2, stride=2)  # the book's pooling would silently drop a row
    with pytest.raises(ValueError, match="larger than the padded input"):
        conv_output_size(3, 5)
    with pytest.raises(ValueError):
        conv_output_size(8, 3, stride=0)


# ----------------------------------------------------------------------------- im2col / col2im
def im2col_by_definition(x, FH, FW, stride, pad):
    """col[(n*out_h + i)*out_w + j, (c*FH + y)*FW + x] = xpad[n, c, i*s + y, j*s + x]."""
    N, C, H, W = x.shape
    out_h, out_w = (H + 2 * pad - FH) // stride + 1, (W + 2 * pad - FW) // stride + 1
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    col = np.zeros((N * out_h * out_w, C * FH * FW))
    for n in range(N):
        for i in range(out_h):
            for j in range(out_w):
                window = xp[n, :, i * stride:i * stride + FH, j * stride:j * stride + FW]
                col[(n * out_h + i) * out_w + j] = window.ravel()
    return col


@pytest.mark.parametrize("shape, FH, FW, stride, pad", [
    ((2, 3, 7, 9), 3, 3, 2, 1),
    ((2, 2, 6, 5), 2, 3, 1, 0),
    ((1, 2, 8, 8), 3, 3, 1, 2),
    ((3, 1, 9, 9), 3, 3, 3, 0),
])
def test_im2col_is_the_book_layout(shape, FH, FW, stride, pad):
    x = np.random.default_rng(0).standard_normal(shape)
    np.testing.assert_array_equal(im2col(x, FH, FW, stride, pad),
                                  im2col_by_definition(x, FH, FW, stride, pad))


@pytest.mark.parametrize("shape, FH, FW, stride, pad", [
    ((2, 3, 7, 9), 3, 3, 2, 1),  # stride < kernel: overlapping windows, with padding
    ((2, 2, 6, 5), 2, 3, 1, 0),
    ((1, 2, 8, 8), 3, 3, 1, 2),
])
def test_im2col_and_col2im_are_adjoint(shape, FH, FW, stride, pad):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape)
    col = im2col(x, FH, FW, stride, pad)
    c = rng.standard_normal(col.shape)
    lhs = np.sum(col * c)
    rhs = np.sum(x * col2im(c, shape, FH, FW, stride, pad))
    assert lhs == pytest.approx(rhs, rel=1e-12)


def test_col2im_adds_where_windows_overlap():
    shape = (1, 1, 4, 4)
    counts = col2im(np.ones_like(im2col(np.zeros(shape), 3, 3, 1, 0)), shape, 3, 3, 1, 0)
    np.testing.assert_array_equal(counts[0, 0], [[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2],
                                                 [1, 2, 2, 1]])


def test_im2col_keeps_float32():
    x = np.ones((2, 3, 5, 5), dtype=np.float32)
    col = im2col(x, 3, 3, 1, 1)
    assert col.dtype == np.float32
    assert col2im(col, x.shape, 3, 3, 1, 1).dtype == np.float32


# ----------------------------------------------------------------------------- Conv2d
CONV_CASES = [
    # (N, C, H, W), FN, kernel, stride, pad
    ((2, 3, 7, 8), 4, (3, 2), 2, 1),  # stride > 1, padding, non-square kernel and input
    ((2, 3, 7, 9), 4, 3, 1, 1),
    ((3, 2, 6, 5), 3, (2, 3), 1, 0),
    ((2, 1, 9, 9), 2, 3, 3, 0),
    ((2, 2, 5, 6), 3, 1, 1, 2),
    ((2, 1, 6, 7), 12, 3, 1, 1),  # few inputs, many filters (C*FH*FW < FN)
    ((2, 4, 6, 7), 3, 3, 1, 1),  # FN < C: dx by the turned filters
    ((2, 3, 8, 6), 3, (3, 2), 1, 1),  # FN == C, non-square kernel: dx by the turned filters
]


def make_conv(C, FN, kernel, stride, pad, seed=0):
    conv = Conv2d(C, FN, kernel, stride=stride, pad=pad, dtype=np.float64, rng=seed)
    conv.b = np.random.default_rng(seed + 100).standard_normal(FN)  # b != 0
    return conv


@pytest.mark.parametrize("shape, FN, kernel, stride, pad", CONV_CASES)
def test_conv_forward_matches_the_loops(shape, FN, kernel, stride, pad):
    x = np.random.default_rng(2).standard_normal(shape)
    conv = make_conv(shape[1], FN, kernel, stride, pad)
    out = conv.forward(x)
    np.testing.assert_allclose(out, naive.conv2d_nchw(x, conv.W, conv.b, stride, pad),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape, FN, kernel, stride, pad", CONV_CASES)
def test_conv_backward_matches_numerical_gradients(shape, FN, kernel, stride, pad):
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape)
    conv = make_conv(shape[1], FN, kernel, stride, pad)
    R = rng.standard_normal(conv.forward(x).shape)  # L = sum(out * R)
    conv.zero_grad()
    conv.forward(x)
    dx = conv.backward(R)

    def loss(_):
        return float(np.sum(conv.forward(x) * R))

    assert relative_error(dx, numerical_gradient(loss, x)) < GRAD_TOL
    assert relative_error(conv.dW, numerical_gradient(loss, conv.W)) < GRAD_TOL
    assert relative_error(conv.db, numerical_gradient(loss, conv.b)) < GRAD_TOL


def test_conv_without_bias_and_with_frozen_weights():
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 2, 6, 5))
    conv = Conv2d(2, 3, 3, pad=1, bias=False, dtype=np.float64, rng=0)
    assert "b" not in dict(conv.named_parameters())
    out = conv.forward(x)
    np.testing.assert_allclose(out, naive.conv2d_nchw(x, conv.W, None, 1, 1), atol=1e-12)
    R = rng.standard_normal(out.shape)
    conv.backward(R)
    numerical = numerical_gradient(lambda _: float(np.sum(conv.forward(x) * R)), conv.W)
    assert relative_error(conv.dW, numerical) < GRAD_TOL

    frozen = make_conv(2, 3, 3, 1, 1)
    frozen.get_parameter("W").requires_grad = False  # frozen: only db is computed
    frozen.forward(x)
    frozen.backward(R)
    assert frozen.dW is None
    np.testing.assert_allclose(frozen.db, R.sum(axis=(0, 2, 3)))


@pytest.mark.parametrize("shape, FN, kernel, stride, pad", CONV_CASES)
def test_conv_without_bias_matches_loops_and_numerical_gradients(shape, FN, kernel, stride, pad):
    rng = np.random.default_rng(12)
    x = rng.standard_normal(shape)
    conv = Conv2d(shape[1], FN, kernel, stride=stride, pad=pad, bias=False, dtype=np.float64,
                  rng=0)
    out = conv.forward(x)
    np.testing.assert_allclose(out, naive.conv2d_nchw(x, conv.W, None, stride, pad), atol=1e-12)
    FH, FW = conv.W.shape[2:]
    assert conv.col.shape[0] == shape[1] * FH * FW  # no row of ones without a bias
    R = rng.standard_normal(out.shape)
    dx = conv.backward(R)

    def loss(_):
        return float(np.sum(conv.forward(x) * R))

    assert relative_error(dx, numerical_gradient(loss, x)) < GRAD_TOL
    assert relative_error(conv.dW, numerical_gradient(loss, conv.W)) < GRAD_TOL
    assert "bias=False" in repr(conv)


@pytest.mark.parametrize("shape, FN, kernel, stride, pad", CONV_CASES)
def test_conv_backward_is_the_books_three_formulas(shape, FN, kernel, stride, pad):
    # dW = col.T @ dout, db = sum(dout), dx = col2im(dout @ W_col.T), with the book's im2col
    rng = np.random.default_rng(13)
    x = rng.standard_normal(shape)
    conv = make_conv(shape[1], FN, kernel, stride, pad)
    dout = rng.standard_normal(conv.forward(x).shape)
    dx = conv.backward(dout)
    FH, FW = conv.W.shape[2:]
    col = im2col(x, FH, FW, stride, pad)  # (N*out_h*out_w, C*FH*FW)
    W_col = conv.W.reshape(FN, -1).T  # (C*FH*FW, FN)
    dout_rows = dout.transpose(0, 2, 3, 1).reshape(-1, FN)  # (N*out_h*out_w, FN)
    np.testing.assert_allclose(conv.dW, (col.T @ dout_rows).T.reshape(conv.W.shape), atol=1e-12)
    np.testing.assert_allclose(conv.db, dout_rows.sum(axis=0), atol=1e-12)
    np.testing.assert_allclose(dx, col2im(dout_rows @ W_col.T, shape, FH, FW, stride, pad),
                               atol=1e-12)


class _ProductSpy(np.ndarray):
    """An array that records the ufuncs (np.matmul included) it takes part in."""

    calls: list[str] = []

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        _ProductSpy.calls.append(ufunc.__name__)
        inputs = tuple(i.view(np.ndarray) if isinstance(i, _ProductSpy) else i for i in inputs)
        return getattr(ufunc, method)(*inputs, **kwargs)


@pytest.mark.parametrize("freeze", ["", "W", "b", None])
def test_frozen_conv_parameters_get_no_gradient_work(freeze):
    conv = make_conv(2, 3, 3, 1, 1)
    conv.compute_dx = False  # so that col is used only for dW (and db)
    if freeze is not None:
        conv.freeze(freeze)
    x = np.random.default_rng(14).standard_normal((2, 2, 5, 5))
    dout = np.random.default_rng(15).standard_normal((2, 3, 5, 5))
    conv.forward(x)
    conv.col = conv.col.view(_ProductSpy)
    _ProductSpy.calls = []
    assert conv.backward(dout) is None
    W_frozen, b_frozen = freeze in ("", "W"), freeze in ("", "b")
    assert _ProductSpy.calls == ([] if W_frozen else ["matmul"])  # no dW product when frozen
    assert (conv.dW is None) == W_frozen and (conv.db is None) == b_frozen
    if not b_frozen:
        np.testing.assert_allclose(conv.db, dout.sum(axis=(0, 2, 3)))


def test_conv_bias_gradient_sums_over_batch_and_positions():
    conv = make_conv(2, 3, 3, 1, 1)
    dout = np.random.default_rng(4).standard_normal((4, 3, 5, 5))
    conv.forward(np.zeros((4, 2, 5, 5)))
    conv.backward(dout)
    np.testing.assert_allclose(conv.db, dout.sum(axis=(0, 2, 3)))


@pytest.mark.parametrize("stride, pad, FN", [(1, 1, 2), (2, 1, 2), (1, 0, 2), (1, 1, 30)])
def test_the_layers_col_is_the_books_im2col_transposed(stride, pad, FN):
    x = np.random.default_rng(5).standard_normal((2, 3, 7, 7))
    conv = make_conv(3, FN, 3, stride, pad)
    conv.forward(x)
    C, FH, FW = 3, 3, 3
    K = C * FH * FW
    np.testing.assert_array_equal(conv.col[K], 1)  # the input that the bias multiplies
    book = im2col(x, FH, FW, stride, pad)  # rows (n, i, j), columns (c, y, x)
    np.testing.assert_array_equal(conv.col[:K], book.T)


def test_convolution_alias_wraps_the_given_arrays():
    rng = np.random.default_rng(6)
    W = rng.standard_normal((2, 1, 3, 3))
    b = np.zeros(2)
    layer = Convolution(W, b, stride=1, pad=0)
    assert layer.W is W and layer.b is b
    x = rng.standard_normal((1, 1, 4, 4))
    before = layer.forward(x)
    W *= 2  # the lecture's in-place update: params[key] -= lr * grads[key]
    np.testing.assert_allclose(layer.forward(x), 2 * before)
    with pytest.raises(ValueError, match="Convolution needs W of shape"):
        Convolution(np.zeros((2, 3, 3)), np.zeros(2))


def test_compute_dx_false_skips_the_input_gradient_only():
    conv = make_conv(2, 3, 3, 1, 1)
    x = np.random.default_rng(7).standard_normal((2, 2, 5, 5))
    dout = np.ones((2, 3, 5, 5))
    conv.forward(x)
    conv.backward(dout)
    dW = conv.dW.copy()
    conv.zero_grad()
    conv.compute_dx = False
    conv.forward(x)
    assert conv.backward(dout) is None
    np.testing.assert_allclose(conv.dW, dW)


def test_conv_he_init_and_rng():
    conv = Conv2d(16, 64, 3, rng=0)
    assert conv.W.shape == (64, 16, 3, 3) and conv.W.dtype == np.float32
    assert np.std(conv.W) == pytest.approx(np.sqrt(2 / (16 * 9)), rel=0.05)
    np.testing.assert_array_equal(conv.W, Conv2d(16, 64, 3, rng=0).W)
    assert not np.array_equal(conv.W, Conv2d(16, 64, 3, rng=1).W)
    assert np.std(Conv2d(16, 64, 3, weight_init_std=0.01, rng=0).W) == pytest.approx(0.01, 0.05)
    np.testing.assert_array_equal(conv.b, 0)


def test_conv_casts_input_to_its_dtype():
    conv = Conv2d(1, 2, 3, rng=0)  # float32
    out = conv.forward(np.ones((1, 1, 5, 5)))  # float64 or integer input
    assert out.dtype == np.float32
    assert conv.forward(np.ones((1, 1, 5, 5), dtype=np.uint8)).dtype == np.float32


@pytest.mark.parametrize("shape, FN, kernel, stride, pad", CONV_CASES)
def test_conv_dx_equals_the_books_col2im(shape, FN, kernel, stride, pad):
    # stride 1 with FN <= C computes dx as a convolution of dout with the turned filters,
    # the rest with col2im; both must equal the book's: col2im(dout_rows @ W.reshape(FN, -1))
    rng = np.random.default_rng(10)
    x = rng.standard_normal(shape)
    conv = make_conv(shape[1], FN, kernel, stride, pad)
    dout = rng.standard_normal(conv.forward(x).shape)
    FH, FW = conv.W.shape[2:]
    dcol = dout.transpose(0, 2, 3, 1).reshape(-1, FN) @ conv.W.reshape(FN, -1)
    np.testing.assert_allclose(conv.backward(dout), col2im(dcol, shape, FH, FW, stride, pad),
                               rtol=1e-12, atol=1e-12)
    turned = stride == 1 and FN <= shape[1] and pad < min(FH, FW)
    assert ("dout_col" in conv._scratch) == turned  # the path this case was meant to take


def test_flatten():
    x = np.arange(24.0).reshape(2, 3, 2, 2)
    layer = Flatten()
    out = layer.forward(x)
    np.testing.assert_array_equal(out, x.reshape(2, 12))
    dout = np.arange(24.0).reshape(2, 12) + 1
    dx = layer.backward(dout)
    np.testing.assert_array_equal(dx, dout.reshape(2, 3, 2, 2))
    assert not np.shares_memory(dx, dout)


# ----------------------------------------------------------------------------- layer contract
def _conv():
    return Conv2d(3, 4, 3, stride=1, pad=1, rng=0)


LAYERS = {
    "Conv2d": (_conv, (2, 3, 6, 6)),
    "Conv2d-stride2": (lambda: Conv2d(3, 2, (3, 2), stride=2, pad=1, rng=0), (2, 3, 7, 8)),
    "Convolution": (lambda: Convolution(np.ones((2, 3, 3, 3), np.float32),
                                        np.zeros(2, np.float32)), (2, 3, 5, 5)),
    "MaxPool2d": (lambda: MaxPool2d(2), (2, 3, 6, 6)),
    "MaxPool2d-overlap-pad": (lambda: MaxPool2d(3, stride=1, pad=1), (2, 3, 5, 6)),
    "Pooling": (lambda: Pooling(2, 2, stride=2), (2, 3, 6, 6)),
    "AvgPool2d": (lambda: AvgPool2d(3, stride=2, pad=1), (2, 3, 7, 7)),
    "GlobalAvgPool2d": (GlobalAvgPool2d, (2, 3, 4, 5)),
    "Flatten": (Flatten, (2, 3, 4, 5)),
}


def _digest(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest() + str(a.shape)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_contract_inputs_unchanged_float32_and_accumulation(name):
    make, shape = LAYERS[name]
    layer = make()
    rng = np.random.default_rng(9)
    x = rng.standard_normal(shape).astype(np.float32)
    x_hash = _digest(x)
    out = layer.forward(x)
    assert out.dtype == np.float32
    dout = rng.standard_normal(out.shape).astype(np.float32)
    dout_hash = _digest(dout)

    dx = layer.backward(dout)
    assert dx.dtype == np.float32 and dx.shape == x.shape
    assert _digest(x) == x_hash and _digest(dout) == dout_hash  # neither was modified
    assert not np.shares_memory(dx, dout)
    first = {k: p.grad.copy() for k, p in layer.named_parameters()}
    for g in first.values():
        assert g.dtype == np.float32

    layer.forward(x)
    layer.backward(dout)  # grads accumulate until zero_grad
    for k, p in layer.named_parameters():
        np.testing.assert_allclose(p.grad, 2 * first[k], rtol=1e-5, atol=1e-6)
    layer.zero_grad()
    assert all(p.grad is None for p in layer.parameters())

    # dout in the memory order of the output (a convolution's is channel-major, and Conv2d
    # then reads dout's rows as a view): still never written, and dx is the same
    same_order = np.empty_like(out)
    same_order[...] = dout
    layer.forward(x)
    dx2 = layer.backward(same_order)
    assert _digest(same_order) == dout_hash and not np.shares_memory(dx2, same_order)
    np.testing.assert_array_equal(dx2, dx)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_contract_backward_before_forward_raises(name):
    make, shape = LAYERS[name]
    with pytest.raises(RuntimeError, match="before forward"):
        make().backward(np.ones(shape, dtype=np.float32))


@pytest.mark.parametrize("name", sorted(set(LAYERS) - {"Flatten"}))
def test_contract_shape_errors_name_the_layer_and_shapes(name):
    make, shape = LAYERS[name]
    layer = make()
    bad = (shape[0], shape[1], shape[2])  # 3-D instead of (N, C, H, W)
    with pytest.raises(ValueError, match=type(layer).__name__) as info:
        layer.forward(np.ones(bad, dtype=np.float32))
    assert str(bad) in str(info.value)
    out = layer.forward(np.ones(shape, dtype=np.float32))
    wrong = out.shape[:-1] + (out.shape[-1] + 1,)
    with pytest.raises(ValueError, match=type(layer).__name__) as info:
        layer.backward(np.ones(wrong, dtype=np.float32))
    assert str(wrong) in str(info.value) and str(out.shape) in str(info.value)


def test_conv_channel_mismatch_names_both_shapes():
    conv = _conv()
    with pytest.raises(ValueError) as info:
        conv.forward(np.ones((2, 5, 6, 6), dtype=np.float32))
    msg = str(info.value)
    assert "Conv2d" in msg and "(2, 5, 6, 6)" in msg and "(4, 3, 3, 3)" in msg


def test_conv_refuses_windows_that_do_not_fit():
    with pytest.raises(ValueError, match=r"Conv2d: stride 2 does not divide"):
        Conv2d(1, 1, 3, stride=2).forward(np.ones((1, 1, 6, 6), dtype=np.float32))
