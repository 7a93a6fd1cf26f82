"""The networks and data of bench_cnn.py: dlscratch's, PyTorch's and the lecture's trainers.

Each trainer has ``name``, ``step(x, t)`` (one training step on a batch, Adam) and
``infer(x, batch)`` (forward passes over x in batches, eval mode). PyTorch is imported only by
``import_torch`` (importing it costs ~300 MB of memory, which the memory runs of dlscratch
must not include). Import this module after the BLAS thread count is set.
"""

from __future__ import annotations

import lecture_cnn  # beside this script: its folder is sys.path[0]
import numpy as np

from dlscratch.models import DeepConvNet, SimpleConvNet
from dlscratch.optim import Adam

BATCH = 100
torch = None  # set by import_torch


def import_torch(threads: int):
    """Import PyTorch with ``threads`` threads; None when it is not installed."""
    global torch
    try:
        import torch as _torch
    except ImportError:  # PyTorch is optional
        return None
    _torch.set_num_threads(threads)
    torch = _torch
    return torch


# ----------------------------------------------------------------------------- data
def load_fashion(data_dir=None):
    """((x_train, t_train), (x_test, t_test)) as float32 (N, 1, 28, 28) in [0, 1], or None."""
    from dlscratch.datasets import DatasetError, load_mnist

    try:
        return load_mnist(flatten=False, dataset="fashion-mnist", data_dir=data_dir,
                          download=False)
    except (DatasetError, FileNotFoundError):
        return None


def synthetic(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, n)


# ----------------------------------------------------------------------------- trainers
class Ours:
    name = "dlscratch"

    def __init__(self, kind: str, dropout_ratio: float = 0.5, lr: float = 1e-3, seed: int = 0,
                 threads: int = 1, processes: bool = False):
        self.net = (SimpleConvNet(rng=seed) if kind == "simple"
                    else DeepConvNet(dropout_ratio=dropout_ratio, rng=seed))
        # > 1: the batch split over threads (processes: the parts after the first in workers)
        self.net.set_num_threads(threads, processes=processes and threads > 1)
        self.opt = Adam(self.net.parameters(), lr=lr)

    def step(self, x, t):
        net = self.net
        net.train()
        net.gradient(x, t)  # zero_grad, loss, backward (over set_num_threads threads)
        self.opt.step()

    def infer(self, x, batch=BATCH):
        self.net.eval()
        for i in range(0, len(x), batch):
            self.net.predict(x[i:i + batch])

    def accuracy(self, x, t):
        return self.net.accuracy(x, t, batch_size=BATCH)


class Lecture:
    name = "lecture float64"

    def __init__(self, kind: str):
        assert kind == "simple"
        self.net = lecture_cnn.SimpleConvNet(rng=0)
        self.opt = lecture_cnn.Adam(lr=1e-3)

    def step(self, x, t):
        grads = self.net.gradient(x.astype(np.float64), t)
        self.opt.update(self.net.params, grads)

    def infer(self, x, batch=BATCH):
        for i in range(0, len(x), batch):
            self.net.predict(x[i:i + batch].astype(np.float64))


def torch_model(kind: str, dropout=(0.5, 0.5)):
    nn = torch.nn
    if kind == "simple":
        return nn.Sequential(nn.Conv2d(1, 30, 5), nn.ReLU(), nn.MaxPool2d(2, 2), nn.Flatten(),
                             nn.Linear(30 * 12 * 12, 100), nn.ReLU(), nn.Linear(100, 10))

    def conv(c_in, c_out, pad):
        return [nn.Conv2d(c_in, c_out, 3, padding=pad), nn.ReLU()]

    return nn.Sequential(
        *conv(1, 16, 1), *conv(16, 16, 1), nn.MaxPool2d(2),
        *conv(16, 32, 1), *conv(32, 32, 2), nn.MaxPool2d(2),
        *conv(32, 64, 1), *conv(64, 64, 1), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 4 * 4, 50), nn.ReLU(), nn.Dropout(dropout[0]),
        nn.Linear(50, 10), nn.Dropout(dropout[1]))


def torch_forward_flops(kind: str) -> int:
    """Forward FLOPs per image of ``torch_model(kind)``, from its layers' shapes (forward hooks):
    the same count as ``_bench_common.layer_flops`` makes for dlscratch, from the other side."""
    nn, flops = torch.nn, []

    def hook(module, inputs, out):
        if isinstance(module, nn.Conv2d):
            fh, fw = module.kernel_size
            flops.append(2 * module.out_channels * module.in_channels // module.groups * fh * fw
                         * out.shape[2] * out.shape[3])
        else:
            flops.append(2 * module.in_features * module.out_features)

    net = torch_model(kind)
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            m.register_forward_hook(hook)
    with torch.no_grad():
        net.eval()(torch.zeros(1, 1, 28, 28))
    return sum(flops)


class Torch:
    name = "PyTorch"

    def __init__(self, kind: str, dropout_ratio=0.5, lr: float = 1e-3, seed: int = 0):
        torch.manual_seed(seed)
        ratios = dropout_ratio if isinstance(dropout_ratio, tuple) else (dropout_ratio,) * 2
        self.net = torch_model(kind, ratios)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=lr)
        self.loss = torch.nn.CrossEntropyLoss()

    def step(self, x, t):
        self.net.train()
        self.opt.zero_grad()
        loss = self.loss(self.net(torch.from_numpy(x)), torch.from_numpy(t))
        loss.backward()
        self.opt.step()

    def infer(self, x, batch=BATCH):
        self.net.eval()
        with torch.no_grad():
            for i in range(0, len(x), batch):
                self.net(torch.from_numpy(x[i:i + batch]))

    def accuracy(self, x, t):
        self.net.eval()
        with torch.no_grad():
            y = np.concatenate([self.net(torch.from_numpy(x[i:i + BATCH])).numpy()
                                for i in range(0, len(x), BATCH)])
        return float(np.mean(y.argmax(axis=1) == t))
