"""``state`` criteria filtered in SQL select exactly the rows the Python matchers select, for every matcher."""

from __future__ import annotations

import pytest

from corecraft_env.tasks import criteria
from corecraft_env.tasks.criteria import ROW_KEY, Episode, _all_match, _table_rows, check_state
from corecraft_env.tasks.sql_filters import MAX_PLACEHOLDERS, matcher_sql, where_sql
from corecraft_env.tools.base import Db
from corecraft_env.world import load_world


@pytest.fixture(scope="module")
def episode() -> Episode:
    conn = load_world(0).connect()
    # Writes as the change log records them: two refunds and a ticket "inserted", one order updated.
    writes = [("refund", "ref-00001", "insert"), ("refund", "ref-00002", "insert"), ("refund_line", "ref-00002", "insert"),
              ("support_ticket", "tick-0003", "insert"), ("orders", "ord-250823-104", "update")]
    return Episode(conn=conn, writes=writes)


def rows_by_python(episode: Episode, check: dict) -> list[dict]:
    """The previous implementation's answer: every row of the table, filtered by the matchers in Python."""
    rows = [r for r in Db(episode.conn).all(f'SELECT * FROM "{check["table"]}"') if _all_match(r, check.get("where", {}))]
    if check.get("new_only"):
        key = ROW_KEY.get(check["table"], "id")
        created = {k for t, k, op in episode.writes if t == check["table"] and op == "insert"}
        rows = [r for r in rows if r[key] in created]
    return rows


def same_rows(selected: list[dict], full: list[dict]) -> bool:
    """The rows ``_table_rows`` returns (the columns the check reads) are those of ``full``, in the same order."""
    return len(selected) == len(full) and all(row == {k: other[k] for k in row} for row, other in zip(selected, full))


def column_values(episode: Episode, table: str, column: str) -> list:
    return [row[0] for row in episode.conn.execute(f'SELECT DISTINCT "{column}" FROM "{table}" ORDER BY 1 LIMIT 3')]


# (table, column): a text id, text with NULLs, money, an integer with NULLs, a flag, a JSON column.
COLUMNS = [("support_ticket", "id"), ("support_ticket", "order_id"), ("refund", "amount"), ("product", "warranty_months"),
           ("product", "backorderable"), ("product", "specs"), ("refund", "status")]


def matchers_for(values: list) -> list:
    """Every matcher form over values taken from the column, plus near misses and values of other types."""
    present = [v for v in values if v is not None]
    first = present[0]
    numeric = [v for v in present if isinstance(v, (int, float))]
    near = [x for v in numeric for x in (v + 0.004, v - 0.006, float(v))]
    others = ["no-such-value", 0, 1, 12.0, True, False, None, [first]]
    matchers: list = [*values, *near, *others]
    for operand in [*present, *near, "m", 30]:
        matchers += [{op: operand} for op in ("eq", "ne", "gt", "gte", "lt", "lte")]
    matchers += [{"in": values}, {"in": [*present, "no-such-value", 12, None, True]}, {"in": []},
                 {"not_in": values}, {"not_in": [*present, 12.0, False]}, {"not_in": []},
                 {"is_null": True}, {"is_null": False}, {"contains": "e"}, {"contains_all": ["x"]}, {"same_items": [first]},
                 {"gte": 10, "lt": 40}, {"ne": None, "in": present}]
    if numeric:
        matchers += [{"approx": numeric[0], "tol": 0.5}, {"approx": numeric[0] + 0.004}, {"approx": numeric[0] + 0.006}]
    return matchers


@pytest.mark.parametrize(("table", "column"), COLUMNS)
def test_sql_filter_selects_the_rows_python_selects(episode: Episode, table: str, column: str) -> None:
    values = column_values(episode, table, column)  # NULL sorts first: a nullable column's values include None
    checked = 0
    for matcher in matchers_for(values):
        for new_only in (False, True):
            check = {"table": table, "where": {column: matcher}, "new_only": new_only}
            expected = rows_by_python(episode, check)
            assert same_rows(_table_rows(episode, check)[1], expected), check
            for count in (None, len(expected), 1):
                assert check_state(episode, {**check, "count": count}) == check_state_by_python(episode, {**check, "count": count}), check
            checked += 1
    assert checked >= 90


def check_state_by_python(episode: Episode, check: dict) -> tuple[bool, str]:
    """``check_state`` with the rows chosen by Python, to compare verdicts and reasons."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(criteria, "_table_rows", lambda episode, check: (check["table"], rows_by_python(episode, check)))
        return criteria.check_state(episode, check)


def test_every_matcher_of_plain_columns_is_pushed_to_sql() -> None:
    for matcher in ["x", 1.5, None, True, {"eq": "x"}, {"ne": "x"}, {"in": ["a", "b", 2]}, {"not_in": ["a"]},
                    {"gt": 1}, {"gte": "a"}, {"lt": 3}, {"lte": 4}, {"approx": 3, "tol": 1}, {"is_null": False}]:
        assert matcher_sql("status", matcher) is not None, matcher
    # Left to Python: substring and list matchers, and JSON columns (compared decoded).
    assert matcher_sql("status", {"contains": "x"}) is None
    assert matcher_sql("tags", "x") is None


def test_in_filter_on_ids_is_an_index_lookup(episode: Episode) -> None:
    ids = ["tick-0001", "tick-0005", "tick-0009"]
    condition, params = where_sql({"id": {"in": ids}})
    assert "json_each" not in condition and params == ids  # short lists: one placeholder per value
    plan = " ".join(row[3] for row in episode.conn.execute(f'EXPLAIN QUERY PLAN SELECT * FROM "support_ticket" WHERE {condition}', params))
    assert "SEARCH support_ticket USING PRIMARY KEY" in plan and "SCAN support_ticket" not in plan
    assert [r["id"] for r in _table_rows(episode, {"table": "support_ticket", "where": {"id": {"in": ids}}})[1]] == ids


def test_new_only_reads_only_the_inserted_rows(episode: Episode) -> None:
    condition, _ = where_sql({})
    assert condition == "1"
    rows = _table_rows(episode, {"table": "refund", "new_only": True})[1]
    assert rows == [{"id": "ref-00001"}, {"id": "ref-00002"}]  # no where or expect: the primary key alone
    rows = _table_rows(episode, {"table": "refund_line", "new_only": True, "expect": {"amount": 1}})[1]
    assert rows and {r["refund_id"] for r in rows} == {"ref-00002"} and set(rows[0]) == {"refund_id", "product_id", "amount"}


def test_long_in_lists_go_as_one_json_parameter(episode: Episode):
    ids = [row[0] for row in episode.conn.execute('SELECT id FROM "orders" ORDER BY id')][::3]
    assert len(ids) > MAX_PLACEHOLDERS
    check = {"table": "orders", "where": {"id": {"in": [*ids, "ord-999999-999"]}}}
    condition, params = where_sql(check["where"])
    assert "json_each" in condition and len(params) == 1
    assert same_rows(_table_rows(episode, check)[1], rows_by_python(episode, check))
