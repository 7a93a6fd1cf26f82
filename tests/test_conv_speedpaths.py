"""Conv2d's eval-mode (inference) path: the same values as training mode, nothing kept for
backward but a reference to the input, one work array shared by every convolution."""

from __future__ import annotations

import threading
import tracemalloc

import numpy as np
import pytest

from dlscratch import naive
from dlscratch.layers import Conv2d
from dlscratch.layers.conv_work import shared_work_array
from dlscratch.models.resnet import resnet18

# (shape, FN, kernel, stride, pad, bias): DeepConvNet's 3x3 layers (its pad-2 one too),
# a stride-2 layer, a layer without a bias and a 1x1 projection.
CASES = [
    ((3, 1, 10, 10), 4, 3, 1, 1, True),
    ((2, 4, 9, 9), 6, 3, 1, 2, True),
    ((2, 3, 9, 11), 5, 3, 2, 1, True),
    ((2, 5, 6, 6), 3, 3, 1, 1, False),
    ((2, 6, 9, 9), 4, 1, 2, 0, False),
    ((2, 3, 7, 10), 4, (3, 2), 1, 1, True),  # non-square filters: images side by side
    ((2, 5, 7, 10), 4, (3, 2), 1, 1, False),  # the same, dx with the turned filters
    ((2, 1, 6, 6), 12, 3, 1, 1, True),  # more filters than col rows: col as in training
    ((2, 6, 5, 5), 4, 1, 1, 1, True),  # padding as large as the filter: not side by side
]


def _conv(shape, FN, kernel, stride, pad, bias, dtype, seed=0):
    conv = Conv2d(shape[1], FN, kernel, stride, pad, bias=bias, dtype=dtype, rng=seed)
    if bias:
        conv.b = np.random.default_rng(seed + 1).standard_normal(FN)
    return conv


def _held_work_bytes(net) -> int:
    """Bytes of the work arrays (col, im2col scratch) that the network's Conv2d layers hold."""
    arrays = {}
    for m in net.modules():
        if isinstance(m, Conv2d):
            for a in [*m._scratch.values(), m.col]:
                while a is not None and a.base is not None:
                    a = a.base
                if a is not None:
                    arrays[id(a)] = a.nbytes
    return sum(arrays.values())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, FN, kernel, stride, pad, bias", CASES)
def test_eval_forward_equals_train_forward_and_the_loops(shape, FN, kernel, stride, pad, bias,
                                                         dtype):
    from dlscratch.layers.conv_work import conv_in_pieces

    x = np.random.default_rng(3).standard_normal(shape).astype(dtype)
    conv = _conv(shape, FN, kernel, stride, pad, bias, dtype)
    train_out = conv.forward(x).copy()
    conv.eval()
    with conv_in_pieces(None):  # the whole batch, as in training
        whole_out = conv.forward(x)
    np.testing.assert_array_equal(whole_out, train_out)  # the same operations: bit for bit
    eval_out = conv.forward(x)  # the layers side by side: in pieces (eval_piece_bytes)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(eval_out, train_out, rtol=tol, atol=tol)
    assert eval_out.dtype == dtype
    assert conv.col is None and conv._scratch == {}  # nothing kept for backward
    ref = naive.conv2d_nchw(x, conv.W, conv.b if bias else None, stride, pad)
    np.testing.assert_allclose(eval_out, ref, rtol=tol, atol=tol)


def test_layers_of_other_paddings_share_the_work_array_and_see_zero_borders():
    """The shared padded-image array is written by layers of other shapes in between: each
    layer's zero padding must still be zero (the values under it are not the last layer's)."""
    rng = np.random.default_rng(4)
    big = _conv((2, 3, 12, 12), 5, 3, 1, 2, True, np.float64, seed=1).eval()
    small = _conv((2, 3, 8, 8), 4, 3, 1, 1, True, np.float64, seed=2).eval()
    xb = rng.standard_normal((2, 3, 12, 12)) + 5  # no zeros anywhere in the big images
    xs = rng.standard_normal((2, 3, 8, 8))
    for _ in range(2):  # small after big, then big after small
        for conv, x in ((big, xb), (small, xs)):
            ref = naive.conv2d_nchw(x, conv.W, conv.b, 1, conv.pad)
            np.testing.assert_allclose(conv.forward(x), ref, rtol=1e-12, atol=1e-12)


