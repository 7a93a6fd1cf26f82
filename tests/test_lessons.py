"""Every lesson (the lecture notes' examples) runs and reproduces the notes' numbers."""

from __future__ import annotations

import numpy as np
import pytest

from dlscratch.lessons import (
    seed000_neural_network as s000,
)
from dlscratch.lessons import (
    seed001_cnn as s001,
)
from dlscratch.lessons import (
    seed002_perceptron as s002,
)
from dlscratch.lessons import (
    seed003_mlp_csv as s003,
)
from dlscratch.lessons import (
    seed004_xor as s004,
)


def test_seed000_forward_pass():
    y = s000.forward(s000.init_network(), np.array([1.0, 0.5]))
    np.testing.assert_allclose(y, [0.31682708, 0.69627909], rtol=0, atol=5e-9)


def test_seed000_pretrained_network_scores_09352_both_ways():
    assert s000.mnist_accuracy() == 0.9352
    assert s000.mnist_accuracy(batch_size=100) == 0.9352


def test_seed000_gradients_and_descent():
    r = s000.gradient_examples()
    assert r["diff_at_5"] == pytest.approx(0.2, abs=1e-6)
    assert r["diff_at_10"] == pytest.approx(0.3, abs=1e-6)
    np.testing.assert_allclose(r["grad_at_3_4"], [6.0, 8.0], atol=1e-6)
    np.testing.assert_allclose(r["grad_at_0_2"], [0.0, 4.0], atol=1e-6)
    np.testing.assert_allclose(r["grad_at_3_0"], [6.0, 0.0], atol=1e-6)
    assert np.abs(r["descent"]).max() < 1e-8


def test_seed000_simple_net_gradient_is_analytic():
    net, dW = s000.simple_net_gradient(rng=3)
    x = np.array([0.6, 0.9])
    t = np.array([0, 0, 1])
    z = x @ net.W
    y = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    # the lecture's loss has the 1e-7 guard inside the log: d/dy log(y + 1e-7), hence rtol
    np.testing.assert_allclose(dW, np.outer(x, y - t), rtol=1e-5, atol=1e-7)


def test_seed000_two_layer_net_learns():
    losses, acc = s000.train_two_layer_net(iters_num=1000, rng=0)
    assert losses[0] == pytest.approx(np.log(10), abs=0.05)  # nearly untrained: ~uniform
    assert np.mean(losses[-50:]) < 0.7  # measured 0.56
    assert acc > 0.85  # measured 0.89


def test_seed001_loops_print_the_notes_values():
    r = s001.loop_examples()
    np.testing.assert_array_equal(r["conv"], [[18, 19], [9, 18]])
    assert r["conv_pad1_stride2"].shape == (4, 4)
    np.testing.assert_array_equal(r["max_pooling"], [[6, 8], [3, 4]])
    np.testing.assert_array_equal(r["average_pooling"], [[3.25, 5.25], [2, 2]])


def test_seed001_simple_convnet_with_trainer(tmp_path):
    trainer, network, initial = s001.train_simple_convnet(
        max_epochs=2, n_train=5000, n_test=1000, verbose=False, params_file=tmp_path / "p.pkl")
    assert len(trainer.train_acc_list) == len(trainer.test_acc_list) == 2
    assert trainer.test_acc_list[-1] > 0.88  # measured 0.916
    assert not np.allclose(initial, network.params["W1"])
    again = s001.SimpleConvNet()
    again.load_params(tmp_path / "p.pkl")
    np.testing.assert_array_equal(again.params["W1"], network.params["W1"])


def test_seed002_perceptron_separates_the_notes_data():
    pytest.importorskip("sklearn", reason="lesson 002 needs scikit-learn")
    X, y = s002.make_data()
    model = s002.Perceptron()
    before = s002.accuracy(model, X, y)
    s002.train_step(model, X, y, eta=0.1)
    after = s002.accuracy(model, X, y)
    assert X.shape == (100, 2)
    assert before == pytest.approx(0.96) and after == pytest.approx(0.99)  # the note's start


def test_seed003_sigmoid_mlp_from_csv(tmp_path):
    train_csv, test_csv = s003.write_sample_csv(tmp_path, n_train=1000, n_test=300)
    assert train_csv.read_text(encoding="utf-8").startswith("label,1x1,1x2,")
    x, y, xt, yt = s003.load_data(train_csv, test_csv)
    loss_list, _, acc = s003.train_nn(x / 255, y, xt / 255, yt, [784, 128, 64, 10], 3,
                                      40.0 * len(x), batch_size=8, std="xavier", rng=0,
                                      verbose=False)
    assert loss_list[-1] < loss_list[0]
    assert acc[-1] > 0.6  # measured 0.76 (1,000 images, 3 epochs)


def test_seed004_delta_rule_and_xor():
    first = s004.train_delta_rule(s004.D, epochs=2000)
    np.testing.assert_array_equal(np.round(first), [0, 0, 1, 1])
    xor_single = s004.train_delta_rule(s004.D_XOR, epochs=2000)
    assert not np.array_equal(np.round(xor_single), [0, 1, 1, 0])  # one layer cannot
    W1, W2 = s004.train_backprop(s004.D_XOR, epochs=3000, cross_entropy=True, rng=0)
    xor = s004.outputs(W1, W2)
    np.testing.assert_array_equal(np.round(xor), [0, 1, 1, 0])
    assert np.abs(xor - [0, 1, 1, 0]).max() < 0.05
