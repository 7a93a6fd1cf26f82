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


# ---------------------------------------------------------------------- freeze / unfreeze
def _branchy(rng=0):
    """Names like a ResNet's: layer1 (with sub-layers), layer10, fc."""
    return Sequential(OrderedDict(
        layer1=Sequential(Linear(4, 5, dtype=np.float64, rng=rng), BatchNorm(5, dtype=np.float64)),
        relu=ReLU(),
        layer10=Linear(5, 5, dtype=np.float64, rng=rng + 1),
        fc=Linear(5, 3, dtype=np.float64, rng=rng + 2),
    ))


def _frozen_names(net):
    return [n for n, p in net.named_parameters() if not p.requires_grad]


def test_freeze_prefix_matches_whole_name_components():
    net = _branchy()
    assert net.freeze("layer1") is net
    assert _frozen_names(net) == ["layer1.0.W", "layer1.0.b", "layer1.1.gamma", "layer1.1.beta"]
    net.unfreeze("layer1.1")
    assert _frozen_names(net) == ["layer1.0.W", "layer1.0.b"]
    net.unfreeze("layer1.0.b")  # a whole parameter name
    assert _frozen_names(net) == ["layer1.0.W"]
    net.unfreeze().freeze("layer10")
    assert _frozen_names(net) == ["layer10.W", "layer10.b"]
    net.freeze()  # "" is every parameter (a frozen backbone: then unfreeze the head)
    net.unfreeze("fc")
    assert [n for n, p in net.named_parameters() if p.requires_grad] == ["fc.W", "fc.b"]


@pytest.mark.parametrize("prefix", ["layer", "layer1.", "fc.W.x", "layer100", "lay"])
def test_freeze_refuses_a_prefix_that_matches_nothing(prefix):
    net = _branchy()
    with pytest.raises(ValueError) as info:
        net.freeze(prefix)
    msg = str(info.value)
    assert repr(prefix) in msg and "['layer1', 'layer10', 'fc']" in msg
    with pytest.raises(ValueError, match="unfreeze"):
        net.unfreeze(prefix)
    assert _frozen_names(net) == []  # nothing changed


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_freeze_is_independent_of_mode_and_frozen_grads_stay_none(mode):
    rng = np.random.default_rng(0)
    net = _branchy()
    x, t = rng.standard_normal((6, 4)), np.array([0, 1, 2, 0, 1, 2])
    loss = SoftmaxWithLoss()
    loss.forward(net.forward(x), t)
    net.backward(loss.backward())  # grads exist before freezing
    net.train(mode == "train")
    net.freeze("layer1")
    assert all(m.training == (mode == "train") for m in net.modules())  # mode untouched
    assert all(net.get_parameter(n).grad is None for n in _frozen_names(net))
    net.zero_grad()
    net.unfreeze("layer10")  # unfreezing what is not frozen changes nothing
    loss.forward(net.forward(x), t)
    net.backward(loss.backward())
    for name, p in net.named_parameters():
        assert (p.grad is None) == name.startswith("layer1."), name
    assert all(m.training == (mode == "train") for m in net.modules())
    # unfreezing in that mode gives the same gradients as a net that was never frozen
    net.unfreeze("layer1")
    net.zero_grad()
    ref = _branchy().train(mode == "train")
    ref.load_state_dict(net.state_dict())  # the same running statistics
    loss.forward(net.forward(x), t)
    net.backward(loss.backward())
    loss.forward(ref.forward(x), t)
    ref.backward(loss.backward())
    for (name, p), (_, q) in zip(net.named_parameters(), ref.named_parameters()):
        np.testing.assert_allclose(p.grad, q.grad, rtol=1e-12, err_msg=name)


class _MatmulSpy(np.ndarray):
    """An array that counts the products and elementwise ufuncs it takes part in."""

    calls: list[str] = []

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        _MatmulSpy.calls.append(ufunc.__name__)
        inputs = tuple(i.view(np.ndarray) if isinstance(i, _MatmulSpy) else i for i in inputs)
        return getattr(ufunc, method)(*inputs, **kwargs)


