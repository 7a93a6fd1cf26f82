"""Layers and losses: backprop against numerical gradients, and the contract every layer keeps."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from helpers_core import assert_small, check_layer, check_loss

from dlscratch.functions import sigmoid, softmax
from dlscratch.layers import (
    BATCHNORM_EPS,
    Affine,
    BatchNorm,
    BatchNormalization,
    BCELoss,
    BCEWithLogitsLoss,
    Dropout,
    Identity,
    LeakyReLU,
    Linear,
    MSELoss,
    ReLU,
    Relu,
    Sigmoid,
    SigmoidWithLoss,
    Sign,
    Softmax,
    SoftmaxWithLoss,
    Step,
    Tanh,
)


def _away_from_zero(rng, shape, dtype):
    """Random values with |x| >= 0.1, so a finite difference never straddles a kink at 0."""
    x = rng.uniform(0.1, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    return x.astype(dtype)


@dataclass
class Case:
    """A layer, an input for it, and a hook run before every forward pass."""

    layer: object
    x: np.ndarray
    before: Callable[[], None] | None = None


def _linear(dtype):
    rng = np.random.default_rng(0)
    layer = Linear(4, 3, dtype=dtype, rng=1)
    layer.b = rng.standard_normal(3)  # a non-zero bias
    return Case(layer, rng.standard_normal((5, 4)).astype(dtype))


def _linear_nd(dtype):
    rng = np.random.default_rng(1)
    layer = Linear(2 * 3 * 2, 3, dtype=dtype, rng=2)
    layer.b = rng.standard_normal(3)
    return Case(layer, rng.standard_normal((4, 2, 3, 2)).astype(dtype))


def _affine(dtype):
    rng = np.random.default_rng(2)
    W = rng.standard_normal((3, 2)).astype(dtype)
    b = rng.standard_normal(2).astype(dtype)
    return Case(Affine(W, b), rng.standard_normal((4, 3)).astype(dtype))


def _elementwise(cls):
    def make(dtype):
        return Case(cls(), _away_from_zero(np.random.default_rng(3), (3, 4), dtype))

    return make


def _softmax(dtype):
    return Case(Softmax(), np.random.default_rng(4).standard_normal((3, 5)).astype(dtype))


def _dropout(dtype):
    layer = Dropout(p=0.4)

    def same_mask():  # re-create the generator, so every forward draws the same mask
        layer.rng = np.random.default_rng(123)

    return Case(layer, np.random.default_rng(5).standard_normal((6, 5)).astype(dtype), same_mask)


def _batchnorm(dtype, train=True):
    rng = np.random.default_rng(6)
    layer = BatchNorm(3, dtype=dtype)
    layer.gamma = rng.uniform(0.5, 2.0, 3)  # gamma != 1
    layer.beta = rng.standard_normal(3)  # beta != 0
    if not train:
        layer.running_mean = rng.standard_normal(3)
        layer.running_var = rng.uniform(0.5, 2.0, 3)
        layer.eval()
    x = (rng.standard_normal((5, 3)) * [1.0, 3.0, 0.5] + [0.0, 2.0, -1.0]).astype(dtype)
    return Case(layer, x)


def _batchnorm_4d(dtype):
    rng = np.random.default_rng(7)
    layer = BatchNorm(2, dtype=dtype)
    layer.gamma = np.array([1.5, 0.7])
    layer.beta = np.array([0.3, -0.2])
    return Case(layer, rng.standard_normal((3, 2, 2, 3)).astype(dtype))


LAYERS: dict[str, Callable[[type], Case]] = {
    "Linear": _linear,
    "Linear-ND": _linear_nd,
    "Affine": _affine,
    "ReLU": _elementwise(ReLU),
    "LeakyReLU": _elementwise(lambda: LeakyReLU(0.1)),
    "Sigmoid": _elementwise(Sigmoid),
    "Tanh": _elementwise(Tanh),
    "Identity": _elementwise(Identity),
    "Softmax": _softmax,
    "Dropout": _dropout,
    "BatchNorm-train": _batchnorm,
    "BatchNorm-eval": lambda dtype: _batchnorm(dtype, train=False),
    "BatchNorm-4D": _batchnorm_4d,
}
# layers with no useful gradient: they keep the contract but are not gradient-checked
CONTRACT_ONLY = {"Step": _elementwise(Step), "Sign": _elementwise(Sign)}
ALL_LAYERS = {**LAYERS, **CONTRACT_ONLY}
WITH_PARAMS = ["Linear", "Linear-ND", "Affine", "BatchNorm-train", "BatchNorm-eval",
               "BatchNorm-4D"]


# ---------------------------------------------------------------------- gradient checks
@pytest.mark.parametrize("name", list(LAYERS))
def test_layer_gradients_match_numerical(name):
    case = LAYERS[name](np.float64)
    errors = check_layer(case.layer, case.x, before=case.before)
    expected_keys = {"x"} | {n for n, _ in case.layer.named_parameters()}
    assert set(errors) == expected_keys
    assert_small(errors)


def _cls_scores(dtype=np.float64):
    rng = np.random.default_rng(8)
    return rng.standard_normal((4, 5)).astype(dtype) * 2, np.array([0, 3, 4, 1])


@pytest.mark.parametrize("dout", [1.0, 2.5])
def test_softmax_with_loss_gradients_onehot_and_integer(dout):
    x, labels = _cls_scores()
    onehot = np.eye(5)[labels]
    assert check_loss(SoftmaxWithLoss(), x, onehot, dout) < 1e-6
    assert check_loss(SoftmaxWithLoss(), x, labels, dout) < 1e-6
    a, b = SoftmaxWithLoss(), SoftmaxWithLoss()
    assert a.forward(x, onehot) == pytest.approx(b.forward(x, labels), rel=1e-14)
    np.testing.assert_allclose(a.backward(), b.backward(), rtol=1e-14)


def test_softmax_with_loss_values():
    x, labels = _cls_scores()
    layer = SoftmaxWithLoss()
    loss = layer.forward(x, labels)
    y = softmax(x)
    assert loss == pytest.approx(-np.mean(np.log(y[np.arange(4), labels])), rel=1e-13)
    np.testing.assert_allclose(layer.y, y, rtol=1e-13)
    assert layer.loss == loss
    # dx = (y - onehot) / N: the batch size divides exactly once
    np.testing.assert_allclose(layer.backward(), (y - np.eye(5)[labels]) / 4, rtol=1e-13)


def test_softmax_with_loss_1d_and_huge_scores():
    layer = SoftmaxWithLoss()
    x = np.array([1000.0, 0.0, -1000.0])
    assert layer.forward(x, 2) == pytest.approx(2000.0)
    dx = layer.backward()
    assert dx.shape == (3,)
    np.testing.assert_allclose(dx, [1.0, 0.0, -1.0])
    assert np.all(np.isfinite(dx))


def test_mse_loss_gradient_and_value():
    rng = np.random.default_rng(9)
    y = rng.standard_normal((4, 3))
    t = rng.standard_normal((4, 3))
    layer = MSELoss()
    assert layer.forward(y, t) == pytest.approx(np.mean((y - t) ** 2), rel=1e-14)
    assert check_loss(MSELoss(), y, t) < 1e-6
    assert check_loss(MSELoss(), y, t, dout=3.0) < 1e-6


def test_bce_loss_gradient_and_value():
    rng = np.random.default_rng(10)
    y = rng.uniform(0.05, 0.95, (4, 3))  # inside the clipping range
    t = rng.uniform(0, 1, (4, 3))  # soft targets too
    layer = BCELoss()
    expected = -np.mean(t * np.log(y) + (1 - t) * np.log(1 - y))
    assert layer.forward(y, t) == pytest.approx(expected, rel=1e-13)
    assert check_loss(BCELoss(), y, t) < 1e-6


def test_bce_with_logits_loss_gradient_and_value():
    rng = np.random.default_rng(11)
    x = rng.standard_normal((4, 3)) * 2
    t = (rng.uniform(size=(4, 3)) > 0.5).astype(float)
    layer = BCEWithLogitsLoss()
    s = sigmoid(x)
    expected = -np.mean(t * np.log(s) + (1 - t) * np.log(1 - s))
    assert layer.forward(x, t) == pytest.approx(expected, rel=1e-12)
    assert check_loss(BCEWithLogitsLoss(), x, t) < 1e-6
    assert SigmoidWithLoss is BCEWithLogitsLoss


def test_bce_with_logits_equals_sigmoid_then_bce():
    rng = np.random.default_rng(12)
    x = rng.standard_normal(6)
    t = rng.uniform(size=6)
    a, b, s = BCEWithLogitsLoss(), BCELoss(), Sigmoid()
    assert a.forward(x, t) == pytest.approx(b.forward(s.forward(x), t), rel=1e-6)
    np.testing.assert_allclose(a.backward(), s.backward(b.backward()), rtol=1e-6)


# ---------------------------------------------------------------------- the contract
@pytest.mark.parametrize("name", list(ALL_LAYERS))
def test_backward_leaves_dout_and_x_unchanged(name):
    case = ALL_LAYERS[name](np.float64)
    x = case.x
    x_copy = x.copy()
    if case.before:
        case.before()
    out = case.layer.forward(x)
    dout = np.random.default_rng(0).standard_normal(out.shape)
    dout_copy = dout.copy()
    dx = case.layer.backward(dout)
    np.testing.assert_array_equal(dout, dout_copy)
    np.testing.assert_array_equal(x, x_copy)
    assert dx is not dout and not np.shares_memory(dx, dout)
    assert dx.shape == x.shape
    # a second backward pass sees the same cache and gives the same dx
    np.testing.assert_array_equal(case.layer.backward(dout), dx)


def test_relu_backward_does_not_write_into_dout():
    """The book's ReLU does ``dout[mask] = 0``; check at the exact kink too."""
    layer = ReLU()
    x = np.array([[-1.0, 0.0, 2.0]])
    layer.forward(x)
    dout = np.ones((1, 3))
    dx = layer.backward(dout)
    np.testing.assert_array_equal(dout, np.ones((1, 3)))
    np.testing.assert_array_equal(dx, [[0.0, 0.0, 1.0]])
    assert Relu is ReLU


