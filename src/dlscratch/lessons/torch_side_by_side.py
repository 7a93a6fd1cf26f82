# %% [markdown]
# # dlscratch와 PyTorch 나란히 — dlscratch beside PyTorch
#
# The same network, the same initial weights, the same mini-batches, plain SGD - and the same
# numbers. The lectures build every layer by hand (Affine, Relu, SoftmaxWithLoss, backward
# written out); PyTorch has the same layers under other names, and computes the backward pass by
# itself (autograd). This lesson shows that they are the same network:
#
# 1. the name-mapping table (lecture name → dlscratch → PyTorch), with the one layout change:
#    a Linear weight is (in, out) in the lectures and dlscratch (``x @ W``) and (out, in) in
#    PyTorch (``x @ weight.T``), so it is transposed on export;
# 2. a TwoLayerNet 784-100-10 (ReLU) is exported with ``to_torch_state_dict`` into an
#    ``nn.Sequential`` written out with the lectures' layer names, and both are trained with
#    plain SGD on the same mini-batches of the bundled mnist-sample: their losses agree to
#    float32 rounding;
# 3. the trained dlscratch model, exported again, gives PyTorch the same predictions on the test
#    set (equal argmax; the largest logit difference is printed), and PyTorch's trained weights
#    come back with ``load_torch_state_dict``.
#
# Run ``python -m dlscratch.lessons.torch_side_by_side [--out DIR] [--lang ko|en] [--seed N]``
# (seconds); ``DLSCRATCH_FAST=1`` trains fewer steps. Without PyTorch the lesson prints the
# table, says how to install it (``pip install torch==2.13.0``, the CPU build is enough) and skips
# the rest (exit status 0).
#
# Measured (fast mode: 200 steps of 100 images, lr 0.1, seed 0; CPU, float32, torch 2.13): the
# first 10 losses agree within 4.8e-7 (2.499 → 1.738), all 200 within 4.8e-7, weights within
# 2.1e-7 (1.6e-7 to 2.1e-7, depending on the number of BLAS threads); test accuracy 0.8985 in
# both; the exported model's logits differ by at most 6.7e-6 and all 2,000 argmax agree. Normal
# mode (1,000 steps) has not been measured yet.

# %%
from __future__ import annotations

import argparse
import sys
from collections import OrderedDict

import numpy as np

from .._rng import as_generator
from ..datasets import load_mnist
from ..interop.torch import torch_names
from ..models import TwoLayerNet
from ..optim import SGD
from ..plot.fonts import pick
from ._common import _in_notebook, expect, start

#: Filled from real runs (see the first cell).
MEASURED: dict[str, dict] = {
    "fast": {"seed": 0, "steps": 200, "first_diff": 4.8e-7, "all_diff": 4.8e-7,
             "weight_diff": 2.1e-7, "acc_dl": 0.8985, "acc_torch": 0.8985,
             "logit_diff": 6.7e-6, "argmax_equal": "2000 of 2000"},
    "normal": {},  # not measured yet
}

STEPS_NORMAL, STEPS_FAST = 1000, 200
FIRST = 10  # "the first steps" whose losses are compared closely
INSTALL = "pip install torch==2.13.0"  # the CPU build is enough


def parse_seed(argv=None) -> tuple[int, list[str]]:
    """``--seed N`` (default 0) from the command line, and the other arguments (for
    :func:`start`). ``argv`` None reads ``sys.argv[1:]``, except in a notebook (``[]``)."""
    if argv is None:
        argv = [] if _in_notebook() else sys.argv[1:]
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--seed", type=int, default=0)
    args, rest = parser.parse_known_args(argv)
    return args.seed, rest


# %%
if __name__ == "__main__":
    seed, _rest = parse_seed()
    lesson = start("torch_side_by_side", "dlscratch beside PyTorch: the same network, weights "
                   "and batches give the same numbers (also: --seed N)", _rest)

# %% [markdown]
# ## 이름 대응표 — The name-mapping table


# %%
def build_network(rng=0) -> TwoLayerNet:
    """The lectures' TwoLayerNet 784-100-10 with ReLU, float32 (as PyTorch's default)."""
    return TwoLayerNet(784, 100, 10, weight_init_std=0.1, activation="relu", rng=rng)


