"""net.set_num_threads: the batch split over threads gives the one-thread loss and gradients."""

from __future__ import annotations

import copy
import sys
import threading
import time

import numpy as np
import pytest

from dlscratch.layers import BatchNorm, Dropout
from dlscratch.models import DeepConvNet, MultiLayerNet, SimpleConvNet, TwoLayerNet, resnet_small
from dlscratch.models import parallel as parallel_mod
from dlscratch.models.batch_sums import BatchSums
from dlscratch.optim import SGD, Adam

RNG = np.random.default_rng(0)
X_IMG = RNG.random((7, 1, 28, 28)).astype(np.float32)
T_IMG = RNG.integers(0, 10, 7)


def small_simple(dtype=np.float32):
    net = SimpleConvNet(conv_param={"filter_num": 4, "filter_size": 5, "pad": 0, "stride": 1},
                        hidden_size=8, rng=1)
    return net.to(dtype)


def assert_same_gradients(a, b, x, t, rtol):
    ga, gb = a.gradient(x, t), b.gradient(x, t)
    assert a.last_loss == pytest.approx(b.last_loss, rel=rtol)
    assert ga.keys() == gb.keys()
    for k in ga:
        np.testing.assert_allclose(gb[k], ga[k], rtol=rtol, atol=rtol * np.abs(ga[k]).max(),
                                   err_msg=k)


@pytest.mark.parametrize("threads", [2, 3, 7, 9])
def test_conv_gradients_equal_one_thread_float64(threads):
    # 7 samples over 3 threads: parts of 2, 2 and 3 samples, weighted 2/7, 2/7, 3/7
    x, t = X_IMG.astype(np.float64), T_IMG
    one, many = small_simple(np.float64), small_simple(np.float64).set_num_threads(threads, min_part=1)
    assert many.num_threads == threads and one.num_threads == 1
    assert_same_gradients(one, many, x, t, rtol=1e-10)


def test_deep_convnet_gradients_equal_float32_without_dropout():
    one = DeepConvNet(dropout_ratio=0.0, rng=0)
    two = DeepConvNet(dropout_ratio=0.0, rng=0).set_num_threads(2, min_part=1)
    assert_same_gradients(one, two, X_IMG, T_IMG, rtol=2e-5)


def test_weight_decay_term_counted_once():
    x = RNG.random((9, 12))
    t = RNG.integers(0, 3, 9)
    make = lambda: MultiLayerNet(12, [6, 5], 3, weight_decay_lambda=0.3, rng=2).to(np.float64)  # noqa: E731
    one, two = make(), make().set_num_threads(2, min_part=1)
    assert_same_gradients(one, two, x, t, rtol=1e-10)
    assert one.last_loss > one.evaluate(x, t)[0]  # the decay term is in the loss


def test_lecture_two_layer_net_and_frozen_layer():
    x = RNG.random((5, 10))
    t = np.eye(4)[RNG.integers(0, 4, 5)]  # one-hot labels, as in the lecture
    one = TwoLayerNet(10, 6, 4).to(np.float64)
    two = TwoLayerNet(10, 6, 4).to(np.float64).set_num_threads(2, min_part=1)
    two.load_state_dict(one.state_dict())
    one.layers.Affine1.freeze()
    two.layers.Affine1.freeze()
    assert_same_gradients(one, two, x, t, rtol=1e-10)
    assert two.layers.Affine1.W.grad is None if hasattr(two.layers.Affine1.W, "grad") else True
    assert two.layers.Affine1.get_parameter("W").grad is None


def test_training_steps_stay_equal_and_copies_see_updates():
    x, t = X_IMG.astype(np.float64), T_IMG
    one, two = small_simple(np.float64), small_simple(np.float64).set_num_threads(2, min_part=1)
    opts = [Adam(one.parameters(), lr=0.01), Adam(two.parameters(), lr=0.01)]
    for _ in range(4):
        for net, opt in zip((one, two), opts):
            net.gradient(x, t)
            opt.step()
    for (k, a), (_, b) in zip(one.state_dict().items(), two.state_dict().items()):
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-12, err_msg=k)


def test_lecture_update_through_params_dict():
    # the lectures' loop: grads = net.gradient(x, t); params[key] -= lr * grads[key]
    x, t = X_IMG.astype(np.float64), T_IMG
    one, two = small_simple(np.float64), small_simple(np.float64).set_num_threads(3, min_part=1)
    for _ in range(3):
        for net in (one, two):
            grads = net.gradient(x, t)
            for key in net.params:
                net.params[key] -= 0.1 * grads[key]
    for key in one.params:
        np.testing.assert_allclose(two.params[key], one.params[key], rtol=1e-9, atol=1e-12)


