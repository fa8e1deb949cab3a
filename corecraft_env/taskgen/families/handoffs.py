"""Employee-to-employee work on tickets: shift handovers to triage, duplicates to close, tickets waiting on the
customer, and a manager's queue summary."""

from __future__ import annotations

from collections.abc import Iterator

from ...world.schema import ESCALATION_ROUTING
from .. import rubric as r
from ..core import Context, TaskSpec, difficulty_for, employee, family
from ..facts import long_date
from ..recipes import close_ticket, escalate
from .tickets import DONE, OPEN

# ticket type -> (escalation type, what the colleague says the ticket needs)
NEEDS = {
    "billing": ("billing_payment", ["the customer was charged twice; the duplicate charge needs reversing",
                                    "the card was debited but the payment shows as failed; someone has to reconcile it"]),
    "shipping": ("order_fulfillment", ["the parcel has been stuck at the carrier for days; it needs re-shipping",
                                       "the carrier lost the parcel; the warehouse has to send another one"]),
    "troubleshooting": ("technical", ["looks like a firmware fault; it needs an engineer",
                                      "the fault survives every fix we know; an engineer has to look at the logs"]),
    "recommendation": ("product_specialist", ["they want detailed advice on a multi-GPU workstation; beyond me",
                                              "they need a specialist's opinion on a niche server board"]),
    "other": ("support_escalation", ["the customer is upset with how we handled it and wants a team lead",
                                     "they asked to speak with a supervisor about the service"]),
}
DEPARTMENT_WORDS = {d: [d, d.replace("_", " ")] for d in set(ESCALATION_ROUTING.values())}


def _open(ctx: Context, where: str = "", params: tuple = ()) -> list[dict]:
    placeholders = ", ".join("?" * len(OPEN))
    return ctx.pick(ctx.db.all(f"SELECT t.* FROM support_ticket t WHERE t.status IN ({placeholders}) {where} ORDER BY t.id", (*OPEN, *params)))


def _unescalated(ctx: Context) -> dict[str, list[dict]]:
    by_type: dict[str, list[dict]] = {}
    for ticket in _open(ctx, "AND NOT EXISTS (SELECT 1 FROM escalation e WHERE e.ticket_id = t.id)"):
        if ticket["type"] in NEEDS:
            by_type.setdefault(ticket["type"], []).append(ticket)
    return by_type


def _escalation_item(ctx: Context, spec: TaskSpec, agent: dict, ticket: dict, offset: int, tag: str, suggest: bool,
                     check_wrong: bool = False) -> tuple[str, str]:
    """Read the ticket, escalate it where policy routes its type; returns (the colleague's line, the reply line)."""
    escalation_type, needs = NEEDS[ticket["type"]]
    need = ctx.rng.choice(needs)
    destination = ESCALATION_ROUTING[escalation_type]
    spec.call("searchTickets", ticket_id=ticket["id"])
    escalation_id = escalate(spec, ctx, ticket["id"], escalation_type, f"{need[0].upper()}{need[1:]}.", agent["id"], offset=offset, tag=tag)
    spec.check(r.reply(f"reply-escalation{tag}", f"The reply gives escalation {escalation_id} and the department it went to",
                       contains=[escalation_id], contains_any=DEPARTMENT_WORDS[destination]))
    line = f"{ticket['id']}: {need}"
    if suggest:
        wrong = ctx.rng.choice(sorted(set(ESCALATION_ROUTING.values()) - {destination}))
        line += f" (send it to {wrong.replace('_', ' ')}, I think)"
        if check_wrong:
                spec.check(r.nothing_new(f"not-{wrong}{tag}", f"Nothing is escalated to {wrong}, which does not own {escalation_type}",
                                         "escalation", ticket_id=ticket["id"], destination=wrong))
    return line, f"{ticket['id']}: escalated as {escalation_type} to {destination.replace('_', ' ')} ({escalation_id}), as policy routes it."


