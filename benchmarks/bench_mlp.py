"""MLP throughput: dlscratch vs PyTorch on the CPU (same thread count, same run).

784-100-100-10 ReLU network, batch 100, float32: training steps with SGD and Adam, and
inference, in images per second.
Run:  python benchmarks/bench_mlp.py [--steps 300] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from dlscratch.models import MultiLayerNet
from dlscratch.optim import SGD, Adam


def best_rate(fn, n_images: int, repeat: int) -> float:
    """Images per second of the fastest of ``repeat`` timed runs of fn (after one warm-up)."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return n_images / best


def ours(x, t, steps, opt_name):
    net = MultiLayerNet(784, [100, 100], 10, activation="relu", rng=0)
    opt = (SGD(net.parameters(), lr=0.01) if opt_name == "sgd"
           else Adam(net.parameters(), lr=1e-3))
    bs = 100

    def train():
        for i in range(steps):
            j = (i * bs) % (len(x) - bs)
            net.gradient(x[j:j + bs], t[j:j + bs])
            opt.step()

    def infer():
        for j in range(0, len(x), 1000):
            net.predict(x[j:j + 1000])

    return train, infer


def torch_fns(x, t, steps, opt_name):
    import torch

    model = torch.nn.Sequential(torch.nn.Linear(784, 100), torch.nn.ReLU(),
                                torch.nn.Linear(100, 100), torch.nn.ReLU(),
                                torch.nn.Linear(100, 10))
    opt = (torch.optim.SGD(model.parameters(), lr=0.01) if opt_name == "sgd"
           else torch.optim.Adam(model.parameters(), lr=1e-3))
    lossf = torch.nn.CrossEntropyLoss()
    xt = torch.from_numpy(x)
    tt = torch.from_numpy(t.astype(np.int64))
    bs = 100

    def train():
        for i in range(steps):
            j = (i * bs) % (len(x) - bs)
            opt.zero_grad(set_to_none=True)
            loss = lossf(model(xt[j:j + bs]), tt[j:j + bs])
            loss.backward()
            opt.step()

    def infer():
        with torch.no_grad():
            for j in range(0, len(x), 1000):
                model(xt[j:j + 1000])

    return train, infer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    args = ap.parse_args()

    rng = np.random.default_rng(0)
    x = rng.random((10_000, 784), dtype=np.float32)
    t = rng.integers(0, 10, 10_000)
    n_train = args.steps * 100

    try:
        import torch

        torch.set_num_threads(args.threads)
        have_torch = True
    except ImportError:
        have_torch = False
        print("PyTorch not installed: only dlscratch figures (pip install torch==2.13.0)")

    print(f"threads={args.threads}  numpy={np.__version__}"
          + (f"  torch={torch.__version__}" if have_torch else ""))
    print(f"{'case':<24}{'dlscratch img/s':>18}{'torch img/s':>14}{'ratio':>8}")
    for opt_name in ("sgd", "adam"):
        tr, inf = ours(x, t, args.steps, opt_name)
        r_ours = best_rate(tr, n_train, args.repeat)
        if have_torch:
            ttr, tinf = torch_fns(x, t, args.steps, opt_name)
            r_t = best_rate(ttr, n_train, args.repeat)
            print(f"{'train ' + opt_name:<24}{r_ours:>18,.0f}{r_t:>14,.0f}{r_ours / r_t:>8.2f}")
        else:
            print(f"{'train ' + opt_name:<24}{r_ours:>18,.0f}")
    r_inf = best_rate(inf, len(x), args.repeat)
    if have_torch:
        r_tinf = best_rate(tinf, len(x), args.repeat)
        print(f"{'inference':<24}{r_inf:>18,.0f}{r_tinf:>14,.0f}{r_inf / r_tinf:>8.2f}")
    else:
        print(f"{'inference':<24}{r_inf:>18,.0f}")


if __name__ == "__main__":
    main()
