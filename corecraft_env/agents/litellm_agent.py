"""An agent backed by any LiteLLM model, using native (OpenAI-format) tool calling.

It keeps the chat history: the system prompt (``info["system_prompt"]``), the request, then each assistant message
and the ``tool`` messages built from the environment's observations. Its action is the assistant message itself
(``{"role": "assistant", "content": ..., "tool_calls": [...]}``), which the environment accepts as it is: the tool
calls run in order in one step; a message without tool calls is the final reply.

Model calls are retried with exponential backoff on timeouts, rate limits, server errors and unreadable responses
(``corecraft_env.judge.retry``); when the retries are used up ``act`` raises ``AgentError`` and the evaluation
records the episode as errored. litellm is imported on the first call, never at import time.
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable

from ..judge.retry import (
    Attempts,
    FatalModelError,
    RetriesExhausted,
    RetryPolicy,
    call_with_retries,
    describe,
    fatal_hint,
    is_fatal,
)
from ..tools import encode_result


class AgentError(RuntimeError):
    """The agent could not produce an action (its model failed after retries)."""


def tool_messages(calls: list[dict], observation: str) -> list[dict]:
    """``tool`` messages answering ``calls`` (the previous assistant message's tool calls) from one observation.

    One call: the observation is its result. Several: the observation is a JSON list of ``{tool_call_id, name,
    result}`` in call order. Anything else (an action error) answers every call, since the chat format needs a
    ``tool`` message for each call id."""
    def message(call: dict, content: str) -> dict:
        return {"role": "tool", "tool_call_id": call["id"], "name": call["function"]["name"], "content": content}

    if len(calls) == 1:
        return [message(calls[0], observation)]
    try:
        results = json.loads(observation)
    except ValueError:
        results = None
    if isinstance(results, list) and len(results) == len(calls) and all(isinstance(r, dict) and "result" in r for r in results):
        return [message(call, encode_result(r["result"])) for call, r in zip(calls, results, strict=True)]
    return [message(call, observation) for call in calls]


def _as_dict(value: Any) -> dict:
    if isinstance(value, dict):
        return value
    if hasattr(value, "model_dump"):
        return value.model_dump()
    return dict(value)


def assistant_message(message: Any, step: int) -> dict:
    """A plain OpenAI assistant message (dict) from a LiteLLM response message; every tool call gets an id."""
    message = _as_dict(message)
    calls = []
    for i, call in enumerate(message.get("tool_calls") or []):
        call = _as_dict(call)
        function = _as_dict(call.get("function") or {})
        arguments = function.get("arguments")
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments if arguments is not None else {})
        calls.append({"id": call.get("id") or f"call_{step}_{i}", "type": "function",
                      "function": {"name": function.get("name") or "", "arguments": arguments}})
    result: dict = {"role": "assistant", "content": message.get("content")}
    if calls:
        result["tool_calls"] = calls
    elif not isinstance(result["content"], str):
        result["content"] = ""
    return result


def as_action(message: dict) -> dict:
    """The assistant message as an action, with each call's JSON-string arguments decoded to an object when they are
    valid JSON (unreadable arguments are passed on as they are; the environment answers them with an error).

    Decoding here means the trajectory records arguments as objects, which rubric ``tool_called`` checks match on."""
    calls = []
    for call in message.get("tool_calls") or []:
        arguments = call["function"]["arguments"]
        try:
            decoded = json.loads(arguments) if isinstance(arguments, str) else arguments
        except ValueError:
            decoded = arguments
        calls.append({**call, "function": {**call["function"], "arguments": decoded if isinstance(decoded, dict) else arguments}})
    return {**message, "tool_calls": calls} if calls else dict(message)


class LiteLLMAgent:
    """Tool-calling agent over ``litellm.completion``. ``model`` is any LiteLLM model string; ``api_base`` (and
    ``api_key``) point it at an OpenAI-compatible server, e.g. ``model="openai/qwen3", api_base="http://127.0.0.1:8000/v1"``."""

    name = "litellm"

    def __init__(self, model: str, api_base: str | None = None, api_key: str | None = None, temperature: float = 0.0,
                 seed: int | None = None, max_tokens: int | None = 1024, timeout: float = 120.0,
                 retry: RetryPolicy | None = None, extra: dict | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self.model, self.api_base, self.temperature, self.seed = model, api_base, temperature, seed
        self.api_key = api_key if api_key is not None else ("not-needed" if api_base else None)
        self.max_tokens, self.timeout, self.extra, self.sleep = max_tokens, timeout, dict(extra or {}), sleep
        self.retry = retry or RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=20.0)
        self.messages: list[dict] = []
        self.tools: list[dict] = []
        self.usage = {"prompt_tokens": 0, "completion_tokens": 0}
        self.stats = {"model_calls": 0, "attempts": 0, "retries": 0, "errors": []}
        self._pending: list[dict] = []

    def reset(self, observation: str, info: dict) -> None:
        self.messages = [{"role": "system", "content": info["system_prompt"]}, {"role": "user", "content": observation}]
        self.tools = info["tools"]
        self.usage = {"prompt_tokens": 0, "completion_tokens": 0}
        self.stats = {"model_calls": 0, "attempts": 0, "retries": 0, "errors": []}
        self._pending = []

    def act(self, observation: str, info: dict) -> dict:
        if self._pending:
            self.messages.extend(tool_messages(self._pending, observation))
            self._pending = []
        elif self.messages and self.messages[-1]["role"] != "user":
            self.messages.append({"role": "user", "content": observation})  # e.g. an action error
        message = assistant_message(self._complete(), step=len(self.messages))
        self.messages.append(message)
        self._pending = list(message.get("tool_calls") or [])
        return as_action(message)

    def _complete(self) -> Any:
        from ..judge.core import import_litellm

        litellm = import_litellm()
        kwargs: dict[str, Any] = dict(model=self.model, messages=self.messages, tools=self.tools, temperature=self.temperature,
                                      timeout=self.timeout, num_retries=0, max_retries=0, drop_params=True, **self.extra)
        for name, value in (("seed", self.seed), ("max_tokens", self.max_tokens), ("api_base", self.api_base), ("api_key", self.api_key)):
            if value is not None:
                kwargs[name] = value

        def once():
            response = litellm.completion(**kwargs)
            try:
                return response, response.choices[0].message
            except (AttributeError, IndexError, TypeError) as exc:
                from ..judge.retry import MalformedOutput

                raise MalformedOutput(f"the completion has no message: {exc}") from None

        attempts = Attempts()
        try:
            response, message = call_with_retries(once, self.retry, attempts, sleep=self.sleep)
        except RetriesExhausted as exc:
            raise AgentError(f"model {self.model} failed after {exc.attempts.count} attempt(s): {exc.attempts.errors[-1]}") from exc
        except Exception as exc:
            if is_fatal(exc):
                raise FatalModelError(f"the agent's model {self.model} failed: {describe(exc)}; {fatal_hint(exc)}") from exc
            raise AgentError(f"model {self.model} failed: {type(exc).__name__}: {exc}") from exc
        finally:
            self.stats["model_calls"] += 1
            self.stats["attempts"] += attempts.count
            self.stats["retries"] += attempts.retries
            self.stats["errors"] += attempts.errors
        usage = getattr(response, "usage", None)
        for name in self.usage:
            self.usage[name] += getattr(usage, name, 0) or 0
        return message
