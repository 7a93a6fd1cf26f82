"""dlscratch.interop.torch against networks built in torch.nn here, in the test.

Every reference network below is written out with torch.nn, independently of
``to_torch_module``, in the layout the bridge documents: an ``nn.Sequential(OrderedDict)``
with the lectures' layer names for the lecture networks, and torchvision's ResNet layout
(``test_interop_torch_resnet.py``). For each model the same weights must give the same scores,
the same loss and the same parameter gradients (relative errors, float64: 1e-10, float32: 1e-4),
in train mode (BatchNorm on batch statistics, which must also move the
running statistics the same way) and in eval mode, whichever side initialised the weights.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import OrderedDict

import numpy as np
import pytest
from helpers_interop import (
    TOL,
    assert_close,
    compare_one_batch,
    import_torch,
    perturb_batchnorm_dls,
    perturb_batchnorm_torch,
)

from dlscratch.interop.torch import (
    TorchStateDictError,
    load_torch_state_dict,
    to_torch_module,
    to_torch_state_dict,
    torch_names,
)
from dlscratch.layers import Linear
from dlscratch.models import DeepConvNet, MultiLayerNet, SimpleConvNet, TwoLayerNet


@pytest.fixture(scope="module")
def torch():
    return import_torch()


# ---------------------------------------------------------------- reference networks (torch.nn)
def ref_mlp(nn, sizes, act, batchnorm=False):
    layers = OrderedDict()
    for i in range(1, len(sizes)):
        layers[f"Affine{i}"] = nn.Linear(sizes[i - 1], sizes[i])
        if i == len(sizes) - 1:
            break
        if batchnorm:
            layers[f"BatchNorm{i}"] = nn.BatchNorm1d(sizes[i])
        layers[f"Activation_function{i}"] = act()
    return nn.Sequential(layers)


def ref_twolayer(nn, n_in, hidden, n_out):
    return nn.Sequential(OrderedDict(
        Affine1=nn.Linear(n_in, hidden), Sigmoid1=nn.Sigmoid(), Affine2=nn.Linear(hidden, n_out)))


def ref_simple_cnn(nn, C, FN, size, pad, stride, flat, hidden, n_out):
    return nn.Sequential(OrderedDict(
        Conv1=nn.Conv2d(C, FN, size, stride=stride, padding=pad), Relu1=nn.ReLU(),
        Pool1=nn.MaxPool2d(2, 2), flatten=nn.Flatten(),
        Affine1=nn.Linear(flat, hidden), Relu2=nn.ReLU(), Affine2=nn.Linear(hidden, n_out)))


def ref_deep_cnn(nn, p):
    layers = OrderedDict()
    c = 1
    for i, (fn, pad) in enumerate([(16, 1), (16, 1), (32, 1), (32, 2), (64, 1), (64, 1)], 1):
        layers[f"Conv{i}"] = nn.Conv2d(c, fn, 3, padding=pad)
        layers[f"Relu{i}"] = nn.ReLU()
        c = fn
        if i % 2 == 0:
            layers[f"Pool{i // 2}"] = nn.MaxPool2d(2, 2)
    layers["flatten"] = nn.Flatten()
    layers["Affine1"] = nn.Linear(64 * 4 * 4, 50)
    layers["Relu7"] = nn.ReLU()
    layers["Dropout1"] = nn.Dropout(p)
    layers["Affine2"] = nn.Linear(50, 10)
    layers["Dropout2"] = nn.Dropout(p)
    return nn.Sequential(layers)


# name -> (dlscratch builder(dtype, rng, p), torch builder(nn, p), input shape of one sample)
# p: the dropout probability (0 in train mode so that both sides compute the same function)
CASES = {
    "mlp": (lambda dt, rng, p: MultiLayerNet(12, [10, 8], 5, dtype=dt, rng=rng),
            lambda nn, p: ref_mlp(nn, [12, 10, 8, 5], nn.ReLU), (12,)),
    "mlp-batchnorm": (
        lambda dt, rng, p: MultiLayerNet(12, [10, 8], 5, activation="tanh",
                                         use_batchnorm=True, dtype=dt, rng=rng),
        lambda nn, p: ref_mlp(nn, [12, 10, 8, 5], nn.Tanh, batchnorm=True), (12,)),
    "twolayer": (lambda dt, rng, p: TwoLayerNet(12, 10, 5, weight_init_std=0.5, dtype=dt,
                                                rng=rng),
                 lambda nn, p: ref_twolayer(nn, 12, 10, 5), (12,)),
    "simplecnn": (
        lambda dt, rng, p: SimpleConvNet(
            (2, 10, 10), {"filter_num": 4, "filter_size": 3, "pad": 1, "stride": 1},
            hidden_size=8, output_size=5, weight_init_std="he", dtype=dt, rng=rng),
        lambda nn, p: ref_simple_cnn(nn, 2, 4, 3, 1, 1, 4 * 5 * 5, 8, 5), (2, 10, 10)),
    "deepcnn": (lambda dt, rng, p: DeepConvNet(dropout_ratio=p, dtype=dt, rng=rng),
                lambda nn, p: ref_deep_cnn(nn, p), (1, 28, 28)),
}


def dls_grads(model):
    """The dlscratch gradients under torch's names and layouts (written out here, per layer)."""
    grads = {}
    for name, layer in model.layers.items():
        for attr, p in layer._parameters.items():
            torch_name = {"W": "weight", "b": "bias", "gamma": "weight", "beta": "bias"}[attr]
            g = p.grad
            grads[f"{name}.{torch_name}"] = g.T if isinstance(layer, Linear) and attr == "W" else g
    return grads


