"""Escalations: routing by type whatever department the requester names (one ticket or a hand-over batch), and the
Slack practice for refunds over $1,000 (pending, plus a billing_payment escalation to finance)."""

from __future__ import annotations

from collections.abc import Iterator

from ...world.schema import ESCALATION_ROUTING
from .. import rubric as r
from ..core import Context, TaskSpec, employee, family
from ..facts import LARGE_REFUND, NO_OPEN_ESCALATION, inside_window_since, money, refund_lines, refund_total
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


@family("escalation_routing", "reasoning", "train", count={"by_id": 7, "by_customer": 5},
        policy_rules=("escalation_routing", "no_unrequested_writes"))
def escalation_routing(ctx: Context) -> Iterator[TaskSpec]:
    """Escalate a ticket: the type follows from the issue and the destination from policy's routing table, even when
    the colleague names another department. The ticket is named by id, or found from the customer's e-mail."""
    by_type = _open_tickets(ctx)
    departments = sorted(set(ESCALATION_ROUTING.values()))
    for round_ in range(8):
        for index, ticket_type in enumerate(sorted(by_type)):
            if round_ >= len(by_type[ticket_type]):
                continue
            ticket = by_type[ticket_type][round_]
            escalation_type, issue = ISSUES[ticket_type]
            destination = ESCALATION_ROUTING[escalation_type]
            agent = ctx.staff()
            suggested = ctx.rng.choice([d for d in departments if d != destination]) if (index + round_) % 2 == 0 else None
            ask = f"Please escalate it to {suggested.replace('_', ' ')}." if suggested else "Please escalate it to whoever owns this."
            open_same = ctx.db.all("SELECT id FROM support_ticket WHERE customer_id = ? AND type = ? AND status IN "
                                   "('new', 'open', 'pending_customer')", (ticket["customer_id"], ticket_type))
            if round_ % 2 and len(open_same) == 1:
                who = ctx.db.one("SELECT name, email FROM customer WHERE id = ?", (ticket["customer_id"],))
                spec = TaskSpec(employee(agent["id"]), variant="by_customer", request=(
                    f"{who['name']} ({who['email']}) has an open {ticket_type.replace('_', ' ')} ticket with us: {issue}. "
                    f"{ask} And let me know which ticket it was."))
                spec.call("searchCustomers", email=who["email"])
                spec.call("searchTickets", customer_id=ticket["customer_id"], type=ticket_type)
                spec.check(r.reply("reply-ticket", "The reply names the customer's ticket", contains=[ticket["id"]]))
            else:
                spec = TaskSpec(employee(agent["id"]), variant="by_id", request=f"About ticket {ticket['id']}: {issue}. {ask}")
                spec.call("searchTickets", ticket_id=ticket["id"])
            escalation_id = escalate(spec, ctx, ticket["id"], escalation_type, f"{issue[0].upper()}{issue[1:]}.", agent["id"])
            spec.check(r.reply("reply", "The reply gives the escalation id and the department it went to", contains=[escalation_id],
                               contains_any=DEPARTMENT_WORDS[destination]))
            spec.reply = (f"I escalated {ticket['id']} as {escalation_type} to {destination.replace('_', ' ')} ({escalation_id}): "
                          f"policy routes {escalation_type} escalations there.")
            if suggested:
                spec.check(r.judge("reply-routing", f"The reply explains why it went to {destination} rather than {suggested}",
                                   r.reply("fallback", "mentions the routing policy", contains_any=["policy", "route", "routing", "owns", "handles"])))
                spec.reply += f" {suggested.replace('_', ' ').capitalize()} doesn't handle this type, so I didn't send it there."
            else:
                spec.check(r.judge("reply-clear", "The reply says clearly what was escalated, as what type, and where",
                                   r.reply("fallback", "names the type", contains_any=[escalation_type, escalation_type.replace("_", " ")])))
            yield spec


