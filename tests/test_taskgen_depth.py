"""Deep chains and boundary cases (issue #14): every task of the chain families needs at least four dependent lookups,
every task of the boundary families is a boundary case as ``corecraft tasks --stats`` counts it, and one example of
each boundary kind, checked by hand: a return whose UTC date reads a day inside the window, a return on day 31 that a
calendar month would still allow, a warranty ending days from now, and a partial refund whose discount rounds."""

from __future__ import annotations

import json
from datetime import date

import pytest

from corecraft_env.agents import OracleAgent, PolicyBlindAgent, run_episode
from corecraft_env.env import CorecraftEnv
from corecraft_env.taskgen.build import generate
from corecraft_env.taskgen.facts import EASTERN
from corecraft_env.taskgen.families.boundaries import eastern_age, rounds, utc_age
from corecraft_env.tasks import Task, TaskSet
from corecraft_env.tasks.realism import DEEP_CHAIN, WorldIndex
from corecraft_env.tools.products import add_months
from corecraft_env.world.generator import parse_iso
from corecraft_env.world.pricing import net_of_discount, to_cents

CHAIN_FAMILIES = ["first_order_warranty", "ordered_cooler_guide_check", "reorder_last_part", "ticket_warranty_followup",
                  "warranty_lookup_by_product"]
BOUNDARY_FAMILIES = ["defect_at_window_edge", "return_window_just_closed", "return_window_last_days", "warranty_ending_this_week"]
TODAY = date(2025, 9, 15)  # the in-world now, 2025-09-15 18:00 UTC, is 14:00 of the same day in Eastern time


def _generated(seed: int, names: list[str]) -> dict[str, list[tuple[Task, dict]]]:
    return {result.family.name: [(Task.from_dict(g.task, source=g.task["id"]), g.rubric) for g in result.kept]
            for result in generate(names, seed)}


@pytest.fixture(scope="module")
def shipped():
    return _generated(0, CHAIN_FAMILIES + BOUNDARY_FAMILIES)


@pytest.fixture(scope="module")
def world():
    return WorldIndex(0)


def _blind_passes(task: Task, rubric: dict, rule: str, tmp_path) -> bool:
    (tmp_path / f"{rubric['id']}.json").write_text(json.dumps(rubric), encoding="utf-8")
    tasks = TaskSet.of([task], tmp_path)
    env = CorecraftEnv(task_set=tasks, task_ids=[task.id])
    try:
        assert run_episode(env, OracleAgent(tasks), task.id).passed, f"{task.id}: the reference solution fails its rubric"
        return run_episode(env, PolicyBlindAgent(tasks, rule), task.id).passed
    finally:
        env.close()


def _order_of(task: Task) -> str:
    return next(c.arguments["order_id"] for c in task.reference_tool_calls if c.name == "getOrderDetails")


@pytest.mark.parametrize("family", CHAIN_FAMILIES)
def test_every_chain_task_needs_four_dependent_lookups(shipped, world, family):
    tasks = shipped[family]
    assert len(tasks) >= 10
    assert {task.id: world.chain_length(task) for task, _ in tasks if world.chain_length(task) < DEEP_CHAIN} == {}


@pytest.mark.parametrize("family", BOUNDARY_FAMILIES)
def test_every_boundary_task_is_a_boundary_case(shipped, world, family):
    tasks = shipped[family]
    assert len(tasks) >= 6
    assert [task.id for task, _ in tasks if not world.is_boundary_case(task)] == []


def test_chain_requests_name_no_internal_id_and_differ(shipped):
    requests = [task.request for family in CHAIN_FAMILIES for task, _ in shipped[family]]
    assert not any(word in request for request in requests for word in ("cust-", "emp-", "cheapest"))
    assert len(set(requests)) == len(requests)


