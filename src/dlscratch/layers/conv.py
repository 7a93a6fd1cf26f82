"""Convolution (Conv2d, the lectures' Convolution) as one matrix product, and Flatten.

Shapes (the lectures' names)::

    x   (N, C, H, W)         input images
    W   (FN, C, FH, FW)      FN filters of C channels, FH x FW each;  b (FN,)
    out (N, FN, out_h, out_w),  out_h = (H + 2*pad - FH) / stride + 1   (must divide exactly;
                                floored as in PyTorch with floor_mode=True)

    out[n, f, i, j] = b[f] + sum_{c, y, x} xpad[n, c, i*stride + y, j*stride + x] * W[f, c, y, x]

As in the lecture, the windows are unfolded into a matrix (im2col) so that the convolution is
one product. With ``col = im2col(x)`` (N*out_h*out_w, C*FH*FW), the filters as columns
``W_col = W.reshape(FN, -1).T`` (C*FH*FW, FN) and dout as rows (N*out_h*out_w, FN)::

    forward:   out = col @ W_col + b
    backward:  dW  = col.T @ dout              (reshaped to (FN, C, FH, FW))
               db  = sum(dout, axis=0)
               dx  = col2im(dout @ W_col.T)

``Conv2d.forward`` and ``Conv2d.backward`` read so, one named helper per formula. The helpers
(in :mod:`dlscratch.layers.conv_fast`, each with its formula and reason) compute the same
values in a faster arrangement:

* ``col`` is kept transposed, one row per filter tap (built by FH*FW strided slice copies,
  no transposing copy), and the output channel-major, so dout's rows come back as a view;
* ``col`` has an extra row of ones, the input that the bias multiplies: one product gives
  ``out = [W | b] @ [col; 1]`` and, in backward, ``[dW | db]``;
* with stride 1 and FN <= C, dx is computed as the convolution of dout with the filters
  turned by 180 degrees: a smaller product than col2im's, and no scatter-add.

The big internal arrays are reused between calls instead of being allocated every step, and
never leave the layer: in training mode ``col`` is the layer's own (backward needs it); the
padded images, and in eval mode ``col`` too, are needed only during the call and live in work
arrays that every convolution of the thread shares (:mod:`dlscratch.layers.conv_work`).
Inside the threads of ``Net.set_num_threads`` col is built a few images at a time, in the
processor's cache (:mod:`dlscratch.layers.conv_pieces`). Measurements: benchmarks/README.md.
"""

from __future__ import annotations

import numpy as np

from ..util import conv_output_size
from .conv_fast import (
    col2im_t,
    filters_and_bias,
    images,
    rows,
    turned_filters,
    turned_filters_pay,
    weight_and_bias_gradient,
)
from .conv_pieces import ConvPieces
from .conv_work import ConvWorkArrays
from .init import init_std, normal
from .module import Module, Parameter


def _pair(value: int | tuple[int, int], name: str) -> tuple[int, int]:
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair (h, w), got {value!r}")
        return int(value[0]), int(value[1])
    return int(value), int(value)


def _out_size(layer: Module, size: int, filter_size: int, stride: int, pad: int) -> int:
    """conv_output_size with the layer's ``floor_mode``, and the layer's name in the error."""
    try:
        return conv_output_size(size, filter_size, stride, pad,
                                floor_mode=getattr(layer, "floor_mode", False))
    except ValueError as e:
        raise ValueError(f"{type(layer).__name__}: {e}") from None


def _check_input(layer: Module, x: np.ndarray, W_shape: tuple[int, ...]) -> None:
    C = W_shape[1]
    if not isinstance(x, np.ndarray) or x.ndim != 4 or x.shape[1] != C:
        shape = getattr(x, "shape", None)
        raise ValueError(
            f"{type(layer).__name__}: expected input of shape (N, {C}, H, W) for W of shape "
            f"{W_shape}, got shape {shape}"
        )


