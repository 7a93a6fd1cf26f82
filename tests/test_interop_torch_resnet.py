"""The ResNets through dlscratch.interop.torch, against torchvision's ResNet written out here.

torchvision does not import beside the CPU torch of this environment, so its ResNet (v1.5, as
in torchvision/models/resnet.py: ``conv3x3``, ``conv1x1``, ``_make_layer``) is rewritten below
with torch.nn, independently of ``dlscratch.interop``'s own copy. Same weights must give the
same scores, loss, gradients and running statistics (train and eval mode, both directions,
float64 and float32); ResNet-50 is checked by its key set and shapes, a load through a ``.pth``
file, and one small forward pass.
"""

from __future__ import annotations

import pickle

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
    load_torch_state_dict,
    load_torchvision_checkpoint,
    to_torch_module,
    to_torch_state_dict,
    torch_names,
)
from dlscratch.models import ResNet, resnet18, resnet50, resnet_small


@pytest.fixture(scope="module")
def torch():
    return import_torch()


@pytest.fixture(scope="module")
def tv(torch):
    """torchvision's ResNet classes, rewritten with torch.nn."""
    nn = torch.nn

    def conv3x3(cin, cout, stride=1):
        return nn.Conv2d(cin, cout, kernel_size=3, stride=stride, padding=1, bias=False)

    def conv1x1(cin, cout, stride=1):
        return nn.Conv2d(cin, cout, kernel_size=1, stride=stride, bias=False)

    class BasicBlock(nn.Module):
        expansion = 1

        def __init__(self, inplanes, planes, stride=1, downsample=None):
            super().__init__()
            self.conv1 = conv3x3(inplanes, planes, stride)
            self.bn1 = nn.BatchNorm2d(planes)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = conv3x3(planes, planes)
            self.bn2 = nn.BatchNorm2d(planes)
            self.downsample = downsample

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return self.relu(out + identity)

    class Bottleneck(nn.Module):
        expansion = 4

        def __init__(self, inplanes, planes, stride=1, downsample=None):
            super().__init__()
            self.conv1 = conv1x1(inplanes, planes)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = conv3x3(planes, planes, stride)
            self.bn2 = nn.BatchNorm2d(planes)
            self.conv3 = conv1x1(planes, planes * 4)
            self.bn3 = nn.BatchNorm2d(planes * 4)
            self.relu = nn.ReLU(inplace=True)
            self.downsample = downsample

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.relu(self.bn2(self.conv2(out)))
            out = self.bn3(self.conv3(out))
            return self.relu(out + identity)

    class TVResNet(nn.Module):
        def __init__(self, block, layers, num_classes=1000, in_channels=3,
                     widths=(64, 128, 256, 512), small_stem=False):
            super().__init__()
            self.inplanes = widths[0]
            if small_stem:
                self.conv1 = conv3x3(in_channels, widths[0])
                self.maxpool = nn.Identity()
            else:
                self.conv1 = nn.Conv2d(in_channels, widths[0], 7, stride=2, padding=3,
                                       bias=False)
                self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
            self.bn1 = nn.BatchNorm2d(widths[0])
            self.relu = nn.ReLU(inplace=True)
            self.stages = [f"layer{i + 1}" for i in range(len(layers))]
            for i, (n, w) in enumerate(zip(layers, widths)):
                setattr(self, self.stages[i], self._make_layer(block, w, n, 1 if i == 0 else 2))
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(self.inplanes, num_classes)

        def _make_layer(self, block, planes, blocks, stride):
            downsample = None
            if stride != 1 or self.inplanes != planes * block.expansion:
                downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                           nn.BatchNorm2d(planes * block.expansion))
            layers = [block(self.inplanes, planes, stride, downsample)]
            self.inplanes = planes * block.expansion
            layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
            return nn.Sequential(*layers)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            for name in self.stages:
                x = getattr(self, name)(x)
            return self.fc(torch.flatten(self.avgpool(x), 1))

    return {"basic": BasicBlock, "bottleneck": Bottleneck, "resnet": TVResNet}


