"""Tickets: closing them with the right workflow (work, resolution, resolved + resolved_success) and summarising a
customer's tickets for a colleague."""

from __future__ import annotations

from collections.abc import Iterator

from .. import rubric as r
from ..core import Context, TaskSpec, difficulty_for, employee, family
from ..facts import inside_window_since, money, needs_finance
from ..recipes import close_ticket, return_refund

OPEN = ("new", "open", "pending_customer")
ADVICE = {"troubleshooting": ("troubleshooting_steps", "walked the customer through troubleshooting and it works now"),
          "recommendation": ("recommendation_provided", "sent the customer a recommendation and they're happy with it")}


def open_tickets(ctx: Context, ticket_type: str, where: str = "", params: tuple = ()) -> list[dict]:
    placeholders = ", ".join("?" * len(OPEN))
    return ctx.pick(ctx.db.all(f"SELECT t.* FROM support_ticket t LEFT JOIN orders o ON o.id = t.order_id WHERE t.type = ? "
                               f"AND t.status IN ({placeholders}) {where} ORDER BY t.id", (ticket_type, *OPEN, *params)))


def _doa_ticket(ctx: Context, spec: TaskSpec, agent: dict, ticket: dict, resolutions: int, offset: int, tag: str) -> str:
    """A troubleshooting ticket about an item that failed inside the return window: refund it as a defective return
    linked to the ticket, then close the ticket with a refund_issued resolution linking that refund."""
    order = ctx.tool("getOrderDetails", order_id=ticket["order_id"])["order"]
    line = next(line for line in order["lines"] if line["product_name"] in ticket["body"])
    spec.call("searchTickets", ticket_id=ticket["id"])
    spec.call("getOrderDetails", order_id=order["id"])
    plan = return_refund(spec, ctx, order, {line["product_id"]: line["quantity"]}, reason="defective", ticket_id=ticket["id"],
                         check_reason=True, tag=tag, check_lines=not tag)
    close_ticket(spec, ctx, ticket["id"], "refund_issued", agent["id"], f"Defective {line['product_name']} returned inside 30 days; "
                 f"refund {plan.refund_id} of {money(plan.amount)}.", refund_id=plan.refund_id, offset=offset, tag=tag,
                 resolutions_in_task=resolutions)
    spec.check(r.reply(f"reply{tag}", f"The reply gives the refund for {ticket['id']}", contains=[plan.refund_id], numbers=[plan.amount]))
    return (f"{ticket['id']}: the {line['product_name']} failed within 30 days of {order['id']}, so it is a return. Refund "
            f"{plan.refund_id} of {money(plan.amount)} (defective, pending, net of any loyalty discount) is linked to the ticket; "
            f"order {plan.order_status}, payment {plan.payment_status}; resolution refund_issued, ticket resolved.")


def doa_tickets(ctx: Context) -> list[dict]:
    found = []
    for ticket in open_tickets(ctx, "troubleshooting", "AND o.status = 'delivered' AND o.created_at >= ?", (inside_window_since(),)):
        order = ctx.tool("getOrderDetails", order_id=ticket["order_id"])["order"]
        lines = [line for line in order["lines"] if line["product_name"] in ticket["body"]]
        if lines and not order["refunds"] and not needs_finance(order, {lines[0]["product_id"]: lines[0]["quantity"]}):
            found.append(ticket)
    return found


def _refunded_return(ctx: Context, spec: TaskSpec, agent: dict, ticket: dict, resolutions: int, offset: int, tag: str) -> str:
    order = ctx.tool("getOrderDetails", order_id=ticket["order_id"])["order"]
    refund = next(f for f in order["refunds"] if f["ticket_id"] == ticket["id"])
    spec.call("searchTickets", ticket_id=ticket["id"])
    spec.call("getOrderDetails", order_id=order["id"])
    close_ticket(spec, ctx, ticket["id"], "refund_issued", agent["id"], f"Return refunded: {refund['id']} ({money(refund['amount'])}).",
                 refund_id=refund["id"], offset=offset, tag=tag, resolutions_in_task=resolutions)
    spec.check(r.nothing_new(f"no-new-refund{tag}", f"No second refund for {ticket['id']}: {refund['id']} already covers it", "refund",
                             ticket_id=ticket["id"]),
               r.reply(f"reply{tag}", f"The reply names {ticket['id']} and the refund its resolution links", contains=[ticket["id"], refund["id"]]))
    return (f"{ticket['id']}: closed with a refund_issued resolution linking the existing refund {refund['id']} "
            f"({money(refund['amount'])}); ticket resolved.")


