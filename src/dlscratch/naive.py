"""The lectures' loop versions of convolution and pooling: slow, plain, and the truth in tests.

Everything here is written with explicit ``for`` loops over output positions, exactly as the
lecture notes (seed 001) compute a convolution by hand. Nothing is vectorised beyond one
``np.sum`` (or ``np.max`` / ``np.mean``) over a window, so each line can be checked on paper.
The fast layers in :mod:`dlscratch.layers.conv` are tested against these functions.

Output size of a window operation (convolution or pooling) along one axis::

    out = (in + 2 * pad - filter) // stride + 1

Two families:

* the lectures' 2-D examples on a single image: :func:`conv2d`, :func:`max_pooling`,
  :func:`average_pooling` (the lecture adds a bias of 3 *outside* the convolution:
  ``conv2d(x, kernel) + 3``);
* batched references with the layers' shapes: :func:`conv2d_nchw`, :func:`max_pool_nchw`,
  :func:`avg_pool_nchw` on ``x`` of shape (N, C, H, W).

Like the layers (and unlike the book's code, which truncates), these functions refuse sizes that
the stride does not divide: ``(in + 2 * pad - filter) % stride`` must be 0.

This module imports only NumPy, so it can be read and run on its own.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "average_pooling", "avg_pool_nchw", "conv2d", "conv2d_nchw", "max_pool_nchw", "max_pooling",
]


def _out_size(size: int, filter_size: int, stride: int, pad: int) -> int:
    """(size + 2*pad - filter_size) // stride + 1, refusing sizes the stride does not divide."""
    span = size + 2 * pad - filter_size
    if stride < 1 or span < 0 or span % stride != 0:
        raise ValueError(
            f"window {filter_size} with stride {stride} and pad {pad} does not tile an input "
            f"of size {size}: (size + 2*pad - filter) = {span} must be >= 0 and divisible by "
            f"the stride"
        )
    return span // stride + 1


# ----------------------------------------------------------------------------- the lectures' 2-D
def conv2d(x: np.ndarray, kernel: np.ndarray, pad: int = 0, stride: int = 1) -> np.ndarray:
    """2-D convolution (cross-correlation, as in deep learning) of one image by one kernel.

    ``x``: (H, W), ``kernel``: (FH, FW) → output (out_h, out_w) with
    ``out_h = (H + 2*pad - FH) // stride + 1``::

        output[i, j] = sum(padded[i*stride : i*stride + FH, j*stride : j*stride + FW] * kernel)

    The input is zero-padded by ``pad`` on every side. No bias: the lecture adds it afterwards.
    """
    x = np.asarray(x, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    input_height, input_width = x.shape
    kernel_height, kernel_width = kernel.shape
    output_height = _out_size(input_height, kernel_height, stride, pad)
    output_width = _out_size(input_width, kernel_width, stride, pad)
    padded_input = np.pad(x, ((pad, pad), (pad, pad)), mode="constant")
    output = np.zeros((output_height, output_width))
    for i in range(output_height):
        for j in range(output_width):
            row, col = i * stride, j * stride
            window = padded_input[row:row + kernel_height, col:col + kernel_width]
            output[i, j] = np.sum(window * kernel)
    return output


def _pool2d(x: np.ndarray, size: int, stride: int, reduce) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    input_height, input_width = x.shape
    output_height = _out_size(input_height, size, stride, 0)
    output_width = _out_size(input_width, size, stride, 0)
    result = np.zeros((output_height, output_width))
    for i in range(output_height):
        for j in range(output_width):
            row_start = i * stride
            row_end = row_start + size
            col_start = j * stride
            col_end = col_start + size
            result[i, j] = reduce(x[row_start:row_end, col_start:col_end])
    return result


def max_pooling(x: np.ndarray, size: int = 2, stride: int = 2) -> np.ndarray:
    """Max pooling of one (H, W) image: the largest value of each ``size x size`` window.

    ``out_h = (H - size) // stride + 1``; ``result[i, j] = max(x[i*stride : i*stride + size,
    j*stride : j*stride + size])``.
    """
    return _pool2d(x, size, stride, np.max)


def average_pooling(x: np.ndarray, size: int = 2, stride: int = 2) -> np.ndarray:
    """Average pooling of one (H, W) image: the mean of each ``size x size`` window."""
    return _pool2d(x, size, stride, np.mean)


# ------------------------------------------------------------------------- batched references
def conv2d_nchw(
    x: np.ndarray, W: np.ndarray, b: np.ndarray | None = None, stride: int = 1, pad: int = 0
) -> np.ndarray:
    """Batched convolution with loops: x (N, C, H, W), W (FN, C, FH, FW), b (FN,) or None.

    Returns (N, FN, out_h, out_w), float64::

        out[n, f, i, j] = b[f] + sum_{c,p,q} xpad[n, c, i*stride + p, j*stride + q] * W[f, c, p, q]
    """
    x = np.asarray(x, dtype=np.float64)
    W = np.asarray(W, dtype=np.float64)
    N, C, H, Wd = x.shape
    FN, C2, FH, FW = W.shape
    if C != C2:
        raise ValueError(f"conv2d_nchw: x has {C} channels but W has shape {W.shape}")
    out_h = _out_size(H, FH, stride, pad)
    out_w = _out_size(Wd, FW, stride, pad)
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    out = np.zeros((N, FN, out_h, out_w))
    for n in range(N):
        for f in range(FN):
            for i in range(out_h):
                for j in range(out_w):
                    window = xp[n, :, i * stride:i * stride + FH, j * stride:j * stride + FW]
                    out[n, f, i, j] = np.sum(window * W[f])
            if b is not None:
                out[n, f] += float(b[f])
    return out


def _pool_nchw(x, pool_h, pool_w, stride, pad, pad_value, reduce):
    x = np.asarray(x, dtype=np.float64)
    N, C, H, Wd = x.shape
    out_h = _out_size(H, pool_h, stride, pad)
    out_w = _out_size(Wd, pool_w, stride, pad)
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), constant_values=pad_value)
    out = np.zeros((N, C, out_h, out_w))
    for n in range(N):
        for c in range(C):
            for i in range(out_h):
                for j in range(out_w):
                    rows = slice(i * stride, i * stride + pool_h)
                    cols = slice(j * stride, j * stride + pool_w)
                    out[n, c, i, j] = reduce(xp[n, c, rows, cols])
    return out


def max_pool_nchw(
    x: np.ndarray, pool_h: int, pool_w: int, stride: int | None = None, pad: int = 0
) -> np.ndarray:
    """Batched max pooling with loops: x (N, C, H, W) → (N, C, out_h, out_w), float64.

    ``stride`` defaults to ``pool_h``. Padding uses -inf, so a padded cell never wins.
    """
    stride = pool_h if stride is None else stride
    return _pool_nchw(x, pool_h, pool_w, stride, pad, -np.inf, np.max)


def avg_pool_nchw(
    x: np.ndarray, pool_h: int, pool_w: int, stride: int | None = None, pad: int = 0
) -> np.ndarray:
    """Batched average pooling with loops: x (N, C, H, W) → (N, C, out_h, out_w), float64.

    ``stride`` defaults to ``pool_h``. Padding uses zeros and every window is divided by
    ``pool_h * pool_w`` (padded cells count, as PyTorch's ``count_include_pad=True``).
    """
    stride = pool_h if stride is None else stride
    return _pool_nchw(x, pool_h, pool_w, stride, pad, 0.0, np.mean)
