"""Data parallelism over threads: each batch split into parts, one copy of the network per part.

On a laptop with 2 cores one network step uses both cores only inside its matrix products
(OpenBLAS's threads); the im2col copies, ReLU, pooling and the other element-wise work run
on one core. Splitting the batch lets every part of the step use a core of its own:

    x = [x_1; ...; x_P]                       P parts of n_1, ..., n_P samples (sum N)
    L = sum_p (n_p / N) L_p                    L_p: the mean loss of part p (its copy's loss)
    dL/dW = sum_p (n_p / N) dL_p/dW            (the loss is a mean, so the parts are weighted)

which is the same loss and the same gradient as the whole batch's (up to float32 rounding:
the sums are taken in another order) when the layers treat the samples of a batch
independently. The two layers that do not:

* BatchNorm in training mode normalises with the statistics of the whole batch: the parts'
  threads meet at each BatchNorm layer to add up their sums
  (:class:`~dlscratch.models.batch_sums.BatchSums`), so the statistics, the running averages
  and the gradients are the whole batch's, as with one thread (PyTorch's ``nn.DataParallel``
  would use each part's own; this is its SyncBatchNorm).
* Dropout draws its masks in each part from the copy's own generator, seeded at every step
  from the network's: as random as before and reproducible for a seed and a thread count (a
  checkpoint's random state is the network's, so a resumed run is exact too), but not the
  masks one thread would draw.

Each part runs in its own thread with single-threaded OpenBLAS (through ``threadpoolctl``,
an optional dependency: ``pip install "dlscratch[parallel]"``), since 2 threads that each
start 2 BLAS threads on 2 cores run slower than one. The copies share the network's weight
and buffer arrays (no copy of the weights, and an optimizer's in-place update is seen by
all); each has its own gradients, caches and work arrays (conv layers keep theirs per
thread). With ``processes=True`` the parts after the first run in worker processes instead
(:mod:`dlscratch.models.workers`): the same numbers, without the threads' turns at the GIL.
Measurements: benchmarks/README.md.
"""

from __future__ import annotations

import copy
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from ..layers.conv_work import conv_in_pieces
from ..layers.module import Module
from ..layers.normalization import BatchNorm
from .batch_sums import BatchSums
from .heap import keep_freed_memory

_controller = None  # threadpoolctl's ThreadpoolController, made once (it scans the libraries)


def blas_controller():
    """threadpoolctl's controller of the loaded BLAS libraries; ImportError naming the install
    command when threadpoolctl is missing."""
    global _controller
    if _controller is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            raise ImportError(
                "set_num_threads(n > 1) needs threadpoolctl, to run each thread's matrix "
                "products on one core: pip install \"dlscratch[parallel]\" (or pip install "
                "threadpoolctl)"
            ) from None
        _controller = ThreadpoolController()
    return _controller


def check_threads(value: Any, name: str = "threads") -> int:
    """``value`` as an int >= 1, else a ValueError saying what to pass."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}; for example "
                         "net.set_num_threads(2) on a 2-core machine")
    return int(value)


def _in_pieces(job):
    def run():
        with conv_in_pieces(PIECE_BYTES):
            return job()
    return run


#: convolutions in a part build col for this many bytes of images at a time
PIECE_BYTES = 2**20


def _structure(net: Module) -> tuple:
    """What makes copies of ``net`` out of date: its modules' names and types, its
    parameters' names, shapes and dtypes (a layer replaced, ``to(float64)``)."""
    return (tuple((name, type(m)) for name, m in net.named_modules()),
            tuple((name, p.data.shape, p.data.dtype) for name, p in net.named_parameters()))


def part_step(m: Module, x: np.ndarray, t: np.ndarray, sums: BatchSums, index: int) -> float:
    """Part ``index``'s zero_grad, loss and backward on its x, t (a thread's copy or a worker
    process's network), its BatchNorm layers adding up their sums with the other parts'
    through ``sums``. On an error the barrier is broken first: the others must not wait."""
    norms = [b for b in m.modules() if isinstance(b, BatchNorm)]
    for b in norms:
        b.batch_sums = sums.part(index)
    try:
        m.zero_grad()
        loss = m.loss(x, t)
        m.backward(1.0)
        return loss
    except BaseException:
        sums.barrier.abort()
        raise
    finally:
        for b in norms:
            b.batch_sums = None


def generator_seeds(modules: list[Module]) -> tuple[list[int], list[tuple[int, str, int]]]:
    """For one copy of the network (a thread's or a worker process's), whose modules are
    ``modules``' in order: a seed drawn from each Generator of ``modules`` (Dropout's), and
    (module index, attribute, seed index) for every place that holds one. One seed per
    Generator: a Generator shared stays shared. Threads and processes draw in this one order,
    so they give the same masks."""
    seeds: list[int] = []
    places: list[tuple[int, str, int]] = []
    index: dict[int, int] = {}
    for i, m in enumerate(modules):
        for k, v in vars(m).items():
            if isinstance(v, np.random.Generator):
                if id(v) not in index:
                    index[id(v)] = len(seeds)
                    seeds.append(int(v.integers(0, 2**63 - 1)))
                places.append((i, k, index[id(v)]))
    return seeds, places


