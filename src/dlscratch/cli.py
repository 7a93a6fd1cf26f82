"""The ``dlscratch`` command line.

    dlscratch train                      # MLP on the bundled MNIST sample, offline
    dlscratch train --model cnn --epochs 3 --save cnn.npz
    dlscratch train --dataset fashion-mnist --model cnn
    dlscratch evaluate cnn.npz --dataset mnist-sample
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

MODELS = ("mlp", "twolayer", "cnn", "deepcnn")


def _load(dataset: str, flatten: bool, data_dir: str | None):
    from .datasets import load_mnist

    return load_mnist(normalize=True, flatten=flatten, dataset=dataset, data_dir=data_dir)


def _build(name: str, seed: int):
    from . import models

    if name == "mlp":
        return models.MultiLayerNet(784, [100, 100], 10, activation="relu", rng=seed)
    if name == "twolayer":
        return models.TwoLayerNet(784, 50, 10, activation="relu", weight_init_std=0.1, rng=seed)
    if name == "cnn":
        return models.SimpleConvNet(rng=seed)
    return models.DeepConvNet(rng=seed)


def cmd_train(args: argparse.Namespace) -> int:
    from .trainer import Trainer

    flatten = args.model in ("mlp", "twolayer")
    t0 = time.perf_counter()
    (x_train, t_train), (x_test, t_test) = _load(args.dataset, flatten, args.data_dir)
    print(f"dataset {args.dataset}: {len(x_train)} training and {len(x_test)} test images "
          f"({time.perf_counter() - t0:.1f} s)")
    if args.limit:
        x_train, t_train = x_train[:args.limit], t_train[:args.limit]
    net = _build(args.model, args.seed)
    print(f"model {args.model}: {sum(p.data.size for p in net.parameters()):,} parameters")
    trainer = Trainer(net, x_train, t_train, x_test, t_test, epochs=args.epochs,
                      mini_batch_size=args.batch_size, optimizer=args.optimizer,
                      optimizer_param={"lr": args.lr}, verbose=not args.quiet, rng=args.seed)
    t0 = time.perf_counter()
    trainer.train()
    elapsed = time.perf_counter() - t0
    net.eval()
    acc = net.accuracy(x_test, t_test, batch_size=500)
    print(f"test accuracy {acc:.4f} after {args.epochs} epochs ({elapsed:.1f} s, "
          f"{elapsed / max(args.epochs, 1):.1f} s/epoch)")
    if args.save:
        from .io import save

        path = save(net, args.save)
        print(f"saved to {path}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .io import load_model

    net = load_model(args.path)
    net.eval()
    conv = type(net).__name__ in ("SimpleConvNet", "DeepConvNet")
    _, (x_test, t_test) = _load(args.dataset, not conv, args.data_dir)
    acc = net.accuracy(x_test, t_test, batch_size=500)
    print(f"{type(net).__name__} from {args.path}: test accuracy {acc:.4f} on {args.dataset}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dlscratch",
                                description="Deep learning from scratch in NumPy.")
    sub = p.add_subparsers(dest="command", required=True)
    tr = sub.add_parser("train", help="train a network and print its test accuracy")
    tr.add_argument("--model", choices=MODELS, default="mlp")
    tr.add_argument("--dataset", default="mnist-sample",
                    help="mnist-sample (bundled, offline), mnist or fashion-mnist")
    tr.add_argument("--data-dir", default=None, help="folder holding the dataset's .gz files")
    tr.add_argument("--epochs", type=int, default=5)
    tr.add_argument("--batch-size", type=int, default=100)
    tr.add_argument("--optimizer", default="Adam")
    tr.add_argument("--lr", type=float, default=1e-3)
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--limit", type=int, default=0, help="use only the first N training images")
    tr.add_argument("--save", default=None, help="write the trained model to this .npz file")
    tr.add_argument("--quiet", action="store_true")
    tr.set_defaults(func=cmd_train)
    ev = sub.add_parser("evaluate", help="test accuracy of a saved model")
    ev.add_argument("path")
    ev.add_argument("--dataset", default="mnist-sample")
    ev.add_argument("--data-dir", default=None)
    ev.set_defaults(func=cmd_evaluate)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError) as e:
        print(f"dlscratch: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    np.set_printoptions(linewidth=120)
    sys.exit(main())
