# %% [markdown]
# # Chapter 3 인공신경망 — Artificial neural networks (lecture 002)
#
# The note introduces the perceptron (a dot product and the sign function), trains it with
# TensorFlow on ``make_classification`` data, then describes activation functions, loss
# functions, fully connected layers and the three uses of one network (binary classification,
# regression, multi-class classification). Here the perceptron's gradients are written out in
# NumPy instead of TensorFlow's ``GradientTape`` (the change this library is about), on the
# note's data exactly.
#
# The data need scikit-learn, an optional extra: ``pip install scikit-learn`` (or
# ``pip install "dlscratch[lessons]"``). Without it the lesson stops and says so.
#
# Run: ``python -m dlscratch.lessons.seed002_perceptron [--out DIR]``; ``DLSCRATCH_FAST=1`` for
# the fast mode (fewer training steps for the last part).

# %%
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._rng import as_generator
from ..functions import cross_entropy_error, mean_absolute_error, mean_squared_error, sign, softmax
from ..layers import BCEWithLogitsLoss, Linear, MSELoss, Sequential, SoftmaxWithLoss, Tanh
from ..optim import Adam
from ._common import Outputs, expect, fast_mode, parse_args

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


# %% [markdown]
# ## 퍼셉트론의 구현 — The perceptron's data
#
# The note's call, exactly; labels {0, 1} become {-1, +1}.

# %%
def make_data():
    """The note's 100 points (100, 2) and labels -1/+1 (100,)."""
    X, y = _sklearn_datasets().make_classification(
        n_samples=100, n_features=2, n_informative=2, n_redundant=0, n_classes=2,
        n_clusters_per_class=1, class_sep=2.0, random_state=20)
    y = 2 * y - 1  # convert labels from {0, 1} to {-1, 1}
    return X, y


# %% [markdown]
# ## 퍼셉트론 — The perceptron: z = w . x + b, y_pred = sign(z)
#
# The note's ``tf.random.normal([2, 1])`` printed ``w = [[0.1900148], [0.79189396]]``; the
# lesson starts from those values, so its numbers are the note's run (``rng`` draws a fresh
# N(0, 1) start instead).

# %%
NOTE_W = np.array([[0.1900148], [0.79189396]])


class Perceptron:
    """z = sum(w.T * x, axis=1) + b, w (n_features, 1), b a number (the note's ``__call__``)."""

    def __init__(self, n_features: int = 2, rng=None) -> None:
        if rng is None and n_features == 2:
            self.w = NOTE_W.copy()
        else:
            self.w = as_generator(rng).standard_normal((n_features, 1))
        self.b = 0.0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return np.sum(self.w.T * x, axis=1) + self.b


# %% [markdown]
# ## 퍼셉트론의 손실 함수와 학습 — Loss and training
#
# loss = -(y - y_pred) z: zero for a correct sample, 2|z| for a wrong one. sign() has zero
# gradient, so (what ``GradientTape`` computes in the note)
#
#     dloss/dw = -(y - y_pred) x,   dloss/db = -(y - y_pred)
#
# and a wrong sample moves w by 2 * eta * y * x: the perceptron rule. One step per sample.

# %%
def loss_func(y_true, y_pred, z):
    return -(y_true - y_pred) * z  # loss function of perceptron


def train_step(model: Perceptron, X, y, eta):  # noqa: N803 - the note's names
    """One pass over the samples, a gradient-descent step after each."""
    for x, y_true in zip(X, y):
        z = model(x)  # feed-forward operation, shape (1,)
        y_pred = sign(z)  # applying activation function
        dw = (-(y_true - y_pred) * x).reshape(model.w.shape)  # our gradient, no GradientTape
        db = float(-(y_true - y_pred)[0])
        model.w -= eta * dw  # w = w - eta*dw
        model.b -= eta * db  # b = b - eta*db


def total_loss(model, X, y) -> float:  # noqa: N803
    """Sum of the perceptron loss over the samples (0 when all are right)."""
    z = model(X)
    return float(np.sum(loss_func(y, sign(z), z)))


