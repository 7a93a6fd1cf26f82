"""Looking inside a network for the web page: every layer's output for one input (NumPy only).

:func:`layer_outputs` runs an input through a network's layers one by one, in the same order
and with the same code as ``Net.forward`` (``net.layers``, descending into a ``Sequential`` such
as a ResNet stage, whose blocks are then single steps), and keeps each output.
:func:`describe_prediction` turns them into what the page shows: the softmax probabilities, the
feature maps of the convolution, pooling and residual-block layers as 8-bit grids, and the
hidden activations of fully connected layers as numbers. :func:`first_layer_filters` gives the
first layer's weights as pictures (convolution filters, or an MLP's first-layer weight columns
as 28x28 images).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ..functions import softmax
from ..layers.sequential import Sequential

__all__ = ["MAX_CHANNELS", "MAX_UNITS", "describe_prediction", "first_layer_filters",
           "layer_outputs", "layer_shapes", "to_uint8_maps"]

MAX_CHANNELS = 32  # feature maps shown per layer
MAX_UNITS = 256  # hidden activations shown per layer
MAX_FILTERS = 32
_MAP_KINDS = ("Conv", "Pool", "Block", "Bottleneck")
_ACTIVATIONS = ("ReLU", "Relu", "Sigmoid", "Tanh", "LeakyReLU", "GELU", "ELU", "Softplus")


def _steps(net) -> Iterator[tuple[str, Any]]:
    """(dotted name, layer) in forward order; a Sequential's children are steps themselves."""
    for name, layer in net.layers.items():
        if isinstance(layer, Sequential):
            for sub_name, sub in layer.items():
                yield f"{name}.{sub_name}", sub
        else:
            yield name, layer


def layer_outputs(net, x: np.ndarray) -> list[tuple[str, str, np.ndarray]]:
    """Run ``x`` through ``net`` step by step.

    Parameters
    ----------
    net : Net
        A network whose ``forward`` applies ``net.layers`` in order (every registered model).
        It should be in eval mode (dropout off, BatchNorm's running statistics).
    x : ndarray
        One batch in the model's input shape, (N, 784) or (N, 1, 28, 28).

    Returns
    -------
    list of (name, layer type, output)
        The last output is the scores (N, K), equal to ``net.forward(x)``.
    """
    out = []
    for name, layer in _steps(net):
        x = layer.forward(x)
        out.append((name, type(layer).__name__, x))
    return out


def layer_shapes(net, input_shape: tuple[int, ...]) -> list[dict[str, Any]]:
    """``[{"name", "type", "output_shape"}]`` of every step, from one zero input."""
    x = np.zeros((1, *input_shape), dtype=np.float32)
    return [{"name": name, "type": kind, "output_shape": list(y.shape[1:])}
            for name, kind, y in layer_outputs(net, x)]


def to_uint8_maps(a: np.ndarray) -> list:
    """Each (H, W) map of ``a`` (C, H, W) scaled by its own min..max to 0..255 integers.

    A constant map (a dead channel) becomes all zeros.
    """
    a = np.asarray(a, dtype=np.float64)
    lo = a.min(axis=(1, 2), keepdims=True)
    span = a.max(axis=(1, 2), keepdims=True) - lo
    scaled = np.where(span > 0, (a - lo) / np.where(span > 0, span, 1.0), 0.0)
    return np.rint(scaled * 255).astype(np.uint8).tolist()


def _is_map_layer(kind: str, y: np.ndarray) -> bool:
    return y.ndim == 4 and any(word in kind for word in _MAP_KINDS)


def describe_prediction(net, x: np.ndarray) -> dict[str, Any]:
    """What the page shows for one input ``x`` (batch of 1).

    Returns
    -------
    dict
        ``class`` (int), ``probabilities`` (K floats: softmax of the scores),
        ``activations``: ``{"maps": [...], "hidden": [...]}`` where each map layer is
        ``{"name", "type", "shape" [C, H, W], "shown", "maps" [shown][H][W] ints 0..255}``
        (at most :data:`MAX_CHANNELS` channels, each scaled by its own range) and each hidden
        layer (the output of an activation function on a fully connected layer, before the
        last layer) is ``{"name", "type", "size", "values" [floats]}`` (at most
        :data:`MAX_UNITS`).
    """
    steps = layer_outputs(net, x)
    scores = np.asarray(steps[-1][2], dtype=np.float64)
    p = softmax(scores)[0] if not getattr(net, "predict_probabilities", False) else scores[0]
    maps, hidden = [], []
    for name, kind, y in steps[:-1]:
        if _is_map_layer(kind, y):
            shown = min(MAX_CHANNELS, y.shape[1])
            maps.append({"name": name, "type": kind, "shape": list(y.shape[1:]),
                         "shown": shown, "maps": to_uint8_maps(y[0, :shown])})
        elif y.ndim == 2 and kind in _ACTIVATIONS:
            values = np.asarray(y[0, :MAX_UNITS], dtype=np.float64)
            hidden.append({"name": name, "type": kind, "size": int(y.shape[1]),
                           "values": [round(float(v), 4) for v in values]})
    return {"class": int(np.argmax(p)), "probabilities": [float(v) for v in p],
            "activations": {"maps": maps, "hidden": hidden}}


def first_layer_filters(net, input_shape: tuple[int, ...]) -> dict[str, Any] | None:
    """The first layer's weights as small pictures, or None when they are not pictures.

    A convolution's filters (FN, C, FH, FW): the first input channel of each of the first
    :data:`MAX_FILTERS` filters. A fully connected first layer on 784 inputs (W of shape
    (784, H)): the weight column of each of the first hidden units, as a 28x28 image (what
    that unit looks for). Each picture is scaled by its own range to 0..255.
    """
    for param in net.parameters():
        w = np.asarray(getattr(param, "data", param))
        if w.ndim == 4:
            shown = min(MAX_FILTERS, w.shape[0])
            return {"kind": "conv", "shape": list(w.shape), "shown": shown,
                    "maps": to_uint8_maps(w[:shown, 0])}
        if w.ndim == 2:
            n_in = int(np.prod(input_shape))
            side = int(round(n_in ** 0.5))
            if w.shape[0] != n_in or side * side != n_in:
                return None
            shown = min(MAX_FILTERS, w.shape[1])
            return {"kind": "linear", "shape": list(w.shape), "shown": shown,
                    "maps": to_uint8_maps(w[:, :shown].T.reshape(shown, side, side))}
    return None
