"""Returns: partial and full returns inside the window, refusals outside it or for the item's condition, returns of
what is left after an earlier partial refund, and returns spread over several orders."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from .. import rubric as r
from ..core import Context, TaskSpec, customer, employee, family
from ...world.generator import parse_iso
from ..facts import (
    EASTERN,
    EasternWindow,
    days_ago,
    eastern_window,
    inside_window_since,
    long_date,
    money,
    needs_finance,
    outside_window_before,
    tier_discount,
)
from ..recipes import return_refund

REFUND_RULES = ("refund_net_of_discount", "shipping_not_refunded", "itemised_refund", "refund_pending_unless_authorised",
                "post_refund_statuses")

UNDAMAGED = (
    "It's still sealed in the original box.",
    "I opened it but it's in perfect condition, with all the original packaging.",
    "Never opened, still shrink-wrapped.",
    "I took it out of the box to look at it, but never installed it; everything is back in the original packaging.",
)
UNDAMAGED_RELAYED = (  # the same, as an employee relays it
    "it's still sealed",
    "they opened it but it's undamaged and in the original packaging",
    "it was never opened",
)
DAMAGE = (  # (what the customer says, words a correct refusal uses, the condition policy names)
    ("I knocked a glass of water over it, so it got a bit wet, but otherwise it's fine.", ["liquid", "water", "wet"], "liquid damage"),
    ("I threw the box away already, but the item itself is fine.", ["packaging", "box"], "missing original packaging"),
    ("I dropped it while installing and one corner is cracked.", ["damage", "crack"], "physical damage"),
    ("I modded it a bit (reflashed the firmware and swapped the fans), but I'd like to return it.", ["modified", "modification", "modded", "firmware"],
     "modification"),
)
MISREMEMBERING = 0.4  # the share of customers who get a fact of their order wrong


def misremembered_date(ctx: Context, order: dict) -> str:
    """A day or a week before the order's (Eastern) date: what a customer who misremembers it says."""
    placed = parse_iso(order["created_at"]).astimezone(EASTERN).date()
    return long_date(placed - timedelta(days=ctx.rng.choice((2, 3, 4, 5, 6, 7))))


def misremembered_total(ctx: Context, order: dict) -> float:
    """A round figure some dollars off the order's total: what a customer who misremembers it says they paid."""
    return float(round(order["total"] * ctx.rng.choice((0.8, 0.85, 1.15, 1.2))))


WHY = ("Plans changed and I no longer need it.", "I found a better fit for my build.", "It turned out to be more than I need.",
       "I ordered it twice by mistake.")


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


def _unique_in_window(ctx: Context, order: dict) -> EasternWindow | None:
    """The Eastern-time phrase of the order's creation if it singles the order out among the customer's, else None."""
    window = eastern_window(order["created_at"])
    found = ctx.tool("searchOrders", customer_id=order["customer_id"], created_after=window.after, created_before=window.before)
    return window if [o["id"] for o in found["orders"]] == [order["id"]] else None


def utc_misread(window: EasternWindow) -> dict:
    """The filter an agent that takes the requester's Eastern times as UTC would send."""
    return {"created_after": window.after[:19] + "Z", "created_before": window.before[:19] + "Z"}


def eastern_trap(ctx: Context, order: dict) -> tuple[EasternWindow, dict] | None:
    """(window, UTC-misread filter) when the Eastern phrase singles the order out and the UTC misreading misses it."""
    window = _unique_in_window(ctx, order)
    if not window:
        return None
    wrong = utc_misread(window)
    found = ctx.tool("searchOrders", customer_id=order["customer_id"], **wrong)["orders"]
    return None if any(o["id"] == order["id"] for o in found) else (window, wrong)


def not_found_blind(spec: TaskSpec, order: dict, window: EasternWindow, wrong: dict, what: str) -> None:
    """An agent blind to eastern_time: filters with the Eastern times read as UTC, misses the order, asks for the id."""
    blind = spec.ignoring("eastern_time")
    blind.call("searchOrders", customer_id=order["customer_id"], **wrong)
    blind.reply = (f"I searched your orders from {window.phrase} but couldn't find one with {what}. Could you send me the "
                   "order number so I can look into it?")


