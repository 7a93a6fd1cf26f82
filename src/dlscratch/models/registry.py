"""The model registry: named networks (``"mlp"``, ``"cnn"``, ...) and the classes files may hold.

The command line builds its ``--model`` choices from :data:`MODELS`, and
:func:`dlscratch.io.load_model` constructs only the classes of :func:`model_classes` (never a
class named by a file through ``getattr``).

>>> net = build_model("mlp", rng=0)                          # doctest: +SKIP
>>> spec = get_spec("cnn"); spec.input_shape, spec.flatten   # doctest: +SKIP
((1, 28, 28), False)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .base import Net
from .conv import DeepConvNet, SimpleConvNet
from .mlp import MultiLayerNet
from .resnet import RESNET_SMALL, ResNet
from .simple import TwoLayerNet

__all__ = ["MODELS", "ModelSpec", "build_model", "get_spec", "model_classes", "register",
           "spec_for_class"]


@dataclass(frozen=True)
class ModelSpec:
    """A named network.

    Attributes
    ----------
    name : the registry name (``--model`` on the command line).
    cls : the :class:`~dlscratch.models.Net` subclass.
    kwargs : constructor arguments (``rng`` is given separately).
    input_shape : shape of one sample, without the batch axis: (784,) or (1, 28, 28).
    flatten : whether the data set is loaded flat ((N, 784)) or as images ((N, 1, 28, 28)).
    description : one line for ``--help`` and listings.
    """

    name: str
    cls: type
    kwargs: dict[str, Any] = field(default_factory=dict)
    input_shape: tuple[int, ...] = (784,)
    flatten: bool = True
    description: str = ""

    def build(self, rng=None, **overrides: Any) -> Net:
        """``cls(**kwargs, **overrides, rng=rng)``."""
        return self.cls(**{**self.kwargs, **overrides}, rng=rng)


MODELS: dict[str, ModelSpec] = {}


def register(spec: ModelSpec, *, replace: bool = False) -> ModelSpec:
    """Add ``spec`` to :data:`MODELS` (and its class to :func:`model_classes`)."""
    if not (isinstance(spec.cls, type) and issubclass(spec.cls, Net)):
        raise TypeError(f"register: {spec.cls!r} is not a dlscratch.models.Net subclass")
    if spec.name in MODELS and not replace:
        raise ValueError(f"a model named {spec.name!r} is already registered")
    MODELS[spec.name] = spec
    _CLASSES[spec.cls.__name__] = spec.cls
    return spec


#: classes a model file may name, beyond those of the registered specs
_CLASSES: dict[str, type] = {c.__name__: c for c in
                             (MultiLayerNet, TwoLayerNet, SimpleConvNet, DeepConvNet, ResNet)}

register(ModelSpec("mlp", MultiLayerNet,
                   dict(input_size=784, hidden_size_list=[100, 100], output_size=10,
                        activation="relu"),
                   (784,), True, "MultiLayerNet 784-100-100-10, ReLU"))
register(ModelSpec("twolayer", TwoLayerNet,
                   dict(input_size=784, hidden_size=50, output_size=10, activation="relu",
                        weight_init_std=0.1),
                   (784,), True, "TwoLayerNet 784-50-10, ReLU (the lectures' first network)"))
register(ModelSpec("cnn", SimpleConvNet, {}, (1, 28, 28), False,
                   "SimpleConvNet: conv(30 5x5) - relu - pool - affine(100) - relu - affine"))
register(ModelSpec("deepcnn", DeepConvNet, {}, (1, 28, 28), False,
                   "DeepConvNet: six 3x3 convolutions, three poolings, dropout (chapter 8)"))
register(ModelSpec("resnet-small", ResNet,
                   dict(RESNET_SMALL, num_classes=10, in_channels=1), (1, 28, 28), False,
                   "ResNet with a 3x3 stem and three BasicBlock stages (16, 32, 64 channels)"))


def get_spec(name: str) -> ModelSpec:
    """The :class:`ModelSpec` called ``name``; ValueError listing the names otherwise."""
    try:
        return MODELS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown model {name!r}; choose one of: {', '.join(MODELS)}") from None


def build_model(name: str, rng=None, **overrides: Any) -> Net:
    """A fresh network of the registered kind ``name`` (``overrides`` replace its kwargs)."""
    return get_spec(name).build(rng=rng, **overrides)


def spec_for_class(class_name: str) -> ModelSpec | None:
    """The first registered spec whose class is called ``class_name`` (None if none is)."""
    for spec in MODELS.values():
        if spec.cls.__name__ == class_name:
            return spec
    return None


def model_classes() -> dict[str, type]:
    """``{class name: class}`` of every network a model file may name."""
    return dict(_CLASSES)
