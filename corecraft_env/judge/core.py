"""The rubric judge: decides ``judge`` criteria with a model (any LiteLLM model string) or a user callable.

``RubricJudge`` implements the environment's ``Judge`` protocol (``judge(task, criterion, episode) -> (passed,
reason)``, ``JudgeError`` when it cannot decide) around a *backend*, and adds what every backend needs:

* the verdict cache (``VerdictCache``), keyed by judge identity + criterion + trajectory content;
* retries with exponential backoff on transient failures and malformed answers (``retry.RetryPolicy``); when they
  are used up the judge raises ``JudgeError`` and the scorer marks the criterion *errored*;
* bounded concurrency: one semaphore, shared by every episode that uses this judge object, limits calls in flight;
* fatal errors: a failure that every request would meet (a wrong key, an unknown model; ``retry.is_fatal``)
  raises ``FatalModelError`` at once, without retrying. ``check_model`` meets it before a run, so ``corecraft eval``
  stops before the first episode; met later (a key revoked mid-run), the scorer makes the criterion *errored*, as
  for any judge exception (never an exception out of ``env.step``), and the run exits non-zero with it reported;
* a side channel: each decision is a ``JudgeCall`` (attempts, retries, errors, cache hit, latency, tokens) that a
  ``JudgeRecorder`` collects per episode, so an evaluation can report them.

``make_judge(spec)`` builds one from a string: ``None``/``"none"`` (no judge: the rubric's deterministic fallbacks
decide), ``"py:package.module:function"`` (a callable with the ``Judge`` signature), or a LiteLLM model string
(``"openai/gpt-4o-mini"``, ``"openai/my-model"`` with ``api_base`` for an OpenAI-compatible local server,
``"ollama/llama3.1"``, …).
"""

from __future__ import annotations

import difflib
import importlib
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from ..tasks import Criterion, Episode, JudgeError, Task
from .cache import VerdictCache, content_hash
from .prompt import PROMPT_VERSION, build_messages, judge_input, parse_verdict
from .retry import (
    Attempts,
    FatalModelError,
    RetriesExhausted,
    RetryPolicy,
    call_with_retries,
    describe,
    fatal_hint,
    is_fatal,
)

CHECK_MESSAGES = ({"role": "user", "content": "Reply with the word OK."},)  # the one cheap request of check_model


