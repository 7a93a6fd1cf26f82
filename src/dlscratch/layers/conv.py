"""Convolution as one matrix product (im2col), and Flatten.

Shapes (the lectures' names)::

    x   (N, C, H, W)         input images
    W   (FN, C, FH, FW)      FN filters of C channels, FH x FW each;  b (FN,)
    out (N, FN, out_h, out_w),  out_h = (H + 2*pad - FH) / stride + 1  (must divide exactly)

    out[n, f, i, j] = b[f] + sum_{c, y, x} xpad[n, c, i*stride + y, j*stride + x] * W[f, c, y, x]

As in the lecture, the windows are unfolded into a matrix so that the whole convolution is one
product. The layer builds the lecture's ``col`` *transposed*: one row per filter tap (c, y, x),
one column per output position (n, i, j)::

    col[(c, y, x), (n, i, j)] = xpad[n, c, i*stride + y, j*stride + x]    (C*FH*FW, N*out_h*out_w)
    out = W.reshape(FN, -1) @ col + b[:, None]                              (FN, N*out_h*out_w)

Backward, with dout as (FN, N*out_h*out_w)::

    db = dout.sum(axis=1)          dW = dout @ col.T      (then reshaped to (FN, C, FH, FW))
    dx = col2im(W.reshape(FN, -1).T @ dout)    (every tap's row added back where it came from)

The bias is computed as the weight of an input that is always 1: ``col`` gets one more row, of
ones, so ``out = [W | b] @ col`` and backward's ``dout @ col.T`` gives ``[dW | db]`` at once.

With stride 1 (and pad < FH, FW) and no more filters than channels (FN <= C), dx is computed
as what it equals, a convolution of dout (zero-padded by FH-1-pad) with the filters turned by
180 degrees and with C and FN swapped, ``dx[n, c] = sum_f conv(dout[n, f], W[f, c, ::-1,
::-1])``: the same im2col and one product, which is faster than the product-then-col2im above
(a product with only FN inner terms, then FH*FW read-add-writes of dx). With FN > C the
turned-filter ``col`` would have FN*FH*FW rows against col2im's C*FH*FW, so col2im is used:
DeepConvNet's 16→32 and 32→64 layers run their backward about 20% faster that way.

Why transposed: for a fixed tap (c, y, x) the values under it, over all output positions, are
one strided slice of the padded images, ``xpad[:, c, y::stride, x::stride]``, so ``col`` is
built with FH*FW slice copies (the book's own im2col loop) and col2im with FH*FW slice
additions, with no transposing copy of the big matrix. The values are exactly the book's
``util.im2col(x).T`` (tested). The images are kept channel-major, (C, N, H, W) in memory;
``out`` is returned as an (N, FN, out_h, out_w) view of the product's (FN, N, out_h, out_w)
memory, and NumPy operations accept any memory order. ReLU and pooling keep that order, so
the dout that comes back is channel-major too and backward takes its rows (FN, N*out_h*out_w)
as a view, without a copy.

(An earlier version let the positions j run over whole padded rows, so that every copy into
``col`` was one contiguous run, and cut the extra columns off the output. Measured on
DeepConvNet, the plain slices above made the training step about 6% faster: the extra columns
cost 7-25% more products and col, and the cutting cost a copy.)

The big internal arrays (padded images, ``col``) are kept and reused between calls instead of
being allocated every step (fresh megabytes cost page faults); they never leave the layer.
"""

from __future__ import annotations

import numpy as np

from ..util import conv_output_size
from .init import init_std, normal
from .module import Module, Parameter


def _taps(img: np.ndarray, y: int, x: int, stride: int, out_h: int, out_w: int) -> np.ndarray:
    """View (C, N, out_h, out_w) of padded images ``img`` (C, N, Hp, Wp): the value under
    filter tap (y, x) for every output position (n, i, j)."""
    return img[:, :, y:y + stride * (out_h - 1) + 1:stride, x:x + stride * (out_w - 1) + 1:stride]


def _pair(value: int | tuple[int, int], name: str) -> tuple[int, int]:
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair (h, w), got {value!r}")
        return int(value[0]), int(value[1])
    return int(value), int(value)


def _out_size(layer: Module, size: int, filter_size: int, stride: int, pad: int) -> int:
    """conv_output_size, with the layer's name in the error."""
    try:
        return conv_output_size(size, filter_size, stride, pad)
    except ValueError as e:
        raise ValueError(f"{type(layer).__name__}: {e}") from None


def _check_input(layer: Module, x: np.ndarray, C: int, what: str) -> None:
    if not isinstance(x, np.ndarray) or x.ndim != 4 or x.shape[1] != C:
        shape = getattr(x, "shape", None)
        raise ValueError(
            f"{type(layer).__name__}: expected input of shape (N, {C}, H, W) for {what}, "
            f"got shape {shape}"
        )


