# %% [markdown]
# # 합성곱 신경망 (CNN) — Convolutional networks (lecture 001)
#
# The note's sections in order: convolution by loops, padding and stride, max and average
# pooling, the im2col ``Convolution`` and ``Pooling`` layers, ``SimpleConvNet`` trained with the
# ``Trainer`` (its accuracy curve), and its first layer's filters before and after training.
# The note ends with an overview (perceptron, DNN, activation functions, optimisation, CNN,
# transfer learning, ResNet) that has no code; ResNet and transfer learning are the lesson
# ``dlscratch.lessons.transfer_learning``.
#
# What changed from the note, everywhere: ``sys.path.append(os.pardir)`` and
# ``dataset.mnist`` / ``common.trainer`` -> ``dlscratch``; random weights from a seeded ``rng``;
# ``params.pkl`` and the pictures go to an output folder, not the current one.
#
# Run: ``python -m dlscratch.lessons.seed001_cnn [--out DIR]``; ``DLSCRATCH_FAST=1`` for the fast
# mode (2,000 training images, 3 epochs instead of 5,000 and 20).

# %%
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..datasets import load_mnist
from ..layers import Convolution, Pooling
from ..models import SimpleConvNet
from ..naive import average_pooling, conv2d, max_pooling
from ..trainer import Trainer
from ._common import Outputs, expect, fast_mode, parse_args

# %% [markdown]
# ## 합성곱 연산 — Convolution by loops
#
# A 4x4 input, a 3x3 kernel: a 2x2 output, each value the sum of the window times the kernel,
# plus the bias 3. (The note's text writes ``j:j+kernel_width * kernel)``: the code has the
# bracket right.) dlscratch's ``naive.conv2d`` is the same loop, the truth its fast layers are
# tested against.

# %%
x_input = np.array([[1, 2, 3, 0],
                    [0, 1, 2, 3],
                    [3, 0, 1, 2],
                    [2, 3, 0, 1]])
kernel = np.array([[2, 0, 1],
                   [0, 1, 2],
                   [1, 0, 2]])


def convolution_loop(x_input, kernel):
    """The note's loop (stride 1, no padding), bias 3 added."""
    input_height, input_width = x_input.shape
    kernel_height, kernel_width = kernel.shape
    output_height = input_height - kernel_height + 1
    output_width = input_width - kernel_width + 1
    output = np.zeros((output_height, output_width))
    for i in range(output_height):
        for j in range(output_width):
            output[i, j] = np.sum(x_input[i:i + kernel_height, j:j + kernel_width] * kernel)
    output += 3
    return output


# %% [markdown]
# ## 패딩과 스트라이드 — Padding and stride
#
# A 7x7 input, padding 1, stride 2: out = (7 + 2 - 3) // 2 + 1 = 4. The note keeps the names
# ``x_input`` and ``kernel`` for the new arrays; the 7x7 one is ``x_input_7`` here so that both
# examples can be run.

# %%
x_input_7 = np.array([[1, 2, 3, 0, 1, 2, 3],
                      [0, 1, 2, 3, 0, 1, 2],
                      [3, 0, 1, 2, 3, 0, 1],
                      [2, 3, 0, 1, 2, 3, 0],
                      [1, 2, 3, 0, 1, 2, 3],
                      [0, 1, 2, 3, 0, 1, 2],
                      [3, 0, 1, 2, 3, 0, 1]])


def convolution_loop_padded(x_input, kernel, padding=1, stride=2):
    """The note's loop with padding and stride, bias 3 added."""
    input_height, input_width = x_input.shape
    kernel_height, kernel_width = kernel.shape
    output_height = (input_height + 2 * padding - kernel_height) // stride + 1
    output_width = (input_width + 2 * padding - kernel_width) // stride + 1
    output = np.zeros((output_height, output_width))
    padded_input = np.pad(x_input, ((padding, padding), (padding, padding)), mode="constant")
    for i in range(0, input_height - kernel_height + 2 * padding + 1, stride):
        for j in range(0, input_width - kernel_width + 2 * padding + 1, stride):
            output[i // stride, j // stride] = np.sum(
                padded_input[i:i + kernel_height, j:j + kernel_width] * kernel)
    output += 3
    return output


# %% [markdown]
# ## 풀링 (Max Pooling, Average Pooling) — Pooling
#
# 2x2 windows, stride 2: the largest value of each window, then the mean. One loop serves both
# here (``np.max`` or ``np.mean``), with the note's variable names.

# %%
conved_input = np.array([[1, 1, 2, 4],
                         [5, 6, 7, 8],
                         [3, 2, 1, 0],
                         [1, 2, 3, 4]])