# -- shift handover ----------------------------------------------------------------------------------------------------
def _draft_item(ctx: Context, spec: TaskSpec, ticket: dict, tag: str) -> tuple[str, str]:
    """A shipping ticket the customer is waiting on: read it and its order, draft the answer (no write)."""
    order = ctx.tool("getOrderDetails", order_id=ticket["order_id"])["order"]
    spec.call("searchTickets", ticket_id=ticket["id"])
    spec.call("getOrderDetails", order_id=order["id"])
    if order["shipments"]:
        shipment = order["shipments"][0]
        facts = (f"order {order['id']} is {order['status'].replace('_', ' ')}; the parcel is with {shipment['carrier']} "
                 f"(tracking {shipment['tracking_number']}), status {shipment['status'].replace('_', ' ')}")
        spec.check(r.reply(f"reply-draft{tag}", f"The draft for {ticket['id']} gives the tracking number of {order['id']}",
                           contains=[shipment["tracking_number"]]))
    else:
        facts = f"order {order['id']} is {order['status'].replace('_', ' ')} and has not shipped yet"
        spec.check(r.reply(f"reply-draft{tag}", f"The draft for {ticket['id']} gives the status of {order['id']}",
                           contains=[order["id"], order["status"].replace("_", " ")]))
    return (f"{ticket['id']}: the customer wants to know where their order is; draft a reply I can send",
            f"{ticket['id']} (draft, nothing changed): \"Hi, thanks for your patience: {facts}. We'll keep an eye on it.\"")


@family("shift_handover_triage", "multi_step_workflow", "train", count={"hard": 4, "expert": 7},
        policy_rules=("ticket_closure", "escalation_routing", "no_unrequested_writes"))
def shift_handover_triage(ctx: Context) -> Iterator[TaskSpec]:
    """A colleague going off shift hands over three to five tickets: close the finished ones properly (resolution,
    then resolved with resolved_success), escalate those that need another department where policy routes them
    (whatever team the colleague guesses), and only draft replies for the rest, changing nothing on them."""
    finished = [t for t in _open(ctx) if t["type"] in DONE]
    to_escalate = _unescalated(ctx)
    waiting = _open(ctx, "AND t.type = 'shipping' AND t.order_id IS NOT NULL")
    used: set[str] = set()
    kinds = sorted(to_escalate)
    for index in range(30):
        size = (3, 4, 5, 4, 3, 5)[index % 6]
        plan = ["close", "escalate", "draft"] + ["close", "escalate"][: size - 3] + (["draft"] if size == 5 else [])
        plan = ctx.pick(plan)
        tickets = []
        for k, item in enumerate(plan):
            pool = finished if item == "close" else waiting if item == "draft" else to_escalate[kinds[(index + k) % len(kinds)]]
            ticket = next((t for t in pool if t["id"] not in used and t["id"] not in {x["id"] for x in tickets}), None)
            if ticket is None:
                break
            tickets.append(ticket)
        if len(tickets) < len(plan):
            continue
        used.update(t["id"] for t in tickets)
        agent, colleague = ctx.staff(), ctx.staff()
        spec = TaskSpec(employee(colleague["id"]), request="")
        closes = plan.count("close")
        lines, answers = [], []
        for k, (item, ticket) in enumerate(zip(plan, tickets)):
            tag = f"-{k + 1}"
            if item == "close":
                outcome, phrases = DONE[ticket["type"]]
                done = ctx.rng.choice(phrases)
                spec.call("searchTickets", ticket_id=ticket["id"])
                offset = sum(1 for p in plan[:k] if p == "close")
                resolution_id = close_ticket(spec, ctx, ticket["id"], outcome, colleague["id"], f"{done[0].upper()}{done[1:]}.",
                                             offset=offset, tag=tag, resolutions_in_task=closes)
                lines.append(f"{ticket['id']}: {done}")
                answers.append(f"{ticket['id']}: resolution {resolution_id} ({outcome}, resolved by you), ticket resolved (resolved_success).")
                spec.check(r.reply(f"reply-close{tag}", f"The reply gives the resolution of {ticket['id']}", contains=[resolution_id]))
            elif item == "escalate":
                offset = sum(1 for p in plan[:k] if p == "escalate")
                line, answer = _escalation_item(ctx, spec, colleague, ticket, offset, tag, suggest=(index + k) % 2 == 0)
                lines.append(line)
                answers.append(answer)
            else:
                line, answer = _draft_item(ctx, spec, ticket, tag)
                lines.append(line)
                answers.append(answer)
        opener = ctx.rng.choice((
            "I'm off shift in five minutes. Can you take these over? Close whatever is done (put me down as the resolver), escalate "
            "anything that needs another department, and for the rest just draft a reply for me to send tomorrow.",
            "Handing over my queue for tonight. Anything finished needs closing out properly (I resolved it), anything that needs "
            "another team should be escalated, and the others only need a reply drafted.",
        ))
        spec.request = opener + "\n" + "\n".join(f"- {line}" for line in lines)
        spec.reply = "Done, ticket by ticket:\n" + "\n".join(f"- {a}" for a in answers)
        spec.variant = difficulty_for(len(spec.calls))
        yield spec


