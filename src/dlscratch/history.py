"""The per-epoch record of a training run, as returned by ``Trainer.fit`` (Keras' History)."""

from __future__ import annotations

from typing import Any

__all__ = ["METRICS", "History"]

#: the per-epoch metrics, in the column order of metrics.csv
METRICS = ("epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "seconds")


class History:
    """Per-epoch metrics of a run: ``history["test_acc"][-1]``, ``epoch`` (1-based numbers).

    Attributes
    ----------
    history : dict[str, list]
        One list per name in :data:`METRICS`, one entry per completed epoch.
    epoch : list[int]
        The epoch numbers (1, 2, ...), the same list as ``history["epoch"]``.
    """

    def __init__(self, history: dict[str, list] | None = None) -> None:
        self.history: dict[str, list] = {k: [] for k in METRICS}
        for k, values in (history or {}).items():
            if k not in self.history:
                raise ValueError(f"unknown metric {k!r} in a history; expected {list(METRICS)}")
            self.history[k] = list(values)
        if len({len(v) for v in self.history.values()}) > 1:
            raise ValueError("a history's metric lists must all have the same length")

    @property
    def epoch(self) -> list[int]:
        return self.history["epoch"]

    def append(self, logs: dict[str, Any]) -> None:
        """Add one epoch's metrics (every name in METRICS is required)."""
        missing = [k for k in METRICS if k not in logs]
        if missing:
            raise KeyError(f"epoch metrics are missing {missing}")
        for k in METRICS:
            self.history[k].append(logs[k])

    def rows(self) -> list[dict[str, Any]]:
        """One dict per epoch, as in metrics.csv."""
        return [dict(zip(METRICS, values)) for values in zip(*(self.history[k] for k in METRICS))]

    def __len__(self) -> int:
        return len(self.history["epoch"])

    def __repr__(self) -> str:
        return f"History(epochs={len(self)}, metrics={list(METRICS)})"
