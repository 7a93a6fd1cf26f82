"""Classification metrics from integer labels: the confusion matrix and per-class accuracy.

NumPy only. Labels are class indices ``0 .. K-1`` (1-D); for one-hot labels or score rows pass
``t.argmax(axis=1)`` / ``y.argmax(axis=1)``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["confusion_matrix", "per_class_accuracy"]


def _check_num_classes(num_classes: int) -> int:
    if isinstance(num_classes, (bool, np.bool_)) or not isinstance(num_classes, (int, np.integer)):
        raise TypeError(f"num_classes must be an int, got {type(num_classes).__name__}")
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    return int(num_classes)


def _as_labels(labels, name: str, num_classes: int) -> np.ndarray:
    """``labels`` as a 1-D int64 array of class indices in ``0 .. num_classes-1`` (or an error)."""
    a = np.asarray(labels)
    if a.ndim != 1:
        hint = (f"; for one-hot labels or scores pass {name}.argmax(axis=1)" if a.ndim == 2
                else "")
        raise ValueError(f"{name} must be a 1-D array of class indices, got shape {a.shape}{hint}")
    if a.dtype == bool or not (np.issubdtype(a.dtype, np.integer)
                               or np.issubdtype(a.dtype, np.floating)):
        raise TypeError(f"{name} must hold integer class indices, got dtype {a.dtype}")
    if np.issubdtype(a.dtype, np.floating):
        bad = ~np.isfinite(a) | (a != np.round(a))
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"{name} must hold integer class indices, got {a[i].item()!r} at "
                             f"index {i}")
    out = a.astype(np.int64)
    if out.size:
        bad = (out < 0) | (out >= num_classes)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"{name}[{i}] = {out[i]} is not a class index in 0..{num_classes - 1} "
                             f"(num_classes={num_classes})")
    return out


def confusion_matrix(t, y, num_classes: int) -> np.ndarray:
    """Count how often each true class was predicted as each class.

    Parameters
    ----------
    t : array_like of int, shape (N,)
        True class indices in ``0 .. num_classes-1``.
    y : array_like of int, shape (N,)
        Predicted class indices (e.g. ``network.predict(x).argmax(axis=1)``).
    num_classes : int
        K, the number of classes.

    Returns
    -------
    cm : ndarray of int64, shape (K, K)
        ``cm[i, j]`` = number of samples with true class ``i`` predicted as ``j``: rows are
        true classes, columns predictions. ``cm.sum() == N``; the accuracy is
        ``np.trace(cm) / cm.sum()``.

    Raises
    ------
    ValueError
        ``t`` and ``y`` differ in length, are not 1-D, or hold a value outside ``0 .. K-1``.
    TypeError
        Labels that are not integers (floats must be whole numbers), or ``num_classes`` not an int.
    """
    K = _check_num_classes(num_classes)
    t = _as_labels(t, "t", K)
    y = _as_labels(y, "y", K)
    if len(t) != len(y):
        raise ValueError(f"t and y must have the same length, got len(t)={len(t)} and "
                         f"len(y)={len(y)}")
    return np.bincount(t * K + y, minlength=K * K).reshape(K, K).astype(np.int64)


def per_class_accuracy(cm) -> np.ndarray:
    """Accuracy within each true class (recall): ``cm[i, i] / cm[i, :].sum()``.

    Parameters
    ----------
    cm : array_like, shape (K, K)
        A confusion matrix, rows = true class (see :func:`confusion_matrix`).

    Returns
    -------
    acc : ndarray of float64, shape (K,)
        The fraction of class ``i``'s samples predicted as ``i``. A class with no samples
        (an all-zero row) has no accuracy: its entry is NaN, never 0 or 1, so that it cannot
        pass for a perfect or a failed class; use ``np.nanmean(acc)`` for the mean over the
        classes that occur.

    Raises
    ------
    ValueError
        ``cm`` is not square, or holds negative or non-finite counts.
    """
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"cm must be a square (K, K) confusion matrix, got shape {cm.shape}")
    if not (np.issubdtype(cm.dtype, np.integer) or np.issubdtype(cm.dtype, np.floating)):
        raise TypeError(f"cm must hold counts (numbers), got dtype {cm.dtype}")
    cm = cm.astype(np.float64)
    if not np.isfinite(cm).all() or (cm < 0).any():
        raise ValueError("cm must hold finite, non-negative counts")
    totals = cm.sum(axis=1)
    acc = np.full(cm.shape[0], np.nan)
    seen = totals > 0
    acc[seen] = np.diagonal(cm)[seen] / totals[seen]
    return acc
