"""Layers with explicit, hand-written backprop (no autograd).

PyTorch's names are canonical; the lectures' names are aliases that work the same:
``Affine`` (Linear around given arrays), ``Relu`` (ReLU), ``BatchNormalization`` (BatchNorm),
``SoftmaxWithLoss``; for images ``Convolution`` (Conv2d) and ``Pooling`` (MaxPool2d).
"""

from .activation import Identity, LeakyReLU, ReLU, Relu, Sigmoid, Sign, Softmax, Step, Tanh
from .dropout import Dropout
from .init import he, init_std, normal, xavier
from .linear import Affine, Linear
from .loss import BCELoss, BCEWithLogitsLoss, MSELoss, SigmoidWithLoss, SoftmaxWithLoss
from .module import Module, Parameter, Sequential
from .normalization import BATCHNORM_EPS, BatchNorm, BatchNormalization

__all__ = [
    "Affine", "BATCHNORM_EPS", "BCELoss", "BCEWithLogitsLoss", "BatchNorm", "BatchNormalization",
    "Dropout", "Identity", "LeakyReLU", "Linear", "MSELoss", "Module", "Parameter", "ReLU",
    "Relu", "Sequential", "Sigmoid", "SigmoidWithLoss", "Sign", "Softmax", "SoftmaxWithLoss",
    "Step", "Tanh", "he", "init_std", "normal", "xavier",
]

# Convolutional layers (Conv2d/Convolution, MaxPool2d/Pooling, AvgPool2d, ...) are imported below.
from .conv import Conv2d, Convolution, Flatten  # noqa: E402
from .pooling import AvgPool2d, GlobalAvgPool2d, MaxPool2d, Pooling  # noqa: E402

__all__ += ["AvgPool2d", "Conv2d", "Convolution", "Flatten", "GlobalAvgPool2d", "MaxPool2d",
            "Pooling"]

# Branching: y = F(x) + S(x).
from .residual import Residual  # noqa: E402

__all__ += ["Residual"]
