"""The prompt contract shared by SFT demonstrations, GRPO rollouts and the local evaluation agent, and the tasks as a
🤗 ``datasets.Dataset`` in the conversational prompt format that TRL trainers take.

``PromptContract`` fixes what a model sees at the start of every episode: the system prompt (with or without the
policy document), the tool list (the same for every task: all 23 tools unless a fixed subset is named; never a
task's own reference tools, which would leak the answer), how the tools are rendered (``native``: the registry's
OpenAI schemas through the chat template's ``tools=``; ``compact``: one line per tool in the system message plus the
``<tool_call>`` format instructions, about a tenth of the tokens, for small-context models) and the cut-off of a
tool result. ``render_prompt`` turns a chat into token ids under a contract; the SFT export
(``corecraft_env.export.demonstrations``), ``grpo_trainer.rollout.CorecraftRollout`` and
``corecraft_env.agents.hf_agent.HFAgent`` all render through it, so one contract gives the same token ids in all three.

One row per task of ``tasks_to_dataset``::

    prompt       [{"role": "system", "content": <system prompt>},
                  {"role": "user", "content": "From: Name <e-mail>\\n\\n<request>", "task_id": <id>}]
    task_id, family, category, difficulty, split, world_seed

The user message is exactly the environment's ``reset`` observation. It also carries the task id under
``"task_id"``: chat templates ignore the extra key, and a rollout function (which TRL hands the prompts alone,
without the other columns) reads it to know which episode to start; the system message gets ``task_id: None`` (Arrow
stores one struct type for every message). The tools are rendered by the chat template at tokenisation
(``PromptContract.template_tools``), as TRL does for tool-calling training.

``tasks_to_dataset_dict`` makes one such dataset per split (``train``, ``heldout``) in a ``datasets.DatasetDict``,
which ``corecraft tasks --export DIR`` saves. This module lives above the environment (it renders what ``reset``
shows); ``datasets`` is imported inside the dataset functions only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..env import DEFAULT_MAX_OBSERVATION_CHARS, fit_observation, request_text
from ..env import system_prompt as environment_system_prompt
from ..tasks.model import SPLITS, Task
from ..tools import REGISTRY
from ..world import load_world, policy_document

if TYPE_CHECKING:
    from datasets import Dataset, DatasetDict

TASK_ID_KEY = "task_id"
COLUMNS = ("prompt", "task_id", "family", "category", "difficulty", "split", "world_seed")
TOOL_FORMATS = ("native", "compact")

FORMAT_INSTRUCTIONS = (
    "To call a tool, answer with exactly one line:\n"
    '<tool_call>{"name": "<tool name>", "arguments": {<arguments as JSON>}}</tool_call>\n'
    "The tool's result comes back in the next message. When you have everything you need, answer the requester in "
    "plain text without any tool call: that answer is your final reply and ends the conversation."
)


def compact_system_prompt() -> str:
    """The environment's system prompt without the policy document (its first paragraph: role and how to act)."""
    full, policy = environment_system_prompt(), policy_document()
    intro = full[: -len(policy)] if full.endswith(policy) else full.split("\n\n", 1)[0]
    return intro.strip().replace("the company policy below", "the company policy")


def _schema_type(schema: dict) -> str:
    if "enum" in schema:
        return "|".join(map(str, schema["enum"][:8])) + ("|…" if len(schema["enum"]) > 8 else "")
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list[{_schema_type(schema.get('items', {}))}]"
    if kind == "object" and "properties" in schema:
        return "{" + ", ".join(f"{k}: {_schema_type(v)}" for k, v in schema["properties"].items()) + "}"
    return str(kind)


def describe_tools(tools: list[dict]) -> str:
    """One line per tool: ``name(required: type, optional?: type): first sentence of its description``."""
    lines = []
    for tool in tools:
        function = tool.get("function", tool)
        parameters = function.get("parameters", {})
        required = set(parameters.get("required", []))
        arguments = ", ".join(f"{name}{'' if name in required else '?'}: {_schema_type(schema)}"
                              for name, schema in parameters.get("properties", {}).items())
        summary = function.get("description", "").split(". ")[0].rstrip(".")
        lines.append(f"- {function['name']}({arguments}): {summary}")
    return "\n".join(lines)


