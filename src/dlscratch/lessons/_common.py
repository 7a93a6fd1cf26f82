"""What every lesson shares: its command line, the fast mode, the output folder, the plots'
language, key-number checks.

``python -m dlscratch.lessons.NAME [--out DIR] [--lang ko|en]`` writes the lesson's plots into
``DIR`` (created when missing) or, without ``--out``, into a fresh temporary folder; never into
the current folder. Every file written is listed at the end. ``DLSCRATCH_FAST=1`` selects the
fast mode: the whole lesson in under a minute (fewer epochs, samples and seeds), checking its
key numbers with :func:`expect`.

A lesson is its note's sections in order: definitions, then a cell ``if __name__ ==
"__main__":`` that runs the section's example and prints (and checks) its numbers. That name
is ``"__main__"`` both under ``python -m`` and in a Jupyter kernel, so the notebook shows each
section's output under the section, and importing the lesson (the tests do) runs nothing.
The first such cell calls :func:`start`.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ["Lesson", "LessonCheckError", "Outputs", "expect", "fast_mode", "parse_args",
           "start"]


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


def _in_notebook() -> bool:
    """True inside a Jupyter (IPython) kernel, whose ``sys.argv`` holds the kernel's own
    arguments (``-f kernel.json``), not the lesson's."""
    return "ipykernel" in sys.modules


def parse_args(argv: Sequence[str] | None, description: str,
               options: Callable[[argparse.ArgumentParser], None] | None = None
               ) -> argparse.Namespace:
    """The lessons' command line: ``--out DIR`` and ``--lang ko|en``, plus what ``options``
    (a function given the parser) adds for one lesson.

    ``argv`` None reads ``sys.argv[1:]``, except in a notebook, where it is ``[]``. The default
    language is the environment variable ``DLSCRATCH_LANG``, else Korean (the notes'
    language); Korean labels need a Korean font (:func:`dlscratch.plot.use_korean_font`) and
    fall back to English with a warning that says how to install one.
    """
    if argv is None and _in_notebook():
        argv = []
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", metavar="DIR", default=None,
                        help="folder for the lesson's plots (default: a new temporary folder); "
                             "set DLSCRATCH_FAST=1 for the fast mode")
    parser.add_argument("--lang", choices=("ko", "en"),
                        default=os.environ.get("DLSCRATCH_LANG", "ko") or "ko",
                        help="language of the plots' labels (default: $DLSCRATCH_LANG, else ko; "
                             "English when no Korean font is installed)")
    if options is not None:
        options(parser)
    args = parser.parse_args(argv)
    if args.lang not in ("ko", "en"):
        parser.error(f"DLSCRATCH_LANG must be ko or en, got {args.lang!r}")
    return args


class Lesson:
    """What a running lesson knows: its ``outputs`` folder, the plots' ``lang`` ("ko" only when
    a Korean font was found), ``fast`` mode, and the parsed ``args``."""

    def __init__(self, args: argparse.Namespace, outputs: Outputs, lang: str, fast: bool):
        self.args, self.outputs, self.lang, self.fast = args, outputs, lang, fast

    def label(self, en: str, ko: str) -> str:
        """``ko`` when the plots are labelled in Korean, else ``en``."""
        return ko if self.lang == "ko" else en

    def save(self, fig, name: str) -> Path:
        """Save matplotlib figure ``fig`` as PNG ``name`` in the output folder, show it when
        running in a notebook, and close it (a script never opens a window). Returns the path.
        """
        import matplotlib.pyplot as plt

        path = self.outputs.save_figure(fig, name)
        if _in_notebook():  # the PNG itself: the lessons' figures are not pyplot's inline ones
            from IPython.display import Image, display

            display(Image(data=path.read_bytes(), format="png"))
        plt.close(fig)
        return path


def start(lesson: str, description: str, argv: Sequence[str] | None = None,
          options: Callable[[argparse.ArgumentParser], None] | None = None) -> Lesson:
    """Parse the command line (:func:`parse_args`, with the lesson's own ``options``), open the
    output folder, choose the plots' language and read the fast mode: the first thing a
    lesson's first ``__main__`` cell does.
    """
    from ..plot.fonts import resolve_lang

    args = parse_args(argv, description, options)
    outputs = Outputs(args.out, lesson)
    return Lesson(args, outputs, resolve_lang(args.lang), fast_mode())
