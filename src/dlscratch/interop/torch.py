"""dlscratch <-> PyTorch: state_dicts in torch.nn's names and layouts, and torch.nn modules.

PyTorch is optional: ``pip install torch==2.13.0`` (the CPU build is enough). It is imported
inside the functions that need it, so ``import dlscratch.interop.torch`` always works; those
functions raise ImportError with the install command. ``load_torch_state_dict`` needs torch only
to read torch tensors (NumPy arrays load without it).

Names and layouts (torch.nn's, as torchvision uses them)::

    dlscratch                               PyTorch
    Linear   W (in, out), b (out,)          Linear      weight (out, in) = W.T, bias
    Conv2d   W (FN, C, FH, FW), b (FN,)     Conv2d      weight (out, in, kh, kw) = W, bias
    BatchNorm gamma, beta,                  BatchNorm*d weight, bias,
              running_mean, running_var                 running_mean, running_var,
              --                                        num_batches_tracked (int64)

A torch key is the layer's path in the network followed by the torch name:

* the lecture networks (MultiLayerNet, TwoLayerNet, SimpleConvNet, DeepConvNet) name their
  layers as the lectures do, so ``layers.Affine1.W`` is ``Affine1.weight`` and
  ``layers.Conv1.W`` is ``Conv1.weight``: the state_dict of an ``nn.Sequential(OrderedDict)``
  whose modules carry the lectures' layer names (``to_torch_module`` builds exactly that);
* a ResNet's layers already carry torchvision's paths (``conv1``, ``layer1.0.bn1``,
  ``layer1.0.downsample.1``, ``fc``), so its keys are torchvision's.

``num_batches_tracked`` is exported as the layer's batch count when it keeps one and as 0
otherwise (dlscratch's BatchNorm always uses ``momentum``; PyTorch reads the count only when
``momentum=None``). On import it is accepted and ignored, and it may be absent.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..layers import BatchNorm, Conv2d, Linear, Module, Sequential
from ..models.base import Net
from ._torch_checkpoint import load_torchvision_checkpoint
from ._torch_common import as_numpy, require_torch

if TYPE_CHECKING:  # pragma: no cover
    import torch as _torch

__all__ = [
    "TorchStateDictError", "load_torch_state_dict", "load_torchvision_checkpoint",
    "to_torch_module", "to_torch_state_dict", "torch_names",
]

# dlscratch attribute -> torch name, for the layers that hold parameters or buffers
_TORCH_NAME = {
    "W": "weight", "b": "bias", "gamma": "weight", "beta": "bias",
    "weight": "weight", "bias": "bias",
    "running_mean": "running_mean", "running_var": "running_var",
    "num_batches_tracked": "num_batches_tracked",
}
_LAYERS_WITH_STATE = (Linear, Conv2d, BatchNorm)


class TorchStateDictError(ValueError):
    """A PyTorch state_dict does not fit a dlscratch model (nothing was changed)."""


@dataclass(frozen=True)
class _Entry:
    """One torch key and where its value lives in the dlscratch model."""

    key: str  # torch name, e.g. "Affine1.weight"
    module: Module
    attr: str  # attribute in the dlscratch layer, e.g. "W"
    transpose: bool  # Linear weights: torch keeps (out, in)
    count: bool = False  # num_batches_tracked: exported, ignored on import

    def value(self) -> np.ndarray:
        if self.count:
            buf = self.module._buffers.get(self.attr)
            return np.asarray(0 if buf is None else buf, dtype=np.int64)
        store = self.module._parameters
        arr = store[self.attr].data if self.attr in store else self.module._buffers[self.attr]
        return arr.T if self.transpose else arr


def _layer_prefix(model: Module, path: str) -> str:
    """The torch path of the layer at dlscratch ``path``: lecture nets drop ``layers.``."""
    if is_lecture_net(model) and path.startswith("layers."):
        return path[len("layers."):]
    return path


def is_lecture_net(model: Module) -> bool:
    """Whether ``model`` keeps its layers in a lecture-style ``layers`` Sequential."""
    return isinstance(model, Net) and isinstance(model._modules.get("layers"), Sequential)


def _entries(model: Module) -> list[_Entry]:
    """Every torch key of ``model`` in torch's order (parameters, then buffers, per layer)."""
    if not isinstance(model, Module):
        raise TypeError(f"expected a dlscratch Module, got {type(model).__name__}")
    out: list[_Entry] = []
    for path, mod in model.named_modules():
        if not mod._parameters and not mod._buffers:
            continue
        if not isinstance(mod, _LAYERS_WITH_STATE) or not path:
            raise TypeError(
                f"{type(mod).__name__} at {path or '(the model)'!r} holds parameters but has no "
                "PyTorch counterpart in dlscratch.interop.torch (supported: Linear, Conv2d, "
                "BatchNorm)"
            )
        prefix = _layer_prefix(model, path) + "."
        for attr in [*mod._parameters, *mod._buffers]:
            if attr not in _TORCH_NAME:
                raise TypeError(f"{type(mod).__name__} at {path!r}: no PyTorch name for {attr!r}")
            transpose = isinstance(mod, Linear) and attr in ("W", "weight")
            out.append(_Entry(prefix + _TORCH_NAME[attr], mod, attr, transpose,
                              count=attr == "num_batches_tracked"))
        if isinstance(mod, BatchNorm) and "num_batches_tracked" not in mod._buffers:
            out.append(_Entry(prefix + "num_batches_tracked", mod, "num_batches_tracked",
                              False, count=True))
    return out


