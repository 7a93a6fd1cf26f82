"""The lectures' Trainer: epochs are permutations, evaluation in eval mode, lists per epoch."""

from __future__ import annotations

import numpy as np
import pytest

from dlscratch.models import MultiLayerNet
from dlscratch.optim import SGD, Adam
from dlscratch.trainer import Trainer


def _blobs(n, rng=0):
    g = np.random.default_rng(rng)
    t = g.integers(0, 3, n)
    x = (g.normal(size=(n, 4)) + 3 * np.eye(3, 4)[t]).astype(np.float32)
    return x, t


def test_epoch_visits_every_sample_once_when_batch_does_not_divide(monkeypatch):
    x, t = _blobs(250)
    x[:, 0] = np.arange(250)  # tag each sample
    net = MultiLayerNet(4, [8], 3, rng=0)
    trainer = Trainer(net, x, t, x[:10], t[:10], epochs=2, mini_batch_size=100,
                      optimizer="SGD", optimizer_param={"lr": 0.01}, verbose=False, rng=0)
    assert trainer.iter_per_epoch == 3
    seen = []
    original = net.gradient

    def spy(xb, tb):
        seen.append(xb[:, 0].astype(int).copy())
        return original(xb, tb)

    monkeypatch.setattr(net, "gradient", spy)
    trainer.train()
    assert [len(s) for s in seen] == [100, 100, 50, 100, 100, 50]
    for epoch in (seen[:3], seen[3:]):
        assert sorted(np.concatenate(epoch).tolist()) == list(range(250))
    assert not np.array_equal(np.concatenate(seen[:3]), np.concatenate(seen[3:]))
    assert len(trainer.train_loss_list) == 6
    assert len(trainer.train_acc_list) == len(trainer.test_acc_list) == 2


def test_lecture_signature_trains_and_evaluates_in_eval_mode():
    x, t = _blobs(600)
    net = MultiLayerNet(4, [16], 3, use_dropout=True, dropout_ratio=0.2, rng=0)
    modes = []
    original = net.accuracy

    def spy(*args, **kwargs):
        modes.append(net.training)
        return original(*args, **kwargs)

    net.accuracy = spy
    state = np.random.get_state()
    trainer = Trainer(net, x[:500], t[:500], x[500:], t[500:], epochs=5, mini_batch_size=50,
                      optimizer="Adam", optimizer_param={"lr": 0.01},
                      evaluate_sample_num_per_epoch=100, verbose=False, rng=1)
    history = trainer.train()
    assert isinstance(trainer.optimizer, Adam)
    assert modes and not any(modes)  # evaluated in eval mode
    assert net.training  # and back to train mode
    assert trainer.test_acc_list[-1] > 0.9
    assert history["test_acc"] is trainer.test_acc_list
    assert trainer.train_loss_list[-1] < trainer.train_loss_list[0]
    after = np.random.get_state()
    assert state[0] == after[0] and np.array_equal(state[1], after[1]) and state[2:] == after[2:]


def test_same_seed_same_run():
    x, t = _blobs(300)
    runs = []
    for _ in range(2):
        net = MultiLayerNet(4, [8], 3, rng=0)
        tr = Trainer(net, x, t, x, t, epochs=2, mini_batch_size=32, optimizer="momentum",
                     optimizer_param={"lr": 0.05}, verbose=False, rng=7)
        tr.train()
        runs.append(tr.train_loss_list)
    assert runs[0] == runs[1]


def test_plain_dict_network_uses_update():
    """A lecture network that is not a Module (params dict + gradient) trains via update()."""

    class Lecture:
        def __init__(self):
            self.params = {"W": np.zeros((4, 3), np.float32)}

        def gradient(self, x, t):
            y = x @ self.params["W"]
            return {"W": x.T @ (y - np.eye(3, dtype=np.float32)[t]) / len(x)}

        def loss(self, x, t):
            return float(np.mean((x @ self.params["W"] - np.eye(3)[t]) ** 2))

        def accuracy(self, x, t, batch_size=None):
            return float(np.mean(np.argmax(x @ self.params["W"], axis=1) == t))

    x, t = _blobs(200)
    net = Lecture()
    tr = Trainer(net, x, t, x, t, epochs=3, optimizer="sgd", optimizer_param={"lr": 0.01},
                 verbose=False, rng=0)
    assert isinstance(tr.optimizer, SGD) and tr.optimizer.params is None
    tr.train()
    assert tr.test_acc_list[-1] > 0.8


