"""Checkpoints and exact resume; Ctrl-C / SIGTERM; NaN losses.

"Exact" means bit for bit: a run interrupted after any step, saved, loaded into freshly built
objects (seeded differently, so everything must come from the file) and continued, ends with the
same parameters, optimizer state and history (all but the seconds) as an uninterrupted run.
"""

from __future__ import annotations

import csv
import os
import signal
import sys
import threading

import numpy as np
import pytest
from helpers_trainer import (
    Recorder,
    SignalAt,
    assert_same_params,
    blobs,
    cnn_trainer,
    mlp_trainer,
    params_of,
    without_seconds,
)

from dlscratch import io
from dlscratch.callbacks import Callback, CSVLogger, EarlyStopping, ModelCheckpoint
from dlscratch.checkpoint import model_generators
from dlscratch.models import MultiLayerNet
from dlscratch.optim import OPTIMIZERS
from dlscratch.trainer import NonFiniteLossError, Trainer, TrainingInterrupted


def _reference(make, epochs, tmp_path):
    ref = make(0, epochs=epochs, callbacks=[CSVLogger(tmp_path / "ref.csv")])
    ref.fit()
    return ref


def _csv_rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return [row[:-1] for row in csv.reader(f)]  # all but seconds


def _interrupt_and_resume(make, epochs, k, tmp_path, signum=signal.SIGINT):
    ckpt = tmp_path / "checkpoint.npz"
    run = make(0, epochs=epochs, callbacks=[ModelCheckpoint(ckpt), CSVLogger(tmp_path / "m.csv"),
                                            EarlyStopping(patience=50)])
    with pytest.raises(TrainingInterrupted) as info:
        run.fit(callbacks=[SignalAt(k, signum)])
    assert info.value.step == k and info.value.checkpoint_path == ckpt
    assert info.value.signum == signum
    # a new process: everything built again, seeded differently
    fresh = make(1234, epochs=epochs, callbacks=[ModelCheckpoint(ckpt),
                                                 CSVLogger(tmp_path / "m.csv"),
                                                 EarlyStopping(patience=50)])
    fresh.fit(resume=ckpt)
    return run, fresh


@pytest.mark.parametrize("k", [1, 4, 7, 8, 13, 21])
def test_mlp_dropout_adam_resume_is_exact(tmp_path, k):
    ref = _reference(mlp_trainer, 3, tmp_path)
    run, fresh = _interrupt_and_resume(mlp_trainer, 3, k, tmp_path)
    assert run.current_iter == k
    assert_same_params(params_of(fresh), params_of(ref))
    assert fresh.train_loss_list == ref.train_loss_list
    assert without_seconds(fresh.history) == without_seconds(ref.history)
    assert fresh.train_acc_list == ref.train_acc_list and fresh.test_acc_list == ref.test_acc_list
    assert fresh.optimizer.t == ref.optimizer.t == 21
    assert fresh.optimizer.lr == ref.optimizer.lr
    for key in ref.optimizer.state:
        for slot in ref.optimizer.state[key]:
            assert np.array_equal(fresh.optimizer.state[key][slot], ref.optimizer.state[key][slot])
    # the dropout masks' stream continues where it was (not merely the same final weights)
    for name, g in model_generators(ref.network).items():
        assert model_generators(fresh.network)[name].bit_generator.state == g.bit_generator.state
    assert fresh.rng.bit_generator.state == ref.rng.bit_generator.state
    assert _csv_rows(tmp_path / "m.csv") == _csv_rows(tmp_path / "ref.csv")


@pytest.mark.parametrize("k", [9, 12])
def test_batchnorm_weight_decay_resume_is_exact(tmp_path, k):
    def make(seed, **kw):
        return mlp_trainer(seed, batchnorm=True, **kw)

    ref = _reference(make, 2, tmp_path)
    run, fresh = _interrupt_and_resume(make, 2, k, tmp_path)
    assert any("running_var" in name for name in params_of(ref))
    assert_same_params(params_of(fresh), params_of(ref))
    assert without_seconds(fresh.history) == without_seconds(ref.history)


