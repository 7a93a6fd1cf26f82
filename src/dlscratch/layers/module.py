"""The Module system: Parameter, Module and Sequential.

Every layer in dlscratch does its own backprop, by hand, the way the lectures teach it:

* ``forward(x)`` computes the output and caches what the backward pass needs;
* ``backward(dout)`` takes dL/d(out), returns dL/dx, and *accumulates* dL/dparam into each
  parameter's ``grad`` (so two backward passes without ``zero_grad()`` add up, as in PyTorch);
* ``backward`` never modifies ``dout`` or the cached input;
* ``compute_dx = False`` on a layer makes its backward skip dL/dx and return None (for the first
  layer of a network, whose dL/d(input) nobody needs); its parameter gradients are still computed;
* a frozen parameter (``requires_grad = False``, see :meth:`Module.freeze`) gets no gradient work
  at all: its layer skips the product for it, its ``grad`` stays None and optimizers skip it.

A :class:`Module` registers its parameters, buffers (state that is saved but not trained, such as
BatchNorm's running statistics) and sub-modules in the order they are assigned, so
``parameters()`` and ``state_dict()`` always list them in the same order.

For the lecture code, a parameter attribute reads as the plain NumPy array: ``layer.W`` is the
weight array (``layer.W = arr`` replaces it) and ``layer.dW`` is its gradient, exactly as in the
book's ``Affine`` layer. The :class:`Parameter` object itself is in ``named_parameters()``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from .parameter import Parameter


class Module:
    """Base class of every layer and network.

    Subclasses set parameters and sub-modules as attributes (``self.W = Parameter(...)``,
    ``self.fc = Linear(...)``) and buffers with :meth:`register_buffer`; they implement
    :meth:`forward` and :meth:`backward`.

    Notes
    -----
    ``backward(dout)`` takes dL/d(out) (same shape as forward's output), returns dL/dx (same
    shape as forward's input) and adds dL/d(param) to the ``grad`` of each parameter with
    ``requires_grad``; it never writes into ``dout`` or the cached input.

    ``compute_dx`` (class attribute, default True): when an instance sets it to False, backward
    does not compute dL/dx and returns None; parameter gradients are still computed. Only layers
    whose class says ``supports_compute_dx = True`` honour it (Linear, Conv2d, BatchNorm, and
    blocks that pass it on); setting it to False on any other module raises ValueError, since
    such a layer always computes dx. In a :class:`Sequential` only the first layer may set it
    (a later layer's None would leave the layers before it without a dout).

    Frozen parameters (``requires_grad = False``; :meth:`freeze`, :meth:`unfreeze`,
    :meth:`requires_grad_`) get no gradient work: layers check ``requires_grad`` before the
    product that gives the gradient, the ``grad`` stays None, optimizers skip the parameter
    (weight decay included). Freezing is independent of train/eval mode.
    """

    training: bool
    #: False on an instance: backward skips dL/dx and returns None (see the class docstring).
    compute_dx: bool = True
    #: Whether this class's backward honours ``compute_dx = False``.
    supports_compute_dx: bool = False

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # ------------------------------------------------------------------ registration
    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        if name in d and name != "compute_dx" and not isinstance(value, (Parameter, Module)):
            # a plain attribute set before (a layer's cache): nothing registered to update. Why
            # a fast path: a layer sets a few each call, and the checks below cost 1.6 us a time
            # (DeepConvNet sets 57 per forward: 7% of a batch of one image).
            d[name] = value
            return
        if "_parameters" not in d:
            raise RuntimeError(
                f"{type(self).__name__}.__init__ must call super().__init__() before "
                f"assigning attributes (while setting {name!r})"
            )
        params, buffers, modules = self._parameters, self._buffers, self._modules
        if isinstance(value, Parameter):
            params[name] = value
            buffers.pop(name, None)
            modules.pop(name, None)
            d.pop(name, None)  # a plain attribute of that name would hide it
        elif isinstance(value, Module):
            modules[name] = value
            params.pop(name, None)
            buffers.pop(name, None)
            d.pop(name, None)
        elif name in params:
            # ``layer.W = array``: the lectures' way of loading weights into a layer.
            params[name].data = _checked_replacement(self, name, params[name].data, value)
        elif name in buffers:
            buffers[name] = _checked_replacement(self, name, buffers[name], value)
        else:
            if name == "compute_dx" and not value and not type(self).supports_compute_dx:
                raise ValueError(
                    f"{type(self).__name__} always computes dx and cannot skip it; set "
                    f"compute_dx = False on a layer with parameters that supports it (Linear, "
                    f"Conv2d, BatchNorm), the first layer of the network"
                )
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: parameters, gradients, buffers, sub-modules.
        d = self.__dict__
        if "_parameters" in d:
            if name in d["_parameters"]:
                return d["_parameters"][name].data
            if name in d["_modules"]:
                return d["_modules"][name]
            if name in d["_buffers"]:
                return d["_buffers"][name]
            if name.startswith("d") and name[1:] in d["_parameters"]:
                return d["_parameters"][name[1:]].grad  # lecture style: layer.dW, layer.db
        raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                return
        object.__delattr__(self, name)

    def register_buffer(self, name: str, value: np.ndarray) -> None:
        """Register non-trainable state (saved in ``state_dict``, ignored by optimizers)."""
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        self._buffers[name] = np.asarray(value)

    def add_module(self, name: str, module: Module) -> None:
        if not isinstance(module, Module):
            raise TypeError(
                f"add_module({name!r}, ...) needs a Module, got {type(module).__name__}"
            )
        setattr(self, name, module)

    def get_parameter(self, name: str) -> Parameter:
        """The :class:`Parameter` object at dotted path ``name`` (e.g. ``"Affine1.W"``)."""
        *path, leaf = name.split(".")
        mod = self
        for part in path:
            mod = mod._modules[part]
        return mod._parameters[leaf]

    # ------------------------------------------------------------------ traversal
    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        yield prefix, self
        for name, m in self._modules.items():
            yield from m.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator[Module]:
        """This module and every module inside it, depth first (as ``named_modules``)."""
        for _, m in self.named_modules():
            yield m

    def children(self) -> Iterator[Module]:
        yield from self._modules.values()

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """``(dotted_name, Parameter)`` in registration order, each parameter once."""
        seen: set[int] = set()
        for mod_name, mod in self.named_modules(prefix):
            for name, p in mod._parameters.items():
                if id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{mod_name}.{name}" if mod_name else name), p

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray]]:
        for mod_name, mod in self.named_modules(prefix):
            for name, b in mod._buffers.items():
                yield (f"{mod_name}.{name}" if mod_name else name), b

    # ------------------------------------------------------------------ modes and grads
    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout active, BatchNorm uses batch statistics)."""
        for _, m in self.named_modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """Evaluation mode: the same as ``train(False)``."""
        return self.train(False)

    def zero_grad(self) -> None:
        """Forget accumulated gradients (each ``grad`` becomes ``None``)."""
        for p in self.parameters():
            p.grad = None

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (``False``) or unfreeze every parameter; train/eval mode is not touched."""
        for p in self.parameters():
            p.requires_grad = requires_grad
        return self

    def freeze(self, prefix: str = "") -> Module:
        """Freeze every parameter whose dotted name starts with ``prefix`` (see :meth:`unfreeze`).

        A frozen parameter gets no gradient work (its ``grad`` is set to None and stays None)
        and is skipped by the optimizers, weight decay included. ``prefix`` matches whole name
        components: "layer1" matches "layer1.0.conv1.W" but not "layer10.W"; "" matches all.
        Train/eval mode is not touched. Returns self.

        Raises
        ------
        ValueError
            When no parameter name starts with ``prefix`` (the message lists the top-level names).
        """
        for p in self._matching_parameters(prefix, "freeze"):
            p.requires_grad = False
            p.grad = None
        return self

    def unfreeze(self, prefix: str = "") -> Module:
        """Let every parameter whose dotted name starts with ``prefix`` be trained again.

        ``prefix`` matches whole name components, as in :meth:`freeze`. Returns self.
        """
        for p in self._matching_parameters(prefix, "unfreeze"):
            p.requires_grad = True
        return self

    def _matching_parameters(self, prefix: str, what: str) -> list[Parameter]:
        if not isinstance(prefix, str):
            raise TypeError(f"{what}: prefix must be a str, got {type(prefix).__name__}")
        found = [p for name, p in self.named_parameters()
                 if not prefix or name == prefix or name.startswith(prefix + ".")]
        if not found:
            top = list(dict.fromkeys(name.split(".")[0] for name, _ in self.named_parameters()))
            raise ValueError(
                f"{type(self).__name__}.{what}({prefix!r}): no parameter name starts with "
                f"{prefix!r} (a prefix matches whole dotted components); top-level names: {top}"
            )
        return found

    def to(self, dtype: Any) -> Module:
        """Convert every floating parameter and buffer to ``dtype`` (gradients are dropped)."""
        dtype = np.dtype(dtype)
        for _, m in self.named_modules():
            for p in m._parameters.values():
                p.data = p.data.astype(dtype)
                p.grad = None
            for k, b in m._buffers.items():
                if np.issubdtype(b.dtype, np.floating):
                    m._buffers[k] = b.astype(dtype)
            m._on_dtype_change(dtype)
        return self

    def _on_dtype_change(self, dtype: np.dtype) -> None:
        """Hook for layers that keep dtype-specific state of their own."""

    # ------------------------------------------------------------------ state
    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """Copies of every parameter and buffer, keyed by dotted name, in registration order."""
        sd: OrderedDict[str, np.ndarray] = OrderedDict()
        for mod_name, mod in self.named_modules():
            pre = f"{mod_name}." if mod_name else ""
            for name, p in mod._parameters.items():
                sd[pre + name] = p.data.copy()
            for name, b in mod._buffers.items():
                sd[pre + name] = np.array(b, copy=True)
        return sd

    def load_state_dict(self, state_dict: Mapping[str, np.ndarray], strict: bool = True):
        """Copy values into this module's arrays in place.

        Checks every name and shape first and changes nothing if anything is wrong. With
        ``strict=False`` missing and unexpected keys are allowed; both are returned as
        ``(missing, unexpected)`` lists.
        """
        own: dict[str, tuple[Module, str, bool]] = {}
        for mod_name, mod in self.named_modules():
            pre = f"{mod_name}." if mod_name else ""
            for name in mod._parameters:
                own[pre + name] = (mod, name, True)
            for name in mod._buffers:
                own[pre + name] = (mod, name, False)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            raise KeyError(
                f"state_dict does not match {type(self).__name__}: "
                f"missing keys {missing}, unexpected keys {unexpected}"
            )
        bad = []
        for k, (mod, name, is_param) in own.items():
            if k in state_dict:
                cur = mod._parameters[name].data if is_param else mod._buffers[name]
                new = np.asarray(state_dict[k])
                if new.shape != cur.shape:
                    bad.append(f"{k}: expected {cur.shape}, got {new.shape}")
        if bad:
            raise ValueError("state_dict shapes do not match: " + "; ".join(bad))
        for k, (mod, name, is_param) in own.items():
            if k in state_dict:
                if is_param:
                    np.copyto(mod._parameters[name].data, state_dict[k], casting="unsafe")
                else:
                    buf = mod._buffers[name]
                    mod._buffers[name] = np.asarray(state_dict[k]).astype(buf.dtype, copy=True)
        return missing, unexpected

    # ------------------------------------------------------------------ computation
    def forward(self, *args: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not implement forward()")

    def backward(self, dout: Any = 1.0) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not implement backward()")

    def __call__(self, *args: Any) -> Any:
        return self.forward(*args)

    # ------------------------------------------------------------------ display
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not self._modules:
            return head + ")"
        lines = [head]
        for name, m in self._modules.items():
            sub = repr(m).replace("\n", "\n  ")
            lines.append(f"  ({name}): {sub}")
        return "\n".join(lines) + "\n)"


def _checked_replacement(module: Module, name: str, old: np.ndarray, value: Any) -> np.ndarray:
    new = np.asarray(value)
    if new.shape != old.shape:
        raise ValueError(
            f"{type(module).__name__}.{name} has shape {old.shape}; cannot replace it with an "
            f"array of shape {new.shape}"
        )
    if new.dtype != old.dtype:
        new = new.astype(old.dtype)  # a network keeps its dtype (float32 unless asked)
    return new


# Sequential lives in its own module; imported here so that both names keep working.
from .sequential import Sequential  # noqa: E402

__all__ = ["Module", "Parameter", "Sequential"]
