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


def test_verbose_prints_epoch_lines(capsys):
    x, t = _blobs(100)
    Trainer(MultiLayerNet(4, [8], 3, rng=0), x, t, x, t, epochs=2, verbose=True, rng=0).train()
    out = capsys.readouterr().out
    assert "=== epoch:1, train acc:" in out and "=== epoch:2" in out
    assert "Final Test Accuracy" in out