@family("handover_escalations", "multi_step_workflow", "heldout", count={"easy": 2, "medium": 4, "hard": 4, "expert": 1},
        policy_rules=("escalation_routing", "no_unrequested_writes"))
def handover_escalations(ctx: Context) -> Iterator[TaskSpec]:
    """Before a leave, a colleague lists one to five tickets that each need another department: every one escalated
    with the type its problem calls for and to the department policy routes that type to, even where the colleague
    names another team; the tickets themselves are left as they are."""
    to_escalate = _unescalated(ctx)
    kinds = sorted(to_escalate)
    used: set[str] = set()
    for index in range(40):
        size = (1, 2, 4, 5, 2, 3, 1, 4)[index % 8]
        tickets = []
        for k in range(size):
            pool = to_escalate[kinds[(index + 2 * k) % len(kinds)]]
            ticket = next((t for t in pool if t["id"] not in used and t not in tickets), None)
            if ticket:
                tickets.append(ticket)
        if len(tickets) < size:
            continue
        used.update(t["id"] for t in tickets)
        colleague = ctx.staff()
        spec = TaskSpec(employee(colleague["id"]), request="")
        lines, answers = [], []
        for k, ticket in enumerate(tickets):
            tag = f"-{k + 1}" if size > 1 else ""
            line, answer = _escalation_item(ctx, spec, colleague, ticket, k, tag, suggest=(index + k) % 3 != 1, check_wrong=size <= 3)
            lines.append(line)
            answers.append(answer)
        if size <= 2:
            for k, ticket in enumerate(tickets):
                spec.check(r.row(f"ticket-untouched-{k + 1}", f"{ticket['id']} keeps its status ({ticket['status']}): escalating is all "
                                 "it needs", "support_ticket", ticket["id"], status=ticket["status"]))
        if size == 1:
            spec.request = f"Could you escalate {lines[0]}? Log it under my name. Thanks!"
        else:
            spec.request = ("I'm on leave from tomorrow and these can't wait. Please escalate each to the right team, under my name:\n"
                            + "\n".join(f"- {line}" for line in lines))
        spec.reply = "\n".join(answers)
        spec.variant = difficulty_for(len(spec.calls))
        yield spec


# -- duplicates --------------------------------------------------------------------------------------------------------
def _duplicates(tickets: list[dict]) -> tuple[list[dict], list[dict]]:
    """Open tickets grouped by order: the oldest of each group is kept, the others are duplicates."""
    groups: dict[str, list[dict]] = {}
    for ticket in sorted(tickets, key=lambda t: (t["created_at"], t["id"])):
        groups.setdefault(ticket["order_id"], []).append(ticket)
    kept = [g[0] for g in groups.values()]
    return kept, [t for g in groups.values() for t in g[1:]]


@family("duplicate_ticket_cleanup", "multi_step_workflow", "train", count={"easy": 4, "medium": 4},
        policy_rules=("no_unrequested_writes",))
