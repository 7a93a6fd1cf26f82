"""Conv2d in cache-sized pieces: col built, multiplied and dropped a few images at a time.

Inside :func:`~dlscratch.layers.conv_work.conv_in_pieces` (every thread of
``Net.set_num_threads`` runs in it) a convolution does not build col for the whole batch but
for pieces of n images, as many as fit in the thread's budget (1 MiB of col)::

    forward:   out[piece]    = [W_col.T | b] @ [col(piece); 1]
    backward:  [dW | db].T  += [col(piece); 1] @ dout[piece].T          col built again
               dx[piece]     = conv(dout[piece], turned filters)        FN <= C
                             = col2im(W_col @ dout[piece])              FN > C

Why: a piece's col is still in the processor's cache when its product reads it, while the
whole batch's col (22 MB for DeepConvNet's 16-filter layer at 50 images) goes out to memory
and back (a product with 16 filters: 54-62 GFLOP/s on a piece, 45 on the whole). The layer
keeps its input x instead of col (9 times smaller for 3x3 filters) and builds col again in
backward.

Stride-1 layers with more rows in col than filters build col with whole padded rows
(:func:`~dlscratch.layers.conv_fast.im2col_rows_views`): contiguous copies, a product with
Wp / out_w times the columns, and dout laid out the same way with zeros in the columns that
are not output positions (so that they add nothing to dW, db or dx). Only these layers train in
pieces; the others (stride 2, the 1-channel first layer) keep col as outside the threads.

Every column of a product is the same sum as with the whole batch, and dW is the sum of the
pieces' products: the same values up to the rounding of the sums' order (float64: 1e-15).
Measurements: benchmarks/README.md.
"""

from __future__ import annotations

import numpy as np

from .conv_fast import output_of_rows, turned_filters, turned_filters_pay, whole_rows_columns
from .conv_work import piece_bytes, shared_work_array, shared_zeroed_array


