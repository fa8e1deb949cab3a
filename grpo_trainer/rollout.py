r"""Corecraft-v0 episodes for TRL's `GRPOTrainer`: a `rollout_func` and the rubric reward.

Design: a `rollout_func`, not `environment_factory`
-----------------------------------------------------
TRL 1.16 offers two hooks for multi-turn tool use. `environment_factory` runs TRL's own tool loop
(`GRPOTrainer._tool_call_loop`) over Python methods of an environment object; `rollout_func` hands the prompts to a
function that returns the token ids. This module uses `rollout_func`, because the tool loop cannot give Corecraft's
episode faithfully:

* the tool schemas shown to the model would be re-derived from method signatures and docstrings
  (`transformers.utils.get_json_schema`), which cannot express the registry's nested objects (refund lines), ranges
  and patterns; here the prompt carries the registry's own OpenAI schemas (`REGISTRY.openai_tools()`);
* a tool call whose JSON does not parse is turned by TRL into plain text (`trl.chat_template_utils.parse_response`
  falls back to decoding) and the rollout ends as if it were the final reply; an unknown tool or bad argument names
  fail inside TRL (`"Tool … not found"`, a `TypeError`) and never reach the environment. Here every `<tool_call>`
  block, parseable or not, is one `env.step`: the environment answers malformed JSON, unknown tools and schema
  violations with its own error observation, records the call in the trajectory the rubric reads, and counts the
  step against its `max_steps`;
* the final reply, the episode's truncation and its score belong to the environment (`CorecraftEnv.step`), the one
  episode path every consumer uses; the tool loop has no place for a final reply.

Generation (`generation`): with vLLM (server or colocate mode, with weight sync) or transformers continuous batching,
each turn calls `trainer._generate_single_turn`, exactly what TRL's tool loop calls. With transformers `generate`
(TRL's default without vLLM), the rollout generates each episode itself, one sequence at a time, with TRL's
`generation_config` (temperature, top_p, top_k, min_p, repetition penalty, `generation_kwargs`; sampling draws from
the process's torch generator, which TRL seeds) under the same model unwrapping TRL's generation uses. Each episode
keeps its own key/value cache across turns (`corecraft_env.agents.hf_agent.EpisodeCache`, the evaluation agent's):
a turn computes only the tokens after the previous turn's output (its EOS, the tool results, the next header)
instead of the whole episode again, and each episode stops at its own EOS instead of running, padded, until the
batch's longest turn ends. The greedy tokens are TRL's (`tests/test_rollout.py`). `generation="trl"` keeps TRL's
`_generate_single_turn` there too; so does a setup whose forward passes involve other processes (FSDP, ZeRO-3
without `ds3_gather_for_generation`), which must run the same number of them on every rank, or a static
`cache_implementation`.

One episode
-----------
The prompt (system + request, from `corecraft_env.export.prompts.tasks_to_dataset`) is rendered under the rollout's
prompt contract (`render_prompt`: the tokenizer's chat template with the contract's tools), as the SFT export and the
evaluation agent render it. Then, turn by turn:

1. the model generates one assistant turn (ending with EOS), at most the tokens left in the budget;
2. each `<tool_call>…</tool_call>` block of the turn (an unclosed final block too) is sent, as its raw text, to
   `env.step`; each observation becomes a `tool` message;
3. the tool messages are rendered by the chat template and appended to the completion (`env_mask` 0, so they are
   left out of the loss: TRL turns `env_mask` into its `tool_mask`);
4. a turn without tool calls is the final reply: `env.step({"reply": …})` ends and scores the episode.

Reward: one scalar per episode, the environment's rubric score (fraction of criteria met), returned to TRL as the
extra field `rubric_score` and passed on by `rubric_reward`.

Truncation (explicit, each with its reason in `truncation_reason`): the episode is ended and scored as truncated,
i.e. with an empty final reply and the world and trajectory as they stand, exactly as `CorecraftEnv` scores an
episode at its `max_steps`, when

* `"token_budget"`: the turn reached `max_completion_length` (model + tool tokens, as TRL's tool loop counts it)
  before EOS (an unfinished turn's tool calls are not run), or the tool results would leave no room for another turn;
* `"context_length"`: the next turn would not fit the model's context;
* `"max_turns"`: the last permitted turn still called tools (its calls do run: they are actions the model took);
* `"env_max_steps"`: the environment truncated the episode itself at its `max_steps` actions.

Multi-process (`accelerate launch`): each process runs its own slice of episodes. When more than one process runs,
every turn is taken in lockstep: the processes agree (one all-gather) on the number of rows and the token cap, and a
process with fewer live episodes pads its batch with a copy of one of its prompts, so the collective operations of
vLLM server mode, tensor-parallel colocate mode or ZeRO-3 generation see the same calls on every rank.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from corecraft_env.agents.hf_agent import EpisodeCache, generate_one
from corecraft_env.env import CorecraftEnv
from corecraft_env.export.prompts import TASK_ID_KEY, PromptContract, render_prompt
from corecraft_env.tasks import TaskSet

if TYPE_CHECKING:
    from grpo_trainer.config import CorecraftEnvConfig

TOOL_CALL = re.compile(r"<tool_call>(.*?)(?:</tool_call>|\Z)", re.DOTALL)
THINK = re.compile(r"<think>.*?(?:</think>|\Z)", re.DOTALL)
TRUNCATION_REASONS = ("token_budget", "context_length", "max_turns", "env_max_steps")
GENERATIONS = ("cached", "trl")


def parse_turn(text: str) -> tuple[list[str], str]:
    """The raw tool-call blocks of one assistant turn and its reply text (the turn without reasoning or blocks)."""
    blocks = [block.strip() for block in TOOL_CALL.findall(text)]
    reply = TOOL_CALL.sub("", THINK.sub("", text)).strip()
    return blocks, reply


def tool_name(block: str) -> str:
    """The tool a block names, for the `tool` message (best effort: `"invalid"` when the block does not parse)."""
    try:
        call = json.loads(block)
    except (ValueError, RecursionError):
        return "invalid"
    if isinstance(call, dict):
        name = call.get("name", call.get("tool"))
        if isinstance(name, str) and name:
            return name[:100]
    return "invalid"


def load_judge(spec: str | None) -> Any:
    """The judge for `judge` criteria, from the spec the evaluation CLI takes (`corecraft_env.judge.make_judge`):
    `None` / `"none"` (deterministic fallbacks), `"py:package.module:function"`, or a LiteLLM model string."""
    from corecraft_env.judge import make_judge

    return make_judge(spec)


@dataclass
class EpisodeRecord:
    """One finished episode: what the rubric gave it and how it ended."""

    task_id: str
    mode: str  # "train" or "eval"
    reward: float
    passed: bool
    truncated: bool
    truncation_reason: str  # "" when the model sent a final reply
    turns: int
    tool_calls: int
    tool_errors: int
    final_reply: str = ""
    verdicts: list = field(default_factory=list, repr=False)


@dataclass
class _Rollout:
    """A live episode and its token streams."""

    task_id: str
    env: CorecraftEnv
    prompt_ids: list[int]
    completion_ids: list[int] = field(default_factory=list)
    env_mask: list[int] = field(default_factory=list)
    logprobs: list[float] | None = field(default_factory=list)
    kv_cache: EpisodeCache | None = None  # the cached generation's: dropped when the episode ends
    turns: int = 0
    tool_calls: int = 0
    tool_errors: int = 0
    record: EpisodeRecord | None = None

    @property
    def done(self) -> bool:
        return self.record is not None


class CorecraftRollout:
    r"""`rollout_func` for TRL's `GRPOTrainer` that plays Corecraft-v0 episodes (design: see the module docstring).

    For a batch of B prompts (G rollouts per task), it returns per rollout `prompt_ids`, `completion_ids`
    (model turns and tool results, concatenated), `env_mask` (1 on model tokens, 0 on tool-result tokens; TRL's
    `tool_mask`), `logprobs` (vLLM only; 0.0 on tool tokens) and the extra fields `rubric_score`, `rubric_passed`,
    `episode_truncated`, `truncation_reason`, `episode_turns`, `episode_tool_calls`, `episode_tool_errors`, which
    TRL hands to every reward function. With `rubric_reward` as the reward, GRPO's advantage of rollout i of a group is

        A_i = (R_i − mean_j R_j) / std_j R_j,    R_i = |{criteria met}| / |{criteria decided}|

    broadcast over its model tokens; tool-result tokens carry no loss.

    Logged (per generation batch, all processes): `corecraft/pass_rate`, `corecraft/truncated_rate`,
    `corecraft/tool_calls` (per episode), `corecraft/tool_error_rate` (failed / all calls), `corecraft/turns`,
    `corecraft/env_seconds` (time this batch spent in `reset`, `step` and scoring, on this process).

    Args:
        task_set: the tasks the prompts refer to (by the `task_id` key of their user message).
        contract: the prompt contract (`corecraft_env.export.prompts.PromptContract`): the tools shown, the same
            for every task, how they are rendered, and the cut-off of one observation; the dataset's prompts must be
            built with the same contract (`tasks_to_dataset(tasks, contract)`). The environment runs any registry
            tool the model names.
        max_turns: assistant turns per episode (TRL's `max_tool_calling_iterations + 1` caps it when set).
        env_max_steps: the environment's `max_steps` (actions per episode).
        judge: judge for `judge` criteria (default: their deterministic fallbacks).
        generation: `"cached"` (default): with transformers `generate`, each episode generates from its own
            key/value cache and stops at its own EOS; `"trl"`: every turn through `trainer._generate_single_turn`
            (see the module docstring; vLLM and continuous batching always take TRL's).
    """

    def __init__(self, task_set: TaskSet, *, contract: PromptContract | None = None, max_turns: int = 8,
                 env_max_steps: int = 30, judge: Any = None, generation: str = "cached") -> None:
        if max_turns < 1:
            raise ValueError(f"max_turns must be at least 1, got {max_turns}")
        if generation not in GENERATIONS:
            raise ValueError(f"generation must be one of {', '.join(GENERATIONS)}, got {generation!r}")
        self.generation = generation
        self.task_set = task_set
        self.contract = contract or PromptContract()
        self.max_turns = max_turns
        self.env_max_steps = env_max_steps
        self.judge = judge
        self.records: list[EpisodeRecord] = []  # every finished episode, in order; clear it at will
        self.env_seconds = 0.0  # cumulative time in env.reset / env.step (scoring included)
        self._envs: list[CorecraftEnv] = []
        self._tokenizer: Any = None
        self._chat_template: str | None = None
        self._request_index: dict[str, list[str]] | None = None

    @classmethod
    def from_config(cls, config: CorecraftEnvConfig, task_set: TaskSet | None = None) -> CorecraftRollout:
        """A rollout with the episode options of a `CorecraftEnvConfig` (tasks from its folders unless given)."""
        if task_set is None:
            task_set = TaskSet.shared(*config.task_folders())
        return cls(task_set, contract=config.prompt_contract(), max_turns=config.max_turns,
                   env_max_steps=config.env_max_steps, judge=load_judge(config.judge),
                   generation=config.rollout_generation)

    # -- the rollout_func ---------------------------------------------------------------------------------------------
    def __call__(self, prompts: list[list[dict]], trainer: Any) -> dict[str, list]:
        tokenizer = getattr(trainer.processing_class, "tokenizer", trainer.processing_class)
        self._prepare(tokenizer)
        mode = "train" if trainer.model.training else "eval"
        num_generations = trainer.num_generations if mode == "train" else trainer.num_generations_eval
        budget = trainer.max_completion_length
        eos_ids = set(trainer.eos_token_ids)
        max_turns = self.max_turns
        if getattr(trainer.args, "max_tool_calling_iterations", None) is not None:
            max_turns = min(max_turns, trainer.args.max_tool_calling_iterations + 1)
        max_model_len = _max_model_len(trainer)
        template_kwargs = getattr(trainer, "chat_template_kwargs", None) or {}

        env_seconds_before = self.env_seconds
        rollouts = [self._start(index, prompt, template_kwargs, max_model_len) for index, prompt in enumerate(prompts)]
        lockstep = trainer.accelerator.num_processes > 1
        cached = self.generation == "cached" and _generates_locally(trainer)
        for turn in range(max_turns):
            live = [r for r in rollouts if not r.done]
            cap = max((budget - len(r.completion_ids) for r in live), default=0)
            rows, cap = (_global_max(trainer, len(live), cap) if lockstep else (len(live), cap))
            if rows == 0:
                break
            if cached:
                new_ids, new_logprobs = _generate_cached(trainer, live, budget), None
            else:
                contexts = [r.prompt_ids + r.completion_ids for r in live]
                contexts += [rollouts[0].prompt_ids] * (rows - len(contexts))  # lockstep padding, discarded below
                with _generation_cap(trainer, cap):
                    new_ids, new_logprobs = trainer._generate_single_turn(
                        contexts, None, {}, num_generations if turn == 0 else 1
                    )
            for i, rollout in enumerate(live):
                logprobs = None if new_logprobs is None else list(new_logprobs[i])
                self._play_turn(rollout, list(new_ids[i]), logprobs, eos_ids, budget, max_model_len,
                                last_turn=turn == max_turns - 1, template_kwargs=template_kwargs, mode=mode)
        for rollout in rollouts:  # defensive: every path above already ended its episode
            if not rollout.done:
                self._truncate(rollout, "max_turns", mode)

        records = [r.record for r in rollouts]
        self.records.extend(records)
        self._log(trainer, mode, records, self.env_seconds - env_seconds_before)
        logprobs = None if any(r.logprobs is None for r in rollouts) else [r.logprobs for r in rollouts]
        return {
            "prompt_ids": [r.prompt_ids for r in rollouts],
            "completion_ids": [r.completion_ids for r in rollouts],
            "logprobs": logprobs,
            "env_mask": [r.env_mask for r in rollouts],
            "rubric_score": [rec.reward for rec in records],
            "rubric_passed": [rec.passed for rec in records],
            "episode_truncated": [rec.truncated for rec in records],
            "truncation_reason": [rec.truncation_reason for rec in records],
            "episode_turns": [rec.turns for rec in records],
            "episode_tool_calls": [rec.tool_calls for rec in records],
            "episode_tool_errors": [rec.tool_errors for rec in records],
        }

    # -- one episode ----------------------------------------------------------------------------------------------------
    def _start(self, index: int, prompt: list[dict], template_kwargs: dict, max_model_len: int | None) -> _Rollout:
        task_id = self._task_id(prompt)
        while len(self._envs) <= index:
            self._envs.append(CorecraftEnv(split=None, task_set=self.task_set, max_steps=self.env_max_steps,
                                           judge=self.judge, max_observation_chars=self.contract.observation_chars))
        env = self._envs[index]
        with self._timed():
            env.reset(options={"task_id": task_id})
        prompt_ids = render_prompt(self._tokenizer, prompt, self.contract, chat_template=self._chat_template,
                                   **template_kwargs)
        if max_model_len is not None and len(prompt_ids) >= max_model_len:
            raise ValueError(
                f"the prompt of task {task_id} takes {len(prompt_ids)} tokens, more than the model's context "
                f"({max_model_len}); render the tools compactly (`tool_format: compact`) or leave the policy out "
                f"(`include_policy: false`)"
            )
        return _Rollout(task_id=task_id, env=env, prompt_ids=prompt_ids)

    def _play_turn(self, rollout: _Rollout, ids: list[int], logprobs: list[float] | None, eos_ids: set[int],
                   budget: int, max_model_len: int | None, *, last_turn: bool, template_kwargs: dict,
                   mode: str) -> None:
        room = budget - len(rollout.completion_ids)
        ids = ids[:room]
        finished = bool(ids) and ids[-1] in eos_ids
        self._append(rollout, ids, 1, None if logprobs is None else logprobs[: len(ids)])
        rollout.turns += 1
        if not finished:  # out of tokens mid-turn: a half-written tool call is not run
            self._truncate(rollout, "token_budget", mode)
            return
        blocks, reply = parse_turn(self._tokenizer.decode(ids, skip_special_tokens=True))
        if not blocks:
            self._step(rollout, {"reply": reply}, mode)
            return
        tool_messages = []
        for block in blocks:
            observation = self._step(rollout, block, mode)
            if rollout.done:  # the environment reached its max_steps, or the block was a reply
                return
            tool_messages.append({"role": "tool", "name": tool_name(block), "content": observation})
        if last_turn:
            self._truncate(rollout, "max_turns", mode)
            return
        suffix = self._tool_suffix_ids(tool_messages, template_kwargs)
        if len(rollout.completion_ids) + len(suffix) >= budget:
            self._truncate(rollout, "token_budget", mode)
            return
        if max_model_len is not None and len(rollout.prompt_ids) + len(rollout.completion_ids) + len(suffix) >= max_model_len:
            self._truncate(rollout, "context_length", mode)
            return
        self._append(rollout, suffix, 0, [0.0] * len(suffix))

    def _step(self, rollout: _Rollout, action: str | dict, mode: str) -> str:
        """One `env.step`; records the episode when it ends. Returns the observation."""
        with self._timed():
            observation, reward, terminated, truncated, info = rollout.env.step(action)
        if isinstance(action, str):
            rollout.tool_calls += 1
            if info.get("action_error") or any(not call["ok"] for call in info.get("tool_calls", ())):
                rollout.tool_errors += 1
        if terminated or truncated:
            self._finish(rollout, reward, info, "env_max_steps" if truncated else "", mode)
        return observation

    def _truncate(self, rollout: _Rollout, reason: str, mode: str) -> None:
        """End a live episode without a reply (`CorecraftEnv.truncate`), scored as the world and trajectory stand."""
        with self._timed():
            _, reward, _, _, info = rollout.env.truncate(reason)
        self._finish(rollout, reward, info, reason, mode)

    @staticmethod
    def _finish(rollout: _Rollout, reward: float, info: dict, reason: str, mode: str) -> None:
        rollout.kv_cache = None
        rollout.record = EpisodeRecord(
            task_id=rollout.task_id, mode=mode, reward=float(reward), passed=bool(info.get("passed")),
            truncated=bool(reason), truncation_reason=reason, turns=rollout.turns, tool_calls=rollout.tool_calls,
            tool_errors=rollout.tool_errors, final_reply=info.get("final_reply", ""),
            verdicts=info.get("score", {}).get("verdicts", []),
        )

    @staticmethod
    def _append(rollout: _Rollout, ids: list[int], mask: int, logprobs: list[float] | None) -> None:
        rollout.completion_ids += ids
        rollout.env_mask += [mask] * len(ids)
        if logprobs is None or rollout.logprobs is None:
            rollout.logprobs = None
        else:
            rollout.logprobs += logprobs

    # -- tokenisation --------------------------------------------------------------------------------------------------
    def _prepare(self, tokenizer: Any) -> None:
        if tokenizer is self._tokenizer:
            return
        self._tokenizer = tokenizer
        self._chat_template = rollout_chat_template(tokenizer)

    def _tool_suffix_ids(self, tool_messages: list[dict], template_kwargs: dict) -> list[int]:
        """Token ids that the chat template puts after an assistant turn's EOS for these tool messages, up to and
        including the next assistant header (the same construction as TRL's `GRPOTrainer._get_tool_suffix_ids`)."""
        dummy = [
            {"role": "user", "content": "dummy"},
            {"role": "assistant", "content": "",
             "tool_calls": [{"type": "function", "function": {"name": tool_messages[0]["name"], "arguments": {}}}]},
        ]
        render = dict(chat_template=self._chat_template, tokenize=True, return_dict=False, **template_kwargs)
        prefix = list(self._tokenizer.apply_chat_template(dummy, add_generation_prompt=False, **render))
        full = list(self._tokenizer.apply_chat_template(dummy + tool_messages, add_generation_prompt=True, **render))
        eos = [i for i, token in enumerate(prefix) if token == self._tokenizer.eos_token_id]
        if eos:  # templates that write "<eos>\n" after a turn: the model's turn ends at the EOS itself
            prefix = prefix[: eos[-1] + 1]
        if full[: len(prefix)] != prefix:
            raise ValueError("the chat template is not prefix-preserving for tool messages")
        return full[len(prefix):]

    def _task_id(self, prompt: list[dict]) -> str:
        user = next((m for m in reversed(prompt) if m.get("role") == "user"), None)
        if user is None:
            raise ValueError("a Corecraft prompt needs a user message (the request)")
        if user.get(TASK_ID_KEY):
            return user[TASK_ID_KEY]
        if self._request_index is None:  # prompts without the key: find the task by its request text
            from corecraft_env.export.prompts import task_prompts

            self._request_index = {}
            for task, messages in task_prompts(self.task_set, self.contract):
                self._request_index.setdefault(messages[-1]["content"], []).append(task.id)
        matches = self._request_index.get(user["content"], [])
        if len(matches) != 1:
            raise ValueError(f"cannot tell which task a prompt is ({len(matches)} tasks have its request text); "
                             f"build the dataset with corecraft_env.export.prompts.tasks_to_dataset")
        return matches[0]

    # -- bookkeeping ---------------------------------------------------------------------------------------------------
    @contextmanager
    def _timed(self) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.env_seconds += time.perf_counter() - start

    @staticmethod
    def _log(trainer: Any, mode: str, records: list[EpisodeRecord], env_seconds: float) -> None:
        metrics = getattr(trainer, "_metrics", None)
        if metrics is None:
            return
        import torch

        local = torch.tensor(
            [[r.reward, r.passed, r.truncated, r.tool_calls, r.tool_errors, r.turns] for r in records],
            dtype=torch.float32, device=trainer.accelerator.device,
        )
        _, passed, truncated, calls, errors, turns = trainer.accelerator.gather(local).sum(0).tolist()
        count = len(records) * trainer.accelerator.num_processes
        metrics[mode]["corecraft/pass_rate"].append(passed / count)
        metrics[mode]["corecraft/truncated_rate"].append(truncated / count)
        metrics[mode]["corecraft/tool_calls"].append(calls / count)
        metrics[mode]["corecraft/tool_error_rate"].append(errors / calls if calls else 0.0)
        metrics[mode]["corecraft/turns"].append(turns / count)
        metrics[mode]["corecraft/env_seconds"].append(env_seconds)


def rubric_reward(completions: list, rubric_score: list[float] | None = None, **kwargs: Any) -> list[float]:
    """GRPO reward of each rollout: the Corecraft rubric score its episode got (fraction of criteria met, 0..1).

    The score is computed by the environment when the episode ends (see `CorecraftRollout`), and reaches this
    function through TRL's extra rollout fields; the completion text is not read again.
    """
    if rubric_score is None:
        raise ValueError("rubric_reward needs the `rubric_score` field that CorecraftRollout returns; pass "
                         "rollout_func=CorecraftRollout(...) to the trainer")
    return [float(score) for score in rubric_score]


# -- TRL internals the rollout adapts to ------------------------------------------------------------------------------
def rollout_chat_template(tokenizer: Any) -> str | None:
    """The chat template episodes are rendered with: the tokenizer's own (None) when it is prefix-preserving, else
    TRL's training version of it. As in TRL's tool loop: tool results are appended as token ids."""
    from trl.chat_template_utils import get_training_chat_template, is_chat_template_prefix_preserving

    return None if is_chat_template_prefix_preserving(tokenizer) else get_training_chat_template(tokenizer)


def _max_model_len(trainer: Any) -> int | None:
    """The longest sequence the generation backend takes (as TRL's tool loop reads it)."""
    if getattr(trainer, "use_vllm", False) and getattr(trainer, "vllm_mode", None) == "colocate":
        return trainer.vllm_generation.llm.llm_engine.model_config.max_model_len
    config = getattr(getattr(trainer, "model", None), "config", None)
    if config is None:
        return None
    if hasattr(config, "get_text_config"):
        config = config.get_text_config()
    return getattr(config, "max_position_embeddings", None)


def _generates_locally(trainer: Any) -> bool:
    """Whether generation is transformers `generate` on this process alone, so that episodes may generate one by one
    from their own caches: not vLLM or continuous batching, no static cache, and forward passes that involve no other
    process (FSDP and ZeRO-3 without gathering shard the weights; each rank would run a different number of them)."""
    if getattr(trainer, "use_vllm", False) or getattr(trainer, "use_transformers_continuous_batching", False):
        return False
    if getattr(trainer.generation_config, "cache_implementation", None) not in (None, "dynamic"):
        return False
    if getattr(trainer, "is_fsdp_enabled", False):
        return False
    from transformers.integrations.deepspeed import is_deepspeed_zero3_enabled

    return not (is_deepspeed_zero3_enabled() and not trainer.args.ds3_gather_for_generation)


def _generate_cached(trainer: Any, live: list[_Rollout], budget: int) -> list[list[int]]:
    """One turn of each live episode: its tokens so far continued by `generate`, one episode at a time from its own
    key/value cache, each stopping at its own EOS or at what is left of its budget. An episode's first turn starts
    from a copy of an earlier episode's cache of the same prompt (the G rollouts of a group), so a prompt is computed
    once. The model is unwrapped as TRL's `_generate_single_turn` unwraps it (on every process, every turn, even with
    no live episode here: ZeRO-3's gathering is collective)."""
    import copy

    import torch
    from trl.models import unwrap_model_for_generation

    with (
        unwrap_model_for_generation(
            trainer.model_wrapped, trainer.accelerator, gather_deepspeed3_params=trainer.args.ds3_gather_for_generation,
            generation_kwargs=trainer.generation_kwargs,
            gradient_checkpointing_kwargs=trainer.args.gradient_checkpointing_kwargs,
        ) as model,
        torch.no_grad(),
        trainer._dist.summon_full_params(trainer.model_wrapped, recurse=False),
    ):
        new_ids, by_prompt = [], {}
        for rollout in live:
            if rollout.kv_cache is None:
                sibling = by_prompt.get(tuple(rollout.prompt_ids))
                rollout.kv_cache = copy.deepcopy(sibling) if sibling is not None else EpisodeCache()
            by_prompt.setdefault(tuple(rollout.prompt_ids), rollout.kv_cache)
            new_ids.append(generate_one(model, rollout.prompt_ids + rollout.completion_ids, rollout.kv_cache,
                                        generation_config=trainer.generation_config,
                                        max_new_tokens=max(budget - len(rollout.completion_ids), 1)))
    return new_ids


@contextmanager
def _generation_cap(trainer: Any, max_new_tokens: int) -> Iterator[None]:
    """Generate at most `max_new_tokens` this turn (what is left of the budget), then restore TRL's setting."""
    targets = [(getattr(trainer, "generation_config", None), "max_new_tokens"),
               (getattr(trainer, "vllm_generation", None), "max_completion_length")]
    saved = [(obj, name, getattr(obj, name)) for obj, name in targets if obj is not None and hasattr(obj, name)]
    for obj, name, _ in saved:
        setattr(obj, name, max(int(max_new_tokens), 1))
    try:
        yield
    finally:
        for obj, name, value in saved:
            setattr(obj, name, value)


def _global_max(trainer: Any, rows: int, cap: int) -> tuple[int, int]:
    """The largest live-row count and token cap over all processes (one all-gather)."""
    import torch

    gathered = trainer.accelerator.gather(torch.tensor([[rows, cap]], device=trainer.accelerator.device))
    rows, cap = gathered.max(dim=0).values.tolist()
    return int(rows), int(cap)
