"""How fast dlscratch's CNNs train and infer, next to PyTorch (CPU) and the lecture's code.

    python benchmarks/bench_cnn.py                 # speed: SimpleConvNet and DeepConvNet
    python benchmarks/bench_cnn.py --all --rounds 20   # everything below, one table at the end
    python benchmarks/bench_cnn.py --quick         # everything, small (a smoke test, ~1 minute)
    python benchmarks/bench_cnn.py --scaling       # only the batch-size table (1 ... 256)
    python benchmarks/bench_cnn.py --gemm-peak     # only the float32 GEMM peak
    python benchmarks/bench_cnn.py --epoch-memory  # only DeepConvNet's 60,000-image epoch RSS
    python benchmarks/bench_cnn.py --resnet        # only the small ResNet (bench_resnet.py)
    python benchmarks/bench_cnn.py --rss           # + SimpleConvNet's 60,000-image epoch RSS
    python benchmarks/bench_cnn.py --accuracy      # + Fashion-MNIST accuracy runs (long)
    python benchmarks/bench_cnn.py --no-speed --accuracy deep   # only DeepConvNet's run
    python benchmarks/bench_cnn.py --profile       # + where the time of a training step goes

The part options (--scaling, --gemm-peak, --epoch-memory, --resnet) run only their part; add
``--speed`` for the batch-100 comparison too, or use ``--all``. ``--quick`` is ``--all`` with
small settings (3 rounds, short rounds, 2,000 images for the epoch); options given with it
still count.

Speed is measured in the same process, in rounds that alternate the implementations (ours,
PyTorch, the lecture's float64 code; the order reversed every other round), so that a machine
that is busy for a while slows all of them alike. Each line gives the best and the median
round, and the per-round ratio t_PyTorch / t_dlscratch as median and range: only that ratio
means much on a shared machine. Training: batch 100, Adam (lr 0.001), float32 (the lecture
code: float64). Inference: 10,000 images, batches of 100. Threads: ``--threads`` (2 by
default) for OpenBLAS and for PyTorch. The float32 GEMM peak (``np.matmul``, same threads) is
measured at the start and at the end of every timed run; each case's GFLOP/s is divided by
the higher of the two (how FLOPs are counted: ``_bench_common.FLOP_NOTE``, printed too). A
markdown table of every measured case closes the run (for benchmarks/README.md).

Data: Fashion-MNIST from /usr/share/datasets/fashion-mnist (``apt-get install -y
dataset-fashion-mnist``) or ``--data-dir``, or synthetic images when it is missing (speed does
not depend on the pixel values).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path


def _ratios(text: str):
    """'0.5' -> 0.5; '0.25,0' -> (0.25, 0.0)."""
    values = tuple(float(v) for v in text.split(","))
    return values[0] if len(values) == 1 else values


QUICK = dict(rounds=3, steps=3, deep_steps=2, infer_images=500, round_seconds=0.03,
             epoch_images=2000, gemm_sizes=[512, 1024, 2048], gemm_repeats=3, resnet_steps=1)
PARTS = ("scaling", "gemm_peak", "epoch_memory", "resnet")


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v]


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ours-threads", type=int, default=1,
                    help="dlscratch's net.set_num_threads: the batch split over this many "
                         "threads, each with one BLAS thread (1: one network, --threads BLAS "
                         "threads)")
    ap.add_argument("--ours-processes", action="store_true",
                    help="with --ours-threads N: the parts after the first in worker processes "
                         "(net.set_num_threads(N, processes=True))")
    ap.add_argument("--rounds", type=int, default=5, help="alternating timing rounds")
    ap.add_argument("--steps", type=int, default=20, help="training steps per round (Simple)")
    ap.add_argument("--deep-steps", type=int, default=5, help="training steps per round (Deep)")
    ap.add_argument("--infer-images", type=int, default=10_000)
    ap.add_argument("--no-lecture", action="store_true", help="skip the float64 lecture code")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--models", default="simple,deep", help="speed runs: simple, deep or both")
    ap.add_argument("--all", action="store_true",
                    help="speed, ResNet, scaling, GEMM peak and epoch memory in one run")
    ap.add_argument("--quick", action="store_true", help="--all with small settings (~1 min)")
    ap.add_argument("--speed", action="store_true",
                    help="the batch-100 comparison also when a part option is given")
    ap.add_argument("--scaling", action="store_true",
                    help="images/s at several batch sizes, both libraries (and batch-1 latency)")
    ap.add_argument("--scaling-batches", type=_ints, default=[1, 8, 32, 100, 256],
                    help="inference batch sizes of the scaling table")
    ap.add_argument("--scaling-train-batches", type=_ints, default=[32, 100, 256],
                    help="training batch sizes of the scaling table")
    ap.add_argument("--round-seconds", type=float, default=0.3,
                    help="scaling table: about this long per implementation and round")
    ap.add_argument("--gemm-peak", action="store_true", help="the float32 GEMM peak only")
    ap.add_argument("--gemm-sizes", type=_ints, default=[1024, 2048, 4096])
    ap.add_argument("--gemm-repeats", type=int, default=5)
    ap.add_argument("--epoch-memory", action="store_true",
                    help="peak RSS of one DeepConvNet training epoch (fresh processes)")
    ap.add_argument("--epoch-images", type=int, default=60_000,
                    help="images of the --epoch-memory and --rss epoch")
    ap.add_argument("--resnet", action="store_true",
                    help="small-ResNet training ratio (runs bench_resnet.py)")
    ap.add_argument("--resnet-steps", type=int, default=5, help="small-ResNet steps per round")
    ap.add_argument("--rss", action="store_true", help="peak RSS of a SimpleConvNet epoch")
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
    ap.add_argument("--rss-model", choices=["simple", "deep"], default="simple",
                    help=argparse.SUPPRESS)
    if ap.parse_known_args(argv)[0].quick:
        ap.set_defaults(**QUICK)  # options given on the command line still win
    args = ap.parse_args(argv)
    if args.all or args.quick:
        for part in PARTS:
            setattr(args, part, True)
    # the batch-100 comparison: by default, unless a part option asks for that part alone
    args.run_speed = not args.no_speed and (
        args.all or args.quick or args.speed or not any(getattr(args, p) for p in PARTS))
    return args


ARGS = parse_args()
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)  # before NumPy is imported

import _bench_nets  # noqa: E402
import numpy as np  # noqa: E402
from _bench_accuracy import bench_accuracy, bench_profile  # noqa: E402
from _bench_common import (  # noqa: E402
    FLOP_NOTE,
    Row,
    alternate,
    blas_info,
    cpu_times,
    flops_per_image,
    gemm_peak,
    markdown,
    per_round_ratios,
    ratio_summary,
    steal_note,
)
from _bench_nets import (  # noqa: E402
    BATCH,
    Lecture,
    Ours,
    Torch,
    import_torch,
    synthetic,
    torch_forward_flops,
)
from _bench_scaling import latency_notes, scaling_table  # noqa: E402

from dlscratch.models import DeepConvNet, SimpleConvNet  # noqa: E402

torch = None
if not ARGS.no_torch and ARGS.rss_child != "ours":  # (importing torch alone takes ~300 MB)
    torch = import_torch(ARGS.threads)


def load_fashion():
    return _bench_nets.load_fashion(ARGS.data_dir)


# ----------------------------------------------------------------------------- timing
LABELS = {"simple": "SimpleConvNet", "deep": "DeepConvNet"}


def report(title, times, images_per_round, flops) -> Row:
    """Print each implementation's best and median round; the Row of dlscratch and PyTorch."""
    print(f"\n{title}")
    for k, v in times.items():
        line = (f"  {k:16s} {images_per_round / min(v):9.0f} images/s (best round)"
                f"   {images_per_round / statistics.median(v):9.0f} (median)")
        if k != "PyTorch" and "PyTorch" in times:
            line += f"   per round {ratio_summary(per_round_ratios(times, k))} PyTorch"
        if k not in ("dlscratch", "PyTorch"):
            line += f"   dlscratch is {ratio_summary(per_round_ratios(times, 'dlscratch', k))} this"
        print(line)
    row = Row.from_times(title.split(" (")[0], BATCH,
                         {k: v for k, v in times.items() if k in ("dlscratch", "PyTorch")},
                         images_per_round, flops)
    print(f"  GFLOP/s (median round; % of the GEMM peak: in the closing table): dlscratch "
          f"{row.gflops('dlscratch', None)}, PyTorch {row.gflops('PyTorch', None)}")
    return row


