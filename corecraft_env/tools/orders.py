"""Orders, their shipments and pricing."""

from __future__ import annotations

from ..world import pricing
from ..world.schema import CARRIERS, LOYALTY_TIERS, ORDER_STATUSES, SHIPMENT_STATUSES, SHIPPING_SERVICES
from .base import (
    DEFAULT_LIMIT, NOW_ISO, Db, Filters, ToolError, array, entity_id, enum, integer, limit, string, timestamp, tool,
)

ORDERS_PAGE = 10  # the company's order search returns one page of 10, newest first, and says nothing of the rest
_ORDER_SUMMARY = "id, customer_id, status, subtotal, discount, shipping_cost, total, shipping_service, build_id, created_at, updated_at"


@tool(
    "searchOrders",
    "Find orders by id, customer, status, product or creation date. Returns at most 10 orders, newest first "
    "(id, customer_id, status, subtotal, discount, shipping_cost, total, shipping_service, build_id, created_at, "
    "updated_at). Use getOrderDetails for line items, payment and shipment.",
    {
        "order_id": entity_id("Exact order id, e.g. ord-250830-110."),
        "customer_id": entity_id("Orders of this customer."),
        "status": enum("Order status.", ORDER_STATUSES),
        "product_id": entity_id("Orders containing this product."),
        "created_after": timestamp("Orders created at or after this time."),
        "created_before": timestamp("Orders created at or before this time (a bare date includes that day)."),
    },
)
def search_orders(db: Db, order_id=None, customer_id=None, status=None, product_id=None, created_after=None, created_before=None) -> dict:
    where = (Filters().equals("id", order_id).equals("customer_id", customer_id).equals("status", status)
             .exists("SELECT 1 FROM order_line l WHERE l.order_id = orders.id AND l.product_id = ?", product_id)
             .since("created_at", created_after, "created_after").until("created_at", created_before, "created_before"))
    sql = f"SELECT {_ORDER_SUMMARY} FROM orders{where.where()} ORDER BY created_at DESC, id DESC LIMIT {ORDERS_PAGE}"
    return {"orders": db.all(sql, where.params)}


@tool(
    "getOrderDetails",
    "Everything about one order: the order with its line items (product, quantity, unit price), shipping address "
    "and service, the customer (id, name, email, loyalty tier), its payments, shipments with tracking events, "
    "refunds, and the support tickets about it.",
    {"order_id": entity_id("The order id, e.g. ord-250830-110.")},
    required=("order_id",),
)
def get_order_details(db: Db, order_id: str) -> dict:
    order = db.get("orders", "order", order_id)
    order["lines"] = db.all(
        "SELECT l.line_no, l.product_id, p.name AS product_name, p.category, l.quantity, l.unit_price, "
        "ROUND(l.quantity * l.unit_price, 2) AS line_total FROM order_line l JOIN product p ON p.id = l.product_id "
        "WHERE l.order_id = ? ORDER BY l.line_no", (order_id,))
    order["customer"] = db.one("SELECT id, name, email, phone, loyalty_tier FROM customer WHERE id = ?", (order["customer_id"],))
    order["payments"] = db.all("SELECT * FROM payment WHERE order_id = ? ORDER BY id", (order_id,))
    order["shipments"] = db.all("SELECT * FROM shipment WHERE order_id = ? ORDER BY id", (order_id,))
    order["refunds"] = db.all(
        "SELECT f.* FROM refund f JOIN payment p ON p.id = f.payment_id WHERE p.order_id = ? ORDER BY f.id", (order_id,))
    if order["refunds"]:  # every refund's lines in one query
        lines: dict[str, list] = {}
        for refund in order["refunds"]:
            refund["lines"] = lines[refund["id"]] = []
        for refund_id, product_id, quantity, amount in db.rows(
                "SELECT l.refund_id, l.product_id, l.quantity, l.amount FROM refund_line l JOIN refund f ON f.id = l.refund_id "
                "JOIN payment p ON p.id = f.payment_id WHERE p.order_id = ? ORDER BY l.refund_id, l.product_id", (order_id,)):
            lines[refund_id].append({"product_id": product_id, "quantity": quantity, "amount": amount})
    order["tickets"] = db.all(
        "SELECT id, type, status, priority, subject, created_at FROM support_ticket WHERE order_id = ? ORDER BY id", (order_id,))
    return {"order": order}