def duplicate_ticket_cleanup(ctx: Context) -> Iterator[TaskSpec]:
    """A customer opened the same ticket several times: find their open tickets about the order, keep the oldest
    and close each later one as closed with closure reason duplicate; the original and the order stay untouched."""
    groups = ctx.db.all(f"SELECT customer_id, order_id, type FROM support_ticket WHERE order_id IS NOT NULL AND status IN "
                        f"({', '.join('?' * len(OPEN))}) GROUP BY customer_id, order_id, type HAVING COUNT(*) > 1 ORDER BY order_id", OPEN)
    for round_ in range(2):
        for group in ctx.pick(groups):
            person = ctx.db.one("SELECT * FROM customer WHERE id = ?", (group["customer_id"],))
            agent = ctx.staff()
            spec = TaskSpec(employee(agent["id"]), request="")
            if round_ == 0:
                tickets = ctx.db.all(f"SELECT * FROM support_ticket WHERE order_id = ? AND status IN ({', '.join('?' * len(OPEN))})",
                                     (group["order_id"], *OPEN))
                spec.call("searchTickets", order_id=group["order_id"])
                spec.request = ctx.rng.choice((
                    f"The customer on order {group['order_id']} has opened the same ticket more than once. Please keep the first open "
                    "one and close the others as duplicates.",
                    f"We've got repeat tickets about order {group['order_id']}. Can you tidy up: the oldest open ticket stays, the "
                    "later copies get closed as duplicates."))
            else:
                tickets = ctx.db.all(f"SELECT * FROM support_ticket WHERE customer_id = ? AND type = ? AND order_id IS NOT NULL AND "
                                     f"status IN ({', '.join('?' * len(OPEN))})", (person["id"], group["type"], *OPEN))
                spec.call("searchCustomers", email=person["email"])
                spec.call("searchTickets", customer_id=person["id"], type=group["type"])
                spec.request = (f"{person['name']} ({person['email']}) keeps opening new {group['type']} tickets instead of replying "
                                "to the first one. For each order they wrote about, keep the oldest open ticket and close the later "
                                "ones as duplicates.")
            kept, dups = _duplicates(tickets)
            if round_ == 1:  # no order is read: what an over-eager agent does is "acknowledge" the original it keeps
                blind = spec.ignoring("no_unrequested_writes")
                blind.calls = list(spec.calls)
                for ticket in dups:
                    blind.call("updateTicketStatus", ticket_id=ticket["id"], status="closed", closure_reason="duplicate")
                blind.call("updateTicketStatus", ticket_id=kept[0]["id"], status="open" if kept[0]["status"] == "new" else "pending_customer")
            new_resolutions = [ctx.next_id("resolution", k) for k in range(len(dups))]
            for ticket in dups:
                spec.call("updateTicketStatus", ticket_id=ticket["id"], status="closed", closure_reason="duplicate")
                spec.check(r.row(f"dup-{ticket['id']}", f"{ticket['id']} is closed with closure reason duplicate", "support_ticket",
                                 ticket["id"], status="closed", closure_reason="duplicate"))
                spec.allow("support_ticket", ticket["id"], ops=("update",))
            for ticket in kept:
                spec.check(r.row(f"keep-{ticket['id']}", f"The original {ticket['id']} stays {ticket['status']}", "support_ticket",
                                 ticket["id"], status=ticket["status"]))
            spec.allow("resolution", *new_resolutions, ops=("insert",))  # a note-only resolution on a duplicate is harmless
            spec.check(r.reply("reply", "The reply names the tickets closed and the one(s) kept",
                               contains=[t["id"] for t in dups + kept]))
            spec.reply = (f"Closed {', '.join(t['id'] for t in dups)} as duplicates; kept "
                          f"{', '.join(t['id'] for t in kept)} (the oldest open ticket for its order), unchanged.")
            if round_ == 1:
                blind.reply = spec.reply
            spec.variant = difficulty_for(len(spec.calls))
            yield spec


@family("duplicate_claim_check", "reasoning", "train", count={"easy": 8, "medium": 4},
        policy_rules=("refuse_with_reason", "tools_only"))
