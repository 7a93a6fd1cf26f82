# %% [markdown]
# # 순방향, XOR, 역전파 — Forward pass, XOR, backpropagation (lecture 004)
#
# The note trains one sigmoid unit with the delta rule, shows that it cannot learn XOR, then
# trains a 3-4-1 sigmoid network by backpropagation, first with the delta of the squared error
# (MSE) and then with the cross-entropy delta, and concludes that only cross-entropy learns XOR.
# From a single random start that conclusion is luck: this lesson runs each method from
# several seeds and prints the outcome of every one.
#
# Run: ``python -m dlscratch.lessons.seed004_xor [--out DIR]``; ``DLSCRATCH_FAST=1`` for the
# fast mode (fewer seeds).

# %%
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._rng import as_generator
from ..datasets import logic_gate
from ..functions import sigmoid
from ._common import Outputs, expect, fast_mode, parse_args

# %% [markdown]
# ## STEP01 순방향 — The forward pass
#
# The note multiplies ``W`` by ``X[0]`` before defining ``X``; here the data come first (fix).
# ``np.random.random`` (the global generator) becomes a Generator passed as ``rng`` (fix).
# Each row of X ends with a 1, the bias input.

# %%
X = np.array([[0, 0, 1],
              [0, 1, 1],
              [1, 0, 1],
              [1, 1, 1]], dtype=np.float64)
D = np.array([[0], [0], [1], [1]], dtype=np.float64)  # the first task: the first input


def forward_example(rng=0) -> np.ndarray:
    """v = W @ x for the four rows with a random W (1, 3) in [-1, 1): the note's first loop."""
    W = 2 * as_generator(rng).random((1, 3)) - 1
    return np.array([np.matmul(W, X[k, :].T)[0] for k in range(4)])


# %% [markdown]
# ## The delta rule (one sigmoid unit)
#
#     y = sigmoid(W @ x),   delta = y (1 - y) (d - y),   W <- W + alpha * delta * x


# %%
def calc_output(W, x):
    v = np.matmul(W, x)
    return sigmoid(v)


def calc_error(d, y):
    e = d - y
    delta = y * (1 - y) * e  # y (1 - y) is the sigmoid's derivative
    return delta


def delta_GD(W, X, D, alpha):  # noqa: N802, N803 - the note's names
    """One epoch: a step after each of the four samples."""
    for k in range(4):
        x = X[k, :].T
        d = D[k]
        y = calc_output(W, x)
        delta = calc_error(d, y)
        dW = alpha * delta * x
        W = W + dW
    return W


def train_delta_rule(D, epochs=10_000, alpha=0.9, rng=0) -> np.ndarray:  # noqa: N803
    """Outputs (4,) of one sigmoid unit trained with the delta rule towards D (4, 1)."""
    W = 2 * as_generator(rng).random((1, 3)) - 1
    for _ in range(epochs):
        W = delta_GD(W, X, D, alpha)
    return np.array([calc_output(W, X[k, :].T)[0] for k in range(4)])


# %% [markdown]
# ## STEP02 XOR
#
# The same unit on XOR: its boundary W @ x = 0 is a straight line, and no line separates
# [0, 1], [1, 0] from [0, 0], [1, 1]. Its outputs end near 0.5 for every input.

# %%
D_XOR = logic_gate("XOR", bias=True, dtype=np.float64)[1]  # [[0], [1], [1], [0]]


# %% [markdown]
# ## STEP03 역전파 — Backpropagation (3 -> 4 -> 1)
#
# The note reuses the name ``calc_output`` for the two-layer network, which would break
# ``delta_GD`` above in one module; here it is ``calc_output2`` (fix).


# %%
def calc_output2(W1, W2, x):
    v1 = np.matmul(W1, x)
    y1 = sigmoid(v1)
    v = np.matmul(W2, y1)
    y = sigmoid(v)
    return y, y1


def calc_delta(d, y):
    """Output delta of the squared error: y (1 - y) (d - y)."""
    e = d - y
    delta = y * (1 - y) * e
    return delta


