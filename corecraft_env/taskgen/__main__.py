"""``python -m corecraft_env.taskgen [--out REPO_ROOT] [--check] [--family NAME ...] [--seed N] [-v]``: regenerate
(or check) the task corpus; with ``--family``, try those families only and write nothing; with ``--seed N``, work
on the world of seed N (its corpus goes to ``--out DIR``, never over the shipped seed-0 corpus)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .build import build, corpus_files, generate
from ..tasks.model import SHIPPED_WORLD_SEED
from ..world.store import validate_seed
from .core import FAMILIES

REPO_ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m corecraft_env.taskgen", description=__doc__)
    parser.add_argument("--seed", type=int, default=SHIPPED_WORLD_SEED, help="world seed (default 0, the shipped corpus)")
    parser.add_argument("--out", type=Path, default=None, help="repository root to write tasks/, rubrics/, docs/tasks.md (default: this checkout)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if the corpus under --out is not what the families produce")
    parser.add_argument("--family", action="append", default=[], metavar="NAME",
                        help="try only this family (repeatable): print what it keeps and why it drops candidates; write nothing")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every dropped candidate and why")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    unknown = sorted(set(args.family) - set(FAMILIES))
    if unknown:
        parser.error(f"unknown families: {', '.join(unknown)} (known: {', '.join(sorted(FAMILIES))})")
    try:
        validate_seed(args.seed)
    except (TypeError, ValueError) as exc:
        parser.error(str(exc))
    shipped = args.seed == SHIPPED_WORLD_SEED
    if args.out is None and not shipped and not args.family:
        parser.error(f"--seed {args.seed} needs --out DIR: the repository holds the shipped seed-0 corpus only")
    if args.check and not shipped:
        parser.error("--check compares the shipped seed-0 corpus; generate another seed with --out DIR and compare folders")
    out = args.out or REPO_ROOT
    if args.family:
        return try_families(args.family, args.seed)
    if args.check:
        return check(out)
    report = build(out, docs=shipped, seed=args.seed)
    print(report.summary())
    return 0


def try_families(names: list[str], seed: int = SHIPPED_WORLD_SEED) -> int:
    """Exit status 1 when a family keeps fewer tasks than it wants; prints each kept task and each drop reason."""
    short = 0
    for result in generate(names, seed):
        fam = result.family
        print(f"{fam.name}: kept {len(result.kept)}/{fam.wanted}, dropped {len(result.dropped)}")
        for generated in result.kept:
            task = generated.task
            print(f"  kept {task['id']} {task['difficulty']} ({len(task['reference_solution']['tool_calls'])} calls, "
                  f"blind: {', '.join(sorted(task.get('policy_blind', {})))})")
        for candidate_id, reason in result.dropped:
            print(f"  dropped {candidate_id}: {reason}")
        short += len(result.kept) < fam.wanted
    return 1 if short else 0


def check(root: Path) -> int:
    """Exit status 1 (listing the files) when the corpus under ``root`` differs from what the families produce."""
    expected = corpus_files(generate())
    present = {p.relative_to(root): p.read_text(encoding="utf-8") for folder in ("tasks", "rubrics") for p in (root / folder).rglob("*.json")}
    differing = sorted(set(present) ^ set(expected)) + sorted(p for p in expected if p in present and present[p] != expected[p])
    for path in differing:
        print(f"out of date: {path}")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
