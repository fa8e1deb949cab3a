"""The customer partition: a stable quarter of each world's customers is reserved for held-out tasks, train tasks
never touch their cases, and held-out tasks draw on them first."""

from __future__ import annotations

import random

import pytest

from corecraft_env.taskgen import families  # noqa: F401  (registers every family)
from corecraft_env.taskgen.core import (
    FAMILIES, Context, Family, TaskSpec, candidates, customer, employee, family_seed, heldout_customers, read_only_world,
    run_family,
)
from corecraft_env.tasks.cases import CaseIndex, task_text


@pytest.fixture(scope="module")
def conn():
    connection = read_only_world(0)
    yield connection
    connection.close()


def _customers(conn) -> list[str]:
    return [c for (c,) in conn.execute("SELECT id FROM customer ORDER BY id")]


def test_about_a_quarter_of_the_customers_is_reserved_stably_per_seed(conn):
    reserved = heldout_customers(conn, 0)
    assert reserved == heldout_customers(conn, 0)
    assert 0.15 < len(reserved) / len(_customers(conn)) < 0.35
    assert reserved != heldout_customers(conn, 1)  # another world reserves other customers


def test_cases_map_every_record_to_its_customer(conn):
    cases = CaseIndex(conn)
    ticket, owner = conn.execute("SELECT id, customer_id FROM support_ticket WHERE order_id IS NOT NULL ORDER BY id LIMIT 1").fetchone()
    order = conn.execute("SELECT order_id FROM support_ticket WHERE id = ?", (ticket,)).fetchone()[0]
    payment, tracking = conn.execute("SELECT p.id, s.tracking_number FROM payment p JOIN shipment s ON s.order_id = p.order_id "
                                     "JOIN orders o ON o.id = p.order_id WHERE o.customer_id = ? LIMIT 1", (owner,)).fetchone()
    email = conn.execute("SELECT email FROM customer WHERE id = ?", (owner,)).fetchone()[0]
    staff, product = conn.execute("SELECT e.id, p.id FROM employee e, product p LIMIT 1").fetchone()
    for text in (ticket, order, payment, tracking, email.upper()):
        assert cases.customers(f"About {text}, please.") == {owner}, text
    assert cases.customers(f"Ask {staff} about {product} or ord-200101-999.") == set()
    assert cases.entities(f"See {ticket}.", customer("cust-0001")) == {ticket, owner, "cust-0001"}


def test_pick_draws_this_splits_customers_first_and_keeps_every_row(conn):
    reserved = heldout_customers(conn, 0)
    rows = [{"id": c} for c in _customers(conn)]
    for split in ("train", "heldout"):
        picked = Context("pick-test", conn, 0, split).pick(rows)
        assert sorted(r["id"] for r in picked) == sorted(r["id"] for r in rows)
        sides = [(r["id"] in reserved) == (split == "heldout") for r in picked]
        assert sides == sorted(sides, reverse=True) and sides[0] and not sides[-1]
    shuffled = list(rows)
    random.Random(family_seed("pick-test")).shuffle(shuffled)
    assert Context("pick-test", conn, 0).pick(rows) == shuffled  # outside run_family: the plain shuffle


def _requests(conn, customer_ids: list[str]) -> list[TaskSpec]:
    """One spec per customer, naming the customer by e-mail and reading one of their orders."""
    specs = []
    for customer_id in customer_ids:
        email = conn.execute("SELECT email FROM customer WHERE id = ?", (customer_id,)).fetchone()[0]
        spec = TaskSpec(employee("emp-0001"), f"What did {email} order last?")
        spec.call("searchCustomers", email=email)
        specs.append(spec)
    return specs


def test_candidates_skip_reserved_customers_for_train_and_defer_the_rest_for_heldout(conn):
    reserved = heldout_customers(conn, 0)
    mixed = _customers(conn)[:12]
    assert any(c in reserved for c in mixed) and any(c not in reserved for c in mixed)

    def named(spec: TaskSpec) -> str:
        return next(iter(CaseIndex(conn).customers(task_text(spec.request, (c.arguments for c in spec.calls)))))

    for split in ("train", "heldout"):
        fam = Family("partition_toy", "information_retrieval", split, (), {"default": 4}, "toy",
                     lambda ctx: iter(_requests(conn, mixed)))
        drawn = [named(spec) for spec in candidates(fam, Context(fam.name, conn, 0, split))]
        if split == "train":
            assert drawn == [c for c in mixed if c not in reserved]
        else:  # the reserved customers first, then the others in the generator's order
            assert drawn == [c for c in mixed if c in reserved] + [c for c in mixed if c not in reserved]


@pytest.mark.parametrize("name", ["order_tracking", "cancel_refused_shipped", "refund_status_inquiry", "delivery_date_check"])
def test_train_tasks_never_touch_a_reserved_customers_case(conn, name):
    fam = FAMILIES[name]
    assert fam.split == "train"
    reserved, cases = heldout_customers(conn, 0), CaseIndex(conn)
    kept = run_family(fam, conn).kept
    assert kept
    for generated in kept:
        task = generated.task
        text = task_text(task["request"], (c["arguments"] for c in task["reference_solution"]["tool_calls"]))
        touched = cases.customers(text, task["requester"])
        assert touched and not touched & reserved, (task["id"], touched & reserved)


def test_heldout_tasks_use_reserved_customers_where_the_world_has_enough(conn):
    reserved, cases = heldout_customers(conn, 0), CaseIndex(conn)
    for name in ("carrier_scan_delivery", "escalation_already_open", "cancelled_charge_inquiry"):
        for generated in run_family(FAMILIES[name], conn).kept:
            task = generated.task
            text = task_text(task["request"], (c["arguments"] for c in task["reference_solution"]["tool_calls"]))
            touched = cases.customers(text, task["requester"])
            assert touched and touched <= reserved, task["id"]
