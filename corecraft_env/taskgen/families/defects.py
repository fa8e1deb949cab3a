"""Defects: faulty and dead-on-arrival items (returns inside 30 days, warranty claims after), several failed items in
one request, batches of troubleshooting tickets to triage, and customers asking for their ticket to go to a specialist."""

from __future__ import annotations

from collections.abc import Iterator

from ...world.schema import ESCALATION_ROUTING
from .. import rubric as r
from ..core import Context, TaskSpec, customer, employee, family
from ..facts import inside_window_since, long_date, money, needs_finance, outside_window_before
from ..recipes import close_ticket, escalate, return_refund
from .returns import returnable_orders
from .warranty import SYMPTOMS, _date_forms, _open_troubleshooting, beyond_one_year, one_year_end

DOA = ("was dead on arrival: no lights, no fans, nothing", "arrived faulty and doesn't get past POST",
       "failed after two days: it cuts out every few minutes", "arrived with a fault: it isn't detected at all")


# -- several dead-on-arrival items across recent orders ------------------------------------------------------------
@family("defect_multi_order_return", "multi_step_workflow", "train", count={"hard": 5, "expert": 3},
        policy_rules=("defect_within_30_days_is_return", "refund_net_of_discount", "refund_pending_unless_authorised",
                      "post_refund_statuses"))
def defect_multi_order_return(ctx: Context) -> Iterator[TaskSpec]:
    """A customer reports faulty items from two or three recent orders and asks for warranty replacements or their
    money back: each failed inside 30 days, so each is a return (defective, pending, itemised, net of the order's
    loyalty discount), one refund per order, with the order and payment statuses."""
    orders = returnable_orders(ctx, since=inside_window_since(), max_lines=3)
    by_customer: dict[str, list[dict]] = {}
    for order in orders:
        by_customer.setdefault(order["customer_id"], []).append(order)
    for customer_id, mine in sorted(by_customer.items(), key=lambda item: ctx.rng.random()):
        mine = sorted(mine, key=lambda o: o["created_at"])[:3]
        if len(mine) < 2 or all(o["loyalty_tier"] == "none" for o in mine):
            continue
        picks = []
        for order in mine:
            line = ctx.rng.choice(order["lines"])
            picks.append((order, line))
        if any(needs_finance(o, {l["product_id"]: l["quantity"]}) for o, l in picks):
            continue
        items = "\n".join(f"- the {line['product_name']} from order {order['id']} {ctx.rng.choice(DOA)}" for order, line in picks)
        spec = TaskSpec(customer(customer_id), variant="expert" if len(picks) == 3 else "hard", request=(
            "I've had a terrible run with my recent orders. Everything is undamaged and I still have all the boxes:\n"
            f"{items}\nAre these covered by the warranty? I'd like replacements, or my money back if that's quicker."))
        for order, _ in picks:
            spec.call("getOrderDetails", order_id=order["id"])
        plans = []
        for offset, (order, line) in enumerate(picks):
            plans.append(return_refund(spec, ctx, order, {line["product_id"]: line["quantity"]}, reason="defective", offset=offset,
                                       tag=f"-{offset + 1}", check_lines=False, check_reason=True))
        spec.check(
            r.not_called("no-warranty-escalation", "No warranty escalation: every defect is inside 30 days, so each is a return",
                         "createEscalation", arguments={"escalation_type": "warranty"}),
            r.reply("reply", "The reply gives each refund id and amount", contains=[p.refund_id for p in plans],
                    numbers=[p.amount for p in plans]),
            r.judge("reply-return", "The reply explains that faults reported within 30 days of an order are handled as returns, "
                                    "not warranty claims",
                    r.reply("fallback", "mentions the return window", contains=["return"], contains_any=["30 days", "30-day"])),
        )
        spec.reply = ("I'm sorry about all of these. Each item failed within 30 days of its order, so each is handled as a return "
                      "rather than a warranty claim:\n" + "\n".join(
                          f"- {line['product_name']} (order {order['id']}): refund {plan.refund_id} of {money(plan.amount)}, "
                          "reason defective, net of any loyalty discount (shipping is not refunded)"
                          for (order, line), plan in zip(picks, plans)) + "\nThe refunds are pending review.")
        blind = spec.ignoring("defect_within_30_days_is_return")
        for order, line in picks:
            blind.call("getOrderDetails", order_id=order["id"])
            blind.call("checkWarrantyStatus", order_id=order["id"], product_id=line["product_id"])
        blind.reply = ("All of these items are well within their warranty, so they are warranty cases: our warranty team will "
                       "contact you to arrange replacements. No refunds are needed.")
        yield spec


