"""Bugs that once went through the whole suite, each pinned by a test that fails on it.

* BatchNorm on images: the running variance's unbiased correction must count N*H*W samples per
  channel, not N (the only earlier check allowed 20%).
* Optimizers: ``state_dict()`` must return copies, not the live state (a checkpoint saved
  mid-training would change under it), and ``load_state_dict()`` must copy too.
* The restricted pickle importer must refuse object arrays (they hold arbitrary Python objects).
"""

from __future__ import annotations

import copy
import inspect
import pickle

import numpy as np
import pytest

from dlscratch import io, optim
from dlscratch.layers import BATCHNORM_EPS, BatchNorm, BatchNormalization, Parameter

# ------------------------------------------------------------------------ BatchNorm statistics


def _channel_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and unbiased variance over the N*H*W samples of (N, C, H, W) input."""
    return np.mean(x, axis=(0, 2, 3)), np.var(x, axis=(0, 2, 3), ddof=1)


def _images(seed: int, shape=(4, 3, 5, 6)) -> np.ndarray:
    """Channels with clearly different means and spreads."""
    rng = np.random.default_rng(seed)
    scale = np.array([0.5, 2.0, 5.0]).reshape(1, 3, 1, 1)
    shift = np.array([-1.0, 0.25, 3.0]).reshape(1, 3, 1, 1)
    return rng.standard_normal(shape) * scale + shift


def test_batchnorm_running_stats_on_images_use_n_h_w_samples():
    x1, x2 = _images(1), _images(2)
    bn = BatchNorm(3, momentum=0.1, dtype=np.float64)
    np.testing.assert_array_equal(bn.running_mean, np.zeros(3))
    np.testing.assert_array_equal(bn.running_var, np.ones(3))

    mean1, var1 = _channel_stats(x1)
    bn.forward(x1)
    expected_mean = 0.9 * 0.0 + 0.1 * mean1
    expected_var = 0.9 * 1.0 + 0.1 * var1
    np.testing.assert_allclose(bn.running_mean, expected_mean, rtol=0, atol=1e-6)
    np.testing.assert_allclose(bn.running_var, expected_var, rtol=0, atol=1e-6)

    mean2, var2 = _channel_stats(x2)
    bn.forward(x2)
    expected_mean = 0.9 * expected_mean + 0.1 * mean2
    expected_var = 0.9 * expected_var + 0.1 * var2
    np.testing.assert_allclose(bn.running_mean, expected_mean, rtol=0, atol=1e-6)
    np.testing.assert_allclose(bn.running_var, expected_var, rtol=0, atol=1e-6)

    # Eval mode normalises with exactly these statistics.
    bn.eval()
    x3 = _images(3)
    shape = (1, 3, 1, 1)
    expected_out = (x3 - expected_mean.reshape(shape)) / np.sqrt(
        expected_var.reshape(shape) + BATCHNORM_EPS)
    np.testing.assert_allclose(bn.forward(x3), expected_out, rtol=0, atol=1e-6)


def test_batchnorm_running_stats_float32_and_the_lectures_class():
    """The default float32 layer and the lectures' BatchNormalization (momentum=0.9 is the
    weight of the old value) follow the same hand-computed statistics."""
    x1, x2 = _images(4, (2, 3, 7, 7)), _images(5, (2, 3, 7, 7))
    mean1, var1 = _channel_stats(x1)
    mean2, var2 = _channel_stats(x2)
    expected_mean = 0.9 * (0.1 * mean1) + 0.1 * mean2
    expected_var = 0.9 * (0.9 + 0.1 * var1) + 0.1 * var2

    bn32 = BatchNorm(3)
    lecture = BatchNormalization(np.ones(3), np.zeros(3), momentum=0.9)
    for layer, x_dtype, tol in ((bn32, np.float32, 1e-5), (lecture, np.float64, 1e-6)):
        layer.forward(x1.astype(x_dtype))
        layer.forward(x2.astype(x_dtype))
        np.testing.assert_allclose(layer.running_mean, expected_mean, rtol=0, atol=tol)
        np.testing.assert_allclose(layer.running_var, expected_var, rtol=0, atol=tol)


def test_batchnorm_running_stats_on_features_use_n_samples():
    x = np.random.default_rng(6).standard_normal((5, 4)) * [1.0, 2.0, 3.0, 4.0]
    bn = BatchNorm(4, dtype=np.float64)
    bn.forward(x)
    np.testing.assert_allclose(bn.running_mean, 0.1 * x.mean(axis=0), rtol=0, atol=1e-6)
    np.testing.assert_allclose(bn.running_var, 0.9 + 0.1 * x.var(axis=0, ddof=1), rtol=0,
                               atol=1e-6)


# --------------------------------------------------------------------- optimizer state copies

def _optimizer_classes() -> list[type[optim.Optimizer]]:
    """Every concrete optimizer that dlscratch.optim defines (not only those in OPTIMIZERS)."""
    found = {
        cls for _, cls in inspect.getmembers(optim, inspect.isclass)
        if issubclass(cls, optim.Optimizer) and cls is not optim.Optimizer
        and cls.__module__ == optim.__name__
    }
    found.update(optim.OPTIMIZERS.values())
    return sorted(found, key=lambda cls: cls.__name__)


OPTIMIZER_CLASSES = _optimizer_classes()
STATELESS = {optim.SGD}  # plain SGD keeps no per-parameter arrays


def test_every_registered_optimizer_is_covered():
    assert {cls.__name__ for cls in OPTIMIZER_CLASSES} >= {
        "SGD", "Momentum", "Nesterov", "AdaGrad", "RMSprop", "Adam"}


def _params(seed: int = 0) -> list[Parameter]:
    rng = np.random.default_rng(seed)
    return [Parameter(rng.standard_normal((3, 4))), Parameter(rng.standard_normal(4))]


def _step(opt: optim.Optimizer, params: list[Parameter], seed: int) -> None:
    rng = np.random.default_rng(seed)
    for p in params:
        p.grad = rng.standard_normal(p.data.shape)
    opt.step()


def _snapshot(state: dict) -> dict:
    return copy.deepcopy(state)


def _assert_same_state(got: dict, want: dict) -> None:
    assert got["t"] == want["t"] and got["lr"] == want["lr"]
    assert got["state"].keys() == want["state"].keys()
    for key, slots in want["state"].items():
        assert got["state"][key].keys() == slots.keys(), key
        for name, array in slots.items():
            np.testing.assert_array_equal(got["state"][key][name], array, err_msg=f"{key}/{name}")


@pytest.mark.parametrize("cls", OPTIMIZER_CLASSES, ids=lambda cls: cls.__name__)
def test_state_dict_is_a_copy_not_the_live_state(cls):
    params = _params()
    opt = cls(params, lr=0.05)
    _step(opt, params, 1)
    _step(opt, params, 2)
    saved = opt.state_dict()
    if cls not in STATELESS:
        assert saved["state"], f"{cls.__name__} saved no state after two steps"
    before = _snapshot(saved)
    _step(opt, params, 3)  # training goes on after the checkpoint was taken
    _assert_same_state(saved, before)


@pytest.mark.parametrize("cls", OPTIMIZER_CLASSES, ids=lambda cls: cls.__name__)
def test_load_state_dict_copies_and_resumes_exactly(cls):
    params = _params()
    opt = cls(params, lr=0.05)
    _step(opt, params, 1)
    _step(opt, params, 2)
    saved = opt.state_dict()
    before = _snapshot(saved)
    resumed_params = [Parameter(p.data.copy()) for p in params]

    resumed = cls(resumed_params, lr=0.05)
    resumed.load_state_dict(saved)
    _step(resumed, resumed_params, 3)
    _step(resumed, resumed_params, 4)
    _assert_same_state(saved, before)  # stepping the loaded optimizer left the dict alone

    _step(opt, params, 3)
    _step(opt, params, 4)
    for p, q in zip(params, resumed_params):
        np.testing.assert_array_equal(q.data, p.data)  # resumption is exact


@pytest.mark.parametrize("cls", OPTIMIZER_CLASSES, ids=lambda cls: cls.__name__)
def test_state_dict_copies_with_the_lectures_update_interface(cls):
    rng = np.random.default_rng(0)
    params = {"W1": rng.standard_normal((3, 4)), "b1": rng.standard_normal(4)}
    opt = cls(lr=0.05)
    for seed in (1, 2):
        g = np.random.default_rng(seed)
        opt.update(params, {k: g.standard_normal(v.shape) for k, v in params.items()})
    saved = opt.state_dict()
    before = _snapshot(saved)
    opt.update(params, {k: np.ones_like(v) for k, v in params.items()})
    _assert_same_state(saved, before)


# ------------------------------------------------------------------ pickles with object arrays

@pytest.mark.parametrize(
    "array",
    [
        np.array([1, 2.5, "x"], dtype=object),
        np.array([np.zeros(2), np.ones(3)], dtype=object),
        np.zeros(2, dtype=[("w", np.float64), ("extra", object)]),
    ],
    ids=["python-objects", "ragged-arrays", "structured-with-object-field"],
)
@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_pickle_importer_refuses_object_arrays(tmp_path, array, protocol):
    path = tmp_path / "weights.pkl"
    path.write_bytes(pickle.dumps({"W1": np.ones((2, 2)), "W2": array}, protocol=protocol))
    with pytest.raises(io.ModelFileError) as info:
        io.load_pickle_weights(path)
    assert str(path) in str(info.value)


def test_pickle_importer_still_reads_numeric_arrays(tmp_path):
    """The refusal above is about object arrays, not about every pickle."""
    path = tmp_path / "weights.pkl"
    weights = {"W1": np.arange(6.0).reshape(2, 3), "b1": np.zeros(3, np.float32)}
    path.write_bytes(pickle.dumps(weights, protocol=2))
    got = io.load_pickle_weights(path)
    assert got.keys() == weights.keys()
    for key, value in weights.items():
        assert got[key].dtype == value.dtype
        np.testing.assert_array_equal(got[key], value)
