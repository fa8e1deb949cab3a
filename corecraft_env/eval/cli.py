"""``corecraft eval``: evaluate an agent on tasks (pass@1, pass^k, reward by category and difficulty), resumably."""

from __future__ import annotations

import argparse
import os
import sys

from .runner import AGENTS


def _list(values: list[str] | None) -> list[str]:
    return [item.strip() for value in values or [] for item in value.split(",") if item.strip()]


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Run an agent on tasks, k trials each, and write RUN_DIR/episodes.jsonl (one line per episode), "
                          "run.json and summary.json. Re-running with the same --out resumes: finished episodes are kept "
                          "(--retry-errors runs the errored ones again). The LiteLLM agent's and judge's models are checked "
                          "first; a wrong key or model stops the run at once. Exits 1 when episodes errored, 2 on an error.")
    agent = parser.add_argument_group("agent")
    agent.add_argument("--agent", choices=AGENTS, default="oracle", help="who acts (default: oracle, the reference solution)")
    agent.add_argument("--model", help="litellm: a LiteLLM model string (openai/gpt-4o-mini; openai/NAME with --api-base for a "
                                       "local server); hf: a local model folder, or smollm2 (default, bundled)")
    agent.add_argument("--api-base", help="base URL of an OpenAI-compatible server for the litellm agent")
    agent.add_argument("--api-key-env", help="name of the environment variable holding the agent's API key")
    agent.add_argument("--temperature", type=float, default=0.0, help="sampling temperature (default 0)")
    agent.add_argument("--max-tokens", type=int, default=1024, help="litellm: max tokens per completion (default 1024)")
    agent.add_argument("--agent-timeout", type=float, default=120.0, help="litellm: seconds per request (default 120)")
    agent.add_argument("--agent-retries", type=_positive, default=4, help="litellm: attempts per request (default 4)")
    agent.add_argument("--max-new-tokens", type=int, default=160, help="hf: tokens generated per step (default 160)")
    agent.add_argument("--device", default="cpu", help="hf: torch device (default cpu)")
    agent.add_argument("--tool-format", choices=("native", "compact"),
                       help="hf: tools as schemas through the chat template, or one line each in the system prompt (default compact)")
    agent.add_argument("--no-policy", action="store_true", help="hf: leave the policy document out of the system prompt")
    agent.add_argument("--max-observation-chars", type=_positive, help="hf: cut each tool result at N characters (default 1500)")
    agent.add_argument("--seed", type=int, default=0, help="base seed: trial t uses seed+t (default 0)")

    judge = parser.add_argument_group("judge (for rubric 'judge' criteria)")
    judge.add_argument("--judge", default="none", help="none (default: deterministic fallbacks), a LiteLLM model string, "
                                                       "or py:package.module:function")
    judge.add_argument("--judge-api-base", help="base URL of an OpenAI-compatible server for the judge")
    judge.add_argument("--judge-api-key-env", help="name of the environment variable holding the judge's API key")
    judge.add_argument("--judge-timeout", type=float, default=60.0, help="seconds per judge request (default 60)")
    judge.add_argument("--judge-retries", type=_positive, default=4, help="attempts per verdict before it is errored (default 4)")
    judge.add_argument("--judge-concurrency", type=_positive, default=4, help="judge requests in flight, all episodes together (default 4)")
    judge.add_argument("--judge-cache-dir", help="verdict cache folder (default: $CORECRAFT_CACHE_DIR/judge)")
    judge.add_argument("--no-judge-cache", action="store_true", help="always ask the judge, never reuse cached verdicts")
    judge.add_argument("--retry-base-delay", type=float, default=0.5, help="first backoff delay in seconds, doubling (default 0.5)")

    select = parser.add_argument_group("tasks")
    select.add_argument("--tasks-dir", help="task folder, or a folder with tasks/ and rubrics/ (default: the shipped corpus)")
    select.add_argument("--rubrics-dir", help="rubric folder (default: rubrics/ beside the task folder)")
    select.add_argument("--world-seed", type=int, help="the tasks of this world (0: the shipped corpus; seeds from 1000 are unseen "
                        "worlds, never trained on); generated and validated on first use, then cached")
    select.add_argument("--split", choices=("train", "heldout", "all"), default="heldout", help="default heldout")
    select.add_argument("--family", action="append", help="only these families (repeat or comma-separate)")
    select.add_argument("--category", action="append", help="only these categories")
    select.add_argument("--difficulty", action="append", help="only these difficulties (easy, medium, hard, expert)")
    select.add_argument("--task-id", action="append", help="only these task ids (overrides the filters above)")
    select.add_argument("--sample", type=_positive, help="a random sample of this many of the selected tasks")
    select.add_argument("--sample-seed", type=int, default=0, help="seed of --sample (default 0)")

    run = parser.add_argument_group("run")
    run.add_argument("-k", "--trials", type=_positive, default=1, help="trials per task (default 1); pass^k needs k > 1")
    run.add_argument("-c", "--concurrency", type=_positive, default=4, help="episodes in flight (default 4)")
    run.add_argument("--max-steps", type=_positive, default=30, help="actions per episode before truncation (default 30)")
    run.add_argument("-o", "--out", required=True, help="run directory (created; an existing one is resumed)")
    run.add_argument("--retry-errors", action="store_true",
                     help="run again the episodes of RUN_DIR that errored (agent error, or a judge gave no verdict)")
    run.add_argument("--report", action="store_true", help="also write RUN_DIR/report.html at the end")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress line")


