"""What a faster ReLU, 2x2 max pooling or Adam must keep: NaN routing, ties and exact values.

Faster forms of these layers were measured (benchmarks/README.md); ReLU's forward against a row
of zeros (``max_with_zero``) was kept. These tests pin the behaviour any such form has to
reproduce, beyond the tie tests of tests/test_pool.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlscratch.layers import MaxPool2d, Parameter, ReLU
from dlscratch.optim import Adam

NAN, INF = np.nan, np.inf

# 2x2 windows and the position (row, column) that receives the window's gradient. The rule:
# the first row whose maximum equals the window's, else the last row; in it the first column
# equal to that row's maximum, else the last column. A comparison with NaN is False, so a NaN
# sends the gradient to the bottom row (or to the last column of the row that holds it).
NAN_WINDOWS = [
    ([[NAN, 1.0], [2.0, 1.0]], (1, 0)),
    ([[1.0, 2.0], [NAN, 3.0]], (1, 1)),
    ([[NAN, 5.0], [1.0, 2.0]], (1, 1)),
    ([[5.0, NAN], [1.0, 2.0]], (1, 1)),
    ([[2.0, 1.0], [NAN, 0.0]], (1, 1)),
    ([[NAN, NAN], [NAN, NAN]], (1, 1)),
    ([[INF, INF], [1.0, 1.0]], (0, 0)),
    ([[-INF, -INF], [-INF, -INF]], (0, 0)),
    ([[0.0, 3.0], [3.0, 0.0]], (0, 1)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool_2x2_routes_nan_and_infinite_windows_by_the_two_step_rule(dtype):
    windows = np.array([w for w, _ in NAN_WINDOWS], dtype=dtype)  # (9, 2, 2)
    # channel-major memory, as a convolution's output: (C, N, H, W) transposed to (N, C, H, W)
    x = np.ascontiguousarray(windows[:, None]).transpose(1, 0, 2, 3)
    layer = MaxPool2d(2)
    out = layer.forward(x)
    assert out.shape == (1, 9, 1, 1) and out.dtype == dtype
    np.testing.assert_array_equal(out[0, :, 0, 0],
                                  [NAN, NAN, NAN, NAN, NAN, NAN, INF, -INF, 3.0])
    dout = np.arange(1.0, 10.0, dtype=dtype).reshape(1, 9, 1, 1)
    dx = layer.backward(dout)
    for c, (_, (i, j)) in enumerate(NAN_WINDOWS):
        expected = np.zeros((2, 2), dtype=dtype)
        expected[i, j] = c + 1
        np.testing.assert_array_equal(dx[0, c], expected, err_msg=f"window {c}")


def test_max_pool_2x2_nan_in_dout_reaches_its_whole_window():
    x = np.arange(32.0).reshape(1, 2, 4, 4)
    layer = MaxPool2d(2)
    layer.forward(x)
    dout = np.ones((1, 2, 2, 2))
    dout[0, 1, 0, 1] = NAN  # dout * mask: NaN * 0 is NaN
    dx = layer.backward(dout)
    assert np.isnan(dx[0, 1, 0:2, 2:4]).all()
    assert not np.isnan(np.delete(dx.reshape(2, 16), [2, 3, 6, 7], axis=1)[1]).any()
    assert not np.isnan(dx[0, 0]).any()
    np.testing.assert_array_equal(dx[0, 0], [[0, 0, 0, 0], [0, 1, 0, 1]] * 2)


def test_relu_backward_is_dout_times_the_mask_nan_included():
    layer = ReLU()
    x = np.array([[-2.0, 0.0, 3.0, NAN, INF]], dtype=np.float32)
    y = layer.forward(x)
    np.testing.assert_array_equal(y, [[0.0, 0.0, 3.0, NAN, INF]])
    dout = np.array([[NAN, INF, NAN, 5.0, 7.0]], dtype=np.float32)
    with np.errstate(invalid="ignore"):
        dx = layer.backward(dout)
    # x <= 0 or NaN: dout * 0 (NaN for NaN or infinite dout); x > 0: dout unchanged
    np.testing.assert_array_equal(dx, [[NAN, NAN, NAN, 0.0, 7.0]])
    assert dx.dtype == np.float32
    np.testing.assert_array_equal(dout, [[NAN, INF, NAN, 5.0, 7.0]])  # dout not written


def test_relu_of_minus_infinity_is_zero_as_in_the_book_and_pytorch():
    """max(0, -inf) = 0; the product x * (x > 0) would give -inf * 0 = NaN."""
    layer = ReLU()
    x = np.array([-INF, -1.0, -0.0, 0.0, 2.0, INF, NAN], dtype=np.float32)
    with np.errstate(invalid="raise"):  # no invalid operation on the way
        y = layer.forward(x)
    np.testing.assert_array_equal(y, [0.0, 0.0, 0.0, 0.0, 2.0, INF, NAN])
    assert y.dtype == np.float32 and not np.shares_memory(y, x)
    from dlscratch.functions import relu

    np.testing.assert_array_equal(relu(x), y)


@pytest.mark.parametrize("floor_mode", [False, True])
def test_max_pool_in_eval_mode_gives_the_same_values_and_gradients(floor_mode):
    """Eval mode takes the maxima rows first (no row maxima kept); the values, and the gradient
    of a backward after it, are those of training mode, ties, NaN and infinities included."""
    rng = np.random.default_rng(1)
    shape = (3, 4, 9, 9) if floor_mode else (3, 4, 8, 8)
    x = rng.integers(-2, 3, shape).astype(np.float32)  # many ties
    x.flat[rng.choice(x.size, 12, replace=False)] = [NAN, INF, -INF, -0.0] * 3
    dout_shape = (3, 4, 4, 4)
    dout = rng.standard_normal(dout_shape).astype(np.float32)
    train, ev = MaxPool2d(2, floor_mode=floor_mode), MaxPool2d(2, floor_mode=floor_mode)
    ev.eval()
    np.testing.assert_array_equal(ev.forward(x), train.forward(x))
    assert ev._cache[1] is None
    np.testing.assert_array_equal(ev.backward(dout), train.backward(dout))


def test_relu_in_eval_mode_keeps_no_mask_and_backward_still_works():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3, 5, 5)).astype(np.float32)
    dout = rng.standard_normal(x.shape).astype(np.float32)
    train, ev = ReLU(), ReLU()
    ev.eval()
    y_train, y_eval = train.forward(x), ev.forward(x)
    np.testing.assert_array_equal(y_eval, y_train)
    assert ev.mask is None  # inference builds no mask
    np.testing.assert_array_equal(ev.backward(dout), train.backward(dout))
    # a later training forward of other values: its own mask, not the eval input's
    ev.train()
    x2 = -x
    ev.forward(x2)
    np.testing.assert_array_equal(ev.backward(dout), dout * (x2 > 0))


def _reference_adam(param, m, v, grad, t, lr, b1, b2, eps):
    """The update as written in Adam's docstring, in the same order of operations."""
    m[...] = m + (1 - b1) * (grad - m)
    v[...] = v + (1 - b2) * (grad * grad - v)
    denom = np.sqrt(v)
    denom *= 1.0 / np.sqrt(1 - b2**t)
    denom += eps
    param[...] = param - (lr / (1 - b1**t)) * m / denom


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adam_steps_equal_the_reference_formula_to_the_bit(dtype):
    rng = np.random.default_rng(0)
    shapes = [(16, 1, 3, 3), (16,), (1024, 50), (50,)]
    params = [Parameter(rng.standard_normal(s).astype(dtype)) for s in shapes]
    ref = [p.data.copy() for p in params]
    ms = [np.zeros_like(r) for r in ref]
    vs = [np.zeros_like(r) for r in ref]
    opt = Adam(params, lr=0.002, beta1=0.85, beta2=0.995, eps=1e-7)
    for t in range(1, 6):
        for p in params:  # gradients over six orders of magnitude
            p.grad = (rng.standard_normal(p.data.shape) * 10.0 ** rng.integers(-4, 2)).astype(dtype)
        opt.step()
        for p, r, m, v in zip(params, ref, ms, vs):
            _reference_adam(r, m, v, p.grad, t, 0.002, 0.85, 0.995, 1e-7)
            np.testing.assert_array_equal(p.data, r)
            assert p.data.dtype == dtype
    for i, (m, v) in enumerate(zip(ms, vs)):
        np.testing.assert_array_equal(opt.state[i]["m"], m)
        np.testing.assert_array_equal(opt.state[i]["v"], v)


