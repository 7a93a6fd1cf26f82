"""Callbacks: progress output, CSV logging, early stopping, the lr schedule, ordering."""

from __future__ import annotations

import csv
import io
import types

import numpy as np
import pytest
from helpers_trainer import Recorder, mlp_trainer

from dlscratch.callbacks import (
    METRICS,
    Callback,
    CallbackList,
    CSVLogger,
    EarlyStopping,
    History,
    LearningRateScheduler,
    ModelCheckpoint,
    ProgressBar,
)
from dlscratch.lr_scheduler import StepLR
from dlscratch.optim import SGD


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_lines_when_not_a_terminal():
    out = io.StringIO()
    tr = mlp_trainer(callbacks=[ProgressBar(out)])
    tr.fit()
    text = out.getvalue()
    lines = text.splitlines()
    assert len(lines) == 3 and "\r" not in text  # one line per epoch, no bar redraws
    h = tr.history.history
    for e, line in enumerate(lines):
        assert line.startswith(f"epoch {e + 1}/3: train_loss {h['train_loss'][e]:.4f}")
        assert f"test_acc {h['test_acc'][e]:.4f}" in line and f"lr {h['lr'][e]:.3g}" in line


def test_progress_bar_in_a_terminal():
    out = FakeTerminal()
    mlp_trainer(epochs=2, callbacks=[ProgressBar(out, min_interval=0)]).fit()
    text = out.getvalue()
    assert "\r" in text and "epoch 1/2" in text and "loss=" in text
    assert "step/s" in text or "s/step" in text  # the rate
    assert "7/7" in text and "<" in text  # count and elapsed<remaining (the ETA)
    finals = [ln for ln in text.replace("\r", "\n").splitlines() if ln.startswith("epoch 2/2:")]
    assert finals and "train_acc" in finals[-1]


def test_progress_quiet_and_bad_mode(capsys):
    out = io.StringIO()
    mlp_trainer(epochs=1, callbacks=[ProgressBar(out, mode="quiet")]).fit()
    assert out.getvalue() == ""
    assert capsys.readouterr().out == ""
    with pytest.raises(ValueError, match="mode must be one of"):
        ProgressBar(mode="fancy")


def test_verbose_fit_prints_a_progress_line_per_epoch(capsys):
    tr = mlp_trainer(epochs=2)
    tr.verbose = True
    tr.fit()
    out = capsys.readouterr().out
    assert out.count("\n") == 2 and out.startswith("epoch 1/2: train_loss")


def test_csv_logger_writes_the_history(tmp_path):
    path = tmp_path / "run" / "metrics.csv"
    path.parent.mkdir()
    seen = []

    class Peek(Callback):
        def on_epoch_end(self, logs):
            seen.append(path.read_text(encoding="utf-8").count("\n"))

    tr = mlp_trainer(callbacks=[CSVLogger(path), Peek()])
    tr.fit()
    assert seen == [2, 3, 4]  # rewritten every epoch (header + rows), before later callbacks
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == list(METRICS)
    assert rows[0] == "epoch,train_loss,train_acc,test_loss,test_acc,lr,seconds".split(",")
    assert len(rows) == 4
    h = tr.history.history
    for e, row in enumerate(rows[1:]):
        assert int(row[0]) == e + 1
        for k, value in zip(METRICS[1:], row[1:]):
            assert float(value) == h[k][e]  # exact
    assert sorted(p.name for p in path.parent.iterdir()) == ["metrics.csv"]  # no temp files


def test_early_stopping_rule():
    trainer = types.SimpleNamespace(stop_training=False)
    es = EarlyStopping(monitor="test_loss", patience=2, min_delta=0.01)
    es.set_trainer(trainer)
    for epoch, loss in enumerate([1.0, 0.9, 0.895, 0.5, 0.6, 0.7, 0.1], start=1):
        es.on_epoch_end({"epoch": epoch, "test_loss": loss})
        if trainer.stop_training:
            break
    # 0.895 is not better than 0.9 by more than 0.01 (wait 1); 0.5 resets; 0.6 and 0.7 make
    # two epochs in a row without improvement: stop after epoch 6
    assert (epoch, es.best, es.best_epoch, es.stopped_epoch) == (6, 0.5, 4, 6)
    acc = EarlyStopping(monitor="test_acc", patience=0)
    acc.set_trainer(types.SimpleNamespace(stop_training=False))
    acc.on_epoch_end({"epoch": 1, "test_acc": 0.5})
    acc.on_epoch_end({"epoch": 2, "test_acc": 0.6})
    assert not acc.trainer.stop_training
    acc.on_epoch_end({"epoch": 3, "test_acc": 0.6})
    assert acc.trainer.stop_training and acc.mode == "max"
    state = es.state_dict()
    fresh = EarlyStopping(monitor="test_loss", patience=2, min_delta=0.01)
    fresh.load_state_dict(state)
    assert fresh.state_dict() == state


