"""Data sets: MNIST, Fashion-MNIST, a bundled MNIST sample, MNIST-in-CSV, and toy sets.

>>> from dlscratch.datasets import load_mnist
>>> (x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, one_hot_label=True)

``load_mnist`` finds the files in ``data_dir``/``$DLSCRATCH_DATA``, the user cache or a system
copy, or downloads them once (checked, atomic, with mirrors); ``dataset="mnist-sample"`` needs no
download. ``python -m dlscratch.datasets download mnist`` fetches a data set ahead of time.
"""

from .csv_loader import load_csv
from .download import ChecksumError, DownloadError
from .idx import DatasetError, read_idx, write_idx
from .mnist import (
    DatasetNotFoundError,
    download_dataset,
    load_fashion_mnist,
    load_mnist,
)
from .sources import DATASETS, MIRRORS, cache_dir
from .toy import logic_gate, make_blobs_classification, make_moons, make_spiral
from .weights import load_sample_weights, sample_weight_path

__all__ = [
    "DATASETS",
    "MIRRORS",
    "ChecksumError",
    "DatasetError",
    "DatasetNotFoundError",
    "DownloadError",
    "cache_dir",
    "download_dataset",
    "load_csv",
    "load_fashion_mnist",
    "load_mnist",
    "load_sample_weights",
    "logic_gate",
    "make_blobs_classification",
    "make_moons",
    "make_spiral",
    "read_idx",
    "sample_weight_path",
    "write_idx",
]
