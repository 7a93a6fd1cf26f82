"""DeepConvNet's six convolutions one at a time, dlscratch next to torch.nn on the CPU.

    python benchmarks/bench_conv_layers.py                   # 50 images, one thread, 15 rounds
    python benchmarks/bench_conv_layers.py --images 100 --threads 2

Each layer (3x3 filters, the shapes of DeepConvNet's layers on 28x28 images) runs forward and
backward on the same float32 data in both libraries. dlscratch's layer runs as it does inside a
part of ``net.set_num_threads`` (convolutions in cache-sized pieces, one BLAS thread) with
``--threads 1``, and as one network with OpenBLAS's threads otherwise. The first layer computes
no dx (neither library does inside a network). Rounds alternate the two libraries (the order
reversed every other round); the figure that counts is the per-round ratio t_torch /
t_dlscratch, printed as median (range). The single-core float32 GEMM rate (512x512 product, in
the cache) before and after tells how busy the machine was.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=50, help="batch size (a part of 100: 50)")
    ap.add_argument("--threads", type=int, default=1,
                    help="1: as inside a part (pieces, one BLAS thread); more: OpenBLAS and "
                         "torch threads")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--calls", type=int, default=3, help="forward+backward calls per round")
    return ap.parse_args(argv)


ARGS = parse_args()
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)  # before NumPy is imported

import contextlib  # noqa: E402

import numpy as np  # noqa: E402

from dlscratch.layers import Conv2d  # noqa: E402
from dlscratch.layers.conv_work import conv_in_pieces  # noqa: E402
from dlscratch.models.parallel import PIECE_BYTES  # noqa: E402

#: (C, FN, H, pad) of DeepConvNet's convolutions on 28x28 images
LAYERS = [(1, 16, 28, 1), (16, 16, 28, 1), (16, 32, 14, 1), (32, 32, 14, 2), (32, 64, 8, 1),
          (64, 64, 8, 1)]


def gemm_rate(repeats: int = 30) -> float:
    """GFLOP/s of one 512x512 float32 product on one core (operands in the cache)."""
    from threadpoolctl import threadpool_limits

    a = np.random.default_rng(0).random((512, 512), dtype=np.float32)
    c = np.empty_like(a)
    with threadpool_limits(1, "blas"):
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            np.matmul(a, a, out=c)
            times.append(time.perf_counter() - t0)
    return 2 * 512**3 / statistics.median(times) / 1e9


def time_calls(fn, calls: int) -> float:
    """Median seconds of ``calls`` calls of fn."""
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def measure_layer(torch, rng, C: int, FN: int, H: int, pad: int):
    """One layer in both libraries: (max relative difference of the outputs, dlscratch's and
    torch's median forward+backward ms, per-round forward ratios, forward+backward ratios)."""
    x = rng.standard_normal((ARGS.images, C, H, H), dtype=np.float32)
    ours = Conv2d(C, FN, 3, pad=pad, rng=0)
    ours.compute_dx = C != 1
    ref = torch.nn.Conv2d(C, FN, 3, padding=pad)
    with torch.no_grad():  # the same function in both
        ref.weight.copy_(torch.from_numpy(ours.W))
        ref.bias.copy_(torch.from_numpy(ours.b))
    xt = torch.from_numpy(x).requires_grad_(C != 1)
    out = ours.forward(x)
    gap = float(np.abs(out - ref(xt).detach().numpy()).max() / np.abs(out).max())
    dout = rng.standard_normal(out.shape, dtype=np.float32)
    dt = torch.from_numpy(dout)

    def ours_fwd():
        ours.forward(x)

    def ours_both():
        ours.zero_grad()
        ours.forward(x)
        ours.backward(dout)

    def ref_fwd():
        with torch.no_grad():
            ref(xt)

    def ref_both():
        ref.zero_grad()
        xt.grad = None
        ref(xt).backward(dt)

    ratios_f, ratios_b, t_ours, t_ref = [], [], [], []
    for fn in (ours_both, ref_both):  # warm-up
        fn()
    for r in range(ARGS.rounds):
        pairs = [(ours_fwd, ours_both), (ref_fwd, ref_both)]
        if r % 2:
            pairs.reverse()
        got = {}
        for f, b in pairs:
            got[f] = (time_calls(f, ARGS.calls), time_calls(b, ARGS.calls))
        (of, ob), (rf, rb) = got[ours_fwd], got[ref_fwd]
        ratios_f.append(rf / of)
        ratios_b.append(rb / ob)
        t_ours.append(ob)
        t_ref.append(rb)
    return (gap, statistics.median(t_ours) * 1e3, statistics.median(t_ref) * 1e3, ratios_f,
            ratios_b)


def main() -> None:
    import torch

    torch.set_num_threads(ARGS.threads)
    print(f"DeepConvNet's convolutions, {ARGS.images} images, {ARGS.threads} thread(s), "
          f"float32, {ARGS.rounds} alternating rounds; NumPy {np.__version__}, torch "
          f"{torch.__version__}")
    print(f"single-core GEMM before: {gemm_rate():.1f} GFLOP/s")
    rng = np.random.default_rng(0)
    if ARGS.threads == 1:
        from threadpoolctl import threadpool_limits

        context = contextlib.ExitStack()
        context.enter_context(threadpool_limits(1, "blas"))
        context.enter_context(conv_in_pieces(PIECE_BYTES))
    else:
        context = contextlib.nullcontext()
    rows = []
    with context:
        for C, FN, H, pad in LAYERS:
            rows.append((C, FN, H, pad, *measure_layer(torch, rng, C, FN, H, pad)))
    print()
    print("| layer | dlscratch fwd+bwd ms | torch fwd+bwd ms | t_torch / t_dlscratch: forward "
          "| forward + backward | max rel. difference of the outputs |")
    print("|---|---|---|---|---|---|")
    for C, FN, H, pad, gap, mo, mr, rf, rb in rows:
        print(f"| {C}->{FN}, {H}x{H}, pad {pad} | {mo:.2f} | {mr:.2f} | "
              f"{statistics.median(rf):.2f}x ({min(rf):.2f}-{max(rf):.2f}) | "
              f"{statistics.median(rb):.2f}x ({min(rb):.2f}-{max(rb):.2f}) | {gap:.1e} |")
    total_o = sum(r[5] for r in rows)
    total_r = sum(r[6] for r in rows)
    print(f"\nall six, medians: dlscratch {total_o:.1f} ms, torch {total_r:.1f} ms "
          f"({total_r / total_o:.2f}x)")
    print(f"single-core GEMM after: {gemm_rate():.1f} GFLOP/s")


if __name__ == "__main__":
    main()
