"""Lecture 001: convolutional networks - convolution and pooling by loops, then SimpleConvNet
built from im2col layers and trained with the Trainer, and its filters before and after.

The note's loops are :mod:`dlscratch.naive` (the truth the fast layers are tested against);
``Convolution``, ``Pooling`` and ``SimpleConvNet`` keep the note's signatures. The note trains
on 5,000 MNIST images for 20 epochs; without a download this runs on the bundled sample.
"""

from __future__ import annotations

import numpy as np

from ..datasets import load_mnist
from ..models import SimpleConvNet
from ..naive import average_pooling, conv2d, max_pooling
from ..trainer import Trainer

x_input = np.array([[1, 2, 3, 0],
                    [0, 1, 2, 3],
                    [3, 0, 1, 2],
                    [2, 3, 0, 1]])
kernel = np.array([[2, 0, 1],
                   [0, 1, 2],
                   [1, 0, 2]])
x_input_7 = np.array([[1, 2, 3, 0, 1, 2, 3],
                      [0, 1, 2, 3, 0, 1, 2],
                      [3, 0, 1, 2, 3, 0, 1],
                      [2, 3, 0, 1, 2, 3, 0],
                      [1, 2, 3, 0, 1, 2, 3],
                      [0, 1, 2, 3, 0, 1, 2],
                      [3, 0, 1, 2, 3, 0, 1]])
conved_input = np.array([[1, 1, 2, 4],
                         [5, 6, 7, 8],
                         [3, 2, 1, 0],
                         [1, 2, 3, 4]])


def loop_examples() -> dict[str, np.ndarray]:
    """The note's four printed results."""
    return {
        "conv": conv2d(x_input, kernel) + 3,  # [[18, 19], [9, 18]]
        "conv_pad1_stride2": conv2d(x_input_7, kernel, pad=1, stride=2) + 3,  # 4x4
        "max_pooling": max_pooling(conved_input, size=2, stride=2),  # [[6, 8], [3, 4]]
        # [[3.25, 5.25], [2, 2]]
        "average_pooling": average_pooling(conved_input, size=2, stride=2),
    }


def train_simple_convnet(max_epochs=20, n_train=5000, n_test=1000, rng=0, verbose=True,
                         params_file=None):
    """The note's experiment: SimpleConvNet, Adam lr 0.001, batches of 100."""
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
        network.save_params(params_file)
    return trainer, network, initial_filters


def main() -> None:
    for name, value in loop_examples().items():
        print(name, value, sep="\n")
    trainer, network, initial = train_simple_convnet(max_epochs=5)
    network.save_params("params.pkl")  # safe .npz content, whatever the name
    print("Saved Network Parameters!")
    try:
        from ..plot import filter_show, plot_accuracy

        plot_accuracy(trainer.train_acc_list, trainer.test_acc_list, path="accuracy.png",
                      show=False)
        filter_show(initial, path="filters_before.png", show=False)
        filter_show(network.params["W1"], path="filters_after.png", show=False)
        print("wrote accuracy.png, filters_before.png, filters_after.png")
    except ImportError:
        print("matplotlib is not installed: pip install matplotlib to draw the plots")


if __name__ == "__main__":
    main()
