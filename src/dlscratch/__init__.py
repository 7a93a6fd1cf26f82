"""dlscratch: deep learning from scratch in NumPy, done for real.

Modules: ``functions`` (activations, losses), ``gradient`` (numerical differentiation, gradient
descent, gradient checks), ``layers`` (Module system, layers with explicit backprop), ``optim``,
``lr_scheduler``, ``models`` (and ``models.registry``), ``data`` / ``datasets``, ``io`` (safe
save/load), ``trainer`` with ``callbacks`` and ``checkpoint``, ``metrics``, ``plot``, ``images``,
``runs`` (the command line's run folders), ``interop.torch`` (the bridge to PyTorch).
"""

from ._version import __version__

__all__ = ["__version__", "load", "save"]


def save(model, path):
    """Save a model's state and architecture safely (see :func:`dlscratch.io.save`)."""
    from . import io

    return io.save(model, path)


def load(path, **kwargs):
    """Rebuild a model saved with :func:`save`; ``kwargs`` (``allow_nonfinite``,
    ``max_parameters``) go to :func:`dlscratch.io.load_model`."""
    from . import io

    return io.load_model(path, **kwargs)
