"""BatchNorm over a batch split into parts: each part's sums added up at a barrier.

``Net.set_num_threads`` runs the parts of a batch in threads (:mod:`dlscratch.models.parallel`)
or in worker processes (:mod:`dlscratch.models.workers`).
BatchNorm's training-mode statistics need sums over the whole batch; each part's BatchNorm
gets a :class:`_PartSums` in its ``batch_sums`` attribute and calls ``total(local)`` where
one thread would sum over the batch::

    forward:   sum x,  sum (x - mu)^2                    over every part: plain sums
    backward:  dbeta = sum dout,  dgamma = sum dout * xn  each part's dout is of its own mean
               loss (a factor 1 / n_p), so the whole batch's sum in part p's scale is
               sum_q w_q local_q / w_p,  w_q = n_q / N

Its statistics, running averages and gradients are then the whole batch's (PyTorch calls this
SyncBatchNorm).
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np


class BatchSums:
    """Per-feature sums over every part of one batch split into parts, for BatchNorm.

    Each part's BatchNorm calls :meth:`_PartSums.total` with its own sums; the threads wait for
    each other (a barrier) and each gets the sum over all parts, added in part order (the same
    result in every thread). One object per step serves every BatchNorm layer in turn: the
    parts pass through the same layers in the same order.

    Two sets of slots, used by turns (call k writes set k mod 2): one barrier per call. A part
    that writes set k mod 2 again at call k + 2 has passed the barrier of call k + 1, which
    every part reaches only after reading the sums of call k, so no slot is overwritten
    before everyone has read it. Why: each barrier is a hand-over between the threads, and a
    BatchNorm layer calls ``total`` three times per training step (one set of slots needs a
    second barrier after the reads; the small ResNet: 27 barriers a step instead of 54).

    For parts in processes, each process makes its own BatchSums for a step, with the
    ``barrier`` and the ``slots`` (:class:`SharedSlots`) that they share (the barrier watches
    shared memory where that pays, :mod:`dlscratch.models.spin_barrier`; else it is
    ``multiprocessing``'s); threads share one BatchSums with its own barrier and slots.
    """

    def __init__(self, sizes: list[int], *, barrier: Any = None, slots: Any = None) -> None:
        self.batch_size = sum(sizes)
        self.weights = [n / self.batch_size for n in sizes]
        self.barrier = threading.Barrier(len(sizes)) if barrier is None else barrier
        self._slots = _ListSlots(len(sizes)) if slots is None else slots
        self._calls = [0] * len(sizes)  # each part's calls of total so far (all its layers)

    def part(self, index: int) -> _PartSums:
        return _PartSums(self, index)


class _PartSums:
    """What part ``index``'s BatchNorm layers see: ``total(local)`` and ``batch_size``."""

    def __init__(self, sums: BatchSums, index: int) -> None:
        self.sums, self.index, self.batch_size = sums, index, sums.batch_size

    def total(self, local: np.ndarray, weighted: bool = False) -> np.ndarray:
        """sum_q local_q over the parts. ``weighted``: for sums of dout, which each part
        takes of its own mean loss, ``sum_q w_q local_q / w_p`` (w = n / N): the whole
        batch's sum, in part p's scale."""
        sums, p = self.sums, self.index
        w = sums.weights
        turn = sums._calls[p] % 2  # call k of this part: set k mod 2
        sums._calls[p] += 1
        sums._slots.put(turn, p, local * local.dtype.type(w[p]) if weighted else local)
        sums.barrier.wait()
        total = sums._slots.get(turn, 0, local).copy()
        for q in range(1, len(w)):
            total += sums._slots.get(turn, q, local)
        return total / local.dtype.type(w[p]) if weighted else total


class _ListSlots:
    """Two sets of one slot per part, for threads: a slot holds the part's array itself."""

    def __init__(self, parts: int) -> None:
        self._sets = ([None] * parts, [None] * parts)

    def put(self, turn: int, p: int, value: np.ndarray) -> None:
        self._sets[turn][p] = value

    def get(self, turn: int, q: int, like: np.ndarray) -> np.ndarray:
        return self._sets[turn][q]


class SharedSlots:
    """Two sets of one slot per part in memory that processes share: ``sets[turn][p]`` is a
    uint8 array of ``capacity`` bytes; a part's sums are copied in and read back with the
    dtype and shape of the caller's own (every part sums the same layer at the same call)."""

    def __init__(self, sets: list[list[np.ndarray]]) -> None:
        self._sets = sets

    def _view(self, turn: int, p: int, like: np.ndarray) -> np.ndarray:
        slot = self._sets[turn][p]
        if like.nbytes > slot.size:
            raise RuntimeError(f"BatchNorm sums of {like.nbytes} bytes do not fit the "
                               f"{slot.size}-byte slots made for this network")
        return slot[:like.nbytes].view(like.dtype).reshape(like.shape)

    def put(self, turn: int, p: int, value: np.ndarray) -> None:
        self._view(turn, p, value)[...] = value

    def get(self, turn: int, q: int, like: np.ndarray) -> np.ndarray:
        return self._view(turn, q, like)