def calc_delta1(W2, delta, y1):
    """Hidden delta: y1 (1 - y1) (W2.T @ delta)."""
    e1 = np.matmul(W2.T, delta)
    delta1 = y1 * (1 - y1) * e1
    return delta1


def backprop_XOR(W1, W2, X, D, alpha):  # noqa: N802, N803 - the note's names
    """One epoch of backprop with the squared-error (MSE) delta."""
    for k in range(4):
        x = X[k, :].T
        d = D[k]
        y, y1 = calc_output2(W1, W2, x)
        delta = calc_delta(d, y)
        delta1 = calc_delta1(W2, delta, y1)
        dW1 = (alpha * delta1).reshape(4, 1) * x.reshape(1, 3)
        W1 = W1 + dW1
        dW2 = alpha * delta * y1
        W2 = W2 + dW2
    return W1, W2


# %% [markdown]
# ### Loss 함수 교체 — Cross-entropy
#
# With a sigmoid output and the cross-entropy loss the sigmoid's derivative cancels: the output
# delta is just d - y. (The note computes ``delta = e`` and returns ``e``: the same.)


# %%
def calcDelta_ce(d, y):  # noqa: N802 - the note's name
    e = d - y
    return e


def calcDelta1_ce(W2, delta, y1):  # noqa: N802, N803 - the note's name
    e1 = np.matmul(W2.T, delta)
    delta1 = y1 * (1 - y1) * e1
    return delta1


def BackpropCE(W1, W2, X, D, alpha):  # noqa: N802, N803 - the note's name
    """One epoch of backprop with the cross-entropy delta."""
    for k in range(4):
        x = X[k, :].T
        d = D[k]
        y, y1 = calc_output2(W1, W2, x)
        delta = calcDelta_ce(d, y)
        delta1 = calcDelta1_ce(W2, delta, y1)
        dW1 = (alpha * delta1).reshape(4, 1) * x.reshape(1, 3)
        W1 = W1 + dW1
        dW2 = alpha * delta * y1
        W2 = W2 + dW2
    return W1, W2


def init_weights(rng):
    """The note's start: W1 (4, 3) and W2 (1, 4) uniform in [-1, 1)."""
    g = as_generator(rng)
    W1 = 2 * g.random((4, 3)) - 1
    W2 = 2 * g.random((1, 4)) - 1
    return W1, W2


def train_backprop(D, epochs=10_000, alpha=0.9, cross_entropy=False, rng=0):  # noqa: N803
    """(W1, W2) after training the 3-4-1 network with the note's per-sample updates."""
    W1, W2 = init_weights(rng)
    step = BackpropCE if cross_entropy else backprop_XOR
    for _ in range(epochs):
        W1, W2 = step(W1, W2, X, D, alpha)
    return W1, W2


def outputs(W1, W2, x=X) -> np.ndarray:
    """The network's outputs (n,) for rows x (n, 3)."""
    return sigmoid(sigmoid(x @ W1.T) @ W2.T)[:, 0]


# %% [markdown]
# ## Several seeds at once
#
# The same per-sample updates for S starts side by side: W1 (S, 4, 3), W2 (S, 1, 4). Sample k
# updates every start at once, so each start follows exactly the path of the loop above
# (:func:`run_seeds` checks that against :func:`train_backprop` for the first seed).


# %%
def train_many(D, seeds, epochs=10_000, alpha=0.9, method="mse"):  # noqa: N803
    """(outputs (S, 4), final weights) of the 3-4-1 network ("mse" / "ce": (W1 (S, 4, 3),
    W2 (S, 1, 4))) or of one unit ("delta": W (S, 3)), one row per seed."""
    if method == "delta":
        W = np.stack([2 * as_generator(s).random((1, 3)) - 1 for s in seeds])[:, 0]  # (S, 3)
        for _ in range(epochs):
            for k in range(4):
                x, d = X[k], D[k, 0]
                y = sigmoid(W @ x)  # (S,)
                W = W + alpha * (y * (1 - y) * (d - y))[:, None] * x
        return sigmoid(W @ X.T), W
    starts = [init_weights(s) for s in seeds]
    W1 = np.stack([w1 for w1, _ in starts])  # (S, 4, 3)
    W2 = np.stack([w2[0] for _, w2 in starts])  # (S, 4)
    for _ in range(epochs):
        for k in range(4):
            x, d = X[k], D[k, 0]
            y1 = sigmoid(W1 @ x)  # (S, 4)
            y = sigmoid(np.sum(W2 * y1, axis=1))  # (S,)
            delta = (d - y) if method == "ce" else y * (1 - y) * (d - y)
            delta1 = y1 * (1 - y1) * (W2 * delta[:, None])
            W1 = W1 + (alpha * delta1)[:, :, None] * x
            W2 = W2 + alpha * delta[:, None] * y1
    y = sigmoid(np.einsum("sj,snj->sn", W2, sigmoid(np.einsum("sij,nj->sni", W1, X))))
    return y, (W1, W2[:, None, :])


