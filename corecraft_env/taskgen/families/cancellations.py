"""Cancellations: allowed only for pending or paid orders; a captured payment is refunded in full as approved.
Orders already fulfilled or shipped are refused with the reason and a return offered."""

from __future__ import annotations

from collections.abc import Iterator

from .. import rubric as r
from ..core import Context, TaskSpec, customer, employee, family
from ..facts import LARGE_REFUND, long_date, money
from ..recipes import cancel_captured
from .returns import eastern_trap

REASONS = ("I ordered it by mistake.", "I found what I need locally.", "I changed my mind about the build.",
           "I picked the wrong model.", "The delivery date doesn't work for me any more.")
RELAYED_REASONS = ("They ordered it by mistake.", "They found the parts locally.", "They changed their mind about the build.",
                   "They picked the wrong model.", "The delivery date no longer works for them.")
RETURN_OFFER = ("Once it arrives you can return it within 30 days of the order date (unopened, or opened and undamaged) "
                "for a refund of the items, less any loyalty discount; shipping is not refunded.")


def orders_with_status(ctx: Context, *statuses: str, since: str = "0000") -> list[dict]:
    rows = ctx.db.all(f"SELECT id FROM orders WHERE status IN ({', '.join('?' * len(statuses))}) AND created_at >= ? ORDER BY id",
                      (*statuses, since))
    return [ctx.tool("getOrderDetails", order_id=row["id"])["order"] for row in ctx.pick(rows)]


def _cancellable_paid(ctx: Context) -> list[dict]:
    """Paid orders whose captured charge is under the large-refund line (kept out of the Slack finance practice)."""
    return [o for o in orders_with_status(ctx, "paid") if o["payments"][0]["status"] == "captured" and o["payments"][0]["amount"] <= LARGE_REFUND]


@family("cancel_unshipped_order", "multi_step_workflow", "train", count={"customer": 5, "employee": 5},
        policy_rules=("cancellation_refund",))
def cancel_unshipped_order(ctx: Context) -> Iterator[TaskSpec]:
    """Cancel a paid order that has not left the warehouse: an approved refund of the whole charge (shipping
    included), the payment refunded and the order cancelled. Asked by the customer with the order id, or by a colleague
    who knows only the customer's e-mail."""
    for relayed in (False, True):
        for order in _cancellable_paid(ctx):
            payment = order["payments"][0]
            if relayed:
                agent = ctx.staff()
                person = order["customer"]
                spec = TaskSpec(employee(agent["id"]), variant="employee", request=(
                    f"{person['name']} ({person['email']}) asked by chat to cancel the order they placed on "
                    f"{long_date(order['created_at'])} that hasn't shipped yet. {ctx.rng.choice(RELAYED_REASONS)} "
                    "Please cancel it and make sure they get their money back."))
                spec.call("searchCustomers", email=person["email"])
                spec.call("searchOrders", customer_id=order["customer_id"], status="paid")
            else:
                spec = TaskSpec(customer(order["customer_id"]), variant="customer", request=(
                    f"Hi, please cancel my order {order['id']}. {ctx.rng.choice(REASONS)} Thanks!"))
            spec.call("getOrderDetails", order_id=order["id"])
            refund_id = cancel_captured(spec, ctx, order)
            spec.check(r.reply("reply", "The reply confirms the cancellation with the refund id and the full amount charged",
                               contains=[refund_id, order["id"]], numbers=[payment["amount"]]))
            spec.reply = (f"Order {order['id']} is cancelled. Refund {refund_id} of {money(payment['amount'])} (the full amount "
                          f"charged, shipping included) is approved and payment {payment['id']} is marked refunded.")
            yield spec


def _refusal_checks(spec: TaskSpec, order: dict, tag: str = "") -> None:
    status = order["status"]
    spec.check(
        r.row(f"order-unchanged{tag}", f"Order {order['id']} stays {status}: it can no longer be cancelled", "orders", order["id"],
              status=status),
        r.nothing_new(f"no-refund{tag}", f"No refund on {order['id']}", "refund", payment_id=order["payments"][0]["id"]),
        r.reply(f"reply-status{tag}", f"The reply names {order['id']} and its current status", contains=[order["id"]],
                contains_any=[status, "on its way", "in transit", "left our warehouse", "already shipped", "been shipped"]),
    )


def _cancel_anyway(blind: TaskSpec, ctx: Context, order: dict) -> str:
    """What an agent blind to cancel_only_pending_or_paid does: the full cancellation workflow on a shipped order."""
    refund_id = cancel_captured(blind, ctx, order)
    return f"Order {order['id']} is cancelled and refund {refund_id} of {money(order['payments'][0]['amount'])} is approved."