SPECIAL = [NAN, -NAN, INF, -INF, 0.0, -0.0, 1e-45, -1e-45, 1e-310, -1e-310, 3.5, -2.0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(0,), (7,), (16384,), (16385,), (3, 16384 + 5),
                                   (5, 16, 28, 28), (2, 3, 4, 5, 6), (1, 16, 1, 28)])
def test_max_with_zero_is_np_maximum_to_the_bit_in_its_memory_order(shape, dtype):
    """Every value (NaN, infinities, signed zeros, subnormals) and the memory order of
    ``np.maximum(x, 0)``, for arrays contiguous in some axis order (transposed, as a
    convolution's channel-major output) and for arrays that are not (every other row)."""
    from dlscratch.layers.activation import max_with_zero

    x = np.random.default_rng(11).standard_normal(shape).astype(dtype)
    flat = x.reshape(-1)
    flat[:min(flat.size, len(SPECIAL))] = np.array(SPECIAL, dtype)[:flat.size]
    flat[-min(flat.size, len(SPECIAL)):] = np.array(SPECIAL, dtype)[:flat.size][::-1]
    views = [x] if x.ndim < 2 else [x, x.T, x.swapaxes(0, 1), x[::2], x[..., ::3]]
    if x.ndim >= 3:  # a cyclic order: its inverse is another permutation
        views.append(x.transpose(*range(1, x.ndim), 0))
    for v in views:
        got, want = max_with_zero(v), np.maximum(v, dtype(0))
        assert got.dtype == want.dtype and got.shape == want.shape
        # the same memory order (an axis of length 1 has no place in it: its stride is free)
        assert [s for s, n in zip(got.strides, got.shape) if n > 1] == \
            [s for s, n in zip(want.strides, want.shape) if n > 1]
        np.testing.assert_array_equal(got.view(f"u{got.itemsize}"),
                                      want.view(f"u{want.itemsize}"))  # bit for bit


