"""Warranty: claims inside and outside the period, exclusions, defects that are really returns, and a review of
what is still covered."""

from __future__ import annotations

from collections.abc import Iterator

from ...tools.orders import ORDERS_PAGE
from .. import rubric as r
from ..core import Context, TaskSpec, customer, difficulty_for, employee, family
from ..facts import eastern_day_bounds, inside_window_since, long_date, money, needs_finance, outside_window_before
from ..recipes import escalate, return_refund
from .returns import returnable_orders

SYMPTOMS = ("won't power on at all", "keeps crashing under load", "started making a loud clicking noise",
            "is no longer detected by my PC")
EXCLUSIONS = (  # (what the customer says, words a correct denial uses, categories it makes sense for)
    ("I'll be honest, I had it overclocked well past stock settings for a benchmark run when it died.", ["overclock"],
     ("cpu", "gpu", "memory")),
    ("I knocked a drink over my desk and some of it got inside.", ["liquid", "spill", "drink"],
     ("keyboard", "mouse", "monitor", "psu", "prebuilt", "workstation")),
    ("It started after I dropped it during a move and the casing cracked.", ["physical", "drop", "crack"],
     ("storage", "psu", "case", "cooling", "monitor", "keyboard", "mouse")),
    ("I installed it myself and may have forced it into the slot a bit.", ["installation", "install"],
     ("gpu", "memory", "cpu", "motherboard")),
)


def _date_forms(day: str) -> list[str]:
    """An ISO date as the tools give it and as people write it."""
    return [day, long_date(day), long_date(day).split(",")[0]]


def _ticket_product(ctx: Context, ticket: dict) -> tuple[dict, dict] | None:
    """The order of a troubleshooting ticket and the order line its body names."""
    order = ctx.tool("getOrderDetails", order_id=ticket["order_id"])["order"]
    lines = [line for line in order["lines"] if line["product_name"] in ticket["body"]]
    return (order, lines[0]) if lines else None


@family("warranty_claim_triage", "reasoning", "train", count={"covered": 2, "expired": 2},
        policy_rules=("warranty_period", "escalation_routing", "warranty_exclusions", "no_unrequested_writes"))
def warranty_claim_triage(ctx: Context) -> Iterator[TaskSpec]:
    """An employee hands over a troubleshooting ticket as a possible warranty claim: check the warranty (calendar
    months, 12 when the product lists none); if covered, escalate it as warranty to product management, else
    explain it has expired and escalate nothing."""
    tickets = ctx.db.all(
        "SELECT t.* FROM support_ticket t JOIN orders o ON o.id = t.order_id WHERE t.type = 'troubleshooting' "
        "AND t.status IN ('new', 'open', 'pending_customer') AND o.status = 'delivered' AND o.created_at < ? ORDER BY t.id",
        (outside_window_before(),))
    for ticket in ctx.pick(tickets):
        found = _ticket_product(ctx, ticket)
        if not found:
            continue
        order, line = found
        status = ctx.tool("checkWarrantyStatus", order_id=order["id"], product_id=line["product_id"])
        agent = ctx.staff()
        spec = TaskSpec(employee(agent["id"]), variant="covered" if status["under_warranty"] else "expired", request=(
            f"Can you take ticket {ticket['id']}? The customer's {line['product_name']} has failed. They confirmed there's "
            "no physical or liquid damage, it was never overclocked and it was installed properly. If it's still under "
            "warranty, raise it as a warranty claim with the team that handles those; if not, tell me why."))
        spec.call("searchTickets", ticket_id=ticket["id"])
        spec.call("getOrderDetails", order_id=order["id"])
        spec.call("checkWarrantyStatus", order_id=order["id"], product_id=line["product_id"])
        end = status["warranty_end_date"]
        spec.check(
            r.called("checked", "The warranty is checked with checkWarrantyStatus for this order and product",
                     "checkWarrantyStatus", arguments={"order_id": order["id"], "product_id": line["product_id"]}),
            r.reply("reply-end", "The reply gives the warranty end date", contains_any=_date_forms(end)),
        )
        months = f"{status['warranty_months']} months" + (", the default as the product lists no period"
                                                          if ctx.tool("getProduct", product_id=line["product_id"])["product"]["warranty_months"] is None else "")
        if status["under_warranty"]:
            escalation_id = escalate(spec, ctx, ticket["id"], "warranty",
                                     f"Warranty claim: {line['product_name']} from {order['id']} failed; no damage, overclocking or "
                                     f"misuse reported. Covered until {end}.", agent["id"])
            spec.check(r.reply("reply-escalation", "The reply gives the escalation id and the department", contains=[escalation_id],
                               contains_any=["product management", "product_management"]))
            spec.reply = (f"The {line['product_name']} from {order['id']} (bought {status['purchase_date']}, warranty {months}) is "
                          f"covered until {end}. I escalated {ticket['id']} as a warranty claim to product management: {escalation_id}.")
        else:
            spec.check(
                r.nothing_new("no-escalation", "Nothing is escalated: the warranty has expired", "escalation"),
                r.judge("reply-expired", "The reply explains the claim is outside the warranty period",
                        r.reply("fallback", "says it expired", contains_any=["expired", "ended", "outside", "no longer"])),
            )
            spec.reply = (f"The {line['product_name']} from {order['id']} was bought on {status['purchase_date']} with a warranty of "
                          f"{months}, so the warranty ended on {end}. The claim is outside the warranty period, so I have not "
                          "escalated it.")
        yield spec


@family("warranty_exclusion_denied", "communication", "train", count=2,
        policy_rules=("warranty_exclusions", "refuse_with_reason", "no_unrequested_writes"))
