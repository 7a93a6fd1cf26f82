# %% [markdown]
# # 스물일곱번째 수업: 인공신경망 — Neural networks (lecture 000)
#
# The note's sections in order: a 3-layer network, the output layer (softmax and its overflow),
# recognising handwritten digits with the book's trained weights (accuracy 0.9352), loss
# functions, mini-batches, numerical differentiation, gradients, gradient descent, the gradient
# of a network (simpleNet) and TwoLayerNet trained with numerical gradients.
#
# What changed from the note, everywhere: ``common.functions`` -> ``dlscratch.functions`` and
# ``dataset.mnist`` -> ``dlscratch.datasets`` (no ``sys.path.append(os.pardir)``); the pickle of
# trained weights is read with a restricted unpickler (no code in it can run); every
# ``np.random`` call takes a seeded ``rng``; pictures are written to an output folder. Each other
# fix is said where it happens.
#
# Each section defines the note's names, then runs the note's example in a cell of its own and
# checks the numbers it prints (``expect``), so in the notebook every output sits under its
# section.
#
# Run: ``python -m dlscratch.lessons.seed000_neural_network [--out DIR] [--lang ko|en]``;
# ``DLSCRATCH_FAST=1`` for the fast mode (a tiny network for the numerical-gradient training).

# %%
from __future__ import annotations

import sys
import time

import numpy as np

from .._rng import as_generator
from ..data import random_batch
from ..datasets import load_mnist, load_sample_weights
from ..functions import (
    cross_entropy_error,
    identity_function,
    sigmoid,
    softmax,
    sum_squares_error,
)
from ..gradient import gradient_descent, numerical_diff, numerical_gradient, tangent_line
from ..models import TwoLayerNet, simpleNet
from ..plot import img_show, plot_descent_path, plot_gradient_field, plot_tangent_line
from ._common import expect, start

# %%
if __name__ == "__main__":
    lesson = start("seed000", "Lecture 000: neural networks, MNIST inference (0.9352), "
                              "numerical gradients and TwoLayerNet")

# %% [markdown]
# ## 3층 신경망 — A 3-layer network
#
# ``sigmoid`` and ``identity_function`` are used but never defined in the note: they come from
# ``dlscratch.functions`` (fix).


# %%
def init_network() -> dict[str, np.ndarray]:
    network = {}
    network["W1"] = np.array([[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]])
    network["b1"] = np.array([0.1, 0.2, 0.3])
    network["W2"] = np.array([[0.1, 0.4], [0.2, 0.5], [0.3, 0.6]])
    network["b2"] = np.array([0.1, 0.2])
    network["W3"] = np.array([[0.1, 0.3], [0.2, 0.4]])
    network["b3"] = np.array([0.1, 0.2])
    return network


def forward(network, x):
    W1, W2, W3 = network["W1"], network["W2"], network["W3"]
    b1, b2, b3 = network["b1"], network["b2"], network["b3"]
    a1 = np.dot(x, W1) + b1
    z1 = sigmoid(a1)
    a2 = np.dot(z1, W2) + b2
    z2 = sigmoid(a2)
    a3 = np.dot(z2, W3) + b3
    y = identity_function(a3)
    return y


# %%
if __name__ == "__main__":
    network = init_network()
    x = np.array([1.0, 0.5])
    y = forward(network, x)
    print(y)  # [0.31682708 0.69627909]
    expect(np.allclose(y, [0.31682708, 0.69627909], atol=1e-8),
           f"the 3-layer network should give [0.31682708 0.69627909], got {y}")

# %% [markdown]
# ## 출력층 설계: Softmax 함수와 Overflow 문제 — The output layer: softmax and overflow
#
# The note's first ``softmax`` overflows for large scores (``np.exp(1010)`` is inf, inf/inf is
# nan); subtracting the maximum first gives the same probabilities, finite. (The note's text
# also says ``np.sump``: it is ``np.sum``.) dlscratch's ``softmax`` is the second one, and also
# works on batches (one row per sample).


# %%
def softmax_naive(a):
    """The note's first softmax (overflows)."""
    exp_a = np.exp(a)
    sum_exp_a = np.sum(exp_a)
    y = exp_a / sum_exp_a
    return y


