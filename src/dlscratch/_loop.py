"""The Trainer's epoch loop: callbacks, the Ctrl-C flag, exact continuation of an epoch.

Kept apart from :mod:`dlscratch.trainer` (which holds the state and the public methods) so that
each stays readable; these functions read and update the Trainer's attributes.
"""

from __future__ import annotations

import time

import numpy as np

from ._evaluation import evaluate_epoch
from ._interrupt import NonFiniteLossError, SignalFlag, TrainingInterrupted
from .callbacks import CallbackList, ModelCheckpoint
from .layers.module import Module


def run(trainer, until_epoch: int, cbs: CallbackList) -> None:
    """Train until ``until_epoch`` epochs are done or a callback sets ``stop_training``."""
    for cb in cbs:
        cb.set_trainer(trainer)
    if trainer._pending_states is not None:
        from .checkpoint import restore_callback_states

        restore_callback_states(cbs, trainer._pending_states, trainer.last_checkpoint)
        trainer._pending_states = None
    trainer._cbs = cbs
    trainer.stop_training = False
    status = "failed"
    with SignalFlag() as flag:
        try:
            if isinstance(trainer.network, Module):
                trainer.network.train()
            cbs.call("on_train_begin", {"epoch": trainer.current_epoch,
                                        "step": trainer.current_iter})
            while trainer.current_epoch < until_epoch and not trainer.stop_training:
                run_epoch(trainer, cbs, flag)
            status = "stopped" if trainer.stop_training else "completed"
        except TrainingInterrupted:
            status = "interrupted"
            raise
        except NonFiniteLossError:
            status = "nonfinite"
            raise
        finally:
            cbs.call("on_train_end", {"epoch": trainer.current_epoch,
                                      "step": trainer.current_iter, "status": status})


def run_epoch(trainer, cbs: CallbackList, flag: SignalFlag) -> None:
    """One epoch, or the rest of one: an epoch that was interrupted after k steps starts from
    the shuffling state it began with, draws the same order and skips the k batches done."""
    epoch = trainer.current_epoch + 1
    if trainer._epoch_start_rng is None:
        trainer._epoch_start_rng = trainer.rng.bit_generator.state
    else:
        trainer.rng.bit_generator.state = trainer._epoch_start_rng
    done = trainer.step_in_epoch
    trainer._epoch_t0 = time.perf_counter() - trainer._epoch_elapsed
    cbs.call("on_epoch_begin", {"epoch": epoch, "step_in_epoch": done})
    batches = iter(trainer.loader)
    for _ in range(done):
        next(batches)
    for x_batch, t_batch in batches:
        loss = trainer.train_step(x_batch, t_batch)
        trainer.train_loss_list.append(loss)
        trainer.step_in_epoch += 1
        cbs.call("on_batch_end", {"epoch": epoch, "batch": trainer.step_in_epoch,
                                  "step": trainer.current_iter, "loss": loss,
                                  "lr": float(trainer.optimizer.lr)})
        if flag.signum is not None:
            interrupt(trainer, cbs, flag.signum)
    steps = trainer.step_in_epoch
    train_loss = float(np.mean(np.asarray(trainer.train_loss_list[-steps:], np.float64)))
    n = trainer.evaluate_sample_num_per_epoch
    x_tr, t_tr, x_te, t_te = trainer.x_train, trainer.t_train, trainer.x_test, trainer.t_test
    if n is not None:
        x_tr, t_tr, x_te, t_te = x_tr[:n], t_tr[:n], x_te[:n], t_te[:n]
    train_acc, test_loss, test_acc = evaluate_epoch(trainer.network, x_tr, t_tr, x_te, t_te,
                                                    trainer.batch_size)
    logs = {"epoch": epoch, "train_loss": train_loss, "train_acc": train_acc,
            "test_loss": test_loss, "test_acc": test_acc, "lr": float(trainer.optimizer.lr),
            "seconds": time.perf_counter() - trainer._epoch_t0}
    trainer.current_epoch = epoch
    trainer.step_in_epoch = 0
    trainer._epoch_start_rng, trainer._epoch_elapsed, trainer._epoch_t0 = None, 0.0, None
    trainer.history.append(logs)
    trainer.train_acc_list.append(train_acc)
    trainer.test_acc_list.append(test_acc)
    cbs.call("on_epoch_end", logs)
    if flag.signum is not None:
        interrupt(trainer, cbs, flag.signum)


def interrupt(trainer, cbs: CallbackList, signum: int) -> None:
    """Write every ModelCheckpoint's file, then raise TrainingInterrupted."""
    paths = [cb.path for cb in cbs if isinstance(cb, ModelCheckpoint)]
    for path in paths:
        trainer.save_checkpoint(path)
    raise TrainingInterrupted(trainer.current_epoch, trainer.current_iter,
                              trainer.step_in_epoch, paths[0] if paths else None, signum)
