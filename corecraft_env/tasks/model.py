"""Tasks and rubrics as data: JSON files validated by the schemas shipped beside this module.

A task directory holds ``train/`` and ``heldout/`` folders of task files; rubrics live in a sibling ``rubrics/``
folder (or any folder given), one file per rubric, named ``<rubric id>.json``. ``TaskSet`` loads and indexes them.
The shipped corpus sits at the repository's top level (``tasks/``, ``rubrics/``) and inside an installed wheel at
``corecraft_env/data/``.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Iterable, Iterator

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

CATEGORIES = ("information_retrieval", "communication", "reasoning", "multi_step_workflow")
DIFFICULTIES = ("easy", "medium", "hard", "expert")
SPLITS = ("train", "heldout")
SHIPPED_WORLD_SEED = 0  # the world of the shipped corpus (tasks/, rubrics/): comparable numbers across releases


class TaskFormatError(ValueError):
    """A task or rubric file is not valid; the message names the file and what is wrong."""


@cache
def _validator(name: str) -> Draft202012Validator:
    schema = json.loads(files(__package__).joinpath("schemas", f"{name}.schema.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema)


def schema_errors(kind: str, document: object) -> list[str]:
    """Readable schema violations of a task (``kind="task"``) or rubric document; empty when valid."""
    validator = _validator(kind)
    messages = []
    for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path)):
        detail = best_match([error]) if not error.context else best_match(error.context)
        where = "/".join(str(p) for p in detail.absolute_path) or "(top level)"
        messages.append(f"{where}: {detail.message[:300]}")
    return messages


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict


@dataclass(frozen=True)
class Solution:
    """A way to handle a task: tool calls in order, then the final reply."""

    tool_calls: tuple[ToolCall, ...]
    final_reply: str

    @classmethod
    def from_dict(cls, document: dict) -> "Solution":
        return cls(tuple(ToolCall(c["name"], c["arguments"]) for c in document["tool_calls"]), document["final_reply"])

    def to_dict(self) -> dict:
        return {"tool_calls": [{"name": c.name, "arguments": c.arguments} for c in self.tool_calls], "final_reply": self.final_reply}


@dataclass(frozen=True)
class Task:
    id: str
    family: str
    category: str
    difficulty: str
    split: str
    world_seed: int
    requester: dict
    request: str
    rubric_id: str
    reference_tool_calls: tuple[ToolCall, ...]
    reference_reply: str
    policy_rules: tuple[str, ...] = ()
    # rule -> what an agent blind to that one rule does; each must fail the rubric (see validation)
    policy_blind: dict[str, Solution] = field(default_factory=dict)
    source: str = ""

    @classmethod
    def from_dict(cls, document: dict, source: str = "") -> "Task":
        errors = schema_errors("task", document)
        if errors:
            raise TaskFormatError(f"{source or 'task'}: invalid task: " + "; ".join(errors))
        reference = Solution.from_dict(document["reference_solution"])
        return cls(
            id=document["id"], family=document["family"], category=document["category"], difficulty=document["difficulty"],
            split=document["split"], world_seed=document["world_seed"], requester=dict(document["requester"]),
            request=document["request"], rubric_id=document["rubric_id"],
            reference_tool_calls=reference.tool_calls, reference_reply=reference.final_reply,
            policy_rules=tuple(document.get("policy_rules", ())),
            policy_blind={rule: Solution.from_dict(s) for rule, s in document.get("policy_blind", {}).items()}, source=source,
        )

    def to_dict(self) -> dict:
        document = {
            "id": self.id, "family": self.family, "category": self.category, "difficulty": self.difficulty, "split": self.split,
            "world_seed": self.world_seed, "requester": self.requester, "request": self.request, "rubric_id": self.rubric_id,
            "reference_solution": Solution(self.reference_tool_calls, self.reference_reply).to_dict(),
        }
        if self.policy_rules:
            document["policy_rules"] = list(self.policy_rules)
        if self.policy_blind:
            document["policy_blind"] = {rule: solution.to_dict() for rule, solution in self.policy_blind.items()}
        return document


@dataclass(frozen=True)
class Criterion:
    id: str
    description: str
    kind: str
    check: dict = field(default_factory=dict)
    fallback: dict | None = None


@dataclass(frozen=True)
class Rubric:
    id: str
    criteria: tuple[Criterion, ...]
    source: str = ""

    @classmethod
    def from_dict(cls, document: dict, source: str = "") -> "Rubric":
        errors = schema_errors("rubric", document)
        if errors:
            raise TaskFormatError(f"{source or 'rubric'}: invalid rubric: " + "; ".join(errors))
        ids = [c["id"] for c in document["criteria"]]
        if len(set(ids)) != len(ids):
            raise TaskFormatError(f"{source or 'rubric'}: criterion ids must be unique, got {ids}")
        return cls(id=document["id"], source=source, criteria=tuple(
            Criterion(c["id"], c["description"], c["kind"], c.get("check", {}), c.get("fallback")) for c in document["criteria"]))


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TaskFormatError(f"{path}: cannot read JSON ({exc})") from None


def load_task(path: Path) -> Task:
    task = Task.from_dict(_read_json(path), source=str(path))
    if path.parent.name in SPLITS and path.parent.name != task.split:
        raise TaskFormatError(f"{path}: split is {task.split!r} but the file is in the {path.parent.name!r} folder")
    return task


def load_rubric(path: Path) -> Rubric:
    rubric = Rubric.from_dict(_read_json(path), source=str(path))
    if path.stem != rubric.id:
        raise TaskFormatError(f"{path}: rubric id {rubric.id!r} does not match the file name")
    return rubric


def shipped_data_dir(kind: str) -> Path:
    """The shipped ``tasks`` or ``rubrics`` folder: inside the installed wheel, else the source checkout's."""
    packaged = Path(str(files("corecraft_env").joinpath("data", kind)))
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[2] / kind