def name_table(net: TwoLayerNet) -> list[tuple[str, str, str, str]]:
    """Rows ``(lecture, dlscratch, PyTorch, note)``: parameters first, then the other layers.

    Computed from the network (``net.params`` for the lecture names, ``torch_names`` for the
    PyTorch keys), so the table cannot drift from the code.
    """
    lecture_of = {id(net.params.parameter(k)): k for k in net.params}
    torch_of = {ours: theirs for theirs, ours in torch_names(net).items()}
    rows = []
    for name, p in net.named_parameters():
        key = torch_of[name]
        transposed = key.endswith(".weight") and p.data.ndim == 2
        shape_t = tuple(reversed(p.data.shape)) if transposed else p.data.shape
        rows.append((lecture_of.get(id(p), "-"), f"{name} {p.data.shape}", f"{key} {shape_t}",
                     "transposed (x @ W  vs  x @ weight.T)" if transposed else "same"))
    for name, layer in net.layers.items():
        if not layer._parameters:
            rows.append((name, f"layers.{name} ({type(layer).__name__})",
                         f"{name} (nn.{type(layer).__name__})", "no parameters"))
    rows.append(("SoftmaxWithLoss", "last_layer (SoftmaxWithLoss)", "nn.CrossEntropyLoss()",
                 "takes the scores (logits): softmax + cross-entropy in one"))
    rows.append(("SGD: W -= lr * dW", "optim.SGD(lr).update(params, grads)",
                 "torch.optim.SGD(model.parameters(), lr)", "PyTorch's grads come from autograd"))
    return rows


def format_table(rows) -> str:
    head = ("lecture", "dlscratch", "PyTorch", "")
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(3)]
    lines = [" | ".join(str(c).ljust(w) for c, w in zip(r[:3], widths)) + "  " + r[3]
             for r in [head, *rows]]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


# %%
if __name__ == "__main__":
    print("lecture name -> dlscratch -> PyTorch (TwoLayerNet 784-100-10, ReLU)")
    rows = name_table(build_network(rng=seed))
    print(format_table(rows))
    expect(rows[0][:3] == ("W1", "layers.Affine1.W (784, 100)", "Affine1.weight (100, 784)"),
           f"the first row should map W1 to Affine1.weight, transposed; got {rows[0]}")

# %% [markdown]
# ## 같은 네트워크를 PyTorch로 — The same network written in PyTorch
#
# PyTorch is optional: without it this lesson stops after the table (every later cell checks
# ``HAVE_TORCH``).


# %%
def have_torch() -> bool:
    """True when PyTorch can be imported."""
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def torch_network(net: TwoLayerNet):
    """``nn.Sequential`` with the lectures' layer names, holding ``net``'s weights.

    ``dlscratch.interop.torch.to_torch_module(net)`` builds the same thing; here it is
    written out. A strict ``load_state_dict`` checks every name and shape.
    """
    import torch
    from torch import nn

    from ..interop.torch import to_torch_state_dict

    model = nn.Sequential(OrderedDict([
        ("Affine1", nn.Linear(784, 100)),
        ("Relu1", nn.ReLU()),
        ("Affine2", nn.Linear(100, 10)),
    ])).to(torch.float32)
    model.load_state_dict(to_torch_state_dict(net), strict=True)
    return model


# %%
if __name__ == "__main__":
    HAVE_TORCH = have_torch()
    if not HAVE_TORCH:
        print(f"PyTorch is not installed, so the side-by-side training is skipped. "
              f"Install it with:\n    {INSTALL}\n(the CPU build is enough), then run this "
              "lesson again.")
    else:
        print(torch_network(build_network(rng=seed)))

# %% [markdown]
# ## 나란히 학습 — Training side by side
#
# One mini-batch per step, the same for both; dlscratch's backward is written out layer by
# layer, PyTorch's comes from autograd.