def perceptron_part(rng=None) -> dict:
    """The note's experiment; returns accuracy, errors and loss before and after one pass."""
    X, y = make_data()
    model = Perceptron(rng=rng)
    r = {"n": len(X), "w_start": model.w[:, 0].copy()}
    r["accuracy_before"] = float(np.mean(sign(model(X)) == y))
    r["loss_before"] = total_loss(model, X, y)
    train_step(model, X, y, eta=0.1)  # train using all samples
    r["accuracy_after"] = float(np.mean(sign(model(X)) == y))
    r["loss_after"] = total_loss(model, X, y)
    r["errors_after"] = int(np.sum(sign(model(X)) != y))
    r["w"], r["b"] = model.w[:, 0].copy(), model.b
    r["model"], r["X"], r["y"] = model, X, y
    return r


# %% [markdown]
# ## 활성함수 — Activation functions (identity, sign, tanh, sigmoid, softmax, ReLU)
#
# Softmax maps a vector to probabilities; its example below sums to 1.

# %%
def softmax_example() -> np.ndarray:
    return softmax(np.array([0.3, 2.9, 4.0]))


# %% [markdown]
# ## 손실함수 — Loss functions: MSE, MAE, cross-entropy
#
# One prediction, a one-hot answer (class 2): the three losses of the note.

# %%
def loss_examples() -> dict[str, float]:
    t = np.array([0, 0, 1, 0, 0, 0, 0, 0, 0, 0], dtype=float)
    y = np.array([0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0])
    return {"mse": float(mean_squared_error(y, t)), "mae": float(mean_absolute_error(y, t)),
            "cee": float(cross_entropy_error(y, t))}


# %% [markdown]
# ## 인공신경망의 애플리케이션 — One small network, three uses
#
# The same fully connected network 2 -> 16 (tanh) -> k, and only the output and the loss change:
# output 0/1 (a sigmoid in ``BCEWithLogitsLoss``) for binary classification, a real value
# (identity, MSE) for regression, a one-hot vector (softmax, cross-entropy) for multi-class.

# %%
def small_network(n_in: int, n_out: int, rng) -> Sequential:
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


def three_tasks(steps=500, rng=0) -> dict:
    """Binary classification on the note's data, regression of sin(x), 3-class classification."""
    g = as_generator(rng)
    X, y = make_data()
    r = {}
    net = small_network(2, 1, g)
    t = (y > 0).astype(np.float64)[:, None]
    r["binary_loss"] = fit(net, BCEWithLogitsLoss(), X, t, steps)
    r["binary_accuracy"] = float(np.mean((net.forward(X) > 0) == (t > 0.5)))
    r["binary_net"] = net
    xr = np.linspace(-3, 3, 100)[:, None]
    tr = np.sin(xr) + 0.1 * g.standard_normal(xr.shape)
    net = small_network(1, 1, g)
    r["regression_mse"] = fit(net, MSELoss(), xr, tr, steps)
    r["regression_fit"] = (xr[:, 0], tr[:, 0], net.forward(xr)[:, 0])
    Xm, ym = _sklearn_datasets().make_classification(
        n_samples=150, n_features=2, n_informative=2, n_redundant=0, n_classes=3,
        n_clusters_per_class=1, class_sep=2.0, random_state=20)
    net = small_network(2, 3, g)
    r["multiclass_loss"] = fit(net, SoftmaxWithLoss(), Xm, ym, steps)
    r["multiclass_accuracy"] = float(np.mean(net.forward(Xm).argmax(axis=1) == ym))
    r["multiclass_net"], r["multiclass_data"] = net, (Xm, ym)
    return r


# %% [markdown]
# ## Running it


