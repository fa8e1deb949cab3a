"""Reconciling sources that disagree: the world's noise, each case settled by the policy rule that says which source
wins. The order page's estimated delivery against the carrier's scans (the delivered scan wins), a Slack thread that
calls two tickets the same issue against the ticket records (the records win), and a request to escalate a ticket
whose escalation is still open (one open escalation a ticket). All three are held-out: no train family practises
these rules (``core.HELDOUT_RULES``)."""

from __future__ import annotations

from collections.abc import Iterator

from ...tasks.assertions import ID_PATTERN
from .. import rubric as r
from ..core import Context, TaskSpec, customer, employee, family
from ..facts import long_date
from ..recipes import escalate
from .accounts import utc_shifted
from .escalations import DEPARTMENT_WORDS, ISSUES
from .tickets import OPEN

DISAGREE_NOTE = "The order page and the carrier disagree on dates"
SAME_ISSUE_NOTE = "look like the same issue"


def _wording(ctx: Context, used: set[str], templates: list[str], **fields: str) -> str:
    """A template this family has not used yet (any, once all are), filled in: a family's requests differ in more
    than the entities they name."""
    template = ctx.rng.choice([t for t in templates if t not in used] or templates)
    used.add(template)
    return template.format(**fields)


NEEDS = ("I'm filling in a claim form", "My insurer is asking", "I need it for my records",
         "The warranty registration asks for it")
QUESTIONS = ("Which day did order {order} actually arrive?", "On what date was order {order} delivered?",
             "What delivery date should I give for order {order}?")
CUSTOMER_ASKS = [f"{need}. {question} The order page and the tracking don't seem to agree." if index % 2 else f"{need}. {question}"
                 for index, (need, question) in enumerate((n, q) for n in NEEDS for q in QUESTIONS)]
RELAYED_ASKS = [f"{who} {purpose}" for who in (
    "{name} ({email}) needs the delivery date of order {order}.",
    "Can you confirm when order {order} was delivered? {name} ({email}) is asking.")
    for purpose in ("It's for a warranty registration, and the order page and the carrier's tracking show different days.",
                    "I'm seeing two different dates depending on where I look. Which one is it?",
                    "Their insurer wants it. Which date is right?")]
SLACK_ASKS = [
    "Saw this in #{channel}: \"{text}\" The customer wants to know what day it arrived. What date do we give them?",
    "Following up on a Slack thread in #{channel} about {order} (order page vs carrier). Which delivery date is the right one "
    "to quote to the customer?",
    "There's chatter in #{channel} that the order page and the carrier disagree about {order}. The customer is asking when it "
    "was delivered; what do I tell them?",
]


# -- the order page's estimate against the carrier's scans ---------------------------------------------------------
@family("carrier_scan_delivery", "reasoning", "heldout", count={"customer": 4, "relayed": 3, "slack": 3},
        policy_rules=("carrier_scan_is_delivery",))
def carrier_scan_delivery(ctx: Context) -> Iterator[TaskSpec]:
    """When did it really arrive: the order page's estimated delivery and the carrier's scans give different days (a
    customer asks, a colleague relays it, or a colleague quotes the Slack thread saying they disagree); the carrier's
    delivered scan is the delivery date, the estimate is not. Nothing is changed."""
    flagged = {}
    for message in ctx.db.all("SELECT * FROM slack_message WHERE text LIKE ? ORDER BY id", (f"%{DISAGREE_NOTE}%",)):
        flagged.setdefault(ID_PATTERN.findall(message["text"])[0], message)
    rows = ctx.db.all("SELECT s.order_id, o.customer_id FROM shipment s JOIN orders o ON o.id = s.order_id "
                      "WHERE s.status = 'delivered' ORDER BY s.id")  # customer_id: pick draws this split's customers first
    used: set[str] = set()
    for index, row in enumerate(ctx.pick(rows)):
        order = ctx.tool("getOrderDetails", order_id=row["order_id"])["order"]
        if len(order["shipments"]) != 1:
            continue
        shipment = order["shipments"][0]
        delivered = next(e for e in shipment["events"] if e["status"] == "delivered")
        arrived, estimated = long_date(delivered["timestamp"]), long_date(shipment["eta"])
        # The Eastern and UTC days agree, so the task turns on which source wins, not on time zones.
        if arrived == estimated or utc_shifted(delivered["timestamp"]) or utc_shifted(shipment["eta"]):
            continue
        person = order["customer"]
        early = delivered["timestamp"] < shipment["eta"]
        variant = "slack" if order["id"] in flagged else ("customer", "relayed")[index % 2]
        fields = {"order": order["id"], "name": person["name"], "email": person["email"]}
        if variant == "customer":
            spec = TaskSpec(customer(person["id"]), variant=variant, request=_wording(ctx, used, CUSTOMER_ASKS, **fields))
        else:
            agent = ctx.staff()
            if variant == "relayed":
                request = _wording(ctx, used, RELAYED_ASKS, **fields)
            else:
                message = flagged[order["id"]]
                request = _wording(ctx, used, SLACK_ASKS, channel=message["channel"], text=message["text"], **fields)
            spec = TaskSpec(employee(agent["id"]), variant=variant, request=request)
            if variant == "relayed":
                spec.call("searchCustomers", email=person["email"])
        spec.call("getOrderDetails", order_id=order["id"])
        spec.check(
            r.reply("reply-date", f"The reply gives the carrier's delivered-scan date, {arrived}", contains=[arrived.split(",")[0]]),
            r.reply("reply-not-estimate", f"The reply does not give the order page's estimated date ({estimated}) as the delivery day",
                    not_contains=[estimated.split(",")[0]]),
            r.reply("reply-tracking", "The reply names the carrier and the tracking number",
                    contains=[shipment["carrier"], shipment["tracking_number"]]),
            r.judge("reply-why", "The reply explains that the carrier's delivered scan, not the estimated delivery date, is when "
                                 "the parcel arrived",
                    r.reply("fallback", "mentions the scan", contains_any=["scan", "scanned"])),
        )
        spec.reply = (f"Order {order['id']} was delivered on {arrived}: {shipment['carrier']}'s delivered scan (tracking "
                      f"{shipment['tracking_number']}, {delivered['location']}) is the record of delivery. The other date is the "
                      f"estimate the order page showed before it shipped; the parcel arrived {'ahead of' if early else 'after'} it.")
        blind = spec.ignoring("carrier_scan_is_delivery")
        blind.calls = list(spec.calls)
        blind.reply = (f"Order {order['id']} was delivered on {estimated}, the delivery date on the order page "
                       f"({shipment['carrier']}, tracking {shipment['tracking_number']}).")
        yield spec


