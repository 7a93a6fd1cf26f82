"""ResNet (BasicBlock, Bottleneck, resnet18/34/50, resnet_small): torchvision's layout and names,
gradient checks in train and eval mode, freezing, saving."""

from __future__ import annotations

import hashlib
import time

import numpy as np
import pytest
from helpers_core import assert_small, check_layer

from dlscratch import io
from dlscratch.gradient import gradient_check
from dlscratch.layers import BatchNorm, Conv2d
from dlscratch.models import (
    BasicBlock,
    Bottleneck,
    ResNet,
    resnet18,
    resnet34,
    resnet50,
    resnet_small,
)
from dlscratch.models.config import check_config
from dlscratch.models.resnet import resnet_parameter_count
from dlscratch.optim import Adam


def digest(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def randomize_batchnorms(module, rng: np.random.Generator) -> None:
    """gamma != 1, beta != 0 and running statistics away from 0 / 1 in every BatchNorm."""
    for m in module.modules():
        if isinstance(m, BatchNorm):
            c = m.gamma.shape[0]
            m.gamma = 1 + 0.3 * rng.standard_normal(c)
            m.beta = 0.3 * rng.standard_normal(c)
            m.running_mean = 0.3 * rng.standard_normal(c)
            m.running_var = rng.uniform(0.5, 2.0, c)


def torchvision_keys(block: str, layers: list[int], widths=(64, 128, 256, 512)) -> list[str]:
    """torchvision's state_dict keys without num_batches_tracked, from its _make_layer rules."""
    def bn(p):
        return [f"{p}.weight", f"{p}.bias", f"{p}.running_mean", f"{p}.running_var"]

    expansion, convs = (1, 2) if block == "basic" else (4, 3)
    keys = ["conv1.weight", *bn("bn1")]
    inplanes = widths[0]
    for i, (n, planes) in enumerate(zip(layers, widths), start=1):
        for j in range(n):
            p = f"layer{i}.{j}"
            for k in range(1, convs + 1):
                keys += [f"{p}.conv{k}.weight", *bn(f"{p}.bn{k}")]
            if j == 0 and (i > 1 or inplanes != planes * expansion):
                keys += [f"{p}.downsample.0.weight", *bn(f"{p}.downsample.1")]
            inplanes = planes * expansion
    return keys + ["fc.weight", "fc.bias"]


@pytest.fixture(scope="module")
def net50() -> ResNet:
    return resnet50(rng=0)


# ----------------------------------------------------------------------------- sizes and names
@pytest.mark.parametrize("factory, block, layers, count", [
    (resnet18, "basic", [2, 2, 2, 2], 11_689_512),
    (resnet34, "basic", [3, 4, 6, 3], 21_797_672),
    (resnet50, "bottleneck", [3, 4, 6, 3], 25_557_032),
])
def test_parameter_counts_are_the_published_ones(factory, block, layers, count, request):
    config = dict(block=block, layers=layers, num_classes=1000, in_channels=3,
                  widths=[64, 128, 256, 512], stem="imagenet", dtype="float32")
    assert resnet_parameter_count(block, layers) == count
    assert ResNet.count_parameters(check_config(ResNet, config)) == count
    if factory is resnet50:  # build one (0.5 s): the count of the arrays themselves
        net = request.getfixturevalue("net50")
        assert net.get_config() == config
        assert net.num_parameters() == count
        assert ResNet.count_buffers(config) == sum(b.size for _, b in net.named_buffers())
        assert list(net.state_dict()) == torchvision_keys(block, layers)


def test_resnet50_forward_on_one_224_image_and_the_stage_sizes(net50):
    net = net50.eval()
    x = np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32)
    start = time.perf_counter()
    h, shapes = x, {}
    for name, layer in net.layers.items():
        h = layer.forward(h)
        shapes[name] = h.shape
    seconds = time.perf_counter() - start
    print(f"ResNet-50 forward, one 224x224 image: {seconds:.2f} s")
    assert shapes == {"conv1": (1, 64, 112, 112), "bn1": (1, 64, 112, 112),
                      "relu": (1, 64, 112, 112), "maxpool": (1, 64, 56, 56),
                      "layer1": (1, 256, 56, 56), "layer2": (1, 512, 28, 28),
                      "layer3": (1, 1024, 14, 14), "layer4": (1, 2048, 7, 7),
                      "avgpool": (1, 2048), "fc": (1, 1000)}
    assert h.dtype == np.float32 and np.all(np.isfinite(h))
    np.testing.assert_array_equal(net.predict(x), h)
    assert seconds < 60  # about 1.5 s here; generous for a loaded machine