def losses(y, D) -> tuple[np.ndarray, np.ndarray]:  # noqa: N803
    """Per-seed (MSE, cross-entropy) of outputs y (S, 4) against D (4, 1)."""
    d = D[:, 0]
    mse = np.mean((d - y) ** 2, axis=1)
    yc = np.clip(y, 1e-15, 1 - 1e-15)
    ce = -np.mean(d * np.log(yc) + (1 - d) * np.log(1 - yc), axis=1)
    return mse, ce


LEARNED_TOLERANCE = 0.25


def run_seeds(method, D, seeds, epochs=10_000, alpha=0.9) -> dict:  # noqa: N803
    """Train from every seed; "learned" = every output within 0.25 of its target (an output
    stuck at 0.5 is not learned, whichever way it rounds)."""
    y, weights = train_many(D, seeds, epochs, alpha, method)
    mse, ce = losses(y, D)
    learned = np.all(np.abs(y - D[:, 0]) < LEARNED_TOLERANCE, axis=1)
    return {"method": method, "seeds": list(seeds), "outputs": y, "mse": mse, "ce": ce,
            "learned": learned, "n_learned": int(learned.sum()), "weights": weights}


# %% [markdown]
# ## Decision boundaries


# %%
def predict_fn_backprop(W1, W2):
    """grid (M, 2) -> class 0/1 of the trained network (the bias input appended)."""
    def predict(grid):
        g = np.column_stack([grid, np.ones(len(grid))])
        return (outputs(W1, W2, g) > 0.5).astype(int)
    return predict


def plot_boundaries(out: Outputs, D_xor, delta_xor, mse, ce):  # noqa: N803
    """Decision boundaries: the single unit on XOR, a learned MSE seed, a learned
    cross-entropy seed and a stuck seed (when there is one)."""
    from ..plot import plot_decision_boundary

    picks = []
    for r, name in ((mse, "MSE"), (ce, "cross-entropy")):
        if r["learned"].any():
            picks.append((r, name, int(np.argmax(r["learned"])), "learned"))
    for r, name in ((ce, "cross-entropy"), (mse, "MSE")):
        if not r["learned"].all():
            picks.append((r, name, int(np.argmin(r["learned"])), "stuck"))
            break
    paths = []
    W = delta_xor["weights"][0]  # one sigmoid unit: its boundary W @ [x, 1] = 0 is a line
    slug = f"seed004_xor_delta_rule_seed{delta_xor['seeds'][0]}_stuck.png"
    plot_decision_boundary(lambda g: (np.column_stack([g, np.ones(len(g))]) @ W > 0).astype(int),
                           X[:, :2], D_xor[:, 0], path=out.path(slug),
                           title=f"XOR, one unit (delta rule), seed {delta_xor['seeds'][0]}")
    paths.append(out.folder / slug)
    for r, name, i, outcome in picks:
        seed = r["seeds"][i]
        W1, W2 = r["weights"][0][i], r["weights"][1][i]
        slug = f"seed004_xor_{r['method']}_seed{seed}_{outcome}.png"
        plot_decision_boundary(predict_fn_backprop(W1, W2), X[:, :2], D_xor[:, 0],
                               title=f"XOR, backprop with {name}, seed {seed}: {outcome}",
                               path=out.path(slug))
        paths.append(out.folder / slug)
    return paths


