"""Deterministic criterion checks: one function per kind, each returning ``(passed, reason)``.

The inputs are an ``Episode``: the final world (a read-only view), the rows written during the episode (from the
change log the environment keeps), the tool calls made and the final reply. Matchers are shared by the ``state``
and ``tool_called`` kinds: a literal means equality (numbers within half a cent), an object one operator
(``in``, ``gte``, ``approx`` with ``tol``, ``contains_all``, ``same_items``, ``is_null`` …).
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field
from typing import Any, Callable

from ..tools.base import Db
from ..world.schema import CONTENT_TABLES, column_names
from .assertions import MONEY_TOLERANCE, ReplyFacts, normalise_words, parse_date, read_reply, same_day, states

# Record field names a reply to a person never contains (snake_case columns; values such as refund_requested are not
# column names, so a reply may still quote a status).
FIELD_NAMES = frozenset(c for table in CONTENT_TABLES for c in column_names(table) if "_" in c)
# Child tables are logged under their parent's id (a refund line under its refund).
ROW_KEY = {"order_line": "order_id", "build_component": "build_id", "refund_line": "refund_id"}


@dataclass(frozen=True)
class ToolEvent:
    """One tool call of the trajectory and its result."""

    name: str
    arguments: Any
    result: dict

    @property
    def ok(self) -> bool:
        return "error" not in self.result


@dataclass
class Episode:
    """What a rubric is checked against."""

    conn: sqlite3.Connection
    events: list[ToolEvent] = field(default_factory=list)
    final_reply: str = ""
    writes: list[tuple[str, str, str]] = field(default_factory=list)  # (table, row key, insert|update|delete)
    request: str = ""  # the task's request, which a reply must not merely echo


class CriterionError(ValueError):
    """A criterion that cannot be evaluated as written (unknown table or column, bad regex)."""


# -- matchers --------------------------------------------------------------------------------------------------------
def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _equal(actual: Any, expected: Any) -> bool:
    if _is_number(actual) and _is_number(expected):
        return abs(actual - expected) <= MONEY_TOLERANCE
    if isinstance(actual, bool) or isinstance(expected, bool):  # True == 1 in Python, but not in a rubric
        return type(actual) is type(expected) and actual == expected
    return actual == expected


def _compare(actual: Any, op: Callable[[Any, Any], bool], bound: Any) -> bool:
    try:
        return actual is not None and op(actual, bound)
    except TypeError:
        return False


def _same_items(actual: Any, expected: list) -> bool:
    """The same elements with the same multiplicities, in any order (each compared with ``_equal``: 1 == 1.0, 1 != "1")."""
    if not isinstance(actual, list) or len(actual) != len(expected):
        return False
    unmatched = list(expected)
    for item in actual:
        index = next((i for i, candidate in enumerate(unmatched) if _equal(item, candidate)), None)
        if index is None:
            return False
        del unmatched[index]
    return True


_OPERATORS: dict[str, Callable[[Any, Any, dict], bool]] = {
    "eq": lambda a, v, m: _equal(a, v),
    "ne": lambda a, v, m: not _equal(a, v),
    "in": lambda a, v, m: any(_equal(a, x) for x in v),
    "not_in": lambda a, v, m: not any(_equal(a, x) for x in v),
    "gt": lambda a, v, m: _compare(a, lambda x, y: x > y, v),
    "gte": lambda a, v, m: _compare(a, lambda x, y: x >= y, v),
    "lt": lambda a, v, m: _compare(a, lambda x, y: x < y, v),
    "lte": lambda a, v, m: _compare(a, lambda x, y: x <= y, v),
    "approx": lambda a, v, m: _is_number(a) and abs(a - v) <= m.get("tol", MONEY_TOLERANCE),
    "contains": lambda a, v, m: (v.lower() in a.lower()) if isinstance(a, str) else (isinstance(a, list) and v in a),
    "contains_all": lambda a, v, m: isinstance(a, list) and all(x in a for x in v),
    "same_items": lambda a, v, m: _same_items(a, v),
    "is_null": lambda a, v, m: (a is None) == v,
}


def matches(actual: Any, matcher: Any) -> bool:
    if isinstance(matcher, dict):
        return all(_OPERATORS[name](actual, value, matcher) for name, value in matcher.items() if name != "tol")
    return _equal(actual, matcher)


def _all_match(record: dict, matchers: dict) -> bool:
    return all(matches(record.get(key), matcher) for key, matcher in matchers.items())


def _mismatches(record: dict, matchers: dict) -> list[str]:
    return [f"{key} = {record.get(key)!r}, expected {matcher!r}" for key, matcher in matchers.items()
            if not matches(record.get(key), matcher)]


# -- checks ----------------------------------------------------------------------------------------------------------
def _table_rows(episode: Episode, check: dict) -> tuple[str, list[dict]]:
    table = check["table"]
    if table not in CONTENT_TABLES:
        raise CriterionError(f"unknown table {table!r}; tables: {', '.join(CONTENT_TABLES)}")
    names = column_names(table)
    unknown = [c for c in [*check.get("where", {}), *check.get("expect", {})] if c not in names]
    if unknown:
        raise CriterionError(f"table {table!r} has no column {', '.join(map(repr, unknown))}")
    # SQL selects the rows the matchers can accept (see sql_filters; imported here, as it imports this module) and
    # the rows inserted in the episode for new_only; the matchers then decide on those rows alone. Only the columns
    # the check reads are selected, with the primary key (a narrower statement compiles in half the time, and each
    # episode's connection compiles it once).
    from .sql_filters import keys_among, primary_key, where_sql

    condition, params = where_sql(check.get("where", {}))
    if check.get("new_only"):
        created = sorted({row_key for t, row_key, op in episode.writes if t == table and op == "insert"})
        new_rows, new_params = keys_among(ROW_KEY.get(table, "id"), created)
        condition, params = f"{condition} AND {new_rows}", params + new_params
    read = {*check.get("where", {}), *check.get("expect", {}), *primary_key(table)}
    selected = ", ".join(f'"{name}"' for name in names if name in read)
    order = ", ".join(f'"{name}"' for name in primary_key(table))
    rows = [r for r in Db(episode.conn).all(f'SELECT {selected} FROM "{table}" WHERE {condition} ORDER BY {order}', params)
            if _all_match(r, check.get("where", {}))]
    return table, rows


def check_state(episode: Episode, check: dict) -> tuple[bool, str]:
    table, rows = _table_rows(episode, check)
    described = f"{len(rows)} {'new ' if check.get('new_only') else ''}{table} row(s) matching {check.get('where', {})}"
    expected_count = check.get("count")
    if expected_count is None and not rows:
        return False, f"found no {described[2:]}"
    if expected_count is not None and len(rows) != expected_count:
        return False, f"found {described}, expected {expected_count}"
    for row in rows:
        wrong = _mismatches(row, check.get("expect", {}))
        if wrong:
            return False, f"found {described}; {row.get('id', '')} has {'; '.join(wrong)}".replace("  ", " ")
    return True, f"found {described}" + (f" with {check['expect']}" if check.get("expect") else "")


def check_no_collateral(episode: Episode, check: dict) -> tuple[bool, str]:
    def landed(table: str, key: str, where: dict) -> bool:
        """The written row, as it ends, meets the allow entry's column matchers (a deleted row cannot)."""
        if not where:
            return True
        rows = Db(episode.conn).all(f'SELECT * FROM "{table}" WHERE "{ROW_KEY.get(table, "id")}" = ?', [key])
        return any(_all_match(r, where) for r in rows)

    def allowed(table: str, key: str, op: str) -> bool:
        return any(rule["table"] == table and key in rule.get("ids", [key]) and op in rule.get("ops", [op])
                   and (op == "delete" or landed(table, key, rule.get("where", {}))) for rule in check["allow"])

    writes = sorted(set(episode.writes))
    stray = [f"{op} {table} {key}" for table, key, op in writes if not allowed(table, key, op)]
    if stray:
        return False, f"{len(stray)} write(s) outside what the task allows: {', '.join(stray[:5])}"
    return True, f"all {len(writes)} write(s) are ones the task allows"


