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


@family("ticket_closure_workflow", "multi_step_workflow", "heldout", count={"easy": 3, "medium": 3, "hard": 2, "expert": 2},
        policy_rules=("ticket_closure",))
def ticket_closure_workflow(ctx: Context) -> Iterator[TaskSpec]:
    """A colleague hands over tickets to close: record the resolution with the right outcome (linking the refund when
    there is one) and only then resolve the ticket; when the work is not done yet (a dead item inside 30 days), do it
    first as a return."""
    agents = [ctx.staff() for _ in range(12)]
    advice = open_tickets(ctx, "troubleshooting", "AND t.order_id IS NOT NULL") + open_tickets(ctx, "recommendation")
    returns = [t for t in open_tickets(ctx, "return") if ctx.db.value(
        "SELECT status FROM refund WHERE ticket_id = ? ORDER BY id LIMIT 1", (t["id"],)) == "approved"]
    doa = doa_tickets(ctx)
    advice = [t for t in advice if t not in doa]
    for index, agent in enumerate(agents):
        yield _advice_spec(ctx, agents[index - 1], advice[index])
        if index >= len(returns):
            continue
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


@family("ticket_history_summary", "communication", "train", count={"medium": 4, "hard": 4, "expert": 1},
        policy_rules=("no_unrequested_writes",))