# %% [markdown]
# ## Running it


# %%
def run(fast: bool | None = None, out=None, verbose=True) -> dict:
    """The whole lesson; returns its key numbers and writes its plots into ``out``."""
    fast = fast_mode() if fast is None else fast
    outputs_ = out if isinstance(out, Outputs) else Outputs(out, "seed004")
    np.set_printoptions(precision=4, suppress=True)
    epochs, alpha = 10_000, 0.9  # the note's
    seeds = list(range(5 if fast else 10))
    r = {"v": forward_example(rng=0)}
    if verbose:
        print("STEP01: v = W @ x for the four rows, random W:", r["v"])
    r["delta_first"] = run_seeds("delta", D, seeds, epochs, alpha)
    r["delta_xor"] = run_seeds("delta", D_XOR, seeds, epochs, alpha)
    r["mse"] = run_seeds("mse", D_XOR, seeds, epochs, alpha)
    r["ce"] = run_seeds("ce", D_XOR, seeds, epochs, alpha)
    # the side-by-side training follows the note's loop exactly (checked on the first seed)
    check_epochs = 300 if fast else 2000
    W1, W2 = train_backprop(D_XOR, check_epochs, alpha, cross_entropy=True, rng=seeds[0])
    y_many = train_many(D_XOR, seeds[:1], check_epochs, alpha, "ce")[0][0]
    r["loop_vs_many"] = float(np.abs(outputs(W1, W2) - y_many).max())
    if verbose:
        for key, title in (("delta_first", "delta rule, D = [0, 0, 1, 1]"),
                           ("delta_xor", "delta rule, XOR"),
                           ("mse", "backprop, MSE delta (backprop_XOR), XOR"),
                           ("ce", "backprop, cross-entropy delta (BackpropCE), XOR")):
            print_outcomes(title, r[key], epochs, alpha)
    r["plots"] = plot_boundaries(outputs_, D_XOR, r["delta_xor"], r["mse"], r["ce"])
    r["outputs_folder"] = outputs_
    return r


def print_outcomes(title, res, epochs, alpha):
    print(f"\n{title}: {epochs} epochs, alpha {alpha}; learned {res['n_learned']} of "
          f"{len(res['seeds'])} seeds")
    for i, seed in enumerate(res["seeds"]):
        state = "learned" if res["learned"][i] else "stuck  "
        print(f"  seed {seed}: {state}  outputs {np.array2string(res['outputs'][i], precision=3)}"
              f"  MSE {res['mse'][i]:.2e}  cross-entropy {res['ce'][i]:.2e}")


def check(r: dict) -> None:
    """The lesson's claims, checked on its numbers."""
    n = len(r["mse"]["seeds"])
    expect(r["delta_first"]["n_learned"] == n,
           f"the delta rule learns D = [0, 0, 1, 1] from every seed; learned "
           f"{r['delta_first']['n_learned']} of {n}")
    expect(r["delta_xor"]["n_learned"] == 0,
           f"one sigmoid unit cannot learn XOR; it did from {r['delta_xor']['n_learned']} seeds")
    expect(r["loop_vs_many"] < 1e-9,
           f"training several seeds side by side must follow the note's loop; largest output "
           f"difference {r['loop_vs_many']:.2e}")
    expect(r["mse"]["n_learned"] >= 1 and r["ce"]["n_learned"] >= 1,
           f"backprop learns XOR from some seeds: MSE {r['mse']['n_learned']}, cross-entropy "
           f"{r['ce']['n_learned']} of {n}")


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv, "Lecture 004: the delta rule, XOR, and backprop over several seeds")
    r = run(out=args.out)
    n = len(r["mse"]["seeds"])
    print(f"\nsummary over {n} seeds: delta rule [0,0,1,1] {r['delta_first']['n_learned']}/{n}, "
          f"delta rule XOR {r['delta_xor']['n_learned']}/{n}, backprop MSE "
          f"{r['mse']['n_learned']}/{n}, backprop cross-entropy {r['ce']['n_learned']}/{n}")
    check(r)
    print(r["outputs_folder"].listing())


if __name__ == "__main__":
    main()
