"""dlscratch beside PyTorch: the same network, the same initial weights, the same mini-batches,
plain SGD - and the same numbers.

The lectures build every layer by hand (Affine, Relu, SoftmaxWithLoss, backward written out);
PyTorch has the same layers under other names, and computes the backward pass by itself
(autograd). This lesson shows that they are the same network:

1. the name-mapping table (lecture name → dlscratch → PyTorch), with the one layout change:
   a Linear weight is (in, out) in the lectures and dlscratch (``x @ W``) and (out, in) in
   PyTorch (``x @ weight.T``), so it is transposed on export;
2. a TwoLayerNet 784-100-10 (ReLU) is exported with ``to_torch_state_dict`` into an
   ``nn.Sequential`` written out with the lectures' layer names, and both are trained with plain
   SGD on the same mini-batches of the bundled mnist-sample: their losses agree to float32
   rounding;
3. the trained dlscratch model, exported again, gives PyTorch the same predictions on the test
   set (equal argmax; the largest logit difference is printed), and PyTorch's trained weights
   come back with ``load_torch_state_dict``.

Run ``python -m dlscratch.lessons.torch_side_by_side`` (seconds); ``DLSCRATCH_FAST=1`` trains
fewer steps and asserts the key numbers. Without PyTorch the lesson prints the table, says how to
install it (``pip install torch==2.13.0``, the CPU build is enough) and exits with status 0.
The plot of both loss curves goes to ``--out`` (default: a new temporary folder).

Measured (fast mode: 200 steps of 100 images, lr 0.1, seed 0; CPU, float32, torch 2.13): the
first 10 losses agree within 4.8e-7 (2.499 → 1.738), all 200 within 4.8e-7, weights within
2.1e-7; test accuracy 0.8985 in both; the exported model's logits differ by at most 4.8e-6 and
all 2,000 argmax agree. Normal mode (1,000 steps) has not been measured yet.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections import OrderedDict
from pathlib import Path

import numpy as np

from .._rng import as_generator
from ..datasets import load_mnist
from ..interop.torch import torch_names
from ..models import TwoLayerNet
from ..optim import SGD

#: Filled from real runs (see the module docstring).
MEASURED: dict[str, dict] = {
    "fast": {"seed": 0, "steps": 200, "first_diff": 4.8e-7, "all_diff": 4.8e-7,
             "weight_diff": 2.1e-7, "acc_dl": 0.8985, "acc_torch": 0.8985,
             "logit_diff": 4.8e-6, "argmax_equal": "2000 of 2000"},
    "normal": {},  # not measured yet
}

STEPS_NORMAL, STEPS_FAST = 1000, 200
FIRST = 10  # "the first steps" whose losses are compared closely
INSTALL = "pip install torch==2.13.0"  # the CPU build is enough


def fast_mode() -> bool:
    """``DLSCRATCH_FAST=1``: the short version that asserts its key numbers."""
    return os.environ.get("DLSCRATCH_FAST", "") not in ("", "0")


# %% 이름 대응표 / The name-mapping table
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


# %% 같은 네트워크를 PyTorch로 / The same network written in PyTorch
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


# %% 나란히 학습 / Training side by side
def train_side_by_side(steps: int, lr: float = 0.1, batch_size: int = 100, seed: int = 0) -> dict:
    """Train the dlscratch net and its PyTorch twin on the same batches with plain SGD.

    Returns ``loss_dl``, ``loss_torch`` (per step), ``first_diff`` (max |difference| of the
    first ``FIRST`` losses), ``all_diff``, ``weight_diff`` (largest weight difference at the
    end), ``acc_dl``, ``acc_torch`` (test accuracy), ``logit_diff`` and ``argmax_equal``
    (dlscratch's trained model exported to PyTorch, on the test set), ``reloaded_acc``
    (PyTorch's trained weights loaded back into a dlscratch model).
    """
    import torch
    from torch import nn

    from ..interop.torch import load_torch_state_dict, to_torch_state_dict

    (x_train, t_train), (x_test, t_test) = load_mnist(flatten=True, dataset="mnist-sample")
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
    weight_diff = max(float(np.abs(ours[k] - theirs[k]).max()) for k in ours)
    with torch.no_grad():
        acc_torch = float((model(torch.from_numpy(x_test)).argmax(1).numpy() == t_test).mean())
        # export the trained dlscratch model, compare predictions on the test set
        exported = torch_network(net)
        logits_torch = exported(torch.from_numpy(x_test)).numpy()
    logits_dl = net.forward(x_test)  # the scores (TwoLayerNet.predict gives softmax)
    back = build_network(rng=seed + 1)
    load_torch_state_dict(back, model.state_dict())  # and PyTorch's weights back
    return {
        "steps": steps, "lr": lr, "batch_size": batch_size, "seed": seed,
        "loss_dl": loss_dl, "loss_torch": loss_torch,
        "first_diff": float(np.abs(a[:FIRST] - b[:FIRST]).max()),
        "all_diff": float(np.abs(a - b).max()), "weight_diff": weight_diff,
        "acc_dl": float(net.accuracy(x_test, t_test)), "acc_torch": acc_torch,
        "logit_diff": float(np.abs(logits_dl - logits_torch).max()),
        "argmax_equal": int((logits_dl.argmax(1) == logits_torch.argmax(1)).sum()),
        "n_test": len(t_test),
        "reloaded_acc": float(back.accuracy(x_test, t_test)),
    }


# %% 그림 / The plot: two loss curves on top of each other, and their difference
def plot_losses(r: dict, path: str | os.PathLike):
    """Left: the loss per step of both (one line hides the other). Right: |difference|, log."""
    from ..plot._common import finish, new_figure

    fig = new_figure(False, figsize=(11, 4))
    ax_l, ax_d = fig.subplots(1, 2)
    steps = np.arange(1, r["steps"] + 1)
    a, b = np.array(r["loss_dl"]), np.array(r["loss_torch"])
    ax_l.plot(steps, a, color="tab:blue", lw=3, alpha=0.5, label="dlscratch (backward by hand)")
    ax_l.plot(steps, b, color="tab:red", lw=1, label="PyTorch (autograd)")
    ax_l.set(title="training loss, same weights and batches", xlabel="step", ylabel="loss")
    ax_l.legend()
    diff = np.abs(a - b)
    ax_d.semilogy(steps, np.where(diff > 0, diff, np.nan), ".", ms=3, color="k")
    ax_d.axhline(np.finfo(np.float32).eps, color="tab:gray", ls=":",
                 label="float32 machine epsilon")
    ax_d.set(title="|loss difference| (exact zeros not drawn)", xlabel="step",
             ylabel="|dlscratch - PyTorch|")
    ax_d.legend()
    for ax in (ax_l, ax_d):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return finish(fig, path, show=False)


# %% 실행 / Run
def check_fast(r: dict) -> None:
    """Fast mode's assertions (bounds far from the measured values; see MEASURED)."""
    assert r["first_diff"] < 1e-5, (
        f"the first {FIRST} losses of dlscratch and PyTorch differ by {r['first_diff']:.2e}; "
        "with the same weights and batches they must agree to float32 rounding (< 1e-5)")
    assert r["argmax_equal"] == r["n_test"], (
        f"only {r['argmax_equal']} of {r['n_test']} predictions of the exported model agree")
    assert r["logit_diff"] < 1e-4, f"exported logits differ by {r['logit_diff']:.2e} (> 1e-4)"
    assert abs(r["acc_dl"] - r["acc_torch"]) <= 2 / r["n_test"], (
        f"test accuracy dlscratch {r['acc_dl']} vs PyTorch {r['acc_torch']}")
    assert r["reloaded_acc"] == r["acc_torch"], (
        f"PyTorch's weights loaded into dlscratch score {r['reloaded_acc']}, PyTorch "
        f"{r['acc_torch']}")
    assert r["acc_dl"] > 0.8, f"test accuracy {r['acc_dl']} after {r['steps']} steps (< 0.8)"


def report(r: dict) -> str:
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
        f"test accuracy: dlscratch {r['acc_dl']:.4f}, PyTorch {r['acc_torch']:.4f}",
        f"exported dlscratch model in PyTorch: argmax equal on {r['argmax_equal']} of "
        f"{r['n_test']} test images, max |logit difference| {r['logit_diff']:.1e}",
        f"PyTorch's weights loaded back into dlscratch: test accuracy {r['reloaded_acc']:.4f}",
    ])