def torch_names(model: Module) -> OrderedDict[str, str]:
    """The name-mapping table: torch key -> the array's dotted path in dlscratch, as
    ``named_parameters()`` / ``named_buffers()`` give it (``"Affine1.weight" ->
    "layers.Affine1.W"``, ``"layer1.0.bn1.weight" -> "layer1.0.bn1.gamma"``);
    ``num_batches_tracked`` maps to ``""`` when the dlscratch layer keeps no count."""
    paths = {id(m): p for p, m in model.named_modules()}
    table: OrderedDict[str, str] = OrderedDict()
    for e in _entries(model):
        has = e.attr in e.module._parameters or e.attr in e.module._buffers
        table[e.key] = f"{paths[id(e.module)]}.{e.attr}" if has else ""
    return table


def to_torch_state_dict(model: Module) -> OrderedDict[str, _torch.Tensor]:
    """The model's parameters and buffers as a PyTorch state_dict (copies, the model's dtype).

    Parameters
    ----------
    model : a dlscratch network (MultiLayerNet, TwoLayerNet, SimpleConvNet, DeepConvNet, a
        ResNet, or any Module made of Linear, Conv2d and BatchNorm layers).

    Returns
    -------
    OrderedDict mapping torch names (``"Affine1.weight"``, ``"layer1.0.bn1.running_var"``) to
    tensors in torch's layouts: Linear weights transposed to (out, in), convolution weights
    (out, in, kh, kw) as they are, ``num_batches_tracked`` an int64 scalar. Load it with
    ``torch_module.load_state_dict(sd)`` or save it with ``torch.save(sd, "model.pth")``.
    """
    torch = require_torch()
    return OrderedDict(
        (e.key, torch.from_numpy(np.array(e.value(), copy=True, order="C")))
        for e in _entries(model)
    )


