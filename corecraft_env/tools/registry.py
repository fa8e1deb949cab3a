"""The tool registry: the one way any consumer (environment, MCP server, trainer, user code) calls a tool.

``ToolRegistry.call(conn, name, arguments)`` never raises. It parses the arguments (a dict or a JSON string),
validates them against the tool's schema with a validator compiled once, runs the tool, and returns its
JSON-serialisable result; every failure comes back as ``{"error": {"type": ..., "message": ...}}`` with a message a
model can act on. A write tool runs inside a savepoint, so a tool that fails half-way leaves the world untouched.
"""

from __future__ import annotations

import json
import math
import sqlite3
from typing import Any, Iterable

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from .base import Db, Tool, ToolError


def _has_non_finite(value: Any) -> bool:
    """NaN or ±Infinity anywhere in the arguments (valid Python floats, but never valid amounts or JSON)."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_non_finite(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_non_finite(v) for v in value)
    return False


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def error_result(error_type: str, message: str) -> dict:
    return {"error": {"type": error_type, "message": message}}


def _describe_schema_error(error) -> str:
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
    message = error.message
    if len(message) > 300:  # a huge rejected value would otherwise be echoed back in full
        message = message[:300] + "…"
    return f"argument {where!r}: {message}" if where else message


class ToolRegistry:
    """An ordered set of tools with compiled validators."""

    def __init__(self, tools: Iterable[Tool]) -> None:
        self._tools: dict[str, Tool] = {}
        self._validators: dict[str, Draft202012Validator] = {}
        for item in tools:
            if item.name in self._tools:
                raise ValueError(f"duplicate tool name {item.name!r}")
            Draft202012Validator.check_schema(item.parameters)
            self._tools[item.name] = item
            self._validators[item.name] = Draft202012Validator(item.parameters)

    def __len__(self) -> int:
        return len(self._tools)

    def __iter__(self):
        return iter(self._tools.values())

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __getitem__(self, name: str) -> Tool:
        return self._tools[name]

    @property
    def names(self) -> list[str]:
        return list(self._tools)

    def openai_tools(self) -> list[dict]:
        """Every tool in OpenAI function-calling format."""
        return [item.openai() for item in self._tools.values()]

    def validation_error(self, name: str, arguments: Any) -> dict | None:
        """The error result for a call that cannot run (unknown tool, unparseable or invalid arguments), else None."""
        if name not in self._tools:
            return error_result("unknown_tool", f"there is no tool named {str(name)[:100]!r}; available tools: {', '.join(self._tools)}")
        validator = self._validators[name]
        if _has_non_finite(arguments):
            return error_result("invalid_arguments", f"{name}: arguments contain NaN or Infinity; numbers must be finite")
        if not validator.is_valid(arguments):
            return error_result("invalid_arguments", f"{name}: {_describe_schema_error(best_match(validator.iter_errors(arguments)))}")
        return None

    def call(self, conn: sqlite3.Connection, name: str, arguments: dict | str | None = None) -> dict:
        """Run one tool call against an episode's world and return its result or an error result (never raises)."""
        if arguments is None or arguments == "":
            arguments = {}
        if isinstance(arguments, (str, bytes)):
            try:
                arguments = json.loads(arguments, parse_constant=_reject_constant)
            except (ValueError, RecursionError) as exc:
                return error_result("invalid_json", f"{name}: arguments are not valid JSON ({str(exc)[:200]}); send a JSON object")
        invalid = self.validation_error(name, arguments)
        if invalid:
            return invalid
        tool = self._tools[name]
        db = Db(conn)
        try:
            if not tool.writes:
                return tool.function(db, **arguments)
            conn.execute("SAVEPOINT tool_call")
            try:
                result = tool.function(db, **arguments)
            except BaseException:
                conn.execute("ROLLBACK TO tool_call")
                raise
            finally:
                conn.execute("RELEASE tool_call")
            return result
        except ToolError as exc:
            return error_result(exc.type, f"{name}: {exc.message}")
        except sqlite3.IntegrityError as exc:
            return error_result("integrity_error", f"{name}: the change would break data integrity ({exc})")
        except Exception as exc:  # noqa: BLE001 - a tool bug must become a result, never kill the caller's episode
            return error_result("internal_error", f"{name}: the tool failed ({type(exc).__name__}: {str(exc)[:200]}); nothing was changed")
