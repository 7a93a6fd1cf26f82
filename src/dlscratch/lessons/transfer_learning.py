# %% [markdown]
# # 전이학습 — Transfer learning with a small ResNet
#
# Lecture 001 ends with ResNet and transfer learning: "한 신경망 모델이 특정 작업에 대해 학습한
# 지식(특징)을 유사한 다른 작업에 적용하는 기법" - the features a network learned on one task are
# reused for a similar task instead of learning from scratch. On the bundled mnist-sample
# (offline):
#
# 1. pretrain ``resnet_small`` on digits 0-4 (task A);
# 2. move its weights into a model with a NEW 5-class head for digits 5-9 (relabelled 0-4,
#    task B), freeze the backbone (``model.freeze(); model.unfreeze("fc")``) and train only the
#    head on a small budget of task-B images;
# 3. train the same architecture from scratch on the same small budget, for as many epochs as
#    phases 2 and 4 together, with the pretraining recipe;
# 4. unfreeze everything and fine-tune the transferred model at a learning rate 10x lower than
#    the new head's.
#
# What happens (100 task-B images, ``MEASURED``, seeds 0-2): the frozen backbone with a new
# head reaches 0.60-0.67 on digits 5-9 after 4 epochs; unfreezing everything adds about 0.2
# (0.83-0.86 after 4 more); the same network from scratch, 8 epochs, ends at 0.59-0.76. So the
# features learned on 0-4 are worth something for 5-9 but are not enough alone: fine-tuning them
# is what wins. From scratch also starts slowly for a reason worth knowing: BatchNorm's running
# statistics start at mean 0 / variance 1 and need many steps to settle (the first convolutions'
# outputs have a variance near 0.01), so for the first epochs its eval-mode predictions collapse
# towards one class; the transferred backbone brings settled ones.
#
# 작은 데이터로 처음부터 학습하면 특징도, BatchNorm의 running 통계도 아직 자리 잡지 못한다. 동결한
# 백본과 새 출력층만으로도 0.6 이상, 전체를 미세 조정하면 0.8 이상이 된다.
#
# Run: ``python -m dlscratch.lessons.transfer_learning [--out DIR] [--lang ko|en] [--seed N]``
# (about a minute on 2 cores); ``DLSCRATCH_FAST=1`` for a smaller version (about 25 s). Each
# phase checks its key numbers where it runs (``expect``).

# %%
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..datasets import load_mnist
from ..models import ResNet, resnet_small
from ..models.resnet import torch_name
from ..plot.fonts import pick
from ..trainer import Trainer
from ._common import expect, start

#: Test accuracy on task B (digits 5-9) as measured on 2 December 2026, per seed.
MEASURED = {
    "fast": {  # 2,000 task-A images, 100 task-B images, 300 test images; ~25 s
        0: {"transfer": 0.590, "scratch": 0.367, "finetuned": 0.787},
        1: {"transfer": 0.583, "scratch": 0.523, "finetuned": 0.740},
        2: {"transfer": 0.670, "scratch": 0.563, "finetuned": 0.767},
    },
    "normal": {  # 4,103 task-A images, 100 task-B images, all 964 task-B test images; ~1 min
        0: {"transfer": 0.666, "scratch": 0.760, "finetuned": 0.864},
        1: {"transfer": 0.603, "scratch": 0.589, "finetuned": 0.840},
        2: {"transfer": 0.626, "scratch": 0.662, "finetuned": 0.826},
    },
}
#: What each mode checks, with room below every measured seed: the frozen backbone with a new
#: head reaches ``min_transfer`` (chance: 0.20); transfer + fine-tuning beats from scratch (same
#: epochs) by ``min_margin`` (measured: fast +0.20 to +0.42, normal +0.10 to +0.25).
CHECKS = {"fast": {"min_transfer": 0.45, "min_margin": 0.10},
          "normal": {"min_transfer": 0.45, "min_margin": 0.03}}


