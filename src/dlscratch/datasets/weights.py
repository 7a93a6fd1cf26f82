"""The lectures' pretrained weights that ship with dlscratch."""

from __future__ import annotations

from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parent / "_data"


def sample_weight_path() -> Path:
    """Where the bundled ``sample_weight.pkl`` (the book's pretrained 784-50-100-10 net) is."""
    return DATA_DIR / "sample_weight.pkl"


def load_sample_weights() -> dict[str, np.ndarray]:
    """The lecture 000 network ``W1 (784, 50), b1, W2 (50, 100), b2, W3 (100, 10), b3``.

    Read with the restricted importer (no code in the pickle can run). With sigmoid hidden
    layers and a softmax output it classifies the MNIST test set with accuracy 0.9352.
    """
    from .._pickleweights import load_pickle_weights

    return load_pickle_weights(sample_weight_path())