class ConvPieces:
    """The pieces of :class:`~dlscratch.layers.Conv2d` (a mixin: the layer has
    ``_parameters``, ``stride``, ``pad``, ``training``, ``compute_dx``, ``x_shape``,
    ``out_shape``, ``_x`` (the input it kept), ``_out_sizes`` and ``_im2col_views``)."""

    def _whole_rows(self, C: int) -> bool:
        """Whether col is built with whole padded rows: stride 1, and more rows in col than
        filters (the 1-channel first layer of DeepConvNet, 9 rows for 16 filters, runs 0.7x
        the speed with them: cutting the output out costs more than the copies save)."""
        FN, _, FH, FW = self._parameters["W"].data.shape
        return self.stride == 1 and C * FH * FW > FN

    def _trains_in_pieces(self, x: np.ndarray) -> bool:
        """Training mode in pieces: inside ``conv_in_pieces``, for layers with whole rows."""
        return self.training and piece_bytes() is not None and self._whole_rows(x.shape[1])

    def _backward_in_pieces(self) -> bool:
        """Whether backward goes piece by piece: the forward kept x (not col), inside
        ``conv_in_pieces``, for layers with whole rows."""
        return (self._x is not None and piece_bytes() is not None
                and self._whole_rows(self._x.shape[1]))

    def _forward_in_pieces(self, x: np.ndarray, W_b: np.ndarray
                           ) -> tuple[np.ndarray, int, int]:
        """``out.T = [W_col.T | b] @ [col; 1]`` (FN, N*out_h*out_w) piece by piece, col in
        the work array that every convolution of the thread shares; and out_h, out_w.

        Outside ``conv_in_pieces`` (eval mode): the whole batch in one product. The views
        that fill a piece's col are made once per call: made for every piece, they cost as
        much as a tenth of the copying.
        """
        N, C, H, Wd = x.shape
        FN = W_b.shape[0]
        FH, FW = self._parameters["W"].data.shape[2:]
        out_h, out_w = self._out_sizes(H, Wd, FH, FW, self.stride, self.pad, self.pad)
        ones_row = "b" in self._parameters
        budget = piece_bytes()
        if budget is None:
            col_t = self._im2col_t("x", x, self.stride, self.pad, ones_row=ones_row,
                                   work=shared_work_array)[0]
            return W_b @ col_t, out_h, out_w
        whole_rows = self._whole_rows(C)
        Wp = Wd + 2 * self.pad
        per_image = whole_rows_columns(out_h, out_w, Wp) if whole_rows else out_h * out_w
        step = max(1, budget // (W_b.shape[1] * per_image * W_b.itemsize))
        out_t = np.empty((FN, N * out_h * out_w), dtype=W_b.dtype)
        out = out_t.reshape(FN, N, out_h, out_w)
        P = out_h * out_w
        col, views_n = None, 0
        for i in range(0, N, step):
            piece = x[i:i + step]
            n = len(piece)
            if n != views_n:  # the first piece, and a shorter last one
                col, views_n = self._im2col_views(
                    "x", piece.shape, self.stride, self.pad, ones_row=ones_row,
                    work=shared_work_array, whole_rows=whole_rows)[0], n
            if whole_rows:
                out_rows_t = shared_work_array("x_out", (FN, n * per_image), W_b.dtype)
                np.matmul(W_b, col.fill(piece), out=out_rows_t)
                out[:, i:i + n] = output_of_rows(out_rows_t, n, out_h, out_w, Wp)
            else:
                np.matmul(W_b, col.fill(piece), out=out_t[:, i * P:(i + n) * P])
        return out_t, out_h, out_w

    def _gradients_in_pieces(self, dout: np.ndarray) -> np.ndarray | None:
        """Backward piece by piece (the module's formulas): accumulates dW and db, returns
        dx (N, C, H, W), a view of channel-major memory (None with ``compute_dx = False``)."""
        x = self._x
        W_p, b_p = self._parameters["W"], self._parameters.get("b")
        W = W_p.data
        FN, C, FH, FW = W.shape
        N, _, H, Wd = x.shape
        _, _, out_h, out_w = self.out_shape
        p, dtype = self.pad, W.dtype
        ones_row = b_p is not None
        K = C * FH * FW
        Wp = Wd + 2 * p
        L = whole_rows_columns(out_h, out_w, Wp)  # col's columns per image
        step = max(1, piece_bytes() // ((K + ones_row) * L * W.itemsize))
        dW_b_t = np.zeros((K + ones_row, FN), dtype) if W_p.requires_grad else None
        dx = np.empty((C, N, H, Wd), dtype) if self.compute_dx else None
        turned = turned_filters_pay(1, p, FH, FW, FN, C)
        filters = turned_filters(W) if turned else W.reshape(FN, K).T  # (C, FN*FH*FW), (K, FN)
        views_n = 0
        for i in range(0, N, step):
            n = min(step, N - i)
            if n != views_n:  # the first piece, and a shorter last one
                col = self._im2col_views("x", (n, C, H, Wd), 1, p, ones_row=ones_row,
                                         work=shared_work_array, whole_rows=True)[0]
                dout_rows = shared_zeroed_array("dout_rows", (FN, n * L), dtype)
                dout_at = output_of_rows(dout_rows, n, out_h, out_w, Wp)  # output positions
                if dx is not None:
                    dx_of = (self._dx_turned(n, filters) if turned
                             else self._dx_col2im(dout_rows, filters, n, L))
                views_n = n
            dout_at[...] = dout[i:i + n].transpose(1, 0, 2, 3)  # dout[piece] with whole rows
            if dW_b_t is not None:  # [dW | db].T += [col; 1] @ dout.T (1.1x faster than
                dW_b_t += col.fill(x[i:i + n]) @ dout_rows.T  # dout @ [col; 1].T, 16 filters)
            if dx is not None:
                dx[:, i:i + n] = dx_of(dout[i:i + n])
        if dW_b_t is not None:
            W_p.accumulate(np.ascontiguousarray(dW_b_t[:K].T).reshape(W.shape))
        if ones_row and b_p.requires_grad:
            b_p.accumulate(dW_b_t[K].copy() if dW_b_t is not None
                           else dout.sum(axis=(0, 2, 3)))
        return None if dx is None else dx.transpose(1, 0, 2, 3)

    def _dx_turned(self, n: int, turned: np.ndarray):
        """For pieces of n images: a function of dout[piece] (n, FN, out_h, out_w) giving dx
        (C, n, H, W): dout, zero-padded by FH-1-pad, convolved with the turned filters (C,
        FN*FH*FW), col with whole rows (its views made once)."""
        N, C, H, Wd = self.x_shape
        FN, _, FH, FW = self._parameters["W"].data.shape
        _, _, out_h, out_w = self.out_shape
        pad_h, pad_w = FH - 1 - self.pad, FW - 1 - self.pad
        dcol = self._im2col_views("dout", (n, FN, out_h, out_w), 1, (pad_h, pad_w),
                                  filters=(FH, FW), dtype=turned.dtype,
                                  work=shared_work_array, whole_rows=True)[0]
        dx_rows = shared_work_array("dx_rows", (C, dcol.col_t.shape[1]), turned.dtype)
        dx = output_of_rows(dx_rows, n, H, Wd, out_w + 2 * pad_w)

        def dx_of(dout: np.ndarray) -> np.ndarray:
            np.matmul(turned, dcol.fill(dout), out=dx_rows)
            return dx
        return dx_of

    def _dx_col2im(self, dout_rows: np.ndarray, W_col: np.ndarray, n: int, L: int):
        """For pieces of n images: a function giving dx (C, n, H, W) of the piece whose dout
        is in ``dout_rows``: ``col2im(W_col @ dout)`` with whole rows. The row (c, y, x) of
        dcol goes back to the padded images at offset y*Wp + x, one run of L values per
        image; dout's zeros outside the output positions add nothing."""
        N, C, H, Wd = self.x_shape
        FH, FW = self._parameters["W"].data.shape[2:]
        p = self.pad
        Hp, Wp = H + 2 * p, Wd + 2 * p
        dcol = shared_work_array("dcol_rows", (C * FH * FW, n * L), W_col.dtype)
        taps = dcol.reshape(C, FH, FW, n, L)
        dimg = shared_work_array("dx_img", (C, n, Hp * Wp), W_col.dtype)
        dx = dimg.reshape(C, n, Hp, Wp)[:, :, p:p + H, p:p + Wd]

        def dx_of(_dout: np.ndarray) -> np.ndarray:
            np.matmul(W_col, dout_rows, out=dcol)
            dimg[...] = 0
            for y in range(FH):
                for x in range(FW):
                    dimg[:, :, y * Wp + x:y * Wp + x + L] += taps[:, y, x]
            return dx
        return dx_of