def softmax_overflow_demo() -> tuple[np.ndarray, np.ndarray]:
    a = np.array([1010.0, 1000.0, 990.0])
    with np.errstate(over="ignore", invalid="ignore"):
        naive = softmax_naive(a)  # [nan nan nan]
    return naive, softmax(a)  # [9.99954600e-01 4.53978686e-05 2.06106005e-09]


# %%
if __name__ == "__main__":
    y_naive, y_stable = softmax_overflow_demo()
    print("softmax of [1010, 1000, 990]: the note's first version", y_naive,
          "; with the max subtracted", y_stable)
    expect(bool(np.all(np.isnan(y_naive))) and abs(y_stable[0] - 0.9999546) < 1e-6,
           "the note's softmax should overflow to nan and the stable one give 0.9999546 first")

# %% [markdown]
# ## 손글씨 숫자 인식: MNIST 데이터셋 로드와 이미지 시각화 — MNIST and img_show
#
# ``load_mnist(flatten=True, normalize=False)`` gives 784 pixels 0-255 per image. The note's
# ``plt.imshow(img, cmap='grey')`` becomes ``dlscratch.plot.img_show``, which returns the figure
# (shown here, and written to the output folder). (The note says the labels are 0~8: they are
# 0~9.) Offline, the data are the bundled ``mnist-sample``: exactly the 10,000 MNIST test
# images, split 8,000 + 2,000.


# %%
def first_training_image():
    (x_train, t_train), (x_test, t_test) = load_mnist(flatten=True, normalize=False,
                                                      dataset="mnist-sample")
    img = x_train[0]
    label = t_train[0]
    return img, label


# %%
if __name__ == "__main__":
    img, label = first_training_image()
    print(label)  # 7
    print(img.shape)  # (784,)
    img = img.reshape(28, 28)
    print(img.shape)  # (28, 28)
    expect(int(label) == 7 and img.max() == 255,
           f"the first image should be a 7 in raw pixels 0-255, got label {label}, "
           f"largest pixel {img.max()}")
    fig_img = img_show(img, label=label, lang=lesson.lang, show=False)
    lesson.save(fig_img, "seed000_img_show.png")

# %% [markdown]
# ## 신경망 추론 처리 — Inference with the trained weights
#
# ``get_data`` returns the MNIST test set: the sample's two parts joined, 10,000 images. The
# note reuses the name ``init_network`` for loading ``sample_weight.pkl``, which would replace
# the 3-layer network above; here it is ``init_network_pretrained`` (fix), and the pickle is read
# by ``load_sample_weights`` (restricted unpickler). The note's loop prints a line for every
# correct image (9,352 lines); only the first few are printed here. Then the same count in
# batches of 100 (배치 처리).


# %%
def get_data():
    """The MNIST test set, all 10,000 images (shipped with dlscratch as the mnist-sample)."""
    (x_train, t_train), (x_test, t_test) = load_mnist(
        normalize=True, flatten=True, one_hot_label=False, dataset="mnist-sample")
    return np.concatenate([x_train, x_test]), np.concatenate([t_train, t_test])


def init_network_pretrained() -> dict[str, np.ndarray]:
    return load_sample_weights()  # W1 (784, 50), b1, W2 (50, 100), b2, W3 (100, 10), b3


def predict(network, x):
    W1, W2, W3 = network["W1"], network["W2"], network["W3"]
    b1, b2, b3 = network["b1"], network["b2"], network["b3"]
    a1 = np.dot(x, W1) + b1
    z1 = sigmoid(a1)
    a2 = np.dot(z1, W2) + b2
    z2 = sigmoid(a2)
    a3 = np.dot(z2, W3) + b3
    y = softmax(a3)
    return y


def mnist_accuracy(batch_size: int | None = None, print_first: int = 0) -> float:
    """Accuracy of the book's trained network, one image at a time or in batches (배치 처리)."""
    x, t = get_data()
    network = init_network_pretrained()
    accuracy_cnt = 0
    if batch_size is None:
        for i in range(len(x)):
            y = predict(network, x[i])
            p = np.argmax(y)
            if p == t[i]:
                if accuracy_cnt < print_first:
                    print("predicted num = ", p, " Original num = ", t[i])
                accuracy_cnt += 1
    else:
        for i in range(0, len(x), batch_size):
            x_batch = x[i:i + batch_size]
            y_batch = predict(network, x_batch)
            p = np.argmax(y_batch, axis=1)
            accuracy_cnt += int(np.sum(p == t[i:i + batch_size]))
    return float(accuracy_cnt) / len(x)


