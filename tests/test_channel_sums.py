"""Per-channel sums as products (dlscratch.layers.channel_sums): NumPy's sums' values, within
float32 rounding, in every memory layout."""

from __future__ import annotations

import numpy as np
import pytest

from dlscratch.layers.channel_sums import channel_dots, channel_sums


def _channel_major(a):
    """a (N, C, H, W) with channel-major memory, as a convolution's output."""
    return np.ascontiguousarray(a.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(5, 3, 6, 7), (50, 16, 28, 28), (3, 2, 8, 8), (1, 1, 1, 1),
                                   (7, 64, 4, 4)])  # the last two: rows too short, NumPy's
@pytest.mark.parametrize("layout", ["channel-major", "NCHW", "strided"])
def test_channel_sums_and_dots_equal_numpys_sums(dtype, shape, layout):
    rng = np.random.default_rng(3)
    a = (rng.standard_normal(shape) + 2).astype(dtype)
    b = rng.standard_normal(shape).astype(dtype)
    if layout == "channel-major":
        a, b = _channel_major(a), _channel_major(b)
    elif layout == "strided":  # every other image: no contiguous channel rows, NumPy's sums
        a = np.concatenate([a, a])[::2]
        b = np.concatenate([b, b])[::2]
    sums, dots = channel_sums(a), channel_dots(a, b)
    assert sums.shape == dots.shape == (shape[1],) and sums.dtype == dots.dtype == dtype
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    # float32: another order of the same sums, within float32 rounding of their magnitudes
    tol = 1e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(sums, a64.sum(axis=(0, 2, 3)), rtol=0,
                               atol=tol * np.abs(a64).sum(axis=(0, 2, 3)).max())
    np.testing.assert_allclose(dots, (a64 * b64).sum(axis=(0, 2, 3)), rtol=0,
                               atol=tol * np.abs(a64 * b64).sum(axis=(0, 2, 3)).max())


def test_channel_dots_of_a_channel_major_and_an_nchw_array():
    rng = np.random.default_rng(4)
    a = _channel_major(rng.standard_normal((6, 5, 6, 6)))
    b = rng.standard_normal((6, 5, 6, 6))  # NCHW memory: NumPy's sums
    np.testing.assert_allclose(channel_dots(a, b), (a * b).sum(axis=(0, 2, 3)), rtol=1e-13)
