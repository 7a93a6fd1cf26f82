"""Exact compatibility with the book's files: .pkl params the book's pickle.load reads, the book's
Dropout for its weights (DeepConvNet), and numerical gradients in float64 for any model dtype."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from dlscratch import io
from dlscratch.gradient import gradient_check, numerical_gradient, relative_error
from dlscratch.layers import Dropout
from dlscratch.models import DeepConvNet, MultiLayerNet, TwoLayerNet


# ---------------------------------------------------------------------- the book's code
# A small copy of the book's forward pass (common/util.py im2col, common/layers.py), written
# out here so the test does not depend on dlscratch's layers.
def _im2col(input_data, filter_h, filter_w, stride=1, pad=0):
    N, C, H, W = input_data.shape
    out_h = (H + 2 * pad - filter_h) // stride + 1
    out_w = (W + 2 * pad - filter_w) // stride + 1
    img = np.pad(input_data, [(0, 0), (0, 0), (pad, pad), (pad, pad)], "constant")
    col = np.zeros((N, C, filter_h, filter_w, out_h, out_w))
    for y in range(filter_h):
        y_max = y + stride * out_h
        for x in range(filter_w):
            x_max = x + stride * out_w
            col[:, :, y, x, :, :] = img[:, :, y:y_max:stride, x:x_max:stride]
    return col.transpose(0, 4, 5, 1, 2, 3).reshape(N * out_h * out_w, -1)


def _book_conv(x, W, b, pad):
    FN, C, FH, FW = W.shape
    N, C, H, Wd = x.shape
    out_h, out_w = 1 + (H + 2 * pad - FH), 1 + (Wd + 2 * pad - FW)
    col = _im2col(x, FH, FW, 1, pad)
    out = np.dot(col, W.reshape(FN, -1).T) + b
    return out.reshape(N, out_h, out_w, -1).transpose(0, 3, 1, 2)


def _book_pool(x):
    N, C, H, W = x.shape
    out_h, out_w = 1 + (H - 2) // 2, 1 + (W - 2) // 2
    col = _im2col(x, 2, 2, 2, 0).reshape(-1, 4)
    return np.max(col, axis=1).reshape(N, out_h, out_w, C).transpose(0, 3, 1, 2)


def _book_dropout_test(x, dropout_ratio):
    return x * (1.0 - dropout_ratio)  # the book's Dropout.forward(x, train_flg=False)


def book_deep_convnet_predict(params, x, dropout_ratio=0.5):
    """The book's DeepConvNet.predict(x, train_flg=False)."""
    pads = (1, 1, 1, 2, 1, 1)
    for i in range(6):
        x = np.maximum(_book_conv(x, params[f"W{i + 1}"], params[f"b{i + 1}"], pads[i]), 0)
        if i % 2 == 1:
            x = _book_pool(x)
    x = np.maximum(x.reshape(x.shape[0], -1) @ params["W7"] + params["b7"], 0)
    x = _book_dropout_test(x, dropout_ratio)
    x = x @ params["W8"] + params["b8"]
    return _book_dropout_test(x, dropout_ratio)


def book_deep_convnet_params(rng):
    """Weights in the layout of the book's deep_convnet_params.pkl (W1..W8, b1..b8, float64)."""
    shapes = [(16, 1), (16, 16), (32, 16), (32, 32), (64, 32), (64, 64)]
    params = {}
    for i, (fn, c) in enumerate(shapes, start=1):
        params[f"W{i}"] = rng.normal(scale=np.sqrt(2 / (c * 9)), size=(fn, c, 3, 3))
        params[f"b{i}"] = rng.normal(scale=0.1, size=fn)
    params["W7"] = rng.normal(scale=np.sqrt(2 / 1024), size=(64 * 4 * 4, 50))
    params["b7"] = rng.normal(scale=0.1, size=50)
    params["W8"] = rng.normal(scale=np.sqrt(2 / 50), size=(50, 10))
    params["b8"] = rng.normal(scale=0.5, size=10)  # biases make the two Dropouts matter
    return params


def book_save_params(params, path):
    """The book's save_params: pickle.dump of the params dict."""
    with open(path, "wb") as f:
        pickle.dump(dict(params), f)


def book_load(path):
    """The book's load_params: pickle.load."""
    with open(path, "rb") as f:
        return pickle.load(f)


