"""The parts of a split batch in worker processes: ``net.set_num_threads(n, processes=True)``.

Threads of one process take turns at Python's global interpreter lock (the GIL) between their
NumPy calls; processes do not. DeepConvNet's training step at batch 100 on 2 cores: 84.3 ms
with the second part in a thread, 78.1 ms with it in a process (medians of 150 alternating
steps; SimpleConvNet, whose large Linear layer's weights and gradients cross between the
processes every step, 8% slower; benchmarks/README.md). PyTorch's DistributedDataParallel
uses processes for the same reason.

Each worker is a fork of this process made at first use (Linux): it holds the network as it
was then, its own copy, and keeps it in step. For the worker of part p, per call::

    this process:  weights, buffers          -> the shared block (the worker's parameters are
                                                 views of it; its buffers are copied from it)
                   (x_p, t_p, settings, seeds) -> the worker's pipe
    worker:        loss and backward on its part (BatchNorm's sums through the block, at a
                   barrier of processes); its gradients -> its slots in the block;
                   (loss, which gradients exist) -> the pipe
    this process:  dL/dW = sum_p (n_p / N) dL_p/dW   (:mod:`dlscratch.models.parallel`)

The seeds are drawn from the network's Generators in the order the threads draw them, so a
step gives the same numbers with the parts in threads or in processes.

The block is anonymous shared memory (``mmap``): it goes away with the last process that maps
it, so nothing is left on disk whatever happens. The messages are pickled: they pass only
between this process and its own forks. A worker exits when its pipe is closed (the network
dropped, ``set_num_threads`` called again) or when this process ends, however it ends.
"""

from __future__ import annotations

import mmap
import multiprocessing
import os
import signal
import sys
import threading
import warnings
import weakref
from collections.abc import Callable
from multiprocessing.connection import wait
from typing import Any

import numpy as np

from ..layers.module import Module
from ..layers.normalization import BatchNorm
from .batch_sums import SharedSlots
from .spin_barrier import for_party, make_barrier
from .worker_loop import serve

_ALIGN = 64  # bytes: every array in the block starts on a cache line