# -- a Slack thread against the ticket records ---------------------------------------------------------------------
MERGE_ASKS = [f"{ask}{tail}" for ask in (
    "There's a thread in #{channel} saying {first} and {second} are the same issue. Can you merge them: close {closing} as a "
    "duplicate of {kept}?",
    "Per Slack (#{channel}): \"{text}\" Please close {closing} as a duplicate so we only work one of them.",
    "Someone flagged on Slack that {closing} duplicates {kept}. Go ahead and close {closing} as a duplicate.")
    for tail in ("", " Thanks!", " I'd like the queue tidy before the weekend.", " The customer only needs one answer from us.")]


@family("slack_merge_check", "reasoning", "heldout", count=4, policy_rules=("records_over_slack",))
def slack_merge_check(ctx: Context) -> Iterator[TaskSpec]:
    """A Slack thread says two tickets are the same issue and a colleague asks to close one as a duplicate of the
    other; the records show they concern different orders (or one concerns none), so neither is closed and the reply
    says what each is about."""
    messages = ctx.db.all("SELECT * FROM slack_message WHERE text LIKE ? ORDER BY id", (f"%{SAME_ISSUE_NOTE}%",))
    used: set[str] = set()
    wordings: set[str] = set()
    for message in ctx.pick(messages):
        first, second = (ctx.db.one("SELECT * FROM support_ticket WHERE id = ?", (i,)) for i in ID_PATTERN.findall(message["text"])[:2])
        if first["id"] == second["id"] or first["order_id"] == second["order_id"] or {first["id"], second["id"]} & used:
            continue
        open_ones = [t for t in (second, first) if t["status"] in OPEN]
        if not open_ones:
            continue
        closing = open_ones[0]
        kept = first if closing is second else second
        used.update((first["id"], second["id"]))
        agent = ctx.staff()
        spec = TaskSpec(employee(agent["id"]), request=_wording(
            ctx, wordings, MERGE_ASKS, channel=message["channel"], text=message["text"], first=first["id"], second=second["id"],
            closing=closing["id"], kept=kept["id"]))
        blind = spec.ignoring("records_over_slack")
        for who in (spec, blind):
            who.call("searchTickets", ticket_id=closing["id"])
            who.call("searchTickets", ticket_id=kept["id"])
        blind.call("updateTicketStatus", ticket_id=closing["id"], status="closed", closure_reason="duplicate")

        def about(ticket: dict) -> str:
            return f"order {ticket['order_id']}" if ticket["order_id"] else "no order"

        spec.check(
            r.row("not-closed", f"{closing['id']} keeps its status {closing['status']}: it is not a duplicate", "support_ticket",
                  closing["id"], status=closing["status"],
                  closure_reason=closing["closure_reason"] if closing["closure_reason"] else {"is_null": True}),
            r.row("other-untouched", f"{kept['id']} keeps its status {kept['status']}", "support_ticket", kept["id"],
                  status=kept["status"]),
            r.judge("reply-why", f"The reply declines the merge because the records show {closing['id']} is about "
                                 f"{about(closing)} and {kept['id']} about {about(kept)}, whatever the Slack thread says",
                    r.reply("fallback", "names what each ticket is about",
                            contains=[x for x in (closing["order_id"], kept["order_id"]) if x])),
        )
        spec.reply = (f"I didn't close {closing['id']}. The ticket records show it is about {about(closing)}, while "
                      f"{kept['id']} is about {about(kept)}: two different issues, so both stay as they are. The Slack thread "
                      "isn't a record; I'd correct it there.")
        blind.reply = f"Closed {closing['id']} as a duplicate of {kept['id']}, as agreed on Slack."
        yield spec


