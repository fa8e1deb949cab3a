"""Reference solutions as supervised fine-tuning data: each task's oracle episode, replayed through ``CorecraftEnv``.

One row per task, in TRL's conversational tool-calling format, so that ``trl sft --dataset_name DIR`` and
``SFTTrainer`` (with ``assistant_only_loss=True``) take the saved ``DatasetDict`` as it is::

    messages   system (the contract's system prompt), user (the request, as reset shows it), then per reference call
               an assistant message with one ``tool_calls`` entry and the ``tool`` message holding the environment's
               real observation, and last the assistant's reference reply
    tools      the contract's tool schemas as a JSON string (``"null"`` for the compact rendering, whose tools are in
               the system message); TRL's SFTTrainer decodes a string column before applying the chat template
    task_id, family, category, difficulty, split, world_seed, reward (the oracle's rubric score, 1.0)

A tool call's ``arguments`` are stored as a JSON string: Arrow keeps one struct type per column, and argument objects
differ per tool; the Qwen-family and Llama templates print a string argument verbatim. The observations come from
the environment itself (cut at the contract's ``max_observation_chars``), so a model fine-tuned on these rows sees
at training what ``CorecraftRollout`` and the evaluation agent show it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..env import CorecraftEnv
from ..tasks.model import Task, TaskSet
from .prompts import PromptContract, dataset_dict_by_split, rows_to_dataset

if TYPE_CHECKING:
    from datasets import Dataset, DatasetDict

SFT_COLUMNS = ("messages", "tools", "task_id", "family", "category", "difficulty", "split", "world_seed", "reward")


def _message(role: str, content: str, *, name: str | None = None, tool_calls: list[dict] | None = None) -> dict:
    # Every message has every key: Arrow stores one struct type for all of them.
    return {"role": role, "content": content, "name": name, "tool_calls": tool_calls}


def demonstration(task: Task, task_set: TaskSet, contract: PromptContract, *, system: str | None = None) -> dict:
    """The oracle's episode of ``task`` as one SFT row (see the module docstring). Raises if the oracle does not pass,
    which would make the demonstration teach a wrong answer."""
    calls = task.reference_tool_calls
    env = CorecraftEnv(split=None, task_set=task_set, max_steps=len(calls) + 1,
                       max_observation_chars=contract.observation_chars)
    try:
        observation, _ = env.reset(options={"task_id": task.id})
        messages = [_message(m["role"], m["content"]) for m in
                    contract.messages(system or contract.system_prompt(), observation)]
        for call in calls:
            observation, _, terminated, truncated, _ = env.step({"tool": call.name, "arguments": call.arguments})
            if terminated or truncated:
                raise ValueError(f"task {task.id}: the episode ended at reference call {call.name}")
            arguments = json.dumps(call.arguments, ensure_ascii=False)
            messages.append(_message("assistant", "", tool_calls=[
                {"type": "function", "function": {"name": call.name, "arguments": arguments}}]))
            messages.append(_message("tool", observation, name=call.name))
        _, reward, _, _, info = env.step({"reply": task.reference_reply})
    finally:
        env.close()
    if not info["passed"]:
        raise ValueError(f"task {task.id}: the reference solution scores {reward:.2f} and does not pass; fix the task "
                         "before exporting it as a demonstration")
    messages.append(_message("assistant", task.reference_reply))
    return {"messages": messages, "tools": json.dumps(contract.template_tools()), "task_id": task.id,
            "family": task.family, "category": task.category, "difficulty": task.difficulty, "split": task.split,
            "world_seed": task.world_seed, "reward": float(reward)}


def demonstrations_to_dataset(tasks: Iterable[Task], task_set: TaskSet, contract: PromptContract | None = None) -> Dataset:
    """A ``datasets.Dataset`` of the tasks' oracle episodes, one row per task in the given order."""
    contract = contract or PromptContract()
    system = contract.system_prompt()
    return rows_to_dataset([demonstration(task, task_set, contract, system=system) for task in tasks], SFT_COLUMNS)


def demonstrations_to_dataset_dict(tasks: Iterable[Task], task_set: TaskSet,
                                   contract: PromptContract | None = None) -> DatasetDict:
    """A ``datasets.DatasetDict`` of demonstrations by split (``train``, ``heldout``; a split without tasks is left out)."""
    return dataset_dict_by_split(tasks, lambda members: demonstrations_to_dataset(members, task_set, contract))


def oracle_completion_lengths(tokenizer, tasks: Iterable[Task], task_set: TaskSet, contract: PromptContract, *,
                              chat_template: str | None = None) -> dict[str, int]:
    """Per task id, the tokens the oracle's episode adds after the prompt under ``contract``: its assistant turns and
    the tool results between them, what a GRPO ``max_completion_length`` must hold for the reference solution to fit
    (the chat rendered whole, less the prompt with its generation header)."""
    from .prompts import render_prompt

    system, lengths = contract.system_prompt(), {}
    for task in tasks:
        messages = demonstration(task, task_set, contract, system=system)["messages"]
        whole = render_prompt(tokenizer, messages, contract, chat_template=chat_template, add_generation_prompt=False)
        prompt = render_prompt(tokenizer, messages[:2], contract, chat_template=chat_template)
        lengths[task.id] = len(whole) - len(prompt)
    return lengths