def load_torch_state_dict(
    model: Module, state_dict: Mapping[str, Any], strict: bool = True
) -> tuple[list[str], list[str]]:
    """Copy a PyTorch state_dict (torch tensors or NumPy arrays) into ``model`` in place.

    Every key is checked before anything is written: on any problem a
    :class:`TorchStateDictError` lists the missing keys, the unexpected keys and the keys of the
    wrong shape (expected vs given, in PyTorch's layout), and the model is left unchanged.
    Values are converted to the model's dtype; Linear weights are transposed from (out, in).
    ``num_batches_tracked`` is ignored (and may be absent). Torch is needed only to read
    torch tensors.

    Parameters
    ----------
    model : the dlscratch network to fill (built with the same architecture).
    state_dict : torch name -> tensor or array, as ``to_torch_state_dict`` or
        ``torch_module.state_dict()`` give it, or :func:`load_torchvision_checkpoint` returns.
    strict : with False, missing and unexpected keys are allowed (shapes are still checked),
        e.g. to load a backbone and keep a new classifier.

    Returns
    -------
    (missing, unexpected) : the key lists (empty when strict).
    """
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"state_dict must be a mapping of names to tensors, got "
                        f"{type(state_dict).__name__}")
    entries = {e.key: e for e in _entries(model)}
    missing = [k for k, e in entries.items() if k not in state_dict and not e.count]
    unexpected = [k for k in state_dict if k not in entries]
    problems: list[str] = []
    ready: list[tuple[_Entry, np.ndarray]] = []
    for key, e in entries.items():
        if key not in state_dict or e.count:
            continue
        arr = as_numpy(key, state_dict[key])
        if isinstance(arr, str):
            problems.append(arr)
        elif arr.shape != e.value().shape:
            problems.append(f"{key}: expected {tuple(e.value().shape)}, given {arr.shape}")
        else:
            ready.append((e, arr))
    if problems or (strict and (missing or unexpected)):
        raise TorchStateDictError(_mismatch_message(model, missing, unexpected, problems))
    for e, arr in ready:
        if e.transpose:
            arr = arr.T
        if e.attr in e.module._parameters:
            np.copyto(e.module._parameters[e.attr].data, arr, casting="unsafe")
        else:
            old = e.module._buffers[e.attr]
            e.module._buffers[e.attr] = np.array(arr, dtype=old.dtype, copy=True)
    return missing, unexpected


def _mismatch_message(model: Module, missing: list[str], unexpected: list[str],
                      problems: list[str]) -> str:
    lines = [f"the state_dict does not fit {type(model).__name__}; nothing was loaded."]
    for title, keys in (("missing keys", missing), ("unexpected keys", unexpected),
                        ("wrong shapes or values (PyTorch layout)", problems)):
        if keys:
            lines.append(f"  {title} ({len(keys)}): " + ", ".join(keys))
    if unexpected and all(k.startswith("module.") for k in unexpected):
        lines.append("  (every key starts with 'module.': a DataParallel checkpoint; strip "
                     "that prefix first)")
    elif unexpected and any(k.rsplit(".", 1)[-1] in ("W", "b", "gamma", "beta")
                            for k in unexpected):
        lines.append("  (dlscratch names such as '.W' or '.gamma': for a dlscratch state_dict "
                     "use model.load_state_dict instead)")
    lines.append("  Build the model with the same architecture and number of classes; to load "
                 "only a part (e.g. a backbone for a new classifier), leave the other keys out "
                 "of the state_dict and pass strict=False.")
    return "\n".join(lines)


def to_torch_module(model: Module):
    """A ``torch.nn.Module`` with the same architecture, weights, dtype and train/eval mode.

    The lecture networks become an ``nn.Sequential(OrderedDict)`` whose modules carry the
    lectures' layer names (``Affine1``, ``BatchNorm1``, ``Conv1``, ``Pool1``, ...), with an
    ``nn.Flatten`` inserted where a Linear layer receives images (dlscratch's Linear flattens
    them itself); the ResNets become torchvision's layout (``conv1``, ``bn1``, ``layer1`` ...
    ``fc``). The module returns the scores (logits); the loss is ``nn.CrossEntropyLoss()``,
    which equals dlscratch's SoftmaxWithLoss.
    """
    require_torch()
    from ._torch_modules import build_torch_module

    module = build_torch_module(model)
    module.load_state_dict(to_torch_state_dict(model), strict=True)
    return module.train(model.training)
