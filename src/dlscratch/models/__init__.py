"""Networks: the lectures' simpleNet, TwoLayerNet and MultiLayerNet (and the CNNs)."""

from .base import Net, ParamsView
from .mlp import MultiLayerNet
from .simple import TwoLayerNet, simpleNet

__all__ = ["MultiLayerNet", "Net", "ParamsView", "TwoLayerNet", "simpleNet"]
from .conv import DeepConvNet, SimpleConvNet  # noqa: E402

__all__ += ["DeepConvNet", "SimpleConvNet"]

# Residual networks (torchvision's layout and names).
from .resnet import ResNet, resnet18, resnet34, resnet50, resnet_small  # noqa: E402
from .resnet_blocks import BasicBlock, Bottleneck  # noqa: E402

__all__ += ["BasicBlock", "Bottleneck", "ResNet", "resnet18", "resnet34", "resnet50",
            "resnet_small"]

# The registry of named networks (the command line's --model choices).
from .registry import MODELS, ModelSpec, build_model, get_spec  # noqa: E402

__all__ += ["MODELS", "ModelSpec", "build_model", "get_spec"]
