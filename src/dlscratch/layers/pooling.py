"""Pooling layers: max, average, global average.

Shapes: x (N, C, H, W) → out (N, C, out_h, out_w) with, for a pool_h x pool_w window::

    out_h = (H + 2*pad - pool_h) / stride + 1      (must divide exactly; see conv_output_size)

or, with ``floor_mode=True`` (PyTorch's rule, an explicit opt-in), ``floor(...) + 1``: the last
rows and columns that do not fill a step belong to no window, and their gradient is 0.

    max:  out[n, c, i, j] = max over the window  xpad[n, c, i*stride + y, j*stride + x]
    avg:  out[n, c, i, j] = mean over the window (pool_h * pool_w values, padded cells count)

Max pooling pads with -inf (a padded cell never wins); average pooling pads with zeros. The
padding may be at most half the window (so that no window holds only padding).

How it is computed: a window has only pool_h * pool_w offsets (y, x), and for each offset the
values ``xpad[:, :, y::stride, x::stride]`` (cut to out_h x out_w) form an (N, C, out_h, out_w)
view. The forward pass combines these few views with ``np.maximum`` (or a sum); backward
sends ``dout`` back through the same views. No im2col copy, any memory layout.

When the windows tile the input exactly (stride == pool size k, no padding: the usual 2x2
pooling) max pooling is done in two steps, first within each row of a window, then over its
rows::

    R[n, c, h, j]   = max_x x[n, c, h, j*k + x]          (N, C, H, out_w)
    out[n, c, i, j] = max_y R[n, c, i*k + y, j]          (N, C, out_h, out_w)

The views ``x[..., x::k]`` run through whole rows of memory, which NumPy handles much faster
than the k*k views of the general case. Backward then finds, per window, the first row whose
maximum is the window's (``R == out``), and in that row the first column holding it
(``x == R``): that is the first maximum in row-major order.

Max-pool ties: the gradient of each window goes to ONE position, the first maximum in
row-major window order (y first, then x), the one ``np.argmax`` over the flattened window
would choose. Where windows overlap (stride < pool size) a position collects the gradients of
every window it is the chosen maximum of.

These layers have no parameters and always compute dx (``compute_dx = False`` is refused; see
``Module``).
"""

from __future__ import annotations

import numpy as np

from .conv import _out_size, _pair
from .module import Module


def _window(xp: np.ndarray, y: int, x: int, stride: int, out_h: int, out_w: int) -> np.ndarray:
    """View (N, C, out_h, out_w): the value at offset (y, x) of every window."""
    return xp[:, :, y:y + stride * (out_h - 1) + 1:stride, x:x + stride * (out_w - 1) + 1:stride]


def _full_like(x: np.ndarray, shape: tuple[int, ...], fill: float) -> np.ndarray:
    """A new array of ``shape`` filled with ``fill``, its axes in x's memory order.

    (A convolution returns a view of channel-major memory; keeping that order makes the
    window views walk memory the same way for every array.)
    """
    order = sorted(range(x.ndim), key=lambda axis: -x.strides[axis])  # outermost axis first
    buf = np.full([shape[axis] for axis in order], fill, dtype=x.dtype)
    return buf.transpose(np.argsort(order))


