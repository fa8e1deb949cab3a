"""Cancellations: allowed only for pending or paid orders; a captured payment is refunded in full as approved."""

from __future__ import annotations

from collections.abc import Iterator

from .. import rubric as r
from ..core import Context, TaskSpec, customer, employee, family
from ..facts import LARGE_REFUND, eastern_window, money
from ..recipes import cancel_captured

REASONS = ("I ordered it by mistake.", "I found what I need locally.", "I changed my mind about the build.",
           "I picked the wrong model.")


def orders_with_status(ctx: Context, *statuses: str, since: str = "0000") -> list[dict]:
    rows = ctx.db.all(f"SELECT id FROM orders WHERE status IN ({', '.join('?' * len(statuses))}) AND created_at >= ? ORDER BY id",
                      (*statuses, since))
    return [ctx.tool("getOrderDetails", order_id=row["id"])["order"] for row in ctx.pick(rows)]


@family("cancel_unshipped_order", "multi_step_workflow", "train", count={"paid": 2, "pending": 1},
        policy_rules=("cancel_only_pending_or_paid", "cancellation_refund", "no_unrequested_writes"))
def cancel_unshipped_order(ctx: Context) -> Iterator[TaskSpec]:
    """Cancel an order that has not left the warehouse: a paid one gets an approved refund of the whole charge and its
    payment refunded; a pending one (nothing captured) is only cancelled."""
    for order in orders_with_status(ctx, "paid", "pending"):
        payment = order["payments"][0]
        if payment["amount"] > LARGE_REFUND:  # keep the Slack large-refund practice out of this family
            continue
        spec = TaskSpec(customer(order["customer_id"]), variant=order["status"], request=(
            f"Hi, please cancel my order {order['id']}. {ctx.rng.choice(REASONS)} Thanks!"))
        spec.call("getOrderDetails", order_id=order["id"])
        if payment["status"] == "captured":
            refund_id = cancel_captured(spec, ctx, order)
            spec.check(r.reply("reply", "The reply confirms the cancellation with the refund id and amount",
                               contains=[refund_id, order["id"]], numbers=[payment["amount"]]))
            spec.reply = (f"Order {order['id']} is cancelled. Refund {refund_id} of {money(payment['amount'])} (the full amount "
                          f"charged, shipping included) is approved and payment {payment['id']} is marked refunded.")
        else:
            spec.call("updateOrderStatus", order_id=order["id"], status="cancelled")
            spec.check(
                r.row("order", f"Order {order['id']} is cancelled", "orders", order["id"], status="cancelled"),
                r.nothing_new("no-refund", f"No refund: payment {payment['id']} was never captured", "refund"),
                r.reply("reply", "The reply confirms the cancellation and that nothing was charged",
                        contains=[order["id"]], contains_any=["not charged", "no charge", "wasn't charged", "was not charged",
                                                              "never charged", "nothing was charged", "not captured", "never captured"]),
            )
            spec.allow("orders", order["id"], ops=("update",))
            spec.reply = (f"Order {order['id']} is cancelled. Its payment was still pending, so nothing was charged and no "
                          "refund is needed.")
        yield spec


@family("cancel_refused_shipped", "communication", "train", count={"by_id": 2, "for_customer": 1},
        policy_rules=("cancel_only_pending_or_paid", "refuse_with_reason", "no_unrequested_writes", "eastern_time"))
def cancel_refused_shipped(ctx: Context) -> Iterator[TaskSpec]:
    """A cancellation asked for after the order was fulfilled or shipped: refuse, offer a return instead, change
    nothing."""
    for index, order in enumerate(orders_with_status(ctx, "fulfilled", "shipped")):
        status = order["status"]
        window = eastern_window(order["created_at"])
        found = ctx.tool("searchOrders", customer_id=order["customer_id"], created_after=window.after, created_before=window.before)
        if index % 2 and [o["id"] for o in found["orders"]] == [order["id"]]:
            agent = ctx.staff()
            person = order["customer"]
            spec = TaskSpec(employee(agent["id"]), variant="for_customer", request=(
                f"{person['name']} ({person['email']}) just called: they want to cancel the order they placed {window.phrase} "
                "Eastern time. Can you cancel it for them?"))
            spec.call("searchCustomers", email=person["email"])
            spec.call("searchOrders", customer_id=order["customer_id"], created_after=window.after, created_before=window.before)
        else:
            spec = TaskSpec(customer(order["customer_id"]), variant="by_id", request=(
                f"Please cancel order {order['id']} and refund me. {ctx.rng.choice(REASONS)}"))
        spec.call("getOrderDetails", order_id=order["id"])
        spec.check(
            r.row("order-unchanged", f"Order {order['id']} stays {status}: it can no longer be cancelled", "orders", order["id"], status=status),
            r.nothing_new("no-refund", "No refund is created", "refund"),
            r.reply("reply-status", "The reply names the order and its current status", contains=[order["id"]],
                    contains_any=[status, "on its way", "in transit", "left our warehouse", "already shipped", "been shipped"]),
            r.judge("reply-return", "The reply explains that only pending or paid orders can be cancelled and offers a return "
                                    "once it arrives (within 30 days of the order date)",
                    r.reply("fallback", "offers a return", contains=["return"])),
        )
        spec.reply = (f"I'm sorry, order {order['id']} is already {status}, and only pending or paid orders can be cancelled. "
                      "Once it arrives you can return it within 30 days of the order date (unopened, or opened and undamaged) "
                      "for a refund of the items, less any loyalty discount; shipping is not refunded. Nothing has been changed.")
        yield spec