def test_state_dict_params_and_freeze_use_torchvision_names():
    net = resnet18(num_classes=7, rng=0)
    sd = net.state_dict()
    assert list(sd) == torchvision_keys("basic", [2, 2, 2, 2])
    assert sd["fc.weight"].shape == (512, 7)  # dlscratch's (in, out) layout
    assert sd["layer2.0.downsample.0.weight"].shape == (128, 64, 1, 1)
    assert sd["layer2.0.downsample.1.running_var"].shape == (128,)
    np.testing.assert_array_equal(sd["layer1.0.bn1.weight"], net.layer1[0].bn1.gamma)
    assert sd["conv1.weight"] is not net.conv1.W  # copies
    # params: a live view under the same names, parameters only
    assert list(net.params) == [k for k in sd if "running" not in k]
    assert net.params["layer3.1.conv2.weight"] is net.layer3[1].conv2.W
    assert net.params["fc.bias"] is net.fc.b
    # freezing takes PyTorch's prefixes: the modules are ResNet's own children
    net.freeze("layer1")
    frozen = {k for k in net.params if not net.params.parameter(k).requires_grad}
    assert frozen == {k for k in net.params if k.startswith("layer1.")}


def test_load_state_dict_round_trip_and_errors_in_torchvision_names():
    rng = np.random.default_rng(0)
    src = resnet_small(rng=1)
    randomize_batchnorms(src, rng)
    dst = resnet_small(rng=2)
    dst.load_state_dict(src.state_dict())
    for k, v in src.state_dict().items():
        np.testing.assert_array_equal(dst.state_dict()[k], v, err_msg=k)
    x = rng.random((3, 1, 28, 28)).astype(np.float32)
    np.testing.assert_array_equal(dst.eval().predict(x), src.eval().predict(x))

    sd = src.state_dict()
    del sd["layer2.0.bn1.running_mean"]
    sd["fc.weights"] = sd.pop("fc.weight")
    with pytest.raises(KeyError, match=r"missing keys \['layer2.0.bn1.running_mean', "
                                       r"'fc.weight'\], unexpected keys \['fc.weights'\]"):
        dst.load_state_dict(sd)
    before = dst.state_dict()
    sd = src.state_dict()
    sd["layer1.0.conv2.weight"] = np.zeros((16, 16, 1, 1), np.float32)
    with pytest.raises(ValueError, match=r"layer1.0.conv2.weight: expected \(16, 16, 3, 3\)"):
        dst.load_state_dict(sd)
    assert all(np.array_equal(before[k], v) for k, v in dst.state_dict().items())  # unchanged
    sd = src.state_dict()
    sd["layer1.0.bn1.num_batches_tracked"] = np.array(5)
    missing, unexpected = dst.load_state_dict(sd, strict=False)
    assert (missing, unexpected) == ([], ["layer1.0.bn1.num_batches_tracked"])


def test_constructor_checks_its_arguments():
    with pytest.raises(ValueError, match="block must be"):
        ResNet("wide", [1], widths=[4])
    with pytest.raises(ValueError, match="same number"):
        ResNet("basic", [1, 1], widths=[4])
    with pytest.raises(ValueError, match="stem must be one of"):
        ResNet("basic", [1], widths=[4], stem="cifar")
    assert ResNet(BasicBlock, [1], widths=[4], stem="small").get_config()["block"] == "basic"


