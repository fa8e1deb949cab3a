"""Billing and payment support: where a refund stands, why it is the amount it is, requests to refund shipping or a
"duplicate" charge, and what happened to the charge of a cancelled order. Mostly answers from the records, where
the right action is often to change nothing."""

from __future__ import annotations

from collections.abc import Iterator

from ...world.pricing import to_cents
from .. import rubric as r
from ..core import Context, TaskSpec, customer, employee, family
from ..facts import long_date, money, refund_lines, refund_total

STATUS_TEXT = {  # refund status -> (how the reply puts it, words a correct reply uses)
    "pending": ("is pending review; the money goes back once it is approved and processed", ["pending"]),
    "approved": ("has been approved and is waiting to be processed back to the original payment method", ["approved"]),
    "processed": ("was processed on {date}, back to the original payment method", ["processed", "completed", "issued"]),
}


def _orders(ctx: Context, sql: str, *params) -> list[dict]:
    return [ctx.tool("getOrderDetails", order_id=row["id"])["order"] for row in ctx.pick(ctx.db.all(sql, params))]


def _newest_order_id(ctx: Context, customer_id: str) -> str:
    return ctx.tool("searchOrders", customer_id=customer_id)["orders"][0]["id"]


def _diff(a: float, b: float) -> float:
    return float(to_cents(a) - to_cents(b))


def _relay_lookup(ctx: Context, spec: TaskSpec, order: dict, **filters) -> None:
    """The calls a colleague's request by e-mail needs: the customer, then their orders (newest first)."""
    spec.call("searchCustomers", email=order["customer"]["email"])
    spec.call("searchOrders", customer_id=order["customer_id"], **filters)


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _status_sentence(refund: dict) -> str:
    text = STATUS_TEXT[refund["status"]][0]
    return text.format(date=long_date(refund["processed_at"])) if refund.get("processed_at") else text


@family("refund_status_inquiry", "information_retrieval", "train", count={"customer": 6, "employee": 4},
        policy_rules=("tools_only", "no_unrequested_writes"))
def refund_status_inquiry(ctx: Context) -> Iterator[TaskSpec]:
    """Where a return refund stands: read the order, give the refund id, the amount actually refunded (not the
    amount the customer expected) and its status, and explain the difference; change nothing."""
    for order in _orders(ctx, "SELECT o.id FROM orders o WHERE o.status IN ('refund_requested', 'refunded') AND "
                              "(SELECT COUNT(*) FROM refund f JOIN payment p ON p.id = f.payment_id WHERE p.order_id = o.id) = 1 ORDER BY o.id"):
        refund = order["refunds"][0]
        if not refund["lines"]:
            continue
        units = {line["product_id"]: line["quantity"] for line in refund["lines"]}
        names = _and([line["product_name"] for line in order["lines"] if line["product_id"] in units])
        listed = float(sum(to_cents(line["unit_price"]) * units[line["product_id"]] for line in order["lines"] if line["product_id"] in units))
        claim = float(to_cents(listed) + to_cents(order["shipping_cost"]))
        if to_cents(claim) == to_cents(refund["amount"]):
            continue
        relayed = ctx.rng.random() < 0.4
        if relayed:
            if _newest_order_id(ctx, order["customer_id"]) != order["id"]:
                continue
            agent = ctx.staff()
            spec = TaskSpec(employee(agent["id"]), variant="employee", request=(
                f"{order['customer']['name']} ({order['customer']['email']}) is chasing the refund for the return on their most "
                f"recent order. They say they were promised {money(claim)} back (the {names} plus the shipping). What's the "
                "actual status and amount?"))
            _relay_lookup(ctx, spec, order)
        else:
            spec = TaskSpec(customer(order["customer_id"]), variant="customer", request=ctx.rng.choice((
                (f"Hi, I returned the {names} from order {order['id']}. Your colleague told me I'd get {money(claim)} back (item "
                "plus shipping). Where is my refund?"),
                (f"Hello, any news on my refund for order {order['id']}? I'm expecting {money(claim)} for the {names} and the "
                "shipping."))))
        spec.call("getOrderDetails", order_id=order["id"])
        words = STATUS_TEXT[refund["status"]][1]
        spec.check(
            r.reply("reply-refund", "The reply gives the refund id and the amount actually refunded", contains=[refund["id"]],
                    numbers=[refund["amount"]]),
            r.reply("reply-status", f"The reply gives the refund's status ({refund['status']})", contains_any=words),
            r.judge("reply-why", "The reply explains why the refund is not the amount the customer expected: shipping is "
                                 "never refunded on a return (and the loyalty discount comes off the item price)",
                    r.reply("fallback", "mentions shipping", contains=["shipping"])),
        )
        spec.reply = (f"Refund {refund['id']} for the {names} from order {order['id']} is {money(refund['amount'])} and "
                      f"{_status_sentence(refund)}. It is less than {money(claim)} because shipping is never refunded on a return"
                      + ("" if order["loyalty_tier"] == "none" else f", and the item is refunded at the price paid, after the "
                                                                       f"{order['loyalty_tier']} loyalty discount") + ".")
        blind = spec.ignoring("tools_only")
        blind.calls = list(spec.calls)
        blind.reply = (f"Refund {refund['id']} for the {names} from order {order['id']} is for {money(claim)} as you were told, and "
                       f"{_status_sentence(refund)}.")
        yield spec


