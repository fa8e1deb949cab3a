"""Retries with exponential backoff for calls to model servers (the judge and the LiteLLM agent share it).

Transient failures are retried: timeouts, connection errors, rate limits (429), server errors (5xx) and output that
cannot be parsed (``MalformedOutput``). Anything else fails at once, since repeating it cannot help; of those, the
ones that every later request would meet as well (a wrong or missing key, an unknown model, a bad request: see
``is_fatal``) stop a whole evaluation (``FatalModelError``). Nothing here imports litellm: errors are classified by
their ``status_code``, class name and, for the missing key that LiteLLM reports as a server error, their message,
which covers litellm's, openai's and httpx's exception types alike.
"""

from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass, field
from typing import Callable, TypeVar

T = TypeVar("T")

_TRANSIENT_NAMES = ("Timeout", "RateLimit", "Connection", "ServiceUnavailable", "InternalServer", "BadGateway",
                    "RemoteProtocol", "ReadError", "JSONDecodeError")

_FATAL_NAMES = ("Authentication", "PermissionDenied", "NotFound", "BadRequest", "UnprocessableEntity", "UnsupportedParams")
_FATAL_STATUSES = (400, 401, 403, 404, 422)
# About one request's content, not the model: other requests can succeed.
_REQUEST_NAMES = ("ContextWindowExceeded", "ContentPolicyViolation")
# The OpenAI client without a key: LiteLLM raises it as an InternalServerError (status 500).
_MISSING_KEY = re.compile(r"missing credentials|api_key client option must be set", re.I)


class MalformedOutput(ValueError):
    """A model answered, but not in the form asked for (e.g. not the JSON verdict); worth asking again."""


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` is worth retrying (see the module docstring)."""
    if isinstance(exc, (MalformedOutput, TimeoutError, ConnectionError)):
        return True
    if _MISSING_KEY.search(str(exc)):
        return False
    status = getattr(exc, "status_code", None)
    if isinstance(status, int) and status > 0:
        return status in (408, 409, 425, 429) or status >= 500
    return any(name in type(exc).__name__ for name in _TRANSIENT_NAMES)


def is_fatal(exc: BaseException) -> bool:
    """Whether every request to the same model will fail as ``exc`` did: a missing or wrong key (401, 403), an unknown
    model (404), a request the server cannot take (400, 422). A context window exceeded or a content filter is about
    one request only, and a transient error is not fatal."""
    if is_transient(exc) or any(name in type(exc).__name__ for name in _REQUEST_NAMES):
        return False
    if _MISSING_KEY.search(str(exc)):
        return True
    status = getattr(exc, "status_code", None)
    if isinstance(status, int) and status > 0:
        return status in _FATAL_STATUSES
    return any(name in type(exc).__name__ for name in _FATAL_NAMES)


class FatalModelError(RuntimeError):
    """A model cannot be used at all (see ``is_fatal``): an evaluation stops at once. The message says why and what to do."""


def fatal_hint(exc: BaseException, key_option: str | None = None) -> str:
    """What to check for a fatal error (see ``is_fatal``); ``key_option`` names the option that sets the key."""
    status = getattr(exc, "status_code", None)
    name = type(exc).__name__
    if _MISSING_KEY.search(str(exc)) or status == 401 or "Authentication" in name:
        return "check the API key" + (f" ({key_option} names the variable holding it)" if key_option else "")
    if status == 403 or "PermissionDenied" in name:
        return "check that the API key may use this model"
    if status == 404 or "NotFound" in name:
        return "check the model name and the API base URL"
    return "check the model string and the options sent with it"


@dataclass(frozen=True)
class RetryPolicy:
    """``max_attempts`` tries in all; the n-th retry waits ``base_delay * 2**(n-1)`` (at most ``max_delay``), ±``jitter``."""

    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    jitter: float = 0.1

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("retry delays must be non-negative")

    def delay(self, retry: int, rng: random.Random | None = None) -> float:
        base = min(self.max_delay, self.base_delay * 2 ** (retry - 1))
        spread = base * self.jitter
        return max(0.0, base + (rng or random).uniform(-spread, spread))


@dataclass
class Attempts:
    """What a retried call went through: the number of attempts and the error of each failed one."""

    count: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def retries(self) -> int:
        return max(0, self.count - 1)


class RetriesExhausted(RuntimeError):
    def __init__(self, message: str, attempts: Attempts) -> None:
        super().__init__(message)
        self.attempts = attempts


def describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


def call_with_retries(fn: Callable[[], T], policy: RetryPolicy, attempts: Attempts | None = None,
                      sleep: Callable[[float], None] = time.sleep) -> T:
    """Run ``fn`` until it succeeds, a non-transient error occurs or ``policy.max_attempts`` are used up.

    ``attempts`` (updated in place) records every try; the final failure is raised as ``RetriesExhausted`` (its
    ``__cause__`` the last error), a non-transient error is re-raised as it is.
    """
    attempts = attempts if attempts is not None else Attempts()
    while True:
        attempts.count += 1
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - classified below
            attempts.errors.append(describe(exc))
            if not is_transient(exc):
                raise
            if attempts.count >= policy.max_attempts:
                raise RetriesExhausted(f"{attempts.count} attempt(s) failed; last: {describe(exc)}", attempts) from exc
            sleep(policy.delay(attempts.count))