def test_bad_arguments():
    x, t = _blobs(10)
    net = MultiLayerNet(4, [8], 3, rng=0)
    with pytest.raises(ValueError, match="x_train has 10 samples but t_train has 9"):
        Trainer(net, x, t[:9], x, t)
    with pytest.raises(ValueError, match="unknown optimizer 'adamw'"):
        Trainer(net, x, t, x, t, optimizer="adamw")
    with pytest.raises(ValueError, match="x_test is empty"):
        Trainer(net, x, t, x[:0], t[:0])
    with pytest.raises(ValueError, match="x_train is empty"):
        Trainer(net, x[:0], t[:0], x, t)
    with pytest.raises(ValueError, match="mini_batch_size must be an int >= 1, got 0"):
        Trainer(net, x, t, x, t, mini_batch_size=0)


def test_verbose_prints_epoch_lines(capsys):
    x, t = _blobs(100)
    Trainer(MultiLayerNet(4, [8], 3, rng=0), x, t, x, t, epochs=2, verbose=True, rng=0).train()
    out = capsys.readouterr().out
    assert "=== epoch:1, train acc:" in out and "=== epoch:2" in out
    assert "Final Test Accuracy" in out


# ---------------------------------------------------------------------- evaluation limit
def test_evaluate_sample_num_per_epoch_limits_the_evaluation(monkeypatch):
    x, t = _blobs(400)
    net = MultiLayerNet(4, [8], 3, rng=0)
    sizes = []
    for name in ("accuracy", "evaluate"):
        original = getattr(type(net), name)

        def spy(self, xb, tb, *args, _original=original, **kwargs):
            sizes.append(len(xb))
            return _original(self, xb, tb, *args, **kwargs)

        monkeypatch.setattr(type(net), name, spy)
    tr = Trainer(net, x[:300], t[:300], x[300:], t[300:], epochs=2, mini_batch_size=50,
                 evaluate_sample_num_per_epoch=37, verbose=False, rng=0)
    tr.train()
    assert len(sizes) >= 4 and all(n == 37 for n in sizes)
    # the recorded metrics are those of the first 37 samples
    assert tr.train_acc_list[-1] == net.accuracy(x[:37], t[:37])
    assert tr.test_acc_list[-1] == net.accuracy(x[300:337], t[300:337])
    assert tr.history.history["test_loss"][-1] == net.evaluate(x[300:337], t[300:337])[0]
    # without the limit, every sample is evaluated
    sizes.clear()
    Trainer(net, x[:300], t[:300], x[300:], t[300:], epochs=1, mini_batch_size=50,
            verbose=False, rng=0).train()
    assert sorted(set(sizes)) == [100, 300]


@pytest.mark.parametrize("bad", [0, -5, 2.5, True])
def test_bad_evaluate_sample_num(bad):
    x, t = _blobs(10)
    with pytest.raises(ValueError, match="evaluate_sample_num_per_epoch must be an int >= 1"):
        Trainer(MultiLayerNet(4, [8], 3, rng=0), x, t, x, t, evaluate_sample_num_per_epoch=bad)


# ---------------------------------------------------------------------- fit and History
def test_fit_returns_history_of_every_epoch():
    from helpers_trainer import Recorder, mlp_trainer

    rec = Recorder()
    tr = mlp_trainer(callbacks=[rec])
    history = tr.fit()
    h = history.history
    assert list(h) == ["epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr",
                       "seconds"]
    assert history.epoch == h["epoch"] == [1, 2, 3]
    assert len(history) == 3
    # train_loss is the mean of the epoch's step losses (7 steps per epoch)
    steps = tr.train_loss_list
    assert len(steps) == 21 == tr.current_iter
    for e in range(3):
        assert h["train_loss"][e] == pytest.approx(np.mean(steps[7 * e:7 * e + 7]), abs=1e-12)
    # StepLR(step_size=1, gamma=0.5), stepped after each epoch: the lr used in each epoch
    assert h["lr"] == [0.01, 0.005, 0.0025]
    assert tr.optimizer.lr == 0.00125
    # test metrics are those of the network on the test set, in eval mode
    net = tr.network
    assert h["test_acc"][-1] == net.accuracy(tr.x_test, tr.t_test)
    net.eval()
    assert h["test_loss"][-1] == pytest.approx(net.loss(tr.x_test, tr.t_test), rel=1e-5)
    net.train()
    assert h["train_acc"] == tr.train_acc_list and h["test_acc"] == tr.test_acc_list
    assert all(s > 0 for s in h["seconds"])
    assert h["test_acc"][-1] > 0.8
    # the hooks, in order, with their logs
    hooks = rec.hooks()
    assert hooks[0] == "train_begin" and hooks[-1] == "train_end"
    assert hooks[1:-1] == (["epoch_begin"] + ["batch_end"] * 7 + ["epoch_end"]) * 3
    batch_logs = [logs for hook, logs in rec.calls if hook == "batch_end"]
    assert [b["step"] for b in batch_logs] == list(range(1, 22))
    assert [b["batch"] for b in batch_logs[:8]] == [1, 2, 3, 4, 5, 6, 7, 1]
    assert [b["loss"] for b in batch_logs] == steps
    ends = [logs for hook, logs in rec.calls if hook == "epoch_end"]
    assert [e["test_acc"] for e in ends] == h["test_acc"]
    assert rec.calls[-1][1]["status"] == "completed"