def test_eval_outputs_stay_valid_after_later_eval_forwards():
    """The output is a fresh array, not a view of the shared work array."""
    rng = np.random.default_rng(5)
    conv = _conv((2, 3, 8, 8), 4, 3, 1, 1, True, np.float64).eval()
    x1, x2 = rng.standard_normal((2, 2, 3, 8, 8))
    out1 = conv.forward(x1)
    kept = out1.copy()
    conv.forward(x2)
    np.testing.assert_array_equal(out1, kept)


@pytest.mark.parametrize("shape, FN, kernel, stride, pad, bias", CASES)
def test_backward_after_an_eval_forward_gives_the_training_gradients(shape, FN, kernel, stride,
                                                                      pad, bias):
    """No stale cache: an eval-mode forward of x2 after a training forward of x1 makes
    backward use x2 (col is built again from it), exactly as a training forward of x2."""
    rng = np.random.default_rng(6)
    x1, x2 = rng.standard_normal((2, *shape))
    trained = _conv(shape, FN, kernel, stride, pad, bias, np.float64)
    evaluated = _conv(shape, FN, kernel, stride, pad, bias, np.float64)
    dout = rng.standard_normal(trained.forward(x2).shape)
    dx = trained.backward(dout)
    evaluated.forward(x1)  # training mode: col of x1 kept
    evaluated.eval()
    evaluated.forward(x2)  # eval mode: only x2 kept
    assert evaluated.col is None
    dx_eval = evaluated.backward(dout)
    np.testing.assert_array_equal(dx_eval, dx)
    np.testing.assert_array_equal(evaluated.dW, trained.dW)
    if bias:
        np.testing.assert_array_equal(evaluated.db, trained.db)


def test_backward_before_any_forward_says_so():
    conv = Conv2d(2, 3, 3, pad=1).eval()
    with pytest.raises(RuntimeError, match=r"Conv2d.backward\(\) called before forward\(\)"):
        conv.backward(np.zeros((1, 3, 4, 4), np.float32))


def test_back_in_training_mode_the_layer_keeps_col_again():
    conv = _conv((2, 3, 8, 8), 4, 3, 1, 1, True, np.float32)
    x = np.random.default_rng(7).standard_normal((2, 3, 8, 8)).astype(np.float32)
    conv.eval().forward(x)
    conv.train().forward(x)
    assert conv.col is not None and conv._x is None
    assert conv.col.shape == (3 * 9 + 1, 2 * 8 * 8)


def test_each_thread_has_its_own_shared_work_array():
    mine = shared_work_array("test_col", (4, 5), np.float32)
    other = []
    t = threading.Thread(target=lambda: other.append(shared_work_array("test_col", (4, 5),
                                                                       np.float32)))
    t.start()
    t.join()
    assert not np.shares_memory(mine, other[0])
    again = shared_work_array("test_col", (2, 3), np.float32)  # smaller: the same memory
    assert np.shares_memory(mine, again)


