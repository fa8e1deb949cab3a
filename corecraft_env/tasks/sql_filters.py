"""``state`` criteria's ``where`` matchers as SQL, so that a check reads only the rows it can match.

``where_sql`` turns each matcher into a condition that every row the matcher accepts satisfies (the same value
semantics as ``criteria.matches``: numbers within their tolerance by the same float arithmetic, strings exactly,
booleans only equal booleans, None only NULL). The caller still applies ``matches`` to the rows SQL returns, so a
condition may let through a row the matcher then rejects (a number stored in a text column), never the reverse.

Pushed: literals and ``eq``, ``ne``, ``in``, ``not_in``, ``gt``, ``gte``, ``lt``, ``lte``, ``approx`` and ``is_null``
on plain and flag columns. Left to Python, over the rows the other matchers selected: ``contains`` (Unicode case
folding, which SQLite's ``lower`` lacks), ``contains_all`` and ``same_items``, and any matcher on a JSON column
(compared decoded, with Python's equality).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from ..tools.base import BOOL_FIELDS, JSON_FIELDS
from ..world.schema import CONTENT_TABLES
from .criteria import MONEY_TOLERANCE, _is_number

ALWAYS, NEVER = "1", "0"
Condition = tuple[str, list]


def _equals(column: str, value: Any, is_flag: bool, tolerance: float) -> Condition | None:
    """Rows whose value ``criteria._equal`` finds equal to ``value`` (a flag column's values are read as booleans)."""
    if isinstance(value, bool):
        if not is_flag:
            return NEVER, []  # only flag columns are read as booleans
        return (f'"{column}" != 0', []) if value else (f'("{column}" IS NULL OR "{column}" = 0)', [])
    if is_flag:
        return NEVER, []  # a boolean equals no number, string or None
    if value is None:
        return f'"{column}" IS NULL', []
    if isinstance(value, str):
        return f'"{column}" = ?', [value]
    if _is_number(value):
        return f'abs("{column}" - ?) <= ?', [value, tolerance]
    if isinstance(value, (list, dict)):
        return NEVER, []  # a plain column never holds a list or an object
    return None


def _not_equals(column: str, value: Any, is_flag: bool, tolerance: float) -> Condition | None:
    """Rows whose value ``criteria._equal`` finds different from ``value``."""
    if isinstance(value, bool):
        if not is_flag:
            return ALWAYS, []
        return (f'("{column}" IS NULL OR "{column}" = 0)', []) if value else (f'"{column}" != 0', [])
    if is_flag:
        return ALWAYS, []
    if value is None:
        return f'"{column}" IS NOT NULL', []
    if isinstance(value, str):
        return f'("{column}" IS NULL OR typeof("{column}") != \'text\' OR "{column}" != ?)', [value]
    if _is_number(value):
        return f'NOT (typeof("{column}") IN (\'integer\', \'real\') AND abs("{column}" - ?) <= ?)', [value, tolerance]
    if isinstance(value, (list, dict)):
        return ALWAYS, []
    return None


def _any_of(column: str, values: list, is_flag: bool, tolerance: float) -> Condition | None:
    """``in``: strings through one ``IN (json_each)`` lookup (the index's when there is one), the rest one by one."""
    strings = [v for v in values if isinstance(v, str)]
    parts = [_equals(column, v, is_flag, tolerance) for v in values if not isinstance(v, str)]
    if strings:
        parts.append((NEVER, []) if is_flag else keys_among(column, strings))
    if any(part is None for part in parts):
        return None
    return _joined(parts, " OR ", NEVER)


def _none_of(column: str, values: list, is_flag: bool, tolerance: float) -> Condition | None:
    strings = [v for v in values if isinstance(v, str)]
    parts = [_not_equals(column, v, is_flag, tolerance) for v in values if not isinstance(v, str)]
    if strings and not is_flag:
        parts.append((f'("{column}" IS NULL OR typeof("{column}") != \'text\' OR '
                      f'"{column}" NOT IN (SELECT value FROM json_each(?)))', [json.dumps(strings)]))
    if any(part is None for part in parts):
        return None
    return _joined(parts, " AND ", ALWAYS)


_ORDER = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def _operator(column: str, name: str, value: Any, matcher: dict, is_flag: bool) -> Condition | None:
    tolerance = matcher.get("tol", MONEY_TOLERANCE)
    if name == "eq":
        return _equals(column, value, is_flag, MONEY_TOLERANCE)
    if name == "ne":
        return _not_equals(column, value, is_flag, MONEY_TOLERANCE)
    if name == "in" and isinstance(value, list):
        return _any_of(column, value, is_flag, MONEY_TOLERANCE)
    if name == "not_in" and isinstance(value, list):
        return _none_of(column, value, is_flag, MONEY_TOLERANCE)
    if name in _ORDER and not is_flag and (isinstance(value, str) or _is_number(value)):
        # Python compares str with str by code point and numbers numerically, as SQLite's BINARY collation and
        # numeric comparison do; a pair Python cannot order (str with number) fails there and may pass here.
        return f'"{column}" {_ORDER[name]} ?', [value]
    if name == "approx" and _is_number(value) and _is_number(tolerance):
        return (NEVER, []) if is_flag else (f'abs("{column}" - ?) <= ?', [value, tolerance])
    if name == "is_null" and isinstance(value, bool):
        if is_flag:  # a flag reads as a boolean, never None
            return (NEVER if value else ALWAYS), []
        return f'"{column}" IS {"" if value else "NOT "}NULL', []
    return None


def matcher_sql(column: str, matcher: Any) -> Condition | None:
    """The condition of one ``where`` matcher, or None when it is checked in Python only."""
    if column in JSON_FIELDS:
        return None
    is_flag = column in BOOL_FIELDS
    if not isinstance(matcher, dict):
        return _equals(column, matcher, is_flag, MONEY_TOLERANCE)
    parts = [_operator(column, name, value, matcher, is_flag) for name, value in matcher.items() if name != "tol"]
    pushed = [part for part in parts if part is not None]
    return _joined(pushed, " AND ", ALWAYS) if pushed else None


def where_sql(where: dict) -> Condition:
    """The conditions of every matcher of ``where`` SQL can decide, joined with AND (``"1"`` when there are none)."""
    return _joined([part for column, matcher in where.items() if (part := matcher_sql(column, matcher)) is not None],
                   " AND ", ALWAYS)


@cache
def primary_key(table: str) -> tuple[str, ...]:
    """The primary key's columns: what rows are ordered by, so they come in the same order whichever index SQLite
    picks."""
    return tuple(column.name for column in CONTENT_TABLES[table].__table__.primary_key.columns)


# Up to this many values an IN list has one placeholder each (SQLite compiles it in about a third of the time of a
# json_each subquery, and a new episode's connection compiles every statement once); beyond, one JSON parameter.
MAX_PLACEHOLDERS = 256


def keys_among(column: str, keys: list[str]) -> Condition:
    """Rows whose ``column`` is one of ``keys`` (an index lookup when the column is indexed)."""
    if len(keys) <= MAX_PLACEHOLDERS:
        return f'"{column}" IN ({", ".join(["?"] * len(keys))})', list(keys)
    return f'"{column}" IN (SELECT value FROM json_each(?))', [json.dumps(keys)]


def _joined(parts: list[Condition], glue: str, empty: str) -> Condition:
    if not parts:
        return empty, []
    if len(parts) == 1:
        return parts[0]
    return "(" + glue.join(f"({sql})" for sql, _ in parts) + ")", [param for _, params in parts for param in params]
