"""Payments and refunds."""

from __future__ import annotations

from decimal import Decimal

from ..world.pricing import to_cents
from ..world.schema import PAYMENT_METHODS, PAYMENT_STATUSES, REFUND_REASONS
from .base import (
    DEFAULT_LIMIT, NOW_ISO, Db, Filters, ToolError, array, entity_id, enum, integer, limit, number, string, timestamp, tool,
)

_ACTIVE_REFUNDS = "status NOT IN ('denied', 'failed')"  # refunds that count against what was paid
_REFUNDED_TOTAL = (f"(SELECT ROUND(COALESCE(SUM(f.amount), 0), 2) FROM refund f WHERE f.payment_id = payment.id AND f.{_ACTIVE_REFUNDS}) "
                   "AS refunded_total")  # a column of a query on payment


@tool(
    "searchPayments",
    "Find payments by id, order, status, method, transaction id or processing date. Each payment carries "
    "refunded_total, the sum of its refunds that were not denied or failed.",
    {
        "payment_id": entity_id("Exact payment id."),
        "order_id": entity_id("Payments of this order."),
        "status": enum("Payment status.", PAYMENT_STATUSES),
        "method": enum("Payment method.", PAYMENT_METHODS),
        "transaction_id": string("Exact processor transaction id.", max_length=40),
        "processed_after": timestamp("Processed at or after this time."),
        "processed_before": timestamp("Processed at or before this time."),
        "limit": limit(),
    },
)
def search_payments(db: Db, payment_id=None, order_id=None, status=None, method=None, transaction_id=None, processed_after=None,
                    processed_before=None, limit=DEFAULT_LIMIT) -> dict:
    where = (Filters().equals("id", payment_id).equals("order_id", order_id).equals("status", status).equals("method", method)
             .equals("transaction_id", transaction_id).since("processed_at", processed_after, "processed_after")
             .until("processed_at", processed_before, "processed_before"))
    sql = f"SELECT *, {_REFUNDED_TOTAL} FROM payment{where.where()} ORDER BY processed_at DESC, id LIMIT ?"
    return {"payments": db.all(sql, [*where.params, limit])}


def _check_refund_lines(db: Db, order_id: str, lines: list[dict], amount: Decimal) -> None:
    """Each line names a product of the order, within the quantity not yet refunded; the lines sum to the amount."""
    seen = set()
    for line in lines:
        product_id = line["product_id"]
        if product_id in seen:
            raise ToolError("invalid_argument", f"lines: product {product_id!r} appears twice; give one line per product")
        seen.add(product_id)
        if to_cents(line["amount"]) != Decimal(str(line["amount"])):  # stored as given, so no silent rounding
            raise ToolError("invalid_argument", f"lines: amount {line['amount']} for {product_id!r} has more than 2 decimal places")
        ordered, refunded = db.rows(
            "SELECT SUM(quantity), (SELECT COALESCE(SUM(l.quantity), 0) FROM refund_line l JOIN refund f ON f.id = l.refund_id "
            f"JOIN payment p ON p.id = f.payment_id WHERE p.order_id = ?1 AND l.product_id = ?2 AND f.{_ACTIVE_REFUNDS}) "
            "FROM order_line WHERE order_id = ?1 AND product_id = ?2", (order_id, product_id))[0]
        if not ordered:
            raise ToolError("invalid_argument", f"lines: product {product_id!r} is not in order {order_id!r}")
        if line["quantity"] > ordered - refunded:
            raise ToolError("invalid_argument", f"lines: {line['quantity']} × {product_id!r} requested but only {ordered - refunded} "
                                                f"of {ordered} ordered remain unrefunded")
    line_sum = sum((to_cents(line["amount"]) for line in lines), Decimal("0"))
    if line_sum != amount:
        raise ToolError("invalid_argument", f"lines sum to {line_sum} but amount is {amount}; they must be equal")