@pytest.mark.parametrize("k", [3, 5, 9])
def test_simple_convnet_resume_is_exact(tmp_path, k):
    ref = _reference(cnn_trainer, 2, tmp_path)
    run, fresh = _interrupt_and_resume(cnn_trainer, 2, k, tmp_path, signum=signal.SIGTERM)
    assert_same_params(params_of(fresh), params_of(ref))
    assert fresh.train_loss_list == ref.train_loss_list
    assert without_seconds(fresh.history) == without_seconds(ref.history)


def test_interrupt_then_continue_in_the_same_process(tmp_path):
    ref = _reference(mlp_trainer, 2, tmp_path)
    run = mlp_trainer(0, epochs=2)
    with pytest.raises(TrainingInterrupted) as info:
        run.fit(callbacks=[SignalAt(10)])
    assert info.value.checkpoint_path is None and "no checkpoint was written" in str(info.value)
    assert (info.value.epoch, info.value.step_in_epoch) == (1, 3)
    run.fit()
    assert_same_params(params_of(run), params_of(ref))
    assert without_seconds(run.history) == without_seconds(ref.history)


def test_every_n_steps_checkpoint_resumes_exactly(tmp_path):
    """A checkpoint written mid-epoch by every_n_steps (then a crash) resumes exactly."""
    ref = _reference(mlp_trainer, 2, tmp_path)
    ckpt = tmp_path / "c.npz"

    class Crash(Callback):
        def on_batch_end(self, logs):
            if logs["step"] == 11:
                raise RuntimeError("power cut")

    run = mlp_trainer(0, epochs=2, callbacks=[ModelCheckpoint(ckpt, every_n_steps=5)])
    with pytest.raises(RuntimeError, match="power cut"):
        run.fit(callbacks=[Crash()])
    fresh = mlp_trainer(99, epochs=2, callbacks=[ModelCheckpoint(ckpt, every_n_steps=5)])
    fresh.load_checkpoint(ckpt)
    assert (fresh.current_iter, fresh.current_epoch, fresh.step_in_epoch) == (10, 1, 3)
    fresh.fit()
    assert_same_params(params_of(fresh), params_of(ref))
    assert without_seconds(fresh.history) == without_seconds(ref.history)


def test_checkpoint_contents_and_load_model(tmp_path):
    tr = mlp_trainer(0, epochs=1)
    tr.fit()
    path = tr.save_checkpoint(tmp_path / "c.npz")
    mf = io.read_model_file(path)
    ck = mf.extra_meta["checkpoint"]
    assert (ck["epoch"], ck["step"], ck["step_in_epoch"]) == (1, 7, 0)
    assert ck["optimizer"]["class"] == "Adam" and ck["optimizer"]["t"] == 7
    assert set(ck["rng"]["model"]) == {"layers.Dropout1.rng", "layers.Dropout2.rng"}
    assert ck["history"]["epoch"] == [1]
    assert "LearningRateScheduler#0" in ck["callbacks"]
    assert np.array_equal(mf.extra_arrays["trainer.train_loss"], tr.train_loss_list)
    n_slots = len(ck["optimizer"]["slots"])
    assert n_slots == 2 * len(tr.network.parameters())  # Adam: m and v for each
    model = io.load_model(path)  # a checkpoint is a model file
    assert_same_params(dict(model.state_dict()), params_of(tr))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.npz"]


def test_checkpoint_is_a_snapshot_not_live_state(tmp_path):
    """The file holds the state when it was written, even though training goes on."""
    tr = mlp_trainer(0, epochs=2)
    tr.fit(epochs=1)
    before = {k: {n: a.copy() for n, a in s.items()} for k, s in tr.optimizer.state.items()}
    weights = params_of(tr)
    tr.save_checkpoint(tmp_path / "c.npz")
    tr.fit()  # changes the optimizer state and weights in place
    again = mlp_trainer(5, epochs=2)
    again.load_checkpoint(tmp_path / "c.npz")
    assert_same_params(params_of(again), weights)
    for key, slots in before.items():
        for name, a in slots.items():
            assert np.array_equal(again.optimizer.state[key][name], a)
    # and loading copies: training the loaded trainer does not touch what was loaded from
    mf = io.read_model_file(tmp_path / "c.npz")
    again.fit()
    assert not np.array_equal(again.optimizer.state[0]["m"], mf.extra_arrays["optimizer.0"])


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_state_dict_returns_copies(name):
    """state_dict() must not hand out the live arrays (a checkpoint would change after it)."""
    x, t = blobs(50)
    net = MultiLayerNet(4, [8], 3, rng=0)
    opt = OPTIMIZERS[name](net.parameters(), lr=0.01)
    for _ in range(2):
        net.gradient(x, t)
        opt.step()
    sd = opt.state_dict()
    snapshot = {k: {n: a.copy() for n, a in s.items()} for k, s in sd["state"].items()}
    net.gradient(x, t)
    opt.step()
    for k, slots in snapshot.items():
        for n, a in slots.items():
            assert np.array_equal(sd["state"][k][n], a), f"{name} state {k}/{n} is live"
    opt.load_state_dict(sd)
    net.gradient(x, t)
    opt.step()
    for k, slots in snapshot.items():
        for n, a in slots.items():
            assert np.array_equal(sd["state"][k][n], a), f"{name} kept the loaded arrays"


