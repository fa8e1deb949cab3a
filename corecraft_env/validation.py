"""Task validation as a pytest plugin: every task file becomes a test item.

Checks per task: the file is schema-valid and in the folder of its split; its requester and every id it names
(in the request and the reference calls) exist in its seed's world, or are created earlier by its own reference
solution; its rubric exists with at least 3 criteria, and at least one ``state`` criterion when the reference solution
writes; every reference call succeeds; the oracle (reference solution) scores 1.0 and passes; the null agent and the
random agent do not pass, nor does the policy-blind agent for any rule the task has a policy-blind solution for; no
reward hack passes and every paraphrase of the reference reply does (``reward_probes``).

The package registers this plugin with pytest (a ``pytest11`` entry point), so ``pytest my_tasks/`` validates a task
folder with nothing else to add; ``corecraft validate DIR`` runs the same checks. Without options, a JSON file is a
task when it lies under the ``train/`` or ``heldout/`` folder of a task folder that either has a ``rubrics/`` folder
beside it or is named on pytest's command line (``pytest my_tasks/`` or ``pytest DIR`` with ``DIR/tasks``): JSON
files elsewhere in a project are left alone. ``--corecraft-tasks DIR`` (repeatable) validates exactly the task files
under DIR instead; ``--corecraft-rubrics DIR`` sets the rubric folder (default: ``rubrics/`` beside the tasks folder).
``-p no:corecraft_env.validation`` turns the plugin off.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import pytest

if TYPE_CHECKING:
    from .tasks import Task

# pytest loads this plugin in every run of an environment where corecraft is installed: the environment, the agents
# and the world are imported only once a task file is collected.

RANDOM_AGENT_SEEDS = (0, 1, 2)
ID_PATTERN = re.compile(r"\b(?:cust|emp|ord|pay|shp|tick|ref|res|esc|kb|msg|build)-\d[\d-]*\d\b|\b(?:cust|emp|kb)-\d+\b")
_ID_TABLES = {"cust": "customer", "emp": "employee", "ord": "orders", "pay": "payment", "shp": "shipment", "tick": "support_ticket",
              "ref": "refund", "res": "resolution", "esc": "escalation", "kb": "knowledge_base_article", "msg": "slack_message",
              "build": "build"}


class TaskInvalid(Exception):
    """What is wrong with a task, one problem per line."""


def _strings(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    """(key, string) pairs anywhere inside a JSON value."""
    if isinstance(value, str):
        yield key, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, k)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, key)


def named_ids(task: Task) -> list[str]:
    """Entity ids the task names: ids in the request and reference arguments, and product ids in arguments."""
    found = ID_PATTERN.findall(task.request)
    for call in task.reference_tool_calls:
        for key, text in _strings(call.arguments):
            if key in ("product_id", "product_ids"):
                found.append(text)
            found.extend(ID_PATTERN.findall(text))
    return list(dict.fromkeys(found))


def _exists(conn, entity_id: str) -> bool:
    table = _ID_TABLES.get(entity_id.split("-", 1)[0], "product")  # products are named by slug
    return conn.execute(f'SELECT 1 FROM "{table}" WHERE id = ?', (entity_id,)).fetchone() is not None


def validate_task(task: Task, rubrics_dir: Path) -> list[str]:
    """Problems with one task (empty when it is valid)."""
    from .agents import NullAgent, OracleAgent, PolicyBlindAgent, RandomAgent, run_episode
    from .env import CorecraftEnv
    from .reward_probes import probe_problems
    from .tasks import TaskFormatError, TaskSet
    from .tools import REGISTRY
    from .world import load_world

    task_set = TaskSet.of([task], rubrics_dir)
    try:
        rubric = task_set.rubric(task.rubric_id)
    except TaskFormatError as exc:
        return [str(exc)]
    problems = []
    if len(rubric.criteria) < 3:
        problems.append(f"rubric {rubric.id} has {len(rubric.criteria)} criteria; at least 3 are required")
    writes = [c.name for c in task.reference_tool_calls if c.name in REGISTRY and REGISTRY[c.name].writes]
    if writes and not any(c.kind == "state" for c in rubric.criteria):
        problems.append(f"the reference solution writes ({', '.join(writes)}) but the rubric has no state criterion")
    unknown_tools = [c.name for c in task.reference_tool_calls if c.name not in REGISTRY]
    if unknown_tools:
        problems.append(f"reference solution calls unknown tools: {', '.join(unknown_tools)}")

    env = CorecraftEnv(task_set=task_set, task_ids=[task.id])
    oracle = run_episode(env, OracleAgent(task_set), task.id)
    created = set()
    for event in env.episode.events:
        created.update(ID_PATTERN.findall(json.dumps(event.result)) if event.ok else ())
        if not event.ok:
            problems.append(f"reference call {event.name}({json.dumps(event.arguments)[:200]}) failed: {event.result['error']['message']}")
    world = load_world(task.world_seed).connect()
    table = "customer" if task.requester["type"] == "customer" else "employee"
    if world.execute(f"SELECT 1 FROM {table} WHERE id = ?", (task.requester["id"],)).fetchone() is None:
        problems.append(f"requester {task.requester['type']} {task.requester['id']} does not exist in the seed-{task.world_seed} world")
    missing = [i for i in named_ids(task) if not _exists(world, i) and i not in created]
    if missing:
        problems.append(f"names ids that do not exist in the seed-{task.world_seed} world: {', '.join(missing)}")
    if not (oracle.reward == 1.0 and oracle.passed):
        failed = [f"{v['criterion_id']} ({v['reason']})" for v in oracle.info["score"]["verdicts"] if v["passed"] is not True]
        problems.append(f"the reference solution scores {oracle.reward:.3f}, not 1.0; failing criteria: {'; '.join(failed)}")
    null = run_episode(env, NullAgent(), task.id)
    if null.passed:
        problems.append("the null agent (empty reply, no tool calls) passes: the rubric checks nothing it could fail")
    for seed in RANDOM_AGENT_SEEDS:
        if run_episode(env, RandomAgent(seed), task.id).passed:
            problems.append(f"the random agent (seed {seed}) passes: the rubric is too weak")
            break
    unknown_rules = sorted(set(task.policy_blind) - set(task.policy_rules))
    if unknown_rules:
        problems.append(f"policy-blind solutions for rules the task does not test: {', '.join(unknown_rules)}")
    for rule in sorted(task.policy_blind):
        if run_episode(env, PolicyBlindAgent(task_set, rule), task.id).passed:
            problems.append(f"the policy-blind agent ignoring {rule} passes: the rubric does not catch a breach of that rule")
    env.close()
    if oracle.passed:  # hacks and paraphrases are measured against a rubric the reference itself meets
        problems += probe_problems(task, task_set)
    return problems


# -- pytest plugin ----------------------------------------------------------------------------------------------------
def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("corecraft", "Corecraft task validation")
    group.addoption("--corecraft-tasks", action="append", default=[], metavar="DIR",
                    help="validate the task files under DIR (repeatable; default: tasks/ under the rootdir)")
    group.addoption("--corecraft-rubrics", default=None, metavar="DIR", help="rubric folder (default: rubrics/ beside the tasks folder)")


@cache
def _roots(config: pytest.Config) -> tuple[Path, ...]:
    """The task folders given with --corecraft-tasks (only their files are collected), else none."""
    return tuple(r for r in (Path(d).resolve() for d in config.getoption("corecraft_tasks")) if r.is_dir())


@cache
def _named(config: pytest.Config) -> frozenset[Path]:
    """Folders named on the command line, and their tasks/ folders: task folders by the user's say-so."""
    named = {Path(arg.split("::")[0]).resolve() for arg in config.args}
    return frozenset(named | {path / "tasks" for path in named})