def test_resnet_inference_holds_no_convolution_work_arrays():
    """A ResNet-18 (20 convolutions) in eval mode: its Conv2d layers hold no work arrays after
    a forward, and what the forward leaves allocated is a fraction of training mode's."""
    x = np.random.default_rng(8).standard_normal((2, 3, 64, 64)).astype(np.float32)
    trained = resnet18(num_classes=10, rng=0)
    trained.forward(x)
    train_held = _held_work_bytes(trained)  # one col per convolution
    assert train_held > 9e6
    net = resnet18(num_classes=10, rng=0).eval()
    got = {}

    def forwards():  # in a new thread, whose shared work arrays another network makes first
        resnet18(num_classes=10, rng=1).eval().forward(x)
        tracemalloc.start()
        try:
            got["out"] = net.forward(x)
            got["held"], got["peak"] = tracemalloc.get_traced_memory()
            net.forward(x)
            got["again"] = tracemalloc.get_traced_memory()[0] - got["held"]
        finally:
            tracemalloc.stop()

    thread = threading.Thread(target=forwards)
    thread.start()
    thread.join()
    held, peak = got["held"], got["peak"]
    assert got["out"].shape == (2, 10)
    assert _held_work_bytes(net) == 0
    # Measured: 4.9 MB left allocated (BatchNorm's and ReLU's caches, the kept inputs) against
    # 14.4 MB with work arrays of its own in each convolution; training mode's cols alone take
    # 9.6 MB. A second forward allocates nothing more that stays.
    assert held < 0.65 * train_held, (held, train_held)
    assert peak < 0.65 * train_held, (peak, train_held)
    assert got["again"] < 0.05 * train_held, got["again"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("images", [0, 1, 2, 3, None])
@pytest.mark.parametrize("shape, FN, kernel, stride, pad, bias", CASES)
def test_eval_forward_in_pieces_equals_the_whole_batch(shape, FN, kernel, stride, pad, bias,
                                                       images, dtype):
    """conv_in_pieces: col built and multiplied a few images at a time (a budget under
    one image's col: one image per piece; 2 and 3 images: a shorter last piece of 7)."""
    from dlscratch.layers.conv_work import conv_in_pieces

    x = np.random.default_rng(5).standard_normal((7, *shape[1:])).astype(dtype)
    conv = _conv(shape, FN, kernel, stride, pad, bias, dtype)
    whole = conv.forward(x).copy()  # training mode: the whole batch in one product
    col_bytes = conv.col.nbytes // 7  # col of one image (with the row of ones)
    budget = None if images is None else max(1, images * col_bytes)
    conv.eval()
    with conv_in_pieces(budget):
        pieces = conv.forward(x)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(pieces, whole, rtol=tol, atol=tol)
    assert pieces.dtype == dtype and conv.col is None
    ref = naive.conv2d_nchw(x, conv.W, conv.b if bias else None, stride, pad)
    np.testing.assert_allclose(pieces, ref, rtol=tol, atol=tol)
    with conv_in_pieces(budget):
        dx = conv.backward(np.ones_like(pieces))  # eval-mode backward after pieces: col again
    conv.train()
    conv.forward(x)
    np.testing.assert_allclose(dx, conv.backward(np.ones_like(pieces)), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("images", [1, 2, 3, None])
@pytest.mark.parametrize("trained", ["all", "frozen W", "frozen b", "no dx"])
@pytest.mark.parametrize("shape, FN, kernel, stride, pad, bias", CASES)
def test_training_in_pieces_gives_the_whole_batchs_output_and_gradients(
        shape, FN, kernel, stride, pad, bias, trained, images, dtype):
    """Training inside conv_in_pieces: the stride-1 layers with padding under the filter size
    and more col rows than filters keep x instead of col and go piece by piece (the images
    side by side; dx and dW from dout's col); the others keep col. Output, dx, dW and db as
    with the whole batch in one product."""
    from dlscratch.layers.conv_work import conv_in_pieces

    rng = np.random.default_rng(6)
    x = rng.standard_normal((7, *shape[1:])).astype(dtype)
    one, pieced = (_conv(shape, FN, kernel, stride, pad, bias, dtype) for _ in range(2))
    for conv in (one, pieced):
        conv._parameters["W"].requires_grad = trained != "frozen W"
        if bias:
            conv._parameters["b"].requires_grad = trained != "frozen b"
        conv.compute_dx = trained != "no dx"
    out = one.forward(x)
    dout = rng.standard_normal(out.shape).astype(dtype)
    dx = one.backward(dout)
    col_bytes = one.col.nbytes // 7
    with conv_in_pieces(None if images is None else images * col_bytes):
        out_p = pieced.forward(x)
        in_pieces = images is not None and pieced._side_by_side(shape[1])
        assert (pieced.col is None) == in_pieces  # x kept instead of col
        dx_p = pieced.backward(dout.copy())
    tol = 1e-12 if dtype == np.float64 else 2e-5
    np.testing.assert_allclose(out_p, out, rtol=tol, atol=tol)
    if trained == "no dx":
        assert dx is None and dx_p is None
    else:
        assert dx_p.dtype == dtype and dx_p.shape == x.shape
        np.testing.assert_allclose(dx_p, dx, rtol=tol, atol=tol * np.abs(dx).max())
    for name in ("W", "b") if bias else ("W",):
        g, g_p = one._parameters[name].grad, pieced._parameters[name].grad
        if not one._parameters[name].requires_grad:
            assert g is None and g_p is None
            continue
        np.testing.assert_allclose(g_p, g, rtol=tol, atol=tol * np.abs(g).max(), err_msg=name)


def test_training_in_pieces_keeps_x_not_col_and_leaves_dout_alone():
    from dlscratch.layers.conv_work import conv_in_pieces

    conv = Conv2d(4, 6, 3, 1, 1, rng=0)
    x = np.random.default_rng(1).standard_normal((5, 4, 8, 8)).astype(np.float32)
    x0 = x.copy()
    with conv_in_pieces(2000):
        out = conv.forward(x)
        assert conv.col is None and conv._x is x and conv._scratch == {}
        dout = np.ones_like(out)
        conv.backward(dout)
    assert np.array_equal(dout, np.ones_like(out)) and np.array_equal(x, x0)
    conv.forward(x)  # outside: col kept, as always
    assert conv.col is not None and conv._x is None


def test_conv_in_pieces_is_per_thread_and_restored():
    from dlscratch.layers import conv_work

    seen = {}

    def other():
        seen["other"] = conv_work.piece_bytes(), conv_work.eval_piece_bytes(1000, True)

    small = conv_work.EVAL_PIECE_BYTES // 2  # two images' col fit
    with conv_work.conv_in_pieces(123):
        with conv_work.conv_in_pieces(None):
            assert conv_work.piece_bytes() is None
            assert conv_work.eval_piece_bytes(small, True) is None  # the block's None
        assert conv_work.piece_bytes() == 123
        assert conv_work.eval_piece_bytes(10**9, False) == 123  # the block's budget
        th = threading.Thread(target=other)
        th.start()
        th.join()
    assert seen["other"] == (None, conv_work.EVAL_PIECE_BYTES)  # no block in that thread
    assert conv_work.piece_bytes() is None and not hasattr(conv_work._shared, "piece_bytes")
    # outside any block: pieces for layers side by side whose col of two images fits
    assert conv_work.eval_piece_bytes(small, True) == conv_work.EVAL_PIECE_BYTES
    assert conv_work.eval_piece_bytes(small + 1, True) is None
    assert conv_work.eval_piece_bytes(small, False) is None


def test_eval_mode_outside_a_block_uses_pieces_only_where_they_pay(monkeypatch):
    """Eval forward with no conv_in_pieces block: DeepConvNet's 3x3 layers go in pieces of
    EVAL_PIECE_BYTES (several images each); a layer whose col of one image is over half of
    it, and a layer not side by side, take the whole batch in one product. Each gives the
    loops' values; DeepConvNet's predictions equal the whole batch's."""
    from dlscratch.layers import conv_work
    from dlscratch.models import DeepConvNet

    calls = []
    original = Conv2d._im2col_side_by_side

    def spy(self, name, shape, *args, **kwargs):
        calls.append(shape[0])  # the images of a piece
        return original(self, name, shape, *args, **kwargs)

    monkeypatch.setattr(Conv2d, "_im2col_side_by_side", spy)
    rng = np.random.default_rng(11)
    for shape, FN, kernel, pad, pieces in [((9, 16, 14, 14), 32, 3, 1, True),
                                           ((2, 64, 40, 40), 64, 3, 1, False),
                                           ((9, 1, 14, 14), 16, 3, 1, False)]:
        x = rng.standard_normal(shape).astype(np.float32)
        conv = _conv(shape, FN, kernel, 1, pad, True, np.float32).eval()
        calls.clear()
        out = conv.forward(x)
        if pieces:  # 145 rows x 210 columns x 4 bytes an image: 8 images a piece
            assert calls == [8, 1], calls
        else:
            assert calls == []
        ref = naive.conv2d_nchw(x, conv.W, conv.b, 1, pad)
        np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4)
    x = rng.random((40, 1, 28, 28), dtype=np.float32)
    net = DeepConvNet(rng=0).eval()
    with conv_work.conv_in_pieces(None):
        whole = net.predict(x)
    calls.clear()
    np.testing.assert_allclose(net.predict(x), whole, rtol=1e-5, atol=1e-5)
    assert len(calls) > 5  # its layers went in pieces


@pytest.mark.parametrize("n, H, W, FH, FW, pad_h, pad_w",
                         [(1, 5, 6, 3, 3, 1, 1), (3, 5, 6, 3, 3, 1, 1), (3, 4, 4, 3, 3, 2, 2),
                          (2, 5, 7, 3, 2, 1, 1), (4, 3, 3, 3, 3, 0, 0), (3, 4, 5, 1, 1, 0, 0)])
def test_side_by_side_col_holds_the_books_col_at_the_output_positions(n, H, W, FH, FW, pad_h,
                                                                      pad_w):
    """im2col_side_by_side_views against the book's im2col: at every output position of
    every image, the column of the wide col is the book's row of col."""
    from dlscratch.layers.conv_fast import SideBySide, im2col_side_by_side_views

    C = 2
    x = np.random.default_rng(9).standard_normal((n, C, H, W))
    out_h, out_w = H + 2 * pad_h - FH + 1, W + 2 * pad_w - FW + 1
    layout = SideBySide(n, H, W, pad_h, pad_w, out_h, out_w)
    wide = np.zeros((C, (H + 2 * pad_h) * layout.Wr))
    col_t = np.full((C * FH * FW, layout.columns), np.nan)
    views = im2col_side_by_side_views(layout, wide, col_t, C, FH, FW)
    views.fill(x)
    at = layout.positions(col_t)  # (C*FH*FW, n, out_h, out_w)
    xpad = np.pad(x, ((0, 0), (0, 0), (pad_h, pad_h), (pad_w, pad_w)))
    book = np.empty((n, out_h, out_w, C, FH, FW))
    for i in range(out_h):
        for j in range(out_w):
            book[:, i, j] = xpad[:, :, i:i + FH, j:j + FW]
    np.testing.assert_array_equal(at, book.reshape(n, out_h, out_w, -1).transpose(3, 0, 1, 2))
    np.testing.assert_array_equal(layout.images(wide), x.transpose(1, 0, 2, 3))
    assert np.count_nonzero(wide) == np.count_nonzero(x)  # zeros everywhere else


def test_layers_whose_wide_images_have_one_shape_but_other_places_see_zeros():
    """Two layers whose wide images have the same shape (C, Hp*Wr) with the images in other
    places (2 images of 13x13 side by side, 1 image of 13x27): after one, the other's zero
    padding must be zero again, in forward and in backward (x at dx's positions)."""
    from dlscratch.layers.conv_work import conv_in_pieces

    rng = np.random.default_rng(10)
    two = _conv((2, 3, 13, 13), 2, 3, 1, 1, True, np.float64, seed=1)
    one = _conv((1, 3, 13, 27), 2, 3, 1, 1, True, np.float64, seed=2)
    xs = {two: rng.standard_normal((2, 3, 13, 13)) + 5, one: rng.standard_normal((1, 3, 13, 27)) + 5}
    refs = {}
    for conv, x in xs.items():  # the whole batch in one product: the reference
        out = conv.forward(x)
        dout = rng.standard_normal(out.shape)
        refs[conv] = (out.copy(), dout, conv.backward(dout).copy(), conv.dW.copy())
        conv.zero_grad()
    with conv_in_pieces(10**6):  # both images of `two` in one piece
        for conv in (one, two, one, two):
            out = conv.forward(xs[conv])
            want_out, dout, want_dx, want_dW = refs[conv]
            np.testing.assert_allclose(out, want_out, rtol=1e-12, atol=1e-12)
            conv.zero_grad()
            np.testing.assert_allclose(conv.backward(dout), want_dx, rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(conv.dW, want_dW, rtol=1e-12, atol=1e-12)
