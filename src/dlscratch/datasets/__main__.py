"""Command line: ``python -m dlscratch.datasets download mnist`` (or ``fashion-mnist``, ``all``).

Other commands: ``where`` prints the cache folder; ``check NAME`` loads a data set offline and
prints its shapes.
"""

from __future__ import annotations

import argparse
import sys

from .idx import DatasetError
from .mnist import download_dataset, load_raw
from .sources import DATASETS, DOWNLOADABLE, cache_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dlscratch.datasets",
                                     description="Download and inspect dlscratch data sets.")
    sub = parser.add_subparsers(dest="command", required=True)
    dl = sub.add_parser("download", help="download data sets into the cache (or --dir)")
    dl.add_argument("names", nargs="+", choices=[*DOWNLOADABLE, "all"])
    dl.add_argument("--dir", default=None, help="put the files here instead of the cache")
    dl.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    sub.add_parser("where", help="print the cache folder")
    check = sub.add_parser("check", help="load a data set without downloading; print shapes")
    check.add_argument("name", choices=DATASETS)
    args = parser.parse_args(argv)

    try:
        if args.command == "where":
            print(cache_dir())
        elif args.command == "download":
            names = DOWNLOADABLE if "all" in args.names else dict.fromkeys(args.names)
            for name in names:
                paths = download_dataset(name, args.dir, progress=not args.no_progress)
                for path in paths.values():
                    print(f"{name}: {path}")
                if args.dir is None:
                    load_raw(name, download=False)  # verify and build the decoded cache
                    print(f"{name}: verified")
        else:
            raw = load_raw(args.name, download=False)
            for key, array in raw.items():
                print(f"{args.name} {key}: shape {array.shape}, dtype {array.dtype}")
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
