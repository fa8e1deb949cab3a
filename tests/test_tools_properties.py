"""Property-based tests: every tool called with generated arguments, well-formed and hostile.

Well-formed arguments are generated from each tool's own JSON Schema (enums, ranges, lengths, date patterns), with
ids, tracking numbers, brands and tags sampled from the real seed-0 world (and now and then an unknown one).
Hostile arguments break them: wrong types, huge strings and numbers, SQL fragments, NaN and infinities, nested
junk, lists where objects belong, JSON text that is not an object, unknown keys, missing keys.

For every call: no exception escapes, the result is JSON-serialisable without NaN, and an error has the documented
shape. A read, or a write that fails, leaves the world byte-for-byte as it was (every database page compared, which
implies an equal ``world_hash``; the hash itself is checked on the first call of each tool and mode). A write that
succeeds leaves ``PRAGMA integrity_check`` ok and ``PRAGMA foreign_key_check`` empty.
"""

from __future__ import annotations

import json
import math
import sqlite3
from functools import cache

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from test_tools import call, integrity_ok

from corecraft_env.tools import READ_TOOLS, REGISTRY
from corecraft_env.tools.registry import compile_check
from corecraft_env.world import load_world, world_hash

PROPERTY_SETTINGS = settings(max_examples=40, deadline=None, database=None,
                             suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Where the values of an id-like argument come from in the world: (table, column).
SOURCES = {
    "customer_id": ("customer", "id"), "order_id": ("orders", "id"), "product_id": ("product", "id"),
    "product_ids": ("product", "id"), "payment_id": ("payment", "id"), "shipment_id": ("shipment", "id"),
    "ticket_id": ("support_ticket", "id"), "employee_id": ("employee", "id"), "created_by": ("employee", "id"),
    "resolved_by": ("employee", "id"), "assignee_id": ("employee", "id"), "refund_id": ("refund", "id"),
    "resolution_id": ("resolution", "id"), "build_id": ("build", "id"), "article_id": ("knowledge_base_article", "id"),
    "tracking_number": ("shipment", "tracking_number"), "transaction_id": ("payment", "transaction_id"),
    "brand": ("product", "brand"), "name": ("customer", "name"), "email": ("customer", "email"), "phone": ("customer", "phone"),
}
SQL_FRAGMENTS = ("'; DROP TABLE orders; --", "%", "_", "%%", "' OR '1'='1", '" OR ""="', "\\", "*/ SELECT 1 /*", "NULL",
                 "ord-250830-110' --", "1; DELETE FROM payment", "\x00", "\u200b\u00e9\U0001d518", "{{7*7}}", "$where", "[]")
NOT_OBJECT_JSON = ("[]", "[1, 2]", '"text"', "42", "null", "true", '[{"order_id": "x"}]', '"{\\"order_id\\": \\"x\\"}"', "{", "{'a': 1}",
                   '{"a": NaN}', "", "   ")


@cache
def world_values(table: str, column: str) -> tuple:
    conn = load_world(0).connect()
    return tuple(r[0] for r in conn.execute(f'SELECT DISTINCT "{column}" FROM "{table}" ORDER BY 1'))


@cache
def kb_words() -> tuple:
    conn = load_world(0).connect()
    tags = [t for (text,) in conn.execute("SELECT tags FROM knowledge_base_article") for t in json.loads(text)]
    words = [w.strip(".,:;!?()").lower() for (title,) in conn.execute("SELECT title FROM knowledge_base_article") for w in title.split()]
    return tuple(sorted(set(tags + [w for w in words if len(w) > 2])))


# -- well-formed arguments, from each tool's schema ------------------------------------------------------------------
def timestamps() -> st.SearchStrategy[str]:
    """Strings matching the schema's date pattern: real dates, times and offsets, and some impossible dates."""
    day = st.tuples(st.integers(2019, 2026), st.integers(1, 12), st.integers(1, 31)).map(lambda d: f"{d[0]:04d}-{d[1]:02d}-{d[2]:02d}")
    time = st.tuples(st.integers(0, 23), st.integers(0, 59), st.integers(0, 59)).map(lambda t: f"{t[0]:02d}:{t[1]:02d}:{t[2]:02d}")
    offset = st.sampled_from(["", "Z", "+00:00", "-04:00", "-05:00", "+05:30", "+14:00"])
    return st.one_of(day, st.builds(lambda d, sep, t, o: f"{d}{sep}{t}{o}", day, st.sampled_from("T "), time, offset))


def text_for(key: str, low: int, high: int) -> st.SearchStrategy[str]:
    if key in SOURCES:
        table, column = SOURCES[key]
        real = world_values(table, column)
        fragments = st.sampled_from(real).flatmap(lambda v: st.integers(0, max(len(v) - 1, 0)).map(lambda i: v[i:i + 6] or v))
        unknown = st.text(min_size=max(low, 1), max_size=min(high, 12))
        return st.one_of(st.sampled_from(real), st.sampled_from(real), fragments, unknown).filter(lambda v: low <= len(v) <= high)
    words = st.sampled_from(kb_words())
    return st.one_of(words, st.text(min_size=low, max_size=min(high, 40))).filter(lambda v: low <= len(v) <= high)


def valid_value(schema: dict, key: str) -> st.SearchStrategy:
    """A strategy for values valid under ``schema``, tuned by the argument's name ``key``."""
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema["type"]
    if kind == "string":
        if "pattern" in schema:
            return timestamps()
        return text_for(key, schema.get("minLength", 0), schema.get("maxLength", 200))
    if kind == "integer":
        low = schema.get("minimum", 0)
        return st.integers(low, schema.get("maximum", low + 1000))
    if kind == "number":
        low, high = schema.get("minimum", schema.get("exclusiveMinimum", 0)), schema.get("maximum", 10_000)
        cents = st.integers(1, 150_000).map(lambda c: c / 100)
        floats = st.floats(low, high, allow_nan=False, allow_infinity=False)
        return st.one_of(cents, floats).filter(lambda v: low <= v <= high and v > schema.get("exclusiveMinimum", -math.inf))
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        return st.lists(valid_value(schema["items"], key), min_size=schema.get("minItems", 0), max_size=min(schema.get("maxItems", 8), 8))
    if kind == "object":
        properties = schema["properties"]
        required = {k: valid_value(properties[k], k) for k in schema.get("required", ())}
        optional = {k: valid_value(v, k) for k, v in properties.items() if k not in required}
        return st.fixed_dictionaries(required, optional=optional)
    raise AssertionError(f"no generator for schema type {kind!r}")


@cache
def order_lines() -> tuple:
    conn = load_world(0).connect()
    return tuple(conn.execute("SELECT DISTINCT order_id, product_id FROM order_line ORDER BY 1, 2"))


@cache
def valid_arguments(name: str) -> st.SearchStrategy[dict]:
    from_schema = valid_value(REGISTRY[name].parameters, name)
    if name == "checkWarrantyStatus":  # independent ids almost never name a product of the order: mix in real order lines
        return st.one_of(from_schema, st.sampled_from(order_lines()).map(lambda line: {"order_id": line[0], "product_id": line[1]}))
    return from_schema


# -- hostile arguments -----------------------------------------------------------------------------------------------
def huge_strings() -> st.SearchStrategy[str]:
    return st.builds(lambda piece, n: piece * n, st.sampled_from(["x", "%", "'", "é", "\\", "ord-"]), st.integers(1_000, 50_000))


SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-(2**80), 2**80), st.floats(), st.sampled_from([math.nan, math.inf, -math.inf, -0.0]),
    st.text(max_size=30), st.sampled_from(SQL_FRAGMENTS), huge_strings(),
)
JUNK = st.recursive(SCALARS, lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
                    max_leaves=12)