@pytest.fixture(scope="module")
def book_weights():
    rng = np.random.default_rng(11)
    params = book_deep_convnet_params(rng)
    x = rng.random((12, 1, 28, 28))
    return params, x, book_deep_convnet_predict(params, x)


# ---------------------------------------------------------------------- save_params
def test_save_params_pkl_is_a_plain_pickle_that_the_book_reads(tmp_path):
    params = {"W1": np.arange(6, dtype=np.float64).reshape(2, 3), "b1": np.ones(3, np.float32)}
    path = io.save_params(params, tmp_path / "x.pkl")
    assert path == tmp_path / "x.pkl" and path.read_bytes()[:1] == b"\x80"
    loaded = book_load(path)
    assert type(loaded) is dict and sorted(loaded) == ["W1", "b1"]
    for k, v in params.items():
        assert type(loaded[k]) is np.ndarray and loaded[k].dtype == v.dtype
        np.testing.assert_array_equal(loaded[k], v)
    # dlscratch reads it back through the restricted unpickler
    for k, v in io.load_params(path).items():
        np.testing.assert_array_equal(v, params[k])
    # any other name: the safe .npz
    for name in ("x.npz", "x.bin"):
        assert io.save_params(params, tmp_path / name).read_bytes()[:4] == b"PK\x03\x04"
        np.testing.assert_array_equal(io.load_params(tmp_path / name)["W1"], params["W1"])
    assert sorted(os.listdir(tmp_path)) == ["x.bin", "x.npz", "x.pkl"]  # no temp files left


def test_net_save_params_pkl_is_the_books_layout(tmp_path):
    net = TwoLayerNet(4, 3, 2, rng=0)
    net.save_params(tmp_path / "params.pkl")
    loaded = book_load(tmp_path / "params.pkl")
    assert list(loaded) == ["W1", "b1", "W2", "b2"]
    for k in net.params:
        np.testing.assert_array_equal(loaded[k], net.params[k])
    other = TwoLayerNet(4, 3, 2, rng=5)
    other.load_params(tmp_path / "params.pkl")
    for k in net.params:
        np.testing.assert_array_equal(other.params[k], net.params[k])
    # a file that does not fit says so, and changes nothing
    book_save_params({"W1": np.zeros((4, 3))}, tmp_path / "partial.pkl")
    before = {k: v.copy() for k, v in other.params.items()}
    with pytest.raises(io.ModelFileError, match=r"missing: \['b1', 'W2', 'b2'\]"):
        other.load_params(tmp_path / "partial.pkl")
    book_save_params({**loaded, "W1": np.zeros((5, 3))}, tmp_path / "shape.pkl")
    with pytest.raises(io.ModelFileError, match=r"W1 \(5, 3\)"):
        other.load_params(tmp_path / "shape.pkl")
    for k in before:
        np.testing.assert_array_equal(other.params[k], before[k])


# ---------------------------------------------------------------------- the book's Dropout
def test_dropout_scale_at_test_is_the_books():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 40))
    d = Dropout(0.3, rng=1, scale_at_test=True)
    out = d.forward(x)
    kept = out != 0
    np.testing.assert_array_equal(out[kept], x[kept])  # no 1 / (1 - p) in training
    assert 0.6 < kept.mean() < 0.8
    dout = rng.normal(size=x.shape)
    np.testing.assert_array_equal(d.backward(dout), dout * kept)
    d.eval()
    np.testing.assert_array_equal(d.forward(x), x * 0.7)  # the book's x * (1 - ratio)
    np.testing.assert_array_equal(d.backward(dout), dout * 0.7)
    inverted = Dropout(0.3, rng=1)
    out = inverted.forward(x)
    np.testing.assert_allclose(out[out != 0], x[out != 0] / 0.7)
    inverted.eval()
    np.testing.assert_array_equal(inverted.forward(x), x)
    assert "scale_at_test=True" in repr(d) and "scale_at_test" not in repr(inverted)


