"""A local web page to draw a digit, see inside the network, and follow training runs.

>>> from dlscratch.web import create_app          # doctest: +SKIP
>>> app = create_app("runs/cnn-mnist-sample-20250101-120000", runs_dir="runs")

Needs FastAPI and uvicorn (``pip install 'dlscratch[web]'``); they are imported only when an
app is built or served, so importing this package works without them.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app", "serve"]


def create_app(*args: Any, **kwargs: Any):
    """See :func:`dlscratch.web.app.create_app`."""
    from .app import create_app as _create_app

    return _create_app(*args, **kwargs)


def serve(*args: Any, **kwargs: Any) -> None:
    """See :func:`dlscratch.web.server.serve`."""
    from .server import serve as _serve

    return _serve(*args, **kwargs)
