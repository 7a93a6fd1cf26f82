"""The web application: a JSON API and the draw and runs pages (FastAPI / Starlette).

Routes
------
``GET /``                              the draw page
``GET /runs``                          the runs page
``GET /static/...``                    the pages' scripts and styles (all inside the package)
``POST /api/predict``                  body: one image file (PNG, JPEG, ...), at most
                                       ``max_body`` bytes -> ``{"class", "class_name",
                                       "probabilities", "input" (28x28), "activations"}``
``GET /api/model``                     the served network: class, parameters, source, layers,
                                       first-layer filters
``GET /api/sample[?index=i]``          a test image of the model's data set (random without
                                       ``index``) with its true label and the prediction
``GET /api/runs``                      the runs under ``runs_dir``, newest first
``GET /api/runs/{name}/metrics``       a run's metrics.csv as ``{column: [values]}``
``GET /api/runs/{name}/plots/{plot}``  a run's PNG (learning_curves, confusion_matrix,
                                       misclassified, filters)

Uploads are read into memory (never written to disk, never unpickled), refused with 413 past
``max_body`` bytes and with 400 and a one-line reason when they are not a usable image
(:mod:`dlscratch.images` decides). Run names that are not a run folder directly inside
``runs_dir`` get 404.
"""

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..images import ImageError, image_to_input
from . import runs_index
from .served_model import ServedModel, load_served_model

__all__ = ["MAX_BODY", "STATIC", "create_app"]

MAX_BODY = 2 * 1024 * 1024  # bytes: a drawn digit is a few kB, a phone photo a few MB
STATIC = Path(__file__).parent / "static"
_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; "
                               "object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}


def _fastapi():
    try:
        import fastapi
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("the web page needs FastAPI and uvicorn: "
                          "pip install 'dlscratch[web]'") from e
    return fastapi


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _image_input(data: bytes, flatten: bool) -> np.ndarray:
    return image_to_input(data, flatten=flatten)


def create_app(model: Any, runs_dir: str | os.PathLike = "runs", *, max_body: int = MAX_BODY,
               source: str | None = None, dataset: str | None = None, rng=None):
    """Build the web application for one network and one runs folder.

    Parameters
    ----------
    model : str, os.PathLike, Net or ServedModel
        A model file, a run folder (its model.npz), or a network (see
        :func:`~dlscratch.web.served_model.load_served_model`).
    runs_dir : str or os.PathLike
        The folder whose runs the runs page lists (it need not exist).
    max_body : int
        Largest request body accepted by ``POST /api/predict``, in bytes (larger: 413).
    source, dataset : str, optional
        Override where the model is said to come from, and its data set.
    rng : None, int or numpy.random.Generator
        Picks the random test images of ``GET /api/sample``.

    Returns
    -------
    fastapi.FastAPI
        Serve it with uvicorn (:func:`dlscratch.web.serve`) or test it with its TestClient.
    """
    fastapi = _fastapi()
    from fastapi.responses import FileResponse, JSONResponse, Response
    from fastapi.staticfiles import StaticFiles
    from starlette.concurrency import run_in_threadpool

    from .._rng import as_generator

    served = model if isinstance(model, ServedModel) else load_served_model(
        model, source=source, dataset=dataset)
    runs_root = Path(runs_dir)
    generator = as_generator(rng)
    samples: dict[str, Any] = {}

    app = fastapi.FastAPI(title="dlscratch", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.served = served
    app.state.runs_dir = runs_root

    def error(status: int, message: str):
        return JSONResponse({"detail": message}, status_code=status)

    def ok(data: Any):
        # json.dumps straight away: FastAPI's generic encoder walks every number of the
        # feature maps in Python and would take ten times as long as the network
        return Response(json.dumps(data, separators=(",", ":"), allow_nan=False),
                        media_type="application/json")

    @app.middleware("http")
    async def headers(request, call_next):
        response = await call_next(request)
        for key, value in _HEADERS.items():
            response.headers.setdefault(key, value)
        return response

    @app.get("/", include_in_schema=False)
    def draw_page():
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @app.get("/runs", include_in_schema=False)
    def runs_page():
        return FileResponse(STATIC / "runs.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.post("/api/predict")
    async def predict(request: fastapi.Request):
        declared = request.headers.get("content-length")
        if declared is not None:
            try:
                if int(declared) > max_body:
                    return error(413, f"the image is too large ({declared} bytes; at most "
                                      f"{max_body})")
            except ValueError:
                return error(400, "Content-Length is not a number")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_body:
                return error(413, f"the image is too large (more than {max_body} bytes)")
        if not body:
            return error(400, "the request body is empty: send an image file (PNG or JPEG)")
        try:
            x = await run_in_threadpool(_image_input, bytes(body), served.flatten)
        except ImageError as exc:
            return error(400, _one_line(exc))
        result = await run_in_threadpool(served.predict, x)
        return ok(_with_input(result, x))

    def _with_input(result: dict, x: np.ndarray) -> dict:
        result["class_name"] = _name(result["class"])
        result["input"] = np.round(x.reshape(28, 28).astype(np.float64), 3).tolist()
        return result

    def _name(k: int) -> str:
        names = served.class_names
        return names[k] if 0 <= k < len(names) else str(k)

    @app.get("/api/model")
    def model_info():
        return ok(served.info())

    def _test_set():
        if "data" not in samples:
            from ..datasets import load_mnist

            digits = served.dataset in ("mnist", "mnist-sample")
            tried = [served.dataset, "mnist-sample"] if digits else [served.dataset]
            for name in dict.fromkeys(tried):
                try:
                    _, (x, t) = load_mnist(normalize=True, flatten=False, dataset=name,
                                           download=False)
                except (OSError, ValueError):
                    continue
                samples["data"] = (name, x, t)
                break
            else:
                samples["data"] = None
        return samples["data"]

    @app.get("/api/sample")
    def sample(index: int | None = None):
        data = _test_set()
        if data is None:
            return error(404, f"no test images of {served.dataset} on this machine "
                              "(download them with `dlscratch datasets`)")
        name, xs, ts = data
        if index is None:
            index = int(generator.integers(len(xs)))
        if not 0 <= index < len(xs):
            return error(404, f"index must be in 0..{len(xs) - 1}, got {index}")
        image = xs[index]
        x = image.reshape(1, 784) if served.flatten else image.reshape(1, 1, 28, 28)
        result = _with_input(served.predict(x), x)
        result.update({"index": index, "label": int(ts[index]),
                       "label_name": _name(int(ts[index])), "dataset": name})
        return ok(result)

    @app.get("/api/runs")
    def list_runs():
        return ok({"runs_dir": str(runs_root), "runs": runs_index.list_runs(runs_root)})

    @app.get("/api/runs/{name}/metrics")
    def run_metrics(name: str):
        folder = runs_index.resolve_run(runs_root, name)
        if folder is None:
            return error(404, "no such run")
        return ok({**runs_index.run_metrics(folder), "summary": runs_index.run_summary(folder)})

    @app.get("/api/runs/{name}/plots/{plot}")
    def run_plot(name: str, plot: str):
        folder = runs_index.resolve_run(runs_root, name)
        path = runs_index.run_plot(folder, plot) if folder is not None else None
        if path is None:
            return error(404, "no such run or plot")
        return FileResponse(path, media_type="image/png",
                            headers={"Cache-Control": "no-cache"})

    return app
