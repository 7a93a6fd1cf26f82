"""Command line: ``python -m dlscratch.datasets`` (the same as ``dlscratch datasets``).

    python -m dlscratch.datasets                  # what is on this machine, what can be fetched
    python -m dlscratch.datasets download mnist   # or fashion-mnist, all
    python -m dlscratch.datasets where            # the cache folder
    python -m dlscratch.datasets check NAME       # load offline and print the shapes
"""

from __future__ import annotations

import argparse
import sys

from .commands import download, format_listing
from .download import DownloadError
from .idx import DatasetError
from .mnist import load_raw
from .sources import DATASETS, DOWNLOADABLE, cache_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dlscratch.datasets",
        description="Download and inspect dlscratch data sets (also: `dlscratch datasets`).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("list", help="what is on this machine (and where), what can be downloaded")
    dl = sub.add_parser("download", help="download data sets into the cache (or --dir)",
                        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    dl.add_argument("names", nargs="+", choices=[*DOWNLOADABLE, "all"],
                    help="the data sets to download")
    dl.add_argument("--dir", default=None,
                    help="put the files here instead of the cache (default: the cache)")
    dl.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    sub.add_parser("where", help="print the cache folder")
    check = sub.add_parser("check", help="load a data set without downloading; print shapes")
    check.add_argument("name", choices=DATASETS, help="the data set")
    args = parser.parse_args(argv)

    try:
        if args.command in (None, "list"):
            print(format_listing())
        elif args.command == "where":
            print(cache_dir())
        elif args.command == "download":
            download(args.names, args.dir, progress=not args.no_progress)
        else:
            raw = load_raw(args.name, download=False)
            for key, array in raw.items():
                print(f"{args.name} {key}: shape {array.shape}, dtype {array.dtype}")
    except (DatasetError, DownloadError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
