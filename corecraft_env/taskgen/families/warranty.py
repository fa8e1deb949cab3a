"""Warranty: claims inside and outside the period (the product's own months, not a flat year), exclusions, defects
that are really returns, and reviews of what is still covered (a few items, or a long order history)."""

from __future__ import annotations

from collections.abc import Iterator

from ...tools.orders import ORDERS_PAGE
from .. import rubric as r
from ..core import Context, TaskSpec, customer, difficulty_for, employee, family
from ..facts import NO_OPEN_ESCALATION, eastern_day_bounds, inside_window_since, long_date, money, needs_finance, outside_window_before
from ..recipes import escalate, return_refund
from .returns import returnable_orders

SYMPTOMS = ("won't power on at all", "keeps crashing under load", "started making a loud clicking noise",
            "is no longer detected by my PC")
EXCLUSIONS = (  # (what the customer says, words a correct denial uses, categories it makes sense for)
    ("I'll be honest, I had it overclocked well past stock settings for a benchmark run when it died.", ["overclocked", "overclocking"],
     ("cpu", "gpu", "memory")),
    ("I knocked a drink over my desk and some of it got inside.", ["liquid", "spill", "drink"],
     ("keyboard", "mouse", "monitor", "psu", "prebuilt", "workstation")),
    ("It started after I dropped it during a move and the casing cracked.", ["physical", "drop", "crack"],
     ("storage", "psu", "case", "cooling", "monitor", "keyboard", "mouse")),
    ("I installed it myself and may have forced it into the slot a bit.", ["installation", "install"],
     ("gpu", "memory", "cpu", "motherboard")),
)


EXCLUDED = {"overclocked": "damage from overclocking (an unauthorised modification)", "liquid": "liquid damage",
            "physical": "physical damage", "installation": "faults caused by improper installation"}


def _date_forms(day: str) -> list[str]:
    """An ISO date as the tools give it and as people write it."""
    return [day, long_date(day), long_date(day).split(",")[0]]


def _ticket_product(ctx: Context, ticket: dict) -> tuple[dict, dict] | None:
    """The order of a troubleshooting ticket and the order line its body names."""
    order = ctx.tool("getOrderDetails", order_id=ticket["order_id"])["order"]
    lines = [line for line in order["lines"] if line["product_name"] in ticket["body"]]
    return (order, lines[0]) if lines else None


def _open_troubleshooting(ctx: Context, *, before: str) -> list[tuple[dict, dict, dict]]:
    """Open troubleshooting tickets on delivered orders placed before ``before`` with no open escalation (a warranty
    claim would be a second one): (ticket, order, named line)."""
    tickets = ctx.db.all(
        "SELECT t.* FROM support_ticket t JOIN orders o ON o.id = t.order_id WHERE t.type = 'troubleshooting' "
        f"AND t.status IN ('new', 'open', 'pending_customer') AND o.status = 'delivered' AND o.created_at < ? AND {NO_OPEN_ESCALATION} "
        "ORDER BY t.id",
        (before,))
    found = []
    for ticket in ctx.pick(tickets):
        pair = _ticket_product(ctx, ticket)
        if pair:
            found.append((ticket, *pair))
    return found


def months_phrase(months: int) -> str:
    """ "a 24-month", "an 84-month" """
    return f"{'an' if str(months).startswith(('8', '11', '18')) else 'a'} {months}-month"


def one_year_end(purchase_date: str) -> str:
    """Where an agent that assumes every warranty lasts a year would put the end date."""
    return f"{int(purchase_date[:4]) + 1}{purchase_date[4:]}" if purchase_date[5:] != "02-29" else f"{int(purchase_date[:4]) + 1}-02-28"


def beyond_one_year(ctx: Context, order: dict, line: dict) -> dict | None:
    """The warranty status of a line still covered only because its period is longer than a year (an agent that
    assumes the usual one-year warranty would turn it down), else None."""
    status = ctx.tool("checkWarrantyStatus", order_id=order["id"], product_id=line["product_id"])
    return status if status["under_warranty"] and one_year_end(status["purchase_date"]) < "2025-09-12" else None


@family("warranty_claim_triage", "reasoning", "train", count=8,
        policy_rules=("warranty_period", "escalation_routing", "no_unrequested_writes"))
