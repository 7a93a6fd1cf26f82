"""torchvision's ResNet layout written with torch.nn (torchvision itself is not needed).

The classes are torchvision's ``BasicBlock``, ``Bottleneck`` and ``ResNet`` (v1.5: the stride
sits on the 3x3 convolution; projection shortcut ``downsample`` = 1x1 convolution + BatchNorm),
with the two stems of :class:`dlscratch.models.ResNet`: ``"imagenet"`` (7x7/2 convolution and
3x3/2 max pooling) and ``"small"`` (3x3/1 convolution, no pooling). They are defined when first
needed, because torch is imported lazily.
"""

from __future__ import annotations

from functools import lru_cache

from ._torch_common import require_torch


@lru_cache(maxsize=1)
def torch_resnet_classes() -> dict[str, type]:
    """``{"basic": BasicBlock, "bottleneck": Bottleneck, "resnet": ResNet}`` in torch.nn."""
    nn = require_torch().nn

    def conv(cin: int, cout: int, k: int, stride: int = 1):
        return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False)

    def downsample(inplanes: int, out: int, stride: int):
        if stride == 1 and inplanes == out:
            return None
        return nn.Sequential(conv(inplanes, out, 1, stride), nn.BatchNorm2d(out))

    class BasicBlock(nn.Module):
        expansion = 1

        def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
            super().__init__()
            self.conv1 = conv(inplanes, planes, 3, stride)
            self.bn1 = nn.BatchNorm2d(planes)
            self.relu = nn.ReLU()
            self.conv2 = conv(planes, planes, 3)
            self.bn2 = nn.BatchNorm2d(planes)
            self.downsample = downsample(inplanes, planes, stride)

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            identity = x if self.downsample is None else self.downsample(x)
            return self.relu(out + identity)

    class Bottleneck(nn.Module):
        expansion = 4

        def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
            super().__init__()
            out = planes * self.expansion
            self.conv1 = conv(inplanes, planes, 1)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = conv(planes, planes, 3, stride)
            self.bn2 = nn.BatchNorm2d(planes)
            self.conv3 = conv(planes, out, 1)
            self.bn3 = nn.BatchNorm2d(out)
            self.relu = nn.ReLU()
            self.downsample = downsample(inplanes, out, stride)

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.relu(self.bn2(self.conv2(out)))
            out = self.bn3(self.conv3(out))
            identity = x if self.downsample is None else self.downsample(x)
            return self.relu(out + identity)

    class ResNet(nn.Module):
        def __init__(self, block: str, layers, num_classes: int, in_channels: int, widths,
                     stem: str) -> None:
            super().__init__()
            cls = BasicBlock if block == "basic" else Bottleneck
            imagenet = stem == "imagenet"
            self.conv1 = conv(in_channels, widths[0], 7 if imagenet else 3, 2 if imagenet else 1)
            self.bn1 = nn.BatchNorm2d(widths[0])
            self.relu = nn.ReLU()
            self.maxpool = nn.MaxPool2d(3, stride=2, padding=1) if imagenet else nn.Identity()
            inplanes = widths[0]
            for i, (n_blocks, planes) in enumerate(zip(layers, widths), start=1):
                blocks = []
                for j in range(n_blocks):
                    blocks.append(cls(inplanes, planes, 2 if (i > 1 and j == 0) else 1))
                    inplanes = planes * cls.expansion
                self.add_module(f"layer{i}", nn.Sequential(*blocks))
            self.n_stages = len(layers)
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(inplanes, num_classes)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            for i in range(1, self.n_stages + 1):
                x = getattr(self, f"layer{i}")(x)
            return self.fc(self.avgpool(x).flatten(1))

    return {"basic": BasicBlock, "bottleneck": Bottleneck, "resnet": ResNet}


def torch_resnet_like(model):
    """The torch.nn ResNet with ``model``'s configuration (torch's initial weights)."""
    from ..models.resnet import ResNet

    if not isinstance(model, ResNet):
        raise TypeError(f"to_torch_module knows the lecture networks and ResNet; got "
                        f"{type(model).__name__}")
    cfg = model.get_config()
    return torch_resnet_classes()["resnet"](cfg["block"], cfg["layers"], cfg["num_classes"],
                                           cfg["in_channels"], cfg["widths"], cfg["stem"])
