"""Reference agents that validation runs: the oracle replays a task's reference solution, the policy-blind agent
replays what an agent ignoring one policy rule does, the null agent replies at once with nothing, the random agent
makes schema-valid random tool calls and then a random reply."""

from __future__ import annotations

import random
import string
from typing import Any

from ..tasks import Solution, Task, TaskSet
from ..tools import REGISTRY


class _ReplayAgent:
    """Replays a solution of the task being run (its tool calls in order, then its final reply)."""

    def __init__(self, tasks: TaskSet) -> None:
        self.tasks = tasks
        self._plan: list[dict] = []

    def solution(self, task: Task) -> Solution:
        raise NotImplementedError

    def reset(self, observation: str, info: dict) -> None:
        solution = self.solution(self.tasks.get(info["task_id"]))
        self._plan = [{"tool": c.name, "arguments": c.arguments} for c in solution.tool_calls]
        self._plan.append({"reply": solution.final_reply})

    def act(self, observation: str, info: dict) -> dict:
        return self._plan.pop(0)


class OracleAgent(_ReplayAgent):
    """Replays the reference solution of the task being run."""

    def solution(self, task: Task) -> Solution:
        return Solution(task.reference_tool_calls, task.reference_reply)


class PolicyBlindAgent(_ReplayAgent):
    """Does the obvious work while ignoring one policy rule (``rule``, a key of ``taskgen.POLICY_RULES``): replays the
    task's ``policy_blind[rule]`` solution, e.g. a refund that includes shipping, an approved instead of a pending
    refund, a build saved without validation. A task whose family tests the rule must not pass it."""

    def __init__(self, tasks: TaskSet, rule: str) -> None:
        super().__init__(tasks)
        self.rule = rule

    def solution(self, task: Task) -> Solution:
        if self.rule not in task.policy_blind:
            raise KeyError(f"task {task.id} has no policy-blind solution for rule {self.rule!r} "
                           f"(it has: {', '.join(sorted(task.policy_blind)) or 'none'})")
        return task.policy_blind[self.rule]


class NullAgent:
    """Replies at once with an empty answer: a rubric that it satisfies checks nothing."""

    def reset(self, observation: str, info: dict) -> None:
        pass

    def act(self, observation: str, info: dict) -> dict:
        return {"reply": ""}


_WORDS = ("order", "refund", "thanks", "warranty", "shipping", "build", "sorry", "policy", "customer", "ticket", "approved")


class RandomAgent:
    """Makes ``calls`` tool calls with arguments drawn from each tool's JSON Schema, then a reply of random words."""

    def __init__(self, seed: int = 0, calls: int = 4) -> None:
        self.rng = random.Random(seed)
        self.calls = calls
        self._left = 0

    def reset(self, observation: str, info: dict) -> None:
        self._left = self.calls

    def act(self, observation: str, info: dict) -> dict:
        if self._left <= 0:
            return {"reply": " ".join(self.rng.choice(_WORDS) for _ in range(self.rng.randint(3, 12)))}
        self._left -= 1
        tool = self.rng.choice(list(REGISTRY))
        return {"tool": tool.name, "arguments": self.sample(tool.parameters, top_level=True)}

    def sample(self, schema: dict, top_level: bool = False) -> Any:
        """A random value valid for ``schema`` (the subset of JSON Schema the tools use)."""
        rng = self.rng
        if "enum" in schema:
            return rng.choice(schema["enum"])
        kind = schema.get("type")
        if kind == "object":
            required = list(schema.get("required", []))  # schema order: a set's order changes with the hash seed
            optional = [k for k in schema["properties"] if k not in required and rng.random() < (0.3 if top_level else 0.5)]
            return {key: self.sample(schema["properties"][key]) for key in [*required, *optional]}
        if kind == "array":
            return [self.sample(schema["items"]) for _ in range(rng.randint(schema.get("minItems", 0), min(schema.get("maxItems", 3), 3)))]
        if kind == "integer":
            return rng.randint(schema.get("minimum", 0), min(schema.get("maximum", 20), 20))
        if kind == "number":
            return round(rng.uniform(0.01, 500.0), 2)
        if kind == "boolean":
            return rng.random() < 0.5
        if "pattern" in schema:  # the only patterned strings are dates
            return f"2025-{rng.randint(1, 9):02d}-{rng.randint(1, 28):02d}"
        return "".join(rng.choice(string.ascii_lowercase + "-0123456789") for _ in range(rng.randint(1, 12)))
