"""What every lesson shares: its command line, the fast mode, the output folder, key-number checks.

``python -m dlscratch.lessons.NAME [--out DIR]`` writes the lesson's plots into ``DIR`` (created
when missing) or, without ``--out``, into a fresh temporary folder; never into the current folder.
Every file written is listed at the end. ``DLSCRATCH_FAST=1`` selects the fast mode: the whole
lesson in under a minute (fewer epochs, samples and seeds), checking its key numbers with
:func:`expect`.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

__all__ = ["LessonCheckError", "Outputs", "expect", "fast_mode", "parse_args"]


def fast_mode() -> bool:
    """True when the environment variable ``DLSCRATCH_FAST`` is set to ``1`` (or true/yes)."""
    return os.environ.get("DLSCRATCH_FAST", "").strip().lower() in {"1", "true", "yes"}


class LessonCheckError(AssertionError):
    """A lesson's key number is not what the lesson says it should be."""


def expect(condition: bool, message: str) -> None:
    """Raise :class:`LessonCheckError` with ``message`` unless ``condition`` holds.

    The lessons check their key numbers with it (always, not only in fast mode), so a run that
    quietly stopped reproducing what the lesson explains fails loudly, saying which number.
    """
    if not condition:
        raise LessonCheckError(message)


class Outputs:
    """The folder a lesson writes its files into, and the files written so far.

    Parameters
    ----------
    out : str or os.PathLike, optional
        The folder (created with its parents when missing). None: a fresh temporary folder
        ``dlscratch-<lesson>-*`` under the system's temporary directory, left in place so the
        learner can look at the plots.
    lesson : str
        A short name used for the temporary folder's prefix.
    """

    def __init__(self, out: str | os.PathLike | None = None, lesson: str = "lesson") -> None:
        if out is None:
            self.folder = Path(tempfile.mkdtemp(prefix=f"dlscratch-{lesson}-"))
        else:
            self.folder = Path(out).expanduser()
            if self.folder.exists() and not self.folder.is_dir():
                raise NotADirectoryError(f"--out {self.folder}: exists and is not a folder; "
                                         "give a folder (it is created when missing)")
            self.folder.mkdir(parents=True, exist_ok=True)
        self.written: list[Path] = []

    def path(self, name: str) -> Path:
        """The path for a file called ``name`` in the folder, recorded as written."""
        p = self.folder / name
        if p not in self.written:
            self.written.append(p)
        return p

    def save_figure(self, fig, name: str) -> Path:
        """Save a matplotlib figure as PNG ``name`` (atomically); return its path."""
        from dlscratch._files import atomic_write

        p = self.path(name)
        with atomic_write(p, "wb") as f:
            fig.savefig(f, format="png", dpi=100)
        return p

    def listing(self) -> str:
        """The files written, one per line, under a header naming the folder."""
        lines = [f"files written to {self.folder}:"]
        lines += [f"  {p.name}" for p in self.written if p.exists()]
        if len(lines) == 1:
            lines.append("  (none)")
        return "\n".join(lines)


def parse_args(argv: Sequence[str] | None, description: str) -> argparse.Namespace:
    """The lessons' command line: ``--out DIR``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", metavar="DIR", default=None,
                        help="folder for the lesson's plots (default: a new temporary folder); "
                             "set DLSCRATCH_FAST=1 for the fast mode")
    return parser.parse_args(argv)