def seed_option(parser) -> None:
    """The lesson's own option: ``--seed N`` (default 0) for every random choice."""
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of every random choice (data, weights, batches; default 0)")


# %%
if __name__ == "__main__":
    lesson = start("transfer_learning", "Transfer learning with a small ResNet: pretrain on "
                   "digits 0-4, freeze, fine-tune on 100 images of 5-9", options=seed_option)
    seed = lesson.args.seed

# %% [markdown]
# ## 설정 — Settings


# %%
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


# %%
if __name__ == "__main__":
    mode = "fast" if lesson.fast else "normal"
    budget = FAST if lesson.fast else NORMAL
    checks = CHECKS[mode]
    print(f"transfer learning with resnet_small ({mode} mode), seed {seed}")
    print(budget)

# %% [markdown]
# ## 두 개의 작업 — Two tasks from one data set


# %%
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


# %%
if __name__ == "__main__":
    data = split_tasks(budget)
    for key, (x, t) in data.items():
        print(f"{key:8s} x {x.shape}, labels {sorted(set(t.tolist()))}")
    n_test = len(data["B_test"][1])
    expect(len(data["B_small"][1]) == budget.n_small
           and set(data["B_small"][1].tolist()) <= set(range(5)),
           f"task B should have {budget.n_small} training images labelled 0-4 (digit - 5)")

# %% [markdown]
# ## 1. 사전학습 — Pretraining on digits 0-4


# %%
def pretrain(data, budget: Budget, seed: int = 0) -> tuple[ResNet, list[float]]:
    """``resnet_small`` (5 classes) trained on task A; the model and its test accuracies."""
    model = resnet_small(num_classes=5, rng=seed)
    acc = train(model, data["A_train"], data["A_test"], budget.pretrain_epochs,
                budget.lr_pretrain, budget.batch_pretrain, seed, budget.n_eval)
    return model, acc


# %%
if __name__ == "__main__":
    seconds = {}
    t0 = time.perf_counter()
    pretrained, pretrain_acc = pretrain(data, budget, seed)
    seconds["pretrain"] = time.perf_counter() - t0
    print("pretraining test accuracy (digits 0-4) per epoch: "
          + " ".join(f"{a:.3f}" for a in pretrain_acc) + f" ({seconds['pretrain']:.1f} s)")
    expect(pretrain_acc[-1] > 0.8,
           f"pretraining on digits 0-4 should pass 0.8 test accuracy; got {pretrain_acc[-1]:.3f}")

# %% [markdown]
# ## 2. 가중치 옮기기, 백본 동결 — Move the weights, freeze the backbone
#
# The new task has other classes, so the head (fc) is new: the pretrained fc scores digits 0-4.
# 새 작업은 클래스가 다르므로 출력층(fc)은 새로 만들고, 나머지(백본)의 가중치만 옮긴다.


# %%
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


def changed(before: dict[str, np.ndarray], model: ResNet) -> dict[str, int | bool]:
    """What changed since ``before`` (a :func:`snapshot`): ``frozen_params`` /
    ``frozen_changed`` (backbone parameters / how many are no longer bit-identical),
    ``head_changed`` (both fc arrays changed), ``running_stats`` / ``running_stats_changed``
    (BatchNorm buffers)."""
    now = snapshot(model)
    diff = {k: not np.array_equal(v, now[k]) for k, v in before.items()}
    params = {torch_name(k) for k, _ in model.named_parameters()}
    frozen = [k for k in diff if k in params and not k.startswith("fc.")]
    stats = [k for k in diff if k not in params]
    return {"frozen_params": len(frozen), "frozen_changed": sum(diff[k] for k in frozen),
            "head_changed": all(diff[k] for k in ("fc.weight", "fc.bias")),
            "running_stats": len(stats), "running_stats_changed": sum(diff[k] for k in stats)}


