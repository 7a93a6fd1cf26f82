"""Transfer learning (전이학습) with a small ResNet: what a pretrained backbone is worth when the
new task has little data.

Lecture 001 ends with ResNet and transfer learning: "한 신경망 모델이 특정 작업에 대해 학습한
지식(특징)을 유사한 다른 작업에 적용하는 기법" - the features a network learned on one task are
reused for a similar task instead of learning from scratch. On the bundled mnist-sample (offline):

1. pretrain ``resnet_small`` on digits 0-4 (task A);
2. move its weights into a model with a NEW 5-class head for digits 5-9 (relabelled 0-4,
   task B), freeze the backbone (``model.freeze(); model.unfreeze("fc")``) and train only the
   head on a small budget of task-B images;
3. train the same architecture from scratch on the same small budget, for as many epochs as
   phases 2 and 4 together, with the pretraining recipe;
4. unfreeze everything and fine-tune the transferred model at a learning rate 10x lower than
   the new head's.

Run ``python -m dlscratch.lessons.transfer_learning [--out DIR] [--seed N]`` (about a minute
on 2 cores); with ``DLSCRATCH_FAST=1`` a smaller version runs in about 25 s and asserts its key
numbers. The plot goes to ``--out`` (default: a new temporary folder), never to the current
folder.

What happens (100 task-B images, :data:`MEASURED`, seeds 0-2): the frozen backbone with a new
head reaches 0.61-0.67 on digits 5-9 after 4 epochs; unfreezing everything adds about 0.2
(0.81-0.87 after 4 more); the same network from scratch, 8 epochs, ends at 0.58-0.77. So the
features learned on 0-4 are worth something for 5-9 but are not enough alone: fine-tuning them
is what wins. From scratch also starts slowly for a reason worth knowing: BatchNorm's running
statistics start at mean 0 / variance 1 and need many steps to settle (the first convolutions'
outputs have a variance near 0.01), so for the first epochs its eval-mode predictions collapse
towards one class; the transferred backbone brings settled ones.
작은 데이터로 처음부터 학습하면 특징도, BatchNorm의 running 통계도 아직 자리 잡지 못한다. 동결한
백본과 새 출력층만으로도 0.6 이상, 전체를 미세 조정하면 0.8 이상이 된다.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..datasets import load_mnist
from ..models import ResNet, resnet_small
from ..models.resnet import torch_name
from ..trainer import Trainer

#: Test accuracy on task B (digits 5-9) as measured on 2 December 2026, per seed.
MEASURED = {
    "fast": {  # 2,000 task-A images, 100 task-B images, 300 test images; ~25 s
        0: {"transfer": 0.593, "scratch": 0.377, "finetuned": 0.817},
        1: {"transfer": 0.587, "scratch": 0.520, "finetuned": 0.720},
        2: {"transfer": 0.680, "scratch": 0.547, "finetuned": 0.727},
    },
    "normal": {  # 4,103 task-A images, 100 task-B images, all 964 task-B test images; ~1 min
        0: {"transfer": 0.666, "scratch": 0.772, "finetuned": 0.865},
        1: {"transfer": 0.605, "scratch": 0.580, "finetuned": 0.846},
        2: {"transfer": 0.627, "scratch": 0.663, "finetuned": 0.811},
    },
}
#: What fast mode asserts, with room below every measured seed.
FAST_MIN_MARGIN = 0.10  # transfer + fine-tuning beats from scratch (same epochs) by this much
FAST_MIN_TRANSFER = 0.45  # the frozen backbone with a new head reaches this (chance: 0.20)


# %% 설정 / Settings
@dataclass(frozen=True)
class Budget:
    """How much data and how many epochs each phase gets (batches of ``batch_size``, Adam)."""

    n_pretrain: int  # task-A (digits 0-4) training images
    pretrain_epochs: int
    n_small: int  # task-B (digits 5-9) training images: the small budget
    head_epochs: int  # phase 2: frozen backbone, only the new head learns
    full_epochs: int  # phase 4: everything unfrozen, lower learning rate
    n_test: int | None  # task-B test images (None: all 964 of mnist-sample)
    n_eval: int | None  # pretraining: images per epoch for its train and test accuracy
    batch_pretrain: int = 50
    batch_small: int = 25  # small batches: enough steps for BatchNorm's running statistics
    lr_pretrain: float = 1e-3  # also the from-scratch recipe
    lr_head: float = 1e-2  # a fresh linear head on fixed features can take bigger steps
    lr_full: float = 1e-3  # fine-tuning everything: 10x smaller steps than the new head's


NORMAL = Budget(n_pretrain=4103, pretrain_epochs=2, n_small=100, head_epochs=4, full_epochs=4,
                n_test=None, n_eval=500, batch_small=10)
FAST = Budget(n_pretrain=2000, pretrain_epochs=2, n_small=100, head_epochs=3, full_epochs=3,
              n_test=300, n_eval=200, batch_pretrain=25, batch_small=10)


def fast_mode() -> bool:
    """``DLSCRATCH_FAST=1``: the short version that asserts its key numbers."""
    return os.environ.get("DLSCRATCH_FAST", "") not in ("", "0")


# %% 두 개의 작업 / Two tasks from one data set
def split_tasks(budget: Budget) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Task A = digits 0-4 (labels 0-4); task B = digits 5-9 relabelled 0-4 (digit - 5).

    Returns ``{"A_train", "A_test", "B_small", "B_test"}`` -> ``(x (N, 1, 28, 28) float32,
    t (N,) int)``. ``B_small`` is the first ``n_small`` task-B training images: a fixed budget.
    """
    (x_train, t_train), (x_test, t_test) = load_mnist(flatten=False, dataset="mnist-sample")
    a_tr, a_te = t_train < 5, t_test < 5
    b_tr, b_te = ~a_tr, ~a_te
    n_a, n_b, n_test = budget.n_pretrain, budget.n_small, budget.n_test
    return {
        "A_train": (x_train[a_tr][:n_a], t_train[a_tr][:n_a]),
        "A_test": (x_test[a_te], t_test[a_te]),
        "B_small": (x_train[b_tr][:n_b], t_train[b_tr][:n_b] - 5),
        "B_test": (x_test[b_te][:n_test], t_test[b_te][:n_test] - 5),
    }