def duplicate_claim_check(ctx: Context) -> Iterator[TaskSpec]:
    """A colleague asks to close a ticket as a duplicate of another, but the records show they are about different
    orders (or one has no order): check both, refuse to close it as a duplicate and say why; a real duplicate in the
    same request is closed."""
    pairs = ctx.db.all(f"SELECT a.id AS a, b.id AS b FROM support_ticket a JOIN support_ticket b ON a.customer_id = b.customer_id "
                       f"AND a.id < b.id AND COALESCE(a.order_id, '') != COALESCE(b.order_id, '') WHERE a.status IN "
                       f"({', '.join('?' * len(OPEN))}) AND b.status IN ({', '.join('?' * len(OPEN))}) ORDER BY a.id, b.id",
                       (*OPEN, *OPEN))
    real = ctx.db.all(f"SELECT customer_id, order_id FROM support_ticket WHERE order_id IS NOT NULL AND status IN "
                      f"({', '.join('?' * len(OPEN))}) GROUP BY customer_id, order_id, type HAVING COUNT(*) > 1 ORDER BY order_id", OPEN)
    used: set[str] = set()
    for index, pair in enumerate(ctx.pick(pairs)):
        if pair["a"] in used or pair["b"] in used:
            continue
        used.update((pair["a"], pair["b"]))
        first, second = (ctx.db.one("SELECT * FROM support_ticket WHERE id = ?", (i,)) for i in (pair["a"], pair["b"]))
        closing, original = (second, first) if index % 2 == 0 else (first, second)
        agent = ctx.staff()
        spec = TaskSpec(employee(agent["id"]), request="")
        blind = spec.ignoring("refuse_with_reason", "tools_only")
        for who in (spec, blind):
            who.call("searchTickets", ticket_id=closing["id"])
            who.call("searchTickets", ticket_id=original["id"])
        blind.call("updateTicketStatus", ticket_id=closing["id"], status="closed", closure_reason="duplicate")
        extra = dup_reply = ""
        if index % 3 == 2 and real:
            group = real[index % len(real)]
            tickets = ctx.db.all(f"SELECT * FROM support_ticket WHERE order_id = ? AND status IN ({', '.join('?' * len(OPEN))})",
                                 (group["order_id"], *OPEN))
            kept, dups = _duplicates(tickets)
            if group["customer_id"] != closing["customer_id"] and dups:
                dup = dups[0]
                orig = next(t for t in kept if t["order_id"] == dup["order_id"])
                extra = f" Also {dup['id']} duplicates {orig['id']}; close that one too."
                for who in (spec, blind):
                    who.call("searchTickets", ticket_id=dup["id"])
                    who.call("searchTickets", ticket_id=orig["id"])
                    who.call("updateTicketStatus", ticket_id=dup["id"], status="closed", closure_reason="duplicate")
                spec.check(r.row("real-dup", f"{dup['id']}, a real duplicate of {orig['id']} (same order), is closed as duplicate",
                                 "support_ticket", dup["id"], status="closed", closure_reason="duplicate"))
                spec.allow("support_ticket", dup["id"], ops=("update",))
                dup_reply = f" {dup['id']} is about the same order as {orig['id']} ({orig['order_id']}), so I closed it as a duplicate."

        def about(t: dict) -> str:
            return f"order {t['order_id']}" if t["order_id"] else "no order at all"

        spec.request = blind.request = ctx.rng.choice((
            f"{closing['id']} is just a duplicate of {original['id']}, same customer. Please close it as a duplicate.{extra}",
            f"Can you close {closing['id']} as a duplicate? The customer already has {original['id']} open for it.{extra}",
        ))
        spec.check(
            r.row("not-closed", f"{closing['id']} is not closed as a duplicate: it keeps its status {closing['status']}",
                  "support_ticket", closing["id"], status=closing["status"], closure_reason=closing["closure_reason"]
                  if closing["closure_reason"] else {"is_null": True}),
            r.row("original-untouched", f"{original['id']} keeps its status {original['status']}", "support_ticket", original["id"],
                  status=original["status"]),
            r.judge("reply-why", f"The reply declines to close {closing['id']} and explains that it is about {about(closing)} while "
                                 f"{original['id']} is about {about(original)}",
                    r.reply("fallback", "names what each ticket is about",
                            contains=[x for x in (closing["order_id"], original["order_id"]) if x] or [closing["id"]])),
        )
        spec.reply = (f"I didn't close {closing['id']}: it is about {about(closing)}, while {original['id']} is about {about(original)}, "
                      f"so it isn't a duplicate and needs its own handling.{dup_reply}")
        blind.reply = f"Closed {closing['id']} as a duplicate of {original['id']}.{dup_reply}"
        spec.variant = difficulty_for(len(spec.calls))
        yield spec


