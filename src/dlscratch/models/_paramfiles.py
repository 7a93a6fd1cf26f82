"""The lectures' parameter files and numerics for :class:`~dlscratch.models.base.Net`: float64
copies for numerical gradients, the Dropout convention, ``save_params`` / ``load_params``.

A lecture pickle (the book's ``params.pkl``, ``deep_convnet_params.pkl``) holds weights trained
with the book's Dropout, which multiplies by (1 - p) at test time; dlscratch's Dropout is
inverted. Loading such a pickle switches the network's Dropout layers to the book's convention
(``scale_at_test``); dlscratch's .npz files record the convention they were saved with.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .._weightfile import ModelFileError, is_pickle_name, read_params, save_params
from ..layers.dropout import Dropout
from ..layers.module import Module

__all__ = ["dropout_mode", "float64_copies", "load_net_params", "save_net_params",
           "set_dropout_mode"]

MODES = ("book", "inverted")


@contextlib.contextmanager
def float64_copies(net: Module) -> Iterator[None]:
    """Replace ``net``'s floating parameters and buffers by float64 copies inside the block;
    put the original arrays back on leaving, also when the block raises."""
    mods = [m for _, m in net.named_modules()]
    saved_params = [(p, p.data, p.grad) for m in mods for p in m._parameters.values()]
    saved_buffers = [(m, dict(m._buffers)) for m in mods]
    dtype = next((d for _, d, _ in saved_params), np.zeros(0)).dtype
    f64 = np.dtype(np.float64)
    try:
        for p, data, _ in saved_params:
            p.data = data.astype(f64)  # a copy, even when data is float64 already
            p.grad = None
        for m, buffers in saved_buffers:
            for k, b in buffers.items():
                if np.issubdtype(b.dtype, np.floating):
                    m._buffers[k] = b.astype(f64)
        for m in mods:
            m._on_dtype_change(f64)
        yield
    finally:
        for p, data, grad in saved_params:
            p.data, p.grad = data, grad
        for m, buffers in saved_buffers:
            m._buffers.clear()
            m._buffers.update(buffers)
        for m in mods:
            m._on_dtype_change(dtype)


def dropout_mode(net: Module) -> str | None:
    """"book", "inverted" or None (no Dropout layer); ValueError when layers disagree."""
    modes = {m.scale_at_test for _, m in net.named_modules() if isinstance(m, Dropout)}
    if not modes:
        return None
    if len(modes) > 1:
        raise ValueError(f"{type(net).__name__} mixes Dropout conventions (some layers scale "
                         "at test time, some do not); set one with set_dropout_mode")
    return "book" if modes.pop() else "inverted"


def set_dropout_mode(net: Module, mode: str) -> None:
    """Every Dropout layer of ``net`` to the book's convention or to inverted dropout."""
    if mode not in MODES:
        raise ValueError(f"dropout mode must be 'book' or 'inverted', got {mode!r}")
    for _, m in net.named_modules():
        if isinstance(m, Dropout):
            m.scale_at_test = mode == "book"


def save_net_params(net, file_name: str | os.PathLike) -> Path:
    """``net.params`` to ``file_name``: .pkl the book's pickle, else .npz with the convention."""
    mode = dropout_mode(net)
    if is_pickle_name(file_name):
        active = any(m.p > 0 for _, m in net.named_modules() if isinstance(m, Dropout))
        if mode == "inverted" and active:
            raise ValueError(
                f"{file_name}: a .pkl file holds the book's layout, read with the book's "
                "Dropout (x * (1 - p) at test time), but this network's Dropout is inverted, "
                "so these weights would predict differently when loaded from it; save as "
                ".npz (e.g. 'params.npz') instead")
    return save_params(net.params, file_name,
                       meta={"dropout": mode} if mode is not None else None)


def load_net_params(net, file_name: str | os.PathLike) -> None:
    """Check the file against ``net.params`` (names, shapes), then load it and set the Dropout
    convention: the book's for a pickle, the recorded one (default inverted) for an .npz."""
    params, meta = read_params(file_name)
    name = type(net).__name__
    unknown = [k for k in params if k not in net.params]
    missing = [k for k in net.params if k not in params]
    if unknown or missing:
        raise ModelFileError(
            f"{file_name} does not hold this {name}'s parameters ({list(net.params)}): "
            + "; ".join(f"{what}: {keys}" for what, keys in
                        (("not in the network", unknown), ("missing", missing)) if keys))
    wrong = [f"{k} {np.shape(v)} (the network's is {net.params[k].shape})"
             for k, v in params.items() if np.shape(v) != net.params[k].shape]
    if wrong:
        raise ModelFileError(f"{file_name}: shapes do not fit this {name}: " + ", ".join(wrong))
    mode = "book" if meta is None else meta.get("dropout") or "inverted"
    if mode not in MODES:
        raise ModelFileError(f"{file_name}: unknown dropout convention {mode!r} in the "
                             "metadata (expected 'book' or 'inverted')")
    for key, val in params.items():
        net.params[key] = val
    if dropout_mode(net) is not None:
        set_dropout_mode(net, mode)