def make_impls(kind: str, lecture: bool = False):
    impls = [Ours(kind, threads=ARGS.ours_threads, processes=ARGS.ours_processes)]
    if torch is not None and not ARGS.no_torch:
        impls.append(Torch(kind))
    if kind == "simple" and lecture:
        impls.append(Lecture(kind))
    return impls


def bench_speed(kind: str, x, t, flops) -> list[Row]:
    impls = make_impls(kind, lecture=not ARGS.no_lecture)
    steps = ARGS.steps if kind == "simple" else ARGS.deep_steps
    n_batches = len(x) // BATCH

    def train(impl):
        for s in range(steps):
            i = (s % n_batches) * BATCH
            impl.step(x[i:i + BATCH], t[i:i + BATCH])

    for impl in impls:  # warm up (allocations, first-call costs)
        train(impl)
    label = LABELS[kind]
    rows = [report(f"{label} training (batch {BATCH}, Adam)",
                   alternate({i.name: (lambda i=i: train(i)) for i in impls}, ARGS.rounds),
                   steps * BATCH, flops[1])]
    xi = x[:ARGS.infer_images] if len(x) >= ARGS.infer_images else np.resize(
        x, (ARGS.infer_images, *x.shape[1:]))
    rows.append(report(f"{label} inference ({len(xi)} images, batches of {BATCH})",
                       alternate({i.name: (lambda i=i: i.infer(xi)) for i in impls},
                                 ARGS.rounds), len(xi), flops[0]))
    return rows


