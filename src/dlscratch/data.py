"""Batches, shuffles and splits of in-memory arrays, with an explicit random Generator.

The lectures sample a mini-batch of indices with the global RNG's ``np.random.choice``
(``train_size`` candidates, ``batch_size`` draws, with replacement) and index ``x_train`` and
``t_train`` with them. :func:`random_batch` does the same through a ``np.random.Generator``;
:class:`DataLoader` walks through a permutation of the data once per epoch, so that every
sample is seen exactly once.
Nothing here touches NumPy's global random state.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from ._rng import as_generator

__all__ = [
    "DataLoader", "one_hot", "random_batch", "random_hflip", "shuffle_dataset",
    "train_val_split",
]

Seed = None | int | np.random.Generator


def _check_pair(x: np.ndarray, t: np.ndarray) -> None:
    if np.ndim(x) == 0 or np.ndim(t) == 0:
        raise ValueError("x and t must be arrays with a first (sample) axis, not scalars")
    if len(x) != len(t):
        raise ValueError(
            f"x and t must have the same number of samples, got len(x)={len(x)} and "
            f"len(t)={len(t)}; check that the images and labels belong together"
        )


def _check_batch_size(batch_size: int) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise TypeError(f"batch_size must be an int, got {type(batch_size).__name__}")
    if batch_size <= 0:
        raise ValueError(f"batch_size must be a positive int, got {batch_size}")
    return int(batch_size)


def one_hot(t: np.ndarray, num_classes: int | None = None, dtype=np.float32) -> np.ndarray:
    """Integer class labels ``t`` of shape ``(N,)`` → one-hot rows of shape ``(N, C)``.

    Any label shape S works and gives S + (C,).

    Args:
        t: labels 0 … C-1 (an integer array, or floats with integral values).
        num_classes: C; by default ``t.max() + 1``.
        dtype: the output's dtype (float32 by default).

    Raises:
        ValueError: negative, non-integer, or ``>= num_classes`` labels (the message gives the
            first offending position and value).
    """
    labels = np.asarray(t)
    if labels.dtype.kind not in "iuf":
        raise ValueError(f"labels must be integers, got dtype {labels.dtype}")
    if labels.dtype.kind == "f":
        bad = ~np.isfinite(labels) | (labels != np.round(labels))
        if bad.any():
            pos = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(
                f"labels must be whole numbers; t{list(pos)} = {labels[pos].item()!r}. Pass "
                "class indices (0, 1, 2, ...), not probabilities or one-hot rows"
            )
    if num_classes is None:
        if labels.size == 0:
            raise ValueError("cannot infer num_classes from empty labels; pass num_classes")
        num_classes = int(labels.max()) + 1
    if num_classes <= 0:
        raise ValueError(f"num_classes must be positive, got {num_classes}")
    bad = (labels < 0) | (labels >= num_classes)
    if bad.any():
        pos = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"label t{list(pos)} = {labels[pos].item()!r} is outside 0..{num_classes - 1}; "
            f"labels must be class indices in [0, num_classes) (num_classes={num_classes})"
        )
    out = np.zeros(labels.shape + (num_classes,), dtype=dtype)
    np.put_along_axis(out, labels.astype(np.intp)[..., None], 1, axis=-1)
    return out


def shuffle_dataset(
    x: np.ndarray, t: np.ndarray, rng: Seed = None
) -> tuple[np.ndarray, np.ndarray]:
    """``x`` and ``t`` reordered by the same random permutation of the first axis (copies)."""
    _check_pair(x, t)
    perm = as_generator(rng).permutation(len(x))
    return x[perm], t[perm]


def train_val_split(
    x: np.ndarray, t: np.ndarray, val_ratio: float = 0.2, shuffle: bool = True, rng: Seed = None
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Split off ``int(N * val_ratio)`` samples for validation (the book's rule).

    As in the book's hyperparameter search, the data are shuffled first (``shuffle=True``) and
    the validation set is taken from the front.

    Returns:
        ``(x_train, t_train), (x_val, t_val)``.
    """
    _check_pair(x, t)
    if not 0.0 <= val_ratio < 1.0:
        raise ValueError(f"val_ratio must be in [0, 1), got {val_ratio}")
    if shuffle:
        x, t = shuffle_dataset(x, t, rng)
    n_val = int(len(x) * val_ratio)
    return (x[n_val:], t[n_val:]), (x[:n_val], t[:n_val])


