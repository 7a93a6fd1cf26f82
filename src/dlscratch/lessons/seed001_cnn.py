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
# Each section defines the note's names, then runs the note's example in a cell of its own and
# checks the numbers it prints (``expect``), so in the notebook every output sits under its
# section.
#
# Run: ``python -m dlscratch.lessons.seed001_cnn [--out DIR] [--lang ko|en]``;
# ``DLSCRATCH_FAST=1`` for the fast mode (2,000 training images, 3 epochs instead of 5,000 and
# 20).

# %%
from __future__ import annotations

import numpy as np

from ..datasets import load_mnist
from ..layers import Convolution, Pooling
from ..models import SimpleConvNet
from ..naive import average_pooling, conv2d, max_pooling
from ..plot import plot_accuracy, plot_filters_before_after
from ..trainer import Trainer
from ._common import expect, start

# %%
if __name__ == "__main__":
    lesson = start("seed001", "Lecture 001: convolution and pooling by loops, SimpleConvNet, "
                              "its filters before and after training")

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


# %%
if __name__ == "__main__":
    output = convolution_loop(x_input, kernel)
    print(output)  # [[18. 19.] [ 9. 18.]]
    expect(np.array_equal(output, [[18, 19], [9, 18]]),
           f"the note's convolution loop should print [[18 19] [9 18]], got {output}")


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


# %%
if __name__ == "__main__":
    output = convolution_loop_padded(x_input_7, kernel, padding=1, stride=2)
    print(output)
    # top-left window: padded rows [0 0 0], [0 1 2], [0 0 1] times the kernel, plus 3 = 10
    expect(output.shape == (4, 4) and output[0, 0] == 10,
           f"padding 1 and stride 2 should give a 4x4 map starting with 10, got {output}")


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


# %%
if __name__ == "__main__":
    max_pooling_result = pooling_loop(conved_input, reduce=np.max)
    print(max_pooling_result)  # [[6. 8.] [3. 4.]]
    average_pooling_result = pooling_loop(conved_input, reduce=np.mean)
    print(average_pooling_result)  # [[3.25 5.25] [2.   2.  ]]
    expect(np.array_equal(max_pooling_result, [[6, 8], [3, 4]])
           and np.array_equal(average_pooling_result, [[3.25, 5.25], [2, 2]]),
           f"the note's pooling loops should print [[6 8] [3 4]] and [[3.25 5.25] [2 2]]; got "
           f"{max_pooling_result} and {average_pooling_result}")


# %% [markdown]
# ``dlscratch.naive`` holds the same loops (``conv2d``, ``max_pooling``, ``average_pooling``):
# the truth dlscratch's fast layers are tested against. They give the note's four results.


# %%
def loop_examples() -> dict[str, np.ndarray]:
    """The note's four printed results, by dlscratch.naive (the same loops)."""
    return {
        "conv": conv2d(x_input, kernel) + 3,  # [[18, 19], [9, 18]]
        "conv_pad1_stride2": conv2d(x_input_7, kernel, pad=1, stride=2) + 3,  # 4x4
        "max_pooling": max_pooling(conved_input, size=2, stride=2),  # [[6, 8], [3, 4]]
        # [[3.25, 5.25], [2, 2]]
        "average_pooling": average_pooling(conved_input, size=2, stride=2),
    }


# %%
if __name__ == "__main__":
    loops = {"conv": convolution_loop(x_input, kernel),
             "conv_pad1_stride2": convolution_loop_padded(x_input_7, kernel),
             "max_pooling": max_pooling_result, "average_pooling": average_pooling_result}
    naive = loop_examples()
    print("dlscratch.naive equals the note's loops:",
          {k: np.array_equal(loops[k], naive[k]) for k in loops})
    expect(all(np.array_equal(loops[k], naive[k]) for k in loops),
           "dlscratch.naive should give the note's loops' numbers")


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


# %%
if __name__ == "__main__":
    layers_match = layers_match_loops()
    print("Convolution / Pooling layers equal the loops:", layers_match)
    expect(all(layers_match.values()), f"the im2col layers should equal the loops: {layers_match}")


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


# %%
if __name__ == "__main__":
    if lesson.fast:
        max_epochs, n_train, n_test = 3, 2000, 500
    else:
        max_epochs, n_train, n_test = 20, 5000, 1000  # the note's
    params_file = lesson.outputs.path("params.pkl")
    trainer, network, initial_filters = train_simple_convnet(max_epochs, n_train, n_test, rng=0,
                                                             params_file=params_file)
    print("Saved Network Parameters!", params_file)
    print(f"test accuracy after {max_epochs} epochs on {n_train} images: "
          f"{trainer.test_acc_list[-1]:.4f}")
    floor = 0.7 if lesson.fast else 0.95  # fast: 60 Adam steps, measured 0.778
    expect(trainer.test_acc_list[-1] > floor,
           f"test accuracy should pass {floor} after {max_epochs} epochs; got "
           f"{trainer.test_acc_list[-1]:.4f}")
    # the note's plot: accuracy per epoch, train and test, legend lower right
    fig_acc = plot_accuracy(trainer.train_acc_list, trainer.test_acc_list, show=False)
    ax = fig_acc.axes[0]
    ax.lines[0].set_label(lesson.label("train", "학습 데이터"))
    ax.lines[1].set_label(lesson.label("test", "시험 데이터"))
    ax.legend(loc="lower right")
    ax.xaxis.get_major_locator().set_params(integer=True)  # whole epochs on the axis
    ax.set_xlabel(lesson.label("epochs", "에폭"))
    ax.set_ylabel(lesson.label("accuracy", "정확도"))
    ax.set_title(lesson.label("SimpleConvNet: accuracy per epoch", "SimpleConvNet: 에폭별 정확도"))
    lesson.save(fig_acc, "seed001_accuracy.png")


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


# %%
if __name__ == "__main__":
    after = filters_after_from_pickle(params_file)
    pickle_roundtrip = np.array_equal(after, network.params["W1"])
    filter_change = float(np.abs(after - initial_filters).mean()
                          / np.abs(initial_filters).mean())
    print(f"params.pkl gives back the trained filters: {pickle_roundtrip}; mean change "
          f"{filter_change:.2f} of their initial size")
    expect(pickle_roundtrip, "params.pkl should load back the trained filters exactly")
    expect(filter_change > 0.5, f"training should change the filters; mean change "
                                f"{filter_change:.2f} of their initial size")
    fig_filters = plot_filters_before_after(initial_filters, after, lang=lesson.lang)
    lesson.save(fig_filters, "seed001_filters_before_after.png")


# %% [markdown]
# ## 정리: 퍼셉트론에서 전이 학습까지 — The note's overview
#
# The note ends with an overview without code; each part has a lesson: the perceptron (and why
# one layer cannot learn XOR) in ``seed002_perceptron`` and ``seed004_xor``, deep networks with
# their activation functions and backprop in ``seed003_mlp_csv``, optimisation (gradient
# descent, SGD) in ``seed000_neural_network``, the CNN here, and transfer learning with a
# ResNet in ``transfer_learning``. The key numbers of this lesson, and the files it wrote:

# %%
if __name__ == "__main__":
    print(f"convolution {loops['conv'].tolist()}, max pooling {max_pooling_result.tolist()}; "
          f"SimpleConvNet, "
          f"{max_epochs} epochs on {n_train} images: train accuracy "
          f"{trainer.train_acc_list[-1]:.4f}, test accuracy {trainer.test_acc_list[-1]:.4f}; "
          f"filters changed by {filter_change:.2f}")
    print(lesson.outputs.listing())


