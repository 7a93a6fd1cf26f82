"""torch.nn equivalents of dlscratch networks (used by ``to_torch_module``; needs torch).

Only the architecture is built here (torch's default initial weights); ``to_torch_module``
then loads the dlscratch weights through ``to_torch_state_dict``, so the names used here must
be the ones ``dlscratch.interop.torch`` exports (its strict load checks that).
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from ..layers import (
    AvgPool2d,
    BatchNorm,
    Conv2d,
    Dropout,
    Flatten,
    GlobalAvgPool2d,
    Identity,
    LeakyReLU,
    Linear,
    MaxPool2d,
    Module,
    ReLU,
    Sigmoid,
    Tanh,
)
from ._torch_common import require_torch
from .torch import is_lecture_net


def _dtype_of(model: Module):
    torch = require_torch()
    dtypes = {p.data.dtype for p in model.parameters()}
    if len(dtypes) != 1:
        raise TypeError(f"{type(model).__name__} mixes parameter dtypes "
                        f"{sorted(map(str, dtypes))}; convert it with model.to(np.float32) first")
    dtype = dtypes.pop()
    if dtype == np.float32:
        return torch.float32
    if dtype == np.float64:
        return torch.float64
    raise TypeError(f"{type(model).__name__} has dtype {dtype}; PyTorch modules here are built "
                    "in float32 or float64")


def _torch_layer(layer: Module, flat: bool):
    """The torch.nn counterpart of one dlscratch layer and whether its output is flat (N, D)."""
    nn = require_torch().nn
    if isinstance(layer, Linear):
        return nn.Linear(layer.in_features, layer.out_features,
                         bias="b" in layer._parameters), True
    if isinstance(layer, Conv2d):
        FN, C, FH, FW = layer._parameters["W"].data.shape
        return nn.Conv2d(C, FN, (FH, FW), stride=layer.stride, padding=layer.pad,
                         bias="b" in layer._parameters), False
    if isinstance(layer, BatchNorm):
        cls = nn.BatchNorm1d if flat else nn.BatchNorm2d
        return cls(layer._parameters["gamma"].data.shape[0], eps=layer.eps,
                   momentum=layer.momentum), flat
    if isinstance(layer, MaxPool2d):
        return nn.MaxPool2d((layer.pool_h, layer.pool_w), stride=layer.stride,
                            padding=layer.pad), False
    if isinstance(layer, AvgPool2d):
        return nn.AvgPool2d((layer.pool_h, layer.pool_w), stride=layer.stride,
                            padding=layer.pad, count_include_pad=True), False
    if isinstance(layer, GlobalAvgPool2d):
        return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()), True
    if isinstance(layer, Flatten):
        return nn.Flatten(), True
    if isinstance(layer, Dropout):
        return nn.Dropout(layer.p), flat
    if isinstance(layer, LeakyReLU):
        return nn.LeakyReLU(layer.alpha), flat
    simple = {ReLU: nn.ReLU, Sigmoid: nn.Sigmoid, Tanh: nn.Tanh, Identity: nn.Identity}
    for cls, torch_cls in simple.items():
        if isinstance(layer, cls):
            return torch_cls(), flat
    raise TypeError(f"{type(layer).__name__} has no torch.nn counterpart in "
                    "dlscratch.interop.torch.to_torch_module")


def _lecture_sequential(model: Module):
    """nn.Sequential(OrderedDict) with the lecture layer names (Flatten added before a Linear
    layer that receives images)."""
    nn = require_torch().nn
    modules: OrderedDict = OrderedDict()
    flat = False  # unknown input counts as images: dlscratch's Linear flattens N-D input
    n_flatten = 0
    for name, layer in model._modules["layers"].items():
        if isinstance(layer, Linear) and not flat:
            n_flatten += 1
            modules["Flatten" if n_flatten == 1 else f"Flatten{n_flatten}"] = nn.Flatten()
        modules[name], flat = _torch_layer(layer, flat)
    return nn.Sequential(modules)


def build_torch_module(model: Module):
    """The torch.nn architecture of ``model`` (torch's initial weights, ``model``'s dtype)."""
    dtype = _dtype_of(model)
    if is_lecture_net(model):
        module = _lecture_sequential(model)
    else:
        from ._torch_resnet import torch_resnet_like

        module = torch_resnet_like(model)
    return module.to(dtype)