def test_inference_equal_in_every_evaluation_method():
    one, two = DeepConvNet(rng=3), DeepConvNet(rng=3).set_num_threads(2, min_part=1)
    one.eval()
    two.eval()
    np.testing.assert_allclose(two.predict(X_IMG), one.predict(X_IMG), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(two.predict_labels(X_IMG, 3), one.predict_labels(X_IMG, 3))
    assert two.accuracy(X_IMG, T_IMG, 4) == one.accuracy(X_IMG, T_IMG, 4)
    np.testing.assert_allclose(two.evaluate(X_IMG, T_IMG, None), one.evaluate(X_IMG, T_IMG, None),
                               rtol=1e-6)
    # a batch of one sample runs in this thread alone
    np.testing.assert_allclose(two.predict(X_IMG[:1]), one.predict(X_IMG[:1]), rtol=1e-6)


def test_copies_follow_settings_changed_later():
    one, two = DeepConvNet(rng=4), DeepConvNet(rng=4).set_num_threads(2, min_part=1)
    two.eval()
    two.predict(X_IMG)  # the copies exist now
    for net in (one, two):
        net.set_dropout_mode("book")  # eval: x * (1 - p), as after loading a lecture pickle
        net.eval()
    np.testing.assert_allclose(two.predict(X_IMG), one.predict(X_IMG), rtol=1e-5, atol=1e-5)
    for net in (one, two):
        net.to(np.float64)  # new arrays and dtype: the copies are made again
    out = two.predict(X_IMG)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, one.predict(X_IMG), rtol=1e-10)
    # weights replaced through load_state_dict are used by the copies too
    other = DeepConvNet(rng=5).to(np.float64)
    one.load_state_dict(other.state_dict())
    two.load_state_dict(other.state_dict())
    np.testing.assert_allclose(two.predict(X_IMG), one.predict(X_IMG), rtol=1e-10)
    # and so are arrays put in place of the old ones (the lectures' params[key] = ...)
    for net in (one, two):
        for key in net.params:
            net.params[key] = net.params[key] * 0.5
    np.testing.assert_allclose(two.predict(X_IMG), one.predict(X_IMG), rtol=1e-10)


def test_dropout_parts_draw_independent_reproducible_masks():
    x = np.ones((8, 1, 28, 28), np.float32)  # identical samples: equal masks would show
    t = np.zeros(8, np.int64)
    net = DeepConvNet(dropout_ratio=0.5, rng=6).set_num_threads(2, min_part=1)
    g1 = net.gradient(x, t)
    copy_net = net._data_parallel._copies[0]
    main_masks = [m.mask for m in net.modules() if isinstance(m, Dropout)]
    copy_masks = [m.mask for m in copy_net.modules() if isinstance(m, Dropout)]
    assert all(a.shape == b.shape == (4, a.shape[1]) for a, b in zip(main_masks, copy_masks))
    assert not any(np.array_equal(a, b) for a, b in zip(main_masks, copy_masks))
    # the same seed and thread count give the same run
    again = DeepConvNet(dropout_ratio=0.5, rng=6).set_num_threads(2, min_part=1)
    g2 = again.gradient(x, t)
    assert all(np.array_equal(g1[k], g2[k]) for k in g1)
    g3 = net.gradient(x, t)  # the next step draws new masks
    assert not all(np.array_equal(g1[k], g3[k]) for k in g1)


@pytest.mark.parametrize("threads, n", [(2, 7), (3, 9)])
def test_batchnorm_statistics_are_the_whole_batch(threads, n):
    """The parts add up BatchNorm's sums: gradients, running statistics and later steps are
    one thread's (float64), for 4-D (ResNet) and 2-D (MultiLayerNet) BatchNorm."""
    x, t = X_IMG[:1].repeat(n, axis=0) * RNG.random((n, 1, 1, 1)), RNG.integers(0, 10, n)
    x = x.astype(np.float64)
    one = resnet_small(rng=0).to(np.float64)
    many = resnet_small(rng=0).to(np.float64).set_num_threads(threads, min_part=1)
    opts = [Adam(one.parameters(), lr=0.01), Adam(many.parameters(), lr=0.01)]
    for _ in range(2):
        ga, gb = one.gradient(x, t), many.gradient(x, t)
        assert many.last_loss == pytest.approx(one.last_loss, rel=1e-12)
        for k in ga:
            np.testing.assert_allclose(gb[k], ga[k], rtol=1e-9, atol=1e-12, err_msg=k)
        for opt in opts:
            opt.step()
    for (k, a), (_, b) in zip(one.state_dict().items(), many.state_dict().items()):
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-12, err_msg=k)  # running stats too
    assert any(isinstance(m, BatchNorm) for m in many.modules())
    assert all(m.batch_sums is None for m in many.modules() if isinstance(m, BatchNorm))
    one.eval()
    many.eval()
    np.testing.assert_allclose(many.predict(x), one.predict(x), rtol=1e-10, atol=1e-12)
    xm, tm = RNG.random((n, 12)), RNG.integers(0, 3, n)
    make = lambda: MultiLayerNet(12, [8, 8], 3, use_batchnorm=True, weight_decay_lambda=0.1,  # noqa: E731
                                 rng=1).to(np.float64)
    m1, m2 = make(), make().set_num_threads(threads, min_part=1)
    g1, g2 = m1.gradient(xm, tm), m2.gradient(xm, tm)
    for k in g1:
        np.testing.assert_allclose(g2[k], g1[k], rtol=1e-9, atol=1e-12, err_msg=k)