# -- a dead-on-arrival item on a ticket, closed end to end -----------------------------------------------------------
@family("defect_ticket_return_close", "multi_step_workflow", "train", count=4,
        policy_rules=("defect_within_30_days_is_return", "ticket_closure", "refund_pending_unless_authorised",
                      "post_refund_statuses"))
def defect_ticket_return_close(ctx: Context) -> Iterator[TaskSpec]:
    """An open troubleshooting ticket about an item from an order inside the 30-day window (few exist): the colleague
    calls it a warranty case, but it is a return: refund it (defective, pending, linked to the ticket), set the statuses,
    record a refund_issued resolution and resolve the ticket."""
    tickets = ctx.db.all(
        "SELECT t.* FROM support_ticket t JOIN orders o ON o.id = t.order_id WHERE t.type = 'troubleshooting' "
        "AND t.status IN ('new', 'open', 'pending_customer') AND o.status = 'delivered' AND o.created_at >= ? ORDER BY t.id",
        (inside_window_since(),))
    for ticket in ctx.pick(tickets):
        order = ctx.tool("getOrderDetails", order_id=ticket["order_id"])["order"]
        if order["refunds"]:
            continue
        lines = [line for line in order["lines"] if line["product_name"] in ticket["body"]]
        if not lines:
            continue
        line = lines[0]
        returned = {line["product_id"]: line["quantity"]}
        if needs_finance(order, returned):
            continue
        agent = ctx.staff()
        spec = TaskSpec(employee(agent["id"]), request=(
            f"Ticket {ticket['id']}: troubleshooting got nowhere, the {line['product_name']} is simply faulty. The customer has "
            "the original packaging and there's no damage. I think this is a warranty job - can you sort it out for them and "
            "close the ticket? Put me down as the resolver."))
        spec.call("searchTickets", ticket_id=ticket["id"])
        spec.call("getOrderDetails", order_id=order["id"])
        plan = return_refund(spec, ctx, order, returned, reason="defective", ticket_id=ticket["id"], check_reason=True,
                             check_lines=False)
        close_ticket(spec, ctx, ticket["id"], "refund_issued", agent["id"],
                     f"Defect reported within 30 days of {order['id']}: returned as defective, refund {plan.refund_id}.",
                     refund_id=plan.refund_id)
        spec.check(
            r.not_called("no-warranty-escalation", "No warranty escalation: a defect inside 30 days is a return",
                         "createEscalation", arguments={"escalation_type": "warranty"}),
            r.reply("reply", "The reply gives the refund id and amount and says the ticket is resolved", contains=[plan.refund_id],
                    numbers=[plan.amount], contains_any=["resolved", "closed"]),
        )
        spec.reply = (f"The order {order['id']} is less than 30 days old, so this is a return, not a warranty claim. I created "
                      f"refund {plan.refund_id} of {money(plan.amount)} for the {line['product_name']} (reason defective, net of any "
                      f"loyalty discount, shipping excluded, pending review), set the order to {plan.order_status} and the payment "
                      f"to {plan.payment_status}, recorded a refund_issued resolution and resolved {ticket['id']}.")
        blind = spec.ignoring("defect_within_30_days_is_return")
        blind.call("searchTickets", ticket_id=ticket["id"])
        blind.call("getOrderDetails", order_id=order["id"])
        blind.call("checkWarrantyStatus", order_id=order["id"], product_id=line["product_id"])
        blind.call("createEscalation", ticket_id=ticket["id"], escalation_type="warranty", destination="product_management",
                   notes=f"Warranty claim: faulty {line['product_name']} from {order['id']}.", created_by=agent["id"])
        blind.reply = f"The {line['product_name']} is under warranty, so I escalated {ticket['id']} as a warranty claim to product management."
        yield spec


