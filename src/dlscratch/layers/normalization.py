"""Batch normalisation, over features (N, D) or per channel (N, C, H, W).

Training mode, with mean and variance over the batch axes (N for 2-D input; N, H, W for 4-D):

    mu = mean(x),  var = mean((x - mu)^2),  xn = (x - mu) / sqrt(var + eps)
    out = gamma * xn + beta
    dx = (1 / sqrt(var + eps)) * (dxn - mean(dxn) - xn * mean(dxn * xn)),  dxn = dout * gamma
       = gamma / sqrt(var + eps) * (dout - dbeta / m - xn * dgamma / m)      (m values averaged)

and the running statistics (buffers, not parameters) move towards the batch's:
``running = (1 - momentum) * running + momentum * batch`` (PyTorch's convention; the running
variance uses the unbiased batch variance). Eval mode normalises with the running statistics.
"""

from __future__ import annotations

import numpy as np

from .module import Module, Parameter

#: Added to the variance before the square root (the book writes 10e-7, i.e. 1e-6).
BATCHNORM_EPS = 1e-5


class BatchNorm(Module):
    """BatchNorm with ``gamma`` (scale) and ``beta`` (shift) of shape (num_features,).

    Accepts (N, num_features) or (N, num_features, H, W) input.

    Backward honours ``compute_dx = False`` (returns None) and computes dgamma = sum(dout * xn)
    and dbeta = sum(dout) only for parameters that are not frozen.
    """

    supports_compute_dx = True

    def __init__(
        self,
        num_features: int,
        eps: float = BATCHNORM_EPS,
        momentum: float = 0.1,
        dtype=np.float32,
    ) -> None:
        super().__init__()
        self.eps = eps
        self.momentum = momentum
        self.gamma = Parameter(np.ones(num_features, dtype=dtype), decay=False)
        self.beta = Parameter(np.zeros(num_features, dtype=dtype), decay=False)
        self.register_buffer("running_mean", np.zeros(num_features, dtype=dtype))
        self.register_buffer("running_var", np.ones(num_features, dtype=dtype))
        self._cache = None
        #: None, or the sums over every part of a batch that ``Net.set_num_threads`` split
        #: over threads (``total(local_sum)``, ``batch_size``): training-mode statistics are
        #: then the whole batch's, as with one thread (see dlscratch.models.batch_sums).
        self.batch_sums = None

    def _axes_and_shape(self, x: np.ndarray):
        c = self._parameters["gamma"].data.shape[0]
        if x.ndim == 2 and x.shape[1] == c:
            return (0,), (1, c)
        if x.ndim == 4 and x.shape[1] == c:
            return (0, 2, 3), (1, c, 1, 1)
        raise ValueError(
            f"{type(self).__name__}({c}): expected input (N, {c}) or (N, {c}, H, W), "
            f"got shape {x.shape}"
        )

    def forward(self, x: np.ndarray) -> np.ndarray:
        axes, pshape = self._axes_and_shape(x)
        gamma = self._parameters["gamma"].data.reshape(pshape)
        beta = self._parameters["beta"].data.reshape(pshape)
        if self.training:
            m = x.size // gamma.size
            if self.batch_sums is None:
                mu = x.mean(axis=axes, keepdims=True)
                xc = x - mu
                var = np.mean(xc * xc, axis=axes, keepdims=True)
            else:  # this x is one part of a batch split over threads: the whole batch's
                m = m // x.shape[0] * self.batch_sums.batch_size
                mu = self.batch_sums.total(x.sum(axis=axes, keepdims=True)) / m
                xc = x - mu
                var = self.batch_sums.total((xc * xc).sum(axis=axes, keepdims=True)) / m
            std = np.sqrt(var + self.eps)
            mom = self.momentum
            unbiased = var * (m / max(m - 1, 1))
            rm, rv = self._buffers["running_mean"], self._buffers["running_var"]
            self._buffers["running_mean"] = ((1 - mom) * rm + mom * mu.ravel()).astype(rm.dtype)
            self._buffers["running_var"] = ((1 - mom) * rv + mom * unbiased.ravel()).astype(
                rv.dtype
            )
        else:
            return self._eval_forward(x, gamma, beta, axes, pshape)
        xn = xc  # a fresh array: normalised in place, no third copy of the batch
        xn /= std
        self._cache = (xn, std, axes, pshape, None)
        out = gamma * xn
        out += beta
        return out

    def _eval_forward(self, x, gamma, beta, axes, pshape) -> np.ndarray:
        """Eval mode, with the running statistics as constants: ``out = gamma * (x - mean) /
        std + beta`` computed as ``x * scale + shift`` (scale = gamma / std, shift = beta -
        mean * scale): one pass over the batch and one new array instead of three. Nothing
        is copied for backward: it keeps x itself and normalises it again if asked."""
        mean = self._buffers["running_mean"].reshape(pshape)
        std = np.sqrt(self._buffers["running_var"].reshape(pshape) + self.eps)
        scale = gamma / std
        out = x * scale
        out += beta - mean * scale
        self._cache = (x, std, axes, pshape, mean)
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray | None:
        """dout → dx (None with ``compute_dx = False``); accumulates dgamma and dbeta."""
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward() called before forward()")
        xn, std, axes, pshape, eval_mean = self._cache
        training = eval_mean is None
        if not training:  # eval mode kept x itself and the running mean: normalise x again
            xn = (xn - eval_mean) / std
        gamma_p, beta_p = self._parameters["gamma"], self._parameters["beta"]
        need_sums = self.compute_dx and training
        dbeta = dout.sum(axis=axes) if beta_p.requires_grad or need_sums else None
        dgamma = (dout * xn).sum(axis=axes) if gamma_p.requires_grad or need_sums else None
        if beta_p.requires_grad:
            beta_p.accumulate(dbeta.copy())
        if gamma_p.requires_grad:
            gamma_p.accumulate(dgamma.copy())
        if not self.compute_dx:
            return None
        scale = gamma_p.data.reshape(pshape) / std  # gamma / sqrt(var + eps), per feature
        if not training:  # the statistics are constants in eval mode
            return dout * scale
        # dx = gamma/std * (dxn/gamma - mean(dxn)/gamma - xn * mean(dxn * xn)/gamma), with
        # dxn = dout * gamma: the means are dbeta / m and dgamma / m, the sums already taken.
        m = dout.size // scale.size
        if self.batch_sums is not None:  # one part of a split batch: the whole batch's sums
            m = m // dout.shape[0] * self.batch_sums.batch_size
            dbeta, dgamma = self.batch_sums.total(np.stack([dbeta, dgamma]), weighted=True)
        dx = dout - (dbeta / m).reshape(pshape)
        dx -= xn * (dgamma / m).reshape(pshape)
        dx *= scale
        return dx

    def extra_repr(self) -> str:
        c = self._parameters["gamma"].data.shape[0]
        return f"{c}, eps={self.eps}, momentum={self.momentum}"


class BatchNormalization(BatchNorm):
    """The lectures' ``BatchNormalization(gamma, beta, momentum=0.9, running_mean, running_var)``.

    Wraps the given gamma and beta arrays. The lectures' ``momentum`` is the weight of the *old*
    running value (0.9), i.e. PyTorch's momentum 0.1.
    """

    def __init__(self, gamma, beta, momentum: float = 0.9, running_mean=None, running_var=None):
        gamma = np.asarray(gamma)
        beta = np.asarray(beta)
        super().__init__(gamma.shape[0], momentum=1.0 - momentum, dtype=gamma.dtype)
        self.gamma = Parameter(gamma, decay=False)
        self.beta = Parameter(beta, decay=False)
        if running_mean is not None:
            self.running_mean = running_mean
        if running_var is not None:
            self.running_var = running_var