def bench_resnet() -> list[Row]:
    """The small ResNet's training, from bench_resnet.py in a subprocess (its rounds)."""
    from dlscratch.models import resnet_small

    cmd = [sys.executable, str(Path(__file__).with_name("bench_resnet.py")), "--threads",
           str(ARGS.threads), "--ours-threads", str(ARGS.ours_threads), *(["--ours-processes"] if ARGS.ours_processes else []), "--tasks", "train-small", "--rounds", str(ARGS.rounds),
           "--train-steps", str(ARGS.resnet_steps)] + (["--no-torch"] if ARGS.no_torch else [])
    print(f"\nresnet_small training (batch 100, Adam): {' '.join(cmd[1:])}", flush=True)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    times = {}
    for line in out.splitlines():
        m = re.match(r"\s+(dlscratch|PyTorch)\s.*; rounds ([\d., ]+) s$", line)
        if m:
            times[m.group(1)] = [float(v) for v in m.group(2).split(",")]
        if line.strip():
            print("  " + line.strip())
    flops = flops_per_image(resnet_small(rng=0), (1, 28, 28))[1]
    row = Row.from_times("resnet_small training", 100, times, 100 * ARGS.resnet_steps, flops)
    print(f"  GFLOP/s (median round; % of the GEMM peak: in the closing table): dlscratch "
          f"{row.gflops('dlscratch', None)}, PyTorch {row.gflops('PyTorch', None)}")
    return [row]


def measure_peak(when: str) -> float:
    best, results = gemm_peak(ARGS.gemm_sizes, ARGS.gemm_repeats)
    print(f"\nfloat32 GEMM peak ({when}; np.matmul of n x n, best of {ARGS.gemm_repeats}): "
          + ", ".join(f"n={n} {g:.1f}" for n, g in results) + f" GFLOP/s; peak {best:.1f}",
          flush=True)
    return best


# ----------------------------------------------------------------------------- memory
def _vm_hwm_kib(pid: str = "self") -> int:
    """Peak resident set size of a process image in KiB (VmHWM, starts afresh at exec)."""
    line = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                if line.startswith("VmHWM"))
    return int(line.split()[1])