def hostile_arguments(name: str) -> st.SearchStrategy:
    properties = list(REGISTRY[name].parameters["properties"])
    required = REGISTRY[name].parameters["required"]
    valid = valid_arguments(name)

    def corrupt(arguments: dict, key: str, junk) -> dict:
        return {**arguments, key: junk}

    def sql_everywhere(arguments: dict, fragment: str) -> dict:  # type-valid strings that reach the SQL
        return {k: (fragment if isinstance(v, str) else [fragment] * len(v) if isinstance(v, list) and v and isinstance(v[0], str) else v)
                for k, v in arguments.items()}

    variants = [
        st.builds(corrupt, valid, st.sampled_from(properties), JUNK),
        st.builds(lambda a, k, v: {**a, k: v}, valid, st.text(min_size=1, max_size=12).filter(lambda k: k not in properties), JUNK),
        st.builds(sql_everywhere, valid, st.sampled_from(SQL_FRAGMENTS)),
        JUNK,
        st.sampled_from(NOT_OBJECT_JSON),
        JUNK.map(lambda v: json.dumps(v, allow_nan=True)),
        valid.map(lambda a: json.dumps(a)[:-1]),  # truncated JSON text
    ]
    if required:
        variants.append(st.builds(lambda a, k: {key: v for key, v in a.items() if key != k}, valid, st.sampled_from(required)))
    return st.one_of(variants)