# -- several failed items across older orders, one warranty claim ---------------------------------------------------
@family("warranty_multi_item_claim", "reasoning", "train", count={"hard": 4, "expert": 6},
        policy_rules=("warranty_period", "escalation_routing", "no_unrequested_writes"))
def warranty_multi_item_claim(ctx: Context) -> Iterator[TaskSpec]:
    """A colleague passes on a customer's open ticket listing four or five failed items from their older orders: check each
    warranty (the product's own period in calendar months), raise one warranty escalation to product management for
    the covered ones, and say which have expired and when."""
    rows = ctx.db.all("SELECT t.* FROM support_ticket t WHERE t.status IN ('new', 'open', 'pending_customer') AND NOT EXISTS "
                      "(SELECT 1 FROM escalation e WHERE e.ticket_id = t.id) ORDER BY t.id")
    seen: set[str] = set()
    for ticket in ctx.pick(rows):
        if ticket["customer_id"] in seen:
            continue
        seen.add(ticket["customer_id"])
        orders = [ctx.tool("getOrderDetails", order_id=o["id"])["order"] for o in ctx.db.all(
            "SELECT id FROM orders WHERE customer_id = ? AND status = 'delivered' AND created_at < ? ORDER BY id",
            (ticket["customer_id"], outside_window_before()))]
        covered_pool, expired_pool = [], []
        for order in ctx.pick(orders):
            for line in ctx.pick(order["lines"]):
                status = ctx.tool("checkWarrantyStatus", order_id=order["id"], product_id=line["product_id"])
                if status["warranty_end_date"][:7] in ("2025-08", "2025-09", "2025-10"):
                    continue
                (covered_pool if status["under_warranty"] else expired_pool).append((order, line, status))
        if not covered_pool or not expired_pool:
            continue
        n_expired = 1 if len(covered_pool) >= 3 or len(expired_pool) == 1 else 2
        chosen, used_orders, names = [], set(), set()
        total = 5 if len(covered_pool) + len(expired_pool) >= 6 else 4
        for pool, wanted in ((expired_pool, n_expired), (covered_pool, total - n_expired)):
            taken = 0
            for fresh_only in (True, False):
                for order, line, status in pool:
                    if taken < wanted and line["product_name"] not in names and (not fresh_only or order["id"] not in used_orders):
                        chosen.append((order, line, status))
                        used_orders.add(order["id"])
                        names.add(line["product_name"])
                        taken += 1
        if len(chosen) < 4 or not any(not st["under_warranty"] for _, _, st in chosen):
            continue
        chosen = ctx.pick(chosen)
        order_ids = list(dict.fromkeys(o["id"] for o, _, _ in chosen))
        covered = [item for item in chosen if item[2]["under_warranty"]]
        expired = [item for item in chosen if not item[2]["under_warranty"]]
        agent = ctx.staff()
        items = "\n".join(f"- {line['product_name']} (order {order['id']})" for order, line, _ in chosen)
        spec = TaskSpec(employee(agent["id"]), request=ctx.rng.choice((
            f"The customer on ticket {ticket['id']} says several of their parts have packed up. No damage, no overclocking, all "
            f"installed properly, they say:\n{items}\nCan you check which of these are still under warranty, put in the warranty "
            "claim for the ones that are, and let me know about the rest?",
            f"Bit of a bumper claim on {ticket['id']}: the customer lists these failed parts, all used at stock settings, "
            f"installed by the book and undamaged:\n{items}\nPlease raise one warranty claim covering whatever is still in "
            "warranty and give me the dates for anything that isn't.")))
        spec.call("searchTickets", ticket_id=ticket["id"])
        for order_id in order_ids:
            spec.call("getOrderDetails", order_id=order_id)
        for order, line, _ in chosen:
            spec.call("checkWarrantyStatus", order_id=order["id"], product_id=line["product_id"])
        spec.variant = "expert" if 2 + len(order_ids) + len(chosen) >= 10 else "hard"
        claim = "; ".join(f"{l['product_name']} ({o['id']}, covered until {s['warranty_end_date']})" for o, l, s in covered)
        escalation_id = escalate(spec, ctx, ticket["id"], "warranty", f"Warranty claim for: {claim}. No damage or misuse reported.",
                                 agent["id"])
        spec.check(
            r.called("checked-all", "Every item's warranty is checked with checkWarrantyStatus", "checkWarrantyStatus", min_count=len(chosen)),
            r.reply("reply-escalation", "The reply gives the escalation id and says it went to product management",
                    contains=[escalation_id], contains_any=["product management", "product_management"]),
            r.reply("reply-covered", "The reply names the items covered by the claim", contains=[l["product_name"] for _, l, _ in covered]),
            r.judge("reply-expired", "The reply says which items are out of warranty and when their warranty ended",
                    r.reply("fallback", "names the expired items, their end dates and says they expired",
                            contains=[l["product_name"] for _, l, _ in expired] + [s["warranty_end_date"] for _, _, s in expired],
                            contains_any=["expired", "ended", "no longer", "out of warranty"])),
        )
        spec.reply = (f"I checked all {len(chosen)} items. Covered, and included in warranty claim {escalation_id} to product management:\n"
                      + "\n".join(f"- {l['product_name']} (order {o['id']}): covered until {s['warranty_end_date']} "
                                  f"({s['warranty_months']}-month warranty)" for o, l, s in covered)
                      + "\nOut of warranty, so not claimable:\n"
                      + "\n".join(f"- {l['product_name']} (order {o['id']}): the {s['warranty_months']}-month warranty expired on "
                                  f"{s['warranty_end_date']}" for o, l, s in expired))
        blind = spec.ignoring("warranty_period")
        blind.call("searchTickets", ticket_id=ticket["id"])
        for order_id in order_ids:
            blind.call("getOrderDetails", order_id=order_id)
        blind.call("createEscalation", ticket_id=ticket["id"], escalation_type="warranty", destination="product_management",
                   notes="Warranty claim for: " + "; ".join(f"{l['product_name']} ({o['id']})" for o, l, _ in chosen))
        blind.reply = (f"All {len(chosen)} items are covered by our warranty, so I raised one warranty claim for them with product "
                       f"management ({escalation_id}).")
        yield spec