@pytest.mark.parametrize("name", WITH_PARAMS)
def test_gradients_accumulate_until_zero_grad(name):
    case = ALL_LAYERS[name](np.float64)
    layer = case.layer
    out = layer.forward(case.x)
    dout = np.random.default_rng(1).standard_normal(out.shape)
    layer.backward(dout)
    single = {n: p.grad.copy() for n, p in layer.named_parameters()}
    layer.backward(dout)
    for n, p in layer.named_parameters():
        np.testing.assert_allclose(p.grad, 2 * single[n], rtol=1e-14, atol=1e-15)
    # the lecture attribute dW / dgamma reads the accumulated gradient
    first = next(iter(single))
    assert getattr(layer, "d" + first) is layer.get_parameter(first).grad
    layer.zero_grad()
    assert all(p.grad is None for p in layer.parameters())
    layer.backward(dout)
    for n, p in layer.named_parameters():
        np.testing.assert_allclose(p.grad, single[n], rtol=1e-14)


@pytest.mark.parametrize("name", list(ALL_LAYERS))
def test_float32_in_float32_out(name):
    case = ALL_LAYERS[name](np.float32)
    assert case.x.dtype == np.float32
    if case.before:
        case.before()
    out = case.layer.forward(case.x)
    assert out.dtype == np.float32
    dx = case.layer.backward(np.ones_like(out))
    assert dx.dtype == np.float32
    for n, p in case.layer.named_parameters():
        assert p.data.dtype == np.float32, n
        assert p.grad.dtype == np.float32, n


