"""One place that turns the ``rng`` argument of every random API into a Generator.

dlscratch never touches NumPy's global random state: every function or class that draws random
numbers takes ``rng``, which may be ``None`` (fresh, unpredictable entropy), an ``int`` seed, or
an ``np.random.Generator`` (used as it is, so a caller can share one stream across calls).
"""

from __future__ import annotations

import numpy as np


def as_generator(rng: None | int | np.random.Generator = None) -> np.random.Generator:
    """Return a ``np.random.Generator`` for ``rng`` (None, a seed, or a Generator)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    raise TypeError(
        f"rng must be None, an int seed or a numpy.random.Generator, got {type(rng).__name__}; "
        "for example rng=np.random.default_rng(0)"
    )
