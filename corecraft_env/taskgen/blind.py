"""Policy-blind solutions: what an agent that does the obvious work but ignores one policy rule does on a task.

A task's family names the policy rules it tests; for each, the task carries the solution of an agent blind to that
rule (``Task.policy_blind``), and validation requires it to fail the rubric. That is how the corpus shows its rubrics
catch each rule's breach, not just the reference's success.

A generator gives a blind solution explicitly with ``spec.ignoring(rule, ...)`` (a refusal family's blind agent does
what was asked; a quote family's trusts the claimed tier). For the mechanical rules a mutator below derives it from
the reference solution instead: one small function per rule, returning ``None`` where the reference has nothing the
rule acts on (then the family must not claim the rule, or must say what a blind agent does).
"""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from typing import TYPE_CHECKING

from ..tasks.model import Solution, ToolCall
from ..world.pricing import to_cents
from ..world.schema import ESCALATION_ROUTING
from .facts import money

if TYPE_CHECKING:  # core runs the mutators, so it imports this module
    from .core import Context, TaskSpec

Mutator = Callable[["TaskSpec", "Context"], "Solution | None"]


def _calls(spec: TaskSpec) -> list[ToolCall]:
    return [ToolCall(call.name, deepcopy(call.arguments)) for call in spec.calls]


def _return_refunds(calls: list[ToolCall]) -> list[ToolCall]:
    """createRefund calls for returned goods (itemised; a cancellation's refund of the whole charge has no lines)."""
    return [call for call in calls if call.name == "createRefund" and call.arguments.get("lines")]


def _order_of_payment(ctx: Context, payment_id: str) -> dict:
    order_id = ctx.db.one("SELECT order_id FROM payment WHERE id = ?", (payment_id,))["order_id"]
    return ctx.tool("getOrderDetails", order_id=order_id)["order"]


def _set_amount(refund: ToolCall, new_lines: list[dict], reply: str) -> str:
    """Give ``refund`` the lines ``new_lines`` and their sum; returns ``reply`` quoting the new amount."""
    old = refund.arguments["amount"]
    refund.arguments["lines"] = new_lines
    refund.arguments["amount"] = float(sum(to_cents(line["amount"]) for line in new_lines))
    return reply.replace(money(old), money(refund.arguments["amount"]))


def shipping_refunded(spec: TaskSpec, ctx: Context) -> Solution | None:
    """shipping_not_refunded: the order's shipping goes back too (on the last refunded line)."""
    calls, reply = _calls(spec), spec.reply
    for refund in _return_refunds(calls):
        shipping = _order_of_payment(ctx, refund.arguments["payment_id"])["shipping_cost"]
        lines = deepcopy(refund.arguments["lines"])
        lines[-1]["amount"] = float(to_cents(lines[-1]["amount"]) + to_cents(shipping))
        reply = _set_amount(refund, lines, reply)
    return Solution(tuple(calls), reply) if calls != spec.calls else None


def list_price_refund(spec: TaskSpec, ctx: Context) -> Solution | None:
    """refund_net_of_discount: each line refunded at its list price, the loyalty discount ignored."""
    calls, reply = _calls(spec), spec.reply
    for refund in _return_refunds(calls):
        prices = {line["product_id"]: line["unit_price"] for line in _order_of_payment(ctx, refund.arguments["payment_id"])["lines"]}
        lines = [dict(line, amount=float(to_cents(prices[line["product_id"]]) * line["quantity"])) for line in refund.arguments["lines"]]
        reply = _set_amount(refund, lines, reply)
    return Solution(tuple(calls), reply) if calls != spec.calls else None


def lump_sum_refund(spec: TaskSpec, ctx: Context) -> Solution | None:
    """itemised_refund: one lump sum, no refund lines."""
    calls = _calls(spec)
    for refund in _return_refunds(calls):
        del refund.arguments["lines"]
    return Solution(tuple(calls), spec.reply) if calls != spec.calls else None


def approved_refund(spec: TaskSpec, ctx: Context) -> Solution | None:
    """refund_pending_unless_authorised: the new refund is approved at once."""
    calls = _calls(spec)
    for call in calls:
        if call.name == "createRefund" and call.arguments.get("status", "pending") == "pending":
            call.arguments["status"] = "approved"
    return Solution(tuple(calls), spec.reply) if calls != spec.calls else None


def statuses_left(spec: TaskSpec, ctx: Context) -> Solution | None:
    """post_refund_statuses: the refund is created but the order and payment statuses are left as they were."""
    if not _return_refunds(spec.calls):
        return None
    calls = [call for call in _calls(spec) if call.name not in ("updateOrderStatus", "updatePaymentStatus")]
    return Solution(tuple(calls), spec.reply) if len(calls) != len(spec.calls) else None


def cancel_without_refund(spec: TaskSpec, ctx: Context) -> Solution | None:
    """cancellation_refund: the order is cancelled but the captured charge is neither refunded nor released."""
    calls = _calls(spec)
    if not any(c.name == "updateOrderStatus" and c.arguments["status"] == "cancelled" for c in calls):
        return None
    kept = [c for c in calls if not (c.name == "createRefund" and not c.arguments.get("lines")) and c.name != "updatePaymentStatus"]
    return Solution(tuple(kept), spec.reply) if len(kept) != len(calls) else None


