"""The CPU recipe in three steps: SFT on the oracle's demonstrations, GRPO from the SFT checkpoint (BAPO and static
clipping, same budget and seed), and evaluation of base, SFT, SFT+GRPO(bapo) and SFT+GRPO(static) on held-out families
and on an unseen world.

    python scripts/recipe_cpu.py --out runs/recipe                 # in the foreground
    python scripts/recipe_cpu.py --out runs/recipe --background    # detached; follow runs/recipe/progress.log
    python scripts/recipe_cpu.py --out runs/recipe                 # again after a stop: resumes where it stopped
    python scripts/recipe_cpu.py --out runs/smoke --smoke          # tiny random model, demo tasks: minutes

Configs: `examples/recipe_cpu_sft.yaml` (a `trl sft` config), `examples/recipe_cpu_grpo.yaml` (a `corecraft-grpo`
config; its task selection and prompt options are the prompt contract of all three steps) and
`examples/recipe_cpu_eval.yaml` (the cells). Stages, in order: `export` (the demonstrations of the GRPO config's
training tasks), `sft`, `grpo_bapo`, `grpo_static`, one `eval/<model>/<cell>` per model and cell, `report`.

`OUT/state.json` records each finished stage (seconds, result); a rerun skips them, so a stop costs at most the stage
it interrupted (an evaluation resumes episode by episode from its own log). `OUT/progress.log` has one line per stage
start and end; `OUT/results.md` and `OUT/results.json` are the evaluation table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")

ARMS = ("bapo", "static")
MODELS = ("base", "sft", "grpo_bapo", "grpo_static")
# The whole chain on the tiny random model and the demo tasks: proves the plumbing, measures nothing.
SMOKE_SFT = ["--model_name_or_path", "corecraft:tiny-random-qwen3", "--max_steps", "1", "--gradient_accumulation_steps", "1",
             "--max_length", "8192", "--warmup_steps", "0"]
SMOKE_GRPO_CONFIG = ROOT / "examples" / "grpo_tiny_cpu.yaml"
SMOKE_GRPO = ["--max_steps", "1", "--num_generations", "2", "--per_device_train_batch_size", "2"]
SMOKE_EVAL = {"trials": 1, "temperature": 0.0, "seed": 0, "max_new_tokens": 4, "max_steps": 2, "min_episodes": 1,
              "cells": {"heldout_families": {"tasks_dir": str(ROOT / "tests" / "data" / "demo" / "tasks"), "split": "heldout"},
                        "unseen_world": {"world_seed": 1000, "split": "train", "difficulties": ["easy"], "sample": 1}}}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="run folder: state.json, progress.log, checkpoints, evaluations")
    parser.add_argument("--sft-config", default=str(ROOT / "examples" / "recipe_cpu_sft.yaml"))
    parser.add_argument("--grpo-config", default=str(ROOT / "examples" / "recipe_cpu_grpo.yaml"))
    parser.add_argument("--eval-config", default=str(ROOT / "examples" / "recipe_cpu_eval.yaml"))
    parser.add_argument("--smoke", action="store_true", help="tiny random model and demo tasks (CI)")
    parser.add_argument("--background", action="store_true", help="run detached; output in OUT/recipe.log")
    return parser.parse_args(argv)


class Recipe:
    """The stages and their state (see the module docstring)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.out = Path(args.out).resolve()
        self.out.mkdir(parents=True, exist_ok=True)
        self.smoke = args.smoke
        self.sft_config = args.sft_config
        self.grpo_config = str(SMOKE_GRPO_CONFIG) if args.smoke else args.grpo_config
        self.settings = {"sft_config": self.sft_config, "grpo_config": self.grpo_config, "eval_config": args.eval_config,
                         "smoke": self.smoke}
        self.eval_settings = SMOKE_EVAL if args.smoke else _read_yaml(args.eval_config)
        self.state_path = self.out / "state.json"
        self.state = json.loads(self.state_path.read_text()) if self.state_path.exists() else {"settings": self.settings, "stages": {}}
        if self.state["settings"] != self.settings:
            raise SystemExit(f"recipe: {self.out} was started with other settings ({self.state['settings']}); "
                             "use another --out")

    # -- bookkeeping --------------------------------------------------------------------------------------------------
    def log(self, message: str) -> None:
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}"
        print(line, flush=True)
        with open(self.out / "progress.log", "a", encoding="utf-8") as log:
            log.write(line + "\n")

    def stage(self, name: str, run) -> dict:
        """Run a stage unless state.json says it is done; record its result and time."""
        done = self.state["stages"].get(name)
        if done is not None:
            self.log(f"{name}: done earlier, skipped")
            return done
        self.log(f"{name}: started")
        start = time.monotonic()
        result = {**(run() or {}), "seconds": round(time.monotonic() - start, 1)}
        self.state["stages"][name] = result
        temporary = self.state_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.state, indent=1) + "\n")
        temporary.replace(self.state_path)  # atomic: a stop never leaves a torn state file
        self.log(f"{name}: done in {result['seconds']} s")
        return result

    # -- the prompt contract and tasks of the GRPO config -------------------------------------------------------------
    def grpo_arguments(self) -> tuple:
        from grpo_trainer.cli import make_parser, parse_config

        argv = ["--config", self.grpo_config, *(SMOKE_GRPO if self.smoke else [])]
        return parse_config(make_parser(), argv)[0]

    # -- stages -------------------------------------------------------------------------------------------------------
    def export(self) -> dict:
        from corecraft_env.export.demonstrations import demonstrations_to_dataset_dict
        from corecraft_env.tasks import TaskSet
        from grpo_trainer.cli import select_tasks

        _, training_args, _, _, env_args, _ = self.grpo_arguments()
        task_set = TaskSet.shared(*env_args.task_folders())
        tasks = select_tasks(task_set, env_args, split=env_args.split, seed=training_args.seed)
        datasets = demonstrations_to_dataset_dict(tasks, task_set, env_args.prompt_contract())
        datasets.save_to_disk(str(self.out / "demonstrations"))
        return {"tasks": len(tasks)}

    def sft(self) -> dict:
        from datasets import load_from_disk
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from trl import ModelConfig, ScriptArguments, SFTConfig, SFTTrainer, TrlParser

        from corecraft_env.models import resolve_model

        argv = ["--config", self.sft_config, "--output_dir", str(self.out / "sft"), *(SMOKE_SFT if self.smoke else [])]
        _, sft_args, model_args = TrlParser((ScriptArguments, SFTConfig, ModelConfig)).parse_args_and_config(argv)
        path = resolve_model(model_args.model_name_or_path)
        trainer = SFTTrainer(model=AutoModelForCausalLM.from_pretrained(path), args=sft_args,
                             train_dataset=load_from_disk(str(self.out / "demonstrations"))["train"],
                             processing_class=AutoTokenizer.from_pretrained(path))
        result = trainer.train()
        trainer.save_model(sft_args.output_dir)
        return {"base": path, "steps": result.global_step, "loss": result.training_loss}

    def grpo(self, arm: str) -> dict:
        output = self.out / f"grpo_{arm}"
        command = [sys.executable, "-m", "grpo_trainer.cli", "--config", self.grpo_config,
                   "--model_name_or_path", str(self.out / "sft"), "--clip_mode", arm, "--output_dir", str(output),
                   *(SMOKE_GRPO if self.smoke else [])]
        with open(self.out / f"grpo_{arm}.log", "a", encoding="utf-8") as log:
            subprocess.run(command, check=True, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                           env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))})
        history = json.loads((output / "trainer_state.json").read_text())["log_history"]
        rewards = [entry["reward"] for entry in history if "reward" in entry]
        return {"steps": len(rewards), "rewards": rewards}

    def eval_config(self, cell: str, out: str, model_path: str):
        """The `EvalConfig` of one cell (a `world_seed` picks that world's generated tasks)."""
        from corecraft_env.eval.runner import EvalConfig
        from corecraft_env.seeded import seeded_task_set

        settings, selection = self.eval_settings, dict(self.eval_settings["cells"][cell])
        world_seed = selection.pop("world_seed", None)
        if world_seed is not None:
            task_set = seeded_task_set(world_seed)
            selection.update(tasks_dir=str(task_set.tasks_dir), rubrics_dir=str(task_set.rubrics_dir))
        return EvalConfig(out=out, agent="hf", model=model_path, trials=settings["trials"], temperature=settings["temperature"],
                          seed=settings["seed"], max_new_tokens=settings["max_new_tokens"], max_steps=settings["max_steps"],
                          concurrency=1, progress=False, **selection)

    def evaluate(self, model: str, cell: str) -> dict:
        import dataclasses

        from corecraft_env.agents.hf_agent import HFAgent, LocalModel
        from corecraft_env.eval.runner import run_eval

        contract = self.grpo_arguments()[4].prompt_contract()
        path = self.state["stages"]["sft"]["base"] if model == "base" else str(self.out / model)
        config = self.eval_config(cell, str(self.out / "eval" / model / cell), path)
        episodes = _selected(config) * config.trials
        minimum = self.eval_settings["min_episodes"]
        if episodes < minimum:
            raise SystemExit(f"recipe: cell {cell} has {episodes} episodes, fewer than min_episodes ({minimum}): raise "
                             f"sample or trials in {self.settings['eval_config']}")
        local = LocalModel.get(path)
        summary = run_eval(config, agent_factory_override=lambda task, trial: HFAgent(
            local_model=local, max_new_tokens=config.max_new_tokens, temperature=config.temperature,
            seed=config.seed + trial, contract=contract))
        overall = summary["overall"]
        return {"contract": dataclasses.asdict(contract), "tasks": overall["tasks"], "episodes": overall["episodes"],
                "pass@1": overall["pass@1"], "pass@1_ci95": overall["pass@1_ci95"], "reward": overall["reward"]["mean"],
                "reward_ci95": overall["reward"]["ci95"], "tool_call_validity": overall["tool_calls"]["validity"],
                "hack_flagged": overall["hack_flagged"]["share"]}

    def report(self) -> dict:
        rows = {name[len("eval/"):]: result for name, result in self.state["stages"].items() if name.startswith("eval/")}

        def interval(pair: list[float] | None, percent: bool) -> str:
            return "—" if pair is None else (f"[{100 * pair[0]:.1f}, {100 * pair[1]:.1f}]" if percent
                                            else f"[{pair[0]:.3f}, {pair[1]:.3f}]")

        def share(value: float | None) -> str:
            return "—" if value is None else f"{100 * value:.1f}%"

        lines = ["| model / cell | episodes | pass@1 | 95% CI | reward | 95% CI | valid calls | hack-flagged replies |",
                 "|---|---|---|---|---|---|---|---|"]
        for name, r in rows.items():
            lines.append(f"| {name} | {r['episodes']} | {share(r['pass@1'])} | {interval(r['pass@1_ci95'], True)} | "
                         f"{r['reward']:.3f} | {interval(r['reward_ci95'], False)} | {share(r['tool_call_validity'])} | "
                         f"{share(r['hack_flagged'])} |")
        (self.out / "results.md").write_text("\n".join(lines) + "\n")
        (self.out / "results.json").write_text(json.dumps(rows, indent=1) + "\n")
        return {"rows": len(rows)}

    def run(self) -> None:
        self.stage("export", self.export)
        self.stage("sft", self.sft)
        for arm in ARMS:
            self.stage(f"grpo_{arm}", lambda arm=arm: self.grpo(arm))
        for model in MODELS:
            for cell in self.eval_settings["cells"]:
                self.stage(f"eval/{model}/{cell}", lambda model=model, cell=cell: self.evaluate(model, cell))
        self.stage("report", self.report)
        self.log(f"finished: {self.out / 'results.md'}")


def _read_yaml(path: str) -> dict:
    import yaml

    return yaml.safe_load(Path(path).read_text())


def _selected(config) -> int:
    """How many tasks an evaluation config selects (its sample, if any, of the matching tasks)."""
    from corecraft_env.eval.runner import select_tasks
    from corecraft_env.tasks import TaskSet

    return len(select_tasks(TaskSet.shared(config.tasks_dir, config.rubrics_dir), config))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.background:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        forwarded = [a for a in (sys.argv[1:] if argv is None else argv) if a != "--background"]
        with open(out / "recipe.log", "a", encoding="utf-8") as log:
            process = subprocess.Popen([sys.executable, __file__, *forwarded], stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
        print(f"recipe running in the background (pid {process.pid}); progress: {out / 'progress.log'}, "
              f"output: {out / 'recipe.log'}; run the same command again to resume after a stop")
        return 0
    Recipe(args).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
