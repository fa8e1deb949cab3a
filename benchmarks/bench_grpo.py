"""GRPO step time on Corecraft episodes with the tiny model: adaptive (BAPO) vs static clipping, and the share of a
step spent in the environment (reset, tool calls, scoring).

    python benchmarks/bench_grpo.py [--steps 6] [--repeats 2] [--record]

Setup: the tiny random Qwen3 of `corecraft_env.models` (CPU), the two demo tasks, 8 rollouts per generation batch
(2 tasks × 4), `num_iterations=2` (off-policy, so the clipping acts), the real `CorecraftRollout` and environment.
Generation is scripted, which takes no time: half the rollouts of each group replay their task's reference solution
(one turn with its tool calls, one with its reply; reward 1), the other half reply at once without looking anything up
(reward below 1), so advantages are non-zero and BAPO really searches. The step is forward + backward + rollout
bookkeeping + environment, so the environment's share measured here is an upper bound of its share in a run where
the model really generates.

Reported:
* step time per clipping mode (median and best over the measured steps of all repeats, the first step of each run
  left out), and the ratios bapo / static, alternating the modes run by run to spread machine noise. The two modes do
  the same work except the bound search, so on a shared machine this ratio is mostly noise (a few percent either
  way). The process CPU time per step is less sensitive to other processes; the next line measures the
  difference directly;
* the clipping overhead measured directly: time inside `_set_clip_bounds` (the only code that differs between the
  modes: the BAPO search, which evaluates all 43 candidate bound pairs in one vectorised pass, so its cost does not
  depend on whether the bounds move) as a share of the step;
* the environment's share: time in `env.reset` / `env.step` (scoring included) over the training time.
`--record` writes the table into the `bench-grpo` block of docs/results.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
os.environ.setdefault("CORECRAFT_CACHE_DIR", tempfile.mkdtemp(prefix="corecraft-bench-"))

from scripts.docblocks import write_block

DEMO = ROOT / "tests" / "data" / "demo"
TARGET_OVERHEAD, TARGET_ENV_SHARE = 0.03, 0.02


def make_trainer(clip_mode: str, steps: int, output_dir: str):
    import torch
    from transformers import TrainerCallback

    from corecraft_env.models import build_tiny_model, build_tiny_tokenizer
    from corecraft_env.tasks import TaskSet
    from corecraft_env.export.prompts import PromptContract, tasks_to_dataset
    from grpo_trainer import CorecraftGRPOConfig, CorecraftGRPOTrainer, CorecraftRollout, rubric_reward

    task_set = TaskSet(DEMO / "tasks")
    tasks = task_set.select()
    oracle = {}  # request text → (tool-call turn, reply turn)
    for task in tasks:
        calls = "".join(f'<tool_call>\n{json.dumps({"name": c.name, "arguments": c.arguments})}\n</tool_call>'
                        for c in task.reference_tool_calls)
        oracle[task.request] = (calls, task.reference_reply)

    class ScriptedTrainer(CorecraftGRPOTrainer):
        clip_seconds = 0.0

        def _generate_single_turn(self, prompt_ids, images, multimodal_fields, num_generations, has_tool_images=False):
            tokenizer, completions = self.processing_class, []
            for row, ids in enumerate(prompt_ids):
                text = tokenizer.decode(ids)
                calls, reply = next(turns for request, turns in oracle.items() if request in text)
                if text.count("<|im_start|>assistant") > 1:
                    turn = reply  # second turn of a reference episode
                else:
                    turn = calls if row % 2 == 0 else "I am sorry, I cannot help with that request."
                completions.append(tokenizer.encode(turn, add_special_tokens=False) + [tokenizer.eos_token_id])
            return completions, None

        def _set_clip_bounds(self, inputs, per_token_logps):
            start = time.perf_counter()
            super()._set_clip_bounds(inputs, per_token_logps)
            type(self).clip_seconds += time.perf_counter() - start

    class StepTimer(TrainerCallback):
        """Wall-clock and process CPU time of each optimiser step."""

        def __init__(self):
            self.times, self.cpu_times, self.start = [], [], None

        def on_step_begin(self, args, state, control, **kwargs):
            self.start = (time.perf_counter(), time.process_time())

        def on_step_end(self, args, state, control, **kwargs):
            self.times.append(time.perf_counter() - self.start[0])
            self.cpu_times.append(time.process_time() - self.start[1])

    tokenizer = build_tiny_tokenizer()
    torch.manual_seed(0)
    args = CorecraftGRPOConfig(
        output_dir=output_dir, use_cpu=True, bf16=False, report_to=[], save_strategy="no", seed=0, max_steps=steps,
        logging_steps=1, learning_rate=1e-3, gradient_checkpointing=False, per_device_train_batch_size=8,
        num_generations=4, num_iterations=2, max_completion_length=4096, clip_mode=clip_mode,
    )
    contract = PromptContract(include_policy=False, tools=("getOrderDetails", "createRefund"))
    rollout = CorecraftRollout(task_set, contract=contract, max_turns=2, generation="trl")  # scripted turns
    ScriptedTrainer.clip_seconds = 0.0
    timer = StepTimer()
    trainer = ScriptedTrainer(model=build_tiny_model(tokenizer), reward_funcs=rubric_reward, args=args,
                              train_dataset=tasks_to_dataset(tasks, contract, repeat=steps),
                              processing_class=tokenizer, rollout_func=rollout, callbacks=[timer])
    return trainer, rollout, timer


def run(clip_mode: str, steps: int) -> dict:
    with tempfile.TemporaryDirectory() as output_dir, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer, rollout, timer = make_trainer(clip_mode, steps + 1, output_dir)
        start = time.perf_counter()
        trainer.train()
        total = time.perf_counter() - start
        logs = trainer.state.log_history
    return {"step_times": timer.times[1:], "cpu_times": timer.cpu_times[1:], "total": total, "env_seconds": rollout.env_seconds,
            "clip_seconds": type(trainer).clip_seconds, "episodes": len(rollout.records),
            "rewards": [e["reward"] for e in logs if "reward" in e],
            "bapo_steps": [e["clip/bapo_steps"] for e in logs if "clip/bapo_steps" in e]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6, help="measured optimiser steps per run (plus one warm-up)")
    parser.add_argument("--repeats", type=int, default=2, help="runs per clipping mode, alternated")
    parser.add_argument("--record", action="store_true", help="write the table into docs/results.md")
    args = parser.parse_args()

    results: dict[str, list[dict]] = {"static": [], "bapo": []}
    for repeat in range(args.repeats):
        for mode in (("static", "bapo") if repeat % 2 == 0 else ("bapo", "static")):
            results[mode].append(run(mode, args.steps))
            print(f"run {repeat + 1} {mode}: median step {statistics.median(results[mode][-1]['step_times']):.3f} s",
                  flush=True)

    step = {mode: statistics.median([t for r in runs for t in r["step_times"]]) for mode, runs in results.items()}
    best = {mode: min(t for r in runs for t in r["step_times"]) for mode, runs in results.items()}
    ratio, best_ratio = step["bapo"] / step["static"], best["bapo"] / best["static"]
    cpu = {mode: statistics.median([t for r in runs for t in r["cpu_times"]]) for mode, runs in results.items()}
    cpu_ratio = cpu["bapo"] / cpu["static"]
    clip_share = sum(r["clip_seconds"] for r in results["bapo"]) / sum(r["total"] for r in results["bapo"])
    every = [r for runs in results.values() for r in runs]
    env_share = sum(r["env_seconds"] for r in every) / sum(r["total"] for r in every)
    episodes = sum(r["episodes"] for r in every)
    env_ms = 1000 * sum(r["env_seconds"] for r in every) / episodes

    searched = [k for r in results["bapo"] for k in r["bapo_steps"]]
    rows = [
        ("GRPO step, static clipping (median / best)", f"{step['static']:.3f} s / {best['static']:.3f} s", "—"),
        ("GRPO step, BAPO clipping (median / best)", f"{step['bapo']:.3f} s / {best['bapo']:.3f} s", "—"),
        ("step time ratio BAPO / static (median; best)",
         f"{ratio:.3f} ({ratio - 1:+.1%}); {best_ratio:.3f} ({best_ratio - 1:+.1%})", f"≤ {1 + TARGET_OVERHEAD:.2f}"),
        ("CPU time per step (median): static, BAPO, ratio",
         f"{cpu['static']:.3f} s, {cpu['bapo']:.3f} s, {cpu_ratio:.3f} ({cpu_ratio - 1:+.1%})",
         f"≤ {1 + TARGET_OVERHEAD:.2f}"),
        ("BAPO bound search (`_set_clip_bounds`) share of a step",
         f"{clip_share:.2%} (bounds moved in {sum(k > 0 for k in searched)} of {len(searched)} steps)",
         f"≤ {TARGET_OVERHEAD:.0%}"),
        ("environment + scoring share of a step", f"{env_share:.2%} ({env_ms:.1f} ms per episode)",
         f"≤ {TARGET_ENV_SHARE:.0%}"),
    ]
    table = "\n".join(["| what | measured | target |", "|---|---:|---:|"] + [f"| {a} | {b} | {c} |" for a, b, c in rows])
    setup = (f"Tiny random Qwen3 on CPU ({os.cpu_count()} cores), 2 demo tasks × 4 rollouts per step, scripted "
             f"episodes (half replay the reference solution, half reply at once), `num_iterations=2`; "
             f"{args.steps} measured steps × {args.repeats} runs per mode.")
    print(setup + "\n\n" + table)
    if args.record:
        name = "bench-grpo"
        block = (f"<!-- {name}:begin (written by benchmarks/bench_grpo.py --record) -->\n"
                 f"### GRPO step: clipping overhead and environment share (`python benchmarks/bench_grpo.py`)\n\n"
                 f"{setup}\n\n{table}\n<!-- {name}:end -->")
        path = ROOT / "docs" / "results.md"
        write_block(path, name, block)
        print(f"recorded in {path}")


if __name__ == "__main__":
    main()