def test_load_refuses_a_different_setup(tmp_path):
    tr = mlp_trainer(0, epochs=1)
    tr.fit()
    path = tr.save_checkpoint(tmp_path / "c.npz")
    x, t = blobs(160)
    other_batch = Trainer(MultiLayerNet(4, [16, 16], 3, use_dropout=True, rng=0), x[:130],
                          t[:130], x, t, mini_batch_size=10, optimizer="Adam", verbose=False)
    with pytest.raises(ValueError, match="batch_size 20, but this trainer has 10"):
        other_batch.load_checkpoint(path)
    other_opt = Trainer(MultiLayerNet(4, [16, 16], 3, use_dropout=True, rng=0), x[:130],
                        t[:130], x, t, mini_batch_size=20, optimizer="SGD", verbose=False)
    with pytest.raises(ValueError, match="the optimizer 'Adam', but this trainer has 'SGD'"):
        other_opt.load_checkpoint(path)
    other_net = Trainer(MultiLayerNet(4, [16, 8], 3, use_dropout=True, rng=0), x[:130],
                        t[:130], x, t, mini_batch_size=20, optimizer="Adam", verbose=False)
    weights = params_of(other_net)
    with pytest.raises(ValueError, match="shape"):
        other_net.load_checkpoint(path)
    assert_same_params(params_of(other_net), weights)  # nothing changed
    assert other_net.current_iter == 0
    io.save(tr.network, tmp_path / "model.npz")
    with pytest.raises(ValueError, match="not a checkpoint"):
        tr.load_checkpoint(tmp_path / "model.npz")


def test_resume_warns_about_missing_callback_state(tmp_path):
    tr = mlp_trainer(0, epochs=2)
    tr.fit(epochs=1, callbacks=[ModelCheckpoint(tmp_path / "c.npz")])
    fresh = mlp_trainer(0, epochs=2)
    fresh.lr_scheduler = None
    with pytest.warns(RuntimeWarning, match="LearningRateScheduler#0, which this fit"):
        fresh.fit(resume=tmp_path / "c.npz")


# ---------------------------------------------------------------------- signals
def test_signal_handlers_are_restored():
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    inside = []

    class Look(Callback):
        def on_batch_end(self, logs):
            inside.append(signal.getsignal(signal.SIGINT))

    mlp_trainer(epochs=1).fit(callbacks=[Look()])
    assert inside[0] not in before
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
    with pytest.raises(TrainingInterrupted):
        mlp_trainer(epochs=1).fit(callbacks=[SignalAt(2)])
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_second_ctrl_c_stops_at_once(tmp_path):
    ckpt = tmp_path / "c.npz"
    rec = Recorder()
    tr = mlp_trainer(epochs=2, callbacks=[ModelCheckpoint(ckpt), rec])
    with pytest.raises(KeyboardInterrupt) as info:
        tr.fit(callbacks=[SignalAt(3, times=2)])
    assert type(info.value) is KeyboardInterrupt
    assert not ckpt.exists()
    assert tr.current_iter == 3
    assert rec.calls[-1][1]["status"] == "failed"


