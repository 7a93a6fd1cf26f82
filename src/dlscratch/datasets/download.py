"""Download files from a list of mirrors, safely.

* Each file is streamed into an atomic write (:func:`dlscratch._files.atomic_write`: a nameless
  or temporary file in the destination folder), its MD5 is checked, and only then is it moved
  into place. An interrupted or failed download therefore never leaves a file under the final
  name, and a file with the wrong checksum is discarded.
* Network errors and truncated transfers are retried (``RETRIES`` attempts per mirror, with a
  growing pause of ``RETRY_BACKOFF_S`` seconds); HTTP 4xx answers and checksum mismatches move
  on to the next mirror at once.
* A tqdm bar shows the progress.

Only the standard library (``urllib``) is used for HTTP.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from .._files import atomic_write
from .._version import __version__
from .idx import DatasetError

__all__ = ["ChecksumError", "DownloadError", "download_file", "fetch"]

RETRIES = 3  # attempts per mirror for transient errors
RETRY_BACKOFF_S = 1.0  # pause before the 2nd attempt; doubles each time
TIMEOUT_S = 30.0  # socket timeout
CHUNK_BYTES = 1 << 16


class DownloadError(DatasetError):
    """A file could not be downloaded from any mirror."""


class ChecksumError(DownloadError):
    """A downloaded file does not have the published checksum (it was deleted)."""


class _Transient(Exception):
    """An error worth retrying on the same mirror (connection reset, truncated body, 5xx)."""


def _md5_of_stream(response, out, total: int | None, desc: str, progress: bool) -> tuple[str, int]:
    from tqdm.auto import tqdm  # here, not at import: in a notebook it warns without ipywidgets

    digest = hashlib.md5()
    received = 0
    with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc,
              disable=not progress, leave=False) as bar:
        while True:
            chunk = response.read(CHUNK_BYTES)
            if not chunk:
                break
            out.write(chunk)
            digest.update(chunk)
            received += len(chunk)
            bar.update(len(chunk))
    return digest.hexdigest(), received


def _download_once(url: str, dest: Path, md5: str | None, progress: bool) -> None:
    """One attempt; raises _Transient, ChecksumError or DownloadError (permanent)."""
    request = urllib.request.Request(url, headers={"User-Agent": f"dlscratch/{__version__}"})
    # atomic_write: the file appears under its name only if the block ends without an error,
    # so a failed transfer or a checksum mismatch (raised inside it) leaves nothing behind
    with atomic_write(dest, "wb") as out:
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                length = response.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else None
                got_md5, received = _md5_of_stream(response, out, total, dest.name, progress)
        except urllib.error.HTTPError as exc:
            if 400 <= exc.code < 500 and exc.code not in (408, 429):
                raise DownloadError(f"HTTP {exc.code} {exc.reason}") from exc
            raise _Transient(f"HTTP {exc.code} {exc.reason}") from exc
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, socket.gaierror):  # unknown host: retrying won't help
                raise DownloadError(f"cannot resolve host ({exc.reason})") from exc
            raise _Transient(f"{type(exc).__name__}: {exc}") from exc
        except (http.client.HTTPException, ConnectionError, TimeoutError) as exc:
            raise _Transient(f"{type(exc).__name__}: {exc}") from exc
        if total is not None and received != total:
            raise _Transient(f"truncated transfer: got {received:,} of {total:,} bytes")
        if md5 is not None and got_md5 != md5.lower():
            raise ChecksumError(
                f"MD5 checksum mismatch: expected {md5}, got {got_md5} ({received:,} bytes); "
                "the bad file was deleted"
            )


def download_file(
    url: str,
    dest: str | os.PathLike[str],
    md5: str | None = None,
    *,
    retries: int | None = None,
    progress: bool = True,
) -> Path:
    """Download ``url`` to ``dest`` atomically, verifying ``md5`` (hex) when given.

    Transient failures (connection errors, truncated transfers, HTTP 5xx) are retried up to
    ``retries`` attempts (default ``RETRIES``). Raises :class:`ChecksumError` on an MD5 mismatch
    and :class:`DownloadError` otherwise; in every failure case ``dest`` is left untouched.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    attempts = RETRIES if retries is None else retries
    if attempts < 1:
        raise ValueError(f"retries must be at least 1, got {attempts}")
    for attempt in range(1, attempts + 1):
        try:
            _download_once(url, dest, md5, progress)
            return dest
        except _Transient as exc:
            if attempt == attempts:
                raise DownloadError(f"{exc} (after {attempts} attempts)") from exc
            time.sleep(RETRY_BACKOFF_S * 2 ** (attempt - 1))
    raise AssertionError("unreachable")


def fetch(
    filename: str,
    dest_dir: str | os.PathLike[str],
    mirrors: Sequence[str],
    md5: str | None = None,
    *,
    retries: int | None = None,
    progress: bool = True,
) -> Path:
    """Download ``filename`` into ``dest_dir`` from the first mirror that serves it intact.

    Args:
        filename: e.g. ``"train-images-idx3-ubyte.gz"``, appended to each mirror's base URL.
        dest_dir: the folder that receives the file.
        mirrors: base URLs tried in order, e.g. ``["https://ossci-datasets.s3.amazonaws.com/mnist/"]``.
        md5: the published MD5 of the file, or None to skip the check.

    Returns:
        The path of the verified file.

    Raises:
        DownloadError: no mirror delivered the file; the message lists each mirror's failure.
    """
    if not mirrors:
        raise DownloadError(f"no mirrors are configured for {filename}")
    failures = []
    for base in mirrors:
        url = base if base.endswith("/") else base + "/"
        url += filename
        try:
            return download_file(url, Path(dest_dir) / filename, md5,
                                 retries=retries, progress=progress)
        except DownloadError as exc:
            failures.append(f"  {url}: {exc}")
    raise DownloadError(
        f"could not download {filename} from any mirror:\n" + "\n".join(failures) + "\n"
        f"Check your internet connection, or download the file by hand and put it in {dest_dir}."
    )