def train(model: ResNet, train_set, test_set, epochs: int, lr: float, batch_size: int,
          seed: int, n_eval: int | None = None) -> list[float]:
    """Adam at ``lr`` for ``epochs`` epochs; returns the test accuracy after each epoch
    (on the first ``n_eval`` test images when given)."""
    trainer = Trainer(model, *train_set, *test_set, epochs=epochs, mini_batch_size=batch_size,
                      optimizer="Adam", optimizer_param={"lr": lr},
                      evaluate_sample_num_per_epoch=n_eval, verbose=False, rng=seed)
    return [float(a) for a in trainer.fit().history["test_acc"]]


# %% 1. 사전학습 / Pretraining on digits 0-4
def pretrain(data, budget: Budget, seed: int = 0) -> tuple[ResNet, list[float]]:
    """``resnet_small`` (5 classes) trained on task A; the model and its test accuracies."""
    model = resnet_small(num_classes=5, rng=seed)
    acc = train(model, data["A_train"], data["A_test"], budget.pretrain_epochs,
                budget.lr_pretrain, budget.batch_pretrain, seed, budget.n_eval)
    return model, acc


# %% 2. 가중치 옮기기, 백본 동결 / Move the weights, freeze the backbone
# The new task has other classes, so the head (fc) is new: the pretrained fc scores digits 0-4.
# 새 작업은 클래스가 다르므로 출력층(fc)은 새로 만들고, 나머지(백본)의 가중치만 옮긴다.
def transfer(pretrained: ResNet, seed: int = 0) -> tuple[ResNet, list[str]]:
    """A new 5-class ``resnet_small`` holding every pretrained array except ``fc``, with the
    backbone frozen. Returns the model and the keys not copied (the new head's)."""
    model = resnet_small(num_classes=5, rng=seed + 1)
    backbone = {k: v for k, v in pretrained.state_dict().items() if not k.startswith("fc.")}
    missing, unexpected = model.load_state_dict(backbone, strict=False)
    if unexpected:
        raise RuntimeError(f"transfer: unexpected keys {unexpected}")
    # Freeze everything, then let the head learn (PyTorch: backbone.requires_grad_(False)).
    # 동결된 파라미터는 기울기를 계산하지 않고, 옵티마이저도 건너뛴다.
    model.freeze()
    model.unfreeze("fc")
    return model, missing


def snapshot(model: ResNet) -> dict[str, np.ndarray]:
    """Copies of every parameter (torchvision names) and BatchNorm running statistic."""
    out = {torch_name(k): p.data.copy() for k, p in model.named_parameters()}
    out.update((torch_name(k), np.array(v, copy=True)) for k, v in model.named_buffers())
    return out


def changed(before: dict[str, np.ndarray], model: ResNet) -> dict[str, bool]:
    """For each array of ``before``: did it change at all (not bit-identical any more)?"""
    now = snapshot(model)
    return {k: not np.array_equal(v, now[k]) for k, v in before.items()}