def reseed(modules: list[Module], seeds: tuple[list[int], list[tuple[int, str, int]]]) -> None:
    """Put a new Generator from each seed of :func:`generator_seeds` in its places in
    ``modules`` (a copy's)."""
    generators = [np.random.default_rng(s) for s in seeds[0]]
    for i, name, g in seeds[1]:
        modules[i].__dict__[name] = generators[g]


def _is_setting(name: str, value: Any) -> bool:
    """A public scalar attribute (stride, p, compute_dx, scale_at_test, ...): set on a copy as
    on the network before every call (a lecture file loaded switches Dropout's mode)."""
    return not name.startswith("_") and isinstance(value, (bool, int, float, str))


class DataParallel:
    """The copies of ``net`` and the threads that run them (``Net.set_num_threads`` makes
    one; the network calls :meth:`loss_and_gradients` and :meth:`forward`)."""

    def __init__(self, net: Module, threads: int, min_part: int = 32,
                 processes: bool = False) -> None:
        self.net = net
        self.threads = check_threads(threads)
        self.min_part = check_threads(min_part, "min_part")
        if not isinstance(processes, bool):
            raise ValueError(f"processes must be True or False, got {processes!r}")
        self.processes = processes
        if processes:
            from .workers import check_processes_supported

            check_processes_supported()
        blas_controller()  # fails now, before any work, when threadpoolctl is missing
        keep_freed_memory()  # the parts' steps would page-fault their arrays back every step
        self._pool: ThreadPoolExecutor | None = None
        self._copies: list[Module] = []
        self._pairs: list[list[tuple[Module, Module]]] = []  # per copy: (module, its copy)
        self._structure: tuple | None = None
        self._workers: Any = None  # ProcessWorkers, made on first use (processes=True)

    def __deepcopy__(self, memo: dict) -> DataParallel:
        """A copied network gets its own copies, threads or processes (made on first use)."""
        return DataParallel(memo.get(id(self.net), self.net), self.threads, self.min_part,
                            self.processes)

    def close(self) -> None:
        """End the worker processes now (else when this object is dropped or Python ends)."""
        if self._workers is not None:
            self._workers.close()
            self._workers = None

    # ------------------------------------------------------------------ the copies
    def _make_copies(self) -> None:
        """``threads - 1`` copies of the network (the network itself runs the first part)
        that share its parameter and buffer arrays; each Generator (Dropout's) is a new one,
        seeded again before every training step (:meth:`_synced_copies`)."""
        net = self.net
        memo: dict[int, Any] = {id(self): None}
        for p in net.parameters():
            memo[id(p.data)] = p.data
        for _, b in net.named_buffers():
            memo[id(b)] = b
        generators = [v for m in net.modules() for v in vars(m).values()
                      if isinstance(v, np.random.Generator)]
        copies = []
        for _ in range(self.threads - 1):
            memo_k = dict(memo)
            for g in generators:
                memo_k[id(g)] = np.random.default_rng(0)  # never drawn from before reseeding
            replica = copy.deepcopy(net, memo_k)
            object.__setattr__(replica, "_data_parallel", None)
            replica.zero_grad()
            copies.append(replica)
        self._copies = copies
        main = [m for _, m in net.named_modules()]
        self._pairs = [list(zip(main, (r for _, r in c.named_modules()))) for c in copies]
        self._structure = _structure(net)

    def _synced_copies(self, n_parts: int, *, new_generators: bool = False) -> list[Module]:
        """The network and n_parts - 1 copies with its current arrays, settings and mode.

        ``new_generators`` (a training step): every Generator of a copy (Dropout's) is seeded
        afresh from a number drawn from the network's own Generator at that place. The copies'
        masks then follow from the network's random state alone, which a checkpoint saves:
        a resumed run draws the same masks as an uninterrupted one.
        """
        net = self.net
        if self._structure != _structure(net) or not self._copies:
            self._make_copies()
        for pairs in self._pairs[:n_parts - 1]:
            for m, r in pairs:
                for name, p in m._parameters.items():
                    rp = r._parameters[name]
                    rp.data, rp.requires_grad, rp.decay = p.data, p.requires_grad, p.decay
                    rp.grad = None
                if m._buffers:
                    r._buffers.update(m._buffers)
                attrs = r.__dict__  # the copy's attributes
                for k, v in vars(m).items():
                    if _is_setting(k, v):
                        attrs[k] = v
            if new_generators:
                reseed([r for _, r in pairs], generator_seeds([m for m, _ in pairs]))
        return [net, *self._copies[:n_parts - 1]]

    def _run(self, jobs: list) -> list:
        """Run the jobs (callables), the first in this thread, the others in the pool, each
        with one BLAS thread and convolutions in cache-sized pieces
        (:func:`~dlscratch.layers.conv_work.conv_in_pieces`); their results in order
        (after all have finished, a part's error is raised)."""
        jobs = [_in_pieces(job) for job in jobs]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads - 1,
                                            thread_name_prefix="dlscratch-data-parallel")
        with blas_controller().limit(limits=1, user_api="blas"):
            futures = [self._pool.submit(job) for job in jobs[1:]]
            errors = []
            try:
                results = [jobs[0]()]
            except BaseException as e:  # wait for the others before raising
                errors.append(e)
                results = [None]
            for f in futures:
                try:
                    results.append(f.result())
                except BaseException as e:
                    errors.append(e)
                    results.append(None)
        # the error of the part that failed, not the others' broken barrier
        errors.sort(key=lambda e: isinstance(e, threading.BrokenBarrierError))
        if errors:
            raise errors[0]
        return results

    def _live_workers(self) -> Any:
        """The worker processes (:class:`~dlscratch.models.workers.ProcessWorkers`), started
        anew when there are none or the network's structure has changed."""
        structure = _structure(self.net)
        workers = self._workers
        if workers is not None and (workers.closed or workers.structure != structure):
            self.close()
            workers = None
        if workers is None:
            from .workers import ProcessWorkers

            workers = self._workers = ProcessWorkers(self.net, self.threads - 1, structure)
        return workers

    def _in_processes(self, kind: str, x: np.ndarray, t: np.ndarray | None,
                      parts: list[slice], own: Any, workers: Any) -> Any:
        """:meth:`ProcessWorkers.run <dlscratch.models.workers.ProcessWorkers.run>`, own
        (part 0) with one BLAS thread and convolutions in pieces."""
        try:
            return workers.run(kind, x, t, parts, _in_pieces(own))
        finally:
            if workers.closed:  # a worker ended, or Ctrl-C while waiting: new ones next call
                self._workers = None

    def _parts(self, n: int) -> list[slice]:
        """Contiguous parts of n samples, as equal as can be: at most ``threads`` parts, and
        none under ``min_part`` samples (a smaller batch runs in this thread alone: the
        hand-offs cost more than small parts gain; benchmarks/README.md)."""
        k = max(1, min(self.threads, n // self.min_part))
        bounds = [n * i // k for i in range(k + 1)]
        return [slice(bounds[i], bounds[i + 1]) for i in range(k)]

    # ------------------------------------------------------------------ what the network calls
    def forward(self, x: np.ndarray) -> np.ndarray:
        """The network's scores of x (N, ...), the parts' outputs stacked in order."""
        parts = self._parts(len(x))
        if len(parts) == 1:
            return self.net.forward(x)
        if self.processes:
            outs = self._in_processes("forward", x, None, parts,
                                      lambda: self.net.forward(x[parts[0]]),
                                      self._live_workers())
        else:
            copies = self._synced_copies(len(parts))
            outs = self._run([(lambda m=m, s=s: m.forward(x[s]))
                              for m, s in zip(copies, parts)])
        return np.concatenate(outs, axis=0)

    def loss_and_gradients(self, x: np.ndarray, t: np.ndarray) -> float:
        """``L = sum_p (n_p / N) L_p``; leaves ``dL/dW = sum_p (n_p / N) dL_p/dW`` in the
        network's parameters' grad (overwritten, as after zero_grad and one backward)."""
        net = self.net
        n = len(x)
        parts = self._parts(n)
        if len(parts) == 1:  # a small batch: as with one thread
            net.zero_grad()
            loss = net.loss(x, t)
            net.backward(1.0)
            return float(loss)
        sizes = [s.stop - s.start for s in parts]

        def job(m: Module, s: slice, index: int, sums: BatchSums):
            return lambda: part_step(m, x[s], t[s], sums, index)

        if self.processes:
            workers = self._live_workers()
            sums = BatchSums(sizes, barrier=workers.barrier(len(parts), 0), slots=workers.slots)
            losses, others = self._in_processes("train", x, t, parts,
                                                job(net, parts[0], 0, sums), workers)
        else:
            copies = self._synced_copies(len(parts), new_generators=True)
            sums = BatchSums(sizes)
            losses = self._run([job(m, s, i, sums)
                                for i, (m, s) in enumerate(zip(copies, parts))])
            others = [[p.grad for p in c.parameters()] for c in copies[1:]]
        weights = sums.weights  # n_p / N
        for i, p in enumerate(net.parameters()):
            grads = [p.grad] + [o[i] for o in others]
            if any(g is None for g in grads):
                continue  # frozen (or unused): no gradient, as with one thread
            total = grads[0]  # this step's fresh array (Parameter.accumulate): summed in place
            total *= p.data.dtype.type(weights[0])
            for w, g in zip(weights[1:], grads[1:]):
                total += g * p.data.dtype.type(w)
            p.grad = total
        return float(sum(w * float(loss) for w, loss in zip(weights, losses)))
