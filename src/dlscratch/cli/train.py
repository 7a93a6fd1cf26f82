"""``dlscratch train``: a training run with its own folder, checkpoints, resume and plots."""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

from . import _common as c

NEW_RUN_ONLY = ("model", "dataset", "seed", "batch_size", "optimizer", "lr", "limit",
                "test_limit", "out")


def add_parser(sub) -> None:
    from ..datasets.sources import DATASETS
    from ..models.registry import MODELS
    from ..optim import OPTIMIZERS

    tr = sub.add_parser(
        "train", formatter_class=c.Formatter,
        help="train a network; keeps the run in a folder (config, metrics, model, plots)",
        description="Train a network. Each run gets a folder (--out, or "
                    "runs/<model>-<dataset>-<time>) with config.json, metrics.csv, model.npz, "
                    "checkpoint.npz and plots/. Ctrl-C writes a checkpoint; --resume continues.")
    tr.add_argument("--model", choices=list(MODELS), default="mlp",
                    help="the network: " + "; ".join(
                        f"{name}: {spec.description}" for name, spec in MODELS.items()))
    tr.add_argument("--dataset", choices=DATASETS, default="mnist-sample",
                    help="the data set (mnist-sample is bundled: no download needed)")
    tr.add_argument("--data-dir", metavar="DIR", type=c.existing_dir, default=None,
                    help="a folder holding the data set's four .gz files (default: the cache; "
                         "see `dlscratch datasets`)")
    tr.add_argument("--epochs", metavar="N", type=c.positive_int, default=5,
                    help="passes over the training set")
    tr.add_argument("--batch-size", metavar="N", type=c.positive_int, default=100,
                    help="mini-batch size")
    tr.add_argument("--optimizer", type=str.lower, choices=list(OPTIMIZERS), default="adam",
                    help="the update rule")
    tr.add_argument("--lr", metavar="LR", type=c.positive_float, default=1e-3, help="learning rate")
    tr.add_argument("--seed", metavar="S", type=c.non_negative_int, default=0,
                    help="seeds the initial weights and the shuffling")
    tr.add_argument("--limit", metavar="N", type=c.positive_int, default=None,
                    help="train on the first N training images only (default: all)")
    tr.add_argument("--test-limit", metavar="N", type=c.positive_int, default=None,
                    help="evaluate on the first N test images only (default: all)")
    tr.add_argument("--out", metavar="DIR", type=c.non_empty_path, default=None,
                    help="the run folder (default: runs/<model>-<dataset>-<YYYYmmdd-HHMMSS>)")
    tr.add_argument("--resume", metavar="RUN_DIR", type=c.non_empty_path, default=None,
                    help="continue the run in RUN_DIR from its checkpoint.npz, as its "
                         "config.json says (--epochs may raise the number of epochs)")
    tr.add_argument("--checkpoint-every", metavar="N", type=c.non_negative_int, default=0,
                    help="also write checkpoint.npz every N steps (0: only after each epoch)")
    tr.add_argument("--save", metavar="FILE", default=None,
                    help="also copy the final model to FILE (checked before training)")
    tr.add_argument("--no-plots", action="store_true",
                    help="skip drawing the PNG plots (`dlscratch plot RUN_DIR` draws them later)")
    tr.add_argument("--threads", metavar="N", type=c.positive_int, default=1,
                    help="split each batch over N threads (net.set_num_threads; needs "
                         "threadpoolctl: pip install \"dlscratch[parallel]\"); 2 on a 2-core "
                         "machine trains the CNNs and the small ResNet 1.2-1.5x faster")
    tr.add_argument("--processes", action="store_true",
                    help="with --threads N: run the parts after the first in worker processes "
                         "instead of threads (Linux; the same numbers, without the threads' "
                         "turns at Python's GIL: DeepConvNet trains 4-8%% faster)")
    tr.add_argument("--quiet", action="store_true", help="print only the result")
    tr.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    tr.set_defaults(func=run, parser=tr)


def _given(args: argparse.Namespace) -> set[str]:
    """The destinations of the options written on the command line."""
    argv = getattr(args, "argv", None) or []
    tokens = {tok.split("=", 1)[0] for tok in argv if tok.startswith("--")}
    return {action.dest for action in args.parser._actions
            if tokens.intersection(action.option_strings)}