# %% 3-4. 처음부터 vs 전이 / From scratch vs transferred, then unfreeze
def run(budget: Budget | None = None, seed: int = 0) -> dict:
    """The whole experiment; returns every number the lesson prints.

    Keys: ``pretrain_acc`` (task-A test accuracy per epoch), ``head_acc``, ``full_acc``
    (transferred model, task-B test accuracy per epoch of phases 2 and 4), ``scratch_acc``
    (from scratch, per epoch, ``head_epochs + full_epochs`` of them), ``transfer``,
    ``scratch``, ``finetuned`` (the final accuracies), ``not_copied`` (keys of the new head),
    ``frozen_params`` / ``frozen_changed`` (backbone parameters / how many changed in phase 2),
    ``head_changed``, ``running_stats`` / ``running_stats_changed`` (BatchNorm buffers),
    ``trainable_phase2`` / ``total_params`` (numbers of values), ``seconds`` per phase.
    """
    budget = budget or (FAST if fast_mode() else NORMAL)
    data = split_tasks(budget)
    seconds = {}
    t0 = time.perf_counter()
    pretrained, pretrain_acc = pretrain(data, budget, seed)
    seconds["pretrain"] = time.perf_counter() - t0

    model, not_copied = transfer(pretrained, seed)
    trainable = sum(p.data.size for p in model.parameters() if p.requires_grad)
    before = snapshot(model)
    t0 = time.perf_counter()
    head_acc = train(model, data["B_small"], data["B_test"], budget.head_epochs, budget.lr_head,
                     budget.batch_small, seed)
    seconds["head"] = time.perf_counter() - t0
    # The frozen parameters are bit-identical after phase 2, but BatchNorm's running mean and
    # variance are buffers, not parameters: in train mode they follow the new data (PyTorch
    # does the same unless the backbone is put in eval mode).
    # 동결해도 BatchNorm의 running 통계(버퍼)는 학습 모드에서 새 데이터를 따라 바뀐다.
    diff = changed(before, model)
    params = {torch_name(k) for k, _ in model.named_parameters()}
    frozen = [k for k in diff if k in params and not k.startswith("fc.")]
    stats = [k for k in diff if k not in params]

    model.unfreeze()  # phase 4: every parameter learns again, with small steps
    t0 = time.perf_counter()
    full_acc = train(model, data["B_small"], data["B_test"], budget.full_epochs,
                     budget.lr_full, budget.batch_small, seed)
    seconds["full"] = time.perf_counter() - t0

    scratch = resnet_small(num_classes=5, rng=seed + 1)
    t0 = time.perf_counter()
    scratch_acc = train(scratch, data["B_small"], data["B_test"],
                        budget.head_epochs + budget.full_epochs, budget.lr_pretrain,
                        budget.batch_small, seed)
    seconds["scratch"] = time.perf_counter() - t0
    return {
        "seed": seed, "budget": budget, "n_test": len(data["B_test"][1]),
        "pretrain_acc": pretrain_acc, "head_acc": head_acc, "full_acc": full_acc,
        "scratch_acc": scratch_acc,
        "transfer": head_acc[-1], "finetuned": full_acc[-1], "scratch": scratch_acc[-1],
        "not_copied": list(not_copied),
        "frozen_params": len(frozen), "frozen_changed": sum(diff[k] for k in frozen),
        "head_changed": all(diff[k] for k in ("fc.weight", "fc.bias")),
        "running_stats": len(stats), "running_stats_changed": sum(diff[k] for k in stats),
        "trainable_phase2": trainable, "total_params": model.num_parameters(),
        "seconds": seconds,
    }


