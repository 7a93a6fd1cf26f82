"""Toy data sets: logic gates, blobs, spirals, moons; and no use of NumPy's global RNG."""

from __future__ import annotations

import numpy as np
import pytest

from dlscratch.datasets import logic_gate, make_blobs_classification, make_moons, make_spiral


@pytest.mark.parametrize(
    ("name", "expected"),
    [("AND", [0, 0, 0, 1]), ("OR", [0, 1, 1, 1]), ("NAND", [1, 1, 1, 0]), ("xor", [0, 1, 1, 0])],
)
def test_logic_gates(name, expected):
    x, t = logic_gate(name)
    assert x.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert x.dtype == np.float32 and t.dtype == np.float32
    assert t.shape == (4, 1) and t.ravel().tolist() == expected


def test_logic_gate_with_bias_is_the_lectures_xor():
    x, d = logic_gate("XOR", bias=True, dtype=np.int64)
    np.testing.assert_array_equal(x, np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]]))
    np.testing.assert_array_equal(d, np.array([[0], [1], [1], [0]]))


def test_logic_gate_unknown():
    with pytest.raises(ValueError, match=r"unknown logic gate 'NOR'; choose one of: AND, OR, "
                       r"NAND, XOR"):
        logic_gate("NOR")


def test_blobs():
    x, y = make_blobs_classification(101, class_sep=2.0, rng=20)
    assert x.shape == (101, 2) and x.dtype == np.float32
    assert y.dtype == np.int64 and np.bincount(y).tolist() == [51, 50]
    # Centres near (-2, -2) and (+2, +2): class means on the right side, well separated.
    assert np.all(x[y == 0].mean(axis=0) < -1.5) and np.all(x[y == 1].mean(axis=0) > 1.5)
    assert np.mean((x.sum(axis=1) > 0) == y) > 0.97  # nearly separable by x1 + x2 = 0
    x2, y2 = make_blobs_classification(101, class_sep=2.0, labels="pm1", rng=20)
    np.testing.assert_array_equal(x2, x)
    assert y2.tolist() == (2 * y - 1).tolist() and set(y2.tolist()) == {-1, 1}
    with pytest.raises(ValueError, match="labels must be '01'"):
        make_blobs_classification(labels="-11")


def test_spiral():
    x, y = make_spiral(50, 3, noise=0.0, rng=0)
    assert x.shape == (150, 2) and x.dtype == np.float32
    assert np.bincount(y).tolist() == [50, 50, 50]
    radius = np.hypot(x[:, 0], x[:, 1])
    np.testing.assert_allclose(radius[:50], np.linspace(0, 1, 50), atol=1e-6)
    assert make_spiral(10, 2, rng=0)[0].shape == (20, 2)
    with pytest.raises(ValueError, match="n_classes must be an int >= 2"):
        make_spiral(10, 1)
    with pytest.raises(ValueError, match="noise must be a standard deviation >= 0"):
        make_spiral(10, 3, noise=-0.1)


def test_moons():
    x, y = make_moons(200, noise=0.0, rng=0)
    assert x.shape == (200, 2) and x.dtype == np.float32 and np.bincount(y).tolist() == [100, 100]
    np.testing.assert_allclose(np.hypot(*x[y == 0].T), 1.0, atol=1e-6)
    np.testing.assert_allclose(np.hypot(x[y == 1, 0] - 1, x[y == 1, 1] - 0.5), 1.0, atol=1e-6)
    assert np.all(x[y == 0, 1] >= -1e-6) and np.all(x[y == 1, 1] <= 0.5 + 1e-6)


@pytest.mark.parametrize(
    "make",
    [
        lambda rng: make_blobs_classification(30, rng=rng),
        lambda rng: make_spiral(10, 3, rng=rng),
        lambda rng: make_moons(30, noise=0.2, rng=rng),
    ],
)
def test_reproducible_with_seed(make):
    xa, ya = make(5)
    xb, yb = make(np.random.default_rng(5))
    np.testing.assert_array_equal(xa, xb)
    np.testing.assert_array_equal(ya, yb)
    xc, _ = make(6)
    assert not np.array_equal(xa, xc)


def test_global_rng_untouched_by_every_random_api():
    from dlscratch.data import DataLoader, random_batch, shuffle_dataset, train_val_split

    before = np.random.get_state()
    make_blobs_classification()
    make_spiral()
    make_moons()
    x, t = make_moons(20, rng=1)
    list(DataLoader(x, t, batch_size=6, shuffle=True))
    shuffle_dataset(x, t)
    train_val_split(x, t)
    random_batch(x, t, 5)
    after = np.random.get_state()
    assert before[0] == after[0] and before[2:] == after[2:]
    np.testing.assert_array_equal(before[1], after[1])