def test_an_eastern_evening_order_whose_utc_date_reads_day_30_is_refused(tmp_path):
    """Seed 2 has a delivered order stored as 2025-08-16T02:04Z: on the UTC calendar it is 30 days old (inside), but it
    was placed at 22:04 on August 15 in Eastern time, 31 days before today, and more than 30 × 24 hours ago."""
    tasks = _generated(2, ["return_window_just_closed"])["return_window_just_closed"]
    flips = [(task, rubric) for task, rubric in tasks if _order_of(task) == "ord-250816-101"]
    assert flips, "the hand-checked order is no longer among the family's tasks on seed 2"
    task, rubric = flips[0]
    created = WorldIndex(2).conn.execute("SELECT created_at FROM orders WHERE id = 'ord-250816-101'").fetchone()[0]
    assert (created, utc_age(created), eastern_age(created)) == ("2025-08-16T02:04:07Z", 30, 31)
    assert not any(c.name == "createRefund" for c in task.reference_tool_calls)
    assert "August 15, 2025" in task.reference_reply and "31 days" in task.reference_reply
    # Reading the UTC date as the order date grants the refund: the return_window blind solution does exactly that.
    assert any(c.name == "createRefund" for c in task.policy_blind["return_window"].tool_calls)
    assert not _blind_passes(task, rubric, "return_window", tmp_path)


def test_day_31_is_past_the_window_though_a_month_has_not_passed(shipped, tmp_path):
    """An order from August 15 (Eastern) is 31 days old on September 15; one calendar month later is today."""
    late = [(task, rubric) for task, rubric in shipped["return_window_just_closed"] if "31 days" in task.reference_reply]
    assert late
    task, rubric = late[0]
    created = WorldIndex(0).conn.execute("SELECT created_at FROM orders WHERE id = ?", (_order_of(task),)).fetchone()[0]
    placed = parse_iso(created).astimezone(EASTERN).date()
    assert (eastern_age(created), placed) == (31, date(2025, 8, 15))
    assert add_months(placed, 1) == TODAY  # "a month ago" would still allow it
    assert not any(c.name == "createRefund" for c in task.reference_tool_calls)
    assert not _blind_passes(task, rubric, "return_window", tmp_path)


def test_a_warranty_ending_days_from_now(shipped, world, tmp_path):
    task, rubric = shipped["warranty_ending_this_week"][0]
    check = next(c.arguments for c in task.reference_tool_calls if c.name == "checkWarrantyStatus")
    ends = world.warranty_ends[(check["order_id"], check["product_id"])]
    assert abs((ends - TODAY).days) <= 7
    covered = ends >= TODAY  # checkWarrantyStatus: under warranty through the end date itself
    assert ends.isoformat() in task.reference_reply
    assert ("still under warranty" in task.reference_reply) == covered
    assert not _blind_passes(task, rubric, "warranty_period", tmp_path)


def test_a_partial_refund_whose_discount_rounds(shipped):
    """Some units of a multi-unit line of a discounted order: the refund is the net of the returned units' list
    amount, rounded to the cent once (the exact net has a fraction of a cent)."""
    found = []
    for task, rubric in shipped["return_window_last_days"]:
        refund = next(c.arguments for c in task.reference_tool_calls if c.name == "createRefund")
        order = WorldIndex(0).conn.execute("SELECT loyalty_tier FROM orders WHERE id = ?", (_order_of(task),)).fetchone()[0]
        (line,) = refund["lines"]
        ordered = WorldIndex(0).conn.execute("SELECT quantity, unit_price FROM order_line WHERE order_id = ? AND product_id = ?",
                                             (_order_of(task), line["product_id"])).fetchone()
        if line["quantity"] < ordered[0] and rounds({"unit_price": ordered[1]}, line["quantity"], order):
            found.append((rubric, line, ordered, order))
    assert found, "no partial multi-unit refund with a rounding discount among the family's tasks"
    rubric, line, (quantity, unit_price), tier = found[0]
    assert line["amount"] == net_of_discount(to_cents(unit_price) * line["quantity"], tier)
    checked = next(c for c in rubric["criteria"] if c["id"] == "refund-line1")
    assert checked["check"]["expect"]["amount"] == line["amount"]