@family("cancel_refused_shipped", "communication", "train", count={"customer": 6, "employee": 4},
        policy_rules=("cancel_only_pending_or_paid", "refuse_with_reason", "no_unrequested_writes"))
def cancel_refused_shipped(ctx: Context) -> Iterator[TaskSpec]:
    """A cancellation asked for after the order was fulfilled or shipped: refuse with the reason, offer a return
    instead, change nothing."""
    for order in orders_with_status(ctx, "fulfilled", "shipped"):
        if ctx.rng.random() < 0.4:
            agent = ctx.staff()
            spec = TaskSpec(employee(agent["id"]), variant="employee", request=(
                f"{order['customer']['name']} wants order {order['id']} cancelled and refunded. {ctx.rng.choice(RELAYED_REASONS)} "
                "Can you take care of it?"))
        else:
            spec = TaskSpec(customer(order["customer_id"]), variant="customer", request=(
                f"Please cancel order {order['id']} and refund me. {ctx.rng.choice(REASONS)}"))
        spec.call("getOrderDetails", order_id=order["id"])
        _refused_reply(spec, ctx, order)
        yield spec


def _refused_reply(spec: TaskSpec, ctx: Context, order: dict) -> None:
    status = order["status"]
    _refusal_checks(spec, order)
    spec.check(r.judge("reply-return", "The reply explains that only pending or paid orders can be cancelled and offers a return "
                                       "once it arrives (within 30 days of the order date)",
                       r.reply("fallback", "offers a return", contains=["return"])))
    spec.reply = (f"I'm sorry, order {order['id']} is already {status}, and only pending or paid orders can be cancelled. "
                  f"{RETURN_OFFER} Nothing has been changed.")
    blind = spec.ignoring("cancel_only_pending_or_paid")
    blind.calls = list(spec.calls)
    blind.reply = _cancel_anyway(blind, ctx, order)
    mute = spec.ignoring("refuse_with_reason")
    mute.calls = list(spec.calls)
    mute.reply = "I'm sorry, I can't cancel that order for you. Is there anything else I can help with?"


@family("cancel_refused_by_date", "communication", "train", count=8,
        policy_rules=("cancel_only_pending_or_paid", "eastern_time", "refuse_with_reason"))
def cancel_refused_by_date(ctx: Context) -> Iterator[TaskSpec]:
    """A colleague relays a caller who wants to cancel the order they placed at a given (Eastern) time: find the
    customer and the order with an Eastern-time filter, see it has already been fulfilled or shipped, refuse and offer
    a return."""
    for order in orders_with_status(ctx, "fulfilled", "shipped"):
        trap = eastern_trap(ctx, order)
        if not trap:
            continue
        window, wrong = trap
        agent = ctx.staff()
        person = order["customer"]
        spec = TaskSpec(employee(agent["id"]), request=ctx.rng.choice((
            (f"{person['name']} ({person['email']}) just called: they want to cancel the order they placed {window.phrase}. "
            "Can you cancel it for them?"),
            (f"Caller with e-mail {person['email']} wants the order from {window.phrase} cancelled and refunded. "
            "Could you handle it and tell me what to say?"))))
        spec.call("searchCustomers", email=person["email"])
        spec.call("searchOrders", customer_id=order["customer_id"], created_after=window.after, created_before=window.before)
        spec.call("getOrderDetails", order_id=order["id"])
        _refused_reply(spec, ctx, order)
        blind = spec.ignoring("eastern_time")
        blind.call("searchCustomers", email=person["email"])
        blind.call("searchOrders", customer_id=order["customer_id"], **wrong)
        blind.reply = (f"I couldn't find an order placed {window.phrase} for {person['email']}. Could you ask them for the order "
                       "number?")
        yield spec


@family("bulk_cancel_orders", "multi_step_workflow", "heldout", count={"hard": 3, "expert": 8},
        policy_rules=("cancel_only_pending_or_paid", "cancellation_refund", "refuse_with_reason"))