# -- what every call must satisfy ------------------------------------------------------------------------------------
def same_pages(before: bytes, after: bytes) -> bool:
    """Two database images hold identical pages (the header's change counter and writer-version fields aside)."""
    return len(before) == len(after) and before[:24] == after[:24] and before[28:92] == after[28:92] and before[100:] == after[100:]


_hashed: set[tuple[str, str]] = set()


def check_call(world, name: str, arguments, mode: str) -> dict:
    conn: sqlite3.Connection = world.connect()
    result = call(conn, name, arguments)  # never raises; the result is JSON-serialisable and errors are well-formed
    changed = not same_pages(world.image, conn.serialize())
    if name in READ_TOOLS or "error" in result:
        assert not changed, f"{name} changed the world: {str(arguments)[:300]} -> {str(result)[:300]}"
        if (name, mode) not in _hashed:
            assert world_hash(conn) == world.hash
            _hashed.add((name, mode))
    else:
        integrity_ok(conn)
    return result


@pytest.mark.parametrize("name", REGISTRY.names)
@PROPERTY_SETTINGS
@given(data=st.data())
def test_well_formed_calls_never_raise_and_keep_the_world_sound(world0, name, data):
    arguments = data.draw(valid_arguments(name), label="arguments")
    result = check_call(world0, name, arguments, "well-formed")
    if "error" in result:  # well-formed arguments pass the schema: only the tool's own checks may refuse them
        assert result["error"]["type"] in {"not_found", "invalid_argument", "invalid_state", "amount_exceeds_payment"}, result


@pytest.mark.parametrize("name", REGISTRY.names)
@PROPERTY_SETTINGS
@given(data=st.data())
def test_hostile_calls_never_raise_and_keep_the_world_sound(world0, name, data):
    arguments = data.draw(hostile_arguments(name), label="arguments")
    result = check_call(world0, name, arguments, "hostile")
    if "error" in result:  # refused for a reason the caller can act on, never a tool bug
        assert result["error"]["type"] not in {"internal_error", "integrity_error"}, result


@settings(max_examples=60, deadline=None, database=None)
@given(name=JUNK, arguments=JUNK)
def test_any_tool_name_that_is_not_a_tool_is_an_unknown_tool_error(world0, name, arguments):
    result = call(world0.connect(), name, arguments)
    assert result["error"]["type"] == "unknown_tool"


@pytest.mark.parametrize("name", REGISTRY.names)
def test_the_well_formed_generator_reaches_each_tools_success_path(world0, name):
    """Guards the generator: were every generated call refused, the properties above would prove little."""
    conn = world0.connect()
    found = find(valid_arguments(name), lambda arguments: "error" not in REGISTRY.call(conn, name, arguments),
                 settings=settings(max_examples=300, database=None, phases=[Phase.generate], deadline=None))
    assert "error" not in REGISTRY.call(world0.connect(), name, found)


@pytest.mark.parametrize("name", REGISTRY.names)
@settings(max_examples=30, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_the_fast_validity_check_agrees_with_jsonschema(name, data):
    """The registry's compiled fast path must never accept what the draft 2020-12 validator rejects (and, for
    finite numbers, must accept exactly what it accepts)."""
    arguments = data.draw(st.one_of(valid_arguments(name), hostile_arguments(name)), label="arguments")
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return
    check = compile_check(REGISTRY[name].parameters)
    assert check is not None
    try:
        expected = Draft202012Validator(REGISTRY[name].parameters).is_valid(arguments)
    except RecursionError:
        return
    finite = "NaN" not in json.dumps(arguments, allow_nan=True) and "Infinity" not in json.dumps(arguments, allow_nan=True)
    if check(arguments):
        assert expected and finite
    elif finite:
        assert not expected

