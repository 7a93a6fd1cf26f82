"""models.spin_barrier: the barrier at which the worker processes of a split batch hand over
BatchNorm's sums: every party sees what the others wrote before they arrived, a broken barrier
frees its waiters, a long wait naps, and where watching is unsafe or takes a needed processor
multiprocessing's barrier is used instead."""

from __future__ import annotations

import mmap
import multiprocessing
import sys
import threading
import time

import numpy as np
import pytest

from dlscratch.models import resnet_small, spin_barrier, workers
from dlscratch.models.spin_barrier import SpinBarrier, for_party, make_barrier, spinning_pays

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="shared memory between forks: Linux")

FORK = multiprocessing.get_context("fork") if sys.platform.startswith("linux") else None


def _exchange(barrier: SpinBarrier, data: np.ndarray, p: int, rounds: int) -> int:
    """Party p's rounds: write a value, meet, read the other party's (double-buffered, as
    BatchSums' slots are); the number of wrong values read."""
    q = 1 - p
    wrong = 0
    for i in range(rounds):
        data[i % 2, p] = i * 10 + p
        barrier.wait(p)
        wrong += int(data[i % 2, q] != i * 10 + q)
    return wrong


def _child(barrier, data, rounds, result):
    result[0] = _exchange(barrier, data, 1, rounds)


def test_two_processes_meet_and_see_what_each_wrote_before_arriving():
    barrier = SpinBarrier(2)
    memory = mmap.mmap(-1, 4096)
    data = np.ndarray((2, 2), np.int64, memory)
    result = np.ndarray((1,), np.int64, memory, 64)
    result[0] = -1
    rounds = 20_000
    child = FORK.Process(target=_child, args=(barrier, data, rounds, result))
    child.start()
    start = time.perf_counter()
    wrong = _exchange(barrier, data, 0, rounds)
    seconds = time.perf_counter() - start
    child.join(30)
    assert child.exitcode == 0
    assert wrong == 0 and result[0] == 0
    assert barrier._arrived.tolist() == [rounds, rounds]
    # a hand-over costs microseconds (multiprocessing's barrier: ~170 us here)
    print(f"{seconds / rounds * 1e6:.1f} us a round")


def test_abort_frees_a_waiting_party_and_breaks_later_waits_until_reset():
    barrier = SpinBarrier(2)
    errors = []

    def waiter():
        try:
            barrier.party(0).wait()
        except threading.BrokenBarrierError as e:
            errors.append(e)

    thread = threading.Thread(target=waiter)
    thread.start()
    time.sleep(0.2)
    assert thread.is_alive()  # party 1 has not come
    barrier.party(1).abort()
    thread.join(5)
    assert not thread.is_alive() and len(errors) == 1
    assert barrier.broken
    with pytest.raises(threading.BrokenBarrierError):
        barrier.wait(1)
    barrier.reset()
    assert not barrier.broken and barrier._arrived.tolist() == [0, 0]
    thread = threading.Thread(target=barrier.wait, args=(0,))
    thread.start()
    barrier.wait(1)
    thread.join(5)
    assert not thread.is_alive()


def test_a_long_wait_naps_instead_of_holding_the_processor():
    barrier = SpinBarrier(2)
    used = []

    def waiter():
        start = time.thread_time()
        barrier.wait(0)
        used.append(time.thread_time() - start)

    thread = threading.Thread(target=waiter)
    thread.start()
    time.sleep(0.5)
    barrier.wait(1)
    thread.join(5)
    # watching the whole 0.5 s would use about 0.5 s of the processor
    assert used[0] < 0.2, used


def test_parties_are_checked():
    with pytest.raises(ValueError, match="at least one party"):
        SpinBarrier(0)
    with pytest.raises(ValueError, match=r"party must be in 0..1, got 2"):
        SpinBarrier(2).party(2)


def test_multiprocessing_barrier_where_watching_is_unsafe_or_starves(monkeypatch):
    ctx = FORK
    monkeypatch.setattr(spin_barrier.platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(spin_barrier.os, "sched_getaffinity", lambda pid: {0, 1})
    assert spinning_pays(2) and isinstance(make_barrier(ctx, 2), SpinBarrier)
    assert not spinning_pays(3)  # more parties than processors
    assert not isinstance(make_barrier(ctx, 3), SpinBarrier)
    monkeypatch.setattr(spin_barrier.platform, "machine", lambda: "aarch64")
    assert not spinning_pays(2)  # stores may be seen out of order
    mp_barrier = make_barrier(ctx, 2)
    assert not isinstance(mp_barrier, SpinBarrier)
    assert for_party(mp_barrier, 1) is mp_barrier


@pytest.mark.skipif(not spinning_pays(2), reason="needs x86 and 2 processors")
def test_the_workers_of_a_split_batch_meet_at_a_spin_barrier():
    net = resnet_small(rng=0).set_num_threads(2, min_part=1, processes=True)
    x = np.random.default_rng(0).random((6, 1, 28, 28), dtype=np.float32)
    t = np.arange(6) % 10
    net.gradient(x, t)
    barrier = net.__dict__["_data_parallel"]._workers.barrier(2)
    assert isinstance(barrier, SpinBarrier)
    assert barrier._arrived[0] == barrier._arrived[1] == 27  # the small ResNet's hand-overs


def test_with_multiprocessing_barriers_the_numbers_and_errors_are_the_same(monkeypatch):
    """The fallback barrier: the same gradients as one thread, and an error in this process's
    part does not leave the worker waiting."""
    monkeypatch.setattr(workers, "make_barrier", lambda ctx, parties: ctx.Barrier(parties))
    x = np.random.default_rng(0).random((6, 1, 28, 28), dtype=np.float32)
    t = np.arange(6) % 10
    net = resnet_small(rng=0).to(np.float64).set_num_threads(2, min_part=1, processes=True)
    bad = t.copy()
    bad[0] = 99
    with pytest.raises(ValueError, match="99|range"):
        net.gradient(x, bad)
    assert not isinstance(net.__dict__["_data_parallel"]._workers.barrier(2), SpinBarrier)
    one = resnet_small(rng=0).to(np.float64)
    ga, gb = one.gradient(x.astype(np.float64), t), net.gradient(x.astype(np.float64), t)
    for k in ga:
        np.testing.assert_allclose(gb[k], ga[k], rtol=1e-10, atol=1e-12, err_msg=k)
