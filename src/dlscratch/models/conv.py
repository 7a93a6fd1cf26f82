"""Convolutional networks: the lecture's SimpleConvNet and the book's DeepConvNet (chapter 8).

SimpleConvNet::

    Conv1 (filter_num filters, filter_size^2) - Relu1 - Pool1 (2x2, stride 2)
    - Affine1 (hidden_size) - Relu2 - Affine2 (output_size) - softmax with loss

DeepConvNet (3x3 convolutions, He initialisation)::

    conv(16, pad 1) - relu - conv(16, pad 1) - relu - pool(2)
    - conv(32, pad 1) - relu - conv(32, pad 2) - relu - pool(2)
    - conv(64, pad 1) - relu - conv(64, pad 1) - relu - pool(2)
    - affine(50) - relu - dropout(0.5) - affine(10) - dropout(0.5) - softmax with loss

Both keep the lectures' interface: an ordered ``layers`` mapping, ``last_layer``, a live
``params`` dict (W1, b1, ...), ``predict``, ``loss``, ``accuracy(x, t, batch_size=100)``,
``gradient`` and ``save_params`` / ``load_params``. The input gradient of the first
convolution is never computed (``compute_dx = False``): no one needs dL/d(images).

Every size along the way is computed with ``conv_output_size`` (so a configuration whose
windows do not tile the input is refused at construction), and so are the fan-ins used by the
weight initialisation.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np

from .._rng import as_generator
from ..layers import Conv2d, Dropout, Linear, MaxPool2d, ReLU, Sequential, SoftmaxWithLoss
from ..util import conv_output_size
from .base import Net
from .config import ConfigError, as_int

_DEFAULT_CONV = {"filter_num": 30, "filter_size": 5, "pad": 0, "stride": 1}


def _sizes(where: str, size: int, filter_size: int, stride: int, pad: int) -> int:
    try:
        return conv_output_size(size, filter_size, stride, pad)
    except ValueError as e:
        raise ValueError(f"{where}: {e}") from None


class SimpleConvNet(Net):
    """conv - relu - pool - affine - relu - affine, the lecture's first CNN.

    Parameters
    ----------
    input_dim : (C, H, W) of one image, (1, 28, 28) for MNIST.
    conv_param : ``filter_num``, ``filter_size``, ``pad``, ``stride`` of the convolution.
    hidden_size, output_size : widths of the two Affine layers.
    weight_init_std : 0.01 as in the lecture, or "he"/"relu" or "xavier" (scaled by each
        layer's fan-in: C*FH*FW for the convolution, the input width for Affine layers).
    dtype : float32 by default; float64 for gradient checks.
    rng : None, a seed or a ``np.random.Generator`` for the initial weights.
    """

    def __init__(
        self,
        input_dim: tuple[int, int, int] = (1, 28, 28),
        conv_param: dict[str, int] | None = None,
        hidden_size: int = 100,
        output_size: int = 10,
        weight_init_std: float | str = 0.01,
        dtype=np.float32,
        rng=None,
    ) -> None:
        super().__init__()
        conv_param = {**_DEFAULT_CONV, **(conv_param or {})}
        C, H, W = (int(v) for v in input_dim)
        filter_num = int(conv_param["filter_num"])
        filter_size = int(conv_param["filter_size"])
        filter_pad = int(conv_param["pad"])
        filter_stride = int(conv_param["stride"])
        self._config: dict[str, Any] = dict(
            input_dim=[C, H, W],
            conv_param=dict(filter_num=filter_num, filter_size=filter_size, pad=filter_pad,
                            stride=filter_stride),
            hidden_size=int(hidden_size), output_size=int(output_size),
            weight_init_std=weight_init_std, dtype=np.dtype(dtype).name,
        )

        where = "SimpleConvNet"
        conv_h = _sizes(where, H, filter_size, filter_stride, filter_pad)
        conv_w = _sizes(where, W, filter_size, filter_stride, filter_pad)
        pool_h = _sizes(where + " (2x2 pooling)", conv_h, 2, 2, 0)
        pool_w = _sizes(where + " (2x2 pooling)", conv_w, 2, 2, 0)
        pool_output_size = filter_num * pool_h * pool_w

        g = as_generator(rng)
        conv = Conv2d(C, filter_num, filter_size, filter_stride, filter_pad,
                      weight_init_std=weight_init_std, dtype=dtype, rng=g)
        conv.compute_dx = False  # the first layer: dL/d(images) is not needed
        self.layers = Sequential(OrderedDict([
            ("Conv1", conv),
            ("Relu1", ReLU()),
            ("Pool1", MaxPool2d(2, stride=2)),
            ("Affine1", Linear(pool_output_size, hidden_size, weight_init_std, dtype=dtype,
                               rng=g)),
            ("Relu2", ReLU()),
            ("Affine2", Linear(hidden_size, output_size, weight_init_std, dtype=dtype, rng=g)),
        ]))
        self.last_layer = SoftmaxWithLoss()
        self._set_param_names({
            "W1": "layers.Conv1.W", "b1": "layers.Conv1.b",
            "W2": "layers.Affine1.W", "b2": "layers.Affine1.b",
            "W3": "layers.Affine2.W", "b3": "layers.Affine2.b",
        })

    @classmethod
    def count_parameters(cls, config) -> int:
        """Conv1 FN*C*FS*FS + FN, Affine1 FN*pool_h*pool_w*hidden + hidden, Affine2
        hidden*out + out."""
        C, H, W = _input_dim(config["input_dim"])
        cp = {**_DEFAULT_CONV, **(config["conv_param"] or {})}
        if not isinstance(cp, dict) or set(cp) - set(_DEFAULT_CONV):
            raise ConfigError(f"conv_param takes {sorted(_DEFAULT_CONV)}, got {cp!r}")
        fn = as_int(cp["filter_num"], "filter_num")
        fs = as_int(cp["filter_size"], "filter_size")
        pad = as_int(cp["pad"], "pad", 0)
        stride = as_int(cp["stride"], "stride")
        hidden = as_int(config["hidden_size"], "hidden_size")
        out = as_int(config["output_size"], "output_size")
        ph = _sizes("SimpleConvNet", _sizes("SimpleConvNet", H, fs, stride, pad), 2, 2, 0)
        pw = _sizes("SimpleConvNet", _sizes("SimpleConvNet", W, fs, stride, pad), 2, 2, 0)
        return fn * C * fs * fs + fn + fn * ph * pw * hidden + hidden + hidden * out + out

    @classmethod
    def count_buffers(cls, config) -> int:
        return 0


def _input_dim(value) -> tuple[int, int, int]:
    if not isinstance(value, (list, tuple)) or len(value) != 3:
        raise ConfigError(f"input_dim must be (C, H, W), got {value!r}")
    return tuple(as_int(v, f"input_dim[{i}]") for i, v in enumerate(value))


# (filter_num, pad) of the six 3x3 convolutions; a 2x2 pooling follows the 2nd, 4th and 6th.
_DEEP_CONV = [(16, 1), (16, 1), (32, 1), (32, 2), (64, 1), (64, 1)]


class DeepConvNet(Net):
    """The book's chapter 8 network: six 3x3 convolutions, three poolings, two Affine layers.

    Weights use He initialisation, std = sqrt(2 / fan_in), with each fan-in computed from the
    shapes (C*3*3 for a convolution, the flattened size for Affine1). ``dropout_ratio`` is the
    probability of dropping (inverted dropout; 0 switches it off): one number for both dropout
    layers, as in the book, or a pair (Dropout1 after Affine1, Dropout2 on the class scores).
    Dropout is active in training mode only, so ``eval()`` gives the deterministic network
    (``accuracy`` always evaluates in eval mode).

    Training it on Fashion-MNIST (benchmarks/bench_cnn.py --accuracy deep): with the book's
    setting (dropout 0.5 on both, Adam lr 0.001, batch 100) it reaches about 90% in 10 epochs;
    with ``dropout_ratio=(0.25, 0.0)`` (no dropout on the class scores), Adam lr 0.002 and a
    cosine schedule (``dlscratch.lr_scheduler.CosineAnnealingLR`` over all iterations),
    92.3-93.0% at epoch 10 with seeds 0, 1 and 2.

    Layers: Conv1 Relu1 Conv2 Relu2 Pool1 Conv3 Relu3 Conv4 Relu4 Pool2 Conv5 Relu5 Conv6 Relu6
    Pool3 Affine1 Relu7 Dropout1 Affine2 Dropout2; parameters W1..W8, b1..b8.
    """

    #: set_num_threads splits batches into parts of 8 or more images: with ten times the work
    #: per image of SimpleConvNet, batches of 16-48 train and infer 1.17-1.42x faster split
    #: than unsplit (parts of 4: 1.03x)
    min_part = 8

    def __init__(
        self,
        input_dim: tuple[int, int, int] = (1, 28, 28),
        conv_params: list[tuple[int, int]] | None = None,
        hidden_size: int = 50,
        output_size: int = 10,
        dropout_ratio: float | tuple[float, float] = 0.5,
        dtype=np.float32,
        rng=None,
    ) -> None:
        super().__init__()
        conv_params = [(int(f), int(p)) for f, p in (conv_params or _DEEP_CONV)]
        if len(conv_params) != 6:
            raise ValueError(f"DeepConvNet has six convolutions; got {len(conv_params)} "
                             "(filter_num, pad) pairs")
        C, H, W = (int(v) for v in input_dim)
        if isinstance(dropout_ratio, (tuple, list)):
            if len(dropout_ratio) != 2:
                raise ValueError("DeepConvNet: dropout_ratio is one number or a pair (after "
                                 f"Affine1, after Affine2); got {dropout_ratio!r}")
            ratios = [float(r) for r in dropout_ratio]
        else:
            ratios = [float(dropout_ratio)] * 2
        self._config: dict[str, Any] = dict(
            input_dim=[C, H, W], conv_params=[list(cp) for cp in conv_params],
            hidden_size=int(hidden_size), output_size=int(output_size),
            dropout_ratio=ratios if ratios[0] != ratios[1] else ratios[0],
            dtype=np.dtype(dtype).name,
        )
        g = as_generator(rng)
        layers: OrderedDict = OrderedDict()
        names: dict[str, str] = {}
        channels, h, w = C, H, W
        for i, (filter_num, pad) in enumerate(conv_params, start=1):
            where = f"DeepConvNet Conv{i}"
            h, w = _sizes(where, h, 3, 1, pad), _sizes(where, w, 3, 1, pad)
            conv = Conv2d(channels, filter_num, 3, 1, pad, weight_init_std="he", dtype=dtype,
                          rng=g)  # He: sqrt(2 / (channels * 3 * 3))
            if i == 1:
                conv.compute_dx = False
            layers[f"Conv{i}"] = conv
            layers[f"Relu{i}"] = ReLU()
            names[f"W{i}"], names[f"b{i}"] = f"layers.Conv{i}.W", f"layers.Conv{i}.b"
            channels = filter_num
            if i % 2 == 0:
                where = f"DeepConvNet Pool{i // 2}"
                h, w = _sizes(where, h, 2, 2, 0), _sizes(where, w, 2, 2, 0)
                layers[f"Pool{i // 2}"] = MaxPool2d(2, stride=2)
        flat = channels * h * w  # 64 * 4 * 4 for 28x28 input
        layers["Affine1"] = Linear(flat, hidden_size, "he", dtype=dtype, rng=g)
        layers["Relu7"] = ReLU()
        layers["Dropout1"] = Dropout(ratios[0], rng=g)
        layers["Affine2"] = Linear(hidden_size, output_size, "he", dtype=dtype, rng=g)
        layers["Dropout2"] = Dropout(ratios[1], rng=g)
        names["W7"], names["b7"] = "layers.Affine1.W", "layers.Affine1.b"
        names["W8"], names["b8"] = "layers.Affine2.W", "layers.Affine2.b"
        self.layers = Sequential(layers)
        self.last_layer = SoftmaxWithLoss()
        self._set_param_names(names)

    @classmethod
    def count_parameters(cls, config) -> int:
        """Six 3x3 convolutions (C_in*9*FN + FN each), Affine1 flat*hidden + hidden, Affine2
        hidden*out + out."""
        channels, h, w = _input_dim(config["input_dim"])
        conv_params = config["conv_params"] or _DEEP_CONV
        if not isinstance(conv_params, (list, tuple)) or len(conv_params) != 6:
            raise ConfigError(f"conv_params must be six (filter_num, pad) pairs, got "
                              f"{conv_params!r}")
        n = 0
        for i, pair in enumerate(conv_params, start=1):
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise ConfigError(f"conv_params[{i - 1}] must be (filter_num, pad), got {pair!r}")
            fn, pad = as_int(pair[0], "filter_num"), as_int(pair[1], "pad", 0)
            where = f"DeepConvNet Conv{i}"
            h, w = _sizes(where, h, 3, 1, pad), _sizes(where, w, 3, 1, pad)
            n += channels * 9 * fn + fn
            channels = fn
            if i % 2 == 0:
                where = f"DeepConvNet Pool{i // 2}"
                h, w = _sizes(where, h, 2, 2, 0), _sizes(where, w, 2, 2, 0)
        hidden = as_int(config["hidden_size"], "hidden_size")
        out = as_int(config["output_size"], "output_size")
        return n + channels * h * w * hidden + hidden + hidden * out + out

    @classmethod
    def count_buffers(cls, config) -> int:
        return 0

    def predict(self, x: np.ndarray, train_flg: bool | None = None) -> np.ndarray:
        """Scores (N, output_size). ``train_flg`` (the book's argument) forces training
        (dropout on) or evaluation (off) for this call; None uses the current mode."""
        if train_flg is None:
            return super().predict(x)
        was_training = self.training
        self.train(train_flg)
        try:
            return super().predict(x)
        finally:
            self.train(was_training)
