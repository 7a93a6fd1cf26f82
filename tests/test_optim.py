"""Optimizers against arithmetic worked out by hand, through update() and step() alike."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dlscratch.gradient import numerical_gradient
from dlscratch.layers import BatchNorm, Linear, Parameter
from dlscratch.optim import (
    OPTIMIZERS,
    SGD,
    AdaGrad,
    Adam,
    Momentum,
    Nesterov,
    RMSprop,
    get_optimizer,
)

P0 = [1.0, -2.0]  # a 2-element parameter
G1 = [0.5, -1.0]  # its gradient at step 1
G2 = [0.2, 0.4]  # and at step 2
LR = 0.1


def _hand_sgd():
    # W <- W - lr * g
    return [[1.0 - 0.1 * 0.5, -2.0 - 0.1 * -1.0]]  # [0.95, -1.9]


def _hand_momentum():
    # v <- 0.9 v - lr g ; W <- W + v
    v1 = [-0.1 * 0.5, -0.1 * -1.0]  # [-0.05, 0.1]
    p1 = [1.0 + v1[0], -2.0 + v1[1]]  # [0.95, -1.9]
    v2 = [0.9 * v1[0] - 0.1 * 0.2, 0.9 * v1[1] - 0.1 * 0.4]  # [-0.065, 0.05]
    p2 = [p1[0] + v2[0], p1[1] + v2[1]]  # [0.885, -1.85]
    assert np.allclose(p2, [0.885, -1.85])
    return [p1, p2]


def _hand_nesterov():
    # v <- 0.9 v - lr g ; W <- W + 0.9 v - lr g
    v1 = [-0.05, 0.1]
    p1 = [1.0 + 0.9 * -0.05 - 0.1 * 0.5, -2.0 + 0.9 * 0.1 - 0.1 * -1.0]  # [0.905, -1.81]
    v2 = [0.9 * v1[0] - 0.1 * 0.2, 0.9 * v1[1] - 0.1 * 0.4]  # [-0.065, 0.05]
    p2 = [p1[0] + 0.9 * v2[0] - 0.1 * 0.2, p1[1] + 0.9 * v2[1] - 0.1 * 0.4]
    assert np.allclose(p2, [0.8265, -1.805])
    return [p1, p2]


def _hand_adagrad():
    # h <- h + g^2 ; W <- W - lr g / (sqrt(h) + 1e-7)
    eps = 1e-7
    h1 = [0.25, 1.0]
    p1 = [1.0 - 0.1 * 0.5 / (math.sqrt(h1[0]) + eps), -2.0 - 0.1 * -1.0 / (math.sqrt(h1[1]) + eps)]
    h2 = [0.25 + 0.04, 1.0 + 0.16]
    p2 = [p1[0] - 0.1 * 0.2 / (math.sqrt(h2[0]) + eps), p1[1] - 0.1 * 0.4 / (math.sqrt(h2[1]) + eps)]
    assert np.allclose(p2, [0.9 - 0.02 / math.sqrt(0.29), -1.9 - 0.04 / math.sqrt(1.16)])
    return [p1, p2]


def _hand_rmsprop():
    # h <- 0.99 h + 0.01 g^2 ; W <- W - lr g / (sqrt(h) + 1e-7)
    eps = 1e-7
    h1 = [0.01 * 0.25, 0.01 * 1.0]  # [0.0025, 0.01]
    p1 = [1.0 - 0.1 * 0.5 / (math.sqrt(h1[0]) + eps), -2.0 - 0.1 * -1.0 / (math.sqrt(h1[1]) + eps)]
    h2 = [0.99 * h1[0] + 0.01 * 0.04, 0.99 * h1[1] + 0.01 * 0.16]  # [0.002875, 0.0115]
    p2 = [p1[0] - 0.1 * 0.2 / (math.sqrt(h2[0]) + eps), p1[1] - 0.1 * 0.4 / (math.sqrt(h2[1]) + eps)]
    return [p1, p2]


def _hand_adam():
    # m <- 0.9 m + 0.1 g ; v <- 0.999 v + 0.001 g^2
    # W <- W - lr * (m / (1 - 0.9^t)) / (sqrt(v / (1 - 0.999^t)) + 1e-8)
    eps = 1e-8
    m1 = [0.1 * 0.5, 0.1 * -1.0]  # [0.05, -0.1]
    v1 = [0.001 * 0.25, 0.001 * 1.0]  # [0.00025, 0.001]
    # t = 1: bias corrections 1 - 0.9 = 0.1 and 1 - 0.999 = 0.001 give m_hat = g, v_hat = g^2
    p1 = [1.0 - 0.1 * (m1[0] / 0.1) / (math.sqrt(v1[0] / 0.001) + eps),
          -2.0 - 0.1 * (m1[1] / 0.1) / (math.sqrt(v1[1] / 0.001) + eps)]
    assert np.allclose(p1, [0.9, -1.9])  # the first Adam step moves each weight by ~lr
    m2 = [0.9 * m1[0] + 0.1 * 0.2, 0.9 * m1[1] + 0.1 * 0.4]  # [0.065, -0.05]
    v2 = [0.999 * v1[0] + 0.001 * 0.04, 0.999 * v1[1] + 0.001 * 0.16]  # [0.00028975, 0.001159]
    # t = 2: 1 - 0.9^2 = 0.19 and 1 - 0.999^2 = 0.001999
    p2 = [p1[0] - 0.1 * (m2[0] / 0.19) / (math.sqrt(v2[0] / 0.001999) + eps),
          p1[1] - 0.1 * (m2[1] / 0.19) / (math.sqrt(v2[1] / 0.001999) + eps)]
    return [p1, p2]


HAND = {
    "SGD": (SGD, {}, _hand_sgd),
    "Momentum": (Momentum, {"momentum": 0.9}, _hand_momentum),
    "Nesterov": (Nesterov, {"momentum": 0.9}, _hand_nesterov),
    "AdaGrad": (AdaGrad, {}, _hand_adagrad),
    "RMSprop": (RMSprop, {"decay_rate": 0.99}, _hand_rmsprop),
    "Adam": (Adam, {"beta1": 0.9, "beta2": 0.999}, _hand_adam),
}


@pytest.mark.parametrize("name", list(HAND))
def test_optimizer_steps_match_hand_arithmetic(name):
    cls, kwargs, hand = HAND[name]
    expected = hand()
    grads = [G1, G2][: len(expected)]

    # the lectures' way: dicts of arrays
    params = {"W": np.array(P0)}
    opt_dict = cls(lr=LR, **kwargs)
    via_update = []
    for g in grads:
        opt_dict.update(params, {"W": np.array(g)})
        via_update.append(params["W"].copy())

    # PyTorch's way: Parameters and step()
    p = Parameter(np.array(P0))
    opt_step = cls([p], lr=LR, **kwargs)
    via_step = []
    for g in grads:
        p.grad = np.array(g)
        opt_step.step()
        via_step.append(p.data.copy())

    for i, exp in enumerate(expected):
        np.testing.assert_allclose(via_update[i], exp, rtol=1e-12, atol=1e-15,
                                   err_msg=f"{name} step {i + 1}")
        np.testing.assert_array_equal(via_step[i], via_update[i])
    assert opt_dict.t == opt_step.t == len(expected)


def test_adam_step_count_is_per_step_not_per_parameter():
    params = {"W1": np.array([1.0, 2.0]), "b1": np.array([0.0]), "W2": np.array([[3.0]])}
    grads = {"W1": np.array([0.3, -2.0]), "b1": np.array([50.0]), "W2": np.array([[-1e-3]])}
    opt = Adam(lr=0.01)
    opt.update(params, grads)
    assert opt.t == 1
    # at t = 1 every parameter, whatever its position, moves by lr * sign(g)
    np.testing.assert_allclose(params["W1"], [0.99, 2.01], rtol=1e-6)
    np.testing.assert_allclose(params["b1"], [-0.01], rtol=1e-5)
    np.testing.assert_allclose(params["W2"], [[3.01]], rtol=1e-5)


@pytest.mark.parametrize("name", list(HAND))
def test_frozen_and_gradless_parameters_are_skipped(name):
    cls, kwargs, _ = HAND[name]
    frozen = Parameter(np.array(P0), requires_grad=False)
    frozen.grad = np.array(G1)
    no_grad = Parameter(np.array(P0))
    cls([frozen, no_grad], lr=LR, **kwargs).step()
    np.testing.assert_array_equal(frozen.data, P0)
    np.testing.assert_array_equal(no_grad.data, P0)


# ---------------------------------------------------------------------- weight decay
def test_sgd_weight_decay_equals_l2_penalty_in_the_loss():
    lam, lr = 0.3, 0.1
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 4))
    R = rng.standard_normal((5, 3))
    layer = Linear(4, 3, dtype=np.float64, rng=1)
    layer.b = rng.standard_normal(3)
    W0, b0 = layer.W.copy(), layer.b.copy()

    def penalised_loss(_):
        return float(np.sum(layer.forward(x) * R)) + 0.5 * lam * float(np.sum(layer.W**2))

    # the gradient of the penalised loss, numerically: dW + lam W for W, db for b
    gW = numerical_gradient(penalised_loss, layer.W)
    gb = numerical_gradient(penalised_loss, layer.b)

    layer.forward(x)
    layer.backward(R)
    np.testing.assert_allclose(gW, layer.dW + lam * W0, rtol=1e-7)
    np.testing.assert_allclose(gb, layer.db, rtol=1e-7)
    db = layer.db.copy()

    SGD(layer.parameters(), lr=lr, weight_decay=lam).step()
    np.testing.assert_allclose(layer.W, W0 - lr * gW, rtol=1e-7)  # plain SGD on the penalty
    np.testing.assert_allclose(layer.b, b0 - lr * db, rtol=1e-14)  # biases are not decayed


@pytest.mark.parametrize("name", list(HAND))
def test_weight_decay_is_grad_plus_lambda_w_for_every_optimizer(name):
    cls, kwargs, _ = HAND[name]
    lam = 0.2
    rng = np.random.default_rng(1)
    W, b = rng.standard_normal((3, 2)), rng.standard_normal(2)
    grads = [{"W1": rng.standard_normal((3, 2)), "b1": rng.standard_normal(2)} for _ in range(3)]
    decayed = {"W1": W.copy(), "b1": b.copy()}
    manual = {"W1": W.copy(), "b1": b.copy()}
    opt_a = cls(lr=LR, weight_decay=lam, **kwargs)
    opt_b = cls(lr=LR, **kwargs)
    for g in grads:
        g_manual = {"W1": g["W1"] + lam * manual["W1"], "b1": g["b1"]}
        opt_a.update(decayed, g)
        opt_b.update(manual, g_manual)
    np.testing.assert_allclose(decayed["W1"], manual["W1"], rtol=1e-13)
    np.testing.assert_allclose(decayed["b1"], manual["b1"], rtol=1e-13)


def test_weight_decay_skips_batchnorm_parameters():
    bn = BatchNorm(3, dtype=np.float64)
    bn.gamma = np.array([2.0, 3.0, 4.0])
    for p in bn.parameters():
        p.grad = np.zeros(3)
    SGD(bn.parameters(), lr=0.1, weight_decay=10.0).step()
    np.testing.assert_array_equal(bn.gamma, [2.0, 3.0, 4.0])


# ---------------------------------------------------------------------- interface
def test_state_dict_resumes_exactly():
    rng = np.random.default_rng(2)
    gs = [rng.standard_normal(2) for _ in range(4)]
    p = Parameter(np.array(P0))
    opt = Adam([p], lr=0.05)
    for g in gs:
        p.grad = g.copy()
        opt.step()
    q = Parameter(np.array(P0))
    opt1 = Adam([q], lr=0.05)
    for g in gs[:2]:
        q.grad = g.copy()
        opt1.step()
    saved = opt1.state_dict()
    opt2 = Adam([q], lr=0.05)
    opt2.load_state_dict(saved)
    assert opt2.t == 2
    for g in gs[2:]:
        q.grad = g.copy()
        opt2.step()
    np.testing.assert_array_equal(q.data, p.data)


def test_optimizer_argument_checks():
    with pytest.raises(TypeError, match="lr="):
        SGD(0.1)
    with pytest.raises(ValueError, match="lr"):
        SGD(lr=0.0)
    with pytest.raises(ValueError, match="weight_decay"):
        Adam(lr=0.1, weight_decay=-1.0)
    with pytest.raises(RuntimeError, match="without parameters"):
        SGD(lr=0.1).step()
    with pytest.raises(KeyError, match="b1"):
        SGD(lr=0.1).update({"b1": np.zeros(2)}, {})
    with pytest.raises(ValueError, match="shape"):
        SGD(lr=0.1).update({"W1": np.zeros(2)}, {"W1": np.zeros(3)})
    with pytest.raises(TypeError, match="Parameters"):
        SGD([np.zeros(2)], lr=0.1)


def test_get_optimizer_and_module_argument():
    layer = Linear(2, 2, rng=0)
    for name, cls in OPTIMIZERS.items():
        opt = get_optimizer(name.upper(), layer, lr=0.01)
        assert type(opt) is cls
        assert len(opt.params) == 2
    with pytest.raises(ValueError, match="unknown optimizer"):
        get_optimizer("lbfgs")


def test_zero_grad_through_optimizer():
    layer = Linear(2, 2, rng=0)
    layer.forward(np.ones((1, 2), dtype=np.float32))
    layer.backward(np.ones((1, 2), dtype=np.float32))
    opt = SGD(layer.parameters(), lr=0.1)
    opt.zero_grad()
    assert layer.dW is None and layer.db is None


# ---------------------------------------------------------------------- frozen parameters
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_a_frozen_layer_stays_bit_identical_under_weight_decay(name, mode):
    from collections import OrderedDict

    from dlscratch.layers import ReLU, Sequential, SoftmaxWithLoss

    rng = np.random.default_rng(0)
    net = Sequential(OrderedDict(fc1=Linear(4, 5, dtype=np.float64, rng=1),
                                 bn=BatchNorm(5, dtype=np.float64), relu=ReLU(),
                                 fc2=Linear(5, 3, dtype=np.float64, rng=2)))
    net.freeze("fc1").freeze("bn")
    net.train(mode == "train")
    before = {k: p.data.copy() for k, p in net.named_parameters()}
    opt = get_optimizer(name, net.parameters(), lr=0.1, weight_decay=0.5)
    x, t = rng.standard_normal((6, 4)), np.array([0, 1, 2, 0, 1, 2])
    loss = SoftmaxWithLoss()
    for _ in range(3):
        opt.zero_grad()
        loss.forward(net.forward(x), t)
        net.backward(loss.backward())
        opt.step()
    for k, p in net.named_parameters():
        if k.startswith(("fc1.", "bn.")):
            assert p.grad is None, k
            assert p.data.tobytes() == before[k].tobytes(), k  # bit-identical
        else:
            assert not np.array_equal(p.data, before[k]), k
    # optimizer state only for fc2's W and b (SGD keeps none), none for the frozen ones
    assert set(opt.state) == (set() if name == "sgd" else {4, 5})
