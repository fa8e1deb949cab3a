"""Boundary cases: returns on the 28th to 32nd day (some placed on an Eastern evening whose UTC date is a day later,
so a reading of the stored date as the order date grants what is a day too late), warranties that end within days of
now, and partial refunds of some units of a line where the discount leaves a fraction of a cent.

How the window is read (decided here): "within 30 days of the order date" counts calendar days on the Eastern
calendar the company and its customers use, the order date being the Eastern date of ``created_at``. Only orders on
which this reading agrees with the exact one (no more than 30 × 24 hours since ``created_at``) are used, so no task
depends on which of the two an agent picks; the UTC date of ``created_at`` is not the order date, and where it is a
day later (an order from an Eastern evening) it makes a day-31 order look like a day-30 one. Thirty days is not a
month: on September 15 an order from August 15 is 31 days old, although a month has not passed.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

from ...tasks.realism import RETURN_BOUNDARY_DAYS, WARRANTY_BOUNDARY_DAYS
from ...world import NOW
from ...world.generator import RETURN_WINDOW_DAYS, parse_iso
from ...world.pricing import LOYALTY_DISCOUNT_RATES, to_cents
from ...tools.products import add_months
from .. import rubric as r
from ..core import Context, TaskSpec, customer, family
from ..facts import EASTERN, days_ago, long_date, money, needs_finance, tier_discount
from ..recipes import return_refund
from .chains import bought_once, history, warranty_chain
from .returns import REFUND_RULES, _late_refusal, _requester, returnable_orders
from .warranty import SYMPTOMS

# The item's condition and the reason for returning it, as clauses run into a sentence that names the item (a
# sentence of their own would repeat across requests).
CONDITION = ("it's still sealed in the original box", "I opened it but it's in perfect condition with all the packaging",
             "it was never opened", "it's unused and boxed", "I only took it out of the box to look at it")
REASON = ("plans changed", "I found a better fit for my build", "it turned out to be more than I need",
          "I ordered it twice by mistake")


def eastern_age(created_at: str) -> int:
    """Days from the order date (the Eastern date of ``created_at``) to today's Eastern date: the policy's count."""
    return (NOW.astimezone(EASTERN).date() - parse_iso(created_at).astimezone(EASTERN).date()).days


def utc_age(created_at: str) -> int:
    """The same count on the UTC dates (what an agent reading the stored date as the order date gets)."""
    return (NOW.date() - parse_iso(created_at).date()).days


def in_window(created_at: str) -> bool | None:
    """Whether a return is in time: True or False where the Eastern-calendar and the exact (30 × 24 h) readings agree,
    None where they do not (a day-30 order placed at an earlier hour of the day than now)."""
    by_calendar = eastern_age(created_at) <= RETURN_WINDOW_DAYS
    by_hours = NOW - parse_iso(created_at) <= timedelta(days=RETURN_WINDOW_DAYS)
    return by_calendar if by_calendar == by_hours else None


def edge_orders(ctx: Context, ages: range) -> list[dict]:
    """Delivered, unrefunded orders whose Eastern age is in ``ages``, whose window readings agree and whose UTC age
    is in the band ``corecraft tasks --stats`` counts as a boundary case (shuffled)."""
    low, high = RETURN_BOUNDARY_DAYS
    return [o for o in returnable_orders(ctx, since=days_ago(max(ages) + 2), before=days_ago(min(ages) - 2))
            if eastern_age(o["created_at"]) in ages and low <= utc_age(o["created_at"]) <= high
            and in_window(o["created_at"]) is not None]


def rounds(line: dict, units: int, tier: str) -> bool:
    """Whether the discount on ``units`` of the line leaves a fraction of a cent (the refund must be rounded)."""
    exact = to_cents(line["unit_price"]) * units * (1 - LOYALTY_DISCOUNT_RATES[tier])
    return exact != exact.quantize(to_cents(0.01))


def _customer_or_colleague(ctx: Context, order: dict, own: tuple[str, ...], relayed: tuple[str, ...]) -> TaskSpec:
    """One of the customer's phrasings, or (40 %) a colleague relaying it with one of theirs."""
    return _requester(ctx, order, ctx.rng.choice(own), ctx.rng.choice(relayed), 0.4)