def task_folders(directory: str | Path | None) -> tuple[Path, Path | None]:
    """(tasks folder, rubrics folder) of a user's folder: DIR/tasks and DIR/rubrics when DIR holds a ``tasks/``
    folder; else DIR and None, leaving the rubrics to the reader's own default (``TaskSet``: the sibling
    ``rubrics/``, else the shipped rubrics; validation: the sibling ``rubrics/``); the shipped corpus for None."""
    if directory is None:
        return shipped_data_dir("tasks"), shipped_data_dir("rubrics")
    root = Path(directory)
    if (root / "tasks").is_dir():
        return root / "tasks", root / "rubrics"
    return root, None


def _resolve_folders(tasks_dir: str | Path | None, rubrics_dir: str | Path | None) -> tuple[Path, Path]:
    """(tasks folder, rubrics folder): the shipped tasks for None; rubrics default to ``rubrics/`` beside the tasks
    folder, else the shipped rubrics."""
    tasks_dir = Path(tasks_dir) if tasks_dir else shipped_data_dir("tasks")
    if not tasks_dir.is_dir():
        raise FileNotFoundError(f"tasks_dir {str(tasks_dir)!r} is not a folder: give a folder of task files (with "
                                "train/ and heldout/), or None for the shipped tasks")
    if rubrics_dir is None:
        sibling = tasks_dir.parent / "rubrics"
        rubrics_dir = sibling if sibling.is_dir() else shipped_data_dir("rubrics")
    return tasks_dir, Path(rubrics_dir)


def folder_files(tasks_dir: Path, rubrics_dir: Path) -> frozenset[tuple[str, int, int]]:
    """(path, size, modification time in ns) of every task file under ``tasks_dir`` and rubric file in
    ``rubrics_dir``: what a parsed set was built from, compared to tell whether it is still current."""
    found, folders = set(), [(tasks_dir, True), (rubrics_dir, False)]
    while folders:
        folder, recurse = folders.pop()
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            continue
        for entry in entries:
            if entry.name.endswith(".json") and entry.is_file():
                stat = entry.stat()
                found.add((entry.path, stat.st_size, stat.st_mtime_ns))
            elif recurse and entry.is_dir():
                folders.append((entry.path, True))
    return frozenset(found)


_SHARED: dict[tuple[Path, Path], "TaskSet"] = {}
_SHARED_LOCK = threading.Lock()


