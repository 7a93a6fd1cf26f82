"""The network a web server answers with: loaded once, described once, run under a lock."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import runs
from ..datasets.sources import class_names as dataset_class_names
from ..models.registry import spec_for_class
from .introspect import describe_prediction, first_layer_filters, layer_shapes

__all__ = ["ServedModel", "load_served_model"]


@dataclass
class ServedModel:
    """A network in eval mode with what the page needs to know about it.

    Attributes
    ----------
    net : the network (eval mode).
    name : its registry name ("mlp", "cnn", ...).
    flatten : whether it takes rows (N, 784) rather than images (N, 1, 28, 28).
    input_shape : one sample's shape.
    source : where it came from (a file path, or a sentence).
    dataset : the data set it was trained on (from its run's config.json; else "mnist").
    class_names : names of its classes.
    """

    net: Any
    name: str
    flatten: bool
    input_shape: tuple[int, ...]
    source: str
    dataset: str = "mnist"
    class_names: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _info: dict[str, Any] | None = field(default=None, repr=False)

    def predict(self, x: np.ndarray) -> dict[str, Any]:
        """:func:`~dlscratch.web.introspect.describe_prediction` for one input, thread-safe
        (layers cache their inputs, so two requests must not run the network at once)."""
        with self._lock:
            return describe_prediction(self.net, x)

    def info(self) -> dict[str, Any]:
        """``GET /api/model``: class, registry name, parameter count, source, data set, class
        names, input shape, every layer's output shape and the first layer's filters."""
        if self._info is None:
            with self._lock:
                self._info = {
                    "class": type(self.net).__name__, "name": self.name,
                    "description": getattr(spec_for_class(type(self.net).__name__),
                                           "description", ""),
                    "parameters": int(sum(p.data.size for p in self.net.parameters())),
                    "source": self.source, "dataset": self.dataset,
                    "class_names": self.class_names, "input_shape": list(self.input_shape),
                    "layers": layer_shapes(self.net, self.input_shape),
                    "filters": first_layer_filters(self.net, self.input_shape),
                }
        return self._info


def _dataset_near(path: Path) -> str | None:
    try:
        return runs.read_config(path.parent).get("dataset")
    except (OSError, ValueError):
        return None


def load_served_model(model, *, source: str | None = None,
                      dataset: str | None = None) -> ServedModel:
    """A :class:`ServedModel` from a model file, a run folder or a network.

    Parameters
    ----------
    model : str, os.PathLike or Net
        A model file written by dlscratch (``model.npz`` or a checkpoint), a run folder (its
        ``model.npz``, else ``checkpoint.npz``), or a network object.
    source : str, optional
        Where the model came from, for ``GET /api/model`` (default: the file's path).
    dataset : str, optional
        Its data set (default: its run's ``config.json``, else "mnist").

    Raises
    ------
    ValueError
        A folder without a model, no such file, or a network class the registry does not know
        (``dlscratch.io.ModelFileError`` for a bad model file).
    """
    from ..io import load_model

    if isinstance(model, (str, os.PathLike)):
        path = Path(model).expanduser()
        if path.is_dir():
            found = [path / n for n in (runs.MODEL, runs.CHECKPOINT) if (path / n).is_file()]
            if not found:
                raise ValueError(f"{path} is a folder without {runs.MODEL} or "
                                 f"{runs.CHECKPOINT}; give a model file or a run folder")
            path = found[0]
        elif not path.is_file():
            raise ValueError(f"no such model file or run folder: {path}")
        net = load_model(path)
        source = source or str(path)
        dataset = dataset or _dataset_near(path)
    else:
        net = model
        source = source or f"a {type(net).__name__} given in Python"
    spec = spec_for_class(type(net).__name__)
    if spec is None:
        raise ValueError(f"{type(net).__name__} is not a registered model "
                         "(dlscratch.models.registry); the web page cannot tell its input shape")
    if hasattr(net, "eval"):
        net.eval()
    dataset = dataset or "mnist"
    try:
        names = dataset_class_names(dataset)
    except (KeyError, ValueError):
        names = [str(k) for k in range(10)]
    return ServedModel(net=net, name=spec.name, flatten=spec.flatten,
                       input_shape=tuple(spec.input_shape), source=source, dataset=dataset,
                       class_names=names)
