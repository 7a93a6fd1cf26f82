"""Downloads, for real, from an HTTP server on 127.0.0.1 serving small fake MNIST files."""

from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from dlscratch.datasets import (
    ChecksumError,
    DownloadError,
    download,
    load_mnist,
    sources,
    write_idx,
)
from dlscratch.datasets import __main__ as cli

N_TRAIN, N_TEST = 12, 5


class Handler(BaseHTTPRequestHandler):
    """``/<mode>/<file>``: good, missing (404), bad (wrong bytes), trunc (cut short), flaky (503
    on the first request for each file, then good)."""

    def do_GET(self):  # noqa: N802 (http.server's name)
        server = self.server
        with server.lock:
            server.requests.append(self.path)
            hits = server.requests.count(self.path)
        mode, _, name = self.path.lstrip("/").partition("/")
        body = server.files.get(name)
        if mode == "missing" or body is None:
            self.send_error(404, "Not Found")
            return
        if mode == "flaky" and hits == 1:
            self.send_error(503, "Slow Down")
            return
        if mode == "bad":
            body = body[:-1] + bytes([body[-1] ^ 0xFF])
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if mode == "trunc":  # promise the whole file, send half, hang up
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_files(tmp_path):
    """Four small MNIST-style gzip files; returns (arrays, {filename: bytes})."""
    rng = np.random.default_rng(42)
    arrays = {
        "train_images": rng.integers(0, 256, (N_TRAIN, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, N_TRAIN, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (N_TEST, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, N_TEST, dtype=np.uint8),
    }
    served = {}
    for key, array in arrays.items():
        path = write_idx(tmp_path / "served" / sources.FILES[key], array)
        served[path.name] = path.read_bytes()
    return arrays, served


@pytest.fixture
def server(fake_files):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.files = fake_files[1]
    httpd.requests = []
    httpd.lock = threading.Lock()
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch, fake_files):
    """Own cache; the fake files' MD5s injected; no real mirror reachable; no waiting."""
    monkeypatch.setenv("DLSCRATCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("DLSCRATCH_DATA", raising=False)
    monkeypatch.delenv("DLSCRATCH_OFFLINE", raising=False)
    md5s = {name: hashlib.md5(data).hexdigest() for name, data in fake_files[1].items()}
    monkeypatch.setitem(sources.MD5, "mnist", md5s)
    monkeypatch.setitem(sources.SHA256, "mnist", {})
    monkeypatch.setitem(sources.MIRRORS, "mnist", ["http://127.0.0.1:9/unused/"])
    monkeypatch.setattr(download, "RETRY_BACKOFF_S", 0.0)
    return tmp_path / "cache" / "mnist"


def all_files(folder: Path) -> list[str]:
    """Every file in folder, hidden temporary files included."""
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def assert_loaded(arrays, result):
    (x_train, t_train), (x_test, t_test) = result
    np.testing.assert_array_equal(x_train, arrays["train_images"].reshape(N_TRAIN, 784))
    np.testing.assert_array_equal(t_train, arrays["train_labels"])
    np.testing.assert_array_equal(x_test, arrays["test_images"].reshape(N_TEST, 784))
    np.testing.assert_array_equal(t_test, arrays["test_labels"])


def test_download_then_cache(server, fake_files, isolated, monkeypatch):
    arrays, served = fake_files
    monkeypatch.setitem(sources.MIRRORS, "mnist", [f"{server.url}/good/"])
    assert_loaded(arrays, load_mnist(normalize=False))
    assert sorted(server.requests) == sorted(f"/good/{name}" for name in served)
    assert all_files(isolated) == sorted([*served, "decoded.npz"])
    for name, data in served.items():
        assert (isolated / name).read_bytes() == data

    assert_loaded(arrays, load_mnist(normalize=False))  # decoded cache: no HTTP request
    (isolated / "decoded.npz").unlink()
    monkeypatch.setenv("DLSCRATCH_OFFLINE", "1")
    assert_loaded(arrays, load_mnist(normalize=False))  # from the cached .gz files
    assert len(server.requests) == 4


def test_mirrors_argument(server, fake_files):
    assert_loaded(fake_files[0], load_mnist(normalize=False, mirrors=[f"{server.url}/good"]))
    assert len(server.requests) == 4


def test_checksum_mismatch_rejected_and_not_kept(server, isolated):
    with pytest.raises(DownloadError, match=r"MD5 checksum mismatch.*bad file was deleted"):
        load_mnist(mirrors=[f"{server.url}/bad/"])
    assert all_files(isolated) == []
    with pytest.raises(ChecksumError):
        download.download_file(f"{server.url}/bad/t10k-labels-idx1-ubyte.gz",
                               isolated / "t.gz", md5=sources.MD5["mnist"]["t10k-labels-idx1-ubyte.gz"])
    assert all_files(isolated) == []
    # With a good mirror after the bad one, the load succeeds.
    load_mnist(mirrors=[f"{server.url}/bad/", f"{server.url}/good/"])
    assert sum(r.startswith("/bad/") for r in server.requests) == 4 + 1 + 1  # no retries


def test_404_and_truncation_fall_through(server, fake_files, isolated):
    mirrors = [f"{server.url}/missing/", f"{server.url}/trunc/", f"{server.url}/good/"]
    assert_loaded(fake_files[0], load_mnist(normalize=False, mirrors=mirrors))
    count = {mode: sum(r.startswith(f"/{mode}/") for r in server.requests)
             for mode in ("missing", "trunc", "good")}
    assert count == {"missing": 4, "trunc": 4 * download.RETRIES, "good": 4}
    assert all_files(isolated) == sorted([*fake_files[1], "decoded.npz"])


def test_truncated_transfer_only(server, isolated):
    dest = isolated / "train-labels-idx1-ubyte.gz"
    with pytest.raises(DownloadError, match=r"truncated transfer: got \d+ of \d+ bytes "
                       r"\(after 2 attempts\)"):
        download.download_file(f"{server.url}/trunc/{dest.name}", dest, retries=2)
    assert all_files(isolated) == []


def test_transient_error_is_retried(server, fake_files):
    assert_loaded(fake_files[0], load_mnist(normalize=False, mirrors=[f"{server.url}/flaky/"]))
    assert len(server.requests) == 8  # one 503 and one success per file


def test_all_mirrors_fail_lists_each(server, isolated):
    with pytest.raises(DownloadError) as info:
        load_mnist(mirrors=[f"{server.url}/missing/", f"{server.url}/trunc/"])
    message = str(info.value)
    assert "HTTP 404" in message and "truncated transfer" in message
    assert "python -m dlscratch.datasets download mnist" in message
    assert all_files(isolated) == []


def test_interrupted_download_leaves_no_file(server, fake_files, isolated, monkeypatch):
    """Ctrl-C (or a failing write) mid-way through: no file under the final name, no leftovers."""

    class ExplodingBar:
        def __init__(self, *args, **kwargs):
            self.calls = 0

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def update(self, n):
            self.calls += 1
            if self.calls == 2:
                raise KeyboardInterrupt

    name = "train-images-idx3-ubyte.gz"
    assert len(fake_files[1][name]) > 3 * 1024
    with monkeypatch.context() as m:
        m.setattr(download, "CHUNK_BYTES", 1024)
        m.setattr("tqdm.auto.tqdm", ExplodingBar)  # download imports it when it starts
        with pytest.raises(KeyboardInterrupt):
            load_mnist(mirrors=[f"{server.url}/good/"])
    assert all_files(isolated) == []
    # The next load starts again from scratch and succeeds.
    assert_loaded(fake_files[0], load_mnist(normalize=False, mirrors=[f"{server.url}/good/"]))


def test_cli_download(server, isolated, monkeypatch, capsys):
    monkeypatch.setitem(sources.MIRRORS, "mnist", [f"{server.url}/good/"])
    assert cli.main(["download", "mnist", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "mnist: verified" in out
    assert "decoded.npz" in all_files(isolated) and len(all_files(isolated)) == 5
