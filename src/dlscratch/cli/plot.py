"""``dlscratch plot``: redraw a run's plots from its metrics.csv and model.npz."""

from __future__ import annotations

import argparse
from pathlib import Path

from . import _common as c


def add_parser(sub) -> None:
    pl = sub.add_parser(
        "plot", formatter_class=c.Formatter,
        help="redraw a run's plots (learning curves, confusion matrix, mistakes, filters)",
        description="Redraw the PNG plots in RUN_DIR/plots from the run's metrics.csv and "
                    "model.npz (or its checkpoint.npz while the run is unfinished).")
    pl.add_argument("run_dir", metavar="RUN_DIR", help="a run folder made by `dlscratch train`")
    pl.add_argument("--data-dir", metavar="DIR", type=c.existing_dir, default=None,
                    help="where the run's data set is now (default: where it was)")
    pl.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    pl.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import runs
    from ..datasets.sources import class_names
    from ..io import load_model
    from ..models.registry import get_spec

    run_dir = Path(args.run_dir).expanduser()
    try:
        config = runs.read_config(run_dir)
    except runs.RunError as exc:
        raise c.CliError(str(exc)) from None
    model_path = run_dir / runs.MODEL
    if not model_path.is_file():
        model_path = run_dir / runs.CHECKPOINT
        if not model_path.is_file():
            raise c.CliError(f"{run_dir} has neither {runs.MODEL} nor {runs.CHECKPOINT}; the run "
                             "has not finished an epoch")
        print(f"{runs.MODEL} is not there yet (unfinished run): using {model_path}")
    try:
        metrics = runs.read_metrics(run_dir / runs.METRICS)
    except runs.RunError as exc:
        raise c.CliError(str(exc)) from None
    net = load_model(model_path)
    try:
        spec = get_spec(config["model"])
    except ValueError as exc:
        raise c.CliError(f"{run_dir / runs.CONFIG}: {exc}") from None
    data_dir = args.data_dir or config.get("data_dir")
    if data_dir is not None and not Path(data_dir).is_dir():
        raise c.CliError(f"the run's data folder {data_dir} is gone; give its new place with "
                         "--data-dir")
    _, (x_test, t_test) = c.load_data(config["dataset"], spec.flatten, data_dir)
    written = runs.write_plots(run_dir, net, x_test, t_test, class_names(config["dataset"]),
                               metrics)
    for path in written.values():
        print(f"wrote {path}")
    return 0
