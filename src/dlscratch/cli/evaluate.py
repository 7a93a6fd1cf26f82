"""``dlscratch evaluate``: a saved model's accuracy, per-class accuracy and confusion matrix."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from . import _common as c


def add_parser(sub) -> None:
    from ..datasets.sources import DATASETS

    ev = sub.add_parser(
        "evaluate", formatter_class=c.Formatter,
        help="test accuracy, per-class accuracy and confusion matrix of a saved model",
        description="Evaluate a model file (or a run folder's model.npz) on a data set's test "
                    "images.")
    ev.add_argument("model_file", metavar="MODEL_FILE",
                    help="a model file written by dlscratch (model.npz, checkpoint.npz, --save), "
                         "or a run folder")
    ev.add_argument("--dataset", choices=DATASETS, default=None,
                    help="the test set (default: the data set of the model's run folder, else "
                         "mnist-sample)")
    ev.add_argument("--data-dir", metavar="DIR", type=c.existing_dir, default=None,
                    help="a folder holding the data set's four .gz files")
    ev.add_argument("--limit", metavar="N", type=c.positive_int, default=None,
                    help="evaluate on the first N test images only (default: all)")
    ev.add_argument("--out", metavar="DIR", type=c.non_empty_path, default=None,
                    help="also write confusion_matrix.png into this folder")
    ev.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    ev.set_defaults(func=run)


def dataset_and_dir(path: Path, dataset: str | None, data_dir: str | None
                    ) -> tuple[str, str | None]:
    """The data set to use for a model file: the option, else its run's, else mnist-sample."""
    config = c.run_config_near(path) or {}
    if dataset is None:
        dataset = config.get("dataset") or "mnist-sample"
        run_dir = config.get("data_dir")
        if data_dir is None and dataset == config.get("dataset") and run_dir:
            data_dir = run_dir if Path(run_dir).is_dir() else None
    return dataset, data_dir


def format_report(cm: np.ndarray, class_names: list[str]) -> str:
    """Per-class accuracy and the confusion matrix (rows: true class, columns: predicted)."""
    from ..metrics import per_class_accuracy

    acc = per_class_accuracy(cm)
    width = max(len(name) for name in class_names)
    lines = ["per-class accuracy:"]
    for name, a, n in zip(class_names, acc, cm.sum(axis=1)):
        lines.append(f"  {name:>{width}}  {a:.4f}  ({n} images)")
    cell = max(len(str(int(cm.max()))), 3) + 1
    short = [name[:cell - 1] for name in class_names]
    lines.append("confusion matrix (rows: true class, columns: predicted class):")
    lines.append(" " * (width + 2) + "".join(f"{s:>{cell}}" for s in short))
    for name, row in zip(class_names, cm):
        lines.append(f"  {name:>{width}}" + "".join(f"{int(v):>{cell}}" for v in row))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from .. import runs
    from ..datasets.sources import class_names
    from ..io import load_model
    from ..metrics import confusion_matrix

    path = c.model_file(args.model_file)
    out = None
    if args.out is not None:
        out = Path(args.out).expanduser()
        c.check_writable_dir(out, "--out")
    net = load_model(path)
    flatten, name = c.input_shape_for(net)
    dataset, data_dir = dataset_and_dir(path, args.dataset, args.data_dir)
    _, (x_test, t_test) = c.load_data(dataset, flatten, data_dir)
    if args.limit:
        x_test, t_test = x_test[:args.limit], t_test[:args.limit]
    names = class_names(dataset)
    y = runs.predict_labels(net, x_test)
    acc = float((y == t_test).mean())
    cm = confusion_matrix(t_test, y, len(names))
    print(f"{name} ({type(net).__name__}) from {path}: test accuracy {acc:.4f} on {dataset} "
          f"({len(t_test):,} images)")
    print(format_report(cm, names))
    if out is not None:
        from ..plot import plot_confusion_matrix

        target = out / "confusion_matrix.png"
        plot_confusion_matrix(cm, class_names=names, path=target)
        print(f"wrote {target}")
    return 0
