"""What every plot shares: importing matplotlib lazily, making a figure, saving and showing it.

A figure made with ``show=False`` is a bare :class:`matplotlib.figure.Figure` that pyplot does
not know about: no GUI backend is chosen, no display is needed, nothing ever blocks, and the
figure is freed with its last reference (``plt.close(fig)`` is harmless but unnecessary). With
``show=True`` the figure is made through pyplot and shown with ``plt.show()``; close it with
``plt.close(fig)`` when done.
"""

from __future__ import annotations

import os

_HINT = "plotting needs matplotlib: pip install matplotlib (or pip install dlscratch[plot])"


def pyplot():
    """``matplotlib.pyplot``, or an ImportError that says how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(_HINT) from e
    return plt


def new_figure(show: bool, **kwargs):
    """A Figure (``kwargs`` as for ``Figure``): pyplot's when ``show``, else a bare one."""
    if show:
        return pyplot().figure(**kwargs)
    try:
        from matplotlib.figure import Figure
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(_HINT) from e
    return Figure(**kwargs)


def finish(fig, path: str | os.PathLike | None, show: bool, dpi: float = 100):
    """Save ``fig`` as a PNG at ``path`` (atomically; parent folders are created) when given,
    show it when ``show``; return it."""
    if path is not None:
        from dlscratch._files import atomic_write

        with atomic_write(path, "wb") as f:
            fig.savefig(f, format="png", dpi=dpi)
    if show:
        pyplot().show()
    return fig
