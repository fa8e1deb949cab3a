"""The policy-blind scripted agent: it does the obvious work while ignoring one policy rule, and must fail every task
whose family tests that rule. Run family by family over the shipped corpus, plus the mutators that derive its
actions from a reference solution, checked against numbers computed by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from corecraft_env.agents import OracleAgent, PolicyBlindAgent, run_episode
from corecraft_env.env import CorecraftEnv
from corecraft_env.taskgen import HELDOUT_RULES, POLICY_RULES, TaskSpec, customer
from corecraft_env.taskgen import rubric as r
from corecraft_env.taskgen.blind import MUTATORS, policy_blind
from corecraft_env.taskgen.core import Context, read_only_world
from corecraft_env.tasks import Solution, Task, TaskSet
from corecraft_env.validation import validate_task

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = TaskSet(ROOT / "tasks", ROOT / "rubrics")
FAMILIES = sorted({task.family for task in SHIPPED})


@pytest.fixture(scope="module")
def env():
    environment = CorecraftEnv(task_set=SHIPPED, split=None)
    yield environment
    environment.close()


@pytest.mark.parametrize("family", FAMILIES)
def test_the_policy_blind_agent_fails_every_task_of_a_family_testing_its_rule(env, family):
    tasks = [task for task in SHIPPED if task.family == family]
    rules = {task.policy_rules for task in tasks}
    assert len(rules) == 1, f"{family}: its tasks disagree on the rules the family tests"
    passed = []
    for rule in sorted(rules.pop()):
        agent = PolicyBlindAgent(SHIPPED, rule)
        for task in tasks:
            assert rule in task.policy_blind, f"{task.id} has no policy-blind solution for {rule}"
            if run_episode(env, agent, task.id).passed:
                passed.append(f"{task.id} ignoring {rule}")
    assert passed == []


def test_every_policy_rule_is_tested_by_a_train_family_with_a_blind_agent_except_the_held_out_ones():
    covered = {split: {rule for task in SHIPPED if task.split == split for rule in task.policy_blind} for split in ("train", "heldout")}
    assert set(POLICY_RULES) - HELDOUT_RULES - covered["train"] == set()
    assert HELDOUT_RULES - covered["heldout"] == set() and not HELDOUT_RULES & covered["train"]


def test_the_agent_says_which_rules_a_task_covers_when_asked_for_another(env):
    task = next(iter(SHIPPED))
    agent = PolicyBlindAgent(SHIPPED, "no_such_rule")
    with pytest.raises(KeyError, match=f"{task.id} has no policy-blind solution for rule 'no_such_rule'"):
        agent.reset("", {"task_id": task.id})


# -- the mutators, on a partial return of a discounted order -------------------------------------------------------------
@pytest.fixture(scope="module")
def world():
    conn = read_only_world()
    yield conn
    conn.close()


def _discounted_partial_return(world) -> tuple[TaskSpec, dict, dict]:
    """A pending itemised refund of one line of a gold/platinum customer's two-line delivered order."""
    ctx = Context("test-blind", world)
    order_id = ctx.db.one(
        "SELECT o.id FROM orders o WHERE o.status = 'delivered' AND o.loyalty_tier IN ('gold', 'platinum') "
        "AND (SELECT COUNT(*) FROM order_line l WHERE l.order_id = o.id) = 2 "
        "AND NOT EXISTS (SELECT 1 FROM payment p JOIN refund f ON f.payment_id = p.id WHERE p.order_id = o.id) ORDER BY o.id")["id"]
    order = ctx.tool("getOrderDetails", order_id=order_id)["order"]
    line = order["lines"][0]
    rate = {"gold": 0.10, "platinum": 0.15}[order["loyalty_tier"]]
    net = round(line["unit_price"] * line["quantity"] * (1 - rate), 2)
    spec = TaskSpec(customer(order["customer_id"]), f"Please refund the {line['product_name']} from {order_id}.")
    spec.call("getOrderDetails", order_id=order_id)
    spec.call("createRefund", payment_id=order["payments"][0]["id"], amount=net, reason="customer_remorse", status="pending",
              lines=[{"product_id": line["product_id"], "quantity": line["quantity"], "amount": net}])
    spec.call("updateOrderStatus", order_id=order_id, status="refund_requested")
    spec.call("updatePaymentStatus", payment_id=order["payments"][0]["id"], status="partially_refunded")
    spec.reply = f"Refund of ${net:,.2f} created."
    return spec, order, ctx