@pytest.mark.parametrize("name", list(ALL_LAYERS))
def test_backward_before_forward_raises(name):
    case = ALL_LAYERS[name](np.float64)
    with pytest.raises(RuntimeError, match="before forward"):
        case.layer.backward(np.ones_like(case.x))


LOSSES = {
    "SoftmaxWithLoss-int": lambda dt: (SoftmaxWithLoss(), *_cls_scores(dt)),
    "SoftmaxWithLoss-onehot": lambda dt: (SoftmaxWithLoss(), _cls_scores(dt)[0],
                                          np.eye(5)[_cls_scores(dt)[1]]),
    "MSELoss": lambda dt: (MSELoss(), np.linspace(-1, 1, 6, dtype=dt).reshape(2, 3),
                           np.zeros((2, 3))),
    "BCELoss": lambda dt: (BCELoss(), np.linspace(0.1, 0.9, 6, dtype=dt).reshape(2, 3),
                           np.ones((2, 3))),
    "BCEWithLogitsLoss": lambda dt: (BCEWithLogitsLoss(),
                                     np.linspace(-2, 2, 6, dtype=dt).reshape(2, 3),
                                     np.ones((2, 3))),
}


@pytest.mark.parametrize("name", list(LOSSES))
def test_loss_contract(name):
    layer, x, t = LOSSES[name](np.float64)
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward()
    x_copy, t_copy = x.copy(), np.array(t, copy=True)
    loss = layer.forward(x, t)
    assert isinstance(loss, float) and np.isfinite(loss)
    dx = layer.backward()
    assert dx.shape == x.shape
    np.testing.assert_array_equal(x, x_copy)
    np.testing.assert_array_equal(t, t_copy)
    # float32 scores give float32 gradients, even with float64 targets
    layer32, x32, t32 = LOSSES[name](np.float32)
    assert x32.dtype == np.float32
    layer32.forward(x32, t32)
    assert layer32.backward().dtype == np.float32


