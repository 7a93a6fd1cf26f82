"""Sums over a batch of images per channel: BatchNorm's statistics and gradients, and a
convolution's db.

For a (N, C, H, W) and b of the same shape::

    channel_sums(a)[c]    = sum_n ( sum_{h, w} a[n, c, h, w] )
    channel_dots(a, b)[c] = sum_n ( sum_{h, w} a[n, c, h, w] * b[n, c, h, w] )

When the arrays are channel-major in memory (C, N, H, W), as a convolution's output and what
ReLU, BatchNorm and pooling make of it are, every (c, n) is one contiguous row of H*W values:
the inner sums are one product of those rows with a vector of ones (``rows @ ones``), or one
``np.einsum`` of row-wise dot products, and the sums over n are NumPy's.

Why: NumPy's ``a.sum(axis=(0, 2, 3))`` took 4x the time of the products (0.146 against 0.036
ms for 50x16x28x28 float32, one thread), and ``(a * b).sum(...)`` makes a new array of the
batch's size before summing it (0.280 against 0.152 ms). Why per image: a product over a whole
channel (50 x 784 values in one sum) was as fast but 2.5x less accurate in float32 than NumPy's
pairwise sums, and BatchNorm's backward (dout - dbeta/m - xn * dgamma/m) magnifies that
error; row by row it is as accurate (6e-8 against NumPy's 5e-8 of the sum). Other layouts and
shapes, and images of fewer than MIN_ROW values, take NumPy's sums. Measurements:
benchmarks/README.md.
"""

from __future__ import annotations

import numpy as np

#: Rows shorter than this take NumPy's sums: per row, the products cost more than they save
#: (H*W = 1, 4 or 16: 1.3-2.6x NumPy's time; 49: 0.7x)
MIN_ROW = 32


def _image_rows(a: np.ndarray) -> np.ndarray | None:
    """(C*N, H*W), a view of a (N, C, H, W) whose memory is channel-major and whose images have
    at least MIN_ROW values; else None."""
    if a.ndim != 4 or a.dtype.kind != "f" or a.shape[2] * a.shape[3] < MIN_ROW:
        return None
    rows = a.transpose(1, 0, 2, 3)
    if not rows.flags.c_contiguous:
        return None
    return rows.reshape(a.shape[1] * a.shape[0], -1)


def channel_sums(a: np.ndarray) -> np.ndarray:
    """``a.sum(axis=(0, 2, 3))`` (C,) of a (N, C, H, W); products with ones per (c, n) when a
    is channel-major in memory."""
    rows = _image_rows(a)
    if rows is None:
        return a.sum(axis=(0, 2, 3))
    N, C = a.shape[:2]
    return (rows @ np.ones(rows.shape[1], dtype=a.dtype)).reshape(C, N).sum(axis=1)


def channel_dots(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(a * b).sum(axis=(0, 2, 3))`` (C,) of a and b (N, C, H, W); dot products per (c, n)
    when both are channel-major in memory and of one dtype and shape."""
    rows_a, rows_b = _image_rows(a), _image_rows(b)
    if rows_a is None or rows_b is None or a.dtype != b.dtype or a.shape != b.shape:
        return (a * b).sum(axis=(0, 2, 3))
    N, C = a.shape[:2]
    return np.einsum("ij,ij->i", rows_a, rows_b).reshape(C, N).sum(axis=1)
