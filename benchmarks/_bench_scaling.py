"""The scaling table of bench_cnn.py: images/s at several batch sizes, dlscratch and PyTorch.

For each network, mode (inference, training) and batch size, every implementation first runs
one batch (allocations at this size), then one more is timed to size the rounds: a round is
as many batches as take the faster implementation about ``round_seconds``, the same number
for both. The rounds then alternate (``_bench_common.alternate``); each row gives the median
round's images/s and milliseconds per batch (at batch 1: the latency of one image) and the
per-round ratio t_PyTorch / t_dlscratch as median and range.

An implementation is an object with ``name``, ``infer(x, batch)`` (forward passes over x in
batches, eval mode) and ``step(x, t)`` (one training step on the batch x, t).
"""

from __future__ import annotations

import time

import numpy as np
from _bench_common import Row, alternate, print_row


def _infer_work(impl, x, batch, batches):
    impl.infer(x[:batch * batches], batch)


def _train_work(impl, x, t, batch, batches):
    for i in range(0, batch * batches, batch):
        impl.step(x[i:i + batch], t[i:i + batch])


def measure_case(impls, mode: str, batch: int, x_pool, t_pool, rounds: int,
                 round_seconds: float):
    """Time ``impls`` on one case; returns ({name: [seconds per round]}, images per round)."""
    def run(impl, x, t, batches):
        if mode == "infer":
            _infer_work(impl, x, batch, batches)
        else:
            _train_work(impl, x, t, batch, batches)

    x1, t1 = np.resize(x_pool, (batch, *x_pool.shape[1:])), np.resize(t_pool, batch)
    per_batch = []
    for impl in impls:
        run(impl, x1, t1, 1)  # warm-up at this batch size
        t0 = time.perf_counter()
        run(impl, x1, t1, 1)
        per_batch.append(time.perf_counter() - t0)
    batches = max(1, round(round_seconds / max(min(per_batch), 1e-6)))
    n = batch * batches
    x, t = np.resize(x_pool, (n, *x_pool.shape[1:])), np.resize(t_pool, n)
    jobs = {impl.name: (lambda impl=impl: run(impl, x, t, batches)) for impl in impls}
    return alternate(jobs, rounds), n


def scaling_table(models, x_pool, t_pool, *, infer_batches, train_batches, rounds: int,
                  round_seconds: float):
    """Rows for every (network, mode, batch size); ``models`` is a list of
    (label, [implementations], (inference FLOPs, training FLOPs) per image)."""
    rows = []
    for label, impls, (f_infer, f_train) in models:
        for mode, batches, flops in (("infer", infer_batches, f_infer),
                                     ("train", train_batches, f_train)):
            case = f"{label} {'inference' if mode == 'infer' else 'training'}"
            print(f"\n{case} ({', '.join(impl.name for impl in impls)}; {rounds} rounds)",
                  flush=True)
            for batch in batches:
                times, n = measure_case(impls, mode, batch, x_pool, t_pool, rounds,
                                        round_seconds)
                row = Row.from_times(case, batch, times, n, flops)
                print_row(row)
                rows.append(row)
    return rows


def latency_notes(rows) -> list[str]:
    """'SimpleConvNet inference, batch 1: 0.9 ms (dlscratch), 0.6 ms (PyTorch)' lines."""
    notes = []
    for row in rows:
        if row.batch == 1:
            ms = ", ".join(f"{v:.3g} ms ({k})" for k, v in row.ms_per_batch.items())
            notes.append(f"- {row.case}, batch 1 latency (median round): {ms}")
    return notes