@tool(
    "createRefund",
    "Create a refund against a payment, optionally itemised per product line and linked to a support ticket. The "
    "system checks integrity (the payment was captured, the amount is positive and not above what remains "
    "unrefunded, lines match the order); it does not apply company policy (return window, shipping, discounts, "
    "approval), which is your responsibility. A new refund is usually 'pending'.",
    {
        "payment_id": entity_id("The payment to refund."),
        "amount": number("Refund amount in dollars (at most 2 decimals).", minimum=0, exclusive_minimum=True, maximum=1_000_000),
        "reason": enum("Why the money goes back.", REFUND_REASONS),
        "status": enum("Initial status.", ("pending", "approved")),
        "ticket_id": entity_id("The support ticket this refund belongs to."),
        "lines": array("Itemised refund lines; their amounts must sum to amount.", {
            "type": "object", "additionalProperties": False, "required": ["product_id", "quantity", "amount"],
            "properties": {"product_id": entity_id("Product id."), "quantity": integer("Units refunded.", maximum=100),
                           "amount": number("Amount for this line.", minimum=0, maximum=1_000_000)},
        }, max_items=20),
    },
    required=("payment_id", "amount", "reason"),
    writes=True,
)
def create_refund(db: Db, payment_id: str, amount: float, reason: str, status: str = "pending", ticket_id=None, lines=None) -> dict:
    payment = db.get("payment", "payment", payment_id, f"order_id, status, amount, {_REFUNDED_TOTAL}")
    if payment["status"] in ("pending", "failed"):
        raise ToolError("invalid_state", f"payment {payment_id} is {payment['status']}: nothing was captured, so nothing can be refunded")
    cents = to_cents(amount)
    if cents != Decimal(str(amount)):
        raise ToolError("invalid_argument", f"amount {amount} has more than 2 decimal places")
    refunded = Decimal(str(payment["refunded_total"]))
    remaining = to_cents(payment["amount"]) - refunded
    if cents > remaining:
        raise ToolError("amount_exceeds_payment", f"amount {cents} exceeds what remains refundable on {payment_id}: "
                                                  f"{remaining} (paid {payment['amount']:.2f}, already refunded {refunded})")
    if ticket_id is not None:
        ticket = db.get("support_ticket", "support ticket", ticket_id, "order_id")
        if ticket["order_id"] not in (None, payment["order_id"]):
            raise ToolError("invalid_argument", f"ticket {ticket_id} is about order {ticket['order_id']}, not {payment['order_id']}")
    if lines:
        _check_refund_lines(db, payment["order_id"], lines, cents)
    refund_id = db.next_id("refund", "ref", 5)
    db.execute("INSERT INTO refund (id, payment_id, ticket_id, amount, reason, status, created_at, processed_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
               (refund_id, payment_id, ticket_id, float(cents), reason, status, NOW_ISO))
    if lines:
        db.execute_many("INSERT INTO refund_line (refund_id, product_id, quantity, amount) VALUES (?, ?, ?, ?)",
                        [(refund_id, line["product_id"], line["quantity"], float(to_cents(line["amount"]))) for line in lines])
    return {"refund": {"id": refund_id, "payment_id": payment_id, "order_id": payment["order_id"], "ticket_id": ticket_id,
                       "amount": float(cents), "reason": reason, "status": status, "created_at": NOW_ISO, "lines": lines or []}}


@tool(
    "updatePaymentStatus",
    "Set a payment's status (for example refunded or partially_refunded after a refund). The system checks the "
    "status exists, not whether policy allows the change.",
    {"payment_id": entity_id("The payment to change."), "status": enum("The new status.", PAYMENT_STATUSES)},
    required=("payment_id", "status"),
    writes=True,
)
def update_payment_status(db: Db, payment_id: str, status: str) -> dict:
    payment = db.get("payment", "payment", payment_id, "status")
    if payment["status"] != status:
        db.execute("UPDATE payment SET status = ? WHERE id = ?", (status, payment_id))
    return {"payment_id": payment_id, "previous_status": payment["status"], "status": status}


TOOLS = (search_payments, create_refund, update_payment_status)