def _open_tickets(ctx: Context) -> dict[str, list[dict]]:
    """Open tickets with no escalation yet, shuffled and grouped by ticket type (only the types ISSUES knows)."""
    rows = ctx.db.all("SELECT t.* FROM support_ticket t WHERE t.status IN ('new', 'open', 'pending_customer') AND NOT EXISTS "
                      "(SELECT 1 FROM escalation e WHERE e.ticket_id = t.id) ORDER BY t.id")
    by_type: dict[str, list[dict]] = {}
    for ticket in ctx.pick(rows):
        if ticket["type"] in ISSUES:
            by_type.setdefault(ticket["type"], []).append(ticket)
    return by_type


@family("escalation_batch", "multi_step_workflow", "train", count={"hard": 5, "expert": 7},
        policy_rules=("escalation_routing", "no_unrequested_writes"))
def escalation_batch(ctx: Context) -> Iterator[TaskSpec]:
    """A team lead going off shift hands over three to six tickets of different kinds to escalate: look each one up,
    escalate it with the type its issue calls for, each to the department policy routes that type to, and report."""
    by_type = _open_tickets(ctx)
    types = sorted(by_type)
    used: dict[str, int] = {t: 0 for t in types}
    for index in range(40):
        size = 3 + index % 4
        chosen_types = ctx.pick(types, size)
        tickets = []
        for ticket_type in chosen_types:
            pool = by_type[ticket_type]
            tickets.append(pool[used[ticket_type] % len(pool)])
            used[ticket_type] += 1
        lead = ctx.staff()
        bullets = "\n".join(f"- {t['id']}: {ISSUES[t['type']][1]}" for t in tickets)
        spec = TaskSpec(employee(lead["id"]), request=(
            f"Hi, {lead['name'].split()[0]} here, I'm off shift in ten minutes. These need escalating before I go; please send each to "
            f"the right team and give me the escalation ids:\n{bullets}"))
        spec.variant = "expert" if size >= 5 else "hard"
        ids = []
        for offset, ticket in enumerate(tickets):
            spec.call("searchTickets", ticket_id=ticket["id"])
        for offset, ticket in enumerate(tickets):
            escalation_type, issue = ISSUES[ticket["type"]]
            ids.append(escalate(spec, ctx, ticket["id"], escalation_type, f"{issue[0].upper()}{issue[1:]}.", lead["id"],
                                offset=offset, tag=f"-{offset + 1}"))
        spec.check(r.reply("reply", "The reply lists every escalation id", contains=ids))
        spec.check(r.judge("reply-clear", "The reply says, ticket by ticket, which type each escalation has and where it went",
                           r.reply("fallback", "names the departments", contains_any=["engineering", "finance", "product management",
                                                                                      "order processing", "product_management"])))
        spec.reply = "Done, all escalated:\n" + "\n".join(
            f"- {t['id']}: {ISSUES[t['type']][0]} -> {ESCALATION_ROUTING[ISSUES[t['type']][0]].replace('_', ' ')} ({eid})"
            for t, eid in zip(tickets, ids))
        yield spec


def _large_returns(ctx: Context, ticket_types: tuple[str, ...]) -> Iterator[tuple[dict, dict, dict[str, int], list[str]]]:
    """(ticket, order, what is left to return, products already refunded) for tickets on orders inside the window
    whose remaining goods refund over $1,000."""
    rows = ctx.db.all(
        "SELECT t.* FROM support_ticket t JOIN orders o ON o.id = t.order_id WHERE t.type IN (%s) "
        f"AND o.status IN ('delivered', 'refund_requested') AND o.created_at >= ? AND {NO_OPEN_ESCALATION} ORDER BY t.id"
        % ",".join("?" * len(ticket_types)),
        (*ticket_types, inside_window_since()))
    for ticket in ctx.pick(rows):
        order = ctx.tool("getOrderDetails", order_id=ticket["order_id"])["order"]
        refunded = sorted({line["product_id"] for refund in order["refunds"] for line in refund["lines"]})
        returned = {line["product_id"]: line["quantity"] for line in order["lines"] if line["product_id"] not in refunded}
        if returned and refund_total(refund_lines(order, returned)) > LARGE_REFUND:
            yield ticket, order, returned, refunded


