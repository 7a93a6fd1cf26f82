"""dlscratch.metrics: the confusion matrix and per-class accuracy, against hand counts."""

from __future__ import annotations

import numpy as np
import pytest

from dlscratch.metrics import confusion_matrix, per_class_accuracy


def test_confusion_matrix_by_hand():
    t = [0, 0, 1, 2, 2, 2, 1]
    y = [0, 1, 1, 2, 0, 2, 2]
    # true 0 -> predicted 0, 1;  true 1 -> 1, 2;  true 2 -> 2, 0, 2
    expected = np.array([[1, 1, 0],
                         [0, 1, 1],
                         [1, 0, 2]])
    cm = confusion_matrix(t, y, 3)
    assert cm.dtype == np.int64 and cm.shape == (3, 3)
    np.testing.assert_array_equal(cm, expected)
    # rows are the true class: swapping t and y transposes the matrix
    np.testing.assert_array_equal(confusion_matrix(y, t, 3), expected.T)


def test_confusion_matrix_extra_classes_empty_input_and_whole_floats():
    cm = confusion_matrix(np.array([1, 1], dtype=np.uint8), np.array([3, 1]), 5)
    expected = np.zeros((5, 5), dtype=np.int64)
    expected[1, 3] = expected[1, 1] = 1
    np.testing.assert_array_equal(cm, expected)
    np.testing.assert_array_equal(confusion_matrix([], [], 2), np.zeros((2, 2)))
    np.testing.assert_array_equal(confusion_matrix([1.0, 0.0], [1, 1], 2), [[0, 1], [0, 1]])


def test_confusion_matrix_agrees_with_a_loop():
    rng = np.random.default_rng(0)
    t, y = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    loop = np.zeros((4, 4), dtype=np.int64)
    for ti, yi in zip(t, y):
        loop[ti, yi] += 1
    cm = confusion_matrix(t, y, 4)
    np.testing.assert_array_equal(cm, loop)
    assert cm.sum() == 200
    assert np.trace(cm) == np.sum(t == y)


@pytest.mark.parametrize("t, y, k, error, match", [
    ([0, 1, 2], [0, 1], 3, ValueError, r"same length.*len\(t\)=3.*len\(y\)=2"),
    ([0, 3], [0, 1], 3, ValueError, r"t\[1\] = 3 is not a class index in 0..2"),
    ([0, 1], [0, -1], 3, ValueError, r"y\[1\] = -1 is not a class index"),
    ([0, 1.5], [0, 1], 3, ValueError, r"integer class indices, got 1.5 at index 1"),
    ([0, np.nan], [0, 1], 3, ValueError, r"integer class indices"),
    ([True, False], [0, 1], 3, TypeError, r"dtype bool"),
    (["a", "b"], [0, 1], 3, TypeError, r"integer class indices"),
    (np.eye(3), [0, 1, 2], 3, ValueError, r"1-D.*t.argmax\(axis=1\)"),
    ([0, 1], [0, 1], 0, ValueError, r"num_classes must be >= 1"),
    ([0, 1], [0, 1], 2.0, TypeError, r"num_classes must be an int"),
])
def test_confusion_matrix_refuses_bad_labels(t, y, k, error, match):
    with pytest.raises(error, match=match):
        confusion_matrix(t, y, k)


def test_per_class_accuracy_by_hand():
    cm = np.array([[1, 1, 0],
                   [0, 1, 1],
                   [1, 0, 2]])
    np.testing.assert_allclose(per_class_accuracy(cm), [1 / 2, 1 / 2, 2 / 3])
    # columns are predictions: a class that is often *predicted* wrongly does not count
    cm = np.array([[4, 0],
                   [3, 1]])
    np.testing.assert_allclose(per_class_accuracy(cm), [1.0, 0.25])


def test_per_class_accuracy_is_nan_for_a_class_without_samples():
    cm = confusion_matrix([0, 0, 2], [0, 2, 2], 3)  # class 1 never occurs
    acc = per_class_accuracy(cm)
    assert acc.dtype == np.float64
    assert acc[0] == 0.5 and acc[2] == 1.0
    assert np.isnan(acc[1])
    assert np.nanmean(acc) == 0.75


@pytest.mark.parametrize("cm, match", [
    (np.zeros((2, 3)), "square"),
    (np.zeros(4), "square"),
    (np.array([[1, -1], [0, 1]]), "non-negative"),
    (np.array([[1.0, np.inf], [0, 1]]), "finite"),
])
def test_per_class_accuracy_refuses_bad_matrices(cm, match):
    with pytest.raises(ValueError, match=match):
        per_class_accuracy(cm)