def test_an_error_in_one_part_does_not_leave_the_others_waiting():
    net = resnet_small(rng=0).set_num_threads(2, min_part=1)
    t = T_IMG.copy()
    t[-1] = 99  # the second part fails at its loss; the first waits in BatchNorm's backward
    with pytest.raises(ValueError, match="99|range"):
        net.gradient(X_IMG, t)
    assert all(m.batch_sums is None for m in net.modules() if isinstance(m, BatchNorm))
    net.gradient(X_IMG, T_IMG)  # the next step works


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "2", None])
def test_bad_thread_counts(bad):
    with pytest.raises(ValueError, match="threads must be an integer >= 1"):
        small_simple().set_num_threads(bad)
    if bad is not None:  # min_part=None: the network's own
        with pytest.raises(ValueError, match="min_part must be an integer >= 1"):
            small_simple().set_num_threads(2, min_part=bad)


def test_small_batches_run_in_one_thread():
    net = small_simple(np.float64).set_num_threads(2)  # parts of at least 32 samples
    one = small_simple(np.float64)
    x = RNG.random((64, 1, 28, 28))
    t = RNG.integers(0, 10, 64)
    assert_same_gradients(one, net, x[:63], t[:63], rtol=1e-12)
    assert net._data_parallel._copies == []  # 63 samples: one part, no copies made
    assert_same_gradients(one, net, x, t, rtol=1e-10)
    assert len(net._data_parallel._copies) == 1  # 64: two parts of 32


@pytest.mark.parametrize("make, min_part", [
    (small_simple, 32),  # Net.min_part
    (lambda: DeepConvNet(rng=0), 8),
    (lambda: resnet_small(rng=0), 16),
    (lambda: MultiLayerNet(784, [10], 10, rng=0), 32),
])
def test_the_fewest_samples_per_part_is_the_networks(make, min_part):
    net = make().set_num_threads(2)
    parallel = net._data_parallel
    assert parallel.min_part == type(net).min_part == min_part
    assert [len(parallel._parts(n)) for n in (2 * min_part - 1, 2 * min_part)] == [1, 2]
    parallel = net.set_num_threads(2, min_part=4)._data_parallel  # given: it wins
    assert parallel.min_part == 4 and len(parallel._parts(8)) == 2


def test_deepconvnet_splits_a_batch_of_16_and_gives_one_threads_gradients():
    one, two = DeepConvNet(dropout_ratio=0.0, rng=2), DeepConvNet(dropout_ratio=0.0, rng=2)
    one.to(np.float64)
    two.to(np.float64).set_num_threads(2)
    x = RNG.random((16, 1, 28, 28))
    t = RNG.integers(0, 10, 16)
    assert_same_gradients(one, two, x, t, rtol=1e-10)
    assert len(two._data_parallel._copies) == 1  # two parts of 8


def test_missing_threadpoolctl_names_the_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)
    monkeypatch.setattr(parallel_mod, "_controller", None)
    net = small_simple()
    with pytest.raises(ImportError, match=r"dlscratch\[parallel\]"):
        net.set_num_threads(2, min_part=1)
    assert net.num_threads == 1
    assert net.set_num_threads(1).num_threads == 1  # one thread needs nothing


def test_errors_in_a_part_are_raised_and_blas_limit_undone():
    net = small_simple().set_num_threads(2, min_part=1)
    t = T_IMG.copy()
    t[-1] = 99  # a bad label in the second part
    before = parallel_mod.blas_controller().info()
    with pytest.raises(ValueError, match="99|range"):
        net.gradient(X_IMG, t)
    assert parallel_mod.blas_controller().info() == before
    net.gradient(X_IMG, T_IMG)  # still usable