# %%
def train_side_by_side(steps: int, lr: float = 0.1, batch_size: int = 100, seed: int = 0) -> dict:
    """Train the dlscratch net and its PyTorch twin on the same batches with plain SGD.

    Returns ``net`` and ``model`` (both trained), ``loss_dl``, ``loss_torch`` (per step),
    ``first_diff`` (max |difference| of the first ``FIRST`` losses), ``all_diff``,
    ``weight_diff`` (largest weight difference at the end), and ``steps``, ``lr``,
    ``batch_size``, ``seed``.
    """
    import torch
    from torch import nn

    from ..interop.torch import to_torch_state_dict

    (x_train, t_train), _ = load_mnist(flatten=True, dataset="mnist-sample")
    net = build_network(rng=seed)
    model = torch_network(net)  # the same initial weights
    criterion = nn.CrossEntropyLoss()  # = SoftmaxWithLoss on the scores
    opt_dl = SGD(lr=lr)  # the lecture's update: params[key] -= lr * grads[key]
    opt_torch = torch.optim.SGD(model.parameters(), lr=lr)
    rng = as_generator(seed)
    loss_dl, loss_torch = [], []
    for _ in range(steps):
        idx = rng.choice(len(x_train), batch_size, replace=False)  # one batch for both
        x, t = x_train[idx], t_train[idx]
        # dlscratch: forward, backward written out layer by layer, update
        grads = net.gradient(x, t)
        loss_dl.append(float(net.last_loss))
        opt_dl.update(net.params, grads)
        # PyTorch: forward, autograd, update
        opt_torch.zero_grad()
        loss = criterion(model(torch.from_numpy(x)), torch.from_numpy(t.astype(np.int64)))
        loss.backward()
        opt_torch.step()
        loss_torch.append(loss.item())
    a, b = np.array(loss_dl), np.array(loss_torch)
    theirs = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    ours = {k: v.numpy() for k, v in to_torch_state_dict(net).items()}
    return {
        "net": net, "model": model, "steps": steps, "lr": lr, "batch_size": batch_size,
        "seed": seed, "loss_dl": loss_dl, "loss_torch": loss_torch,
        "first_diff": float(np.abs(a[:FIRST] - b[:FIRST]).max()),
        "all_diff": float(np.abs(a - b).max()),
        "weight_diff": max(float(np.abs(ours[k] - theirs[k]).max()) for k in ours),
    }


def report_training(r: dict) -> str:
    """The first losses of both, and the largest differences."""
    first = "\n".join(f"  step {i + 1:2d}: dlscratch {a:.7f}   PyTorch {b:.7f}   diff {a - b:+.1e}"
                      for i, (a, b) in enumerate(zip(r["loss_dl"][:FIRST],
                                                     r["loss_torch"][:FIRST])))
    return "\n".join([
        f"{r['steps']} steps of plain SGD (lr {r['lr']}, batches of {r['batch_size']}, "
        f"seed {r['seed']}), the same batches for both:",
        first,
        f"max |loss difference|: first {FIRST} steps {r['first_diff']:.1e}, all {r['steps']} "
        f"steps {r['all_diff']:.1e} (last loss {r['loss_dl'][-1]:.4f})",
        f"max |weight difference| after training: {r['weight_diff']:.1e}",
    ])


# %%
if __name__ == "__main__" and HAVE_TORCH:
    r = train_side_by_side(STEPS_FAST if lesson.fast else STEPS_NORMAL, seed=seed)
    print(report_training(r))
    expect(r["first_diff"] < 1e-5,
           f"the first {FIRST} losses of dlscratch and PyTorch differ by {r['first_diff']:.2e}; "
           "with the same weights and batches they must agree to float32 rounding (< 1e-5)")

# %% [markdown]
# ## 내보낸 모델의 예측 — The exported model's predictions
#
# The trained dlscratch model goes to PyTorch (``to_torch_state_dict``), and PyTorch's trained
# weights come back (``load_torch_state_dict``).


# %%
def compare_predictions(net: TwoLayerNet, model, seed: int = 0) -> dict:
    """Test-set predictions of the trained ``net`` and its PyTorch twin ``model``.

    Returns ``acc_dl``, ``acc_torch`` (test accuracy), ``logit_diff`` and ``argmax_equal``
    (``net`` exported to PyTorch, on the test set), ``n_test``, ``reloaded_acc`` (``model``'s
    weights loaded back into a fresh dlscratch network).
    """
    import torch

    from ..interop.torch import load_torch_state_dict

    _, (x_test, t_test) = load_mnist(flatten=True, dataset="mnist-sample")
    with torch.no_grad():
        acc_torch = float((model(torch.from_numpy(x_test)).argmax(1).numpy() == t_test).mean())
        logits_torch = torch_network(net)(torch.from_numpy(x_test)).numpy()  # export, predict
    logits_dl = net.forward(x_test)  # the scores (TwoLayerNet.predict gives softmax)
    back = build_network(rng=seed + 1)
    load_torch_state_dict(back, model.state_dict())  # and PyTorch's weights back
    return {
        "acc_dl": float(net.accuracy(x_test, t_test)), "acc_torch": acc_torch,
        "logit_diff": float(np.abs(logits_dl - logits_torch).max()),
        "argmax_equal": int((logits_dl.argmax(1) == logits_torch.argmax(1)).sum()),
        "n_test": len(t_test), "reloaded_acc": float(back.accuracy(x_test, t_test)),
    }


