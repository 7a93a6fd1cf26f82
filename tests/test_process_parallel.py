"""net.set_num_threads(n, processes=True): the parts after the first in worker processes give
the threads' numbers bit for bit, follow every change of the network, report every failure,
and never outlive the network or this process."""

from __future__ import annotations

import copy
import gc
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections import OrderedDict

import numpy as np
import pytest

from dlscratch.layers import BatchNorm, Dropout, Linear, Module, ReLU, Sequential, SoftmaxWithLoss
from dlscratch.models import (
    DeepConvNet,
    MultiLayerNet,
    Net,
    SimpleConvNet,
    TwoLayerNet,
    resnet_small,
)
from dlscratch.models.workers import ProcessWorkers, WorkerEnded, WorkerTraceback
from dlscratch.optim import Adam

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="processes=True needs Linux")

RNG = np.random.default_rng(0)
X_IMG = RNG.random((7, 1, 28, 28)).astype(np.float32)
T_IMG = RNG.integers(0, 10, 7)
X_VEC = RNG.random((9, 12))
T_VEC = RNG.integers(0, 3, 9)


def small_simple(dtype=np.float32):
    net = SimpleConvNet(conv_param={"filter_num": 4, "filter_size": 5, "pad": 0, "stride": 1},
                        hidden_size=8, rng=1)
    return net.to(dtype)


def bn_mlp():
    return MultiLayerNet(12, [8, 8], 3, use_batchnorm=True, use_dropout=True, dropout_ratio=0.3,
                         weight_decay_lambda=0.1, rng=1).to(np.float64)


def frozen_two_layer():
    net = TwoLayerNet(12, 6, 3, rng=0)
    net.layers.Affine1.freeze()
    return net


class Trap(Module):
    """Passes x on; in a process other than ``home`` (a worker) it first sleeps ``delay``
    seconds, then raises when ``fail``; at home it raises KeyboardInterrupt when
    ``interrupt``. Its settings reach the workers as every public scalar does."""

    def __init__(self):
        super().__init__()
        self.home = os.getpid()
        self.delay, self.fail, self.interrupt = 0.0, False, False

    def forward(self, x):
        if os.getpid() != self.home:
            time.sleep(self.delay)
            if self.fail:
                raise ValueError("planted failure in a worker")
        elif self.interrupt:
            raise KeyboardInterrupt
        return x

    def backward(self, dout):
        return dout


class TrapNet(Net):
    """Trap, then Linear and BatchNorm: a worker held up by the trap keeps this process
    waiting at BatchNorm's barrier."""

    def __init__(self):
        super().__init__()
        self.layers = Sequential(OrderedDict(
            trap=Trap(), fc1=Linear(12, 8, 0.1, rng=0), bn=BatchNorm(8), relu=ReLU(),
            fc2=Linear(8, 3, 0.1, rng=1)))
        self.last_layer = SoftmaxWithLoss()


def pair(make, threads=2):
    """The same network twice: its parts in threads, and in processes."""
    return (make().set_num_threads(threads, min_part=1),
            make().set_num_threads(threads, min_part=1, processes=True))


def worker_pids(net):
    workers = net._data_parallel._workers
    return [] if workers is None else [p.pid for p in workers.procs]


def assert_same_bits(a, b, x, t):
    ga, gb = a.gradient(x, t), b.gradient(x, t)
    assert a.last_loss == b.last_loss
    assert ga.keys() == gb.keys()
    for k in ga:
        np.testing.assert_array_equal(gb[k], ga[k], err_msg=k)


