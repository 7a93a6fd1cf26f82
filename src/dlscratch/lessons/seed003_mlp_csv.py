# %% [markdown]
# # 전체 인공신경망 code 구현하기 — The whole neural network in code (lecture 003)
#
# The note builds a sigmoid network [784, 128, 64, 10] trained with MSE on Kaggle's
# ``mnist_train.csv`` / ``mnist_test.csv``, and writes the backward pass by hand. Its code does
# not run as published; this lesson first runs **the note's method as written** (N(0, 1)
# weights, raw pixels 0-255, one update per sample, MSE, sigmoid everywhere) with only the bugs
# fixed, measures what it reaches and why, then makes **one change at a time** (input scaling,
# initialisation, mini-batches, learning rate) and measures each, and finally checks that the
# same network built from dlscratch's layers gives the same gradients.
#
# Data: offline, the bundled MNIST sample (8,000 training + 2,000 test images) is written in
# Kaggle's CSV layout (a ``label`` column, then 784 pixel columns) and read back from there.
#
# Run: ``python -m dlscratch.lessons.seed003_mlp_csv [--out DIR]``; ``DLSCRATCH_FAST=1`` for a
# short run (2,000 training images, fewer epochs).

# %%
from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .._rng import as_generator
from ..datasets import load_csv, load_mnist
from ..functions import sigmoid as _stable_sigmoid
from ..layers import Linear, MSELoss, Sequential, Sigmoid
from ._common import Outputs, expect, fast_mode, parse_args

# %% [markdown]
# ## 데이터셋 가져오기 — Loading the data set
#
# The note reads the CSVs with pandas and keeps ``y_train = mnist_train['label']`` as digits;
# its ``compute_accuracy`` and ``back_prop`` need one-hot rows (``np.argmax(y)``,
# ``y.shape[0]``), so the labels are read one-hot here (fix). The pixels stay raw, 0-255, as in
# the note (``normalize=False``).


# %%
def write_sample_csv(folder: str | Path, n_train: int | None = None,
                     n_test: int | None = None) -> tuple[Path, Path]:
    """Write the bundled MNIST sample (its first ``n_train`` / ``n_test`` images; default all)
    as Kaggle-style mnist_train.csv / mnist_test.csv."""
    folder = Path(folder)
    (x_tr, t_tr), (x_te, t_te) = load_mnist(dataset="mnist-sample", normalize=False)
    x_tr, t_tr, x_te, t_te = x_tr[:n_train], t_tr[:n_train], x_te[:n_test], t_te[:n_test]
    header = "label," + ",".join(f"{r}x{c}" for r in range(1, 29) for c in range(1, 29))
    paths = []
    for name, x, t in (("mnist_train.csv", x_tr, t_tr), ("mnist_test.csv", x_te, t_te)):
        path = folder / name
        np.savetxt(path, np.column_stack([t, x]), fmt="%d", delimiter=",", header=header,
                   comments="", encoding="utf-8")
        paths.append(path)
    return paths[0], paths[1]


def load_data(train_csv=None, test_csv=None, n_train=None, n_test=None):
    """(x_train, y_train, x_test, y_test): raw float64 pixels 0-255 (N, 784), one-hot (N, 10).

    Without paths the bundled sample (its first ``n_train`` / ``n_test`` images) is written as
    CSV into a temporary folder and read back.
    """
    with tempfile.TemporaryDirectory() as tmp:
        if train_csv is None:
            train_csv, test_csv = write_sample_csv(tmp, n_train, n_test)
        x_train, y_train = load_csv(train_csv, normalize=False, one_hot_label=True)
        x_test, y_test = load_csv(test_csv, normalize=False, one_hot_label=True)
    f = np.float64
    return x_train.astype(f), y_train.astype(f), x_test.astype(f), y_test.astype(f)


# %% [markdown]
# ## Weight 초기화 — Initial weights
#
# ``np.random.randn`` (the global generator) becomes a Generator passed as ``rng`` (fix);
# ``std = 1`` is the note's N(0, 1) for weights *and* biases.


