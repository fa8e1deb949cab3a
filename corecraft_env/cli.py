"""The ``corecraft`` command. Thin: each subcommand parses its options and calls the package's modules."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import warnings
from pathlib import Path
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


def _cmd_validate(args: argparse.Namespace) -> int:
    import pytest

    from .tasks.model import task_folders

    folder, rubrics_dir = task_folders(args.directory)
    tasks_dir = str(folder)
    if not folder.is_dir():
        raise ValueError(f"no task directory at {tasks_dir}")
    if next(folder.rglob("*.json"), None) is None:
        raise ValueError(f"no task files (*.json) under {tasks_dir}: give a folder with train/ and heldout/ task files "
                         "(and rubrics/ beside it), or one holding tasks/ and rubrics/")
    # An empty config file keeps a surrounding project's pytest settings out of the user's validation run.
    options = ["-p", "corecraft_env.validation", "-p", "no:cacheprovider", "-p", "no:faker", "-c", os.devnull, "--rootdir", tasks_dir,
               "--corecraft-tasks", tasks_dir, "-q", "--tb=line" if args.quiet else "--tb=short"]
    if rubrics_dir is not None:  # else validation's own default: rubrics/ beside the tasks folder
        options += ["--corecraft-rubrics", str(rubrics_dir)]
    if args.workers > 1:
        options += ["-n", str(args.workers)]
    code = pytest.main([*options, tasks_dir])
    return 0 if code == 0 else 1


def task_statistics(tasks) -> dict:
    """Counts per split × category × difficulty, per family (with its split), and totals."""
    from .tasks import CATEGORIES, DIFFICULTIES, SPLITS

    grid = {split: {c: {d: 0 for d in DIFFICULTIES} for c in CATEGORIES} for split in SPLITS}
    families: dict[str, dict] = {}
    for task in tasks:
        grid[task.split][task.category][task.difficulty] += 1
        family = families.setdefault(task.family, {"split": task.split, "category": task.category, "tasks": 0})
        family["tasks"] += 1
    held_out = sum(1 for f in families.values() if f["split"] == "heldout")
    return {"tasks": len(tasks), "by_split": {s: sum(sum(row.values()) for row in grid[s].values()) for s in SPLITS},
            "families": len(families), "heldout_families": held_out, "grid": grid, "by_family": dict(sorted(families.items()))}


def format_statistics(stats: dict) -> str:
    from .tasks import CATEGORIES, DIFFICULTIES, SPLITS

    lines = [f"{stats['tasks']} tasks ({', '.join(f'{n} {s}' for s, n in stats['by_split'].items())}), {stats['families']} families, "
             f"{stats['heldout_families']} held out"]
    for split in SPLITS:
        lines.append(f"\n{split:<22}" + "".join(f"{d:>8}" for d in DIFFICULTIES) + f"{'total':>8}")
        for category in CATEGORIES:
            row = stats["grid"][split][category]
            lines.append(f"{category:<22}" + "".join(f"{row[d]:>8}" for d in DIFFICULTIES) + f"{sum(row.values()):>8}")
    for split, r in stats.get("realism", {}).items():
        lines += [f"\nrealism, {split} (targets in docs/tasks.md)",
                  f"  distinct sentences        {r['distinct_sentences']} of {r['sentences']} ({r['distinct_sentence_ratio']}); "
                  f"masked {r['distinct_masked_sentence_ratio']}",
                  f"  distinct skeletons        {r['distinct_skeletons']} of {r['tasks']}; {r['identical_requests']} requests identical "
                  f"to another; {len(r['families_repeating_a_skeleton'])} families of >= 5 repeat a skeleton",
                  f"  chains of >= 4 lookups    {r['deep_chain_share']:.1%} (longest {r['longest_chain']})",
                  f"  boundary cases            {r['boundary_cases']}",
                  "  trap words                " + ", ".join(f"{w!r} {n}" for w, n in r["trap_words"].items()),
                  f"  requester id in header    {r['requester_id_in_observation']}"]
        if "heldout_entity_overlap" in r:
            lines.append(f"  entities shared w/ train  {r['heldout_tasks_overlapping']} tasks ({r['heldout_entity_overlap']:.1%})")
    return "\n".join(lines)


def _cmd_tasks(args: argparse.Namespace) -> int:
    from .tasks import TaskSet

    if args.seed is not None and args.directory:
        raise ValueError("give a task folder or --seed, not both: --seed picks the generated corpus of that world")
    if args.out and args.seed is None:
        raise ValueError("--out writes the corpus of a world: add --seed N (the shipped corpus is already in tasks/ and rubrics/)")
    if args.seed is not None:
        from .seeded import seeded_task_set

        task_set = seeded_task_set(args.seed)
        if args.out:
            for folder in (task_set.tasks_dir, task_set.rubrics_dir):
                shutil.copytree(folder, Path(args.out) / folder.name, dirs_exist_ok=True)
            print(f"wrote {len(task_set)} tasks of world seed {args.seed} to {args.out}/tasks and their rubrics to "
                  f"{args.out}/rubrics; check them with: corecraft validate {args.out}")
            return 0
    else:
        task_set = TaskSet.from_folder(args.directory)
    selected = task_set.select(split=args.split, families=args.family, difficulties=args.difficulty)
    if args.export:
        if not selected:
            raise ValueError(f"no tasks to export in {task_set.tasks_dir or f'world seed {args.seed}'} with these filters")
        from .export.prompts import PromptContract

        contract = PromptContract(include_policy=not args.no_policy, tool_format=args.tool_format,
                                  max_observation_chars=args.max_observation_chars)
        if args.format == "sft":
            from .export.demonstrations import demonstrations_to_dataset_dict

            datasets, what = demonstrations_to_dataset_dict(selected, task_set, contract), "oracle demonstrations"
        else:
            from .export.prompts import tasks_to_dataset_dict

            datasets, what = tasks_to_dataset_dict(selected, contract), "task prompts"
        datasets.save_to_disk(args.export)
        sizes = ", ".join(f"{split}: {len(rows)}" for split, rows in datasets.items())
        print(f"wrote {len(selected)} {what} as a Hugging Face DatasetDict ({sizes}) to {args.export}; "
              f"load it with datasets.load_from_disk({args.export!r})"
              + (f" or train on it with: trl sft --dataset_name {args.export} --assistant_only_loss true" if args.format == "sft" else ""))
    elif args.stats:
        from .tasks.realism import realism_statistics

        stats = task_statistics(selected)
        stats["realism"] = realism_statistics(selected, task_set.select(split="train"))
        print(json.dumps(stats, indent=1) if args.json else format_statistics(stats))
    elif args.json:
        print(json.dumps([{"id": t.id, "family": t.family, "category": t.category, "difficulty": t.difficulty, "split": t.split,
                           "world_seed": t.world_seed, "requester": t.requester, "policy_rules": list(t.policy_rules)}
                          for t in selected], indent=1))
    else:
        for t in selected:
            print(f"{t.id:<48} {t.split:<8} {t.category:<22} {t.difficulty:<7} {t.family}")
        print(f"{len(selected)} tasks")
    return 0


# Subcommands that live with their feature: each module defines add_arguments(parser) and run(args) -> int, and
# imports its heavy libraries (mcp, litellm, torch) only inside run().
_FEATURE_COMMANDS = {
    "eval": ("corecraft_env.eval.cli", "evaluate an agent on tasks: pass@1, pass^k, resumable JSONL runs"),
    "report": ("corecraft_env.eval.report_cli", "render a run directory as a static HTML report"),
    "serve-mcp": ("corecraft_env.mcp.cli", "serve the world's tools over MCP (stdio or streamable HTTP)"),
    "play": ("corecraft_env.play", "play an episode as the agent in the terminal: tool calls, final reply, verdicts"),
}


def _add_feature_commands(commands) -> None:
    import importlib

    for name, (module_name, help_text) in _FEATURE_COMMANDS.items():
        module = importlib.import_module(module_name)
        parser = commands.add_parser(name, help=help_text)
        module.add_arguments(parser)
        parser.set_defaults(handler=module.run)


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(prog="corecraft", description="Corecraft: an enterprise customer-support world for LLM agents.")
    parser.add_argument("--version", action="version", version=f"corecraft {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    world = commands.add_parser("world", help="build (or load) a seeded world and print its entity counts and hash")
    world.add_argument("--seed", type=_non_negative_int, default=0, help="world seed (default 0)")
    world.add_argument("--json", action="store_true", help="print one JSON object: seed, entity_counts, total, hash")
    world.add_argument("--cache-dir", default=None, help="world cache directory (default: $CORECRAFT_CACHE_DIR or the user cache)")
    world.set_defaults(handler=_cmd_world)

    tools = commands.add_parser("tools", help="list the agent's tools")
    tools.add_argument("--json", action="store_true", help="print the tools in OpenAI function-calling format")
    tools.set_defaults(handler=_cmd_tools)

    from .export.prompts import TOOL_FORMATS
    from .tasks import DIFFICULTIES

    tasks = commands.add_parser("tasks", help="list tasks")
    tasks.add_argument("directory", nargs="?", help="a task folder (default: the shipped tasks)")
    tasks.add_argument("--seed", type=_non_negative_int, help="the tasks of this world seed (0: the shipped corpus; others are "
                       "generated by every task family and validated on first use, about a minute, then cached)")
    tasks.add_argument("--out", metavar="DIR", help="with --seed: write that world's tasks/ and rubrics/ to DIR")
    tasks.add_argument("--split", choices=("train", "heldout"), help="only this split")
    tasks.add_argument("--json", action="store_true", help="one JSON object per task (id, family, category, difficulty, split, …)")
    tasks.add_argument("--stats", action="store_true", help="counts per split × category × difficulty, families, and the realism "
                       "measures of corecraft_env.tasks.realism")
    tasks.add_argument("--family", action="append", metavar="NAME", help="only this task family (repeatable)")
    tasks.add_argument("--difficulty", action="append", choices=DIFFICULTIES, help="only this difficulty (repeatable)")
    tasks.add_argument("--export", metavar="DIR", help="save the tasks as a Hugging Face DatasetDict by split (train, heldout), "
                       "read back with datasets.load_from_disk(DIR); --format picks what a row is")
    tasks.add_argument("--format", choices=("prompts", "sft"), default="prompts",
                       help="with --export: prompts (chat prompt + metadata, for GRPO; default) or sft (each task's reference "
                            "solution replayed through the environment, in TRL's tool-calling messages + tools format)")
    tasks.add_argument("--tool-format", choices=TOOL_FORMATS, default="native",
                       help="with --export: tool schemas through the chat template (native) or one line each in the system prompt (compact)")
    tasks.add_argument("--no-policy", action="store_true", help="with --export: leave the policy document out of the system prompt")
    tasks.add_argument("--max-observation-chars", type=int, metavar="N",
                       help="with --export: cut each tool result at N characters (default: the environment's)")
    tasks.set_defaults(handler=_cmd_tasks)

    validate = commands.add_parser("validate", help="validate task files: schema, ids, rubric, oracle passes, null/random fail")
    validate.add_argument("directory", nargs="?", help="a task folder, or a folder with tasks/ and rubrics/ (default: shipped)")
    validate.add_argument("-n", "--workers", type=int, default=1, help="parallel pytest-xdist workers (default 1)")
    validate.add_argument("-q", "--quiet", action="store_true", help="one line per failure")
    validate.set_defaults(handler=_cmd_validate)

    _add_feature_commands(commands)
    return parser


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush of a closed pipe raises nothing more."""
    try:
        descriptor = sys.stdout.fileno()
    except (AttributeError, OSError):  # not a real file (a test's capture): nothing will flush to a pipe
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, descriptor)
    os.close(devnull)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    with warnings.catch_warnings():
        warnings.simplefilter("default")  # cache problems are shown once, as "WorldCacheWarning: ..." on stderr
        try:
            code = handler(args)
            sys.stdout.flush()  # inside the try: a reader that left early shows up here at the latest
            return code
        except BrokenPipeError:  # the reader went away (`corecraft tasks | head`): stop quietly, as `cat` does
            _silence_stdout()
            return 141  # 128 + SIGPIPE, what a shell reports for a program killed by a closed pipe
        except (TypeError, ValueError, OSError) as exc:
            print(f"corecraft {args.command}: error: {exc}", file=sys.stderr)
            return 2


if __name__ == "__main__":
    sys.exit(main())
