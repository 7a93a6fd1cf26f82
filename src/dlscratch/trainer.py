"""The lectures' Trainer, with Keras-style ``fit()``, callbacks, checkpoints and exact resume.

The lectures' way (seed 001)::

    trainer = Trainer(network, x_train, t_train, x_test, t_test, epochs=20,
                      mini_batch_size=100, optimizer="Adam", optimizer_param={"lr": 0.001},
                      evaluate_sample_num_per_epoch=1000)
    trainer.train()
    trainer.train_acc_list, trainer.test_acc_list, trainer.train_loss_list

The Keras way, with a checkpoint after every epoch and a resumable run::

    trainer = Trainer(net, x_train, t_train, x_test, t_test, epochs=10, optimizer="Adam",
                      optimizer_param={"lr": 1e-3}, rng=0,
                      lr_scheduler=lambda opt: StepLR(opt, step_size=5))
    history = trainer.fit(callbacks=[ModelCheckpoint("run/checkpoint.npz"),
                                     CSVLogger("run/metrics.csv")])
    history.history["test_acc"]

    # later, in a new process, with the same construction:
    trainer.fit(callbacks=[...], resume="run/checkpoint.npz")

Resuming is exact: a run interrupted after any step and continued from its checkpoint ends with
bit-identical weights and the same history as an uninterrupted run (on the same machine and
BLAS), because the checkpoint holds the model, the optimizer's state, every random Generator
(the trainer's shuffling and each Dropout's), the epoch/step counters with the shuffling state at
the start of the running epoch, the learning-rate schedule, stateful callbacks and the history.

Ctrl-C (or SIGTERM) during ``fit``/``train`` finishes the current step, writes the checkpoint of
every :class:`~dlscratch.callbacks.ModelCheckpoint` and raises :class:`TrainingInterrupted`; a
second Ctrl-C stops at once. A NaN or inf loss raises :class:`NonFiniteLossError` before the
step is applied, and no checkpoint of the bad state is written.

Differences from the book's Trainer, all fixes: an epoch is a permutation of the training set
(``ceil(train_size / batch_size)`` steps, via :class:`~dlscratch.data.DataLoader`); accuracy is
measured at the end of each epoch in eval mode; shuffling draws from ``rng``, never from NumPy's
global state.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ._evaluation import accuracy, eval_mode, nonfinite_cause
from ._interrupt import NonFiniteLossError, TrainingInterrupted
from ._loop import run
from ._rng import as_generator
from .callbacks import Callback, CallbackList, History, LearningRateScheduler, ProgressBar
from .data import DataLoader
from .layers.module import Module
from .lr_scheduler import LRScheduler
from .optim import Optimizer, get_optimizer

__all__ = ["NonFiniteLossError", "Trainer", "TrainingInterrupted"]

LECTURE_LINE = "=== epoch:{epoch}, train acc:{train_acc:.4f}, test acc:{test_acc:.4f} ==="


class Trainer:
    """Train a network with mini-batches; evaluate it after every epoch.

    Parameters
    ----------
    network
        A dlscratch ``Net`` / ``Module``, or a lecture-style object with ``params``,
        ``gradient(x, t)``, ``loss(x, t)`` and ``accuracy(x, t)`` (trained with ``update``;
        checkpoints need a Module).
    x_train, t_train, x_test, t_test : np.ndarray
        Data, shapes (N, ...) and (N,) or (N, C) one-hot.
    epochs : int
        Number of epochs ``train()`` / ``fit()`` run up to (counting epochs done before a resume).
    mini_batch_size : int
        Samples per step; the last step of an epoch takes the remainder.
    optimizer : str or Optimizer
        A name for :func:`dlscratch.optim.get_optimizer` ("SGD", "Adam", ...) built with
        ``optimizer_param`` (default ``{"lr": 0.01}``), or an optimizer object.
    evaluate_sample_num_per_epoch : int, optional
        Evaluate each epoch on the first this many training and test samples only.
    verbose : bool
        Print progress (a :class:`~dlscratch.callbacks.ProgressBar` unless one is given).
    rng : None, int or np.random.Generator
        The shuffling order's random stream.
    callbacks : list of Callback, optional
        Used by every ``fit()`` / ``train()`` call (``fit(callbacks=...)`` adds more).
    lr_scheduler : LRScheduler or callable, optional
        Stepped once per epoch. Either a schedule built on an optimizer object passed as
        ``optimizer``, or a function ``optimizer -> schedule`` (``lambda o: StepLR(o, 5)``).
    """

    def __init__(
        self,
        network,
        x_train: np.ndarray,
        t_train: np.ndarray,
        x_test: np.ndarray,
        t_test: np.ndarray,
        epochs: int = 20,
        mini_batch_size: int = 100,
        optimizer: str | Optimizer = "SGD",
        optimizer_param: dict[str, Any] | None = None,
        evaluate_sample_num_per_epoch: int | None = None,
        verbose: bool = True,
        *,
        rng: None | int | np.random.Generator = None,
        callbacks: Iterable[Callback] | None = None,
        lr_scheduler: LRScheduler | Callable[[Optimizer], LRScheduler] | None = None,
    ) -> None:
        if len(x_train) != len(t_train):
            raise ValueError(f"x_train has {len(x_train)} samples but t_train has {len(t_train)}")
        if len(x_test) != len(t_test):
            raise ValueError(f"x_test has {len(x_test)} samples but t_test has {len(t_test)}")
        for name, data in (("x_train", x_train), ("x_test", x_test)):
            if len(data) == 0:
                raise ValueError(f"{name} is empty; a Trainer needs at least one sample in it")
        _check_count("epochs", epochs, minimum=0)
        _check_count("mini_batch_size", mini_batch_size, minimum=1)
        if evaluate_sample_num_per_epoch is not None:
            _check_count("evaluate_sample_num_per_epoch", evaluate_sample_num_per_epoch, 1)
        self.network = network
        self.x_train, self.t_train = x_train, t_train
        self.x_test, self.t_test = x_test, t_test
        self.epochs = epochs
        self.batch_size = mini_batch_size
        self.evaluate_sample_num_per_epoch = evaluate_sample_num_per_epoch
        self.verbose = verbose
        self.rng = as_generator(rng)
        self.optimizer = _make_optimizer(network, optimizer, optimizer_param)
        self.lr_scheduler = _make_scheduler(lr_scheduler, self.optimizer)
        self.callbacks = list(callbacks or [])
        self.loader = DataLoader(x_train, t_train, mini_batch_size, shuffle=True, rng=self.rng)
        self.train_size = x_train.shape[0]
        self.iter_per_epoch = len(self.loader)
        self.current_iter = 0  # optimizer steps taken (global step)
        self.current_epoch = 0  # epochs completed
        self.step_in_epoch = 0  # steps taken in the running epoch
        self.train_loss_list: list[float] = []
        self.train_acc_list: list[float] = []
        self.test_acc_list: list[float] = []
        self.history = History()
        self.stop_training = False
        #: the last checkpoint written or loaded (named in NonFiniteLossError)
        self.last_checkpoint: Path | None = None
        self._epoch_start_rng: dict | None = None  # shuffling state when the epoch began
        self._epoch_elapsed = 0.0  # seconds of the running epoch spent before a resume
        self._epoch_t0: float | None = None
        self._pending_states: dict[str, Any] | None = None  # callback states from a checkpoint

    @property
    def max_iter(self) -> int:
        return self.epochs * self.iter_per_epoch

    # ------------------------------------------------------------------ one step, one epoch
    def train_step(self, x_batch: np.ndarray, t_batch: np.ndarray) -> float:
        """One gradient step on a mini-batch; returns its loss.

        Raises :class:`NonFiniteLossError` for a NaN/inf loss; when the network reports the
        loss before the update (``last_loss``, as ``Net.gradient`` does), the update is skipped.
        """
        net = self.network
        if hasattr(net, "last_loss"):
            net.last_loss = None
        try:
            grads = net.gradient(x_batch, t_batch)
        except (ValueError, FloatingPointError) as e:  # layers that refuse NaN inputs
            cause = nonfinite_cause(net, x_batch)
            if cause is None and ("NaN" in str(e) or "inf" in str(e)):
                cause = "the forward pass overflowed to inf/NaN although the weights are finite"
            if cause is None:
                raise
            epoch, step = self.current_epoch + 1, self.current_iter + 1
            raise NonFiniteLossError(epoch, step, None, self.last_checkpoint, what=(
                f"the training loss is not finite at step {step} (epoch {epoch}): {cause} "
                f"({e})")) from e
        loss = getattr(net, "last_loss", None)
        if loss is not None:
            self._check_loss(loss)
        if self.optimizer.params is not None:
            self.optimizer.step()
        else:
            self.optimizer.update(net.params, grads)
        if loss is None:
            loss = net.loss(x_batch, t_batch)
            self._check_loss(loss)
        self.current_iter += 1
        return float(loss)

    def _check_loss(self, loss) -> None:
        if not math.isfinite(float(loss)):
            raise NonFiniteLossError(self.current_epoch + 1, self.current_iter + 1, float(loss),
                                     self.last_checkpoint)

    def train_epoch(self) -> None:
        """Run one epoch (the lectures' unit), with the constructor's callbacks."""
        self._run(self.current_epoch + 1, [], LECTURE_LINE)

    # ------------------------------------------------------------------ the loops
    def fit(self, epochs: int | None = None, callbacks: Iterable[Callback] | None = None, *,
            resume: str | os.PathLike | None = None) -> History:
        """Train up to ``epochs`` epochs in all (default: the constructor's) and return History.

        Parameters
        ----------
        epochs : int, optional
            The epoch to stop after, counting epochs already done (by an earlier ``fit`` or the
            resumed run), as Keras' ``epochs`` with ``initial_epoch``.
        callbacks : list of Callback, optional
            Added to the constructor's callbacks for this call.
        resume : path, optional
            A checkpoint to continue from (see :meth:`load_checkpoint`); build the Trainer as
            for the original run.

        Raises
        ------
        TrainingInterrupted
            On Ctrl-C / SIGTERM, after the current step and the checkpoints.
        NonFiniteLossError
            When a loss is NaN or inf.
        """
        if resume is not None:
            self.load_checkpoint(resume)
        if epochs is not None:
            _check_count("epochs", epochs, minimum=0)
            self.epochs = epochs
        self._run(self.epochs, callbacks or [], None)
        return self.history

    def train(self) -> dict[str, list[float]]:
        """The lectures' loop: all epochs, then the final test accuracy (when verbose).

        Returns ``{"loss": train_loss_list, "train_acc": ..., "test_acc": ...}`` (the lists).
        """
        self._run(self.epochs, [], LECTURE_LINE)
        if self.verbose:
            with eval_mode(self.network):
                test_acc = accuracy(self.network, self.x_test, self.t_test, self.batch_size)
            print("=============== Final Test Accuracy ===============")
            print(f"test acc:{test_acc:.4f}")
        return {"loss": self.train_loss_list, "train_acc": self.train_acc_list,
                "test_acc": self.test_acc_list}

    def _run(self, until_epoch: int, callbacks: Iterable[Callback],
             line_format: str | None) -> None:
        own = [LearningRateScheduler(self.lr_scheduler)] if self.lr_scheduler else []
        cbs = own + self.callbacks + list(callbacks)
        if self.verbose and not any(isinstance(c, ProgressBar) for c in cbs):
            cbs.append(ProgressBar(line_format=line_format))
        run(self, until_epoch, CallbackList(cbs))

    # ------------------------------------------------------------------ checkpoints
    def save_checkpoint(self, path: str | os.PathLike) -> Path:
        """Write everything needed to continue this run exactly to ``path`` (atomically).

        The file is a dlscratch model file (``dlscratch.io.load_model`` reads the model from
        it) whose extra arrays/metadata hold the optimizer, random states, counters and history.
        Refuses (NonFiniteLossError) when the weights are not finite.
        """
        from .checkpoint import save_checkpoint

        self.last_checkpoint = save_checkpoint(self, path)
        return self.last_checkpoint

    def load_checkpoint(self, path: str | os.PathLike) -> None:
        """Restore this trainer, its network and optimizer from a checkpoint.

        The Trainer must be built as for the run that wrote it (same network architecture,
        optimizer type, training-set size and batch size; otherwise ValueError). States of
        stateful callbacks are applied when the next ``fit()`` / ``train()`` starts.
        """
        from .checkpoint import load_checkpoint

        load_checkpoint(self, path)
        self.last_checkpoint = Path(path)


# ---------------------------------------------------------------------- helpers
def _check_count(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")


def _make_optimizer(network, optimizer, optimizer_param) -> Optimizer:
    if isinstance(optimizer, Optimizer):
        if optimizer_param is not None:
            raise ValueError("optimizer_param is only used with an optimizer name; the optimizer "
                             "object given already has its settings")
        return optimizer
    params = network.parameters() if isinstance(network, Module) else None
    return get_optimizer(optimizer, params, **(optimizer_param or {"lr": 0.01}))


def _make_scheduler(scheduler, optimizer: Optimizer) -> LRScheduler | None:
    if scheduler is None:
        return None
    if not isinstance(scheduler, LRScheduler):
        if not callable(scheduler):
            raise TypeError(f"lr_scheduler must be a dlscratch.lr_scheduler schedule or a function "
                            f"optimizer -> schedule, got {type(scheduler).__name__}")
        scheduler = scheduler(optimizer)
        if not isinstance(scheduler, LRScheduler):
            raise TypeError(f"the lr_scheduler function returned {type(scheduler).__name__}, "
                            "not a dlscratch.lr_scheduler schedule")
    if scheduler.optimizer is not optimizer:
        raise ValueError("lr_scheduler was built on another optimizer than the trainer's; pass "
                         "the optimizer object as optimizer=..., or pass lr_scheduler as a "
                         "function, e.g. lambda opt: StepLR(opt, step_size=5)")
    return scheduler