@family("return_window_last_days", "multi_step_workflow", "train", count={"customer": 7, "employee": 5},
        policy_rules=("return_window", *(rule for rule in REFUND_RULES if rule != "refund_net_of_discount")))
def return_window_last_days(ctx: Context) -> Iterator[TaskSpec]:
    """A return on the 28th to 30th day after the order (Eastern calendar), where the world has one of some units of
    a multi-unit line whose discount leaves a fraction of a cent: still inside the 30-day window, so refund it
    (pending, itemised, net of the discount to the cent, shipping kept) rather than turning it down as "a month ago"."""
    for order in edge_orders(ctx, range(28, 31)) * 2:  # an order may come back with another line or asker: there are few
        multi = [line for line in order["lines"] if line["quantity"] > 1]
        line = ctx.rng.choice(multi or order["lines"])
        units = ctx.rng.randrange(1, line["quantity"]) if line["quantity"] > 1 else 1
        if multi and not rounds(line, units, order["loyalty_tier"]):
            units = line["quantity"]
        returned = {line["product_id"]: units}
        if needs_finance(order, returned):
            continue
        what = (f"{units} of the {line['quantity']} {line['product_name']} units" if units < line["quantity"]
                else f"the {line['product_name']}")
        condition, reason = ctx.rng.choice(CONDITION), ctx.rng.choice(REASON)
        spec = _customer_or_colleague(ctx, order, (
            f"Hi, I'd like to return {what} from order {order['id']} because {reason}, and {condition}. I know it's been a "
            "few weeks; can I still get a refund?",
            f"Is it too late to send back {what} from {order['id']}? {condition[0].upper() + condition[1:]}, and if I'm in "
            "time please refund it.",
            f"Order {order['id']}: I want to return {what} ({reason}; {condition}), so please process the refund if I'm "
            "still in time.",
        ), (
            f"{{name}} wants to return {what} from order {order['id']} ({condition.replace('I ', 'they ').replace(' I', ' they')}). "
            f"It's been nearly a month since {order['id']}, so can you check whether it's still returnable and, if it is, "
            "process the refund?",
            f"Return request from {{name}} for {what} on {order['id']}, {condition.replace('I ', 'they ').replace(' I', ' they')}: "
            "are they still in the window? If so please refund and give me the amount.",
        ))
        spec.call("getOrderDetails", order_id=order["id"])
        plan = return_refund(spec, ctx, order, returned, reason="customer_remorse")
        placed, age = long_date(order["created_at"]), eastern_age(order["created_at"])
        spec.check(
            r.reply("reply-amount", "The reply gives the refund id and amount", numbers=[plan.amount], contains=[plan.refund_id]),
            r.judge("reply-window", f"The reply says the order ({placed}, {age} days ago) is still inside the 30-day window",
                    r.reply("fallback", "mentions the window", matches=r"30[- ]day|within 30|inside")),
        )
        spec.reply = (f"Order {order['id']} was placed on {placed}, {age} days ago, so it is still inside our 30-day return window. "
                      f"I've created refund {plan.refund_id} for {money(plan.amount)} for {what}: the price paid less "
                      f"{tier_discount(order['loyalty_tier'])}, shipping not refundable. It is pending review; the order is now "
                      f"{plan.order_status} and the payment {plan.payment_status}.")
        blind = spec.ignoring("return_window")
        blind.call("getOrderDetails", order_id=order["id"])
        blind.reply = (f"I'm sorry, but order {order['id']} was placed on {placed}, about a month ago, which is past our return "
                       "window, so I can't refund it. Nothing has been changed.")
        yield spec


@family("return_window_just_closed", "communication", "heldout", count={"customer": 6, "employee": 6},
        policy_rules=("return_window", "refuse_with_reason", "no_unrequested_writes"))
