"""Starting the web server: which model to serve by default, and uvicorn on a local address."""

from __future__ import annotations

import os
import threading
import webbrowser
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .runs_index import newest_model

__all__ = ["LOCAL_HOSTS", "QUICK_MODEL", "default_model", "quick_model", "serve"]

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
#: what ``dlscratch serve`` trains when there is no run: an MLP on the bundled sample
QUICK_MODEL = {"model": "mlp", "dataset": "mnist-sample", "epochs": 3, "batch_size": 100,
               "lr": 1e-3, "seed": 0}


def quick_model(epochs: int = QUICK_MODEL["epochs"], rng=QUICK_MODEL["seed"],
                limit: int | None = None):
    """Train the registry's ``mlp`` on the bundled MNIST sample, in memory (a few seconds).

    Parameters
    ----------
    epochs : int
        Passes over the 8,000 training images (Adam, lr 1e-3, batches of 100).
    rng : None, int or Generator
        Seeds the weights and the shuffling.
    limit : int, optional
        Train on the first ``limit`` images only.

    Returns
    -------
    (Net, str)
        The trained network (eval mode) and a sentence saying what it is, with its test
        accuracy on the 2,000 sample test images.
    """
    from ..datasets import load_mnist
    from ..models.registry import build_model
    from ..trainer import Trainer

    (x, t), (x_test, t_test) = load_mnist(dataset=QUICK_MODEL["dataset"], flatten=True)
    if limit is not None:
        x, t = x[:limit], t[:limit]
    net = build_model(QUICK_MODEL["model"], rng=rng)
    trainer = Trainer(net, x, t, x_test, t_test, epochs=epochs,
                      mini_batch_size=QUICK_MODEL["batch_size"], optimizer="adam",
                      optimizer_param={"lr": QUICK_MODEL["lr"]}, verbose=False, rng=rng)
    trainer.fit()
    net.eval()
    acc = float((net.predict_labels(x_test) == t_test).mean())
    return net, (f"mlp trained just now on mnist-sample ({len(x)} images, {epochs} epochs; "
                 f"test accuracy {acc:.3f}); not saved")


def default_model(target: str | os.PathLike | None, runs_dir: str | os.PathLike = "runs",
                  say: Callable[[str], Any] = print) -> tuple[Any, str | None]:
    """What ``dlscratch serve [TARGET]`` serves: ``(model or path, source or None)``.

    ``target`` when given; else the newest run's model under ``runs_dir``; else
    :func:`quick_model` (announced through ``say``, as it takes a few seconds).
    """
    if target is not None:
        return Path(target), None
    found = newest_model(runs_dir)
    if found is not None:
        say(f"serving the newest run's model: {found}")
        return found, None
    say(f"no run with a model under {runs_dir}/: training a quick {QUICK_MODEL['model']} on "
        f"{QUICK_MODEL['dataset']} ({QUICK_MODEL['epochs']} epochs, a few seconds)...")
    net, source = quick_model()
    say(source)
    return net, source


def _check_free(host: str, port: int) -> None:
    """OSError (with its strerror) now if ``host:port`` cannot be listened on."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))


def serve(app, host: str = "127.0.0.1", port: int = 8000, open_browser: bool = False,
          say: Callable[[str], Any] = print, log_level: str = "warning") -> None:
    """Serve ``app`` with uvicorn until Ctrl-C; print the address (and open it if asked).

    A ``host`` other than the loopback addresses makes the page reachable from other machines;
    the caller warns about that. Port 0 picks a free port (the printed address says which).
    """
    try:
        import uvicorn
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("the web page needs uvicorn: pip install 'dlscratch[web]'") from e

    _check_free(host, port)
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level,
                            server_header=False, timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)

    def announce() -> None:
        while not server.started:
            if server.should_exit:
                return
            threading.Event().wait(0.05)
        bound = port
        for s in getattr(server, "servers", []):
            for sock in getattr(s, "sockets", []):
                bound = sock.getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else shown
        url = f"http://{shown}:{bound}/"
        say(f"dlscratch is serving at {url}  (runs page: {url}runs; Ctrl-C stops it)")
        if open_browser:
            webbrowser.open(url)

    threading.Thread(target=announce, daemon=True).start()
    server.run()
