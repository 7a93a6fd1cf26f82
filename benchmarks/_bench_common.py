"""Shared pieces of the CNN benchmarks (used by bench_cnn.py and _bench_scaling.py).

* ``alternate``: the implementations run in turn, round after round, so that a machine that is
  busy for a while slows all of them alike; ``ratio_summary`` gives the per-round ratio
  ``t_PyTorch / t_dlscratch`` (dlscratch's speed relative to PyTorch's) as median and range.
* ``gemm_peak``: the machine's float32 matrix-product speed, measured in the same process with
  the same BLAS threads (``np.matmul`` of large square matrices, best of several).
* ``layer_flops``: the FLOPs of a network's convolutions and Linear layers from their shapes.
* ``Row`` and ``markdown``: one measured case, and the closing table.

Import it after the BLAS thread count is set (OpenBLAS reads it when NumPy is imported).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

OURS, REF = "dlscratch", "PyTorch"

FLOP_NOTE = (
    "FLOPs per image count the convolutions and Linear layers only (ReLU, pooling, dropout, "
    "BatchNorm, softmax and the optimiser are not counted): a convolution's forward is "
    "2*FN*C*FH*FW*out_h*out_w, a Linear layer's 2*in*out; training counts each layer's forward, "
    "dW (the same count) and dx (the same count again, except for the first layer, whose dx "
    "neither library computes). The same count is used for both libraries. GFLOP/s = FLOPs per "
    "image x images/s (median round); '% peak' divides it by the GEMM peak measured in this run."
)


# ----------------------------------------------------------------------------- timing
def alternate(jobs: dict[str, Callable[[], object]], rounds: int) -> dict[str, list[float]]:
    """Run every job once per round for ``rounds`` rounds: {name: [seconds of each round]}.

    The order is reversed every other round (A B, B A, A B, ...), so that no job always runs
    right after the same other one.
    """
    times: dict[str, list[float]] = {name: [] for name in jobs}
    names = list(jobs)
    for r in range(rounds):
        for name in (names if r % 2 == 0 else names[::-1]):
            t0 = time.perf_counter()
            jobs[name]()
            times[name].append(time.perf_counter() - t0)
    return times


def per_round_ratios(times: dict[str, list[float]], name: str = OURS,
                     ref: str = REF) -> list[float]:
    """``name``'s speed relative to ``ref`` in each round: t_ref / t_name (> 1: name faster).

    >>> per_round_ratios({"dlscratch": [2.0, 1.0], "PyTorch": [1.0, 1.5]})
    [0.5, 1.5]
    """
    if name not in times or ref not in times:
        return []
    return [t_ref / t for t, t_ref in zip(times[name], times[ref])]


def ratio_summary(ratios: list[float]) -> str:
    """'0.62x (0.55-0.70)': median and range of per-round ratios; '-' when there are none.

    >>> ratio_summary([0.7, 0.55, 0.62])
    '0.62x (0.55-0.70)'
    """
    if not ratios:
        return "-"
    return f"{statistics.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f})"


# ----------------------------------------------------------------------------- GEMM peak
def cpu_times() -> list[int] | None:
    """The machine's CPU time so far, from /proc/stat's "cpu" line (Linux; None elsewhere):
    user, nice, system, idle, iowait, irq, softirq, steal, in clock ticks."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu" or len(fields) < 9:
        return None
    return [int(v) for v in fields[1:9]]


def steal_note(start: list[int] | None) -> str | None:
    """The share of the CPU time since ``start`` (``cpu_times()``) that the hypervisor gave to
    other guests ("steal"), and the busy share: a virtual machine whose host is
    oversubscribed loses its vCPUs for part of every step, more so when both are busy."""
    end = cpu_times()
    if start is None or end is None:
        return None
    d = [b - a for a, b in zip(start, end)]
    total = sum(d)
    if total <= 0:
        return None
    busy = d[0] + d[1] + d[2] + d[5] + d[6]
    return (f"- CPU time during the run (/proc/stat): {100 * busy / total:.0f}% busy, "
            f"{100 * d[7] / total:.0f}% stolen by the hypervisor for other guests (an idle "
            "host: near 0%; with much stolen, both libraries' rounds swing and the split "
            "steps wait for a descheduled vCPU)")