def warranty_claim_triage(ctx: Context) -> Iterator[TaskSpec]:
    """An employee hands over a troubleshooting ticket as a possible warranty claim for an item bought more than a
    year ago: the product's own period (calendar months) still covers it, so escalate it as warranty to product
    management rather than turning it down as if every warranty lasted a year."""
    for ticket, order, line in _open_troubleshooting(ctx, before=outside_window_before()):
        status = beyond_one_year(ctx, order, line)
        if not status:
            continue
        agent = ctx.staff()
        end = status["warranty_end_date"]
        asks = (f"Can you take ticket {ticket['id']}? The customer's {line['product_name']} has failed. They confirmed there's "
                "no physical or liquid damage, it was never overclocked and it was installed properly. If it's still under "
                "warranty, raise it as a warranty claim with the team that handles those; if not, tell me why.",
                f"Ticket {ticket['id']} looks like a warranty job to me: {line['product_name']}, bought a while back, now faulty. "
                "The customer says it was installed by the book, no overclocking, no knocks or spills. I suspect it's out of "
                "warranty by now, but please check, and if it is covered, get the claim to the right team.")
        spec = TaskSpec(employee(agent["id"]), request=asks[ctx.rng.randrange(2)])
        spec.call("searchTickets", ticket_id=ticket["id"])
        spec.call("getOrderDetails", order_id=order["id"])
        spec.call("checkWarrantyStatus", order_id=order["id"], product_id=line["product_id"])
        escalation_id = escalate(spec, ctx, ticket["id"], "warranty",
                                 f"Warranty claim: {line['product_name']} from {order['id']} failed; no damage, overclocking or "
                                 f"misuse reported. Covered until {end} ({status['warranty_months']}-month warranty).", agent["id"])
        spec.check(
            r.called("checked", "The warranty is checked with checkWarrantyStatus for this order and product",
                     "checkWarrantyStatus", arguments={"order_id": order["id"], "product_id": line["product_id"]}),
            r.reply("reply-end", "The reply gives the warranty end date", contains_any=_date_forms(end)),
            r.reply("reply-escalation", "The reply gives the escalation id and the department", contains=[escalation_id],
                    contains_any=["product management", "product_management"]),
        )
        spec.reply = (f"The {line['product_name']} from {order['id']} was bought on {status['purchase_date']} and carries "
                      f"{months_phrase(status['warranty_months'])} warranty, so it is covered until {end}. I escalated {ticket['id']} as a "
                      f"warranty claim to product management: {escalation_id}.")
        blind = spec.ignoring("warranty_period")
        blind.call("searchTickets", ticket_id=ticket["id"])
        blind.call("getOrderDetails", order_id=order["id"])
        blind.reply = (f"The {line['product_name']} from {order['id']} was bought on {status['purchase_date']}, more than a year "
                       "ago, so its one-year warranty has run out and I have not escalated the claim.")
        yield spec


def _expired_items(ctx: Context) -> Iterator[tuple[dict, dict, dict]]:
    """(order, line, warranty status) of delivered items whose warranty has ended, one per order, orders shuffled."""
    for order in returnable_orders(ctx, since="2021-01-01", before="2024-09-01"):
        lines = ctx.pick(order["lines"])
        for line in lines:
            status = ctx.tool("checkWarrantyStatus", order_id=order["id"], product_id=line["product_id"])
            if not status["under_warranty"] and status["warranty_end_date"] < "2025-09-10":
                yield order, line, status
                break


@family("warranty_claim_expired", "communication", "train", count={"customer": 6, "relayed": 6},
        policy_rules=("warranty_period", "refuse_with_reason", "no_unrequested_writes"))
