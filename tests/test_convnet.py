"""SimpleConvNet (the lecture's CNN) and DeepConvNet (the book's chapter 8 network)."""

from __future__ import annotations

import pickle
import time

import numpy as np
import pytest

import dlscratch
from dlscratch import naive
from dlscratch.datasets import load_mnist
from dlscratch.gradient import gradient_check
from dlscratch.layers import Conv2d, Linear, MaxPool2d
from dlscratch.models import DeepConvNet, SimpleConvNet
from dlscratch.optim import Adam

SMALL = dict(input_dim=(1, 10, 10), conv_param={"filter_num": 3, "filter_size": 3, "pad": 0,
                                                "stride": 1},
             hidden_size=7, output_size=4)


def lecture_params(rng, filter_num=3, C=1, filter_size=3, pool_out=3 * 4 * 4, hidden=7, out=4):
    """A params dict in the lecture's layout (W1..W3, b1..b3), float64, biases != 0."""
    return {
        "W1": rng.standard_normal((filter_num, C, filter_size, filter_size)) * 0.3,
        "b1": rng.standard_normal(filter_num) * 0.1,
        "W2": rng.standard_normal((pool_out, hidden)) * 0.3,
        "b2": rng.standard_normal(hidden) * 0.1,
        "W3": rng.standard_normal((hidden, out)) * 0.3,
        "b3": rng.standard_normal(out) * 0.1,
    }


def predict_by_loops(p, x):
    """SimpleConvNet's forward pass with the lecture's loops: conv, relu, 2x2 max pool, affine."""
    h = naive.conv2d_nchw(x, p["W1"], p["b1"], stride=1, pad=0)
    h = naive.max_pool_nchw(np.maximum(h, 0), 2, 2, stride=2)
    h = np.maximum(h.reshape(len(x), -1) @ p["W2"] + p["b2"], 0)
    return h @ p["W3"] + p["b3"]


# ----------------------------------------------------------------------------- SimpleConvNet
def test_simple_convnet_layers_and_params():
    net = SimpleConvNet(rng=0)
    assert list(net.layers.keys()) == ["Conv1", "Relu1", "Pool1", "Affine1", "Relu2", "Affine2"]
    assert isinstance(net.layers["Conv1"], Conv2d) and isinstance(net.layers["Pool1"], MaxPool2d)
    assert isinstance(net.layers["Affine1"], Linear)
    shapes = {k: v.shape for k, v in net.params.items()}
    assert shapes == {"W1": (30, 1, 5, 5), "b1": (30,), "W2": (30 * 12 * 12, 100),
                      "b2": (100,), "W3": (100, 10), "b3": (10,)}
    assert all(v.dtype == np.float32 for v in net.params.values())
    assert np.std(net.params["W1"]) == pytest.approx(0.01, rel=0.1)  # the lecture's 0.01
    assert net.params["W1"] is net.layers["Conv1"].W  # a live view, not a copy
    assert net.layers["Conv1"].compute_dx is False  # no gradient for the images
    x = np.zeros((2, 1, 28, 28), dtype=np.float32)
    assert net.predict(x).shape == (2, 10)


def test_simple_convnet_checks_that_the_sizes_divide():
    with pytest.raises(ValueError, match="SimpleConvNet"):
        SimpleConvNet(input_dim=(1, 27, 27))  # conv output 23: 2x2 pooling does not fit
    with pytest.raises(ValueError, match="SimpleConvNet"):
        SimpleConvNet(conv_param={"filter_num": 4, "filter_size": 5, "pad": 0, "stride": 2})
    net = SimpleConvNet(input_dim=(3, 32, 32),
                        conv_param={"filter_num": 8, "filter_size": 3, "pad": 1, "stride": 1})
    assert net.params["W1"].shape == (8, 3, 3, 3) and net.params["W2"].shape == (8 * 16 * 16, 100)