# -- waiting on the customer -----------------------------------------------------------------------------------------
CUTOFFS = ("2025-08-16", "2025-09-01", "2025-09-08")


@family("stale_pending_followup", "multi_step_workflow", "train", count={"medium": 8},
        policy_rules=("no_unrequested_writes",))
def stale_pending_followup(ctx: Context) -> Iterator[TaskSpec]:
    """A team lead asks to clear a colleague's tickets waiting on the customer: those with no update since a date are
    closed with closure reason customer_unresponsive; the more recent ones are listed and left exactly as they are."""
    assignees = ctx.db.all("SELECT DISTINCT assignee_id FROM support_ticket WHERE status = 'pending_customer' AND assignee_id IS NOT NULL "
                           "ORDER BY assignee_id")
    for cutoff in CUTOFFS:
        for row in ctx.pick(assignees):
            person = ctx.db.one("SELECT * FROM employee WHERE id = ?", (row["assignee_id"],))
            waiting = ctx.db.all("SELECT * FROM support_ticket WHERE assignee_id = ? AND status = 'pending_customer' ORDER BY id",
                                 (person["id"],))
            stale = [t for t in waiting if t["updated_at"] < f"{cutoff}T04:00:00Z"]
            recent = [t for t in waiting if t not in stale]
            if not stale or not recent:
                continue
            lead = ctx.db.one("SELECT * FROM employee WHERE id = ?", (person["manager_id"],)) if person["manager_id"] else ctx.staff()
            spec = TaskSpec(employee(lead["id"]), request=ctx.rng.choice((
                f"{person['name']} ({person['email']}) has a pile of tickets waiting on customers. Anything that hasn't been updated "
                f"since {long_date(cutoff)} can be closed as customer unresponsive. Leave the newer ones alone, just tell me which they are.",
                f"Can you clean up {person['name']}'s pending-customer tickets? If the customer has been silent since before "
                f"{long_date(cutoff)} (no update), close it as unresponsive. Don't touch the rest; send me their ids.")))
            spec.call("searchEmployees", email=person["email"]) if "@" in spec.request else spec.call("searchEmployees", name=person["name"])
            spec.call("searchTickets", assignee_id=person["id"], status="pending_customer")
            blind = spec.ignoring("no_unrequested_writes")
            blind.calls = list(spec.calls)
            for ticket in stale:
                for who in (spec, blind):
                    who.call("updateTicketStatus", ticket_id=ticket["id"], status="closed", closure_reason="customer_unresponsive")
                spec.allow("support_ticket", ticket["id"], ops=("update",))
            spec.allow("resolution", *[ctx.next_id("resolution", k) for k in range(len(stale))], ops=("insert",))
            for ticket in recent:  # an over-eager agent also "nudges" the recent ones back into the open queue
                blind.call("updateTicketStatus", ticket_id=ticket["id"], status="open")
            spec.check(r.state("stale-closed", f"Every stale ticket ({', '.join(t['id'] for t in stale)}) is closed as customer_unresponsive",
                               "support_ticket", where={"id": {"in": [t["id"] for t in stale]}}, count=len(stale),
                               expect={"status": "closed", "closure_reason": "customer_unresponsive"}),
                       r.state("recent-left", f"The recent ones ({', '.join(t['id'] for t in recent)}) are still pending_customer",
                               "support_ticket", where={"id": {"in": [t["id"] for t in recent]}}, count=len(recent),
                               expect={"status": "pending_customer", "closure_reason": {"is_null": True}}),
                       r.reply("reply", "The reply lists the tickets closed and the ones left waiting",
                               contains=[t["id"] for t in waiting]))
            spec.reply = (f"Closed as customer_unresponsive (no update since before {long_date(cutoff)}): "
                          f"{', '.join(t['id'] for t in stale)}. Still waiting on the customer and left as they are: "
                          f"{', '.join(t['id'] for t in recent)}.")
            blind.reply = spec.reply
            spec.variant = difficulty_for(len(spec.calls))
            if spec.variant == "medium":
                yield spec


