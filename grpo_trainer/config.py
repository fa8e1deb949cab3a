"""`CorecraftGRPOConfig`: TRL's `GRPOConfig` plus the clipping rule of `CorecraftGRPOTrainer`; `CorecraftEnvConfig`:
which Corecraft tasks to train and evaluate on and how an episode runs (read by `grpo_trainer.cli` and
`grpo_trainer.rollout`).

The environment options are a dataclass of their own, not fields of `CorecraftGRPOConfig`, so that the stock
`trl.GRPOTrainer` (`corecraft-grpo --trainer trl.GRPOTrainer`) trains on the same tasks with the same options, and so
that evaluation code can take them without a training config.
"""

from __future__ import annotations

import difflib
import warnings
from dataclasses import dataclass, field
from typing import Any

from trl import GRPOConfig

CLIP_MODES = ("bapo", "dcpo", "static")
# Loss types whose TRL surrogate is min(r·A, clamp(r, 1 − epsilon_low, 1 + epsilon_high)·A)
# (trl/trainer/grpo_trainer.py, `_compute_loss`). cispo reads epsilon_high as a ratio cap, sapo and vespo ignore it.
CLIPPED_LOSS_TYPES = ("grpo", "bnpo", "dr_grpo", "dapo", "luspo")


@dataclass
class CorecraftGRPOConfig(GRPOConfig):
    r"""
    Configuration for [`CorecraftGRPOTrainer`]: every [`trl.GRPOConfig`] parameter plus the clipping rule.

    Clipping acts only off-policy: when `gradient_accumulation_steps % (steps_per_generation * num_iterations) != 0`,
    i.e. `num_iterations > 1` or generation batches spanning optimiser steps. Otherwise TRL reuses the current
    log-probabilities as the old ones, every ratio is exactly 1 and every clip rule is a no-op; the config then warns.

    Parameters that control the clipping:
        clip_mode (`str`, *optional*, defaults to `"bapo"`):
            `"bapo"`: bounds adapted per update batch so positive-advantage tokens keep `bapo_target_positive_share`
            of the gradient (arXiv 2510.18927). `"dcpo"`: token-wise bounds from the old probability
            (arXiv 2509.02333). `"static"`: TRL's own `epsilon` / `epsilon_high`, DAPO clip-higher by default here.
        bapo_target_positive_share (`float`, *optional*, defaults to `0.5`):
            ρ₀, the share P / (P + N) of gradient mass that positive-advantage tokens must keep.
        bapo_low_start, bapo_low_max, bapo_low_step (`float`, *optional*, default `0.6`, `0.9`, `0.05`):
            Range and step of the lower ratio bound c_low.
        bapo_high_start, bapo_high_max, bapo_high_step (`float`, *optional*, default `1.2`, `3.0`, `0.05`):
            Range and step of the upper ratio bound c_high, raised only once c_low is at its max.
        dcpo_epsilon_low, dcpo_epsilon_high (`float`, *optional*, default `0.16`, `0.2`):
            ε of the DCPO bounds 0.5 + 0.5·√max(1 − 4ε_low/q, 0) and 0.5 + 0.5·√(1 + 4ε_high/q).
        dcpo_max_ratio (`float`, *optional*, defaults to `10.0`):
            Cap on the DCPO upper bound, which diverges as q → 0.
        epsilon_high (`float`, *optional*, defaults to `0.28`):
            TRL's field, with DAPO's clip-higher value as the default; used by `clip_mode="static"`.
    """

    clip_mode: str = field(
        default="bapo",
        metadata={
            "help": "Clipping rule: 'bapo' (adaptive, default), 'dcpo' (token-wise) or 'static'.",
            "choices": list(CLIP_MODES),
        },
    )
    bapo_target_positive_share: float = field(
        default=0.5,
        metadata={"help": "BAPO ρ₀: share P / (P + N) of the gradient mass kept by positive-advantage tokens."},
    )
    bapo_low_start: float = field(default=0.6, metadata={"help": "BAPO: starting lower ratio bound c_low."})
    bapo_low_max: float = field(default=0.9, metadata={"help": "BAPO: largest lower ratio bound c_low."})
    bapo_low_step: float = field(default=0.05, metadata={"help": "BAPO: increment of c_low."})
    bapo_high_start: float = field(default=1.2, metadata={"help": "BAPO: starting upper ratio bound c_high."})
    bapo_high_max: float = field(default=3.0, metadata={"help": "BAPO: largest upper ratio bound c_high."})
    bapo_high_step: float = field(default=0.05, metadata={"help": "BAPO: increment of c_high."})
    dcpo_epsilon_low: float = field(
        default=0.16, metadata={"help": "DCPO ε_low of the token-wise lower bound (paper value)."}
    )
    dcpo_epsilon_high: float = field(
        default=0.2, metadata={"help": "DCPO ε_high of the token-wise upper bound (paper value)."}
    )
    dcpo_max_ratio: float = field(
        default=10.0, metadata={"help": "DCPO: cap on the token-wise upper bound, which diverges as q → 0."}
    )
    epsilon_high: float | None = field(
        default=0.28,
        metadata={"help": "Upper-bound epsilon for clip_mode='static' (TRL field; DAPO clip-higher 0.28 here)."},
    )

    def __post_init__(self) -> None:
        super().__post_init__()  # resolves steps_per_generation, which the on-policy check needs
        if self.clip_mode not in CLIP_MODES:
            raise ValueError(f"clip_mode must be one of {CLIP_MODES}, got {self.clip_mode!r}")
        if self.clip_mode != "static":
            self._validate_adaptive_clipping()
        if self.gradient_accumulation_steps % (self.steps_per_generation * self.num_iterations) == 0:
            # Same test as TRL's decision to store old log-probs (GRPOTrainer._generate_and_score_completions).
            warnings.warn(
                f"clip_mode={self.clip_mode!r} has no effect: training is on-policy, so every importance ratio is 1. "
                "Set num_iterations > 1, or steps_per_generation so that gradient_accumulation_steps is not a "
                "multiple of it, for clipping to act.",
                UserWarning,
                stacklevel=3,
            )

    def _validate_adaptive_clipping(self) -> None:
        if self.loss_type not in CLIPPED_LOSS_TYPES:
            raise ValueError(
                f"clip_mode={self.clip_mode!r} sets the bounds of TRL's clipped surrogate, which loss_type="
                f"{self.loss_type!r} does not use; choose one of {CLIPPED_LOSS_TYPES} or clip_mode='static'."
            )
        if self.clip_mode == "dcpo" and self.importance_sampling_level != "token":
            raise ValueError("clip_mode='dcpo' bounds each token's ratio; it needs importance_sampling_level='token'.")
        if self.clip_mode == "bapo":
            if not 0 < self.bapo_low_start <= self.bapo_low_max < 1 < self.bapo_high_start <= self.bapo_high_max:
                raise ValueError("BAPO bounds must satisfy 0 < low_start ≤ low_max < 1 < high_start ≤ high_max.")
            if self.bapo_low_step <= 0 or self.bapo_high_step <= 0:
                raise ValueError("BAPO steps must be positive.")
            if not 0 < self.bapo_target_positive_share < 1:
                raise ValueError("bapo_target_positive_share must lie strictly between 0 and 1.")
            if self.delta is not None and self.delta <= self.bapo_high_max:
                # TRL's two-sided cap min(r, delta) would silence positive tokens that P counts as unclipped.
                raise ValueError("With clip_mode='bapo', delta must exceed bapo_high_max.")