def rss_child(which: str, kind: str) -> None:
    """Train ``kind`` for one epoch (``--epoch-images`` images, shuffled, batch 100) on the
    training set held in memory as float32; print the peak RSS (VmHWM) before and after."""
    data = load_fashion()
    (x, t), source = (data[0], "Fashion-MNIST") if data else (
        synthetic(60_000), "random images of Fashion-MNIST's shape")
    loaded = _vm_hwm_kib()
    impl = Ours(kind, threads=ARGS.ours_threads, processes=ARGS.ours_processes) if which == "ours" else Torch(kind)
    order = np.random.default_rng(0).permutation(len(x))[:ARGS.epoch_images]
    t0 = time.perf_counter()
    for i in range(0, len(order), BATCH):
        idx = order[i:i + BATCH]
        impl.step(x[idx], t[idx])
    seconds = time.perf_counter() - t0
    print(f"{which}: {LABELS[kind]}, {len(order)} of {len(x)} {source} in {seconds:.1f} s "
          f"({len(order) / seconds:.0f} images/s); peak RSS {_vm_hwm_kib()} kB "
          f"(after imports and data: {loaded} kB)")
    workers = getattr(getattr(impl, "net", None), "_data_parallel", None)
    if workers is not None and workers._workers is not None:  # --ours-processes
        peaks = [_vm_hwm_kib(str(p.pid)) for p in workers._workers.procs]
        print(f"{which}: worker processes' peak RSS {', '.join(map(str, peaks))} kB (forks: the "
              "pages they share with this process, the data among them, count in both)")


def bench_rss(kind: str) -> list[str]:
    """Peak RSS of one training epoch in a fresh process per library; the table's notes."""
    print(f"\nPeak memory while training {LABELS[kind]} for one epoch (batch {BATCH}, Adam; "
          "fresh process, VmHWM)", flush=True)
    notes = []
    for which in ["ours"] + (["torch"] if torch is not None and not ARGS.no_torch else []):
        cmd = [sys.executable, __file__, "--threads", str(ARGS.threads), "--rss-child", which,
               "--ours-threads", str(ARGS.ours_threads), *(["--ours-processes"] if ARGS.ours_processes else []), "--rss-model", kind, "--epoch-images", str(ARGS.epoch_images)]
        if ARGS.data_dir:
            cmd += ["--data-dir", str(ARGS.data_dir)]
        lines = subprocess.run(cmd, capture_output=True, text=True,
                               check=True).stdout.strip().splitlines()
        line = next(ln for ln in lines if "images/s" in ln)
        extra = "".join(f"\n  {ln}" for ln in lines if "worker processes" in ln)
        mib = int(re.search(r"peak RSS (\d+) kB", line).group(1)) / 1024
        images = re.search(r", (\d+ of \d+ .+) in [\d.]+ s", line).group(1)
        verdict = "under" if mib * 2**20 < 1e9 else "over"  # 1 GB = 10^9 bytes
        name = "dlscratch" if which == "ours" else "PyTorch"
        print(f"  {line}\n    = {mib:.0f} MiB ({mib * 2**20 / 1e6:.0f} MB), {verdict} 1 GB"
              f"{extra}", flush=True)
        notes.append(f"- {LABELS[kind]}, one training epoch ({images}, batch {BATCH}, "
                     f"Adam): peak RSS {name} {mib:.0f} MiB = {mib * 2**20 / 1e6:.0f} MB "
                     f"({verdict} 1 GB)")
    return notes