# ----------------------------------------------------------------------------- blocks
def block_case(kind: str, seed: int):
    rng = np.random.default_rng(seed)
    if kind == "basic":
        block, x = BasicBlock(3, 3, dtype=np.float64, rng=rng), rng.standard_normal((2, 3, 5, 5))
    elif kind == "basic-projection":
        block = BasicBlock(3, 4, stride=2, dtype=np.float64, rng=rng)
        x = rng.standard_normal((2, 3, 7, 7))  # floor mode: 7 → 4
    else:
        block = Bottleneck(4, 2, stride=2, dtype=np.float64, rng=rng)  # 4 → 8 channels
        x = rng.standard_normal((2, 4, 5, 5))
    randomize_batchnorms(block, rng)
    return block, x


def test_block_layout_is_torchvision_v1_5():
    basic, _ = block_case("basic", 0)
    assert basic.downsample is None if hasattr(basic, "downsample") else basic.shortcut is None
    assert [n for n, _ in basic.named_parameters()] == [
        "conv1.W", "bn1.gamma", "bn1.beta", "conv2.W", "bn2.gamma", "bn2.beta"]
    bott = Bottleneck(64, 64, stride=2)
    shapes = {n: p.shape for n, p in bott.named_parameters()}
    assert shapes["conv1.W"] == (64, 64, 1, 1)
    assert shapes["conv2.W"] == (64, 64, 3, 3) and bott.conv2.stride == 2  # stride on the 3x3
    assert bott.conv1.stride == 1 and shapes["conv3.W"] == (256, 64, 1, 1)
    assert shapes["downsample.0.W"] == (256, 64, 1, 1) and bott.downsample[0].stride == 2
    assert isinstance(bott.downsample[1], BatchNorm)
    assert all(not isinstance(m, Conv2d) or "b" not in m._parameters for m in bott.modules())
    assert bott.forward(np.zeros((1, 64, 7, 7), np.float32)).shape == (1, 256, 4, 4)


# Random weights can put a ReLU input within the finite-difference step of 0 (a kink, where
# the two gradients differ for a good reason); seed 11 keeps every ReLU input at least 2.5e-3
# away from 0 in each case.
@pytest.mark.parametrize("kind", ["basic", "basic-projection", "bottleneck"])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_gradient_check_blocks(kind, mode):
    block, x = block_case(kind, seed=11)
    block.train(mode == "train")
    errors = check_layer(block, x, seed=1)
    if kind != "basic":
        assert {"downsample.0.W", "downsample.1.gamma", "downsample.1.beta"} <= set(errors)
    assert_small(errors)


@pytest.mark.parametrize("kind", ["basic", "basic-projection", "bottleneck"])
def test_blocks_modify_neither_dout_nor_x(kind):
    block, x = block_case(kind, seed=3)
    out = block.forward(x)
    dout = np.random.default_rng(4).standard_normal(out.shape)
    before = digest(x), digest(dout)
    dx = block.backward(dout)
    assert (digest(x), digest(dout)) == before and dx.shape == x.shape
    block.compute_dx = False
    block.forward(x)
    assert block.backward(dout) is None and digest(dout) == before[1]


# ----------------------------------------------------------------------------- whole network
def tiny_resnet(block: str, stem: str, seed: int) -> ResNet:
    rng = np.random.default_rng(seed)
    net = ResNet(block, [1, 1], num_classes=3, in_channels=1 if stem == "small" else 2,
                 widths=[2, 3], stem=stem, dtype=np.float64, rng=rng)
    randomize_batchnorms(net, rng)
    return net


