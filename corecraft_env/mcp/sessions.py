"""What one MCP client session works in: a private copy of a world, or a private episode of the bound task.

* ``WorldSession`` (no task bound): a fresh in-memory copy of a seed's world; tool calls go straight to the registry.
* ``TaskSession`` (a task bound): a ``CorecraftEnv`` episode of that task. Tool calls are environment steps and the
  final reply is the last one, so the episode, its step limit and its scoring are the environment's own.

Both answer ``call(name, arguments)`` with the registry's result dict (a failure is ``{"error": {...}}``, never an
exception) and ``reset()``. Beyond the registry's 23 tools a session offers ``SESSION_TOOLS``: ``resetWorld``
(both kinds) and ``submitFinalReply`` (task sessions); ``session_tool_call`` runs them. No MCP types here: the
server turns these results into MCP results.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..env import MAX_ACTION_CHARS, CorecraftEnv
from ..tasks import Task, TaskSet
from ..tools import REGISTRY, Tool, ToolRegistry, error_result
from ..world import World, load_world

RESET_WORLD = "resetWorld"
SUBMIT_FINAL_REPLY = "submitFinalReply"


class WorldSession:
    """A private copy of one seed's world, changed only by this session's write tools."""

    tools = (RESET_WORLD,)

    def __init__(self, world: World) -> None:
        self.world = world
        self._conn = world.connect()

    def call(self, name: str, arguments: dict) -> dict:
        return REGISTRY.call(self._conn, name, arguments)

    def reset(self) -> dict:
        """Throw away this session's changes: a fresh copy of the pristine world."""
        self._conn.close()
        self._conn = self.world.connect()
        return {"world_seed": self.world.seed, "world_hash": self.world.hash}

    def close(self) -> None:
        self._conn.close()


class TaskSession:
    """One episode of a task in a private ``CorecraftEnv``; ``reset`` starts the episode again."""

    tools = (RESET_WORLD, SUBMIT_FINAL_REPLY)

    def __init__(self, task_set: TaskSet, task_id: str) -> None:
        self.task_id = task_id
        self._env = CorecraftEnv(task_set=task_set, task_ids=[task_id])
        self.reset()

    def reset(self) -> dict:
        """A new episode: the task's pristine world, no steps taken. ``request`` is the request as the env states it."""
        self.request, info = self._env.reset(options={"task_id": self.task_id})
        self._ended: str | None = None  # why the episode is over, once it is
        return {"task_id": self.task_id, "world_seed": info["world_seed"], "world_hash": info["world_hash"]}

    def call(self, name: str, arguments: dict) -> dict:
        if self._ended:
            return self._over(name)
        if name not in REGISTRY:  # not an action of the episode: answered without taking a step
            return REGISTRY.validation_error(name, arguments)
        _, _, _, truncated, info = self._env.step({"tool": name, "arguments": arguments})
        if truncated:
            self._ended = (f"the episode ended after {self._env.max_steps} steps without a final reply "
                           f"(reward {info['reward']:.3f})")
        return self._env.episode.events[-1].result

    def submit(self, reply: str) -> dict:
        """End the episode with the final reply and score it: ``{"reward", "passed", "errored", "verdicts"}``."""
        if self._ended:
            return self._over(SUBMIT_FINAL_REPLY)
        _, reward, _, _, info = self._env.step({"reply": reply})
        self._ended = f"the final reply was already submitted (reward {reward:.3f})"
        return info["score"]

    def close(self) -> None:
        self._env.close()

    def _over(self, name: str) -> dict:
        return error_result("episode_over", f"{name}: {self._ended}; call {RESET_WORLD} to start the task again")


Session = WorldSession | TaskSession


@dataclass(frozen=True)
class Binding:
    """What every session of one server starts from: a world seed, or a task (with the set that holds its rubric)."""

    world_seed: int
    task_set: TaskSet | None = None
    task: Task | None = None
    request: str | None = None  # the bound task's request, exactly as the environment presents it

    @classmethod
    def unbound(cls, seed: int) -> Binding:
        load_world(seed)  # built (or read from the cache) now, so the first session opens at once
        return cls(world_seed=seed)

    @classmethod
    def to_task(cls, task_set: TaskSet, task_id: str) -> Binding:
        """Bind ``task_id``; raises ``KeyError`` for an unknown task, ``TaskFormatError`` when its rubric is missing."""
        task = task_set.get(task_id)
        task_set.rubric(task.rubric_id)
        first = TaskSession(task_set, task_id)
        first.close()
        return cls(world_seed=task.world_seed, task_set=task_set, task=task, request=first.request)

    @property
    def session_tools(self) -> tuple[str, ...]:
        """The tools each session offers beyond the registry's."""
        return WorldSession.tools if self.task is None else TaskSession.tools

    def new_session(self) -> Session:
        if self.task is None:
            return WorldSession(load_world(self.world_seed))
        return TaskSession(self.task_set, self.task.id)


SESSION_TOOLS = ToolRegistry([
    Tool(
        name=RESET_WORLD,
        description=("Start over: discard every change this session made and return to the pristine world (with a "
                     "task bound: restart the task's episode). Returns the world seed and the pristine world's hash."),
        parameters={"type": "object", "properties": {}, "required": [], "additionalProperties": False},
        writes=True,
        function=lambda session: session.reset(),
    ),
    Tool(
        name=SUBMIT_FINAL_REPLY,
        description=("Send your final reply to the requester. This ends the task's episode and scores it against the "
                     "task's rubric: returns reward (fraction of criteria met), passed (all met) and one verdict per "
                     "criterion. Call it once, when the work is done."),
        parameters={"type": "object", "properties": {"reply": {
            "type": "string", "description": "The final reply to the requester: what you found and what you did (ids, amounts).",
            "maxLength": MAX_ACTION_CHARS}}, "required": ["reply"], "additionalProperties": False},
        writes=True,
        function=lambda session, reply: session.submit(reply),
    ),
])


def session_tool_call(session: Session, name: str, arguments: dict) -> dict:
    """Run ``name`` (a tool in ``session.tools``) after validating its arguments; the result or an error result."""
    return SESSION_TOOLS.validation_error(name, arguments) or SESSION_TOOLS[name].function(session, **arguments)