# %%
if __name__ == "__main__":
    accuracy = mnist_accuracy(print_first=5)
    print("Accuracy: " + str(accuracy))
    accuracy_batch = mnist_accuracy(batch_size=100)
    print("Accuracy (batch_size = 100): " + str(accuracy_batch))
    expect(accuracy == 0.9352 and accuracy_batch == 0.9352,
           f"the book's weights should score 0.9352 on the MNIST test set, one at a time and in "
           f"batches; got {accuracy} and {accuracy_batch}")

# %% [markdown]
# ## 신경망 학습: 손실함수 — Loss functions
#
# ``sum_squares_error`` E = 1/2 sum_k (y_k - t_k)^2 and ``cross_entropy_error``
# E = -sum_k t_k log(y_k + 1e-7), on the note's example (the answer is 2; y puts 0.6 on it).
# The batch versions divide by the batch size; ``cross_entropy_error2`` (integer labels) is the
# same function in dlscratch: ``cross_entropy_error`` accepts one-hot rows or labels.


# %%
def loss_examples() -> dict[str, float]:
    t = np.array([0, 0, 1, 0, 0, 0, 0, 0, 0, 0])
    y = np.array([0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0])
    return {"SSE": sum_squares_error(y, t), "CEE": cross_entropy_error(y, t)}


# %%
if __name__ == "__main__":
    losses = loss_examples()
    print("SSE", losses["SSE"], "CEE", losses["CEE"])  # 0.0975, 0.5108
    expect(abs(losses["SSE"] - 0.0975) < 1e-12 and abs(losses["CEE"] - 0.5108254) < 1e-6,
           f"SSE 0.0975 and CEE 0.5108 on the note's example, got {losses}")

# %% [markdown]
# ## 미니배치 학습 — Mini-batches
#
# ``np.random.choice(train_size, batch_size)`` draws from NumPy's global generator; here from a
# seeded ``rng`` (fix), so the lesson gives the same batch every run.


# %%
def minibatch_losses(rng=0) -> tuple[float, float]:
    """CEE of the trained network on a batch of 10, with one-hot and with integer labels."""
    (x_train, t_train), _ = load_mnist(normalize=True, one_hot_label=True, dataset="mnist-sample")
    train_size = x_train.shape[0]
    batch_size = 10
    batch_mask = as_generator(rng).choice(train_size, batch_size)
    x_batch = x_train[batch_mask]
    t_batch = t_train[batch_mask]
    y = predict(init_network_pretrained(), x_batch)
    return cross_entropy_error(y, t_batch), cross_entropy_error(y, np.argmax(t_batch, axis=1))


# %%
if __name__ == "__main__":
    cee_onehot, cee_labels = minibatch_losses(rng=0)
    print(f"mini-batch of 10: CEE one-hot {cee_onehot:.6f}, integer labels {cee_labels:.6f}")
    # float32 probabilities: the two forms add the same terms in another order (the one-hot
    # sum also adds the zeros), so they agree to float32 rounding, not to the last bit
    expect(abs(cee_onehot - cee_labels) <= 1e-6 * abs(cee_labels),
           "cross_entropy_error with one-hot rows and with integer labels should agree "
           f"(to float32 rounding); got {cee_onehot!r} and {cee_labels!r}")

# %% [markdown]
# ## 수치미분 — Numerical differentiation
#
# ``numerical_diff`` is the central difference (f(x+h) - f(x-h)) / 2h with h = 1e-4 (the
# note's comment says 0.00001; 1e-4 is 0.0001). ``function_1`` is used but not defined in the
# note: it is the book's 0.01 x^2 + 0.1 x (fix). The note's second ``tangent_line`` calls
# ``numerical_gradient`` on a number, which fails (it perturbs an array in place): the first
# one, with ``numerical_diff``, is the one drawn (``plot_tangent_line``).


# %%
def function_1(x):
    return 0.01 * x**2 + 0.1 * x


def diff_examples() -> dict[str, float]:
    """f'(5) and f'(10) of function_1: exactly 0.02 x + 0.1, so 0.2 and 0.3."""
    return {"diff_at_5": numerical_diff(function_1, 5),
            "diff_at_10": numerical_diff(function_1, 10)}