# %%
if __name__ == "__main__":
    model, not_copied = transfer(pretrained, seed)
    trainable = sum(p.data.size for p in model.parameters() if p.requires_grad)
    total_params = model.num_parameters()
    print(f"not copied (the new head): {', '.join(not_copied)}")
    print(f"trainable while frozen: {trainable:,} of {total_params:,} values")
    before = snapshot(model)
    t0 = time.perf_counter()
    head_acc = train(model, data["B_small"], data["B_test"], budget.head_epochs, budget.lr_head,
                     budget.batch_small, seed)
    seconds["head"] = time.perf_counter() - t0
    # The frozen parameters are bit-identical after this phase, but BatchNorm's running mean and
    # variance are buffers, not parameters: in train mode they follow the new data (PyTorch
    # does the same unless the backbone is put in eval mode).
    # 동결해도 BatchNorm의 running 통계(버퍼)는 학습 모드에서 새 데이터를 따라 바뀐다.
    diff = changed(before, model)
    print(f"frozen backbone parameters changed: {diff['frozen_changed']} of "
          f"{diff['frozen_params']} (bit-identical: {diff['frozen_changed'] == 0})")
    print(f"BatchNorm running statistics changed: {diff['running_stats_changed']} of "
          f"{diff['running_stats']} (buffers, not parameters: train mode follows the new data)")
    print("head only, per epoch:   " + " ".join(f"{a:.3f}" for a in head_acc))
    print(f"test accuracy transfer (frozen backbone): {head_acc[-1]:.3f}")
    expect(not_copied == ["fc.weight", "fc.bias"],
           f"only the new head should be left out of the transfer; not copied: {not_copied}")
    expect(diff["frozen_changed"] == 0,
           f"{diff['frozen_changed']} of {diff['frozen_params']} frozen backbone parameters "
           "changed while the backbone was frozen; freeze() must keep them bit-identical")
    expect(diff["head_changed"], "the new head (fc) did not learn during the frozen phase")
    expect(head_acc[-1] >= checks["min_transfer"],
           f"transfer with a frozen backbone reached only {head_acc[-1]:.3f} "
           f"(expected >= {checks['min_transfer']}; chance is 0.20)")

# %% [markdown]
# ## 3. 처음부터 — The same network from scratch
#
# The same architecture and the same 100 images, as many epochs as phases 2 and 4 together, with
# the pretraining recipe.

# %%
if __name__ == "__main__":
    scratch = resnet_small(num_classes=5, rng=seed + 1)
    t0 = time.perf_counter()
    scratch_acc = train(scratch, data["B_small"], data["B_test"],
                        budget.head_epochs + budget.full_epochs, budget.lr_pretrain,
                        budget.batch_small, seed)
    seconds["scratch"] = time.perf_counter() - t0
    print("from scratch, per epoch: " + " ".join(f"{a:.3f}" for a in scratch_acc))
    print(f"test accuracy from scratch:               {scratch_acc[-1]:.3f}")
    expect(len(scratch_acc) == budget.head_epochs + budget.full_epochs,
           "from scratch should train as many epochs as phases 2 and 4 together")

# %% [markdown]
# ## 4. 미세 조정 — Unfreeze everything and fine-tune
#
# Every parameter learns again, with 10x smaller steps than the new head's.

# %%
if __name__ == "__main__":
    model.unfreeze()
    t0 = time.perf_counter()
    full_acc = train(model, data["B_small"], data["B_test"], budget.full_epochs,
                     budget.lr_full, budget.batch_small, seed)
    seconds["full"] = time.perf_counter() - t0
    print("all unfrozen, per epoch: " + " ".join(f"{a:.3f}" for a in full_acc))
    print(f"test accuracy transfer + fine-tuning:     {full_acc[-1]:.3f}")
    margin = full_acc[-1] - scratch_acc[-1]
    print(f"transfer + fine-tuning minus from scratch: {margin:+.3f}")
    expect(margin >= checks["min_margin"],
           f"transfer + fine-tuning ({full_acc[-1]:.3f}) should beat training from scratch "
           f"({scratch_acc[-1]:.3f}) by >= {checks['min_margin']}, got {margin:+.3f}")

# %% [markdown]
# ## 그림 — The plot: three phases in one figure


