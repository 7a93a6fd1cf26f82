"""Conv2d in cache-sized pieces: col built, multiplied and dropped a few images at a time.

Inside :func:`~dlscratch.layers.conv_work.conv_in_pieces` (every thread of
``Net.set_num_threads`` runs in it) a convolution does not build col for the whole batch but
for pieces of n images, as many as fit in the thread's budget (1 MiB of col)::

    forward:   out[piece]  = [W_col.T | b] @ [col(piece); 1]
    backward:  dcol        = col(dout[piece], zero-padded by FH-1-pad, FW-1-pad)
               dx[piece]   = turned @ dcol                 turned: the filters turned by 180
               dW_turned  += dcol @ x[piece].T             degrees, (C, FN*FH*FW)
               db          = sum(dout)

Why: a piece's col is still in the processor's cache when its product reads it, while the
whole batch's col (22 MB for DeepConvNet's 16-filter layer at 50 images) goes out to memory
and back (a product with 16 filters: 54-62 GFLOP/s on a piece, 45 on the whole). The layer
keeps its input x instead of col (9 times smaller for 3x3 filters).

Backward needs one col, of dout, for both gradients. With stride 1, dx is the convolution of
the zero-padded dout with the turned filters (:func:`~dlscratch.layers.conv_fast.
turned_filters`), and the same col gives dW: the book's ``dW = col(x).T @ dout`` sums
x[c, u + y - pad, v + x - pad] * dout[f, u, v] over the output positions (u, v), which is the
sum of x[c, u', v'] * dout_padded[f, u' + FH-1-y, v' + FW-1-x] over the input positions
(u', v'), i.e. row (f, FH-1-y, FW-1-x) of dcol times x's values at dx's positions. Building
col(x) again for dW would copy C*FH*FW rows per piece.

The n images of a piece are laid side by side in one wide padded image
(:class:`~dlscratch.layers.conv_fast.SideBySide`): contiguous copies into col, and padding
shared between neighbours. Only stride-1 layers with padding under the filter size and more
rows in col than filters train in pieces; the others (stride 2, the 1-channel first layer)
keep col as outside the threads.

Every column of a product is the same sum as with the whole batch, and dW is the sum of the
pieces' products: the same values up to the rounding of the sums' order (float64: 1e-15).
Measurements: benchmarks/README.md.
"""

from __future__ import annotations

import numpy as np

from .conv_fast import side_by_side_fits, turned_filters
from .conv_work import eval_piece_bytes, piece_bytes, shared_work_array, shared_zeroed_array