def _lecture_buffer(model, key):
    """``BatchNorm1.running_mean`` (torch) -> the lecture net's ``layers.BatchNorm1`` array."""
    layer, attr = key.rsplit(".", 1)
    return getattr(model.layers[layer], attr)


def compare(torch, model, ref, x, t, train, tol):
    compare_one_batch(torch, model, ref, x, t, train, tol, dls_grads, _lecture_buffer)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("direction", ["dlscratch->torch", "torch->dlscratch"])
@pytest.mark.parametrize("name", list(CASES))
def test_same_outputs_and_gradients_as_torch(torch, name, direction, train, dtype):
    build, build_ref, shape = CASES[name]
    p = 0.0 if train else 0.5
    rng = np.random.default_rng(3)
    model = build(dtype, rng, p)
    torch.manual_seed(0)
    ref = build_ref(torch.nn, p).to(torch.float64 if dtype == np.float64 else torch.float32)
    if direction == "dlscratch->torch":
        perturb_batchnorm_dls(model, rng)
        sd = to_torch_state_dict(model)
        assert all(v.dtype == ref.state_dict()[k].dtype for k, v in sd.items())
        ref.load_state_dict(sd, strict=True)
    else:
        perturb_batchnorm_torch(torch, ref, torch.Generator().manual_seed(1))
        load_torch_state_dict(model, ref.state_dict())
    x = rng.standard_normal((6, *shape)).astype(dtype)
    t = rng.integers(0, 10 if name == "deepcnn" else 5, size=6)
    compare(torch, model, ref, x, t, train, TOL[dtype])


