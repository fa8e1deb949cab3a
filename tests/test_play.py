"""``corecraft play`` driven through a pseudo-terminal (pexpect): a person's typed commands, readline's Tab completion,
an oracle episode completed and every verdict shown. Uses the fixture tasks in tests/data/demo."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pexpect
import pytest

from corecraft_env.play import Session, parse_tool_call
from corecraft_env.tasks import TaskSet
from corecraft_env.tools import REGISTRY

DEMO = Path(__file__).parent / "data" / "demo"
PROMPT = "corecraft> "
HANG_GUARD_S = 120  # only so a broken build fails instead of hanging; never a timing assertion


def spawn(*arguments: str) -> pexpect.spawn:
    child = pexpect.spawn(sys.executable, ["-m", "corecraft_env", "play", "--tasks", str(DEMO), *arguments],
                          env={**os.environ, "TERM": "dumb"}, encoding="utf-8", timeout=HANG_GUARD_S, dimensions=(50, 400))
    child.expect_exact(PROMPT)
    return child


def test_an_oracle_episode_typed_in_a_terminal_passes_with_every_verdict_shown():
    task = TaskSet(DEMO / "tasks", DEMO / "rubrics").get("demo-partial-return-001")
    child = spawn("--task", task.id)
    try:
        first, *rest = task.reference_tool_calls
        assert first.name == "getOrderDetails"
        child.send("getOrderDe\t")  # Tab completes the tool name, then its argument name
        child.expect_exact("getOrderDetails ")
        child.send("ord\t")
        child.expect_exact("order_id=")
        child.sendline(first.arguments["order_id"])
        child.expect_exact(f'"id": "{first.arguments["order_id"]}"')
        child.expect_exact(PROMPT)
        for call in rest:  # the write tools' arguments (refund lines) as JSON
            child.sendline(f"{call.name} {json.dumps(call.arguments)}")
            child.expect_exact(PROMPT)
            assert '"error"' not in child.before, child.before
        child.sendline("reply")  # several lines, ended by "."
        child.expect_exact("... ")
        child.sendline(task.reference_reply)
        child.expect_exact("... ")
        child.sendline(".")
        child.expect_exact("Episode over. Reward 1.000: 8 of 8 criteria met; PASSED.")
        child.expect(pexpect.EOF)
        verdicts = child.before
        assert verdicts.count("[PASS]") == 8 and "[FAIL]" not in verdicts
        assert "tone: The reply explains why shipping is not refunded" in verdicts
    finally:
        child.close(force=True)
    assert child.exitstatus == 0


def test_mistakes_are_explained_and_quitting_scores_the_episode_as_it_stands():
    child = spawn("--task", "demo-order-status-001")
    try:
        child.sendline("getOrderDetails order")  # not key=value
        child.expect_exact("'order' is not key=value")
        child.sendline("lookUpEverything")  # no such tool: the environment's own answer, as a model would get it
        child.expect_exact("there is no tool named 'lookUpEverything'; available tools: searchCustomers")
        child.sendline("help getOrderDetails")
        child.expect_exact("order_id (required): string")
        child.sendline("getOrderDetails order_id=ord-250906-106")
        child.expect_exact('"tracking_number"')
        child.sendline("quit")
        child.expect_exact("Episode over (truncated: the player quit). Reward 0.333: 2 of 6 criteria met; not passed.")
        child.expect(pexpect.EOF)
        assert "[PASS] looked_up" in child.before and "[FAIL] tracking" in child.before
    finally:
        child.close(force=True)


def test_completions_offer_commands_tools_and_argument_names():
    session = Session(env=None)
    assert session.completions("re", "re") == ["reply", "request"]
    assert session.completions("help getOrd", "getOrd") == ["getOrderDetails"]
    refund_arguments = sorted(f"{name}=" for name in REGISTRY["createRefund"].parameters["properties"])
    assert "payment_id=" in refund_arguments and session.completions("createRefund payment_id=x ", "") == refund_arguments
    assert session.completions("createRefund pay", "pay") == ["payment_id="]
    assert session.completions("reply some", "some") == []


@pytest.mark.parametrize("line, action", [
    ('getProduct {"product_id": "x"}', {"tool": "getProduct", "arguments": '{"product_id": "x"}'}),
    ("searchOrders customer_id=cust-0126 limit=5", {"tool": "searchOrders", "arguments": {"customer_id": "cust-0126", "limit": 5}}),
    ("searchKnowledgeBase query='return window'", {"tool": "searchKnowledgeBase", "arguments": {"query": "return window"}}),
    ("searchOrders", {"tool": "searchOrders", "arguments": {}}),
])
def test_tool_calls_are_read_as_json_or_key_value_pairs(line, action):
    assert parse_tool_call(line) == action
