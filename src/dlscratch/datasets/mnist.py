"""``load_mnist``: MNIST, Fashion-MNIST and the bundled MNIST sample, the book's way.

>>> (x_train, t_train), (x_test, t_test) = load_mnist(dataset="mnist-sample")
>>> x_train.shape, x_train.dtype, t_train[:5]
((8000, 784), dtype('float32'), array([7, 2, 1, 0, 4]))

Decoded arrays are cached as an ``.npz`` file next to the downloads (see ``sources``), so a
second load skips the gzip decoding and takes a fraction of a second.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from importlib import resources
from pathlib import Path

import numpy as np

from .._files import atomic_write
from ..data import one_hot
from . import download as _download
from . import sources
from .idx import DatasetError, decode_idx, decompress

__all__ = [
    "DatasetNotFoundError", "download_dataset", "load_fashion_mnist", "load_mnist", "load_raw",
]

SAMPLE_TRAIN_SIZE = 8000  # mnist-sample: the first 8,000 test images train, the last 2,000 test
NUM_CLASSES = 10
CACHE_NAME = "decoded.npz"
_CACHE_VERSION = "1"
_KEYS = tuple(sources.FILES)  # train_images, train_labels, test_images, test_labels

Raw = dict[str, np.ndarray]


class DatasetNotFoundError(DatasetError, FileNotFoundError):
    """The data set's files are not on this machine and downloading is switched off.

    ``dataset``, ``missing`` (file names) and ``searched`` (folders) say what was looked for
    and where, so that a command line can word its own advice.
    """

    def __init__(self, message: str, *, dataset: str = "", missing: tuple[str, ...] = (),
                 searched: tuple[Path, ...] = ()) -> None:
        super().__init__(message)
        self.dataset = dataset
        self.missing = missing
        self.searched = searched


def download_command(dataset: str) -> str:
    """The shell command that downloads ``dataset``: ``dlscratch datasets --download NAME``."""
    return f"dlscratch datasets --download {dataset}"


def _download_advice(dataset: str) -> str:
    return (f"`{download_command(dataset)}` "
            f"(or `python -m dlscratch.datasets download {dataset}`)")


def _not_found(dataset: str, missing: list[str], dirs: list[Path]) -> DatasetNotFoundError:
    return DatasetNotFoundError(
        f"{dataset}: missing {', '.join(missing)} and downloading is switched off "
        "(download=False or DLSCRATCH_OFFLINE=1).\n"
        f"Looked in: {', '.join(str(d) for d in dirs)}.\n"
        f"To fix: run {_download_advice(dataset)} on a machine with internet access, or put "
        f"the files into {sources.cache_dir(dataset)} (or pass data_dir=...). "
        'Without any download, load_mnist(dataset="mnist-sample") gives the bundled 10,000 '
        "MNIST test images.",
        dataset=dataset, missing=tuple(missing), searched=tuple(dirs),
    )


def _verified(data: bytes, name: str, dataset: str, filename: str, ndim: int) -> np.ndarray:
    """Decode IDX bytes and check the decompressed content's SHA-256 where one is known."""
    content = decompress(data, name)
    expected = sources.SHA256.get(dataset, {}).get(filename)
    if expected is not None:
        got = hashlib.sha256(content).hexdigest()
        if got != expected:
            raise DatasetError(
                f"{name}: the content is not the {dataset} file {filename} (SHA-256 {got}, "
                f"expected {expected}). Delete it and run {_download_advice(dataset)}."
            )
    array = decode_idx(content, name, ndim=ndim)
    if array.dtype != np.uint8:
        raise DatasetError(f"{name}: expected unsigned bytes (uint8), found {array.dtype}.")
    return array