# -- a customer asks for their ticket to go to a specialist ----------------------------------------------------------
SPECIALIST = {  # ticket type -> (escalation type, how the customer asks, words for who handles it)
    "troubleshooting": ("technical", "The steps I was given didn't fix it. Please pass this to your engineers - I think it needs a "
                                     "proper technical investigation."),
    "recommendation": ("product_specialist", "The answers so far have been too generic. Could a product specialist who really "
                                             "knows the range look at this?"),
    "billing": ("billing_payment", "I still don't understand the charge. Please get the payments people to look at it."),
    "shipping": ("order_fulfillment", "Nobody seems to know where my parcel is. Please hand this to whoever runs your dispatch."),
}


@family("customer_ticket_escalation", "communication", "train", count=12,
        policy_rules=("escalation_routing", "no_unrequested_writes"))
def customer_ticket_escalation(ctx: Context) -> Iterator[TaskSpec]:
    """A customer asks for their open ticket (named by subject, not id) to go to a specialist team: find it among
    their tickets, escalate it with the right type to the department policy routes it to, and tell them who has it."""
    rows = ctx.db.all(
        "SELECT t.* FROM support_ticket t WHERE t.status IN ('new', 'open', 'pending_customer') AND NOT EXISTS "
        "(SELECT 1 FROM escalation e WHERE e.ticket_id = t.id) AND (SELECT COUNT(*) FROM support_ticket u WHERE "
        "u.customer_id = t.customer_id AND u.status IN ('new', 'open', 'pending_customer') AND u.type = t.type) = 1 ORDER BY t.id")
    by_type: dict[str, list[dict]] = {}
    for ticket in ctx.pick(rows):
        if ticket["type"] in SPECIALIST:
            by_type.setdefault(ticket["type"], []).append(ticket)
    for round_ in range(6):
        for ticket_type in sorted(by_type):
            if round_ >= len(by_type[ticket_type]):
                continue
            ticket = by_type[ticket_type][round_]
            escalation_type, ask = SPECIALIST[ticket_type]
            destination = ESCALATION_ROUTING[escalation_type]
            about = f"my open ticket \"{ticket['subject']}\"" + (f" (order {ticket['order_id']})" if ticket["order_id"] else "")
            extra, extra_reply, extra_check = "", "", None
            if ticket["order_id"] and ticket_type == "troubleshooting":
                order = ctx.tool("getOrderDetails", order_id=ticket["order_id"])["order"]
                lines = [line for line in order["lines"] if line["product_name"] in ticket["body"]] or order["lines"]
                status = ctx.tool("checkWarrantyStatus", order_id=order["id"], product_id=lines[0]["product_id"])
                extra = f" And while you're at it: until when is the {lines[0]['product_name']} under warranty?"
                extra_reply = f" Your {lines[0]['product_name']} is under warranty until {status['warranty_end_date']}." if status[
                    "under_warranty"] else f" The warranty on your {lines[0]['product_name']} ended on {status['warranty_end_date']}."
                extra_check = r.reply("reply-warranty", "The reply gives the item's warranty end date",
                                      contains_any=_date_forms(status["warranty_end_date"]))
                follow = [("getOrderDetails", {"order_id": order["id"]}),
                          ("checkWarrantyStatus", {"order_id": order["id"], "product_id": lines[0]["product_id"]})]
            elif ticket["order_id"] and ticket_type == "shipping":
                shipments = ctx.tool("searchShipments", order_id=ticket["order_id"])["shipments"]
                if len(shipments) != 1:
                    continue
                shipment = shipments[0]
                extra = " Also, what does the tracking say right now?"
                extra_reply = (f" The latest tracking status of {shipment['tracking_number']} ({shipment['carrier']}) is "
                               f"{shipment['status'].replace('_', ' ')}.")
                extra_check = r.reply("reply-tracking", "The reply gives the tracking number and its current status",
                                      contains=[shipment["tracking_number"]],
                                      contains_any=[shipment["status"], shipment["status"].replace("_", " ")])
                follow = [("searchShipments", {"order_id": ticket["order_id"]})]
            elif ticket["order_id"] and ticket_type == "billing":
                order = ctx.tool("getOrderDetails", order_id=ticket["order_id"])["order"]
                payment = order["payments"][0]
                extra = " Can you also confirm how much was actually charged and how?"
                extra_reply = f" Your payment {payment['id']} was {money(payment['amount'])} by {payment['method'].replace('_', ' ')}."
                extra_check = r.reply("reply-charge", "The reply gives the amount charged", numbers=[payment["amount"]])
                follow = [("getOrderDetails", {"order_id": order["id"]})]
            else:
                follow = []
            spec = TaskSpec(customer(ticket["customer_id"]), request=f"Hello, this is about {about}. {ask}{extra}")
            spec.call("searchTickets", customer_id=ticket["customer_id"])
            for tool, arguments in follow:
                spec.call(tool, **arguments)
            escalation_id = escalate(spec, ctx, ticket["id"], escalation_type, f"Customer asks for specialist help: {ticket['subject']}.", None)
            spec.check(
                r.reply("reply-ticket", "The reply names the ticket and gives the escalation id", contains=[ticket["id"], escalation_id]),
                r.reply("reply-team", "The reply says which team now has the ticket", contains_any=sorted({destination, destination.replace("_", " ")})),
                r.judge("reply-tone", "The reply is courteous and tells the customer what happens next",
                        r.reply("fallback", "says what happens next", contains_any=["will", "contact", "in touch", "follow up"])),
            )
            if extra_check:
                spec.check(extra_check)
            spec.reply = (f"Thank you for your patience. I've escalated your ticket {ticket['id']} (\"{ticket['subject']}\") to our "
                          f"{destination.replace('_', ' ')} team ({escalation_id}). They will review it and be in touch with you."
                          + extra_reply)
            yield spec


