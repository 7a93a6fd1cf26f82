# %% [markdown]
# # Chapter 3 인공신경망 — Artificial neural networks (lecture 002)
#
# The note's sections in order: what a neural network is and its three uses, the perceptron (a
# dot product and the sign function), its loss and per-sample training, its implementation on
# ``make_classification`` data, activation functions, loss functions, fully connected layers and
# the network's structure, which this lesson trains for the three uses (binary classification,
# regression, multi-class classification).
#
# What changed from the note, everywhere: TensorFlow -> NumPy, with the perceptron's gradients
# written out instead of ``GradientTape`` (the change this library is about); the data are the
# note's, exactly; pictures are written to an output folder. Each other fix is said where it
# happens.
#
# The data need scikit-learn, an optional extra: ``pip install scikit-learn`` (or
# ``pip install "dlscratch[lessons]"``). Without it the lesson stops and says so.
#
# Run: ``python -m dlscratch.lessons.seed002_perceptron [--out DIR] [--lang ko|en]``;
# ``DLSCRATCH_FAST=1`` for the fast mode (fewer training steps for the last part).

# %%
from __future__ import annotations

import numpy as np

from .._rng import as_generator
from ..functions import cross_entropy_error, mean_absolute_error, mean_squared_error, sign, softmax
from ..layers import BCEWithLogitsLoss, Linear, MSELoss, Sequential, SoftmaxWithLoss, Tanh
from ..optim import Adam
from ..plot import plot_activations, plot_decision_boundary, plot_scatter
from ..plot.fonts import pick
from ._common import expect, start

SKLEARN_MISSING = (
    "lesson 002 uses the note's data, made by scikit-learn's make_classification, and "
    "scikit-learn is not installed. Install it with\n"
    "    pip install scikit-learn\n"
    "(or pip install \"dlscratch[lessons]\") and run the lesson again.")


def _sklearn_datasets():
    try:
        from sklearn import datasets
    except ImportError as e:
        raise SystemExit(SKLEARN_MISSING) from e
    return datasets


# %%
if __name__ == "__main__":
    lesson = start("seed002", "Lecture 002: the perceptron, activations, losses, one network "
                              "for three tasks")
    np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## 인공신경망 소개, 인공신경망의 애플리케이션 — Neural networks and their three uses
#
# A network learns the weights that connect its neurons. What it learns depends on the targets:
# 0 or 1 (binary classification, like logistic regression), a real value (regression), a
# one-hot vector (multi-class classification). The last section trains one small network all
# three ways, once the perceptron, the activations, the losses and the layers are in place.
#
# ## 퍼셉트론 — The perceptron: z = w . x + b, y_pred = sign(z)
#
# A hard decision (-1 or +1, no value in between). Its loss is -(y - y_pred) z: zero for a
# correct sample, 2|z| for a wrong one, so only the misclassified samples count.
#
# ## 퍼셉트론의 학습 — Training: one gradient step per sample
#
# sign() has zero gradient, so (what ``GradientTape`` computes in the note)
#
#     dloss/dw = -(y - y_pred) x,   dloss/db = -(y - y_pred)
#
# and a wrong sample moves w by 2 * eta * y * x: the perceptron rule.
#
# ## 퍼셉트론의 구현 — The implementation
#
# The note's data call, exactly; labels {0, 1} become {-1, +1}.


# %%
def make_data():
    """The note's 100 points X (100, 2) and labels y (100,) in {-1, +1}."""
    X, y = _sklearn_datasets().make_classification(
        n_samples=100, n_features=2, n_informative=2, n_redundant=0, n_classes=2,
        n_clusters_per_class=1, class_sep=2.0, random_state=20)
    y = 2 * y - 1  # convert labels from {0, 1} to {-1, 1}
    return X, y


# %%
if __name__ == "__main__":
    X, y = make_data()
    print("X.shape =", X.shape)  # (100, 2)
    expect(X.shape == (100, 2) and set(np.unique(y)) == {-1, 1},
           f"the note's data are 100 points with labels -1/+1, got X {X.shape}, labels "
           f"{np.unique(y)}")
    lesson.save(plot_scatter(X, y, lesson.label("Groundtruth", "정답 (Groundtruth)"),
                             lang=lesson.lang), "seed002_groundtruth.png")