@family("ticket_closure_workflow", "multi_step_workflow", "heldout", count={"easy": 1, "medium": 1, "hard": 1, "expert": 1},
        policy_rules=("ticket_closure", "defect_within_30_days_is_return", "refund_net_of_discount", "refund_pending_unless_authorised",
                      "post_refund_statuses", "no_unrequested_writes"))
def ticket_closure_workflow(ctx: Context) -> Iterator[TaskSpec]:
    """A colleague hands over tickets to close: record the resolution with the right outcome (linking the refund when
    there is one) and only then resolve the ticket; when the work is not done yet (a dead item inside 30 days), do it
    first as a return."""
    agents = [ctx.staff() for _ in range(8)]
    advice = open_tickets(ctx, "troubleshooting", "AND t.order_id IS NOT NULL") + open_tickets(ctx, "recommendation")
    returns = [t for t in open_tickets(ctx, "return") if ctx.db.value(
        "SELECT status FROM refund WHERE ticket_id = ? ORDER BY id LIMIT 1", (t["id"],)) == "approved"]
    doa = doa_tickets(ctx)
    advice = [t for t in advice if t not in doa]
    for index, agent in enumerate(agents):
        yield _advice_spec(ctx, agents[index - 1], advice[index])
        yield _closing_spec(ctx, agents[index - 2], [returns[index]], "The refund on return ticket {ids} has been issued. Please close the "
                            "ticket out properly.", _refunded_return)
        if index < len(doa):
            yield _closing_spec(ctx, agent, [doa[index]], "The customer on {ids} says the item is dead and wants their money back. It "
                                "was delivered recently and is undamaged. Please sort it out and close the ticket.", _doa_ticket)
            yield _closing_spec(ctx, agents[index - 3], [doa[(index + 1) % len(doa)], returns[-1 - index]],
                                "Two tickets for you. On {first} the customer's item is dead on arrival (undamaged, recent order): "
                                "they want their money back. On {second} the return refund has been issued. Please do what's needed "
                                "and close both tickets properly.", _doa_ticket, _refunded_return)


def _advice_spec(ctx: Context, agent: dict, ticket: dict) -> TaskSpec:
    outcome, done = ADVICE[ticket["type"]]
    spec = TaskSpec(employee(agent["id"]), request=(
        f"On ticket {ticket['id']}, I {done}. Could you close the ticket properly? Put me down as the one who resolved it."))
    close_ticket(spec, ctx, ticket["id"], outcome, agent["id"], f"{done.capitalize()}.")
    resolution_id = ctx.next_id("resolution")
    spec.check(
        r.called("resolution-first", "The resolution is created before the ticket is set resolved", "createResolution",
                 arguments={"ticket_id": ticket["id"]}, before="updateTicketStatus"),
        r.reply("reply", "The reply gives the resolution id", contains=[resolution_id, ticket["id"]]),
    )
    spec.reply = f"Done: resolution {resolution_id} ({outcome}, resolved by you) is recorded and {ticket['id']} is resolved (resolved_success)."
    spec.variant = difficulty_for(len(spec.calls))
    return spec


