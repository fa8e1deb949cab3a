"""`corecraft-grpo`: GRPO on Corecraft-v0 tasks, launched like `trl grpo`.

    corecraft-grpo --config examples/grpo_tiny_cpu.yaml [--flag value ...] [--num_processes 2 | --accelerate_config zero2 ...]
    accelerate launch --num_processes 2 -m grpo_trainer.cli --config examples/grpo_qwen3_gpu_vllm.yaml

`corecraft-grpo` (`main`) does what `trl grpo` does (trl/cli/commands/training.py): it parses the arguments, passes
the ones its dataclasses do not know to `accelerate launch` (`--num_processes`, `--config_file`, …, and
`--accelerate_config NAME|FILE`, one of TRL's shipped accelerate configs such as `zero2`, or a file), and launches
the training process, `python -m grpo_trainer.cli` (`train`), through accelerate. Before launching it checks the
configuration (YAML keys and values, flags, the model name, the tasks, the trainer class): a mistake is one line on
stderr naming the key, the file or the choices, with a "did you mean", and exit status 2.

The parser is TRL's own (`TrlParser`) over the dataclasses of `trl grpo` (`GRPOScriptArguments`, here
`CorecraftGRPOConfig` in place of `GRPOConfig`, `ModelConfig`, `DatasetMixtureConfig`) plus `CorecraftEnvConfig`
(which tasks, how an episode runs) and `LauncherArguments` (`--trainer`). So a `trl grpo` YAML or flag means the same
here; the dataset flags (`dataset_name`, `datasets`) are ignored with a warning, since the Corecraft tasks are the
dataset, and `reward_funcs` / `reward_model_name_or_path` add rewards to the rubric score.

`--trainer` is the import path of the trainer class: `grpo_trainer.CorecraftGRPOTrainer` (default; adaptive
clipping) or `trl.GRPOTrainer` (the stock trainer on the same config: the clip fields are then ignored, with a
warning). `--model_name_or_path corecraft:<name>` names a local model of `corecraft_env.models`
(`corecraft:smollm2-135m-instruct`, `corecraft:tiny-random-qwen3`), built on first use without any download.

Nothing assumes a single process: under `accelerate launch` every process builds the same datasets, the local model
folder is built once under a file lock, and the rollout keeps processes in lockstep (see `grpo_trainer.rollout`).
vLLM options (`use_vllm`, `vllm_mode`, …) go to TRL unchanged; vLLM is a GPU-only extra, checked up front.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import os
import random
import re
import subprocess
import sys
import warnings
from dataclasses import dataclass, field, fields
from typing import Any, Callable

from corecraft_env.judge.retry import FatalModelError
from corecraft_env.models import BUILDERS, SCHEME, resolve_model
from corecraft_env.tasks import Task, TaskSet
from corecraft_env.export.prompts import tasks_to_dataset
from grpo_trainer.config import CorecraftEnvConfig, CorecraftGRPOConfig

DEFAULT_TRAINER = "grpo_trainer.CorecraftGRPOTrainer"
CLIP_FIELDS = tuple(f.name for f in fields(CorecraftGRPOConfig) if f.name == "clip_mode" or f.name.startswith(("bapo_", "dcpo_")))


@dataclass
class LauncherArguments:
    """
    Arguments of the `corecraft-grpo` launcher itself.

    Args:
        trainer (`str`, *optional*, defaults to `"grpo_trainer.CorecraftGRPOTrainer"`):
            Import path (`package.Class` or `package.module:Class`) of a `trl.GRPOTrainer` subclass, e.g.
            `trl.GRPOTrainer` for the stock trainer.
    """

    trainer: str = field(
        default=DEFAULT_TRAINER,
        metadata={"help": "Trainer class import path, e.g. grpo_trainer.CorecraftGRPOTrainer or trl.GRPOTrainer."},
    )


class ConfigError(ValueError):
    """A mistake in the arguments or the config file; the message names the key, the file or the choices."""


def _did_you_mean(word: str, choices) -> str:
    close = difflib.get_close_matches(word, [str(c) for c in choices], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def make_parser(prog: str = "corecraft-grpo"):
    """`TrlParser` over `trl grpo`'s dataclasses (with `CorecraftGRPOConfig`) plus the Corecraft ones. Its errors
    are raised as `ConfigError` (one line, with a "did you mean" for a mistyped choice) instead of exiting with the
    parser's usage text; YAML values are checked against each option's choices, as flags are."""
    from trl import DatasetMixtureConfig, ModelConfig, TrlParser
    from trl.scripts.grpo import GRPOScriptArguments

    class Parser(TrlParser):
        config_path: str | None = None

        def parse_args_and_config(self, args=None, *rest, **options):
            args = list(sys.argv[1:] if args is None else args)
            if "--config" in args:
                index = args.index("--config")
                if index + 1 >= len(args):
                    raise ConfigError("--config needs a file: --config FILE.yaml")
                self.config_path = args[index + 1]
                if not os.path.isfile(self.config_path):
                    raise ConfigError(f"config file {self.config_path} not found")
            return super().parse_args_and_config(args, *rest, **options)

        def set_defaults_with_config(self, **config):
            for action in self._actions:
                if action.choices is None or action.dest not in config:
                    continue
                values = config[action.dest] if isinstance(config[action.dest], list) else [config[action.dest]]
                for value in values:
                    if value not in action.choices and str(value) not in map(str, action.choices):
                        raise ConfigError(f"{self.config_path}: {action.dest}: {value!r} is not one of "
                                          f"{', '.join(map(str, action.choices))}{_did_you_mean(str(value), action.choices)}")
            return super().set_defaults_with_config(**config)

        def error(self, message: str):
            choice = re.match(r"argument (\S+): invalid choice: '(.*)' \(choose from (.*)\)$", message)
            if choice:
                message += _did_you_mean(choice.group(2), re.findall(r"'([^']*)'", choice.group(3)))
            _raise_config_error(message)

    dataclass_types = (GRPOScriptArguments, CorecraftGRPOConfig, ModelConfig, DatasetMixtureConfig,
                       CorecraftEnvConfig, LauncherArguments)
    return Parser(dataclass_types, prog=prog, allow_abbrev=False)


def _accelerate_options() -> list[str]:
    """The options of `accelerate launch`, and TRL's `--accelerate_config`."""
    from accelerate.commands.launch import launch_command_parser

    return ["--accelerate_config"] + [option for action in launch_command_parser()._actions
                                      for option in action.option_strings if option.startswith("--")]


