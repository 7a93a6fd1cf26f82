"""What the PyTorch bridge's modules share: the lazy import of torch and tensor -> NumPy."""

from __future__ import annotations

from typing import Any

import numpy as np

INSTALL_HINT = "pip install torch==2.13.0  (the CPU build is enough)"


def require_torch():
    """Import and return ``torch``, or raise ImportError saying how to install it."""
    try:
        import torch
    except ImportError as e:
        raise ImportError(
            f"dlscratch.interop.torch needs PyTorch, which is not installed: {INSTALL_HINT}"
        ) from e
    return torch


def as_numpy(key: str, value: Any) -> np.ndarray | str:
    """A torch tensor or array-like as a NumPy array, or a message saying why it is not one."""
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor
        value = value.detach().cpu()
        if str(value.dtype) == "torch.bfloat16":
            value = value.float()
        value = value.numpy()
    try:
        arr = np.asarray(value)
    except Exception as e:  # noqa: BLE001 - reported with the key below
        return f"{key}: not an array ({type(value).__name__}: {e})"
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        return f"{key}: dtype {arr.dtype} is not numeric"
    return arr
