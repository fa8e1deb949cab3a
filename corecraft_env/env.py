"""``CorecraftEnv`` (``Corecraft-v0``): one support task per episode, in a private copy of its world.

Episode: ``reset`` draws a task (or takes ``options["task_id"]``), hands out a fresh isolated copy of the task's
world and returns the request as the observation, headed by who sent it as a support inbox shows them
(``From: Lisa Williams <lisa.williams@…>``, never the internal id: the agent finds the record itself;
``requester_form="id"`` keeps the older ``Request from customer cust-0205:`` header); each ``step`` takes one action (see ``corecraft_env.actions``):
tool calls run through the shared registry and their results are the observation (reward 0), the final reply ends
the episode and is scored against the task's rubric (reward = fraction of criteria met; ``info["passed"]`` when all
are). After ``max_steps`` actions without a reply the episode is truncated and scored as it stands (so is a
``TimeLimit`` truncation under ``gym.make(..., max_episode_steps=N)``: see ``corecraft_env.wrappers``).

``judge`` decides rubric ``judge`` criteria: None (their deterministic fallbacks), a callable ``(task, criterion,
episode) -> (passed, reason)``, or a string for ``corecraft_env.judge.make_judge`` (a LiteLLM model such as
``"openai/gpt-4o-mini"``). A judge that fails in any way makes that criterion errored, never an exception from
``step``. ``reset`` options: ``task_id``, ``split``.

Spaces: observations and actions are text (``gymnasium.spaces.Text`` over printable Unicode; observations use the
subclass ``corecraft_env.spaces.SharedMemoryText``, so ``AsyncVectorEnv``'s shared memory works); the action text is
JSON. As a convenience ``step`` also takes the action as a dict.

``info`` after ``reset``: ``task_id``, ``family``, ``category``, ``difficulty``, ``split``, ``requester``,
``world_seed``, ``world_hash`` (of the pristine world), ``system_prompt`` (policy + how to act), ``policy``,
``tools`` (OpenAI function-calling format), ``action_format``, ``max_steps``.
``info`` after ``step``: ``step``, ``tool_calls`` (name, id, ok per call), ``action_error`` (or None); at the end
also ``reward``, ``passed``, ``score`` (verdicts with reasons), ``final_reply`` and ``errored`` (criteria a judge
could not decide).
"""

from __future__ import annotations

import re
import sqlite3
import threading
from functools import cache
from typing import Any

import gymnasium as gym
from gymnasium import spaces

from .actions import ACTION_FORMAT, ActionError, ParsedAction, decode_arguments, parse_action
from .spaces import SharedMemoryText
from .tasks import SPLITS, Episode, Judge, Task, TaskSet, ToolEvent, score_episode
from .tasks.criteria import ROW_KEY
from .tools import REGISTRY, encode_result, error_result
from .tools.base import Db
from .world import World, load_world, policy_document
from .world.store import open_image
from .world.schema import CONTENT_TABLES

DEFAULT_MAX_STEPS = 30
DEFAULT_MAX_OBSERVATION_CHARS = 100_000
MAX_ACTION_CHARS = 100_000


# Scripts and symbols support text uses: Latin (with accents), Greek, Cyrillic, punctuation, currency, arrows, math,
# box drawing. A wider set would make every Text space slow to build (Gymnasium indexes each character).
_CHARSET_RANGES = ((0x20, 0x7E), (0xA0, 0x24F), (0x370, 0x4FF), (0x2000, 0x206F), (0x20A0, 0x20CF), (0x2100, 0x22FF),
                   (0x2500, 0x257F), (0xFFFD, 0xFFFD))


@cache
def printable_charset() -> str:
    """The characters observations and actions may hold: printable ones of ``_CHARSET_RANGES``, newline and tab."""
    return "".join(c for low, high in _CHARSET_RANGES for c in map(chr, range(low, high + 1)) if c.isprintable()) + "\n\t"


@cache
def _outside_charset() -> re.Pattern:
    """A regex finding any character outside ``printable_charset()`` (a C-speed scan of each observation)."""
    codes = sorted(map(ord, printable_charset()))
    ranges, start = [], codes[0]
    for previous, current in zip(codes, codes[1:] + [None]):
        if current != previous + 1:
            ranges.append(re.escape(chr(start)) + ("-" + re.escape(chr(previous)) if previous > start else ""))
            start = current
    return re.compile(f"[^{''.join(ranges)}]")


