"""The long extras of bench_cnn.py: a cProfile of SimpleConvNet's training and the
Fashion-MNIST accuracy runs (``--profile``, ``--accuracy``)."""

from __future__ import annotations

import time

import numpy as np
from _bench_nets import BATCH, Ours, Torch, load_fashion

from dlscratch.data import random_hflip
from dlscratch.lr_scheduler import CosineAnnealingLR


# ----------------------------------------------------------------------------- profile
def bench_profile(x, t) -> None:
    """cProfile of 30 SimpleConvNet training steps, by own time."""
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
def bench_accuracy(args, torch) -> None:
    """Train for the epochs of bench_cnn.py's ``args``; test accuracy after each epoch."""
    data = load_fashion(args.data_dir)
    if data is None:
        print("\n--accuracy needs Fashion-MNIST: apt-get install -y dataset-fashion-mnist")
        return
    (x_train, t_train), (x_test, t_test) = data
    if args.accuracy_of == "torch":
        if torch is None:
            raise SystemExit("--accuracy-of torch needs PyTorch: pip install torch==2.13.0 "
                             "(and no --no-torch)")
        if args.lr_decay != 1.0:
            raise SystemExit("--lr-decay is for dlscratch's run; use --cosine")
    for kind, epochs, target in (("simple", args.simple_epochs, 0.89),
                                 ("deep", args.deep_epochs, 0.92)):
        if args.accuracy not in (kind, "both"):
            continue
        maker = Torch if args.accuracy_of == "torch" else Ours
        impl = maker(kind, dropout_ratio=args.deep_dropout, lr=args.lr, seed=args.seed)
        rng = np.random.default_rng(args.seed)
        iters = epochs * -(-len(x_train) // args.batch)
        schedule = None
        if args.cosine:
            cosine = (torch.optim.lr_scheduler.CosineAnnealingLR if args.accuracy_of == "torch"
                      else CosineAnnealingLR)
            schedule = cosine(impl.opt, T_max=iters)
        label = "SimpleConvNet" if kind == "simple" else "DeepConvNet"
        label += " (PyTorch)" if args.accuracy_of == "torch" else ""
        print(f"\n{label} on Fashion-MNIST, {epochs} epochs (target >= {target:.0%}); "
              f"dropout {args.deep_dropout}, lr {args.lr}, cosine {args.cosine}, "
              f"hflip {args.hflip}, batch {args.batch}, seed {args.seed}", flush=True)
        for epoch in range(1, epochs + 1):
            t0 = time.perf_counter()
            order = rng.permutation(len(x_train))
            for i in range(0, len(order), args.batch):
                idx = order[i:i + args.batch]
                x = random_hflip(x_train[idx], rng=rng) if args.hflip else x_train[idx]
                impl.step(x, t_train[idx])
                if schedule is not None:
                    schedule.step()
            seconds = time.perf_counter() - t0
            acc = impl.accuracy(x_test, t_test)
            train_acc = impl.accuracy(x_train[:10_000], t_train[:10_000])
            lr = (impl.opt.param_groups[0]["lr"] if args.accuracy_of == "torch"
                  else impl.opt.lr)
            print(f"  epoch {epoch:2d}: {seconds:6.1f} s, lr {lr:.2e}, "
                  f"test accuracy {acc:.4f} (train, first 10,000: {train_acc:.4f})", flush=True)
            if schedule is None and args.lr_decay != 1.0:
                impl.opt.lr *= args.lr_decay
