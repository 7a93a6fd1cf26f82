"""Reading ``.pth`` weight files as torchvision publishes them (a part of
``dlscratch.interop.torch``, which re-exports :func:`load_torchvision_checkpoint`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ._torch_common import as_numpy, require_torch


def load_torchvision_checkpoint(path: str | Path, key: str | None = None) -> dict[str, np.ndarray]:
    """Read a ``.pth`` state_dict as torchvision publishes it, as NumPy arrays.

    The file is read with ``torch.load(path, map_location="cpu", weights_only=True)``, which
    refuses anything but tensors and plain containers: a checkpoint is never unpickled as
    code. Floating tensors keep their dtype (bfloat16 becomes float32).

    Parameters
    ----------
    path : the ``.pth`` file, e.g. torchvision's ``resnet50-0676ba61.pth``.
    key : for a training checkpoint that nests the weights (``{"state_dict": {...}, ...}``),
        the entry that holds them.

    Returns
    -------
    dict torch name -> array, ready for :func:`load_torch_state_dict`.
    """
    torch = require_torch()
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint file")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any failure means: not a readable weights file
        raise ValueError(
            f"{path}: not a PyTorch weights file that torch.load(weights_only=True) accepts "
            f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"
        ) from e
    if key is not None:
        if not isinstance(obj, Mapping) or key not in obj:
            found = list(obj)[:10] if isinstance(obj, Mapping) else type(obj).__name__
            raise ValueError(f"{path}: no entry {key!r} in the checkpoint (found {found})")
        obj = obj[key]
    if not isinstance(obj, Mapping):
        raise ValueError(f"{path}: expected a state_dict (name -> tensor), found "
                         f"{type(obj).__name__}")
    nested = [k for k, v in obj.items() if isinstance(v, Mapping)]
    not_tensors = [k for k, v in obj.items() if not isinstance(v, torch.Tensor)]
    if not_tensors:
        hint = f"; pass key= one of {nested}" if nested else ""
        raise ValueError(f"{path}: not a flat state_dict: entries {not_tensors[:10]} are not "
                         f"tensors{hint}")
    out: dict[str, np.ndarray] = {}
    for k, v in obj.items():
        arr = as_numpy(str(k), v)
        if isinstance(arr, str):
            raise ValueError(f"{path}: {arr}")
        out[str(k)] = np.array(arr, copy=True)
    return out
