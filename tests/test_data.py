"""dlscratch.data: DataLoader, one_hot, shuffle_dataset, train_val_split, random_batch."""

from __future__ import annotations

import numpy as np
import pytest

from dlscratch.data import (
    DataLoader,
    one_hot,
    random_batch,
    random_hflip,
    shuffle_dataset,
    train_val_split,
)


def make_xy(n=23):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    t = np.arange(n) * 10  # t[i] == 10 * i identifies the sample
    return x, t


def epoch_ids(loader):
    ids = []
    for xb, tb in loader:
        np.testing.assert_array_equal(xb[:, 0] / 3, tb / 10)  # rows stay paired
        ids.append((tb // 10).tolist())
    return ids


# --- DataLoader -------------------------------------------------------------------------------

def test_loader_in_order_with_last_partial_batch():
    x, t = make_xy(23)
    loader = DataLoader(x, t, batch_size=5)
    assert len(loader) == 5
    batches = epoch_ids(loader)
    assert [len(b) for b in batches] == [5, 5, 5, 5, 3]
    assert sum(batches, []) == list(range(23))


def test_loader_drop_last():
    x, t = make_xy(23)
    loader = DataLoader(x, t, batch_size=5, shuffle=True, drop_last=True, rng=0)
    assert len(loader) == 4
    batches = epoch_ids(loader)
    assert [len(b) for b in batches] == [5, 5, 5, 5]
    assert len(set(sum(batches, []))) == 20
    assert len(DataLoader(x, t, batch_size=23, drop_last=True)) == 1
    assert len(DataLoader(x, t, batch_size=24, drop_last=True)) == 0
    assert len(DataLoader(x, t, batch_size=24)) == 1


def test_loader_shuffle_is_a_permutation_each_epoch_and_differs():
    x, t = make_xy(50)
    loader = DataLoader(x, t, batch_size=7, shuffle=True, rng=123)
    first = sum(epoch_ids(loader), [])
    second = sum(epoch_ids(loader), [])
    assert sorted(first) == list(range(50)) and sorted(second) == list(range(50))
    assert first != second
    assert first != list(range(50))


def test_loader_reproducible_with_seed_or_generator():
    x, t = make_xy(40)
    a = DataLoader(x, t, batch_size=8, shuffle=True, rng=7)
    b = DataLoader(x, t, batch_size=8, shuffle=True, rng=np.random.default_rng(7))
    for _ in range(3):
        assert epoch_ids(a) == epoch_ids(b)
    c = DataLoader(x, t, batch_size=8, shuffle=True, rng=8)
    assert epoch_ids(DataLoader(x, t, batch_size=8, shuffle=True, rng=7)) != epoch_ids(c)


def test_loader_bad_input():
    x, t = make_xy(10)
    with pytest.raises(ValueError, match=r"same number of samples.*len\(x\)=10.*len\(t\)=9"):
        DataLoader(x, t[:9])
    with pytest.raises(ValueError, match=r"batch_size must be a positive int, got 0"):
        DataLoader(x, t, batch_size=0)
    with pytest.raises(ValueError, match=r"got -3"):
        DataLoader(x, t, batch_size=-3)
    with pytest.raises(TypeError, match=r"batch_size must be an int, got float"):
        DataLoader(x, t, batch_size=2.5)
    with pytest.raises(TypeError, match=r"rng must be None, an int seed or a numpy"):
        DataLoader(x, t, shuffle=True, rng="seed")


# --- one_hot ----------------------------------------------------------------------------------

def test_one_hot_values():
    out = one_hot(np.array([2, 0, 1]), 4)
    assert out.dtype == np.float32 and out.shape == (3, 4)
    assert out.tolist() == [[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0]]
    assert one_hot([0, 3]).shape == (2, 4)  # num_classes inferred
    assert one_hot(np.array([1.0, 2.0]), 3, dtype=np.float64).tolist() == [[0, 1, 0], [0, 0, 1]]
    assert one_hot(np.array([[1], [0]], dtype=np.uint8), 2).shape == (2, 1, 2)


@pytest.mark.parametrize(
    ("labels", "num_classes", "message"),
    [
        ([0, 10, 3], 10, r"label t\[1\] = 10 is outside 0..9"),
        ([0, -1], 10, r"label t\[1\] = -1 is outside 0..9"),
        ([0.0, 2.5], 10, r"whole numbers; t\[1\] = 2.5"),
        (["a", "b"], None, r"labels must be integers, got dtype <U1"),
        ([], None, r"cannot infer num_classes from empty labels"),
    ],
)
def test_one_hot_errors(labels, num_classes, message):
    with pytest.raises(ValueError, match=message):
        one_hot(np.array(labels), num_classes)


# --- shuffle / split / random batch -----------------------------------------------------------

def test_shuffle_dataset_keeps_pairs():
    x, t = make_xy(30)
    xs, ts = shuffle_dataset(x, t, rng=0)
    np.testing.assert_array_equal(xs[:, 0] / 3, ts / 10)
    assert sorted(ts.tolist()) == t.tolist() and ts.tolist() != t.tolist()
    xs2, ts2 = shuffle_dataset(x, t, rng=0)
    np.testing.assert_array_equal(ts, ts2)
    with pytest.raises(ValueError, match="same number of samples"):
        shuffle_dataset(x, t[:-1])


def test_train_val_split_sizes_and_disjoint():
    x, t = make_xy(23)
    (x_tr, t_tr), (x_val, t_val) = train_val_split(x, t, val_ratio=0.2, rng=1)
    assert len(t_val) == 4 and len(t_tr) == 19  # int(23 * 0.2) == 4, the book's rule
    assert sorted(t_tr.tolist() + t_val.tolist()) == t.tolist()
    np.testing.assert_array_equal(x_val[:, 0] / 3, t_val / 10)
    (_, t_tr2), (_, t_val2) = train_val_split(x, t, val_ratio=0.25, shuffle=False)
    assert t_val2.tolist() == t[:5].tolist() and t_tr2.tolist() == t[5:].tolist()
    with pytest.raises(ValueError, match=r"val_ratio must be in \[0, 1\), got 1.0"):
        train_val_split(x, t, val_ratio=1.0)


def test_random_batch_with_replacement_like_the_lecture():
    x, t = make_xy(5)
    xb, tb = random_batch(x, t, 1000, rng=0)
    assert xb.shape == (1000, 3) and tb.shape == (1000,)
    np.testing.assert_array_equal(xb[:, 0] / 3, tb / 10)
    assert set((tb // 10).tolist()) == set(range(5))  # with replacement: repeats, all reached
    expected = np.random.default_rng(0).choice(5, 1000)
    np.testing.assert_array_equal(tb // 10, expected)
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        random_batch(x, t, 0)


def test_global_rng_untouched():
    x, t = make_xy(20)
    before = np.random.get_state()
    list(DataLoader(x, t, batch_size=3, shuffle=True))
    list(DataLoader(x, t, batch_size=3, shuffle=True, rng=1))
    shuffle_dataset(x, t)
    train_val_split(x, t)
    random_batch(x, t, 4)
    random_hflip(np.zeros((4, 1, 2, 2)))
    after = np.random.get_state()
    assert before[0] == after[0] and before[2:] == after[2:]
    np.testing.assert_array_equal(before[1], after[1])


def test_random_hflip_mirrors_the_drawn_images_only():
    x = np.arange(2 * 6 * 1 * 2 * 3, dtype=np.float32).reshape(12, 1, 2, 3)
    before = x.copy()
    out = random_hflip(x, rng=0)
    flip = np.random.default_rng(0).random(12) < 0.5  # the same draws
    assert 0 < flip.sum() < 12
    np.testing.assert_array_equal(out[flip], x[flip][:, :, :, ::-1])
    np.testing.assert_array_equal(out[~flip], x[~flip])
    np.testing.assert_array_equal(x, before)  # the input is not changed
    assert out.dtype == np.float32
    np.testing.assert_array_equal(random_hflip(x, p=1.0), x[..., ::-1])
    np.testing.assert_array_equal(random_hflip(x, p=0.0), x)


def test_random_hflip_bad_input():
    with pytest.raises(ValueError, match="batch of images"):
        random_hflip(np.zeros(5))
    with pytest.raises(ValueError, match="p must be in"):
        random_hflip(np.zeros((2, 3)), p=1.5)