def ended(pid, timeout=10.0):
    """Whether process ``pid`` has ended (gone, or a zombie nobody reaped) within timeout."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("make, x, t, threads", [
    (lambda: DeepConvNet(dropout_ratio=0.5, rng=0), X_IMG, T_IMG, 2),   # Dropout's masks
    (lambda: resnet_small(rng=0), X_IMG, T_IMG, 2),                      # BatchNorm's sums
    (lambda: small_simple(np.float64), X_IMG.astype(np.float64), T_IMG, 3),  # parts 2, 2, 3
    (bn_mlp, X_VEC, T_VEC, 3),                  # BatchNorm, Dropout and weight decay
    (frozen_two_layer, X_VEC.astype(np.float32), T_VEC, 2),  # a frozen layer: no gradient
], ids=["deep-dropout", "resnet-batchnorm", "simple-3-parts", "mlp-bn-dropout", "frozen"])
def test_processes_give_the_threads_numbers_bit_for_bit(make, x, t, threads):
    a, b = pair(make, threads)
    opts = [Adam(a.parameters(), lr=0.01), Adam(b.parameters(), lr=0.01)]
    for _ in range(3):
        assert_same_bits(a, b, x, t)
        for opt in opts:
            opt.step()
    assert len(worker_pids(b)) == threads - 1
    for (k, u), (_, v) in zip(a.state_dict().items(), b.state_dict().items()):
        np.testing.assert_array_equal(v, u, err_msg=k)  # BatchNorm's running statistics too
    a.eval()
    b.eval()
    np.testing.assert_array_equal(b.predict(x), a.predict(x))
    assert b.accuracy(x, t, 4) == a.accuracy(x, t, 4)


def test_equal_to_one_thread_in_float64():
    one = small_simple(np.float64)
    many = small_simple(np.float64).set_num_threads(3, min_part=1, processes=True)
    ga, gb = one.gradient(X_IMG.astype(np.float64), T_IMG), many.gradient(
        X_IMG.astype(np.float64), T_IMG)
    assert many.last_loss == pytest.approx(one.last_loss, rel=1e-12)
    for k in ga:
        np.testing.assert_allclose(gb[k], ga[k], rtol=1e-10, atol=1e-12, err_msg=k)


def test_workers_follow_every_change_of_the_network():
    a, b = pair(lambda: DeepConvNet(rng=4))
    assert_same_bits(a, b, X_IMG, T_IMG)
    pids = worker_pids(b)
    for net in (a, b):  # settings: Dropout's mode and ratio, eval mode
        net.set_dropout_mode("book")
        net.eval()
    np.testing.assert_array_equal(b.predict(X_IMG), a.predict(X_IMG))
    for net in (a, b):  # the lectures' loop writes into the arrays in place
        for key in net.params:
            net.params[key] *= 0.5
    np.testing.assert_array_equal(b.predict(X_IMG), a.predict(X_IMG))
    other = DeepConvNet(rng=5)
    for net in (a, b):  # new arrays of the same shapes
        net.load_state_dict(other.state_dict())
        net.train()
    assert_same_bits(a, b, X_IMG, T_IMG)
    assert worker_pids(b) == pids  # none of that needs new workers
    for net in (a, b):
        net.to(np.float64)  # a new dtype: new workers
    assert_same_bits(a, b, X_IMG.astype(np.float64), T_IMG)
    assert b.gradient(X_IMG.astype(np.float64), T_IMG)["W1"].dtype == np.float64
    assert worker_pids(b) != pids and ended(pids[0])


def test_buffers_and_freezing_reach_the_workers(monkeypatch):
    a, b = pair(lambda: resnet_small(rng=2))
    a.eval()
    b.eval()
    np.testing.assert_array_equal(b.predict(X_IMG), a.predict(X_IMG))  # workers exist now
    state = {k: v + 0.25 for k, v in a.state_dict().items()}  # new running statistics too
    a.load_state_dict(state)
    b.load_state_dict(state)
    np.testing.assert_array_equal(b.predict(X_IMG), a.predict(X_IMG))
    for net in (a, b):
        net.train()
        net.freeze("layer1")  # frozen after the workers were made
    answers = []
    run = ProcessWorkers.run
    monkeypatch.setattr(ProcessWorkers, "run", lambda *args: answers.append(run(*args))
                        or answers[-1])
    assert_same_bits(a, b, X_IMG, T_IMG)
    frozen = [name.startswith("layer1.") for name, _ in b.named_parameters()]
    assert all(p.grad is None for name, p in b.named_parameters() if name.startswith("layer1."))
    worker_grads = answers[-1][1][0]  # the worker did no work for them either
    assert [g is None for g in worker_grads] == frozen


def test_a_workers_error_is_raised_with_its_traceback_and_the_workers_stay():
    a, b = pair(TrapNet)
    assert_same_bits(a, b, X_VEC, T_VEC)
    pids = worker_pids(b)
    b.layers.trap.fail = True  # the worker fails; this process waits at BatchNorm's barrier
    with pytest.raises(ValueError, match="planted failure in a worker") as info:
        b.gradient(X_VEC, T_VEC)
    cause = info.value.__cause__
    assert isinstance(cause, WorkerTraceback)
    assert "part 2 of the batch" in str(cause) and "in forward" in str(cause)
    assert all(m.batch_sums is None for m in b.modules() if isinstance(m, BatchNorm))
    b.layers.trap.fail = False
    assert_same_bits(a, b, X_VEC, T_VEC)  # the barrier works again
    assert worker_pids(b) == pids


def test_an_error_in_this_process_part_does_not_leave_a_worker_waiting():
    net = resnet_small(rng=0).set_num_threads(2, min_part=1, processes=True)
    t = T_IMG.copy()
    t[0] = 99  # part 0 fails at its loss; the worker waits in BatchNorm's backward
    with pytest.raises(ValueError, match="99|range"):
        net.gradient(X_IMG, t)
    t[0], t[-1] = T_IMG[0], 99  # and the worker's part
    with pytest.raises(ValueError, match="99|range"):
        net.gradient(X_IMG, t)
    one = resnet_small(rng=0)
    ga, gb = one.gradient(X_IMG, T_IMG), net.gradient(X_IMG, T_IMG)
    for k in ga:
        np.testing.assert_allclose(gb[k], ga[k], rtol=2e-4, atol=2e-5, err_msg=k)


def test_a_worker_killed_between_calls_is_reported_once():
    # without Dropout: the failed step may have drawn this step's seeds (when the death is
    # seen at the answer rather than before the request)
    a, b = pair(lambda: DeepConvNet(dropout_ratio=0.0, rng=1))
    assert_same_bits(a, b, X_IMG, T_IMG)
    pid = worker_pids(b)[0]
    os.kill(pid, signal.SIGKILL)
    assert ended(pid)
    with pytest.raises(WorkerEnded, match=r"part 2 of the batch ended \(killed by signal 9\) "
                                          r"\(signal 9 is often .*out of memory"):
        b.gradient(X_IMG, T_IMG)
    assert_same_bits(a, b, X_IMG, T_IMG)  # new workers
    assert worker_pids(b)[0] != pid


def test_a_worker_killed_while_this_process_waits_at_a_barrier():
    net = TrapNet().set_num_threads(2, min_part=1, processes=True)
    net.gradient(X_VEC, T_VEC)
    pid = worker_pids(net)[0]
    net.layers.trap.delay = 30.0
    timer = threading.Timer(0.5, os.kill, (pid, signal.SIGKILL))
    timer.start()
    start = time.monotonic()
    with pytest.raises(WorkerEnded, match="killed by signal 9"):
        net.gradient(X_VEC, T_VEC)
    assert time.monotonic() - start < 10
    net.layers.trap.delay = 0.0
    net.gradient(X_VEC, T_VEC)
    assert worker_pids(net)[0] != pid


def test_ctrl_c_in_this_process_part_waits_for_the_workers_and_keeps_them():
    net = TrapNet().set_num_threads(2, min_part=1, processes=True)
    net.gradient(X_VEC, T_VEC)
    pids = worker_pids(net)
    net.layers.trap.interrupt = True
    with pytest.raises(KeyboardInterrupt):
        net.gradient(X_VEC, T_VEC)
    net.layers.trap.interrupt = False
    net.gradient(X_VEC, T_VEC)
    assert worker_pids(net) == pids


def test_ctrl_c_while_waiting_for_the_answers_ends_the_workers(monkeypatch):
    a, b = pair(lambda: small_simple(np.float64))
    x = X_IMG.astype(np.float64)
    assert_same_bits(a, b, x, T_IMG)
    pids = worker_pids(b)

    def interrupted(self, j):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(ProcessWorkers, "receive", interrupted)
        with pytest.raises(KeyboardInterrupt):
            b.gradient(x, T_IMG)
    assert b._data_parallel._workers is None and ended(pids[0])
    assert_same_bits(a, b, x, T_IMG)  # an answer left in the old pipe is not taken for new


def test_workers_end_with_set_num_threads_and_with_the_network():
    net = small_simple().set_num_threads(3, min_part=1, processes=True)
    net.gradient(X_IMG, T_IMG)
    pids = worker_pids(net)
    assert len(pids) == 2
    later = small_simple().set_num_threads(2, min_part=1, processes=True)
    later.gradient(X_IMG, T_IMG)  # forked after net's workers: got copies of their pipes
    start = time.monotonic()
    net.set_num_threads(2, min_part=1, processes=True)
    # each worker sees its pipe close at once (none holds another's end): no 2 s wait and kill
    assert time.monotonic() - start < 1.5
    assert all(ended(pid, 5) for pid in pids)
    net.gradient(X_IMG, T_IMG)
    pids = worker_pids(net)
    del net
    gc.collect()
    assert ended(pids[0], 5)


def test_workers_end_when_this_process_is_killed():
    code = textwrap.dedent("""
        import os, signal, numpy as np
        from dlscratch.models import resnet_small
        net = resnet_small(rng=0).set_num_threads(3, min_part=1, processes=True)
        net.gradient(np.zeros((6, 1, 28, 28), np.float32), np.arange(6))
        print(*[p.pid for p in net._data_parallel._workers.procs], flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    pids = [int(p) for p in proc.stdout.split()]
    assert len(pids) == 2 and all(ended(pid) for pid in pids)


def test_nothing_is_left_in_shared_memory_files():
    before = set(os.listdir("/dev/shm"))
    net = resnet_small(rng=0).set_num_threads(2, min_part=1, processes=True)
    net.gradient(X_IMG, T_IMG)
    net._data_parallel.close()
    assert set(os.listdir("/dev/shm")) - before == set()


def test_small_batches_start_no_workers():
    net = small_simple().set_num_threads(2, processes=True)  # parts of at least 32 samples
    net.gradient(X_IMG, T_IMG)
    net.eval()
    net.predict(X_IMG)
    assert net._data_parallel._workers is None


def test_deepcopy_keeps_processes_and_gets_its_own_workers():
    net = DeepConvNet(rng=0).set_num_threads(2, min_part=1, processes=True)
    net.gradient(X_IMG, T_IMG)
    twin = copy.deepcopy(net)
    assert twin._data_parallel.processes and twin._data_parallel._workers is None
    twin.gradient(X_IMG, T_IMG)
    assert set(worker_pids(twin)).isdisjoint(worker_pids(net))


@pytest.mark.parametrize("bad", ["yes", 1, None])
def test_processes_must_be_a_bool(bad):
    with pytest.raises(ValueError, match="processes must be True or False"):
        small_simple().set_num_threads(2, processes=bad)


def test_other_systems_are_told_to_use_threads(monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    net = small_simple()
    with pytest.raises(ValueError, match=r"needs Linux.*darwin.*set_num_threads\(n\)"):
        net.set_num_threads(2, processes=True)
    assert net.num_threads == 1


def test_dropout_masks_differ_between_parts_and_steps():
    net = MultiLayerNet(12, [64], 3, use_dropout=True, dropout_ratio=0.5, rng=0).to(np.float64)
    net.set_num_threads(2, min_part=1, processes=True)
    x = np.ones((8, 12))
    drop = next(m for m in net.modules() if isinstance(m, Dropout))
    net.gradient(x, np.zeros(8, int))
    first = net.last_loss
    net.gradient(x, np.zeros(8, int))
    assert net.last_loss != first  # new masks every step, in both parts
    assert drop.training


def test_multiprocessing_is_imported_only_for_processes():
    code = ("import sys, numpy as np\n"
            "from dlscratch.models import DeepConvNet\n"
            "net = DeepConvNet(rng=0).set_num_threads(2, min_part=1)\n"
            "net.gradient(np.zeros((4, 1, 28, 28), np.float32), np.arange(4))\n"
            "print('multiprocessing' in sys.modules, 'dlscratch.models.workers' in sys.modules)\n"
            "net.set_num_threads(2, min_part=1, processes=True)\n"
            "net.gradient(np.zeros((4, 1, 28, 28), np.float32), np.arange(4))\n"
            "print('multiprocessing' in sys.modules, 'dlscratch.models.workers' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120).stdout.split()
    assert out == ["False", "False", "True", "True"]


def test_a_worker_never_runs_the_parents_clean_ups():
    """Garbage inherited at the fork (here a network with live workers, in a reference cycle)
    collected in a worker would run that network's shut-down there, on a lock the forking
    thread held: the worker would hang, and this process with it."""
    code = textwrap.dedent("""
        import gc, os, numpy as np
        from dlscratch.models import DeepConvNet
        x, t = np.zeros((4, 1, 28, 28), np.float32), np.arange(4)
        old = DeepConvNet(rng=0).set_num_threads(2, min_part=1, processes=True)
        old.gradient(x, t)
        old.cycle = [old]  # garbage only the collector can free
        del old
        gc.disable()  # it stays until a collection in the worker
        net = DeepConvNet(rng=0).set_num_threads(2, min_part=1, processes=True)
        layer = net.layers["Relu1"]
        home = os.getpid()
        original = type(layer).forward
        def collecting(self, x):
            if os.getpid() != home:
                gc.collect()
            return original(self, x)
        type(layer).forward = collecting
        net.gradient(x, t)
        net.gradient(x, t)
        print("done", flush=True)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0 and proc.stdout.split() == ["done"], proc.stderr
    assert proc.stderr == ""  # no clean-up ran in the worker (it would fail there)
