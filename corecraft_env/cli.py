"""The ``corecraft`` command. Thin: each subcommand parses its options and calls the package's modules."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from typing import Callable, Sequence


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {value}")
    return value


def _cmd_world(args: argparse.Namespace) -> int:
    from .world import load_world

    world = load_world(args.seed, cache_dir=args.cache_dir)
    if args.json:
        print(json.dumps({"seed": world.seed, "entity_counts": world.entity_counts, "total": world.total, "hash": world.hash}))
    else:
        width = max(map(len, world.entity_counts))
        for name, count in world.entity_counts.items():
            print(f"{name:<{width}}  {count:>6}")
        print(f"{'total':<{width}}  {world.total:>6}")
        print(f"seed {world.seed}  hash {world.hash}")
    return 0


def _cmd_tools(args: argparse.Namespace) -> int:
    from .tools import REGISTRY

    if args.json:
        print(json.dumps(REGISTRY.openai_tools(), indent=2))
    else:
        for tool in REGISTRY:
            summary = tool.description.split(". ")[0].rstrip(".")
            print(f"{tool.name:<28} {'write' if tool.writes else 'read ':<5}  {summary}")
        print(f"{len(REGISTRY)} tools")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="corecraft", description="Corecraft: an enterprise customer-support world for LLM agents.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    world = commands.add_parser("world", help="build (or load) a seeded world and print its entity counts and hash")
    world.add_argument("--seed", type=_non_negative_int, default=0, help="world seed (default 0)")
    world.add_argument("--json", action="store_true", help="print one JSON object: seed, entity_counts, total, hash")
    world.add_argument("--cache-dir", default=None, help="world cache directory (default: $CORECRAFT_CACHE_DIR or the user cache)")
    world.set_defaults(handler=_cmd_world)

    tools = commands.add_parser("tools", help="list the agent's tools")
    tools.add_argument("--json", action="store_true", help="print the tools in OpenAI function-calling format")
    tools.set_defaults(handler=_cmd_tools)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    with warnings.catch_warnings():
        warnings.simplefilter("default")  # cache problems are shown once, as "WorldCacheWarning: ..." on stderr
        try:
            return handler(args)
        except (TypeError, ValueError, OSError) as exc:
            print(f"corecraft {args.command}: error: {exc}", file=sys.stderr)
            return 2


if __name__ == "__main__":
    sys.exit(main())
