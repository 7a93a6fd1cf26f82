"""Shared helpers of the PyTorch-bridge tests (test_interop_torch*.py).

Imported as ``from helpers_interop import ...`` (tests/ is on sys.path in pytest's default
import mode).
"""

from __future__ import annotations

import importlib.util

import numpy as np
from conftest import need

from dlscratch.layers import BatchNorm

#: float64: 1e-10, float32: 1e-4 (relative errors, see assert_close)
TOL = {np.float64: 1e-10, np.float32: 1e-4}


def import_torch():
    """``torch``, or skip (locally) / fail (CI) naming the install command."""
    need(importlib.util.find_spec("torch") is not None,
         "needs PyTorch: pip install torch==2.13.0 (the CPU build)")
    import torch

    return torch


def assert_close(got, want, tol: float, what: str = "") -> None:
    """Relative error ||got - want|| / ||want|| <= tol (2-norms over all elements; ||want||
    taken as at least 1e-3 * sqrt(size), so that values near zero compare absolutely)."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    scale = max(float(np.linalg.norm(want)), 1e-3 * np.sqrt(max(want.size, 1)))
    err = float(np.linalg.norm(got - want)) / scale
    assert err <= tol, f"{what}: relative error {err:.3g} > {tol}"


def perturb_batchnorm_dls(model, rng: np.random.Generator) -> None:
    """gamma != 1, beta != 0 and non-trivial running statistics in every dlscratch BatchNorm
    (a test with the initial values hides bugs)."""
    for layer in model.modules():
        if isinstance(layer, BatchNorm):
            c = layer.gamma.shape[0]
            layer.gamma = rng.uniform(0.5, 1.5, c)
            layer.beta = rng.normal(0, 0.5, c)
            layer.running_mean = rng.normal(0, 0.5, c)
            layer.running_var = rng.uniform(0.5, 2.0, c)


def perturb_batchnorm_torch(torch, ref, gen) -> None:
    """The same for every BatchNorm of a torch.nn module (``gen``: a torch.Generator)."""
    with torch.no_grad():
        for m in ref.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.weight.uniform_(0.5, 1.5, generator=gen)
                m.bias.normal_(0, 0.5, generator=gen)
                m.running_mean.normal_(0, 0.5, generator=gen)
                m.running_var.uniform_(0.5, 2.0, generator=gen)


def compare_one_batch(torch, model, ref, x, t, train: bool, tol: float, dls_grads,
                      dls_buffer) -> None:
    """Same scores, loss, parameter gradients and (afterwards) running statistics for one
    cross-entropy batch through the dlscratch ``model`` and the torch.nn ``ref``.

    ``dls_grads(model)`` gives the dlscratch gradients keyed and laid out as torch's;
    ``dls_buffer(model, key)`` the dlscratch array for a torch running-statistics key.
    """
    model.train(train)
    ref.train(train)
    model.zero_grad()
    ref.zero_grad()
    scores = model.forward(x)
    loss = model.last_layer.forward(scores, t)
    model.backward(1.0)
    tscores = ref(torch.from_numpy(x))
    tloss = torch.nn.functional.cross_entropy(tscores, torch.from_numpy(t))
    tloss.backward()
    assert_close(scores, tscores.detach().numpy(), tol, "scores")
    assert_close(loss, tloss.item(), tol, "loss")
    want = {k: p.grad.numpy() for k, p in ref.named_parameters()}
    got = dls_grads(model)
    assert set(got) == set(want)
    for k in want:
        assert_close(got[k], want[k], tol, f"d{k}")
    for k, v in ref.state_dict().items():  # running statistics after the batch
        if "running" in k:
            assert_close(dls_buffer(model, k), v.numpy(), tol, k)
