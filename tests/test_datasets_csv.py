"""load_csv: Kaggle's "MNIST in CSV" format."""

from __future__ import annotations

import numpy as np
import pytest

from dlscratch.datasets import DatasetError, csv_loader, load_csv

HEADER = "label," + ",".join(f"{r}x{c}" for r in range(1, 29) for c in range(1, 29))


def write_csv(path, labels, pixels, header=True, bom=False):
    lines = [HEADER] if header else []
    lines += [",".join(map(str, [label, *row])) for label, row in zip(labels, pixels)]
    path.write_text(("\ufeff" if bom else "") + "\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def sample(tmp_path):
    rng = np.random.default_rng(3)
    labels = np.array([5, 0, 4, 1, 9, 2])
    pixels = rng.integers(0, 256, (6, 784))
    pixels[0, :3] = [0, 255, 128]
    return labels, pixels, write_csv(tmp_path / "mnist_small.csv", labels, pixels)


def test_load_csv_default(sample):
    labels, pixels, path = sample
    x, t = load_csv(path)
    assert x.shape == (6, 784) and x.dtype == np.float32
    assert t.dtype == np.int64 and t.tolist() == labels.tolist()
    np.testing.assert_array_equal(x, pixels.astype(np.float32) / np.float32(255.0))
    assert x[0, :3].tolist() == [0.0, 1.0, np.float32(128) / np.float32(255)]


def test_load_csv_variants(sample, tmp_path):
    labels, pixels, path = sample
    x, t = load_csv(path, normalize=False, flatten=False, one_hot_label=True)
    assert x.shape == (6, 1, 28, 28) and x.dtype == np.uint8
    np.testing.assert_array_equal(x.reshape(6, 784), pixels)
    assert t.shape == (6, 10) and t.dtype == np.float32
    assert t.argmax(axis=1).tolist() == labels.tolist() and t.sum() == 6
    # No header and a UTF-8 byte-order mark (as Excel writes) work too.
    x2, t2 = load_csv(write_csv(tmp_path / "nohdr.csv", labels, pixels, header=False, bom=True),
                      normalize=False)
    np.testing.assert_array_equal(x2, pixels)
    assert t2.tolist() == labels.tolist()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda p, lab: (p[2].__setitem__(5, 256), None), r"line 4, column 7: pixel value 256 is outside 0-255"),
        (lambda p, lab: (p[1].__setitem__(0, -1), None), r"line 3, column 2: pixel value -1 is outside 0-255"),
        (lambda p, lab: (lab.__setitem__(3, 10), None), r"line 5: label 10 is outside 0-9"),
    ],
)
def test_load_csv_out_of_range(tmp_path, edit, message):
    labels = [1, 2, 3, 4]
    pixels = [[0] * 784 for _ in range(4)]
    edit(pixels, labels)
    path = write_csv(tmp_path / "bad.csv", labels, pixels)
    with pytest.raises(DatasetError, match=r"bad.csv: " + message):
        load_csv(path)


def test_load_csv_wrong_column_count(tmp_path):
    path = write_csv(tmp_path / "short.csv", [1, 2, 3], [[0] * 784, [0] * 784, [0] * 783])
    with pytest.raises(DatasetError, match=r"line 4: expected 785 comma-separated values .* "
                       r"found 784"):
        load_csv(path)


def test_load_csv_non_integer(tmp_path):
    rows = [[0] * 784, [0] * 784]
    path = write_csv(tmp_path / "float.csv", [7, 1], rows)
    text = path.read_text(encoding="utf-8").splitlines()
    text[2] = text[2].replace("1,0,0", "1,0.5,0", 1)
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"line 3, column 2: '0.5' is not an integer"):
        load_csv(path)


def test_load_csv_empty(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text(HEADER + "\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"empty.csv: no data rows"):
        load_csv(path)


def test_load_csv_uses_one_fast_parse(tmp_path, monkeypatch):
    """10,000 rows (the size of mnist_test.csv) go through a single ``np.loadtxt`` call (NumPy's
    C parser), never the row-by-row Python scan kept for error messages."""
    rng = np.random.default_rng(0)
    pixels = np.tile(rng.integers(0, 256, (50, 784)), (200, 1))
    labels = np.tile(rng.integers(0, 10, 50), 200)
    rows = [",".join(map(str, [label, *row])) for label, row in zip(labels[:50], pixels[:50])]
    path = tmp_path / "mnist_test.csv"
    path.write_text(HEADER + "\n" + "\n".join(rows * 200) + "\n", encoding="utf-8")

    calls = []
    real_loadtxt = np.loadtxt

    def counting_loadtxt(*args, **kwargs):
        calls.append(kwargs.get("dtype"))
        return real_loadtxt(*args, **kwargs)

    def no_slow_scan(*args, **kwargs):
        raise AssertionError("the row-by-row Python scan ran on a valid file")

    monkeypatch.setattr(csv_loader.np, "loadtxt", counting_loadtxt)
    monkeypatch.setattr(csv_loader, "_find_bad_row", no_slow_scan)
    x, t = load_csv(path, normalize=False)
    assert calls == [np.int64]
    np.testing.assert_array_equal(x, pixels)
    np.testing.assert_array_equal(t, labels)