def test_book_deep_convnet_pickle_predicts_like_the_book(tmp_path, book_weights):
    params, x, expected = book_weights
    path = tmp_path / "deep_convnet_params.pkl"
    book_save_params(params, path)
    net = DeepConvNet(dtype=np.float64, rng=0)
    assert net.dropout_mode() == "inverted"
    net.load_params(path)
    assert net.dropout_mode() == "book"
    scores = net.predict(x, train_flg=False)
    np.testing.assert_allclose(scores, expected, rtol=1e-12, atol=1e-12)
    t = np.argmax(expected, axis=1)
    np.testing.assert_array_equal(net.predict_labels(x), t)
    t_true = (t + np.arange(len(t)) % 3 == 0) % 10  # some right, some wrong
    book_acc = float(np.mean(np.argmax(expected, axis=1) == t_true))
    assert net.accuracy(x, t_true) == book_acc
    # the inverted convention gives other scores for the same weights
    net.set_dropout_mode("inverted")
    assert not np.allclose(net.predict(x, train_flg=False), expected, rtol=1e-3)

    # float32 network (the default dtype): the book's scores to float32 rounding
    net32 = DeepConvNet(rng=0)
    net32.load_params(path)
    np.testing.assert_allclose(net32.predict(x.astype(np.float32), train_flg=False), expected,
                               rtol=1e-4, atol=1e-5)


def test_dropout_convention_round_trips_through_dlscratch_files(tmp_path, book_weights):
    params, x, expected = book_weights
    book_save_params(params, tmp_path / "book.pkl")
    net = DeepConvNet(dtype=np.float64, rng=0)
    net.load_params(tmp_path / "book.pkl")
    net.save_params(tmp_path / "mine.npz")  # records the book's convention
    net.save_params(tmp_path / "again.pkl")  # the book's weights stay the book's
    for name in ("mine.npz", "again.pkl"):
        other = DeepConvNet(dtype=np.float64, rng=3)
        other.load_params(tmp_path / name)
        assert other.dropout_mode() == "book"
        np.testing.assert_allclose(other.predict(x, train_flg=False), expected, rtol=1e-12,
                                   atol=1e-12)

    # dlscratch's own weights (inverted Dropout) stay inverted
    own = DeepConvNet(dtype=np.float64, rng=4)
    own_scores = own.predict(x, train_flg=False)
    own.save_params(tmp_path / "own.npz")
    other = DeepConvNet(dtype=np.float64, rng=5)
    other.load_params(tmp_path / "book.pkl")
    other.load_params(tmp_path / "own.npz")
    assert other.dropout_mode() == "inverted"
    np.testing.assert_array_equal(other.predict(x, train_flg=False), own_scores)
    # an .npz from io.save_params (no convention recorded) is dlscratch's: inverted
    io.save_params(own.params, tmp_path / "plain.npz")
    other.set_dropout_mode("book")
    other.load_params(tmp_path / "plain.npz")
    assert other.dropout_mode() == "inverted"
    # the book's .pkl layout cannot carry inverted-dropout weights faithfully: refused
    with pytest.raises(ValueError, match="save as .npz"):
        own.save_params(tmp_path / "own.pkl")
    assert not (tmp_path / "own.pkl").exists()


def test_pickles_of_networks_without_dropout_load_unchanged(tmp_path):
    rng = np.random.default_rng(3)
    params = {"W1": rng.normal(size=(6, 5)), "b1": rng.normal(size=5),
              "W2": rng.normal(size=(5, 4)), "b2": rng.normal(size=4),
              "W3": rng.normal(size=(4, 3)), "b3": rng.normal(size=3)}
    book_save_params(params, tmp_path / "mlp.pkl")
    net = MultiLayerNet(6, [5, 4], 3, dtype=np.float64, rng=0)
    net.load_params(tmp_path / "mlp.pkl")
    x = rng.normal(size=(7, 6))
    h = np.maximum(x @ params["W1"] + params["b1"], 0)
    h = np.maximum(h @ params["W2"] + params["b2"], 0)
    np.testing.assert_allclose(net.predict(x), h @ params["W3"] + params["b3"], rtol=1e-12)
    assert net.dropout_mode() is None
    # the book's MultiLayerNetExtend with dropout: its test-time scaling applies too
    drop = MultiLayerNet(6, [5, 4], 3, use_dropout=True, dropout_ratio=0.2, dtype=np.float64)
    drop.load_params(tmp_path / "mlp.pkl")
    h = np.maximum(x @ params["W1"] + params["b1"], 0) * 0.8
    h = np.maximum(h @ params["W2"] + params["b2"], 0) * 0.8
    np.testing.assert_allclose(drop.predict_labels(x), np.argmax(h @ params["W3"] + params["b3"],
                                                                 axis=1))
    drop.eval()
    np.testing.assert_allclose(drop.predict(x), h @ params["W3"] + params["b3"], rtol=1e-12)


