"""Training checkpoints: everything a :class:`~dlscratch.trainer.Trainer` needs to continue
a run exactly, stored in a dlscratch model file.

A checkpoint is written by :func:`dlscratch.io.save` (atomically; ``io.load_model`` reads the
model from it like any model file) with

* extra arrays: the optimizer's per-parameter state as ``optimizer.0``, ``optimizer.1``, ...
  and the per-step training losses as ``trainer.train_loss``;
* extra metadata ``{"checkpoint": {...}}``: ``version``, the counters (``epoch`` completed,
  global ``step``, ``step_in_epoch``, ``epoch_elapsed`` seconds), the data layout it is valid for
  (``train_size``, ``batch_size``), the optimizer (``class``, ``t``, ``lr`` and the
  ``[key, slot]`` name of each optimizer array), the random states (``rng``: the trainer's
  Generator now and at the start of the running epoch, and every Generator attribute of the
  model's modules, such as ``layers.Dropout1.rng``), the states of stateful callbacks
  (``callbacks``: EarlyStopping, the learning-rate schedule) and the per-epoch ``history``.

Random states are JSON: a Generator's ``bit_generator.state`` dict, with NumPy arrays written as
``{"__ndarray__": [...], "dtype": "uint32"}``.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ._interrupt import NonFiniteLossError
from .callbacks import METRICS, CallbackList, History
from .layers.module import Module

__all__ = ["CHECKPOINT_VERSION", "load_checkpoint", "model_generators", "save_checkpoint"]

CHECKPOINT_VERSION = 1
_LOSSES = "trainer.train_loss"


# ---------------------------------------------------------------------- random states
def model_generators(network: Module) -> dict[str, np.random.Generator]:
    """Every ``np.random.Generator`` held as an attribute by the network's modules.

    Keyed ``"<module path>.<attribute>"`` (``"layers.Dropout1.rng"``); a Generator shared by
    several modules appears under each of their names.
    """
    out = {}
    for name, module in network.named_modules():
        for attr, value in vars(module).items():
            if isinstance(value, np.random.Generator):
                out[f"{name}.{attr}" if name else attr] = value
    return out


def _encode(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _encode(v) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        return {"__ndarray__": obj.tolist(), "dtype": str(obj.dtype)}
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def _decode(obj: Any) -> Any:
    if isinstance(obj, dict):
        if "__ndarray__" in obj:
            return np.array(obj["__ndarray__"], dtype=obj["dtype"])
        return {k: _decode(v) for k, v in obj.items()}
    return obj


def _set_state(gen: np.random.Generator, state: Any, what: str, path: Path) -> None:
    try:
        gen.bit_generator.state = _decode(state)
    except (TypeError, ValueError, KeyError) as e:
        raise ValueError(f"{path}: cannot restore the random state of {what} ({e}); build the "
                         "Generator with the same bit generator as in the original run") from e


# ---------------------------------------------------------------------- saving
def _check_finite(trainer) -> None:
    net = trainer.network
    arrays = [(n, p.data) for n, p in net.named_parameters()] + list(net.named_buffers())
    for name, a in arrays:
        if np.issubdtype(a.dtype, np.floating) and not np.isfinite(a).all():
            raise NonFiniteLossError(
                trainer.current_epoch + 1, trainer.current_iter, None, trainer.last_checkpoint,
                what=f"the weights {name} contain NaN or inf after step {trainer.current_iter}, "
                     "so no checkpoint was written")


def save_checkpoint(trainer, path: str | os.PathLike) -> Path:
    """Write ``trainer``'s full training state to ``path`` (see the module docstring)."""
    from . import io

    net = trainer.network
    if not isinstance(net, Module):
        raise TypeError(f"checkpoints need a dlscratch Module network (such as the models in "
                        f"dlscratch.models); {type(net).__name__} is a plain object, so save its "
                        "params with network.save_params(...) instead")
    _check_finite(trainer)
    opt = trainer.optimizer
    sd = opt.state_dict()
    slots, arrays = [], {}
    for key, state in sd["state"].items():
        for name, value in state.items():
            arrays[f"optimizer.{len(slots)}"] = value
            slots.append([str(key), name])
    arrays[_LOSSES] = np.asarray(trainer.train_loss_list, dtype=np.float64)
    elapsed = trainer._epoch_elapsed
    if trainer._epoch_t0 is not None:
        import time

        elapsed = time.perf_counter() - trainer._epoch_t0
    cbs = getattr(trainer, "_cbs", None) or CallbackList([])
    meta = {
        "version": CHECKPOINT_VERSION,
        "epoch": trainer.current_epoch,
        "step": trainer.current_iter,
        "step_in_epoch": trainer.step_in_epoch,
        "epoch_elapsed": elapsed if trainer.step_in_epoch else 0.0,
        "train_size": trainer.train_size,
        "batch_size": trainer.batch_size,
        "optimizer": {"class": type(opt).__name__, "t": int(sd["t"]), "lr": float(sd["lr"]),
                      "slots": slots},
        "rng": {
            "trainer": _encode(trainer.rng.bit_generator.state),
            "epoch_start": (None if trainer._epoch_start_rng is None
                            else _encode(trainer._epoch_start_rng)),
            "model": {k: _encode(g.bit_generator.state)
                      for k, g in model_generators(net).items()},
        },
        "callbacks": {k: _encode(cb.state_dict()) for k, cb in cbs.stateful()},
        "history": trainer.history.history,
    }
    return Path(io.save(net, path, extra_arrays=arrays, extra_meta={"checkpoint": meta}))