def main() -> None:
    if ARGS.rss_child:
        rss_child(ARGS.rss_child, ARGS.rss_model)
        return
    print(f"threads: {ARGS.threads}; NumPy {np.__version__} ({blas_info() or 'BLAS unknown'}); "
          f"PyTorch {torch.__version__ if torch is not None else 'not used'}; dlscratch "
          + (f"net.set_num_threads({ARGS.ours_threads}): the batch split over "
             f"{ARGS.ours_threads} " + ("parts, the later ones in worker processes"
                                        if ARGS.ours_processes else "threads")
             + ", one BLAS thread each" if ARGS.ours_threads > 1
             else f"one thread ({ARGS.threads} BLAS threads)")
          + ("; quick settings (a smoke test, not a measurement)" if ARGS.quick else ""))
    data = load_fashion()
    x, t = (data[0][0][:6000], data[0][1][:6000]) if data else synthetic(6000)
    print("data: " + ("Fashion-MNIST (first 6,000 training images)" if data
                      else "random images (Fashion-MNIST not found)"))
    timed = ARGS.run_speed or ARGS.scaling or ARGS.resnet
    load_start = os.getloadavg()[0]
    cpu_start = cpu_times()
    peaks = [measure_peak("start")] if timed or ARGS.gemm_peak else []
    flops = {kind: flops_per_image(net, (1, 28, 28)) for kind, net in
             (("simple", SimpleConvNet(rng=0)), ("deep", DeepConvNet(rng=0)))}
    if torch is not None:  # the FLOP count once more, from PyTorch's layers
        for kind, (forward, _) in flops.items():
            if torch_forward_flops(kind) != forward:
                raise SystemExit(f"{LABELS[kind]}: {forward} forward FLOPs per image counted from "
                                 f"dlscratch's layers, {torch_forward_flops(kind)} from "
                                 "PyTorch's: the FLOP count or one of the networks is wrong")
    rows, scaled, notes = [], [], []
    if ARGS.run_speed:
        for kind in ("simple", "deep"):
            if kind in ARGS.models.split(","):
                rows += bench_speed(kind, x, t, flops[kind])
    if ARGS.resnet:
        rows += bench_resnet()
        notes.append(f"- resnet_small training: {rows[-1].flops / 1e6:.2f} M FLOPs per image "
                     "(its convolutions and Linear layer, counted as below; BatchNorm not counted)")
    if ARGS.scaling:
        models = [(LABELS[kind], make_impls(kind), flops[kind]) for kind in ("simple", "deep")
                  if kind in ARGS.models.split(",")]
        scaled = scaling_table(models, x, t, infer_batches=ARGS.scaling_batches,
                               train_batches=ARGS.scaling_train_batches, rounds=ARGS.rounds,
                               round_seconds=ARGS.round_seconds)
        notes += latency_notes(scaled)
    if timed:
        peaks.append(measure_peak("end"))
    if ARGS.profile:
        bench_profile(x, t)
    if ARGS.rss:
        notes += bench_rss("simple")
    if ARGS.epoch_memory:
        notes += bench_rss("deep")
    if ARGS.accuracy:
        bench_accuracy(ARGS, torch)
    if rows or scaled or notes or peaks:
        peak = max(peaks) if peaks else None
        if peaks:
            notes.append(f"- float32 GEMM peak (np.matmul, {ARGS.threads} threads): "
                         + " / ".join(f"{p:.1f}" for p in peaks) + " GFLOP/s"
                         + (" at the start / end; '% peak' uses the higher" if timed else ""))
        if rows or scaled:
            notes.append(f"- FLOPs per image: SimpleConvNet {flops['simple'][0] / 1e6:.2f} M "
                         f"inference, {flops['simple'][1] / 1e6:.2f} M training; DeepConvNet "
                         f"{flops['deep'][0] / 1e6:.2f} M, {flops['deep'][1] / 1e6:.2f} M. "
                         + FLOP_NOTE)
            notes.append(f"- 1-minute load average {load_start:.1f} at the start, "
                         f"{os.getloadavg()[0]:.1f} at the end, {os.cpu_count()} CPUs (a load "
                         "near the thread count or above: other work shares the cores, and "
                         "small batches on 2 threads slow down far more than large ones, in "
                         "both libraries)")
            stolen = steal_note(cpu_start)
            if stolen:
                notes.append(stolen)
            notes.append(f"- threads: {ARGS.threads} (OpenBLAS and torch.set_num_threads); "
                         f"{ARGS.rounds} alternating rounds; images/s and ms are the median "
                         "rounds" + ("; --quick settings (smoke test)" if ARGS.quick else ""))
        print("\n## Tables (markdown)\n")
        if rows:
            print(f"Batch {BATCH} (training: Adam; inference: {ARGS.infer_images} images per "
                  "round; resnet_small: bench_resnet.py's rounds)\n")
            print(markdown(rows, peak))
        if scaled:
            print(f"Batch sizes (rounds of about {ARGS.round_seconds} s)\n")
            print(markdown(scaled, peak))
        print("\n".join(notes))


if __name__ == "__main__":
    main()
