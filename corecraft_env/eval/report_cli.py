"""``corecraft report RUN_DIR``: render an eval run as one static HTML file (inline SVG, no server, no CDN)."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = "Write a static HTML report (summary, plots, browsable trajectories) of a `corecraft eval` run."
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a directory written by `corecraft eval --out`")
    parser.add_argument("-o", "--output", help="HTML file to write (default RUN_DIR/report.html)")
    parser.add_argument("--max-episodes", type=int, default=2000, help="trajectories included (default 2000; the rest are listed)")


def run(args: argparse.Namespace) -> int:
    from .report import write_report
    from .store import RunFileError

    try:
        path = write_report(args.run_dir, args.output, max_episodes=args.max_episodes)
    except RunFileError as exc:
        print(f"corecraft report: error: {exc}", file=sys.stderr)
        return 2
    print(path)
    return 0