# %%
if __name__ == "__main__" and HAVE_TORCH:
    p = compare_predictions(r["net"], r["model"], seed)
    print(f"test accuracy: dlscratch {p['acc_dl']:.4f}, PyTorch {p['acc_torch']:.4f}")
    print(f"exported dlscratch model in PyTorch: argmax equal on {p['argmax_equal']} of "
          f"{p['n_test']} test images, max |logit difference| {p['logit_diff']:.1e}")
    print(f"PyTorch's weights loaded back into dlscratch: test accuracy {p['reloaded_acc']:.4f}")
    expect(p["argmax_equal"] == p["n_test"],
           f"only {p['argmax_equal']} of {p['n_test']} predictions of the exported model agree")
    expect(p["logit_diff"] < 1e-4, f"exported logits differ by {p['logit_diff']:.2e} (> 1e-4)")
    expect(abs(p["acc_dl"] - p["acc_torch"]) <= 2 / p["n_test"],
           f"test accuracy dlscratch {p['acc_dl']} vs PyTorch {p['acc_torch']}")
    expect(p["reloaded_acc"] == p["acc_torch"],
           f"PyTorch's weights loaded into dlscratch score {p['reloaded_acc']}, PyTorch "
           f"{p['acc_torch']}")
    expect(p["acc_dl"] > 0.8, f"test accuracy {p['acc_dl']} after {r['steps']} steps (< 0.8)")

# %% [markdown]
# ## 그림 — Two loss curves on top of each other, and their difference


# %%
def plot_losses(r: dict, lang: str = "en", path=None):
    """Left: the loss per step of both (one line hides the other). Right: |difference|, log.
    ``lang`` is "en" or "ko" (already resolved). Returns the figure (a PNG at ``path`` when
    given)."""
    from ..plot._common import finish, new_figure

    fig = new_figure(False, figsize=(11, 4))
    ax_l, ax_d = fig.subplots(1, 2)
    steps = np.arange(1, r["steps"] + 1)
    a, b = np.array(r["loss_dl"]), np.array(r["loss_torch"])
    step = pick(lang, "step", "스텝")
    ax_l.plot(steps, a, color="tab:blue", lw=3, alpha=0.5,
              label=pick(lang, "dlscratch (backward by hand)", "dlscratch (손으로 쓴 역전파)"))
    ax_l.plot(steps, b, color="tab:red", lw=1,
              label=pick(lang, "PyTorch (autograd)", "PyTorch (자동 미분)"))
    ax_l.set(title=pick(lang, "training loss, same weights and batches",
                        "학습 손실: 같은 가중치, 같은 미니배치"),
             xlabel=step, ylabel=pick(lang, "loss", "손실"))
    ax_l.legend()
    diff = np.abs(a - b)
    ax_d.semilogy(steps, np.where(diff > 0, diff, np.nan), ".", ms=3, color="k")
    ax_d.axhline(np.finfo(np.float32).eps, color="tab:gray", ls=":",
                 label=pick(lang, "float32 machine epsilon", "float32 기계 엡실론"))
    ax_d.set(title=pick(lang, "|loss difference| (exact zeros not drawn)",
                        "|손실 차이| (정확히 0인 값은 그리지 않음)"),
             xlabel=step, ylabel="|dlscratch - PyTorch|")
    ax_d.legend()
    for ax in (ax_l, ax_d):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return finish(fig, path, show=False)


# %%
if __name__ == "__main__" and HAVE_TORCH:
    fig_losses = plot_losses(r, lesson.lang)
    lesson.save(fig_losses, "torch_side_by_side.png")

# %% [markdown]
# ## 정리 — Summary

# %%
if __name__ == "__main__":
    if HAVE_TORCH:
        print(f"{r['steps']} steps: losses agree within {r['all_diff']:.1e}, weights within "
              f"{r['weight_diff']:.1e}; test accuracy dlscratch {p['acc_dl']:.4f}, PyTorch "
              f"{p['acc_torch']:.4f}; {p['argmax_equal']} of {p['n_test']} exported "
              "predictions agree")
    print(lesson.outputs.listing())
