"""The residual connection y = F(x) + S(x), dx = dF + dS (dlscratch.layers.Residual)."""

from __future__ import annotations

import hashlib
from collections import OrderedDict

import numpy as np
import pytest
from helpers_core import assert_small, check_layer

from dlscratch.layers import BatchNorm, Conv2d, Linear, Residual, Sequential, Tanh


def digest(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def nontrivial_bn(c: int, rng: np.random.Generator) -> BatchNorm:
    """A float64 BatchNorm with gamma != 1, beta != 0 and running statistics away from 0/1."""
    bn = BatchNorm(c, dtype=np.float64)
    bn.gamma = 1 + 0.3 * rng.standard_normal(c)
    bn.beta = 0.2 * rng.standard_normal(c)
    bn.running_mean = 0.3 * rng.standard_normal(c)
    bn.running_var = rng.uniform(0.5, 2.0, c)
    return bn


def conv_branch(c_in: int, c_out: int, stride: int, rng) -> OrderedDict:
    """conv 3x3 (stride) - BatchNorm - tanh - conv 3x3 (smooth: no ReLU kinks in the check)."""
    return OrderedDict([
        ("conv1", Conv2d(c_in, c_out, 3, stride, 1, weight_init_std=0.4, dtype=np.float64,
                         rng=rng, floor_mode=True)),
        ("bn1", nontrivial_bn(c_out, rng)),
        ("act", Tanh()),
        ("conv2", Conv2d(c_out, c_out, 3, 1, 1, weight_init_std=0.4, dtype=np.float64,
                         rng=rng)),
    ])


def projection(c_in: int, c_out: int, stride: int, rng) -> Sequential:
    return Sequential(Conv2d(c_in, c_out, 1, stride, 0, weight_init_std=0.5, bias=False,
                             dtype=np.float64, rng=rng, floor_mode=True),
                      nontrivial_bn(c_out, rng))


def test_forward_is_branch_plus_shortcut_and_backward_adds_the_two_gradients():
    rng = np.random.default_rng(0)
    fc = Linear(4, 4, 0.5, dtype=np.float64, rng=rng)
    fc.b = rng.standard_normal(4)
    res = Residual(fc)
    x = rng.standard_normal((3, 4))
    np.testing.assert_allclose(res.forward(x), x @ fc.W + fc.b + x, rtol=1e-14)
    dout = rng.standard_normal((3, 4))
    dx = res.backward(dout)
    np.testing.assert_allclose(dx, dout @ fc.W.T + dout, rtol=1e-14)  # dF + dS, dS = dout
    np.testing.assert_allclose(fc.dW, x.T @ dout, rtol=1e-14)
    assert [name for name, _ in res.named_parameters()] == ["branch.W", "branch.b"]


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_gradient_check_identity_shortcut(mode):
    rng = np.random.default_rng(1)
    res = Residual(conv_branch(3, 3, 1, rng))
    res.train(mode == "train")
    x = rng.standard_normal((2, 3, 5, 5))
    errors = check_layer(res, x, seed=1)
    assert set(errors) == {"x", "conv1.W", "conv1.b", "bn1.gamma", "bn1.beta", "conv2.W",
                           "conv2.b"}
    assert_small(errors)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_gradient_check_projection_shortcut_with_stride_2(mode):
    rng = np.random.default_rng(2)
    res = Residual(conv_branch(2, 4, 2, rng), projection(2, 4, 2, rng))
    res.train(mode == "train")
    x = rng.standard_normal((2, 2, 7, 7))  # floor mode: 7 → 4 on both paths
    assert res.forward(x).shape == (2, 4, 4, 4)
    errors = check_layer(res, x, seed=2)
    assert {"shortcut.0.W", "shortcut.1.gamma", "shortcut.1.beta"} <= set(errors)
    assert_small(errors)


def test_backward_modifies_neither_dout_nor_x():
    rng = np.random.default_rng(3)
    for shortcut in (None, projection(3, 3, 1, rng)):
        res = Residual(conv_branch(3, 3, 1, rng), shortcut)
        x = rng.standard_normal((2, 3, 4, 4))
        dout = rng.standard_normal((2, 3, 4, 4))
        before = digest(x), digest(dout)
        res.forward(x)
        dx = res.backward(dout)
        assert (digest(x), digest(dout)) == before
        assert not np.shares_memory(dx, dout)  # the identity's dS = dout is added, not returned


def test_compute_dx_false_returns_none_and_keeps_the_parameter_gradients():
    rng = np.random.default_rng(4)
    res = Residual(conv_branch(2, 3, 2, rng), projection(2, 3, 2, rng))
    x = rng.standard_normal((2, 2, 6, 6))
    dout = rng.standard_normal((2, 3, 3, 3))
    res.forward(x)
    assert res.backward(dout).shape == x.shape
    expected = {k: p.grad.copy() for k, p in res.named_parameters()}

    res.zero_grad()
    res.compute_dx = False
    assert res.conv1.compute_dx is False and res.shortcut[0].compute_dx is False
    res.forward(x)
    assert res.backward(dout) is None
    for k, p in res.named_parameters():
        np.testing.assert_allclose(p.grad, expected[k], rtol=1e-12, err_msg=k)
    res.compute_dx = True
    assert res.conv1.compute_dx is True
    res.forward(x)
    assert res.backward(dout).shape == x.shape


def test_refuses_a_branch_layer_named_like_the_shortcut_and_an_empty_branch():
    with pytest.raises(ValueError, match="shortcut"):
        Residual(OrderedDict(shortcut=Tanh()), Tanh())
    with pytest.raises(ValueError, match="at least one layer"):
        Residual(OrderedDict())