def main(argv: list[str] | None = None) -> dict | None:
    parser = argparse.ArgumentParser(prog="python -m dlscratch.lessons.torch_side_by_side",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for the plot (default: a new temporary folder)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print("lecture name -> dlscratch -> PyTorch (TwoLayerNet 784-100-10, ReLU)")
    print(format_table(name_table(build_network(rng=args.seed))))
    try:
        import torch  # noqa: F401
    except ImportError:
        print(f"\nPyTorch is not installed, so the side-by-side training is skipped. "
              f"Install it with:\n    {INSTALL}\n(the CPU build is enough), then run this "
              "lesson again.")
        return None
    fast = fast_mode()
    print(f"\n({'fast' if fast else 'normal'} mode)")
    r = train_side_by_side(STEPS_FAST if fast else STEPS_NORMAL, seed=args.seed)
    print(report(r))
    if fast:
        check_fast(r)
        print("fast-mode checks passed")
    out = args.out if args.out is not None else Path(tempfile.mkdtemp(prefix="dlscratch-torch-"))
    try:
        path = plot_losses(r, out / "torch_side_by_side.png") and out / "torch_side_by_side.png"
        print(f"wrote {path}")
    except ImportError as e:
        print(f"no plot: {e}")
    return r


if __name__ == "__main__":
    main()