# %%
if __name__ == "__main__":
    diffs = diff_examples()
    print(diffs["diff_at_5"], diffs["diff_at_10"])  # 0.1999999999990898 0.2999999999986347
    tf = tangent_line(function_1, 5)
    print("tangent at x = 5: y-intercept", tf(0.0))  # f(5) - 0.2 * 5 = -0.25
    expect(abs(diffs["diff_at_5"] - 0.2) < 1e-6 and abs(diffs["diff_at_10"] - 0.3) < 1e-6
           and abs(tf(0.0) + 0.25) < 1e-6,
           f"numerical derivatives 0.2 and 0.3 and the tangent's intercept -0.25, got "
           f"{diffs} and {tf(0.0)}")
    fig_tangent = plot_tangent_line(function_1, 5, lang=lesson.lang)
    lesson.save(fig_tangent, "seed000_tangent_line.png")

# %% [markdown]
# ## 편미분 — Partial derivatives
#
# At (x0, x1) = (3, 4): fix x1 = 4 and differentiate in x0, then fix x0 = 3.


# %%
def function_tmp1(x0):
    return x0 * x0 + 4.0**2.0


def function_tmp2(x1):
    return 3.0**2.0 + x1 * x1


def partial_examples() -> dict[str, float]:
    """df/dx0 at x0 = 3 (6.0) and df/dx1 at x1 = 4 (8.0)."""
    return {"tmp1_at_3": numerical_diff(function_tmp1, 3.0),
            "tmp2_at_4": numerical_diff(function_tmp2, 4.0)}


# %%
if __name__ == "__main__":
    partials = partial_examples()
    print(partials["tmp1_at_3"], partials["tmp2_at_4"])  # 6.00000000000378 7.999999999999119
    expect(abs(partials["tmp1_at_3"] - 6.0) < 1e-6 and abs(partials["tmp2_at_4"] - 8.0) < 1e-6,
           f"the partial derivatives at (3, 4) should be 6.0 and 8.0, got {partials}")

# %% [markdown]
# ## 기울기 — The gradient, and its picture (quiver)
#
# ``numerical_gradient`` of dlscratch handles arrays of any shape (the note's
# ``_numerical_gradient_no_batch`` plus its batch loop). In the note's quiver code
# ``x, Y = np.meshgrid(...)`` is followed by ``X.flatten()``: ``X`` was never defined (fix:
# ``X, Y``); ``plt.legend()`` without labelled lines only warns (dropped); the ``print(x)`` in
# the batch loop prints 324 lines (dropped). ``plot_gradient_field`` draws -grad f.


# %%
def function_2(x):
    return x[0] ** 2 + x[1] ** 2


def gradient_points() -> dict[str, np.ndarray]:
    """The gradient of function_2 at the note's three points: [6, 8], [0, 4], [6, 0]."""
    return {"grad_at_3_4": numerical_gradient(function_2, np.array([3.0, 4.0])),
            "grad_at_0_2": numerical_gradient(function_2, np.array([0.0, 2.0])),
            "grad_at_3_0": numerical_gradient(function_2, np.array([3.0, 0.0]))}


# %%
if __name__ == "__main__":
    grads = gradient_points()
    for name, grad in grads.items():
        print(name, grad)  # [6. 8.], [0. 4.], [6. 0.]
    expect(np.allclose(grads["grad_at_3_4"], [6, 8], atol=1e-6)
           and np.allclose(grads["grad_at_0_2"], [0, 4], atol=1e-6)
           and np.allclose(grads["grad_at_3_0"], [6, 0], atol=1e-6),
           f"the gradients should be [6, 8], [0, 4] and [6, 0], got {grads}")
    fig_field = plot_gradient_field(function_2, lang=lesson.lang)
    lesson.save(fig_field, "seed000_gradient_field.png")

# %% [markdown]
# ## 경사하강법 — Gradient descent, and its path
#
# dlscratch's ``gradient_descent`` returns ``(x, x_history)`` like the note's second version,
# and does not modify ``init_x`` (the note's ``x = init_x`` then ``x -= ...`` changes the
# caller's array). From (-3, 4) with lr = 0.1 each step multiplies x by 1 - 2 lr = 0.8: after
# the note's 20 steps x = (-3, 4) * 0.8^20, after 100 steps it is at the origin to 1e-9.


# %%
def descent_path(lr=0.1, step_num=20):
    init_x = np.array([-3.0, 4.0])
    x, x_history = gradient_descent(function_2, init_x, lr=lr, step_num=step_num)
    return x, x_history