def _like(dout: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``dout`` in the memory order of ``out`` (copied only when the orders differ)."""
    if np.argsort(dout.strides).tolist() == np.argsort(out.strides).tolist():
        return dout
    same = np.empty_like(out, dtype=dout.dtype)
    same[...] = dout
    return same


def _route_to_first_max(dout, candidates, maximum, targets, accumulate=False) -> None:
    """Send ``dout`` to the first of ``candidates`` (views, in window order) equal to
    ``maximum``: ``targets[p] = dout`` where candidate p is that one, else 0 (``+=`` with
    ``accumulate``, for overlapping windows)."""
    found = None  # windows whose maximum has been routed already
    last = len(candidates) - 1
    for p, (candidate, target) in enumerate(zip(candidates, targets)):
        if p == last and found is not None:
            is_max = np.logical_not(found, out=found)  # the maximum is somewhere: here
        else:
            is_max = candidate == maximum
            if found is not None:
                is_max = np.greater(is_max, found)  # a maximum, and no earlier one
            found = is_max if found is None else np.logical_or(found, is_max, out=found)
        if accumulate:
            target += dout * is_max
        else:
            np.multiply(dout, is_max, out=target)


class _Pool2d(Module):
    """Shared set-up of the window-pooling layers."""

    pad_value = 0.0

    def __init__(self, kernel_size: int | tuple[int, int], stride: int | None = None,
                 pad: int = 0, *, floor_mode: bool = False) -> None:
        super().__init__()
        self.floor_mode = bool(floor_mode)
        self.pool_h, self.pool_w = _pair(kernel_size, "kernel_size")
        if stride is None:
            if self.pool_h != self.pool_w:
                raise ValueError(f"{type(self).__name__}: give stride for a non-square window "
                                 f"{self.pool_h}x{self.pool_w}")
            stride = self.pool_h
        if int(stride) != stride or stride < 1 or int(pad) != pad or pad < 0:
            raise ValueError(f"{type(self).__name__}: stride must be an int >= 1 and pad an "
                             f"int >= 0, got stride={stride!r}, pad={pad!r}")
        if pad > min(self.pool_h, self.pool_w) // 2:
            raise ValueError(f"{type(self).__name__}: pad {pad} is more than half the window "
                             f"{self.pool_h}x{self.pool_w}; some windows would hold only padding")
        self.stride = int(stride)
        self.pad = int(pad)
        self.x_shape: tuple[int, ...] | None = None
        self.out_shape: tuple[int, ...] | None = None

    @property
    def overlapping(self) -> bool:
        return self.stride < self.pool_h or self.stride < self.pool_w

    def _prepare(self, x: np.ndarray) -> tuple[np.ndarray, int, int]:
        """Check x, and return the padded input with out_h and out_w."""
        if not isinstance(x, np.ndarray) or x.ndim != 4:
            raise ValueError(f"{type(self).__name__}: expected input of shape (N, C, H, W), "
                             f"got shape {getattr(x, 'shape', None)}")
        N, C, H, W = x.shape
        out_h = _out_size(self, H, self.pool_h, self.stride, self.pad)
        out_w = _out_size(self, W, self.pool_w, self.stride, self.pad)
        if self.pad:
            p = self.pad
            xp = _full_like(x, (N, C, H + 2 * p, W + 2 * p), self.pad_value)
            xp[:, :, p:p + H, p:p + W] = x
        else:
            xp = x
        self.x_shape = x.shape
        self.out_shape = (N, C, out_h, out_w)
        return xp, out_h, out_w

    def _check_dout(self, dout: np.ndarray, cache) -> None:
        if cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward() called before forward()")
        if dout.shape != self.out_shape:
            raise ValueError(f"{type(self).__name__}: dout has shape {dout.shape}, but the "
                             f"forward output had shape {self.out_shape}")

    def _windows(self, xp: np.ndarray) -> list[np.ndarray]:
        """The pool_h * pool_w offset views of xp, in row-major window order."""
        out_h, out_w = self.out_shape[2], self.out_shape[3]
        return [_window(xp, y, x, self.stride, out_h, out_w)
                for y in range(self.pool_h) for x in range(self.pool_w)]

    def _unpad(self, dxp: np.ndarray) -> np.ndarray:
        if not self.pad:
            return dxp
        p = self.pad
        H, W = self.x_shape[2], self.x_shape[3]
        return dxp[:, :, p:p + H, p:p + W].copy(order="K")

    def extra_repr(self) -> str:
        extra = ", floor_mode=True" if self.floor_mode else ""
        return (f"kernel_size=({self.pool_h}, {self.pool_w}), stride={self.stride}, "
                f"pad={self.pad}{extra}")


class MaxPool2d(_Pool2d):
    """Max pooling; ``stride`` defaults to the window size (no overlap). Pads with -inf.

    Backward sends each window's gradient to its first maximum in row-major window order.

    Parameters
    ----------
    kernel_size : pool_h = pool_w, or a pair (pool_h, pool_w).
    stride : step between windows (default: the window size).
    pad : padding on every side, at most half the window.
    floor_mode : keyword-only; True floors the output size as PyTorch does (see
        ``dlscratch.util.conv_output_size``) instead of refusing windows that do not tile.
    """

    pad_value = -np.inf

    def __init__(self, kernel_size: int | tuple[int, int], stride: int | None = None,
                 pad: int = 0, *, floor_mode: bool = False) -> None:
        super().__init__(kernel_size, stride, pad, floor_mode=floor_mode)
        # windows that tile the input: the two-step (rows, then columns) computation
        self.separable = self.pad == 0 and self.pool_h == self.pool_w == self.stride
        self._cache: tuple | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x (N, C, H, W) → out (N, C, out_h, out_w), the maximum of each window."""
        xp, out_h, out_w = self._prepare(x)
        if self.separable:
            k = self.stride
            xp = xp[:, :, :out_h * k, :out_w * k]  # floor_mode: the rows no window covers go
            if not self.training:  # inference: the same maxima, whole rows first (faster)
                T = _max_of([xp[:, :, i::k] for i in range(k)])  # (N, C, out_h, W)
                out = _max_of([T[..., j::k] for j in range(k)])
                self._cache = (xp, None, out)  # a backward builds R below
                return out
            R = _max_of([xp[..., j::k] for j in range(k)])  # (N, C, H, out_w)
            out = _max_of([R[:, :, i::k] for i in range(k)])  # (N, C, out_h, out_w)
            self._cache = (xp, R, out)
        else:
            out = _max_of(self._windows(xp))
            self._cache = (xp, None, out)
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout (N, C, out_h, out_w) → dx (N, C, H, W): dout goes to each window's argmax."""
        self._check_dout(dout, self._cache)
        xp, R, out = self._cache
        dout = _like(dout, out)
        if self.separable:  # first the row of the first maximum, then its column in that row
            k = self.stride
            if R is None:  # the forward ran in eval mode: the column maxima of every row
                R = _max_of([xp[..., j::k] for j in range(k)])
            dR = np.empty_like(R, dtype=dout.dtype)
            _route_to_first_max(dout, [R[:, :, i::k] for i in range(k)], out,
                                [dR[:, :, i::k] for i in range(k)])
            if xp.shape == self.x_shape:
                dx = np.empty_like(xp, dtype=dout.dtype)
                tiled = dx
            else:  # floor_mode: the rows and columns that no window covers get 0
                dx = _full_like(xp, self.x_shape, 0.0).astype(dout.dtype, copy=False)
                tiled = dx[:, :, :xp.shape[2], :xp.shape[3]]
            _route_to_first_max(dR, [xp[..., j::k] for j in range(k)], R,
                                [tiled[..., j::k] for j in range(k)])
            return dx
        dxp = _full_like(xp, xp.shape, 0.0).astype(dout.dtype, copy=False)
        _route_to_first_max(dout, self._windows(xp), out, self._windows(dxp),
                            accumulate=self.overlapping)
        return self._unpad(dxp)


def _max_of(views: list[np.ndarray]) -> np.ndarray:
    """Elementwise maximum of same-shaped views (a fresh array in their memory order)."""
    if len(views) == 1:
        return views[0].copy(order="K")
    out = np.maximum(views[0], views[1])
    for v in views[2:]:
        np.maximum(out, v, out=out)
    return out


class AvgPool2d(_Pool2d):
    """Average pooling; ``stride`` defaults to the window size. Pads with zeros, and padded
    cells count in the mean (PyTorch's ``count_include_pad=True``).

    Backward: every position of a window receives ``dout / (pool_h * pool_w)``.

    Parameters are those of :class:`MaxPool2d` (``floor_mode`` included).
    """

    def __init__(self, kernel_size: int | tuple[int, int], stride: int | None = None,
                 pad: int = 0, *, floor_mode: bool = False) -> None:
        super().__init__(kernel_size, stride, pad, floor_mode=floor_mode)
        self._xp: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        xp, _, _ = self._prepare(x)
        views = self._windows(xp)
        out = views[0] + views[1] if len(views) > 1 else views[0].copy(order="K")
        for v in views[2:]:
            out += v
        out *= out.dtype.type(1.0 / len(views))
        self._xp = xp
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        self._check_dout(dout, self._xp)
        dxp = _full_like(self._xp, self._xp.shape, 0.0).astype(dout.dtype, copy=False)
        share = dout * dout.dtype.type(1.0 / (self.pool_h * self.pool_w))
        for target in self._windows(dxp):
            target += share
        return self._unpad(dxp)


class GlobalAvgPool2d(Module):
    """The mean of each channel: x (N, C, H, W) → (N, C); dx = dout / (H*W) everywhere."""

    def __init__(self) -> None:
        super().__init__()
        self.x_shape: tuple[int, ...] | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        if not isinstance(x, np.ndarray) or x.ndim != 4:
            raise ValueError(f"GlobalAvgPool2d: expected input of shape (N, C, H, W), got shape "
                             f"{getattr(x, 'shape', None)}")
        self.x_shape = x.shape
        return x.mean(axis=(2, 3))

    def backward(self, dout: np.ndarray) -> np.ndarray:
        if self.x_shape is None:
            raise RuntimeError("GlobalAvgPool2d.backward() called before forward()")
        N, C, H, W = self.x_shape
        if dout.shape != (N, C):
            raise ValueError(f"GlobalAvgPool2d: dout has shape {dout.shape}, expected {(N, C)} "
                             f"(the forward input had shape {self.x_shape})")
        dx = np.empty(self.x_shape, dtype=dout.dtype)
        dx[...] = (dout / dout.dtype.type(H * W))[:, :, None, None]
        return dx


class Pooling(MaxPool2d):
    """The lectures' ``Pooling(pool_h, pool_w, stride=1, pad=0)``: max pooling.

    Unlike the book's, ``pad`` is honoured (with -inf) and sizes that the stride does not
    divide are refused instead of truncated.
    """

    def __init__(self, pool_h: int, pool_w: int, stride: int = 1, pad: int = 0) -> None:
        super().__init__((pool_h, pool_w), stride, pad)