@pytest.mark.parametrize("name", list(CASES))
def test_to_torch_module_matches_the_reference(torch, name):
    build, build_ref, shape = CASES[name]
    model = build(np.float64, np.random.default_rng(0), 0.5)
    perturb_batchnorm_dls(model, np.random.default_rng(1))
    model.eval()
    module = to_torch_module(model)
    ref = build_ref(torch.nn, 0.5)
    assert not module.training
    assert {k: tuple(v.shape) for k, v in module.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in ref.state_dict().items()}
    assert all(p.dtype == torch.float64 for p in module.parameters())
    x = np.random.default_rng(2).standard_normal((4, *shape))
    assert_close(module(torch.from_numpy(x)).detach().numpy(), model.forward(x), 1e-10)
    assert to_torch_module(model.train()).training


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", list(CASES))
def test_round_trip_is_exact(torch, name, dtype):
    build = CASES[name][0]
    a = build(dtype, np.random.default_rng(0), 0.5)
    perturb_batchnorm_dls(a, np.random.default_rng(5))
    b = build(dtype, np.random.default_rng(1), 0.5)
    sd = to_torch_state_dict(a)
    load_torch_state_dict(b, sd)
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for k in sa:
        assert sb[k].dtype == sa[k].dtype == dtype
        np.testing.assert_array_equal(sb[k], sa[k], err_msg=k)
    # the exported tensors are copies: changing them leaves the model alone
    first = next(iter(sd))
    sd[first].add_(1.0)
    np.testing.assert_array_equal(a.state_dict()[next(iter(sa))], sa[next(iter(sa))])


def test_layouts_and_num_batches_tracked(torch):
    model = MultiLayerNet(6, [4], 3, use_batchnorm=True, rng=0)
    sd = to_torch_state_dict(model)
    assert list(sd) == ["Affine1.weight", "Affine1.bias", "BatchNorm1.weight", "BatchNorm1.bias",
                        "BatchNorm1.running_mean", "BatchNorm1.running_var",
                        "BatchNorm1.num_batches_tracked", "Affine2.weight", "Affine2.bias"]
    np.testing.assert_array_equal(sd["Affine1.weight"].numpy(), model.params["W1"].T)
    assert sd["Affine1.weight"].is_contiguous()
    assert sd["BatchNorm1.num_batches_tracked"].dtype == torch.int64
    assert sd["BatchNorm1.num_batches_tracked"].shape == ()
    names = torch_names(model)
    assert names["Affine1.weight"] == "layers.Affine1.W"
    assert names["BatchNorm1.weight"] == "layers.BatchNorm1.gamma"
    assert names["BatchNorm1.num_batches_tracked"] == ""
    conv = to_torch_state_dict(SimpleConvNet(rng=0))
    assert tuple(conv["Conv1.weight"].shape) == (30, 1, 5, 5)
    assert tuple(conv["Affine1.weight"].shape) == (100, 4320)


# ---------------------------------------------------------------- errors
def test_mismatch_lists_everything_and_changes_nothing(torch):
    model = MultiLayerNet(6, [4], 3, use_batchnorm=True, rng=0)
    before = model.state_dict()
    other = MultiLayerNet(6, [4], 3, use_batchnorm=True, rng=1)
    perturb_batchnorm_dls(other, np.random.default_rng(2))
    other.params["b1"], other.params["b2"] = np.arange(4.0), np.ones(3)  # all values differ
    for k, v in other.state_dict().items():
        assert not np.array_equal(v, before[k]), k
    sd = to_torch_state_dict(other)
    del sd["Affine2.bias"]
    sd["Affine3.weight"] = torch.zeros(3, 3)
    sd["Affine1.weight"] = torch.zeros(6, 4)  # dlscratch's (in, out), not torch's (out, in)
    with pytest.raises(TorchStateDictError) as info:
        load_torch_state_dict(model, sd)
    msg = str(info.value)
    assert "missing keys (1): Affine2.bias" in msg
    assert "unexpected keys (1): Affine3.weight" in msg
    assert "Affine1.weight: expected (4, 6), given (6, 4)" in msg
    assert "nothing was loaded" in msg
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k], err_msg=k)

    # a shape error alone: the other, valid keys are not loaded either
    sd = to_torch_state_dict(other)
    sd["BatchNorm1.running_var"] = torch.ones(5)
    with pytest.raises(TorchStateDictError, match=r"BatchNorm1.running_var: expected \(4,\), "
                                                  r"given \(5,\)"):
        load_torch_state_dict(model, sd)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k], err_msg=k)


