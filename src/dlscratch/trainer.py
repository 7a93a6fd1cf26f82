"""The lectures' Trainer: mini-batch training with per-epoch accuracy, as in seed 001.

    trainer = Trainer(network, x_train, t_train, x_test, t_test, epochs=20,
                      mini_batch_size=100, optimizer="Adam", optimizer_param={"lr": 0.001},
                      evaluate_sample_num_per_epoch=1000)
    trainer.train()
    trainer.train_acc_list, trainer.test_acc_list, trainer.train_loss_list

Differences from the book's Trainer, all fixes:

* an epoch is a permutation of the training set (every sample once), with
  ``ceil(train_size / batch_size)`` iterations, so epochs are counted right when the batch size
  does not divide the set (the book's float ``iter_per_epoch`` rarely fires then);
* accuracy is measured at the end of each epoch (``epochs`` entries per list), in eval mode,
  after which the network goes back to train mode;
* shuffling draws from ``rng``, never from NumPy's global state.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._rng import as_generator
from .layers.module import Module
from .optim import get_optimizer


class Trainer:
    """Train a lecture-style network (``params``, ``loss``, ``gradient``, ``accuracy``)."""

    def __init__(
        self,
        network,
        x_train: np.ndarray,
        t_train: np.ndarray,
        x_test: np.ndarray,
        t_test: np.ndarray,
        epochs: int = 20,
        mini_batch_size: int = 100,
        optimizer: str = "SGD",
        optimizer_param: dict[str, Any] | None = None,
        evaluate_sample_num_per_epoch: int | None = None,
        verbose: bool = True,
        rng=None,
    ) -> None:
        if len(x_train) != len(t_train):
            raise ValueError(f"x_train has {len(x_train)} samples but t_train has {len(t_train)}")
        if len(x_test) != len(t_test):
            raise ValueError(f"x_test has {len(x_test)} samples but t_test has {len(t_test)}")
        if mini_batch_size <= 0 or epochs < 0:
            raise ValueError("mini_batch_size must be > 0 and epochs >= 0")
        self.network = network
        self.x_train, self.t_train = x_train, t_train
        self.x_test, self.t_test = x_test, t_test
        self.epochs = epochs
        self.batch_size = mini_batch_size
        self.evaluate_sample_num_per_epoch = evaluate_sample_num_per_epoch
        self.verbose = verbose
        self.rng = as_generator(rng)
        params = network.parameters() if isinstance(network, Module) else None
        self.optimizer = get_optimizer(optimizer, params, **(optimizer_param or {"lr": 0.01}))
        self.train_size = x_train.shape[0]
        self.iter_per_epoch = max(1, math.ceil(self.train_size / mini_batch_size))
        self.max_iter = epochs * self.iter_per_epoch
        self.current_iter = 0
        self.current_epoch = 0
        self.train_loss_list: list[float] = []
        self.train_acc_list: list[float] = []
        self.test_acc_list: list[float] = []

    def train_step(self, x_batch: np.ndarray, t_batch: np.ndarray) -> float:
        """One gradient step on a mini-batch; returns its loss."""
        net = self.network
        grads = net.gradient(x_batch, t_batch)
        if self.optimizer.params is not None:
            self.optimizer.step()
        else:
            self.optimizer.update(net.params, grads)
        loss = getattr(net, "last_loss", None)
        if loss is None:
            loss = net.loss(x_batch, t_batch)
        self.current_iter += 1
        return float(loss)

    def _evaluate(self) -> tuple[float, float]:
        n = self.evaluate_sample_num_per_epoch
        x_tr, t_tr, x_te, t_te = self.x_train, self.t_train, self.x_test, self.t_test
        if n is not None:
            x_tr, t_tr, x_te, t_te = x_tr[:n], t_tr[:n], x_te[:n], t_te[:n]
        net = self.network
        was_training = getattr(net, "training", None)
        if was_training is not None:
            net.eval()
        try:
            train_acc = net.accuracy(x_tr, t_tr, batch_size=self.batch_size)
            test_acc = net.accuracy(x_te, t_te, batch_size=self.batch_size)
        finally:
            if was_training is not None:
                net.train(was_training)
        return train_acc, test_acc

    def train_epoch(self) -> None:
        order = self.rng.permutation(self.train_size)
        bs = self.batch_size
        bar = None
        if self.verbose:
            from tqdm.auto import tqdm

            bar = tqdm(total=self.iter_per_epoch, desc=f"epoch {self.current_epoch + 1}/"
                       f"{self.epochs}", leave=False, unit="batch")
        for i in range(self.iter_per_epoch):
            idx = order[i * bs:(i + 1) * bs]
            loss = self.train_step(self.x_train[idx], self.t_train[idx])
            self.train_loss_list.append(loss)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
        if bar is not None:
            bar.close()
        self.current_epoch += 1
        train_acc, test_acc = self._evaluate()
        self.train_acc_list.append(train_acc)
        self.test_acc_list.append(test_acc)
        if self.verbose:
            print(f"=== epoch:{self.current_epoch}, train acc:{train_acc:.4f}, "
                  f"test acc:{test_acc:.4f} ===")

    def train(self) -> dict[str, list[float]]:
        """Run all epochs; returns the history (loss per step, accuracies per epoch)."""
        while self.current_epoch < self.epochs:
            self.train_epoch()
        if self.verbose:
            net = self.network
            if hasattr(net, "eval"):
                net.eval()
            test_acc = net.accuracy(self.x_test, self.t_test, batch_size=self.batch_size)
            if hasattr(net, "train"):
                net.train()
            print("=============== Final Test Accuracy ===============")
            print(f"test acc:{test_acc:.4f}")
        return {"loss": self.train_loss_list, "train_acc": self.train_acc_list,
                "test_acc": self.test_acc_list}