def _settings(args: argparse.Namespace) -> tuple[dict, Path | None]:
    """The run's settings, and the run folder when resuming."""
    from .. import runs

    if args.resume is None:
        keys = ("model", "dataset", "epochs", "batch_size", "optimizer", "lr", "seed", "limit",
                "test_limit", "checkpoint_every")
        settings = {key: getattr(args, key) for key in keys}
        settings["data_dir"] = str(Path(args.data_dir).resolve()) if args.data_dir else None
        return settings, None
    run_dir = Path(args.resume).expanduser()
    try:
        config = runs.read_config(run_dir)
    except runs.RunError as exc:
        raise c.CliError(f"--resume: {exc}") from None
    clash = sorted(_given(args) & set(NEW_RUN_ONLY))
    if clash:
        flags = ", ".join("--" + name.replace("_", "-") for name in clash)
        raise c.CliError(f"--resume continues {run_dir} with the settings in its {runs.CONFIG}; "
                         f"{flags} cannot change them (start a new run for that)", status=2)
    if not (run_dir / runs.CHECKPOINT).is_file():
        raise c.CliError(f"--resume: {run_dir} has no {runs.CHECKPOINT} (the run stopped before "
                         f"its first checkpoint); start it again: {config.get('command', '')}")
    settings = {key: config.get(key) for key in (
        "model", "dataset", "epochs", "batch_size", "optimizer", "lr", "seed", "limit",
        "test_limit", "checkpoint_every", "data_dir")}
    given = _given(args)
    if "epochs" in given:
        settings["epochs"] = args.epochs
    if "data_dir" in given:
        settings["data_dir"] = str(Path(args.data_dir).resolve())
    if "checkpoint_every" in given:
        settings["checkpoint_every"] = args.checkpoint_every
    if settings["data_dir"] is not None and not Path(settings["data_dir"]).is_dir():
        raise c.CliError(f"the run's data folder {settings['data_dir']} is gone; give the new "
                         "place with --data-dir")
    return settings, run_dir


def run(args: argparse.Namespace) -> int:
    from .. import runs
    from ..datasets.sources import class_names
    from ..models.registry import build_model, get_spec

    settings, resume_dir = _settings(args)
    say = (lambda *a, **k: None) if args.quiet else print  # noqa: E731
    spec = get_spec(settings["model"])

    # ---- everything that can be checked before training
    (x_train, t_train), (x_test, t_test) = c.load_data(settings["dataset"], spec.flatten,
                                                       settings["data_dir"])
    if settings["limit"]:
        x_train, t_train = x_train[:settings["limit"]], t_train[:settings["limit"]]
    if settings["test_limit"]:
        x_test, t_test = x_test[:settings["test_limit"]], t_test[:settings["test_limit"]]
    save_path = c.check_output_file(args.save, "--save") if args.save is not None else None
    net = build_model(settings["model"], rng=settings["seed"])
    _set_threads(net, args.threads, settings["model"], args.processes)
    if resume_dir is None:
        try:
            run_dir = runs.create_run_dir(args.out, settings["model"], settings["dataset"])
        except runs.RunError as exc:
            raise c.CliError(f"--out: {exc}") from None
        except OSError as exc:
            where = Path(args.out) if args.out is not None else Path("runs")
            raise c.CliError(f"cannot create the run folder {where} "
                             f"({exc.strerror or exc}); choose another with --out") from None
    else:
        run_dir = resume_dir
    c.check_writable_dir(run_dir, "the run folder")
    trainer = _trainer(net, settings, run_dir, (x_train, t_train, x_test, t_test), args.quiet)
    if resume_dir is not None:
        _load_checkpoint(trainer, run_dir / runs.CHECKPOINT)
    command = "dlscratch " + shlex.join(getattr(args, "argv", None) or sys.argv[1:])
    config = _config(settings, command, resume_dir, run_dir, len(x_train), len(x_test))
    config["threads"] = args.threads  # Dropout's masks depend on it (one stream per part)
    config["processes"] = args.processes  # they do not depend on this
    runs.write_config(run_dir, config)

    # ---- training
    n_params = sum(p.data.size for p in net.parameters())
    say(f"run folder: {run_dir}")
    say(f"dataset {settings['dataset']}: {len(x_train):,} training and {len(x_test):,} test "
        "images")
    say(f"model {settings['model']}: {n_params:,} parameters; {settings['epochs']} epochs of "
        f"{trainer.iter_per_epoch} steps (batch size {settings['batch_size']}), "
        f"{settings['optimizer']} lr {settings['lr']:g}")
    if resume_dir is not None:
        say(f"resuming from {run_dir / runs.CHECKPOINT}: {trainer.current_epoch} epochs done, "
            f"step {trainer.step_in_epoch} of {trainer.iter_per_epoch} in epoch "
            f"{trainer.current_epoch + 1} (step {trainer.current_iter} in all)")
    say("training started", flush=True)
    import numpy as np

    # overflow warnings would bury the one-line error for a diverging run (--debug shows them)
    with np.errstate(all="warn" if args.debug else "ignore"):
        status = _fit(trainer, run_dir)
    if status:
        return status

    # ---- the results
    y = runs.predict_labels(net, x_test)
    acc = float((y == t_test).mean())
    from ..io import save

    save(net, run_dir / runs.MODEL)
    if save_path is not None:
        from .._files import atomic_write_bytes

        atomic_write_bytes(save_path, (run_dir / runs.MODEL).read_bytes())
    if not args.no_plots:
        runs.write_plots(run_dir, net, x_test, t_test, class_names(settings["dataset"]))
    elapsed = sum(trainer.history.history["seconds"])
    epochs_done = len(trainer.history)
    print(f"test accuracy {acc:.4f} after {epochs_done} epochs ({elapsed:.1f} s of training)"
          + (f"; run folder: {run_dir}" if args.quiet else ""))
    if save_path is not None:
        say(f"model also saved to {save_path}")
    say(f"run folder: {run_dir} (config.json, metrics.csv, model.npz, checkpoint.npz"
        + (")" if args.no_plots else ", plots/)"))
    say(f"next: dlscratch evaluate {shlex.quote(str(run_dir / runs.MODEL))}"
        f"  |  dlscratch plot {shlex.quote(str(run_dir))}")
    return 0