class ConvPieces:
    """The pieces of :class:`~dlscratch.layers.Conv2d` (a mixin: the layer has
    ``_parameters``, ``stride``, ``pad``, ``training``, ``compute_dx``, ``x_shape``,
    ``out_shape``, ``_x`` (the input it kept), ``_out_sizes``, ``_im2col_views`` and
    ``_im2col_side_by_side``)."""

    def _side_by_side(self, C: int) -> bool:
        """Whether col is built with the images side by side: stride 1, padding under the
        filter size, and more rows in col than filters (the 1-channel first layer of
        DeepConvNet, 9 rows for 16 filters, ran 0.7x the speed with whole rows: reading the
        output positions out costs more than the copies save)."""
        FN, _, FH, FW = self._parameters["W"].data.shape
        return side_by_side_fits(FH, FW, self.stride, self.pad) and C * FH * FW > FN

    def _trains_in_pieces(self, x: np.ndarray) -> bool:
        """Training mode in pieces: inside ``conv_in_pieces``, for layers side by side."""
        return self.training and piece_bytes() is not None and self._side_by_side(x.shape[1])

    def _backward_in_pieces(self) -> bool:
        """Whether backward goes piece by piece: the forward kept x (not col), inside
        ``conv_in_pieces``, for layers side by side."""
        return (self._x is not None and piece_bytes() is not None
                and self._side_by_side(self._x.shape[1]))

    @staticmethod
    def _images_per_piece(rows: int, columns_per_image: int, itemsize: int,
                          budget: int | None = None) -> int:
        """How many images' col (``rows`` rows, ``columns_per_image`` columns each) fit in
        ``budget`` (else the thread's piece budget); at least one."""
        budget = piece_bytes() if budget is None else budget
        return max(1, budget // (rows * columns_per_image * itemsize))

    def _forward_in_pieces(self, x: np.ndarray, W_b: np.ndarray
                           ) -> tuple[np.ndarray, int, int]:
        """``out.T = [W_col.T | b] @ [col; 1]`` (FN, N*out_h*out_w) piece by piece, col in
        the work array that every convolution of the thread shares; and out_h, out_w.

        In eval mode without a piece budget (:func:`~dlscratch.layers.conv_work.
        eval_piece_bytes`): the whole batch in one product. The views that fill a piece's col
        are made once per call: made for every piece, they cost as much as a tenth of the
        copying.
        """
        N, C, H, Wd = x.shape
        FN = W_b.shape[0]
        FH, FW = self._parameters["W"].data.shape[2:]
        out_h, out_w = self._out_sizes(H, Wd, FH, FW, self.stride, self.pad, self.pad)
        ones_row = "b" in self._parameters
        side = self._side_by_side(C)
        # side by side, an image takes about out_h*(W + pad) columns of col
        per_image = out_h * (Wd + self.pad) if side else out_h * out_w
        image_col_bytes = W_b.shape[1] * per_image * W_b.itemsize
        budget = piece_bytes() if self.training else eval_piece_bytes(image_col_bytes, side)
        if budget is None:
            col_t = self._im2col_t("x", x, self.stride, self.pad, ones_row=ones_row,
                                   work=shared_work_array)[0]
            return W_b @ col_t, out_h, out_w
        out_t = np.empty((FN, N * out_h * out_w), dtype=W_b.dtype)
        out = out_t.reshape(FN, N, out_h, out_w)
        step = self._images_per_piece(W_b.shape[1], per_image, W_b.itemsize, budget)
        P = out_h * out_w
        views_n = 0
        for i in range(0, N, step):
            piece = x[i:i + step]
            n = len(piece)
            if n != views_n:  # the first piece, and a shorter last one
                if side:
                    col, layout = self._im2col_side_by_side("x", piece.shape, self.pad,
                                                            ones_row=ones_row)
                    out_wide = shared_work_array("x_out", (FN, layout.columns), W_b.dtype)
                    out_at = layout.positions(out_wide)
                else:
                    col = self._im2col_views("x", piece.shape, self.stride, self.pad,
                                             ones_row=ones_row, work=shared_work_array)[0]
                views_n = n
            if side:
                np.matmul(W_b, col.fill(piece), out=out_wide)
                out[:, i:i + n] = out_at
            else:
                np.matmul(W_b, col.fill(piece), out=out_t[:, i * P:(i + n) * P])
        return out_t, out_h, out_w

    def _gradients_in_pieces(self, dout: np.ndarray) -> np.ndarray | None:
        """Backward piece by piece (the formulas of the module's docstring): accumulates dW
        and db, returns dx (N, C, H, W), a view of channel-major memory (None with
        ``compute_dx = False``)."""
        x = self._x
        W_p, b_p = self._parameters["W"], self._parameters.get("b")
        W = W_p.data
        FN, C, FH, FW = W.shape
        N, _, H, Wd = x.shape
        _, _, out_h, out_w = self.out_shape
        pad_h, pad_w = FH - 1 - self.pad, FW - 1 - self.pad  # dout's, for dx
        if b_p is not None and b_p.requires_grad:
            b_p.accumulate(dout.sum(axis=(0, 2, 3)))  # db = sum(dout)
        train_W = W_p.requires_grad
        if not (train_W or self.compute_dx):
            return None
        dW_turned = np.zeros((FN * FH * FW, C), W.dtype) if train_W else None
        dx = np.empty((C, N, H, Wd), W.dtype) if self.compute_dx else None
        turned = turned_filters(W)  # (C, FN*FH*FW)
        step = self._images_per_piece(FN * FH * FW, H * (out_w + pad_w), W.itemsize)
        views_n = 0
        for i in range(0, N, step):
            n = min(step, N - i)
            if n != views_n:  # the first piece, and a shorter last one
                dcol, layout = self._im2col_side_by_side(
                    "dout", (n, FN, out_h, out_w), (pad_h, pad_w), filters=(FH, FW),
                    dtype=W.dtype)  # its outputs: dx's positions (n, H, W)
                if dx is not None:
                    dx_wide = shared_work_array("dx_wide", (C, layout.columns), W.dtype)
                    dx_at = layout.positions(dx_wide)
                if train_W:  # x at dx's positions, zero elsewhere
                    x_wide = shared_zeroed_array("x_at_dx", (C, layout.columns), W.dtype,
                                                 layout)
                    x_at = layout.positions(x_wide)
                views_n = n
            dcol_t = dcol.fill(dout[i:i + n])
            if dx is not None:
                np.matmul(turned, dcol_t, out=dx_wide)
                dx[:, i:i + n] = dx_at
            if train_W:
                x_at[...] = x[i:i + n].transpose(1, 0, 2, 3)
                dW_turned += dcol_t @ x_wide.T
        if train_W:  # row (f, FH-1-y, FW-1-x) of dW_turned is dW[f, :, y, x]
            W_p.accumulate(np.ascontiguousarray(
                dW_turned.reshape(FN, FH, FW, C)[:, ::-1, ::-1].transpose(0, 3, 1, 2)))
        return None if dx is None else dx.transpose(1, 0, 2, 3)
