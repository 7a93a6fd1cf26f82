"""ResNet (He et al. 2015) as torchvision builds it, from explicit-backprop layers.

For 224x224 images (``stem="imagenet"``)::

    conv1 7x7/2 (pad 3, no bias) - bn1 - relu - maxpool 3x3/2 (pad 1)      224 → 112 → 56
    - layer1 .. layer4 (blocks; the first block of layer2..4 has stride 2)   56 → 28 → 14 → 7
    - avgpool (global average) - fc (num_classes)

``resnet18`` = BasicBlock [2, 2, 2, 2], ``resnet34`` = BasicBlock [3, 4, 6, 3], ``resnet50`` =
Bottleneck [3, 4, 6, 3] with widths 64, 128, 256, 512 (x4 for Bottleneck's output). For
28x28 / 32x32 images, ``stem="small"`` replaces the stem by a 3x3/1 convolution without max
pooling, and ``resnet_small`` uses three narrow stages (16, 32, 64 channels).

Names: the modules are ResNet's own children with torchvision's names (``conv1``, ``bn1``,
``layer1`` .. ``layer4`` holding blocks ``"0"``, ``"1"``, ..., ``fc``), so ``freeze("layer1")``
or ``unfreeze("fc")`` take the same prefixes as in PyTorch. Inside, the arrays keep dlscratch's
names and layouts (``W``, ``b``, ``gamma``, ``beta``; Linear's W is (in, out)); ``state_dict()``,
``load_state_dict()`` and ``params`` use torchvision's names (``conv1.weight``,
``bn1.running_mean``, ``layer1.0.downsample.1.weight``, ``fc.weight``, ...). BatchNorm's
``num_batches_tracked`` is not kept (PyTorch uses it only when momentum is None).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._rng import as_generator
from ..layers import BatchNorm, GlobalAvgPool2d, Linear, MaxPool2d, ReLU, SoftmaxWithLoss
from ..layers.module import Module, Sequential
from .base import Net
from .config import as_int
from .resnet_blocks import BasicBlock, Bottleneck, conv_layer

BLOCKS: dict[str, type] = {"basic": BasicBlock, "bottleneck": Bottleneck}
STEMS = ("imagenet", "small")
_LEAF_TO_TORCH = {"W": "weight", "b": "bias", "gamma": "weight", "beta": "bias"}


def _block_name(block: str | type) -> str:
    for name, cls in BLOCKS.items():
        if block == name or block is cls:
            return name
    raise ValueError(f"ResNet: block must be 'basic', 'bottleneck', BasicBlock or Bottleneck; "
                     f"got {block!r}")


def torch_name(internal: str) -> str:
    """torchvision's name of a parameter or buffer: ``layer1.0.bn1.gamma`` → ``...bn1.weight``."""
    head, _, leaf = internal.rpartition(".")
    leaf = _LEAF_TO_TORCH.get(leaf, leaf)
    return f"{head}.{leaf}" if head else leaf


def _checked(config: Mapping[str, Any]) -> tuple:
    """(block, layers, num_classes, in_channels, widths, stem) of a complete config, checked."""
    layers = [as_int(n, "ResNet layers entry") for n in config["layers"]]
    widths = [as_int(w, "ResNet widths entry") for w in config["widths"]]
    return (config["block"], layers, as_int(config["num_classes"], "ResNet num_classes"),
            as_int(config["in_channels"], "ResNet in_channels"), widths, config["stem"])


