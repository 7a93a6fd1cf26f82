"""Learning-rate schedules: change an optimizer's ``lr`` as training goes on (PyTorch's names).

A schedule holds the optimizer and its starting rate ``base_lr``; ``step()`` advances it by
one unit (an epoch, or an iteration: the caller decides by where ``step()`` is called) and sets
``optimizer.lr``. After ``k`` calls::

    StepLR:             lr = base_lr * gamma ** (k // step_size)
    ExponentialLR:      lr = base_lr * gamma ** k
    CosineAnnealingLR:  lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * k / T_max)) / 2
                        (k capped at T_max: the rate falls smoothly to eta_min and stays there)

``state_dict()`` / ``load_state_dict()`` save and restore the count, for exact resumption.

    opt = Adam(model.parameters(), lr=1e-3)
    schedule = CosineAnnealingLR(opt, T_max=epochs * iters_per_epoch)
    for x, t in loader:
        ...; opt.step(); schedule.step()
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .optim import Optimizer

__all__ = ["CosineAnnealingLR", "ExponentialLR", "LRScheduler", "StepLR"]


class LRScheduler:
    """Base class: subclasses give ``lr_at(k)``, the rate after k steps."""

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected a dlscratch optimizer, got "
                            f"{type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lr = float(optimizer.lr)
        self.last_step = 0

    def lr_at(self, k: int) -> float:
        raise NotImplementedError

    def get_last_lr(self) -> float:
        """The rate the optimizer has now."""
        return self.optimizer.lr

    def step(self) -> float:
        """Advance by one step, set the optimizer's lr and return it."""
        self.last_step += 1
        self.optimizer.lr = self.lr_at(self.last_step)
        return self.optimizer.lr

    def state_dict(self) -> dict[str, Any]:
        return {"base_lr": self.base_lr, "last_step": self.last_step}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.base_lr = float(state["base_lr"])
        self.last_step = int(state["last_step"])
        self.optimizer.lr = self.lr_at(self.last_step)


def _check_positive(owner: LRScheduler, **values: float) -> None:
    for name, value in values.items():
        if not value > 0:
            raise ValueError(f"{type(owner).__name__}: {name} must be > 0, got {value!r}")
        if name in ("step_size", "T_max") and int(value) != value:
            raise ValueError(f"{type(owner).__name__}: {name} counts steps, so it must be a "
                             f"whole number, got {value!r}")


class StepLR(LRScheduler):
    """lr = base_lr * gamma ** (k // step_size): multiplied by gamma every step_size steps."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        super().__init__(optimizer)
        _check_positive(self, step_size=step_size, gamma=gamma)
        self.step_size, self.gamma = int(step_size), float(gamma)

    def lr_at(self, k: int) -> float:
        return self.base_lr * self.gamma ** (k // self.step_size)


class ExponentialLR(LRScheduler):
    """lr = base_lr * gamma ** k: multiplied by gamma every step."""

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        super().__init__(optimizer)
        _check_positive(self, gamma=gamma)
        self.gamma = float(gamma)

    def lr_at(self, k: int) -> float:
        return self.base_lr * self.gamma ** k


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * min(k, T_max) / T_max)) / 2."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:
        super().__init__(optimizer)
        _check_positive(self, T_max=T_max)
        if not 0 <= eta_min < self.base_lr:
            raise ValueError(f"CosineAnnealingLR: eta_min must be in [0, lr={self.base_lr}), "
                             f"got {eta_min!r}")
        self.T_max, self.eta_min = int(T_max), float(eta_min)

    def lr_at(self, k: int) -> float:
        k = min(k, self.T_max)
        cosine = (1 + math.cos(math.pi * k / self.T_max)) / 2  # 1 at k = 0, 0 at k = T_max
        return self.eta_min + (self.base_lr - self.eta_min) * cosine
