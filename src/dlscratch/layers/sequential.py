"""Sequential: layers applied in order, backward in reverse.

One exception, which changes no value: a ReLU directly followed by max pooling runs after the
pooling (``max_pool_before_relu``), where it has k*k times fewer values to work on.
"""

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

    ``forward`` runs the layers in ``run_order()``: their order, except that a ReLU directly
    followed by max pooling runs after the pooling (same outputs and gradients, a quarter of
    the ReLU's work for 2x2 windows; see ``max_pool_before_relu``). Set ``pool_before_relu =
    False`` on an instance to run the written order (each ReLU then keeps its mask at the
    shape you wrote it for).
    """

    #: run a ReLU that is directly followed by max pooling after the pooling (False: as written)
    pool_before_relu: bool = True

    def __init__(self, *layers: Module | Mapping[str, Module]):
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], Mapping):
            for name, layer in layers[0].items():
                self.add_module(str(name), layer)
        else:
            for i, layer in enumerate(layers):
                self.add_module(str(i), layer)
        self._ran: list[tuple[str, Module]] | None = None  # the order of the last forward
        self._planned: tuple[list, list] = ([], [])  # (layers, their run order), remembered

    def run_order(self) -> list[tuple[str, Module]]:
        """(name, layer) pairs in the order ``forward`` runs them."""
        layers = list(self._modules.items())
        if not self.pool_before_relu:
            return layers
        if self._planned[0] != layers:  # worked out again only when the layers change
            self._planned = (layers, max_pool_before_relu(layers))
        return self._planned[1]

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._ran = order = self.run_order()
        for _, layer in order:
            x = layer.forward(x)
        return x

    def backward(self, dout: np.ndarray) -> np.ndarray | None:
        """The layers' backward in the reverse of the last forward's order; returns the first
        layer's dx (None when that layer has ``compute_dx = False``, the only layer that may
        have it)."""
        layers = self._ran if self._ran is not None else self.run_order()
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


def max_pool_before_relu(layers: list[tuple[str, Module]]) -> list[tuple[str, Module]]:
    """``layers`` with every ReLU that is directly followed by max pooling moved after it.

    Values: with r(v) = max(v, 0), which never decreases,

        max over a window of r(x) = r(max over the window of x)

    so pooling first and ReLU second give the same output, bit for bit (up to the sign of a
    zero).

    Gradients: both orders give dx = dout at the first maximum of each window whose maximum
    is > 0, and 0 everywhere else. Where the maximum m is > 0, ReLU changes no value >= m and
    the first maximum is the same element; where m <= 0, ReLU first makes the window all
    zeros and its mask then zeroes the routed gradient, while pooling first routes it and
    ReLU's mask (m > 0 is false) zeroes it. (A window holding NaN can route differently; its
    output is NaN either way.)

    Why: ReLU then works on the pooled array, k*k times fewer values (2x2 pooling: a
    quarter), in both forward and backward: SimpleConvNet's training step 1.07-1.15x faster,
    DeepConvNet's about 1.02x (benchmarks/README.md).

    Only a layer whose type is exactly ReLU and one whose type is exactly MaxPool2d (or the
    lectures' Pooling) are swapped; a subclass may compute something else.
    """
    from .activation import ReLU  # here: these import .module, which imports this file
    from .pooling import MaxPool2d, Pooling

    order: list[tuple[str, Module]] = []
    i = 0
    while i < len(layers):
        if (i + 1 < len(layers) and type(layers[i][1]) is ReLU
                and type(layers[i + 1][1]) in (MaxPool2d, Pooling)):
            order += [layers[i + 1], layers[i]]
            i += 2
        else:
            order.append(layers[i])
            i += 1
    return order