class TaskSet:
    """Tasks of a directory (all ``*.json`` below it) with their rubrics, indexed by id.

    ``TaskSet(...)`` parses the folder now. ``TaskSet.shared(...)`` is what environments use: one parsed set per
    (tasks folder, rubrics folder) per process, built at its first request and rebuilt when any task or rubric file
    is added, removed or changed (a set already handed out stays as it was). Each rubric is parsed once per set.
    """

    def __init__(self, tasks_dir: str | Path | None = None, rubrics_dir: str | Path | None = None) -> None:
        self.tasks_dir, self.rubrics_dir = _resolve_folders(tasks_dir, rubrics_dir)
        self.files = folder_files(self.tasks_dir, self.rubrics_dir)  # before parsing: a change while parsing is seen
        self._tasks: dict[str, Task] = {}
        for path in sorted(self.tasks_dir.rglob("*.json")):
            task = load_task(path)
            if task.id in self._tasks:
                raise TaskFormatError(f"{path}: duplicate task id {task.id!r} (also in {self._tasks[task.id].source})")
            self._tasks[task.id] = task
        self._rubrics: dict[str, Rubric] = {}
        self._rubrics_checked = False

    @classmethod
    def shared(cls, tasks_dir: str | Path | None = None, rubrics_dir: str | Path | None = None) -> "TaskSet":
        """The process-wide task set of these folders (the shipped corpus for None), parsed again only when a file
        under them has changed since it was parsed (new, removed, or a different size or modification time)."""
        tasks_dir, rubrics_dir = _resolve_folders(tasks_dir, rubrics_dir)
        key = (tasks_dir.resolve(), rubrics_dir.resolve())
        current = folder_files(tasks_dir, rubrics_dir)
        with _SHARED_LOCK:
            task_set = _SHARED.get(key)
            if task_set is None or task_set.files != current:
                task_set = _SHARED[key] = cls(tasks_dir, rubrics_dir)
            return task_set

    @classmethod
    def from_folder(cls, directory: str | Path | None) -> "TaskSet":
        """The tasks of a user's folder (see ``task_folders``), or the shipped ones for None: the shared set."""
        return cls.shared(*task_folders(directory))

    @classmethod
    def of(cls, tasks: Iterable[Task], rubrics_dir: str | Path) -> "TaskSet":
        """A task set of given tasks (e.g. one file under validation), with rubrics read from ``rubrics_dir``."""
        task_set = cls.__new__(cls)
        task_set.tasks_dir, task_set.rubrics_dir = None, Path(rubrics_dir)
        task_set._tasks, task_set._rubrics, task_set._rubrics_checked = {t.id: t for t in tasks}, {}, False
        task_set.files = None
        return task_set

    def __len__(self) -> int:
        return len(self._tasks)

    def __iter__(self) -> Iterator[Task]:
        return iter(self._tasks.values())

    def __contains__(self, task_id: object) -> bool:
        return task_id in self._tasks

    def get(self, task_id: str) -> Task:
        if task_id not in self._tasks:
            raise KeyError(f"no task {task_id!r} in {self.tasks_dir or 'this task set'} ({len(self._tasks)} tasks; "
                           "`corecraft tasks` lists them)")
        return self._tasks[task_id]

    def rubric(self, rubric_id: str) -> Rubric:
        if rubric_id not in self._rubrics:
            path = self.rubrics_dir / f"{rubric_id}.json"
            if not path.is_file():
                raise TaskFormatError(f"rubric {rubric_id!r} not found: expected {path}")
            self._rubrics[rubric_id] = load_rubric(path)
        return self._rubrics[rubric_id]

    def check_rubrics(self) -> None:
        """Parse and validate the rubric of every task (once per set): raises ``TaskFormatError`` naming each missing
        rubric, or the first invalid one, so that a broken corpus fails when an environment is built rather than
        when an episode ends."""
        if self._rubrics_checked:
            return
        rubric_ids = sorted({task.rubric_id for task in self._tasks.values()})
        missing = [rubric_id for rubric_id in rubric_ids if not (self.rubrics_dir / f"{rubric_id}.json").is_file()]
        if missing:
            raise TaskFormatError(f"{len(missing)} rubric(s) not found in {self.rubrics_dir}: {', '.join(missing[:10])}"
                                  + (" …" if len(missing) > 10 else ""))
        for rubric_id in rubric_ids:
            self.rubric(rubric_id)
        self._rubrics_checked = True

    def select(self, split: str | None = None, families: Iterable[str] | None = None,
               difficulties: Iterable[str] | None = None, categories: Iterable[str] | None = None) -> list[Task]:
        """Tasks matching every given filter, in id order."""
        families, difficulties, categories = (set(x) if x else None for x in (families, difficulties, categories))
        return [t for t in self._tasks.values()
                if (split is None or t.split == split) and (families is None or t.family in families)
                and (difficulties is None or t.difficulty in difficulties) and (categories is None or t.category in categories)]