@pytest.mark.parametrize("name", list(LOSSES))
def test_loss_refuses_nan(name):
    layer, x, t = LOSSES[name](np.float64)
    x = x.copy()
    x.flat[1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        layer.forward(x, t)


# ---------------------------------------------------------------------- bad input
def test_linear_shape_mismatch_names_layer_and_shapes():
    layer = Linear(4, 3, rng=0)
    with pytest.raises(ValueError) as info:
        layer.forward(np.zeros((5, 6), dtype=np.float32))
    msg = str(info.value)
    assert "Linear" in msg and "(5, 6)" in msg and "(4, 3)" in msg
    with pytest.raises(ValueError, match=r"Affine.*\(2, 5\).*\(3, 2\)"):
        Affine(np.zeros((3, 2)), np.zeros(2)).forward(np.zeros((2, 5)))


@pytest.mark.parametrize("labels", [[0, 5], [-1, 0], [7, 2]])
def test_softmax_with_loss_labels_out_of_range(labels):
    x, _ = _cls_scores()
    with pytest.raises(ValueError, match=r"\[0, 5\)"):
        SoftmaxWithLoss().forward(x[:2], np.array(labels))


def test_softmax_with_loss_bad_label_shape():
    x, _ = _cls_scores()
    with pytest.raises(ValueError, match="labels of shape"):
        SoftmaxWithLoss().forward(x, np.array([0, 1]))


def test_target_shape_mismatch_raises():
    for layer in (MSELoss(), BCELoss(), BCEWithLogitsLoss()):
        with pytest.raises(ValueError, match="shape"):
            layer.forward(np.full((2, 3), 0.5), np.zeros((3, 2)))


# ---------------------------------------------------------------------- Linear details
def test_linear_forward_values_and_1d_input():
    W = np.array([[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]])
    b = np.array([0.1, 0.2, 0.3])
    layer = Affine(W, b)
    x = np.array([1.0, 0.5])
    out = layer.forward(x)
    np.testing.assert_allclose(out, [0.3, 0.7, 1.1])  # seed 000's a1
    assert out.shape == (3,)
    dx = layer.backward(np.ones(3))
    assert dx.shape == (2,)
    np.testing.assert_allclose(dx, W.sum(axis=1))
    np.testing.assert_allclose(layer.dW, np.outer(x, np.ones(3)))
    np.testing.assert_allclose(layer.db, np.ones(3))


def test_linear_nd_input_flattens_and_returns_dx_in_input_shape():
    rng = np.random.default_rng(0)
    layer = Linear(12, 4, dtype=np.float64, rng=0)
    x = rng.standard_normal((3, 2, 3, 2))
    out = layer.forward(x)
    assert out.shape == (3, 4)
    np.testing.assert_allclose(out, x.reshape(3, 12) @ layer.W + layer.b)
    dx = layer.backward(np.ones((3, 4)))
    assert dx.shape == (3, 2, 3, 2)
    np.testing.assert_allclose(layer.dW, x.reshape(3, 12).T @ np.ones((3, 4)))


def test_linear_bias_gradient_sums_over_batch_axis():
    layer = Linear(2, 3, dtype=np.float64, rng=0)
    layer.forward(np.zeros((4, 2)))
    dout = np.arange(12.0).reshape(4, 3)
    layer.backward(dout)
    np.testing.assert_array_equal(layer.db, dout.sum(axis=0))
    assert layer.db.shape == (3,)


def test_linear_without_bias_and_compute_dx_false():
    layer = Linear(3, 2, bias=False, dtype=np.float64, rng=0)
    assert [n for n, _ in layer.named_parameters()] == ["W"]
    layer.compute_dx = False
    layer.forward(np.ones((2, 3)))
    assert layer.backward(np.ones((2, 2))) is None
    np.testing.assert_array_equal(layer.dW, np.full((3, 2), 2.0))


def test_linear_init_schemes():
    big = Linear(400, 300, weight_init_std="he", dtype=np.float64, rng=0).W
    assert big.std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    big = Linear(400, 300, weight_init_std="xavier", dtype=np.float64, rng=0).W
    assert big.std() == pytest.approx(np.sqrt(1 / 400), rel=0.02)
    big = Linear(400, 300, weight_init_std=0.01, dtype=np.float64, rng=0).W
    assert big.std() == pytest.approx(0.01, rel=0.02)
    assert Linear(4, 3, rng=0).W.dtype == np.float32
    np.testing.assert_array_equal(Linear(4, 3, rng=0).b, np.zeros(3))
    np.testing.assert_array_equal(Linear(4, 3, rng=5).W, Linear(4, 3, rng=5).W)
    with pytest.raises(ValueError, match="weight_init_std"):
        Linear(4, 3, weight_init_std="bogus")


def test_zero_init_gives_zero_hidden_gradients():
    """The PITFALL's teaching assertion: with all-zero weights the hidden weights get no
    gradient (the signal back through W2 = 0 vanishes)."""
    fc1 = Linear(3, 4, weight_init_std=0.0, dtype=np.float64)
    fc2 = Linear(4, 2, weight_init_std=0.0, dtype=np.float64)
    act, loss = Sigmoid(), SoftmaxWithLoss()
    x = np.random.default_rng(0).standard_normal((5, 3))
    loss.forward(fc2.forward(act.forward(fc1.forward(x))), np.array([0, 1, 0, 1, 1]))
    fc1.backward(act.backward(fc2.backward(loss.backward())))
    np.testing.assert_array_equal(fc1.dW, 0.0)
    assert np.abs(fc2.dW).sum() > 0


# ---------------------------------------------------------------------- Dropout
def test_dropout_is_inverted_and_identity_in_eval():
    x = np.ones((200, 100))
    layer = Dropout(p=0.3, rng=0)
    out = layer.forward(x)
    kept = out != 0
    np.testing.assert_allclose(out[kept], 1 / 0.7)  # survivors scaled by 1 / (1 - p)
    assert kept.mean() == pytest.approx(0.7, abs=0.01)
    assert out.mean() == pytest.approx(1.0, abs=0.02)  # expectation unchanged
    dx = layer.backward(np.ones_like(x))
    np.testing.assert_array_equal(dx, out)  # same mask, same scale
    layer.eval()
    np.testing.assert_array_equal(layer.forward(x), x)
    np.testing.assert_array_equal(layer.backward(np.full_like(x, 2.0)), 2.0)


def test_dropout_reproducible_with_seed_and_p_checked():
    x = np.ones((5, 5))
    np.testing.assert_array_equal(Dropout(0.5, rng=3).forward(x), Dropout(0.5, rng=3).forward(x))
    np.testing.assert_array_equal(Dropout(0.0, rng=3).forward(x), x)
    for p in (-0.1, 1.0, 1.5):
        with pytest.raises(ValueError, match="Dropout"):
            Dropout(p)


# ---------------------------------------------------------------------- BatchNorm
def test_batchnorm_train_normalises_per_feature():
    rng = np.random.default_rng(0)
    layer = BatchNorm(3, dtype=np.float64)
    layer.gamma = np.array([2.0, 0.5, 1.0])
    layer.beta = np.array([1.0, -1.0, 0.0])
    x = rng.standard_normal((50, 3)) * [1.0, 10.0, 0.1] + [5.0, -3.0, 0.0]
    out = layer.forward(x)
    np.testing.assert_allclose(out.mean(axis=0), [1.0, -1.0, 0.0], atol=1e-12)
    var = x.var(axis=0)
    np.testing.assert_allclose(out.std(axis=0), [2.0, 0.5, 1.0] * np.sqrt(var / (var + 1e-5)),
                               rtol=1e-12)
    # running statistics: PyTorch's momentum 0.1, unbiased variance
    np.testing.assert_allclose(layer.running_mean, 0.1 * x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(layer.running_var, 0.9 + 0.1 * x.var(axis=0, ddof=1), rtol=1e-12)


def test_batchnorm_eval_uses_running_statistics():
    layer = BatchNorm(2, dtype=np.float64)
    layer.gamma = np.array([2.0, 3.0])
    layer.beta = np.array([0.5, -0.5])
    layer.running_mean = np.array([1.0, -2.0])
    layer.running_var = np.array([4.0, 0.25])
    layer.eval()
    x = np.array([[3.0, -2.0], [1.0, -1.5]])
    out = layer.forward(x)
    expected = [2.0, 3.0] * (x - [1.0, -2.0]) / np.sqrt(np.array([4.0, 0.25]) + BATCHNORM_EPS) \
        + [0.5, -0.5]
    np.testing.assert_allclose(out, expected, rtol=1e-14)
    np.testing.assert_array_equal(layer.running_mean, [1.0, -2.0])  # unchanged in eval


def test_batchnorm_eval_keeps_no_copy_of_the_batch():
    """Inference holds no normalised copy per layer: eval mode keeps x itself for backward."""
    rng = np.random.default_rng(3)
    layer = BatchNorm(3)
    layer.running_mean = rng.standard_normal(3).astype(np.float32)
    layer.running_var = rng.uniform(0.5, 2, 3).astype(np.float32)
    layer.gamma, layer.beta = np.array([2, 3, 4], np.float32), np.array([1, 0, -1], np.float32)
    layer.eval()
    x = rng.standard_normal((4, 3, 5, 5)).astype(np.float32)
    out = layer.forward(x)
    assert layer._cache[0] is x and out.dtype == np.float32
    p = (1, 3, 1, 1)
    expected = (layer.gamma.reshape(p) * (x - layer.running_mean.reshape(p))
                / np.sqrt(layer.running_var.reshape(p) + BATCHNORM_EPS) + layer.beta.reshape(p))
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)
    dx = layer.backward(np.ones_like(out))
    np.testing.assert_allclose(dx, np.broadcast_to(
        layer.gamma.reshape(p) / np.sqrt(layer.running_var.reshape(p) + BATCHNORM_EPS), x.shape),
        rtol=1e-6)
    xn = (x - layer.running_mean.reshape(p)) / np.sqrt(layer.running_var.reshape(p)
                                                      + BATCHNORM_EPS)
    np.testing.assert_allclose(layer._parameters["gamma"].grad, xn.sum(axis=(0, 2, 3)),
                               rtol=1e-5, atol=1e-5)


def test_batchnorm_4d_is_per_channel():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 3, 5, 5)) * np.array([1.0, 5.0, 0.2])[None, :, None, None]
    out = BatchNorm(3, dtype=np.float64).forward(x)
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0.0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=(0, 2, 3)),
                               x.var(axis=(0, 2, 3)) / (x.var(axis=(0, 2, 3)) + 1e-5), rtol=1e-12)
    with pytest.raises(ValueError, match="BatchNorm"):
        BatchNorm(3).forward(np.zeros((2, 4)))


def test_batchnorm_eps_buffers_and_lecture_alias():
    assert BATCHNORM_EPS == 1e-5
    layer = BatchNorm(4)
    assert [n for n, _ in layer.named_parameters()] == ["gamma", "beta"]
    assert [n for n, _ in layer.named_buffers()] == ["running_mean", "running_var"]
    assert all(not p.decay for p in layer.parameters())
    gamma, beta = np.ones(4), np.zeros(4)
    bn = BatchNormalization(gamma, beta, momentum=0.9)
    assert bn.momentum == pytest.approx(0.1)
    assert bn.gamma is gamma and bn.beta is beta