def test_deepcopy_gets_its_own_threads_and_one_thread_again():
    net = small_simple(np.float64).set_num_threads(2, min_part=1)
    net.gradient(X_IMG.astype(np.float64), T_IMG)
    twin = copy.deepcopy(net)
    assert twin.num_threads == 2 and twin._data_parallel.net is twin
    for p, q in zip(net.parameters(), twin.parameters()):
        assert p.data is not q.data
    assert_same_gradients(net, twin, X_IMG.astype(np.float64), T_IMG, rtol=1e-12)
    net.set_num_threads(1)
    assert net.num_threads == 1 and "_data_parallel" in net.__dict__


def test_sgd_optimizer_and_trainer_like_loop_memory_does_not_grow():
    # making copies again every step would hold ever more arrays
    net = small_simple().set_num_threads(2, min_part=1)
    opt = SGD(net.parameters(), lr=0.01)
    net.gradient(X_IMG, T_IMG)
    copies = list(net._data_parallel._copies)
    for _ in range(3):
        net.gradient(X_IMG, T_IMG)
        opt.step()
    assert net._data_parallel._copies == copies  # the same copies, not new ones


def test_threadpoolctl_is_imported_only_for_threads():
    import subprocess

    code = ("import sys, numpy as np\n"
            "from dlscratch.models import SimpleConvNet\n"
            "net = SimpleConvNet(rng=0).set_num_threads(1)\n"
            "net.gradient(np.zeros((2, 1, 28, 28), np.float32), np.array([0, 1]))\n"
            "print('threadpoolctl' in sys.modules)\n"
            "net.set_num_threads(2, min_part=1)\n"
            "print('threadpoolctl' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "True"]


def test_parts_build_inference_col_in_cache_sized_pieces(monkeypatch):
    from dlscratch.layers import Conv2d, conv_work

    seen = []
    original = Conv2d._forward_in_pieces

    def spy(self, x, W_b):
        seen.append(getattr(conv_work._shared, "piece_bytes", None))
        return original(self, x, W_b)

    monkeypatch.setattr(Conv2d, "_forward_in_pieces", spy)
    monkeypatch.setattr(parallel_mod, "PIECE_BYTES", 5000)  # a few images per piece
    one, two = DeepConvNet(rng=7), DeepConvNet(rng=7).set_num_threads(2, min_part=1)
    one.eval()
    two.eval()
    ref = one.predict(X_IMG)
    assert set(seen) == {None}  # one thread: the whole batch at once
    seen.clear()
    np.testing.assert_allclose(two.predict(X_IMG), ref, rtol=1e-5, atol=1e-5)
    assert seen and set(seen) == {5000}  # every convolution of both parts, in pieces
    assert getattr(conv_work._shared, "piece_bytes", None) is None  # restored after


def test_copies_take_buffers_replaced_later():
    """load_state_dict replaces BatchNorm's running statistics by new arrays: the copies made
    before must use the new ones (an eval forward over threads equals one thread's)."""
    n = 6
    x = (X_IMG[:1].repeat(n, axis=0) * RNG.random((n, 1, 1, 1))).astype(np.float64)
    t = RNG.integers(0, 10, n)
    net = resnet_small(rng=0).to(np.float64).set_num_threads(2, min_part=1)
    net.gradient(x, t)  # the copies are made, and the running statistics move
    other = resnet_small(rng=1).to(np.float64)
    other.gradient(x[::-1] * 2, t)  # other running statistics
    net.load_state_dict(other.state_dict())
    net.eval()
    other.eval()
    np.testing.assert_allclose(net.predict(x), other.predict(x), rtol=1e-10, atol=1e-12)


def test_batch_sums_slots_are_not_overwritten_before_a_slow_part_reads_them():
    """BatchSums has one barrier per call (two sets of slots used by turns): a part that
    reads its sums late must still get its call's sums, while the other part has gone on to
    the next calls (of other shapes, as BatchNorm layers of other widths)."""
    sums = BatchSums([3, 2])
    barrier = sums.barrier

    class SlowReader:  # part 1 reads 50 ms after every barrier
        def wait(self):
            barrier.wait()
            if threading.current_thread().name == "part1":
                time.sleep(0.05)

        def abort(self):
            barrier.abort()

    sums.barrier = SlowReader()
    calls = [(np.arange(4.0) + k, np.arange(4.0) * 10 - k) for k in range(3)]  # (part 0, part 1)
    calls += [(np.ones(7) * k, np.full(7, 2.0)) for k in range(3)]
    results: dict[int, list] = {0: [], 1: []}

    def run(p):
        part = sums.part(p)
        try:
            for pair in calls:
                results[p].append(part.total(pair[p]))
        except BaseException:
            barrier.abort()  # the other part must not wait for this one
            raise

    threads = [threading.Thread(target=run, args=(p,), name=f"part{p}") for p in (0, 1)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=30)
    for p in (0, 1):
        assert len(results[p]) == len(calls)
        for got, (a, b) in zip(results[p], calls):
            np.testing.assert_array_equal(got, a + b)