def _policy_refund(order: dict) -> dict | None:
    """The order's only refund, when it is itemised exactly as policy prices it (net of discount, no shipping)."""
    if len(order["refunds"]) != 1 or not order["refunds"][0]["lines"]:
        return None
    refund = order["refunds"][0]
    units = {line["product_id"]: line["quantity"] for line in refund["lines"]}
    expected = refund_lines(order, units)
    if [to_cents(line.amount) for line in expected] != [to_cents(line["amount"]) for line in sorted(refund["lines"], key=lambda l: list(units).index(l["product_id"]))]:
        return None
    return refund if to_cents(refund_total(expected)) == to_cents(refund["amount"]) else None


@family("refund_amount_dispute", "reasoning", "train", count={"customer": 6, "employee": 4},
        policy_rules=("refund_net_of_discount", "no_unrequested_writes"))
def refund_amount_dispute(ctx: Context) -> Iterator[TaskSpec]:
    """A customer says a return refund came up short of the price they paid for the item: check the order, see the
    refund is the line price net of the loyalty discount the order was priced with, explain it and refund nothing
    more."""
    for order in _orders(ctx, "SELECT o.id FROM orders o WHERE o.status = 'refund_requested' AND o.loyalty_tier != 'none' ORDER BY o.id"):
        refund = _policy_refund(order)
        payment = order["payments"][0]
        if not refund or payment["status"] != "partially_refunded":
            continue
        units = {line["product_id"]: line["quantity"] for line in refund["lines"]}
        returned = [line for line in order["lines"] if line["product_id"] in units]
        names = _and([line["product_name"] for line in returned])
        listed = float(sum(to_cents(line["unit_price"]) * units[line["product_id"]] for line in returned))
        gap = _diff(listed, refund["amount"])
        remaining = _diff(payment["amount"], refund["amount"])
        if gap <= 0 or gap > remaining:
            continue
        relayed = ctx.rng.random() < 0.4
        if relayed:
            if [o["id"] for o in ctx.tool("searchOrders", customer_id=order["customer_id"], status="refund_requested")["orders"]] != [order["id"]]:
                continue
            agent = ctx.staff()
            spec = TaskSpec(employee(agent["id"]), variant="employee", request=(
                f"{order['customer']['name']} ({order['customer']['email']}) is upset: for the return on their order that's "
                f"waiting on a refund they got {money(refund['amount'])} instead of the {money(listed)} they paid for the {names}. "
                f"They want the missing {money(gap)}. Can you check and sort it out?"))
            _relay_lookup(ctx, spec, order, status="refund_requested")
        else:
            spec = TaskSpec(customer(order["customer_id"]), variant="customer", request=ctx.rng.choice((
                (f"I returned the {names} from order {order['id']} and the refund is only {money(refund['amount'])}, but the "
                f"price was {money(listed)}. Please send me the missing {money(gap)}."),
                (f"Hi, my refund {refund['id']} on order {order['id']} looks wrong: {money(refund['amount'])} instead of "
                f"{money(listed)}. Can you fix it?"))))
        spec.call("getOrderDetails", order_id=order["id"])
        tier = order["loyalty_tier"]
        spec.check(
            r.nothing_new("no-refund", "No further refund is created: the refund already matches policy", "refund"),
            r.row("payment-unchanged", f"Payment {payment['id']} stays partially_refunded", "payment", payment["id"],
                  status="partially_refunded"),
            r.reply("reply-amounts", "The reply gives the refunded amount and the list price it came from",
                    numbers=[refund["amount"], listed]),
            r.reply("reply-discount", f"The reply names the {tier} loyalty discount as the difference", contains=[tier],
                    contains_any=["discount"]),
            r.judge("reply-explains", "The reply explains politely that refunds are net of the loyalty discount the order was "
                                      "priced with, so the refund is correct",
                    r.reply("fallback", "says it is correct", contains_any=["correct", "right amount", "matches", "what you paid"])),
        )
        who = "they" if relayed else "you"
        spec.reply = (f"I've checked order {order['id']}: it was priced with the {tier} loyalty discount, so {who} paid "
                      f"{money(refund['amount'])} for the {names}, not the {money(listed)} list price. Refunds are net of the loyalty "
                      f"discount, so refund {refund['id']} of {money(refund['amount'])} is correct and matches what {who} paid; no "
                      "further refund is due.")
        blind = spec.ignoring("refund_net_of_discount")
        blind.calls = list(spec.calls)
        blind.call("createRefund", payment_id=payment["id"], amount=gap, reason="other", status="pending")
        blind.reply = f"You're right, sorry about that. I've created a pending refund of {money(gap)} for the difference."
        yield spec