def _requester(ctx: Context, order: dict, customer_text: str, relayed_text: str, employee_share: float) -> TaskSpec:
    """A customer request, or (with probability ``employee_share``) a support colleague relaying it with the order id."""
    if ctx.rng.random() < employee_share:
        agent = ctx.staff()
        return TaskSpec(employee(agent["id"]), variant="employee", request=relayed_text.format(name=order["customer"]["name"]))
    return TaskSpec(customer(order["customer_id"]), variant="customer", request=customer_text)


@family("return_partial_line", "multi_step_workflow", "train", count={"customer": 6, "employee": 4}, policy_rules=REFUND_RULES)
def return_partial_line(ctx: Context) -> Iterator[TaskSpec]:
    """Return one line (or some units of it) of a delivered multi-line order inside the window: pending itemised
    refund net of the loyalty discount without shipping, order refund_requested, payment partially_refunded."""
    for order in returnable_orders(ctx, min_lines=2, since=inside_window_since(), discounted=True):
        line = ctx.rng.choice(order["lines"])
        units = 1 if line["quantity"] > 1 and ctx.rng.random() < 0.6 else line["quantity"]
        if needs_finance(order, {line["product_id"]: units}):
            continue
        what = f"one of the {line['quantity']} {line['product_name']} units" if units < line["quantity"] else f"the {line['product_name']}"
        misremembered = misremembered_date(ctx, order) if ctx.rng.random() < MISREMEMBERING else None
        bought = f" I bought it on {misremembered}, I think." if misremembered else ""
        spec = _requester(ctx, order, (
            f"Hello, I want to return {what} from order {order['id']}.{bought} {ctx.rng.choice(UNDAMAGED)} {ctx.rng.choice(WHY)} "
            "Can you refund it to my original payment method, please?"), (
            f"Hi, {{name}} wants to return {what} from order {order['id']}; {ctx.rng.choice(UNDAMAGED_RELAYED)}. The rest of the "
            "order stays with them. Please set up the refund and let me know the amount so I can tell them."), 0.4)
        spec.call("getOrderDetails", order_id=order["id"])
        plan = return_refund(spec, ctx, order, {line["product_id"]: units}, reason="customer_remorse")
        spec.check(
            r.reply("reply-amount", "The reply gives the refund id and amount", numbers=[plan.amount], contains=[plan.refund_id]),
            r.judge("reply-explains", "The reply explains the amount: the loyalty discount comes off and shipping is not refunded",
                    r.reply("fallback", "mentions shipping", contains=["shipping"])),
        )
        spec.reply = (f"I've created refund {plan.refund_id} for {money(plan.amount)} for {what} from order {order['id']}: the "
                      f"price paid less {tier_discount(order['loyalty_tier'])} (shipping is not refundable). The refund is pending "
                      f"review; the order is now {plan.order_status} and the payment {plan.payment_status}.")
        if misremembered and spec.variant == "customer":
            spec.check(r.reply("reply-order-date", f"The reply takes the order date from the record, not the customer's "
                                                   f"misremembered {misremembered}", not_contains=[misremembered]))
            spec.reply += f" For your records, order {order['id']} was placed on {long_date(order['created_at'])}."
        yield spec


