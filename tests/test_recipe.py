"""The CPU recipe's whole chain in smoke form (tiny random model, demo tasks, minutes): demonstrations → SFT → GRPO
(bapo and static) → evaluation of the four models on held-out families and an unseen world; then a rerun that resumes
(every stage skipped), in the background."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "recipe_cpu.py"
STAGES = ["export", "sft", "grpo_bapo", "grpo_static"] + [
    f"eval/{model}/{cell}" for model in ("base", "sft", "grpo_bapo", "grpo_static")
    for cell in ("heldout_families", "unseen_world")] + ["report"]


def run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=ROOT, env=env, capture_output=True, text=True)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("recipe") / "smoke"
    result = run("--out", str(out), "--smoke")
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def test_smoke_chain_runs_every_stage_in_order(smoke: Path) -> None:
    state = json.loads((smoke / "state.json").read_text())
    assert list(state["stages"]) == STAGES
    stages = state["stages"]
    assert stages["export"]["tasks"] == 1 and stages["sft"]["steps"] == 1 and stages["sft"]["loss"] > 0
    for arm in ("bapo", "static"):  # GRPO from the SFT checkpoint, one step each, same seed and budget
        assert stages[f"grpo_{arm}"]["steps"] == 1 and (smoke / f"grpo_{arm}" / "model.safetensors").is_file()
    evaluations = {name: result for name, result in stages.items() if name.startswith("eval/")}
    contracts = {json.dumps(r["contract"], sort_keys=True) for r in evaluations.values()}
    assert contracts == {json.dumps({"include_policy": False, "tool_format": "native", "tools": ["getOrderDetails"],
                                     "max_observation_chars": None}, sort_keys=True)}  # the GRPO config's contract
    unseen = json.loads((smoke / "eval" / "sft" / "unseen_world" / "episodes.jsonl").read_text().splitlines()[0])
    assert unseen["world_seed"] == 1000 and unseen["model"] == f"hf:{smoke / 'sft'}"
    assert all(r["episodes"] == 1 and r["pass@1_ci95"] is not None for r in evaluations.values())
    table = (smoke / "results.md").read_text().splitlines()
    assert len(table) == 2 + 8 and table[2].startswith("| base/heldout_families | 1 |")
    assert [line.split("] ", 1)[-1] for line in (smoke / "progress.log").read_text().splitlines()][-1].endswith("results.md")


def test_rerun_resumes_in_the_background_and_other_settings_are_refused(smoke: Path) -> None:
    started = run("--out", str(smoke), "--smoke", "--background")
    assert started.returncode == 0 and "running in the background" in started.stdout
    pid = int(re.search(r"pid (\d+)", started.stdout).group(1))
    while Path(f"/proc/{pid}").exists() and "State:\tZ" not in Path(f"/proc/{pid}/status").read_text():
        time.sleep(0.5)
    log = (smoke / "progress.log").read_text()
    assert all(f"{stage}: done earlier, skipped" in log for stage in STAGES)
    assert log.count("finished: ") == 2
    refused = run("--out", str(smoke))  # the full configs into the smoke run's folder
    assert refused.returncode != 0 and "was started with other settings" in refused.stderr


def test_full_recipe_configs_parse_and_each_cell_has_enough_episodes(smoke: Path) -> None:
    """The shipped (non-smoke) configs: TRL parses the SFT one, and each evaluation cell selects at least
    min_episodes episodes (the unseen world's tasks are cached by the smoke run)."""
    sys.path.insert(0, str(ROOT))
    from scripts.recipe_cpu import Recipe, _selected, parse_args
    from trl import ModelConfig, ScriptArguments, SFTConfig, TrlParser

    _, sft_args, model_args = TrlParser((ScriptArguments, SFTConfig, ModelConfig)).parse_args_and_config(
        ["--config", str(ROOT / "examples" / "recipe_cpu_sft.yaml"), "--output_dir", str(smoke / "unused")])
    assert sft_args.assistant_only_loss and model_args.model_name_or_path == "corecraft:smollm2-135m-instruct"
    recipe = Recipe(parse_args(["--out", str(smoke.parent / "full")]))
    contract = recipe.grpo_arguments()[4].prompt_contract()
    assert contract.tool_format == "compact" and contract.tools is None  # every task sees all 23 tools
    settings = recipe.eval_settings
    for cell in settings["cells"]:
        episodes = _selected(recipe.eval_config(cell, "unused", "unused")) * settings["trials"]
        assert episodes >= settings["min_episodes"] >= 60, cell
