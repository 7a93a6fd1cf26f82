"""The fully connected layer: Linear (the lectures' Affine).

    out = x @ W + b        x: (N, in), W: (in, out), b: (out,), out: (N, out)
    dx  = dout @ W.T       dW = x.T @ dout        db = sum_n dout

N-D input (e.g. (N, C, H, W) images) is flattened to (N, C*H*W) for the product and dx is
returned in the input's shape. A 1-D input (D,) is one sample and gives a 1-D output (out,).
"""

from __future__ import annotations

import numpy as np

from .init import init_std, normal
from .module import Module, Parameter


class Linear(Module):
    """Fully connected layer with weight ``W`` of shape (in_features, out_features).

    Parameters
    ----------
    in_features, out_features : sizes of the input and output vectors.
    weight_init_std : a number (plain Gaussian std) or "he"/"relu" or "xavier"/"sigmoid".
    bias : whether to add ``b``.
    dtype : float32 by default; float64 for exact gradient checks.
    rng : None, a seed or a ``np.random.Generator`` for the initial weights.

    Notes
    -----
    ``compute_dx = False`` skips dx in backward (returns None): the first layer of a network
    never needs it, and it costs as much as dW. A frozen ``W`` (or ``b``) is not given a
    gradient: its product (sum) is not computed.
    """

    supports_compute_dx = True

    def __init__(
        self,
        in_features: int,
        out_features: int,
        weight_init_std: float | str = "he",
        bias: bool = True,
        dtype=np.float32,
        rng=None,
    ) -> None:
        super().__init__()
        std = init_std(weight_init_std, in_features)
        self.W = Parameter(normal((in_features, out_features), std, dtype, rng))
        if bias:
            self.b = Parameter(np.zeros(out_features, dtype=dtype), decay=False)
        self.x = None
        self.original_x_shape = None

    @property
    def in_features(self) -> int:
        return self._parameters["W"].data.shape[0]

    @property
    def out_features(self) -> int:
        return self._parameters["W"].data.shape[1]

    def forward(self, x: np.ndarray) -> np.ndarray:
        W = self._parameters["W"].data
        x = np.asarray(x)
        self.original_x_shape = x.shape
        if x.ndim == 0:
            raise ValueError(f"{type(self).__name__}: input must have at least one axis")
        if x.ndim != 2:  # (D,) is one sample; (N, C, H, W) is flattened to (N, C*H*W)
            x = x.reshape(1 if x.ndim == 1 else x.shape[0], -1)
        if x.shape[1] != W.shape[0]:
            raise ValueError(
                f"{type(self).__name__}: input of shape {self.original_x_shape} has "
                f"{x.shape[1]} features per sample but W has shape {W.shape} "
                f"(expects {W.shape[0]} inputs)"
            )
        self.x = x
        out = x @ W
        b = self._parameters.get("b")
        if b is not None:
            out += b.data
        return out[0] if len(self.original_x_shape) == 1 else out

    def backward(self, dout: np.ndarray) -> np.ndarray | None:
        x = self.x
        if x is None:
            raise RuntimeError(f"{type(self).__name__}.backward() called before forward()")
        dout = np.asarray(dout)
        if dout.ndim == 1:  # a single sample, as returned for 1-D input
            dout = dout.reshape(1, -1)
        if dout.shape != (x.shape[0], self._parameters["W"].data.shape[1]):
            raise ValueError(
                f"{type(self).__name__}.backward: dout of shape {dout.shape} does not match the "
                f"forward output of shape {(x.shape[0], self._parameters['W'].data.shape[1])}"
            )
        params = self._parameters
        W = params["W"]
        if W.requires_grad:
            W.accumulate(x.T @ dout)
        b = params.get("b")
        if b is not None and b.requires_grad:
            b.accumulate(dout.sum(axis=0))
        if not self.compute_dx:
            return None
        dx = dout @ W.data.T
        return dx.reshape(self.original_x_shape)

    def extra_repr(self) -> str:
        W = self._parameters["W"].data
        return f"in_features={W.shape[0]}, out_features={W.shape[1]}, dtype={W.dtype}"


class Affine(Linear):
    """The lectures' ``Affine(W, b)``: a Linear layer around the given arrays (not copies).

    ``W`` has shape (in, out) and ``b`` shape (out,). Updating the arrays in place, as the
    lectures' ``params[key] -= lr * grads[key]`` does, updates the layer.
    """

    def __init__(self, W: np.ndarray, b: np.ndarray) -> None:
        Module.__init__(self)
        W = np.asarray(W)
        b = np.asarray(b)
        if W.ndim != 2 or b.shape != (W.shape[1],):
            raise ValueError(
                f"Affine needs W of shape (in, out) and b of shape (out,); got W {W.shape}, "
                f"b {b.shape}"
            )
        self.W = Parameter(W)
        self.b = Parameter(b, decay=False)
        self.x = None
        self.original_x_shape = None
