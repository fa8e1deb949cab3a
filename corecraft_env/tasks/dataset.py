"""Tasks as a 🤗 ``datasets.Dataset`` in the conversational prompt format that TRL trainers take.

One row per task::

    prompt       [{"role": "system", "content": <system prompt>},
                  {"role": "user", "content": "From: Name <e-mail>\\n\\n<request>", "task_id": <id>}]
    task_id, family, category, difficulty, split, world_seed

The system and user messages are exactly what ``CorecraftEnv.reset`` hands an agent (``info["system_prompt"]`` and
the observation), so a model trained on this dataset sees what the environment shows at evaluation. The user
message also carries the task id under ``"task_id"``: chat templates ignore the extra key, and a rollout function
(which TRL hands the prompts alone, without the other columns) reads it to know which episode to start; the system
message gets ``task_id: None`` (Arrow stores one struct type for every message).

The tools are not part of the prompt column: they are rendered by the chat template at tokenisation
(``tokenizer.apply_chat_template(prompt, tools=info["tools"])``), as TRL does for tool-calling training.

``include_policy=False`` replaces the system prompt by its first paragraph (how to act, without the policy
document), for models whose context cannot hold the policy; ``system_prompt=`` sets any text.

``tasks_to_dataset_dict`` makes one such dataset per split (``train``, ``heldout``) in a ``datasets.DatasetDict``,
which ``corecraft tasks --export DIR`` saves; ``datasets.load_from_disk(DIR)["train"]`` reads a split back.

``datasets`` is imported inside these two functions only.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from .model import SPLITS, Task, TaskSet

if TYPE_CHECKING:
    from datasets import Dataset, DatasetDict

TASK_ID_KEY = "task_id"
COLUMNS = ("prompt", "task_id", "family", "category", "difficulty", "split", "world_seed")


def compact_system_prompt() -> str:
    """The environment's system prompt without the policy document (its first paragraph: role and how to act)."""
    from ..env import system_prompt
    from ..world import policy_document

    full, policy = system_prompt(), policy_document()
    intro = full[: -len(policy)] if full.endswith(policy) else full.split("\n\n", 1)[0]
    return intro.strip().replace("the company policy below", "the company policy")


def task_prompts(tasks: Iterable[Task], *, include_policy: bool = True, system_prompt: str | None = None,
                 requester_form: str = "inbox") -> list[tuple[Task, list[dict]]]:
    """Each task with its chat prompt (system + request), rendered as the environment's ``reset`` renders them."""
    from ..env import DEFAULT_MAX_OBSERVATION_CHARS, fit_observation, request_text
    from ..world import load_world
    from ..env import system_prompt as environment_system_prompt

    if system_prompt is None:
        system_prompt = environment_system_prompt() if include_policy else compact_system_prompt()
    rendered, worlds = [], {}  # one connection per world seed, for the requesters' names and e-mails
    try:
        for task in tasks:
            if task.world_seed not in worlds:
                worlds[task.world_seed] = load_world(task.world_seed).connect()
            request = request_text(task, worlds[task.world_seed], requester_form)
            rendered.append((task, [
                {"role": "system", "content": system_prompt},
                {"role": "user", "content": fit_observation(request, DEFAULT_MAX_OBSERVATION_CHARS), TASK_ID_KEY: task.id},
            ]))
    finally:
        for conn in worlds.values():
            conn.close()
    return rendered


def tasks_to_dataset(tasks: Iterable[Task], *, include_policy: bool = True, system_prompt: str | None = None,
                     repeat: int = 1) -> Dataset:
    """A ``datasets.Dataset`` with a conversational ``prompt`` column and the tasks' metadata (see module docstring).

    Args:
        tasks: the tasks, e.g. ``TaskSet().select(split="train", difficulties=["easy"])``; their order is kept.
        include_policy: keep the policy document in the system prompt (default) or only its first paragraph.
        system_prompt: a system prompt to use instead of the environment's.
        repeat: how many times each task appears (rows ``t1, t2, …, t1, t2, …``), e.g. to make an epoch longer.
    """
    from datasets import Dataset

    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    rows = [{"prompt": [{**message, TASK_ID_KEY: message.get(TASK_ID_KEY)} for message in prompt],
             "task_id": task.id, "family": task.family, "category": task.category, "difficulty": task.difficulty,
             "split": task.split, "world_seed": task.world_seed}
            for task, prompt in task_prompts(tasks, include_policy=include_policy, system_prompt=system_prompt)]
    rows = rows * repeat
    if not rows:
        return Dataset.from_dict({column: [] for column in COLUMNS})
    return Dataset.from_list(rows)


def tasks_to_dataset_dict(tasks: Iterable[Task], **options) -> DatasetDict:
    """A ``datasets.DatasetDict`` of the tasks by split (``train``, ``heldout``; a split without tasks is left out), each
    made by ``tasks_to_dataset(…, **options)``."""
    from datasets import DatasetDict

    tasks = list(tasks)
    return DatasetDict({split: tasks_to_dataset([t for t in tasks if t.split == split], **options)
                        for split in SPLITS if any(t.split == split for t in tasks)})
