"""Atomic file writes: every file dlscratch writes goes through :func:`atomic_write`.

A write either replaces the target completely or leaves it untouched:

1. the data goes to a new, nameless file in the target's folder (Linux ``O_TMPFILE``), or,
   where that is not available, to a temporary name ``.<name>.dlscratch-<pid>-<hex>.tmp``;
2. on success the data is flushed to disk (``fsync``), the file gets a name with ``link`` and is
   moved over the target with ``os.replace`` (atomic on POSIX and Windows), and the folder is
   synced;
3. on any exception inside the ``with`` block the temporary file is removed (a nameless one
   simply vanishes) and the target keeps its previous content.

A process killed with SIGKILL cannot clean up. A nameless ``O_TMPFILE`` file is freed by the
kernel then, so nothing is left. Temporary *names* (the fallback, and the instant between
``link`` and ``os.replace``) carry their writer's pid; the next write into the same folder
deletes those whose writer is no longer running.

New files get the permissions ``0o666 & ~umask`` (normally ``0o644``), like any file a program
creates with ``open(path, "w")``; the umask is respected, not bypassed with ``0o600``.

Only the standard library is used.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_write", "atomic_write_bytes", "atomic_write_text", "sweep_stale_temp_files"]

#: use Linux's O_TMPFILE (nameless temp files that vanish on a crash) when the system has it
_USE_O_TMPFILE = sys.platform.startswith("linux") and hasattr(os, "O_TMPFILE")
_TEMP_RE = re.compile(r"^\..*\.dlscratch-(\d+)-[0-9a-f]{8}\.tmp$")
_MODES = {"wb": "wb", "w": "w", "wt": "w"}


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.dlscratch-{os.getpid()}-{secrets.token_hex(4)}.tmp")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (another user's) or cannot tell: keep the file
    return True


def sweep_stale_temp_files(folder: str | os.PathLike) -> list[Path]:
    """Delete temporary files of dlscratch writes into ``folder`` whose writer has died.

    Only names of the form ``.<name>.dlscratch-<pid>-<8 hex digits>.tmp`` are considered, and
    only those whose pid is not a running process. Returns the paths removed.
    """
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        m = _TEMP_RE.match(entry.name)
        if m is None or _pid_alive(int(m.group(1))):
            continue
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
            removed.append(Path(entry.path))
    return removed


_NO_LINK_DEVICES: set[int] = set()  # file systems where a nameless file could not be linked


def _open_nameless(folder: Path) -> int | None:
    """An O_TMPFILE descriptor in ``folder``, or None where the system or file system lacks it."""
    if not _USE_O_TMPFILE:
        return None
    try:
        if os.stat(folder).st_dev in _NO_LINK_DEVICES:
            return None
        return os.open(folder, os.O_TMPFILE | os.O_RDWR | getattr(os, "O_CLOEXEC", 0), 0o666)
    except OSError:
        return None  # e.g. EOPNOTSUPP on file systems without O_TMPFILE: use a temp name


def _link_nameless(fd: int, dest: Path) -> bool:
    """Give the O_TMPFILE file ``fd`` the name ``dest``; False where the system refuses."""
    try:
        os.link(f"/proc/self/fd/{fd}", dest, follow_symlinks=True)
        return True
    except OSError:
        pass
    try:  # linkat(fd, "", AT_FDCWD, dest, AT_EMPTY_PATH): needs CAP_DAC_READ_SEARCH on Linux
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        at_fdcwd, at_empty_path = -100, 0x1000
        return libc.linkat(fd, b"", at_fdcwd, os.fsencode(dest), at_empty_path) == 0
    except (OSError, AttributeError):
        return False


def _copy_to_named(fd: int, dest: Path) -> None:
    """Copy the nameless file ``fd`` into a new file ``dest`` (when linking is refused)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    out = os.open(dest, flags, 0o666)
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        while chunk := os.read(fd, 1 << 20):
            os.write(out, chunk)
        os.fsync(out)
    finally:
        os.close(out)


def _sync_folder(folder: Path) -> None:
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike, mode: str = "wb", *, encoding: str | None = None
) -> Iterator[IO[Any]]:
    """Write ``path`` atomically: yields a file object; the target changes only on success.

    Parameters
    ----------
    path : the file to create or replace; missing parent folders are created.
    mode : ``"wb"`` (bytes) or ``"w"`` / ``"wt"`` (text).
    encoding : for text mode; ``"utf-8"`` when None.

    Do not close the yielded file yourself; it is flushed, synced and closed on leaving the
    block. On an exception the block's data is discarded and the exception propagates.

    Examples
    --------
    >>> with atomic_write("model.npz") as f:          # doctest: +SKIP
    ...     np.savez(f, W=W)
    """
    if mode not in _MODES:
        raise ValueError(f"atomic_write: mode must be 'wb', 'w' or 'wt', got {mode!r}")
    path = Path(path)
    if path.name in ("", ".", ".."):
        raise ValueError(f"atomic_write: {str(path)!r} is not a file name")
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    sweep_stale_temp_files(folder)

    fd = _open_nameless(folder)
    tmp: Path | None = None
    if fd is None:
        tmp = _temp_name(path)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        fd = os.open(tmp, flags | getattr(os, "O_CLOEXEC", 0), 0o666)  # umask applies
    keep = os.dup(fd)  # survives a close() of the file object inside the block
    text = _MODES[mode] == "w"
    committed = False
    try:
        with os.fdopen(fd, _MODES[mode], encoding=(encoding or "utf-8") if text else None) as f:
            yield f
            if not f.closed:
                f.flush()
        os.fsync(keep)
        if tmp is None:  # give the nameless file a temporary name, then move it over the target
            tmp = _temp_name(path)
            if not _link_nameless(keep, tmp):
                _NO_LINK_DEVICES.add(os.fstat(keep).st_dev)  # use temp names here from now on
                _copy_to_named(keep, tmp)
        os.replace(tmp, path)
        committed = True
    finally:
        os.close(keep)
        if not committed and tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
    _sync_folder(folder)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`); returns the path."""
    with atomic_write(path, "wb") as f:
        f.write(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write`); returns the path."""
    with atomic_write(path, "w", encoding=encoding) as f:
        f.write(text)
    return Path(path)