# %%
def weight_initializer(neuron_layer_structure: Sequence[int], rng=None, std=1.0,
                       bias_std=None) -> dict[str, np.ndarray]:
    """W_l (n_{l-1}, n_l) ~ N(0, std^2) and b_l (n_l,) ~ N(0, bias_std^2) (default: std).

    ``std="xavier"`` gives std 1/sqrt(n_{l-1}) and zero biases.
    """
    g = as_generator(rng)
    parameters = {}
    for i in range(len(neuron_layer_structure) - 1):
        n_in, n_out = neuron_layer_structure[i], neuron_layer_structure[i + 1]
        s = 1.0 / np.sqrt(n_in) if std == "xavier" else float(std)
        bs = (0.0 if std == "xavier" else s) if bias_std is None else float(bias_std)
        parameters["W" + str(i + 1)] = g.standard_normal((n_in, n_out)) * s
        parameters["b" + str(i + 1)] = g.standard_normal(n_out) * bs
    return parameters


initialize_parameters = weight_initializer  # the note calls it by both names (fix)


# %% [markdown]
# ## 활성화 함수 넣어주기 — The activation and the forward pass
#
# The note's ``1/(1+np.exp(-x))`` overflows (RuntimeWarning) for the large negative inputs raw
# pixels produce; dlscratch's sigmoid computes the same values without overflow (fix).


# %%
def sigmoid(x):
    return _stable_sigmoid(x)


def d_sigmoid(z):
    """sigmoid'(z) = sigmoid(z) (1 - sigmoid(z)); the note uses it without defining it (fix)."""
    s = sigmoid(z)
    return s * (1 - s)


