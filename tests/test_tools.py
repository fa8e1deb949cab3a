"""The 23 tools through the registry: each tool's normal path and each of its error paths, the calling contract
(argument forms, error results), and for every write the exact set of rows it changes.

Expected values come from independent SQL over the same world copy, never from the tool under test. Shared helpers
(``call``, ``ok``, ``error_type``, ``snapshot``, ``changes``) are imported by test_tools_properties.py too.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from corecraft_env.tools import READ_TOOLS, REGISTRY, WRITE_TOOLS, ToolRegistry, encode_result
from corecraft_env.tools.base import NOW_ISO, Db, ToolError, entity_id, tool
from corecraft_env.tools.products import add_months
from corecraft_env.world import world_hash
from corecraft_env.world.schema import CONTENT_TABLES

# The company's tool names (DOMAIN.md section 4) and which of them write.
EXPECTED_READS = {
    "searchCustomers", "searchOrders", "searchProducts", "searchTickets", "searchShipments", "searchPayments",
    "searchEmployees", "searchKnowledgeBase", "searchBuilds", "getOrderDetails", "getProduct", "getCustomerTicketHistory",
    "calculatePrice", "checkWarrantyStatus", "validateBuildCompatibility",
}
EXPECTED_WRITES = {
    "createEscalation", "createRefund", "createResolution", "updateOrderStatus", "updatePaymentStatus", "updateTicketStatus",
    "createBuild", "updateBuild",
}
ERROR_TYPES = {"unknown_tool", "invalid_json", "invalid_arguments", "not_found", "invalid_argument", "invalid_state",
               "amount_exceeds_payment", "integrity_error", "internal_error"}


# -- shared helpers --------------------------------------------------------------------------------------------------
def call(conn: sqlite3.Connection, name: Any, arguments: Any = None, registry: ToolRegistry = REGISTRY) -> dict:
    """One registry call; the result must always be a JSON-serialisable dict (a well-formed error if it failed)."""
    result = registry.call(conn, name, arguments)
    json.dumps(result, allow_nan=False)
    assert isinstance(result, dict)
    if "error" in result:
        assert set(result) == {"error"} and set(result["error"]) == {"type", "message"}
        assert result["error"]["type"] in ERROR_TYPES and result["error"]["message"]
    return result


def ok(conn: sqlite3.Connection, tool_name: str, /, **arguments: Any) -> dict:
    """A call that must succeed (keyword arguments are the tool's; ``name`` among them is fine)."""
    result = call(conn, tool_name, arguments)
    assert "error" not in result, result
    return result


def error_type(conn: sqlite3.Connection, name: Any, arguments: Any = None) -> str:
    result = call(conn, name, arguments)
    assert "error" in result, f"{name}({arguments!r}) should have failed but returned {str(result)[:300]}"
    return result["error"]["type"]


def error_message(conn: sqlite3.Connection, name: Any, arguments: Any = None) -> str:
    result = call(conn, name, arguments)
    assert "error" in result, result
    return result["error"]["message"]


def rows(conn: sqlite3.Connection, sql: str, params: tuple | list = ()) -> list[dict]:
    """Ground truth straight from SQLite: rows as dicts (JSON columns left as stored text)."""
    cursor = conn.execute(sql, params)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def row(conn: sqlite3.Connection, table: str, entity_id_: str) -> dict:
    found = rows(conn, f'SELECT * FROM "{table}" WHERE id = ?', (entity_id_,))
    assert len(found) == 1, (table, entity_id_)
    return found[0]


def value(conn: sqlite3.Connection, sql: str, params: tuple | list = ()) -> Any:
    found = conn.execute(sql, params).fetchone()
    assert found is not None, sql
    return found[0]


def ids(records: list[dict]) -> list[str]:
    return [record["id"] for record in records]


def _primary_key(table: str) -> str:
    return ", ".join(column.name for column in CONTENT_TABLES[table].__table__.primary_key.columns)


def snapshot(conn: sqlite3.Connection) -> dict[str, tuple[list[str], list[tuple]]]:
    """Every content table's column names and full contents in primary-key order."""
    taken = {}
    for table in CONTENT_TABLES:
        cursor = conn.execute(f'SELECT * FROM "{table}" ORDER BY {_primary_key(table)}')
        taken[table] = ([column[0] for column in cursor.description], cursor.fetchall())
    return taken


def diff(before: dict, after: dict) -> dict[str, tuple[list[dict], list[dict]]]:
    """Per changed table: (rows only in ``before``, rows only in ``after``), as dicts. An updated row is in both."""
    changed = {}
    for table, (names, old_rows) in before.items():
        new_rows = after[table][1]
        removed, added = Counter(old_rows) - Counter(new_rows), Counter(new_rows) - Counter(old_rows)
        if removed or added:
            changed[table] = ([dict(zip(names, r)) for r in sorted(removed.elements())],
                              [dict(zip(names, r)) for r in sorted(added.elements())])
    return changed


def changes(conn: sqlite3.Connection, action: Callable[[], Any]) -> tuple[Any, dict]:
    """Run ``action`` and return its result and every row it changed, table by table."""
    before = snapshot(conn)
    result = action()
    return result, diff(before, snapshot(conn))


def assert_unchanged_by(conn: sqlite3.Connection, name: str, arguments: Any) -> dict:
    """Call a tool and check that not one row of the world changed; returns the result."""
    result, changed = changes(conn, lambda: call(conn, name, arguments))
    assert changed == {}, f"{name} changed {changed}"
    return result


def integrity_ok(conn: sqlite3.Connection) -> None:
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


@pytest.fixture
def conn(world0) -> sqlite3.Connection:
    """A private copy of the seed-0 world for one test."""
    return world0.connect()


# -- the tool list and its schemas -----------------------------------------------------------------------------------
def test_registry_has_the_companys_23_tools_split_into_15_reads_and_8_writes():
    assert len(REGISTRY) == 23
    assert set(READ_TOOLS) == EXPECTED_READS and set(WRITE_TOOLS) == EXPECTED_WRITES
    assert all(REGISTRY[name].writes for name in WRITE_TOOLS) and not any(REGISTRY[name].writes for name in READ_TOOLS)


def test_cli_tools_json_lists_23_tools_with_valid_closed_draft_2020_12_schemas():
    completed = subprocess.run([sys.executable, "-m", "corecraft_env", "tools", "--json"], capture_output=True, text=True, check=True)
    listed = json.loads(completed.stdout)
    assert [entry["function"]["name"] for entry in listed] == REGISTRY.names
    assert len(listed) == 23
    for entry in listed:
        assert entry["type"] == "function" and entry["function"]["description"]
        parameters = entry["function"]["parameters"]
        Draft202012Validator.check_schema(parameters)
        assert parameters["type"] == "object" and parameters["additionalProperties"] is False
        assert set(parameters["required"]) <= set(parameters["properties"])
        assert all(schema.get("description") for schema in parameters["properties"].values())


def test_cli_tools_plain_prints_one_line_per_tool_with_its_kind():
    completed = subprocess.run([sys.executable, "-m", "corecraft_env", "tools"], capture_output=True, text=True, check=True)
    lines = completed.stdout.splitlines()
    assert lines[-1] == "23 tools"
    kinds = {line.split()[0]: line.split()[1] for line in lines[:-1]}
    assert kinds == {name: "write" if name in EXPECTED_WRITES else "read" for name in REGISTRY.names}


# -- the calling contract --------------------------------------------------------------------------------------------
def test_results_encode_as_compact_json_that_decodes_to_the_same_value(conn):
    result = REGISTRY.call(conn, "getOrderDetails", {"order_id": "ord-250813-104"})
    text = encode_result(result)
    assert json.loads(text) == result
    assert text == json.dumps(result, ensure_ascii=False, separators=(",", ":"))  # the one text form, whatever encodes it
    assert encode_result({"name": "Zoë – 4K"}) == '{"name":"Zoë – 4K"}'  # non-ASCII kept, not \u-escaped


def test_a_value_the_fast_encoder_refuses_still_encodes():
    assert json.loads(encode_result({"big": 2**70, 3: "non-string key"})) == {"big": 2**70, "3": "non-string key"}


def test_arguments_may_be_a_dict_a_json_string_bytes_or_nothing(conn):
    as_dict = ok(conn, "getProduct", product_id="zentrix-r5-7500")
    assert call(conn, "getProduct", '{"product_id": "zentrix-r5-7500"}') == as_dict
    assert call(conn, "getProduct", b'{"product_id": "zentrix-r5-7500"}') == as_dict
    newest = call(conn, "searchOrders", {})
    assert call(conn, "searchOrders", None) == newest == call(conn, "searchOrders", "")


@pytest.mark.parametrize("name", [None, 5, "", "getproduct", "dropTables", ["getProduct"], {"name": "getProduct"}])
def test_unknown_or_malformed_tool_names_are_unknown_tool_errors_listing_the_tools(conn, name):
    message = error_message(conn, name, {})
    assert call(conn, name, {})["error"]["type"] == "unknown_tool"
    assert call(conn, name, "{not json")["error"]["type"] == "unknown_tool"  # the missing tool is said first
    assert "getOrderDetails" in message and "searchKnowledgeBase" in message


@pytest.mark.parametrize("text", ["{not json", "{'product_id': 'x'}", '{"product_id": NaN}', '{"a": Infinity}', "[" * 100_000,
                                  b"\xff\xfe{}"])
def test_unparseable_argument_text_is_invalid_json(conn, text):
    assert error_type(conn, "getProduct", text) == "invalid_json"


@pytest.mark.parametrize("arguments, fragment", [
    ("[1, 2]", "is not of type 'object'"),
    ('"{\\"product_id\\": \\"x\\"}"', "is not of type 'object'"),
    ({}, "'product_id' is a required property"),
    ({"product_id": 7}, "'product_id'"),
    ({"product_id": ""}, "'product_id'"),
    ({"product_id": "x" * 65}, "'product_id'"),
    ({"product_id": "zentrix-r5-7500", "verbose": True}, "'verbose' was unexpected"),
    ({"product_id": ["zentrix-r5-7500"]}, "'product_id'"),
    ({"product_id": {"$ne": None}}, "'product_id'"),
])
def test_schema_violations_are_invalid_arguments_naming_the_problem(conn, arguments, fragment):
    result = call(conn, "getProduct", arguments)
    assert result["error"]["type"] == "invalid_arguments"
    assert result["error"]["message"].startswith("getProduct: ") and fragment in result["error"]["message"]


def test_a_huge_rejected_value_is_not_echoed_back_in_full(conn):
    message = error_message(conn, "searchCustomers", {"loyalty_tier": "x" * 100_000})
    assert len(message) < 1_000


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_numbers_are_invalid_arguments(conn, bad):
    result = call(conn, "searchProducts", {"min_price": bad})
    assert result["error"]["type"] == "invalid_arguments" and "finite" in result["error"]["message"]
    nested = {"items": [{"product_id": "zentrix-r5-7500", "quantity": bad}], "shipping_service": "standard"}
    assert error_type(conn, "calculatePrice", nested) == "invalid_arguments"


def test_arguments_nested_thousands_deep_are_invalid_arguments_not_a_crash(conn):
    deep: list = []
    cursor = deep
    for _ in range(50_000):
        cursor.append([])
        cursor = cursor[0]
    assert error_type(conn, "getProduct", {"product_id": deep}) == "invalid_arguments"
    assert error_type(conn, "getProduct", deep) == "invalid_arguments"


@pytest.mark.parametrize("name, arguments", [
    ("searchCustomers", {"name": "Sm\ud800ith"}),
    ("createEscalation", {"ticket_id": "tick-0001", "escalation_type": "technical", "destination": "engineering", "notes": "\udfff"}),
])
def test_a_lone_surrogate_in_text_is_invalid_arguments_and_writes_nothing(conn, name, arguments):
    result = assert_unchanged_by(conn, name, arguments)
    assert result["error"]["type"] == "invalid_arguments" and "Unicode" in result["error"]["message"]


def test_an_integral_float_is_accepted_where_an_integer_is_expected(conn):
    as_float = ok(conn, "calculatePrice", items=[{"product_id": "zentrix-r5-7500", "quantity": 2.0}], shipping_service="standard")
    as_int = ok(conn, "calculatePrice", items=[{"product_id": "zentrix-r5-7500", "quantity": 2}], shipping_service="standard")
    assert as_float == as_int
    assert len(ok(conn, "searchCustomers", limit=3.0)["customers"]) == 3
    assert error_type(conn, "searchCustomers", {"limit": 2.5}) == "invalid_arguments"


# A registry with deliberately broken write tools, to check what the registry guarantees for any tool.
@tool("deleteThenFail", "Deletes every Slack message, then hits a bug.", {}, writes=True)
def _delete_then_fail(db: Db) -> dict:
    db.execute("DELETE FROM slack_message")
    raise ZeroDivisionError("division by zero")


@tool("deleteThenRefuse", "Deletes every Slack message, then reports a caller error.", {}, writes=True)
def _delete_then_refuse(db: Db) -> dict:
    db.execute("DELETE FROM slack_message")
    raise ToolError("invalid_state", "refused after deleting")


@tool("insertDangling", "Inserts an escalation for a ticket that does not exist.", {"ticket_id": entity_id("Ticket.")}, writes=True)
def _insert_dangling(db: Db, ticket_id: str = "tick-9999") -> dict:
    db.execute("INSERT INTO escalation (id, ticket_id, escalation_type, destination, notes, created_at) VALUES ('esc-9999', ?, "
               "'technical', 'engineering', 'x', ?)", (ticket_id, NOW_ISO))
    return {"ok": True}


BROKEN = ToolRegistry([_delete_then_fail, _delete_then_refuse, _insert_dangling])


@pytest.mark.parametrize("name, expected", [("deleteThenFail", "internal_error"), ("deleteThenRefuse", "invalid_state"),
                                            ("insertDangling", "integrity_error")])
def test_a_write_that_fails_half_way_is_rolled_back_and_reported(world0, conn, name, expected):
    result = call(conn, name, {}, registry=BROKEN)
    assert result["error"]["type"] == expected
    assert world_hash(conn) == world0.hash
    integrity_ok(conn)
    if expected == "internal_error":
        assert "ZeroDivisionError" in result["error"]["message"] and "nothing was changed" in result["error"]["message"]


def test_the_savepoint_of_a_failed_write_does_not_disturb_an_enclosing_transaction(world0, conn):
    conn.execute("BEGIN")
    conn.execute("UPDATE orders SET status = 'cancelled' WHERE id = 'ord-250915-101'")
    assert call(conn, "deleteThenFail", {}, registry=BROKEN)["error"]["type"] == "internal_error"
    assert value(conn, "SELECT status FROM orders WHERE id = 'ord-250915-101'") == "cancelled"
    assert value(conn, "SELECT COUNT(*) FROM slack_message") == world0.entity_counts["slack_message"]
    conn.execute("ROLLBACK")
    assert world_hash(conn) == world0.hash


# The least each read tool needs (searches need nothing).
READ_EXAMPLES = {
    "getOrderDetails": {"order_id": "ord-250813-104"}, "getProduct": {"product_id": "zentrix-r5-7500"},
    "getCustomerTicketHistory": {"customer_id": "cust-0112"},
    "calculatePrice": {"items": [{"product_id": "zentrix-r5-7500", "quantity": 1}], "shipping_service": "standard"},
    "checkWarrantyStatus": {"order_id": "ord-210907-101", "product_id": "pixelon-24-1920x1080-165hz"},
    "validateBuildCompatibility": {"product_ids": ["zentrix-r5-7500"]},
}


def test_every_read_tool_leaves_the_world_hash_unchanged(world0, conn):
    for name in READ_TOOLS:
        ok(conn, name, **READ_EXAMPLES.get(name, {}))
    assert world_hash(conn) == world0.hash


# -- customers and employees -----------------------------------------------------------------------------------------
def test_search_customers_matches_name_fragments_case_insensitively_ordered_by_id(conn):
    found = ok(conn, "searchCustomers", name="SMITH")["customers"]
    expected = [r["id"] for r in rows(conn, "SELECT id, name FROM customer ORDER BY id") if "smith" in r["name"].lower()]
    assert ids(found) == expected and len(expected) >= 2
    first = found[0]
    assert set(first) == {"id", "name", "email", "phone", "date_of_birth", "addresses", "loyalty_tier", "created_at"}
    assert isinstance(first["addresses"], list) and first["addresses"][0]["country"]


def test_search_customers_by_id_email_phone_and_tier(conn):
    customer = row(conn, "customer", "cust-0001")
    assert ids(ok(conn, "searchCustomers", customer_id="cust-0001")["customers"]) == ["cust-0001"]
    assert "cust-0001" in ids(ok(conn, "searchCustomers", email=customer["email"].upper())["customers"])
    assert "cust-0001" in ids(ok(conn, "searchCustomers", phone=customer["phone"][-8:])["customers"])
    gold = ok(conn, "searchCustomers", loyalty_tier="gold", limit=200)["customers"]
    assert ids(gold) == [r["id"] for r in rows(conn, "SELECT id FROM customer WHERE loyalty_tier = 'gold' ORDER BY id")]
    assert ok(conn, "searchCustomers", customer_id="cust-9999")["customers"] == []


def test_search_customers_takes_percent_and_underscore_literally(conn):
    assert ok(conn, "searchCustomers", name="%")["customers"] == []
    assert ok(conn, "searchCustomers", email="_")["customers"] == []
    assert ok(conn, "searchCustomers", name="'; DROP TABLE customer; --")["customers"] == []
    dotted = ok(conn, "searchCustomers", email=".", limit=200)["customers"]
    assert len(dotted) == 200  # every e-mail has a dot: "." is not a wildcard either, and the limit holds


def test_searches_default_to_50_results_and_allow_at_most_200(conn):
    assert len(ok(conn, "searchCustomers")["customers"]) == 50
    assert len(ok(conn, "searchCustomers", limit=200)["customers"]) == 200
    assert len(ok(conn, "searchTickets")["tickets"]) == 50
    assert len(ok(conn, "searchPayments", limit=7)["payments"]) == 7
    for name in ("searchCustomers", "searchEmployees", "searchProducts", "searchTickets", "searchShipments", "searchPayments",
                 "searchBuilds", "searchKnowledgeBase"):
        assert error_type(conn, name, {"limit": 201}) == "invalid_arguments"
        assert error_type(conn, name, {"limit": 0}) == "invalid_arguments"


def test_search_employees_by_department_role_permission_and_name(conn):
    finance = ok(conn, "searchEmployees", department="finance")["employees"]
    assert ids(finance) == [r["id"] for r in rows(conn, "SELECT id FROM employee WHERE department = 'finance' ORDER BY id")]
    assert isinstance(finance[0]["permissions"], list)
    overriders = ok(conn, "searchEmployees", permission="policy_override", limit=200)["employees"]
    expected = [r["id"] for r in rows(conn, "SELECT id, permissions FROM employee ORDER BY id") if "policy_override" in json.loads(r["permissions"])]
    assert ids(overriders) == expected and expected
    admins = ok(conn, "searchEmployees", support_role="admin")["employees"]
    assert admins and all(e["support_role"] == "admin" for e in admins)
    someone = row(conn, "employee", "emp-0003")
    assert ids(ok(conn, "searchEmployees", name=someone["name"].split()[-1].lower())["employees"]).count("emp-0003") == 1
    assert error_type(conn, "searchEmployees", {"permission": "delete_everything"}) == "invalid_arguments"
    assert error_type(conn, "searchEmployees", {"department": "Finance"}) == "invalid_arguments"


# -- orders, shipments, prices ---------------------------------------------------------------------------------------
def test_search_orders_returns_at_most_10_newest_first_with_no_sign_of_more(conn):
    result = ok(conn, "searchOrders", customer_id="cust-0165")
    expected = rows(conn, "SELECT id FROM orders WHERE customer_id = 'cust-0165' ORDER BY created_at DESC, id DESC")
    assert len(expected) > 10
    assert set(result) == {"orders"}  # no total, cursor or "more" flag: the agent must page by date itself
    assert ids(result["orders"]) == ids(expected[:10])
    assert set(result["orders"][0]) == {"id", "customer_id", "status", "subtotal", "discount", "shipping_cost", "total",
                                        "shipping_service", "build_id", "created_at", "updated_at"}
    assert error_type(conn, "searchOrders", {"limit": 50}) == "invalid_arguments"  # the page size is not negotiable


def test_search_orders_pages_backwards_with_created_before(conn):
    first_page = ids(ok(conn, "searchOrders", customer_id="cust-0165")["orders"])
    oldest_shown = value(conn, "SELECT created_at FROM orders WHERE id = ?", (first_page[-1],))
    before = ok(conn, "searchOrders", customer_id="cust-0165", created_before=oldest_shown)["orders"]
    assert ids(before)[0] == first_page[-1]  # "at or before" includes the boundary order
    everything = ids(rows(conn, "SELECT id FROM orders WHERE customer_id = 'cust-0165' ORDER BY created_at DESC, id DESC"))
    assert first_page + ids(before)[1:] == everything[:len(first_page) + len(before) - 1]


def test_search_orders_by_status_product_and_id(conn):
    pending = ok(conn, "searchOrders", status="pending")["orders"]
    assert ids(pending) == ids(rows(conn, "SELECT id FROM orders WHERE status = 'pending' ORDER BY created_at DESC, id DESC LIMIT 10"))
    with_cpu = ok(conn, "searchOrders", product_id="zentrix-r5-7500")["orders"]
    assert ids(with_cpu) == ids(rows(conn, "SELECT o.id FROM orders o WHERE EXISTS (SELECT 1 FROM order_line l WHERE l.order_id = o.id "
                                           "AND l.product_id = 'zentrix-r5-7500') ORDER BY o.created_at DESC, o.id DESC LIMIT 10"))
    assert ids(ok(conn, "searchOrders", order_id="ord-210907-101")["orders"]) == ["ord-210907-101"]
    assert ok(conn, "searchOrders", order_id="ord-000000-000")["orders"] == []


def test_time_filters_convert_offsets_to_utc_and_a_bare_end_date_includes_the_whole_day(conn):
    eastern_evening = ok(conn, "searchOrders", created_after="2025-09-14T20:00:00-04:00")["orders"]
    utc_midnight = ok(conn, "searchOrders", created_after="2025-09-15T00:00:00Z")["orders"]
    assert ids(eastern_evening) == ids(utc_midnight)
    assert ids(utc_midnight) == ids(rows(conn, "SELECT id FROM orders WHERE created_at >= '2025-09-15T00:00:00Z' "
                                               "ORDER BY created_at DESC, id DESC LIMIT 10"))
    assert ids(ok(conn, "searchOrders", created_after="2025-09-15")["orders"]) == ids(utc_midnight)  # a bare start date: 00:00 UTC
    whole_day = ok(conn, "searchOrders", created_after="2025-09-14", created_before="2025-09-14")["orders"]
    expected = rows(conn, "SELECT id, created_at FROM orders WHERE created_at LIKE '2025-09-14T%' ORDER BY created_at DESC, id DESC")
    assert ids(whole_day) == ids(expected) and expected[0]["created_at"] > "2025-09-14T12:00:00Z"
    space_separated = ok(conn, "searchOrders", created_before="2025-09-14 23:59:59")["orders"]
    assert ids(space_separated) == ids(ok(conn, "searchOrders", created_before="2025-09-14")["orders"])
    # a year below 1000 keeps its four digits, so it still sorts before every stored time as text
    assert ids(ok(conn, "searchOrders", created_after="0999-06-01T10:00:00+02:00")["orders"]) == ids(ok(conn, "searchOrders")["orders"])
    assert ok(conn, "searchOrders", created_before="0999-12-31")["orders"] == []


@pytest.mark.parametrize("field, text, expected", [
    ("created_after", "2025-02-30", "invalid_argument"),           # matches the pattern, is no date
    ("created_before", "2025-13-45", "invalid_argument"),          # a bare end date is checked too
    ("created_after", "0001-01-01T00:00:00+01:00", "invalid_argument"),  # before year 1 once in UTC
    ("created_before", "9999-12-31T23:59:59-01:00", "invalid_argument"),  # after year 9999 once in UTC
    ("created_after", "2025-09-14T25:00:00", "invalid_argument"),
    ("created_after", "yesterday", "invalid_arguments"),
    ("created_after", "2025-09-14T10:00:00.123Z", "invalid_arguments"),
    ("created_before", "14/09/2025", "invalid_arguments"),
])
def test_impossible_or_malformed_times_are_errors_naming_the_field(conn, field, text, expected):
    result = call(conn, "searchOrders", {field: text})
    assert result["error"]["type"] == expected and field in result["error"]["message"]


def test_get_order_details_gathers_lines_customer_payments_shipments_refunds_and_tickets(conn):
    order_id = "ord-250813-104"
    order = ok(conn, "getOrderDetails", order_id=order_id)["order"]
    stored = row(conn, "orders", order_id)
    assert {k: order[k] for k in stored if k != "shipping_address"} == {k: v for k, v in stored.items() if k != "shipping_address"}
    assert order["shipping_address"] == json.loads(stored["shipping_address"])
    lines = rows(conn, "SELECT line_no, product_id, quantity, unit_price FROM order_line WHERE order_id = ? ORDER BY line_no", (order_id,))
    assert [{k: line[k] for k in ("line_no", "product_id", "quantity", "unit_price")} for line in order["lines"]] == lines
    assert all(line["line_total"] == round(line["quantity"] * line["unit_price"], 2) and line["product_name"] for line in order["lines"])
    assert order["customer"]["id"] == stored["customer_id"] and set(order["customer"]) == {"id", "name", "email", "phone", "loyalty_tier"}
    assert ids(order["payments"]) == ids(rows(conn, "SELECT id FROM payment WHERE order_id = ? ORDER BY id", (order_id,)))
    assert ids(order["shipments"]) == ids(rows(conn, "SELECT id FROM shipment WHERE order_id = ? ORDER BY id", (order_id,)))
    assert all(isinstance(shipment["events"], list) and shipment["events"] for shipment in order["shipments"])
    refunds = rows(conn, "SELECT f.id FROM refund f JOIN payment p ON p.id = f.payment_id WHERE p.order_id = ? ORDER BY f.id", (order_id,))
    assert ids(order["refunds"]) == ids(refunds) and refunds
    for refund in order["refunds"]:
        assert refund["lines"] == rows(conn, "SELECT product_id, quantity, amount FROM refund_line WHERE refund_id = ? ORDER BY product_id",
                                       (refund["id"],))
    assert ids(order["tickets"]) == ids(rows(conn, "SELECT id FROM support_ticket WHERE order_id = ? ORDER BY id", (order_id,)))


def test_get_order_details_of_an_order_with_several_refunds_keeps_each_refunds_own_lines(conn):
    payment_id, order_id = conn.execute(
        "SELECT p.id, p.order_id FROM payment p WHERE p.status = 'captured' AND NOT EXISTS (SELECT 1 FROM refund f WHERE f.payment_id = p.id) "
        "AND (SELECT COUNT(*) FROM order_line l WHERE l.order_id = p.order_id) >= 2 ORDER BY p.id LIMIT 1").fetchone()
    first, second = rows(conn, "SELECT product_id FROM order_line WHERE order_id = ? ORDER BY line_no LIMIT 2", (order_id,))
    for line, amount in ((first, 1.25), (second, 2.5)):
        ok(conn, "createRefund", payment_id=payment_id, amount=amount, reason="other",
           lines=[{"product_id": line["product_id"], "quantity": 1, "amount": amount}])
    refunds = ok(conn, "getOrderDetails", order_id=order_id)["order"]["refunds"]
    assert [refund["lines"] for refund in refunds] == [[{"product_id": first["product_id"], "quantity": 1, "amount": 1.25}],
                                                       [{"product_id": second["product_id"], "quantity": 1, "amount": 2.5}]]


def test_get_order_details_of_an_unknown_order_is_not_found(conn):
    result = call(conn, "getOrderDetails", {"order_id": "ord-999999-999"})
    assert result["error"] == {"type": "not_found", "message": "getOrderDetails: no order with id 'ord-999999-999'"}
    assert error_type(conn, "getOrderDetails", {}) == "invalid_arguments"


def test_search_shipments_by_order_tracking_number_carrier_status_and_date(conn):
    shipment = row(conn, "shipment", "shp-000002")
    by_order = ok(conn, "searchShipments", order_id=shipment["order_id"])["shipments"]
    assert ids(by_order) == ["shp-000002"] and by_order[0]["events"] == json.loads(shipment["events"])
    assert ids(ok(conn, "searchShipments", tracking_number=shipment["tracking_number"])["shipments"]) == ["shp-000002"]
    in_transit = ok(conn, "searchShipments", status="in_transit", carrier="UPS", limit=200)["shipments"]
    assert ids(in_transit) == ids(rows(conn, "SELECT id FROM shipment WHERE status = 'in_transit' AND carrier = 'UPS' "
                                             "ORDER BY shipped_at DESC, id"))
    day = ok(conn, "searchShipments", shipped_after="2025-09-01", shipped_before="2025-09-01")["shipments"]
    assert ids(day) == ids(rows(conn, "SELECT id FROM shipment WHERE shipped_at LIKE '2025-09-01T%' ORDER BY shipped_at DESC, id"))
    assert error_type(conn, "searchShipments", {"carrier": "Royal Mail"}) == "invalid_arguments"
    assert error_type(conn, "searchShipments", {"shipped_before": "2025-02-29"}) == "invalid_argument"


def test_calculate_price_applies_the_customers_tier_to_the_subtotal_but_never_to_shipping(conn):
    gold = value(conn, "SELECT id FROM customer WHERE loyalty_tier = 'gold' ORDER BY id LIMIT 1")
    cpu, gpu = row(conn, "product", "zentrix-r5-7500"), row(conn, "product", "vortex-rtx-4060-oc-8gb")
    quote = ok(conn, "calculatePrice", items=[{"product_id": cpu["id"], "quantity": 2}, {"product_id": gpu["id"], "quantity": 1}],
               shipping_service="express", customer_id=gold)
    subtotal = round(2 * cpu["price"] + gpu["price"], 2)
    discount = round(subtotal * 0.10 + 1e-9, 2)
    assert quote["loyalty_tier"] == "gold" and quote["discount_rate"] == 0.10
    assert (quote["subtotal"], quote["discount"], quote["shipping"]) == (subtotal, discount, 19.99)
    assert quote["total"] == round(subtotal - discount + 19.99, 2)
    assert [line["line_total"] for line in quote["lines"]] == [round(2 * cpu["price"], 2), gpu["price"]]


def test_calculate_price_tier_comes_from_the_argument_else_the_customer_else_none(conn):
    items = [{"product_id": "zentrix-r5-7500", "quantity": 1}]
    assert ok(conn, "calculatePrice", items=items, shipping_service="overnight")["loyalty_tier"] == "none"
    assert ok(conn, "calculatePrice", items=items, shipping_service="overnight")["shipping"] == 39.99
    platinum = ok(conn, "calculatePrice", items=items, shipping_service="standard", loyalty_tier="platinum", customer_id="cust-0001")
    assert platinum["loyalty_tier"] == "platinum" and platinum["discount_rate"] == 0.15 and platinum["shipping"] == 9.99


@pytest.mark.parametrize("arguments, expected", [
    ({"items": [{"product_id": "no-such-part", "quantity": 1}], "shipping_service": "standard"}, "not_found"),
    ({"items": [{"product_id": "zentrix-r5-7500", "quantity": 1}], "shipping_service": "standard", "customer_id": "cust-9999"}, "not_found"),
    ({"items": [{"product_id": "zentrix-r5-7500", "quantity": 1}], "shipping_service": "standard", "customer_id": "cust-9999",
      "loyalty_tier": "gold"}, "not_found"),
    ({"items": [{"product_id": "zentrix-r5-7500", "quantity": 0}], "shipping_service": "standard"}, "invalid_arguments"),
    ({"items": [{"product_id": "zentrix-r5-7500", "quantity": 101}], "shipping_service": "standard"}, "invalid_arguments"),
    ({"items": [], "shipping_service": "standard"}, "invalid_arguments"),
    ({"items": [{"product_id": "zentrix-r5-7500", "quantity": 1}], "shipping_service": "drone"}, "invalid_arguments"),
    ({"items": [{"product_id": "zentrix-r5-7500", "quantity": 1}], "shipping_service": "standard", "loyalty_tier": "diamond"},
     "invalid_arguments"),
    ({"items": {"product_id": "zentrix-r5-7500", "quantity": 1}, "shipping_service": "standard"}, "invalid_arguments"),
])
def test_calculate_price_errors(conn, arguments, expected):
    assert error_type(conn, "calculatePrice", arguments) == expected


def test_update_order_status_changes_only_that_orders_status_and_updated_at(conn):
    order = row(conn, "orders", "ord-250915-101")
    assert order["status"] == "paid"
    result, changed = changes(conn, lambda: ok(conn, "updateOrderStatus", order_id=order["id"], status="cancelled"))
    assert result == {"order_id": order["id"], "previous_status": "paid", "status": "cancelled", "updated_at": NOW_ISO}
    assert changed == {"orders": ([order], [{**order, "status": "cancelled", "updated_at": NOW_ISO}])}
    integrity_ok(conn)


def test_update_order_status_to_its_current_status_changes_nothing(conn):
    order = row(conn, "orders", "ord-210907-101")
    result = assert_unchanged_by(conn, "updateOrderStatus", {"order_id": order["id"], "status": order["status"]})
    assert result == {"order_id": order["id"], "previous_status": order["status"], "status": order["status"],
                      "updated_at": order["updated_at"]}


def test_update_order_status_does_not_enforce_cancellation_policy(conn):
    delivered = value(conn, "SELECT id FROM orders WHERE status = 'delivered' ORDER BY id LIMIT 1")
    _, changed = changes(conn, lambda: ok(conn, "updateOrderStatus", order_id=delivered, status="cancelled"))
    assert [r["status"] for r in changed["orders"][1]] == ["cancelled"]  # policy forbids it; judging that is the rubric's job


@pytest.mark.parametrize("arguments, expected", [
    ({"order_id": "ord-999999-999", "status": "cancelled"}, "not_found"),
    ({"order_id": "ord-250915-101", "status": "lost"}, "invalid_arguments"),
    ({"order_id": "ord-250915-101", "status": "CANCELLED"}, "invalid_arguments"),
    ({"order_id": "ord-250915-101"}, "invalid_arguments"),
    ({"order_id": "ord-250915-101' OR '1'='1", "status": "cancelled"}, "not_found"),
])
def test_update_order_status_errors_change_nothing(conn, arguments, expected):
    assert assert_unchanged_by(conn, "updateOrderStatus", arguments)["error"]["type"] == expected


# -- products and warranties -----------------------------------------------------------------------------------------
def test_search_products_filters_by_category_price_range_stock_and_brand_cheapest_first(conn):
    gpus = ok(conn, "searchProducts", category="gpu", min_price=300, max_price=600, limit=200)["products"]
    expected = rows(conn, "SELECT id FROM product WHERE category = 'gpu' AND price BETWEEN 300 AND 600 ORDER BY price, id")
    assert ids(gpus) == ids(expected) and expected
    assert [p["price"] for p in gpus] == sorted(p["price"] for p in gpus)
    assert isinstance(gpus[0]["specs"], dict) and isinstance(gpus[0]["backorderable"], bool)
    in_stock = ok(conn, "searchProducts", in_stock=True, limit=200)["products"]
    assert ids(in_stock) == ids(rows(conn, "SELECT id FROM product WHERE in_stock > 0 ORDER BY price, id LIMIT 200"))
    assert len(ok(conn, "searchProducts", in_stock=False, limit=200)["products"]) == value(conn, "SELECT COUNT(*) FROM product")
    brand = row(conn, "product", "zentrix-r5-7500")["brand"]
    assert ids(ok(conn, "searchProducts", brand=brand, limit=200)["products"]) == ids(
        rows(conn, "SELECT id FROM product WHERE brand = ? ORDER BY price, id", (brand,)))


def test_search_products_text_query_looks_in_name_brand_and_description(conn):
    found = ok(conn, "searchProducts", query="DDR5", limit=200)["products"]
    expected = [r["id"] for r in rows(conn, "SELECT id, name, brand, description FROM product ORDER BY price, id")
                if any("ddr5" in r[c].lower() for c in ("name", "brand", "description"))]
    assert ids(found) == expected and expected


@pytest.mark.parametrize("arguments", [{"min_price": -1}, {"max_price": 10**30}, {"min_price": "100"}, {"in_stock": "yes"},
                                       {"category": "laptop"}, {"in_stock": 1}])
def test_search_products_rejects_bad_filters(conn, arguments):
    assert error_type(conn, "searchProducts", arguments) == "invalid_arguments"


def test_get_product_returns_the_full_page_with_specs_decoded(conn):
    product = ok(conn, "getProduct", product_id="zentrix-r5-7500")["product"]
    stored = row(conn, "product", "zentrix-r5-7500")
    assert product == {**stored, "specs": json.loads(stored["specs"]), "backorderable": bool(stored["backorderable"])}
    assert call(conn, "getProduct", {"product_id": "no-such-part"})["error"] == {
        "type": "not_found", "message": "getProduct: no product with id 'no-such-part'"}


def test_check_warranty_status_adds_calendar_months_to_the_order_date(conn):
    order_id, product_id, created, months = conn.execute(
        "SELECT o.id, l.product_id, o.created_at, p.warranty_months FROM orders o JOIN order_line l ON l.order_id = o.id "
        "JOIN product p ON p.id = l.product_id WHERE p.warranty_months = 24 AND o.created_at >= '2024-06-01' ORDER BY o.id LIMIT 1").fetchone()
    status = ok(conn, "checkWarrantyStatus", order_id=order_id, product_id=product_id)
    year, month, day = (int(part) for part in created[:10].split("-"))
    assert status["purchase_date"] == created[:10] and status["warranty_months"] == months
    assert status["warranty_end_date"] == f"{year + 2:04d}-{month:02d}-{day:02d}"
    assert status["under_warranty"] is True and status["days_remaining"] > 0


def test_check_warranty_status_of_a_product_without_a_warranty_period_uses_12_months_and_can_be_expired(conn):
    status = ok(conn, "checkWarrantyStatus", order_id="ord-210907-101", product_id="pixelon-24-1920x1080-165hz")
    assert row(conn, "product", "pixelon-24-1920x1080-165hz")["warranty_months"] is None
    assert status == {"order_id": "ord-210907-101", "product_id": "pixelon-24-1920x1080-165hz", "purchase_date": "2021-09-07",
                      "warranty_months": 12, "warranty_end_date": "2022-09-07", "under_warranty": False, "days_remaining": 0}


def test_warranty_months_are_calendar_months_clamped_to_the_month_end():
    from datetime import date
    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert add_months(date(2023, 2, 28), 12) == date(2024, 2, 28)
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert add_months(date(2024, 11, 15), 84) == date(2031, 11, 15)


@pytest.mark.parametrize("arguments, expected, fragment", [
    ({"order_id": "ord-999999-999", "product_id": "zentrix-r5-7500"}, "not_found", "no order"),
    ({"order_id": "ord-210907-101", "product_id": "no-such-part"}, "not_found", "no product"),
    ({"order_id": "ord-210907-101", "product_id": "zentrix-r5-7500"}, "invalid_argument", "is not in order"),
    ({"order_id": "ord-210907-101"}, "invalid_arguments", "product_id"),
])
def test_check_warranty_status_errors(conn, arguments, expected, fragment):
    result = call(conn, "checkWarrantyStatus", arguments)
    assert result["error"]["type"] == expected and fragment in result["error"]["message"]


# -- payments and refunds --------------------------------------------------------------------------------------------
def test_search_payments_reports_what_was_refunded_so_far(conn):
    payment_id = value(conn, "SELECT id FROM payment WHERE status = 'partially_refunded' ORDER BY id LIMIT 1")
    payment = ok(conn, "searchPayments", payment_id=payment_id)["payments"][0]
    refunded = value(conn, "SELECT ROUND(SUM(amount), 2) FROM refund WHERE payment_id = ? AND status NOT IN ('denied', 'failed')", (payment_id,))
    assert payment == {**row(conn, "payment", payment_id), "refunded_total": refunded} and 0 < refunded < payment["amount"]
    untouched = ok(conn, "searchPayments", payment_id="pay-000001")["payments"][0]
    assert untouched["refunded_total"] == 0


def test_search_payments_by_order_status_method_transaction_and_date(conn):
    payment = row(conn, "payment", "pay-000002")
    assert ids(ok(conn, "searchPayments", order_id=payment["order_id"])["payments"]) == ["pay-000002"]
    assert ids(ok(conn, "searchPayments", transaction_id=payment["transaction_id"])["payments"]) == ["pay-000002"]
    failed = ok(conn, "searchPayments", status="failed", method="card", limit=200)["payments"]
    assert ids(failed) == ids(rows(conn, "SELECT id FROM payment WHERE status = 'failed' AND method = 'card' ORDER BY processed_at DESC, id"))
    recent = ok(conn, "searchPayments", processed_after="2025-09-10T12:00:00-04:00", limit=200)["payments"]
    assert ids(recent) == ids(rows(conn, "SELECT id FROM payment WHERE processed_at >= '2025-09-10T16:00:00Z' ORDER BY processed_at DESC, id"))
    assert error_type(conn, "searchPayments", {"method": "cash"}) == "invalid_arguments"


def _refundable(conn) -> dict:
    """A captured payment with no refunds yet, one of its order lines, and a ticket about its order."""
    payment_id, order_id, ticket_id = conn.execute(
        "SELECT p.id, p.order_id, t.id FROM payment p JOIN support_ticket t ON t.order_id = p.order_id WHERE p.status = 'captured' "
        "AND NOT EXISTS (SELECT 1 FROM refund f WHERE f.payment_id = p.id) ORDER BY p.id LIMIT 1").fetchone()
    line = rows(conn, "SELECT product_id, quantity, unit_price FROM order_line WHERE order_id = ? ORDER BY line_no LIMIT 1", (order_id,))[0]
    return {"payment": row(conn, "payment", payment_id), "order_id": order_id, "ticket_id": ticket_id, "line": line}


def _next_id(conn, table: str, prefix: str, width: int) -> str:
    latest = value(conn, f'SELECT MAX(id) FROM "{table}"')
    return f"{prefix}-{int(latest.rsplit('-', 1)[1]) + 1:0{width}d}"


def test_create_refund_inserts_exactly_one_pending_refund_and_its_lines(conn):
    case = _refundable(conn)
    payment_id, product_id = case["payment"]["id"], case["line"]["product_id"]
    amount = round(case["line"]["unit_price"] * 0.9, 2)
    refund_id = _next_id(conn, "refund", "ref", 5)
    result, changed = changes(conn, lambda: ok(conn, "createRefund", payment_id=payment_id, amount=amount, reason="defective",
                                               ticket_id=case["ticket_id"], lines=[{"product_id": product_id, "quantity": 1, "amount": amount}]))
    assert result["refund"] == {"id": refund_id, "payment_id": payment_id, "order_id": case["order_id"], "ticket_id": case["ticket_id"],
                                "amount": amount, "reason": "defective", "status": "pending", "created_at": NOW_ISO,
                                "lines": [{"product_id": product_id, "quantity": 1, "amount": amount}]}
    assert changed == {
        "refund": ([], [{"id": refund_id, "payment_id": payment_id, "ticket_id": case["ticket_id"], "amount": amount, "reason": "defective",
                         "status": "pending", "created_at": NOW_ISO, "processed_at": None}]),
        "refund_line": ([], [{"refund_id": refund_id, "product_id": product_id, "quantity": 1, "amount": amount}]),
    }
    integrity_ok(conn)


def test_create_refund_does_not_touch_payment_or_order_status_nor_apply_policy(conn):
    old_order = row(conn, "orders", "ord-210519-101")  # placed in 2021: far outside the 30-day return window
    assert old_order["created_at"] < "2022"
    payment = row(conn, "payment", "pay-000001")
    _, changed = changes(conn, lambda: ok(conn, "createRefund", payment_id="pay-000001", amount=payment["amount"], reason="customer_remorse",
                                          status="approved"))
    assert set(changed) == {"refund"}  # the full amount, shipping included, approved: integrity allows it, policy is the rubric's
    assert changed["refund"][1][0]["status"] == "approved" and changed["refund"][1][0]["amount"] == payment["amount"]


def test_create_refund_ids_are_sequential_and_the_remaining_amount_shrinks(conn):
    payment = row(conn, "payment", "pay-000001")
    first = ok(conn, "createRefund", payment_id="pay-000001", amount=100, reason="other")["refund"]["id"]
    second = ok(conn, "createRefund", payment_id="pay-000001", amount=round(payment["amount"] - 100, 2), reason="other")["refund"]["id"]
    assert int(second.split("-")[1]) == int(first.split("-")[1]) + 1
    result = call(conn, "createRefund", {"payment_id": "pay-000001", "amount": 0.01, "reason": "other"})
    assert result["error"]["type"] == "amount_exceeds_payment" and "remains refundable" in result["error"]["message"]


def test_denied_and_failed_refunds_do_not_count_against_the_payment(conn):
    payment = row(conn, "payment", "pay-000001")
    refund_id = ok(conn, "createRefund", payment_id="pay-000001", amount=payment["amount"], reason="other")["refund"]["id"]
    assert error_type(conn, "createRefund", {"payment_id": "pay-000001", "amount": 1, "reason": "other"}) == "amount_exceeds_payment"
    conn.execute("UPDATE refund SET status = 'denied' WHERE id = ?", (refund_id,))
    ok(conn, "createRefund", payment_id="pay-000001", amount=payment["amount"], reason="other")


def test_create_refund_line_quantities_count_earlier_refunds_of_the_same_product(conn):
    case = _refundable(conn)
    line = case["line"]
    line_args = {"product_id": line["product_id"], "quantity": line["quantity"], "amount": 1.0}
    ok(conn, "createRefund", payment_id=case["payment"]["id"], amount=1.0, reason="other", lines=[line_args])
    result = call(conn, "createRefund", {"payment_id": case["payment"]["id"], "amount": 1.0, "reason": "other",
                                         "lines": [{**line_args, "quantity": 1}]})
    assert result["error"]["type"] == "invalid_argument" and "only 0 of" in result["error"]["message"]


def _refund_error_cases(conn) -> list[tuple[str, dict, str, str]]:
    case = _refundable(conn)
    payment_id, product_id, quantity = case["payment"]["id"], case["line"]["product_id"], case["line"]["quantity"]
    pending = value(conn, "SELECT id FROM payment WHERE status = 'pending' ORDER BY id LIMIT 1")
    failed = value(conn, "SELECT id FROM payment WHERE status = 'failed' ORDER BY id LIMIT 1")
    other_ticket = value(conn, "SELECT id FROM support_ticket WHERE order_id IS NOT NULL AND order_id != ? ORDER BY id LIMIT 1", (case["order_id"],))
    other_product = value(conn, "SELECT id FROM product WHERE id NOT IN (SELECT product_id FROM order_line WHERE order_id = ?) ORDER BY id LIMIT 1",
                          (case["order_id"],))
    base = {"payment_id": payment_id, "amount": 10.0, "reason": "defective"}
    return [
        ("unknown payment", {**base, "payment_id": "pay-999999"}, "not_found", "no payment"),
        ("pending payment", {**base, "payment_id": pending}, "invalid_state", "nothing was captured"),
        ("failed payment", {**base, "payment_id": failed}, "invalid_state", "nothing was captured"),
        ("more than paid", {**base, "amount": round(case["payment"]["amount"] + 0.01, 2)}, "amount_exceeds_payment", "exceeds"),
        ("three decimals", {**base, "amount": 10.005}, "invalid_argument", "2 decimal places"),
        ("zero", {**base, "amount": 0}, "invalid_arguments", "amount"),
        ("negative", {**base, "amount": -5}, "invalid_arguments", "amount"),
        ("over a million", {**base, "amount": 1_000_001}, "invalid_arguments", "amount"),
        ("unknown reason", {**base, "reason": "changed_mind"}, "invalid_arguments", "reason"),
        ("status processed", {**base, "status": "processed"}, "invalid_arguments", "status"),
        ("unknown ticket", {**base, "ticket_id": "tick-9999"}, "not_found", "no support ticket"),
        ("another order's ticket", {**base, "ticket_id": other_ticket}, "invalid_argument", "is about order"),
        ("lines do not sum", {**base, "lines": [{"product_id": product_id, "quantity": 1, "amount": 9.0}]}, "invalid_argument", "sum to"),
        ("line not in order", {**base, "lines": [{"product_id": other_product, "quantity": 1, "amount": 10.0}]}, "invalid_argument",
         "is not in order"),
        ("line twice", {**base, "amount": 10.0, "lines": [{"product_id": product_id, "quantity": 1, "amount": 5.0}] * 2},
         "invalid_argument", "appears twice"),
        ("too many units", {**base, "lines": [{"product_id": product_id, "quantity": quantity + 1, "amount": 10.0}]},
         "invalid_argument", "remain unrefunded"),
        ("line three decimals", {**base, "amount": 10.01, "lines": [{"product_id": product_id, "quantity": 1, "amount": 10.005}]},
         "invalid_argument", "2 decimal places"),
        ("empty lines", {**base, "lines": []}, "invalid_arguments", "lines"),
        ("line missing amount", {**base, "lines": [{"product_id": product_id, "quantity": 1}]}, "invalid_arguments", "amount"),
    ]


@pytest.mark.parametrize("index", range(19))
def test_create_refund_errors_change_nothing(conn, index):
    cases = _refund_error_cases(conn)
    assert len(cases) == 19
    label, arguments, expected, fragment = cases[index]
    result = assert_unchanged_by(conn, "createRefund", arguments)
    assert result["error"]["type"] == expected, label
    assert fragment in result["error"]["message"], (label, result)


def test_update_payment_status_changes_only_that_payments_status(conn):
    payment = row(conn, "payment", "pay-000001")
    result, changed = changes(conn, lambda: ok(conn, "updatePaymentStatus", payment_id="pay-000001", status="refunded"))
    assert result == {"payment_id": "pay-000001", "previous_status": "captured", "status": "refunded"}
    assert changed == {"payment": ([payment], [{**payment, "status": "refunded"}])}
    assert assert_unchanged_by(conn, "updatePaymentStatus", {"payment_id": "pay-000001", "status": "refunded"})["previous_status"] == "refunded"


@pytest.mark.parametrize("arguments, expected", [
    ({"payment_id": "pay-999999", "status": "refunded"}, "not_found"),
    ({"payment_id": "pay-000001", "status": "reversed"}, "invalid_arguments"),
    ({"payment_id": "pay-000001", "status": None}, "invalid_arguments"),
])
def test_update_payment_status_errors_change_nothing(conn, arguments, expected):
    assert assert_unchanged_by(conn, "updatePaymentStatus", arguments)["error"]["type"] == expected


# -- tickets, escalations, resolutions -------------------------------------------------------------------------------
def test_search_tickets_by_customer_newest_first_and_by_text_status_type_priority_assignee(conn):
    mine = ok(conn, "searchTickets", customer_id="cust-0112")["tickets"]
    assert ids(mine) == ids(rows(conn, "SELECT id FROM support_ticket WHERE customer_id = 'cust-0112' ORDER BY created_at DESC, id"))
    returns = ok(conn, "searchTickets", query="RETURN REQUEST", limit=200)["tickets"]
    expected = [r["id"] for r in rows(conn, "SELECT id, subject, body FROM support_ticket ORDER BY created_at DESC, id")
                if "return request" in (r["subject"] + "\n" + r["body"]).lower()]
    assert ids(returns) == expected and expected
    urgent = ok(conn, "searchTickets", status="open", type="return", priority="high", limit=200)["tickets"]
    assert ids(urgent) == ids(rows(conn, "SELECT id FROM support_ticket WHERE status = 'open' AND type = 'return' AND priority = 'high' "
                                         "ORDER BY created_at DESC, id"))
    assigned = ok(conn, "searchTickets", assignee_id="emp-0014", limit=200)["tickets"]
    assert assigned and {t["assignee_id"] for t in assigned} == {"emp-0014"}
    assert ids(ok(conn, "searchTickets", order_id="ord-210907-101")["tickets"]) == ["tick-0001"]
    recent = ok(conn, "searchTickets", created_after="2025-09-14T00:00:00+02:00", created_before="2025-09-14")["tickets"]
    assert ids(recent) == ids(rows(conn, "SELECT id FROM support_ticket WHERE created_at BETWEEN '2025-09-13T22:00:00Z' "
                                         "AND '2025-09-14T23:59:59Z' ORDER BY created_at DESC, id"))
    assert error_type(conn, "searchTickets", {"type": "refund"}) == "invalid_arguments"


def test_get_customer_ticket_history_attaches_each_tickets_escalations_and_resolutions(conn):
    customer_id = value(conn, "SELECT t.customer_id FROM escalation e JOIN support_ticket t ON t.id = e.ticket_id ORDER BY e.id LIMIT 1")
    history = ok(conn, "getCustomerTicketHistory", customer_id=customer_id)
    customer = row(conn, "customer", customer_id)
    assert history["customer"] == {k: customer[k] for k in ("id", "name", "email", "loyalty_tier")}
    assert ids(history["tickets"]) == ids(rows(conn, "SELECT id FROM support_ticket WHERE customer_id = ? ORDER BY created_at DESC, id",
                                               (customer_id,)))
    for ticket in history["tickets"]:
        assert ticket["escalations"] == rows(conn, "SELECT * FROM escalation WHERE ticket_id = ? ORDER BY created_at, id", (ticket["id"],))
        assert ticket["resolutions"] == rows(conn, "SELECT * FROM resolution WHERE ticket_id = ? ORDER BY created_at, id", (ticket["id"],))
    assert any(ticket["escalations"] for ticket in history["tickets"])


def test_get_customer_ticket_history_of_a_customer_without_tickets_and_of_an_unknown_one(conn):
    quiet = value(conn, "SELECT id FROM customer c WHERE NOT EXISTS (SELECT 1 FROM support_ticket t WHERE t.customer_id = c.id) ORDER BY id")
    assert ok(conn, "getCustomerTicketHistory", customer_id=quiet)["tickets"] == []
    assert error_type(conn, "getCustomerTicketHistory", {"customer_id": "cust-9999"}) == "not_found"


def test_create_escalation_inserts_exactly_one_row_and_records_any_destination(conn):
    escalation_id = _next_id(conn, "escalation", "esc", 4)
    arguments = {"ticket_id": "tick-0005", "escalation_type": "warranty", "destination": "finance",  # policy routes warranty elsewhere
                 "notes": "Customer asks for an exception.", "created_by": "emp-0003"}
    result, changed = changes(conn, lambda: ok(conn, "createEscalation", **arguments))
    expected = {"id": escalation_id, **arguments, "created_at": NOW_ISO}
    assert result == {"escalation": expected}
    assert changed == {"escalation": ([], [{**expected, "resolved_at": None}])}
    integrity_ok(conn)


@pytest.mark.parametrize("change, expected", [
    ({"ticket_id": "tick-9999"}, "not_found"),
    ({"created_by": "emp-9999"}, "not_found"),
    ({"escalation_type": "urgent"}, "invalid_arguments"),
    ({"destination": "legal"}, "invalid_arguments"),
    ({"notes": ""}, "invalid_arguments"),
    ({"notes": "x" * 4001}, "invalid_arguments"),
])
def test_create_escalation_errors_change_nothing(conn, change, expected):
    arguments = {"ticket_id": "tick-0005", "escalation_type": "technical", "destination": "engineering", "notes": "n", **change}
    assert assert_unchanged_by(conn, "createEscalation", arguments)["error"]["type"] == expected


def test_create_resolution_inserts_exactly_one_row_linked_to_the_refund(conn):
    refund = row(conn, "refund", "ref-00001")
    resolution_id = _next_id(conn, "resolution", "res", 4)
    arguments = {"ticket_id": refund["ticket_id"], "outcome": "refund_issued", "resolved_by": "emp-0003",
                 "details": "Refund issued.", "refund_id": "ref-00001"}
    result, changed = changes(conn, lambda: ok(conn, "createResolution", **arguments))
    expected = {"id": resolution_id, **arguments, "created_at": NOW_ISO}
    assert result == {"resolution": expected}
    assert changed == {"resolution": ([], [expected])}
    _, without_refund = changes(conn, lambda: ok(conn, "createResolution", ticket_id="tick-0005", outcome="no_action",
                                                 resolved_by="emp-0003", details="Nothing to do."))
    assert [r["refund_id"] for r in without_refund["resolution"][1]] == [None]


def _resolution_error_cases(conn) -> list[tuple[dict, str, str]]:
    refund = row(conn, "refund", "ref-00001")
    base = {"ticket_id": refund["ticket_id"], "outcome": "refund_issued", "resolved_by": "emp-0003", "details": "d"}
    other_ticket = value(conn, "SELECT id FROM support_ticket WHERE id != ? AND order_id IS NOT NULL ORDER BY id LIMIT 1", (refund["ticket_id"],))
    return [
        ({**base, "ticket_id": "tick-9999"}, "not_found", "no support ticket"),
        ({**base, "resolved_by": "emp-9999"}, "not_found", "no employee"),
        ({**base, "refund_id": "ref-99999"}, "not_found", "no refund"),
        ({**base, "ticket_id": other_ticket, "refund_id": "ref-00001"}, "invalid_argument", "belongs to ticket"),
        ({**base, "outcome": "refunded"}, "invalid_arguments", "outcome"),
        ({**base, "details": "x" * 4001}, "invalid_arguments", "details"),
        ({key: v for key, v in base.items() if key != "resolved_by"}, "invalid_arguments", "resolved_by"),
    ]


@pytest.mark.parametrize("index", range(7))
def test_create_resolution_errors_change_nothing(conn, index):
    arguments, expected, fragment = _resolution_error_cases(conn)[index]
    result = assert_unchanged_by(conn, "createResolution", arguments)
    assert result["error"]["type"] == expected and fragment in result["error"]["message"]


def test_create_resolution_rejects_an_unlinked_refund_of_another_order(conn):
    case = _refundable(conn)
    refund_id = ok(conn, "createRefund", payment_id=case["payment"]["id"], amount=1, reason="other")["refund"]["id"]
    ticket = value(conn, "SELECT id FROM support_ticket WHERE order_id IS NOT NULL AND order_id != ? ORDER BY id LIMIT 1", (case["order_id"],))
    result = assert_unchanged_by(conn, "createResolution", {"ticket_id": ticket, "outcome": "refund_issued", "resolved_by": "emp-0003",
                                                            "details": "d", "refund_id": refund_id})
    assert result["error"]["type"] == "invalid_argument" and "is for order" in result["error"]["message"]


def test_update_ticket_status_resolves_with_resolution_and_closure_reason_changing_only_that_ticket(conn):
    ticket = row(conn, "support_ticket", "tick-0005")
    resolution_id = ok(conn, "createResolution", ticket_id="tick-0005", outcome="no_action", resolved_by="emp-0003",
                       details="Handled.")["resolution"]["id"]
    result, changed = changes(conn, lambda: ok(conn, "updateTicketStatus", ticket_id="tick-0005", status="resolved",
                                               resolution_id=resolution_id, closure_reason="resolved_success"))
    assert result == {"ticket_id": "tick-0005", "previous_status": ticket["status"], "status": "resolved",
                      "resolution_id": resolution_id, "closure_reason": "resolved_success"}
    updated = {**ticket, "status": "resolved", "resolution_id": resolution_id, "closure_reason": "resolved_success", "updated_at": NOW_ISO}
    assert changed == {"support_ticket": ([ticket], [updated])}
    integrity_ok(conn)


def test_update_ticket_status_without_resolution_keeps_the_recorded_one(conn):
    ticket = row(conn, "support_ticket", "tick-0001")
    assert ticket["resolution_id"] == "res-0001"
    result, changed = changes(conn, lambda: ok(conn, "updateTicketStatus", ticket_id="tick-0001", status="open"))
    assert result["resolution_id"] == "res-0001" and result["closure_reason"] == ticket["closure_reason"]
    assert changed == {"support_ticket": ([ticket], [{**ticket, "status": "open", "updated_at": NOW_ISO}])}


@pytest.mark.parametrize("arguments, expected, fragment", [
    ({"ticket_id": "tick-9999", "status": "open"}, "not_found", "no support ticket"),
    ({"ticket_id": "tick-0005", "status": "resolved", "resolution_id": "res-9999"}, "not_found", "no resolution"),
    ({"ticket_id": "tick-0005", "status": "resolved", "resolution_id": "res-0001"}, "invalid_argument", "belongs to ticket"),
    ({"ticket_id": "tick-0005", "status": "done"}, "invalid_arguments", "status"),
    ({"ticket_id": "tick-0005", "status": "closed", "closure_reason": "fixed"}, "invalid_arguments", "closure_reason"),
])
def test_update_ticket_status_errors_change_nothing(conn, arguments, expected, fragment):
    result = assert_unchanged_by(conn, "updateTicketStatus", arguments)
    assert result["error"]["type"] == expected and fragment in result["error"]["message"]


# -- builds ----------------------------------------------------------------------------------------------------------
def test_search_builds_lists_components_with_quantities(conn):
    builds = ok(conn, "searchBuilds", customer_id="cust-0190")["builds"]
    assert ids(builds) == ids(rows(conn, "SELECT id FROM build WHERE customer_id = 'cust-0190' ORDER BY id")) and len(builds) == 3
    for build in builds:
        expected = rows(conn, "SELECT c.product_id, p.name, p.category, c.quantity FROM build_component c JOIN product p ON p.id = c.product_id "
                              "WHERE c.build_id = ? ORDER BY p.category, c.product_id", (build["id"],))
        assert build["components"] == expected and expected
    internal = ok(conn, "searchBuilds", owner_type="internal", limit=200)["builds"]
    assert ids(internal) == ids(rows(conn, "SELECT id FROM build WHERE owner_type = 'internal' ORDER BY id"))
    with_cpu = ok(conn, "searchBuilds", product_id="zentrix-r5-7500", limit=200)["builds"]
    assert with_cpu and all("zentrix-r5-7500" in [c["product_id"] for c in b["components"]] for b in with_cpu)
    assert ids(ok(conn, "searchBuilds", query="TEMPLATE 1", limit=200)["builds"]) == ids(
        rows(conn, "SELECT id FROM build WHERE lower(name) LIKE '%template 1%' ORDER BY id"))
    assert ok(conn, "searchBuilds", build_id="build-9999")["builds"] == []


def test_text_search_finds_a_non_ascii_fragment_in_its_exact_case(conn):
    build_id = ok(conn, "createBuild", name="Büro-PC für Ärzte", product_ids=["zentrix-r5-7500"], owner_type="internal")["build"]["id"]
    assert ids(ok(conn, "searchBuilds", query="Ärzte")["builds"]) == [build_id]
    assert ids(ok(conn, "searchBuilds", query="BüRO-pc")["builds"]) == [build_id]  # ASCII letters fold; ü matches ü


def _template_parts(conn) -> list[str]:
    """The parts of the first internal template the validator calls compatible, one entry per unit."""
    for build_id in ids(rows(conn, "SELECT id FROM build WHERE owner_type = 'internal' ORDER BY id")):
        parts = [r["product_id"] for r in rows(conn, "SELECT product_id, quantity FROM build_component WHERE build_id = ? ORDER BY product_id",
                                               (build_id,)) for _ in range(r["quantity"])]
        if ok(conn, "validateBuildCompatibility", product_ids=parts)["compatible"]:
            return parts
    raise AssertionError("no compatible internal template")


def test_validate_build_compatibility_accepts_a_compatible_template(conn):
    parts = _template_parts(conn)
    report = ok(conn, "validateBuildCompatibility", product_ids=parts)
    assert report["compatible"] is True and report["errors"] == [] and report["product_ids"] == parts


def test_validate_build_compatibility_reports_socket_mismatch_and_a_second_cpu(conn):
    amd_cpu = value(conn, "SELECT id FROM product WHERE category = 'cpu' AND json_extract(specs, '$.socket') = 'AM5' ORDER BY id")
    other_board = value(conn, "SELECT id FROM product WHERE category = 'motherboard' AND json_extract(specs, '$.socket') != 'AM5' ORDER BY id")
    report = ok(conn, "validateBuildCompatibility", product_ids=[amd_cpu, other_board, amd_cpu])
    assert report["compatible"] is False
    assert {e["rule_id"] for e in report["errors"]} >= {"rule-cpu-socket", "rule-single-cpu"}
    assert all(set(e) == {"rule_id", "message"} and e["message"] for e in report["errors"] + report["warnings"])


@pytest.mark.parametrize("product_ids, expected", [
    (["zentrix-r5-7500", "no-such-part", "also-missing"], "not_found"),
    ([], "invalid_arguments"),
    (["zentrix-r5-7500"] * 21, "invalid_arguments"),
    ("zentrix-r5-7500", "invalid_arguments"),
])
def test_validate_build_compatibility_errors(conn, product_ids, expected):
    result = call(conn, "validateBuildCompatibility", {"product_ids": product_ids})
    assert result["error"]["type"] == expected
    if expected == "not_found":
        assert "'no-such-part'" in result["error"]["message"] and "'also-missing'" in result["error"]["message"]


def test_create_build_inserts_the_build_and_one_component_row_per_distinct_part(conn):
    parts = _template_parts(conn)
    doubled = parts + [parts[0]]
    build_id = _next_id(conn, "build", "build", 4)
    result, changed = changes(conn, lambda: ok(conn, "createBuild", name="Quiet office PC", product_ids=doubled, owner_type="customer",
                                               customer_id="cust-0001"))
    assert result["build"] == {"id": build_id, "name": "Quiet office PC", "owner_type": "customer", "customer_id": "cust-0001",
                               "product_ids": doubled, "created_at": NOW_ISO}
    assert set(changed) == {"build", "build_component"}
    assert changed["build"] == ([], [{"id": build_id, "owner_type": "customer", "customer_id": "cust-0001", "name": "Quiet office PC",
                                      "created_at": NOW_ISO, "updated_at": NOW_ISO}])
    counts = Counter(doubled)
    assert changed["build_component"] == ([], [{"build_id": build_id, "product_id": p, "quantity": counts[p]} for p in sorted(counts)])
    integrity_ok(conn)


def test_create_build_stores_an_incompatible_build_because_validating_first_is_the_agents_job(conn):
    amd_cpu = value(conn, "SELECT id FROM product WHERE category = 'cpu' AND json_extract(specs, '$.socket') = 'AM5' ORDER BY id")
    other_board = value(conn, "SELECT id FROM product WHERE category = 'motherboard' AND json_extract(specs, '$.socket') != 'AM5' ORDER BY id")
    _, changed = changes(conn, lambda: ok(conn, "createBuild", name="Mismatch", product_ids=[amd_cpu, other_board], owner_type="internal"))
    assert [r["customer_id"] for r in changed["build"][1]] == [None] and len(changed["build_component"][1]) == 2


@pytest.mark.parametrize("change, expected", [
    ({"owner_type": "internal"}, "invalid_argument"),                        # internal with a customer
    ({"customer_id": None}, "invalid_arguments"),
    ({"customer_id": "cust-9999"}, "not_found"),
    ({"product_ids": ["zentrix-r5-7500", "no-such-part"]}, "not_found"),
    ({"name": ""}, "invalid_arguments"),
    ({"owner_type": "team"}, "invalid_arguments"),
])
def test_create_build_errors_change_nothing(conn, change, expected):
    arguments = {"name": "PC", "product_ids": ["zentrix-r5-7500"], "owner_type": "customer", "customer_id": "cust-0001", **change}
    assert assert_unchanged_by(conn, "createBuild", arguments)["error"]["type"] == expected


def test_create_build_for_a_customer_needs_the_customer(conn):
    without_customer = {"name": "PC", "product_ids": ["zentrix-r5-7500"], "owner_type": "customer"}
    result = assert_unchanged_by(conn, "createBuild", without_customer)
    assert result["error"]["type"] == "invalid_argument" and "customer_id is required" in result["error"]["message"]


def test_update_build_renaming_changes_only_the_build_row(conn):
    build = row(conn, "build", "build-0026")
    result, changed = changes(conn, lambda: ok(conn, "updateBuild", build_id="build-0026", name="Renamed"))
    assert changed == {"build": ([build], [{**build, "name": "Renamed", "updated_at": NOW_ISO}])}
    assert result["build"]["name"] == "Renamed" and result["build"]["components"] == rows(
        conn, "SELECT product_id, quantity FROM build_component WHERE build_id = 'build-0026' ORDER BY product_id")


def test_update_build_replacing_parts_replaces_exactly_that_builds_components(conn):
    build = row(conn, "build", "build-0026")
    old_components = rows(conn, "SELECT * FROM build_component WHERE build_id = 'build-0026' ORDER BY product_id")
    parts = _template_parts(conn)
    _, changed = changes(conn, lambda: ok(conn, "updateBuild", build_id="build-0026", product_ids=parts + parts[:1]))
    counts = Counter(parts + parts[:1])
    new_components = [{"build_id": "build-0026", "product_id": p, "quantity": counts[p]} for p in sorted(counts)]
    unchanged = [c for c in old_components if c in new_components]
    assert changed["build"] == ([build], [{**build, "updated_at": NOW_ISO}])
    assert changed["build_component"] == ([c for c in old_components if c not in unchanged], [c for c in new_components if c not in unchanged])
    assert set(changed) == {"build", "build_component"}
    integrity_ok(conn)


@pytest.mark.parametrize("arguments, expected", [
    ({"build_id": "build-0026"}, "invalid_argument"),
    ({"build_id": "build-9999", "name": "x"}, "not_found"),
    ({"build_id": "build-0026", "product_ids": ["no-such-part"]}, "not_found"),
    ({"build_id": "build-0026", "product_ids": []}, "invalid_arguments"),
    ({"build_id": "build-0026", "name": None}, "invalid_arguments"),
])
def test_update_build_errors_change_nothing(conn, arguments, expected):
    assert assert_unchanged_by(conn, "updateBuild", arguments)["error"]["type"] == expected


# -- knowledge base and Slack ----------------------------------------------------------------------------------------
def test_search_knowledge_base_searches_articles_and_slack_by_default_20_each(conn):
    result = ok(conn, "searchKnowledgeBase")
    assert set(result) == {"articles", "slack_messages"}
    assert len(result["articles"]) == 20 and len(result["slack_messages"]) == 20
    assert ids(result["slack_messages"]) == ids(rows(conn, "SELECT id FROM slack_message ORDER BY timestamp DESC, id LIMIT 20"))
    article = result["articles"][0]
    assert isinstance(article["tags"], list) and isinstance(article["product_ids"], list) and isinstance(article["deprecated"], bool)


def test_search_knowledge_base_text_query_matches_title_body_and_message_text(conn):
    result = ok(conn, "searchKnowledgeBase", query="Return", limit=200)
    articles = [r["id"] for r in rows(conn, "SELECT id, title, body FROM knowledge_base_article ORDER BY id")
                if "return" in (r["title"] + "\n" + r["body"]).lower()]
    messages = [r["id"] for r in rows(conn, "SELECT id, text FROM slack_message ORDER BY timestamp DESC, id") if "return" in r["text"].lower()]
    assert ids(result["articles"]) == articles and ids(result["slack_messages"]) == messages and articles and messages


@pytest.mark.parametrize("tag", ["a/b", "café", 'say "hi"', "back\\slash", "tab\there", ",", "plain"])
@pytest.mark.parametrize("encode", [
    lambda tags: json.dumps(tags),                               # the world's own encoder (ASCII escapes)
    lambda tags: json.dumps(tags, ensure_ascii=False),           # raw UTF-8
    lambda tags: json.dumps(tags).replace("/", "\\/"),           # an encoder that escapes "/"
], ids=["ascii", "utf8", "escaped-slash"])
def test_a_json_array_filter_finds_every_member_however_the_array_was_encoded(conn, tag, encode):
    # searchKnowledgeBase(tag=...) skips rows by a plain-text prefilter before json_each decides: it must never drop
    # a real member, nor let a near miss through (the text "," occurs inside ["x","y"] without being a member).
    conn.execute("UPDATE knowledge_base_article SET tags = ? WHERE id = 'kb-0001'", (encode([tag, "extra"]),))
    conn.execute("UPDATE knowledge_base_article SET tags = ? WHERE id = 'kb-0003'", (encode([f"{tag}x", "x", "y"]),))
    found = ids(ok(conn, "searchKnowledgeBase", tag=tag, sources=["articles"], limit=200)["articles"])
    expected = [r["id"] for r in rows(conn, "SELECT id, tags FROM knowledge_base_article ORDER BY id") if tag in json.loads(r["tags"])]
    assert "kb-0001" in found and "kb-0003" not in found and found == expected


def test_search_knowledge_base_filters_tag_product_deprecation_source_channel_and_time(conn):
    returns = ok(conn, "searchKnowledgeBase", tag="returns", sources=["articles"], limit=200)
    assert set(returns) == {"articles"}
    assert ids(returns["articles"]) == [r["id"] for r in rows(conn, "SELECT id, tags FROM knowledge_base_article ORDER BY id")
                                        if "returns" in json.loads(r["tags"])]
    assert "kb-0002" in ids(returns["articles"])  # the deprecated 2023 return policy is included and flagged by default
    current = ok(conn, "searchKnowledgeBase", tag="returns", include_deprecated=False, sources=["articles"])["articles"]
    assert "kb-0002" not in ids(current) and not any(a["deprecated"] for a in current)
    product_id = value(conn, "SELECT j.value FROM knowledge_base_article a, json_each(a.product_ids) j ORDER BY a.id LIMIT 1")
    about = ok(conn, "searchKnowledgeBase", product_id=product_id, sources=["articles"])["articles"]
    assert about and all(product_id in a["product_ids"] for a in about)
    assert ids(ok(conn, "searchKnowledgeBase", article_id="kb-0003", sources=["articles"])["articles"]) == ["kb-0003"]
    slack = ok(conn, "searchKnowledgeBase", sources=["slack"], channel="escalations", since="2025-09-01", limit=200)
    assert set(slack) == {"slack_messages"}
    assert ids(slack["slack_messages"]) == ids(rows(conn, "SELECT id FROM slack_message WHERE channel = 'escalations' AND timestamp >= "
                                                          "'2025-09-01T00:00:00Z' ORDER BY timestamp DESC, id"))


@pytest.mark.parametrize("arguments, expected", [
    ({"sources": ["email"]}, "invalid_arguments"),
    ({"sources": []}, "invalid_arguments"),
    ({"channel": "general"}, "invalid_arguments"),
    ({"since": "last week"}, "invalid_arguments"),
    ({"since": "2025-02-30"}, "invalid_argument"),
    ({"include_deprecated": "false"}, "invalid_arguments"),
    ({"tag": "t" * 61}, "invalid_arguments"),
])
def test_search_knowledge_base_errors(conn, arguments, expected):
    assert error_type(conn, "searchKnowledgeBase", arguments) == expected
