"""ResNet's residual blocks, laid out as torchvision's (v1.5: the stride sits on the 3x3 conv).

BasicBlock (ResNet-18/34), ``expansion = 1``::

    x ─ conv1 3x3/stride ─ bn1 ─ relu ─ conv2 3x3 ─ bn2 ─(+)─ relu ─ y
    └──────────────── downsample (or identity) ──────────┘

Bottleneck (ResNet-50 and deeper), ``expansion = 4``: 1x1 reduce, 3x3 with the stride,
1x1 expand to 4 x planes::

    x ─ conv1 1x1 ─ bn1 ─ relu ─ conv2 3x3/stride ─ bn2 ─ relu ─ conv3 1x1 ─ bn3 ─(+)─ relu ─ y
    └──────────────────────────── downsample (or identity) ─────────────────────┘

The projection shortcut ``downsample`` = 1x1 convolution (the block's stride, no bias) +
BatchNorm is there when the stride is not 1 or the width changes; otherwise the shortcut is the
identity. Every convolution has no bias (a BatchNorm follows it) and uses ``floor_mode`` as
PyTorch does, so a 3x3/2 convolution with padding 1 takes 56x56 to 28x28 and 7x7 to 4x4.

Sub-module names are torchvision's (``conv1``, ``bn1``, ..., ``downsample`` with ``"0"``, ``"1"``),
so the parameter ``layer1.0.conv1.W`` is torchvision's ``layer1.0.conv1.weight``. The ReLUs
cache their masks, so each use is its own module: ``relu1`` (and ``relu2``) inside the branch,
``relu`` after the addition.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from .._rng import as_generator
from ..layers import BatchNorm, Conv2d, ReLU, Sequential
from ..layers.residual import Residual


def conv_layer(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
               dtype=np.float32, rng=None) -> Conv2d:
    """A bias-free convolution with padding kernel_size // 2 and PyTorch's floor output size.

    Weights as torchvision initialises them: He with the fan-out,
    std = sqrt(2 / (out_channels * kernel_size^2)).
    """
    std = float(np.sqrt(2.0 / (out_channels * kernel_size * kernel_size)))
    return Conv2d(in_channels, out_channels, kernel_size, stride, kernel_size // 2,
                  weight_init_std=std, bias=False, dtype=dtype, rng=rng, floor_mode=True)


def projection(in_channels: int, out_channels: int, stride: int, dtype=np.float32,
               rng=None) -> Sequential:
    """The projection shortcut: 1x1 convolution (stride, no bias) ``"0"`` + BatchNorm ``"1"``."""
    return Sequential(conv_layer(in_channels, out_channels, 1, stride, dtype, rng),
                      BatchNorm(out_channels, dtype=dtype))


class _Block(Residual):
    """A residual block followed by a ReLU: ``y = relu(F(x) + S(x))``."""

    shortcut_name = "downsample"
    expansion = 1

    def __init__(self, branch: OrderedDict, inplanes: int, planes: int, stride: int, dtype,
                 rng) -> None:
        out = planes * self.expansion
        shortcut = None
        if stride != 1 or inplanes != out:
            shortcut = projection(inplanes, out, stride, dtype, rng)
        super().__init__(branch, shortcut)
        self.relu = ReLU()
        self.inplanes, self.planes, self.stride = int(inplanes), int(planes), int(stride)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """y = relu(F(x) + S(x))."""
        return self.relu.forward(super().forward(x))

    def backward(self, dout: np.ndarray) -> np.ndarray | None:
        """dx = dF + dS of the ReLU's gradient."""
        return super().backward(self.relu.backward(dout))

    def extra_repr(self) -> str:
        return f"{self.inplanes}, {self.planes}, stride={self.stride}"


class BasicBlock(_Block):
    """Two 3x3 convolutions: conv1 (stride) - bn1 - relu - conv2 - bn2, plus the shortcut.

    Parameters
    ----------
    inplanes : input channels C.
    planes : output channels (``expansion = 1``).
    stride : 1, or 2 to halve the height and width (on conv1 and on the projection).
    dtype, rng : float32 by default; rng (None, a seed or a Generator) draws the weights.

    Notes
    -----
    Shapes: x (N, inplanes, H, W) → y (N, planes, floor((H - 1) / stride) + 1, ...).
    """

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, dtype=np.float32,
                 rng=None) -> None:
        g = as_generator(rng)
        branch = OrderedDict([
            ("conv1", conv_layer(inplanes, planes, 3, stride, dtype, g)),
            ("bn1", BatchNorm(planes, dtype=dtype)),
            ("relu1", ReLU()),
            ("conv2", conv_layer(planes, planes, 3, 1, dtype, g)),
            ("bn2", BatchNorm(planes, dtype=dtype)),
        ])
        super().__init__(branch, inplanes, planes, stride, dtype, g)


class Bottleneck(_Block):
    """1x1 reduce - 3x3 (stride) - 1x1 expand to 4 x planes, BatchNorm after each, plus the
    shortcut.

    Parameters
    ----------
    inplanes : input channels C.
    planes : width of the 3x3 convolution; the output has ``4 * planes`` channels.
    stride : 1, or 2 to halve the height and width (on conv2 and on the projection).
    dtype, rng : float32 by default; rng (None, a seed or a Generator) draws the weights.

    Notes
    -----
    Shapes: x (N, inplanes, H, W) → y (N, 4 * planes, floor((H - 1) / stride) + 1, ...).
    """

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, dtype=np.float32,
                 rng=None) -> None:
        g = as_generator(rng)
        branch = OrderedDict([
            ("conv1", conv_layer(inplanes, planes, 1, 1, dtype, g)),
            ("bn1", BatchNorm(planes, dtype=dtype)),
            ("relu1", ReLU()),
            ("conv2", conv_layer(planes, planes, 3, stride, dtype, g)),
            ("bn2", BatchNorm(planes, dtype=dtype)),
            ("relu2", ReLU()),
            ("conv3", conv_layer(planes, planes * self.expansion, 1, 1, dtype, g)),
            ("bn3", BatchNorm(planes * self.expansion, dtype=dtype)),
        ])
        super().__init__(branch, inplanes, planes, stride, dtype, g)