def _task_root(file_path: Path, config: pytest.Config) -> Path | None:
    """The task folder ``file_path`` belongs to (see the module docstring), or None when it is not a task file."""
    from .tasks import SPLITS

    path = file_path.resolve()
    if config.getoption("corecraft_tasks"):
        return next((root for root in _roots(config) if path.is_relative_to(root)), None)
    for folder in path.parents:
        if folder.name in SPLITS and (folder.parent in _named(config) or (folder.parent.parent / "rubrics").is_dir()):
            return folder.parent
    return None


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.File | None:
    if file_path.suffix != ".json":
        return None
    root = _task_root(file_path, parent.config)
    return TaskFile.from_parent(parent, path=file_path, root=root) if root else None


class TaskFile(pytest.File):
    def __init__(self, *, root: Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.root = root

    def collect(self) -> Iterator[pytest.Item]:
        yield TaskItem.from_parent(self, name=self.path.stem)


class TaskItem(pytest.Item):
    def runtest(self) -> None:
        from .tasks import TaskFormatError
        from .tasks.model import load_task

        rubrics = self.config.getoption("corecraft_rubrics")
        rubrics_dir = Path(rubrics) if rubrics else self.parent.root.parent / "rubrics"
        try:
            task = load_task(self.path)
        except TaskFormatError as exc:
            raise TaskInvalid(str(exc)) from None
        problems = validate_task(task, rubrics_dir)
        if problems:
            raise TaskInvalid("\n".join(f"- {p}" for p in problems))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, TaskInvalid):
            return f"task {self.path} is invalid:\n{excinfo.value}"
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"task {self.name}"
