"""What the lectures' networks share: ``params``, ``predict``, ``loss``, ``accuracy``,
``gradient`` (backprop) and ``numerical_gradient``, on top of the Module system.

A network keeps its layers in ``self.layers`` (a :class:`~dlscratch.layers.Sequential`, which
reads like the lectures' OrderedDict) and its loss in ``self.last_layer``. ``self.params`` is a
live dict-like view that maps the lectures' names ("W1", "b1", ...) to the layers' arrays, so
``network.params["W1"] -= lr * grads["W1"]`` updates the layer itself.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

import numpy as np

from ..gradient import numerical_gradient as _numerical_gradient
from ..layers.module import Module, Parameter


class ParamsView(MutableMapping):
    """``name -> array`` view onto parameters living in layers (reads and writes go through)."""

    def __init__(self, net: Module, names: dict[str, str]) -> None:
        self._net = net
        self._names = names  # lecture name -> dotted parameter path

    def parameter(self, key: str) -> Parameter:
        return self._net.get_parameter(self._names[key])

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._names:
            raise KeyError(f"{key!r}; this network's parameters are {list(self._names)}")
        return self.parameter(key).data

    def __setitem__(self, key: str, value: np.ndarray) -> None:
        if key not in self._names:
            raise KeyError(f"{key!r} is not a parameter of this network ({list(self._names)})")
        *path, leaf = self._names[key].split(".")
        mod = self._net
        for part in path:
            mod = mod._modules[part]
        setattr(mod, leaf, value)  # shape-checked by Module.__setattr__

    def __delitem__(self, key: str) -> None:
        raise TypeError("parameters cannot be deleted from a network")

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __repr__(self) -> str:
        return "{" + ", ".join(f"{k!r}: array{v.shape}" for k, v in self.items()) + "}"


class Net(Module):
    """Base of the lecture-style networks. Subclasses set ``layers``, ``last_layer`` and call
    ``_set_param_names({"W1": "layers.Affine1.W", ...})``."""

    #: whether ``predict`` returns softmax probabilities (seed 000's TwoLayerNet) or scores
    predict_probabilities = False

    def _set_param_names(self, names: dict[str, str]) -> None:
        object.__setattr__(self, "params", ParamsView(self, names))

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments that rebuild this network (used by ``dlscratch.io``)."""
        return dict(self._config)

    # -- forward
    def forward(self, x: np.ndarray) -> np.ndarray:
        """Scores (logits), shape (N, output_size)."""
        return self.layers.forward(x)

    def predict(self, x: np.ndarray) -> np.ndarray:
        y = self.forward(x)
        if self.predict_probabilities:
            from ..functions import softmax

            y = softmax(y)
        return y

    def regularization_loss(self) -> float:
        return 0.0

    def loss(self, x: np.ndarray, t: np.ndarray) -> float:
        """The training loss: cross-entropy of softmax(scores) (+ any weight-decay term)."""
        return self.last_layer.forward(self.forward(x), t) + self.regularization_loss()

    def accuracy(self, x: np.ndarray, t: np.ndarray, batch_size: int | None = 100) -> float:
        """Fraction of samples whose argmax score equals the label (one-hot or integer).

        Computed ``batch_size`` samples at a time (all at once for None), in eval mode
        (dropout off, BatchNorm on running statistics); the previous mode is restored.
        """
        t = np.asarray(t)
        if t.ndim != 1:
            t = np.argmax(t, axis=1)
        n = x.shape[0]
        step = n if not batch_size else batch_size
        correct = 0
        was_training = self.training
        self.eval()
        try:
            for i in range(0, n, step):
                y = self.forward(x[i:i + step])
                correct += int(np.sum(np.argmax(y, axis=1) == t[i:i + step]))
        finally:
            self.train(was_training)
        return correct / n if n else 0.0

    # -- gradients
    def backward(self, dout: float = 1.0) -> np.ndarray | None:
        """Backprop from the last loss computed: accumulates every parameter's grad."""
        return self.layers.backward(self.last_layer.backward(dout))

    def gradient(self, x: np.ndarray, t: np.ndarray) -> dict[str, np.ndarray]:
        """Backprop gradients of ``loss(x, t)``, keyed like ``params`` (fresh each call)."""
        self.zero_grad()
        self.last_loss = self.loss(x, t)  # kept so a training loop need not compute it again
        self.backward(1.0)
        return {k: self._grad_of(k) for k in self.params}

    def _grad_of(self, key: str) -> np.ndarray:
        p = self.params.parameter(key)
        return p.grad if p.grad is not None else np.zeros_like(p.data)

    def numerical_gradient(self, x: np.ndarray, t: np.ndarray) -> dict[str, np.ndarray]:
        """Central-difference gradients of ``loss(x, t)`` for every parameter (slow: a check)."""
        def loss_w(_):
            return self.loss(x, t)

        return {k: _numerical_gradient(loss_w, self.params[k]) for k in self.params}

    # -- the lectures' files
    def save_params(self, file_name: str = "params.pkl") -> None:
        """Save ``params`` (W1, b1, ...) in dlscratch's safe .npz format, whatever the name."""
        from .. import io

        io.save_params(self.params, file_name)

    def load_params(self, file_name: str = "params.pkl") -> None:
        """Load ``params`` from a file written by save_params or a lecture pickle (read safely)."""
        from .. import io

        for key, val in io.load_params(file_name).items():
            self.params[key] = val