def _refund(solution: Solution) -> dict:
    return next(call.arguments for call in solution.tool_calls if call.name == "createRefund")


def test_refund_mutators_change_exactly_what_their_rule_governs(world):
    spec, order, ctx = _discounted_partial_return(world)
    line = order["lines"][0]
    net = spec.calls[1].arguments["amount"]
    list_price = round(line["unit_price"] * line["quantity"], 2)

    with_shipping = MUTATORS["shipping_not_refunded"](spec, ctx)
    assert _refund(with_shipping)["amount"] == pytest.approx(net + order["shipping_cost"])
    assert _refund(with_shipping)["lines"][0]["amount"] == pytest.approx(net + order["shipping_cost"])
    assert f"${net + order['shipping_cost']:,.2f}" in with_shipping.final_reply

    undiscounted = MUTATORS["refund_net_of_discount"](spec, ctx)
    assert _refund(undiscounted)["amount"] == pytest.approx(list_price) and list_price > net

    assert "lines" not in _refund(MUTATORS["itemised_refund"](spec, ctx))
    assert _refund(MUTATORS["refund_pending_unless_authorised"](spec, ctx))["status"] == "approved"
    assert [c.name for c in MUTATORS["post_refund_statuses"](spec, ctx).tool_calls] == ["getOrderDetails", "createRefund"]
    # the reference itself is untouched by every mutation
    assert spec.calls[1].arguments["amount"] == net and spec.calls[1].arguments["status"] == "pending"


def test_a_mutator_gives_nothing_where_the_reference_has_nothing_its_rule_acts_on(world):
    spec, _, ctx = _discounted_partial_return(world)
    solutions, missing = policy_blind(("validate_before_build", "ticket_closure", "escalation_routing", "return_window"), spec, ctx)
    assert solutions == {} and missing == ["validate_before_build", "ticket_closure", "escalation_routing", "return_window"]


def test_an_explicit_blind_solution_overrides_the_mutator(world):
    spec, order, ctx = _discounted_partial_return(world)
    blind = spec.ignoring("refund_pending_unless_authorised")
    blind.call("getOrderDetails", order_id=order["id"])
    blind.reply = "Approved in full."
    solutions, missing = policy_blind(("refund_pending_unless_authorised", "shipping_not_refunded"), spec, ctx)
    assert missing == [] and solutions["refund_pending_unless_authorised"].final_reply == "Approved in full."
    assert _refund(solutions["shipping_not_refunded"])["amount"] > spec.calls[1].arguments["amount"]
    with pytest.raises(ValueError, match="already given"):
        spec.ignoring("refund_pending_unless_authorised")


def test_validation_rejects_a_task_whose_policy_blind_solution_passes(world, tmp_path):
    spec, order, ctx = _discounted_partial_return(world)
    payment_id = order["payments"][0]["id"]
    reference = Solution(tuple(spec.calls), spec.reply)
    rubric = {"id": "blind-check-001", "criteria": [  # no status check on the refund: an approved refund slips through
        r.state("refund", "One refund", "refund", where={"payment_id": payment_id}, new_only=True, count=1),
        r.row("order", "Order updated", "orders", order["id"], status="refund_requested"),
        r.row("payment", "Payment updated", "payment", payment_id, status="partially_refunded"),
        r.reply("reply", "Gives the amount", numbers=[spec.calls[1].arguments["amount"]])]}
    (tmp_path / "blind-check-001.json").write_text(json.dumps(rubric))
    task = Task("blind-check-001", "blind_check", "multi_step_workflow", "medium", "train", 0, dict(spec.requester), spec.request,
                "blind-check-001", reference.tool_calls, reference.final_reply,
                policy_rules=("refund_pending_unless_authorised", "shipping_not_refunded"),
                policy_blind={"refund_pending_unless_authorised": MUTATORS["refund_pending_unless_authorised"](spec, ctx),
                              "shipping_not_refunded": MUTATORS["shipping_not_refunded"](spec, ctx)})
    problems = validate_task(task, tmp_path)
    assert any("policy-blind agent ignoring refund_pending_unless_authorised passes" in p for p in problems), problems
    assert not any("ignoring shipping_not_refunded" in p for p in problems), problems
    oracle = run_episode(CorecraftEnv(task_set=TaskSet.of([task], tmp_path), split=None), OracleAgent(TaskSet.of([task], tmp_path)), task.id)
    assert oracle.passed