# %%
def plot_phases(result: dict, lang: str = "en", path=None):
    """Left: pretraining (task A). Right: task-B test accuracy per epoch of the three runs.

    ``result`` holds ``pretrain_acc``, ``head_acc``, ``full_acc``, ``scratch_acc``,
    ``budget``, ``seed``, ``n_test``; ``lang`` is "en" or "ko" (already resolved). Returns the
    figure (a PNG at ``path`` when given)."""
    from matplotlib.ticker import MaxNLocator

    from ..plot._common import finish, new_figure

    fig = new_figure(False, figsize=(11, 4.8))
    ax_a, ax_b = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 2]})
    pre = result["pretrain_acc"]
    epoch = pick(lang, "epoch", "에폭")
    ax_a.plot(range(1, len(pre) + 1), pre, "o-", color="tab:gray")
    ax_a.set(title=pick(lang, "1. pretraining on digits 0-4", "1. 숫자 0-4로 사전학습"),
             xlabel=epoch, ylabel=pick(lang, "test accuracy (digits 0-4)",
                                       "테스트 정확도 (숫자 0-4)"), ylim=(0, 1.02))
    h, f, s = result["head_acc"], result["full_acc"], result["scratch_acc"]
    b = result["budget"]
    ax_b.plot(range(1, len(s) + 1), s, "s-", color="tab:red",
              label=pick(lang, f"from scratch (all layers, lr {b.lr_pretrain:g})",
                         f"처음부터 (모든 층, 학습률 {b.lr_pretrain:g})"))
    ax_b.plot(range(1, len(h) + 1), h, "o-", color="tab:blue",
              label=pick(lang, f"transfer: backbone frozen, new head (lr {b.lr_head:g})",
                         f"전이: 백본 동결, 새 출력층 (학습률 {b.lr_head:g})"))
    ax_b.plot(range(len(h), len(h) + len(f) + 1), [h[-1], *f], "^-", color="tab:green",
              label=pick(lang, f"transfer: all unfrozen (lr {b.lr_full:g})",
                         f"전이: 전체 동결 해제 (학습률 {b.lr_full:g})"))
    ax_b.axvline(len(h) + 0.5, color="k", ls=":", lw=1)
    ax_b.set(title=pick(lang, f"2-4. digits 5-9 with {b.n_small} training images "
                              f"(seed {result['seed']})",
                        f"2-4. 학습 이미지 {b.n_small}장으로 숫자 5-9 (시드 {result['seed']})"),
             xlabel=epoch,
             ylabel=pick(lang, f"test accuracy (digits 5-9, {result['n_test']} images)",
                         f"테스트 정확도 (숫자 5-9, {result['n_test']}장)"),
             ylim=(0, 1.02))
    ax_b.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize="small")
    for ax in (ax_a, ax_b):
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # whole epochs
    fig.tight_layout()
    return finish(fig, path, show=False)


# %%
if __name__ == "__main__":
    result = {"seed": seed, "budget": budget, "n_test": n_test, "pretrain_acc": pretrain_acc,
              "head_acc": head_acc, "full_acc": full_acc, "scratch_acc": scratch_acc}
    fig_phases = plot_phases(result, lesson.lang)
    lesson.save(fig_phases, "transfer_learning.png")

# %% [markdown]
# ## 정리 — Summary

# %%
if __name__ == "__main__":
    print(f"seed {seed}; task A: {budget.n_pretrain} images of digits 0-4; task B: "
          f"{budget.n_small} images of digits 5-9, tested on {n_test}")
    print(f"test accuracy transfer (frozen backbone) {head_acc[-1]:.3f}, from scratch "
          f"{scratch_acc[-1]:.3f}, transfer + fine-tuning {full_acc[-1]:.3f}")
    print(f"seconds: pretrain {seconds['pretrain']:.1f}, head {seconds['head']:.1f}, "
          f"all unfrozen {seconds['full']:.1f}, scratch {seconds['scratch']:.1f}")
    print(lesson.outputs.listing())