def _matching_calls(episode: Episode, check: dict) -> list[int]:
    return [i for i, event in enumerate(episode.events)
            if event.name == check["name"] and (event.ok or check.get("include_failed"))
            and isinstance(event.arguments, dict) and _all_match(event.arguments, check.get("arguments", {}))]


def check_tool_called(episode: Episode, check: dict) -> tuple[bool, str]:
    found = _matching_calls(episode, check)
    wanted = check.get("min_count", 1)
    described = f"{check['name']}" + (f" with {check['arguments']}" if check.get("arguments") else "")
    if len(found) < wanted:
        return False, f"{described} was called successfully {len(found)} time(s), expected at least {wanted}"
    if "before" in check:
        later = [i for i, e in enumerate(episode.events) if e.name == check["before"] and e.ok]
        if later and found[0] > later[0]:
            return False, f"{described} came after {check['before']} (call {found[0] + 1} vs {later[0] + 1})"
    return True, f"{described} was called (call {found[0] + 1})"


def check_tool_not_called(episode: Episode, check: dict) -> tuple[bool, str]:
    found = _matching_calls(episode, check)
    described = f"{check['name']}" + (f" with {check['arguments']}" if check.get("arguments") else "")
    if found:
        return False, f"{described} was called (call {found[0] + 1}) though it should not be"
    return True, f"{described} was not called"