def contains_outside_charset(value: Any) -> bool:
    """Whether any string in ``value`` (a str, or the keys and values of nested dicts and lists) holds a character
    outside ``printable_charset()``. Numbers, booleans and None encode as ASCII and cannot."""
    if isinstance(value, str):
        return _outside_charset().search(value) is not None
    if isinstance(value, dict):
        return any(contains_outside_charset(key) or contains_outside_charset(item) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return any(contains_outside_charset(item) for item in value)
    return False


def fit_observation(text: str, max_chars: int, scan: bool = True) -> str:
    """``text`` inside an observation space of ``max_chars`` characters: with ``scan``, characters outside the charset
    become U+FFFD; text over the limit is cut with a marker saying so. ``scan=False`` is for text known to hold only
    charset characters (see ``CorecraftEnv.step``): then the cost does not depend on the text's length."""
    if scan:
        text = _outside_charset().sub("\ufffd", text)
    if len(text) <= max_chars:
        return text
    marker = f"\n[observation truncated: {len(text) - max_chars + 120} characters omitted; narrow the query with filters or limit]"
    return text[: max_chars - len(marker)] + marker


REQUESTER_FORMS = ("inbox", "id")


def request_text(task: Task, conn: sqlite3.Connection | None = None, requester_form: str = "inbox") -> str:
    """The request as ``reset`` presents it (before ``fit_observation``).

    ``"inbox"`` (the default) shows the requester as a support inbox does: a customer by name and e-mail, an employee
    by name, e-mail and department, never by internal id, so the agent finds the record itself (``conn``, a
    connection to the task's world, supplies them; the pristine world when None). ``"id"`` keeps the older header
    that names the internal id, for a curriculum that wants the lookup done for the agent."""
    _check_requester_form(requester_form)
    kind, requester_id = task.requester["type"], task.requester["id"]
    sender = None
    if requester_form == "inbox":
        world = conn if conn is not None else load_world(task.world_seed).connect()
        try:
            if kind == "customer":
                row = world.execute("SELECT name, email FROM customer WHERE id = ?", (requester_id,)).fetchone()
                sender = f"{row[0]} <{row[1]}>" if row else None
            else:
                row = world.execute("SELECT name, email, department FROM employee WHERE id = ?", (requester_id,)).fetchone()
                sender = f"{row[0]} <{row[1]}>, {row[2].replace('_', ' ')} (internal)" if row else None
        finally:
            if conn is None:
                world.close()
    # The id header: asked for, or the requester is missing (validation reports it; the episode still shows who asked).
    header = f"From: {sender}" if sender else f"Request from {kind} {requester_id}:"
    return f"{header}\n\n{task.request}"


def _check_requester_form(requester_form: str) -> None:
    if requester_form not in REQUESTER_FORMS:
        raise ValueError(f"requester_form must be one of {', '.join(map(repr, REQUESTER_FORMS))}, got {requester_form!r}")


@cache
def system_prompt() -> str:
    return (
        "You are a support representative of CoreCraft Computers. Work only through the tools provided, follow the "
        "company policy below exactly, and finish with one final reply to the requester stating what you found and "
        "what you did (ids and amounts).\n\n" + policy_document()
    )


# -- per-episode worlds with a change log -----------------------------------------------------------------------------
_CHANGE_LOG = "_episode_writes"
_images: dict[int, bytes] = {}
_images_lock = threading.Lock()


def _with_change_log(world: World) -> bytes:
    """The world image plus triggers that log every row written (table, row key, operation) during an episode.

    The log table is not content, so the world hash ignores it; rubrics' ``no_collateral`` and ``new_only`` checks
    read it instead of diffing whole tables.
    """
    conn = world.connect()
    conn.execute(f"CREATE TABLE {_CHANGE_LOG} (table_name TEXT NOT NULL, row_key TEXT NOT NULL, op TEXT NOT NULL)")
    for table in CONTENT_TABLES:
        key = ROW_KEY.get(table, "id")
        for op, event, row in (("insert", "INSERT", "NEW"), ("update", "UPDATE", "NEW"), ("delete", "DELETE", "OLD")):
            conn.execute(f'CREATE TRIGGER _log_{table}_{op} AFTER {event} ON "{table}" BEGIN '
                         f"INSERT INTO {_CHANGE_LOG} VALUES ('{table}', {row}.{key}, '{op}'); END")
    image = conn.serialize()
    conn.close()
    return image


def episode_image(world: World) -> bytes:
    with _images_lock:
        if world.seed not in _images:
            _images[world.seed] = _with_change_log(world)
        return _images[world.seed]


_text_in_charset: dict[int, bool] = {}


def world_text_in_charset(world: World) -> bool:
    """Whether every text of the world (JSON columns decoded) lies in ``printable_charset()``; checked once per seed.

    Tool results are built from the world's text, the tools' own messages and the agent's arguments; when the first
    is in the charset, only the agent's input can put a character outside it into an observation."""
    with _images_lock:
        if world.seed not in _text_in_charset:
            conn = world.connect()
            db = Db(conn)
            _text_in_charset[world.seed] = not any(contains_outside_charset(db.all(f'SELECT * FROM "{table}"'))
                                                   for table in CONTENT_TABLES)
            conn.close()
        return _text_in_charset[world.seed]


RESET_OPTIONS = ("task_id", "split")


def _judge_from(judge: Judge | str | None) -> Judge | None:
    """The judge of ``judge`` criteria from what the constructor takes: None, a callable, or a string for
    ``corecraft_env.judge.make_judge`` (a LiteLLM model such as ``"openai/gpt-4o-mini"``, ``"py:module:function"``,
    ``"none"``)."""
    if judge is None or callable(judge):
        return judge
    if isinstance(judge, str):
        from .judge import make_judge

        return make_judge(judge)
    raise TypeError(f"judge must be None, a callable (task, criterion, episode) -> (passed, reason), a LiteLLM model "
                    f"string such as 'openai/gpt-4o-mini', or 'py:module:function'; got {type(judge).__name__}")


class CorecraftEnv(gym.Env[str, str]):
    """The Corecraft-v0 environment. See the module docstring for the episode, spaces and ``info`` keys."""

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, split: str | None = "train", task_ids: list[str] | None = None, tasks_dir: str | None = None,
                 rubrics_dir: str | None = None, max_steps: int = DEFAULT_MAX_STEPS, judge: Judge | str | None = None,
                 max_observation_chars: int = DEFAULT_MAX_OBSERVATION_CHARS, render_mode: str | None = None,
                 task_set: TaskSet | None = None, requester_form: str = "inbox") -> None:
        _check_requester_form(requester_form)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}")
        if not isinstance(max_steps, int) or max_steps < 1:
            raise ValueError(f"max_steps must be a positive integer, got {max_steps!r}")
        if split is not None and split not in SPLITS:
            raise ValueError(f"split must be one of {', '.join(map(repr, SPLITS))} or None (every split), got {split!r}")
        self.tasks = task_set if task_set is not None else TaskSet.shared(tasks_dir, rubrics_dir)
        self.tasks.check_rubrics()
        self.requester_form = requester_form
        pool = [self.tasks.get(t) for t in task_ids] if task_ids else self.tasks.select(split=split)
        if not pool:
            raise ValueError(f"no tasks for split={split!r} in {self.tasks.tasks_dir or 'the given task set'}")
        self.task_pool = [t.id for t in pool]
        self.max_steps = max_steps
        self.judge = _judge_from(judge)
        self.render_mode = render_mode
        self.observation_space = SharedMemoryText(max_length=max_observation_chars, min_length=0, charset=printable_charset())
        self.action_space = spaces.Text(max_length=MAX_ACTION_CHARS, min_length=0, charset=printable_charset())
        self.task: Task | None = None
        self.episode: Episode | None = None
        self.steps = 0
        self.done = True
        self._last_text = ""
        self._scan_results = True  # whether tool results may hold characters outside the charset (see step)

    # -- Gymnasium API -----------------------------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[str, dict]:
        super().reset(seed=seed)
        options = options or {}
        if not isinstance(options, dict):
            raise TypeError(f"reset options must be a dict (keys {', '.join(map(repr, RESET_OPTIONS))}), got {type(options).__name__}")
        unknown = sorted(set(options) - set(RESET_OPTIONS), key=str)
        if unknown:
            raise ValueError(f"unknown reset option(s) {unknown}; valid options: {', '.join(map(repr, RESET_OPTIONS))}")
        if options.get("split") is not None and options["split"] not in SPLITS:
            raise ValueError(f"options['split'] must be one of {', '.join(map(repr, SPLITS))}, got {options['split']!r}")
        if options.get("task_id") is not None:
            task = self.tasks.get(options["task_id"])
        else:
            pool = self.tasks.select(split=options["split"]) if options.get("split") else [self.tasks.get(t) for t in self.task_pool]
            if not pool:
                raise ValueError(f"no tasks for split={options.get('split')!r}")
            task = pool[int(self.np_random.integers(len(pool)))]
        world = load_world(task.world_seed)
        if self.episode is not None:
            self.episode.conn.close()
        conn = open_image(episode_image(world))
        self.task, self.episode, self.steps, self.done = task, Episode(conn=conn, request=task.request), 0, False
        self._scan_results = not world_text_in_charset(world)
        observation = self._fit(request_text(task, conn, self.requester_form), scan=True)
        self._last_text = observation
        return observation, {
            "task_id": task.id, "family": task.family, "category": task.category, "difficulty": task.difficulty,
            "split": task.split, "requester": dict(task.requester), "world_seed": task.world_seed, "world_hash": world.hash,
            "system_prompt": system_prompt(), "policy": policy_document(), "tools": REGISTRY.openai_tools(),
            "action_format": ACTION_FORMAT, "max_steps": self.max_steps,
        }

    def step(self, action: str | dict) -> tuple[str, float, bool, bool, dict]:
        """One action. A tool result is encoded once and handed out as it is: it is scanned for characters outside the
        charset only when the episode's world has any, or once this episode's actions have carried any (the agent's
        text can come back in a result), and an invalid action's message is always scanned."""
        self._require_running("step")
        self.steps += 1
        info = self._step_info()
        try:
            parsed = parse_action(action)
        except ActionError as exc:
            parsed = ParsedAction()
            info["action_error"] = str(exc)
            observation = encode_result(error_result("invalid_action", str(exc)))
        if parsed.reply is not None:
            return self._finish(parsed.reply, info)
        if parsed.tool_calls:
            observation = self._run_tools(parsed, info)
        scan = self._scan_results or info["action_error"] is not None
        if self.steps >= self.max_steps:
            return self._finish("", info, truncation_reason=f"no final reply after {self.max_steps} steps",
                                observation=observation, scan=scan)
        self._last_text = self._fit(observation, scan=scan)
        return self._last_text, 0.0, False, False, info

    def truncate(self, reason: str) -> tuple[str, float, bool, bool, dict]:
        """End the running episode from outside (a trainer's token budget, a wall-clock limit) without a reply.

        Scored as the environment scores its own truncation at ``max_steps``: empty reply, world and trajectory as
        they stand. Returns ``step``'s 5-tuple with ``truncated`` True and ``info["truncation_reason"] = reason``.
        """
        self._require_running("truncate")
        return self._finish("", self._step_info(), truncation_reason=reason)

    def render(self) -> str | None:
        return self._last_text if self.render_mode == "ansi" else None

    def close(self) -> None:
        if self.episode is not None:
            self.episode.conn.close()
            self.episode = None
        self.done = True

    # -- helpers -----------------------------------------------------------------------------------------------------
    def _require_running(self, method: str) -> None:
        if self.done or self.episode is None:
            raise RuntimeError(f"this episode has ended (or never started): call reset() before {method}()")

    def _step_info(self) -> dict[str, Any]:
        """The info keys of every step (scoring adds its own when the episode ends)."""
        return {"step": self.steps, "tool_calls": [], "action_error": None}

    def _run_tools(self, parsed: ParsedAction, info: dict) -> str:
        results = []
        for call in parsed.tool_calls:
            arguments = decode_arguments(call.arguments)  # OpenAI sends JSON text; rubrics match the decoded object
            if not self._scan_results and (contains_outside_charset(call.name) or contains_outside_charset(arguments)):
                self._scan_results = True  # stored or echoed, the agent's text may come back in this or a later result
            result = REGISTRY.call(self.episode.conn, call.name, arguments)
            self.episode.events.append(ToolEvent(call.name, arguments, result))
            info["tool_calls"].append({"name": call.name, "id": call.call_id, "ok": "error" not in result})
            results.append(result)
        if len(results) == 1:
            return encode_result(results[0])
        return encode_result([{"tool_call_id": c.call_id, "name": c.name, "result": r} for c, r in zip(parsed.tool_calls, results)])

    def _finish(self, reply: str, info: dict, truncation_reason: str | None = None, observation: str | None = None,
                scan: bool = True) -> tuple[str, float, bool, bool, dict]:
        episode = self.episode
        episode.final_reply = reply
        episode.writes = [tuple(row) for row in episode.conn.execute(f"SELECT table_name, row_key, op FROM {_CHANGE_LOG}")]
        score = score_episode(self.task, self.tasks.rubric(self.task.rubric_id), episode, self.judge)
        self.done = True
        info.update(reward=score.reward, passed=score.passed, score=score.to_dict(), final_reply=reply, errored=score.errored)
        if truncation_reason is not None:
            info["truncation_reason"] = truncation_reason
        self._last_text = self._fit(observation if observation is not None else
                                    f"Episode over. Reward {score.reward:.3f}, {'passed' if score.passed else 'not passed'}.",
                                    scan=scan)
        truncated = truncation_reason is not None
        return self._last_text, score.reward, not truncated, truncated, info

    def _fit(self, text: str, scan: bool) -> str:
        """Keep observations inside the observation space (see ``fit_observation``)."""
        return fit_observation(text, self.observation_space.max_length, scan)
