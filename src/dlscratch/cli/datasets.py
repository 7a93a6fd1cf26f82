"""``dlscratch datasets``: what is on this machine, what can be downloaded; downloads."""

from __future__ import annotations

import argparse

from . import _common as c


def add_parser(sub) -> None:
    from ..datasets.sources import DOWNLOADABLE

    ds = sub.add_parser(
        "datasets", formatter_class=c.Formatter,
        help="list the data sets here and those that can be downloaded; --download fetches",
        description="Without options: which data sets are on this machine (and where) and which "
                    "can be downloaded. With --download: fetch them (checked, atomic).")
    ds.add_argument("--download", metavar="NAME", nargs="+", choices=[*DOWNLOADABLE, "all"],
                    default=None,
                    help=f"download these data sets ({', '.join(DOWNLOADABLE)} or all)")
    ds.add_argument("--dir", metavar="DIR", type=c.non_empty_path, default=None,
                    help="download into this folder instead of the cache")
    ds.add_argument("--data-dir", metavar="DIR", type=c.existing_dir, default=None,
                    help="also look for data sets in this folder when listing")
    ds.add_argument("--no-progress", action="store_true", help="hide the download progress bars")
    ds.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    ds.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..datasets.commands import download, format_listing
    from ..datasets.download import DownloadError

    if args.download is None:
        if args.dir is not None:
            raise c.CliError("--dir only goes with --download NAME", status=2)
        print(format_listing(args.data_dir))
        return 0
    try:
        download(args.download, args.dir, progress=not args.no_progress)
    except DownloadError as exc:
        raise c.CliError(f"download failed: {c.one_line(exc)}") from None
    return 0