def return_window_just_closed(ctx: Context) -> Iterator[TaskSpec]:
    """A return on the 31st or 32nd day after the order (Eastern calendar), often asked as "about a month ago":
    refuse it as past the 30-day window, changing nothing. Orders placed on an Eastern evening come first: their UTC
    date is a day later, and read as the order date it makes the request look a day inside the window."""
    late = edge_orders(ctx, range(31, 33))
    flips = [o for o in late if utc_age(o["created_at"]) <= RETURN_WINDOW_DAYS]
    for order in (flips + [o for o in late if o not in flips]) * 2:  # a second line or asker per order: there are few
        line = ctx.rng.choice(order["lines"])
        if needs_finance(order, {line["product_id"]: line["quantity"]}):
            continue
        condition, reason = ctx.rng.choice(CONDITION), ctx.rng.choice(REASON)
        relayed = condition.replace("I ", "they ").replace(" I", " they")
        spec = _customer_or_colleague(ctx, order, (
            f"Hi, I bought the {line['product_name']} about a month ago (order {order['id']}) and {reason}; {condition}, so "
            "can I return it for a refund?",
            f"I'd like to send back the {line['product_name']} from {order['id']}: it's only been a month and {condition}, "
            "so please refund it.",
            f"Return please: {line['product_name']}, order {order['id']} ({reason}). Surely a month on I'm still within the "
            "return period?",
        ), (
            f"{{name}} wants to return the {line['product_name']} from order {order['id']} ({relayed}) and says it was bought "
            "a month ago, so it should be fine. Can you do the refund?",
            f"Refund request from {{name}}: the {line['product_name']} on {order['id']} ({relayed}), can you process it?",
        ))
        spec.call("getOrderDetails", order_id=order["id"])
        _late_refusal(spec, ctx, order, line)
        age = eastern_age(order["created_at"])
        spec.check(r.judge("reply-age", f"The reply says the order is {age} days old, past the 30 days",
                           r.reply("fallback", "gives the age", contains_any=[f"{age} days", long_date(order["created_at"])])))
        spec.reply += f" It was placed {age} days ago."
        yield spec


@family("warranty_ending_this_week", "reasoning", "train", count={"customer": 4, "relayed": 4},
        policy_rules=("warranty_period", "no_unrequested_writes"))
def warranty_ending_this_week(ctx: Context) -> Iterator[TaskSpec]:
    """Is the failed item still under warranty, when its warranty ends (or ended) within a week of today: found from
    the product name alone (customer → orders → the order → checkWarrantyStatus), with the exact end date and verdict
    (calendar months from the purchase date; a day either side changes the answer)."""
    today = NOW.date()
    rows = ctx.db.all("SELECT l.order_id, l.product_id, o.customer_id, o.created_at, p.warranty_months FROM order_line l "
                      "JOIN orders o ON o.id = l.order_id JOIN product p ON p.id = l.product_id "
                      "WHERE o.status = 'delivered' ORDER BY l.order_id, l.product_id")
    near = [row for row in rows if abs((add_months(date.fromisoformat(row["created_at"][:10]), row["warranty_months"] or 12)
                                        - today).days) <= WARRANTY_BOUNDARY_DAYS]
    for row in ctx.pick(near) * 2:  # each item asked twice at most (by the customer, or relayed): there are few
        orders = history(ctx, row["customer_id"])
        if len(orders) >= 10 or not bought_once(orders, row["product_id"]):
            continue
        order = next(o for o in orders if o["id"] == row["order_id"])
        yield warranty_chain(ctx, [(order, next(line for line in order["lines"] if line["product_id"] == row["product_id"]))])


@family("defect_at_window_edge", "reasoning", "heldout", count={"return": 8, "warranty": 8},
        policy_rules=("defect_within_30_days_is_return",))