def _large_refund(spec: TaskSpec, ctx: Context, ticket: dict, order: dict, returned: dict[str, int], reason: str,
                  created_by: str | None) -> str:
    names = " and ".join(line["product_name"] for line in order["lines"] if line["product_id"] in returned)
    plan = return_refund(spec, ctx, order, returned, reason=reason, ticket_id=ticket["id"], check_lines=False)
    escalation_id = escalate(spec, ctx, ticket["id"], "billing_payment",
                             f"Refund {plan.refund_id} of {money(plan.amount)} is over $1,000: please review and sign off.", created_by)
    spec.check(r.reply("reply", "The reply gives the refund (id, amount, pending) and the escalation to finance",
                       contains=[plan.refund_id, escalation_id, "finance"], numbers=[plan.amount]))
    spec.reply = (f"Refund {plan.refund_id} of {money(plan.amount)} for {names} (net of any loyalty discount; shipping is not refunded) "
                  f"is created on order {order['id']}, linked to {ticket['id']}. It is over $1,000, so per team practice it stays "
                  f"pending and I escalated it to finance for sign-off ({escalation_id}, billing_payment). The order is now "
                  f"{plan.order_status} and the payment {plan.payment_status}.")
    return names


@family("large_refund_return", "multi_step_workflow", "train", count=3,
        policy_rules=("large_refund_finance", "refund_pending_unless_authorised", "post_refund_statuses", "escalation_routing",
                      "shipping_not_refunded"))
def large_refund_return(ctx: Context) -> Iterator[TaskSpec]:
    """An open return ticket whose remaining items refund over $1,000 (the world has only a few): look the ticket up,
    refund what is left pending and linked to the ticket, set the statuses, and, per the team's Slack practice, send a
    billing_payment escalation to finance."""
    for ticket, order, returned, refunded in _large_returns(ctx, ("return",)):
        names = " and ".join(line["product_name"] for line in order["lines"] if line["product_id"] in returned)
        agent = ctx.staff()
        spec = TaskSpec(employee(agent["id"]), request=ctx.rng.choice((
            f"Return ticket {ticket['id']}: the customer has sent back the {names}, and the warehouse confirms it arrived "
            "undamaged in its original packaging. Please get the refund through and do whatever else the process needs.",
            f"Could you finish off {ticket['id']}? The {names} came back to the warehouse today, sealed and in perfect "
            "condition. Refund it, please.")))
        spec.call("searchTickets", ticket_id=ticket["id"])
        spec.call("getOrderDetails", order_id=order["id"])
        _large_refund(spec, ctx, ticket, order, returned, "customer_remorse", agent["id"])
        yield spec


@family("large_refund_finance", "multi_step_workflow", "heldout", count=3,
        policy_rules=("large_refund_finance", "refund_pending_unless_authorised", "post_refund_statuses",
                      "escalation_routing", "shipping_not_refunded"))
def large_refund_finance(ctx: Context) -> Iterator[TaskSpec]:
    """A customer's troubleshooting ticket ends in a return of the whole order, faulty item included, worth over
    $1,000: create the refund pending (linked to the ticket), set the statuses, and follow the team's Slack practice
    of a billing_payment escalation to finance for sign-off."""
    for ticket, order, returned, refunded in _large_returns(ctx, ("troubleshooting",)):
        names = " and ".join(line["product_name"] for line in order["lines"] if line["product_id"] in returned)
        agent = ctx.staff()
        spec = TaskSpec(employee(agent["id"]), request=(
            f"The customer on ticket {ticket['id']} has given up on troubleshooting: they want to return the whole order "
            f"({names}) - one item is faulty and they no longer want the rest. Everything is undamaged and in the original "
            f"boxes. Please process the refund on order {order['id']} and handle anything else that's needed."))
        spec.call("getOrderDetails", order_id=order["id"])
        _large_refund(spec, ctx, ticket, order, returned, "defective", agent["id"])
        yield spec