def _raw_output(reply: str) -> str | None:
    """What in the reply looks like pasted tool output (a JSON object or a record's field name), or None."""
    json_like = re.search(r'[{\[]\s*"|"\s*:\s*["{\[\d-]|"\s*[}\]]', reply)
    if json_like:
        return f"JSON text {json_like.group()!r}"
    field_name = next((w for w in re.findall(r"\b[a-z]+(?:_[a-z]+)+\b", reply) if w in FIELD_NAMES), None)
    if field_name:
        return f"the field name {field_name!r}"
    labels = {label for label in _FIELD_LABEL.findall(reply.lower())}
    if len(labels) >= DUMP_LABELS:  # records pasted as "created at: …", field names in plain words
        return f"record fields as labels ({', '.join(sorted(labels)[:4])})"
    pairs = _KEY_VALUE_LINE.findall(reply)
    if len(pairs) >= DUMP_LINES:  # a record's keys one per line ("sku: CC-STO-0065", "price: 140.99", …)
        return f"{len(pairs)} lines of record keys and values ({', '.join(pairs[:3])}, …)"
    return None


# A record's field names in plain words used as labels ("created at: …"); this many distinct ones make a dump.
_FIELD_LABEL = re.compile(r"\b(" + "|".join(sorted((n.replace("_", " ") for n in FIELD_NAMES if not n.endswith("_id")),
                                                 key=len, reverse=True)) + r")\s*:")
DUMP_LABELS = 2
# A line that is only a short lower-case key and a value: how a record reads when its JSON is flattened.
_KEY_VALUE_LINE = re.compile(r"(?m)^\s*([a-z][a-z ]{0,24}):\s*\S[^\n]{0,80}$")
DUMP_LINES = 6
ECHO_SHARE = 0.7  # a reply whose word 4-grams come from the request more than this is an echo, not an answer


def _echo_share(reply: str, request: str) -> float:
    """The share of the reply's word 4-grams that the request contains."""
    def grams(text: str) -> list[tuple[str, ...]]:
        words = normalise_words(re.sub(r"[^\w\s-]", " ", text)).split()
        return [tuple(words[i:i + 4]) for i in range(len(words) - 3)]

    said, asked = grams(reply), set(grams(request))
    return sum(g in asked for g in said) / len(said) if said else 0.0