def pooling_loop(conved_input, pooling_size=2, pooling_stride=2, reduce=np.max):
    input_height, input_width = conved_input.shape
    pooling_height, pooling_width = pooling_size, pooling_size
    stride = pooling_stride
    output_height = ((input_height - pooling_height) // stride) + 1
    output_width = ((input_width - pooling_width) // stride) + 1
    pooling_result = np.zeros((output_height, output_width))
    for i in range(output_height):
        for j in range(output_width):
            row_start = i * stride
            row_end = row_start + pooling_height
            col_start = j * stride
            col_end = col_start + pooling_width
            pooling_result[i, j] = reduce(conved_input[row_start:row_end, col_start:col_end])
    return pooling_result


def loop_examples() -> dict[str, np.ndarray]:
    """The note's four printed results, by dlscratch.naive (the same loops)."""
    return {
        "conv": conv2d(x_input, kernel) + 3,  # [[18, 19], [9, 18]]
        "conv_pad1_stride2": conv2d(x_input_7, kernel, pad=1, stride=2) + 3,  # 4x4
        "max_pooling": max_pooling(conved_input, size=2, stride=2),  # [[6, 8], [3, 4]]
        # [[3.25, 5.25], [2, 2]]
        "average_pooling": average_pooling(conved_input, size=2, stride=2),
    }


# %% [markdown]
# ## Convolution 계층과 Pooling 계층 (im2col) — The layers
#
# ``Convolution(W, b, stride, pad)`` and ``Pooling(pool_h, pool_w, stride, pad)`` keep the note's
# signatures and names (``FN, C, FH, FW``, ``out_h``, ``col``, ``col_W``); images are NCHW. The
# note's ``Pooling.forward`` computes ``out_h = 1 + (H - pool_h) / stride`` without ``2 * pad``
# while ``im2col`` pads: with ``pad > 0`` the shapes disagree; dlscratch's counts the padding
# (fix). On the note's small inputs the layers give the loops' numbers exactly.


# %%
def layers_match_loops() -> dict[str, bool]:
    W = kernel.reshape(1, 1, 3, 3).astype(np.float64)  # FN = C = 1
    b = np.array([3.0])
    conv = Convolution(W, b)
    conv_ps = Convolution(W, b, stride=2, pad=1)
    pool = Pooling(pool_h=2, pool_w=2, stride=2)

    def as_nchw(a):
        return a.reshape(1, 1, *a.shape).astype(np.float64)

    return {
        "conv": np.array_equal(conv.forward(as_nchw(x_input))[0, 0],
                               convolution_loop(x_input, kernel)),
        "conv_pad1_stride2": np.array_equal(conv_ps.forward(as_nchw(x_input_7))[0, 0],
                                            convolution_loop_padded(x_input_7, kernel)),
        "max_pooling": np.array_equal(pool.forward(as_nchw(conved_input))[0, 0],
                                      pooling_loop(conved_input)),
    }


# %% [markdown]
# ## SimpleConvNet과 학습 — SimpleConvNet, trained with the Trainer
#
# conv (30 filters 5x5) -> ReLU -> max pool 2x2 -> Affine 100 -> ReLU -> Affine 10, Adam with
# lr 0.001, batches of 100, as in the note: 5,000 training and 1,000 test images for 20 epochs
# (offline: from the bundled MNIST sample). The weights are written to ``params.pkl`` in the
# output folder (the note writes into the current folder): a plain pickle of
# ``{"W1": ..., "b3": ...}`` that the book's ``load_params`` reads. The note plots
# ``trainer.train_acc_list`` against ``np.arange(max_epochs)``; ``plot_accuracy`` draws the same
# curves (one point per epoch).


# %%
def train_simple_convnet(max_epochs=20, n_train=5000, n_test=1000, rng=0, verbose=True,
                         params_file=None):
    """The note's experiment: SimpleConvNet, Adam lr 0.001, batches of 100.

    Returns (trainer, network, the first layer's filters before training).
    """
    (x_train, t_train), (x_test, t_test) = load_mnist(flatten=False, dataset="mnist-sample")
    x_train, t_train = x_train[:n_train], t_train[:n_train]
    x_test, t_test = x_test[:n_test], t_test[:n_test]
    network = SimpleConvNet(input_dim=(1, 28, 28),
                            conv_param={"filter_num": 30, "filter_size": 5, "pad": 0, "stride": 1},
                            hidden_size=100, output_size=10, weight_init_std=0.01, rng=rng)
    initial_filters = network.params["W1"].copy()
    trainer = Trainer(network, x_train, t_train, x_test, t_test,
                      epochs=max_epochs, mini_batch_size=100,
                      optimizer="Adam", optimizer_param={"lr": 0.001},
                      evaluate_sample_num_per_epoch=1000, verbose=verbose, rng=rng)
    trainer.train()
    if params_file is not None:
        network.save_params(params_file)  # 매개변수 보존
    return trainer, network, initial_filters


# %% [markdown]
# ## 학습 전후의 필터 — The filters before and after training
#
# The note shows the filters of a *new* ``SimpleConvNet()`` as "before", then loads
# ``params.pkl`` into it for "after": the "before" picture is another random draw than the one
# training started from. Here "before" is a copy of the trained network's own initial filters
# (fix), and "after" is read back from ``params.pkl`` by ``load_params`` as in the note.
# Trained filters show smooth strokes and edges; random ones are noise.


# %%
def filters_after_from_pickle(params_file) -> np.ndarray:
    network = SimpleConvNet()
    network.load_params(params_file)
    return network.params["W1"]


# %% [markdown]
# ## 실행 — Running the lesson


# %%
def run(fast: bool | None = None, out=None, rng=0, verbose=True) -> dict:
    """The whole lesson; returns its key numbers (plots and params.pkl written into ``out``)."""
    from ..plot import plot_accuracy, plot_filters_before_after

    fast = fast_mode() if fast is None else fast
    outputs = out if isinstance(out, Outputs) else Outputs(out, "seed001")
    say = print if verbose else (lambda *a, **k: None)
    r: dict = {"outputs": outputs, "fast": fast}

    r["loops"] = {
        "conv": convolution_loop(x_input, kernel),
        "conv_pad1_stride2": convolution_loop_padded(x_input_7, kernel, padding=1, stride=2),
        "max_pooling": pooling_loop(conved_input, reduce=np.max),
        "average_pooling": pooling_loop(conved_input, reduce=np.mean),
    }
    for name, value in r["loops"].items():
        say(name, value, sep="\n")
    r["naive"] = loop_examples()
    r["layers_match"] = layers_match_loops()
    say("Convolution / Pooling layers equal the loops:", r["layers_match"])

    max_epochs, n_train, n_test = (3, 2000, 500) if fast else (20, 5000, 1000)
    params_file = outputs.path("params.pkl")
    trainer, network, initial = train_simple_convnet(max_epochs, n_train, n_test, rng=rng,
                                                     verbose=verbose, params_file=params_file)
    say("Saved Network Parameters!", params_file)
    r["train_acc_list"], r["test_acc_list"] = trainer.train_acc_list, trainer.test_acc_list
    r["max_epochs"], r["n_train"] = max_epochs, n_train
    plot_accuracy(trainer.train_acc_list, trainer.test_acc_list, show=False,
                  path=outputs.path("seed001_accuracy.png"))
    after = filters_after_from_pickle(params_file)
    r["pickle_roundtrip"] = np.array_equal(after, network.params["W1"])
    r["filter_change"] = float(np.abs(after - initial).mean() / np.abs(initial).mean())
    plot_filters_before_after(initial, after, show=False,
                              path=outputs.path("seed001_filters_before_after.png"))
    say(f"test accuracy after {max_epochs} epochs on {n_train} images: "
        f"{r['test_acc_list'][-1]:.4f}")
    return r


def check(r: dict) -> None:
    """The lesson's key numbers."""
    loops = r["loops"]
    expect(np.array_equal(loops["conv"], [[18, 19], [9, 18]])
           and np.array_equal(loops["max_pooling"], [[6, 8], [3, 4]])
           and np.array_equal(loops["average_pooling"], [[3.25, 5.25], [2, 2]])
           and loops["conv_pad1_stride2"].shape == (4, 4),
           f"the note's loops should print [[18 19] [9 18]], a 4x4 map, [[6 8] [3 4]] and "
           f"[[3.25 5.25] [2 2]]; got {loops}")
    expect(all(np.array_equal(loops[k], r["naive"][k]) for k in loops),
           "dlscratch.naive should give the note's loops' numbers")
    expect(all(r["layers_match"].values()),
           f"the im2col layers should equal the loops: {r['layers_match']}")
    expect(r["pickle_roundtrip"], "params.pkl should load back the trained filters exactly")
    expect(r["filter_change"] > 0.5, f"training should change the filters; mean change "
                                     f"{r['filter_change']:.2f} of their initial size")
    floor = 0.7 if r["fast"] else 0.95  # fast: 60 Adam steps, measured 0.778
    expect(r["test_acc_list"][-1] > floor,
           f"test accuracy should pass {floor} after {r['max_epochs']} epochs; got "
           f"{r['test_acc_list'][-1]:.4f}")


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv, "Lecture 001: convolution and pooling by loops, SimpleConvNet, "
                            "its filters before and after training")
    r = run(out=args.out)
    check(r)
    print(r["outputs"].listing())


# %%
if __name__ == "__main__":
    main()
