"""Parameter: a trainable array, its gradient, and whether it is trained (``requires_grad``)."""

from __future__ import annotations

import numpy as np


class Parameter:
    """A trainable array and its gradient.

    Attributes
    ----------
    data : np.ndarray
        The values, updated in place by the optimizers.
    grad : np.ndarray or None
        dL/d(data), same shape and dtype as ``data``; ``None`` until a backward pass writes it and
        again after ``zero_grad()``.
    requires_grad : bool
        ``False`` freezes the parameter: layers compute no gradient for it (its grad stays as it
        is, None after ``Module.freeze``) and optimizers skip it, weight decay included.
        Freezing is independent of train/eval mode.
    decay : bool
        Whether weight decay applies (True for weights, False for biases and BatchNorm's gamma
        and beta).
    """

    __slots__ = ("data", "grad", "requires_grad", "decay")

    def __init__(self, data: np.ndarray, *, requires_grad: bool = True, decay: bool = True):
        if not isinstance(data, np.ndarray):
            data = np.asarray(data)
        if not np.issubdtype(data.dtype, np.floating):
            raise TypeError(
                f"a Parameter must hold floating-point values, got dtype {data.dtype}; "
                "convert it first, e.g. arr.astype(np.float32)"
            )
        self.data = data
        self.grad: np.ndarray | None = None
        self.requires_grad = requires_grad
        self.decay = decay

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    def accumulate(self, g: np.ndarray) -> None:
        """Add ``g`` to ``grad`` (the first call after ``zero_grad`` takes ``g`` as it is).

        ``g`` must be a fresh array that no one else holds (layers pass the result of a product
        or a sum), because it may be kept and added to later.
        """
        if not self.requires_grad:
            return
        if g.shape != self.data.shape:
            raise ValueError(
                f"gradient shape {g.shape} does not match parameter shape {self.data.shape}"
            )
        if self.grad is None:
            self.grad = g.astype(self.data.dtype, copy=False)
        else:
            self.grad += g

    def __repr__(self) -> str:
        frozen = "" if self.requires_grad else ", frozen"
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype}{frozen})"
