"""``dlscratch predict``: classify image files (PNG, JPEG) with a saved model."""

from __future__ import annotations

import argparse
import sys

import numpy as np

from . import _common as c


def add_parser(sub) -> None:
    from ..datasets.sources import DATASETS

    pr = sub.add_parser(
        "predict", formatter_class=c.Formatter,
        help="the class and top-3 probabilities of each image file",
        description="Classify images with a saved model. Each image is turned into an MNIST-style "
                    "input: grayscale, fitted into 28x28 keeping its aspect ratio, centred, and "
                    "inverted when it is dark ink on light paper.")
    pr.add_argument("model_file", metavar="MODEL_FILE",
                    help="a model file written by dlscratch, or a run folder")
    pr.add_argument("images", metavar="IMAGE", nargs="+", help="PNG or JPEG files")
    pr.add_argument("--dataset", choices=DATASETS, default=None,
                    help="whose class names to print (default: the model's run's data set, else "
                         "the digits 0-9)")
    pr.add_argument("--top", type=c.positive_int, default=3, help="how many classes to list")
    pr.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    pr.set_defaults(func=run)


def probabilities(net, x: np.ndarray) -> np.ndarray:
    """Softmax of the network's scores for ``x``, in eval mode, as float64 (N, K)."""
    from ..functions import softmax

    was_training = getattr(net, "training", None)
    if was_training is not None:
        net.eval()
    try:
        return softmax(np.asarray(net.predict(x), dtype=np.float64))
    finally:
        if was_training is not None:
            net.train(was_training)


def run(args: argparse.Namespace) -> int:
    from ..datasets.sources import class_names
    from ..images import ImageError, image_to_input
    from ..io import load_model

    path = c.model_file(args.model_file)
    net = load_model(path)
    flatten, _ = c.input_shape_for(net)
    dataset = args.dataset or (c.run_config_near(path) or {}).get("dataset") or "mnist"
    names = class_names(dataset)
    failed = 0
    for image in args.images:
        try:
            x = image_to_input(image, flatten=flatten)
        except (ImageError, OSError) as exc:
            message = c.one_line(exc)
            if image not in message:
                message = f"{image}: {message}"
            print(f"dlscratch: error: {message}", file=sys.stderr, flush=True)
            failed += 1
            continue
        p = probabilities(net, x)[0]
        order = np.argsort(-p, kind="stable")[: args.top]
        label = lambda k: names[k] if k < len(names) else str(k)  # noqa: E731
        top = ", ".join(f"{label(k)} {p[k]:.3f}" for k in order)
        print(f"{image}: {label(order[0])}  (top {len(order)}: {top})", flush=True)
    return 1 if failed else 0