def warranty_claim_expired(ctx: Context) -> Iterator[TaskSpec]:
    """A warranty claim for an item whose warranty ended (purchase date plus the product's months): check it, decline
    with the end date, change nothing. Asked by the customer, or relayed by a colleague who gives the customer's
    e-mail."""
    for index, (order, line, status) in enumerate(_expired_items(ctx)):
        end = status["warranty_end_date"]
        symptom = ctx.rng.choice(SYMPTOMS)
        if index % 2 == 0:
            spec = TaskSpec(customer(order["customer_id"]), variant="customer", request=(
                f"Hello, my {line['product_name']} (order {order['id']}) {symptom}. I'm sure it's still under warranty - "
                "could you arrange a repair or a replacement?"))
        else:
            who = ctx.db.one("SELECT email, name FROM customer WHERE id = ?", (order["customer_id"],))
            agent = ctx.staff()
            spec = TaskSpec(employee(agent["id"]), variant="relayed", request=(
                f"I've got {who['name']} ({who['email']}) on the phone: the {line['product_name']} from their order "
                f"{order['id']} {symptom}. They want it replaced under warranty. Is it covered? Tell me what to tell them."))
            spec.call("searchCustomers", email=who["email"])
        spec.call("getOrderDetails", order_id=order["id"])
        spec.call("checkWarrantyStatus", order_id=order["id"], product_id=line["product_id"])
        spec.check(
            r.called("checked", "The warranty is checked with checkWarrantyStatus for this order and product",
                     "checkWarrantyStatus", arguments={"order_id": order["id"], "product_id": line["product_id"]}),
            r.nothing_new("no-escalation", "No warranty claim is escalated: the warranty has ended", "escalation"),
            r.nothing_new("no-refund", "No refund is created", "refund"),
            r.reply("reply-end", "The reply gives the date the warranty ended", contains_any=_date_forms(end)),
            r.judge("reply-declines", "The reply declines the claim politely and explains that the warranty period has ended",
                    r.reply("fallback", "says it expired", contains_any=["expired", "ended", "outside", "no longer", "ran out"])),
        )
        months = f"{months_phrase(status['warranty_months'])} warranty"
        spec.reply = (f"The {line['product_name']} from order {order['id']} was bought on {status['purchase_date']} with {months}, "
                      f"so the warranty ended on {end}. I'm sorry, but a claim outside the warranty period can't be accepted, so "
                      "no repair or replacement can be arranged under warranty. Nothing has been changed on the order.")
        blind = spec.ignoring("warranty_period", "refuse_with_reason")
        blind.calls = [c for c in spec.calls if c.name != "checkWarrantyStatus"]
        blind.reply = (f"Sorry to hear the {line['product_name']} from order {order['id']} has failed. It's covered by our "
                       "warranty, so I've noted the claim: our warranty team will be in touch to arrange a replacement.")
        yield spec


@family("warranty_exclusion_denied", "communication", "train", count={"customer": 6, "relayed": 6},
        policy_rules=("warranty_exclusions", "refuse_with_reason", "no_unrequested_writes"))
def warranty_exclusion_denied(ctx: Context) -> Iterator[TaskSpec]:
    """A warranty claim inside the period for damage the warranty excludes (overclocking, liquid, physical damage,
    improper installation): decline, name the exclusion, change nothing. From the customer or relayed by a colleague
    from the customer's open ticket, which a blind agent escalates as warranty."""
    exclusions = ctx.pick(EXCLUSIONS)
    tickets = {t["order_id"]: t for t in ctx.db.all(
        "SELECT * FROM support_ticket WHERE status IN ('new', 'open', 'pending_customer') AND order_id IS NOT NULL ORDER BY id")}
    orders = returnable_orders(ctx, since="2024-10-01", before=outside_window_before())
    ticketed = [o for o in orders if o["id"] in tickets] + [o for o in orders if o["id"] not in tickets]
    for index, order in enumerate(ticketed):
        said, words, categories = exclusions[index % len(exclusions)]
        lines = [line for line in order["lines"] if line["category"] in categories]
        if not lines:
            continue
        line = ctx.rng.choice(lines)
        status = ctx.tool("checkWarrantyStatus", order_id=order["id"], product_id=line["product_id"])
        if not status["under_warranty"]:
            continue
        ticket = tickets.get(order["id"])
        if ticket:
            agent = ctx.staff()
            spec = TaskSpec(employee(agent["id"]), variant="relayed", request=(
                f"Customer on ticket {ticket['id']} says the {line['product_name']} from {order['id']} {ctx.rng.choice(SYMPTOMS)}. "
                f"In their words: \"{said}\" They want a warranty repair or replacement. Can you process the claim?"))
            spec.call("searchTickets", ticket_id=ticket["id"])
        else:
            spec = TaskSpec(customer(order["customer_id"]), variant="customer", request=(
                f"My {line['product_name']} from order {order['id']} {ctx.rng.choice(SYMPTOMS)}. {said} It should still be under "
                "warranty - can you get it repaired or replaced?"))
        spec.call("getOrderDetails", order_id=order["id"])
        spec.call("checkWarrantyStatus", order_id=order["id"], product_id=line["product_id"])
        spec.check(
            r.nothing_new("no-escalation", "No warranty claim is escalated", "escalation"),
            r.nothing_new("no-refund", "No refund is created", "refund"),
            r.reply("reply-item", "The reply names the item or the order", contains_any=[line["product_name"], order["id"]]),
            r.reply("reply-exclusion", "The reply names the exclusion that applies", contains_any=words),
            r.judge("reply-declines", "The reply declines the claim politely: the warranty does not cover this, even though the "
                                      "period has not ended",
                    r.reply("fallback", "declines", contains_any=["not covered", "isn't covered", "doesn't cover", "does not cover",
                                                                  "excluded", "exclusion", "can't", "cannot", "unable"])),
        )
        spec.reply = (f"I'm sorry: the {line['product_name']} from order {order['id']} is within its warranty period (until "
                      f"{status['warranty_end_date']}), but the warranty does not cover {EXCLUDED[words[0]]}, "
                      "so the claim can't be accepted. Nothing has been changed on the order.")
        blind = spec.ignoring("warranty_exclusions", "refuse_with_reason")
        blind.calls = list(spec.calls)
        if ticket:
            blind.call("createEscalation", ticket_id=ticket["id"], escalation_type="warranty", destination="product_management",
                       notes=f"Warranty claim: {line['product_name']} from {order['id']}; covered until {status['warranty_end_date']}.",
                       created_by=agent["id"])
            blind.reply = (f"The {line['product_name']} is under warranty until {status['warranty_end_date']}, so I escalated "
                           f"{ticket['id']} as a warranty claim to product management.")
        else:
            blind.reply = (f"Good news: your {line['product_name']} from order {order['id']} is under warranty until "
                           f"{status['warranty_end_date']}. I've logged the claim and our warranty team will arrange a replacement.")
        yield spec


