"""dlscratch: deep learning from scratch in NumPy, done for real.

Modules: ``functions`` (activations, losses), ``gradient`` (numerical differentiation, gradient
descent, gradient checks), ``layers`` (Module system, layers with explicit backprop), ``optim``,
``models``, ``data`` / ``datasets``, ``io`` (safe save/load), ``trainer``, ``plot``.
"""

from ._version import __version__

__all__ = ["__version__", "load", "save"]


def save(model, path):
    """Save a model's state and architecture safely (see :func:`dlscratch.io.save`)."""
    from . import io

    return io.save(model, path)


def load(path):
    """Rebuild a model saved with :func:`save` (see :func:`dlscratch.io.load_model`)."""
    from . import io

    return io.load_model(path)