def parse_config(parser, argv: list[str]) -> tuple[tuple, list[str], list[str]]:
    """(the parsed dataclasses, the config file's and the command line's `accelerate launch` arguments) of `argv`, as
    `trl grpo` splits them: what the dataclasses do not take goes to accelerate. A key or flag that accelerate does
    not take either is a `ConfigError` naming it, with the closest known name; so are YAML and dataclass errors."""
    import yaml

    try:
        *parsed, config_rest, cli_rest = parser.parse_args_and_config(argv, return_remaining_strings=True,
                                                                      separate_remaining_strings=True)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{parser.config_path}{where} is not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    except (ValueError, TypeError) as exc:
        if isinstance(exc, ConfigError):
            raise
        message = " ".join(str(exc).split())
        if "bf16" in message:  # transformers' check, from bf16: true (TRL's default) on a machine without a GPU
            message += " On a CPU: --use_cpu true --bf16 false (as examples/grpo_tiny_cpu.yaml sets)."
        raise ConfigError(message) from None
    accelerate = _accelerate_options()
    known = accelerate + [option for action in parser._actions for option in action.option_strings]
    for key in config_rest[::2]:  # --key value pairs
        if key not in accelerate:
            raise ConfigError(f"{parser.config_path}: unknown key {key[2:]!r}"
                              + _did_you_mean(key[2:], [option[2:] for option in known if option.startswith("--")]))
    for token in cli_rest:
        if token.startswith("-") and token.split("=", 1)[0] not in accelerate:
            raise ConfigError(f"unknown option {token.split('=', 1)[0]}{_did_you_mean(token.split('=', 1)[0], known)}")
    return tuple(parsed), config_rest, cli_rest


def check_model_name(name: str | None) -> None:
    local = [SCHEME + n for n in BUILDERS]
    if not name:
        raise ConfigError("no model: set model_name_or_path in the config file or give --model_name_or_path (a model "
                          f"id, a folder, or a local model: {', '.join(local)})")
    if name.startswith(SCHEME) and name not in local:
        raise ConfigError(f"unknown local model {name!r}: one of {', '.join(local)}{_did_you_mean(name, local)}")


def load_object(path: str) -> Any:
    """The object at import path `package.module.attr` or `package.module:attr`."""
    module_name, _, attr = path.replace(":", ".").rpartition(".")
    if not module_name:
        raise ValueError(f"expected an import path like 'package.module.attr', got {path!r}")
    return getattr(importlib.import_module(module_name), attr)


def load_trainer_class(path: str) -> type:
    from trl import GRPOTrainer

    trainer_class = load_object(path)
    if not (isinstance(trainer_class, type) and issubclass(trainer_class, GRPOTrainer)):
        raise TypeError(f"--trainer {path!r} is not a trl.GRPOTrainer subclass")
    return trainer_class


def select_tasks(task_set: TaskSet, config: CorecraftEnvConfig, *, split: str, seed: int = 0,
                 training: bool = True) -> list[Task]:
    """The tasks of `split` matching the config's filters; for training, the config's `task_ids` instead when set,
    and at most `max_tasks` of them (a subset drawn with `seed`)."""
    if training and config.task_ids:
        tasks = [task_set.get(task_id) for task_id in config.task_ids]
    else:
        tasks = task_set.select(split=split, families=config.families, difficulties=config.difficulties,
                                categories=config.categories)
    if training and config.max_tasks is not None and len(tasks) > config.max_tasks:
        tasks = sorted(random.Random(seed).sample(tasks, config.max_tasks), key=lambda task: task.id)
    if not tasks:
        raise ValueError(
            f"no {split} tasks in {task_set.tasks_dir} match families={config.families}, "
            f"difficulties={config.difficulties}, categories={config.categories}, task_ids={config.task_ids}"
        )
    return tasks


def _reward_funcs(script_args: Any) -> list:
    """The rubric reward, plus any reward model or functions named as in `trl grpo`."""
    from grpo_trainer.rollout import rubric_reward

    reward_funcs: list = [rubric_reward]
    if script_args.reward_model_name_or_path:
        reward_funcs.append(script_args.reward_model_name_or_path)
    if not script_args.reward_funcs:
        return reward_funcs
    from trl.rewards import (
        accuracy_reward,
        get_soft_overlong_punishment,
        reasoning_accuracy_reward,
        think_format_reward,
    )

    registry = {  # as in trl/scripts/grpo.py
        "accuracy_reward": accuracy_reward,
        "reasoning_accuracy_reward": reasoning_accuracy_reward,
        "think_format_reward": think_format_reward,
        "get_soft_overlong_punishment": get_soft_overlong_punishment(max_completion_len=1280, soft_punish_cache=256),
    }
    for name in script_args.reward_funcs:
        if name in registry:
            reward_funcs.append(registry[name])
        elif "." in name:
            sys.path.insert(0, os.getcwd())
            reward_funcs.append(load_object(name))
        else:
            raise ValueError(f"unknown reward function {name!r}: one of {list(registry)} or an import path")
    return reward_funcs


def check_vllm(training_args: CorecraftGRPOConfig) -> None:
    if training_args.use_vllm and importlib.util.find_spec("vllm") is None:
        raise ImportError(
            "use_vllm is set but vLLM is not installed. vLLM is a GPU-only extra: on a CUDA machine run "
            "`pip install 'corecraft[vllm]'`, or drop --use_vllm to generate with transformers."
        )


def prepare(training_args: CorecraftGRPOConfig, model_args: Any, env_args: CorecraftEnvConfig,
            launch_args: LauncherArguments) -> tuple[type, TaskSet, list[Task], list[Task] | None]:
    """Everything that can be checked before training: the model name, vLLM, the trainer class, the tasks and the
    judge (`corecraft_env.judge.check_model` for a LiteLLM one: its provider, its key, one single-token request).
    Returns (trainer class, task set, training tasks, evaluation tasks or None)."""
    from corecraft_env.judge import LiteLLMBackend, check_model, make_judge

    check_model_name(model_args.model_name_or_path)
    check_vllm(training_args)
    judge = make_judge(env_args.judge, use_cache=False)
    if isinstance(getattr(judge, "backend", None), LiteLLMBackend):
        check_model(env_args.judge, who="judge", retry=judge.retry)
    try:
        trainer_class = load_trainer_class(launch_args.trainer)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"--trainer {launch_args.trainer!r} cannot be imported: {exc}") from None
    task_set = TaskSet.shared(*env_args.task_folders())
    train_tasks = select_tasks(task_set, env_args, split=env_args.split, seed=training_args.seed)
    eval_tasks = None
    if training_args.eval_strategy != "no":
        eval_tasks = select_tasks(task_set, env_args, split=env_args.eval_split, training=False)
    if env_args.check_oracle_budget:
        check_oracle_budget(training_args, model_args, env_args, task_set, train_tasks)
    return trainer_class, task_set, train_tasks, eval_tasks


def check_oracle_budget(training_args: CorecraftGRPOConfig, model_args: Any, env_args: CorecraftEnvConfig,
                        task_set: TaskSet, tasks: list[Task]) -> None:
    """Stop when `max_completion_length` cannot hold a training task's reference episode (model turns and tool
    results, measured with the model's tokenizer under the prompt contract): such a budget truncates the oracle."""
    from transformers import AutoTokenizer

    from corecraft_env.export.demonstrations import oracle_completion_lengths
    from grpo_trainer.rollout import rollout_chat_template

    tokenizer = AutoTokenizer.from_pretrained(resolve_model(model_args.model_name_or_path), revision=model_args.model_revision,
                                              trust_remote_code=training_args.trust_remote_code)
    lengths = oracle_completion_lengths(tokenizer, tasks, task_set, env_args.prompt_contract(),
                                        chat_template=rollout_chat_template(tokenizer))
    max_completion_length = training_args.max_completion_length
    over = sorted((n, task_id) for task_id, n in lengths.items() if n > max_completion_length)
    if over:
        longest, task_id = over[-1]
        median = sorted(lengths.values())[len(lengths) // 2]
        raise ConfigError(
            f"max_completion_length {max_completion_length} truncates the oracle: {len(over)} of {len(lengths)} training "
            f"tasks need more (longest {longest} tokens, {task_id}; median {median}); raise it to at least {longest}, "
            f"select shorter tasks, or lower max_observation_chars")


def build_trainer(script_args: Any, training_args: CorecraftGRPOConfig, model_args: Any, dataset_args: Any,
                  env_args: CorecraftEnvConfig, launch_args: LauncherArguments) -> Any:
    """The trainer `corecraft-grpo` runs: datasets from the tasks, the rollout, the rewards, the model."""
    from trl import get_peft_config, get_quantization_config

    from grpo_trainer.rollout import CorecraftRollout
    from grpo_trainer.trainer import CorecraftGRPOTrainer

    trainer_class, task_set, train_tasks, eval_tasks = prepare(training_args, model_args, env_args, launch_args)
    if not issubclass(trainer_class, CorecraftGRPOTrainer):
        high = training_args.epsilon_high if training_args.epsilon_high is not None else training_args.epsilon
        warnings.warn(
            f"--trainer {launch_args.trainer}: the clipping fields ({', '.join(CLIP_FIELDS)}; clip_mode="
            f"{training_args.clip_mode!r}) are ignored; this trainer clips statically at [1 - epsilon, 1 + "
            f"epsilon_high] = [{1 - training_args.epsilon:g}, {1 + high:g}].",
            UserWarning,
            stacklevel=2,
        )
    if script_args.dataset_name or dataset_args.datasets:
        warnings.warn("dataset_name / datasets are ignored: corecraft-grpo trains on Corecraft tasks "
                      "(tasks_dir, split, families, difficulties, task_ids).", UserWarning, stacklevel=2)

    contract = env_args.prompt_contract()
    train_dataset = tasks_to_dataset(train_tasks, contract, repeat=env_args.repeat)
    eval_dataset = tasks_to_dataset(eval_tasks, contract) if eval_tasks is not None else None

    model_init_kwargs = {"revision": model_args.model_revision, "trust_remote_code": training_args.trust_remote_code,
                         "attn_implementation": model_args.attn_implementation, "dtype": model_args.dtype}
    model_init_kwargs.update(training_args.model_init_kwargs or {})
    training_args.model_init_kwargs = model_init_kwargs

    return trainer_class(
        model=resolve_model(model_args.model_name_or_path),
        reward_funcs=_reward_funcs(script_args),
        args=training_args,
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
        peft_config=get_peft_config(model_args),
        quantization_config=get_quantization_config(model_args),
        rollout_func=CorecraftRollout.from_config(env_args, task_set),
    )


NO_ARGUMENTS = ("no arguments: give --config FILE.yaml (e.g. examples/grpo_tiny_cpu.yaml) or --model_name_or_path "
                "and the training flags; corecraft-grpo --help lists them")
# What a wrong config raises (ConfigError is a ValueError; FatalModelError: a judge model that cannot be used).
_CONFIG_ERRORS = (ValueError, KeyError, ImportError, OSError, FatalModelError)


def _raise_config_error(message: str):
    raise ConfigError(message)


def _error(exc: BaseException) -> int:
    message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
    print(f"corecraft-grpo: error: {' '.join(str(message).split())}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None, launch_command_fn: Callable[[Any], None] | None = None) -> int:
    """`corecraft-grpo`: check the configuration, then launch `train` through `accelerate launch` as `trl grpo` does.

    `launch_command_fn` replaces accelerate's `launch_command` (it gets the parsed `accelerate launch` arguments)."""
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        return _error(ConfigError(NO_ARGUMENTS))
    try:
        from accelerate.commands.launch import launch_command, launch_command_parser
        from trl.cli.accelerate_config import resolve_accelerate_config_argument
        from trl.cli.commands.training import _subtract_subsequence  # trl is pinned to 1.16

        with warnings.catch_warnings():  # the training process parses the same arguments and shows them
            warnings.simplefilter("ignore")
            (_, training_args, model_args, _, env_args, launch_args), config_rest, cli_rest = parse_config(make_parser(), argv)
            prepare(training_args, model_args, env_args, launch_args)
        accelerate_args = resolve_accelerate_config_argument(config_rest + cli_rest)
        # What the training process gets: the arguments without those for accelerate (a YAML's are ignored there).
        training_argv = _subtract_subsequence(argv, cli_rest)
        launch_parser = launch_command_parser()
        launch_parser.error = _raise_config_error  # e.g. --num_processes two: one line, not accelerate's usage text
        launch = launch_parser.parse_args([*accelerate_args, "--module", "grpo_trainer.cli", *training_argv])
    except _CONFIG_ERRORS as exc:
        return _error(exc)
    try:
        (launch_command_fn or launch_command)(launch)
    except subprocess.CalledProcessError as exc:  # the training process failed and has said why on stderr
        return exc.returncode
    return 0


def train(argv: list[str] | None = None) -> int:
    """The training process (`python -m grpo_trainer.cli`, what `corecraft-grpo` launches through accelerate)."""
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")  # rollout_func is TRL-experimental; we pin trl 1.16
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        return _error(ConfigError(NO_ARGUMENTS))
    try:
        (script_args, training_args, model_args, dataset_args, env_args, launch_args), *_ = parse_config(make_parser(), argv)
        trainer = build_trainer(script_args, training_args, model_args, dataset_args, env_args, launch_args)
    except _CONFIG_ERRORS as exc:
        return _error(exc)
    trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
    trainer.accelerator.print("Training completed.")
    trainer.save_state()  # trainer_state.json: the log history (rewards, corecraft/*, clip/*), on the main process
    trainer.save_model(training_args.output_dir)
    trainer.accelerator.print(f"Model saved to {training_args.output_dir}.")
    if training_args.push_to_hub:
        trainer.push_to_hub()
    if hasattr(trainer, "end"):  # transformers >= 5.18: finish trackers, destroy the process group
        trainer.end()
    return 0


if __name__ == "__main__":
    sys.exit(train())