@family("return_partial_line_by_date", "multi_step_workflow", "train", count=9, policy_rules=("eastern_time", *REFUND_RULES))
def return_partial_line_by_date(ctx: Context) -> Iterator[TaskSpec]:
    """A customer returns one item of an order they identify only by when they placed it, in Eastern time: find the
    order with an Eastern-time filter, then a pending itemised refund net of discount and the post-refund statuses."""
    for order in returnable_orders(ctx, min_lines=2, since=inside_window_since(), discounted=True):
        line = ctx.rng.choice(order["lines"])
        if needs_finance(order, {line["product_id"]: line["quantity"]}):
            continue
        trap = eastern_trap(ctx, order)
        if not trap:
            continue
        window, wrong = trap
        spec = TaskSpec(customer(order["customer_id"]), request=(
            f"Hi, I'd like to return the {line['product_name']} I ordered {window.phrase}. {ctx.rng.choice(UNDAMAGED)} "
            "I don't have the order number to hand. Please refund it to my original payment method."))
        spec.call("searchOrders", customer_id=order["customer_id"], created_after=window.after, created_before=window.before)
        spec.call("getOrderDetails", order_id=order["id"])
        plan = return_refund(spec, ctx, order, {line["product_id"]: line["quantity"]}, reason="customer_remorse")
        spec.check(
            r.reply("reply-amount", "The reply names the order found and gives the refund id and amount", numbers=[plan.amount],
                    contains=[plan.refund_id, order["id"]]),
            r.judge("reply-explains", "The reply explains the amount: the loyalty discount comes off and shipping is not refunded",
                    r.reply("fallback", "mentions shipping", contains=["shipping"])),
        )
        spec.reply = (f"I found your order {order['id']} from {long_date(order['created_at'])} and created refund {plan.refund_id} for "
                      f"{money(plan.amount)} for the {line['product_name']}: the line price less {tier_discount(order['loyalty_tier'])} "
                      f"(shipping is not refundable). It is pending review; the order is now {plan.order_status} and the payment "
                      f"{plan.payment_status}.")
        not_found_blind(spec, order, window, wrong, f"the {line['product_name']}")
        yield spec


@family("return_full_order", "multi_step_workflow", "train", count={"customer": 6, "employee": 4}, policy_rules=REFUND_RULES)
def return_full_order(ctx: Context) -> Iterator[TaskSpec]:
    """Return every line of an order inside the window: the refund is what was paid for the goods (subtotal less
    discount, never the shipping), split per line; order and payment become refunded."""
    for order in returnable_orders(ctx, min_lines=2, max_lines=3, since=inside_window_since(), discounted=True):
        returned = {line["product_id"]: line["quantity"] for line in order["lines"]}
        if needs_finance(order, returned):
            continue
        claimed = misremembered_total(ctx, order) if ctx.rng.random() < MISREMEMBERING else None
        refund_ask = f"Please refund me the {money(claimed)} I paid." if claimed else "Please refund me."
        spec = _requester(ctx, order, (
            f"Hi there. I'd like to send back everything from order {order['id']} - {ctx.rng.choice(WHY).lower()} "
            f"{ctx.rng.choice(UNDAMAGED)} {refund_ask}"), (
            f"{{name}} is sending back the whole of order {order['id']} ({ctx.rng.choice(UNDAMAGED_RELAYED)}). Can you process "
            "the return refund and tell me what they'll get back?"), 0.4)
        spec.call("getOrderDetails", order_id=order["id"])
        plan = return_refund(spec, ctx, order, returned, reason="customer_remorse")
        spec.check(
            r.reply("reply-amount", "The reply gives the refund id and amount", numbers=[plan.amount], contains=[plan.refund_id]),
            r.judge("reply-shipping", "The reply explains that the shipping charge is not refunded",
                    r.reply("fallback", "mentions shipping", contains=["shipping"])),
        )
        spec.reply = (f"Refund {plan.refund_id} of {money(plan.amount)} is created for all items of order {order['id']}: what was "
                      f"paid for the goods after {tier_discount(order['loyalty_tier'])}. The {money(order['shipping_cost'])} shipping "
                      "charge is not refundable. The refund is pending review; the order and payment are marked refunded.")
        if claimed and spec.variant == "customer":
            spec.check(r.reply("reply-paid", f"The reply takes the amounts from the order, not the customer's misremembered "
                                             f"{money(claimed)}", not_numbers=[claimed]))
            spec.reply += f" The order came to {money(order['total'])} in all, shipping included."
        yield spec


def remaining_units(order: dict) -> dict[str, int]:
    """Units of each product not covered by an active refund yet."""
    back: dict[str, int] = {}
    for refund in order["refunds"]:
        if refund["status"] not in ("denied", "failed"):
            for line in refund["lines"]:
                back[line["product_id"]] = back.get(line["product_id"], 0) + line["quantity"]
    return {line["product_id"]: line["quantity"] - back.get(line["product_id"], 0) for line in order["lines"]
            if line["quantity"] > back.get(line["product_id"], 0)}


@family("return_remaining_items", "multi_step_workflow", "train", count={"customer": 4, "employee": 3}, policy_rules=REFUND_RULES)
def return_remaining_items(ctx: Context) -> Iterator[TaskSpec]:
    """An order already partly refunded: the customer now sends back everything that is left. The new refund covers
    only the remaining units (net of discount, no shipping) and, the order now being fully returned, the order and
    payment become refunded rather than staying partial."""
    rows = ctx.db.all("SELECT id FROM orders WHERE status = 'refund_requested' AND created_at >= ? ORDER BY id", (inside_window_since(),))
    for row in ctx.pick(rows):
        order = ctx.tool("getOrderDetails", order_id=row["id"])["order"]
        left = remaining_units(order)
        if not left or order["loyalty_tier"] == "none" or needs_finance(order, left) or order["payments"][0]["status"] != "partially_refunded":
            continue
        earlier = order["refunds"][-1]
        names = ", ".join(line["product_name"] for line in order["lines"] if line["product_id"] in left)
        for relayed in ctx.pick([False, True], 1):  # one asker per order: the pool of such orders is small
            if relayed:
                agent = ctx.staff()
                spec = TaskSpec(employee(agent["id"]), variant="employee", request=(
                    f"{order['customer']['name']} already has refund {earlier['id']} on order {order['id']}. They've now decided to "
                    f"return the rest of the order too ({names}), all unused and in the original boxes. "
                    "Please process it and tell me the amount."))
            else:
                spec = TaskSpec(customer(order["customer_id"]), variant="customer", request=(
                    f"Hi again. You already refunded part of order {order['id']}. I've decided to send back everything else from "
                    f"that order as well ({names}). {ctx.rng.choice(UNDAMAGED)} Please refund the rest."))
            spec.call("getOrderDetails", order_id=order["id"])
            plan = return_refund(spec, ctx, order, left, reason="customer_remorse")
            spec.check(
                r.reply("reply-amount", "The reply gives the new refund id and amount", numbers=[plan.amount], contains=[plan.refund_id]),
                r.judge("reply-status", "The reply says the whole order is now returned (order and payment refunded) and that "
                                        "shipping is not refunded",
                        r.reply("fallback", "mentions shipping and the refunded status", contains=["shipping", "refunded"])),
            )
            spec.reply = (f"I've created refund {plan.refund_id} for {money(plan.amount)} covering the remaining items of order "
                          f"{order['id']} ({names}), net of {tier_discount(order['loyalty_tier'])}; shipping is not refundable. "
                          f"Together with the earlier refund {earlier['id']} the whole order is now returned, so the order and "
                          "payment are marked refunded. The new refund is pending review.")
            yield spec


@family("return_outside_window", "communication", "train", count={"customer": 6, "employee": 3},
        policy_rules=("return_window", "refuse_with_reason", "no_unrequested_writes"))
def return_outside_window(ctx: Context) -> Iterator[TaskSpec]:
    """A return asked for after the 30-day window: refuse and explain, create no refund."""
    recent = days_ago(100)  # late, but recent enough that the customer might hope
    for order in returnable_orders(ctx, since=recent, before=outside_window_before()):
        line = ctx.rng.choice(order["lines"])
        if needs_finance(order, {line["product_id"]: line["quantity"]}):
            continue
        spec = _requester(ctx, order, (
            f"Hi, I'd like to return the {line['product_name']} from order {order['id']}. {ctx.rng.choice(UNDAMAGED)} How do I get my "
            "money back?"), (
            f"{{name}} wants to return the {line['product_name']} from order {order['id']} ({ctx.rng.choice(UNDAMAGED_RELAYED)}). "
            "Can you refund it for them?"), 0.35)
        spec.call("getOrderDetails", order_id=order["id"])
        _late_refusal(spec, ctx, order, line)
        yield spec


def _late_refusal(spec: TaskSpec, ctx: Context, order: dict, line: dict, *, with_reason: bool = True) -> None:
    """The refusal of a late return, with the blind solutions of return_window (and refuse_with_reason)."""
    placed = long_date(order["created_at"])
    spec.check(
        r.nothing_new("no-refund", "No refund is created: the order is outside the 30-day return window", "refund"),
        r.row("order-unchanged", f"Order {order['id']} stays delivered", "orders", order["id"], status="delivered"),
        r.reply("reply-order", "The reply names the order and when it was placed",
                contains=[order["id"]], contains_any=[placed, order["created_at"][:10], placed.split(",")[0]]),
        r.reply("reply-window", "The reply cites the 30-day return window", matches=r"30[- ]day"),
        r.judge("reply-refusal", "The reply declines the return politely and says why",
                r.reply("fallback", "declines", contains_any=["cannot", "can't", "unable", "not able", "outside", "past"])),
    )
    spec.reply = (f"I'm sorry, but order {order['id']} was placed on {placed}, more than 30 days ago. Returns are accepted only "
                  f"within 30 days of the order date, so the {line['product_name']} can't be refunded. Nothing has been changed "
                  "on the order.")
    blind = spec.ignoring("return_window")
    blind.calls = [c for c in spec.calls]
    plan = return_refund(blind, ctx, order, {line["product_id"]: line["quantity"]}, reason="customer_remorse")
    blind.reply = (f"I've created refund {plan.refund_id} for {money(plan.amount)} for the {line['product_name']} from order "
                   f"{order['id']}; it is pending review.")
    if with_reason:
        mute = spec.ignoring("refuse_with_reason")
        mute.calls = [c for c in spec.calls if c.name != "createRefund"]
        mute.reply = f"I'm sorry, I'm not able to process a refund for the {line['product_name']}. Let me know if there's anything else."


@family("return_outside_window_by_date", "communication", "heldout", count={"customer": 5, "employee": 5},
        policy_rules=("return_window", "eastern_time", "no_unrequested_writes"))
def return_outside_window_by_date(ctx: Context) -> Iterator[TaskSpec]:
    """A late return of an order the requester identifies by when it was placed (Eastern time), sometimes relayed by
    a colleague who knows only the customer's e-mail: find the order with an Eastern-time filter, then refuse it as
    past the 30-day window without changing anything."""
    recent = days_ago(100)
    for order in returnable_orders(ctx, since=recent, before=outside_window_before()):
        line = ctx.rng.choice(order["lines"])
        trap = eastern_trap(ctx, order)
        if not trap or needs_finance(order, {line["product_id"]: line["quantity"]}):
            continue
        window, wrong = trap
        person = order["customer"]
        if ctx.rng.random() < 0.5:
            agent = ctx.staff()
            spec = TaskSpec(employee(agent["id"]), variant="employee", request=(
                f"Customer on the phone, {person['email']}: they want to return the {line['product_name']} from the order they "
                f"placed {window.phrase}. {ctx.rng.choice(UNDAMAGED_RELAYED).capitalize()}. Can you process a refund?"))
            spec.call("searchCustomers", email=person["email"])
        else:
            spec = TaskSpec(customer(order["customer_id"]), variant="customer", request=(
                f"Hi, the {line['product_name']} I bought {window.phrase} turned out to be more than I need. "
                "It's unopened. Can I return it for a refund?"))
        spec.call("searchOrders", customer_id=order["customer_id"], created_after=window.after, created_before=window.before)
        spec.call("getOrderDetails", order_id=order["id"])
        _late_refusal(spec, ctx, order, line, with_reason=False)
        blind = spec.ignoring("eastern_time")
        blind.calls = [c for c in spec.calls if c.name == "searchCustomers"]
        blind.call("searchOrders", customer_id=order["customer_id"], **wrong)
        blind.reply = (f"I searched the orders from {window.phrase} but couldn't find one with the {line['product_name']}. Could you "
                       "send me the order number so I can check the return?")
        yield spec


@family("return_condition_refused", "communication", "train", count={"customer": 6, "employee": 3},
        policy_rules=("return_condition", "refuse_with_reason", "no_unrequested_writes"))
def return_condition_refused(ctx: Context) -> Iterator[TaskSpec]:
    """A return inside the window of an item that is damaged, modified or without its packaging: refuse, no refund."""
    damages = ctx.pick(DAMAGE)
    for index, order in enumerate(returnable_orders(ctx, since=inside_window_since())):
        line = ctx.rng.choice(order["lines"])
        if needs_finance(order, {line["product_id"]: line["quantity"]}):
            continue
        said, words, condition = damages[index % len(damages)]
        spec = _requester(ctx, order, (
            f"Hi, I want to return the {line['product_name']} from order {order['id']} for a refund. {said}"), (
            f"{{name}} is asking to return the {line['product_name']} from order {order['id']}. Their words: \"{said}\" "
            "Please sort out the refund."), 0.35)
        spec.call("getOrderDetails", order_id=order["id"])
        spec.check(
            r.nothing_new("no-refund", "No refund is created: the item's condition rules out a return", "refund"),
            r.row("order-unchanged", f"Order {order['id']} stays delivered", "orders", order["id"], status="delivered"),
            r.reply("reply-item", "The reply names the order or the item", contains_any=[order["id"], line["product_name"]]),
            r.reply("reply-reason", "The reply names the condition that rules the return out", contains_any=words),
            r.judge("reply-refusal", "The reply declines the return politely, citing the return conditions",
                    r.reply("fallback", "declines", contains_any=["cannot", "can't", "unable", "not able", "not eligible"])),
        )
        spec.reply = (f"I'm sorry, but the {line['product_name']} from order {order['id']} can't be accepted as a return. Our policy "
                      f"accepts items that are unopened, or opened and undamaged with their original packaging, and {condition} "
                      "rules a refund out. No refund has been created.")
        blind = spec.ignoring("return_condition")
        blind.call("getOrderDetails", order_id=order["id"])
        plan = return_refund(blind, ctx, order, {line["product_id"]: line["quantity"]}, reason="customer_remorse")
        blind.reply = (f"The order is inside the 30-day window, so I've created refund {plan.refund_id} for {money(plan.amount)} for "
                       f"the {line['product_name']}; it is pending review.")
        mute = spec.ignoring("refuse_with_reason")
        mute.call("getOrderDetails", order_id=order["id"])
        mute.reply = f"I'm sorry, I'm not able to accept this return of order {order['id']}. Let me know if I can help with anything else."
        yield spec


# -- several orders ----------------------------------------------------------------------------------------------------
def _small_lines(order: dict) -> list[dict]:
    """Lines whose refund stays under the large-refund practice's line."""
    return [line for line in order["lines"] if not needs_finance(order, {line["product_id"]: line["quantity"]})]


def _eligible(orders: list[dict]) -> list[dict]:
    return sorted((o for o in orders if _small_lines(o)), key=lambda o: o["id"])


@family("multi_order_return", "multi_step_workflow", "train", count={"two": 3, "three": 8, "four": 2, "two_by_email": 6},
        policy_rules=("shipping_not_refunded", "refund_pending_unless_authorised", "post_refund_statuses"))
