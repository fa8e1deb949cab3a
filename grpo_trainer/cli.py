"""`corecraft-grpo`: GRPO on Corecraft-v0 tasks, launched like `trl grpo`.

    corecraft-grpo --config examples/grpo_tiny_cpu.yaml [--flag value ...]
    accelerate launch --num_processes 2 -m grpo_trainer.cli --config examples/grpo_qwen3_gpu_vllm.yaml

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

import importlib
import importlib.util
import os
import random
import sys
import warnings
from dataclasses import dataclass, field, fields
from typing import Any

from corecraft_env.models import resolve_model
from corecraft_env.tasks import Task, TaskSet
from corecraft_env.tasks.dataset import tasks_to_dataset
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


def make_parser(prog: str = "corecraft-grpo"):
    """`TrlParser` over `trl grpo`'s dataclasses (with `CorecraftGRPOConfig`) plus the Corecraft ones."""
    from trl import DatasetMixtureConfig, ModelConfig, TrlParser
    from trl.scripts.grpo import GRPOScriptArguments

    dataclass_types = (GRPOScriptArguments, CorecraftGRPOConfig, ModelConfig, DatasetMixtureConfig,
                       CorecraftEnvConfig, LauncherArguments)
    return TrlParser(dataclass_types, prog=prog)


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


def build_trainer(script_args: Any, training_args: CorecraftGRPOConfig, model_args: Any, dataset_args: Any,
                  env_args: CorecraftEnvConfig, launch_args: LauncherArguments) -> Any:
    """The trainer `corecraft-grpo` runs: datasets from the tasks, the rollout, the rewards, the model."""
    from trl import get_peft_config, get_quantization_config

    from grpo_trainer.rollout import CorecraftRollout
    from grpo_trainer.trainer import CorecraftGRPOTrainer

    check_vllm(training_args)
    trainer_class = load_trainer_class(launch_args.trainer)
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

    task_set = TaskSet.shared(env_args.tasks_dir, env_args.rubrics_dir)
    prompt_options = {"include_policy": env_args.include_policy}
    train_tasks = select_tasks(task_set, env_args, split=env_args.split, seed=training_args.seed)
    train_dataset = tasks_to_dataset(train_tasks, repeat=env_args.repeat, **prompt_options)
    eval_dataset = None
    if training_args.eval_strategy != "no":
        eval_tasks = select_tasks(task_set, env_args, split=env_args.eval_split, training=False)
        eval_dataset = tasks_to_dataset(eval_tasks, **prompt_options)

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


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")  # rollout_func is TRL-experimental; we pin trl 1.16
    parser = make_parser()
    script_args, training_args, model_args, dataset_args, env_args, launch_args = parser.parse_args_and_config(argv)
    if not model_args.model_name_or_path:
        parser.error("--model_name_or_path is required (a model id, a folder, or corecraft:<local model>)")
    try:
        trainer = build_trainer(script_args, training_args, model_args, dataset_args, env_args, launch_args)
    except ImportError as exc:
        print(f"corecraft-grpo: {exc}", file=sys.stderr)
        return 2
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
    sys.exit(main())