def test_non_strict_load_and_optional_num_batches_tracked(torch):
    src = MultiLayerNet(6, [4], 3, use_batchnorm=True, rng=1)
    sd = to_torch_state_dict(src)
    del sd["BatchNorm1.num_batches_tracked"]  # older checkpoints have none: fine
    model = MultiLayerNet(6, [4], 3, use_batchnorm=True, rng=0)
    assert load_torch_state_dict(model, sd) == ([], [])
    np.testing.assert_array_equal(model.params["W1"], src.params["W1"])

    # a new head: skip it with strict=False, the rest is loaded
    head = MultiLayerNet(6, [4], 7, use_batchnorm=True, rng=0)
    backbone = {k: v for k, v in sd.items() if not k.startswith("Affine2.")}
    backbone["extra.bias"] = np.zeros(2)
    missing, unexpected = load_torch_state_dict(head, backbone, strict=False)
    assert missing == ["Affine2.weight", "Affine2.bias"] and unexpected == ["extra.bias"]
    np.testing.assert_array_equal(head.params["gamma1"], src.params["gamma1"])
    with pytest.raises(TorchStateDictError, match="Affine2.weight: expected"):
        load_torch_state_dict(head, sd, strict=False)  # shapes are checked all the same


def test_numpy_arrays_and_dtype_conversion(torch):
    src = TwoLayerNet(6, 4, 3, weight_init_std=1.0, dtype=np.float64, rng=0)
    sd = {k: v.numpy() for k, v in to_torch_state_dict(src).items()}
    model = TwoLayerNet(6, 4, 3, rng=1)  # float32
    load_torch_state_dict(model, sd)
    assert model.params["W1"].dtype == np.float32
    np.testing.assert_array_equal(model.params["W1"], src.params["W1"].astype(np.float32))


def test_dlscratch_state_dict_gets_a_hint(torch):
    model = TwoLayerNet(6, 4, 3, rng=0)
    with pytest.raises(TorchStateDictError, match="use model.load_state_dict"):
        load_torch_state_dict(model, model.state_dict())
    with pytest.raises(TypeError, match="mapping"):
        load_torch_state_dict(model, [1, 2])


# ---------------------------------------------------------------- without torch
def _run_without_torch(code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter in which ``import torch`` fails."""
    prelude = "import sys\nsys.modules['torch'] = None  # import torch -> ImportError\n"
    return subprocess.run([sys.executable, "-c", prelude + code], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONWARNINGS": "ignore"})


def test_importable_without_torch_and_clear_error():
    code = (
        "import numpy as np\n"
        "import dlscratch.interop.torch as bridge\n"
        "from dlscratch.models import TwoLayerNet\n"
        "assert 'torch' not in {k for k, v in sys.modules.items() if v is not None}\n"
        "m = TwoLayerNet(4, 3, 2, rng=0)\n"
        "for f in (lambda: bridge.to_torch_state_dict(m), lambda: bridge.to_torch_module(m),\n"
        "          lambda: bridge.load_torchvision_checkpoint('x.pth')):\n"
        "    try:\n"
        "        f()\n"
        "    except ImportError as e:\n"
        "        assert 'pip install torch==2.13.0' in str(e), e\n"
        "    else:\n"
        "        raise SystemExit('no ImportError')\n"
        "sd = {'Affine1.weight': np.ones((3, 4)), 'Affine1.bias': np.ones(3),\n"
        "      'Affine2.weight': np.ones((2, 3)), 'Affine2.bias': np.ones(2)}\n"
        "bridge.load_torch_state_dict(m, sd)  # NumPy arrays need no torch\n"
        "assert (m.params['W1'] == 1).all()\n"
        "print('ok')\n"
    )
    res = _run_without_torch(code)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr
