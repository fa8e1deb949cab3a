"""Returns: partial and full returns inside the window, refusals outside it or for the item's condition, and
returns spread over several orders."""

from __future__ import annotations

from collections.abc import Iterator

from .. import rubric as r
from ..core import Context, TaskSpec, customer, family
from ..facts import days_ago, eastern_window, inside_window_since, long_date, money, needs_finance, outside_window_before, tier_discount
from ..recipes import return_refund

UNDAMAGED = (
    "It's still sealed in the original box.",
    "I opened it but it's in perfect condition, with all the original packaging.",
    "Never opened, still shrink-wrapped.",
)
DAMAGE = (  # (what the customer says, words a correct refusal uses, the condition policy names)
    ("I knocked a glass of water over it, so it got a bit wet, but otherwise it's fine.", ["liquid", "water", "wet"], "liquid damage"),
    ("I threw the box away already, but the item itself is fine.", ["packaging", "box"], "missing original packaging"),
    ("I dropped it while installing and one corner is cracked.", ["damage", "crack"], "physical damage"),
    ("I modded it a bit (reflashed the firmware and swapped the fans), but I'd like to return it.", ["modif", "modded", "firmware"],
     "modification"),
)


def returnable_orders(ctx: Context, *, min_lines: int = 1, max_lines: int = 4, since: str | None = None,
                      before: str | None = None, discounted: bool = False) -> list[dict]:
    """Delivered orders with nothing refunded yet, created in [since, before), with a line count in range."""
    rows = ctx.db.all(
        "SELECT o.id FROM orders o WHERE o.status = 'delivered' AND o.created_at >= ? AND o.created_at < ? "
        "AND NOT EXISTS (SELECT 1 FROM payment p JOIN refund f ON f.payment_id = p.id WHERE p.order_id = o.id) "
        "AND (SELECT COUNT(*) FROM order_line l WHERE l.order_id = o.id) BETWEEN ? AND ? "
        + ("AND o.loyalty_tier != 'none' " if discounted else "") + "ORDER BY o.id",
        (since or "0000", before or "9999", min_lines, max_lines))
    return [ctx.tool("getOrderDetails", order_id=row["id"])["order"] for row in ctx.pick(rows)]


def _unique_in_window(ctx: Context, order: dict) -> tuple | None:
    """The Eastern-time phrase of the order's creation if it singles the order out among the customer's, else None."""
    window = eastern_window(order["created_at"])
    found = ctx.tool("searchOrders", customer_id=order["customer_id"], created_after=window.after, created_before=window.before)
    return window if [o["id"] for o in found["orders"]] == [order["id"]] else None


@family("return_partial_line", "multi_step_workflow", "train", count={"by_id": 2, "by_time": 1},
        policy_rules=("return_window", "return_condition", "refund_net_of_discount", "shipping_not_refunded", "itemised_refund",
                      "refund_pending_unless_authorised", "post_refund_statuses", "eastern_time"))
def return_partial_line(ctx: Context) -> Iterator[TaskSpec]:
    """Return one line of a delivered multi-line order inside the window: pending itemised refund net of the loyalty
    discount, order refund_requested, payment partially_refunded."""
    for index, order in enumerate(returnable_orders(ctx, min_lines=2, since=inside_window_since(), discounted=True)):
        line = ctx.rng.choice(order["lines"])
        if needs_finance(order, {line["product_id"]: line["quantity"]}):
            continue
        condition = ctx.rng.choice(UNDAMAGED)
        window = _unique_in_window(ctx, order) if index % 2 else None
        if window:
            spec = TaskSpec(customer(order["customer_id"]), variant="by_time", request=(
                f"Hi, I'd like to return the {line['product_name']} I ordered {window.phrase} (Eastern). {condition} "
                "Please refund it to my original payment method."))
            spec.call("searchOrders", customer_id=order["customer_id"], created_after=window.after, created_before=window.before)
        else:
            spec = TaskSpec(customer(order["customer_id"]), variant="by_id", request=(
                f"Hello, I want to return the {line['product_name']} from order {order['id']}. {condition} "
                "Can you refund it, please?"))
        spec.call("getOrderDetails", order_id=order["id"])
        plan = return_refund(spec, ctx, order, {line["product_id"]: line["quantity"]}, reason="customer_remorse")
        spec.check(
            r.reply("reply-amount", "The reply gives the refund id and amount", numbers=[plan.amount], contains=[plan.refund_id]),
            r.judge("reply-explains", "The reply explains the amount: the loyalty discount comes off and shipping is not refunded",
                    r.reply("fallback", "mentions shipping", contains=["shipping"])),
        )
        spec.reply = (f"I've created refund {plan.refund_id} for {money(plan.amount)} for the {line['product_name']} from order "
                      f"{order['id']}: the line price less {tier_discount(order['loyalty_tier'])} (shipping is not refundable). "
                      f"The refund is pending review; the order is now {plan.order_status} and the payment {plan.payment_status}.")
        yield spec


@family("return_full_order", "multi_step_workflow", "train", count=2,
        policy_rules=("return_window", "refund_net_of_discount", "shipping_not_refunded", "itemised_refund",
                      "refund_pending_unless_authorised", "post_refund_statuses"))
def return_full_order(ctx: Context) -> Iterator[TaskSpec]:
    """Return every line of an order inside the window: the refund is what was paid for the goods (subtotal less
    discount, never the shipping), split per line; order and payment become refunded."""
    for order in returnable_orders(ctx, min_lines=2, max_lines=3, since=inside_window_since(), discounted=True):
        spec = TaskSpec(customer(order["customer_id"]), request=(
            f"Hi there. I'd like to send back everything from order {order['id']} - plans changed and I no longer need the "
            f"parts. {ctx.rng.choice(UNDAMAGED)} Please refund me."))
        spec.call("getOrderDetails", order_id=order["id"])
        returned = {line["product_id"]: line["quantity"] for line in order["lines"]}
        if needs_finance(order, returned):
            continue
        plan = return_refund(spec, ctx, order, returned, reason="customer_remorse")
        spec.check(
            r.reply("reply-amount", "The reply gives the refund id and amount", numbers=[plan.amount], contains=[plan.refund_id]),
            r.judge("reply-shipping", "The reply explains that the shipping charge is not refunded",
                    r.reply("fallback", "mentions shipping", contains=["shipping"])),
        )
        spec.reply = (f"Refund {plan.refund_id} of {money(plan.amount)} is created for all items of order {order['id']}: what you "
                      f"paid for the goods after {tier_discount(order['loyalty_tier'])}. The {money(order['shipping_cost'])} shipping "
                      "charge is not refundable. The refund is pending review; the order and payment are marked refunded.")
        yield spec


@family("return_outside_window", "communication", "train", count={"by_id": 2, "by_time": 1},
        policy_rules=("return_window", "refuse_with_reason", "no_unrequested_writes", "eastern_time"))
def return_outside_window(ctx: Context) -> Iterator[TaskSpec]:
    """A return asked for after the 30-day window: refuse and explain, create no refund."""
    recent = days_ago(100)  # late, but recent enough that the customer might hope
    for index, order in enumerate(returnable_orders(ctx, since=recent, before=outside_window_before())):
        line = ctx.rng.choice(order["lines"])
        window = _unique_in_window(ctx, order) if index % 2 else None
        if window:
            spec = TaskSpec(customer(order["customer_id"]), variant="by_time", request=(
                f"Hi, the {line['product_name']} I bought {window.phrase} (Eastern time) turned out to be more than I need. "
                "It's unopened. Can I return it for a refund?"))
            spec.call("searchOrders", customer_id=order["customer_id"], created_after=window.after, created_before=window.before)
        else:
            spec = TaskSpec(customer(order["customer_id"]), variant="by_id", request=(
                f"Hi, I'd like to return the {line['product_name']} from order {order['id']}. It's unopened. How do I get my "
                "money back?"))
        spec.call("getOrderDetails", order_id=order["id"])
        placed = long_date(order["created_at"])
        spec.check(
            r.nothing_new("no-refund", "No refund is created: the order is outside the 30-day return window", "refund"),
            r.reply("reply-order", "The reply names the order and when it was placed",
                    contains=[order["id"]], contains_any=[placed, order["created_at"][:10], placed.split(",")[0]]),
            r.reply("reply-window", "The reply cites the 30-day return window", matches=r"30[- ]day"),
            r.judge("reply-refusal", "The reply declines the return politely and says why",
                    r.reply("fallback", "declines", contains_any=["cannot", "can't", "unable", "not able", "outside", "past"])),
        )
        spec.reply = (f"I'm sorry, but order {order['id']} was placed on {placed}, more than 30 days ago. Returns are accepted only "
                      f"within 30 days of the order date, so I can't refund the {line['product_name']}. Nothing has been changed "
                      "on your order.")
        yield spec


@family("return_condition_refused", "communication", "train", count=2,
        policy_rules=("return_condition", "refuse_with_reason", "no_unrequested_writes"))