def test_fit_continues_up_to_the_epochs_given():
    from helpers_trainer import mlp_trainer

    tr = mlp_trainer(epochs=1)
    tr.fit()
    assert tr.history.epoch == [1]
    tr.fit(epochs=3)
    assert tr.history.epoch == [1, 2, 3] and tr.current_iter == 21
    tr.fit(epochs=3)  # nothing left to do
    assert tr.current_iter == 21
    # two fits give the same run as one
    one = mlp_trainer(epochs=3)
    one.fit()
    assert one.train_loss_list == tr.train_loss_list


def test_fit_batches_through_the_dataloader(monkeypatch):
    from dlscratch import data

    calls = []
    original = data.DataLoader.__iter__

    def spy(self):
        calls.append(len(self))
        return original(self)

    monkeypatch.setattr(data.DataLoader, "__iter__", spy)
    x, t = _blobs(250)
    tr = Trainer(MultiLayerNet(4, [8], 3, rng=0), x, t, x, t, epochs=2, mini_batch_size=100,
                 verbose=False, rng=0)
    tr.fit()
    assert calls == [3, 3]


def test_lecture_network_gets_test_loss_from_its_loss():
    class Lecture:
        def __init__(self):
            self.params = {"W": np.zeros((4, 3), np.float32)}

        def gradient(self, x, t):
            y = x @ self.params["W"]
            return {"W": x.T @ (y - np.eye(3, dtype=np.float32)[t]) / len(x)}

        def loss(self, x, t):
            return float(np.mean((x @ self.params["W"] - np.eye(3)[t]) ** 2))

        def accuracy(self, x, t):  # the book's TwoLayerNet: no batch_size
            return float(np.mean(np.argmax(x @ self.params["W"], axis=1) == t))

    x, t = _blobs(200)
    net = Lecture()
    tr = Trainer(net, x[:150], t[:150], x[150:], t[150:], epochs=2, mini_batch_size=40,
                 optimizer="sgd", optimizer_param={"lr": 0.05}, verbose=False, rng=0)
    h = tr.fit().history
    assert h["test_loss"][-1] == pytest.approx(net.loss(x[150:], t[150:]), rel=1e-6)
    assert h["test_acc"][-1] == net.accuracy(x[150:], t[150:])


def test_optimizer_object_and_scheduler_object():
    from dlscratch.lr_scheduler import ExponentialLR

    x, t = _blobs(100)
    net = MultiLayerNet(4, [8], 3, rng=0)
    opt = SGD(net.parameters(), lr=0.1)
    tr = Trainer(net, x, t, x, t, epochs=2, optimizer=opt, verbose=False, rng=0,
                 lr_scheduler=ExponentialLR(opt, gamma=0.1))
    assert tr.optimizer is opt
    assert tr.fit().history["lr"] == [0.1, pytest.approx(0.01)]
    other = SGD(net.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="built on another optimizer"):
        Trainer(net, x, t, x, t, lr_scheduler=ExponentialLR(other, gamma=0.1))
    with pytest.raises(ValueError, match="optimizer_param is only used with an optimizer name"):
        Trainer(net, x, t, x, t, optimizer=opt, optimizer_param={"lr": 1})
    with pytest.raises(TypeError, match="lr_scheduler must be"):
        Trainer(net, x, t, x, t, lr_scheduler="step")
