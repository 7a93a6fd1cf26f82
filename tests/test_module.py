"""The Module system: registration order, state_dict, modes, freezing, shared arrays."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

from dlscratch.layers import (
    Affine,
    BatchNorm,
    Dropout,
    Linear,
    Module,
    Parameter,
    ReLU,
    Sequential,
    SoftmaxWithLoss,
)
from dlscratch.models import MultiLayerNet, TwoLayerNet
from dlscratch.optim import SGD, Adam


class Block(Module):
    def __init__(self):
        super().__init__()
        self.z = Parameter(np.zeros(2))
        self.register_buffer("count", np.zeros(1))
        self.a = Parameter(np.ones(3), decay=False)
        self.inner = Linear(2, 2, dtype=np.float64, rng=0)
        self.register_buffer("alpha", np.ones(2))
        self.m = Parameter(np.ones((2, 2)))


def _bn_net(rng=0):
    return Sequential(OrderedDict(
        fc1=Linear(4, 5, dtype=np.float64, rng=rng),
        bn1=BatchNorm(5, dtype=np.float64),
        relu1=ReLU(),
        fc2=Linear(5, 3, dtype=np.float64, rng=rng + 1),
    ))


# ---------------------------------------------------------------------- registration
def test_registration_order_is_insertion_order():
    b = Block()
    assert [n for n, _ in b.named_parameters()] == ["z", "a", "m", "inner.W", "inner.b"]
    assert [n for n, _ in b.named_buffers()] == ["count", "alpha"]
    assert [n for n, _ in b.named_modules()] == ["", "inner"]
    assert list(b.modules()) == [m for _, m in b.named_modules()]
    assert list(b.state_dict()) == ["z", "a", "m", "count", "alpha", "inner.W", "inner.b"]
    # the same order on every construction (DeZero's set-based order is not)
    assert [n for n, _ in Block().named_parameters()] == [n for n, _ in b.named_parameters()]


def test_reassigning_keeps_position_and_shared_parameters_listed_once():
    b = Block()
    b.z = Parameter(np.full(2, 7.0))
    assert [n for n, _ in b.named_parameters()][0] == "z"
    np.testing.assert_array_equal(b.z, [7.0, 7.0])
    s = Sequential(Linear(2, 2, rng=0))
    s.append(s[0])  # the same layer twice: its parameters are listed once
    assert len(s.parameters()) == 2


def test_parameter_attributes_read_as_arrays():
    layer = Linear(3, 2, dtype=np.float64, rng=0)
    assert isinstance(layer.W, np.ndarray)
    assert layer.W is layer.get_parameter("W").data
    assert layer.dW is None  # no backward yet
    with pytest.raises(AttributeError, match="nothing"):
        layer.nothing  # noqa: B018


def test_module_needs_super_init():
    class Forgot(Module):
        def __init__(self):
            self.w = 1

    with pytest.raises(RuntimeError, match=r"super\(\).__init__"):
        Forgot()


def test_parameter_checks():
    with pytest.raises(TypeError, match="floating"):
        Parameter(np.array([1, 2]))
    p = Parameter(np.zeros(3))
    with pytest.raises(ValueError, match="shape"):
        p.accumulate(np.ones(4))
    g = np.ones(3)
    p.accumulate(g)
    p.accumulate(np.ones(3))
    np.testing.assert_array_equal(p.grad, [2.0, 2.0, 2.0])


# ---------------------------------------------------------------------- state_dict
def test_state_dict_has_buffers_and_round_trips():
    rng = np.random.default_rng(0)
    net = _bn_net(rng=0)
    x = rng.standard_normal((8, 4)) * 3 + 1
    for _ in range(3):
        net.forward(x)  # moves BatchNorm's running statistics
    sd = net.state_dict()
    assert list(sd) == ["fc1.W", "fc1.b", "bn1.gamma", "bn1.beta", "bn1.running_mean",
                        "bn1.running_var", "fc2.W", "fc2.b"]
    assert not np.allclose(sd["bn1.running_mean"], 0)
    other = _bn_net(rng=10)
    assert not np.allclose(other.fc1.W, net.fc1.W)
    other.load_state_dict(sd)
    for k, v in other.state_dict().items():
        np.testing.assert_array_equal(v, sd[k], err_msg=k)
    net.eval()
    other.eval()
    np.testing.assert_array_equal(other.forward(x), net.forward(x))


def test_state_dict_is_a_copy_and_load_copies_in_place():
    net = _bn_net()
    sd = net.state_dict()
    sd["fc1.W"][...] = 0.0
    assert not np.allclose(net.fc1.W, 0.0)
    W_before = net.fc1.W
    net.load_state_dict(sd)
    assert net.fc1.W is W_before  # written into the existing array
    np.testing.assert_array_equal(net.fc1.W, 0.0)


def test_load_state_dict_missing_and_unexpected_keys():
    net = _bn_net()
    sd = net.state_dict()
    del sd["bn1.running_var"]
    sd["fc3.W"] = np.zeros((2, 2))
    with pytest.raises(KeyError) as info:
        net.load_state_dict(sd)
    assert "bn1.running_var" in str(info.value) and "fc3.W" in str(info.value)
    missing, unexpected = net.load_state_dict(sd, strict=False)
    assert missing == ["bn1.running_var"] and unexpected == ["fc3.W"]


def test_load_state_dict_wrong_shape_names_key_and_changes_nothing():
    net = _bn_net()
    before = net.state_dict()
    sd = {k: v + 1.0 for k, v in before.items()}
    sd["fc2.b"] = np.zeros(4)  # the last key: a copy-as-you-go loader would have changed others
    with pytest.raises(ValueError) as info:
        net.load_state_dict(sd)
    msg = str(info.value)
    assert "fc2.b" in msg and "(3,)" in msg and "(4,)" in msg
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v, before[k], err_msg=k)


# ---------------------------------------------------------------------- modes and freezing
def test_train_eval_recursive():
    net = MultiLayerNet(6, [5, 4], 3, use_dropout=True, use_batchnorm=True, rng=0)
    assert all(m.training for _, m in net.named_modules())
    assert net.eval() is net
    assert not any(m.training for _, m in net.named_modules())
    net.train()
    assert all(m.training for _, m in net.named_modules())
    net.layers["Dropout1"].eval()  # one sub-module alone
    assert not net.layers["Dropout1"].training and net.layers["Dropout2"].training


def test_requires_grad_false_freezes_independently_of_mode():
    rng = np.random.default_rng(0)
    net = _bn_net()
    x, t = rng.standard_normal((6, 4)), np.array([0, 1, 2, 0, 1, 2])
    net.fc1.requires_grad_(False)
    loss = SoftmaxWithLoss()
    assert net.training and net.fc1.training  # freezing does not touch the mode
    loss.forward(net.forward(x), t)
    net.backward(loss.backward())
    assert net.fc1.get_parameter("W").grad is None and net.fc1.get_parameter("b").grad is None
    assert net.fc2.get_parameter("W").grad is not None
    frozen = net.fc1.W.copy()
    trained = net.fc2.W.copy()
    for opt in (SGD(net.parameters(), lr=0.1), Adam(net.parameters(), lr=0.1)):
        opt.step()
    np.testing.assert_array_equal(net.fc1.W, frozen)  # optimizers skip frozen parameters
    assert not np.allclose(net.fc2.W, trained)
    # eval mode does not freeze, and unfreezing works
    net.requires_grad_(True)
    net.eval()
    net.zero_grad()
    loss.forward(net.forward(x), t)
    net.backward(loss.backward())
    assert net.fc1.get_parameter("W").grad is not None


def test_frozen_parameter_ignores_accumulate():
    p = Parameter(np.zeros(2), requires_grad=False)
    p.accumulate(np.ones(2))
    assert p.grad is None


# ---------------------------------------------------------------------- shared arrays
def test_affine_shares_the_given_arrays():
    W = np.array([[1.0, 2.0], [3.0, 4.0]])
    b = np.array([0.5, -0.5])
    layer = Affine(W, b)
    assert layer.W is W and layer.b is b
    x = np.array([[1.0, 1.0]])
    np.testing.assert_allclose(layer.forward(x), [[4.5, 5.5]])
    W[0, 0] = 11.0  # the lectures' in-place update reaches the layer
    np.testing.assert_allclose(layer.forward(x), [[14.5, 5.5]])
    layer.backward(np.ones((1, 2)))
    SGD(layer.parameters(), lr=1.0).step()  # and the layer's update reaches the caller
    np.testing.assert_allclose(W, [[10.0, 1.0], [2.0, 3.0]])
    np.testing.assert_allclose(b, [-0.5, -1.5])


def test_setting_a_parameter_attribute_checks_shape():
    layer = Linear(3, 2, dtype=np.float64, rng=0)
    with pytest.raises(ValueError) as info:
        layer.W = np.zeros((2, 3))
    assert "(3, 2)" in str(info.value) and "(2, 3)" in str(info.value)
    new = np.ones((3, 2))
    layer.W = new
    np.testing.assert_array_equal(layer.W, new)
    assert layer.get_parameter("W").data is layer.W
    layer32 = Linear(3, 2, rng=0)
    layer32.W = np.ones((3, 2))  # float64 in, the layer keeps float32
    assert layer32.W.dtype == np.float32
    with pytest.raises(ValueError, match="running_mean"):
        BatchNorm(3).running_mean = np.zeros(4)


def test_two_layer_net_params_is_a_live_view():
    net = TwoLayerNet(4, 3, 2, dtype=np.float64, rng=0)
    assert list(net.params) == ["W1", "b1", "W2", "b2"]
    assert net.params["W1"] is net.layers["Affine1"].W
    x = np.random.default_rng(0).standard_normal((2, 4))
    t = np.array([0, 1])
    grads = net.gradient(x, t)
    before = net.loss(x, t)
    W1 = net.params["W1"]
    for key in ("W1", "b1", "W2", "b2"):
        net.params[key] -= 0.5 * grads[key]
    assert net.params["W1"] is W1  # updated in place
    assert net.loss(x, t) < before  # the layers saw the update
    net.params["b2"] = np.array([1.0, -1.0])
    np.testing.assert_array_equal(net.layers["Affine2"].b, [1.0, -1.0])
    with pytest.raises(ValueError):
        net.params["b2"] = np.zeros(3)
    with pytest.raises(KeyError, match="W3"):
        net.params["W3"]  # noqa: B018


# ---------------------------------------------------------------------- misc
def test_sequential_mapping_and_backward_order():
    seq = Sequential(OrderedDict(a=Linear(2, 3, rng=0), r=ReLU(), b=Linear(3, 1, rng=1)))
    assert list(seq.keys()) == ["a", "r", "b"]
    assert seq["r"] is seq[1] and "b" in seq and len(seq) == 3
    assert [type(m).__name__ for m in seq] == ["Linear", "ReLU", "Linear"]
    seq2 = Sequential(Linear(2, 2, rng=0), ReLU())
    assert list(seq2.keys()) == ["0", "1"]
    assert "Linear(in_features=2" in repr(seq)


def test_to_float64_converts_parameters_and_buffers():
    net = MultiLayerNet(4, [3], 2, use_batchnorm=True, rng=0)
    assert net.params["W1"].dtype == np.float32
    net.to(np.float64)
    assert all(p.dtype == np.float64 for p in net.parameters())
    assert all(b.dtype == np.float64 for _, b in net.named_buffers())


def test_dropout_mode_is_not_freezing():
    layer = Dropout(0.5, rng=0)
    layer.requires_grad_(False)
    assert layer.training
    out = layer.forward(np.ones((4, 4)))
    assert np.any(out == 0)  # still dropping: frozen is not eval