def defect_at_window_edge(ctx: Context) -> Iterator[TaskSpec]:
    """A faulty item from an order 28 to 32 days old (Eastern calendar): up to day 30 it is a return (defective,
    pending, net of the discount); from day 31 it is a warranty matter (checkWarrantyStatus, no refund)."""
    for order in edge_orders(ctx, range(28, 33)) * 2:
        line = ctx.rng.choice(order["lines"])
        returned = {line["product_id"]: line["quantity"]}
        if needs_finance(order, returned):
            continue
        symptom, placed, age = ctx.rng.choice(SYMPTOMS), long_date(order["created_at"]), eastern_age(order["created_at"])
        inside = in_window(order["created_at"])
        spec = TaskSpec(customer(order["customer_id"]), variant="return" if inside else "warranty", request=ctx.rng.choice((
            f"The {line['product_name']} from order {order['id']} {symptom} (no damage, box and all): what can you do for "
            "me, refund or warranty?",
            f"Hi, my {line['product_name']} (order {order['id']}) {symptom}, and I'd like whatever remedy I'm entitled to, "
            "money back if possible.",
            f"Faulty item: {line['product_name']} from {order['id']}, it {symptom} though it's in perfect condition "
            "otherwise; please sort it out, a refund would be best.",
        )))
        spec.call("getOrderDetails", order_id=order["id"])
        status = ctx.tool("checkWarrantyStatus", order_id=order["id"], product_id=line["product_id"])
        if inside:
            plan = return_refund(spec, ctx, order, returned, reason="defective", check_reason=True)
            spec.check(
                r.not_called("no-warranty-escalation", "No warranty escalation: a defect inside 30 days is a return",
                             "createEscalation", arguments={"escalation_type": "warranty"}),
                r.reply("reply-refund", "The reply gives the refund id and amount", contains=[plan.refund_id], numbers=[plan.amount]),
            )
            spec.reply = (f"Order {order['id']} was placed on {placed}, {age} days ago, so a fault now is still a return within "
                          f"the 30-day window. I've created refund {plan.refund_id} of {money(plan.amount)} (defective, net of "
                          f"{tier_discount(order['loyalty_tier'])}, shipping not included); it is pending review, the order is "
                          f"now {plan.order_status} and the payment {plan.payment_status}.")
            blind = spec.ignoring("defect_within_30_days_is_return")
            blind.call("getOrderDetails", order_id=order["id"])
            blind.call("checkWarrantyStatus", order_id=order["id"], product_id=line["product_id"])
            blind.reply = (f"Your {line['product_name']} is under warranty until {status['warranty_end_date']}, so this is a "
                           "warranty claim: our warranty team will arrange a repair or replacement. No refund is due.")
        else:
            spec.call("checkWarrantyStatus", order_id=order["id"], product_id=line["product_id"])
            spec.check(
                r.nothing_new("no-refund", "No refund: on day 31 or later a defect is a warranty matter, not a return", "refund"),
                r.called("checked", "The warranty is checked with checkWarrantyStatus", "checkWarrantyStatus",
                         arguments={"order_id": order["id"], "product_id": line["product_id"]}),
                r.reply("reply-end", "The reply gives the warranty end date", contains=[status["warranty_end_date"]]),
                r.judge("reply-window", "The reply explains the 30-day return window has passed, so the warranty applies",
                        r.reply("fallback", "mentions the window", matches=r"30[- ]day")),
            )
            spec.reply = (f"Order {order['id']} was placed on {placed}, {age} days ago, so it is past the 30-day return window "
                          f"and a refund isn't possible. The {line['product_name']} is covered by its warranty until "
                          f"{status['warranty_end_date']}, so the fault is handled as a warranty repair or replacement. Nothing "
                          "has been changed on the order.")
            blind = spec.ignoring("defect_within_30_days_is_return")
            blind.call("getOrderDetails", order_id=order["id"])
            plan = return_refund(blind, ctx, order, returned, reason="defective")
            blind.reply = (f"Since the item is recent and faulty, I've refunded it as a return: refund {plan.refund_id} of "
                           f"{money(plan.amount)}, pending review.")
        yield spec