# -- a batch of troubleshooting tickets to triage for warranty -------------------------------------------------------
@family("defect_ticket_triage_batch", "reasoning", "heldout", count=8,
        policy_rules=("warranty_period", "escalation_routing", "no_unrequested_writes"))
def defect_ticket_triage_batch(ctx: Context) -> Iterator[TaskSpec]:
    """A colleague hands over three open troubleshooting tickets on older orders to triage for warranty: for each,
    look up the ticket and its order and check the warranty of the item it names; escalate the covered ones as
    warranty to product management (one escalation each) and report the rest. At least one is covered only because its
    period is longer than a year."""
    pool = _open_troubleshooting(ctx, before=outside_window_before())
    long_ones = [item for item in pool if beyond_one_year(ctx, item[1], item[2])]
    others = [item for item in pool if item not in long_ones]
    for index in range(24):
        anchor = long_ones[index % len(long_ones)]
        rest = ctx.pick([item for item in others + long_ones if item is not anchor], 2)
        batch = ctx.pick([anchor, *rest])
        agent = ctx.staff()
        listed = ", ".join(ticket["id"] for ticket, _, _ in batch)
        spec = TaskSpec(employee(agent["id"]), request=(
            f"Could you triage these troubleshooting tickets for warranty: {listed}? All three customers say no damage, no "
            "overclocking and a proper install. Raise a warranty claim on each one that's still covered and tell me which "
            "aren't, with the date cover ended."))
        escalations = []
        for ticket, order, line in batch:
            spec.call("searchTickets", ticket_id=ticket["id"])
            spec.call("getOrderDetails", order_id=order["id"])
            spec.call("checkWarrantyStatus", order_id=order["id"], product_id=line["product_id"])
        lines, blind_lines = [], []
        blind = spec.ignoring("warranty_period")
        for ticket, order, line in batch:
            status = ctx.tool("checkWarrantyStatus", order_id=order["id"], product_id=line["product_id"])
            blind.call("searchTickets", ticket_id=ticket["id"])
            blind.call("getOrderDetails", order_id=order["id"])
            guess = one_year_end(status["purchase_date"])
            if status["under_warranty"]:
                offset = len(escalations)
                eid = escalate(spec, ctx, ticket["id"], "warranty", f"Warranty claim: {line['product_name']} from {order['id']}; "
                               f"covered until {status['warranty_end_date']}.", agent["id"], offset=offset, tag=f"-{ticket['id']}")
                escalations.append(eid)
                spec.check(r.reply(f"reply-{ticket['id']}", f"The reply gives {ticket['id']}'s escalation id and warranty end date",
                                   contains=[eid], contains_any=_date_forms(status["warranty_end_date"])))
                lines.append(f"- {ticket['id']} ({line['product_name']}, {order['id']}): covered until {status['warranty_end_date']}; "
                             f"warranty claim {eid} raised with product management")
            else:
                spec.check(r.nothing_new(f"none-{ticket['id']}", f"{ticket['id']} is not escalated: its warranty has ended",
                                         "escalation", ticket_id=ticket["id"]),
                           r.reply(f"reply-{ticket['id']}", f"The reply gives the date {ticket['id']}'s warranty ended",
                                   contains=[ticket["id"]], contains_any=_date_forms(status["warranty_end_date"])))
                lines.append(f"- {ticket['id']} ({line['product_name']}, {order['id']}): not covered, the warranty ended on "
                             f"{status['warranty_end_date']}; no claim raised")
            if guess >= "2025-09-15":
                blind.call("createEscalation", ticket_id=ticket["id"], escalation_type="warranty", destination="product_management",
                           notes=f"Warranty claim: {line['product_name']} from {order['id']}.", created_by=agent["id"])
                blind_lines.append(f"- {ticket['id']}: covered until {guess}, claim raised")
            else:
                blind_lines.append(f"- {ticket['id']}: the one-year warranty ended on {guess}; no claim raised")
        if not escalations:
            continue
        spec.reply = "Triage done:\n" + "\n".join(lines)
        blind.reply = "Triage done (one-year warranty from the order date):\n" + "\n".join(blind_lines)
        yield spec