class _Held:
    """What this process holds that no worker may keep, whichever network it serves: the
    parent's ends of every worker's pipe, the lifelines' write ends, the watchers' pipes. A
    worker closes them all first (it got copies at its fork); one kept would keep another
    network's worker from seeing its pipe close. ``lock``: no fork while they change (an
    RLock: the garbage collector may run a network's shut-down in the thread that holds it)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.conns: set[Any] = set()
        self.fds: set[int] = set()


_HELD = _Held()


def check_processes_supported() -> None:
    """ValueError unless worker processes can be forked here (Linux)."""
    if not sys.platform.startswith("linux"):
        raise ValueError(
            f"processes=True needs Linux (a fork of this process), not {sys.platform}; "
            "split batches over threads instead: net.set_num_threads(n)"
        )


def _block(specs: list[tuple[tuple[int, ...], Any]]) -> tuple[mmap.mmap, list[np.ndarray]]:
    """Arrays of the given (shape, dtype) in one anonymous shared memory block."""
    offsets, n = [], 0
    for shape, dtype in specs:
        n = -(-n // _ALIGN) * _ALIGN
        offsets.append(n)
        n += int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
    memory = mmap.mmap(-1, max(n, 1))  # MAP_SHARED | MAP_ANONYMOUS: forks see the same pages
    arrays = [np.ndarray(shape, dtype, buffer=memory, offset=o)
              for (shape, dtype), o in zip(specs, offsets)]
    return memory, arrays


class ProcessWorkers:
    """``count`` forks of this process that run parts 1..count of a batch split over ``net``'s
    parts (part 0 runs in this process: :class:`dlscratch.models.parallel.DataParallel`)."""

    def __init__(self, net: Module, count: int, structure: tuple) -> None:
        check_processes_supported()
        self.structure = structure
        self.modules = [m for _, m in net.named_modules()]
        self.params = net.parameters()
        self.buffers = [(i, name) for i, m in enumerate(self.modules) for name in m._buffers]
        norms = [m for m in self.modules if isinstance(m, BatchNorm)]
        slot_bytes = max((16 * m._parameters["gamma"].data.size for m in norms), default=0)
        specs = [(p.data.shape, p.data.dtype) for p in self.params]            # weights
        specs += [(p.data.shape, p.data.dtype) for p in self.params] * count   # gradients
        specs += [(self.modules[i]._buffers[b].shape, self.modules[i]._buffers[b].dtype)
                  for i, b in self.buffers]                                     # buffers
        specs += [((slot_bytes,), np.uint8)] * (2 * (count + 1))               # BatchNorm sums
        self._memory, arrays = _block(specs)
        k, n = len(self.params), len(self.buffers)
        self.weights = arrays[:k]
        self.grads = [arrays[k * (1 + j):k * (2 + j)] for j in range(count)]
        self.buffer_slots = arrays[k * (1 + count):k * (1 + count) + n]
        sets = arrays[k * (1 + count) + n:]
        self.slots = SharedSlots([sets[:count + 1], sets[count + 1:]])

        ctx = multiprocessing.get_context("fork")
        self._barriers = {parts: make_barrier(ctx, parts) for parts in range(2, count + 2)}
        self.conns: list[Any] = []
        self.procs: list[Any] = []
        watchers: list[threading.Thread] = []
        with _HELD.lock:
            lifeline_r, lifeline_w = os.pipe()
            stop_r, stop_w = os.pipe()
            _HELD.fds.update((lifeline_w, stop_r, stop_w))
            try:
                for j in range(count):
                    mine, theirs = ctx.Pipe()
                    _HELD.conns.add(mine)
                    proc = ctx.Process(target=serve, name=f"dlscratch-part-{j + 2}",
                                       daemon=True, args=(self, net, j, theirs, lifeline_r, _HELD))
                    with warnings.catch_warnings():
                        # Python >= 3.12 warns of any fork in a process with threads
                        # (OpenBLAS's own, a web server's): a lock held by another thread stays
                        # locked in the fork. The worker takes none: it runs NumPy, OpenBLAS
                        # (which shuts its threads down around a fork) and this module.
                        warnings.filterwarnings("ignore", category=DeprecationWarning,
                                                message=".*fork")
                        proc.start()
                    theirs.close()  # only the worker holds its end: EOF here if it dies
                    self.conns.append(mine)
                    self.procs.append(proc)
            finally:
                os.close(lifeline_r)  # the workers hold its read end, this process the write end
                self._finalizer = weakref.finalize(self, _shut_down, self.procs, self.conns,
                                                   (lifeline_w, stop_w, stop_r), watchers)
        # a worker that dies while this process waits for it at a barrier must not leave it
        # waiting: the watcher breaks the barriers
        watcher = threading.Thread(target=_watch, name="dlscratch-part-watcher", daemon=True,
                                   args=([p.sentinel for p in self.procs], stop_r,
                                         list(self._barriers.values())))
        watcher.start()
        watchers.append(watcher)

    def barrier(self, parts: int, party: int | None = None) -> Any:
        """The barrier of a call over ``parts`` parts; with ``party``, what that part waits on
        (:func:`~dlscratch.models.spin_barrier.for_party`)."""
        barrier = self._barriers[parts]
        return barrier if party is None else for_party(barrier, party)

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    def close(self) -> None:
        """End the workers (they see their pipes close) and wait for them."""
        self._finalizer()

    def reset_barriers(self) -> None:
        """Barriers broken by a failed call made whole again (every worker is idle now)."""
        for barrier in self._barriers.values():
            if barrier.broken:
                barrier.reset()

    # ------------------------------------------------------------------ one call
    def run(self, kind: str, x: np.ndarray, t: np.ndarray | None, parts: list[slice],
            own: Callable[[], Any]) -> Any:
        """One call over the parts: ``own()`` (part 0) here, with one BLAS thread, and parts
        1.. in the workers. ``kind`` "forward": the parts' outputs, in order. "train": the
        parts' losses, and for each worker its gradients (views of its slots; None where it
        has none). A part's error is raised after every part has answered (not another
        part's broken barrier); when a worker has ended, or on Ctrl-C while waiting for the
        answers, the workers are closed first (the next call starts new ones)."""
        from .parallel import _is_setting, blas_controller, generator_seeds

        if self.closed:
            raise RuntimeError("these worker processes were closed; the network starts new "
                               "ones on its next call")
        self.put_state()
        modules = self.modules
        settings = [(i, k, v) for i, m in enumerate(modules) for k, v in vars(m).items()
                    if _is_setting(k, v)]
        flags = [(p.requires_grad, p.decay) for p in self.params]
        sizes = [s.stop - s.start for s in parts]
        barrier = self.barrier(len(parts)) if kind == "train" else None
        results: list = [None]
        errors: list[BaseException] = []
        sent = 0
        try:
            self.check_alive()
            for j, s in enumerate(parts[1:]):
                seeds = generator_seeds(modules) if kind == "train" else None
                self.send(j, (kind, x[s], None if t is None else t[s], sizes, settings, flags,
                              seeds))
                sent += 1
        except BaseException as e:
            errors.append(e)
            if barrier is not None:
                barrier.abort()  # the parts already sent must not wait for part 0
        else:
            try:
                with blas_controller().limit(limits=1, user_api="blas"):
                    results[0] = own()
            except BaseException as e:
                errors.append(e)
        try:
            for j in range(sent):
                try:
                    results.append(self.receive(j))
                except Exception as e:  # noqa: BLE001 (raised below, after the others)
                    errors.append(e)
        except BaseException:  # Ctrl-C while waiting: the answers cannot be told apart later
            self.close()
            raise
        if any(isinstance(e, WorkerEnded) for e in errors):
            self.close()
        elif errors:
            self.reset_barriers()
        errors.sort(key=lambda e: isinstance(e, threading.BrokenBarrierError))
        if errors:
            raise errors[0]
        if kind == "forward":
            return results
        losses = [results[0]] + [loss for loss, _ in results[1:]]
        grads = [[g if has else None for g, has in zip(self.grads[j], answer[1])]
                 for j, answer in enumerate(results[1:])]
        return losses, grads

    def check_alive(self) -> None:
        """WorkerEnded naming the worker that ended and its exit code, if one has."""
        for j, proc in enumerate(self.procs):
            if not proc.is_alive():
                raise WorkerEnded(_ended(j, proc.exitcode))

    def put_state(self) -> None:
        """The network's weights and buffers into the block, for the workers to read."""
        for slot, p in zip(self.weights, self.params):
            np.copyto(slot, p.data)
        for slot, (i, name) in zip(self.buffer_slots, self.buffers):
            np.copyto(slot, self.modules[i]._buffers[name])

    def send(self, j: int, message: tuple) -> None:
        try:
            self.conns[j].send(message)
        except (BrokenPipeError, ConnectionResetError):
            self.procs[j].join(1.0)
            raise WorkerEnded(_ended(j, self.procs[j].exitcode)) from None

    def receive(self, j: int) -> Any:
        """Worker j's answer; its error raised from the worker's traceback."""
        try:
            status, value, trace = self.conns[j].recv()
        except (EOFError, ConnectionResetError):
            self.procs[j].join(1.0)
            raise WorkerEnded(_ended(j, self.procs[j].exitcode)) from None
        if status == "error":
            raise value from WorkerTraceback(
                f"in the worker process of part {j + 2} of the batch:\n{trace}")
        return value


