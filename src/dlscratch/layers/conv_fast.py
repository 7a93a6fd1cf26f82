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

    middle: np.ndarray  # (C, N, H, W): where x goes in the padded images
    rows: np.ndarray  # col_t[:C*FH*FW] as (C, FH, FW, ...)
    taps: np.ndarray  # the padded images' values under every tap (y, x), shaped as rows
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


class SideBySide(NamedTuple):
    """n images of H x W side by side in one wide padded image, for a stride-1 convolution with
    FH x FW filters and padding (pad_h, pad_w) <= (FH - 1, FW - 1)::

        wide[c, pad_h + r, pad_w + k*(W + pad_w) + v] = x[k, c, r, v]       zeros elsewhere

    (C, Hp, Wr) with Hp = H + 2*pad_h and Wr = pad_w + n*(W + pad_w): each image's right
    padding is the next one's left padding. Stored flat, (C, Hp*Wr), its convolution is one
    im2col and one product over ``columns`` positions q, from which every image's output is
    read (:meth:`positions`)::

        col_t[(c, y, x), q] = wide[c].flat[q + y*Wr + x]
        out of image k at (i, j):  q = i*Wr + k*(W + pad_w) + j        (i < out_h, j < out_w)

    The other columns (between the images, and where a row runs into the next) are not output
    positions. Why: the copy into col_t is one contiguous run per (c, y, x) instead of out_w
    values per loop step of NumPy's strided copy, and the images share their padding: col
    has about (W + pad_w) / out_w times the output positions' columns (per image separately:
    (W + 2*pad_w) / out_w). For a few images whose col stays in the cache, col and product
    per image take 1/1.32 to 1/1.16 of the time of a col copied out_w values at a time, for 3x3
    layers with 16-64 channels (benchmarks/README.md).
    """

    n: int
    H: int
    W: int
    pad_h: int
    pad_w: int
    out_h: int
    out_w: int

    @property
    def Wr(self) -> int:
        """The wide image's row length, pad_w + n*(W + pad_w)."""
        return self.pad_w + self.n * (self.W + self.pad_w)

    @property
    def columns(self) -> int:
        """col_t's columns: up to the last output position, (out_h - 1)*Wr + (n - 1)*(W +
        pad_w) + out_w."""
        return (self.out_h - 1) * self.Wr + (self.n - 1) * (self.W + self.pad_w) + self.out_w

    def images(self, wide: np.ndarray) -> np.ndarray:
        """The view (C, n, H, W) of ``wide`` (C, Hp*Wr) where the images go."""
        sc, s = wide.strides
        return np.ndarray((wide.shape[0], self.n, self.H, self.W), wide.dtype, wide,
                          (self.pad_h * self.Wr + self.pad_w) * s,
                          (sc, (self.W + self.pad_w) * s, self.Wr * s, s))

    def positions(self, a_t: np.ndarray) -> np.ndarray:
        """The output positions (F, n, out_h, out_w) of a product ``a_t`` (F, columns): a
        strided view."""
        sf, s = a_t.strides
        return np.ndarray((a_t.shape[0], self.n, self.out_h, self.out_w), a_t.dtype, a_t, 0,
                          (sf, (self.W + self.pad_w) * s, self.Wr * s, s))


def side_by_side_fits(FH: int, FW: int, stride: int, pad: int) -> bool:
    """Whether :class:`SideBySide` can lay out a convolution's images: stride 1, and padding
    under the filter size (else one image's outputs would reach into the next one's)."""
    return stride == 1 and pad < FH and pad < FW


def im2col_side_by_side_views(layout: SideBySide, wide: np.ndarray, col_t: np.ndarray, C: int,
                              FH: int, FW: int) -> Im2colT:
    """The views of :func:`im2col_views` for C-channel images laid out as ``layout``
    (:class:`SideBySide`, whose formula they fill). ``wide`` (C, Hp*Wr) is a work array that
    is zero outside the images' places; ``col_t`` has ``layout.columns`` columns."""
    sc, s = wide.strides
    L = layout.columns
    return Im2colT(
        layout.images(wide),
        col_t[:C * FH * FW].reshape(C, FH, FW, L),
        np.ndarray((C, FH, FW, L), wide.dtype, wide, 0, (sc, layout.Wr * s, s, s)),
        col_t)


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
    return side_by_side_fits(FH, FW, stride, pad) and FN <= C


def turned_filters(W: np.ndarray) -> np.ndarray:
    """The filters turned by 180 degrees, C and FN swapped, as rows (C, FN*FH*FW).

    With stride 1, ``dx = col2im(dout @ W_col.T)`` equals the convolution of dout, zero-padded
    by FH-1-pad (FW-1-pad), with these filters::

        dx[n, c] = sum_f conv(dout[n, f], W[f, c, ::-1, ::-1])

    which is one im2col and one product: no scatter-add of FH*FW slices into dx.
    """
    C = W.shape[1]
    return W[:, :, ::-1, ::-1].transpose(1, 0, 2, 3).reshape(C, -1)