# %%
def make_plots(out: Outputs, p: dict, tasks: dict) -> None:
    from ..plot import plot_activations, plot_decision_boundary, plot_scatter
    from ..plot._common import finish, new_figure

    X, y, model = p["X"], p["y"], p["model"]
    plot_scatter(X, y, "Groundtruth", path=out.path("seed002_groundtruth.png"))
    plot_scatter(X, sign(model(X)).astype(int), "Classification by Perceptron",
                 path=out.path("seed002_classification_by_perceptron.png"))
    plot_decision_boundary(lambda g: sign(model(g)).astype(int), X, y,
                           title="perceptron after one pass: sign(w . x + b)",
                           path=out.path("seed002_decision_boundary.png"))
    plot_activations(("identity", "sign", "tanh", "sigmoid", "relu"), ncols=5,
                     path=out.path("seed002_activations.png"))
    net = tasks["binary_net"]
    plot_decision_boundary(lambda g: (net.forward(g)[:, 0] > 0).astype(int), X, y,
                           title="binary classification, 2-16-1 network",
                           path=out.path("seed002_binary_network.png"))
    Xm, ym = tasks["multiclass_data"]
    plot_decision_boundary(tasks["multiclass_net"].forward, Xm, ym,
                           title="multi-class classification, 2-16-3 network",
                           path=out.path("seed002_multiclass_network.png"))
    xr, tr, pred = tasks["regression_fit"]
    fig = new_figure(False, figsize=(6, 4))
    ax = fig.subplots()
    ax.scatter(xr, tr, s=12, label="data: sin(x) + noise")
    ax.plot(xr, pred, color="tab:red", label="1-16-1 network (identity output)")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title("regression, 1-16-1 network")
    ax.legend(fontsize=8)
    finish(fig, out.path("seed002_regression_network.png"), False)


def run(fast: bool | None = None, out=None) -> dict:
    """The whole lesson; returns its key numbers and writes its plots into ``out``."""
    fast = fast_mode() if fast is None else fast
    outputs = out if isinstance(out, Outputs) else Outputs(out, "seed002")
    r = perceptron_part()
    r["softmax"] = softmax_example()
    r["losses"] = loss_examples()
    r["tasks"] = three_tasks(steps=200 if fast else 1000)
    make_plots(outputs, r, r["tasks"])
    r["outputs_folder"] = outputs
    return r


def check(r: dict) -> None:
    expect(r["n"] == 100, f"the note's data have 100 samples, got {r['n']}")
    expect(r["accuracy_after"] >= 0.98,
           f"one pass of the perceptron should separate the note's data; accuracy "
           f"{r['accuracy_after']:.2f}")
    expect(r["loss_after"] <= r["loss_before"],
           f"the perceptron loss should not grow: {r['loss_before']:.3f} -> {r['loss_after']:.3f}")
    t = r["tasks"]
    expect(t["binary_accuracy"] >= 0.98, f"binary task accuracy {t['binary_accuracy']:.2f}")
    expect(t["regression_mse"][1] < 0.05,
           f"regression of sin(x) should fit to the noise; MSE {t['regression_mse'][1]:.3f}")
    expect(t["multiclass_accuracy"] >= 0.9,
           f"3-class task accuracy {t['multiclass_accuracy']:.2f}")


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv, "Lecture 002: the perceptron, activations, losses, one network "
                            "for three tasks")
    r = run(out=args.out)
    np.set_printoptions(precision=4, suppress=True)
    print(f"X.shape = ({r['n']}, 2)")
    print(f"model.w = {r['w_start']} (the note's printed start), model.b = 0.0")
    print(f"accuracy before training: {r['accuracy_before']:.2f}, perceptron loss "
          f"{r['loss_before']:.3f}")
    print(f"accuracy after one pass of the perceptron rule: {r['accuracy_after']:.2f}, "
          f"perceptron loss {r['loss_after']:.3f}, misclassified {r['errors_after']}")
    print(f"w = {r['w']}, b = {r['b']:.4f}")
    print(f"softmax([0.3, 2.9, 4.0]) = {r['softmax']} (sum {r['softmax'].sum():.4f})")
    print("losses of one prediction: " + ", ".join(f"{k} {v:.4f}" for k, v in r["losses"].items()))
    t = r["tasks"]
    print(f"binary classification (sigmoid, BCE): loss {t['binary_loss'][0]:.3f} -> "
          f"{t['binary_loss'][1]:.3f}, accuracy {t['binary_accuracy']:.2f}")
    print(f"regression of sin(x) (identity, MSE): MSE {t['regression_mse'][0]:.3f} -> "
          f"{t['regression_mse'][1]:.4f}")
    print(f"3-class classification (softmax, cross-entropy): loss {t['multiclass_loss'][0]:.3f} "
          f"-> {t['multiclass_loss'][1]:.3f}, accuracy {t['multiclass_accuracy']:.2f}")
    check(r)
    print(r["outputs_folder"].listing())


if __name__ == "__main__":
    main()