# ---------------------------------------------------------------------- loading
def _mismatch(path: Path, what: str, saved: Any, now: Any) -> ValueError:
    return ValueError(f"{path} was written for {what} {saved!r}, but this trainer has {now!r}; "
                      "build the Trainer, network and optimizer as for the original run")


def load_checkpoint(trainer, path: str | os.PathLike) -> None:
    """Restore ``trainer`` (network, optimizer, random states, counters, history) from
    ``path``. Everything is checked before anything is changed."""
    from . import io

    path = Path(path)
    net = trainer.network
    if not isinstance(net, Module):
        raise TypeError(f"checkpoints need a dlscratch Module network; got "
                        f"{type(net).__name__}")
    mf = io.read_model_file(path)
    ck = (mf.extra_meta or {}).get("checkpoint")
    if not isinstance(ck, dict):
        raise ValueError(f"{path} is a model file without training state, not a checkpoint; "
                         "resume from the checkpoint a ModelCheckpoint callback wrote, or load "
                         "only the weights with dlscratch.io.load_model")
    if int(ck.get("version", 0)) > CHECKPOINT_VERSION:
        raise ValueError(f"{path} is a checkpoint of version {ck.get('version')}, newer than "
                         f"this dlscratch reads ({CHECKPOINT_VERSION}); upgrade dlscratch")
    saved_class = mf.meta.get("class")
    if saved_class is not None and saved_class != type(net).__name__:
        raise _mismatch(path, "the network", saved_class, type(net).__name__)
    for key, now in (("train_size", trainer.train_size), ("batch_size", trainer.batch_size)):
        if ck[key] != now:
            raise _mismatch(path, key, ck[key], now)
    opt, o = trainer.optimizer, ck["optimizer"]
    if o["class"] != type(opt).__name__:
        raise _mismatch(path, "the optimizer", o["class"], type(opt).__name__)
    state: dict[str, dict[str, np.ndarray]] = {}
    for i, (key, name) in enumerate(o["slots"]):
        arr = mf.extra_arrays[f"optimizer.{i}"]
        if opt.params is not None:
            if not key.isdigit() or int(key) >= len(opt.params):
                raise ValueError(f"{path}: optimizer state for parameter {key!r}, but the "
                                 f"optimizer has {len(opt.params)} parameters")
            if arr.shape != opt.params[int(key)].shape:
                raise _mismatch(path, f"optimizer slot {key}/{name} of shape", arr.shape,
                                opt.params[int(key)].shape)
        state.setdefault(key, {})[name] = arr
    gens = model_generators(net)
    saved_gens = ck["rng"]["model"]
    if set(gens) != set(saved_gens):
        raise _mismatch(path, "random Generators in the network", sorted(saved_gens),
                        sorted(gens))
    history = History({k: ck["history"][k] for k in METRICS})
    losses = mf.extra_arrays[_LOSSES]
    if len(losses) != ck["step"]:
        raise ValueError(f"{path}: {len(losses)} step losses for {ck['step']} steps; the "
                         "checkpoint is inconsistent")
    try:
        net.load_state_dict(mf.state)
    except (KeyError, ValueError) as e:
        raise ValueError(f"{path} does not fit this network: {e}") from e
    # -- from here on nothing can fail but a malformed random state
    for key, gen in gens.items():
        _set_state(gen, saved_gens[key], key, path)
    _set_state(trainer.rng, ck["rng"]["trainer"], "the trainer's rng", path)
    start = ck["rng"]["epoch_start"]
    trainer._epoch_start_rng = None if start is None else _decode(start)
    opt.load_state_dict({"t": o["t"], "lr": o["lr"], "state": state})
    trainer.current_epoch = int(ck["epoch"])
    trainer.current_iter = int(ck["step"])
    trainer.step_in_epoch = int(ck["step_in_epoch"])
    trainer._epoch_elapsed = float(ck["epoch_elapsed"])
    trainer._epoch_t0 = None
    trainer.train_loss_list[:] = [float(v) for v in losses]
    trainer.history = history
    trainer.train_acc_list[:] = list(history.history["train_acc"])
    trainer.test_acc_list[:] = list(history.history["test_acc"])
    trainer._pending_states = ck.get("callbacks", {})


def restore_callback_states(cbs: CallbackList, states: dict[str, Any], path: Path | None) -> None:
    """Give each stateful callback its saved state; warn about states and callbacks left over."""
    configured = dict(cbs.stateful())
    for key, cb in configured.items():
        if key in states:
            cb.load_state_dict(_decode(states[key]))
        else:
            warnings.warn(f"{key} has no saved state in the checkpoint {path}; it starts afresh, "
                          "so the resumed run can differ from an uninterrupted one",
                          RuntimeWarning, stacklevel=3)
    for key in states:
        if key not in configured:
            warnings.warn(f"the checkpoint {path} holds the state of {key}, which this fit() "
                          "does not have; add the same callback (or lr_scheduler) to resume "
                          "the run exactly", RuntimeWarning, stacklevel=3)
