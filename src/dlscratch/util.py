"""Output sizes and im2col / col2im: how convolution becomes one matrix product.

Output size of a convolution or pooling window along one axis (one helper for both; the book's
pooling ignores ``pad`` and its convolution silently truncates, this one refuses)::

    out = (input + 2 * pad - filter) / stride + 1        (the division must be exact)

With ``floor_mode=True`` (an explicit opt-in, for networks such as torchvision's ResNet whose
stride-2 layers do not tile their input) the division is floored, as PyTorch does::

    out = floor((input + 2 * pad - filter) / stride) + 1

and the last rows and columns that do not fill a whole step are not used (their gradient is 0).

``im2col`` copies every window of the (zero-padded) input into one row of a matrix, so that a
convolution with FN filters is a single product with the (C*FH*FW, FN) matrix of filters::

    x (N, C, H, W)  --im2col-->  col (N*out_h*out_w, C*FH*FW)
    row (n, i, j) holds the window at output position (i, j) of image n, flattened in (c, y, x)
    order: col[(n*out_h + i)*out_w + j, (c*FH + y)*FW + x] = xpad[n, c, i*stride + y, j*stride + x]

``col2im`` is its adjoint (transpose): it adds every row back into the window it came from, with
``+=`` where windows overlap (stride < filter), then drops the padding. Hence, for any x and c,
``<im2col(x), c> == <x, col2im(c)>`` -- which is exactly what backprop through im2col needs.

The convolution layer (``dlscratch.layers.Conv2d``) builds the same matrix transposed, one row
per filter tap, straight from a channel-major copy of the images; see its module docstring.

The windows are gathered with ``numpy.lib.stride_tricks.sliding_window_view`` (a view, no copy)
and copied once into ``col``; the dtype is preserved (float32 stays float32).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["col2im", "conv_output_size", "im2col"]


def conv_output_size(input_size: int, filter_size: int, stride: int = 1, pad: int = 0, *,
                     floor_mode: bool = False) -> int:
    """Output size of a convolution or pooling window along one axis.

    ``(input_size + 2*pad - filter_size) // stride + 1``, for convolution and pooling alike.

    Parameters
    ----------
    input_size, filter_size, stride, pad : ints (input >= 1, filter >= 1, stride >= 1, pad >= 0).
    floor_mode : False (default) refuses sizes whose windows do not tile the padded input
        exactly; True floors the division as PyTorch does: the last
        ``(input_size + 2*pad - filter_size) % stride`` rows of the padded input are in no window.

    Raises
    ------
    ValueError
        Naming the numbers, when the window is larger than the padded input (in both modes), or,
        unless ``floor_mode``, when the stride does not divide ``input_size + 2*pad - filter_size``.
    """
    for name, value in (("input_size", input_size), ("filter_size", filter_size),
                        ("stride", stride), ("pad", pad)):
        if int(value) != value:
            raise TypeError(f"conv_output_size: {name} must be an integer, got {value!r}")
    if filter_size < 1 or stride < 1 or pad < 0 or input_size < 1:
        raise ValueError(
            f"conv_output_size: need input_size >= 1, filter_size >= 1, stride >= 1 and pad >= 0; "
            f"got input_size={input_size}, filter_size={filter_size}, stride={stride}, pad={pad}"
        )
    span = input_size + 2 * pad - filter_size
    if span < 0:
        raise ValueError(
            f"filter of size {filter_size} is larger than the padded input: input {input_size} "
            f"+ 2*pad {2 * pad} = {input_size + 2 * pad} < {filter_size} (output size would be < 1)"
        )
    if span % stride != 0 and not floor_mode:
        raise ValueError(
            f"stride {stride} does not divide (input + 2*pad - filter) = ({input_size} + 2*{pad} "
            f"- {filter_size}) = {span}: the last window would not fit. Change the padding, the "
            f"stride or the input size (e.g. pad so that {span} + 2*extra is divisible by "
            f"{stride}), or pass floor_mode=True to drop the rows that do not fill a step, as "
            f"PyTorch does"
        )
    return span // stride + 1


def _check_4d(name: str, x: np.ndarray) -> None:
    if x.ndim != 4:
        raise ValueError(f"{name}: expected input of shape (N, C, H, W), got shape {x.shape}")


def _windows(x: np.ndarray, filter_h: int, filter_w: int, stride: int, pad: int,
             out_h: int, out_w: int) -> np.ndarray:
    """View (N, out_h, out_w, C, FH, FW) of the windows of x, zero-padded by ``pad``."""
    img = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)], "constant") if pad else x
    windows = sliding_window_view(img, (filter_h, filter_w), axis=(2, 3))  # (N, C, H', W', FH, FW)
    windows = windows[:, :, :(out_h - 1) * stride + 1:stride, :(out_w - 1) * stride + 1:stride]
    return windows.transpose(0, 2, 3, 1, 4, 5)


def im2col(input_data: np.ndarray, filter_h: int, filter_w: int, stride: int = 1,
           pad: int = 0) -> np.ndarray:
    """Unfold the windows of ``input_data`` (N, C, H, W) into rows: (N*out_h*out_w, C*FH*FW).

    The book's layout: rows in (n, i, j) order, columns in (c, y, x) order. A fresh array of the
    input's dtype. ``out_h = conv_output_size(H, filter_h, stride, pad)``, likewise out_w.
    """
    _check_4d("im2col", input_data)
    N, C, H, W = input_data.shape
    out_h = conv_output_size(H, filter_h, stride, pad)
    out_w = conv_output_size(W, filter_w, stride, pad)
    windows = _windows(input_data, filter_h, filter_w, stride, pad, out_h, out_w)
    col = np.empty((N, out_h, out_w, C, filter_h, filter_w), dtype=input_data.dtype)
    col[...] = windows
    return col.reshape(N * out_h * out_w, C * filter_h * filter_w)


def col2im(col: np.ndarray, input_shape: tuple[int, int, int, int], filter_h: int,
           filter_w: int, stride: int = 1, pad: int = 0) -> np.ndarray:
    """Adjoint of :func:`im2col`: fold rows (N*out_h*out_w, C*FH*FW) back into (N, C, H, W).

    Values from overlapping windows are added (``+=``); the padding is cut off. Returns a fresh
    C-contiguous array of ``col``'s dtype.
    """
    N, C, H, W = input_shape
    out_h = conv_output_size(H, filter_h, stride, pad)
    out_w = conv_output_size(W, filter_w, stride, pad)
    expected = (N * out_h * out_w, C * filter_h * filter_w)
    if col.shape != expected:
        raise ValueError(f"col2im: col has shape {col.shape}, expected {expected} for "
                         f"input {tuple(input_shape)}, filter {filter_h}x{filter_w}")
    col = col.reshape(N, out_h, out_w, C, filter_h, filter_w).transpose(0, 3, 4, 5, 1, 2)
    img = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=col.dtype)
    for y in range(filter_h):
        y_max = y + stride * out_h
        for x in range(filter_w):
            x_max = x + stride * out_w
            img[:, :, y:y_max:stride, x:x_max:stride] += col[:, :, y, x, :, :]
    return np.ascontiguousarray(img[:, :, pad:H + pad, pad:W + pad])
