"""Parse one environment action: tool calls or the final reply, in the forms agents actually send.

Accepted (as a dict, or a JSON string of one):

* a tool call: ``{"tool": "getOrderDetails", "arguments": {"order_id": "ord-250830-110"}}`` (``"name"`` works too;
  ``arguments`` may be an object or a JSON string);
* an OpenAI tool call: ``{"id": "call_1", "type": "function", "function": {"name": ..., "arguments": "{...}"}}``;
* an OpenAI assistant message: ``{"role": "assistant", "content": ..., "tool_calls": [...]}``, or just
  ``{"tool_calls": [...]}``: its tool calls run in order in one step; without tool calls, its content is the
  final reply;
* the final reply: ``{"reply": "Your refund of $90.00 ..."}``.

Anything else is an ``ActionError`` whose message says what was expected; the environment returns it as an
observation and the episode goes on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

ACTION_FORMAT = (
    'Send one JSON object per step: a tool call {"tool": "<name>", "arguments": {...}}, an OpenAI tool call or '
    'assistant message with "tool_calls", or the final reply {"reply": "<text>"} (ends the episode).'
)
MAX_TOOL_CALLS_PER_STEP = 16
MAX_NESTING = 64  # JSON deeper than this is refused: no tool needs it, and recursive code downstream would choke on it


class ActionError(ValueError):
    """An action the environment cannot interpret; the message tells the agent how to fix it."""


@dataclass(frozen=True)
class ParsedToolCall:
    name: str
    arguments: Any  # dict, JSON string or junk: the tool registry validates and explains
    call_id: str | None = None


@dataclass(frozen=True)
class ParsedAction:
    tool_calls: tuple[ParsedToolCall, ...] = ()
    reply: str | None = None


def _tool_call(item: Any, where: str) -> ParsedToolCall:
    if not isinstance(item, dict):
        raise ActionError(f"{where} must be an object, got {type(item).__name__}. {ACTION_FORMAT}")
    function = item.get("function")
    if isinstance(function, dict):  # OpenAI form
        name, arguments = function.get("name"), function.get("arguments", {})
    else:
        name, arguments = item.get("tool", item.get("name")), item.get("arguments", {})
    if not isinstance(name, str) or not name:
        raise ActionError(f"{where} has no tool name. {ACTION_FORMAT}")
    call_id = item.get("id")
    return ParsedToolCall(name=name, arguments=arguments, call_id=call_id if isinstance(call_id, str) else None)


def nested_deeper_than(value: Any, limit: int) -> bool:
    """Whether lists and dicts nest more than ``limit`` levels deep in ``value`` (iterative: safe at any depth)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list, tuple)):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return False


def decode_arguments(arguments: Any) -> Any:
    """Tool-call arguments sent as JSON text, decoded; the text itself when it is not JSON or nests deeper than
    ``MAX_NESTING`` (the tool registry then explains what is wrong with it)."""
    if not isinstance(arguments, str):
        return arguments
    try:
        decoded = json.loads(arguments)
    except (ValueError, RecursionError):
        return arguments
    return arguments if nested_deeper_than(decoded, MAX_NESTING) else decoded


def parse_action(action: Any) -> ParsedAction:
    if isinstance(action, (bytes, bytearray)):
        action = action.decode("utf-8", errors="replace")
    if isinstance(action, str):
        try:
            action = json.loads(action)
        except (ValueError, RecursionError) as exc:
            raise ActionError(f"the action is not valid JSON ({str(exc)[:120]}). {ACTION_FORMAT}") from None
    if nested_deeper_than(action, MAX_NESTING):
        raise ActionError(f"the action nests more than {MAX_NESTING} levels deep; tool arguments are flat objects. {ACTION_FORMAT}")
    if not isinstance(action, dict):
        raise ActionError(f"the action must be a JSON object, got {type(action).__name__}. {ACTION_FORMAT}")
    if "reply" in action:
        if not isinstance(action["reply"], str):
            raise ActionError(f'"reply" must be a string, got {type(action["reply"]).__name__}')
        return ParsedAction(reply=action["reply"])
    if "tool_calls" in action or action.get("role") == "assistant":
        calls = action.get("tool_calls") or []
        if not isinstance(calls, list):
            raise ActionError(f'"tool_calls" must be a list, got {type(calls).__name__}')
        if len(calls) > MAX_TOOL_CALLS_PER_STEP:
            raise ActionError(f"{len(calls)} tool calls in one step; send at most {MAX_TOOL_CALLS_PER_STEP}")
        if not calls:
            content = action.get("content") or ""
            if not isinstance(content, str):
                raise ActionError('an assistant message without tool calls needs string "content" (the final reply)')
            return ParsedAction(reply=content)
        return ParsedAction(tool_calls=tuple(_tool_call(c, f"tool_calls[{i}]") for i, c in enumerate(calls)))
    if "function" in action or "tool" in action or "name" in action:
        return ParsedAction(tool_calls=(_tool_call(action, "the tool call"),))
    raise ActionError(f"unrecognised action with keys {sorted(map(str, action))[:10]}. {ACTION_FORMAT}")
