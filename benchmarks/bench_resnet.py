"""How fast dlscratch's ResNets run, next to the same network in torch.nn on the CPU.

    python benchmarks/bench_resnet.py               # speed: ResNet-50 inference, small-ResNet training
    python benchmarks/bench_resnet.py --memory      # + peak RSS of each, in fresh processes
    python benchmarks/bench_resnet.py --profile     # + where dlscratch's time goes (cProfile)
    python benchmarks/bench_resnet.py --mnist-epoch # + one training epoch on the MNIST sample

ResNet-50 inference: batch 8 of 224x224x3 float32 images, eval mode. Small-ResNet training:
``resnet_small()`` (3x3 stem, BasicBlock stages of 16, 32, 64 channels) on batches of 100
28x28 images, Adam (lr 0.001), float32. The torch.nn reference is torchvision's layout written
out below (torchvision does not import beside the CPU torch here) and is given dlscratch's
weights, so both compute the same function (checked before timing).

Speed is measured in rounds that alternate the two implementations, so that a machine that is
busy for a while slows both alike; the figure that counts is the per-round ratio
(torch seconds / dlscratch seconds within one round), printed as median and range. Threads:
``--threads`` (2 by default) for OpenBLAS (set before NumPy is imported) and for torch.
Peak memory: a fresh process per implementation and task (imports, the model, the data and one
round of the work) reports its peak resident size: ``VmHWM`` of /proc/self/status, which starts
afresh at exec, and ``resource.getrusage(RUSAGE_SELF).ru_maxrss``, which Linux carries over
from the parent through fork and exec (so it is at least the parent's size at the fork; the
memory measurements therefore run first, while this process is small).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ours-threads", type=int, default=1,
                    help="dlscratch's net.set_num_threads for the small ResNet's training")
    ap.add_argument("--ours-processes", action="store_true",
                    help="with --ours-threads N: the parts after the first in worker processes")
    ap.add_argument("--rounds", type=int, default=3, help="alternating timing rounds")
    ap.add_argument("--infer-batches", type=int, default=1,
                    help="ResNet-50 batches of 8 per round")
    ap.add_argument("--train-steps", type=int, default=5, help="small-ResNet steps per round")
    ap.add_argument("--tasks", default="infer50,train-small",
                    help="comma-separated: infer50, train-small")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--memory", action="store_true", help="peak RSS, one fresh process each")
    ap.add_argument("--no-speed", action="store_true", help="skip the timed rounds")
    ap.add_argument("--profile", action="store_true", help="cProfile dlscratch's work")
    ap.add_argument("--mnist-epoch", action="store_true",
                    help="train resnet_small for one epoch on the 8,000-image MNIST sample")
    ap.add_argument("--child", help=argparse.SUPPRESS)  # "ours:infer50", "torch:train-small"
    return ap.parse_args(argv)


ARGS = parse_args()
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)  # before NumPy is imported

import resource  # noqa: E402

import numpy as np  # noqa: E402

from dlscratch.models import ResNet, resnet50, resnet_small  # noqa: E402
from dlscratch.optim import Adam  # noqa: E402

try:
    import torch
    from torch import nn
except ImportError:
    torch = None
if torch is not None:
    torch.set_num_threads(ARGS.threads)

INFER_BATCH = 8
TRAIN_BATCH = 100
LR = 1e-3


# ----------------------------------------------------------------------------- torch.nn reference
def torch_resnet(block: str, layers, num_classes: int, in_channels: int, widths, stem: str):
    """torchvision's ResNet (v1.5) in torch.nn, with dlscratch's two stems."""

    def conv(cin, cout, k, stride=1):
        return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False)

    def projection(cin, cout, stride):
        if stride == 1 and cin == cout:
            return None
        return nn.Sequential(conv(cin, cout, 1, stride), nn.BatchNorm2d(cout))

    class BasicBlock(nn.Module):
        expansion = 1

        def __init__(self, inplanes, planes, stride=1):
            super().__init__()
            self.conv1, self.bn1 = conv(inplanes, planes, 3, stride), nn.BatchNorm2d(planes)
            self.conv2, self.bn2 = conv(planes, planes, 3), nn.BatchNorm2d(planes)
            self.relu = nn.ReLU(inplace=True)
            self.downsample = projection(inplanes, planes, stride)

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return self.relu(out + (x if self.downsample is None else self.downsample(x)))

    class Bottleneck(nn.Module):
        expansion = 4

        def __init__(self, inplanes, planes, stride=1):
            super().__init__()
            self.conv1, self.bn1 = conv(inplanes, planes, 1), nn.BatchNorm2d(planes)
            self.conv2, self.bn2 = conv(planes, planes, 3, stride), nn.BatchNorm2d(planes)
            self.conv3, self.bn3 = conv(planes, 4 * planes, 1), nn.BatchNorm2d(4 * planes)
            self.relu = nn.ReLU(inplace=True)
            self.downsample = projection(inplanes, 4 * planes, stride)

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.relu(self.bn2(self.conv2(out)))
            out = self.bn3(self.conv3(out))
            return self.relu(out + (x if self.downsample is None else self.downsample(x)))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            cls = BasicBlock if block == "basic" else Bottleneck
            imagenet = stem == "imagenet"
            self.conv1 = conv(in_channels, widths[0], 7 if imagenet else 3, 2 if imagenet else 1)
            self.bn1 = nn.BatchNorm2d(widths[0])
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(3, 2, 1) if imagenet else nn.Identity()
            inplanes = widths[0]
            for i, (n, planes) in enumerate(zip(layers, widths), start=1):
                blocks = []
                for j in range(n):
                    blocks.append(cls(inplanes, planes, 2 if i > 1 and j == 0 else 1))
                    inplanes = planes * cls.expansion
                setattr(self, f"layer{i}", nn.Sequential(*blocks))
            self.n_stages = len(layers)
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(inplanes, num_classes)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            for i in range(1, self.n_stages + 1):
                x = getattr(self, f"layer{i}")(x)
            return self.fc(torch.flatten(self.avgpool(x), 1))

    return Net()


def torch_twin(net: ResNet):
    """The torch.nn network with ``net``'s weights (fc.weight transposed to torch's (out, in))."""
    cfg = net.get_config()
    tnet = torch_resnet(cfg["block"], cfg["layers"], cfg["num_classes"], cfg["in_channels"],
                        cfg["widths"], cfg["stem"])
    sd = {k: torch.from_numpy(np.ascontiguousarray(v.T if k == "fc.weight" else v))
          for k, v in net.state_dict().items()}
    missing, unexpected = tnet.load_state_dict(sd, strict=False)
    assert not unexpected and all(k.endswith("num_batches_tracked") for k in missing), \
        (missing, unexpected)
    return tnet


# ----------------------------------------------------------------------------- the two tasks
class Infer50:
    """ResNet-50, eval mode, one batch of 8 224x224 images per call."""

    images = INFER_BATCH

    def __init__(self, which: str):
        self.name = "dlscratch" if which == "ours" else "PyTorch"
        self.x = np.random.default_rng(0).standard_normal(
            (INFER_BATCH, 3, 224, 224)).astype(np.float32)
        self.net = resnet50(rng=0).eval()
        if which == "torch":
            self.net = torch_twin(self.net).eval()
            self.xt = torch.from_numpy(self.x)

    def run(self):
        if self.name == "PyTorch":
            with torch.no_grad():
                return self.net(self.xt).numpy()
        return self.net.predict(self.x)


class TrainSmall:
    """resnet_small(), train mode, ``steps`` Adam steps on batches of 100 per call."""

    def __init__(self, which: str, steps: int):
        self.name = "dlscratch" if which == "ours" else "PyTorch"
        self.steps = steps
        self.images = steps * TRAIN_BATCH
        rng = np.random.default_rng(0)
        self.x = rng.random((TRAIN_BATCH * steps, 1, 28, 28), dtype=np.float32)
        self.t = rng.integers(0, 10, TRAIN_BATCH * steps)
        self.net = resnet_small(rng=0)
        if which == "torch":
            self.net = torch_twin(self.net).train()
            self.opt = torch.optim.Adam(self.net.parameters(), lr=LR)
            self.xt, self.tt = torch.from_numpy(self.x), torch.from_numpy(self.t)
        else:
            # > 1: the batch split over threads (or worker processes: --ours-processes)
            self.net.set_num_threads(ARGS.ours_threads,
                                     processes=ARGS.ours_processes and ARGS.ours_threads > 1)
            self.opt = Adam(self.net.parameters(), lr=LR)

    def run(self):
        for s in range(self.steps):
            b = slice(s * TRAIN_BATCH, (s + 1) * TRAIN_BATCH)
            if self.name == "PyTorch":
                self.opt.zero_grad()
                nn.functional.cross_entropy(self.net(self.xt[b]), self.tt[b]).backward()
            else:
                self.net.gradient(self.x[b], self.t[b])  # zero_grad, loss, backward
            self.opt.step()


def make(task: str, which: str):
    return Infer50(which) if task == "infer50" else TrainSmall(which, ARGS.train_steps)


def check_same_function(task: str) -> None:
    """dlscratch and its torch twin give the same outputs (float32 round-off apart)."""
    if task == "infer50":
        net = resnet50(rng=1).eval()
        x = np.random.default_rng(1).standard_normal((1, 3, 224, 224)).astype(np.float32)
    else:
        net = resnet_small(rng=1)
        x = np.random.default_rng(1).random((8, 1, 28, 28), dtype=np.float32)
    tnet = torch_twin(net).train(net.training)
    with torch.no_grad():
        ref = tnet(torch.from_numpy(x)).numpy()
    ours = net.forward(x)
    err = float(np.max(np.abs(ours - ref)) / np.max(np.abs(ref)))
    print(f"  {task}: max |dlscratch - torch| / max |torch| = {err:.1e}")
    assert err < 1e-4, "the torch reference does not compute the same function"


# ----------------------------------------------------------------------------- measuring
def time_rounds(impls, rounds):
    """Alternate the implementations for ``rounds`` rounds: {name: [seconds per round]}."""
    times = {impl.name: [] for impl in impls}
    for _ in range(rounds):
        for impl in impls:
            t0 = time.perf_counter()
            impl.run()
            times[impl.name].append(time.perf_counter() - t0)
    return times


def report(title: str, times: dict, images: int) -> None:
    print(f"\n{title}")
    for name, secs in times.items():
        print(f"  {name:10s} {images / statistics.median(secs):8.1f} images/s (median round), "
              f"{images / min(secs):8.1f} (best); rounds {', '.join(f'{s:.2f}' for s in secs)} s")
    if "PyTorch" in times:
        ratios = [t_ref / t_ours for t_ours, t_ref in zip(times["dlscratch"], times["PyTorch"])]
        print(f"  dlscratch / PyTorch speed, per round: median {statistics.median(ratios):.2f}x, "
              f"range {min(ratios):.2f}-{max(ratios):.2f}x")


def peak_rss_child(spec: str) -> None:
    which, task = spec.split(":")
    before = _vm_hwm_kib()
    impl = make(task, which)
    impl.run()
    hwm = _vm_hwm_kib()
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    print(f"{which:5s} {task:11s}: peak RSS {hwm / 1024:6.0f} MiB (after the imports "
          f"{before / 1024:.0f} MiB); ru_maxrss {kib / 1024:.0f} MiB")


def _vm_hwm_kib() -> float:
    """Peak resident set size of this process image (kB), from /proc/self/status."""
    try:
        with open("/proc/self/status", encoding="utf-8") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return float(line.split()[1])
    except OSError:
        pass
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def bench_memory(tasks) -> None:
    print("\nPeak memory of a fresh process (imports, model, data, one round)")
    whiches = ["ours"] + (["torch"] if torch is not None and not ARGS.no_torch else [])
    for task in tasks:
        for which in whiches:
            cmd = [sys.executable, __file__, "--threads", str(ARGS.threads),
                   "--ours-threads", str(ARGS.ours_threads),
                   "--train-steps", str(ARGS.train_steps), "--child", f"{which}:{task}"]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            print("  " + out.strip().splitlines()[-1])


def bench_profile(tasks) -> None:
    import cProfile
    import pstats

    for task in tasks:
        impl = make(task, "ours")
        impl.run()
        prof = cProfile.Profile()
        prof.enable()
        impl.run()
        prof.disable()
        print(f"\nProfile of dlscratch's {task} (one round, by own time)")
        pstats.Stats(prof).sort_stats("tottime").print_stats(10)


def bench_mnist_epoch() -> None:
    from dlscratch.datasets import load_mnist

    (x, t), (x_test, t_test) = load_mnist(dataset="mnist-sample", flatten=False)
    net = resnet_small(rng=0)
    opt = Adam(net.parameters(), lr=0.002)
    order = np.random.default_rng(0).permutation(len(x))
    t0 = time.perf_counter()
    for i in range(0, len(x), 32):
        b = order[i:i + 32]
        net.zero_grad()
        net.loss(x[b], t[b])
        net.backward()
        opt.step()
    seconds = time.perf_counter() - t0
    print(f"\nresnet_small, one epoch of {len(x)} MNIST images (batch 32, Adam 0.002): "
          f"{seconds:.0f} s; test accuracy {net.accuracy(x_test, t_test):.4f} "
          f"on {len(x_test)} images")


def main() -> None:
    if ARGS.child:
        peak_rss_child(ARGS.child)
        return
    tasks = [t for t in ARGS.tasks.split(",") if t]
    use_torch = torch is not None and not ARGS.no_torch
    print(f"threads {ARGS.threads}, NumPy {np.__version__}"
          + (f", torch {torch.__version__}" if use_torch else ", no torch"))
    if ARGS.memory:  # first, while this process is small (see the module docstring)
        bench_memory(tasks)
    if use_torch and not ARGS.no_speed:
        print("Same function (dlscratch's weights in the torch.nn reference):")
        for task in tasks:
            check_same_function(task)
    for task in tasks if not ARGS.no_speed else []:
        impls = [make(task, "ours")] + ([make(task, "torch")] if use_torch else [])
        for impl in impls:  # warm up: first-call allocations
            impl.run()
        title = ("ResNet-50 inference, batches of 8 x 3x224x224, float32" if task == "infer50"
                 else f"resnet_small training, {ARGS.train_steps} steps of batch 100 "
                      "(1x28x28), Adam, float32")
        n_batches = ARGS.infer_batches if task == "infer50" else 1
        if n_batches > 1:
            for impl in impls:
                run = impl.run
                impl.run = lambda run=run, n=n_batches: [run() for _ in range(n)]
        report(title, time_rounds(impls, ARGS.rounds), impls[0].images * n_batches)
    if ARGS.profile:
        bench_profile(tasks)
    if ARGS.mnist_epoch:
        bench_mnist_epoch()


if __name__ == "__main__":
    main()