def multi_order_return(ctx: Context) -> Iterator[TaskSpec]:
    """One customer returns an item from each of two to four recent orders (sometimes relayed by a colleague who
    names only the products and the customer's e-mail, so the orders must be found first): a pending refund per order
    (net of that order's discount, never its shipping) and the right order and payment statuses, order by order."""
    by_customer: dict[str, list[dict]] = {}
    for order in returnable_orders(ctx, since=inside_window_since()):
        by_customer.setdefault(order["customer_id"], []).append(order)
    for customer_id in ctx.pick(sorted(by_customer)):
        orders = _eligible(by_customer[customer_id])
        for size, variant in ((4, "four"), (3, "three"), (2, "two")):
            if len(orders) >= size:
                yield _multi_return(ctx, customer_id, sorted(ctx.pick(orders, size), key=lambda o: o["id"]), [], variant)
        if len(orders) >= 2:
            chosen = sorted(ctx.pick(orders, 2), key=lambda o: o["id"])
            page = ctx.tool("searchOrders", customer_id=customer_id)["orders"]
            if all(o["id"] in [p["id"] for p in page] for o in chosen):
                spec = _multi_return(ctx, customer_id, chosen, [], "two_by_email", by_email=True)
                if spec:
                    yield spec


@family("multi_order_return_with_late", "multi_step_workflow", "train", count={"one_late": 5, "two_late": 3, "three_plus_late": 1},
        policy_rules=("return_window", "refuse_with_reason", "refund_net_of_discount", "shipping_not_refunded",
                      "refund_pending_unless_authorised", "post_refund_statuses"))
def multi_order_return_with_late(ctx: Context) -> Iterator[TaskSpec]:
    """A customer clearing out parts from several orders, one or two of them past the 30-day window: refund what is
    returnable order by order, refuse the late ones with the reason, and change nothing on them."""
    inside: dict[str, list[dict]] = {}
    for order in returnable_orders(ctx, since=inside_window_since()):
        inside.setdefault(order["customer_id"], []).append(order)
    late: dict[str, list[dict]] = {}
    for order in returnable_orders(ctx, since=days_ago(120), before=outside_window_before()):
        late.setdefault(order["customer_id"], []).append(order)
    for customer_id in ctx.pick(sorted(set(inside) & set(late))):
        orders, old = _eligible(inside[customer_id]), sorted(late[customer_id], key=lambda o: o["id"])
        if not orders or not any(o["loyalty_tier"] != "none" for o in orders):
            continue
        if len(orders) >= 3:
            yield _multi_return(ctx, customer_id, orders[:3], old[:1], "three_plus_late")
        if len(orders) >= 2 and len(old) >= 2:
            yield _multi_return(ctx, customer_id, orders[:2], old[:2], "two_late")
        if len(orders) >= 2:
            yield _multi_return(ctx, customer_id, orders[:2], old[:1], "one_late")
        else:
            yield _multi_return(ctx, customer_id, orders[:1], old[:1], "one_late")


MULTI_RETURN_OPENERS = (
    "I'm clearing out some parts I bought and never used.", "I over-bought for my build and want to send a few things back.",
    "My project got cancelled, so I have some spare parts to return.", "I got a bit carried away in the sales.",
    "My build plans changed and some parts are now surplus.", "I'm downsizing my setup and don't need everything I ordered.")
ALL_SEALED = ("Everything is still sealed in the original boxes.", "None of it was ever opened.",
              "All of it is unopened and boxed.", "Every item is still factory-sealed.")
MULTI_RETURN_ASKS = (  # one ask, or the refund and the amounts asked for together
    "Please refund whatever you can.", "Can you refund what you can and tell me how much I get back for each?",
    "How much will I get back for each, and can you start the refunds?", "Please process the refunds and list the amounts.")


def _only_in(order: dict, line: dict, others: list[dict]) -> bool:
    """Whether ``line``'s product is on ``order`` and on none of ``others`` (so naming it identifies the order)."""
    return not any(line["product_id"] in {l["product_id"] for l in other["lines"]} for other in others if other["id"] != order["id"])


