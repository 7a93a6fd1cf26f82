"""Callbacks for :meth:`dlscratch.trainer.Trainer.fit`, and the History it returns (Keras' names).

A callback overrides any of the hooks below; each receives one ``logs`` dict:

=====================  ==========================================================================
hook                   ``logs``
=====================  ==========================================================================
``on_train_begin``     ``epoch`` (epochs already done: > 0 after a resume), ``step``
``on_epoch_begin``     ``epoch`` (1-based number of the epoch starting), ``step_in_epoch``
``on_batch_end``       ``epoch``, ``batch`` (1-based within the epoch), ``step`` (global), ``loss``,
                       ``lr``
``on_epoch_end``       the epoch's metrics: ``epoch``, ``train_loss`` (mean of the epoch's step
                       losses), ``train_acc``, ``test_loss``, ``test_acc``, ``lr``, ``seconds``
``on_train_end``       ``epoch``, ``step``, ``status``: "completed", "stopped" (a callback set
                       ``trainer.stop_training``), "interrupted", "nonfinite" or "failed"
=====================  ==========================================================================

``self.trainer`` is set before ``on_train_begin``. Callbacks run in the order given, except that
a callback's ``order`` attribute sorts them (stable): :class:`LearningRateScheduler` has -10 so the
schedule is stepped before anything saves it, :class:`ModelCheckpoint` has +10 so a checkpoint
holds the other callbacks' final state for the epoch. A callback with ``state_dict()`` and
``load_state_dict()`` has its state saved in checkpoints (EarlyStopping, LearningRateScheduler).
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from .history import METRICS, History

__all__ = [
    "CSVLogger", "Callback", "CallbackList", "EarlyStopping", "History", "LearningRateScheduler",
    "METRICS", "ModelCheckpoint", "ProgressBar",
]

class Callback:
    """Base class: every hook does nothing. See the module docstring for the ``logs``."""

    order = 0
    trainer: Any = None

    def set_trainer(self, trainer: Any) -> None:
        self.trainer = trainer

    def on_train_begin(self, logs: dict[str, Any]) -> None: ...

    def on_epoch_begin(self, logs: dict[str, Any]) -> None: ...

    def on_batch_end(self, logs: dict[str, Any]) -> None: ...

    def on_epoch_end(self, logs: dict[str, Any]) -> None: ...

    def on_train_end(self, logs: dict[str, Any]) -> None: ...


class CallbackList:
    """Callbacks sorted by ``order`` (stable); calling a hook calls it on each in turn."""

    def __init__(self, callbacks: Iterable[Callback] = ()) -> None:
        callbacks = list(callbacks)
        for cb in callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be dlscratch.callbacks.Callback instances, got "
                                f"{type(cb).__name__}; subclass Callback and override its hooks")
        self.callbacks = sorted(callbacks, key=lambda cb: cb.order)

    def __iter__(self):
        return iter(self.callbacks)

    def call(self, hook: str, logs: dict[str, Any]) -> None:
        for cb in self.callbacks:
            getattr(cb, hook)(dict(logs))

    def stateful(self) -> list[tuple[str, Callback]]:
        """``(key, callback)`` for callbacks with saved state; key = "ClassName#ordinal"."""
        seen: dict[str, int] = {}
        out = []
        for cb in self.callbacks:
            if hasattr(cb, "state_dict") and hasattr(cb, "load_state_dict"):
                name = type(cb).__name__
                out.append((f"{name}#{seen.get(name, 0)}", cb))
                seen[name] = seen.get(name, 0) + 1
        return out


class ProgressBar(Callback):
    """Progress on a stream: a bar per epoch in a terminal, one line per epoch otherwise.

    Parameters
    ----------
    stream : text stream, optional
        Where to write; ``sys.stdout`` at the start of training by default.
    mode : {"auto", "bar", "lines", "quiet"}
        "bar": a tqdm bar during each epoch (steps/s, loss, ETA), replaced by the epoch's line;
        "lines": only the line at the end of each epoch (for logs: no bar redraws);
        "quiet": nothing; "auto": "bar" when the stream is a terminal, else "lines".
    line_format : str, optional
        ``str.format`` template of the epoch line, given the epoch's metrics and ``epochs``.
    min_interval : float
        Seconds between two redraws of the bar.
    """

    LINE = ("epoch {epoch}/{epochs}: train_loss {train_loss:.4f}, train_acc {train_acc:.4f}, "
            "test_loss {test_loss:.4f}, test_acc {test_acc:.4f}, lr {lr:.3g}, {seconds:.1f}s")
    MODES = ("auto", "bar", "lines", "quiet")

    def __init__(self, stream: TextIO | None = None, mode: str = "auto",
                 line_format: str | None = None, min_interval: float = 0.1) -> None:
        if mode not in self.MODES:
            raise ValueError(f"ProgressBar mode must be one of {self.MODES}, got {mode!r}")
        self.stream, self.mode = stream, mode
        self.line_format = line_format or self.LINE
        self.min_interval = min_interval
        self._bar = None

    def on_train_begin(self, logs):
        self._out = self.stream if self.stream is not None else sys.stdout
        self._mode = self.mode
        if self.mode == "auto":
            isatty = getattr(self._out, "isatty", None)
            self._mode = "bar" if isatty is not None and isatty() else "lines"

    def on_epoch_begin(self, logs):
        if self._mode == "bar":
            from tqdm.auto import tqdm

            tr = self.trainer
            self._bar = tqdm(total=tr.iter_per_epoch, initial=logs["step_in_epoch"],
                             desc=f"epoch {logs['epoch']}/{tr.epochs}", unit="step",
                             file=self._out, leave=False, dynamic_ncols=True,
                             mininterval=self.min_interval)

    def on_batch_end(self, logs):
        if self._bar is not None:
            self._bar.set_postfix(loss=f"{logs['loss']:.4f}", refresh=False)
            self._bar.update(1)

    def on_epoch_end(self, logs):
        self._close()
        if self._mode != "quiet":
            print(self.line_format.format(epochs=self.trainer.epochs, **logs), file=self._out,
                  flush=True)

    def on_train_end(self, logs):
        self._close()

    def _close(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class ModelCheckpoint(Callback):
    """Write the trainer's checkpoint to ``path`` after every epoch (and every N steps).

    The file is replaced atomically each time, so it always holds the last complete state;
    ``Trainer.fit`` also writes it when interrupted by Ctrl-C / SIGTERM.
    """

    order = 10

    def __init__(self, path: str | os.PathLike, every_n_steps: int | None = None) -> None:
        if every_n_steps is not None and (isinstance(every_n_steps, bool)
                                          or not isinstance(every_n_steps, int)
                                          or every_n_steps < 1):
            raise ValueError(f"every_n_steps must be a positive int or None, got "
                             f"{every_n_steps!r}")
        self.path = Path(path)
        self.every_n_steps = every_n_steps

    def on_batch_end(self, logs):
        if self.every_n_steps and logs["step"] % self.every_n_steps == 0:
            self.trainer.save_checkpoint(self.path)

    def on_epoch_end(self, logs):
        self.trainer.save_checkpoint(self.path)


class EarlyStopping(Callback):
    """Stop after ``patience`` epochs in a row in which ``monitor`` did not improve on its best
    value by more than ``min_delta`` (Keras' rule: ``patience=0`` stops at the first one).

    ``mode="auto"`` minimises names containing "loss" and maximises those containing "acc".
    Sets ``trainer.stop_training``; the epoch's checkpoint is still written.
    """

    def __init__(self, monitor: str = "test_loss", patience: int = 5, min_delta: float = 0.0,
                 mode: str = "auto") -> None:
        if monitor not in METRICS[1:]:
            raise ValueError(f"EarlyStopping cannot monitor {monitor!r}; choose one of "
                             f"{list(METRICS[1:])}")
        if mode == "auto":
            mode = "min" if "loss" in monitor else "max" if "acc" in monitor else ""
            if not mode:
                raise ValueError(f"EarlyStopping: give mode='min' or 'max' for {monitor!r}")
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping mode must be 'auto', 'min' or 'max', got {mode!r}")
        if patience < 0 or not min_delta >= 0:
            raise ValueError(f"EarlyStopping needs patience >= 0 and min_delta >= 0, got "
                             f"{patience!r} and {min_delta!r}")
        self.monitor, self.patience, self.min_delta, self.mode = monitor, patience, min_delta, mode
        self.best: float | None = None
        self.best_epoch = 0
        self.wait = 0
        self.stopped_epoch = 0

    def on_epoch_end(self, logs):
        value = float(logs[self.monitor])
        sign = 1.0 if self.mode == "min" else -1.0
        if self.best is None or sign * (self.best - value) > self.min_delta:
            self.best, self.best_epoch, self.wait = value, int(logs["epoch"]), 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = int(logs["epoch"])
            self.trainer.stop_training = True

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait,
                "stopped_epoch": self.stopped_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best = None if state["best"] is None else float(state["best"])
        self.best_epoch, self.wait = int(state["best_epoch"]), int(state["wait"])
        self.stopped_epoch = int(state["stopped_epoch"])


class LearningRateScheduler(Callback):
    """Step a :mod:`dlscratch.lr_scheduler` schedule once per epoch, after the epoch's metrics.

    The schedule must be built on the trainer's optimizer (``StepLR(trainer.optimizer, ...)``).
    """

    order = -10

    def __init__(self, scheduler) -> None:
        from .lr_scheduler import LRScheduler

        if not isinstance(scheduler, LRScheduler):
            raise TypeError(f"LearningRateScheduler needs a dlscratch.lr_scheduler schedule, got "
                            f"{type(scheduler).__name__}")
        self.scheduler = scheduler

    def on_train_begin(self, logs):
        if self.scheduler.optimizer is not self.trainer.optimizer:
            raise ValueError("the learning-rate schedule was built on another optimizer than the "
                             "trainer's; build it as StepLR(trainer.optimizer, ...)")

    def on_epoch_end(self, logs):
        self.scheduler.step()

    def state_dict(self) -> dict[str, Any]:
        return self.scheduler.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.scheduler.load_state_dict(state)


class CSVLogger(Callback):
    """Write the history to a CSV file (header ``epoch,train_loss,...,seconds``) every epoch.

    The whole file is rewritten atomically from ``trainer.history``, so after a resume it holds
    the same rows as an uninterrupted run's (only ``seconds`` differ).
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def _write(self) -> None:
        from ._files import atomic_write_text

        lines = [",".join(METRICS)]
        for row in self.trainer.history.rows():
            lines.append(",".join(_csv_value(row[k]) for k in METRICS))
        atomic_write_text(self.path, "\n".join(lines) + "\n")

    def on_train_begin(self, logs):
        self._write()

    def on_epoch_end(self, logs):
        self._write()


def _csv_value(v: Any) -> str:
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else str(v)
    return str(v)