# -- which remedy applies: return or warranty --------------------------------------------------------------------------
@family("defect_remedy_advice", "communication", "train", count=10,
        policy_rules=("defect_within_30_days_is_return", "no_unrequested_writes"))
def defect_remedy_advice(ctx: Context) -> Iterator[TaskSpec]:
    """A customer with two faulty items, one from an order of the last few weeks and one from an older order, asks
    what their options are before deciding anything: the recent one is a return (refund within 30 days of the order),
    the older one is a warranty matter (covered until its end date, or no longer covered). Advice only, no changes."""
    recent = returnable_orders(ctx, since=inside_window_since())
    for order in recent:
        old_orders = [o for o in ctx.db.all("SELECT id FROM orders WHERE customer_id = ? AND status = 'delivered' AND created_at < ? "
                                             "ORDER BY id", (order["customer_id"], "2025-06-01"))]
        if not old_orders:
            continue
        old = ctx.tool("getOrderDetails", order_id=ctx.rng.choice(old_orders)["id"])["order"]
        new_line, old_line = ctx.rng.choice(order["lines"]), ctx.rng.choice(old["lines"])
        if new_line["product_name"] == old_line["product_name"]:
            continue
        status = ctx.tool("checkWarrantyStatus", order_id=old["id"], product_id=old_line["product_id"])
        if status["warranty_end_date"][:7] in ("2025-08", "2025-09", "2025-10"):
            continue
        spec = TaskSpec(customer(order["customer_id"]), request=ctx.rng.choice((
            f"Two of my parts have died: the {new_line['product_name']} from order {order['id']} and the {old_line['product_name']} "
            f"from order {old['id']}. Neither is damaged. Before I decide anything, what are my options for each? Please don't "
            "change anything yet.",
            f"Hi, bad week: the {old_line['product_name']} (order {old['id']}) {ctx.rng.choice(SYMPTOMS)}, and the "
            f"{new_line['product_name']} I got in order {order['id']} {ctx.rng.choice(SYMPTOMS)}. Both are undamaged and I have the "
            "boxes. Are they both covered by warranty? Just tell me where I stand for now.")))
        spec.call("getOrderDetails", order_id=order["id"])
        spec.call("getOrderDetails", order_id=old["id"])
        spec.call("checkWarrantyStatus", order_id=old["id"], product_id=old_line["product_id"])
        end = status["warranty_end_date"]
        spec.check(
            r.nothing_new("no-refund", "No refund is created: the customer asked for advice only", "refund"),
            r.nothing_new("no-escalation", "Nothing is escalated: the customer asked for advice only", "escalation"),
            r.reply("reply-return", f"The reply says the {new_line['product_name']} is handled as a return for a refund, since it "
                                    "failed within 30 days of its order", contains=["return", new_line["product_name"]],
                    matches=r"30[- ]day"),
            r.reply("reply-warranty", f"The reply gives the {old_line['product_name']}'s warranty end date",
                    contains=[old_line["product_name"]], contains_any=_date_forms(end)),
            r.judge("reply-clear", "The reply separates the two cases clearly and, for the older item, says whether a warranty "
                                   "claim is possible",
                    r.reply("fallback", "says whether the older item is covered",
                            contains_any=["covered", "under warranty"] if status["under_warranty"] else ["expired", "ended", "no longer"])),
        )
        old_text = (f"it is under warranty until {end}, so I can raise a warranty claim for a repair or replacement"
                    if status["under_warranty"] else f"its warranty ended on {end}, so unfortunately a warranty claim isn't possible")
        spec.reply = (f"Here's where you stand. The {new_line['product_name']} from order {order['id']} failed within 30 days of the "
                      "order, so it's handled as a return: as long as it's undamaged and you have the original packaging, you can have it "
                      "refunded (net of "
                      "any loyalty discount; shipping isn't refunded). This is not a warranty claim. "
                      f"The {old_line['product_name']} from order {old['id']} is past the return window; {old_text}. "
                      "I haven't changed anything - just let me know how you'd like to proceed.")
        new_status = ctx.tool("checkWarrantyStatus", order_id=order["id"], product_id=new_line["product_id"])
        blind = spec.ignoring("defect_within_30_days_is_return")
        blind.calls = list(spec.calls)
        blind.call("checkWarrantyStatus", order_id=order["id"], product_id=new_line["product_id"])
        blind.reply = (f"The {new_line['product_name']} from order {order['id']} is under warranty until "
                       f"{new_status['warranty_end_date']}, so I can raise a warranty claim for a repair or replacement. The "
                       f"{old_line['product_name']} from order {old['id']}: {old_text}. I haven't changed anything yet.")
        yield spec