class Conv2d(Module):
    """2-D convolution with weight ``W`` (FN, C, FH, FW) and bias ``b`` (FN,).

    Parameters
    ----------
    in_channels, out_channels : C and FN.
    kernel_size : FH = FW, or a pair (FH, FW).
    stride, pad : step between windows and zero padding on every side (ints).
    weight_init_std : a number (Gaussian std, the lectures' 0.01) or "he"/"relu" (sqrt(2 /
        fan_in)) or "xavier" (sqrt(1 / fan_in)), with fan_in = C * FH * FW.
    bias : whether to add ``b``.
    dtype : float32 by default; float64 for gradient checks. Input of another dtype is cast
        to it while im2col copies it, so the output and the gradients have this dtype.
    rng : None, a seed or a ``np.random.Generator`` for the initial weights.

    ``compute_dx = False`` makes backward skip dx and return None: the first layer of a
    network never needs the gradient of the images (it is a fifth of a SimpleConvNet step).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int = 1,
        pad: int = 0,
        weight_init_std: float | str = "he",
        bias: bool = True,
        dtype=np.float32,
        rng=None,
    ) -> None:
        super().__init__()
        FH, FW = _pair(kernel_size, "kernel_size")
        fan_in = in_channels * FH * FW
        std = init_std(weight_init_std, fan_in)
        self.W = Parameter(normal((out_channels, in_channels, FH, FW), std, dtype, rng))
        if bias:
            self.b = Parameter(np.zeros(out_channels, dtype=dtype), decay=False)
        self._setup(stride, pad)

    def _setup(self, stride: int, pad: int) -> None:
        if int(stride) != stride or stride < 1 or int(pad) != pad or pad < 0:
            raise ValueError(
                f"{type(self).__name__}: stride must be an int >= 1 and pad an int >= 0, "
                f"got stride={stride!r}, pad={pad!r}"
            )
        self.stride = int(stride)
        self.pad = int(pad)
        self.compute_dx = True
        self.x_shape: tuple[int, ...] | None = None
        self.out_shape: tuple[int, ...] | None = None
        self.col: np.ndarray | None = None  # the transposed im2col matrix of the last forward
        self._scratch: dict[str, np.ndarray] = {}  # work arrays reused between calls

    def _work_array(self, name: str, shape: tuple[int, ...], dtype) -> np.ndarray:
        """A zero-initialised internal array kept between calls (never returned to callers).

        Reusing it saves allocating (and page-faulting) megabytes per step; the parts that are
        never written (padding borders) stay zero as long as the shape stays the same.
        """
        arr = self._scratch.get(name)
        if arr is None or arr.shape != shape or arr.dtype != dtype:
            arr = np.zeros(shape, dtype=dtype)
            self._scratch[name] = arr
        return arr

    def _unfold(self, name: str, x: np.ndarray, FH: int, FW: int, stride: int, pad_h: int,
                pad_w: int, dtype, ones_row: bool = False):
        """The transposed im2col matrix of x (N, C, H, W), zero-padded by (pad_h, pad_w).

        Returns ``col`` (C*FH*FW, N*out_h*out_w) and out_h, out_w. With ``ones_row``, col has
        one more row, of ones (the input that the bias multiplies).
        """
        N, C, H, W = x.shape
        out_h = _out_size(self, H, FH, stride, pad_h)
        out_w = _out_size(self, W, FW, stride, pad_w)
        K = C * FH * FW
        # padded images, channel-major (C, N, Hp, Wp)
        img = self._work_array(name + "_img", (C, N, H + 2 * pad_h, W + 2 * pad_w), dtype)
        img[:, :, pad_h:pad_h + H, pad_w:pad_w + W] = x.transpose(1, 0, 2, 3)
        col = self._work_array(name + "_col", (K + ones_row, N * out_h * out_w), dtype)
        rows = col[:K].reshape(C, FH, FW, N, out_h, out_w)
        for y in range(FH):
            for x_ in range(FW):
                rows[:, y, x_] = _taps(img, y, x_, stride, out_h, out_w)
        if ones_row:
            col[K] = 1
        return col, out_h, out_w

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x (N, C, H, W) → out (N, FN, out_h, out_w)."""
        W = self._parameters["W"].data
        FN, C, FH, FW = W.shape
        _check_input(self, x, C, f"W of shape {W.shape}")
        N = x.shape[0]
        p = self.pad
        b = self._parameters.get("b")
        col, out_h, out_w = self._unfold("x", x, FH, FW, self.stride, p, p, W.dtype,
                                         ones_row=b is not None)
        W_b = W.reshape(FN, -1)
        if b is not None:  # [W | b] @ [col; 1] = W @ col + b
            W_b = np.concatenate([W_b, b.data[:, None].astype(W.dtype)], axis=1)
        out = W_b @ col  # (FN, N*out_h*out_w)

        self.x_shape = x.shape
        self.out_shape = (N, FN, out_h, out_w)
        self.col = col
        return out.reshape(FN, N, out_h, out_w).transpose(1, 0, 2, 3)

    def backward(self, dout: np.ndarray) -> np.ndarray | None:
        """dout (N, FN, out_h, out_w) → dx (N, C, H, W); accumulates dW and db."""
        if self.col is None:
            raise RuntimeError(f"{type(self).__name__}.backward() called before forward()")
        if dout.shape != self.out_shape:
            raise ValueError(
                f"{type(self).__name__}: dout has shape {dout.shape}, but the forward output "
                f"had shape {self.out_shape}"
            )
        params = self._parameters
        W = params["W"]
        FN, C, FH, FW = W.data.shape
        N, _, H, Wd = self.x_shape
        _, _, out_h, out_w = self.out_shape
        col, dtype = self.col, self.col.dtype

        # dout as rows (FN, N*out_h*out_w): a view when dout is channel-major in memory, as
        # the output of forward (and what ReLU and pooling make of it) is
        dout_rows = dout.astype(dtype, copy=False).transpose(1, 0, 2, 3).reshape(FN, -1)
        b = params.get("b")
        K = C * FH * FW
        if W.requires_grad:  # with a bias, the product gives [dW | db]
            dW_db = dout_rows @ col.T  # (FN, K) or (FN, K + 1)
            W.accumulate(dW_db[:, :K].reshape(FN, C, FH, FW))
            if b is not None and b.requires_grad:
                b.accumulate(dW_db[:, K].copy())
        elif b is not None and b.requires_grad:
            b.accumulate(dout_rows.sum(axis=1))
        if not self.compute_dx:
            return None

        p = self.pad
        if self.stride == 1 and p < FH and p < FW and FN <= C:
            # dx = dout convolved with the filters turned by 180 degrees, C and FN swapped
            W_turned = W.data[:, :, ::-1, ::-1].transpose(1, 0, 2, 3).reshape(C, -1)
            dcol, _, _ = self._unfold("dout", dout, FH, FW, 1, FH - 1 - p, FW - 1 - p, dtype)
            dx = W_turned @ dcol  # (C, N*H*W)
            return dx.reshape(C, N, H, Wd).transpose(1, 0, 2, 3)

        dcol = W.data.reshape(FN, -1).T @ dout_rows  # (C*FH*FW, N*out_h*out_w)
        dcol = dcol.reshape(C, FH, FW, N, out_h, out_w)
        dimg = np.zeros((C, N, H + 2 * p, Wd + 2 * p), dtype=dtype)
        for y in range(FH):  # col2im: add every tap's row back where its values came from
            for x_ in range(FW):
                _taps(dimg, y, x_, self.stride, out_h, out_w)[...] += dcol[:, y, x_]
        return dimg[:, :, p:p + H, p:p + Wd].transpose(1, 0, 2, 3)

    def _on_dtype_change(self, dtype: np.dtype) -> None:
        self.col = None
        self._scratch.clear()

    def extra_repr(self) -> str:
        FN, C, FH, FW = self._parameters["W"].data.shape
        return (f"{C}, {FN}, kernel_size=({FH}, {FW}), stride={self.stride}, pad={self.pad}, "
                f"dtype={self._parameters['W'].data.dtype}")


