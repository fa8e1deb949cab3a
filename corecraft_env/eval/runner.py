"""Run an agent on a selection of tasks, k trials each, concurrently; resumable; summarised.

One *work item* is a (task, trial) pair. Items run on a thread pool (``concurrency`` episodes in flight; each thread
has its own environment, each episode a fresh agent); each finished episode is appended to ``episodes.jsonl`` at
once (see ``store``). On start the log is read and the items already there are skipped, so a run that was
interrupted, even by SIGKILL, resumes with nothing lost and nothing run twice; ``retry_errors`` runs the errored ones
again. At the end the metrics of everything in the log are written to ``summary.json`` and printed.

Before the first episode, the LiteLLM agent's and judge's models are checked (``judge.check_model``), and during the
run an error that every request would meet (``FatalModelError``: a wrong key, an unknown model) stops it at once:
the episode it hit is not recorded, so the same command runs it once the cause is fixed.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, TextIO

from ..actions import ActionError, parse_action
from ..judge.cache import content_hash
from ..judge.retry import FatalModelError, RetryPolicy
from ..tasks import SPLITS, Task, TaskSet
from ..tasks.criteria import reply_hack_flags
from .metrics import episode_errored, first_errors, format_table, summarize
from .store import RECORD_SCHEMA, EpisodeLog, RunFileError, done_keys, write_json_atomic

AGENTS = ("oracle", "null", "random", "litellm", "hf")
MAX_MESSAGE_CHARS = 20_000


@dataclass
class EvalConfig:
    out: str
    agent: str = "oracle"
    model: str | None = None
    # agent options
    api_base: str | None = None
    api_key: str | None = None
    temperature: float = 0.0
    max_tokens: int | None = 1024
    agent_timeout: float = 120.0
    agent_attempts: int = 4
    seed: int = 0
    device: str = "cpu"
    max_new_tokens: int = 160
    # hf: the prompt contract (corecraft_env.export.prompts.PromptContract); None keeps the hf agent's default
    tool_format: str | None = None
    include_policy: bool | None = None
    max_observation_chars: int | None = None
    # judge
    judge: Any = None  # None/"none", a LiteLLM model string, "py:module:function", or a callable
    judge_api_base: str | None = None
    judge_api_key: str | None = None
    judge_timeout: float = 60.0
    judge_attempts: int = 4
    judge_concurrency: int = 4
    judge_cache_dir: str | None = None
    judge_cache: bool = True
    retry_base_delay: float = 0.5
    retry_max_delay: float = 8.0
    # selection
    tasks_dir: str | None = None
    rubrics_dir: str | None = None
    split: str | None = "heldout"
    families: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    difficulties: list[str] = field(default_factory=list)
    task_ids: list[str] = field(default_factory=list)
    sample: int | None = None
    sample_seed: int = 0
    # run
    trials: int = 1
    concurrency: int = 4
    max_steps: int = 30
    progress: bool = True
    retry_errors: bool = False  # run again the episodes of the log that errored (agent error or errored criteria)

    def __post_init__(self) -> None:
        if self.agent not in AGENTS:
            raise ValueError(f"agent must be one of {', '.join(AGENTS)}, got {self.agent!r}")
        if self.agent == "litellm" and not self.model:
            raise ValueError("the litellm agent needs a model (e.g. --model openai/gpt-4o-mini, or openai/NAME with --api-base)")
        if self.split is not None and self.split not in SPLITS:
            raise ValueError(f"split must be one of {', '.join(SPLITS)} or None (both), got {self.split!r}")
        for name in ("trials", "concurrency", "max_steps", "judge_concurrency", "agent_attempts", "judge_attempts"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.sample is not None and self.sample < 1:
            raise ValueError(f"sample must be at least 1, got {self.sample}")

    @property
    def judge_id(self) -> str:
        if self.judge is None or (isinstance(self.judge, str) and self.judge.strip().lower() in ("", "none", "fallback")):
            return "none"
        if callable(self.judge):
            return f"py:{getattr(self.judge, '__module__', '?')}:{getattr(self.judge, '__qualname__', type(self.judge).__name__)}"
        return str(self.judge)

    @property
    def model_id(self) -> str | None:
        if self.agent == "hf":
            return f"hf:{self.model or 'smollm2-135m-instruct'}"
        return self.model if self.agent == "litellm" else None


# -- selection --------------------------------------------------------------------------------------------------------
def select_tasks(task_set: TaskSet, config: EvalConfig) -> list[Task]:
    if config.task_ids:
        tasks = [task_set.get(task_id) for task_id in dict.fromkeys(config.task_ids)]
    else:
        tasks = task_set.select(split=config.split, families=config.families or None, difficulties=config.difficulties or None,
                                categories=config.categories or None)
    if config.sample is not None and config.sample < len(tasks):
        tasks = sorted(random.Random(config.sample_seed).sample(tasks, config.sample), key=lambda t: t.id)
    if not tasks:
        raise ValueError(f"no tasks match the selection (split={config.split}, families={config.families or 'any'}, "
                         f"categories={config.categories or 'any'}, difficulties={config.difficulties or 'any'}) "
                         f"in {task_set.tasks_dir}")
    return tasks


def task_hash(task_set: TaskSet, task: Task) -> str:
    rubric = task_set.rubric(task.rubric_id)
    return content_hash({"task": task.to_dict(), "rubric": {"id": rubric.id, "criteria": [asdict(c) for c in rubric.criteria]}})


# -- agents -----------------------------------------------------------------------------------------------------------
def agent_factory(config: EvalConfig, task_set: TaskSet) -> Callable[[Task, int], Any]:
    """A function (task, trial) -> a fresh agent for that episode. Model weights (hf) are loaded once, here."""
    from ..agents import NullAgent, OracleAgent, RandomAgent

    if config.agent == "oracle":
        return lambda task, trial: OracleAgent(task_set)
    if config.agent == "null":
        return lambda task, trial: NullAgent()
    if config.agent == "random":
        return lambda task, trial: RandomAgent(seed=int(hashlib.sha256(f"{config.seed}:{task.id}:{trial}".encode()).hexdigest()[:8], 16))
    if config.agent == "litellm":
        from ..agents.litellm_agent import LiteLLMAgent

        retry = agent_retry(config)
        return lambda task, trial: LiteLLMAgent(config.model, api_base=config.api_base, api_key=config.api_key,
                                                temperature=config.temperature, seed=config.seed + trial,
                                                max_tokens=config.max_tokens, timeout=config.agent_timeout, retry=retry)
    import dataclasses

    from ..agents.hf_agent import DEFAULT_CONTRACT, HFAgent, LocalModel

    overrides = {"tool_format": config.tool_format, "include_policy": config.include_policy,
                 "max_observation_chars": config.max_observation_chars}
    contract = dataclasses.replace(DEFAULT_CONTRACT, **{k: v for k, v in overrides.items() if v is not None})

    print(f"[eval] loading local model {config.model or 'smollm2-135m-instruct'} on {config.device} (built once, then cached)",
          file=sys.stderr, flush=True)
    local = LocalModel.get(config.model, config.device)
    return lambda task, trial: HFAgent(local_model=local, max_new_tokens=config.max_new_tokens, temperature=config.temperature,
                                       seed=config.seed + trial, contract=contract)


def agent_retry(config: EvalConfig) -> RetryPolicy:
    return RetryPolicy(max_attempts=config.agent_attempts, base_delay=config.retry_base_delay, max_delay=config.retry_max_delay)


def check_models(config: EvalConfig, judge: Any, check_agent: bool = True) -> None:
    """``judge.check_model`` for the LiteLLM agent's model and a LiteLLM judge's model: ``FatalModelError`` if one
    cannot be used."""
    from ..judge.core import LiteLLMBackend, check_model

    if check_agent and config.agent == "litellm":
        check_model(config.model, who="agent", api_base=config.api_base, api_key=config.api_key, key_option="--api-key-env",
                    timeout=config.agent_timeout, retry=agent_retry(config))
    backend = getattr(judge, "backend", None)
    if isinstance(backend, LiteLLMBackend):
        check_model(backend.model, who="judge", api_base=backend.api_base, api_key=backend.api_key,
                    key_option="--judge-api-key-env", timeout=backend.timeout, retry=judge.retry)


def _root_cause(exc: BaseException) -> BaseException:
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return exc


# -- one episode ------------------------------------------------------------------------------------------------------
def _clip(text: Any) -> Any:
    if isinstance(text, str) and len(text) > MAX_MESSAGE_CHARS:
        return text[:MAX_MESSAGE_CHARS] + f"\n[{len(text) - MAX_MESSAGE_CHARS} characters not stored]"
    return text


def transcript(action: Any, observation: str, step: int) -> list[dict]:
    """The chat messages for one step, agent-independent: the action as an assistant message, then its
    observation (``tool`` messages for tool calls, an ``environment`` message for an action error)."""
    from ..agents.litellm_agent import tool_messages

    try:
        parsed = parse_action(action)
    except ActionError:
        raw = action if isinstance(action, str) else json.dumps(action, ensure_ascii=False, default=str)
        return [{"role": "assistant", "content": _clip(raw), "invalid_action": True},
                {"role": "environment", "content": _clip(observation)}]
    if parsed.reply is not None:
        return [{"role": "assistant", "content": _clip(parsed.reply)}]
    calls = [{"id": call.call_id or f"call_{step}_{i}", "type": "function",
              "function": {"name": call.name, "arguments": call.arguments if isinstance(call.arguments, str)
                           else json.dumps(call.arguments, ensure_ascii=False, default=str)}}
             for i, call in enumerate(parsed.tool_calls)]
    content = action.get("content") if isinstance(action, dict) else None
    messages = [{"role": "assistant", "content": content if isinstance(content, str) else None, "tool_calls": calls}]
    messages += [{**m, "content": _clip(m["content"])} for m in tool_messages(calls, observation)]
    return messages


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


INVALID_CALL_ERRORS = ("unknown_tool", "invalid_arguments", "invalid_json")


def tool_call_counts(env, invalid_actions: int) -> dict[str, int]:
    """The episode's tool calls (``calls``) and those that were well-formed (``valid``): readable, naming a tool, with
    arguments its schema accepts. A call that ran and found nothing is valid; an unreadable action counts as one
    invalid call."""
    events = env.episode.events if env.episode is not None else []
    invalid = sum(1 for e in events if isinstance(e.result, dict)
                  and (e.result.get("error") or {}).get("type") in INVALID_CALL_ERRORS)
    return {"calls": len(events) + invalid_actions, "valid": len(events) - invalid}


def run_episode_record(env, agent, task: Task, trial: int, config: EvalConfig, judge, hashes: dict[str, str]) -> dict:
    """Run one episode and return its JSONL record. Agent or environment failures become ``status: "error"`` (with
    ``error_kind``, the type of the error that started it); a ``FatalModelError`` is raised."""
    started, started_at = time.perf_counter(), _now()
    recorder = judge.recorder() if judge is not None else None
    env.judge = recorder
    messages: list[dict] = []
    invalid_actions = 0  # actions the environment could not read as a tool call or a reply
    record: dict[str, Any] = {
        "schema": RECORD_SCHEMA, "task_id": task.id, "trial": trial, "status": "ok", "error": None,
        "family": task.family, "category": task.category, "difficulty": task.difficulty, "split": task.split,
        "world_seed": task.world_seed, "world_hash": None, "task_hash": hashes[task.id],
        "agent": config.agent, "model": config.model_id, "judge": config.judge_id,
        "reward": 0.0, "passed": False, "truncated": False, "steps": 0, "verdicts": [], "errored": [],
    }
    try:
        observation, info = env.reset(options={"task_id": task.id})
        record["world_hash"] = info["world_hash"]
        messages.append({"role": "user", "content": observation})
        agent.reset(observation, info)
        while True:
            action = agent.act(observation, info)
            observation, reward, terminated, truncated, step_info = env.step(action)
            messages += transcript(action, observation, step_info["step"])
            invalid_actions += step_info["action_error"] is not None
            if terminated or truncated:
                score = step_info["score"]
                record.update(reward=reward, passed=bool(step_info["passed"]), truncated=bool(truncated), steps=step_info["step"],
                              verdicts=score["verdicts"], errored=score["errored"], final_reply=step_info["final_reply"])
                if truncated:
                    record["truncation_reason"] = step_info.get("truncation_reason")
                record["hack_flags"] = reply_hack_flags(step_info["final_reply"], task.request) if step_info["final_reply"] else []
                break
    except FatalModelError:
        raise  # the run stops: no model request can succeed
    except Exception as exc:  # noqa: BLE001 - the agent (or a bug) failed: record it, never lose the episode
        record.update(status="error", error=f"{type(exc).__name__}: {exc}"[:2000], error_kind=type(_root_cause(exc)).__name__,
                      steps=env.steps)
    record["tool_call_counts"] = tool_call_counts(env, invalid_actions)
    record["messages"] = messages
    record["judge_calls"] = [c.to_dict() for c in recorder.calls] if recorder is not None else []
    usage = getattr(agent, "usage", None)
    record["tokens"] = dict(usage) if isinstance(usage, dict) and any(usage.values()) else None
    stats = getattr(agent, "stats", None)
    record["agent_stats"] = {k: v for k, v in stats.items() if k != "raw_outputs"} if isinstance(stats, dict) else None
    record["latency_s"] = round(time.perf_counter() - started, 4)
    record["started_at"], record["finished_at"] = started_at, _now()
    return record


# -- progress ---------------------------------------------------------------------------------------------------------
class Progress:
    """One status line on stderr: carriage-return updates on a terminal, a line every ~5 % (or 10 s) otherwise."""

    def __init__(self, total: int, skipped: int, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.total, self.skipped, self.stream, self.enabled = total, skipped, stream or sys.stderr, enabled
        self.done = self.passed = self.errors = 0
        self.reward = 0.0
        self.started = time.perf_counter()
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last_print = 0.0
        self._lock = threading.Lock()

    def line(self) -> str:
        elapsed = time.perf_counter() - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        remaining = (self.total - self.done) / rate if rate > 0 else float("nan")
        mean = self.reward / self.done if self.done else 0.0
        eta = f"{remaining:.0f}s" if remaining == remaining else "?"
        return (f"[eval] {self.done}/{self.total} episodes ({self.skipped} already done) | passed {self.passed} | "
                f"mean reward {mean:.3f} | errors {self.errors} | {rate:.2f} eps/s | ETA {eta}")

    def update(self, record: dict) -> None:
        with self._lock:
            self.done += 1
            self.passed += bool(record.get("passed"))
            self.errors += record.get("status") == "error"
            self.reward += float(record.get("reward") or 0.0)
            if not self.enabled:
                return
            now = time.perf_counter()
            step = max(1, self.total // 20)
            if self.tty:
                self.stream.write("\r" + self.line())
            elif self.done % step == 0 or self.done == self.total or now - self._last_print > 10:
                self.stream.write(self.line() + "\n")
            else:
                return
            self._last_print = now
            self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.tty:
            self.stream.write("\n")
            self.stream.flush()


# -- the run ----------------------------------------------------------------------------------------------------------
def _run_header(config: EvalConfig, task_set: TaskSet) -> dict:
    from ..env import system_prompt

    return {"schema": RECORD_SCHEMA, "agent": config.agent, "model": config.model_id, "judge": config.judge_id,
            "max_steps": config.max_steps, "tasks_dir": str(task_set.tasks_dir), "rubrics_dir": str(task_set.rubrics_dir),
            "system_prompt_sha256": hashlib.sha256(system_prompt().encode()).hexdigest(), "system_prompt": system_prompt()}


_IDENTITY = ("agent", "model", "judge", "max_steps")


def _check_resume(run_dir: Path, header: dict) -> dict | None:
    path = run_dir / "run.json"
    if not path.is_file():
        return None
    try:
        previous = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise RunFileError(f"{path} is not valid JSON ({exc})") from None
    different = [f"{k}: {previous.get(k)!r} there, {header[k]!r} now" for k in _IDENTITY if previous.get(k) != header[k]]
    if different:
        raise RunFileError(f"{run_dir} holds a run with other settings ({'; '.join(different)}); resume it with the same "
                           "settings or choose another --out directory")
    return previous


def run_eval(config: EvalConfig, *, judge: Any = None, agent_factory_override: Callable[[Task, int], Any] | None = None,
             stream: TextIO | None = None) -> dict:
    """Run (or resume) the evaluation described by ``config``; returns the summary (also in ``summary.json``).

    ``judge``: a ready judge object (e.g. a ``RubricJudge`` built by a test); by default one is made from
    ``config.judge``. ``agent_factory_override``: a custom ``(task, trial) -> agent``."""
    from ..env import CorecraftEnv
    from ..judge import make_judge

    run_dir = Path(config.out)
    task_set = TaskSet.shared(config.tasks_dir, config.rubrics_dir)
    tasks = select_tasks(task_set, config)
    hashes = {task.id: task_hash(task_set, task) for task in tasks}  # also loads every rubric before threads start
    header = _run_header(config, task_set)
    previous = _check_resume(run_dir, header)
    log = EpisodeLog(run_dir / "episodes.jsonl")
    existing = log.load()
    if log.dropped_torn_line:
        print(f"[eval] dropped a torn last line from {log.path} (an interrupted write); that episode will run again",
              file=stream or sys.stderr)
    changed = sorted({r["task_id"] for r in existing if r["task_id"] in hashes and r.get("task_hash") != hashes[r["task_id"]]})
    if changed:
        raise RunFileError(f"{run_dir}: the content of task(s) {', '.join(changed[:5])} changed since they were run; "
                           "start a new --out directory")
    errored = done_keys(r for r in existing if episode_errored(r)) if config.retry_errors else set()
    done = done_keys(existing) - errored
    items = [(task, trial) for trial in range(config.trials) for task in tasks if (task.id, trial) not in done]
    judge_object = judge if judge is not None else make_judge(
        config.judge, api_base=config.judge_api_base, api_key=config.judge_api_key, timeout=config.judge_timeout,
        max_attempts=config.judge_attempts, base_delay=config.retry_base_delay, max_delay=config.retry_max_delay,
        concurrency=config.judge_concurrency, cache_dir=config.judge_cache_dir, use_cache=config.judge_cache)
    if items:  # before anything is written: a run stopped here can be started again with other settings
        check_models(config, judge_object, check_agent=agent_factory_override is None)
        make_agent = agent_factory_override or agent_factory(config, task_set)  # hf: loads the model
    run_dir.mkdir(parents=True, exist_ok=True)
    if errored:
        log.rewrite([r for r in existing if (r["task_id"], r["trial"]) not in errored])
        print(f"[eval] running {len(errored)} errored episode(s) again (--retry-errors)", file=stream or sys.stderr)
    header["created_at"] = previous.get("created_at") if previous else _now()
    header["updated_at"] = _now()
    header["selection"] = {"split": config.split, "families": config.families, "categories": config.categories,
                           "difficulties": config.difficulties, "task_ids": config.task_ids, "sample": config.sample,
                           "sample_seed": config.sample_seed, "tasks": len(tasks), "trials": config.trials}
    write_json_atomic(run_dir / "run.json", header)

    progress = Progress(len(items), len(done), stream, config.progress)
    if items:
        local = threading.local()

        stopped = threading.Event()  # set by a FatalModelError: the items not yet started are skipped

        def work(task: Task, trial: int) -> dict | None:
            if stopped.is_set():
                return None
            if not hasattr(local, "env"):
                local.env = CorecraftEnv(task_set=task_set, task_ids=[t.id for t in tasks], max_steps=config.max_steps)
            try:
                agent = make_agent(task, trial)
            except Exception as exc:  # noqa: BLE001
                raise RuntimeError(f"cannot create the {config.agent} agent: {exc}") from exc
            try:
                record = run_episode_record(local.env, agent, task, trial, config, judge_object, hashes)
            except FatalModelError:
                stopped.set()
                raise
            log.append(record)
            progress.update(record)
            return record

        # A local model generates one sequence at a time (LocalModel's lock): more threads would only queue up behind
        # it and inflate each episode's recorded latency.
        workers = 1 if config.agent == "hf" else min(config.concurrency, len(items))
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="corecraft-eval")
        try:
            futures = [pool.submit(work, task, trial) for task, trial in items]
            for future in as_completed(futures):
                future.result()  # re-raise a failure outside an episode (e.g. the agent cannot be created)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)  # episodes in flight finish and are written
            raise
        finally:
            pool.shutdown(wait=True)
            log.close()
            progress.close()
    records = log.load(repair=False)
    summary = summarize(records)
    summary["errors"] = first_errors(records)
    summary["run"] = {k: header[k] for k in ("agent", "model", "judge", "max_steps", "created_at", "updated_at")}
    summary["run"]["ran_now"] = len(items)
    summary["run"]["resumed_from"] = len(done)
    write_json_atomic(run_dir / "summary.json", summary)
    return summary


def print_summary(summary: dict, stream: TextIO | None = None) -> None:
    stream = stream or sys.stdout
    run = summary.get("run", {})
    stream.write(f"agent {run.get('agent')}  model {run.get('model') or '—'}  judge {run.get('judge')}  "
                 f"(ran {run.get('ran_now', 0)} episodes now, {run.get('resumed_from', 0)} before)\n")
    stream.write(format_table(summary) + "\n")
