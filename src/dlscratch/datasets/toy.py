"""Small synthetic data sets for the first lectures: logic gates, blobs, spirals, moons.

Every random function takes ``rng`` (None, an int seed or a ``np.random.Generator``) and never
touches NumPy's global random state. Features are float32; class labels are int64.
"""

from __future__ import annotations

import numpy as np

from .._rng import as_generator

__all__ = ["GATES", "logic_gate", "make_blobs_classification", "make_moons", "make_spiral"]

Seed = None | int | np.random.Generator

_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])

# Truth tables for the inputs [0,0], [0,1], [1,0], [1,1].
GATES: dict[str, tuple[int, int, int, int]] = {
    "AND": (0, 0, 0, 1),
    "OR": (0, 1, 1, 1),
    "NAND": (1, 1, 1, 0),
    "XOR": (0, 1, 1, 0),
}


def logic_gate(
    name: str, bias: bool = False, dtype: type | np.dtype = np.float32
) -> tuple[np.ndarray, np.ndarray]:
    """The four input rows of a two-input logic gate and its truth table.

    Args:
        name: ``"AND"``, ``"OR"``, ``"NAND"`` or ``"XOR"`` (any case).
        bias: append a column of ones, giving the lecture's (seed 004) ``X``::

            [[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]]
        dtype: dtype of both arrays.

    Returns:
        ``X`` of shape (4, 2), or (4, 3) with ``bias``, and targets ``t`` of shape (4, 1) (the
        lecture's ``D``), e.g. XOR gives ``t = [[0], [1], [1], [0]]``.
    """
    key = str(name).upper()
    if key not in GATES:
        raise ValueError(f"unknown logic gate {name!r}; choose one of: {', '.join(GATES)}")
    x = _INPUTS
    if bias:
        x = np.hstack([x, np.ones((4, 1), dtype=x.dtype)])
    t = np.array(GATES[key]).reshape(4, 1)
    return x.astype(dtype), t.astype(dtype)


def _check_count(value: int, what: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{what} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _check_noise(noise: float) -> float:
    if not noise >= 0:
        raise ValueError(f"noise must be a standard deviation >= 0, got {noise!r}")
    return float(noise)


def make_blobs_classification(
    n_samples: int = 100,
    class_sep: float = 2.0,
    labels: str = "01",
    rng: Seed = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian clusters in 2-D for a perceptron, in the spirit of lecture 002's
    ``sklearn.datasets.make_classification(n_features=2, n_classes=2, class_sep=2.0)``.

    Class 0 is centred at ``(-class_sep, -class_sep)``, class 1 at ``(+class_sep, +class_sep)``
    (sklearn's hypercube vertices), each with unit variance; rows are shuffled.

    Args:
        n_samples: total number of points (class 0 gets the extra one when odd).
        class_sep: half the distance between the centres along each axis.
        labels: ``"01"`` for labels {0, 1}, ``"pm1"`` for {-1, +1} (the perceptron's sign).
        rng: None, an int seed or a Generator.

    Returns:
        ``X`` float32 (n_samples, 2) and ``y`` int64 (n_samples,).
    """
    n_samples = _check_count(n_samples, "n_samples", 2)
    if labels not in ("01", "pm1"):
        raise ValueError(f"labels must be '01' (0/1) or 'pm1' (-1/+1), got {labels!r}")
    gen = as_generator(rng)
    n1 = n_samples // 2
    y = np.concatenate([np.zeros(n_samples - n1, np.int64), np.ones(n1, np.int64)])
    centres = np.where(y[:, None] == 1, class_sep, -class_sep)
    x = centres + gen.standard_normal((n_samples, 2))
    perm = gen.permutation(n_samples)
    x, y = x[perm], y[perm]
    if labels == "pm1":
        y = 2 * y - 1
    return x.astype(np.float32), y


def make_spiral(
    n_samples_per_class: int = 100,
    n_classes: int = 3,
    noise: float = 0.2,
    rng: Seed = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spiral arms (the CS231n toy set), not linearly separable.

    Arm ``k`` has radii ``linspace(0, 1)`` and angles ``linspace(4k, 4(k+1))`` plus Gaussian
    noise of standard deviation ``noise`` (radians).

    Returns:
        ``X`` float32 (n_samples_per_class * n_classes, 2) and ``y`` int64 labels 0 … K-1,
        grouped by class.
    """
    n = _check_count(n_samples_per_class, "n_samples_per_class")
    k = _check_count(n_classes, "n_classes", 2)
    noise = _check_noise(noise)
    gen = as_generator(rng)
    radius = np.tile(np.linspace(0.0, 1.0, n), k)
    y = np.repeat(np.arange(k, dtype=np.int64), n)
    base = np.concatenate([np.linspace(4.0 * j, 4.0 * (j + 1), n) for j in range(k)])
    theta = base + noise * gen.standard_normal(n * k)
    x = np.column_stack([radius * np.sin(theta), radius * np.cos(theta)])
    return x.astype(np.float32), y


def make_moons(
    n_samples: int = 100, noise: float = 0.1, rng: Seed = None
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (like ``sklearn.datasets.make_moons``), rows shuffled.

    The upper moon (label 0) is centred at (0, 0), the lower one (label 1) at (1, 0.5), both of
    radius 1; Gaussian noise of standard deviation ``noise`` is added to every coordinate.

    Returns:
        ``X`` float32 (n_samples, 2) and ``y`` int64 (n_samples,) in {0, 1}.
    """
    n_samples = _check_count(n_samples, "n_samples", 2)
    noise = _check_noise(noise)
    gen = as_generator(rng)
    n_out = n_samples // 2
    n_in = n_samples - n_out
    a_out = np.linspace(0.0, np.pi, n_out)
    a_in = np.linspace(0.0, np.pi, n_in)
    x = np.vstack([
        np.column_stack([np.cos(a_out), np.sin(a_out)]),
        np.column_stack([1.0 - np.cos(a_in), 0.5 - np.sin(a_in)]),
    ])
    y = np.concatenate([np.zeros(n_out, np.int64), np.ones(n_in, np.int64)])
    x = x + noise * gen.standard_normal(x.shape)
    perm = gen.permutation(n_samples)
    return x[perm].astype(np.float32), y[perm]