def _set_threads(net, threads: int, model: str, processes: bool = False) -> None:
    """``net.set_num_threads(threads, processes=processes)``, refused before the run starts
    when threadpoolctl is missing, or processes are asked for without threads or off Linux."""
    if processes and threads == 1:
        raise c.CliError("--processes runs the parts of a batch split by --threads N in "
                         "worker processes: give --threads 2 (or more) too", status=2)
    if threads == 1:
        return
    try:
        net.set_num_threads(threads, processes=processes)
    except (ValueError, ImportError) as exc:
        flags = f"--threads {threads}" + (" --processes" if processes else "")
        raise c.CliError(f"{flags} with --model {model}: {exc}", status=2) from None


def _config(settings, command, resume_dir, run_dir, n_train, n_test) -> dict:
    import platform

    import numpy as np

    from .. import runs
    from .._version import __version__

    previous = runs.read_config(run_dir) if resume_dir is not None else {}
    config = dict(previous)
    config.update(settings)
    config.update({
        "dlscratch_version": __version__, "numpy_version": np.__version__,
        "python_version": platform.python_version(), "train_size": n_train,
        "test_size": n_test,
    })
    if resume_dir is None:
        config["command"] = command
        config["created"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    else:
        config["resumed"] = [*previous.get("resumed", []), {
            "command": command, "at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}]
    config.pop("format", None)
    config.pop("format_version", None)
    return config


def _trainer(net, settings, run_dir, data, quiet):
    from .. import runs
    from ..callbacks import CSVLogger, ModelCheckpoint, ProgressBar
    from ..trainer import Trainer

    callbacks = [
        ProgressBar(mode="quiet" if quiet else "auto"),
        CSVLogger(run_dir / runs.METRICS),
        ModelCheckpoint(run_dir / runs.CHECKPOINT,
                        every_n_steps=settings["checkpoint_every"] or None),
    ]
    return Trainer(net, *data, epochs=settings["epochs"], mini_batch_size=settings["batch_size"],
                   optimizer=settings["optimizer"], optimizer_param={"lr": settings["lr"]},
                   verbose=False, rng=settings["seed"], callbacks=callbacks)


def _load_checkpoint(trainer, path: Path) -> None:
    """Restore the trainer from the run's checkpoint; problems become one-line errors."""
    from ..io import ModelFileError

    try:
        trainer.load_checkpoint(path)
    except (ModelFileError, ValueError, KeyError) as exc:
        raise c.CliError(f"--resume: cannot continue from {path}: {c.one_line(exc)}") from None


def _fit(trainer, run_dir: Path) -> int:
    """Train; returns 0, or 130 after Ctrl-C / SIGTERM (checkpoint written, advice printed)."""
    from .._interrupt import NonFiniteLossError, TrainingInterrupted

    try:
        trainer.fit()
    except TrainingInterrupted as exc:
        where = (f"epoch {exc.epoch + 1} step {exc.step_in_epoch}" if exc.step_in_epoch
                 else f"the end of epoch {exc.epoch}")
        saved = f"checkpoint saved in {exc.checkpoint_path}; " if exc.checkpoint_path else ""
        print(f"interrupted at {where} (step {exc.step} in all); {saved}resume with: "
              f"dlscratch train --resume {shlex.quote(str(run_dir))}", file=sys.stderr,
              flush=True)
        return 130
    except NonFiniteLossError as exc:
        raise c.CliError(c.one_line(exc)) from None
    return 0