# name -> (dlscratch builder(dtype, rng), reference builder(tv), input shape of one sample).
# In train mode BatchNorm needs more than 2 values per channel to depend on its input: with
# 2 (ResNet-18's layer4 at 32x32, batch 2) it outputs about +-1 whatever the input, the
# gradients reaching conv1 are rounding noise and cannot be compared; resnet18 gets batch 4.
CASES = {
    "resnet_small": (lambda dt, rng: resnet_small(num_classes=5, dtype=dt, rng=rng),
                     lambda tv: tv["resnet"](tv["basic"], [1, 1, 1], 5, 1, (16, 32, 64), True),
                     (1, 16, 16), 2),
    "resnet18": (lambda dt, rng: resnet18(num_classes=10, dtype=dt, rng=rng),
                 lambda tv: tv["resnet"](tv["basic"], [2, 2, 2, 2], 10), (3, 32, 32), 4),
    "bottleneck-tiny": (
        lambda dt, rng: ResNet("bottleneck", [1, 2], num_classes=5, in_channels=3, widths=[4, 8],
                               stem="imagenet", dtype=dt, rng=rng),
        lambda tv: tv["resnet"](tv["bottleneck"], [1, 2], 5, 3, (4, 8)), (3, 24, 24), 2),
}


def dls_grads(model):
    """dlscratch's gradients under torchvision's names (ResNet.params), fc.weight transposed."""
    out = {}
    for k in model.params:
        g = model.params.parameter(k).grad
        out[k] = g.T if k == "fc.weight" else g
    return out


def compare(torch, model, ref, x, t, train, tol):
    compare_one_batch(torch, model, ref, x, t, train, tol, dls_grads,
                      lambda m, k: m.state_dict()[k])


_RESNET18 = {("dlscratch->torch", "train", "float64"), ("torch->dlscratch", "eval", "float64"),
             ("torch->dlscratch", "train", "float32")}


def _combinations():
    """Every case x direction x mode x dtype; ResNet-18 (slow) only in three settings that
    cover both directions, both modes and both dtypes (the small ResNets run them all)."""
    for name in CASES:
        for direction in ("dlscratch->torch", "torch->dlscratch"):
            for mode in ("train", "eval"):
                for dtype in ("float64", "float32"):
                    if name == "resnet18" and (direction, mode, dtype) not in _RESNET18:
                        continue
                    yield pytest.param(name, direction, mode == "train", np.dtype(dtype).type,
                                       id=f"{name}-{direction}-{mode}-{dtype}")


@pytest.mark.parametrize(("name", "direction", "train", "dtype"), list(_combinations()))
def test_resnet_same_outputs_and_gradients(torch, tv, name, direction, train, dtype):
    build, build_ref, shape, batch = CASES[name]
    rng = np.random.default_rng(7)
    model = build(dtype, rng)
    torch.manual_seed(0)
    ref = build_ref(tv).to(torch.float64 if dtype == np.float64 else torch.float32)
    if direction == "dlscratch->torch":
        perturb_batchnorm_dls(model, rng)
        model.params["fc.bias"] = rng.normal(0, 0.1, model.params["fc.bias"].shape)
        ref.load_state_dict(to_torch_state_dict(model), strict=True)
    else:
        perturb_batchnorm_torch(torch, ref, torch.Generator().manual_seed(1))
        load_torch_state_dict(model, ref.state_dict())
    x = rng.standard_normal((batch, *shape)).astype(dtype)
    t = rng.integers(0, 5, size=batch)
    compare(torch, model, ref, x, t, train, TOL[dtype])


@pytest.mark.parametrize("name", list(CASES))
def test_resnet_to_torch_module(torch, tv, name):
    build, build_ref, shape, _ = CASES[name]
    model = build(np.float64, np.random.default_rng(0))
    perturb_batchnorm_dls(model, np.random.default_rng(1))
    model.eval()
    module = to_torch_module(model)
    ref = build_ref(tv)
    assert [(k, tuple(v.shape)) for k, v in module.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in ref.state_dict().items()]
    x = np.random.default_rng(2).standard_normal((2, *shape))
    assert_close(module(torch.from_numpy(x)).detach().numpy(), model.forward(x), 1e-10)


def test_resnet_round_trip_is_exact(torch):
    a = resnet_small(rng=0)
    names = torch_names(a)
    assert names["fc.weight"] == "fc.W" and names["layer1.0.bn1.weight"] == "layer1.0.bn1.gamma"
    assert names["layer2.0.downsample.0.weight"] == "layer2.0.downsample.0.W"
    perturb_batchnorm_dls(a, np.random.default_rng(5))
    b = resnet_small(rng=1)
    load_torch_state_dict(b, to_torch_state_dict(a))
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for k in sa:
        assert sb[k].dtype == np.float32
        np.testing.assert_array_equal(sb[k], sa[k], err_msg=k)