@pytest.mark.parametrize("frozen", [False, True])
def test_frozen_linear_skips_the_dW_product(frozen):
    layer = Linear(4, 3, dtype=np.float64, rng=0)
    layer.compute_dx = False  # so that x is used only for dW
    if frozen:
        layer.freeze("W")
    layer.forward(np.ones((2, 4)))
    layer.x = layer.x.view(_MatmulSpy)  # the cached input: dW = x.T @ dout is its only use
    _MatmulSpy.calls = []
    layer.backward(np.ones((2, 3)))
    assert _MatmulSpy.calls == ([] if frozen else ["matmul"])
    assert (layer.dW is None) == frozen
    np.testing.assert_array_equal(layer.db, [2.0, 2.0, 2.0])  # b is not frozen


@pytest.mark.parametrize("frozen", [False, True])
def test_frozen_batchnorm_skips_dgamma(frozen):
    bn = BatchNorm(3, dtype=np.float64)
    bn.compute_dx = False
    if frozen:
        bn.freeze("gamma")
    x = np.random.default_rng(0).standard_normal((4, 3))
    bn.forward(x)
    xn, *rest = bn._cache
    bn._cache = (xn.view(_MatmulSpy), *rest)  # dgamma = sum(dout * xn) is the only use of xn
    _MatmulSpy.calls = []
    assert bn.backward(np.ones((4, 3))) is None
    assert (_MatmulSpy.calls == []) == frozen
    assert (bn.dgamma is None) == frozen
    np.testing.assert_array_equal(bn.dbeta, [4.0, 4.0, 4.0])


# ---------------------------------------------------------------------- compute_dx
def test_compute_dx_is_part_of_the_module_contract():
    assert Module.compute_dx is True and ReLU().compute_dx is True
    with pytest.raises(ValueError, match="ReLU always computes dx"):
        ReLU().compute_dx = False
    relu = ReLU()
    relu.compute_dx = True  # allowed: nothing changes
    with pytest.raises(ValueError, match="ReLU always computes dx"):
        relu.compute_dx = False  # set before: still checked
    assert relu.compute_dx is True
    assert {Linear.supports_compute_dx, BatchNorm.supports_compute_dx} == {True}


def test_plain_attributes_set_again_stay_plain_and_registration_still_wins():
    """A layer sets its caches every call (the fast path of __setattr__): they stay plain
    attributes, while a Parameter or Module given to a name that held a plain value is
    registered and read back, and arrays given to a parameter's name are still checked."""
    m = Block()
    m.cache = np.ones(2)
    m.cache = np.zeros(3)  # set again: plain
    assert "cache" not in m._parameters and np.array_equal(m.cache, np.zeros(3))
    m.cache = Parameter(np.full(2, 7.0))  # now a parameter: registered, not hidden
    assert "cache" in m._parameters and np.array_equal(m.cache, np.full(2, 7.0))
    assert "cache" in dict(m.named_parameters())
    m.sub = 5
    m.sub = Linear(2, 2, rng=0)
    assert m.sub is m._modules["sub"]
    with pytest.raises(ValueError, match="shape"):
        m.z = np.zeros(5)  # a parameter's name: the replacement is checked as before
    m.training = False  # set in __init__: plain, as before
    assert m.training is False and "training" not in m._parameters


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_batchnorm_compute_dx_false_keeps_parameter_gradients(mode):
    x = np.random.default_rng(1).standard_normal((5, 3, 2, 2))
    dout = np.random.default_rng(2).standard_normal(x.shape)
    grads = []
    for compute_dx in (True, False):
        bn = BatchNorm(3, dtype=np.float64).train(mode == "train")
        bn.compute_dx = compute_dx
        bn.forward(x)
        dx = bn.backward(dout)
        assert (dx is None) == (not compute_dx)
        grads.append((bn.dgamma, bn.dbeta))
    np.testing.assert_array_equal(grads[0][0], grads[1][0])
    np.testing.assert_array_equal(grads[0][1], grads[1][1])


def test_sequential_passes_none_only_from_its_first_layer():
    x = np.random.default_rng(3).standard_normal((2, 4))
    seq = _branchy()
    seq.layer1[0].compute_dx = False  # the first layer of the first layer
    seq.forward(x)
    assert seq.backward(np.ones((2, 3))) is None
    assert seq.layer1[0].dW is not None
    bad = _branchy()
    bad.layer10.compute_dx = False  # relu before it would get no dout
    bad.forward(x)
    with pytest.raises(RuntimeError, match=r"layer 'layer10' \(Linear\) returned no dx.*'relu'"):
        bad.backward(np.ones((2, 3)))