def ticket_history_summary(ctx: Context) -> Iterator[TaskSpec]:
    """A colleague needs a draft update to a customer on their tickets (the open ones, or all of them): each ticket,
    its status, and the current status of the order it is about."""
    customers = ctx.db.all("SELECT customer_id, COUNT(*) AS n FROM support_ticket WHERE status IN ('new', 'open', 'pending_customer') "
                           "AND order_id IS NOT NULL GROUP BY customer_id HAVING n >= 2 ORDER BY customer_id")
    busy = ctx.db.all("SELECT customer_id FROM support_ticket GROUP BY customer_id HAVING COUNT(DISTINCT order_id) >= 4 "
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


# -- train: closing tickets a colleague has finished, found by id, by the customer's e-mail or by the order -----------
DONE = {"troubleshooting": ("troubleshooting_steps", ["walked them through a BIOS update and a reseat and it's stable now",
                                                      "had them swap the cable and reinstall the driver; all good now",
                                                      "sent the troubleshooting steps and they confirmed the fix"]),
        "recommendation": ("recommendation_provided", ["recommended a compatible part and they're happy with it",
                                                       "sent them two options that fit their build; they picked one"]),
        "order_issue": ("replacement_sent", ["had the warehouse ship the right item; it went out yesterday",
                                             "arranged a replacement for the wrong part they received"])}


def _lookup_ticket(ctx: Context, spec: TaskSpec, ticket: dict, how: str) -> str:
    """How the colleague points at the ticket (and the reads that find it): 'id', 'email' or 'order'."""
    if how == "email":
        person = ctx.db.one("SELECT * FROM customer WHERE id = ?", (ticket["customer_id"],))
        spec.call("searchCustomers", email=person["email"])
        spec.call("searchTickets", customer_id=person["id"], type=ticket["type"])
        return f"{person['name']}'s ({person['email']}) {ticket['type'].replace('_', ' ')} ticket"
    if how == "order":
        spec.call("searchTickets", order_id=ticket["order_id"])
        return f"the {ticket['type'].replace('_', ' ')} ticket on order {ticket['order_id']}"
    return ticket["id"]  # the colleague gives the id: nothing to look up


def _finished(ctx: Context, spec: TaskSpec, agent: dict, ticket: dict, how: str, resolutions: int, offset: int, tag: str) -> str:
    """Close one finished ticket (its work done by the colleague); returns the request sentence, adds the reply line."""
    name = _lookup_ticket(ctx, spec, ticket, how)
    refund = ctx.db.one("SELECT * FROM refund WHERE ticket_id = ? AND status IN ('approved', 'processed') ORDER BY id LIMIT 1",
                        (ticket["id"],)) if ticket["type"] == "return" else None
    if refund:
        spec.call("getOrderDetails", order_id=ticket["order_id"])  # where the refund id is
        outcome, done = "refund_issued", f"the return refund has been issued ({money(refund['amount'])})"
        resolution_id = close_ticket(spec, ctx, ticket["id"], outcome, agent["id"], f"Return refunded: {refund['id']}.", refund_id=refund["id"],
                                     offset=offset, tag=tag, resolutions_in_task=resolutions)
    else:
        outcome, phrases = DONE[ticket["type"]]
        done = ctx.rng.choice(phrases)
        resolution_id = close_ticket(spec, ctx, ticket["id"], outcome, agent["id"], f"{done[0].upper()}{done[1:]}.", offset=offset, tag=tag,
                                     resolutions_in_task=resolutions)
    spec.reply += (f"- {ticket['id']}: resolution {resolution_id} ({outcome}" + (f", linking refund {refund['id']}" if refund else "")
                   + "), ticket resolved with resolved_success.\n")
    return f"{name}: {done}"


@family("ticket_closure_handoff", "multi_step_workflow", "train", count={"easy": 4, "medium": 5, "hard": 3, "expert": 3},
        policy_rules=("ticket_closure",))
def ticket_closure_handoff(ctx: Context) -> Iterator[TaskSpec]:
    """A colleague has finished the work on one to three tickets (found by id, by the customer's e-mail or by the order)
    and asks for them to be closed: a resolution with the outcome that fits the work (linking the issued refund on a
    return), then the ticket resolved with resolved_success."""
    placeholders = ", ".join("?" * len(OPEN))
    rows = ctx.db.all(f"SELECT t.* FROM support_ticket t WHERE t.status IN ({placeholders}) ORDER BY t.id", OPEN)
    unique_type = {(t["customer_id"], t["type"]) for t in rows
                   if sum(1 for u in rows if (u["customer_id"], u["type"]) == (t["customer_id"], t["type"])) == 1}
    unique_order = {t["order_id"] for t in rows if t["order_id"] and sum(1 for u in rows if u["order_id"] == t["order_id"]) == 1}
    # a ticket can be pointed at by e-mail / order only when that finds it alone (the search shows no other open ticket)
    everyone = ctx.db.all("SELECT customer_id, type, order_id, COUNT(*) AS n FROM support_ticket GROUP BY customer_id, type")
    alone = {(e["customer_id"], e["type"]) for e in everyone if e["n"] == 1}
    by_order = {e["order_id"] for e in ctx.db.all("SELECT order_id, COUNT(*) AS n FROM support_ticket WHERE order_id IS NOT NULL "
                                                   "GROUP BY order_id HAVING n = 1")}
    refunded = {row["ticket_id"] for row in ctx.db.all("SELECT ticket_id FROM refund WHERE status IN ('approved', 'processed') "
                                                        "AND ticket_id IS NOT NULL")}
    fit = ctx.pick([t for t in rows if t["type"] in DONE or (t["type"] == "return" and t["id"] in refunded)])
    ways = ("id", "email", "order")
    used: set[str] = set()
    for index in range(60):
        size = (1, 1, 2, 1, 3, 2)[index % 6]
        chosen = []
        for ticket in fit:
            how = ways[(index + len(chosen)) % 3]
            ok = (how == "id" or (how == "email" and (ticket["customer_id"], ticket["type"]) in alone & unique_type)
                  or (how == "order" and ticket["order_id"] in by_order & unique_order))
            if ticket["id"] not in used and ok:
                chosen.append((ticket, how))
            if len(chosen) == size:
                break
        if len(chosen) < size:
            continue
        used.update(t["id"] for t, _ in chosen)
        agent = ctx.staff()
        spec = TaskSpec(employee(agent["id"]), request="")
        spec.reply = "Closed:\n"
        done = [_finished(ctx, spec, agent, ticket, how, size, offset, f"-{offset + 1}" if size > 1 else "")
                for offset, (ticket, how) in enumerate(chosen)]
        if size == 1:
            spec.request = ctx.rng.choice(("Quick one: {d}. Can you close it out properly? I'm the resolver.",
                                           "Update on {d}. Please wrap the ticket up the right way and put me down as resolving it.",
                                           "FYI {d}. Please close the ticket for me (resolved by me)."))\
                .format(d=done[0])
            spec.check(r.called("resolution-first", "The resolution is created before the ticket is set resolved", "createResolution",
                                before="updateTicketStatus"))
        else:
            spec.request = ("Before I log off, these are done and need closing properly (put me down as the resolver):\n"
                            + "\n".join(f"- {d}" for d in done))
        spec.check(r.reply("reply", "The reply lists each closed ticket with its new resolution",
                           contains=[t["id"] for t, _ in chosen] + [ctx.next_id("resolution", k) for k in range(size)]))
        spec.reply = spec.reply.rstrip()
        spec.variant = difficulty_for(len(spec.calls))
        yield spec


# -- train: a reply draft summarising several tickets with their escalations and resolutions ------------------------
@family("ticket_status_reply_draft", "communication", "train", count={"medium": 5, "hard": 5},
        policy_rules=("no_unrequested_writes",))
def ticket_status_reply_draft(ctx: Context) -> Iterator[TaskSpec]:
    """A colleague asks for a customer-facing draft on two to five named tickets: for each, its status, which team it
    was escalated to (if any) and how it was resolved (with the refund amount when one was issued); nothing is
    changed."""
    customers = ctx.db.all("SELECT customer_id, COUNT(*) AS n FROM support_ticket t WHERE EXISTS (SELECT 1 FROM escalation e WHERE "
                           "e.ticket_id = t.id) OR t.resolution_id IS NOT NULL GROUP BY customer_id HAVING n >= 2 ORDER BY customer_id")
    for index, row in enumerate(ctx.pick(customers)):
        history = ctx.tool("getCustomerTicketHistory", customer_id=row["customer_id"])["tickets"]
        interesting = [t for t in history if t["escalations"] or t["resolutions"]]
        rest = [t for t in history if t not in interesting]
        size = min(len(interesting) + len(rest), (2, 3, 4, 6)[index % 4])
        scope = (interesting + rest)[:size]
        if len(scope) < 2:
            continue
        scope = ctx.pick(scope)
        person = ctx.db.one("SELECT * FROM customer WHERE id = ?", (row["customer_id"],))
        agent = ctx.staff()
        first = person["name"].split()[0]
        by_id = index % 2 == 0
        spec = TaskSpec(employee(agent["id"]), request=(
            f"{person['name']} is asking where things stand on tickets {', '.join(t['id'] for t in scope)}. Can you draft a reply I can "
            "send? For each one: its status, whether it went to another team (which one), and how it was resolved; if we refunded "
            "anything, the amount. Don't change anything on the tickets." if by_id else
            f"Could you draft an update for {person['name']} ({person['email']}) covering all of their tickets with us? Status of each, "
            "any escalation to another team, and the outcome where resolved, including refund amounts. Just the draft please."))
        if by_id:
            for ticket in scope:
                spec.call("searchTickets", ticket_id=ticket["id"])
        else:
            scope = history
            spec.call("searchCustomers", email=person["email"])
        spec.call("getCustomerTicketHistory", customer_id=person["id"])
        lines, amounts, departments = [], [], []
        for ticket in scope:
            line = f"- {ticket['id']} ({ticket['subject']}): {ticket['status'].replace('_', ' ')}"
            for escalation in ticket["escalations"]:
                departments.append(escalation["destination"])
                line += (f"; escalated to our {escalation['destination'].replace('_', ' ')} team"
                         + (" (since answered)" if escalation["resolved_at"] else " (still with them)"))
            for resolution in ticket["resolutions"][-1:]:
                line += f"; resolved: {resolution['outcome'].replace('_', ' ')}"
                if resolution["refund_id"]:
                    amount = ctx.db.value("SELECT amount FROM refund WHERE id = ?", (resolution["refund_id"],))
                    if not any(c.arguments.get("order_id") == ticket["order_id"] for c in spec.calls):
                        spec.call("getOrderDetails", order_id=ticket["order_id"])
                    amounts.append(amount)
                    line += f" with a refund of {money(amount)} ({resolution['refund_id']})"
            lines.append(line)
        if not 3 <= len(spec.calls) <= 9:
            continue
        spec.check(r.reply("reply-tickets", "The draft covers every ticket asked about", contains=[t["id"] for t in scope]))
        if amounts:
            spec.check(r.reply("reply-refunds", "The draft gives the amount of each refund issued", numbers=amounts))
        if departments:
            spec.check(r.reply("reply-teams", "The draft names the team each escalation went to",
                               contains_any=sorted({d.replace("_", " ") for d in departments} | set(departments))))
        statuses = sorted({t["status"] for t in scope})
        spec.check(
            r.judge("reply-statuses", "Each ticket's status, escalation and resolution outcome is stated correctly",
                    r.reply("fallback", "states the statuses", contains_any=[s.replace("_", " ") for s in statuses] + statuses)),
            r.judge("reply-tone", f"A customer-facing draft addressed to {first}, clear and friendly, with no internal ids other than "
                                  "ticket and refund ids", r.reply("fallback", "addresses the customer", contains=[first])),
        )
        spec.reply = (f"Draft:\n\nHi {first},\n\nHere is where your tickets stand:\n" + "\n".join(lines)
                      + "\n\nLet us know if anything is unclear.\nBest regards,\nCoreCraft Support")
        spec.variant = difficulty_for(len(spec.calls))
        yield spec