def _closing_spec(ctx: Context, agent: dict, tickets: list[dict], template: str, *steps) -> TaskSpec:
    ids = " and ".join(t["id"] for t in tickets)
    spec = TaskSpec(employee(agent["id"]), request=template.format(ids=ids, first=tickets[0]["id"], second=tickets[-1]["id"])
                    + " Put me down as the resolver.")
    several = len(tickets) > 1
    parts = [step(ctx, spec, agent, ticket, len(tickets), offset, f"-{offset + 1}" if several else "")
             for offset, (ticket, step) in enumerate(zip(tickets, steps))]
    if not several:
        spec.check(r.called("resolution-first", "The resolution is created before the ticket is set resolved", "createResolution",
                            before="updateTicketStatus"))
    spec.reply = "\n".join(parts)
    spec.variant = difficulty_for(len(spec.calls))
    return spec


@family("ticket_history_summary", "communication", "train", count={"medium": 1, "hard": 1, "expert": 1},
        policy_rules=("tools_only", "no_unrequested_writes"))
def ticket_history_summary(ctx: Context) -> Iterator[TaskSpec]:
    """A colleague needs a draft update to a customer on their tickets (the open ones, or all of them): each ticket,
    its status, and the current status of the order it is about."""
    customers = ctx.db.all("SELECT customer_id, COUNT(*) AS n FROM support_ticket WHERE status IN ('new', 'open', 'pending_customer') "
                           "AND order_id IS NOT NULL GROUP BY customer_id HAVING n >= 2 ORDER BY customer_id")
    busy = ctx.db.all("SELECT customer_id FROM support_ticket GROUP BY customer_id HAVING COUNT(DISTINCT order_id) >= 6 "
                      "ORDER BY customer_id")
    for row in ctx.pick(customers):
        yield _summary(ctx, row["customer_id"], open_only=True)
    for row in ctx.pick(busy):
        yield _summary(ctx, row["customer_id"], open_only=False)


def _summary(ctx: Context, customer_id: str, open_only: bool) -> TaskSpec:
    person = ctx.db.one("SELECT * FROM customer WHERE id = ?", (customer_id,))
    history = ctx.tool("getCustomerTicketHistory", customer_id=customer_id)["tickets"]
    scope = [t for t in history if t["status"] in OPEN or not open_only]
    agent = ctx.staff()
    what = "each of their open tickets" if open_only else "every ticket they've ever opened with us, open or closed"
    spec = TaskSpec(employee(agent["id"]), request=(
        f"{person['name']} ({person['email']}) wants an update on their support tickets. Please draft a reply to them covering "
        f"{what}: what it's about and its current status, and for tickets about an order, where that order stands now."))
    spec.call("searchCustomers", email=person["email"])
    spec.call("getCustomerTicketHistory", customer_id=customer_id)
    orders = {}
    for ticket in scope:
        if ticket["order_id"] and ticket["order_id"] not in orders:
            spec.call("getOrderDetails", order_id=ticket["order_id"])
            orders[ticket["order_id"]] = ctx.tool("getOrderDetails", order_id=ticket["order_id"])["order"]
    statuses = sorted({t["status"] for t in scope} | {o["status"] for o in orders.values()})
    spec.check(
        r.reply("reply-tickets", "The draft covers every ticket asked about", contains=[t["id"] for t in scope]),
        r.reply("reply-orders", "The draft names the order of each order ticket", contains=sorted(orders)),
        r.judge("reply-statuses", "The draft gives each ticket's status and each order's current status, correctly",
                r.reply("fallback", "states the statuses", contains=[s for s in statuses if "_" not in s] or sorted(orders))),
        r.judge("reply-tone", f"The draft is addressed to {person['name'].split()[0]} in a friendly, customer-facing tone",
                r.reply("fallback", "addresses the customer", contains=[person["name"].split()[0]])),
    )
    lines = [f"- {t['id']} ({t['subject']}): {t['status'].replace('_', ' ')}"
             + (f"; order {t['order_id']} is {orders[t['order_id']]['status'].replace('_', ' ')}" if t["order_id"] else "") for t in scope]
    spec.reply = (f"Here's a draft:\n\nHi {person['name'].split()[0]},\n\nThanks for your patience. Here is where your tickets "
                  "stand:\n" + "\n".join(lines) + "\n\nBest regards,\nCoreCraft Support")
    spec.variant = difficulty_for(len(spec.calls))
    return spec