# -- a manager's queue summary ---------------------------------------------------------------------------------------
@family("queue_summary_by_status", "information_retrieval", "heldout", count={"easy": 3, "medium": 4, "hard": 2, "expert": 3},
        policy_rules=("no_unrequested_writes",))
def queue_summary_by_status(ctx: Context) -> Iterator[TaskSpec]:
    """A manager wants a summary of one or more agents' open queues: how many tickets are open and how many wait on
    the customer, and which are high priority; a summary is read-only, so no ticket is touched along the way."""
    agents = ctx.db.all("SELECT assignee_id AS id, COUNT(*) AS n FROM support_ticket WHERE status IN ('open', 'pending_customer') "
                        "AND assignee_id IS NOT NULL GROUP BY assignee_id HAVING n >= 2 ORDER BY assignee_id")
    for index in range(40):
        size = (1, 2, 1, 3, 5, 2, 1, 4)[index % 8]
        team = [ctx.db.one("SELECT * FROM employee WHERE id = ?", (a["id"],)) for a in ctx.pick(agents, size)]
        manager = ctx.db.one("SELECT * FROM employee WHERE id = 'emp-0001'") if index % 2 else ctx.staff()
        spec = TaskSpec(employee(manager["id"]), request="")
        blind = spec.ignoring("no_unrequested_writes")
        lines, counts, highs, everyone = [], [], [], []
        for person in team:
            tickets = ctx.db.all("SELECT * FROM support_ticket WHERE assignee_id = ? AND status IN ('open', 'pending_customer') ORDER BY id",
                                 (person["id"],))
            for who in (spec, blind):
                if size > 1 or index % 3 == 0:
                    who.call("searchEmployees", name=person["name"])
                who.call("searchTickets", assignee_id=person["id"])
            n_open = sum(t["status"] == "open" for t in tickets)
            n_wait = len(tickets) - n_open
            high = [t["id"] for t in tickets if t["priority"] == "high"]
            counts += [n_open, n_wait]
            highs += high
            everyone += tickets
            lines.append(f"- {person['name']}: {n_open} open, {n_wait} waiting on the customer; high priority: "
                         + (", ".join(high) if high else "none"))
        names = ", ".join(p["name"] for p in team)
        spec.request = blind.request = ctx.rng.choice((
            f"Quick queue check before our stand-up: for {names}, how many tickets are open and how many are waiting on the "
            "customer, and which of them are high priority?",
            f"Can you give me a snapshot of the open queue for {names}? Counts of open vs pending-customer tickets per person, "
            "and list any high-priority ones.",
        ))
        first = everyone[0]  # the agent "takes" a ticket it reviews: moves an open one to pending_customer or back
        blind.call("updateTicketStatus", ticket_id=first["id"], status="pending_customer" if first["status"] == "open" else "open")
        spec.check(r.reply("reply-counts", "The reply gives each person's open and pending-customer counts", numbers=counts))
        if highs:
            spec.check(r.reply("reply-high", "The reply lists every high-priority ticket", contains=highs))
        spec.check(r.reply("reply-names", "The summary names everyone asked about", contains=[p["name"] for p in team]),
                   r.judge("reply-layout", "The summary is organised per person, states each count unambiguously and is easy to scan",
                           r.reply("fallback", "speaks of open and waiting tickets", contains_any=["pending", "waiting"])))
        spec.reply = "Queue snapshot (open / waiting on customer):\n" + "\n".join(lines)
        blind.reply = spec.reply
        spec.variant = difficulty_for(len(spec.calls))
        yield spec
