"""IDX files, load_mnist (sample, data_dir, Fashion-MNIST), offline errors and the CLI."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from conftest import need

from dlscratch.datasets import (
    DatasetError,
    DatasetNotFoundError,
    load_fashion_mnist,
    load_mnist,
    read_idx,
    sources,
    write_idx,
)
from dlscratch.datasets import __main__ as cli
from dlscratch.datasets import mnist as mnist_module

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """Every test gets its own cache folder and no data folder or offline switch from outside."""
    monkeypatch.setenv("DLSCRATCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("DLSCRATCH_DATA", raising=False)
    monkeypatch.delenv("DLSCRATCH_OFFLINE", raising=False)
    return tmp_path / "cache"


@pytest.fixture
def decodes(monkeypatch):
    """The names of the IDX files decoded from then on (the cache skips decoding)."""
    names: list[str] = []
    real = mnist_module._verified

    def counting(data, name, *args, **kwargs):
        names.append(Path(name).name)
        return real(data, name, *args, **kwargs)

    monkeypatch.setattr(mnist_module, "_verified", counting)
    return names


@pytest.fixture
def fake_hashes(monkeypatch):
    """Fake MNIST files are not the real test set: forget its known SHA-256 values."""
    monkeypatch.setitem(sources.SHA256, "mnist", {})


def fake_set(folder: Path, n_train: int = 12, n_test: int = 5, n_train_labels=None, seed=0):
    """Write four small MNIST-style .gz files into ``folder``; return the arrays written."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, n_train_labels or n_train, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    for key, array in arrays.items():
        write_idx(folder / sources.FILES[key], array)
    return arrays


# --- IDX -------------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize(
    "array",
    [
        np.arange(7, dtype=np.uint8),
        np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4),
        np.array([[-1.5, 2.25], [3.0, 1e9]], dtype=np.float32),
        np.array([-70000, 5, 2**30], dtype=np.int32),
    ],
)
def test_idx_round_trip(tmp_path, array, suffix):
    path = write_idx(tmp_path / f"a-idx{suffix}", array)
    assert path.read_bytes()[:2] == (b"\x1f\x8b" if suffix else b"\x00\x00")
    back = read_idx(path)
    assert back.dtype == array.dtype.newbyteorder("=")
    assert back.flags.writeable
    np.testing.assert_array_equal(back, array)


def test_idx_header_is_mnist_layout(tmp_path):
    path = write_idx(tmp_path / "img", np.zeros((2, 28, 28), np.uint8))
    data = path.read_bytes()
    assert data[:16] == bytes.fromhex("00000803" "00000002" "0000001c" "0000001c")
    assert len(data) == 16 + 2 * 784


def test_idx_wrong_magic(tmp_path):
    path = tmp_path / "bad-idx1-ubyte"
    path.write_bytes(b"\x12\x34\x08\x01" + (3).to_bytes(4, "big") + b"\x01\x02\x03")
    with pytest.raises(DatasetError, match=r"bad-idx1-ubyte: bad magic number 0x12340801"):
        read_idx(path)


def test_idx_expected_ndim(tmp_path):
    path = write_idx(tmp_path / "labels", np.zeros(3, np.uint8))
    with pytest.raises(DatasetError, match=r"expected a 3-D IDX file .* says 1-D"):
        read_idx(path, ndim=3)


def test_idx_truncated_raw(tmp_path):
    path = write_idx(tmp_path / "img-idx3-ubyte", np.ones((3, 4, 4), np.uint8))
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(DatasetError, match=r"img-idx3-ubyte is truncated: .*3 x 4 x 4 .*48 bytes"
                       r".*only 43 bytes.*download it again"):
        read_idx(path)


def test_idx_truncated_gzip(tmp_path):
    path = write_idx(tmp_path / "img-idx3-ubyte.gz", np.arange(3000, dtype=np.uint8) % 251)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match=r"img-idx3-ubyte.gz: the gzip data is truncated"):
        read_idx(path)


def test_idx_gzip_of_truncated_content(tmp_path):
    """A complete gzip stream whose IDX content is short: caught by the size check."""
    payload = bytes.fromhex("00000801") + (10).to_bytes(4, "big") + b"\x01" * 6
    path = tmp_path / "lab.gz"
    path.write_bytes(gzip.compress(payload))
    with pytest.raises(DatasetError, match=r"lab.gz is truncated.*10 values"):
        read_idx(path)