@dataclass(frozen=True)
class PromptContract:
    """What every episode's prompt is made of, the same for SFT, GRPO and evaluation (see the module docstring).

    Args:
        include_policy: the policy document in the system prompt (about 1.2k tokens) or only its first paragraph.
        tool_format: ``native`` (schemas through the chat template) or ``compact`` (one line per tool in the system
            message, with the ``<tool_call>`` format instructions).
        tools: names of the tools shown, the same for every task (default: all 23).
        max_observation_chars: cut-off of one tool result (default: the environment's, 100,000).
    """

    include_policy: bool = True
    tool_format: str = "native"
    tools: tuple[str, ...] | None = None
    max_observation_chars: int | None = None

    def __post_init__(self) -> None:
        if self.tool_format not in TOOL_FORMATS:
            raise ValueError(f"tool_format must be one of {', '.join(TOOL_FORMATS)}, got {self.tool_format!r}")
        if self.tools is not None:
            unknown = sorted(set(self.tools) - set(REGISTRY.names))
            if unknown:
                raise ValueError(f"unknown tools {unknown}; `corecraft tools` lists them")
            object.__setattr__(self, "tools", tuple(self.tools))
        if self.max_observation_chars is not None and self.max_observation_chars < 1:
            raise ValueError(f"max_observation_chars must be positive, got {self.max_observation_chars}")

    @property
    def observation_chars(self) -> int:
        return self.max_observation_chars or DEFAULT_MAX_OBSERVATION_CHARS

    def tool_schemas(self) -> list[dict]:
        """The OpenAI schemas of the tools shown (the registry's own), in registry order."""
        schemas = REGISTRY.openai_tools()
        return schemas if self.tools is None else [s for s in schemas if s["function"]["name"] in self.tools]

    def template_tools(self) -> list[dict] | None:
        """What the chat template gets as ``tools=``: the schemas (native) or nothing (compact: they are in the system
        message)."""
        return self.tool_schemas() if self.tool_format == "native" else None

    def system_prompt(self) -> str:
        text = environment_system_prompt() if self.include_policy else compact_system_prompt()
        if self.tool_format == "compact":
            text += "\n\n# Tools\n" + describe_tools(self.tool_schemas()) + "\n\n" + FORMAT_INSTRUCTIONS
        return text

    def messages(self, system: str, request: str) -> list[dict]:
        """The chat an episode starts from: the system prompt and the request (the environment's observation)."""
        return [{"role": "system", "content": system},
                {"role": "user", "content": fit_observation(request, self.observation_chars)}]


def render_prompt(tokenizer: Any, messages: list[dict], contract: PromptContract, *, chat_template: str | None = None,
                  add_generation_prompt: bool = True, **template_kwargs: Any) -> list[int]:
    """Token ids of a chat under a contract: the tokenizer's chat template (or ``chat_template``) with the contract's
    tools. Extra message keys (``task_id``) are dropped, as TRL drops them."""
    plain = [{k: v for k, v in m.items() if k != TASK_ID_KEY and v is not None} for m in messages]
    return list(tokenizer.apply_chat_template(plain, tools=contract.template_tools(), chat_template=chat_template,
                                              add_generation_prompt=add_generation_prompt, tokenize=True,
                                              return_dict=False, **template_kwargs))


def task_prompts(tasks: Iterable[Task], contract: PromptContract | None = None, *,
                 requester_form: str = "inbox") -> list[tuple[Task, list[dict]]]:
    """Each task with its chat prompt (system + request, the user message keyed by task id), rendered as the
    environment's ``reset`` renders the request."""
    contract = contract or PromptContract()
    system = contract.system_prompt()
    rendered, worlds = [], {}  # one connection per world seed, for the requesters' names and e-mails
    try:
        for task in tasks:
            if task.world_seed not in worlds:
                worlds[task.world_seed] = load_world(task.world_seed).connect()
            messages = contract.messages(system, request_text(task, worlds[task.world_seed], requester_form))
            messages[-1][TASK_ID_KEY] = task.id
            rendered.append((task, messages))
    finally:
        for conn in worlds.values():
            conn.close()
    return rendered


def tasks_to_dataset(tasks: Iterable[Task], contract: PromptContract | None = None, *, repeat: int = 1) -> Dataset:
    """A ``datasets.Dataset`` with a conversational ``prompt`` column and the tasks' metadata (see module docstring).

    Args:
        tasks: the tasks, e.g. ``TaskSet().select(split="train", difficulties=["easy"])``; their order is kept.
        contract: the prompt contract (default: full system prompt, all tools, native rendering).
        repeat: how many times each task appears (rows ``t1, t2, …, t1, t2, …``), e.g. to make an epoch longer.
    """
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    rows = [{"prompt": [{**message, TASK_ID_KEY: message.get(TASK_ID_KEY)} for message in prompt],
             "task_id": task.id, "family": task.family, "category": task.category, "difficulty": task.difficulty,
             "split": task.split, "world_seed": task.world_seed}
            for task, prompt in task_prompts(tasks, contract)]
    return rows_to_dataset(rows * repeat, COLUMNS)


def tasks_to_dataset_dict(tasks: Iterable[Task], contract: PromptContract | None = None) -> DatasetDict:
    """A ``datasets.DatasetDict`` of the tasks by split (``train``, ``heldout``; a split without tasks is left out), each
    made by ``tasks_to_dataset``."""
    return dataset_dict_by_split(tasks, lambda members: tasks_to_dataset(members, contract))


def rows_to_dataset(rows: list[dict], columns: Iterable[str]) -> Dataset:
    """A ``datasets.Dataset`` of ``rows``; with no rows, an empty one that still has ``columns``."""
    from datasets import Dataset

    return Dataset.from_list(rows) if rows else Dataset.from_dict({column: [] for column in columns})


def dataset_dict_by_split(tasks: Iterable[Task], make: Callable[[list[Task]], Dataset]) -> DatasetDict:
    """``make``'s dataset of each split's tasks (``train``, ``heldout``; a split without tasks is left out)."""
    from datasets import DatasetDict

    tasks = list(tasks)
    return DatasetDict({split: make([t for t in tasks if t.split == split])
                        for split in SPLITS if any(t.split == split for t in tasks)})
