"""Small data sets, trainers and callbacks shared by the Trainer's tests.

Imported as ``from helpers_trainer import ...`` (pytest puts tests/ on sys.path).
"""

from __future__ import annotations

import os
import signal

import numpy as np

from dlscratch.callbacks import Callback
from dlscratch.lr_scheduler import StepLR
from dlscratch.models import MultiLayerNet, SimpleConvNet
from dlscratch.trainer import Trainer


def blobs(n: int, rng: int = 0, dim: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Three Gaussian blobs in ``dim`` dimensions: x (n, dim) float32, t (n,) int."""
    g = np.random.default_rng(rng)
    t = g.integers(0, 3, n)
    x = (g.normal(size=(n, dim)) + 3 * np.eye(3, dim)[t]).astype(np.float32)
    return x, t


def images(n: int, rng: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Tiny 1x8x8 images of three classes (a bright row, column or diagonal) with noise."""
    g = np.random.default_rng(rng)
    t = g.integers(0, 3, n)
    x = g.normal(0, 0.3, size=(n, 1, 8, 8)).astype(np.float32)
    for i, c in enumerate(t):
        if c == 0:
            x[i, 0, 3, :] += 1
        elif c == 1:
            x[i, 0, :, 3] += 1
        else:
            x[i, 0][np.eye(8, dtype=bool)] += 1
    return x, t


def mlp_trainer(seed: int = 0, *, epochs: int = 3, callbacks=None, batchnorm: bool = False,
                **kwargs) -> Trainer:
    """MultiLayerNet with Dropout, Adam, StepLR per epoch; 130 samples in batches of 20 (7
    steps per epoch, the last one of 10). ``seed`` seeds the weights, dropout and shuffling.
    ``batchnorm=True`` adds BatchNorm layers and weight decay."""
    x, t = blobs(160)
    net = MultiLayerNet(4, [16, 16], 3, use_dropout=True, dropout_ratio=0.2, rng=seed,
                        use_batchnorm=batchnorm, weight_decay_lambda=0.01 if batchnorm else 0.0)
    return Trainer(net, x[:130], t[:130], x[130:], t[130:], epochs=epochs, mini_batch_size=20,
                   optimizer="Adam", optimizer_param={"lr": 0.01}, verbose=False, rng=seed + 1,
                   callbacks=callbacks, lr_scheduler=lambda opt: StepLR(opt, 1, gamma=0.5),
                   **kwargs)


def cnn_trainer(seed: int = 0, *, epochs: int = 2, callbacks=None) -> Trainer:
    """A small SimpleConvNet on 1x8x8 images, Momentum SGD; 45 samples in batches of 10."""
    x, t = images(60)
    net = SimpleConvNet(input_dim=(1, 8, 8), conv_param={"filter_num": 4, "filter_size": 3,
                                                         "pad": 0, "stride": 1},
                        hidden_size=12, output_size=3, weight_init_std=0.1, rng=seed)
    return Trainer(net, x[:45], t[:45], x[45:], t[45:], epochs=epochs, mini_batch_size=10,
                   optimizer="momentum", optimizer_param={"lr": 0.05}, verbose=False,
                   rng=seed + 1, callbacks=callbacks,
                   lr_scheduler=lambda opt: StepLR(opt, 1, gamma=0.7))


def params_of(trainer: Trainer) -> dict[str, np.ndarray]:
    return {k: v.copy() for k, v in trainer.network.state_dict().items()}


def assert_same_params(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype, k
        assert np.array_equal(a[k], b[k]), f"{k} differs"


def without_seconds(history) -> dict[str, list]:
    return {k: v for k, v in history.history.items() if k != "seconds"}


class SignalAt(Callback):
    """Send ``signum`` to this process after global step ``step`` (``times`` times)."""

    def __init__(self, step: int, signum: int = signal.SIGINT, times: int = 1) -> None:
        self.step, self.signum, self.times = step, signum, times

    def on_batch_end(self, logs):
        if logs["step"] == self.step:
            for _ in range(self.times):
                os.kill(os.getpid(), self.signum)


class Recorder(Callback):
    """Records every hook call as ``(hook, logs)``."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []

    def on_train_begin(self, logs):
        self.calls.append(("train_begin", logs))

    def on_epoch_begin(self, logs):
        self.calls.append(("epoch_begin", logs))

    def on_batch_end(self, logs):
        self.calls.append(("batch_end", logs))

    def on_epoch_end(self, logs):
        self.calls.append(("epoch_end", logs))

    def on_train_end(self, logs):
        self.calls.append(("train_end", logs))

    def hooks(self) -> list[str]:
        return [h for h, _ in self.calls]