def test_idx_trailing_bytes(tmp_path):
    path = write_idx(tmp_path / "lab", np.arange(5, dtype=np.uint8))
    path.write_bytes(path.read_bytes() + b"\x00\x00\x00")
    with pytest.raises(DatasetError, match=r"lab has 3 trailing bytes"):
        read_idx(path)


def test_idx_corrupted_gzip(tmp_path):
    path = write_idx(tmp_path / "x.gz", np.arange(500, dtype=np.uint8))
    data = bytearray(path.read_bytes())
    data[-6] ^= 0xFF  # break the CRC
    path.write_bytes(bytes(data))
    with pytest.raises(DatasetError, match=r"x.gz: the gzip data is corrupted"):
        read_idx(path)


# --- mnist-sample (bundled, offline) ----------------------------------------------------------

def test_sample_default_shapes_and_values(monkeypatch):
    monkeypatch.setenv("DLSCRATCH_OFFLINE", "1")
    (x_train, t_train), (x_test, t_test) = load_mnist(dataset="mnist-sample")
    assert x_train.shape == (8000, 784) and x_test.shape == (2000, 784)
    assert x_train.dtype == np.float32 and t_train.dtype == np.int64
    assert x_train.min() == 0.0 and x_train.max() == 1.0
    assert t_train[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    counts = np.bincount(np.concatenate([t_train, t_test]), minlength=10)
    assert counts.tolist() == MNIST_TEST_COUNTS


def test_sample_variants_match_the_raw_file():
    raw_images = read_idx(Path(sources.__file__).parent / "_data" / "t10k-images-idx3-ubyte.gz")
    (x_train, t_train), (x_test, t_test) = load_mnist(
        normalize=False, flatten=False, one_hot_label=True, dataset="mnist-sample"
    )
    assert x_train.shape == (8000, 1, 28, 28) and x_test.shape == (2000, 1, 28, 28)
    assert x_train.dtype == np.uint8
    np.testing.assert_array_equal(x_train[:, 0], raw_images[:8000])
    np.testing.assert_array_equal(x_test[:, 0], raw_images[8000:])
    assert t_train.shape == (8000, 10) and t_train.dtype == np.float32
    assert t_train[0].tolist() == [0, 0, 0, 0, 0, 0, 0, 1, 0, 0]
    assert t_train.sum(axis=1).tolist() == [1.0] * 8000

    (xn, _), _ = load_mnist(normalize=True, flatten=False, dataset="mnist-sample")
    assert xn.shape == (8000, 1, 28, 28) and xn.dtype == np.float32
    np.testing.assert_array_equal(xn, x_train.astype(np.float32) / np.float32(255.0))


def test_unknown_dataset_lists_choices():
    with pytest.raises(ValueError, match=r"unknown dataset 'emnist'.*'mnist', 'fashion-mnist', "
                       r"'mnist-sample'"):
        load_mnist(dataset="emnist")


# --- files from data_dir / the cache --------------------------------------------------------

def test_load_from_data_dir_and_decoded_cache(tmp_path, isolated_env, fake_hashes, decodes):
    arrays = fake_set(tmp_path / "data")
    (x_train, t_train), (x_test, t_test) = load_mnist(
        normalize=False, data_dir=tmp_path / "data", download=False
    )
    np.testing.assert_array_equal(x_train, arrays["train_images"].reshape(12, 784))
    np.testing.assert_array_equal(t_test, arrays["test_labels"])
    assert t_train.dtype == np.int64
    assert sorted(decodes) == sorted(sources.FILES.values())  # each file decoded once
    assert (isolated_env / "mnist" / "decoded.npz").is_file()
    assert not list(isolated_env.glob("mnist/*.gz"))  # nothing copied or downloaded

    # The second load reads the decoded .npz cache: no file is decoded again.
    decodes.clear()
    (x_again, t_again), _ = load_mnist(normalize=False, data_dir=tmp_path / "data",
                                       download=False)
    assert decodes == []
    np.testing.assert_array_equal(x_again, x_train)
    np.testing.assert_array_equal(t_again, t_train)

    # The cache follows its source: a changed file is decoded again.
    new = fake_set(tmp_path / "data", seed=1)
    (x_train2, _), _ = load_mnist(normalize=False, data_dir=tmp_path / "data", download=False)
    assert sorted(decodes) == sorted(sources.FILES.values())
    np.testing.assert_array_equal(x_train2, new["train_images"].reshape(12, 784))


def test_env_data_dir_and_uncompressed_files(tmp_path, monkeypatch, fake_hashes):
    arrays = fake_set(tmp_path / "data" / "mnist")
    for gz in (tmp_path / "data" / "mnist").glob("*.gz"):  # store them decompressed
        gz.with_suffix("").write_bytes(gzip.decompress(gz.read_bytes()))
        gz.unlink()
    monkeypatch.setenv("DLSCRATCH_DATA", str(tmp_path / "data"))
    (_, t_train), _ = load_mnist(download=False)
    np.testing.assert_array_equal(t_train, arrays["train_labels"])


def test_images_labels_count_mismatch(tmp_path, fake_hashes):
    fake_set(tmp_path / "data", n_train=12, n_train_labels=11)
    with pytest.raises(DatasetError, match=r"train-images-idx3-ubyte.gz has 12 images but "
                       r".*train-labels-idx1-ubyte.gz has 11 labels"):
        load_mnist(data_dir=tmp_path / "data", download=False)


def test_local_file_with_wrong_content_is_rejected(tmp_path):
    """Known SHA-256 of the MNIST test set: another file under that name is refused."""
    fake_set(tmp_path / "data")
    with pytest.raises(DatasetError, match=r"t10k-images-idx3-ubyte.gz: the content is not the "
                       r"mnist file .*python -m dlscratch.datasets download mnist"):
        load_mnist(data_dir=tmp_path / "data", download=False, dataset="mnist")


# --- offline and missing ----------------------------------------------------------------------

@pytest.mark.parametrize("how", ["argument", "env"])
def test_offline_missing_gives_one_clear_error(how, monkeypatch, isolated_env):
    if how == "env":
        monkeypatch.setenv("DLSCRATCH_OFFLINE", "1")
    with pytest.raises(DatasetNotFoundError) as info:
        load_mnist(download=(how == "env"))
    message = str(info.value)
    for name in sources.FILES.values():
        assert name in message
    assert str(isolated_env / "mnist") in message
    assert "python -m dlscratch.datasets download mnist" in message
    assert 'dataset="mnist-sample"' in message
    assert isinstance(info.value, FileNotFoundError)
    assert not (isolated_env / "mnist").exists()  # nothing created


# --- Fashion-MNIST from the system package ----------------------------------------------------

def test_fashion_mnist_from_system_copy(monkeypatch, isolated_env, decodes):
    need(FASHION_DIR.is_dir(), "needs `apt-get install dataset-fashion-mnist` (files in "
                               f"{FASHION_DIR})")
    monkeypatch.setenv("DLSCRATCH_OFFLINE", "1")
    (x_train, t_train), (x_test, t_test) = load_fashion_mnist()
    assert x_train.shape == (60000, 784) and x_test.shape == (10000, 784)
    assert x_train.dtype == np.float32 and 0.0 <= x_train.min() and x_train.max() == 1.0
    assert np.bincount(t_train).tolist() == [6000] * 10
    assert np.bincount(t_test).tolist() == [1000] * 10
    assert sorted(decodes) == sorted(sources.FILES.values())
    assert (isolated_env / "fashion-mnist" / "decoded.npz").is_file()

    decodes.clear()
    (x2, t2), _ = load_fashion_mnist()  # from the decoded .npz cache: nothing decoded
    assert decodes == []
    np.testing.assert_array_equal(x2, x_train)
    np.testing.assert_array_equal(t2, t_train)


# --- command line -----------------------------------------------------------------------------

def test_cli_where_and_check(capsys, isolated_env):
    assert cli.main(["where"]) == 0
    assert capsys.readouterr().out.strip() == str(isolated_env)
    assert cli.main(["check", "mnist-sample"]) == 0
    assert "train_images: shape (8000, 28, 28), dtype uint8" in capsys.readouterr().out
    assert cli.main(["check", "mnist"]) == 1
    assert "python -m dlscratch.datasets download mnist" in capsys.readouterr().err


def test_module_entry_point_runs(isolated_env):
    import os
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "dlscratch.datasets", "where"],
        capture_output=True, text=True, env={**os.environ}, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(isolated_env)
