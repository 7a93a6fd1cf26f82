"""The residual connection: two paths from the same input, their outputs added.

    y  = F(x) + S(x)          F: the branch (layers in order), S: the shortcut
    dx = dF + dS              dF = F.backward(dout),  dS = S.backward(dout)

The shortcut is the identity (S(x) = x, so dS = dout) when the branch keeps the shape, or a
module of its own (in a ResNet a 1x1 convolution + BatchNorm) when it changes the number of
channels or the size. Because y is a sum, dL/dy reaches both paths unchanged: ``dout`` is
handed to the branch and to the shortcut as it is (neither modifies it), and the two input
gradients are added, since x feeds both.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .module import Module, Sequential


class Residual(Module):
    """``y = F(x) + S(x)`` with ``F`` a chain of layers and ``S`` the identity or a module.

    Parameters
    ----------
    branch : a Module, registered as ``branch``, or a mapping ``{name: layer}`` whose layers are
        registered under their own names and applied in order (so that a subclass such as a
        ResNet block gets the sub-module names ``conv1``, ``bn1``, ... directly).
    shortcut : None for the identity (the branch must then keep the shape), or a Module that
        maps x to F(x)'s shape; registered under the class attribute ``shortcut_name``
        (``"shortcut"`` here, ``"downsample"`` in the ResNet blocks).

    Notes
    -----
    Shapes: x (N, ...) → y with the branch's output shape; dx has x's shape.

    ``compute_dx = False`` (the module is the first of a network) makes backward return None
    and passes the setting on to the first layer of the branch and of the shortcut (when they
    support it) so that they skip their dx too; the parameter gradients are computed as usual.
    """

    shortcut_name = "shortcut"
    supports_compute_dx = True

    def __init__(self, branch: Module | Mapping[str, Module],
                 shortcut: Module | None = None) -> None:
        super().__init__()
        if isinstance(branch, Mapping):
            if not branch:
                raise ValueError(f"{type(self).__name__}: the branch needs at least one layer")
            for name, layer in branch.items():
                self.add_module(str(name), layer)
            names = tuple(str(name) for name in branch)
        else:
            self.add_module("branch", branch)
            names = ("branch",)
        if self.shortcut_name in names:
            raise ValueError(f"{type(self).__name__}: a branch layer may not be named "
                             f"{self.shortcut_name!r} (the shortcut's name)")
        object.__setattr__(self, "_branch_names", names)
        if shortcut is not None:
            self.add_module(self.shortcut_name, shortcut)
        object.__setattr__(self, "_compute_dx", True)

    # ------------------------------------------------------------------ the formula
    def forward(self, x: np.ndarray) -> np.ndarray:
        """y = F(x) + S(x)."""
        return self.branch_forward(x) + self.shortcut_forward(x)

    def backward(self, dout: np.ndarray) -> np.ndarray | None:
        """dx = dF + dS: dout goes through both paths, the input gradients are added."""
        dF = self.branch_backward(dout)
        dS = self.shortcut_backward(dout)
        if not self._compute_dx:
            return None
        return dF + dS

    # ------------------------------------------------------------------ the two paths
    @property
    def shortcut(self) -> Module | None:
        """The shortcut module, or None for the identity."""
        return self._modules.get(self.shortcut_name)

    def branch_layers(self) -> list[Module]:
        """The branch's layers, in the order forward applies them."""
        return [self._modules[name] for name in self._branch_names]

    def branch_forward(self, x: np.ndarray) -> np.ndarray:
        """F(x): the branch's layers in order."""
        for layer in self.branch_layers():
            x = layer.forward(x)
        return x

    def branch_backward(self, dout: np.ndarray) -> np.ndarray | None:
        """dF = dL/dx through the branch (its layers in reverse order)."""
        for layer in reversed(self.branch_layers()):
            dout = layer.backward(dout)
        return dout

    def shortcut_forward(self, x: np.ndarray) -> np.ndarray:
        """S(x): x itself, or the shortcut module's output."""
        shortcut = self.shortcut
        if shortcut is None:
            return x
        return shortcut.forward(x)

    def shortcut_backward(self, dout: np.ndarray) -> np.ndarray | None:
        """dS: dout itself for the identity, else the shortcut module's dx."""
        shortcut = self.shortcut
        if shortcut is None:
            return dout
        return shortcut.backward(dout)

    # ------------------------------------------------------------------ compute_dx
    @property
    def compute_dx(self) -> bool:
        """Whether backward returns dx (False: returns None, and skips what it can)."""
        return self._compute_dx

    @compute_dx.setter
    def compute_dx(self, value: bool) -> None:
        object.__setattr__(self, "_compute_dx", bool(value))
        for path in (self.branch_layers()[0], self.shortcut):
            if path is not None:
                _set_first_compute_dx(path, bool(value))

    def extra_repr(self) -> str:
        return "identity shortcut" if self.shortcut is None else ""


def _set_first_compute_dx(module: Module, value: bool) -> None:
    """Set compute_dx on the layer that produces ``module``'s input gradient, when it can skip it.

    For a Sequential that is its first layer (recursively); for anything else, the module. A
    layer that always computes dx (``supports_compute_dx`` False) is left alone: its dx is then
    computed and dropped.
    """
    while isinstance(module, Sequential) and len(module):
        module = module[0]
    if type(module).supports_compute_dx:
        module.compute_dx = value