class Conv2d(ConvPieces, ConvWorkArrays, Module):
    """2-D convolution with weight ``W`` (FN, C, FH, FW) and bias ``b`` (FN,).

    Parameters
    ----------
    in_channels, out_channels : C and FN.
    kernel_size : FH = FW, or a pair (FH, FW).
    stride, pad : step between windows and zero padding on every side (ints).
    weight_init_std : a number (Gaussian std, the lectures' 0.01) or "he"/"relu" (sqrt(2 /
        fan_in)) or "xavier" (sqrt(1 / fan_in)), with fan_in = C * FH * FW.
    bias : whether to add ``b``. ``bias=False`` leaves no ``b`` parameter (``named_parameters``
        lists only ``W``) and no row of ones in ``col``, as in ResNet, where a BatchNorm follows.
    dtype : float32 by default; float64 for gradient checks. Input of another dtype is cast
        to it while im2col copies it, so the output and the gradients have this dtype.
    rng : None, a seed or a ``np.random.Generator`` for the initial weights.
    floor_mode : keyword-only. False (default) refuses input sizes whose windows do not tile
        the padded input; True floors ``out_h = (H + 2*pad - FH) // stride + 1`` as PyTorch
        does (the last rows and columns that do not fill a step are unused; their dx is 0).

    Notes
    -----
    ``compute_dx = False`` makes backward skip dx and return None: the first layer of a
    network never needs the gradient of the images (it is a fifth of a SimpleConvNet step).
    A frozen ``W`` (or ``b``) is not given a gradient: its product (sum) is not computed.
    In eval mode the forward keeps no col (inference holds one scratch for all layers), and a
    stride-1 layer builds it a few images at a time where that is faster
    (:func:`~dlscratch.layers.conv_work.eval_piece_bytes`); a backward after it builds col
    again from the input (as training does inside ``conv_in_pieces``,
    :mod:`dlscratch.layers.conv_pieces`).
    """

    supports_compute_dx = True

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
        *,
        floor_mode: bool = False,
    ) -> None:
        super().__init__()
        FH, FW = _pair(kernel_size, "kernel_size")
        fan_in = in_channels * FH * FW
        std = init_std(weight_init_std, fan_in)
        self.W = Parameter(normal((out_channels, in_channels, FH, FW), std, dtype, rng))
        if bias:
            self.b = Parameter(np.zeros(out_channels, dtype=dtype), decay=False)
        self._setup(stride, pad, floor_mode)

    def _setup(self, stride: int, pad: int, floor_mode: bool = False) -> None:
        if int(stride) != stride or stride < 1 or int(pad) != pad or pad < 0:
            raise ValueError(
                f"{type(self).__name__}: stride must be an int >= 1 and pad an int >= 0, "
                f"got stride={stride!r}, pad={pad!r}"
            )
        self.stride = int(stride)
        self.pad = int(pad)
        self.floor_mode = bool(floor_mode)
        self.x_shape: tuple[int, ...] | None = None
        self.out_shape: tuple[int, ...] | None = None
        self.col: np.ndarray | None = None  # col.T of the last forward (+ the row of ones)
        self._x: np.ndarray | None = None  # the input of the last forward that kept no col
        self._scratch: dict[str, np.ndarray] = {}  # work arrays reused between calls
        self._sizes: dict[tuple[int, ...], tuple[int, int]] = {}  # see _out_sizes

    # ------------------------------------------------------------------ the book's formulas
    def forward(self, x: np.ndarray) -> np.ndarray:
        """x (N, C, H, W) → out (N, FN, out_h, out_w):  ``out = col @ W_col + b``."""
        W = self._parameters["W"].data
        _check_input(self, x, W.shape)
        b = self._parameters.get("b")
        W_b = filters_and_bias(W, None if b is None else b.data)  # [W_col.T | b]
        if not self.training or self._trains_in_pieces(x):  # the same product, in pieces
            out_t, out_h, out_w = self._forward_in_pieces(x, W_b)
            self._keep_for_backward(x, None, out_h, out_w)
            return images(out_t, x.shape[0], out_h, out_w)
        col_t, out_h, out_w = self._im2col_t("x", x, self.stride, self.pad,
                                             ones_row=b is not None)
        out_t = W_b @ col_t  # (col @ W_col + b).T
        self._keep_for_backward(x, col_t, out_h, out_w)
        return images(out_t, x.shape[0], out_h, out_w)

    def _keep_for_backward(self, x: np.ndarray, col_t: np.ndarray | None, out_h: int,
                           out_w: int) -> None:
        """Keep col for backward, or (``col_t`` None: built in pieces) only x itself.

        In eval mode, and in training mode in pieces (:mod:`dlscratch.layers.conv_pieces`),
        col was built in the work array that all convolutions share and is not kept, and the
        layer's own work arrays are released: a network holds one im2col scratch, not one
        per layer. Backward then builds col again from x (eval-mode gradients stay correct,
        as BatchNorm's do).
        """
        self.x_shape = x.shape
        self.out_shape = (x.shape[0], self._parameters["W"].data.shape[0], out_h, out_w)
        if col_t is not None:
            self.col, self._x = col_t, None
        else:
            self.col, self._x = None, x
            self._scratch.clear()

    def backward(self, dout: np.ndarray) -> np.ndarray | None:
        """dout (N, FN, out_h, out_w) → dx (N, C, H, W); accumulates dW and db::

            dW = col.T @ dout        db = sum(dout)        dx = col2im(dout @ W_col.T)
        """
        self._check_dout(dout)
        if self.col is None and self._backward_in_pieces():
            return self._gradients_in_pieces(dout)  # the same formulas, a few images at a time
        if self.col is None:  # the forward kept x, not col: col from x, again
            self.col = self._im2col_t("x", self._x, self.stride, self.pad,
                                      ones_row="b" in self._parameters)[0]
        dout_t = rows(dout, self.col.dtype)  # dout.T (FN, N*out_h*out_w), a view
        dW, db = self._weight_and_bias_gradients(dout_t)  # dW = col.T @ dout, db = sum(dout)
        if dW is not None:
            self._parameters["W"].accumulate(dW)
        if db is not None:
            self._parameters["b"].accumulate(db)
        if not self.compute_dx:
            return None
        return self._input_gradient(dout, dout_t)  # dx = col2im(dout @ W_col.T)

    # ------------------------------------------------------------------ the helpers
    def _weight_and_bias_gradients(self, dout_t: np.ndarray):
        """``dW = col.T @ dout`` (FN, C, FH, FW) and ``db = sum(dout)`` (FN,); None for a
        frozen parameter (nothing is computed for it).

        When W is trained, one product gives both: col's row of ones makes the last column of
        ``dout.T @ [col | 1]`` the bias gradient.
        """
        W, b = self._parameters["W"], self._parameters.get("b")
        train_b = b is not None and b.requires_grad
        if not W.requires_grad:
            return None, (dout_t.sum(axis=1) if train_b else None)
        K = W.data[0].size
        dW_db = weight_and_bias_gradient(self.col, dout_t)  # (FN, K) or (FN, K + 1)
        db = dW_db[:, K].copy() if train_b else None
        return dW_db[:, :K].reshape(W.data.shape), db

    def _input_gradient(self, dout: np.ndarray, dout_t: np.ndarray) -> np.ndarray:
        """``dx = col2im(dout @ W_col.T)`` (N, C, H, W); with stride 1 and FN <= C computed as
        the convolution of dout with the turned filters, which is faster there."""
        W = self._parameters["W"].data
        FN, C, FH, FW = W.shape
        _, _, out_h, out_w = self.out_shape
        p = self.pad
        if turned_filters_pay(self.stride, p, FH, FW, FN, C):
            N, _, H, Wd = self.x_shape
            dout_col_t, _, _ = self._im2col_t("dout", dout, 1, (FH - 1 - p, FW - 1 - p),
                                              filters=(FH, FW), dtype=self.col.dtype)
            return images(turned_filters(W) @ dout_col_t, N, H, Wd)
        dcol_t = W.reshape(FN, -1).T @ dout_t  # (dout @ W_col.T).T: (C*FH*FW, N*out_h*out_w)
        return col2im_t(dcol_t, self.x_shape, FH, FW, self.stride, p, out_h, out_w)

    def _out_sizes(self, *sizes: int) -> tuple[int, int]:
        """(out_h, out_w) for (H, W, FH, FW, stride, pad_h, pad_w), remembered per input size
        (checked once: the check costs as much as a batch of one image's copying)."""
        key = (*sizes, self.floor_mode)
        out = self._sizes.get(key)
        if out is None:
            H, Wd, FH, FW, stride, pad_h, pad_w = sizes
            out = self._sizes[key] = (_out_size(self, H, FH, stride, pad_h),
                                        _out_size(self, Wd, FW, stride, pad_w))
        return out

    def _check_dout(self, dout: np.ndarray) -> None:
        if self.col is None and self._x is None:
            raise RuntimeError(f"{type(self).__name__}.backward() called before forward()")
        if dout.shape != self.out_shape:
            raise ValueError(
                f"{type(self).__name__}: dout has shape {dout.shape}, but the forward output "
                f"had shape {self.out_shape}"
            )

    def _on_dtype_change(self, dtype: np.dtype) -> None:
        self.col = self._x = None
        self._scratch.clear()

    def extra_repr(self) -> str:
        FN, C, FH, FW = self._parameters["W"].data.shape
        extra = ", bias=False" if "b" not in self._parameters else ""
        extra += ", floor_mode=True" if self.floor_mode else ""
        return (f"{C}, {FN}, kernel_size=({FH}, {FW}), stride={self.stride}, pad={self.pad}"
                f"{extra}, dtype={self._parameters['W'].data.dtype}")


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