def gemm_peak(sizes=(1024, 2048, 4096), repeats: int = 5, seed: int = 0):
    """float32 GEMM speed of this process's BLAS: (best GFLOP/s, [(n, GFLOP/s), ...]).

    For each n, ``np.matmul`` of two random (n, n) float32 matrices into a preallocated
    output, ``repeats`` times after one warm-up product; a product is 2*n**3 FLOPs and the
    fastest repeat counts (the peak is what the machine can do, not what it did on average).
    """
    rng = np.random.default_rng(seed)
    results = []
    for n in sizes:
        a = rng.random((n, n), dtype=np.float32)
        b = rng.random((n, n), dtype=np.float32)
        c = np.empty((n, n), dtype=np.float32)
        np.matmul(a, b, out=c)
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            np.matmul(a, b, out=c)
            best = min(best, time.perf_counter() - t0)
        results.append((n, 2.0 * n**3 / best / 1e9))
    return max(g for _, g in results), results


def blas_info() -> str:
    """'openblas, 2 threads' from threadpoolctl when it is installed, else ''."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return ""
    return "; ".join(f"{p.get('internal_api')} {p.get('version')}, {p.get('num_threads')} threads"
                     for p in threadpool_info() if p.get("user_api") == "blas")


# ----------------------------------------------------------------------------- FLOPs
@dataclass
class LayerFlops:
    name: str
    forward: int   # FLOPs of one image's forward pass through the layer
    dx: bool       # whether backward computes dx (False for a network's first layer)


def layer_flops(net, input_shape: tuple[int, ...]) -> list[LayerFlops]:
    """The convolutions and Linear layers of a dlscratch network with their forward FLOPs.

    Runs one forward pass of two zero images (train mode, so that no inference-only path is
    taken) with ``Conv2d.forward`` and ``Linear.forward`` wrapped to record each layer's output
    shape; a convolution with W (FN, C, FH, FW) and output (N, FN, out_h, out_w) costs
    2*FN*C*FH*FW*out_h*out_w per image, a Linear layer with W (in, out) 2*in*out. Pass a
    network that is not timed: the pass fills its caches.
    """
    from dlscratch.layers import Conv2d, Linear

    seen: dict[int, tuple[int, ...]] = {}

    def recording(original):
        def forward(self, x, *args, **kwargs):
            out = original(self, x, *args, **kwargs)
            seen[id(self)] = out.shape
            return out
        return forward

    originals = {cls: cls.__dict__.get("forward") for cls in (Conv2d, Linear)}
    for cls in originals:
        cls.forward = recording(cls.forward)
    was_training = net.training
    try:
        dtype = net.parameters()[0].data.dtype
        net.train()
        net.forward(np.zeros((2, *input_shape), dtype=dtype))
    finally:
        for cls, original in originals.items():
            if original is None:
                del cls.forward
            else:
                cls.forward = original
        net.train(was_training)
    layers = []
    for name, m in net.named_modules():
        if not isinstance(m, (Conv2d, Linear)):
            continue
        if id(m) not in seen:
            raise RuntimeError(
                f"layer_flops: {name} ({type(m).__name__}) did not run through "
                f"{type(m).__name__}.forward in a train-mode forward pass, so its output shape "
                "is unknown; count its FLOPs by hand or record the shape where it is computed")
        w = m.W.shape
        if isinstance(m, Conv2d):
            fn, c, fh, fw = w
            out_h, out_w = seen[id(m)][2:]
            flops = 2 * fn * c * fh * fw * out_h * out_w
        else:
            flops = 2 * w[0] * w[1]
        layers.append(LayerFlops(name, int(flops), bool(getattr(m, "compute_dx", True))))
    return layers


def flops_per_image(net, input_shape: tuple[int, ...]) -> tuple[int, int]:
    """(inference, training) FLOPs per image: sum of forwards; forward + dW + dx per layer.

    SimpleConvNet: conv 2*30*1*5*5*24*24 = 864,000 (no dx), Affine1 2*4320*100 = 864,000,
    Affine2 2*100*10 = 2,000. DeepConvNet: its six convolutions (28x28, 28x28, 14x14, 16x16
    after pad 2, 8x8, 8x8) and two Linear layers.

    >>> from dlscratch.models import DeepConvNet, SimpleConvNet
    >>> flops_per_image(SimpleConvNet(rng=0), (1, 28, 28))
    (1730000, 4326000)
    >>> flops_per_image(DeepConvNet(rng=0), (1, 28, 28))
    (17544680, 52408248)
    """
    layers = layer_flops(net, input_shape)
    forward = sum(lf.forward for lf in layers)
    training = sum(lf.forward * (3 if lf.dx else 2) for lf in layers)
    return forward, training


# ----------------------------------------------------------------------------- results
@dataclass
class Row:
    """One measured case: images/s and ms per batch (median round) per implementation."""

    case: str
    batch: int
    rates: dict[str, float]          # images/s of the median round, by implementation
    ms_per_batch: dict[str, float]   # milliseconds per batch of the median round
    ratios: list[float] = field(default_factory=list)  # per round, dlscratch / PyTorch speed
    flops: int = 0                   # FLOPs per image (0: not counted)

    @classmethod
    def from_times(cls, case: str, batch: int, times: dict[str, list[float]],
                   images_per_round: int, flops: int = 0) -> Row:
        """The median round of each implementation; e.g. 3 rounds of 2 batches of 100:

        >>> row = Row.from_times("c", 100, {"dlscratch": [0.4, 0.2, 0.3],
        ...                                 "PyTorch": [0.2, 0.2, 0.1]}, 200, flops=10**6)
        >>> round(row.rates["dlscratch"]), row.ms_per_batch["PyTorch"], row.ratios[:2]
        (667, 100.0, [0.5, 1.0])
        >>> row.cells(peak=10.0)[4:]
        ['0.50x (0.33-1.00)', '150 / 100', '0.7 (7%)', '1.0 (10%)']
        """
        med = {k: statistics.median(v) for k, v in times.items()}
        return cls(case, batch, {k: images_per_round / s for k, s in med.items()},
                   {k: 1e3 * s * batch / images_per_round for k, s in med.items()},
                   per_round_ratios(times), flops)

    def gflops(self, name: str, peak: float | None) -> str:
        """'41.2 (27%)': achieved GFLOP/s and fraction of the GEMM peak; '-' if unknown."""
        if not self.flops or name not in self.rates:
            return "-"
        g = self.flops * self.rates[name] / 1e9
        return f"{g:.1f}" + (f" ({g / peak:.0%})" if peak else "")

    def cells(self, peak: float | None) -> list[str]:
        def rate(name):
            return f"{self.rates[name]:.0f}" if name in self.rates else "-"

        ms = " / ".join(_ms(self.ms_per_batch[k]) if k in self.ms_per_batch else "-"
                        for k in (OURS, REF))
        return [self.case, str(self.batch), rate(OURS), rate(REF), ratio_summary(self.ratios),
                ms, self.gflops(OURS, peak), self.gflops(REF, peak)]


def _ms(ms: float) -> str:
    """Three significant digits or whole milliseconds: 0.912, 12.3, 456."""
    return f"{ms:.3g}" if ms < 100 else f"{ms:.0f}"


HEADER = ["case", "batch", "dlscratch img/s", "PyTorch img/s",
          "dlscratch / PyTorch per round: median (range)", "ms per batch (dlscratch / PyTorch)",
          "dlscratch GFLOP/s (% peak)", "PyTorch GFLOP/s (% peak)"]


def print_row(row: Row) -> None:
    """One indented line per case, as the measurements go (% of the peak: in the table)."""
    c = row.cells(None)
    print(f"  batch {c[1]:>3}: {c[2]:>6} vs {c[3]:>6} img/s, per round {c[4]}, "
          f"ms/batch {c[5]}, GFLOP/s {c[6]} vs {c[7]}", flush=True)


def markdown(rows: list[Row], peak: float | None) -> str:
    """A markdown table of ``rows`` (images/s and ms are the median rounds), blank line after."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row.cells(peak)) + " |" for row in rows]
    return "\n".join(lines) + "\n"
