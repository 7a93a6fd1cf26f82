"""What the lectures' networks share: ``params``, ``predict``, ``loss``, ``accuracy``,
``gradient`` (backprop) and ``numerical_gradient``, on top of the Module system.

A network keeps its layers in ``self.layers`` (a :class:`~dlscratch.layers.Sequential`, which
reads like the lectures' OrderedDict) and its loss in ``self.last_layer``. ``self.params`` is a
live dict-like view that maps the lectures' names ("W1", "b1", ...) to the layers' arrays, so
``network.params["W1"] -= lr * grads["W1"]`` updates the layer itself.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import Any

import numpy as np

from ..functions import log_softmax, softmax
from ..gradient import numerical_gradient as _numerical_gradient
from ..layers.loss import check_class_targets
from ..layers.module import Module, Parameter
from . import _paramfiles as _files


class ParamsView(MutableMapping):
    """``name -> array`` view onto parameters living in layers (reads and writes go through)."""

    def __init__(self, net: Module, names: dict[str, str]) -> None:
        self._net = net
        self._names = names  # lecture name -> dotted parameter path

    def parameter(self, key: str) -> Parameter:
        return self._net.get_parameter(self._names[key])

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._names:
            raise KeyError(f"{key!r}; this network's parameters are {list(self._names)}")
        return self.parameter(key).data

    def __setitem__(self, key: str, value: np.ndarray) -> None:
        if key not in self._names:
            raise KeyError(f"{key!r} is not a parameter of this network ({list(self._names)})")
        *path, leaf = self._names[key].split(".")
        mod = self._net
        for part in path:
            mod = mod._modules[part]
        setattr(mod, leaf, value)  # shape-checked by Module.__setattr__

    def __delitem__(self, key: str) -> None:
        raise TypeError("parameters cannot be deleted from a network")

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __repr__(self) -> str:
        return "{" + ", ".join(f"{k!r}: array{v.shape}" for k, v in self.items()) + "}"


class Net(Module):
    """Base of the lecture-style networks. Subclasses set ``layers``, ``last_layer`` and call
    ``_set_param_names({"W1": "layers.Affine1.W", ...})``."""

    #: whether ``predict`` returns softmax probabilities (seed 000's TwoLayerNet) or scores
    predict_probabilities = False

    #: the fewest samples per part when :meth:`set_num_threads` splits a batch: below it the
    #: thread hand-offs cost more than a part's work gains (SimpleConvNet split into parts of
    #: 16 runs 0.65-0.77x the speed of one thread; networks with more work per sample set less)
    min_part = 32

    def _set_param_names(self, names: dict[str, str]) -> None:
        object.__setattr__(self, "params", ParamsView(self, names))

    def __getattr__(self, name: str) -> Any:
        if name == "params":  # a network that names no lecture parameters: dotted names
            return ParamsView(self, {n: n for n, _ in self.named_parameters()})
        return super().__getattr__(name)

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments that rebuild this network (used by ``dlscratch.io``)."""
        return dict(self._config)

    @classmethod
    def count_parameters(cls, config: Mapping[str, Any]) -> int:
        """Trainable numbers ``cls(**config)`` would hold, computed without building it.

        ``config`` is complete (:func:`dlscratch.models.config.check_config` adds the
        defaults). Raises ValueError / TypeError for a config that cannot be built. Every
        class that :mod:`dlscratch.io` may load defines it.
        """
        raise NotImplementedError(
            f"{cls.__name__}.count_parameters(config) is not defined, so a file's config "
            "cannot be checked before the network is built"
        )

    @classmethod
    def count_buffers(cls, config: Mapping[str, Any]) -> int | None:
        """Numbers in non-trainable state (BatchNorm's running statistics); None if unknown."""
        return None

    def num_parameters(self) -> int:
        """Number of trainable numbers in this network."""
        return sum(p.data.size for p in self.parameters())

    # -- forward
    def forward(self, x: np.ndarray) -> np.ndarray:
        """Scores (logits), shape (N, output_size)."""
        return self.layers.forward(x)

    def predict(self, x: np.ndarray) -> np.ndarray:
        y = self._forward_all(x)
        if self.predict_probabilities:
            y = softmax(y)
        return y

    def regularization_loss(self) -> float:
        return 0.0

    # -- threads
    def set_num_threads(self, threads: int, *, min_part: int | None = None,
                        processes: bool = False) -> Net:
        """Split each batch over ``threads`` threads in ``gradient``, ``predict`` (eval mode),
        ``predict_labels``, ``accuracy`` and ``evaluate``; 1 (the default) runs as written.

        Every thread runs a copy of this network that shares its weights, on its part of the
        batch, with one BLAS thread: on 2 cores the element-wise work (im2col, ReLU, pooling)
        runs on both. Same loss and gradients up to float32 rounding (BatchNorm's parts add
        up their sums, so its statistics are the whole batch's); Dropout draws each part's
        masks from its own generator (see :mod:`dlscratch.models.parallel`). A batch is split
        only into parts of at least ``min_part`` samples (smaller batches run in one thread);
        None: the network's :attr:`min_part` (32; DeepConvNet 8, ResNet 16). Needs
        ``threadpoolctl`` (``pip install "dlscratch[parallel]"``). Returns the network.
        ``threads > 1`` also makes this process keep the heap memory a step frees for the
        next step (glibc's ``mallopt``; up to 64 MiB more held): the parts' arrays were
        otherwise page-faulted back every step (:mod:`dlscratch.models.heap`).

        ``processes=True`` (Linux): the parts after the first run in worker processes, forks
        of this one, instead of threads. The same numbers as threads (Dropout's masks too),
        without the threads' turns at Python's GIL: DeepConvNet's training step 4-8%
        faster on 2 cores (see :mod:`dlscratch.models.workers`). The workers end with the
        network, with ``set_num_threads`` called again, or with this process (and inherit
        the heap setting above).
        """
        from .parallel import DataParallel, check_threads

        threads = check_threads(threads)
        old = self.__dict__.get("_data_parallel")
        new = (DataParallel(self, threads, self.min_part if min_part is None else min_part,
                            processes) if threads > 1 else None)
        if old is not None:
            old.close()  # its worker processes, if any, end now
        object.__setattr__(self, "_data_parallel", new)
        return self

    @property
    def num_threads(self) -> int:
        """The threads a batch is split over (:meth:`set_num_threads`)."""
        parallel = self.__dict__.get("_data_parallel")
        return 1 if parallel is None else parallel.threads

    def _forward_all(self, x: np.ndarray) -> np.ndarray:
        """``forward(x)``, split over the threads of :meth:`set_num_threads` in eval mode."""
        parallel = self.__dict__.get("_data_parallel")
        if parallel is None or self.training:
            return self.forward(x)
        return parallel.forward(x)

    def loss(self, x: np.ndarray, t: np.ndarray) -> float:
        """The training loss: cross-entropy of softmax(scores) (+ any weight-decay term)."""
        return self.last_layer.forward(self.forward(x), t) + self.regularization_loss()

    # -- evaluation (eval mode, batch by batch, validated like ``loss``)
    def _check_inputs(self, where: str, x) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim == 0:
            raise ValueError(f"{where}: x must be a batch (N, ...), got a scalar")
        if np.issubdtype(x.dtype, np.inexact):
            bad = int(x.size - np.count_nonzero(np.isfinite(x)))
            if bad:
                raise ValueError(
                    f"{where}: the input x contains NaN or inf ({bad} of {x.size} values); "
                    "clean or impute the data (e.g. np.nan_to_num) before evaluating"
                )
        return x

    @contextlib.contextmanager
    def _eval_mode(self) -> Iterator[None]:
        was_training = self.training
        self.eval()
        try:
            yield
        finally:
            self.train(was_training)

    def _scores(self, x: np.ndarray, batch_size: int | None) -> Iterator[tuple[int, np.ndarray]]:
        """``(start, scores)`` of consecutive batches of ``x`` (call it in eval mode)."""
        if batch_size is not None and (isinstance(batch_size, bool) or
                                       not isinstance(batch_size, (int, np.integer))
                                       or batch_size < 1):
            raise ValueError(f"batch_size must be a positive integer or None, got {batch_size!r}")
        n = len(x)
        step = max(n if not batch_size else int(batch_size), 1)
        for i in range(0, n, step):
            yield i, np.asarray(self._forward_all(x[i:i + step]))

    def predict_labels(self, x: np.ndarray, batch_size: int | None = 100) -> np.ndarray:
        """Predicted classes ``argmax_k scores[n, k]``, shape (N,) int64, in eval mode.

        Computed ``batch_size`` samples at a time (all at once for None); the previous
        mode is restored. NaN or inf in ``x`` is a ValueError.
        """
        x = self._check_inputs(f"{type(self).__name__}.predict_labels", x)
        out = np.empty(len(x), dtype=np.int64)
        with self._eval_mode():
            for i, y in self._scores(x, batch_size):
                out[i:i + len(y)] = np.argmax(y, axis=1)
        return out

    def accuracy(self, x: np.ndarray, t: np.ndarray, batch_size: int | None = 100) -> float:
        """Fraction of samples whose argmax score equals the label (one-hot or integer).

        Computed ``batch_size`` samples at a time (all at once for None), in eval mode
        (dropout off, BatchNorm on running statistics); the previous mode is restored.
        The labels are checked as :meth:`loss` checks them (same messages): integer labels
        (N,) in [0, C) or one-hot (N, C); NaN or inf in ``x`` is a ValueError.
        """
        return self._evaluate("accuracy", x, t, batch_size, want_loss=False)[1]

    def evaluate(self, x: np.ndarray, t: np.ndarray, batch_size: int | None = 100
                 ) -> tuple[float, float]:
        """``(loss, accuracy)`` over a data set, in eval mode, batch by batch.

        loss = -(1/N) sum_n log softmax(scores_n)[t_n] (the data loss: no weight-decay term;
        for one-hot rows -(1/N) sum_n sum_k t[n, k] log softmax(scores_n)[k]);
        accuracy = (1/N) #{n : argmax_k scores[n, k] = t_n}. Labels and inputs are checked as
        in :meth:`accuracy`. An empty data set is a ValueError.
        """
        return self._evaluate("evaluate", x, t, batch_size, want_loss=True)

    def _evaluate(self, method: str, x, t, batch_size: int | None, *,
                  want_loss: bool) -> tuple[float, float]:
        where = f"{type(self).__name__}.{method}"
        x = self._check_inputs(where, x)
        n = len(x)
        if n == 0:
            raise ValueError(f"{where}: no samples (x has length 0)")
        labels = onehot = None
        total_loss, correct = 0.0, 0
        with self._eval_mode():
            for i, y in self._scores(x, batch_size):
                if y.ndim != 2:
                    raise ValueError(f"{where}: scores must be (N, C), got shape {y.shape}")
                if i == 0:  # the number of classes is known now: check every label at once
                    tt = check_class_targets(where, t, (n, y.shape[1]))
                    labels = np.argmax(tt, axis=1) if tt.ndim == 2 else tt
                    onehot = tt if tt.ndim == 2 else None
                m = len(y)
                correct += int(np.sum(np.argmax(y, axis=1) == labels[i:i + m]))
                if want_loss:
                    logp = log_softmax(y.astype(np.float64, copy=False))
                    if onehot is None:
                        total_loss -= float(np.sum(logp[np.arange(m), labels[i:i + m]]))
                    else:
                        total_loss -= float(np.sum(onehot[i:i + m] * logp))
        return (total_loss / n if want_loss else float("nan")), correct / n

    # -- gradients
    def backward(self, dout: float = 1.0) -> np.ndarray | None:
        """Backprop from the last loss computed: accumulates every parameter's grad."""
        return self.layers.backward(self.last_layer.backward(dout))

    def gradient(self, x: np.ndarray, t: np.ndarray) -> dict[str, np.ndarray]:
        """Backprop gradients of ``loss(x, t)``, keyed like ``params`` (fresh each call)."""
        self.zero_grad()
        parallel = self.__dict__.get("_data_parallel")
        if parallel is not None:  # the batch split over threads (set_num_threads)
            self.last_loss = parallel.loss_and_gradients(x, t)
        else:
            self.last_loss = self.loss(x, t)  # kept: a training loop need not compute it again
            self.backward(1.0)
        return {k: self._grad_of(k) for k in self.params}

    def _grad_of(self, key: str) -> np.ndarray:
        p = self.params.parameter(key)
        return p.grad if p.grad is not None else np.zeros_like(p.data)

    def in_float64(self) -> contextlib.AbstractContextManager[None]:
        """Compute in float64 inside a ``with`` block, whatever this network's dtype.

        Every floating parameter and buffer is replaced by a float64 copy; on leaving (also
        when the block raises) the original arrays themselves are put back, so the network is
        exactly as before: the same array objects, bit-identical values, the same dtype and
        gradients (BatchNorm's running statistics included).
        """
        return _files.float64_copies(self)

    def numerical_gradient(self, x: np.ndarray, t: np.ndarray) -> dict[str, np.ndarray]:
        """Central-difference gradients of ``loss(x, t)`` for every parameter (slow: a check).

        d loss / d p[i] ~ (loss(p[i] + h) - loss(p[i] - h)) / 2h, h = 1e-4, computed in float64
        whatever the network's dtype (:meth:`in_float64`): in float32 the difference of two
        losses 2e-4 apart is mostly rounding noise. The network is restored exactly afterwards
        (even if ``loss`` raises). Returns float64 arrays keyed like ``params``.
        """
        if np.issubdtype(np.asarray(x).dtype, np.floating):
            x = np.asarray(x, dtype=np.float64)

        def loss_w(_):
            return self.loss(x, t)

        with self.in_float64():
            return {k: _numerical_gradient(loss_w, self.params[k]) for k in self.params}

    # -- Dropout's convention (the book's weights expect its test-time scaling)
    def dropout_mode(self) -> str | None:
        """``"book"`` when this network's Dropout layers scale at test time (the book's
        convention), ``"inverted"`` when they do not, None when it has no Dropout."""
        return _files.dropout_mode(self)

    def set_dropout_mode(self, mode: str) -> None:
        """Set every Dropout layer to ``"book"`` (train: x * mask; eval: x * (1 - p)) or
        ``"inverted"`` (train: x * mask / (1 - p); eval: x); see :mod:`dlscratch.layers.dropout`."""
        _files.set_dropout_mode(self, mode)

    # -- the lectures' files
    def save_params(self, file_name: str | os.PathLike = "params.pkl") -> Path:
        """Save ``params`` (W1, b1, ...) in the format the file name says.

        ``.pkl``: a plain pickle of ``{name: ndarray}`` that the book's ``load_params``
        (``pickle.load``) reads; other names (``params.npz``): dlscratch's safe .npz, whose
        metadata records the Dropout convention (``dropout_mode``) so that loading it gives
        the same predictions. A .pkl stands for the book's Dropout (scaling at test time), so a
        network with inverted Dropout (p > 0) is refused there: its predictions would change.
        Written atomically; returns the path.
        """
        return _files.save_net_params(self, file_name)

    def load_params(self, file_name: str | os.PathLike = "params.pkl") -> None:
        """Load ``params`` from a file written by save_params or a lecture pickle (read safely).

        A lecture pickle holds the book's weights, trained with the book's Dropout: every
        Dropout layer is switched to its convention (``set_dropout_mode("book")``, eval:
        x * (1 - p)) so predictions and scores equal the book code's. A dlscratch .npz restores
        the convention recorded when it was saved (inverted when none was recorded). The file
        must hold exactly this network's parameters with their shapes (ModelFileError naming
        what differs; nothing is changed then).
        """
        _files.load_net_params(self, file_name)
