"""The ``dlscratch`` command line.

    dlscratch train                               # MLP on the bundled MNIST sample, offline
    dlscratch train --model cnn --epochs 3 --out runs/cnn
    dlscratch train --resume runs/cnn             # continue an interrupted run
    dlscratch evaluate runs/cnn/model.npz         # accuracy, per class, confusion matrix
    dlscratch predict runs/cnn/model.npz digit.png
    dlscratch plot runs/cnn                       # redraw the run's plots
    dlscratch datasets [--download NAME]

Every error a user can cause is one line on stderr and a non-zero exit status; ``--debug``
shows the traceback instead.
"""

from __future__ import annotations

import signal
import sys
import threading

from .._version import __version__
from ._common import CliError, Formatter, Parser, one_line

__all__ = ["CliError", "build_parser", "main"]

COMMANDS = ("train", "evaluate", "predict", "plot", "datasets", "serve")


def build_parser() -> Parser:
    """The ``dlscratch`` argument parser with all its sub-commands."""
    from . import datasets, evaluate, plot, predict, serve, train

    parser = Parser(prog="dlscratch", formatter_class=Formatter,
                    description="Deep learning from scratch in NumPy: train, evaluate and use "
                                "networks on MNIST-style data sets.")
    parser.add_argument("--version", action="version", version=f"dlscratch {__version__}")
    parser.add_argument("--debug", dest="debug_all", action="store_true",
                        help="show tracebacks of errors (also accepted after the command)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (train, evaluate, predict, plot, datasets, serve):
        module.add_parser(sub)
    return parser


def _debug_requested(argv: list[str]) -> bool:
    return "--debug" in argv[: argv.index("--") if "--" in argv else len(argv)]


def main(argv: list[str] | None = None) -> int:
    """Run ``dlscratch`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = _debug_requested(argv)
    previous = _sigterm_interrupts()
    try:
        args = build_parser().parse_args(argv)
        args.argv = argv
        return int(args.func(args) or 0)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        if debug:
            raise
        print("dlscratch: interrupted", file=sys.stderr)
        return 130
    except CliError as exc:
        if debug:
            raise
        print(f"dlscratch: error: {one_line(exc)}", file=sys.stderr)
        return exc.status
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no tracebacks
        if debug:
            raise
        print(f"dlscratch: error: {_describe(exc)}", file=sys.stderr)
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def _sigterm_interrupts():
    """Make SIGTERM stop a command like Ctrl-C does (exit status 130, no traceback).

    Returns the previous handler, or None when handlers cannot be set (not the main thread).
    """
    if threading.current_thread() is not threading.main_thread():
        return None
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    return previous if previous is not None else signal.SIG_DFL


def _describe(exc: Exception) -> str:
    """One line for an exception that was not turned into a CliError on its way up."""
    from ..datasets import DatasetError
    from ..io import ModelFileError

    message = one_line(exc)
    if isinstance(exc, (ModelFileError, DatasetError, FileNotFoundError, PermissionError)):
        return message
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename and str(exc.filename) not in message else ""
        return f"{message}{where}"
    if isinstance(exc, (ValueError, MemoryError)):
        return message or type(exc).__name__
    return (f"unexpected {type(exc).__name__}: {message}; run the command again with --debug "
            "to see the traceback and please report it")
