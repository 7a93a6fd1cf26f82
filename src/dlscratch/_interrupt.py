"""How a training run stops early: Ctrl-C / SIGTERM turned into a flag, and the two errors.

:class:`SignalFlag` is the context manager that :meth:`dlscratch.trainer.Trainer.fit` runs in.
The first SIGINT (Ctrl-C) or SIGTERM only records the signal; the trainer finishes the current
step, writes its checkpoint and raises :class:`TrainingInterrupted`. A second signal raises
``KeyboardInterrupt`` at once, as Python normally does. The previous handlers are put back on
exit. Handlers can only be installed from the main thread; elsewhere the flag never fires and
signals behave as usual.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

__all__ = ["NonFiniteLossError", "SignalFlag", "TrainingInterrupted"]

USUAL_CAUSES = (
    "usual causes: a learning rate too high (try 10x smaller), inputs that are not normalised "
    "(scale pixels to [0, 1]), labels outside 0..C-1 or one-hot "
    "rows of the wrong width, NaN or inf values in the data, or weights loaded from a broken file"
)


class TrainingInterrupted(KeyboardInterrupt):
    """Training was stopped by SIGINT (Ctrl-C) or SIGTERM after a complete step.

    A subclass of ``KeyboardInterrupt``, so ``except Exception`` does not swallow it.

    Attributes
    ----------
    epoch : int
        Epochs completed before the interruption.
    step : int
        Optimizer steps taken in all (the global step count).
    step_in_epoch : int
        Steps taken in the epoch that was running (0 at an epoch boundary).
    checkpoint_path : pathlib.Path or None
        The checkpoint written on the way out (None when no ModelCheckpoint was configured).
    signum : int
        The signal received (``signal.SIGINT`` or ``signal.SIGTERM``).
    """

    def __init__(self, epoch: int, step: int, step_in_epoch: int,
                 checkpoint_path: Path | None, signum: int = signal.SIGINT) -> None:
        self.epoch = epoch
        self.step = step
        self.step_in_epoch = step_in_epoch
        self.checkpoint_path = checkpoint_path
        self.signum = signum
        name = signal.Signals(signum).name if signum in set(signal.Signals) else str(signum)
        where = (f"after step {step} (epoch {epoch + 1}, step {step_in_epoch} of the epoch)"
                 if step_in_epoch else f"after epoch {epoch} (step {step})")
        if checkpoint_path is not None:
            then = (f"checkpoint written to {checkpoint_path}; continue with "
                    f"trainer.fit(resume={str(checkpoint_path)!r})")
        else:
            then = "no checkpoint was written (add a ModelCheckpoint callback to keep one)"
        super().__init__(f"training interrupted by {name} {where}; {then}")


class NonFiniteLossError(FloatingPointError):
    """The training loss (or the weights) became NaN or inf; the run stops without saving.

    Attributes
    ----------
    epoch : int
        The epoch that was running (1-based).
    step : int
        The global step (1-based) whose loss was not finite.
    loss : float or None
        The loss value (None when the weights, not the loss, were found non-finite).
    checkpoint_path : pathlib.Path or None
        The last good checkpoint (written or loaded by this trainer), if any.
    """

    def __init__(self, epoch: int, step: int, loss: float | None,
                 checkpoint_path: Path | None = None, what: str | None = None) -> None:
        self.epoch = epoch
        self.step = step
        self.loss = loss
        self.checkpoint_path = checkpoint_path
        what = what or f"the training loss is {loss} at step {step} (epoch {epoch})"
        kept = (f"the last good checkpoint {checkpoint_path} is kept" if checkpoint_path
                else "no checkpoint was written of this state")
        super().__init__(f"{what}; training stopped and {kept}; {USUAL_CAUSES}")


class SignalFlag:
    """Context manager: the first SIGINT/SIGTERM sets :attr:`signum`, a second one raises.

    Example
    -------
    >>> with SignalFlag() as flag:
    ...     for batch in batches:
    ...         step(batch)
    ...         if flag.signum is not None:
    ...             break
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    @property
    def installed(self) -> bool:
        """Whether the handlers are in place (only in the main thread)."""
        return bool(self._previous)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is not None:
            raise KeyboardInterrupt(f"second {signal.Signals(signum).name}: stopping at once")
        self.signum = signum

    def __enter__(self) -> SignalFlag:
        self.signum = None
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                self._previous[sig] = signal.getsignal(sig)
                signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            # None means the handler was not installed from Python; the default is all we can do
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        self._previous = {}
