"""``dlscratch serve``: a local web page to draw digits, look inside the network, follow runs."""

from __future__ import annotations

import argparse
from pathlib import Path

from . import _common as c


def add_parser(sub) -> None:
    sv = sub.add_parser(
        "serve", formatter_class=c.Formatter,
        help="a local web page: draw a digit, see every layer respond, follow training runs",
        description="Serve a local web page for a model: draw a digit and see the prediction, "
                    "the input as the network sees it, the feature maps and the filters; and "
                    "the runs page with learning curves, confusion matrices and mistakes. "
                    "Without RUN_DIR_OR_MODEL_FILE it serves the newest run under --runs-dir, "
                    "or trains a quick mlp on the bundled sample (a few seconds, not saved). "
                    "Needs pip install 'dlscratch[web]'.")
    sv.add_argument("target", metavar="RUN_DIR_OR_MODEL_FILE", nargs="?", default=None,
                    type=c.non_empty_path,
                    help="a run folder or a model file (default: the newest run under "
                         "--runs-dir)")
    sv.add_argument("--runs-dir", metavar="DIR", default="runs",
                    help="the folder whose runs the runs page lists")
    sv.add_argument("--host", default="127.0.0.1",
                    help="the address to listen on; anything but 127.0.0.1/localhost makes the "
                         "page reachable from other machines")
    sv.add_argument("--port", type=_port, default=8000, help="the port (0: any free port)")
    sv.add_argument("--open", action="store_true", help="open the page in a web browser")
    sv.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    sv.set_defaults(func=run)


def _port(text: str) -> int:
    value = c.non_negative_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"must be at most 65535, got {value}")
    return value


def run(args: argparse.Namespace) -> int:
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise c.CliError("the web page needs FastAPI and uvicorn: pip install "
                         "'dlscratch[web]'") from None
    from ..web import create_app, serve
    from ..web.server import LOCAL_HOSTS, default_model

    if args.target is not None:
        c.model_file(args.target)  # one-line error for a missing file or an empty folder
    model, source = default_model(args.target, Path(args.runs_dir), say=print)
    app = create_app(model, runs_dir=args.runs_dir, source=source)
    if args.host not in LOCAL_HOSTS:
        c.stderr(f"dlscratch: warning: --host {args.host} makes the page and its API reachable "
                 "from other machines on the network; use it only on a network you trust")
    try:
        serve(app, host=args.host, port=args.port, open_browser=args.open)
    except OSError as exc:
        raise c.CliError(f"cannot listen on {args.host}:{args.port} "
                         f"({exc.strerror or exc}); choose another --port") from None
    return 0