def _without(spec: TaskSpec, tool: str) -> Solution | None:
    calls = [call for call in _calls(spec) if call.name != tool]
    return Solution(tuple(calls), spec.reply) if len(calls) != len(spec.calls) else None


def unvalidated_build(spec: TaskSpec, ctx: Context) -> Solution | None:
    """validate_before_build: the parts are never run through validateBuildCompatibility."""
    return _without(spec, "validateBuildCompatibility")


def mental_arithmetic(spec: TaskSpec, ctx: Context) -> Solution | None:
    """use_calculate_price: the quote is worked out by hand (the right numbers, no calculatePrice)."""
    return _without(spec, "calculatePrice")


def resolved_without_resolution(spec: TaskSpec, ctx: Context) -> Solution | None:
    """ticket_closure: the ticket is set resolved, but no resolution is recorded."""
    if not any(call.name == "createResolution" for call in spec.calls):
        return None
    calls = [call for call in _calls(spec) if call.name != "createResolution"]
    for call in calls:
        if call.name == "updateTicketStatus":
            call.arguments.pop("resolution_id", None)
    return Solution(tuple(calls), spec.reply)


def misrouted_escalation(spec: TaskSpec, ctx: Context) -> Solution | None:
    """escalation_routing: every escalation goes to the support queue (operations when support is right)."""
    calls = _calls(spec)
    for call in calls:
        if call.name == "createEscalation":
            right = ESCALATION_ROUTING[call.arguments["escalation_type"]]
            call.arguments["destination"] = "operations" if right == "support" else "support"
    return Solution(tuple(calls), spec.reply) if calls != spec.calls else None


def no_finance_escalation(spec: TaskSpec, ctx: Context) -> Solution | None:
    """large_refund_finance: the large refund is created, but finance is never asked to sign it off."""
    calls = [c for c in _calls(spec) if not (c.name == "createEscalation" and c.arguments["escalation_type"] == "billing_payment")]
    return Solution(tuple(calls), spec.reply) if len(calls) != len(spec.calls) and _return_refunds(calls) else None


def _allowed(spec: TaskSpec, table: str, row_id: str) -> bool:
    return any(entry["table"] == table and row_id in entry["ids"] for entry in spec.writes)


def extra_write(spec: TaskSpec, ctx: Context) -> Solution | None:
    """no_unrequested_writes: the agent also does something nobody asked for: moves a ticket it read to
    pending_customer, or moves an order it read one status on, or saves a quoted parts list as a build."""
    calls = _calls(spec)
    for call in spec.calls:
        ticket_id = call.arguments.get("ticket_id")
        if ticket_id and not _allowed(spec, "support_ticket", ticket_id):
            return Solution((*calls, ToolCall("updateTicketStatus", {"ticket_id": ticket_id, "status": "pending_customer"})), spec.reply)
    next_status = {"pending": "cancelled", "paid": "cancelled", "fulfilled": "shipped", "shipped": "delivered",
                   "delivered": "refund_requested", "refund_requested": "refunded", "refunded": "delivered", "cancelled": "paid"}
    for call in spec.calls:
        order_id = call.arguments.get("order_id")
        if order_id and not _allowed(spec, "orders", order_id):
            status = ctx.db.one("SELECT status FROM orders WHERE id = ?", (order_id,))
            if status:
                return Solution((*calls, ToolCall("updateOrderStatus", {"order_id": order_id, "status": next_status[status["status"]]})),
                                spec.reply)
    for call in spec.calls:
        if call.name in ("calculatePrice", "validateBuildCompatibility") and spec.requester["type"] == "customer":
            products = call.arguments.get("product_ids") or [item["product_id"] for item in call.arguments.get("items", [])]
            build = {"name": "Saved quote", "product_ids": products, "owner_type": "customer", "customer_id": spec.requester["id"]}
            return Solution((*calls, ToolCall("createBuild", build)), spec.reply)
    return None


MUTATORS: dict[str, Mutator] = {
    "shipping_not_refunded": shipping_refunded,
    "refund_net_of_discount": list_price_refund,
    "itemised_refund": lump_sum_refund,
    "refund_pending_unless_authorised": approved_refund,
    "post_refund_statuses": statuses_left,
    "cancellation_refund": cancel_without_refund,
    "validate_before_build": unvalidated_build,
    "use_calculate_price": mental_arithmetic,
    "ticket_closure": resolved_without_resolution,
    "escalation_routing": misrouted_escalation,
    "large_refund_finance": no_finance_escalation,
    "no_unrequested_writes": extra_write,
}


def policy_blind(rules: tuple[str, ...], spec: TaskSpec, ctx: Context) -> tuple[dict[str, Solution], list[str]]:
    """The blind solution for each of ``rules`` (explicit ones first, then mutators) and the rules left without one."""
    solutions: dict[str, Solution] = {}
    missing = []
    for rule in rules:
        given = spec.blind.get(rule)
        solution = Solution(tuple(given.calls), given.reply) if given else MUTATORS[rule](spec, ctx) if rule in MUTATORS else None
        if solution is None:
            missing.append(rule)
        else:
            solutions[rule] = solution
    return solutions, missing