def gradient_examples() -> dict[str, np.ndarray]:
    """Every number of the last four sections, and 100 steps of gradient descent."""
    return {**diff_examples(), **partial_examples(), **gradient_points(),
            "descent": descent_path(step_num=100)[0]}


# %%
if __name__ == "__main__":
    x, x_history = descent_path()
    print("gradient descent, 20 steps from (-3, 4):", x)  # [-0.03458765  0.04611686]
    print("100 steps:", descent_path(step_num=100)[0])  # [-6.11110793e-10  8.14814391e-10]
    expect(np.allclose(x, np.array([-3.0, 4.0]) * 0.8**20, rtol=1e-6),
           f"20 steps of lr 0.1 should give (-3, 4) * 0.8^20, got {x}")
    fig_path = plot_descent_path(x_history, function_2, lang=lesson.lang)
    lesson.save(fig_path, "seed000_descent_path.png")

# %% [markdown]
# ## 신경망에서의 기울기 — The gradient of a network (simpleNet)
#
# ``simpleNet`` holds W (2, 3) drawn from N(0, 1) (a seeded rng instead of ``np.random.randn``);
# ``f(W)`` ignores its argument: ``numerical_gradient`` perturbs ``net.W`` in place and the loss
# sees it through the network. The result equals the analytic dL/dW = x (softmax(x W) - t).


# %%
def simple_net_gradient(rng=0):
    """dL/dW of simpleNet at x = [0.6, 0.9], t = [0, 0, 1], by numerical_gradient."""
    net = simpleNet(rng=rng)
    x = np.array([0.6, 0.9])
    t = np.array([0, 0, 1])

    def f(W):
        return net.loss(x, t)

    dW = numerical_gradient(f, net.W)
    return net, dW


# %%
if __name__ == "__main__":
    net, dW = simple_net_gradient(rng=0)
    print("simpleNet dW =\n", dW)
    x, t = np.array([0.6, 0.9]), np.array([0, 0, 1])
    expect(np.allclose(dW, np.outer(x, softmax(x @ net.W) - t), atol=1e-6),
           "simpleNet's numerical dW should equal the analytic x (softmax(x W) - t)")

# %% [markdown]
# ## 2층 신경망 클래스와 미니배치 학습 — TwoLayerNet trained with numerical gradients
#
# ``TwoLayerNet`` is dlscratch's (same ``params`` W1, b1, W2, b2, sigmoid, softmax). It holds
# float32 weights; its ``numerical_gradient`` computes in float64 (in float32 the difference of
# two losses 2e-4 apart is mostly rounding noise) and restores the network exactly.
#
# One numerical gradient costs two losses per parameter: 2 x 39,760 forward passes for the
# note's 784-50-10 network. The lesson times the first one, prints the estimate for all
# ``iters_num`` iterations, and shows a progress bar for the rest. The fast mode uses a tiny
# network (hidden_size=2) and batches of 5. The first gradient is also compared with
# backprop's (``network.gradient``, the next lecture): they agree to 1e-6.


# %%
def train_numerical(iters_num=5, batch_size=100, hidden_size=50, learning_rate=0.1, rng=0,
                    verbose=True):
    """The note's loop with ``network.numerical_gradient``: (train_loss_list, seconds per
    gradient, largest difference from backprop's gradient on the first batch)."""
    from tqdm import tqdm

    (x_train, t_train), _ = load_mnist(normalize=True, one_hot_label=True, dataset="mnist-sample")
    g = as_generator(rng)
    train_loss_list = []
    train_size = x_train.shape[0]
    network = TwoLayerNet(input_size=784, hidden_size=hidden_size, output_size=10, rng=g)
    bar = None
    for i in range(iters_num):
        batch_mask = g.choice(train_size, batch_size)
        x_batch = x_train[batch_mask]
        t_batch = t_train[batch_mask]
        if i == 0:  # measure one gradient first: the estimate below is measured, not guessed
            t0 = time.perf_counter()
            grad = network.numerical_gradient(x_batch, t_batch)
            seconds = time.perf_counter() - t0
            backprop = network.gradient(x_batch.astype(np.float64), t_batch)
            max_diff = max(float(np.abs(grad[k] - backprop[k]).max()) for k in grad)
            if verbose:
                n = sum(p.size for p in network.params.values())
                print(f"one numerical gradient ({n} parameters, 2 losses each): {seconds:.2f} s;"
                      f" {iters_num} iterations: about {seconds * iters_num:.1f} s")
            bar = tqdm(total=iters_num, initial=1, desc="numerical_gradient", unit="it",
                       file=sys.stdout, disable=not verbose)
        else:
            grad = network.numerical_gradient(x_batch, t_batch)
            bar.update(1)
        for key in ("W1", "b1", "W2", "b2"):
            network.params[key] -= learning_rate * grad[key]
        loss = network.loss(x_batch, t_batch)
        train_loss_list.append(float(loss))
    bar.close()
    return train_loss_list, seconds, max_diff