class ResNet(Net):
    """A residual network with softmax cross-entropy loss (``last_layer``).

    Parameters
    ----------
    block : ``"basic"`` / BasicBlock or ``"bottleneck"`` / Bottleneck.
    layers : blocks per stage, e.g. [2, 2, 2, 2] (ResNet-18) or [3, 4, 6, 3] (ResNet-50).
    num_classes : outputs of ``fc``.
    in_channels : channels of the input images (3 for RGB, 1 for MNIST).
    widths : ``planes`` of each stage (one per entry of ``layers``); the stem has widths[0]
        channels, stage i outputs widths[i] * block.expansion.
    stem : ``"imagenet"`` (7x7/2 convolution and 3x3/2 max pooling, for 224x224) or ``"small"``
        (3x3/1 convolution, no pooling, for 28x28 or 32x32).
    dtype : float32 by default; float64 for gradient checks.
    rng : None, a seed or a ``np.random.Generator`` for the initial weights (convolutions:
        He with the fan-out, as torchvision; fc: N(0, 1 / in_features), zero bias).

    Notes
    -----
    Shapes: x (N, in_channels, H, W) → scores (N, num_classes).
    """

    #: set_num_threads splits batches into parts of 16 or more images (the small ResNet's
    #: training at batch 32 and 48: 1.25x and 1.30x faster split than unsplit; parts of 8:
    #: 0.99x, its BatchNorm layers' meetings cost what the parts gain)
    min_part = 16

    def __init__(
        self,
        block: str | type = "basic",
        layers: Sequence[int] = (2, 2, 2, 2),
        num_classes: int = 1000,
        in_channels: int = 3,
        widths: Sequence[int] = (64, 128, 256, 512),
        stem: str = "imagenet",
        dtype=np.float32,
        rng=None,
    ) -> None:
        super().__init__()
        block_name = _block_name(block)
        layers = [int(n) for n in layers]
        widths = [int(w) for w in widths]
        if len(layers) != len(widths) or not layers or min(layers) < 1 or min(widths) < 1:
            raise ValueError(f"ResNet: layers and widths need the same number (>= 1) of positive "
                             f"entries, one per stage; got layers={layers}, widths={widths}")
        if stem not in STEMS:
            raise ValueError(f"ResNet: stem must be one of {STEMS}, got {stem!r}")
        self._config: dict[str, Any] = dict(
            block=block_name, layers=layers, num_classes=int(num_classes),
            in_channels=int(in_channels), widths=widths, stem=stem, dtype=np.dtype(dtype).name)
        cls = BLOCKS[block_name]
        g = as_generator(rng)

        self.conv1 = conv_layer(in_channels, widths[0], 7 if stem == "imagenet" else 3,
                                2 if stem == "imagenet" else 1, dtype, g)
        self.conv1.compute_dx = False  # no one needs dL/d(images)
        self.bn1 = BatchNorm(widths[0], dtype=dtype)
        self.relu = ReLU()
        if stem == "imagenet":
            self.maxpool = MaxPool2d(3, stride=2, pad=1, floor_mode=True)
        inplanes = widths[0]
        for i, (n_blocks, planes) in enumerate(zip(layers, widths), start=1):
            stage = Sequential()
            for j in range(n_blocks):
                stride = 2 if (i > 1 and j == 0) else 1
                stage.append(cls(inplanes, planes, stride, dtype=dtype, rng=g))
                inplanes = planes * cls.expansion
            self.add_module(f"layer{i}", stage)
        self.avgpool = GlobalAvgPool2d()
        self.fc = Linear(inplanes, num_classes, "xavier", dtype=dtype, rng=g)
        self.last_layer = SoftmaxWithLoss()
        self._set_param_names({torch_name(k): k for k, _ in self.named_parameters()})

    # ------------------------------------------------------------------ sizes from a config
    @classmethod
    def count_parameters(cls, config: Mapping[str, Any]) -> int:
        """Trainable numbers ``ResNet(**config)`` would hold (25,557,032 for ResNet-50)."""
        return resnet_parameter_count(*_checked(config))

    @classmethod
    def count_buffers(cls, config: Mapping[str, Any]) -> int:
        """BatchNorm's running means and variances: 2 numbers per BatchNorm channel."""
        return 2 * _sizes(*_checked(config))[1]

    # ------------------------------------------------------------------ the chain
    @property
    def layers(self) -> OrderedDict[str, Module]:
        """The top-level modules in order (conv1, bn1, relu, maxpool, layer1, ..., avgpool, fc)."""
        return OrderedDict((k, m) for k, m in self._modules.items() if k != "last_layer")

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Scores (N, num_classes): every top-level module in order."""
        for layer in self.layers.values():
            x = layer.forward(x)
        return x

    def backward(self, dout: float = 1.0) -> np.ndarray | None:
        """Backprop from the last loss: accumulates every trainable parameter's grad.

        Goes down only as far as the first module with a trainable parameter (a frozen
        backbone costs no backward work), unless ``conv1.compute_dx`` asks for dL/d(images).
        Returns dL/dx, or None when it was not computed.
        """
        d = self.last_layer.backward(dout)
        chain = list(self.layers.values())
        stop = 0
        if not getattr(self.conv1, "compute_dx", True):
            trainable = [i for i, m in enumerate(chain)
                         if any(p.requires_grad for p in m.parameters())]
            if not trainable:
                return None
            stop = trainable[0]
        for layer in reversed(chain[stop:]):
            d = layer.backward(d)
        return d if stop == 0 else None

    # ------------------------------------------------------------------ torchvision names
    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """Copies of every parameter and buffer under torchvision's names, in its order."""
        return OrderedDict((torch_name(k), v) for k, v in super().state_dict().items())

    def load_state_dict(self, state_dict: Mapping[str, np.ndarray], strict: bool = True):
        """Copy arrays given under torchvision's names into the layers, in place.

        The arrays have dlscratch's layouts (fc.weight is (in, out)). Checks every name and
        shape first and changes nothing if anything is wrong; with ``strict=False`` missing
        and unexpected keys are allowed. Returns ``(missing, unexpected)`` (torchvision names).
        """
        internal = {torch_name(k): k for k in Module.state_dict(self)}
        missing = [k for k in internal if k not in state_dict]
        unexpected = [k for k in state_dict if k not in internal]
        if strict and (missing or unexpected):
            raise KeyError(f"state_dict does not match ResNet: missing keys {missing}, "
                           f"unexpected keys {unexpected}")
        own = Module.state_dict(self)
        bad = [f"{k}: expected {own[internal[k]].shape}, got {np.shape(v)}"
               for k, v in state_dict.items()
               if k in internal and np.shape(v) != own[internal[k]].shape]
        if bad:
            raise ValueError("state_dict shapes do not match ResNet: " + "; ".join(bad))
        Module.load_state_dict(
            self, {internal[k]: v for k, v in state_dict.items() if k in internal}, strict=False)
        return missing, unexpected