class Convolution(Conv2d):
    """The lectures' ``Convolution(W, b, stride=1, pad=0)`` around the given arrays (no copy).

    ``W`` has shape (FN, C, FH, FW) and ``b`` shape (FN,); updating them in place (as
    ``params[key] -= lr * grads[key]`` does) updates the layer.
    """

    def __init__(self, W: np.ndarray, b: np.ndarray, stride: int = 1, pad: int = 0) -> None:
        Module.__init__(self)
        W = np.asarray(W)
        b = np.asarray(b)
        if W.ndim != 4 or b.shape != (W.shape[0],):
            raise ValueError(
                f"Convolution needs W of shape (FN, C, FH, FW) and b of shape (FN,); got W "
                f"{W.shape}, b {b.shape}"
            )
        self.W = Parameter(W)
        self.b = Parameter(b, decay=False)
        self._setup(stride, pad)


class Flatten(Module):
    """(N, d1, d2, ...) → (N, d1*d2*...); backward reshapes dout back (as a fresh array)."""

    def __init__(self) -> None:
        super().__init__()
        self.x_shape: tuple[int, ...] | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.ndim < 1:
            raise ValueError(f"Flatten: expected input of shape (N, ...), got shape {x.shape}")
        self.x_shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        if self.x_shape is None:
            raise RuntimeError("Flatten.backward() called before forward()")
        n = self.x_shape[0]
        expected = (n, int(np.prod(self.x_shape[1:], dtype=np.int64)))
        if dout.shape != expected:
            raise ValueError(f"Flatten: dout has shape {dout.shape}, expected {expected} "
                             f"(the forward input had shape {self.x_shape})")
        return dout.reshape(self.x_shape).copy()