@family("shipping_refund_request", "communication", "train", count={"customer": 6, "employee": 4},
        policy_rules=("shipping_not_refunded", "refuse_with_reason", "no_unrequested_writes"))
def shipping_refund_request(ctx: Context) -> Iterator[TaskSpec]:
    """After a full return the customer asks for the shipping charge back as well: refuse, citing the rule that
    shipping is never refunded on a return, and change nothing."""
    for order in _orders(ctx, "SELECT o.id FROM orders o WHERE o.status = 'refunded' ORDER BY o.id"):
        payment = order["payments"][0]
        refunds = order["refunds"]
        if len(refunds) != 1 or refunds[0]["reason"] not in ("customer_remorse", "incompatible") or payment["status"] != "refunded":
            continue
        refund, shipping = refunds[0], order["shipping_cost"]
        if _diff(payment["amount"], refund["amount"]) != shipping:
            continue
        relayed = ctx.rng.random() < 0.4
        if relayed:
            agent = ctx.staff()
            spec = TaskSpec(employee(agent["id"]), variant="employee", request=(
                f"{order['customer']['name']} returned all of order {order['id']} and got refund {refund['id']}, but wants the "
                f"{money(shipping)} {order['shipping_service']} shipping back too. Can you refund that?"))
        else:
            spec = TaskSpec(customer(order["customer_id"]), variant="customer", request=ctx.rng.choice((
                (f"Hi, I sent back everything from order {order['id']} and got {money(refund['amount'])} back, but you kept the "
                f"{money(shipping)} I paid for shipping. Since I returned the whole order, please refund the shipping too."),
                (f"Why wasn't my shipping refunded on order {order['id']}? I returned the whole thing. Please refund the "
                f"{money(shipping)}."))))
        spec.call("getOrderDetails", order_id=order["id"])
        spec.check(
            r.nothing_new("no-refund", "No refund of the shipping is created", "refund"),
            r.row("payment-unchanged", f"Payment {payment['id']} stays refunded", "payment", payment["id"], status="refunded"),
            r.reply("reply-amounts", "The reply gives the goods refund and the shipping charge",
                    numbers=[refund["amount"], shipping], contains=["shipping"]),
            r.reply("reply-rule", "The reply states the rule: shipping is not refunded on a return",
                    matches=r"(?i)(never|not|isn't|is not|non-?)[ -]?(be )?refund(ed|able)"),
            r.judge("reply-refusal", "The reply declines the shipping refund politely and explains the policy",
                    r.reply("fallback", "declines", contains_any=["cannot", "can't", "unable", "not able", "sorry"])),
        )
        spec.reply = (f"I'm sorry, the shipping can't be refunded. Refund {refund['id']} of {money(refund['amount'])} covered everything "
                      f"{'they' if relayed else 'you'} paid for the goods on order {order['id']}, but shipping is never refunded on a return, even for a full "
                      f"return, so the {money(shipping)} shipping charge stays. Nothing else has been changed.")
        blind = spec.ignoring("shipping_not_refunded")
        blind.calls = list(spec.calls)
        blind.call("createRefund", payment_id=payment["id"], amount=shipping, reason=refund["reason"], status="pending")
        blind.reply = f"Of course: I've created a pending refund of {money(shipping)} for the shipping on order {order['id']}."
        mute = spec.ignoring("refuse_with_reason")
        mute.calls = list(spec.calls)
        mute.reply = f"I'm sorry, I'm unable to help with the {money(shipping)} on order {order['id']}."
        yield spec


@family("duplicate_charge_claim", "communication", "heldout", count=10,
        policy_rules=("tools_only", "refuse_with_reason", "no_unrequested_writes"))