# ---------------------------------------------------------------------- numerical gradients
def _two_layer_pair():
    net32 = TwoLayerNet(64, 20, 10, rng=0)
    assert net32.params["W1"].dtype == np.float32
    net64 = TwoLayerNet(64, 20, 10, dtype=np.float64, rng=1)
    for k in net32.params:
        net64.params[k] = net32.params[k].astype(np.float64)
    rng = np.random.default_rng(2)
    x = rng.random((3, 64)).astype(np.float32)
    t = np.array([1, 7, 3])
    return net32, net64, x, t


def test_numerical_gradient_of_a_float32_model_is_computed_in_float64():
    net32, net64, x, t = _two_layer_pair()
    ref = net64.numerical_gradient(x.astype(np.float64), t)
    before = {k: (v, v.copy()) for k, v in net32.params.items()}
    got = net32.numerical_gradient(x, t)
    for k in net32.params:
        assert got[k].dtype == np.float64
        # equal to the float64 model's to float32 rounding (in fact the same computation)
        scale = np.abs(ref[k]).max()
        assert np.abs(got[k] - ref[k]).max() <= 1e-6 * scale, k
        # the model is exactly as before: same arrays, same bits, same dtype
        arr, copy = before[k]
        assert net32.params[k] is arr and arr.dtype == np.float32
        np.testing.assert_array_equal(arr, copy)

    # the float32 computation follows rounding noise (what the lecture's code does)
    noisy = numerical_gradient(lambda _: net32.loss(x, t), net32.params["W1"])
    err = np.abs(noisy - ref["W1"]).mean() / np.abs(ref["W1"]).max()
    assert err > 0.05  # measured ~20% of the largest gradient here
    assert relative_error(got["W1"], ref["W1"]) < 1e-9


def test_numerical_gradient_restores_the_model_when_the_loss_raises(monkeypatch):
    net = MultiLayerNet(5, [4], 3, use_batchnorm=True, rng=0)
    x = np.random.default_rng(0).random((4, 5)).astype(np.float32)
    t = np.array([0, 1, 2, 1])
    net.gradient(x, t)  # gradients and running statistics exist
    state = {k: v.copy() for k, v in net.state_dict().items()}
    grads = {k: net.params.parameter(k).grad for k in net.params}
    calls = {"n": 0}
    loss = net.loss

    def flaky(x, t):
        calls["n"] += 1
        if calls["n"] == 7:
            raise RuntimeError("boom")
        return loss(x, t)

    monkeypatch.setattr(net, "loss", flaky)
    with pytest.raises(RuntimeError, match="boom"):
        net.numerical_gradient(x, t)
    after = net.state_dict()
    for k, v in state.items():
        assert after[k].dtype == v.dtype == np.float32, k
        np.testing.assert_array_equal(after[k], v)  # running statistics included
    for k in net.params:
        assert net.params.parameter(k).grad is grads[k]


def test_gradient_check_of_a_float32_model_runs_in_float64():
    net = MultiLayerNet(6, [5], 3, rng=0)
    x = np.random.default_rng(1).random((4, 6)).astype(np.float32)
    t = np.array([0, 2, 1, 0])
    before = {k: v.copy() for k, v in net.params.items()}
    errors = gradient_check(net, x, t)
    assert max(errors.values()) < 1e-7  # float32 backprop would give ~1e-3
    for k, v in before.items():
        assert net.params[k].dtype == np.float32
        np.testing.assert_array_equal(net.params[k], v)


def test_dropout_convention_survives_io_save_and_load_model(tmp_path, book_weights):
    """A DeepConvNet holding the book's weights, saved as a dlscratch model file (or a training
    checkpoint) and rebuilt by io.load_model, still scales at test time; a model of dlscratch's
    own stays inverted."""
    params, x, expected = book_weights
    book_save_params(params, tmp_path / "book.pkl")
    net = DeepConvNet(dtype=np.float64, rng=0)
    net.load_params(tmp_path / "book.pkl")
    io.save(net, tmp_path / "model.npz")
    back = io.load_model(tmp_path / "model.npz")
    assert back.dropout_mode() == "book"
    np.testing.assert_allclose(back.predict(x, train_flg=False), expected, rtol=1e-12, atol=1e-12)
    io.save(DeepConvNet(dtype=np.float64, rng=1), tmp_path / "own.npz")
    assert io.load_model(tmp_path / "own.npz").dropout_mode() == "inverted"