@tool(
    "searchShipments",
    "Find shipments by id, order, tracking number, carrier, status or ship date. Returns each shipment with its "
    "tracking events (oldest first) and ETA.",
    {
        "shipment_id": entity_id("Exact shipment id."),
        "order_id": entity_id("Shipments of this order."),
        "tracking_number": string("Exact tracking number.", max_length=40),
        "carrier": enum("Carrier.", CARRIERS),
        "status": enum("Shipment status.", SHIPMENT_STATUSES),
        "shipped_after": timestamp("Shipped at or after this time."),
        "shipped_before": timestamp("Shipped at or before this time."),
        "limit": limit(),
    },
)
def search_shipments(db: Db, shipment_id=None, order_id=None, tracking_number=None, carrier=None, status=None, shipped_after=None,
                     shipped_before=None, limit=DEFAULT_LIMIT) -> dict:
    where = (Filters().equals("id", shipment_id).equals("order_id", order_id).equals("tracking_number", tracking_number)
             .equals("carrier", carrier).equals("status", status).since("shipped_at", shipped_after, "shipped_after")
             .until("shipped_at", shipped_before, "shipped_before"))
    return {"shipments": db.all(f"SELECT * FROM shipment{where.where()} ORDER BY shipped_at DESC, id LIMIT ?", [*where.params, limit])}


@tool(
    "updateOrderStatus",
    "Set an order's status (for example cancelled, refund_requested or refunded). The system checks that the status "
    "exists, not whether company policy allows the change: that is your responsibility.",
    {"order_id": entity_id("The order to change."), "status": enum("The new status.", ORDER_STATUSES)},
    required=("order_id", "status"),
    writes=True,
)
def update_order_status(db: Db, order_id: str, status: str) -> dict:
    order = db.get("orders", "order", order_id, "status, updated_at")
    if order["status"] != status:
        db.execute("UPDATE orders SET status = ?, updated_at = ? WHERE id = ?", (status, NOW_ISO, order_id))
    return {"order_id": order_id, "previous_status": order["status"], "status": status, "updated_at": NOW_ISO if order["status"] != status else order["updated_at"]}


@tool(
    "calculatePrice",
    "Price a list of products at today's catalogue prices: subtotal, loyalty discount on the subtotal (none 0%, "
    "silver 5%, gold 10%, platinum 15%), shipping by service (never discounted) and total. Give the loyalty tier, or "
    "a customer id to use that customer's tier.",
    {
        "items": array("Products and quantities.", {
            "type": "object", "additionalProperties": False, "required": ["product_id", "quantity"],
            "properties": {"product_id": entity_id("Product id."), "quantity": integer("Quantity.", maximum=100)},
        }),
        "shipping_service": enum("Shipping service.", SHIPPING_SERVICES),
        "loyalty_tier": enum("Loyalty tier to price at (default: the customer's, else none).", LOYALTY_TIERS),
        "customer_id": entity_id("Customer whose loyalty tier applies."),
    },
    required=("items", "shipping_service"),
)
def calculate_price(db: Db, items: list, shipping_service: str, loyalty_tier=None, customer_id=None) -> dict:
    if customer_id is not None:  # an unknown customer is an error even when an explicit tier overrides theirs
        customer_tier = db.get("customer", "customer", customer_id, "loyalty_tier")["loyalty_tier"]
        loyalty_tier = loyalty_tier or customer_tier
    loyalty_tier = loyalty_tier or "none"
    ids = list(dict.fromkeys(item["product_id"] for item in items))
    products = {row[0]: row for row in db.rows(f"SELECT id, name, price FROM product WHERE id IN ({', '.join('?' * len(ids))})", ids)}
    lines = []
    for item in items:
        product = products.get(item["product_id"])
        if product is None:
            raise ToolError("not_found", f"no product with id {item['product_id']!r}")
        product_id, name, price = product
        quantity = int(item["quantity"])  # the schema's integer also admits an integral float such as 2.0
        lines.append({"product_id": product_id, "name": name, "unit_price": price, "quantity": quantity,
                      "line_total": float(pricing.to_cents(price) * quantity)})
    quote = pricing.quote([(line["unit_price"], line["quantity"]) for line in lines], loyalty_tier, shipping_service)
    return {"lines": lines, "loyalty_tier": loyalty_tier, "discount_rate": float(pricing.LOYALTY_DISCOUNT_RATES[loyalty_tier]),
            "subtotal": quote.subtotal, "discount": quote.discount, "shipping": quote.shipping, "total": quote.total}


TOOLS = (search_orders, get_order_details, search_shipments, update_order_status, calculate_price)