# %% 그림 / The plot: three phases in one figure
def plot_phases(result: dict, path: str | os.PathLike):
    """Left: pretraining (task A). Right: task-B test accuracy per epoch of the three runs."""
    from ..plot._common import finish, new_figure

    fig = new_figure(False, figsize=(11, 4.8))
    ax_a, ax_b = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 2]})
    pre = result["pretrain_acc"]
    ax_a.plot(range(1, len(pre) + 1), pre, "o-", color="tab:gray")
    ax_a.set(title="1. pretraining on digits 0-4", xlabel="epoch",
             ylabel="test accuracy (digits 0-4)", ylim=(0, 1.02))
    h, f, s = result["head_acc"], result["full_acc"], result["scratch_acc"]
    b = result["budget"]
    ax_b.plot(range(1, len(s) + 1), s, "s-", color="tab:red",
              label=f"from scratch (all layers, lr {b.lr_pretrain:g})")
    ax_b.plot(range(1, len(h) + 1), h, "o-", color="tab:blue",
              label=f"transfer: backbone frozen, new head (lr {b.lr_head:g})")
    ax_b.plot(range(len(h), len(h) + len(f) + 1), [h[-1], *f], "^-", color="tab:green",
              label=f"transfer: all unfrozen (lr {b.lr_full:g})")
    ax_b.axvline(len(h) + 0.5, color="k", ls=":", lw=1)
    ax_b.set(title=f"2-4. digits 5-9 with {b.n_small} training images (seed {result['seed']})",
             xlabel="epoch", ylabel=f"test accuracy (digits 5-9, {result['n_test']} images)",
             ylim=(0, 1.02))
    ax_b.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize="small")
    from matplotlib.ticker import MaxNLocator

    for ax in (ax_a, ax_b):
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # whole epochs
    fig.tight_layout()
    return finish(fig, path, show=False)


# %% 실행 / Run
def check_fast(result: dict) -> None:
    """Fast mode's assertions: what held for every measured seed, with room to spare."""
    assert result["frozen_changed"] == 0, (
        f"{result['frozen_changed']} of {result['frozen_params']} frozen backbone parameters "
        "changed while the backbone was frozen; freeze() must keep them bit-identical")
    assert result["head_changed"], "the new head (fc) did not learn during the frozen phase"
    assert result["not_copied"] == ["fc.weight", "fc.bias"], result["not_copied"]
    assert result["transfer"] >= FAST_MIN_TRANSFER, (
        f"transfer with a frozen backbone reached only {result['transfer']:.3f} "
        f"(expected >= {FAST_MIN_TRANSFER})")
    margin = result["finetuned"] - result["scratch"]
    assert margin >= FAST_MIN_MARGIN, (
        f"transfer + fine-tuning ({result['finetuned']:.3f}) should beat training from scratch "
        f"({result['scratch']:.3f}) by >= {FAST_MIN_MARGIN}, got {margin:+.3f}")


def report(result: dict) -> str:
    """The numbers, as the lesson prints them."""
    b = result["budget"]
    sec = result["seconds"]
    lines = [
        f"seed {result['seed']}; task A: {b.n_pretrain} images of digits 0-4; task B: "
        f"{b.n_small} images of digits 5-9, tested on {result['n_test']}",
        "pretraining test accuracy (digits 0-4) per epoch: "
        + " ".join(f"{a:.3f}" for a in result["pretrain_acc"]),
        f"not copied (the new head): {', '.join(result['not_copied'])}",
        f"trainable while frozen: {result['trainable_phase2']:,} of "
        f"{result['total_params']:,} values",
        f"frozen backbone parameters changed: {result['frozen_changed']} of "
        f"{result['frozen_params']} (bit-identical: {result['frozen_changed'] == 0})",
        f"BatchNorm running statistics changed: {result['running_stats_changed']} of "
        f"{result['running_stats']} (buffers, not parameters: train mode follows the new data)",
        "head only, per epoch:   " + " ".join(f"{a:.3f}" for a in result["head_acc"]),
        "all unfrozen, per epoch: " + " ".join(f"{a:.3f}" for a in result["full_acc"]),
        "from scratch, per epoch: " + " ".join(f"{a:.3f}" for a in result["scratch_acc"]),
        f"test accuracy transfer (frozen backbone): {result['transfer']:.3f}",
        f"test accuracy from scratch:               {result['scratch']:.3f}",
        f"test accuracy transfer + fine-tuning:     {result['finetuned']:.3f}",
        f"seconds: pretrain {sec['pretrain']:.1f}, head {sec['head']:.1f}, "
        f"all unfrozen {sec['full']:.1f}, scratch {sec['scratch']:.1f}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m dlscratch.lessons.transfer_learning",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for the plot (default: a new temporary folder)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = args.out if args.out is not None else Path(tempfile.mkdtemp(prefix="dlscratch-tl-"))
    fast = fast_mode()
    print(f"transfer learning with resnet_small ({'fast' if fast else 'normal'} mode)")
    result = run(FAST if fast else NORMAL, seed=args.seed)
    print(report(result))
    if fast:
        check_fast(result)
        print("fast-mode checks passed")
    written = []
    try:
        path = out / "transfer_learning.png"
        plot_phases(result, path)
        written.append(path)
    except ImportError as e:
        print(f"no plot: {e}")
    for path in written:
        print(f"wrote {path}")
    return result


if __name__ == "__main__":
    main()