def random_batch(
    x: np.ndarray, t: np.ndarray, batch_size: int, rng: Seed = None
) -> tuple[np.ndarray, np.ndarray]:
    """A random mini-batch drawn *with replacement*, like the lectures' ``np.random.choice``.

    Returns:
        ``(x[mask], t[mask])`` with ``mask = rng.choice(len(x), batch_size)``.
    """
    _check_pair(x, t)
    batch_size = _check_batch_size(batch_size)
    if len(x) == 0:
        raise ValueError("cannot draw a batch from an empty data set")
    mask = as_generator(rng).choice(len(x), batch_size)
    return x[mask], t[mask]


def random_hflip(x: np.ndarray, p: float = 0.5, rng: Seed = None) -> np.ndarray:
    """Data augmentation: each image of x (N, ..., W) mirrored left-right with probability p.

    Returns a new array (x is not changed): ``out[n] = x[n, ..., ::-1]`` where a uniform draw
    ``u[n] < p``, else ``x[n]``. For classes that do not change in a mirror (clothes, most
    objects), this doubles the variety of the training images; not for digits or letters.
    """
    if not isinstance(x, np.ndarray) or x.ndim < 2:
        raise ValueError(f"random_hflip expects a batch of images (N, ..., W), got shape "
                         f"{getattr(x, 'shape', None)}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"random_hflip: p must be in [0, 1], got {p!r}")
    flip = as_generator(rng).random(len(x)) < p
    out = x.copy()
    out[flip] = x[flip][..., ::-1]
    return out


class DataLoader:
    """Iterate over ``(x_batch, t_batch)`` mini-batches; each iteration is one epoch.

    With ``shuffle=True`` every epoch uses a new permutation drawn from the loader's Generator,
    so each sample appears exactly once per epoch and two loaders with the same seed give the
    same batches. ``len(loader)`` is the number of batches per epoch.

    Args:
        x: inputs, shape ``(N, ...)``.
        t: targets, shape ``(N, ...)``.
        batch_size: samples per batch; the last batch is smaller unless ``drop_last``.
        shuffle: draw a new order each epoch (else the stored order).
        drop_last: skip the last, incomplete batch.
        rng: None, an int seed or a ``np.random.Generator``.

    Example:
        >>> loader = DataLoader(x_train, t_train, batch_size=100, shuffle=True, rng=0)
        >>> for x_batch, t_batch in loader:
        ...     grads = net.gradient(x_batch, t_batch)
    """

    def __init__(
        self,
        x: np.ndarray,
        t: np.ndarray,
        batch_size: int = 100,
        shuffle: bool = False,
        drop_last: bool = False,
        rng: Seed = None,
    ) -> None:
        _check_pair(x, t)
        self.x = x
        self.t = t
        self.batch_size = _check_batch_size(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.rng = as_generator(rng)

    @property
    def num_samples(self) -> int:
        """N, the number of samples."""
        return len(self.x)

    def __len__(self) -> int:
        if self.drop_last:
            return self.num_samples // self.batch_size
        return math.ceil(self.num_samples / self.batch_size)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        n = self.num_samples
        order = self.rng.permutation(n) if self.shuffle else None
        for b in range(len(self)):
            start, stop = b * self.batch_size, min((b + 1) * self.batch_size, n)
            if order is None:
                yield self.x[start:stop], self.t[start:stop]
            else:
                idx = order[start:stop]
                yield self.x[idx], self.t[idx]

    def __repr__(self) -> str:
        return (
            f"DataLoader(num_samples={self.num_samples}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last}, batches={len(self)})"
        )