def _multi_return(ctx: Context, customer_id: str, orders: list[dict], late: list[dict], variant: str, *,
                  by_email: bool = False) -> TaskSpec | None:
    picks = [(order, ctx.rng.choice(_small_lines(order))) for order in orders]
    late_picks = [(order, ctx.rng.choice(order["lines"])) for order in late]
    everything = sorted(picks + late_picks, key=lambda p: p[0]["created_at"])
    if by_email:
        person = orders[0]["customer"]
        page = [ctx.tool("getOrderDetails", order_id=o["id"])["order"] for o in ctx.tool("searchOrders", customer_id=customer_id)["orders"]]
        if not all(_only_in(order, line, page) for order, line in picks):
            return None  # a named product is on several of the orders: it would not identify one
        names = [f"the {line['product_name']}" for _, line in everything]
        spec = TaskSpec(employee(ctx.staff()["id"]), variant=variant, request=(
            f"{person['name']} ({person['email']}) called: they want to return {names[0]} and {names[1]} they bought "
            "recently (two separate orders, they don't have the order numbers). Both are still sealed. Please process the "
            "refunds and give me the amounts to pass on."))
        spec.call("searchCustomers", email=person["email"])
        spec.call("searchOrders", customer_id=customer_id)
    else:
        asks = [f"the {line['product_name']} from {order['id']}" for order, line in everything]
        opener = ctx.rng.choice(MULTI_RETURN_OPENERS)
        spec = TaskSpec(customer(customer_id), variant=variant, request=(
            f"{opener} I'd like to return {', '.join(asks[:-1])} and {asks[-1]}. {ctx.rng.choice(ALL_SEALED)} "
            f"{ctx.rng.choice(MULTI_RETURN_ASKS)}"))
    plans = []
    for order, _ in everything:
        spec.call("getOrderDetails", order_id=order["id"])
    for offset, (order, line) in enumerate(picks):
        plans.append(return_refund(spec, ctx, order, {line["product_id"]: line["quantity"]}, reason="customer_remorse",
                                   offset=offset, tag=f"-{offset + 1}", check_lines=False))
    amounts = [plan.amount for plan in plans]
    spec.check(r.reply("reply-amounts", "The reply gives each refund amount", numbers=amounts))
    parts = [f"{p.refund_id}: {money(p.amount)} for the {line['product_name']} from {order['id']} (order now {p.order_status}, "
             f"payment {p.payment_status})" for p, (order, line) in zip(plans, picks)]
    spec.reply = (("I've created pending refunds " if len(parts) > 1 else "I've created a pending refund ") + "; ".join(parts)
                  + ". Each is net of the loyalty discount its order was priced with, and shipping is not refunded.")
    if late:
        mute = spec.ignoring("refuse_with_reason")
        mute.calls = list(spec.calls)
        mute.reply = spec.reply
        grant = spec.ignoring("return_window")
        grant.calls = list(spec.calls)
        refused = []
        for index, (order, line) in enumerate(late_picks, start=1):
            spec.check(
                r.nothing_new(f"no-late-refund-{index}", f"No refund on {order['id']}: it is past the 30-day window", "refund",
                              payment_id=order["payments"][0]["id"]),
                r.judge(f"reply-late-{index}", f"The reply explains that {order['id']} is past the 30-day return window",
                        r.reply("fallback", "mentions the late order and the window", contains=[order["id"]], matches=r"30[- ]day")),
            )
            refused.append(f"the {line['product_name']} from {order['id']} (ordered {long_date(order['created_at'])})")
            return_refund(grant, ctx, order, {line["product_id"]: line["quantity"]}, reason="customer_remorse", offset=len(plans) + index - 1)
        spec.reply += (f" I can't take back {' or '.join(refused)}: {'they were' if len(refused) > 1 else 'it was'} ordered more than "
                       "30 days ago, outside our 30-day return window, so nothing was changed there.")
        grant.reply = spec.reply.split(" I can't take back")[0] + " The other items are refunded as well, pending review."
    return spec