def return_condition_refused(ctx: Context) -> Iterator[TaskSpec]:
    """A return inside the window of an item that is damaged, modified or without its packaging: refuse, no refund."""
    damages = ctx.pick(DAMAGE)
    for index, order in enumerate(returnable_orders(ctx, since=inside_window_since())):
        line = ctx.rng.choice(order["lines"])
        said, words, condition = damages[index % len(damages)]
        spec = TaskSpec(customer(order["customer_id"]), request=(
            f"Hi, I want to return the {line['product_name']} from order {order['id']} for a refund. {said}"))
        spec.call("getOrderDetails", order_id=order["id"])
        spec.check(
            r.nothing_new("no-refund", "No refund is created: the item's condition rules out a return", "refund"),
            r.reply("reply-item", "The reply names the order or the item", contains_any=[order["id"], line["product_name"]]),
            r.reply("reply-reason", "The reply names the condition that rules the return out", contains_any=words),
            r.judge("reply-refusal", "The reply declines the return politely, citing the return conditions",
                    r.reply("fallback", "declines", contains_any=["cannot", "can't", "unable", "not able", "not eligible"])),
        )
        spec.reply = (f"I'm sorry, but I can't accept the {line['product_name']} from order {order['id']} as a return. Our policy "
                      f"accepts items that are unopened, or opened and undamaged with their original packaging, and {condition} "
                      "rules a refund out. No refund has been created.")
        yield spec


@family("multi_order_return", "multi_step_workflow", "train", count={"two": 1, "with_late": 1, "three": 1},
        policy_rules=("return_window", "refund_net_of_discount", "shipping_not_refunded", "refund_pending_unless_authorised",
                      "post_refund_statuses", "refuse_with_reason"))
def multi_order_return(ctx: Context) -> Iterator[TaskSpec]:
    """One customer returns items from two or three orders (one sometimes past the window): a refund and status
    changes per eligible order, a refusal for the late one."""
    inside = returnable_orders(ctx, since=inside_window_since())
    late = {o["customer_id"]: o for o in returnable_orders(ctx, since=days_ago(100), before=outside_window_before())}
    by_customer: dict[str, list[dict]] = {}
    for order in inside:
        by_customer.setdefault(order["customer_id"], []).append(order)
    for customer_id in sorted(by_customer):
        orders = sorted(by_customer[customer_id], key=lambda o: o["id"])
        orders = [o for o in orders if not any(needs_finance(o, {line["product_id"]: line["quantity"]}) for line in o["lines"])]
        if len(orders) >= 3:
            yield _multi_return(ctx, customer_id, orders[:3], None, "three")
        if len(orders) >= 2:
            yield _multi_return(ctx, customer_id, orders[:2], None, "two")
            if customer_id in late:
                yield _multi_return(ctx, customer_id, orders[:2], late[customer_id], "with_late")


def _multi_return(ctx: Context, customer_id: str, orders: list[dict], late: dict | None, variant: str) -> TaskSpec:
    picks = [(order, ctx.rng.choice(order["lines"])) for order in orders]
    late_line = ctx.rng.choice(late["lines"]) if late else None
    asks = [f"the {line['product_name']} from {order['id']}" for order, line in picks]
    if late:
        asks.insert(1, f"the {late_line['product_name']} from {late['id']}")
    spec = TaskSpec(customer(customer_id), variant=variant, request=(
        f"Hi! I'm clearing out some parts I bought recently and never used. I'd like to return {', '.join(asks[:-1])} and "
        f"{asks[-1]}. Everything is still sealed in the original boxes. Please refund whatever you can."))
    plans = []
    for offset, (order, line) in enumerate(picks):
        spec.call("getOrderDetails", order_id=order["id"])
        if late and offset == 1:
            spec.call("getOrderDetails", order_id=late["id"])
        plans.append(return_refund(spec, ctx, order, {line["product_id"]: line["quantity"]}, reason="customer_remorse",
                                   offset=offset, tag=f"-{offset + 1}", check_lines=False))
    amounts = [plan.amount for plan in plans]
    spec.check(r.reply("reply-amounts", "The reply gives each refund amount", numbers=amounts))
    parts = [f"{money(p.amount)} for the {line['product_name']} ({order['id']}, {p.refund_id})" for p, (order, line) in zip(plans, picks)]
    spec.reply = "I've created pending refunds of " + "; ".join(parts) + ", each net of any loyalty discount (shipping is not refunded)."
    if late:
        spec.check(
            r.nothing_new("no-late-refund", f"No refund on {late['id']}: it is past the 30-day window", "refund",
                          payment_id=late["payments"][0]["id"]),
            r.judge("reply-late", f"The reply explains that {late['id']} is past the 30-day return window",
                    r.reply("fallback", "mentions the late order and the window", contains=[late["id"]], matches=r"30[- ]day")),
        )
        spec.reply += (f" I can't take back the {late_line['product_name']} from {late['id']}: it was ordered on "
                       f"{long_date(late['created_at'])}, more than 30 days ago, outside our 30-day return window.")
    return spec
