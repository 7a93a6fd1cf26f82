"""How fast dlscratch's CNNs train and infer, next to PyTorch (CPU) and the lecture's code.

    python benchmarks/bench_cnn.py                 # speed: SimpleConvNet and DeepConvNet
    python benchmarks/bench_cnn.py --rss           # + peak memory of a 60,000-image epoch
    python benchmarks/bench_cnn.py --accuracy      # + Fashion-MNIST accuracy runs (long)
    python benchmarks/bench_cnn.py --no-speed --accuracy deep   # only DeepConvNet's run
    python benchmarks/bench_cnn.py --profile       # + where the time of a training step goes

Speed is measured in the same process, in rounds that alternate the implementations (ours,
PyTorch, the lecture's float64 code), so that a machine that is busy for a while slows all of
them alike; each figure is the best round (and the median is printed too). Training: batch
100, Adam (lr 0.001), float32 (the lecture code: float64). Inference: 10,000 images, batches of
100. Threads: ``--threads`` (2 by default) for OpenBLAS and for PyTorch.

Data: Fashion-MNIST from /usr/share/datasets/fashion-mnist (``apt-get install -y
dataset-fashion-mnist``) or ``--data-dir``, or synthetic images when it is missing (speed does
not depend on the pixel values).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path


def _ratios(text: str):
    """'0.5' -> 0.5; '0.25,0' -> (0.25, 0.0)."""
    values = tuple(float(v) for v in text.split(","))
    return values[0] if len(values) == 1 else values


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5, help="alternating timing rounds")
    ap.add_argument("--steps", type=int, default=20, help="training steps per round (Simple)")
    ap.add_argument("--deep-steps", type=int, default=5, help="training steps per round (Deep)")
    ap.add_argument("--infer-images", type=int, default=10_000)
    ap.add_argument("--no-lecture", action="store_true", help="skip the float64 lecture code")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--models", default="simple,deep", help="speed runs: simple, deep or both")
    ap.add_argument("--rss", action="store_true", help="peak RSS of a 60,000-image epoch")
    ap.add_argument("--profile", action="store_true", help="cProfile one SimpleConvNet epoch")
    ap.add_argument("--accuracy", nargs="?", const="both", choices=["simple", "deep", "both"],
                    help="Fashion-MNIST accuracy runs (SimpleConvNet, DeepConvNet or both)")
    ap.add_argument("--no-speed", action="store_true", help="skip the speed measurements")
    ap.add_argument("--simple-epochs", type=int, default=5)
    ap.add_argument("--deep-epochs", type=int, default=10)
    ap.add_argument("--deep-dropout", type=_ratios, default=0.5,
                    help="DeepConvNet's dropout ratio in the accuracy run (the book: 0.5), or "
                         "two, 'hidden,output', for Dropout1 and Dropout2")
    ap.add_argument("--lr-decay", type=float, default=1.0,
                    help="multiply Adam's learning rate by this after every epoch (accuracy run)")
    ap.add_argument("--cosine", action="store_true",
                    help="accuracy run: cosine learning-rate schedule to 0 over all iterations")
    ap.add_argument("--hflip", action="store_true",
                    help="accuracy run: mirror each training image left-right with p = 0.5")
    ap.add_argument("--lr", type=float, default=1e-3, help="Adam's learning rate (accuracy run)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the accuracy run")
    ap.add_argument("--batch", type=int, default=100, help="batch size of the accuracy run")
    ap.add_argument("--accuracy-of", choices=["dlscratch", "torch"], default="dlscratch",
                    help="train our network or PyTorch's (same layers, its own init)")
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--rss-child", choices=["ours", "torch"], help=argparse.SUPPRESS)
    return ap.parse_args(argv)


ARGS = parse_args()
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)  # before NumPy is imported

import lecture_cnn  # noqa: E402  (beside this script: its folder is sys.path[0])
import numpy as np  # noqa: E402

from dlscratch.data import random_hflip  # noqa: E402
from dlscratch.lr_scheduler import CosineAnnealingLR  # noqa: E402
from dlscratch.models import DeepConvNet, SimpleConvNet  # noqa: E402
from dlscratch.optim import Adam  # noqa: E402

torch = None
if not ARGS.no_torch and ARGS.rss_child != "ours":  # (importing torch alone takes ~300 MB)
    try:
        import torch

        torch.set_num_threads(ARGS.threads)
    except ImportError:  # PyTorch is optional
        torch = None

BATCH = 100


# ----------------------------------------------------------------------------- data
def load_fashion():
    """((x_train, t_train), (x_test, t_test)) as float32 (N, 1, 28, 28) in [0, 1], or None."""
    from dlscratch.datasets import DatasetError, load_mnist

    try:
        return load_mnist(flatten=False, dataset="fashion-mnist", data_dir=ARGS.data_dir,
                          download=False)
    except (DatasetError, FileNotFoundError):
        return None


def synthetic(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, n)


# ----------------------------------------------------------------------------- trainers
class Ours:
    name = "dlscratch"

    def __init__(self, kind: str, dropout_ratio: float = 0.5, lr: float = 1e-3, seed: int = 0):
        self.net = (SimpleConvNet(rng=seed) if kind == "simple"
                    else DeepConvNet(dropout_ratio=dropout_ratio, rng=seed))
        self.opt = Adam(self.net.parameters(), lr=lr)

    def step(self, x, t):
        net = self.net
        net.train()
        net.zero_grad()
        net.loss(x, t)
        net.backward()
        self.opt.step()

    def infer(self, x):
        self.net.eval()
        for i in range(0, len(x), BATCH):
            self.net.predict(x[i:i + BATCH])

    def accuracy(self, x, t):
        return self.net.accuracy(x, t, batch_size=BATCH)


class Lecture:
    name = "lecture float64"

    def __init__(self, kind: str):
        assert kind == "simple"
        self.net = lecture_cnn.SimpleConvNet(rng=0)
        self.opt = lecture_cnn.Adam(lr=1e-3)

    def step(self, x, t):
        grads = self.net.gradient(x.astype(np.float64), t)
        self.opt.update(self.net.params, grads)

    def infer(self, x):
        for i in range(0, len(x), BATCH):
            self.net.predict(x[i:i + BATCH].astype(np.float64))


def torch_model(kind: str, dropout=(0.5, 0.5)):
    nn = torch.nn
    if kind == "simple":
        return nn.Sequential(nn.Conv2d(1, 30, 5), nn.ReLU(), nn.MaxPool2d(2, 2), nn.Flatten(),
                             nn.Linear(30 * 12 * 12, 100), nn.ReLU(), nn.Linear(100, 10))

    def conv(c_in, c_out, pad):
        return [nn.Conv2d(c_in, c_out, 3, padding=pad), nn.ReLU()]

    return nn.Sequential(
        *conv(1, 16, 1), *conv(16, 16, 1), nn.MaxPool2d(2),
        *conv(16, 32, 1), *conv(32, 32, 2), nn.MaxPool2d(2),
        *conv(32, 64, 1), *conv(64, 64, 1), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 4 * 4, 50), nn.ReLU(), nn.Dropout(dropout[0]),
        nn.Linear(50, 10), nn.Dropout(dropout[1]))


class Torch:
    name = "PyTorch"

    def __init__(self, kind: str, dropout_ratio=0.5, lr: float = 1e-3, seed: int = 0):
        torch.manual_seed(seed)
        ratios = dropout_ratio if isinstance(dropout_ratio, tuple) else (dropout_ratio,) * 2
        self.net = torch_model(kind, ratios)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=lr)
        self.loss = torch.nn.CrossEntropyLoss()

    def step(self, x, t):
        self.net.train()
        self.opt.zero_grad()
        loss = self.loss(self.net(torch.from_numpy(x)), torch.from_numpy(t))
        loss.backward()
        self.opt.step()

    def infer(self, x):
        self.net.eval()
        with torch.no_grad():
            for i in range(0, len(x), BATCH):
                self.net(torch.from_numpy(x[i:i + BATCH]))

    def accuracy(self, x, t):
        self.net.eval()
        with torch.no_grad():
            y = np.concatenate([self.net(torch.from_numpy(x[i:i + BATCH])).numpy()
                                for i in range(0, len(x), BATCH)])
        return float(np.mean(y.argmax(axis=1) == t))


# ----------------------------------------------------------------------------- timing
def time_rounds(impls, work, rounds):
    """Alternate impls for ``rounds`` rounds; returns {name: [seconds per round]}."""
    times = {impl.name: [] for impl in impls}
    for _ in range(rounds):
        for impl in impls:
            t0 = time.perf_counter()
            work(impl)
            times[impl.name].append(time.perf_counter() - t0)
    return times


def report(title, times, images_per_round, reference="PyTorch"):
    print(f"\n{title}")
    rates = {k: images_per_round / min(v) for k, v in times.items()}
    medians = {k: images_per_round / statistics.median(v) for k, v in times.items()}
    for k in times:
        line = f"  {k:16s} {rates[k]:9.0f} images/s (best round)   {medians[k]:9.0f} (median)"
        if reference in rates and k != reference:
            # also the median over rounds of (ours / reference) within the same round: the
            # machine's slow and fast spells then cancel
            paired = statistics.median(t_ref / t_k for t_ref, t_k in zip(times[reference], times[k]))
            line += f"   {rates[k] / rates[reference]:.2f}x {reference} (per round: {paired:.2f}x)"
        if "dlscratch" in rates and k not in ("dlscratch",):
            line += f"   dlscratch is {rates['dlscratch'] / rates[k]:.2f}x this"
        print(line)
    return rates


def bench_speed(kind: str, x, t):
    impls = [Ours(kind)]
    if torch is not None and not ARGS.no_torch:
        impls.append(Torch(kind))
    if kind == "simple" and not ARGS.no_lecture:
        impls.append(Lecture(kind))
    steps = ARGS.steps if kind == "simple" else ARGS.deep_steps
    n_batches = len(x) // BATCH

    def train(impl):
        for s in range(steps):
            i = (s % n_batches) * BATCH
            impl.step(x[i:i + BATCH], t[i:i + BATCH])

    for impl in impls:  # warm up (allocations, first-call costs)
        train(impl)
    label = "SimpleConvNet" if kind == "simple" else "DeepConvNet"
    report(f"{label} training (batch {BATCH}, Adam)",
           time_rounds(impls, train, ARGS.rounds), steps * BATCH)

    xi = x[:ARGS.infer_images] if len(x) >= ARGS.infer_images else np.resize(
        x, (ARGS.infer_images, *x.shape[1:]))
    report(f"{label} inference ({len(xi)} images, batches of {BATCH})",
           time_rounds(impls, lambda impl: impl.infer(xi), max(2, ARGS.rounds // 2)), len(xi))


# ----------------------------------------------------------------------------- memory
def rss_child(which: str) -> None:
    """Train SimpleConvNet for one epoch of 60,000 images; print peak RSS (VmHWM)."""
    data = load_fashion()
    (x, t) = data[0] if data else synthetic(60_000)
    impl = Ours("simple") if which == "ours" else Torch("simple")
    t0 = time.perf_counter()
    for i in range(0, len(x), BATCH):
        impl.step(x[i:i + BATCH], t[i:i + BATCH])
    seconds = time.perf_counter() - t0
    hwm = next(line for line in Path("/proc/self/status").read_text().splitlines()
               if line.startswith("VmHWM"))
    print(f"{which}: one epoch of {len(x)} images in {seconds:.1f} s; peak RSS {hwm.split()[1]} kB")


def bench_rss() -> None:
    print("\nPeak memory while training SimpleConvNet on 60,000 images (one epoch, fresh process)")
    for which in ["ours"] + (["torch"] if torch is not None and not ARGS.no_torch else []):
        cmd = [sys.executable, __file__, "--threads", str(ARGS.threads), "--rss-child", which]
        if ARGS.data_dir:
            cmd += ["--data-dir", str(ARGS.data_dir)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        print("  " + out.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- profile
def bench_profile(x, t) -> None:
    import cProfile
    import pstats

    impl = Ours("simple")
    impl.step(x[:BATCH], t[:BATCH])
    prof = cProfile.Profile()
    prof.enable()
    for i in range(0, min(len(x), 3000), BATCH):
        impl.step(x[i:i + BATCH], t[i:i + BATCH])
    prof.disable()
    print("\nProfile of 30 SimpleConvNet training steps (by own time)")
    pstats.Stats(prof).sort_stats("tottime").print_stats(12)


# ----------------------------------------------------------------------------- accuracy
def bench_accuracy() -> None:
    data = load_fashion()
    if data is None:
        print("\n--accuracy needs Fashion-MNIST: apt-get install -y dataset-fashion-mnist")
        return
    (x_train, t_train), (x_test, t_test) = data
    if ARGS.accuracy_of == "torch":
        if torch is None:
            raise SystemExit("--accuracy-of torch needs PyTorch: pip install torch==2.13.0 "
                             "(and no --no-torch)")
        if ARGS.lr_decay != 1.0:
            raise SystemExit("--lr-decay is for dlscratch's run; use --cosine")
    for kind, epochs, target in (("simple", ARGS.simple_epochs, 0.89),
                                 ("deep", ARGS.deep_epochs, 0.92)):
        if ARGS.accuracy not in (kind, "both"):
            continue
        maker = Torch if ARGS.accuracy_of == "torch" else Ours
        impl = maker(kind, dropout_ratio=ARGS.deep_dropout, lr=ARGS.lr, seed=ARGS.seed)
        rng = np.random.default_rng(ARGS.seed)
        iters = epochs * -(-len(x_train) // ARGS.batch)
        schedule = None
        if ARGS.cosine:
            cosine = (torch.optim.lr_scheduler.CosineAnnealingLR if ARGS.accuracy_of == "torch"
                      else CosineAnnealingLR)
            schedule = cosine(impl.opt, T_max=iters)
        label = "SimpleConvNet" if kind == "simple" else "DeepConvNet"
        label += " (PyTorch)" if ARGS.accuracy_of == "torch" else ""
        print(f"\n{label} on Fashion-MNIST, {epochs} epochs (target >= {target:.0%}); "
              f"dropout {ARGS.deep_dropout}, lr {ARGS.lr}, cosine {ARGS.cosine}, "
              f"hflip {ARGS.hflip}, batch {ARGS.batch}, seed {ARGS.seed}", flush=True)
        for epoch in range(1, epochs + 1):
            t0 = time.perf_counter()
            order = rng.permutation(len(x_train))
            for i in range(0, len(order), ARGS.batch):
                idx = order[i:i + ARGS.batch]
                x = random_hflip(x_train[idx], rng=rng) if ARGS.hflip else x_train[idx]
                impl.step(x, t_train[idx])
                if schedule is not None:
                    schedule.step()
            seconds = time.perf_counter() - t0
            acc = impl.accuracy(x_test, t_test)
            train_acc = impl.accuracy(x_train[:10_000], t_train[:10_000])
            lr = (impl.opt.param_groups[0]["lr"] if ARGS.accuracy_of == "torch"
                  else impl.opt.lr)
            print(f"  epoch {epoch:2d}: {seconds:6.1f} s, lr {lr:.2e}, "
                  f"test accuracy {acc:.4f} (train, first 10,000: {train_acc:.4f})", flush=True)
            if schedule is None and ARGS.lr_decay != 1.0:
                impl.opt.lr *= ARGS.lr_decay


def main() -> None:
    if ARGS.rss_child:
        rss_child(ARGS.rss_child)
        return
    print(f"threads: {ARGS.threads}; NumPy {np.__version__}; "
          f"PyTorch {torch.__version__ if torch is not None else 'not used'}")
    data = load_fashion()
    x, t = (data[0][0][:6000], data[0][1][:6000]) if data else synthetic(6000)
    if not ARGS.no_speed:
        for kind in ("simple", "deep"):
            if kind in ARGS.models.split(","):
                bench_speed(kind, x, t)
    if ARGS.profile:
        bench_profile(x, t)
    if ARGS.rss:
        bench_rss()
    if ARGS.accuracy:
        bench_accuracy()


if __name__ == "__main__":
    main()