def test_interrupt_calls_callbacks_and_writes_the_checkpoint(tmp_path):
    ckpt = tmp_path / "c.npz"
    rec = Recorder()
    tr = mlp_trainer(epochs=2, callbacks=[ModelCheckpoint(ckpt), rec])
    with pytest.raises(TrainingInterrupted, match=r"after step 5 \(epoch 1, step 5 of the epoch\)"
                       r".*resume="):
        tr.fit(callbacks=[SignalAt(5)])
    assert rec.calls[-1] == ("train_end", {"epoch": 0, "step": 5, "status": "interrupted"})
    assert "epoch_end" not in rec.hooks()
    ck = io.read_model_file(ckpt).extra_meta["checkpoint"]
    assert (ck["step"], ck["step_in_epoch"]) == (5, 5)


def test_fit_in_another_thread_installs_no_handlers():
    before = signal.getsignal(signal.SIGINT)
    seen, errors = [], []

    class Look(Callback):
        def on_batch_end(self, logs):
            seen.append(signal.getsignal(signal.SIGINT))

    def work():
        try:
            mlp_trainer(epochs=1).fit(callbacks=[Look()])
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    th = threading.Thread(target=work)
    th.start()
    th.join()
    assert not errors and seen and all(h == before for h in seen)


# ---------------------------------------------------------------------- NaN / inf
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_nonfinite_loss_stops_before_the_update_and_keeps_the_checkpoint(tmp_path):
    ckpt = tmp_path / "c.npz"
    tr = mlp_trainer(0, epochs=3, callbacks=[ModelCheckpoint(ckpt)])
    tr.x_train[37] = np.inf  # the array the loader serves
    order = np.random.default_rng(1).permutation(130)  # the shuffling of mlp_trainer(0)
    epoch1_step = int(np.where(order == 37)[0][0]) // 20 + 1
    weights = [params_of(tr)]

    class Keep(Callback):
        def on_batch_end(self, logs):
            weights.append(params_of(tr))

    rec = Recorder()
    with pytest.raises(NonFiniteLossError) as info:
        tr.fit(callbacks=[Keep(), rec])
    err = info.value
    assert (err.epoch, err.step) == (1, epoch1_step)
    assert err.loss is None or not np.isfinite(err.loss)
    assert f"at step {epoch1_step} (epoch 1)" in str(err) and "learning rate too high" in str(err)
    assert "inputs contain NaN or inf" in str(err)
    assert tr.current_iter == epoch1_step - 1
    assert_same_params(params_of(tr), weights[-1])  # the bad step was not applied
    assert not ckpt.exists()  # no checkpoint of the bad state
    assert rec.calls[-1][1]["status"] == "nonfinite"


def test_nonfinite_weights_are_never_checkpointed(tmp_path):
    ckpt = tmp_path / "c.npz"

    class Poison(Callback):
        def on_batch_end(self, logs):
            if logs["step"] == 9:
                self.trainer.network.params["W1"][0, 0] = np.nan

    tr = mlp_trainer(0, epochs=3, callbacks=[Poison(), ModelCheckpoint(ckpt, every_n_steps=1)])
    with pytest.raises(NonFiniteLossError, match="W contain NaN or inf after step 9") as info:
        tr.fit()
    assert info.value.checkpoint_path == ckpt  # the last good one, written at step 8
    ck = io.read_model_file(ckpt).extra_meta["checkpoint"]
    assert ck["step"] == 8
    assert np.isfinite(io.read_model_file(ckpt).state["layers.Affine1.W"]).all()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_huge_learning_rate_names_the_step():
    x, t = blobs(200)
    x *= 1e3  # unnormalised inputs
    tr = Trainer(MultiLayerNet(4, [16], 3, rng=0), x, t, x, t, epochs=50, mini_batch_size=20,
                 optimizer="SGD", optimizer_param={"lr": 1e6}, verbose=False, rng=0)
    with pytest.raises(NonFiniteLossError, match=r"the training loss is (nan|inf|not finite) at step \d+ \(epoch \d+\)"):
        tr.fit()