def warranty_exclusion_denied(ctx: Context) -> Iterator[TaskSpec]:
    """A warranty claim inside the period for damage the warranty excludes (overclocking, liquid, physical damage,
    improper installation): decline, name the exclusion, change nothing."""
    exclusions = ctx.pick(EXCLUSIONS)
    orders = returnable_orders(ctx, since="2024-10-01", before=outside_window_before())
    for index, order in enumerate(orders):
        said, words, categories = exclusions[index % len(exclusions)]
        lines = [line for line in order["lines"] if line["category"] in categories]
        if not lines:
            continue
        line = ctx.rng.choice(lines)
        status = ctx.tool("checkWarrantyStatus", order_id=order["id"], product_id=line["product_id"])
        if not status["under_warranty"]:
            continue
        spec = TaskSpec(customer(order["customer_id"]), request=(
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
        spec.reply = (f"I'm sorry: your {line['product_name']} from order {order['id']} is within its warranty period (until "
                      f"{status['warranty_end_date']}), but the warranty does not cover {words[0]} damage or misuse of that kind, "
                      "so I can't accept the claim. Nothing has been changed on your order.")
        yield spec


@family("defect_within_30_days", "reasoning", "train", count=2,
        policy_rules=("defect_within_30_days_is_return", "refund_net_of_discount", "refund_pending_unless_authorised",
                      "post_refund_statuses", "itemised_refund"))
def defect_within_30_days(ctx: Context) -> Iterator[TaskSpec]:
    """A "warranty claim" for an item that failed inside the 30-day window: handle it as a return (defective,
    pending, net of discount), not as a warranty escalation."""
    for order in returnable_orders(ctx, min_lines=1, max_lines=3, since=inside_window_since()):
        line = ctx.rng.choice(order["lines"])
        returned = {line["product_id"]: line["quantity"]}
        if needs_finance(order, returned):
            continue
        spec = TaskSpec(customer(order["customer_id"]), request=(
            f"Hi, the {line['product_name']} from my order {order['id']} {ctx.rng.choice(SYMPTOMS)}. It's only a few weeks old "
            "and undamaged, box and all. I'd like to make a warranty claim - or whatever gets me my money back."))
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
        yield spec


@family("warranty_coverage_review", "reasoning", "heldout", count={"easy": 1, "medium": 1, "hard": 1, "expert": 1},
        policy_rules=("warranty_period", "paginate_orders", "eastern_time", "tools_only"))
def warranty_coverage_review(ctx: Context) -> Iterator[TaskSpec]:
    """A customer asks which purchases are still under warranty and until when: one item, one order, two orders, or
    every order placed in a stretch of dates that lies past the first page of searchOrders."""
    customers = ctx.db.all("SELECT customer_id, COUNT(*) AS n FROM orders GROUP BY customer_id ORDER BY customer_id")
    for index, row in enumerate(ctx.pick(customers)):
        history = [ctx.tool("getOrderDetails", order_id=o["id"])["order"] for o in ctx.db.all(
            "SELECT id FROM orders WHERE customer_id = ? ORDER BY created_at", (row["customer_id"],))]
        delivered = [o for o in history if o["status"] == "delivered" and o["created_at"] < outside_window_before()]
        multi = [o for o in delivered if 2 <= len(o["lines"]) <= 3]
        if row["n"] > ORDERS_PAGE:  # the few long histories go to the period question
            spec = _coverage_period(ctx, history)
            if spec:
                yield spec
        elif index % 3 == 0 and delivered:
            yield _coverage_one_item(ctx, delivered[0])
        elif index % 3 == 1 and multi:
            yield _coverage_orders(ctx, multi[-1:])
        elif len(multi) >= 2:
            yield _coverage_orders(ctx, multi[-2:])


def _coverage_check(ctx: Context, spec: TaskSpec, items: list[tuple[dict, dict]]) -> list[dict]:
    statuses = []
    for order, line in items:
        spec.call("checkWarrantyStatus", order_id=order["id"], product_id=line["product_id"])
        statuses.append(ctx.tool("checkWarrantyStatus", order_id=order["id"], product_id=line["product_id"]))
    return statuses


def _coverage_spec(ctx: Context, spec: TaskSpec, items: list[tuple[dict, dict]]) -> TaskSpec:
    """Check every item, then the rubric and reply: every end date, the expired and the covered items named."""
    statuses = _coverage_check(ctx, spec, items)
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
    return spec


def _coverage_one_item(ctx: Context, order: dict) -> TaskSpec:
    line = ctx.rng.choice(order["lines"])
    spec = TaskSpec(customer(order["customer_id"]), request=(
        f"Is the {line['product_name']} I bought in order {order['id']} still under warranty? Until when exactly? Please give "
        "the date as YYYY-MM-DD."))
    spec.call("getOrderDetails", order_id=order["id"])
    return _coverage_spec(ctx, spec, [(order, line)])


def _coverage_orders(ctx: Context, orders: list[dict]) -> TaskSpec:
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
            spec = TaskSpec(customer(run[0]["customer_id"]), request=(
                f"I've bought a lot from you. Which of the items from the orders I placed between {long_date(run[0]['created_at'])} "
                f"and {long_date(run[-1]['created_at'])} (Eastern time) are still under warranty, and until when? I keep a "
                "spreadsheet, so dates as YYYY-MM-DD please."))
            spec.call("searchOrders", customer_id=run[0]["customer_id"], created_after=after, created_before=before)
            for order in run:
                spec.call("getOrderDetails", order_id=order["id"])
            spec.check(r.reply("reply-oldest", f"The reply covers {run[0]['id']}, an order past the first page of searchOrders",
                               contains_any=[run[0]["id"], *[line["product_name"] for line in run[0]["lines"]]]))
            return _coverage_spec(ctx, spec, [(order, line) for order in run for line in order["lines"]])
    return None