# %% [markdown]
# The note's ``tf.Module`` becomes a plain class: w (2, 1), b a number, and the forward pass
# ``z = sum(w.T * x, axis=1) + b``. The note's ``tf.random.normal([2, 1])`` has no seed and
# printed ``w = [[0.1900148], [0.79189396]]``; the lesson starts from those values, so its
# numbers are the note's run (``rng`` draws a fresh N(0, 1) start instead).

# %%
NOTE_W = np.array([[0.1900148], [0.79189396]])


class Perceptron:
    """z = sum(w.T * x, axis=1) + b, w (n_features, 1), b a number (the note's ``__call__``).

    Parameters
    ----------
    n_features : int
        Inputs per sample.
    rng : int or numpy.random.Generator, optional
        None with two features: the note's printed start ``NOTE_W``; else w ~ N(0, 1).
    """

    def __init__(self, n_features: int = 2, rng=None) -> None:
        if rng is None and n_features == 2:
            self.w = NOTE_W.copy()
        else:
            self.w = as_generator(rng).standard_normal((n_features, 1))
        self.b = 0.0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """z (N,) for samples x (N, n_features), or (1,) for one sample (n_features,)."""
        return np.sum(self.w.T * x, axis=1) + self.b


def loss_func(y_true, y_pred, z):
    return -(y_true - y_pred) * z  # loss function of perceptron


def total_loss(model, X, y) -> float:  # noqa: N803 - the note's names
    """Sum of the perceptron loss over the samples (0 when all are right)."""
    z = model(X)
    return float(np.sum(loss_func(y, sign(z), z)))


def accuracy(model, X, y) -> float:  # noqa: N803
    """Share of samples with sign(z) == y."""
    return float(np.mean(sign(model(X)) == y))


# %%
if __name__ == "__main__":
    model = Perceptron()
    print(f"model.w = {model.w.ravel()} (the note's printed start), model.b = {model.b}")
    z = model(X)
    print("sign(z)[:10] =", sign(z)[:10].astype(int))
    accuracy_before, loss_before = accuracy(model, X, y), total_loss(model, X, y)
    print(f"accuracy before training: {accuracy_before:.2f}, perceptron loss {loss_before:.3f}")
    expect(abs(accuracy_before - 0.96) < 1e-9,
           f"the note's start classifies 96 of the 100 points right, got {accuracy_before:.2f}")

# %% [markdown]
# ``train_step`` is the note's loop over the samples, with our gradient in place of
# ``t.gradient``; ``assign_sub`` becomes ``-=``.


# %%
def train_step(model: Perceptron, X, y, eta):  # noqa: N803 - the note's names
    """One pass over the samples, a gradient-descent step after each."""
    for x, y_true in zip(X, y):
        z = model(x)  # feed-forward operation, shape (1,)
        y_pred = sign(z)  # applying activation function
        dw = (-(y_true - y_pred) * x).reshape(model.w.shape)  # our gradient, no GradientTape
        db = float(-(y_true - y_pred)[0])
        model.w -= eta * dw  # w = w - eta*dw
        model.b -= eta * db  # b = b - eta*db


def perceptron_predict(model: Perceptron):
    """grid (M, 2) -> sign(w . x + b) (M,) as whole numbers, for the decision-boundary plot."""
    return lambda grid: sign(model(grid)).astype(int)


# %%
if __name__ == "__main__":
    train_step(model, X, y, eta=0.1)  # train using all samples
    accuracy_after, loss_after = accuracy(model, X, y), total_loss(model, X, y)
    errors_after = int(np.sum(sign(model(X)) != y))
    print(f"accuracy after one pass of the perceptron rule: {accuracy_after:.2f}, perceptron "
          f"loss {loss_after:.3f}, misclassified {errors_after}")
    print("w =", model.w.ravel(), f" b = {model.b:.4f}")
    expect(accuracy_after >= 0.98,
           f"one pass of the perceptron should separate the note's data; accuracy "
           f"{accuracy_after:.2f}")
    expect(loss_after <= loss_before,
           f"the perceptron loss should not grow: {loss_before:.3f} -> {loss_after:.3f}")
    lesson.save(plot_scatter(X, sign(model(X)).astype(int),
                             lesson.label("Classification by Perceptron",
                                          "퍼셉트론의 분류 (Classification by Perceptron)"),
                             lang=lesson.lang), "seed002_classification_by_perceptron.png")
    lesson.save(plot_decision_boundary(
        perceptron_predict(model), X, y, lang=lesson.lang,
        title=lesson.label("perceptron after one pass: sign(w . x + b)",
                           "한 바퀴 학습한 퍼셉트론: sign(w . x + b)")),
        "seed002_decision_boundary.png")