def _env_key(name: str | None) -> str | None:
    if not name:
        return None
    if name not in os.environ:
        raise ValueError(f"environment variable {name} is not set")
    return os.environ[name]


def run(args: argparse.Namespace) -> int:
    from ..judge.retry import FatalModelError
    from ..tasks.model import TaskFormatError, task_folders
    from .runner import EvalConfig, print_summary, run_eval
    from .store import RunFileError

    tasks_dir, rubrics_dir = args.tasks_dir, args.rubrics_dir
    if args.world_seed is not None:
        if tasks_dir or rubrics_dir:
            raise ValueError("give --world-seed or --tasks-dir/--rubrics-dir, not both: --world-seed picks the tasks of that world")
        from ..seeded import seeded_task_set

        task_set = seeded_task_set(args.world_seed)
        tasks_dir, rubrics_dir = str(task_set.tasks_dir), str(task_set.rubrics_dir)
    if tasks_dir and not rubrics_dir:
        folder, rubrics = task_folders(tasks_dir)
        tasks_dir, rubrics_dir = str(folder), str(rubrics) if rubrics else None
    config = EvalConfig(
        out=args.out, agent=args.agent, model=args.model, api_base=args.api_base, api_key=_env_key(args.api_key_env),
        temperature=args.temperature, max_tokens=args.max_tokens, agent_timeout=args.agent_timeout,
        agent_attempts=args.agent_retries, seed=args.seed, device=args.device, max_new_tokens=args.max_new_tokens,
        tool_format=args.tool_format, include_policy=False if args.no_policy else None,
        max_observation_chars=args.max_observation_chars,
        judge=args.judge, judge_api_base=args.judge_api_base, judge_api_key=_env_key(args.judge_api_key_env),
        judge_timeout=args.judge_timeout, judge_attempts=args.judge_retries, judge_concurrency=args.judge_concurrency,
        judge_cache_dir=args.judge_cache_dir, judge_cache=not args.no_judge_cache, retry_base_delay=args.retry_base_delay,
        tasks_dir=tasks_dir, rubrics_dir=rubrics_dir, split=None if args.split == "all" else args.split,
        families=_list(args.family), categories=_list(args.category), difficulties=_list(args.difficulty),
        task_ids=_list(args.task_id), sample=args.sample, sample_seed=args.sample_seed, trials=args.trials,
        concurrency=args.concurrency, max_steps=args.max_steps, progress=not args.quiet, retry_errors=args.retry_errors)
    try:
        summary = run_eval(config)
    except (RunFileError, TaskFormatError, KeyError, FatalModelError) as exc:
        print(f"corecraft eval: error: {str(exc).strip(chr(34))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\ncorecraft eval: interrupted; finished episodes are in {args.out}/episodes.jsonl — run the same command "
              "to resume", file=sys.stderr)
        return 130
    print_summary(summary)
    if args.report:
        from .report import write_report

        path = write_report(args.out)
        print(f"report: {path}")
    return report_errors(summary)


def report_errors(summary: dict) -> int:
    """Print the first error of each kind to stderr and return 1 when episodes of the run errored, else 0."""
    errors = summary.get("errors") or []
    if not errors:
        return 0
    overall = summary["overall"]
    errored = overall["agent_errors"] + overall["episodes_with_errored_criteria"]
    print(f"corecraft eval: {errored} of {overall['episodes']} episodes errored; the first error of each kind:", file=sys.stderr)
    for error in errors:
        unit = "episode" if error["source"] == "agent" else "verdict"
        print(f"  {error['source']} {error['kind']} ({error['count']} {unit}{'s' if error['count'] != 1 else ''}): "
              f"{error['first']}", file=sys.stderr)
    print("corecraft eval: fix the cause, then run the same command with --retry-errors to run those episodes again",
          file=sys.stderr)
    return 1