def forward_pass(x, parameters):
    """a0 = x, z_l = a_{l-1} @ W_l + b_l, a_l = sigmoid(z_l); x is one sample (784,) or (N, 784)."""
    cache = {"a0": x}
    for i in range(1, len(parameters) // 2 + 1):
        cache["z" + str(i)] = cache["a" + str(i - 1)] @ parameters["W" + str(i)] \
            + parameters["b" + str(i)]
        cache["a" + str(i)] = sigmoid(cache["z" + str(i)])
    return cache


def feed_forward(x, parameters):
    """(output, cache): the note calls ``feed_forward`` but defines only forward_pass (fix)."""
    cache = forward_pass(x, parameters)
    return cache["a" + str(len(parameters) // 2)], cache


# %% [markdown]
# ## loss 계산하기, 정확도 — Loss and accuracy
#
# The note loops over the samples one at a time; a batch forward pass gives the same numbers
# (row by row), so these evaluate all samples at once (faster, same result).


# %%
def compute_accuracy(x_val, y_val, parameters) -> float:
    """Fraction of samples whose largest output is the one-hot label's class."""
    output, _ = feed_forward(x_val, parameters)
    return float(np.mean(np.argmax(output, axis=-1) == np.argmax(y_val, axis=-1)))


def compute_loss(x_val, y_val, parameters) -> float:
    """The note's loss: mean over samples of mean((output - y)^2) / 2."""
    output, _ = feed_forward(x_val, parameters)
    return float(np.mean(np.mean((output - y_val) ** 2, axis=-1) / 2))


# %% [markdown]
# ## 역전파 구현하기 — Backpropagation
#
# With W_l of shape (in, out) the note's ``dW = np.outer(db, a_prev)`` and ``da = W.T @ db``
# have the transposes the wrong way round (shape errors): dW = outer(a_prev, db),
# da = W @ db (fix). ``da = (prediction - y) / y.shape[0]`` divides by 10 for one sample; for a
# batch of rows it is ``y.shape[-1]`` and the gradients are averaged over the rows (extension:
# the same formula for mini-batches).


# %%
def back_prop(prediction, y, cache, parameters):
    """Gradients of the loss sum((prediction - y)^2) / (2 * 10), averaged over the rows."""
    gradients = {}
    L = len(cache) // 2
    da = (prediction - y) / y.shape[-1]
    for layer in range(L, 0, -1):
        a_prev = cache["a" + str(layer - 1)]
        z = cache["z" + str(layer)]
        W = parameters["W" + str(layer)]
        db = da * d_sigmoid(z)
        if db.ndim == 1:  # one sample, as in the note
            dW = np.outer(a_prev, db)  # fix: np.outer(db, a_prev) is (out, in)
            gradients["db" + str(layer)] = db
        else:  # a batch of rows: the mean of the per-sample gradients
            dW = a_prev.T @ db / len(db)
            gradients["db" + str(layer)] = db.mean(axis=0)
        da = db @ W.T  # fix: W.T @ db; (W @ db for one sample, db @ W.T for rows)
        gradients["dW" + str(layer)] = dW
    return gradients


# %% [markdown]
# ## 가중치 업데이트 — Updating the weights


# %%
def update(parameters, gradients, alpha, m):
    """W_l -= alpha * dW_l / m (in place), as in the note."""
    L = len(parameters) // 2
    for layer in range(1, L + 1):
        parameters["W" + str(layer)] -= alpha * gradients["dW" + str(layer)] / m
        parameters["b" + str(layer)] -= alpha * gradients["db" + str(layer)] / m
    return parameters


# %% [markdown]
# ## 신경망 학습 시키기 — Training
#
# The note meant one averaged full-batch step per epoch (``parameters_copy``), but
# ``parameters.copy()`` copies the dict, not the arrays, and ``update`` subtracts in place: every
# sample updates the weights at once, with step ``alpha / m``. That is what the note's code
# does, so that is what runs here (batch_size=1): per-sample gradient descent, η = alpha / m.
# ``batch_size > 1`` (one of the changes below) averages the gradient over that many samples per
# step, visiting them in a shuffled order.


# %%
def first_layer_saturation(x, parameters, threshold=0.01) -> float:
    """Fraction of first-layer sigmoids whose output is within ``threshold`` of 0 or 1
    (there sigmoid' < 0.01, so almost no gradient passes back to W1)."""
    a1 = sigmoid(x @ parameters["W1"] + parameters["b1"])
    return float(np.mean((a1 < threshold) | (a1 > 1 - threshold)))


def train_nn(X_train, Y_train, X_test, Y_test, neurons_per_layer, epoch, alpha,  # noqa: N803
             *, batch_size=1, std=1.0, rng=0, verbose=True):
    """Train; returns (loss_list, parameters, test accuracy per epoch)."""
    g = as_generator(rng)
    parameters = initialize_parameters(neurons_per_layer, rng=g, std=std)
    loss_list, acc_list = [], []
    m = X_train.shape[0]
    for i in range(epoch):
        if batch_size == 1:  # the note: every sample in order, one step each
            for x, y in zip(X_train, Y_train):
                prediction, cache = feed_forward(x, parameters)
                gradients = back_prop(prediction, y, cache, parameters)
                parameters = update(parameters, gradients, alpha, m)
        else:
            order = g.permutation(m)
            for s in range(0, m, batch_size):
                idx = order[s:s + batch_size]
                prediction, cache = feed_forward(X_train[idx], parameters)
                gradients = back_prop(prediction, Y_train[idx], cache, parameters)
                parameters = update(parameters, gradients, alpha, m)
        loss_list.append(compute_loss(X_train, Y_train, parameters))
        acc_list.append(compute_accuracy(X_test, Y_test, parameters))
        if verbose:
            print(f"  {i + 1}번째 경사 하강 (epoch {i + 1}): loss {loss_list[-1]:.4f}, "
                  f"test accuracy {acc_list[-1]:.4f}")
    return loss_list, parameters, acc_list


# %% [markdown]
# ## The note's method, then one change at a time
#
# Each step keeps the previous changes and adds one. η = alpha / m is the step per (averaged)
# gradient. "saturated" is the fraction of first-layer sigmoids at < 0.01 or > 0.99 on the test
# images, after training.


# %%
def experiment_steps(m: int) -> list[dict]:
    """The note's setting and the four changes (cumulative), as train_nn arguments."""
    note_alpha = 500  # the note: train_nn(..., 30, 500), step alpha/m per sample
    return [
        dict(name="the note as written (raw pixels, N(0,1), per sample, eta=alpha/m)",
             scale=1.0, std=1.0, batch_size=1, alpha=note_alpha),
        dict(name="+ input scaling x/255", scale=255.0, std=1.0, batch_size=1, alpha=note_alpha),
        dict(name="+ Xavier initialisation (std 1/sqrt(n_in), zero biases)", scale=255.0,
             std="xavier", batch_size=1, alpha=note_alpha),
        dict(name="+ mini-batches of 8 (same eta)", scale=255.0, std="xavier", batch_size=8,
             alpha=note_alpha),
        dict(name="+ learning rate eta=40", scale=255.0, std="xavier", batch_size=8,
             alpha=40.0 * m),
    ]


def run_experiments(x_train, y_train, x_test, y_test, epoch, rng=0, verbose=True):
    """Train every step of :func:`experiment_steps`; one result dict per step."""
    results = []
    m = len(x_train)
    for step in experiment_steps(m):
        xs_train, xs_test = x_train / step["scale"], x_test / step["scale"]
        init = initialize_parameters([784, 128, 64, 10], rng=rng, std=step["std"])
        start = time.perf_counter()
        if verbose:
            print(f"{step['name']}: eta = {step['alpha'] / m:g}, batch {step['batch_size']}")
        loss_list, parameters, acc_list = train_nn(
            xs_train, y_train, xs_test, y_test, [784, 128, 64, 10], epoch, step["alpha"],
            batch_size=step["batch_size"], std=step["std"], rng=rng, verbose=verbose)
        results.append(dict(
            name=step["name"], eta=step["alpha"] / m, batch_size=step["batch_size"],
            saturated_before=first_layer_saturation(xs_test, init),
            saturated=first_layer_saturation(xs_test, parameters),
            loss=loss_list[-1], accuracy=acc_list[-1], acc_list=acc_list,
            seconds=time.perf_counter() - start))
    return results


# %% [markdown]
# ## The same network with dlscratch's layers
#
# ``Linear(784, 128) -> Sigmoid -> Linear(128, 64) -> Sigmoid -> Linear(64, 10) -> Sigmoid``
# with ``MSELoss``. MSELoss is mean((y - t)^2) over all N * 10 numbers, twice the note's
# mean(...) / 2, so its gradients are twice the note's: compare 2 * note with the layers'.


# %%
def library_network(parameters) -> Sequential:
    """The note's network as dlscratch layers (float64), holding copies of ``parameters``."""
    L = len(parameters) // 2
    layers = []
    for i in range(1, L + 1):
        n_in, n_out = parameters["W" + str(i)].shape
        layers += [Linear(n_in, n_out, dtype=np.float64), Sigmoid()]
    net = Sequential(*layers)
    net.load_state_dict({f"{2 * (i - 1)}.{k}": parameters[k + str(i)]
                         for i in range(1, L + 1) for k in ("W", "b")})
    return net


def compare_gradients(x, y, parameters) -> float:
    """Largest |2 * note's gradient - layers' gradient| relative to the largest gradient."""
    prediction, cache = feed_forward(x, parameters)
    note = back_prop(prediction, y, cache, parameters)
    net = library_network(parameters)
    loss = MSELoss()
    net.zero_grad()
    loss.forward(net.forward(x), y)
    net.backward(loss.backward())
    worst = 0.0
    for name, p in net.named_parameters():
        i = int(name.split(".")[0]) // 2 + 1
        ours = 2 * note[("dW" if name.endswith("W") else "db") + str(i)]
        worst = max(worst, float(np.abs(ours - p.grad).max() / max(np.abs(p.grad).max(), 1e-300)))
    return worst


# %% [markdown]
# ## Running it


# %%
def plot_accuracies(results, path):
    """Test accuracy per epoch of each experiment step."""
    from ..plot._common import finish, new_figure

    fig = new_figure(False, figsize=(7.5, 4.2))
    ax = fig.subplots()
    for r in results:
        ax.plot(np.arange(1, len(r["acc_list"]) + 1), r["acc_list"], marker="o",
                label=r["name"])
    ax.axhline(0.1, color="#999999", linestyle="--", linewidth=0.8)
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    ax.set_title("seed 003: the note's method, then one change at a time")
    ax.legend(fontsize=7, loc="center right")
    fig.tight_layout()
    return finish(fig, path, False)


def run(fast: bool | None = None, out=None, rng=0, verbose=True) -> dict:
    """The whole lesson; returns its key numbers (and writes its plot into ``out``)."""
    fast = fast_mode() if fast is None else fast
    outputs = out if isinstance(out, Outputs) else Outputs(out, "seed003")
    n_train, n_test, epoch = (2000, 1000, 3) if fast else (None, None, 10)
    x_train, y_train, x_test, y_test = load_data(n_train=n_train, n_test=n_test)
    n_train = len(x_train)
    if verbose:
        print("y_train", y_train.shape, "x_train", x_train.shape, "y_test", y_test.shape,
              "x_test", x_test.shape)
    # the note's first forward pass: [784, 128, 64, 32, 16, 10], one image
    param = weight_initializer([784, 128, 64, 32, 16, 10], rng=rng)
    cache_forward = forward_pass(x_train[0], param)
    shapes = [cache_forward["a" + str(i)].shape for i in range(1, 6)]
    if verbose:
        print("forward_pass shapes a1..a5:", shapes)
    results = run_experiments(x_train, y_train, x_test, y_test, epoch, rng=rng, verbose=verbose)
    grad_error = compare_gradients(x_train[:16] / 255.0, y_train[:16],
                                   initialize_parameters([784, 128, 64, 10], rng=rng))
    plot_accuracies(results, outputs.path("seed003_accuracy_per_change.png"))
    return {"shapes": shapes, "results": results, "grad_error": grad_error,
            "n_train": n_train, "epoch": epoch, "outputs": outputs}


def check(r: dict) -> None:
    """The lesson's claims, checked on its numbers."""
    note, scaled, xavier, batches, final = r["results"]
    expect(note["saturated"] > 0.95,
           f"the note's raw pixels should saturate nearly every first-layer sigmoid; "
           f"measured {note['saturated']:.3f}")
    expect(note["accuracy"] < 0.5,
           f"the note's method as written should stay far from a working classifier; "
           f"measured test accuracy {note['accuracy']:.3f}")
    expect(xavier["saturated"] < 0.05 < scaled["saturated_before"],
           f"scaling leaves many first-layer sigmoids saturated ({scaled['saturated_before']:.3f})"
           f", Xavier initialisation almost none ({xavier['saturated']:.3f})")
    expect(final["accuracy"] > 0.85,
           f"today's setting should learn; measured test accuracy {final['accuracy']:.3f}")
    expect(r["grad_error"] < 1e-12,
           f"the hand-written back_prop and dlscratch's layers should give the same gradients; "
           f"largest relative difference {r['grad_error']:.2e}")


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv, "Lecture 003: the note's sigmoid MLP on MNIST-in-CSV, fixed step "
                            "by step")
    print("data: the bundled MNIST sample (8,000 + 2,000 images) written as Kaggle-style CSV "
          "(the note uses Kaggle's mnist_train.csv / mnist_test.csv)")
    r = run(out=args.out)
    print(f"\nsummary ({r['n_train']} training images, {r['epoch']} epochs each):")
    print(f"{'step':<66} {'eta':>8} {'sat. before':>11} {'sat. after':>10} {'loss':>7} "
          f"{'test acc':>8}")
    for s in r["results"]:
        print(f"{s['name']:<66} {s['eta']:>8.4g} {s['saturated_before']:>11.3f} "
              f"{s['saturated']:>10.3f} {s['loss']:>7.4f} {s['accuracy']:>8.4f}")
    print(f"gradients, hand-written back_prop vs dlscratch layers: largest relative difference "
          f"{r['grad_error']:.2e}")
    check(r)
    print(r["outputs"].listing())


if __name__ == "__main__":
    main()
