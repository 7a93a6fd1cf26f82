"""Networks: the lectures' simpleNet, TwoLayerNet and MultiLayerNet (and the CNNs)."""

from .base import Net, ParamsView
from .mlp import MultiLayerNet
from .simple import TwoLayerNet, simpleNet

__all__ = ["MultiLayerNet", "Net", "ParamsView", "TwoLayerNet", "simpleNet"]
from .conv import DeepConvNet, SimpleConvNet  # noqa: E402

__all__ += ["DeepConvNet", "SimpleConvNet"]