def duplicate_charge_claim(ctx: Context) -> Iterator[TaskSpec]:
    """A colleague relays a customer who believes their latest order was charged twice: find the customer and the
    order, see there is a single captured payment, explain it with the payment's id, amount and date, and refund
    nothing."""
    for order in _orders(ctx, "SELECT o.id FROM orders o WHERE o.status IN ('delivered', 'shipped', 'fulfilled', 'paid') ORDER BY o.id"):
        payment = order["payments"][0]
        if len(order["payments"]) != 1 or payment["status"] != "captured" or _newest_order_id(ctx, order["customer_id"]) != order["id"]:
            continue
        agent = ctx.staff()
        person = order["customer"]
        method = payment["method"].replace("_", " ")
        spec = TaskSpec(employee(agent["id"]), request=ctx.rng.choice((
            (f"{person['name']} ({person['email']}) says their {method} statement shows their latest order with us charged twice. "
            "Please refund the duplicate."),
            (f"Billing question from {person['email']}: they think we charged them twice for the most recent order. Can you "
            "check and refund the extra charge?"))))
        _relay_lookup(ctx, spec, order)
        spec.call("getOrderDetails", order_id=order["id"])
        spec.check(
            r.nothing_new("no-refund", "No refund is created: the order was charged once", "refund"),
            r.reply("reply-payment", "The reply identifies the single payment (id or transaction id) and its amount",
                    contains_any=[payment["id"], payment["transaction_id"]], numbers=[payment["amount"]]),
            r.reply("reply-order", "The reply names the order checked", contains=[order["id"]]),
            r.judge("reply-explains", "The reply explains that our records show one charge only, so there is no duplicate to "
                                      "refund, and suggests what the customer can send if their statement still shows two",
                    r.reply("fallback", "says one charge", contains_any=["one charge", "single charge", "one payment", "single payment",
                                                                        "only one", "charged once"])),
        )
        spec.reply = (f"I checked {person['name']}'s latest order, {order['id']} ({long_date(order['created_at'])}): it has a single "
                      f"payment, {payment['id']} ({method}, transaction {payment['transaction_id']}) for {money(payment['amount'])}, "
                      "captured once. There is only one charge on our side, so there is no duplicate to refund and I haven't "
                      "created one. If their statement still shows a second charge, ask them for its date, amount and "
                      "reference so we can look into it.")
        blind = spec.ignoring("tools_only")
        blind.calls = list(spec.calls)
        blind.call("createRefund", payment_id=payment["id"], amount=payment["amount"], reason="other", status="pending")
        blind.reply = f"Sorry about that: I've created a pending refund of {money(payment['amount'])} for the duplicate charge on {order['id']}."
        mute = spec.ignoring("refuse_with_reason")
        mute.calls = list(spec.calls)
        mute.reply = "I've looked into it and there's no refund to issue here."
        yield spec


@family("cancelled_charge_inquiry", "information_retrieval", "heldout", count={"refunded": 6, "failed": 4},
        policy_rules=("no_unrequested_writes",))
def cancelled_charge_inquiry(ctx: Context) -> Iterator[TaskSpec]:
    """A customer asks what happened to the money for a cancelled order: either the charge was refunded in full (give
    the refund id, amount and status) or the payment failed and nothing was ever taken; no new refund, no change."""
    for order in _orders(ctx, "SELECT o.id FROM orders o WHERE o.status = 'cancelled' ORDER BY o.id"):
        payment = order["payments"][0]
        spec = TaskSpec(customer(order["customer_id"]), variant="failed" if payment["status"] == "failed" else "refunded",
                        request=ctx.rng.choice((
                            f"Hi, order {order['id']} was cancelled. Was I charged for it, and if so, when do I get my money back?",
                            (f"My order {order['id']} shows as cancelled but I'm not sure about the {money(payment['amount'])}. "
                            "Can you check whether I'm owed a refund?"))))
        spec.call("getOrderDetails", order_id=order["id"])
        spec.check(r.nothing_new("no-refund", "No new refund is created", "refund"))
        if payment["status"] == "failed":
            spec.check(
                r.reply("reply-failed", "The reply says the payment failed, so nothing was charged", contains=[order["id"]],
                        contains_any=["failed", "never captured", "not captured", "wasn't charged", "were not charged", "not charged"]),
                r.judge("reply-refund", "The reply explains that no refund is needed because no money was taken",
                        r.reply("fallback", "no refund needed", contains_any=["no refund", "nothing to refund", "not need"])),
            )
            spec.reply = (f"Order {order['id']} was cancelled because its {payment['method'].replace('_', ' ')} payment "
                          f"{payment['id']} failed: the {money(payment['amount'])} was never captured, so you weren't charged and "
                          "there is nothing to refund. Nothing has been changed.")
        elif order["refunds"] and payment["status"] == "refunded":
            refund = order["refunds"][0]
            spec.check(
                r.reply("reply-refund", "The reply gives the refund id and amount", contains=[refund["id"]], numbers=[refund["amount"]]),
                r.reply("reply-status", f"The reply gives the refund's status ({refund['status']})", contains_any=STATUS_TEXT[refund["status"]][1]),
            )
            spec.reply = (f"Yes, order {order['id']} was charged {money(payment['amount'])}, and when it was cancelled the full amount "
                          f"was refunded: refund {refund['id']} of {money(refund['amount'])} {_status_sentence(refund)}. No further "
                          "refund is due.")
        else:
            continue
        yield spec