@dataclass
class CorecraftEnvConfig:
    r"""
    Which Corecraft-v0 tasks the launcher trains and evaluates on, and how one episode runs (see
    `grpo_trainer.rollout.CorecraftRollout`). Parsed by `corecraft-grpo` beside TRL's own dataclasses, so every field
    is a flag (`--difficulties easy`) or a key of the `--config` YAML. TRL's `--seed` seeds the task subset below.

    Parameters that select the tasks:
        tasks_dir, rubrics_dir (`str`, *optional*):
            Task and rubric folders; default: the shipped corpus (`tasks/`, `rubrics/`).
        world_seeds (`list[int]`, *optional*):
            Train on the tasks of these worlds instead (generated and cached on first use, about a minute a world;
            `corecraft_env.seeded.worlds_corpus`), so no answer can be memorised from one world. Seeds from 1000 up
            are the unseen worlds kept for evaluation and are refused. Not together with `tasks_dir`.
        split (`str`, *optional*, defaults to `"train"`), eval_split (`str`, *optional*, defaults to `"heldout"`):
            Split of the training tasks, and of the evaluation tasks (used when `eval_strategy` is not `"no"`).
        families, difficulties, categories (`list[str]`, *optional*):
            Keep tasks matching every given filter (both splits).
        task_ids (`list[str]`, *optional*):
            Train on exactly these tasks (overrides `split` and the filters for training).
        max_tasks (`int`, *optional*):
            Keep at most this many training tasks, a subset drawn with TRL's `seed`.
        repeat (`int`, *optional*, defaults to `1`):
            Times each training task appears in the dataset (one epoch = `repeat` passes over the tasks).

    Parameters of an episode:
        max_turns (`int`, *optional*, defaults to `8`):
            Assistant turns per episode; each turn may hold several tool calls. An episode that is still calling
            tools after its last turn is ended and scored as truncated. TRL's `max_tool_calling_iterations`, when
            set, caps the turns at `max_tool_calling_iterations + 1`.
        env_max_steps (`int`, *optional*, defaults to `30`):
            The environment's `max_steps`: actions (tool calls) per episode before it truncates the episode itself.
        max_observation_chars (`int`, *optional*):
            The environment's cut-off for one observation (default: its own, 100,000 characters); longer results end
            with a marker saying how much was omitted. Small-context models need a smaller one.
        judge (`str`, *optional*):
            Judge for `judge` criteria, as the evaluation CLI takes it (`corecraft_env.judge.make_judge`): a LiteLLM
            model string (`openai/gpt-4o-mini`), `py:package.module:function`, or none (default): each judge
            criterion's deterministic fallback decides. A model judge is called once per judge criterion per episode.
        tools (`list[str]`, *optional*):
            Tools shown to the model in the prompt, the same list for every task (default: all 23). The environment
            still runs any registry tool the model names.
        tool_format (`str`, *optional*, defaults to `"native"`):
            `native`: the tools' JSON Schemas through the chat template (about 8k tokens for all 23); `compact`: one
            line per tool in the system prompt with the `<tool_call>` format (about 1k tokens), for small models.
        include_policy (`bool`, *optional*, defaults to `True`):
            Put the policy document in the system prompt (about 1.2k tokens) or only the first paragraph.
        rollout_generation (`str`, *optional*, defaults to `"cached"`):
            With transformers generation (no vLLM): `cached` generates each episode from its own key/value cache
            across turns and stops each at its own EOS; `trl` generates every turn through TRL's
            `_generate_single_turn` (the whole episode prefilled again each turn, a batch running until its longest
            turn ends). vLLM always generates through TRL.

    Checks:
        check_oracle_budget (`bool`, *optional*, defaults to `True`):
            Before training, replay every training task's reference solution and measure its completion tokens with
            the model's tokenizer under the prompt contract; stop if `max_completion_length` cannot hold them (a
            budget that truncates the oracle caps the reward a policy can reach). Off only for smoke runs of a random
            model, whose budget is set for speed.

    `prompt_contract()` gives these prompt options as the `corecraft_env.export.prompts.PromptContract` that the SFT
    export and the evaluation agent take too.
    """

    tasks_dir: str | None = field(default=None, metadata={"help": "Task folder (default: the shipped corpus)."})
    rubrics_dir: str | None = field(default=None, metadata={"help": "Rubric folder (default: beside the tasks)."})
    world_seeds: list[int] | None = field(
        default=None, metadata={"help": "Train on the generated tasks of these world seeds (1-999; 0: the shipped corpus)."}
    )
    split: str = field(default="train", metadata={"help": "Split of the training tasks.", "choices": ["train", "heldout"]})
    eval_split: str = field(
        default="heldout", metadata={"help": "Split of the evaluation tasks.", "choices": ["train", "heldout"]}
    )
    families: list[str] | None = field(default=None, metadata={"help": "Keep tasks of these families."})
    difficulties: list[str] | None = field(
        default=None, metadata={"help": "Keep tasks of these difficulty tiers (easy, medium, hard, expert)."}
    )
    categories: list[str] | None = field(default=None, metadata={"help": "Keep tasks of these categories."})
    task_ids: list[str] | None = field(default=None, metadata={"help": "Train on exactly these task ids."})
    max_tasks: int | None = field(default=None, metadata={"help": "At most this many training tasks (seeded subset)."})
    repeat: int = field(default=1, metadata={"help": "Times each training task appears in the dataset."})
    max_turns: int = field(default=8, metadata={"help": "Assistant turns per episode before it is truncated."})
    env_max_steps: int = field(default=30, metadata={"help": "Environment max_steps: actions per episode."})
    max_observation_chars: int | None = field(
        default=None, metadata={"help": "Cut-off for one observation, in characters (default: the environment's)."}
    )
    judge: str | None = field(
        default=None,
        metadata={"help": "Judge for `judge` criteria: a LiteLLM model, py:module:function, or none (fallbacks)."},
    )
    tools: list[str] | None = field(
        default=None,
        metadata={"help": "Tools shown in the prompt, the same for every task (default: all 23)."},
    )
    tool_format: str = field(
        default="native",
        metadata={"help": "How the tools are shown: native (schemas via the chat template) or compact (one line each).",
                  "choices": ["native", "compact"]},
    )
    include_policy: bool = field(
        default=True, metadata={"help": "Include the policy document in the system prompt."}
    )
    rollout_generation: str = field(
        default="cached",
        metadata={"help": "Transformers generation in the rollout: cached (each episode's own key/value cache, its "
                          "own stop) or trl (TRL's _generate_single_turn).", "choices": ["cached", "trl"]},
    )
    check_oracle_budget: bool = field(
        default=True,
        metadata={"help": "Stop before training if max_completion_length truncates a training task's oracle episode."},
    )

    def __post_init__(self) -> None:
        if self.max_turns < 1 or self.env_max_steps < 1 or self.repeat < 1:
            raise ValueError("max_turns, env_max_steps and repeat must be at least 1.")
        if self.max_tasks is not None and self.max_tasks < 1:
            raise ValueError("max_tasks must be at least 1 when set.")
        if self.world_seeds is not None:
            from corecraft_env.seeded import FIRST_UNSEEN_WORLD_SEED, is_unseen_world

            unseen = [seed for seed in self.world_seeds if is_unseen_world(seed)]
            if unseen:
                raise ValueError(f"world_seeds: {unseen[0]} is an unseen world, reserved for evaluation (seeds from "
                                 f"{FIRST_UNSEEN_WORLD_SEED} up); train on seeds 1-{FIRST_UNSEEN_WORLD_SEED - 1}")
            if self.tasks_dir is not None or self.rubrics_dir is not None:
                raise ValueError("world_seeds and tasks_dir/rubrics_dir both choose the tasks: give one of them")
        if self.tools is not None:
            from corecraft_env.tools import REGISTRY

            unknown = [name for name in self.tools if name not in REGISTRY]
            if unknown:
                close = difflib.get_close_matches(unknown[0], REGISTRY.names, n=1)
                hint = " (each task's own reference tools would leak the answer; use tool_format: compact)" \
                    if unknown[0] == "reference" else ""
                raise ValueError(f"tools: unknown tool {unknown[0]!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
                                 + hint + "; `corecraft tools` lists them")

    def task_folders(self) -> tuple[str | None, str | None]:
        """(tasks_dir, rubrics_dir) of the tasks to train on: the given folders, or the corpus of `world_seeds`
        (generated on first use)."""
        if self.world_seeds is None:
            return self.tasks_dir, self.rubrics_dir
        from corecraft_env.seeded import worlds_corpus

        return tuple(str(folder) for folder in worlds_corpus(self.world_seeds))

    def prompt_contract(self) -> Any:
        """The prompt options as a `PromptContract` (the one SFT export, rollout and evaluation share)."""
        from corecraft_env.export.prompts import PromptContract

        return PromptContract(include_policy=self.include_policy, tool_format=self.tool_format,
                              tools=tuple(self.tools) if self.tools else None,
                              max_observation_chars=self.max_observation_chars)