# ---------------------------------------------------------------- .pth checkpoints
def test_checkpoint_file_round_trip(torch, tv, tmp_path):
    """A .pth saved by torch (as torchvision publishes its weights) loads into dlscratch."""
    build, build_ref, shape, _ = CASES["bottleneck-tiny"]
    torch.manual_seed(3)
    ref = build_ref(tv).eval()
    perturb_batchnorm_torch(torch, ref, torch.Generator().manual_seed(4))
    torch.save(ref.state_dict(), tmp_path / "tiny.pth")
    arrays = load_torchvision_checkpoint(tmp_path / "tiny.pth")
    assert list(arrays) == list(ref.state_dict())
    assert all(isinstance(v, np.ndarray) for v in arrays.values())
    assert arrays["bn1.num_batches_tracked"].dtype == np.int64
    model = build(np.float32, 0).eval()
    load_torch_state_dict(model, arrays)
    x = np.random.default_rng(0).standard_normal((2, *shape)).astype(np.float32)
    assert_close(model.forward(x), ref(torch.from_numpy(x)).detach().numpy(), 1e-4)

    # a training checkpoint that nests the weights, and half precision
    half = {k: (v.to(torch.bfloat16) if v.is_floating_point() else v)
            for k, v in ref.state_dict().items()}
    torch.save({"epoch": 3, "state_dict": half}, tmp_path / "nested.pth")
    with pytest.raises(ValueError, match=r"pass key= one of \['state_dict'\]"):
        load_torchvision_checkpoint(tmp_path / "nested.pth")
    nested = load_torchvision_checkpoint(tmp_path / "nested.pth", key="state_dict")
    assert nested["fc.weight"].dtype == np.float32
    np.testing.assert_allclose(nested["fc.weight"], arrays["fc.weight"], rtol=1e-2, atol=1e-2)


def test_resnet50_keys_shapes_and_a_forward(torch, tv, tmp_path):
    """resnet50(): torchvision's 320 keys with its shapes, loaded from a .pth (values stored
    once and broadcast, to keep the file small), then one 64x64 forward against torch."""
    ref = tv["resnet"](tv["bottleneck"], [3, 4, 6, 3]).eval()
    want = {k: tuple(v.shape) for k, v in ref.state_dict().items()}
    sd = to_torch_state_dict(resnet50(rng=0))
    assert [(k, tuple(v.shape)) for k, v in sd.items()] == list(want.items())
    assert len(sd) == 320 and sum(v.numel() for k, v in sd.items()
                                  if "running" not in k and "num_batches" not in k) == 25_557_032
    small = {k: (torch.full((1,) * v.dim(), 0.01 * (i % 7 + 1), dtype=v.dtype).expand(v.shape)
                 if v.is_floating_point() else v)
             for i, (k, v) in enumerate(ref.state_dict().items())}
    torch.save(small, tmp_path / "resnet50-like.pth")
    assert (tmp_path / "resnet50-like.pth").stat().st_size < 1_000_000
    model = resnet50(rng=1)
    assert load_torch_state_dict(model, load_torchvision_checkpoint(
        tmp_path / "resnet50-like.pth")) == ([], [])
    np.testing.assert_array_equal(model.params["fc.weight"],
                                  small["fc.weight"].numpy().T)

    load_torch_state_dict(model.eval(), ref.state_dict())  # torch's initial weights
    x = np.random.default_rng(0).standard_normal((1, 3, 64, 64)).astype(np.float32)
    assert_close(model.forward(x), ref(torch.from_numpy(x)).detach().numpy(), 1e-4, "scores")


def test_checkpoints_are_never_unpickled_as_code(torch, tmp_path):
    marker = tmp_path / "code-ran"

    class Evil:
        def __reduce__(self):
            return (marker.touch, ())

    path = tmp_path / "evil.pth"
    path.write_bytes(pickle.dumps({"fc.weight": Evil()}, protocol=2))
    with pytest.raises(ValueError, match="weights_only=True"):
        load_torchvision_checkpoint(path)
    assert not marker.exists()

    torch.save(torch.zeros(3), tmp_path / "tensor.pth")
    with pytest.raises(ValueError, match="expected a state_dict"):
        load_torchvision_checkpoint(tmp_path / "tensor.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="junk.pth: not a PyTorch weights file"):
        load_torchvision_checkpoint(tmp_path / "junk.pth")
    with pytest.raises(FileNotFoundError, match="missing.pth"):
        load_torchvision_checkpoint(tmp_path / "missing.pth")
