"""Held-out families test generalisation: their rules are stated by the policy but practised by no train family, and
the reconcile families settle the world's conflicting sources by the rule that says which one wins."""

from __future__ import annotations

import pytest

from corecraft_env.taskgen import families  # noqa: F401  (registers every family)
from corecraft_env.taskgen.core import FAMILIES, HELDOUT_RULES, POLICY_RULES, read_only_world, run_family
from corecraft_env.taskgen.facts import long_date
from corecraft_env.tasks.assertions import ID_PATTERN
from corecraft_env.world import policy_document

RECONCILE = ("carrier_scan_delivery", "slack_merge_check", "escalation_already_open")
# What the policy document the agent reads says for each held-out rule.
POLICY_WORDING = {
    "carrier_scan_is_delivery": "the delivered scan is the delivery date",
    "records_over_slack": "Slack is conversation, not a record",
    "one_open_escalation": "at most **one open escalation**",
}


def test_held_out_rules_are_policy_rules_no_train_family_practises():
    assert len(HELDOUT_RULES) >= 3 and HELDOUT_RULES <= set(POLICY_RULES)
    practised = {rule for fam in FAMILIES.values() if fam.split == "train" for rule in fam.policy_rules}
    assert practised & HELDOUT_RULES == set()
    tested = {rule for fam in FAMILIES.values() if fam.split == "heldout" for rule in fam.policy_rules}
    assert HELDOUT_RULES <= tested


def test_the_policy_document_states_every_held_out_rule():
    text = " ".join(policy_document().split())
    assert set(POLICY_WORDING) == HELDOUT_RULES
    for rule, wording in POLICY_WORDING.items():
        assert wording in text, rule


@pytest.fixture(scope="module")
def reconciled() -> dict:
    conn = read_only_world(0)
    try:
        yield conn, {name: run_family(FAMILIES[name], conn).kept for name in RECONCILE}
    finally:
        conn.close()


def test_reconcile_families_fill_their_quota_on_the_shipped_world(reconciled):
    _, kept = reconciled
    for name in RECONCILE:
        assert len(kept[name]) == FAMILIES[name].wanted, name
        for generated in kept[name]:
            assert generated.task["split"] == "heldout" and set(generated.task["policy_rules"]) <= HELDOUT_RULES


def test_the_delivery_date_is_the_carriers_scan_not_the_estimate(reconciled):
    conn, kept = reconciled
    for generated in kept["carrier_scan_delivery"]:
        order_id = next(c["arguments"]["order_id"] for c in generated.task["reference_solution"]["tool_calls"]
                        if c["name"] == "getOrderDetails")
        eta, events = conn.execute("SELECT eta, events FROM shipment WHERE order_id = ?", (order_id,)).fetchone()
        scanned = conn.execute("SELECT json_extract(e.value, '$.timestamp') FROM shipment s, json_each(s.events) e WHERE "
                               "s.order_id = ? AND json_extract(e.value, '$.status') = 'delivered'", (order_id,)).fetchone()[0]
        reply = generated.task["reference_solution"]["final_reply"]
        assert long_date(scanned) in reply and long_date(eta) not in reply and long_date(scanned) != long_date(eta)
        blind = generated.task["policy_blind"]["carrier_scan_is_delivery"]["final_reply"]
        assert long_date(eta) in blind


def test_slack_merges_are_refused_where_the_records_show_different_orders(reconciled):
    conn, kept = reconciled
    for generated in kept["slack_merge_check"]:
        calls = generated.task["reference_solution"]["tool_calls"]
        assert [c["name"] for c in calls] == ["searchTickets", "searchTickets"]  # reads both, writes nothing
        first, second = (c["arguments"]["ticket_id"] for c in calls)
        orders = {conn.execute("SELECT order_id FROM support_ticket WHERE id = ?", (t,)).fetchone()[0] for t in (first, second)}
        assert len(orders) == 2
        threads = [text for (text,) in conn.execute("SELECT text FROM slack_message WHERE text LIKE '%same issue%'")]
        assert any({first, second} <= set(ID_PATTERN.findall(text)) for text in threads)


def test_a_ticket_with_an_open_escalation_gets_no_second_one(reconciled):
    conn, kept = reconciled
    for generated in kept["escalation_already_open"]:
        task = generated.task
        assert not any(c["name"] == "createEscalation" for c in task["reference_solution"]["tool_calls"])
        blind_calls = task["policy_blind"]["one_open_escalation"]["tool_calls"]
        ticket = next(c["arguments"]["ticket_id"] for c in blind_calls if c["name"] == "createEscalation")
        (open_escalation,) = conn.execute("SELECT id FROM escalation WHERE ticket_id = ? AND resolved_at IS NULL", (ticket,)).fetchone()
        assert open_escalation in task["reference_solution"]["final_reply"]


@pytest.mark.parametrize("seed", [1, 2])
def test_reconcile_families_instantiate_on_other_worlds(seed):
    conn = read_only_world(seed)
    try:
        for name in RECONCILE:
            assert run_family(FAMILIES[name], conn, seed).kept, f"{name} made no task on world {seed}"
    finally:
        conn.close()
