"""Seed 000's networks: simpleNet (a 2x3 weight) and TwoLayerNet."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from .._rng import as_generator
from ..functions import cross_entropy_error, softmax
from ..layers import Linear, ReLU, Sequential, Sigmoid, SoftmaxWithLoss
from .base import Net
from .config import as_int


class simpleNet:  # noqa: N801 - the lecture's name
    """One 2x3 weight, no bias: ``predict(x) = x @ W``; ``loss = CEE(softmax(x @ W), t)``.

    Used in seed 000 to show ``numerical_gradient`` on a network's weight:
    ``dW = numerical_gradient(lambda w: net.loss(x, t), net.W)``.
    """

    def __init__(self, rng=None, dtype=np.float64) -> None:
        self.W = as_generator(rng).standard_normal((2, 3)).astype(dtype)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.dot(x, self.W)

    def loss(self, x: np.ndarray, t: np.ndarray) -> float:
        z = self.predict(x)
        y = softmax(z)
        return cross_entropy_error(y, t)


_ACTIVATIONS = {"sigmoid": Sigmoid, "relu": ReLU}


class TwoLayerNet(Net):
    """input -> Affine1 -> Sigmoid1 -> Affine2 -> softmax, as in seed 000.

    ``params`` holds W1 (input_size, hidden_size), b1, W2 (hidden_size, output_size), b2, drawn
    as ``weight_init_std * N(0, 1)`` from ``rng``. ``predict`` returns softmax probabilities
    (N, output_size); ``loss`` is their cross-entropy (computed stably from the scores);
    ``gradient`` is backprop and ``numerical_gradient`` the slow central-difference check.
    ``activation="relu"`` gives the book's chapter-5 variant.
    """

    predict_probabilities = True

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        output_size: int,
        weight_init_std: float = 0.01,
        activation: str = "sigmoid",
        dtype=np.float32,
        rng=None,
    ) -> None:
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}"
            )
        self._config = dict(input_size=input_size, hidden_size=hidden_size,
                            output_size=output_size, weight_init_std=weight_init_std,
                            activation=activation, dtype=np.dtype(dtype).name)
        g = as_generator(rng)
        fc1 = Linear(input_size, hidden_size, weight_init_std, dtype=dtype, rng=g)
        fc2 = Linear(hidden_size, output_size, weight_init_std, dtype=dtype, rng=g)
        fc1.compute_dx = False  # nobody needs dL/dx of the input images
        self.layers = Sequential(OrderedDict(
            Affine1=fc1, **{f"{activation.capitalize()}1": _ACTIVATIONS[activation]()},
            Affine2=fc2,
        ))
        self.last_layer = SoftmaxWithLoss()
        self._set_param_names({"W1": "layers.Affine1.W", "b1": "layers.Affine1.b",
                               "W2": "layers.Affine2.W", "b2": "layers.Affine2.b"})

    @classmethod
    def count_parameters(cls, config) -> int:
        """W1, b1, W2, b2: in*hidden + hidden + hidden*out + out."""
        i = as_int(config["input_size"], "input_size")
        h = as_int(config["hidden_size"], "hidden_size")
        o = as_int(config["output_size"], "output_size")
        return i * h + h + h * o + o

    @classmethod
    def count_buffers(cls, config) -> int:
        return 0


__all__ = ["simpleNet", "TwoLayerNet"]