@family("defect_within_30_days", "reasoning", "train", count=10,
        policy_rules=("defect_within_30_days_is_return", "refund_net_of_discount", "refund_pending_unless_authorised",
                      "post_refund_statuses", "itemised_refund"))
def defect_within_30_days(ctx: Context) -> Iterator[TaskSpec]:
    """A "warranty claim" for an item that failed inside the 30-day window: handle it as a return (defective,
    pending, net of discount), not as a warranty claim."""
    for order in returnable_orders(ctx, min_lines=1, max_lines=3, since=inside_window_since(), discounted=True):
        line = ctx.rng.choice(order["lines"])
        returned = {line["product_id"]: line["quantity"]}
        if needs_finance(order, returned):
            continue
        spec = TaskSpec(customer(order["customer_id"]), request=ctx.rng.choice((
            f"Hi, the {line['product_name']} from my order {order['id']} {ctx.rng.choice(SYMPTOMS)}. It's only a few weeks old "
            "and undamaged, box and all. I'd like to make a warranty claim - or whatever gets me my money back.",
            f"Warranty claim please: my {line['product_name']} (order {order['id']}) {ctx.rng.choice(SYMPTOMS)}. I've kept all "
            "the packaging and it has no damage. I'd rather have my money back than wait for a repair.")))
        spec.call("getOrderDetails", order_id=order["id"])
        plan = return_refund(spec, ctx, order, returned, reason="defective", check_reason=True)
        spec.check(
            r.not_called("no-warranty-escalation", "No warranty escalation: a defect inside 30 days is a return",
                         "createEscalation", arguments={"escalation_type": "warranty"}),
            r.reply("reply", "The reply gives the refund id and amount", contains=[plan.refund_id], numbers=[plan.amount]),
            r.judge("reply-return", "The reply explains that a defect within 30 days of the order is handled as a return",
                    r.reply("fallback", "mentions the return", contains=["return"])),
        )
        spec.reply = (f"Because the {line['product_name']} failed within 30 days of order {order['id']}, it's handled as a return "
                      f"rather than a warranty claim. I've created refund {plan.refund_id} of {money(plan.amount)} (reason: defective; "
                      f"net of any loyalty discount, shipping not included). It is pending review.")
        status = ctx.tool("checkWarrantyStatus", order_id=order["id"], product_id=line["product_id"])
        blind = spec.ignoring("defect_within_30_days_is_return")
        blind.call("getOrderDetails", order_id=order["id"])
        blind.call("checkWarrantyStatus", order_id=order["id"], product_id=line["product_id"])
        blind.reply = (f"Your {line['product_name']} is under warranty until {status['warranty_end_date']}, so this is a warranty "
                       "claim: our warranty team will assess it and arrange a repair or replacement. No refund is due.")
        yield spec