def test_gradient_check_simple_convnet():
    rng = np.random.default_rng(0)
    net = SimpleConvNet(**SMALL, weight_init_std=0.3, dtype=np.float64, rng=0)
    for key in ("b1", "b2", "b3"):  # zero biases leave ReLU inputs exactly at the kink
        net.params[key] = rng.standard_normal(net.params[key].shape) * 0.1
    x = rng.standard_normal((3, 1, 10, 10))
    t = np.array([0, 3, 1])
    errors = gradient_check(net, x, t)
    assert set(errors) == {"W1", "b1", "W2", "b2", "W3", "b3"}
    assert max(errors.values()) < 1e-6, errors


def test_predictions_equal_the_lecture_loops(tmp_path):
    rng = np.random.default_rng(1)
    params = lecture_params(rng)
    x = rng.standard_normal((4, 1, 10, 10))
    expected = predict_by_loops(params, x)

    path = tmp_path / "params.pkl"  # the lecture's file name, dlscratch's safe format
    source = SimpleConvNet(**SMALL, dtype=np.float64, rng=5)
    for k, v in params.items():
        source.params[k] = v
    source.save_params(str(path))
    net = SimpleConvNet(**SMALL, dtype=np.float64, rng=6)
    net.load_params(str(path))
    for k, v in params.items():
        np.testing.assert_array_equal(net.params[k], v)
    np.testing.assert_allclose(net.predict(x), expected, rtol=1e-10, atol=1e-12)


def test_loads_a_lecture_pickle_through_the_safe_importer(tmp_path):
    rng = np.random.default_rng(2)
    params = lecture_params(rng)
    path = tmp_path / "params.pkl"
    with open(path, "wb") as f:  # what the lecture's save_params writes
        pickle.dump(params, f)
    net = SimpleConvNet(**SMALL, dtype=np.float64, rng=0)
    net.load_params(str(path))
    x = rng.standard_normal((3, 1, 10, 10))
    np.testing.assert_allclose(net.predict(x), predict_by_loops(params, x), rtol=1e-10,
                               atol=1e-12)


def test_refuses_a_pickle_that_runs_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("this must never run",))

    path = tmp_path / "params.pkl"
    with open(path, "wb") as f:
        pickle.dump({"W1": Evil()}, f)
    with pytest.raises(ValueError, match="refused"):
        SimpleConvNet(**SMALL).load_params(str(path))


def test_save_and_load_the_whole_model(tmp_path):
    net = SimpleConvNet(**SMALL, rng=3)
    path = tmp_path / "model.npz"
    dlscratch.save(net, path)
    again = dlscratch.load(path)
    assert type(again) is SimpleConvNet and again.get_config() == net.get_config()
    x = np.random.default_rng(4).standard_normal((2, 1, 10, 10)).astype(np.float32)
    np.testing.assert_array_equal(again.predict(x), net.predict(x))


def test_training_on_the_digits_sample_reaches_96_percent():
    (x_train, t_train), (x_test, t_test) = load_mnist(dataset="mnist-sample", flatten=False)
    assert x_train.shape == (8000, 1, 28, 28) and x_test.shape == (2000, 1, 28, 28)
    net = SimpleConvNet(rng=0)  # the lecture's settings: 30 5x5 filters, std 0.01
    optimizer = Adam(net.parameters(), lr=0.001)
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for _ in range(10):  # epochs
        order = rng.permutation(len(x_train))
        for i in range(0, len(order), 100):
            batch = order[i:i + 100]
            net.zero_grad()
            net.loss(x_train[batch], t_train[batch])
            net.backward()
            optimizer.step()
    seconds = time.perf_counter() - start
    accuracy = net.accuracy(x_test, t_test, batch_size=100)
    print(f"SimpleConvNet, 10 epochs of 8,000 digits: {seconds:.1f} s, test accuracy {accuracy}")
    assert accuracy >= 0.96
    assert net.accuracy(x_train[:1000], t_train[:1000]) >= 0.97


