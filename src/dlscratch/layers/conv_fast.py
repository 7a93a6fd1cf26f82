"""The fast arrangement behind :class:`dlscratch.layers.Conv2d`: the same values as the book's
``im2col`` / ``col2im`` (tested), laid out so that NumPy does less copying.

The book's matrices, for x (N, C, H, W), filters W (FN, C, FH, FW) and M = N*out_h*out_w::

    col = im2col(x)                  (M, C*FH*FW)   one row per output position (n, i, j)
    W_col = W.reshape(FN, -1).T      (C*FH*FW, FN)
    dout as rows                     (M, FN)

Each function here computes one of the book's formulas on the transposed matrices ``col_t =
col.T`` (C*FH*FW, M) and ``dout_t = dout.T`` (FN, M), with the reason for the arrangement.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


def taps(img: np.ndarray, y: int, x: int, stride: int, out_h: int, out_w: int) -> np.ndarray:
    """View (C, N, out_h, out_w) of padded images ``img`` (C, N, Hp, Wp): the value under
    filter tap (y, x) for every output position (n, i, j)."""
    return img[:, :, y:y + stride * (out_h - 1) + 1:stride, x:x + stride * (out_w - 1) + 1:stride]


class Im2colT(NamedTuple):
    """The views through which ``col_t = im2col(x).T`` is filled (:func:`im2col_views`), made
    once for a batch shape and filled for each batch of that shape (:meth:`fill`): a layer
    that builds col for a few images at a time makes them once per call, not once per
    piece."""

    middle: np.ndarray  # (C, N, H, W): the middle of the padded images, where x goes
    rows: np.ndarray  # (C, FH, FW, N, out_h, out_w): col_t[:C*FH*FW]
    taps: np.ndarray  # (C, FH, FW, N, out_h, out_w): taps(img, y, x) for every (y, x)
    col_t: np.ndarray

    def fill(self, x: np.ndarray) -> np.ndarray:
        """Copy x (N, C, H, W) into the padded images (cast to their dtype), then every tap's
        values into col_t (two NumPy calls); returns ``col_t``."""
        self.middle[...] = x.transpose(1, 0, 2, 3)
        self.rows[...] = self.taps
        return self.col_t


def im2col_views(x_shape: tuple[int, ...], img: np.ndarray, col_t: np.ndarray, FH: int,
                 FW: int, stride: int, pad_h: int, pad_w: int, out_h: int, out_w: int
                 ) -> Im2colT:
    """The views that fill ``col_t[:C*FH*FW] = im2col(x).T`` for images x of shape
    ``x_shape`` (N, C, H, W): row (c, y, x) holds the value under that tap for every output
    position (n, i, j)::

        col_t[(c, y, x), (n, i, j)] = xpad[n, c, i*stride + y, j*stride + x]

    Why transposed: for one tap the values over all positions are one strided slice of the
    padded images (:func:`taps`), so col_t is filled with no transposing copy of the big
    matrix. All FH*FW slices are one strided view of ``img``, (C, FH, FW, N, out_h, out_w),
    copied by one NumPy call: the book's loop over the taps without its FH*FW calls (for a
    batch of one image those calls cost as much as the copying).

    ``img`` (C, N, H + 2*pad_h, W + 2*pad_w) is a C-contiguous work array whose borders are
    zero; :meth:`Im2colT.fill` copies x into its middle channel-major. Rows of ``col_t`` past
    C*FH*FW are left alone.
    """
    N, C, H, W = x_shape
    sc, sn, sh, sw = img.strides
    return Im2colT(
        img[:, :, pad_h:pad_h + H, pad_w:pad_w + W],
        col_t[:C * FH * FW].reshape(C, FH, FW, N, out_h, out_w),
        np.ndarray((C, FH, FW, N, out_h, out_w), img.dtype, img, 0,
                   (sc, sh, sw, sn, sh * stride, sw * stride)),
        col_t)


def whole_rows_columns(out_h: int, out_w: int, Wp: int) -> int:
    """Columns per image of col with whole padded rows (:func:`im2col_rows_views`):
    (out_h - 1)*Wp + out_w."""
    return (out_h - 1) * Wp + out_w


def im2col_rows_views(x_shape: tuple[int, ...], img: np.ndarray, col_t: np.ndarray, FH: int,
                      FW: int, pad_h: int, pad_w: int, out_h: int, out_w: int) -> Im2colT:
    """Stride 1: the views of :func:`im2col_views` with whole padded rows, Wp = W + 2*pad_w
    columns per output row (the last row of each image only out_w), (out_h - 1)*Wp + out_w
    columns per image::

        col_t[(c, y, x), (n, i*Wp + j)] = xpad[n, c, i + y, j + x]      j < Wp

    where the columns with j >= out_w are not output positions (j + x runs into the next
    padded row) and are cut off after the product (:func:`output_of_rows`).

    Why: for one (c, y, x, n) these values are one contiguous run of the padded images, which
    NumPy copies at memory speed, while :func:`im2col_views` copies out_w values per loop step
    (28 for MNIST). For a few images whose col stays in the cache this makes a 3x3 layer with
    16-64 channels 1.07-1.22x faster although its product has Wp / out_w times the columns.
    """
    N, C, H, W = x_shape
    L = whole_rows_columns(out_h, out_w, W + 2 * pad_w)
    sc, sn, sh, sw = img.strides
    return Im2colT(
        img[:, :, pad_h:pad_h + H, pad_w:pad_w + W],
        col_t[:C * FH * FW].reshape(C, FH, FW, N, L),
        np.ndarray((C, FH, FW, N, L), img.dtype, img, 0, (sc, sh, sw, sn, sw)),
        col_t)


def output_of_rows(out_rows_t: np.ndarray, N: int, out_h: int, out_w: int, Wp: int
                   ) -> np.ndarray:
    """The output positions (F, N, out_h, out_w) of a product with :func:`im2col_rows_views`'s
    col_t, (F, N*((out_h - 1)*Wp + out_w)): a strided view that leaves out the columns
    j >= out_w."""
    F = out_rows_t.shape[0]
    L = whole_rows_columns(out_h, out_w, Wp)
    sf, sj = out_rows_t.strides
    return np.ndarray((F, N, out_h, out_w), out_rows_t.dtype, out_rows_t, 0,
                      (sf, L * sj, Wp * sj, sj))


def col2im_t(dcol_t: np.ndarray, x_shape: tuple[int, ...], FH: int, FW: int, stride: int,
             pad: int, out_h: int, out_w: int) -> np.ndarray:
    """``col2im(dcol_t.T)``: every tap's row added back where its values came from::

        dxpad[n, c, i*stride + y, j*stride + x] += dcol_t[(c, y, x), (n, i, j)]

    then the padding is cut off. FH*FW strided slice additions (the transposed layout's reason,
    as in :func:`im2col_views`). Returns dx (N, C, H, W), a view of channel-major memory.
    """
    N, C, H, W = x_shape
    dcol = dcol_t.reshape(C, FH, FW, N, out_h, out_w)
    dimg = np.zeros((C, N, H + 2 * pad, W + 2 * pad), dtype=dcol_t.dtype)
    for y in range(FH):
        for x_ in range(FW):
            taps(dimg, y, x_, stride, out_h, out_w)[...] += dcol[:, y, x_]
    return dimg[:, :, pad:pad + H, pad:pad + W].transpose(1, 0, 2, 3)


def filters_and_bias(W: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    """``[W_col.T | b]`` (FN, C*FH*FW + 1), or ``W_col.T`` without a bias.

    With the row of ones at the bottom of col_t, ``[W_col.T | b] @ [col_t; 1] = (col @ W_col +
    b).T``: the bias is added inside the product instead of by a second pass over the output.
    """
    W_rows = W.reshape(W.shape[0], -1)
    if b is None:
        return W_rows
    return np.concatenate([W_rows, b[:, None].astype(W.dtype)], axis=1)


def weight_and_bias_gradient(col_t: np.ndarray, dout_t: np.ndarray) -> np.ndarray:
    """``(col.T @ dout).T`` (FN, rows of col_t): dW.T, and db = sum(dout) as its last column
    when col_t has the row of ones (one product gives both, no second pass over dout)."""
    return dout_t @ col_t.T


def rows(a: np.ndarray, dtype) -> np.ndarray:
    """(N, F, h, w) → (F, N*h*w), cast to ``dtype``: ``a.T`` in the book's row layout.

    A view, without a copy, when ``a`` is channel-major in memory, as the layer's output is
    (and what ReLU and pooling make of it): dout's rows cost nothing.
    """
    return a.astype(dtype, copy=False).transpose(1, 0, 2, 3).reshape(a.shape[1], -1)


def images(a_t: np.ndarray, N: int, h: int, w: int) -> np.ndarray:
    """(F, N*h*w) → (N, F, h, w), a view of the same (channel-major) memory."""
    return a_t.reshape(a_t.shape[0], N, h, w).transpose(1, 0, 2, 3)


def turned_filters_pay(stride: int, pad: int, FH: int, FW: int, FN: int, C: int) -> bool:
    """Whether :func:`turned_filters` gives dx faster than col2im.

    Only for stride 1 and pad < FH, FW (dx is then a plain convolution of dout); and only with
    FN <= C, since its product has FN*FH*FW inner terms against col2im's FN and its col_t
    FN*FH*FW rows against col2im's C*FH*FW.
    """
    return stride == 1 and pad < FH and pad < FW and FN <= C


def turned_filters(W: np.ndarray) -> np.ndarray:
    """The filters turned by 180 degrees, C and FN swapped, as rows (C, FN*FH*FW).

    With stride 1, ``dx = col2im(dout @ W_col.T)`` equals the convolution of dout, zero-padded
    by FH-1-pad (FW-1-pad), with these filters::

        dx[n, c] = sum_f conv(dout[n, f], W[f, c, ::-1, ::-1])

    which is one im2col and one product: no scatter-add of FH*FW slices into dx.
    """
    C = W.shape[1]
    return W[:, :, ::-1, ::-1].transpose(1, 0, 2, 3).reshape(C, -1)