def bulk_cancel_orders(ctx: Context) -> Iterator[TaskSpec]:
    """An operations colleague forwards the overnight cancellation queue: several orders of different customers,
    each cancelled according to its state: paid orders get an approved refund of the whole charge and a refunded
    payment, pending ones (nothing captured) are only cancelled, and one that has already shipped is left alone and
    reported back with the reason."""
    paid = _cancellable_paid(ctx)
    pending = [o for o in orders_with_status(ctx, "pending") if o["payments"][0]["status"] == "pending"]
    gone = orders_with_status(ctx, "fulfilled", "shipped")
    shapes = [(3, 0, "expert"), (2, 1, "expert"), (1, 1, "hard"), (2, 0, "hard"), (2, 2, "expert"), (1, 2, "hard")]
    for index in range(40):
        n_paid, n_pending, variant = shapes[index % len(shapes)]
        queue = ctx.pick(paid, n_paid) + ctx.pick(pending, n_pending) + ctx.pick(gone, 1)
        yield _bulk_cancel(ctx, ctx.pick(queue), variant)


def _bulk_cancel(ctx: Context, queue: list[dict], variant: str) -> TaskSpec:
    agent = ctx.staff("order_processing")
    ids = ", ".join(o["id"] for o in queue)
    spec = TaskSpec(employee(agent["id"]), variant=variant, request=ctx.rng.choice((
        (f"Morning! These customers asked to cancel through the web form overnight: {ids}. Please process the "
        "cancellations and send me a summary of what happened to each."),
        f"Cancellation queue for today: {ids}. Can you work through them (refunds where needed) and report back per order?")))
    for order in queue:
        spec.call("getOrderDetails", order_id=order["id"])
    refunds, lines, refused = 0, [], []
    blind_cancel = spec.ignoring("cancel_only_pending_or_paid")
    blind_cancel.calls = list(spec.calls)
    for order in queue:
        payment, tag = order["payments"][0], f"-{order['id']}"
        if order["status"] == "paid":
            refund_id = ctx.next_id("refund", refunds)
            refunds += 1
            for target in (spec, blind_cancel):
                target.call("createRefund", payment_id=payment["id"], amount=payment["amount"], reason="customer_remorse", status="approved")
                target.call("updatePaymentStatus", payment_id=payment["id"], status="refunded")
                target.call("updateOrderStatus", order_id=order["id"], status="cancelled")
            spec.check(
                r.state(f"refund{tag}", f"One approved refund of the full charge {money(payment['amount'])} on {payment['id']}",
                        "refund", where={"payment_id": payment["id"]}, new_only=True, count=1,
                        expect={"amount": payment["amount"], "status": "approved"}),
                r.row(f"payment{tag}", f"Payment {payment['id']} is refunded", "payment", payment["id"], status="refunded"),
                r.row(f"order{tag}", f"Order {order['id']} is cancelled", "orders", order["id"], status="cancelled"),
            )
            spec.allow("refund", refund_id, ops=("insert",)).allow("refund_line", refund_id, ops=("insert",))
            spec.allow("orders", order["id"], ops=("update",)).allow("payment", payment["id"], ops=("update",))
            lines.append(f"{order['id']}: cancelled; refund {refund_id} of {money(payment['amount'])} approved, payment refunded.")
        elif order["status"] == "pending":
            for target in (spec, blind_cancel):
                target.call("updateOrderStatus", order_id=order["id"], status="cancelled")
            spec.check(
                r.row(f"order{tag}", f"Order {order['id']} is cancelled", "orders", order["id"], status="cancelled"),
                r.nothing_new(f"no-refund{tag}", f"No refund on {payment['id']}: it was never captured", "refund", payment_id=payment["id"]),
            )
            spec.allow("orders", order["id"], ops=("update",))
            lines.append(f"{order['id']}: cancelled; the payment was still pending, so nothing was charged and no refund is needed.")
        else:
            refused.append(order)
            lines.append(f"{order['id']}: not cancelled. It is already {order['status']}, and only pending or paid orders can be "
                         "cancelled; the customer can return it within 30 days of the order date once it arrives.")
    for order in refused:
        _refusal_checks(spec, order, f"-{order['id']}")
        blind_cancel.reply = _cancel_anyway(blind_cancel, ctx, order)
    spec.check(r.judge("reply-refused", "The reply explains why the shipped or fulfilled order could not be cancelled (only "
                                        "pending or paid orders can be) and that a return is possible instead",
                       r.reply("fallback", "gives the reason and the return", contains=["return"], contains_any=["pending or paid", "only"])))
    spec.reply = "Here is the queue:\n" + "\n".join(f"- {line}" for line in lines)
    blind_cancel.reply = "All orders in the queue are cancelled and the charges refunded."
    mute = spec.ignoring("refuse_with_reason")
    mute.calls = list(spec.calls)
    mute.reply = "Done: " + " ".join(line.split(" It is already")[0].replace("not cancelled.", "skipped.") for line in lines)
    return spec