def _sizes(block: str | type, layers: Sequence[int], num_classes: int, in_channels: int,
           widths: Sequence[int], stem: str) -> tuple[int, int]:
    """(weights of the convolutions and fc + fc's bias, BatchNorm channels) of a ResNet."""
    cls = BLOCKS[_block_name(block)]
    if stem not in STEMS:
        raise ValueError(f"ResNet: stem must be one of {STEMS}, got {stem!r}")
    layers, widths = list(layers), list(widths)
    if len(layers) != len(widths) or not layers:
        raise ValueError(f"ResNet: layers and widths need one entry per stage; got "
                         f"layers={layers}, widths={widths}")
    weights = in_channels * widths[0] * (49 if stem == "imagenet" else 9)
    bn = widths[0]
    inplanes = widths[0]
    for i, (n_blocks, planes) in enumerate(zip(layers, widths)):
        out = planes * cls.expansion
        for j in range(n_blocks):
            if cls is BasicBlock:
                weights += inplanes * planes * 9 + planes * planes * 9
                bn += 2 * planes
            else:
                weights += inplanes * planes + planes * planes * 9 + planes * out
                bn += 2 * planes + out
            if (i > 0 and j == 0) or inplanes != out:  # the projection shortcut
                weights += inplanes * out
                bn += out
            inplanes = out
    return weights + inplanes * num_classes + num_classes, bn


def resnet_parameter_count(block: str | type = "basic", layers: Sequence[int] = (2, 2, 2, 2),
                           num_classes: int = 1000, in_channels: int = 3,
                           widths: Sequence[int] = (64, 128, 256, 512),
                           stem: str = "imagenet") -> int:
    """Number of trainable values of ``ResNet(block, layers, ...)``, without building it.

    Convolutions C_in * C_out * k^2 (no bias), BatchNorm 2 per channel (gamma, beta), fc
    in * out + out. BatchNorm's running statistics (2 per channel) are buffers, not counted.
    """
    weights, bn = _sizes(block, layers, num_classes, in_channels, widths, stem)
    return weights + 2 * bn


def resnet18(num_classes: int = 1000, in_channels: int = 3, dtype=np.float32,
             rng=None) -> ResNet:
    """ResNet-18: BasicBlock [2, 2, 2, 2], 11,689,512 parameters with 1000 classes."""
    return ResNet("basic", [2, 2, 2, 2], num_classes, in_channels, dtype=dtype, rng=rng)


def resnet34(num_classes: int = 1000, in_channels: int = 3, dtype=np.float32,
             rng=None) -> ResNet:
    """ResNet-34: BasicBlock [3, 4, 6, 3], 21,797,672 parameters with 1000 classes."""
    return ResNet("basic", [3, 4, 6, 3], num_classes, in_channels, dtype=dtype, rng=rng)


def resnet50(num_classes: int = 1000, in_channels: int = 3, dtype=np.float32,
             rng=None) -> ResNet:
    """ResNet-50: Bottleneck [3, 4, 6, 3], 25,557,032 parameters with 1000 classes."""
    return ResNet("bottleneck", [3, 4, 6, 3], num_classes, in_channels, dtype=dtype, rng=rng)


#: ``resnet_small()``'s configuration (what the model registry's "resnet-small" builds).
RESNET_SMALL = dict(block="basic", layers=[1, 1, 1], widths=[16, 32, 64], stem="small")


def resnet_small(num_classes: int = 10, in_channels: int = 1, layers: Sequence[int] = (1, 1, 1),
                 widths: Sequence[int] = (16, 32, 64), dtype=np.float32, rng=None) -> ResNet:
    """A small ResNet for 28x28 / 32x32 images: 3x3 stem, three BasicBlock stages.

    28x28 → 28 (layer1, 16 channels) → 14 (layer2, 32) → 7 (layer3, 64) → fc.
    """
    return ResNet("basic", layers, num_classes, in_channels, widths, "small", dtype=dtype,
                  rng=rng)