class WorkerEnded(RuntimeError):
    """A worker process ended during a call (killed, out of memory); the next call starts new
    ones."""


class WorkerTraceback(Exception):
    """Where in a worker process an error was raised (the ``__cause__`` of that error)."""


def _watch(sentinels: list, stop: int, barriers: list) -> None:
    """Until ``stop``'s write end is closed: when a worker ends, break every barrier."""
    if stop not in wait([*sentinels, stop]):
        for barrier in barriers:
            barrier.abort()


def _ended(j: int, code: int | None) -> str:
    how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
    oom = (" (signal 9 is often the system running out of memory: try a smaller batch or "
           "fewer processes)" if code == -signal.SIGKILL else "")
    return (f"the worker process of part {j + 2} of the batch ended ({how}){oom}; the call "
            "failed, and the next one starts new workers")


def _shut_down(procs: list, conns: list, fds: tuple, watchers: list) -> None:
    """Close the pipes (each worker sees EOF and returns), stop the watcher, wait for the
    workers (killed after 2 s, which a busy worker may need to finish its part)."""
    lifeline_w, stop_w, stop_r = fds
    with _HELD.lock:
        for conn in conns:
            _HELD.conns.discard(conn)
            conn.close()
        for fd in (lifeline_w, stop_w):
            _HELD.fds.discard(fd)
            os.close(fd)
    for watcher in watchers:
        if watcher is not threading.current_thread():
            watcher.join()
    with _HELD.lock:
        _HELD.fds.discard(stop_r)
        os.close(stop_r)
    for proc in procs:
        proc.join(2.0)
        if proc.is_alive():
            proc.kill()
            proc.join()


