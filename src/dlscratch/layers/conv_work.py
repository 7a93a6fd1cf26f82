"""Where :class:`dlscratch.layers.Conv2d` builds ``col``: work arrays reused between calls.

In training mode backward needs col, so each layer keeps its own (``_work_array``). What is
needed only during one call (the padded images, and in eval mode col itself, or in pieces:
:mod:`dlscratch.layers.conv_pieces`) lives in work arrays shared by every convolution of the
thread (:func:`shared_work_array`): a network in inference holds one im2col scratch instead
of one per layer.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Iterator

import numpy as np

from .conv_fast import Im2colT, SideBySide, im2col_side_by_side_views, im2col_views

_shared = threading.local()  # each thread's shared work arrays


_NO_BLOCK = object()  # this thread is in no conv_in_pieces block

#: eval mode outside any conv_in_pieces block: the budget of the layers side by side whose
#: col of two images fits in it (:func:`eval_piece_bytes`)
EVAL_PIECE_BYTES = 2**20


@contextlib.contextmanager
def conv_in_pieces(nbytes: int | None = 2**20) -> Iterator[None]:
    """Inside the block, this thread's convolutions build col for as many images at a time
    as fit in ``nbytes`` (at least one image); None: the whole batch at once. In eval mode
    every layer does; in training mode the stride-1 layers whose col has more rows than
    filters (:mod:`dlscratch.layers.conv_pieces`).

    Why per thread and only on request: with one BLAS thread (each thread of
    ``Net.set_num_threads``) a piece of col still in the cache when the product reads it
    makes DeepConvNet's inference about 1.2x faster. With OpenBLAS's two threads (outside
    the block) pieces help only the layers of :func:`eval_piece_bytes`, in eval mode.
    Measurements: benchmarks/README.md.
    """
    before = getattr(_shared, "piece_bytes", _NO_BLOCK)
    _shared.piece_bytes = nbytes
    try:
        yield
    finally:
        if before is _NO_BLOCK:
            del _shared.piece_bytes
        else:
            _shared.piece_bytes = before


def piece_bytes() -> int | None:
    """The bytes of col per piece that :func:`conv_in_pieces` set for this thread (None:
    whole batches, also outside any block)."""
    return getattr(_shared, "piece_bytes", None)


def eval_piece_bytes(image_col_bytes: int, side_by_side: bool) -> int | None:
    """The piece budget of an eval-mode forward whose col takes ``image_col_bytes`` per
    image: :func:`conv_in_pieces`'s inside a block; outside any block
    :data:`EVAL_PIECE_BYTES` for a layer side by side whose col of two images fits in it,
    else None (the whole batch).

    Why: with OpenBLAS's two threads, one eval forward at batch 8 (same process,
    alternating rounds) in pieces against the whole batch: 1.12-1.22x for DeepConvNet's 3x3
    layers, 1.21-1.36x for the small ResNet's, but 0.70-0.98x for ResNet-50's 3x3 layers
    (whose col of one image is 1-7 MB: a piece of one image is not cache-sized, and its
    product is smaller than the batch's) and 0.95-0.96x for layers not side by side (the
    first layers of DeepConvNet and ResNet-50). Training keeps the whole batch's col outside
    a block (pieces there helped DeepConvNet and not the small ResNet).
    """
    nbytes = getattr(_shared, "piece_bytes", _NO_BLOCK)
    if nbytes is not _NO_BLOCK:
        return nbytes
    if side_by_side and 2 * image_col_bytes <= EVAL_PIECE_BYTES:
        return EVAL_PIECE_BYTES
    return None


def shared_work_array(name: str, shape: tuple[int, ...], dtype) -> np.ndarray:
    """A work array of ``shape`` shared by every convolution of this thread, for what one
    call needs and no later call reads (the padded images; col in eval mode).

    One flat buffer per (name, dtype), grown to the largest shape asked for and kept while
    the thread lives; the array is a view of its start, with whatever values the last user
    left. Why: col is built in the same memory for each layer (in inference ResNet-50 holds
    one col instead of 53). Per thread, so that two networks running in two threads never
    share one. The views are kept too (a shape seen before costs one dictionary look-up).
    """
    views = getattr(_shared, "views", None)
    if views is None:
        views = _shared.views = {}
        _shared.buffers = {}
    key = (name, shape, dtype)
    view = views.get(key)
    if view is None:
        dtype = np.dtype(dtype)
        size = math.prod(shape)
        buf = _shared.buffers.get((name, dtype))
        if buf is None or buf.size < size:
            buf = _shared.buffers[(name, dtype)] = np.empty(size, dtype=dtype)
            for k in [k for k in views if k[0] == name and np.dtype(k[2]) == dtype]:
                del views[k]  # views of the old, smaller buffer: let it go
        view = views[key] = buf[:size].reshape(shape)
    return view


def shared_padded_images(name: str, shape: tuple[int, ...], pad_h: int, pad_w: int,
                         dtype) -> np.ndarray:
    """:func:`shared_work_array` for padded images (C, N, H + 2*pad_h, W + 2*pad_w), with
    zero borders: they are set to zero when the last caller of this buffer asked for another
    shape or padding (its images may lie where these borders are), else left as they are
    (only the middle is ever written)."""
    img = shared_work_array(name, shape, dtype)
    if _layout_changed(name, (shape, pad_h, pad_w, np.dtype(dtype))):
        zero_borders(img, pad_h, pad_w)
    return img


def shared_zeroed_array(name: str, shape: tuple[int, ...], dtype, layout: tuple = ()
                        ) -> np.ndarray:
    """:func:`shared_work_array` whose places that no caller writes stay zero: it is set to
    zero when the last caller of this buffer asked for another shape or ``layout`` (what
    decides which places are written: two layouts can have one shape)."""
    arr = shared_work_array(name, shape, dtype)
    if _layout_changed(name, (shape, np.dtype(dtype), layout)):
        arr[...] = 0
    return arr


def _layout_changed(name: str, layout: tuple) -> bool:
    """Whether this thread's last caller of the work array ``name`` asked for another layout
    (then its zeros may have been written over); remembers ``layout``."""
    last = getattr(_shared, "layouts", None)
    if last is None:
        last = _shared.layouts = {}
    changed = last.get(name) != layout
    last[name] = layout
    return changed


def zero_borders(img: np.ndarray, pad_h: int, pad_w: int) -> None:
    """Set the padding of ``img`` (..., H + 2*pad_h, W + 2*pad_w) to zero (4 strips)."""
    if pad_h:
        img[..., :pad_h, :] = 0
        img[..., img.shape[-2] - pad_h:, :] = 0
    if pad_w:
        img[..., :pad_w] = 0
        img[..., img.shape[-1] - pad_w:] = 0


class ConvWorkArrays:
    """The work arrays of a convolution layer (a mixin of :class:`Conv2d`; the layer has
    ``_parameters["W"]``, ``_scratch`` (dict) and ``_out_sizes``)."""

    def _im2col_t(self, name: str, x: np.ndarray, stride: int, pad: int | tuple[int, int], *,
                  ones_row: bool = False, filters: tuple[int, int] | None = None, dtype=None,
                  work=None):
        """``im2col(x).T`` in a work array (plus a row of ones with ``ones_row``), and
        out_h, out_w. The filter size is W's unless given; ``pad`` an int or (pad_h, pad_w);
        ``work(name, shape, dtype)`` gives the work arrays (the layer's own by default)."""
        views, out_h, out_w = self._im2col_views(name, x.shape, stride, pad, ones_row=ones_row,
                                                 filters=filters, dtype=dtype, work=work)
        return views.fill(x), out_h, out_w

    def _im2col_views(self, name: str, x_shape: tuple[int, ...], stride: int,
                      pad: int | tuple[int, int], *, ones_row: bool = False,
                      filters: tuple[int, int] | None = None, dtype=None, work=None
                      ) -> tuple[Im2colT, int, int]:
        """The work arrays of :meth:`_im2col_t` for images of shape ``x_shape``, as the views
        that fill them (:class:`~dlscratch.layers.conv_fast.Im2colT`), and out_h, out_w."""
        work = work or self._work_array
        FH, FW, pad_h, pad_w, dtype = self._geometry(pad, filters, dtype)
        N, C, H, Wd = x_shape
        out_h, out_w = self._out_sizes(H, Wd, FH, FW, stride, pad_h, pad_w)
        # the padded images are needed only while col is built: one array for all layers
        img = shared_padded_images(name + "_img", (C, N, H + 2 * pad_h, Wd + 2 * pad_w),
                                   pad_h, pad_w, dtype)
        col_t = self._col_t(work, name, C * FH * FW, ones_row, N * out_h * out_w, dtype)
        views = im2col_views(x_shape, img, col_t, FH, FW, stride, pad_h, pad_w, out_h, out_w)
        return views, out_h, out_w

    def _im2col_side_by_side(self, name: str, x_shape: tuple[int, ...],
                             pad: int | tuple[int, int], *, ones_row: bool = False,
                             filters: tuple[int, int] | None = None, dtype=None
                             ) -> tuple[Im2colT, SideBySide]:
        """Stride 1: the views that fill ``im2col(x).T`` for images of shape ``x_shape`` laid
        side by side (:func:`~dlscratch.layers.conv_fast.im2col_side_by_side_views`), in
        work arrays shared by the thread's convolutions, and the layout."""
        FH, FW, pad_h, pad_w, dtype = self._geometry(pad, filters, dtype)
        n, C, H, Wd = x_shape
        out_h, out_w = self._out_sizes(H, Wd, FH, FW, 1, pad_h, pad_w)
        layout = SideBySide(n, H, Wd, pad_h, pad_w, out_h, out_w)
        wide = shared_zeroed_array(name + "_wide", (C, (H + 2 * pad_h) * layout.Wr), dtype,
                                   layout)
        col_t = self._col_t(shared_work_array, name, C * FH * FW, ones_row, layout.columns,
                            dtype)
        return im2col_side_by_side_views(layout, wide, col_t, C, FH, FW), layout

    def _geometry(self, pad: int | tuple[int, int], filters: tuple[int, int] | None, dtype):
        """FH, FW (W's unless given), pad_h, pad_w (``pad`` an int or a pair) and the dtype
        (W's unless given)."""
        W = self._parameters["W"].data
        FH, FW = filters or W.shape[2:]
        pad_h, pad_w = (pad, pad) if isinstance(pad, int) else pad
        return FH, FW, pad_h, pad_w, W.dtype if dtype is None else dtype

    @staticmethod
    def _col_t(work, name: str, K: int, ones_row: bool, columns: int, dtype) -> np.ndarray:
        """col_t (K (+ 1), columns) from ``work``, its last row ones with ``ones_row``."""
        col_t = work(name + "_col", (K + ones_row, columns), dtype)
        if ones_row:
            col_t[K] = 1
        return col_t

    def _work_array(self, name: str, shape: tuple[int, ...], dtype) -> np.ndarray:
        """The layer's own work array ``name`` (col, which backward reads), kept between
        calls and never returned to callers: reusing it saves allocating (and page-faulting)
        megabytes per step."""
        arr = self._scratch.get(name)
        if arr is None or arr.shape != shape or arr.dtype != dtype:
            arr = np.zeros(shape, dtype=dtype)
            self._scratch[name] = arr
        return arr
