"""``corecraft report RUN_DIR [RUN_DIR …]``: render an eval run as one static HTML file (inline SVG, no server, no
CDN), or compare several runs side by side on one page."""

from __future__ import annotations

import argparse
import sys

COMPARISON_FILE = "comparison.html"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Write a static HTML report (summary, plots, browsable trajectories) of a `corecraft eval` run; "
                          "given several runs, one page comparing them (pass@1, pass^k, reward by category and difficulty, "
                          "the tasks where they differ, plots).")
    parser.add_argument("run_dirs", metavar="RUN_DIR", nargs="+", help="directories written by `corecraft eval --out`")
    parser.add_argument("-o", "--output", help=f"HTML file to write (default RUN_DIR/report.html for one run, "
                                               f"./{COMPARISON_FILE} for several)")
    parser.add_argument("--max-episodes", type=int, default=2000,
                        help="trajectories included in a one-run report (default 2000; the rest are listed)")


def run(args: argparse.Namespace) -> int:
    from .compare import write_comparison
    from .report import write_report
    from .store import RunFileError

    try:
        if len(args.run_dirs) == 1:
            path = write_report(args.run_dirs[0], args.output, max_episodes=args.max_episodes)
        else:
            path = write_comparison(args.run_dirs, args.output or COMPARISON_FILE)
    except (RunFileError, ValueError) as exc:
        print(f"corecraft report: error: {exc}", file=sys.stderr)
        return 2
    print(path)
    return 0
