"""`corecraft-grpo`: TRL's parser and configs, a real run of the tiny CPU config, the stock trainer on the same config."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import tomllib

from grpo_trainer.cli import NO_ARGUMENTS, main, make_parser

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "examples" / "grpo_tiny_cpu.yaml"
CONFIGS = sorted([*(ROOT / "examples").glob("grpo_*.yaml"), ROOT / "examples" / "recipe_cpu_grpo.yaml"])


def launch(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """The training process `python -m grpo_trainer.cli ARGS` (what `corecraft-grpo` launches) from the repository root."""
    return subprocess.run([sys.executable, "-m", "grpo_trainer.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, check=False)


def corecraft_grpo(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """`corecraft-grpo ARGS`: the console script's entry point, `grpo_trainer.cli:main`, from the repository root."""
    return subprocess.run([sys.executable, "-c", "import sys; from grpo_trainer.cli import main; sys.exit(main())", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False)


def log_history(output_dir: Path) -> list[dict]:
    return json.loads((output_dir / "trainer_state.json").read_text())["log_history"]


def test_console_script_is_the_cli_main() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["corecraft-grpo"] == "grpo_trainer.cli:main"


def test_tiny_cpu_config_trains_with_adaptive_clipping(tmp_path: Path) -> None:
    # Through the launcher: corecraft-grpo checks the config and runs the training process under `accelerate launch`.
    result = corecraft_grpo("--config", str(TINY), "--output_dir", str(tmp_path), "--num_processes", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Training completed." in result.stdout
    assert (tmp_path / "model.safetensors").is_file()
    history = log_history(tmp_path)
    steps = [entry for entry in history if "loss" in entry]
    assert len(steps) == 2  # max_steps: 2
    first = steps[0]
    assert 0.0 <= first["rewards/rubric_reward/mean"] <= 1.0 and "corecraft/pass_rate" in first
    assert all(0.6 <= entry["clip/c_low"] <= 0.9 and 1.2 <= entry["clip/c_high"] <= 3.0 for entry in steps)


def test_stock_trl_trainer_runs_the_same_config(tmp_path: Path) -> None:
    result = launch("--config", str(TINY), "--output_dir", str(tmp_path), "--trainer", "trl.GRPOTrainer")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "the clipping fields" in result.stderr and "are ignored" in result.stderr
    assert "[0.8, 1.28]" in result.stderr  # the static bounds the stock trainer uses instead
    steps = [entry for entry in log_history(tmp_path) if "loss" in entry]
    assert len(steps) == 2
    assert not any("clip/c_low" in entry for entry in steps)  # no adaptive bounds: TRL's own clipping
    assert "clip_ratio/low_mean" in steps[0] and "rewards/rubric_reward/mean" in steps[0]


def test_use_vllm_without_vllm_fails_clearly(tmp_path: Path) -> None:
    result = launch("--config", str(TINY), "--output_dir", str(tmp_path), "--use_vllm", "true")
    assert result.returncode == 2
    assert "vLLM is a GPU-only extra" in result.stderr and "corecraft[vllm]" in result.stderr
    assert not (tmp_path / "model.safetensors").exists()


@pytest.mark.parametrize("config", CONFIGS, ids=[c.stem for c in CONFIGS])
def test_shipped_configs_parse_with_trl_parser_and_are_off_policy(config: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # bf16 false: the GPU recipe is parsed, not run, on this CPU machine
        script, training, model, _, env, launcher = make_parser().parse_args_and_config(
            ["--config", str(config), "--bf16", "false", "--dataset_name", "ignored/by-corecraft"])
    assert model.model_name_or_path and launcher.trainer == "grpo_trainer.CorecraftGRPOTrainer"
    assert script.dataset_name == "ignored/by-corecraft"  # trl grpo's own flags parse
    assert training.clip_mode == "bapo"
    # Off-policy (TRL stores old log-probs): otherwise every ratio is 1 and clipping does nothing.
    assert training.gradient_accumulation_steps % (training.steps_per_generation * training.num_iterations) != 0
    assert env.max_turns >= 1


def test_flags_override_the_yaml() -> None:
    _, training, _, _, env, launcher = make_parser().parse_args_and_config(
        ["--config", str(TINY), "--clip_mode", "static", "--difficulties", "easy", "medium", "--max_turns", "5",
         "--trainer", "trl.GRPOTrainer"])
    assert training.clip_mode == "static" and training.max_steps == 2  # flag wins, YAML kept
    assert env.difficulties == ["easy", "medium"] and env.max_turns == 5 and env.tools == ["getOrderDetails"]
    assert launcher.trainer == "trl.GRPOTrainer"
    with pytest.raises(ValueError, match="unknown tool "):
        make_parser().parse_args_and_config(["--config", str(TINY), "--tools", "fly"])


def test_accelerate_flags_go_to_accelerate_launch_as_in_trl_grpo(tmp_path: Path) -> None:
    launched = []
    argv = ["--config", str(TINY), "--accelerate_config", "zero2", "--num_processes", "2", "--output_dir", str(tmp_path)]
    assert main(argv, launch_command_fn=launched.append) == 0
    (args,) = launched
    assert Path(args.config_file).parts[-2:] == ("accelerate_configs", "zero2.yaml")  # TRL's shipped config
    assert args.num_processes == 2 and args.module and args.training_script == "grpo_trainer.cli"
    assert args.training_script_args == ["--config", str(TINY), "--output_dir", str(tmp_path)]
    # An accelerate key in the YAML goes to accelerate too, as with `trl grpo`; the training process ignores it.
    config = tmp_path / "two_processes.yaml"
    config.write_text(TINY.read_text() + "num_processes: 2\n")
    assert main(["--config", str(config)], launch_command_fn=launched.append) == 0
    assert launched[1].num_processes == 2 and launched[1].training_script_args == ["--config", str(config)]


BROKEN_YAML = {
    "unknown_key.yaml": TINY.read_text() + "lerning_rate: 1.0e-3\n",
    "syntax.yaml": "model_name_or_path: [corecraft:tiny-random-qwen3\nuse_cpu: true\n",
    "bappo.yaml": TINY.read_text().replace("clip_mode: bapo", "clip_mode: bappo"),
    "no_model.yaml": TINY.read_text().replace("model_name_or_path: corecraft:tiny-random-qwen3", ""),
}


@pytest.mark.parametrize("args, message", [
    ([], NO_ARGUMENTS),
    (["--config", "{tmp}/unknown_key.yaml"], "{tmp}/unknown_key.yaml: unknown key 'lerning_rate' (did you mean 'learning_rate'?)"),
    (["--config", "{tmp}/syntax.yaml"], "{tmp}/syntax.yaml line 2 is not valid YAML: expected ',' or ']', but got ':'"),
    (["--config", "{tmp}/missing.yaml"], "config file {tmp}/missing.yaml not found"),
    (["--config", "{tmp}/bappo.yaml"], "{tmp}/bappo.yaml: clip_mode: 'bappo' is not one of bapo, dcpo, static (did you mean 'bapo'?)"),
    (["--config", "{tmp}/no_model.yaml"], "no model: set model_name_or_path in the config file or give --model_name_or_path (a "
                                          "model id, a folder, or a local model: corecraft:smollm2-135m-instruct, "
                                          "corecraft:tiny-random-qwen3)"),
    (["--config", "{tiny}", "--clip_mode", "bappo"], "argument --clip_mode/--clip-mode: invalid choice: 'bappo' (choose from "
                                                    "'bapo', 'dcpo', 'static') (did you mean 'bapo'?)"),
    (["--config", "{tiny}", "--model_name_or_path", "corecraft:tiny-random-qwen"],
     "unknown local model 'corecraft:tiny-random-qwen': one of corecraft:smollm2-135m-instruct, corecraft:tiny-random-qwen3 "
     "(did you mean 'corecraft:tiny-random-qwen3'?)"),
    (["--config", "{tiny}", "--split", "trian"], "argument --split: invalid choice: 'trian' (choose from 'train', 'heldout') "
                                                 "(did you mean 'train'?)"),
    (["--config", "{tiny}", "--tools", "getOrderDetail"], "tools: unknown tool 'getOrderDetail' (did you mean 'getOrderDetails'?); "
                                                         "`corecraft tools` lists them"),
    (["--config", "{tiny}", "--tools", "reference"], "tools: unknown tool 'reference' (each task's own reference tools would leak "
                                                    "the answer; use tool_format: compact); `corecraft tools` lists them"),
    (["--config", "{tiny}", "--world_seeds", "1000"], "world_seeds: 1000 is an unseen world, reserved for evaluation (seeds "
                                                      "from 1000 up); train on seeds 1-999"),
    (["--config", "{tiny}", "--world_seeds", "1"], "world_seeds and tasks_dir/rubrics_dir both choose the tasks: give one of them"),
    (["--config", "{tiny}", "--lerning_rate", "0.1"], "unknown option --lerning_rate (did you mean '--learning_rate'?)"),
    (["--config", "{tiny}", "--judge", "opnai/gpt-4o-mini"], "judge model 'opnai/gpt-4o-mini': the provider 'opnai' is unknown to "
                                                            "LiteLLM; write provider/model, e.g. openai/gpt-4o-mini (did you mean "
                                                            "'openai/gpt-4o-mini'?)"),
    (["--config", "{tiny}", "--judge", "openai/gpt-4o-mini"], "judge model openai/gpt-4o-mini: OPENAI_API_KEY is not set; export it"),
    (["--config", "{tiny}", "--num_processes", "two"], "argument --num_processes/--num-processes: invalid int value: 'two'"),
    (["--config", "{tiny}", "--families", "no_such_family"], "no train tasks in tests/data/demo/tasks match families=['no_such_family'], "
                                                             "difficulties=None, categories=None, task_ids=None"),
], ids=["no-arguments", "unknown-yaml-key", "yaml-syntax", "missing-file", "yaml-choice", "no-model", "flag-choice",
        "unknown-local-model", "unknown-split", "unknown-tool", "reference-tools", "unseen-world", "world-and-folder", "unknown-flag", "judge-provider", "judge-key", "accelerate-value", "no-tasks"])
def test_config_mistakes_are_one_line_errors(tmp_path: Path, capsys, monkeypatch, args: list[str], message: str) -> None:
    monkeypatch.chdir(ROOT)  # the tiny config's tasks_dir is relative to the repository root
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    for name, text in BROKEN_YAML.items():
        (tmp_path / name).write_text(text)
    launched = []
    assert main([a.format(tmp=tmp_path, tiny=TINY) for a in args], launch_command_fn=launched.append) == 2
    captured = capsys.readouterr()
    assert captured.err == f"corecraft-grpo: error: {message.format(tmp=tmp_path)}\n" and captured.out == ""
    assert launched == []  # nothing launched


def test_a_budget_that_truncates_the_oracle_is_refused(capsys, monkeypatch) -> None:
    """The tiny config's 48 tokens cannot hold the demo return's reference episode (4 calls, their results, a reply)."""
    monkeypatch.chdir(ROOT)
    launched = []
    assert main(["--config", str(TINY), "--check_oracle_budget", "true"], launch_command_fn=launched.append) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]  # after the tiny model's build progress, if built here
    assert err.startswith("corecraft-grpo: error: max_completion_length 48 truncates the oracle: 1 of 1 training tasks "
                          "need more (longest ") and "demo-partial-return-001" in err and launched == []
    longest = int(err.split("raise it to at least ")[1].split(",")[0])
    assert main(["--config", str(TINY), "--check_oracle_budget", "true", "--max_completion_length", str(longest)],
                launch_command_fn=launched.append) == 0 and len(launched) == 1
