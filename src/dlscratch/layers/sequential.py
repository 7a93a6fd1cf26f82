"""Sequential: layers applied in order, backward in reverse."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np

from .module import Module


class Sequential(Module):
    """Layers applied in order; backward runs them in reverse.

    ``Sequential(a, b, c)`` names the layers ``"0"``, ``"1"``, ``"2"``;
    ``Sequential(OrderedDict(Conv1=..., Relu1=...))`` keeps the given names. Like the lectures'
    ``layers`` OrderedDict it is a mapping: ``net.layers["Conv1"]``, ``.keys()``, ``.values()``,
    ``.items()``.
    """

    def __init__(self, *layers: Module | Mapping[str, Module]):
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], Mapping):
            for name, layer in layers[0].items():
                self.add_module(str(name), layer)
        else:
            for i, layer in enumerate(layers):
                self.add_module(str(i), layer)

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self._modules.values():
            x = layer.forward(x)
        return x

    def backward(self, dout: np.ndarray) -> np.ndarray | None:
        """The layers' backward in reverse order; returns the first layer's dx (None when that
        layer has ``compute_dx = False``, the only layer that may have it)."""
        layers = list(self._modules.items())
        for i in range(len(layers) - 1, -1, -1):
            name, layer = layers[i]
            dout = layer.backward(dout)
            if dout is None and i > 0:
                raise RuntimeError(
                    f"Sequential: layer {name!r} ({type(layer).__name__}) returned no dx, but "
                    f"layer {layers[i - 1][0]!r} before it needs one; only the first layer may "
                    f"have compute_dx = False"
                )
        return dout

    def append(self, layer: Module, name: str | None = None) -> Sequential:
        self.add_module(name if name is not None else str(len(self._modules)), layer)
        return self

    # mapping / sequence protocol
    def __getitem__(self, key: int | str) -> Module:
        if isinstance(key, int):
            return list(self._modules.values())[key]
        return self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()