# -- an escalation already open ------------------------------------------------------------------------------------
RETURN_ISSUE = "the customer disputes how their return was handled and wants someone with more authority to look at it"
OPENERS = ("", "Quick favour: ", "When you get a moment: ", "Handing this one to you. ")
BY_ID_ASKS = [opener + ask for opener in OPENERS for ask in (
    "About ticket {ticket}: {issue}. Please escalate it.", "{ticket} needs escalating: {issue}. Can you raise it with the right team?",
    "Could you escalate {ticket} for me? In short, {issue}.")]
BY_CUSTOMER_ASKS = [opener + ask for opener in OPENERS for ask in (
    "{name} ({email}) has an open {kind} ticket with us: {issue}. Please escalate it and tell me which ticket it was.",
    "Can you push {name}'s {kind} ticket up the chain? Their e-mail is {email}; {issue}. Which ticket was it?")]


@family("escalation_already_open", "reasoning", "heldout", count={"by_id": 4, "by_customer": 3},
        policy_rules=("one_open_escalation",))
def escalation_already_open(ctx: Context) -> Iterator[TaskSpec]:
    """A colleague asks to escalate a ticket (named by id, or found from the customer's e-mail) that already has an
    escalation open: create no second one; say where the open one went and since when."""
    rows = ctx.db.all(
        f"SELECT t.*, e.id AS escalation_id, e.escalation_type, e.destination, e.created_at AS escalated_at FROM support_ticket t "
        f"JOIN escalation e ON e.ticket_id = t.id AND e.resolved_at IS NULL WHERE t.status IN ({', '.join('?' * len(OPEN))}) "
        "AND (SELECT COUNT(*) FROM escalation x WHERE x.ticket_id = t.id AND x.resolved_at IS NULL) = 1 ORDER BY t.id", OPEN)
    wordings: set[str] = set()
    for index, ticket in enumerate(ctx.pick(rows)):
        escalation_type, issue = ISSUES.get(ticket["type"], (ticket["escalation_type"], RETURN_ISSUE))
        person = ctx.db.one("SELECT name, email FROM customer WHERE id = ?", (ticket["customer_id"],))
        same_kind = ctx.db.all(f"SELECT id FROM support_ticket WHERE customer_id = ? AND type = ? AND status IN "
                               f"({', '.join('?' * len(OPEN))})", (ticket["customer_id"], ticket["type"], *OPEN))
        agent = ctx.staff()
        kind = ticket["type"].replace("_", " ")
        if index % 2 and len(same_kind) == 1:
            spec = TaskSpec(employee(agent["id"]), variant="by_customer", request=_wording(
                ctx, wordings, BY_CUSTOMER_ASKS, name=person["name"], email=person["email"], kind=kind, issue=issue))
            spec.call("searchCustomers", email=person["email"])
            spec.check(r.reply("reply-ticket", "The reply names the customer's ticket", contains=[ticket["id"]]))
        else:
            spec = TaskSpec(employee(agent["id"]), variant="by_id", request=_wording(
                ctx, wordings, BY_ID_ASKS, ticket=ticket["id"], issue=issue))
            spec.call("searchTickets", ticket_id=ticket["id"])
        spec.call("getCustomerTicketHistory", customer_id=ticket["customer_id"])
        blind = spec.ignoring("one_open_escalation")
        blind.calls = list(spec.calls)
        new_id = escalate(blind, ctx, ticket["id"], escalation_type, f"{issue[0].upper()}{issue[1:]}.", agent["id"])
        destination = ticket["destination"]
        since = long_date(ticket["escalated_at"])
        spec.check(
            r.nothing_new("no-second-escalation", f"No second escalation of {ticket['id']} is created", "escalation",
                          ticket_id=ticket["id"]),
            r.reply("reply-open-escalation", f"The reply names the open escalation {ticket['escalation_id']} and where it went "
                                             f"({destination})", contains=[ticket["escalation_id"]],
                    contains_any=DEPARTMENT_WORDS[destination]),
            r.judge("reply-why", f"The reply explains that {ticket['id']} already has an escalation open with "
                                 f"{destination.replace('_', ' ')} since {since}, so a second one is not created",
                    r.reply("fallback", "says it is already escalated", contains_any=["already"])),
        )
        spec.reply = (f"{ticket['id']} ({person['name']}'s {kind} ticket) already has an open escalation, "
                      f"{ticket['escalation_id']}: {ticket['escalation_type']} to {destination.replace('_', ' ')}, raised on "
                      f"{since} and not yet resolved. A ticket carries one open escalation at a time, so I didn't create a "
                      "second one; add the new details to the open escalation or chase that team.")
        blind.reply = (f"Escalated {ticket['id']} as {escalation_type} to {destination.replace('_', ' ')} ({new_id}).")
        yield spec
