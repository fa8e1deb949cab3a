"""Workflows several families share, each adding its reference calls, rubric criteria and allowed writes to a spec.

A recipe is the policy written once: a return refund is itemised, net of the discount, pending unless authorised,
followed by the order and payment statuses; a cancellation refunds the charge as approved; a ticket closes with a
resolution first; an escalation goes where policy routes its type.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..world.schema import ESCALATION_ROUTING
from . import rubric as r
from .core import Context, TaskSpec
from .facts import RefundLine, is_full_return, money, refund_lines, refund_total, tier_discount


@dataclass(frozen=True)
class RefundPlan:
    refund_id: str
    lines: list[RefundLine]
    amount: float
    full: bool
    order_status: str
    payment_status: str


def return_refund(spec: TaskSpec, ctx: Context, order: dict, returned: dict[str, int], *, reason: str, status: str = "pending",
                  ticket_id: str | None = None, offset: int = 0, tag: str = "", check_reason: bool = False,
                  check_lines: bool = True) -> RefundPlan:
    """Refund returned goods: createRefund (itemised, net of discount, no shipping), then the order and payment
    statuses. ``tag`` keeps criterion ids unique when a task refunds several orders."""
    lines = refund_lines(order, returned)
    amount = refund_total(lines)
    full = is_full_return(order, returned)
    plan = RefundPlan(ctx.next_id("refund", offset), lines, amount, full, "refunded" if full else "refund_requested",
                      "refunded" if full else "partially_refunded")
    payment_id = order["payments"][0]["id"]
    arguments = {"payment_id": payment_id, "amount": amount, "reason": reason, "status": status,
                 "lines": [{"product_id": line.product_id, "quantity": line.quantity, "amount": line.amount} for line in lines]}
    if ticket_id:
        arguments["ticket_id"] = ticket_id
    spec.call("createRefund", **arguments)
    spec.call("updateOrderStatus", order_id=order["id"], status=plan.order_status)
    spec.call("updatePaymentStatus", payment_id=payment_id, status=plan.payment_status)

    expect = {"amount": amount, "status": status}
    if check_reason:
        expect["reason"] = reason
    what = ", ".join(f"{line.quantity}x {line.name}" for line in lines)
    spec.check(r.state(f"refund{tag}", f"One {status} refund of {money(amount)} on {payment_id} for {what}: net of "
                                       f"{tier_discount(order['loyalty_tier'])}, shipping excluded"
                                       + (f", reason {reason}" if check_reason else ""),
                       "refund", where={"payment_id": payment_id}, new_only=True, count=1, expect=expect))
    if check_lines:
        for index, line in enumerate(lines, start=1):
            spec.check(r.state(f"refund{tag}-line{index}", f"The refund is itemised: {line.quantity}x {line.product_id} at {money(line.amount)}",
                               "refund_line", where={"product_id": line.product_id}, new_only=True, count=1,
                               expect={"quantity": line.quantity, "amount": line.amount}))
    spec.check(r.row(f"order{tag}", f"Order {order['id']} is {plan.order_status} ({'every' if full else 'not every'} line returned)",
                     "orders", order["id"], status=plan.order_status),
               r.row(f"payment{tag}", f"Payment {payment_id} is {plan.payment_status}", "payment", payment_id, status=plan.payment_status))
    spec.allow("refund", plan.refund_id, ops=("insert",)).allow("refund_line", plan.refund_id, ops=("insert",))
    spec.allow("orders", order["id"], ops=("update",)).allow("payment", payment_id, ops=("update",))
    return plan


def cancel_captured(spec: TaskSpec, ctx: Context, order: dict, *, reason: str = "customer_remorse") -> str:
    """Cancel an order whose payment was captured: an approved refund of the whole charge, payment refunded, order
    cancelled. Returns the refund id."""
    payment = order["payments"][0]
    refund_id = ctx.next_id("refund")
    spec.call("createRefund", payment_id=payment["id"], amount=payment["amount"], reason=reason, status="approved")
    spec.call("updatePaymentStatus", payment_id=payment["id"], status="refunded")
    spec.call("updateOrderStatus", order_id=order["id"], status="cancelled")
    spec.check(
        r.state("refund", f"One approved refund of the full charge {money(payment['amount'])} (shipping included: nothing "
                          f"was delivered) on {payment['id']}", "refund", where={"payment_id": payment["id"]}, new_only=True,
                count=1, expect={"amount": payment["amount"], "status": "approved"}),
        r.row("payment", f"Payment {payment['id']} is refunded", "payment", payment["id"], status="refunded"),
        r.row("order", f"Order {order['id']} is cancelled", "orders", order["id"], status="cancelled"),
    )
    spec.allow("refund", refund_id, ops=("insert",)).allow("refund_line", refund_id, ops=("insert",))
    spec.allow("orders", order["id"], ops=("update",)).allow("payment", payment["id"], ops=("update",))
    return refund_id


def close_ticket(spec: TaskSpec, ctx: Context, ticket_id: str, outcome: str, resolved_by: str, details: str, *,
                 refund_id: str | None = None, offset: int = 0, tag: str = "", resolutions_in_task: int = 1) -> str:
    """Resolution first (outcome, resolver, linked refund), then the ticket resolved with resolved_success and that
    resolution (any of the ids the task creates, when it closes several tickets in whatever order)."""
    resolution_id = ctx.next_id("resolution", offset)
    new_ids = [ctx.next_id("resolution", k) for k in range(resolutions_in_task)]
    arguments = {"ticket_id": ticket_id, "outcome": outcome, "resolved_by": resolved_by, "details": details}
    if refund_id:
        arguments["refund_id"] = refund_id
    spec.call("createResolution", **arguments)
    spec.call("updateTicketStatus", ticket_id=ticket_id, status="resolved", resolution_id=resolution_id, closure_reason="resolved_success")
    expect = {"outcome": outcome, "resolved_by": resolved_by, "refund_id": refund_id if refund_id else {"is_null": True}}
    spec.check(
        r.state(f"resolution{tag}", f"One resolution on {ticket_id}: outcome {outcome}, resolved by {resolved_by}"
                                    + (f", linking refund {refund_id}" if refund_id else ", no refund linked"),
                "resolution", where={"ticket_id": ticket_id}, new_only=True, count=1, expect=expect),
        r.row(f"ticket{tag}", f"Ticket {ticket_id} is resolved with its new resolution and closure reason resolved_success",
              "support_ticket", ticket_id, status="resolved", closure_reason="resolved_success", resolution_id={"in": new_ids}),
    )
    spec.allow("resolution", resolution_id, ops=("insert",)).allow("support_ticket", ticket_id, ops=("update",))
    return resolution_id


def escalate(spec: TaskSpec, ctx: Context, ticket_id: str, escalation_type: str, notes: str, created_by: str | None, *,
             offset: int = 0, tag: str = "") -> str:
    """An escalation of ``escalation_type`` to the department policy routes it to."""
    escalation_id = ctx.next_id("escalation", offset)
    destination = ESCALATION_ROUTING[escalation_type]
    arguments = {"ticket_id": ticket_id, "escalation_type": escalation_type, "destination": destination, "notes": notes}
    if created_by:
        arguments["created_by"] = created_by
    spec.call("createEscalation", **arguments)
    spec.check(r.state(f"escalation{tag}", f"One {escalation_type} escalation of {ticket_id}, routed to {destination}",
                       "escalation", where={"ticket_id": ticket_id}, new_only=True, count=1,
                       expect={"escalation_type": escalation_type, "destination": destination}))
    spec.allow("escalation", escalation_id, ops=("insert",))
    return escalation_id