@family("warranty_coverage_review", "reasoning", "heldout", count={"easy": 3, "medium": 3, "hard": 3},
        policy_rules=("warranty_period", "no_unrequested_writes"))
def warranty_coverage_review(ctx: Context) -> Iterator[TaskSpec]:
    """A customer asks which purchases are still under warranty and until when: one item, one order or two orders,
    with at least one product whose period is not the usual year."""
    customers = ctx.db.all("SELECT customer_id, COUNT(*) AS n FROM orders GROUP BY customer_id ORDER BY customer_id")
    for index, row in enumerate(ctx.pick(customers)):
        history = [ctx.tool("getOrderDetails", order_id=o["id"])["order"] for o in ctx.db.all(
            "SELECT id FROM orders WHERE customer_id = ? ORDER BY created_at", (row["customer_id"],))]
        delivered = [o for o in history if o["status"] == "delivered" and o["created_at"] < outside_window_before()]
        multi = [o for o in delivered if 2 <= len(o["lines"]) <= 3]
        if index % 3 == 0 and delivered:
            spec = _coverage_one_item(ctx, delivered[0])
        elif index % 3 == 1 and multi:
            spec = _coverage_orders(ctx, multi[-1:])
        elif len(multi) >= 2:
            spec = _coverage_orders(ctx, multi[-2:])
        else:
            continue
        if spec:
            yield spec


@family("warranty_history_review", "information_retrieval", "heldout", count={"expert": 5},
        policy_rules=("warranty_period", "paginate_orders"))
def warranty_history_review(ctx: Context) -> Iterator[TaskSpec]:
    """A long-standing customer asks which items from the orders of a stretch of dates are still under warranty: the
    orders lie past the first page of searchOrders, so the search must be narrowed to the dates."""
    customers = ctx.db.all("SELECT customer_id FROM orders GROUP BY customer_id HAVING COUNT(*) > ? ORDER BY customer_id",
                           (ORDERS_PAGE,))
    for row in ctx.pick(customers):
        history = [ctx.tool("getOrderDetails", order_id=o["id"])["order"] for o in ctx.db.all(
            "SELECT id FROM orders WHERE customer_id = ? ORDER BY created_at", (row["customer_id"],))]
        spec = _coverage_period(ctx, history)
        if spec:
            yield spec


def _coverage_check(ctx: Context, spec: TaskSpec, items: list[tuple[dict, dict]]) -> list[dict]:
    statuses = []
    for order, line in items:
        spec.call("checkWarrantyStatus", order_id=order["id"], product_id=line["product_id"])
        statuses.append(ctx.tool("checkWarrantyStatus", order_id=order["id"], product_id=line["product_id"]))
    return statuses


def _coverage_spec(ctx: Context, spec: TaskSpec, items: list[tuple[dict, dict]]) -> TaskSpec | None:
    """Check every item, then the rubric and reply: every end date, the expired and the covered items named. None when
    every item has the one-year period (nothing there tells the period rule apart)."""
    reads = list(spec.calls)
    statuses = _coverage_check(ctx, spec, items)
    if all(s["warranty_months"] == 12 for s in statuses):
        return None
    spec.check(
        r.reply("reply-dates", "The reply gives every item's warranty end date (YYYY-MM-DD, as asked)",
                contains=sorted({s["warranty_end_date"] for s in statuses})),
        r.called("checked-all", "Every item's warranty is checked with checkWarrantyStatus", "checkWarrantyStatus", min_count=len(items)),
    )
    covered = sorted({line["product_name"] for (_, line), s in zip(items, statuses) if s["under_warranty"]})
    expired = sorted({line["product_name"] for (_, line), s in zip(items, statuses) if not s["under_warranty"]})
    if expired:
        spec.check(r.judge("reply-expired", "The reply says which items are no longer under warranty",
                           r.reply("fallback", "names the expired items and says they expired", contains=expired,
                                   contains_any=["expired", "ended", "no longer", "out of warranty"])))
    if covered:
        spec.check(r.reply("reply-covered", "The reply names the items still covered", contains=covered))
    lines = [f"- {line['product_name']} (order {order['id']}): {'covered until' if s['under_warranty'] else 'expired on'} "
             f"{s['warranty_end_date']} ({s['warranty_months']}-month warranty from {s['purchase_date']})"
             for (order, line), s in zip(items, statuses)]
    spec.reply = "Here is the warranty status of each item:\n" + "\n".join(lines)
    spec.variant = difficulty_for(len(spec.calls))
    blind = spec.ignoring("warranty_period")
    blind.calls = reads
    guesses = [(order, line, one_year_end(s["purchase_date"])) for (order, line), s in zip(items, statuses)]
    blind.reply = "All our parts carry a one-year warranty from the order date:\n" + "\n".join(
        f"- {line['product_name']} (order {order['id']}): {'covered until' if end >= '2025-09-15' else 'expired on'} {end}"
        for order, line, end in guesses)
    return spec