def test_nan_loss_is_caught_before_the_step_is_applied(tmp_path):
    ckpt = tmp_path / "c.npz"
    tr = mlp_trainer(0, epochs=2, callbacks=[ModelCheckpoint(ckpt)])
    net = tr.network
    original = net.loss
    calls = []

    def loss(x, t):
        value = original(x, t)
        if net.training:  # a training step, not the evaluation
            calls.append(1)
        return float("nan") if len(calls) == 10 else value

    net.loss = loss
    weights = []

    class Keep(Callback):
        def on_batch_end(self, logs):
            weights.append(params_of(tr))

    with pytest.raises(NonFiniteLossError, match=r"the training loss is nan at step 10 \(epoch 2\)"
                       r".*the last good checkpoint .*c.npz is kept") as info:
        tr.fit(callbacks=[Keep()])
    assert info.value.checkpoint_path == ckpt and tr.current_iter == 9
    assert_same_params(params_of(tr), weights[-1])
    assert io.read_model_file(ckpt).extra_meta["checkpoint"]["step"] == 7


_SCRIPT = """
import sys, numpy as np
from helpers_trainer import SignalAt, mlp_trainer
from dlscratch.callbacks import ModelCheckpoint
from dlscratch.trainer import TrainingInterrupted
ckpt, out, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
tr = mlp_trainer(seed, epochs=3, callbacks=[ModelCheckpoint(ckpt)])
try:
    tr.fit(resume=ckpt if out != "-" else None, callbacks=[SignalAt(11)] if out == "-" else [])
except TrainingInterrupted as e:
    sys.exit(130)
np.savez(out, **tr.network.state_dict(), losses=np.array(tr.train_loss_list))
"""


def test_resume_in_a_new_process_is_exact(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "run.py"
    script.write_text(_SCRIPT, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}  # for helpers_trainer
    ckpt = tmp_path / "c.npz"
    first = subprocess.run([sys.executable, str(script), str(ckpt), "-", "0"], timeout=120,
                           env=env)
    assert first.returncode == 130 and ckpt.exists()
    second = subprocess.run([sys.executable, str(script), str(ckpt), str(tmp_path / "o.npz"),
                             "7"], timeout=120, env=env)
    assert second.returncode == 0
    ref = mlp_trainer(0, epochs=3)
    ref.fit()
    with np.load(tmp_path / "o.npz") as z:
        got = {k: z[k] for k in z.files}
    assert got.pop("losses").tolist() == ref.train_loss_list
    assert_same_params(got, params_of(ref))


def test_epoch_end_checkpoint_holds_the_callbacks_final_state(tmp_path):
    """ModelCheckpoint saves after the other callbacks (whatever the list order), so a resume
    from an epoch's end continues EarlyStopping and the schedule where they were."""
    def make(seed, epochs):
        es = EarlyStopping(monitor="train_loss", patience=50, min_delta=2.0)  # counts epochs
        return mlp_trainer(seed, epochs=epochs, callbacks=[ModelCheckpoint(tmp_path / "c.npz"),
                                                           es]), es

    ref, ref_es = make(0, 3)
    ref.fit()
    first, _ = make(0, 3)
    first.fit(epochs=2)
    fresh, fresh_es = make(8, 3)
    fresh.fit(resume=tmp_path / "c.npz")
    assert fresh_es.state_dict() == ref_es.state_dict()
    assert (fresh_es.best_epoch, fresh_es.wait) == (1, 2)
    assert fresh.optimizer.lr == ref.optimizer.lr
    assert_same_params(params_of(fresh), params_of(ref))


@pytest.mark.parametrize("k, processes", [(4, False), (8, False), (4, True)])
def test_resume_with_threads_is_exact(tmp_path, k, processes):
    """set_num_threads(2): the copies' Dropout masks come from the network's own Generator,
    which the checkpoint saves, so a resumed run ends as an uninterrupted one (the parts in
    threads or in worker processes)."""
    if processes and not sys.platform.startswith("linux"):
        pytest.skip("processes=True needs Linux")

    def make(seed, **kwargs):
        trainer = mlp_trainer(seed, **kwargs)
        trainer.network.set_num_threads(2, min_part=1, processes=processes)
        return trainer

    ref = _reference(make, 3, tmp_path)
    (tmp_path / "one").mkdir()
    one_thread = _reference(mlp_trainer, 3, tmp_path / "one")
    assert not all(np.array_equal(a, b) for a, b in zip(params_of(ref).values(),
                                                         params_of(one_thread).values()))
    run, fresh = _interrupt_and_resume(make, 3, k, tmp_path)
    assert run.current_iter == k
    assert_same_params(params_of(fresh), params_of(ref))
    assert fresh.train_loss_list == ref.train_loss_list
