"""Optimizers: SGD, Momentum, Nesterov, AdaGrad, RMSprop, Adam.

Each works two ways, with the same update rule:

* the lectures' way, on plain dicts: ``opt = Adam(lr=1e-3); opt.update(params, grads)``, where
  ``params`` and ``grads`` map names ("W1", "b1", ...) to arrays; ``params`` is updated in place;
* PyTorch's way, on a Module's parameters: ``opt = Adam(model.parameters(), lr=1e-3)`` (or
  ``Adam(model, ...)``), then ``opt.step()`` after the backward pass and ``opt.zero_grad()``.

``weight_decay=lam`` adds ``lam * W`` to the gradient of every weight, the gradient of the
penalty ``0.5 * lam * sum(W^2)``. It is applied to weights only, not to biases or BatchNorm's
gamma and beta: in ``step()`` to parameters with ``decay=True``; in ``update()`` to the keys that
start with "W" (the lectures' naming of weights).

State (velocities, moment estimates, step count) is kept per parameter and is saved and
restored with ``state_dict()`` / ``load_state_dict()`` for exact resumption.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .layers.module import Module, Parameter


class Optimizer:
    """Base class: subclasses implement ``_update(key, param, grad)`` in place on ``param``."""

    def __init__(self, params: Module | Iterable[Parameter] | None = None, *, lr: float,
                 weight_decay: float = 0.0) -> None:
        if isinstance(params, (int, float)):
            raise TypeError(
                f"{type(self).__name__}: the first argument is the parameters to optimise; "
                f"pass the learning rate by name, e.g. {type(self).__name__}(lr={params})"
            )
        if lr <= 0:
            raise ValueError(f"{type(self).__name__}: lr must be > 0, got {lr}")
        if weight_decay < 0:
            raise ValueError(
                f"{type(self).__name__}: weight_decay must be >= 0, got {weight_decay}"
            )
        self.lr = lr
        self.weight_decay = weight_decay
        if isinstance(params, Module):
            params = params.parameters()
        self.params: list[Parameter] | None = None if params is None else list(params)
        if self.params is not None:
            for p in self.params:
                if not isinstance(p, Parameter):
                    raise TypeError(
                        f"{type(self).__name__}: expected Parameters (model.parameters()), got "
                        f"{type(p).__name__}; for a dict of arrays use update(params, grads)"
                    )
        self.state: dict[Any, dict[str, np.ndarray]] = {}
        self.t = 0  # number of steps taken

    # -- the two ways in
    def step(self) -> None:
        """Update every Parameter given at construction from its ``grad``."""
        if self.params is None:
            raise RuntimeError(
                f"{type(self).__name__} was created without parameters; create it as "
                f"{type(self).__name__}(model.parameters(), lr=...) or call update(params, grads)"
            )
        self.t += 1
        wd = self.weight_decay
        for i, p in enumerate(self.params):
            if not p.requires_grad or p.grad is None:
                continue
            g = p.grad
            if wd and p.decay:
                g = g + wd * p.data
            self._update(i, p.data, g)

    def update(self, params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> None:
        """The lectures' interface: ``params[key] -= ...`` in place for every key of params."""
        self.t += 1
        wd = self.weight_decay
        for key, param in params.items():
            if key not in grads:
                raise KeyError(f"{type(self).__name__}.update: no gradient for parameter {key!r}")
            g = np.asarray(grads[key])
            if not isinstance(param, np.ndarray) or param.shape != g.shape:
                raise ValueError(
                    f"{type(self).__name__}.update: parameter {key!r} of shape "
                    f"{np.shape(param)} and its gradient of shape {g.shape} differ"
                )
            if wd and str(key).startswith("W"):
                g = g + wd * param
            self._update(key, param, g)

    def zero_grad(self) -> None:
        for p in self.params or ():
            p.grad = None

    def _slot(self, key: Any, name: str, like: np.ndarray) -> np.ndarray:
        """Per-parameter state array (created as zeros on first use)."""
        s = self.state.setdefault(key, {})
        if name not in s:
            s[name] = np.zeros_like(like)
        return s[name]

    def _update(self, key: Any, param: np.ndarray, grad: np.ndarray) -> None:
        raise NotImplementedError

    # -- saving and resuming
    def state_dict(self) -> dict[str, Any]:
        return {
            "t": self.t,
            "lr": self.lr,
            "state": {str(k): {n: a.copy() for n, a in s.items()} for k, s in self.state.items()},
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.t = int(state["t"])
        self.lr = float(state.get("lr", self.lr))
        keyed = {}
        for k, s in state["state"].items():
            key = int(k) if self.params is not None and str(k).isdigit() else k
            keyed[key] = {n: np.array(a, copy=True) for n, a in s.items()}
        self.state = keyed

    def __repr__(self) -> str:
        extra = ", ".join(f"{k}={v}" for k, v in vars(self).items()
                          if k not in ("params", "state", "t"))
        return f"{type(self).__name__}({extra})"


class SGD(Optimizer):
    """W <- W - lr * dW."""

    def __init__(self, params=None, lr: float = 0.01, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr=lr, weight_decay=weight_decay)

    def _update(self, key, param, grad):
        param -= self.lr * grad


class Momentum(Optimizer):
    """v <- momentum * v - lr * dW;  W <- W + v."""

    def __init__(self, params=None, lr: float = 0.01, momentum: float = 0.9,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr=lr, weight_decay=weight_decay)
        self.momentum = momentum

    def _update(self, key, param, grad):
        v = self._slot(key, "v", param)
        v *= self.momentum
        v -= self.lr * grad
        param += v


class Nesterov(Optimizer):
    """Nesterov's accelerated gradient (Sutskever's form, as PyTorch's ``nesterov=True``):

        v <- momentum * v - lr * dW;   W <- W + momentum * v - lr * dW
    """

    def __init__(self, params=None, lr: float = 0.01, momentum: float = 0.9,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr=lr, weight_decay=weight_decay)
        self.momentum = momentum

    def _update(self, key, param, grad):
        v = self._slot(key, "v", param)
        v *= self.momentum
        v -= self.lr * grad
        param += self.momentum * v - self.lr * grad


class AdaGrad(Optimizer):
    """h <- h + dW^2;  W <- W - lr * dW / (sqrt(h) + eps)."""

    def __init__(self, params=None, lr: float = 0.01, eps: float = 1e-7,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr=lr, weight_decay=weight_decay)
        self.eps = eps

    def _update(self, key, param, grad):
        h = self._slot(key, "h", param)
        h += grad * grad
        param -= self.lr * grad / (np.sqrt(h) + self.eps)


class RMSprop(Optimizer):
    """h <- decay_rate * h + (1 - decay_rate) * dW^2;  W <- W - lr * dW / (sqrt(h) + eps)."""

    def __init__(self, params=None, lr: float = 0.01, decay_rate: float = 0.99,
                 eps: float = 1e-7, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr=lr, weight_decay=weight_decay)
        self.decay_rate = decay_rate
        self.eps = eps

    def _update(self, key, param, grad):
        h = self._slot(key, "h", param)
        h *= self.decay_rate
        h += (1 - self.decay_rate) * grad * grad
        param -= self.lr * grad / (np.sqrt(h) + self.eps)


class Adam(Optimizer):
    """Adam with bias correction (t = number of steps, counted once per step):

        m <- beta1 m + (1 - beta1) dW          v <- beta2 v + (1 - beta2) dW^2
        m_hat = m / (1 - beta1^t)              v_hat = v / (1 - beta2^t)
        W <- W - lr * m_hat / (sqrt(v_hat) + eps)
    """

    def __init__(self, params=None, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr=lr, weight_decay=weight_decay)
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps

    def _update(self, key, param, grad):
        m = self._slot(key, "m", param)
        v = self._slot(key, "v", param)
        m += (1 - self.beta1) * (grad - m)
        v += (1 - self.beta2) * (grad * grad - v)
        bc1 = 1 - self.beta1**self.t
        bc2 = 1 - self.beta2**self.t
        denom = np.sqrt(v)
        denom *= 1.0 / np.sqrt(bc2)
        denom += self.eps
        param -= (self.lr / bc1) * m / denom


OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD, "momentum": Momentum, "nesterov": Nesterov, "adagrad": AdaGrad,
    "rmsprop": RMSprop, "adam": Adam,
}


def get_optimizer(name: str, params=None, **kwargs) -> Optimizer:
    """Build an optimizer by its (case-insensitive) name, as the lectures' Trainer does."""
    try:
        cls = OPTIMIZERS[name.lower()]
    except KeyError:
        raise ValueError(
            f"unknown optimizer {name!r}; choose one of {sorted(OPTIMIZERS)}"
        ) from None
    return cls(params, **kwargs)