def _coverage_one_item(ctx: Context, order: dict) -> TaskSpec | None:
    line = ctx.rng.choice(order["lines"])
    spec = TaskSpec(customer(order["customer_id"]), request=(
        f"Is the {line['product_name']} I bought in order {order['id']} still under warranty? Until when exactly? Please give "
        "the date as YYYY-MM-DD."))
    spec.call("getOrderDetails", order_id=order["id"])
    return _coverage_spec(ctx, spec, [(order, line)])


def _coverage_orders(ctx: Context, orders: list[dict]) -> TaskSpec | None:
    named = " and ".join(o["id"] for o in orders)
    spec = TaskSpec(customer(orders[0]["customer_id"]), request=(
        f"Could you tell me which of the parts from order{'s' if len(orders) > 1 else ''} {named} are still under warranty, and "
        "until when? I keep a spreadsheet, so dates as YYYY-MM-DD please."))
    for order in orders:
        spec.call("getOrderDetails", order_id=order["id"])
    return _coverage_spec(ctx, spec, [(order, line) for order in orders for line in order["lines"]])


def _coverage_period(ctx: Context, history: list[dict]) -> TaskSpec | None:
    """Every order placed in a run of Eastern-time days beyond the customer's newest 10 orders (all delivered), with
    10-20 reference calls in all."""
    older = history[:-ORDERS_PAGE]
    for end in range(len(older), 0, -1):
        for start in range(end - 1, -1, -1):
            run = older[start:end]
            calls = 1 + len(run) + sum(len(o["lines"]) for o in run)
            if calls > 20 or any(o["status"] != "delivered" for o in run):
                break
            if calls < 10:
                continue
            after, before = eastern_day_bounds(run[0]["created_at"])[0], eastern_day_bounds(run[-1]["created_at"])[1]
            found = ctx.tool("searchOrders", customer_id=run[0]["customer_id"], created_after=after, created_before=before)["orders"]
            if sorted(o["id"] for o in found) != sorted(o["id"] for o in run):
                continue
            first, last = long_date(run[0]["created_at"]), long_date(run[-1]["created_at"])
            spec = TaskSpec(customer(run[0]["customer_id"]), request=(
                f"I've bought a lot from you. Which of the items from the orders I placed between {first} "
                f"and {last} are still under warranty, and until when? I keep a "
                "spreadsheet, so dates as YYYY-MM-DD please."))
            spec.call("searchOrders", customer_id=run[0]["customer_id"], created_after=after, created_before=before)
            for order in run:
                spec.call("getOrderDetails", order_id=order["id"])
            spec.check(r.reply("reply-oldest", f"The reply covers {run[0]['id']}, an order past the first page of searchOrders",
                               contains_any=[run[0]["id"], *[line["product_name"] for line in run[0]["lines"]]]))
            built = _coverage_spec(ctx, spec, [(order, line) for order in run for line in order["lines"]])
            if not built:
                continue
            page = ctx.tool("searchOrders", customer_id=run[0]["customer_id"])["orders"]
            blind = built.ignoring("paginate_orders")
            blind.call("searchOrders", customer_id=run[0]["customer_id"])
            blind.reply = (f"I looked through your orders and found none placed between {first} and {last}: your orders on "
                           f"file run from {long_date(page[-1]['created_at'])} to {long_date(page[0]['created_at'])}, so "
                           "there is nothing from that period to check.")
            return built
    return None