# %% [markdown]
# ## 활성함수 — Activation functions
#
# Identity (regression), sign (hard binary decision), tanh and sigmoid (soft binary decision),
# softmax (multi-class: probabilities that sum to 1) and ReLU (the hidden layers' non-linearity).


# %%
def softmax_example() -> np.ndarray:
    return softmax(np.array([0.3, 2.9, 4.0]))


# %%
if __name__ == "__main__":
    lesson.save(plot_activations(("identity", "sign", "tanh", "sigmoid", "relu"), ncols=5,
                                 lang=lesson.lang), "seed002_activations.png")
    probs = softmax_example()
    print(f"softmax([0.3, 2.9, 4.0]) = {probs} (sum {probs.sum():.4f})")
    expect(abs(probs.sum() - 1) < 1e-12 and np.all(np.diff(probs) > 0),
           f"softmax gives probabilities in the scores' order that sum to 1, got {probs}")

# %% [markdown]
# ## 손실함수 — Loss functions: MSE, MAE, cross-entropy
#
# One prediction, a one-hot answer (class 2): the three losses of the note. Cross-entropy only
# looks at the answer's class: -log 0.6.


# %%
def loss_examples() -> dict[str, float]:
    t = np.array([0, 0, 1, 0, 0, 0, 0, 0, 0, 0], dtype=float)
    y = np.array([0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0])
    return {"mse": float(mean_squared_error(y, t)), "mae": float(mean_absolute_error(y, t)),
            "cee": float(cross_entropy_error(y, t))}


# %%
if __name__ == "__main__":
    losses = loss_examples()
    print("losses of one prediction: " + ", ".join(f"{k} {v:.4f}" for k, v in losses.items()))
    expect(abs(losses["cee"] + np.log(0.6)) < 1e-6,
           f"the cross-entropy of this prediction is -log 0.6 = 0.5108, got {losses['cee']:.4f}")

# %% [markdown]
# ## 전결합계층, 인공신경망의 구조 — Fully connected layers and the network's structure
#
# A fully connected layer (``Linear``) connects every output of one layer to every input of the
# next. Two of them make the simplest network: input, one hidden layer (16 tanh units here),
# output. Only the output and the loss change between the three uses of the first section:
# output 0/1 (a sigmoid inside ``BCEWithLogitsLoss``) for binary classification, a real value
# (identity, MSE) for regression, a one-hot vector (softmax, cross-entropy) for multi-class.
# Trained full-batch with Adam.


# %%
def small_network(n_in: int, n_out: int, rng) -> Sequential:
    """n_in -> 16 (tanh) -> n_out, Xavier-initialised, float64."""
    return Sequential(Linear(n_in, 16, weight_init_std="xavier", dtype=np.float64, rng=rng),
                      Tanh(),
                      Linear(16, n_out, weight_init_std="xavier", dtype=np.float64, rng=rng))


def fit(net, loss_layer, x, t, steps, lr=0.05):
    """Full-batch Adam; returns the loss before and after."""
    opt = Adam(net, lr=lr)
    first = loss_layer.forward(net.forward(x), t)
    for _ in range(steps):
        net.zero_grad()
        loss_layer.forward(net.forward(x), t)
        net.backward(loss_layer.backward())
        opt.step()
    return first, loss_layer.forward(net.forward(x), t)


def binary_task(steps=500, rng=0) -> dict:
    """The note's points, targets 0/1 (N, 1): a 2-16-1 network with a sigmoid output, BCE."""
    X, y = make_data()
    net = small_network(2, 1, as_generator(rng))
    t = (y > 0).astype(np.float64)[:, None]
    loss = fit(net, BCEWithLogitsLoss(), X, t, steps)
    return {"net": net, "loss": loss, "accuracy": float(np.mean((net.forward(X) > 0) == (t > 0.5)))}


