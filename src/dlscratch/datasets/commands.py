"""What ``dlscratch datasets`` and ``python -m dlscratch.datasets`` print and do.

Both command lines call these functions, so the two stay the same.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from . import sources
from .mnist import download_command, download_dataset, load_raw

__all__ = ["download", "format_listing"]


def format_listing(data_dir: str | os.PathLike[str] | None = None) -> str:
    """A table of the data sets on this machine (and where) and of those that can be downloaded.

    Parameters
    ----------
    data_dir : path, optional
        Also look in this folder, as ``--data-dir`` / ``load_mnist(data_dir=...)`` would.
    """
    infos = sources.list_datasets(data_dir)
    width = max(len(info.name) for info in infos)
    here = [info for info in infos if info.available]
    elsewhere = [info for info in infos if not info.available]
    lines = ["On this machine:"]
    for info in here:
        where = ", ".join(str(folder) for folder in info.folders)
        kind = "bundled with dlscratch" if info.bundled else "found"
        lines.append(f"  {info.name:<{width}}  {kind}: {where}")
        lines.append(f"  {'':<{width}}  {info.description}")
    if not here:
        lines.append("  (none)")
    lines.append("Can be downloaded:")
    for info in elsewhere:
        if not info.downloadable:
            continue
        partial = ""
        if info.files:
            partial = f" (partly here: {len(info.files)} of {len(sources.FILES)} files)"
        size = f", ~{sources.DOWNLOAD_MB[info.name]} MB" if info.name in sources.DOWNLOAD_MB else ""
        lines.append(f"  {info.name:<{width}}  {info.description}{size}{partial}")
        lines.append(f"  {'':<{width}}  get it with: {download_command(info.name)}")
    if all(info.available for info in infos if info.downloadable):
        lines.append("  (everything is here already)")
    lines.append(f"Downloads go to {sources.cache_dir()} (set DLSCRATCH_CACHE to change; "
                 "DLSCRATCH_DATA or --data-dir point at your own copies).")
    return "\n".join(lines)


def download(
    names: Iterable[str],
    dest_dir: str | os.PathLike[str] | None = None,
    *,
    progress: bool = True,
    echo: Callable[[str], None] = print,
) -> dict[str, dict[str, Path]]:
    """Download data sets (``"all"`` means every downloadable one) and report each file.

    Files already present are kept. Into the cache (``dest_dir=None``) each data set is then
    decoded once offline, which verifies its content and builds the decoded cache.

    Returns
    -------
    dict
        ``{name: {"train_images": path, ...}}``.
    """
    names = list(names)
    if "all" in names:
        names = list(sources.DOWNLOADABLE)
    for name in names:
        sources.check_dataset_name(name)
        if name not in sources.DOWNLOADABLE:
            raise ValueError(f"{name!r} is bundled with dlscratch; there is nothing to download "
                             f"(downloadable: {', '.join(sources.DOWNLOADABLE)})")
    done = {}
    for name in dict.fromkeys(names):
        paths = download_dataset(name, dest_dir, progress=progress)
        for path in paths.values():
            echo(f"{name}: {path}")
        if dest_dir is None:
            load_raw(name, download=False)  # verify and build the decoded cache
            echo(f"{name}: verified")
        done[name] = paths
    return done