def _check_pairs(raw: Raw, names: dict[str, str]) -> None:
    for split in ("train", "test"):
        images, labels = raw[f"{split}_images"], raw[f"{split}_labels"]
        if len(images) != len(labels):
            raise DatasetError(
                f"{names[f'{split}_images']} has {len(images):,} images but "
                f"{names[f'{split}_labels']} has {len(labels):,} labels; the files come from "
                "different data sets or one is damaged. Replace both with matching copies."
            )
        if labels.size and labels.max() >= NUM_CLASSES:
            raise DatasetError(
                f"{names[f'{split}_labels']}: label {labels.max()} is outside 0-9; the file is "
                "not an MNIST-style labels file."
            )


def _fingerprint(paths: dict[str, Path]) -> str:
    parts = [f"v{_CACHE_VERSION}"]
    for key in _KEYS:
        st = paths[key].stat()
        parts.append(f"{paths[key].resolve()}:{st.st_size}:{st.st_mtime_ns}")
    return "|".join(parts)


def _read_cache(path: Path, fingerprint: str) -> Raw | None:
    """The decoded arrays if ``path`` holds them for exactly these source files, else None."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            if str(npz["source"]) != fingerprint:
                return None
            return {key: npz[key] for key in _KEYS}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None  # missing or damaged cache: decode again


def _write_cache(path: Path, raw: Raw, fingerprint: str) -> None:
    """Write the decoded arrays atomically; a cache that cannot be written is skipped."""
    try:
        with atomic_write(path, "wb") as f:
            np.savez(f, source=np.array(fingerprint), **raw)
    except OSError:
        pass


def _load_sample() -> Raw:
    folder = resources.files(__package__) / "_data"
    test = {}
    for key in ("test_images", "test_labels"):
        filename = sources.FILES[key]
        data = (folder / filename).read_bytes()
        name = f"dlscratch/datasets/_data/{filename}"
        test[key] = _verified(data, name, "mnist-sample", filename, 3 if "images" in key else 1)
    n = SAMPLE_TRAIN_SIZE
    images, labels = test["test_images"], test["test_labels"]
    return {
        "train_images": images[:n], "train_labels": labels[:n],
        "test_images": images[n:], "test_labels": labels[n:],
    }


def download_dataset(
    dataset: str,
    dest_dir: str | os.PathLike[str] | None = None,
    *,
    mirrors: list[str] | None = None,
    progress: bool = True,
) -> dict[str, Path]:
    """Download the files of ``dataset`` that are not yet in ``dest_dir`` (default: its cache).

    Returns:
        ``{"train_images": path, ...}`` for the four files.
    """
    sources.check_dataset_name(dataset)
    if dataset not in sources.DOWNLOADABLE:
        raise ValueError(f"{dataset!r} is bundled with dlscratch; there is nothing to download")
    folder = Path(dest_dir) if dest_dir is not None else sources.cache_dir(dataset)
    return _fetch_missing(dataset, list(sources.FILES), folder, mirrors, progress)


def _fetch_missing(dataset: str, keys: list[str], folder: Path, mirrors: list[str] | None,
                   progress: bool = True) -> dict[str, Path]:
    """Paths of the files for ``keys`` in ``folder``, downloading those not there yet."""
    urls = mirrors if mirrors is not None else sources.MIRRORS.get(dataset, [])
    paths = {}
    for key in keys:
        filename = sources.FILES[key]
        paths[key] = sources.locate(filename, [folder]) or _download.fetch(
            filename, folder, urls, sources.MD5.get(dataset, {}).get(filename), progress=progress
        )
    return paths


def load_raw(
    dataset: str = "mnist",
    data_dir: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    mirrors: list[str] | None = None,
) -> Raw:
    """The four uint8 arrays of ``dataset``: ``train_images`` (N, 28, 28), ``train_labels`` (N,),
    ``test_images``, ``test_labels``. Finds, downloads, verifies and caches as needed."""
    sources.check_dataset_name(dataset)
    if dataset == "mnist-sample":
        return _load_sample()
    dirs = sources.search_dirs(dataset, data_dir)
    paths = {key: sources.locate(name, dirs) for key, name in sources.FILES.items()}
    missing = [key for key, path in paths.items() if path is None]
    if missing:
        if sources.is_offline(download):
            raise _not_found(dataset, [sources.FILES[key] for key in missing], dirs)
        try:
            paths.update(_fetch_missing(dataset, missing, sources.cache_dir(dataset), mirrors))
        except _download.DownloadError as exc:
            raise type(exc)(
                f"{dataset}: {exc}\nLater, run {_download_advice(dataset)}; meanwhile "
                'load_mnist(dataset="mnist-sample") works offline.'
            ) from exc
    cache_path = sources.cache_dir(dataset) / CACHE_NAME
    fingerprint = _fingerprint(paths)
    raw = _read_cache(cache_path, fingerprint)
    if raw is not None:
        return raw
    raw = {}
    for key, path in paths.items():
        ndim = 3 if key.endswith("images") else 1
        raw[key] = _verified(path.read_bytes(), str(path), dataset, sources.FILES[key], ndim)
    _check_pairs(raw, {key: str(path) for key, path in paths.items()})
    _write_cache(cache_path, raw, fingerprint)
    return raw


def _format(images: np.ndarray, labels: np.ndarray, normalize: bool, flatten: bool,
            one_hot_label: bool) -> tuple[np.ndarray, np.ndarray]:
    x = images
    if normalize:  # exactly the book's arithmetic: float32, then divide by 255.0
        x = x.astype(np.float32)
        x /= 255.0
    x = x.reshape(len(x), -1) if flatten else x.reshape(len(x), 1, *x.shape[1:])
    t = one_hot(labels, NUM_CLASSES) if one_hot_label else labels.astype(np.int64)
    return x, t


def load_mnist(
    normalize: bool = True,
    flatten: bool = True,
    one_hot_label: bool = False,
    dataset: str = "mnist",
    data_dir: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    mirrors: list[str] | None = None,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load MNIST (or Fashion-MNIST, or the bundled sample) like the book's ``load_mnist``.

    Args:
        normalize: float32 pixels in [0, 1] if True, else uint8 in 0-255.
        flatten: images as rows ``(N, 784)`` if True, else ``(N, 1, 28, 28)``.
        one_hot_label: labels as float32 one-hot rows ``(N, 10)`` if True, else int64 ``(N,)``.
        dataset: ``"mnist"`` (60,000 + 10,000), ``"fashion-mnist"`` (60,000 + 10,000) or
            ``"mnist-sample"`` (bundled, offline: the MNIST test set split 8,000 + 2,000).
        data_dir: a folder holding the four ``*-ubyte.gz`` files (searched first).
        download: allow downloading missing files (also switched off by ``DLSCRATCH_OFFLINE=1``).
        mirrors: base URLs to download from instead of ``sources.MIRRORS[dataset]``.

    Returns:
        ``(x_train, t_train), (x_test, t_test)``.

    Raises:
        ValueError: unknown ``dataset``.
        DatasetNotFoundError: files missing and downloading switched off (says what to do).
        DatasetError: a damaged or inconsistent file (names it); DownloadError: no mirror worked.
    """
    raw = load_raw(dataset, data_dir, download=download, mirrors=mirrors)
    train = _format(raw["train_images"], raw["train_labels"], normalize, flatten, one_hot_label)
    test = _format(raw["test_images"], raw["test_labels"], normalize, flatten, one_hot_label)
    return train, test


def load_fashion_mnist(
    normalize: bool = True,
    flatten: bool = True,
    one_hot_label: bool = False,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    mirrors: list[str] | None = None,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``load_mnist(..., dataset="fashion-mnist")``: 28x28 greyscale clothes in 10 classes."""
    return load_mnist(normalize, flatten, one_hot_label, "fashion-mnist", data_dir,
                      download=download, mirrors=mirrors)