# ----------------------------------------------------------------------------- DeepConvNet
def test_deep_convnet_shapes_match_the_book():
    net = DeepConvNet(rng=0)
    shapes = {k: v.shape for k, v in net.params.items()}
    assert shapes == {
        "W1": (16, 1, 3, 3), "b1": (16,), "W2": (16, 16, 3, 3), "b2": (16,),
        "W3": (32, 16, 3, 3), "b3": (32,), "W4": (32, 32, 3, 3), "b4": (32,),
        "W5": (64, 32, 3, 3), "b5": (64,), "W6": (64, 64, 3, 3), "b6": (64,),
        "W7": (64 * 4 * 4, 50), "b7": (50,), "W8": (50, 10), "b8": (10,),
    }
    assert sum(v.size for v in net.params.values()) == 123_552
    assert list(net.layers.keys()) == [
        "Conv1", "Relu1", "Conv2", "Relu2", "Pool1", "Conv3", "Relu3", "Conv4", "Relu4",
        "Pool2", "Conv5", "Relu5", "Conv6", "Relu6", "Pool3", "Affine1", "Relu7", "Dropout1",
        "Affine2", "Dropout2"]
    # He initialisation with fan-ins computed from the shapes
    for key, fan_in in (("W2", 16 * 9), ("W6", 64 * 9), ("W7", 1024)):
        assert np.std(net.params[key]) == pytest.approx(np.sqrt(2 / fan_in), rel=0.1)
    x = np.zeros((3, 1, 28, 28), dtype=np.float32)
    assert net.predict(x).shape == (3, 10)
    h = x
    for name, layer in net.layers.items():
        h = layer.forward(h)
        if name == "Pool3":
            assert h.shape == (3, 64, 4, 4)
        if name == "Relu4":
            assert h.shape == (3, 32, 16, 16)  # pad 2 on the fourth convolution


def test_gradient_check_deep_convnet_in_eval_mode():
    # A tiny copy of the architecture. With so few channels some ReLU input can lie within
    # the finite-difference step of 0 (a kink: numerical and backprop gradients then differ
    # for a good reason); this seed keeps every ReLU input at least 5e-4 away from 0.
    rng = np.random.default_rng(0)
    net = DeepConvNet(input_dim=(1, 12, 12),
                      conv_params=[(2, 1), (2, 1), (3, 1), (3, 2), (2, 1), (2, 1)],
                      hidden_size=5, output_size=3, dtype=np.float64, rng=0)
    for key in net.params:
        if key.startswith("b"):
            net.params[key] = rng.standard_normal(net.params[key].shape) * 0.1
    net.eval()  # dropout off: the loss is a deterministic function of the weights
    x = rng.standard_normal((2, 1, 12, 12))
    errors = gradient_check(net, x, np.array([0, 2]))
    assert len(errors) == 16 and max(errors.values()) < 1e-6, errors


def test_deep_convnet_dropout_and_modes():
    net = DeepConvNet(input_dim=(1, 12, 12), rng=1)
    x = np.random.default_rng(6).standard_normal((4, 1, 12, 12)).astype(np.float32)
    t = np.array([0, 1, 2, 3])
    net.train()
    assert not np.array_equal(net.predict(x), net.predict(x))  # dropout masks differ
    np.testing.assert_array_equal(net.predict(x, train_flg=False), net.predict(x, train_flg=False))
    assert net.training  # predict(train_flg=...) restores the mode
    net.accuracy(x, t)
    assert net.training  # accuracy evaluates in eval mode and switches back
    net.eval()
    assert net.accuracy(x, t) == net.accuracy(x, t)
    assert not net.training
    with pytest.raises(ValueError, match="DeepConvNet"):
        DeepConvNet(input_dim=(1, 10, 10))


def test_deep_convnet_dropout_ratio_per_layer_and_saved(tmp_path):
    both = DeepConvNet(input_dim=(1, 12, 12), dropout_ratio=0.3, rng=0)
    assert both.layers["Dropout1"].p == both.layers["Dropout2"].p == 0.3
    net = DeepConvNet(input_dim=(1, 12, 12), dropout_ratio=(0.4, 0.0), rng=0)
    assert net.layers["Dropout1"].p == 0.4 and net.layers["Dropout2"].p == 0.0
    assert net.get_config()["dropout_ratio"] == [0.4, 0.0]
    path = tmp_path / "deep.npz"
    dlscratch.save(net, path)
    again = dlscratch.load(path)
    assert again.layers["Dropout1"].p == 0.4 and again.layers["Dropout2"].p == 0.0
    with pytest.raises(ValueError, match="one number or a pair"):
        DeepConvNet(dropout_ratio=(0.1, 0.2, 0.3))
