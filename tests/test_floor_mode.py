"""``floor_mode=True``: PyTorch's output size for windows that do not tile the input.

``out = floor((H + 2*pad - FH) / stride) + 1``; the last rows and columns that do not fill a step
are unused and get a zero gradient. The default (``floor_mode=False``) still refuses such sizes.
Checked against loops written here, against torch when it is installed, and numerically.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlscratch.gradient import numerical_gradient, relative_error
from dlscratch.layers import AvgPool2d, Conv2d, MaxPool2d
from dlscratch.util import conv_output_size

GRAD_TOL = 1e-6


def test_conv_output_size_floors_only_when_asked():
    # torchvision's ResNet: conv 7x7/2 pad 3 on 224, maxpool 3x3/2 pad 1 on 112, 3x3/2 pad 1 on 56
    assert conv_output_size(224, 7, 2, 3, floor_mode=True) == 112
    assert conv_output_size(112, 3, 2, 1, floor_mode=True) == 56
    assert conv_output_size(56, 3, 2, 1, floor_mode=True) == 28
    assert conv_output_size(56, 1, 2, 0, floor_mode=True) == 28  # the 1x1/2 shortcut tiles
    assert conv_output_size(7, 2, 2, floor_mode=True) == 3
    for args in ((224, 7, 2, 3), (112, 3, 2, 1), (7, 2, 2, 0)):
        with pytest.raises(ValueError, match="floor_mode=True"):  # the default still refuses
            conv_output_size(*args)
    with pytest.raises(ValueError, match="larger than the padded input"):
        conv_output_size(3, 5, floor_mode=True)  # a window must still fit once
    with pytest.raises(TypeError):
        conv_output_size(7, 2, 2, 0, True)  # keyword-only


# ------------------------------------------------------------------ references with loops
def _floor_windows(x, FH, FW, stride, pad, pad_value):
    """Yield (n, i, j, rows, cols, window) over the floored output grid, window of xpad."""
    N, C, H, W = x.shape
    out_h = (H + 2 * pad - FH) // stride + 1
    out_w = (W + 2 * pad - FW) // stride + 1
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), constant_values=pad_value)
    return xp, out_h, out_w


def conv_loops(x, W, b, stride, pad):
    xp, out_h, out_w = _floor_windows(x, W.shape[2], W.shape[3], stride, pad, 0.0)
    FN, _, FH, FW = W.shape
    out = np.zeros((x.shape[0], FN, out_h, out_w))
    for n in range(x.shape[0]):
        for i in range(out_h):
            for j in range(out_w):
                win = xp[n, :, i * stride:i * stride + FH, j * stride:j * stride + FW]
                out[n, :, i, j] = np.tensordot(W, win, axes=3) + (0 if b is None else b)
    return out


def pool_loops(x, k, stride, pad, kind):
    xp, out_h, out_w = _floor_windows(x, k, k, stride, pad, -np.inf if kind == "max" else 0.0)
    out = np.zeros(x.shape[:2] + (out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            win = xp[:, :, i * stride:i * stride + k, j * stride:j * stride + k]
            out[:, :, i, j] = win.max(axis=(2, 3)) if kind == "max" else win.mean(axis=(2, 3))
    return out


CONV_CASES = [
    # (N, C, H, W), FN, kernel, stride, pad   -- none of them tiles
    ((2, 2, 12, 11), 3, 7, 2, 3),  # ResNet's stem, small
    ((2, 3, 8, 9), 4, 3, 2, 1),  # ResNet's 3x3/2 on an even size
    ((2, 3, 8, 7), 2, 1, 2, 0),  # a 1x1/2 shortcut on an even size
    ((1, 2, 10, 10), 2, 3, 3, 0),
]

POOL_CASES = [
    # (N, C, H, W), kernel, stride, pad
    ((2, 3, 8, 9), 3, 2, 1),  # ResNet's max pool
    ((2, 2, 7, 9), 2, 2, 0),  # 2x2/2 on odd sizes: the two-step max path, cropped
    ((2, 2, 8, 10), 3, 3, 0),  # 3x3/3, the two-step path again
    ((1, 2, 9, 8), 2, 3, 1),  # gaps between windows
]


def _distinct(shape, seed):
    """Values at least 0.1 apart (no ties, and h = 1e-4 never changes a window's maximum)."""
    return np.random.default_rng(seed).permutation(int(np.prod(shape))).reshape(shape) * 0.1


@pytest.mark.parametrize("shape, FN, k, stride, pad", CONV_CASES)
def test_conv_floor_mode_forward_backward_and_numerical_gradients(shape, FN, k, stride, pad):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    with pytest.raises(ValueError, match="Conv2d: stride .* floor_mode=True"):
        Conv2d(shape[1], FN, k, stride, pad, dtype=np.float64, rng=0).forward(x)
    conv = Conv2d(shape[1], FN, k, stride, pad, dtype=np.float64, rng=0, floor_mode=True)
    conv.b = rng.standard_normal(FN)
    out = conv.forward(x)
    np.testing.assert_allclose(out, conv_loops(x, conv.W, conv.b, stride, pad), atol=1e-12)
    R = rng.standard_normal(out.shape)
    dx = conv.backward(R)

    def loss(_):
        return float(np.sum(conv.forward(x) * R))

    assert relative_error(dx, numerical_gradient(loss, x)) < GRAD_TOL
    assert relative_error(conv.dW, numerical_gradient(loss, conv.W)) < GRAD_TOL
    assert relative_error(conv.db, numerical_gradient(loss, conv.b)) < GRAD_TOL
    # the unused bottom rows / right columns: no window reads them, so their gradient is 0
    used_h = (out.shape[2] - 1) * stride + k - pad  # rows of x under some window (when the
    used_w = (out.shape[3] - 1) * stride + k - pad  # cut-off part is more than padding)
    np.testing.assert_array_equal(dx[:, :, used_h:], 0)
    np.testing.assert_array_equal(dx[:, :, :, used_w:], 0)


@pytest.mark.parametrize("shape, k, stride, pad", POOL_CASES)
@pytest.mark.parametrize("cls, kind", [(MaxPool2d, "max"), (AvgPool2d, "avg")])
def test_pool_floor_mode_forward_backward_and_numerical_gradients(cls, kind, shape, k, stride,
                                                                   pad):
    x = _distinct(shape, 1)
    with pytest.raises(ValueError, match=f"{cls.__name__}: stride .* floor_mode=True"):
        cls(k, stride, pad).forward(x)
    layer = cls(k, stride, pad, floor_mode=True)
    out = layer.forward(x)
    np.testing.assert_allclose(out, pool_loops(x, k, stride, pad, kind), rtol=1e-12)
    R = np.random.default_rng(2).standard_normal(out.shape)
    dx = layer.backward(R)
    assert dx.shape == x.shape

    def loss(_):
        return float(np.sum(layer.forward(x) * R))

    assert relative_error(dx, numerical_gradient(loss, x)) < GRAD_TOL
    used_h = (out.shape[2] - 1) * stride + k - pad
    used_w = (out.shape[3] - 1) * stride + k - pad
    np.testing.assert_array_equal(dx[:, :, used_h:], 0)
    np.testing.assert_array_equal(dx[:, :, :, used_w:], 0)


@pytest.mark.parametrize("cls", [MaxPool2d, AvgPool2d])
def test_floor_mode_changes_nothing_when_the_windows_tile(cls):
    x = _distinct((2, 2, 8, 8), 3).astype(np.float32)
    a, b = cls(2), cls(2, floor_mode=True)
    np.testing.assert_array_equal(a.forward(x), b.forward(x))
    dout = np.ones((2, 2, 4, 4), np.float32)
    np.testing.assert_array_equal(a.backward(dout), b.backward(dout))
    assert "floor_mode=True" in repr(b) and "floor_mode" not in repr(a)


def test_floor_mode_float32_keeps_dtype_and_input():
    x = np.random.default_rng(4).standard_normal((2, 3, 9, 9)).astype(np.float32)
    x0 = x.copy()
    for layer in (Conv2d(3, 4, 3, 2, 1, rng=0, floor_mode=True),
                  MaxPool2d(2, floor_mode=True), AvgPool2d(2, floor_mode=True)):
        out = layer.forward(x)
        dx = layer.backward(np.ones_like(out))
        assert out.dtype == dx.dtype == np.float32 and dx.shape == x.shape
    np.testing.assert_array_equal(x, x0)


# ------------------------------------------------------------------ against PyTorch
@pytest.mark.parametrize("shape, FN, k, stride, pad", CONV_CASES)
def test_conv_floor_mode_matches_torch(shape, FN, k, stride, pad):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    x = rng.standard_normal(shape)
    conv = Conv2d(shape[1], FN, k, stride, pad, dtype=np.float64, rng=0, floor_mode=True)
    conv.b = rng.standard_normal(FN)
    out = conv.forward(x)
    R = rng.standard_normal(out.shape)
    dx = conv.backward(R)
    tx = torch.tensor(x, requires_grad=True)
    tW = torch.tensor(conv.W, requires_grad=True)
    tb = torch.tensor(conv.b, requires_grad=True)
    tout = torch.nn.functional.conv2d(tx, tW, tb, stride=stride, padding=pad)
    (tout * torch.tensor(R)).sum().backward()
    np.testing.assert_allclose(out, tout.detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(dx, tx.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(conv.dW, tW.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(conv.db, tb.grad.numpy(), atol=1e-10)


@pytest.mark.parametrize("shape, k, stride, pad", POOL_CASES)
@pytest.mark.parametrize("cls", [MaxPool2d, AvgPool2d])
def test_pool_floor_mode_matches_torch(cls, shape, k, stride, pad):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x = _distinct(shape, 6)
    layer = cls(k, stride, pad, floor_mode=True)
    out = layer.forward(x)
    R = np.random.default_rng(7).standard_normal(out.shape)
    dx = layer.backward(R)
    tx = torch.tensor(x, requires_grad=True)
    pool = F.max_pool2d if cls is MaxPool2d else F.avg_pool2d  # count_include_pad=True
    tout = pool(tx, k, stride, pad)
    (tout * torch.tensor(R)).sum().backward()
    np.testing.assert_allclose(out, tout.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(dx, tx.grad.numpy(), atol=1e-12)
