"""Escalations: routing by type whatever department the requester names, and the Slack practice for refunds over
$1,000 (pending, plus a billing_payment escalation to finance)."""

from __future__ import annotations

from collections.abc import Iterator

from ...world.schema import ESCALATION_ROUTING
from .. import rubric as r
from ..core import Context, TaskSpec, employee, family
from ..facts import LARGE_REFUND, inside_window_since, money, refund_lines, refund_total
from ..recipes import escalate, return_refund

# ticket type -> (escalation type, what the colleague says is going on)
ISSUES = {
    "billing": ("billing_payment", "the customer says they were charged twice for the order and wants the duplicate charge reversed"),
    "shipping": ("order_fulfillment", "the parcel has been stuck at the carrier for days and the customer wants it re-shipped"),
    "troubleshooting": ("technical", "basic troubleshooting didn't help and it looks like a firmware fault that needs an engineer"),
    "recommendation": ("product_specialist", "they need detailed advice on a multi-GPU workstation configuration"),
    "other": ("support_escalation", "the customer is unhappy with how they've been treated and asked for a team lead"),
    "order_issue": ("order_fulfillment", "the wrong item was packed and the customer needs the right one sent out"),
}
DEPARTMENT_WORDS = {d: [d, d.replace("_", " ")] for d in set(ESCALATION_ROUTING.values())}


@family("escalation_routing", "reasoning", "train", count=4,
        policy_rules=("escalation_routing", "tools_only", "no_unrequested_writes"))
def escalation_routing(ctx: Context) -> Iterator[TaskSpec]:
    """Escalate a ticket: the type follows from the issue and the destination from policy's routing table, even when
    the colleague names another department."""
    rows = ctx.db.all("SELECT t.* FROM support_ticket t WHERE t.status IN ('new', 'open', 'pending_customer') AND NOT EXISTS "
                      "(SELECT 1 FROM escalation e WHERE e.ticket_id = t.id) ORDER BY t.id")
    by_type: dict[str, list[dict]] = {}
    for ticket in ctx.pick(rows):
        if ticket["type"] in ISSUES:
            by_type.setdefault(ticket["type"], []).append(ticket)
    departments = sorted(set(ESCALATION_ROUTING.values()))
    for round_ in range(3):
        for index, ticket_type in enumerate(sorted(by_type)):
            if round_ >= len(by_type[ticket_type]):
                continue
            ticket = by_type[ticket_type][round_]
            escalation_type, issue = ISSUES[ticket_type]
            destination = ESCALATION_ROUTING[escalation_type]
            agent = ctx.staff()
            suggested = ctx.rng.choice([d for d in departments if d != destination]) if (index + round_) % 2 == 0 else None
            ask = f"Please escalate it to {suggested.replace('_', ' ')}." if suggested else "Please escalate it to whoever owns this."
            spec = TaskSpec(employee(agent["id"]), request=f"About ticket {ticket['id']}: {issue}. {ask}")
            spec.call("searchTickets", ticket_id=ticket["id"])
            escalation_id = escalate(spec, ctx, ticket["id"], escalation_type, f"{issue[0].upper()}{issue[1:]}.", agent["id"])
            spec.check(r.reply("reply", "The reply gives the escalation id and the department it went to", contains=[escalation_id],
                               contains_any=DEPARTMENT_WORDS[destination]))
            spec.reply = (f"I escalated {ticket['id']} as {escalation_type} to {destination.replace('_', ' ')} ({escalation_id}): "
                          f"policy routes {escalation_type} escalations there.")
            if suggested:
                spec.check(r.judge("reply-routing", f"The reply explains why it went to {destination} rather than {suggested}",
                                   r.reply("fallback", "mentions the routing policy", contains_any=["policy", "rout", "owns", "handles"])))
                spec.reply += f" {suggested.replace('_', ' ').capitalize()} doesn't handle this type, so I didn't send it there."
            else:
                spec.check(r.judge("reply-clear", "The reply says clearly what was escalated, as what type, and where",
                                   r.reply("fallback", "names the type", contains_any=[escalation_type, escalation_type.replace("_", " ")])))
            yield spec


@family("large_refund_finance", "multi_step_workflow", "heldout", count=3,
        policy_rules=("large_refund_finance", "refund_pending_unless_authorised", "refund_net_of_discount", "post_refund_statuses",
                      "escalation_routing", "shipping_not_refunded"))
def large_refund_finance(ctx: Context) -> Iterator[TaskSpec]:
    """A return whose refund is over $1,000: create it pending (linked to the ticket), set the statuses, and follow
    the team's Slack practice of a billing_payment escalation to finance for sign-off."""
    rows = ctx.db.all(
        "SELECT t.*, o.status AS order_status FROM support_ticket t JOIN orders o ON o.id = t.order_id "
        "WHERE t.status IN ('new', 'open', 'pending_customer') AND t.type IN ('return', 'troubleshooting') "
        "AND o.status IN ('delivered', 'refund_requested') AND o.created_at >= ? ORDER BY t.id", (inside_window_since(),))
    for ticket in ctx.pick(rows):
        order = ctx.tool("getOrderDetails", order_id=ticket["order_id"])["order"]
        refunded = {line["product_id"] for refund in order["refunds"] for line in refund["lines"]}
        returned = {line["product_id"]: line["quantity"] for line in order["lines"] if line["product_id"] not in refunded}
        if not returned or refund_total(refund_lines(order, returned)) <= LARGE_REFUND:
            continue
        names = " and ".join(line["product_name"] for line in order["lines"] if line["product_id"] in returned)
        agent = ctx.staff()
        story = ("now wants to send back the rest of the order too" if refunded else
                 "wants to return the whole order: one item is faulty and they no longer want the rest")
        spec = TaskSpec(employee(agent["id"]), request=(
            f"The customer on ticket {ticket['id']} {story} ({names}). Everything is undamaged and in the original boxes. "
            f"Please process the refund on order {order['id']} and handle anything else that's needed."))
        spec.call("getOrderDetails", order_id=order["id"])
        plan = return_refund(spec, ctx, order, returned, reason="defective" if not refunded else "customer_remorse", ticket_id=ticket["id"],
                             check_lines=False)
        escalation_id = escalate(spec, ctx, ticket["id"], "billing_payment",
                                 f"Refund {plan.refund_id} of {money(plan.amount)} is over $1,000: please review and sign off.", agent["id"])
        spec.check(r.reply("reply", "The reply gives the refund (id, amount, pending) and the escalation to finance",
                           contains=[plan.refund_id, escalation_id, "finance"], numbers=[plan.amount]))
        spec.reply = (f"Refund {plan.refund_id} of {money(plan.amount)} for {names} (net of any loyalty discount; shipping is not refunded) "
                      f"is created on order {order['id']}, linked to {ticket['id']}. It is over $1,000, so per team practice it stays "
                      f"pending and I escalated it to finance for sign-off ({escalation_id}, billing_payment). The order is now "
                      f"{plan.order_status} and the payment {plan.payment_status}.")
        yield spec
