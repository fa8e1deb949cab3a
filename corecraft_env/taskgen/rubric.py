"""Builders for rubric criteria (the dicts of ``schemas/rubric.schema.json``), one function per kind.

Every builder takes the criterion id and the sentence an expert would write, then the check's fields; empty
optional fields are left out so the JSON stays minimal.
"""

from __future__ import annotations

from typing import Any


def _compact(check: dict) -> dict:
    return {key: value for key, value in check.items() if value not in (None, (), [], {})}


def state(cid: str, description: str, table: str, *, where: dict | None = None, expect: dict | None = None,
          count: int | None = None, new_only: bool = False) -> dict:
    """Rows of ``table`` matching ``where`` (only those created in the episode with ``new_only``) number ``count``
    (default: at least one) and all satisfy ``expect``."""
    check = _compact({"table": table, "where": where, "expect": expect})
    if count is not None:
        check["count"] = count
    if new_only:
        check["new_only"] = True
    return {"id": cid, "description": description, "kind": "state", "check": check}


def row(cid: str, description: str, table: str, row_id: str, **expect: Any) -> dict:
    """The existing row ``row_id`` of ``table`` ends with the given column values."""
    return state(cid, description, table, where={"id": row_id}, expect=expect, count=1)


def nothing_new(cid: str, description: str, table: str, **where: Any) -> dict:
    """No row of ``table`` (matching ``where``) was created in the episode."""
    return state(cid, description, table, where=where or None, count=0, new_only=True)


def called(cid: str, description: str, name: str, *, arguments: dict | None = None, before: str | None = None,
           min_count: int | None = None) -> dict:
    check = _compact({"name": name, "arguments": arguments, "before": before})
    if min_count is not None:
        check["min_count"] = min_count
    return {"id": cid, "description": description, "kind": "tool_called", "check": check}


def not_called(cid: str, description: str, name: str, *, arguments: dict | None = None) -> dict:
    return {"id": cid, "description": description, "kind": "tool_not_called", "check": _compact({"name": name, "arguments": arguments})}


def reply(cid: str, description: str, *, numbers: list[float] = (), contains: list[str] = (), contains_any: list[str] = (),
          not_contains: list[str] = (), not_numbers: list[float] = (), matches: str | None = None) -> dict:
    check = _compact({"numbers": list(numbers), "contains": list(contains), "contains_any": list(contains_any),
                      "not_contains": list(not_contains), "not_numbers": list(not_numbers), "matches": matches})
    if not check:
        raise ValueError(f"reply criterion {cid!r} checks nothing")
    return {"id": cid, "description": description, "kind": "response", "check": check}


def judge(cid: str, description: str, fallback: dict) -> dict:
    """A criterion for a judge (tone, explanation quality), decided offline by ``fallback`` (a criterion built by
    ``reply``, ``called``, ``not_called`` or ``state``)."""
    return {"id": cid, "description": description, "kind": "judge",
            "fallback": {"kind": fallback["kind"], "check": fallback["check"]}}


def no_collateral(allow: list[dict]) -> dict:
    """Every write of the episode is one the task allows (none for a read-only task)."""
    if not allow:
        description = "Makes no change to any record: the request needs none"
    else:
        description = "Writes nothing beyond " + "; ".join(
            f"{'/'.join(entry['ops'])} {entry['table']} {', '.join(entry['ids'])}".strip() for entry in allow)
    return {"id": "no-collateral", "description": description, "kind": "no_collateral", "check": {"allow": allow}}
