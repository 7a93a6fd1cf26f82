"""Where the MNIST-style data sets come from: file names, checksums, mirrors, folders.

The tables below are plain module-level dicts so that tests (and users behind a proxy) can point
them elsewhere, e.g. ``MIRRORS["mnist"] = ["http://127.0.0.1:8000/"]``.

Files are looked up, per file, in this order:

1. ``data_dir`` passed to the loader (files directly in it, or in ``data_dir/<dataset>/``), or
   else ``$DLSCRATCH_DATA/<dataset>/`` when the environment variable ``DLSCRATCH_DATA`` is set;
2. the user cache folder, ``platformdirs.user_cache_dir("dlscratch")/<dataset>/``, or
   ``$DLSCRATCH_CACHE/<dataset>/`` when that variable is set; downloads go here;
3. known system copies (``LOCAL_DIRS``), e.g. Debian's ``dataset-fashion-mnist`` package;
4. a download from ``MIRRORS`` (unless switched off with ``download=False`` or
   ``DLSCRATCH_OFFLINE=1``).

Each file may be stored gzip-compressed (``*.gz``, as published) or decompressed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import platformdirs

__all__ = [
    "DATASETS", "DESCRIPTIONS", "DOWNLOADABLE", "FILES", "LOCAL_DIRS", "MD5", "MIRRORS",
    "SHA256", "DatasetInfo", "cache_dir", "class_names", "dataset_info", "is_offline",
    "list_datasets", "locate", "search_dirs",
]

DATASETS = ("mnist", "fashion-mnist", "mnist-sample")
DOWNLOADABLE = ("mnist", "fashion-mnist")

DESCRIPTIONS = {
    "mnist": "handwritten digits, 60,000 training + 10,000 test images",
    "fashion-mnist": "clothes in 10 classes, 60,000 training + 10,000 test images",
    "mnist-sample": "the 10,000 MNIST test images split 8,000 training + 2,000 test "
                    "(bundled, offline)",
}

DOWNLOAD_MB = {"mnist": 11, "fashion-mnist": 30}  # size of the four .gz files, rounded

DIGITS = tuple(str(i) for i in range(10))
FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)

FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}

MIRRORS: dict[str, list[str]] = {
    "mnist": [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ],
    "fashion-mnist": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
}

# Published MD5 of the original gzip files: checked on download only (mirrors and distributions
# recompress, so local copies are checked by their decompressed content instead).
MD5: dict[str, dict[str, str]] = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
}

_MNIST_TEST_SHA256 = {
    "t10k-images-idx3-ubyte.gz": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte.gz": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

# SHA-256 of the *decompressed* IDX content, where known; checked for every file decoded.
SHA256: dict[str, dict[str, str]] = {
    "mnist": dict(_MNIST_TEST_SHA256),
    "mnist-sample": dict(_MNIST_TEST_SHA256),
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz":
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte.gz":
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte.gz":
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte.gz":
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
}

# Copies installed by system packages (read-only; never written to).
LOCAL_DIRS: dict[str, list[Path]] = {
    "fashion-mnist": [Path("/usr/share/datasets/fashion-mnist")],
}


def check_dataset_name(dataset: str) -> None:
    """Raise a ValueError listing the choices when ``dataset`` is unknown."""
    if dataset not in DATASETS:
        raise ValueError(
            f"unknown dataset {dataset!r}; choose one of: " + ", ".join(map(repr, DATASETS))
        )


def cache_dir(dataset: str | None = None) -> Path:
    """The folder where downloads and decoded caches live (not created here).

    ``$DLSCRATCH_CACHE`` if set, else ``platformdirs.user_cache_dir("dlscratch")``; with a
    ``dataset`` name, its sub-folder.
    """
    root = os.environ.get("DLSCRATCH_CACHE") or platformdirs.user_cache_dir("dlscratch")
    root_path = Path(root).expanduser()
    return root_path / dataset if dataset else root_path


def is_offline(download: bool = True) -> bool:
    """True when downloading is switched off by the argument or ``DLSCRATCH_OFFLINE=1``."""
    env = os.environ.get("DLSCRATCH_OFFLINE", "").strip().lower()
    return not download or env in ("1", "true", "yes", "on")


def search_dirs(dataset: str, data_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """The folders searched for ``dataset``'s files, in order (see the module docstring)."""
    dirs: list[Path] = []
    if data_dir is not None:
        dirs += [Path(data_dir).expanduser(), Path(data_dir).expanduser() / dataset]
    elif os.environ.get("DLSCRATCH_DATA"):
        dirs.append(Path(os.environ["DLSCRATCH_DATA"]).expanduser() / dataset)
    dirs.append(cache_dir(dataset))
    dirs += LOCAL_DIRS.get(dataset, [])
    return dirs


def locate(filename: str, dirs: list[Path]) -> Path | None:
    """The first ``dir/filename`` (or its decompressed twin without ``.gz``) that exists."""
    names = [filename]
    if filename.endswith(".gz"):
        names.append(filename[: -len(".gz")])
    for folder in dirs:
        for name in names:
            candidate = folder / name
            if candidate.is_file():
                return candidate
    return None


def class_names(dataset: str) -> list[str]:
    """The names of the 10 classes of ``dataset``, indexed by label.

    ``"0"`` .. ``"9"`` for the digit sets (``mnist``, ``mnist-sample``); for ``fashion-mnist``
    T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot.
    """
    check_dataset_name(dataset)
    return list(FASHION_CLASSES if dataset == "fashion-mnist" else DIGITS)


def bundled_dir() -> Path:
    """The package folder that holds the bundled MNIST sample's files."""
    return Path(str(resources.files(__package__) / "_data"))


@dataclass(frozen=True)
class DatasetInfo:
    """Where a data set's files are on this machine.

    ``files`` maps each found file's key (``train_images``, ...) to its path; ``missing``
    lists the file names not found. ``bundled`` data sets ship inside the package.
    """

    name: str
    description: str
    bundled: bool
    downloadable: bool
    files: dict[str, Path] = field(default_factory=dict)
    missing: tuple[str, ...] = ()

    @property
    def available(self) -> bool:
        """True when every file is on this machine."""
        return not self.missing

    @property
    def folders(self) -> list[Path]:
        """The folders holding the found files, in order, without repeats."""
        return list(dict.fromkeys(path.parent for path in self.files.values()))


def dataset_info(dataset: str, data_dir: str | os.PathLike[str] | None = None) -> DatasetInfo:
    """Look up ``dataset``'s files (as the loader would, without downloading or decoding)."""
    check_dataset_name(dataset)
    description = DESCRIPTIONS[dataset]
    if dataset == "mnist-sample":
        folder = bundled_dir()
        files = {key: folder / FILES[key] for key in ("test_images", "test_labels")}
        missing = tuple(path.name for path in files.values() if not path.is_file())
        return DatasetInfo(dataset, description, True, False, files, missing)
    dirs = search_dirs(dataset, data_dir)
    files, missing = {}, []
    for key, name in FILES.items():
        path = locate(name, dirs)
        if path is None:
            missing.append(name)
        else:
            files[key] = path
    return DatasetInfo(dataset, description, False, dataset in DOWNLOADABLE, files,
                       tuple(missing))


def list_datasets(data_dir: str | os.PathLike[str] | None = None) -> list[DatasetInfo]:
    """:func:`dataset_info` for every known data set, in the order of ``DATASETS``."""
    return [dataset_info(name, data_dir) for name in DATASETS]
