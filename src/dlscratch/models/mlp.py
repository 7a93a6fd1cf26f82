"""MultiLayerNet: a fully connected network of any depth (the book's MultiLayerNetExtend).

    [Affine -> (BatchNorm) -> activation -> (Dropout)] x len(hidden_size_list) -> Affine

Layers are named as in the book: Affine1, BatchNorm1, Activation_function1, Dropout1, ...;
parameters W1, b1, gamma1, beta1, ... With ``weight_decay_lambda = lam`` the loss includes
``0.5 * lam * sum_l sum(W_l^2)`` and ``gradient`` adds ``lam * W_l``.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from .._rng import as_generator
from ..layers import BatchNorm, Dropout, Linear, ReLU, Sequential, Sigmoid, SoftmaxWithLoss, Tanh
from .base import Net
from .config import ConfigError, as_int

_ACTIVATIONS = {"relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh}


class MultiLayerNet(Net):
    """Fully connected classifier.

    Parameters
    ----------
    input_size : e.g. 784 for MNIST.
    hidden_size_list : e.g. [128, 64, 32, 16] (seed 003's 784-128-64-32-16-10 network).
    output_size : number of classes.
    activation : "relu", "sigmoid" or "tanh".
    weight_init_std : a number, or "relu"/"he" (sqrt(2/fan_in)) or "sigmoid"/"xavier"
        (sqrt(1/fan_in)); "relu" by default.
    weight_decay_lambda : L2 penalty on the weights (not biases or BatchNorm parameters).
    use_dropout, dropout_ratio : inverted dropout after each hidden activation.
    use_batchnorm : BatchNorm between each hidden Affine and its activation.
    dtype, rng : float32 by default; rng seeds the weights and the dropout masks.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size_list: list[int],
        output_size: int,
        activation: str = "relu",
        weight_init_std: float | str = "relu",
        weight_decay_lambda: float = 0.0,
        use_dropout: bool = False,
        dropout_ratio: float = 0.5,
        use_batchnorm: bool = False,
        dtype=np.float32,
        rng=None,
    ) -> None:
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}"
            )
        hidden_size_list = [int(h) for h in hidden_size_list]
        self._config = dict(
            input_size=input_size, hidden_size_list=hidden_size_list, output_size=output_size,
            activation=activation, weight_init_std=weight_init_std,
            weight_decay_lambda=weight_decay_lambda, use_dropout=use_dropout,
            dropout_ratio=dropout_ratio, use_batchnorm=use_batchnorm,
            dtype=np.dtype(dtype).name,
        )
        self.weight_decay_lambda = weight_decay_lambda
        g = as_generator(rng)
        sizes = [input_size, *hidden_size_list, output_size]
        layers: OrderedDict = OrderedDict()
        names: dict[str, str] = {}
        for i in range(1, len(sizes)):
            fc = Linear(sizes[i - 1], sizes[i], weight_init_std, dtype=dtype, rng=g)
            layers[f"Affine{i}"] = fc
            names[f"W{i}"] = f"layers.Affine{i}.W"
            names[f"b{i}"] = f"layers.Affine{i}.b"
            if i == len(sizes) - 1:
                break
            if use_batchnorm:
                layers[f"BatchNorm{i}"] = BatchNorm(sizes[i], dtype=dtype)
                names[f"gamma{i}"] = f"layers.BatchNorm{i}.gamma"
                names[f"beta{i}"] = f"layers.BatchNorm{i}.beta"
            layers[f"Activation_function{i}"] = _ACTIVATIONS[activation]()
            if use_dropout:
                layers[f"Dropout{i}"] = Dropout(dropout_ratio, rng=g)
        layers["Affine1"].compute_dx = False
        self.layers = Sequential(layers)
        self.last_layer = SoftmaxWithLoss()
        self._set_param_names(names)
        self._weights = [self.get_parameter(names[f"W{i}"]) for i in range(1, len(sizes))]

    @classmethod
    def _sizes(cls, config) -> list[int]:
        hidden = config["hidden_size_list"]
        if not isinstance(hidden, (list, tuple)):
            raise ConfigError(f"hidden_size_list must be a list of integers, got {hidden!r}")
        return [as_int(config["input_size"], "input_size"),
                *(as_int(h, f"hidden_size_list[{i}]") for i, h in enumerate(hidden)),
                as_int(config["output_size"], "output_size")]

    @classmethod
    def count_parameters(cls, config) -> int:
        """sum over layers of in*out + out, plus gamma and beta (2 per hidden unit) with
        BatchNorm."""
        sizes = cls._sizes(config)
        n = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
        return n + (2 * sum(sizes[1:-1]) if config.get("use_batchnorm") else 0)

    @classmethod
    def count_buffers(cls, config) -> int:
        """BatchNorm's running mean and variance: 2 per hidden unit (0 without BatchNorm)."""
        return 2 * sum(cls._sizes(config)[1:-1]) if config.get("use_batchnorm") else 0

    def regularization_loss(self) -> float:
        lam = self.weight_decay_lambda
        if not lam:
            return 0.0
        return 0.5 * lam * float(sum(np.sum(p.data.astype(np.float64) ** 2) for p in self._weights))

    def backward(self, dout: float = 1.0):
        dx = super().backward(dout)
        lam = self.weight_decay_lambda
        if lam:
            for p in self._weights:
                if p.requires_grad:
                    p.accumulate(lam * p.data)
        return dx
