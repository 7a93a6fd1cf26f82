"""The lecture's loop references (dlscratch.naive): the worked examples of seed 001."""

from __future__ import annotations

import ast
import inspect

import numpy as np
import pytest

from dlscratch import naive
from dlscratch.lessons import seed001_cnn as s001

# The lecture's inputs, as the seed 001 lesson keeps them.
X4, KERNEL, X7, CONVED = s001.x_input, s001.kernel, s001.x_input_7, s001.conved_input


def test_lecture_conv_4x4_plus_bias_3():
    out = naive.conv2d(X4, KERNEL) + 3
    np.testing.assert_array_equal(out, [[18, 19], [9, 18]])


def test_lecture_conv_7x7_pad1_stride2():
    out = naive.conv2d(X7, KERNEL, pad=1, stride=2) + 3
    assert out.shape == (4, 4)
    expected = s001.convolution_loop_padded(X7, KERNEL, padding=1, stride=2)  # bias 3 included
    np.testing.assert_array_equal(out, expected)
    # one value by hand: window at the top-left of the padded input
    top_left = np.sum(np.pad(X7, 1)[0:3, 0:3] * KERNEL) + 3
    assert out[0, 0] == top_left == 10  # 1*1 + 2*2 + 1*2, plus 3


def test_lecture_max_and_average_pooling():
    np.testing.assert_array_equal(naive.max_pooling(CONVED, 2, 2), [[6, 8], [3, 4]])
    np.testing.assert_array_equal(naive.average_pooling(CONVED, 2, 2), [[3.25, 5.25], [2, 2]])


def test_windows_that_do_not_fit_are_refused():
    with pytest.raises(ValueError, match="stride 2"):
        naive.conv2d(np.zeros((6, 6)), KERNEL, stride=2)  # (6 - 3) = 3 is odd
    with pytest.raises(ValueError):
        naive.max_pooling(np.zeros((5, 5)), 2, 2)


def test_batched_conv_is_the_sum_of_2d_convolutions():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 6, 7))
    W = rng.standard_normal((4, 3, 3, 2))
    b = rng.standard_normal(4)
    out = naive.conv2d_nchw(x, W, b, stride=1, pad=1)
    for n in range(2):
        for f in range(4):
            expected = sum(naive.conv2d(x[n, c], W[f, c], pad=1) for c in range(3)) + b[f]
            np.testing.assert_allclose(out[n, f], expected, rtol=1e-12, atol=1e-12)


def test_batched_pooling_matches_the_2d_functions():
    x = np.stack([CONVED, CONVED[::-1]])[None].astype(float)  # (1, 2, 4, 4)
    np.testing.assert_array_equal(naive.max_pool_nchw(x, 2, 2, 2)[0, 0], [[6, 8], [3, 4]])
    np.testing.assert_array_equal(naive.avg_pool_nchw(x, 2, 2, 2)[0, 0],
                                  [[3.25, 5.25], [2, 2]])
    np.testing.assert_array_equal(naive.max_pool_nchw(x, 2, 2, 2)[0, 1],
                                  naive.max_pooling(CONVED[::-1], 2, 2))


def test_padded_max_pooling_never_picks_the_padding():
    x = -np.arange(1.0, 17.0).reshape(1, 1, 4, 4)  # all negative: a zero pad would win
    out = naive.max_pool_nchw(x, 3, 3, stride=1, pad=1)
    assert out.shape == (1, 1, 4, 4)
    assert out.max() == -1.0
    assert out[0, 0, 0, 0] == -1.0  # max of -1, -2, -5, -6
    avg = naive.avg_pool_nchw(x, 3, 3, stride=1, pad=1)
    assert avg[0, 0, 0, 0] == pytest.approx((-1 - 2 - 5 - 6) / 9)  # zeros count


def test_naive_module_imports_only_numpy():
    tree = ast.parse(inspect.getsource(naive))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported <= {"numpy", "__future__"}