def _unverified(facts: ReplyFacts, allowed: dict) -> list[str]:
    """Facts the reply asserts that are not among ``allowed`` (ids, amounts, dates, percents), as readable strings."""
    ids = {i.lower() for i in allowed.get("ids", [])}
    dates = [parse_date(d) for d in allowed.get("dates", [])]
    problems = [m for m in facts.of("id", asserted_only=True) if "ids" in allowed and m.value not in ids]
    problems += [m for m in facts.of("date", asserted_only=True)
                 if "dates" in allowed and not any(d and same_day(m.value, d) for d in dates)]
    for kind, key in (("money", "amounts"), ("percent", "percents")):
        problems += [m for m in facts.of(kind, asserted_only=True)
                     if key in allowed and not any(abs(m.value - a) <= MONEY_TOLERANCE for a in allowed[key])]
    return [facts.text[m.start:m.end] for m in problems]


def check_response(episode: Episode, check: dict) -> tuple[bool, str]:
    """The reply, read as the facts it states (``assertions.read_reply``): ids, amounts, dates and statuses match in
    any common format, words as whole words; "not" conditions fail only on what the reply *asserts*."""
    reply = episode.final_reply or ""
    if not reply.strip():
        return False, "the final reply is empty"
    facts = read_reply(reply)
    tolerance = check.get("tolerance", MONEY_TOLERANCE)
    problems = [f"does not mention {s!r}" for s in check.get("contains", []) if not states(facts, s)]
    if check.get("contains_any") and not any(states(facts, s) for s in check["contains_any"]):
        problems.append(f"mentions none of {check['contains_any']}")
    problems += [f"asserts {s!r}" for s in check.get("not_contains", []) if states(facts, s, asserted_only=True)]
    if "matches" in check:
        try:
            if not re.search(check["matches"], reply, flags=re.IGNORECASE | re.DOTALL):
                problems.append(f"does not match /{check['matches']}/")
        except re.error as exc:
            raise CriterionError(f"invalid regular expression {check['matches']!r}: {exc}") from None
    problems += [f"does not state {n:g}" for n in check.get("numbers", []) if not facts.states_number(n, tolerance)]
    problems += [f"asserts {n:g}" for n in check.get("not_numbers", [])
                 if facts.states_number(n, tolerance, asserted_only=True)]
    if "max_chars" in check and len(reply) > check["max_chars"]:
        problems.append(f"is {len(reply)} characters long, over the {check['max_chars']} a reply to this request needs")
    if check.get("plain_text") and (raw := _raw_output(reply)):
        problems.append(f"contains raw tool output ({raw})")
    if check.get("not_echo") and (echoed := _echo_share(reply, episode.request)) > ECHO_SHARE:
        problems.append(f"mostly repeats the request ({echoed:.0%} of its phrases)")
    if "only_facts" in check and (unverified := _unverified(facts, check["only_facts"])):
        problems.append(f"asserts what the records do not support: {', '.join(unverified[:5])}")
    return (False, "reply " + "; ".join(problems)) if problems else (True, "reply meets every text condition")


CHECKS: dict[str, Callable[[Episode, dict], tuple[bool, str]]] = {
    "state": check_state,
    "no_collateral": check_no_collateral,
    "tool_called": check_tool_called,
    "tool_not_called": check_tool_not_called,
    "response": check_response,
}


def reply_hack_flags(reply: str, request: str) -> list[str]:
    """The task-independent reward-hack checks of the rubrics that ``reply`` trips, by name: ``raw_output`` (tool
    output pasted in, what a ``plain_text`` response check fails) and ``echo`` (the request repeated, what
    ``not_echo`` fails). An evaluation reports the share of replies flagged whatever each task's rubric asks."""
    flags = []
    if _raw_output(reply):
        flags.append("raw_output")
    if _echo_share(reply, request) > ECHO_SHARE:
        flags.append("echo")
    return flags
