"""dlscratch._files: atomic writes that respect the umask and leave nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from dlscratch import _files
from dlscratch._files import atomic_write, atomic_write_bytes, atomic_write_text

HAS_O_TMPFILE = _files._USE_O_TMPFILE
POSIX = os.name == "posix"

# the three ways a write can be committed: a nameless O_TMPFILE file that is linked, a nameless
# file that the system will not link (copied into a temp name), and a plain temp name
WAYS = ["nameless", "nameless-copied", "temp-name"]


@pytest.fixture(params=WAYS)
def way(request, monkeypatch):
    if request.param.startswith("nameless") and not HAS_O_TMPFILE:
        pytest.skip("no O_TMPFILE on this system")
    monkeypatch.setattr(_files, "_USE_O_TMPFILE", request.param.startswith("nameless"))
    monkeypatch.setattr(_files, "_NO_LINK_DEVICES", set())
    if request.param == "nameless-copied":
        monkeypatch.setattr(_files, "_link_nameless", lambda fd, dest: False)
    return request.param


@pytest.fixture
def umask():
    """Set a umask for one test and restore the previous one."""
    old = os.umask(0o022)
    os.umask(old)
    yield lambda m: os.umask(m)
    os.umask(old)


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_bytes_and_text_content(tmp_path, way):
    p = atomic_write_bytes(tmp_path / "a.bin", b"\x00\x01hello")
    assert p == tmp_path / "a.bin" and p.read_bytes() == b"\x00\x01hello"
    q = atomic_write_text(tmp_path / "sub" / "deeper" / "b.txt", "héllo\n", encoding="latin-1")
    assert q.read_bytes() == "héllo\n".encode("latin-1")
    atomic_write_text(q, "second")  # replaces
    assert q.read_text() == "second"
    with atomic_write(tmp_path / "c.npz") as f:  # a seeking writer (zip) works too
        np.savez(f, W=np.arange(5))
    with np.load(tmp_path / "c.npz") as z:
        np.testing.assert_array_equal(z["W"], np.arange(5))
    assert _names(tmp_path) == ["a.bin", "c.npz", "sub"]


def test_large_write_is_complete(tmp_path, way):
    data = np.random.default_rng(0).bytes(3 << 20)
    with atomic_write(tmp_path / "big") as f:
        for i in range(0, len(data), 1 << 16):
            f.write(data[i:i + (1 << 16)])
    assert (tmp_path / "big").read_bytes() == data
    assert _names(tmp_path) == ["big"]


@pytest.mark.skipif(not POSIX, reason="POSIX permissions")
@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_permissions_follow_the_umask(tmp_path, way, umask, mask, expected):
    umask(mask)
    p = atomic_write_bytes(tmp_path / "f", b"x")
    assert p.stat().st_mode & 0o777 == expected
    # replacing an existing file gives the new file the umask's permissions as well
    os.chmod(p, 0o600)
    atomic_write_bytes(p, b"y")
    assert p.stat().st_mode & 0o777 == expected


def test_exception_inside_the_block_leaves_nothing(tmp_path, way):
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_write(tmp_path / "new.bin") as f:
            f.write(b"half a file" * 1000)
            raise RuntimeError("boom")
    assert _names(tmp_path) == []


def test_existing_target_stays_intact_on_failure(tmp_path, way):
    target = atomic_write_bytes(tmp_path / "keep.bin", b"old content")
    for exc in (OSError("disk full"), KeyboardInterrupt()):
        with pytest.raises(type(exc)):
            with atomic_write(target, "w") as f:
                f.write("new content that never lands")
                raise exc
        assert target.read_bytes() == b"old content"
        assert _names(tmp_path) == ["keep.bin"]


def test_closing_the_file_inside_the_block_still_commits(tmp_path, way):
    with atomic_write(tmp_path / "x") as f:
        f.write(b"abc")
        f.close()
    assert (tmp_path / "x").read_bytes() == b"abc"
    assert _names(tmp_path) == ["x"]


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="mode must be"):
        with atomic_write(tmp_path / "x", "ab"):
            pass
    with pytest.raises(ValueError, match="not a file name"):
        atomic_write_bytes(tmp_path / "..", b"")
    (tmp_path / "dir").mkdir()
    with pytest.raises(OSError):
        atomic_write_bytes(tmp_path / "dir", b"x")  # a folder is never replaced
    assert _names(tmp_path) == ["dir"] and _names(tmp_path / "dir") == []


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_sweep_removes_only_temp_files_of_dead_writers(tmp_path):
    dead, alive = _dead_pid(), os.getpid()
    stale = tmp_path / f".m.npz.dlscratch-{dead}-0123abcd.tmp"
    live = tmp_path / f".m.npz.dlscratch-{alive}-89abcdef.tmp"
    other = tmp_path / f".m.npz.{dead}.tmp"  # not ours: never touched
    for p in (stale, live, other):
        p.write_bytes(b"x")
    atomic_write_bytes(tmp_path / "m.npz", b"new")
    assert _names(tmp_path) == sorted([live.name, other.name, "m.npz"])


# ---------------------------------------------------------------------- SIGKILL mid-write
_SLOW_WRITER = textwrap.dedent("""
    import sys, time
    from dlscratch import _files
    _files._USE_O_TMPFILE = {use_o_tmpfile}
    with _files.atomic_write(sys.argv[1]) as f:
        for i in range(2000):
            f.write(bytes([i % 251]) * 65536)
            f.flush()
            if i == 20:
                print("writing", flush=True)
            time.sleep(0.005)
    print("finished", flush=True)
""")


@pytest.mark.skipif(not POSIX, reason="SIGKILL")
@pytest.mark.parametrize("use_o_tmpfile", [True, False], ids=["nameless", "temp-name"])
def test_sigkill_mid_write_leaves_the_previous_file_and_no_temp(tmp_path, use_o_tmpfile):
    if use_o_tmpfile and not HAS_O_TMPFILE:
        pytest.skip("no O_TMPFILE on this system")
    target = tmp_path / "ckpt.npz"
    previous = np.random.default_rng(1).bytes(100_000)
    atomic_write_bytes(target, previous)
    script = _SLOW_WRITER.format(use_o_tmpfile=use_o_tmpfile)
    proc = subprocess.Popen([sys.executable, "-c", script, str(target)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "writing"
        during = _names(tmp_path)  # more than 1 MB is written by now
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
        assert "finished" not in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    assert target.read_bytes() == previous  # the previous file, intact
    if use_o_tmpfile:  # the data lived in a nameless file: nothing was ever left to sweep
        assert during == ["ckpt.npz"]
        assert _names(tmp_path) == ["ckpt.npz"]
    else:  # a temp name survives the kill, and the next write into the folder removes it
        assert len(during) == 2 and _names(tmp_path) == during
        atomic_write_bytes(tmp_path / "other.txt", b"x")
        assert _names(tmp_path) == ["ckpt.npz", "other.txt"]
        assert target.read_bytes() == previous