# (seeds chosen as for the blocks: every ReLU input at least 1.5e-3 away from 0)
@pytest.mark.parametrize("block, stem, seed, x_shape", [
    ("basic", "small", 4, (2, 1, 8, 8)), ("bottleneck", "small", 16, (2, 1, 6, 6)),
    ("basic", "imagenet", 1, (2, 2, 16, 16))])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_gradient_check_tiny_resnet_end_to_end(block, stem, seed, x_shape, mode):
    net = tiny_resnet(block, stem, seed)
    net.train(mode == "train")
    x = np.random.default_rng(seed + 100).standard_normal(x_shape)
    t = np.array([0, 2])
    errors = gradient_check(net, x, t)
    assert set(errors) == set(net.params) and len(errors) > 10
    assert max(errors.values()) < 1e-6, errors
    # the mode checked: train mode normalises with batch statistics, eval with running ones
    before = net.loss(x, t)
    for m in net.modules():
        if isinstance(m, BatchNorm):
            m.running_mean = m.running_mean + 0.5
    assert (net.loss(x, t) == before) == (mode == "train")


def test_backward_leaves_the_images_alone_and_returns_no_image_gradient():
    net = tiny_resnet("basic", "small", 1)
    x = np.random.default_rng(2).standard_normal((2, 1, 8, 8))
    before = digest(x)
    net.loss(x, np.array([1, 2]))
    assert net.backward() is None  # conv1.compute_dx is False: no dL/d(images)
    assert digest(x) == before
    net.conv1.compute_dx = True
    net.loss(x, np.array([1, 2]))
    assert net.backward().shape == x.shape


def test_frozen_backbone_trains_only_fc_and_does_no_backbone_work(monkeypatch):
    net = resnet_small(layers=[1, 1, 1], widths=[4, 8, 8], rng=0)
    net.freeze("")
    net.unfreeze("fc")
    for name in ("conv1", "bn1", "layer1", "layer2", "layer3"):
        def refuse(*args, _name=name):
            raise AssertionError(f"backward ran through the frozen {_name}")
        monkeypatch.setattr(getattr(net, name), "backward", refuse)
    backbone = {k: v.copy() for k, v in net.state_dict().items()
                if not k.startswith("fc.") and "running" not in k}
    fc_before = net.fc.W.copy()
    rng = np.random.default_rng(0)
    x = rng.random((16, 1, 28, 28)).astype(np.float32)
    t = rng.integers(0, 10, 16)
    trainable = [p for p in net.parameters() if p.requires_grad]
    assert len(trainable) == 2
    opt = Adam(net.parameters(), lr=0.01)
    for _ in range(3):
        net.zero_grad()
        net.loss(x, t)
        assert net.backward() is None
        opt.step()
    assert all(p.grad is None for p in net.parameters() if not p.requires_grad)
    assert not np.array_equal(net.fc.W, fc_before)
    after = net.state_dict()
    for k, v in backbone.items():
        np.testing.assert_array_equal(after[k], v, err_msg=k)


def test_save_and_load_model_file(tmp_path):
    net = resnet_small(rng=3)
    randomize_batchnorms(net, np.random.default_rng(5))
    net.to(np.float32)
    path = io.save(net, tmp_path / "resnet.npz")
    again = io.load_model(path)
    assert type(again) is ResNet and again.get_config() == net.get_config()
    x = np.random.default_rng(4).random((2, 1, 28, 28)).astype(np.float32)
    np.testing.assert_array_equal(again.eval().predict(x), net.eval().predict(x))


def test_resnet_small_fits_a_small_batch_of_digits():
    from dlscratch.datasets import load_mnist

    (x_train, t_train), _ = load_mnist(dataset="mnist-sample", flatten=False)
    x, t = x_train[:64], t_train[:64]
    net = resnet_small(widths=[8, 16, 16], rng=0)
    opt = Adam(net.parameters(), lr=0.01)
    first = net.loss(x, t)
    assert first == pytest.approx(np.log(10), rel=0.1)
    for _ in range(30):  # full-batch steps
        net.zero_grad()
        net.loss(x, t)
        net.backward()
        opt.step()
    assert net.loss(x, t) < 0.2 * first  # about 0.24 from 2.42
    assert net.accuracy(x, t) >= 0.6  # eval mode, running statistics: about 0.8