def regression_task(steps=500, rng=1) -> dict:
    """sin(x) + noise for 100 x in [-3, 3]: a 1-16-1 network with an identity output, MSE."""
    g = as_generator(rng)
    x = np.linspace(-3, 3, 100)[:, None]
    t = np.sin(x) + 0.1 * g.standard_normal(x.shape)
    net = small_network(1, 1, g)
    return {"net": net, "mse": fit(net, MSELoss(), x, t, steps), "x": x[:, 0], "t": t[:, 0],
            "pred": net.forward(x)[:, 0]}


def multiclass_task(steps=500, rng=2) -> dict:
    """150 points of make_classification with 3 classes: a 2-16-3 network, softmax and
    cross-entropy."""
    X, y = _sklearn_datasets().make_classification(
        n_samples=150, n_features=2, n_informative=2, n_redundant=0, n_classes=3,
        n_clusters_per_class=1, class_sep=2.0, random_state=20)
    net = small_network(2, 3, as_generator(rng))
    loss = fit(net, SoftmaxWithLoss(), X, y, steps)
    return {"net": net, "loss": loss, "X": X, "y": y,
            "accuracy": float(np.mean(net.forward(X).argmax(axis=1) == y))}


def regression_figure(r: dict, lang: str = "en"):
    """The regression task's data and the network's curve; returns the figure."""
    from ..plot._common import new_figure

    fig = new_figure(False, figsize=(6, 4))
    ax = fig.subplots()
    ax.scatter(r["x"], r["t"], s=12, label=pick(lang, "data: sin(x) + noise",
                                                 "데이터: sin(x) + 잡음"))
    ax.plot(r["x"], r["pred"], color="tab:red",
            label=pick(lang, "1-16-1 network (identity output)", "1-16-1 신경망 (항등 출력)"))
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(pick(lang, "regression, 1-16-1 network", "회귀, 1-16-1 신경망"))
    ax.legend(fontsize=8)
    return fig


# %%
if __name__ == "__main__":
    steps = 200 if lesson.fast else 1000
    binary = binary_task(steps)
    print(f"binary classification (sigmoid, BCE): loss {binary['loss'][0]:.3f} -> "
          f"{binary['loss'][1]:.3f}, accuracy {binary['accuracy']:.2f}")
    expect(binary["accuracy"] >= 0.98, f"binary task accuracy {binary['accuracy']:.2f}")
    net = binary["net"]
    lesson.save(plot_decision_boundary(
        lambda grid: (net.forward(grid)[:, 0] > 0).astype(int), X, y, lang=lesson.lang,
        title=lesson.label("binary classification, 2-16-1 network", "이진 분류, 2-16-1 신경망")),
        "seed002_binary_network.png")

# %%
if __name__ == "__main__":
    regression = regression_task(steps)
    print(f"regression of sin(x) (identity, MSE): MSE {regression['mse'][0]:.3f} -> "
          f"{regression['mse'][1]:.4f}")
    expect(regression["mse"][1] < 0.05,
           f"regression of sin(x) should fit to the noise; MSE {regression['mse'][1]:.3f}")
    lesson.save(regression_figure(regression, lesson.lang), "seed002_regression_network.png")

# %%
if __name__ == "__main__":
    multiclass = multiclass_task(steps)
    print(f"3-class classification (softmax, cross-entropy): loss {multiclass['loss'][0]:.3f} "
          f"-> {multiclass['loss'][1]:.3f}, accuracy {multiclass['accuracy']:.2f}")
    expect(multiclass["accuracy"] >= 0.9, f"3-class task accuracy {multiclass['accuracy']:.2f}")
    lesson.save(plot_decision_boundary(
        multiclass["net"].forward, multiclass["X"], multiclass["y"], lang=lesson.lang,
        title=lesson.label("multi-class classification, 2-16-3 network",
                           "다중 분류, 2-16-3 신경망")), "seed002_multiclass_network.png")

# %% [markdown]
# ## 정리 — Summary

# %%
if __name__ == "__main__":
    print(f"perceptron on the note's data: accuracy {accuracy_before:.2f} -> "
          f"{accuracy_after:.2f} after one pass; one network, three uses: binary accuracy "
          f"{binary['accuracy']:.2f}, regression MSE {regression['mse'][1]:.4f}, 3-class "
          f"accuracy {multiclass['accuracy']:.2f}")
    print(lesson.outputs.listing())
