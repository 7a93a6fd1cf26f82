"""A barrier of processes that waits by watching shared memory (BatchNorm's hand-overs in
``set_num_threads(n, processes=True)``).

The parts of a split batch meet at a barrier three times per BatchNorm layer and training
step (:mod:`dlscratch.models.batch_sums`): 27 times a step for the small ResNet.
``multiprocessing.Barrier`` sleeps on semaphores and is woken by the last party to arrive:
157-189 us a wait on a 2-core virtual machine even when both parties arrive together, 4-5 ms
of a 100 ms step. Here each party writes how many times it has arrived into its own slot of
shared memory and watches the others' slots::

    party p, its k-th wait:   arrived[p] = k;   wait until arrived[q] >= k for every q

0.2 us when both arrive together. A party that is still waiting after :data:`SPIN_SECONDS`
(another part is slower) naps :data:`NAP_SECONDS` between looks, leaving the processor to
others.

What a party wrote before it arrived (its BatchNorm sums) is seen by the others together with
its ``arrived``: on x86 every processor sees another's stores in the order they were made
(ordinary stores: the sums are at most tens of kilobytes, far below the sizes at which a copy may
use streaming stores, which x86 does not order). Other processors do not promise that order,
so :func:`make_barrier` gives them (and machines with fewer processors than parties, where
watching would take the processor from the party it waits for) ``multiprocessing``'s barrier
instead.
"""

from __future__ import annotations

import mmap
import os
import platform
import threading
import time
from typing import Any

import numpy as np

#: watch without a pause for this long, then nap
SPIN_SECONDS = 0.002
#: the nap between looks after that
NAP_SECONDS = 50e-6
_LINE = 64  # bytes: each party's slot on its own cache line


class SpinBarrier:
    """``parties`` processes (forks of the one that made it) meet here; party p waits with
    ``wait(p)`` (or through ``party(p)``, which has the ``wait`` and ``abort`` of a
    ``threading.Barrier``). :meth:`abort` breaks it (every wait raises
    ``threading.BrokenBarrierError`` until :meth:`reset`)."""

    def __init__(self, parties: int) -> None:
        if parties < 1:
            raise ValueError(f"a barrier needs at least one party, got {parties}")
        self.parties = parties
        # MAP_SHARED | MAP_ANONYMOUS: the forks see these pages, and nothing is left on disk
        self._memory = mmap.mmap(-1, _LINE * (parties + 1))
        step = _LINE // 8
        words = np.ndarray((step * (parties + 1),), np.int64, self._memory)
        self._arrived = words[:parties * step:step]  # party p's count, one line each
        self._state = words[parties * step:]  # [0]: 1 when broken

    @property
    def broken(self) -> bool:
        return bool(self._state[0])

    def abort(self) -> None:
        """Break the barrier: the waiting parties and every later wait raise
        ``threading.BrokenBarrierError``."""
        self._state[0] = 1

    def reset(self) -> None:
        """Whole again, every count at zero (call it only while no party is waiting)."""
        self._arrived[:] = 0
        self._state[0] = 0

    def party(self, p: int) -> _Party:
        """Party p's side: ``wait()`` and ``abort()``."""
        if not 0 <= p < self.parties:
            raise ValueError(f"party must be in 0..{self.parties - 1}, got {p}")
        return _Party(self, p)

    def wait(self, p: int) -> None:
        """Party p arrives; returns when every party has arrived as often as p has."""
        arrived, state = self._arrived, self._state
        if state[0]:
            raise threading.BrokenBarrierError
        k = arrived[p] + 1
        arrived[p] = k  # one aligned 8-byte store, after the stores of what p wrote before
        start = None
        while arrived.min() < k:
            if state[0]:
                raise threading.BrokenBarrierError
            if start is None:
                start = time.perf_counter()
            elif time.perf_counter() - start > SPIN_SECONDS:
                time.sleep(NAP_SECONDS)


class _Party:
    """One party's view of a :class:`SpinBarrier`, with a ``threading.Barrier``'s ``wait()``
    and ``abort()`` (what :class:`~dlscratch.models.batch_sums.BatchSums` calls)."""

    def __init__(self, barrier: SpinBarrier, p: int) -> None:
        self.barrier, self.p = barrier, p

    def wait(self) -> None:
        self.barrier.wait(self.p)

    def abort(self) -> None:
        self.barrier.abort()


def spinning_pays(parties: int) -> bool:
    """Whether :class:`SpinBarrier` is used for ``parties`` processes: on x86 (see the module
    docstring), and with at least as many processors for this process as parties."""
    x86 = platform.machine().lower() in {"x86_64", "amd64", "i386", "i686"}
    try:
        processors = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        processors = os.cpu_count() or 1
    return x86 and parties <= processors


def make_barrier(ctx: Any, parties: int) -> Any:
    """A :class:`SpinBarrier` where :func:`spinning_pays`, else ``ctx.Barrier(parties)``
    (``ctx``: a ``multiprocessing`` context)."""
    return SpinBarrier(parties) if spinning_pays(parties) else ctx.Barrier(parties)


def for_party(barrier: Any, p: int) -> Any:
    """What party p waits on: its side of a :class:`SpinBarrier`, or a ``multiprocessing``
    barrier itself (which needs no party number)."""
    return barrier.party(p) if isinstance(barrier, SpinBarrier) else barrier