def test_max_with_zero_takes_the_row_path_for_arrays_contiguous_in_some_axis_order(monkeypatch):
    """Arrays contiguous in some axis order (a convolution's channel-major output, a batch of
    one image) go the vectorised way against the kept row of zeros; only the others are
    compared with ``zeros_like(x)``."""
    from dlscratch.layers import activation

    calls = []
    zeros_like = np.zeros_like
    monkeypatch.setattr(activation.np, "zeros_like", lambda a: calls.append(a.shape) or
                        zeros_like(a))
    x = np.random.default_rng(3).standard_normal((16, 2, 5, 7)).astype(np.float32)
    for v in (x, x.transpose(1, 0, 2, 3), x[:, :1].copy().transpose(1, 0, 2, 3), x.T, x[:1, :1]):
        activation.max_with_zero(v)
    assert calls == []
    activation.max_with_zero(x[..., ::2])
    assert calls == [(16, 2, 5, 4)]


def test_relu_forward_leaves_x_alone_and_returns_a_fresh_array():
    x = np.random.default_rng(12).standard_normal((4, 3, 40, 40)).astype(np.float32)
    x0 = x.copy()
    relu = ReLU()
    for mode in (relu.train, relu.eval):
        mode()
        y = relu.forward(x)
        assert not np.shares_memory(y, x)
        np.testing.assert_array_equal(x, x0)
        np.testing.assert_array_equal(y, np.maximum(x0, np.float32(0)))