def test_early_stopping_stops_fit(tmp_path):
    rec = Recorder()
    es = EarlyStopping(monitor="train_acc", patience=1, min_delta=2.0)  # nothing improves by 2
    tr = mlp_trainer(epochs=5, callbacks=[es, rec, ModelCheckpoint(tmp_path / "c.npz")])
    tr.fit()
    assert tr.history.epoch == [1, 2] and es.stopped_epoch == 2
    assert rec.calls[-1] == ("train_end", {"epoch": 2, "step": 14, "status": "stopped"})


@pytest.mark.parametrize("kwargs, match", [
    ({"monitor": "accuracy"}, "cannot monitor 'accuracy'"),
    ({"monitor": "lr"}, "give mode='min' or 'max'"),
    ({"mode": "up"}, "mode must be"),
    ({"patience": -1}, "patience >= 0"),
])
def test_early_stopping_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        EarlyStopping(**kwargs)


def test_learning_rate_scheduler_callback():
    tr = mlp_trainer(epochs=3)
    tr.lr_scheduler = None
    tr.optimizer.lr = 0.02
    sched = StepLR(tr.optimizer, step_size=2, gamma=0.1)
    tr.fit(callbacks=[LearningRateScheduler(sched)])
    assert tr.history.history["lr"] == [0.02, 0.02, pytest.approx(0.002)]
    other = StepLR(SGD(tr.network.parameters(), lr=1.0), step_size=1)
    with pytest.raises(ValueError, match="built on another optimizer"):
        tr.fit(epochs=4, callbacks=[LearningRateScheduler(other)])
    with pytest.raises(TypeError, match="needs a dlscratch.lr_scheduler"):
        LearningRateScheduler(lambda e: 0.1)


def test_callbacks_run_by_order():
    order = []

    def make(name, o):
        cb = Callback()
        cb.order = o
        cb.on_epoch_end = lambda logs: order.append(name)
        return cb

    cbs = CallbackList([make("a", 0), make("ckpt", 10), make("sched", -10), make("b", 0)])
    cbs.call("on_epoch_end", {})
    assert order == ["sched", "a", "b", "ckpt"]
    with pytest.raises(TypeError, match="Callback instances"):
        CallbackList([object()])


def test_model_checkpoint_every_n_steps(tmp_path, monkeypatch):
    tr = mlp_trainer(epochs=2)
    saved = []
    monkeypatch.setattr(tr, "save_checkpoint", lambda path: saved.append(tr.current_iter))
    tr.fit(callbacks=[ModelCheckpoint(tmp_path / "c.npz", every_n_steps=3)])
    assert saved == [3, 6, 7, 9, 12, 14]  # every 3 steps and at each epoch's end (7, 14)
    with pytest.raises(ValueError, match="every_n_steps must be a positive int"):
        ModelCheckpoint(tmp_path / "c.npz", every_n_steps=0)


def test_history_checks_its_lists():
    h = History()
    with pytest.raises(KeyError, match="missing"):
        h.append({"epoch": 1})
    with pytest.raises(ValueError, match="unknown metric"):
        History({"loss": [1.0]})
    h.append({k: 1 for k in METRICS})
    assert h.rows() == [{k: 1 for k in METRICS}] and np.array_equal(h.epoch, [1])


def test_verbose_does_not_add_a_second_progress_bar(capsys):
    out = io.StringIO()
    tr = mlp_trainer(epochs=1)
    tr.verbose = True
    tr.fit(callbacks=[ProgressBar(out)])
    assert capsys.readouterr().out == "" and out.getvalue().count("\n") == 1