# %%
if __name__ == "__main__":
    if lesson.fast:
        iters_num, batch_size, hidden_size = 3, 5, 2
    else:
        iters_num, batch_size, hidden_size = 5, 100, 50  # the note's
    train_loss_list, seconds_per_gradient, max_diff = train_numerical(
        iters_num, batch_size, hidden_size, rng=0)
    print("Train Loss: ", train_loss_list)
    print(f"numerical vs backprop gradient on the first batch: largest difference {max_diff:.2e}")
    expect(max_diff < 1e-6,
           f"numerical and backprop gradients should agree; largest difference {max_diff:.2e}")

# %% [markdown]
# ### 같은 학습을 오차역전파로 — The same loop with backprop
#
# The note stops at the numerical-gradient losses, which barely move in 5 iterations. The same
# mini-batch loop with ``network.gradient`` (backprop, the next lecture) is thousands of times
# faster and actually learns: 2,000 iterations pass 0.9 test accuracy (fast mode: 300, the loss
# still falls).


# %%
def train_two_layer_net(iters_num=1000, batch_size=100, learning_rate=0.1, rng=0,
                        use_backprop=True):
    """The note's mini-batch loop with backprop (``use_backprop=False``: numerical, slow):
    (train_loss_list, test accuracy)."""
    (x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, one_hot_label=True,
                                                      dataset="mnist-sample")
    g = as_generator(rng)
    network = TwoLayerNet(input_size=784, hidden_size=50, output_size=10, rng=g)
    train_loss_list = []
    for _ in range(iters_num):
        x_batch, t_batch = random_batch(x_train, t_train, batch_size, rng=g)
        if use_backprop:
            grad = network.gradient(x_batch, t_batch)
        else:
            grad = network.numerical_gradient(x_batch, t_batch)
        for key in ("W1", "b1", "W2", "b2"):
            network.params[key] -= learning_rate * grad[key]
        train_loss_list.append(float(network.loss(x_batch, t_batch)))
    return train_loss_list, network.accuracy(x_test, t_test)


# %%
if __name__ == "__main__":
    bp_iters = 300 if lesson.fast else 2000
    bp_losses, bp_accuracy = train_two_layer_net(iters_num=bp_iters, rng=0)
    first, last = np.mean(bp_losses[:20]), np.mean(bp_losses[-50:])
    print(f"backprop, {bp_iters} iterations: loss {bp_losses[0]:.3f} -> {last:.3f} (mean of the "
          f"last 50), test accuracy {bp_accuracy:.4f}")
    expect(last < first - 0.3,
           f"backprop training should lower the loss; mean {first:.3f} -> {last:.3f}")
    if not lesson.fast:
        expect(bp_accuracy > 0.9, f"2,000 backprop iterations should pass 0.9 test accuracy, "
                                  f"got {bp_accuracy:.4f}")

# %% [markdown]
# ## 정리 — Summary
#
# The key numbers of the lesson, and the pictures it wrote.

# %%
if __name__ == "__main__":
    print(f"3-layer network y = {y}; MNIST accuracy with the book's weights {accuracy} "
          f"(batches of 100: {accuracy_batch})")
    print(f"SSE {losses['SSE']:.4f}, CEE {losses['CEE']:.4f}; grad f(3, 4) = "
          f"{grads['grad_at_3_4']}; simpleNet dW[0] = {dW[0]}")
    print(f"one numerical gradient {seconds_per_gradient:.2f} s (largest difference from "
          f"backprop {max_diff:.1e}); backprop, {bp_iters} iterations: test accuracy "
          f"{bp_accuracy:.4f}")
    print(lesson.outputs.listing())