def import_litellm():
    """litellm, imported on first use with its remote model-cost-map fetch turned off (everything runs offline)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.telemetry = False
    litellm.suppress_debug_info = True  # no "Give Feedback" banner on every retried error
    return litellm


def check_model(model: str, *, who: str, api_base: str | None = None, api_key: str | None = None,
                key_option: str | None = None, timeout: float = 60.0, retry: RetryPolicy | None = None,
                sleep: Callable[[float], None] = time.sleep) -> None:
    """Check before a run that ``model`` (a LiteLLM model string) can answer, so a wrong name or key fails at once.

    LiteLLM's own validation first (the provider is known; its key variable is set unless ``api_key`` or ``api_base``
    is given), then one request of a single token, retried like any other on transient errors. Raises
    ``FatalModelError`` saying what is wrong and what to do; ``who`` names the model's role ("agent", "judge"), and
    ``key_option`` the command-line option that names the variable holding the key, if there is one."""
    litellm = import_litellm()
    try:
        litellm.get_llm_provider(model, api_base=api_base)
    except Exception:  # noqa: BLE001 - litellm raises BadRequestError: no provider prefix, or an unknown one
        provider = model.split("/", 1)[0] if "/" in model else None
        providers = [str(getattr(p, "value", p)) for p in litellm.provider_list]
        close = difflib.get_close_matches(provider or model, providers if provider else litellm.model_list, n=1)
        guess = f"{close[0]}/{model.split('/', 1)[1]}" if close and provider else (close[0] if close else None)
        what = f"the provider {provider!r} is unknown to LiteLLM" if provider else "it names no provider"
        raise FatalModelError(f"{who} model {model!r}: {what}; write provider/model, e.g. openai/gpt-4o-mini"
                              + (f" (did you mean {guess!r}?)" if guess else "")) from None
    if api_key is None and not api_base:
        missing = litellm.validate_environment(model)["missing_keys"]
        if missing:
            raise FatalModelError(f"{who} model {model}: {', '.join(missing)} is not set; export it"
                                  + (f", or name the variable holding the key with {key_option}" if key_option else ""))
    backend = LiteLLMBackend(model, api_base=api_base, api_key=api_key, timeout=timeout, max_tokens=1, json_mode=False)
    attempts = Attempts()
    try:
        call_with_retries(lambda: backend(list(CHECK_MESSAGES)), retry or RetryPolicy(), attempts, sleep=sleep)
    except RetriesExhausted as exc:
        raise FatalModelError(f"{who} model {model} did not answer a test request in {exc.attempts.count} attempt(s): "
                              f"{exc.attempts.errors[-1]}; check that the server is up (and the API base URL)") from None
    except Exception as exc:  # noqa: BLE001 - non-transient: fatal or not, the run cannot go on without this model
        raise FatalModelError(f"{who} model {model} refused a test request: {describe(exc)}; {fatal_hint(exc, key_option)}") from None


@dataclass
class JudgeCall:
    """One decision of the judge: the side channel an evaluation reports."""

    task_id: str
    criterion_id: str
    judge: str
    passed: bool | None
    reason: str
    cached: bool = False
    attempts: int = 0
    retries: int = 0
    errors: list[str] = field(default_factory=list)
    latency_s: float = 0.0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None

    @property
    def errored(self) -> bool:
        return self.passed is None

    def to_dict(self) -> dict:
        return asdict(self)


class LiteLLMBackend:
    """Asks a LiteLLM model; returns its message text and token usage. ``api_base`` points at any OpenAI-compatible
    server (vLLM, llama.cpp, Ollama, LM Studio); ``api_key`` defaults to a placeholder when one is given."""

    def __init__(self, model: str, api_base: str | None = None, api_key: str | None = None, temperature: float = 0.0,
                 seed: int | None = 0, timeout: float = 60.0, max_tokens: int = 400, json_mode: bool = True,
                 extra: dict | None = None) -> None:
        self.model, self.api_base, self.temperature, self.seed = model, api_base, temperature, seed
        self.api_key = api_key if api_key is not None else ("not-needed" if api_base else None)
        self.timeout, self.max_tokens, self.json_mode, self.extra = timeout, max_tokens, json_mode, dict(extra or {})

    @property
    def identity(self) -> dict:
        return {"model": self.model, "temperature": self.temperature, "seed": self.seed, "max_tokens": self.max_tokens}

    def __call__(self, messages: list[dict]) -> tuple[str, dict]:
        litellm = import_litellm()
        kwargs: dict[str, Any] = dict(model=self.model, messages=messages, temperature=self.temperature, timeout=self.timeout,
                                      max_tokens=self.max_tokens, num_retries=0, max_retries=0, drop_params=True, **self.extra)
        if self.seed is not None:
            kwargs["seed"] = self.seed
        if self.json_mode:
            kwargs["response_format"] = {"type": "json_object"}
        if self.api_base:
            kwargs["api_base"] = self.api_base
        if self.api_key:
            kwargs["api_key"] = self.api_key
        response = litellm.completion(**kwargs)
        try:
            content = response.choices[0].message.content
        except (AttributeError, IndexError, TypeError) as exc:
            from .retry import MalformedOutput

            raise MalformedOutput(f"the completion has no message: {exc}") from None
        usage = getattr(response, "usage", None)
        tokens = {"prompt_tokens": getattr(usage, "prompt_tokens", None), "completion_tokens": getattr(usage, "completion_tokens", None)}
        return content or "", tokens


class RubricJudge:
    """A ``Judge`` for ``judge`` criteria over a backend. ``backend`` is either a ``LiteLLMBackend``-like callable
    taking chat messages and returning ``(text, usage)`` (``takes_messages=True``), or a user callable with the
    ``Judge`` signature ``(task, criterion, episode)`` returning ``(passed, reason)``, a bool, a dict
    ``{"reason", "verdict"}`` or that JSON as text."""

    def __init__(self, backend: Callable, judge_id: str, *, takes_messages: bool = False, identity: dict | None = None,
                 cache: VerdictCache | None = None, retry: RetryPolicy | None = None, concurrency: int = 4,
                 semaphore: threading.Semaphore | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        if concurrency < 1:
            raise ValueError(f"judge concurrency must be at least 1, got {concurrency}")
        self.backend, self.judge_id, self.takes_messages = backend, judge_id, takes_messages
        self.identity = {"judge": judge_id, "prompt": PROMPT_VERSION, **(identity or {})}
        self.cache, self.retry, self.sleep = cache, retry or RetryPolicy(), sleep
        self.semaphore = semaphore or threading.BoundedSemaphore(concurrency)
        self._lock = threading.Lock()
        self.stats = {"calls": 0, "cached": 0, "attempts": 0, "retries": 0, "errored": 0}

    def __repr__(self) -> str:
        return f"RubricJudge({self.judge_id!r})"

    # -- the Judge protocol -----------------------------------------------------------------------------------------
    def __call__(self, task: Task, criterion: Criterion, episode: Episode) -> tuple[bool, str]:
        call = self.decide(task, criterion, episode)
        if call.errored:
            raise JudgeError(call.reason)
        return bool(call.passed), call.reason

    def recorder(self) -> "JudgeRecorder":
        return JudgeRecorder(self)

    # -- deciding ---------------------------------------------------------------------------------------------------
    def cache_key(self, task: Task, criterion: Criterion, episode: Episode) -> str:
        return content_hash({
            "judge": self.identity,
            "criterion": {"id": criterion.id, "description": criterion.description, "kind": criterion.kind},
            "task": {"id": task.id, "request": task.request, "requester": task.requester},
            "trajectory": {"events": [[e.name, e.arguments, e.result] for e in episode.events],
                           "writes": sorted(set(map(tuple, episode.writes))), "final_reply": episode.final_reply},
        })

    def decide(self, task: Task, criterion: Criterion, episode: Episode) -> JudgeCall:
        started = time.perf_counter()
        call = JudgeCall(task.id, criterion.id, self.judge_id, None, "")
        key = self.cache_key(task, criterion, episode) if self.cache is not None else None
        entry = self.cache.get(key) if key else None
        if entry is not None:
            call.passed, call.reason, call.cached = entry["passed"], entry["reason"], True
        else:
            attempts = Attempts()
            usage: dict = {}
            try:
                passed, reason = call_with_retries(lambda: self._attempt(task, criterion, episode, usage), self.retry,
                                                   attempts, sleep=self.sleep)
                call.passed, call.reason = passed, reason
                if key:
                    self.cache.put(key, {"passed": passed, "reason": reason, "judge": self.judge_id, "criterion_id": criterion.id,
                                         "task_id": task.id, "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
            except RetriesExhausted as exc:
                call.reason = f"judge {self.judge_id} gave no verdict after {exc.attempts.count} attempt(s): {exc.attempts.errors[-1]}"
            except Exception as exc:  # noqa: BLE001 - a non-transient failure (bad request, bad key, a bug in a callable)
                if is_fatal(exc):
                    raise FatalModelError(f"judge {self.judge_id} failed: {describe(exc)}; {fatal_hint(exc)}") from exc
                call.reason = f"judge {self.judge_id} failed (not retried): {describe(exc)}"
            call.attempts, call.retries, call.errors = attempts.count, attempts.retries, attempts.errors
            call.prompt_tokens, call.completion_tokens = usage.get("prompt_tokens"), usage.get("completion_tokens")
        call.latency_s = round(time.perf_counter() - started, 4)
        with self._lock:
            self.stats["calls"] += 1
            self.stats["cached"] += call.cached
            self.stats["attempts"] += call.attempts
            self.stats["retries"] += call.retries
            self.stats["errored"] += call.errored
        return call

    def _attempt(self, task: Task, criterion: Criterion, episode: Episode, usage: dict) -> tuple[bool, str]:
        with self.semaphore:
            if self.takes_messages:
                text, tokens = self.backend(build_messages(judge_input(task, criterion, episode)))
                for name, value in (tokens or {}).items():
                    if value is not None:
                        usage[name] = usage.get(name, 0) + value
                output: Any = text
            else:
                output = self.backend(task, criterion, episode)
        return parse_verdict(output)


class JudgeRecorder:
    """A per-episode view of a shared ``RubricJudge`` that keeps the ``JudgeCall`` of each decision."""

    def __init__(self, judge: RubricJudge) -> None:
        self.judge = judge
        self.calls: list[JudgeCall] = []

    def __call__(self, task: Task, criterion: Criterion, episode: Episode) -> tuple[bool, str]:
        call = self.judge.decide(task, criterion, episode)
        self.calls.append(call)
        if call.errored:
            raise JudgeError(call.reason)
        return bool(call.passed), call.reason


def _load_callable(reference: str) -> Callable:
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"a callable judge is written py:package.module:function, got py:{reference}")
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import judge module {module_name!r}: {exc}") from None
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise ValueError(f"judge module {module_name!r} has no attribute {attribute!r}")
        target = getattr(target, part)
    if not callable(target):
        raise ValueError(f"judge {reference!r} is not callable")
    return target


def make_judge(spec: str | Callable | None, *, api_base: str | None = None, api_key: str | None = None,
               temperature: float = 0.0, seed: int | None = 0, timeout: float = 60.0, max_attempts: int = 4,
               base_delay: float = 0.5, max_delay: float = 8.0, concurrency: int = 4,
               cache_dir: str | os.PathLike | None = None, use_cache: bool = True, json_mode: bool = True,
               judge_id: str | None = None) -> RubricJudge | None:
    """A judge from a spec (see the module docstring); ``None`` for no judge (deterministic fallbacks decide)."""
    if spec is None or (isinstance(spec, str) and spec.strip().lower() in ("", "none", "fallback")):
        return None
    cache = VerdictCache(cache_dir) if use_cache else None
    retry = RetryPolicy(max_attempts=max_attempts, base_delay=base_delay, max_delay=max_delay)
    common = dict(cache=cache, retry=retry, concurrency=concurrency)
    if callable(spec):
        name = judge_id or f"py:{getattr(spec, '__module__', '?')}:{getattr(spec, '__qualname__', type(spec).__name__)}"
        return RubricJudge(spec, name, **common)
    if not isinstance(spec, str):
        raise TypeError(f"judge must be a model string, 'py:module:function', a callable or None, got {type(spec).__name__}")
    if spec.startswith("py:"):
        return RubricJudge(_load_callable(spec[3:]), judge_id or spec, **common)
    backend = LiteLLMBackend(spec, api_base=api_base, api_key=api_key, temperature=temperature, seed=seed, timeout=timeout,
                             json_mode=json_mode)
    return RubricJudge(backend, judge_id or spec, takes_messages=True, identity=backend.identity, **common)
