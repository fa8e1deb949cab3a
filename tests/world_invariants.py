"""Coherence rules of a generated world, each an SQL query that returns the rows violating it (none expected)."""

NOW = "2025-09-15T18:00:00Z"
_RATE = "CASE {tier} WHEN 'silver' THEN 0.05 WHEN 'gold' THEN 0.10 WHEN 'platinum' THEN 0.15 ELSE 0 END"
_SHIPPING = "CASE o.shipping_service WHEN 'standard' THEN 9.99 WHEN 'express' THEN 19.99 WHEN 'overnight' THEN 39.99 END"
# Which payment status each order status implies (cancelled: refunded if it had been captured, else failed).
_PAYMENT_FOR_ORDER = """CASE o.status WHEN 'pending' THEN 'pending' WHEN 'refunded' THEN 'refunded'
    WHEN 'refund_requested' THEN 'partially_refunded' WHEN 'cancelled' THEN p.status ELSE 'captured' END"""

# The message text names the id as a whole word (ids are digits at the end, so the next character is not one).
_MENTIONS = "(m.text GLOB '*' || {id} || '[^0-9]*' OR m.text GLOB '*' || {id})"

INVARIANTS: dict[str, str] = {
    "order subtotal is the sum of its lines": """
        SELECT o.id FROM orders o JOIN (SELECT order_id, SUM(quantity * unit_price) s FROM order_line GROUP BY order_id) l
        ON l.order_id = o.id WHERE ABS(o.subtotal - ROUND(l.s, 2)) > 0.005""",
    "every order has at least one line": "SELECT o.id FROM orders o WHERE NOT EXISTS (SELECT 1 FROM order_line l WHERE l.order_id = o.id)",
    "discount is the loyalty rate of the subtotal": f"""
        SELECT o.id FROM orders o WHERE ABS(o.discount - ROUND(o.subtotal * {_RATE.format(tier='o.loyalty_tier')} + 1e-9, 2)) > 0.005""",
    "order is priced at its customer's tier": "SELECT o.id FROM orders o JOIN customer c ON c.id = o.customer_id WHERE o.loyalty_tier != c.loyalty_tier",
    "shipping follows the service and is never discounted": f"SELECT o.id FROM orders o WHERE ABS(o.shipping_cost - {_SHIPPING}) > 0.005",
    "total = subtotal - discount + shipping": "SELECT id FROM orders WHERE ABS(total - (subtotal - discount + shipping_cost)) > 0.005",
    "each order has exactly one payment": "SELECT o.id FROM orders o WHERE (SELECT COUNT(*) FROM payment p WHERE p.order_id = o.id) != 1",
    "payment amount equals the order total": "SELECT p.id FROM payment p JOIN orders o ON o.id = p.order_id WHERE ABS(p.amount - o.total) > 0.005",
    "payment status agrees with the order status": f"""
        SELECT p.id FROM payment p JOIN orders o ON o.id = p.order_id WHERE p.status != {_PAYMENT_FOR_ORDER}
        OR (o.status = 'cancelled' AND p.status NOT IN ('refunded', 'failed'))""",
    "shipments exist exactly for orders that shipped": """
        SELECT o.id FROM orders o WHERE (SELECT COUNT(*) FROM shipment s WHERE s.order_id = o.id)
        != (o.status IN ('shipped', 'delivered', 'refund_requested', 'refunded'))""",
    "delivered orders have delivered shipments": """
        SELECT o.id FROM orders o JOIN shipment s ON s.order_id = o.id
        WHERE (o.status IN ('delivered', 'refund_requested', 'refunded')) != (s.status = 'delivered')""",
    "shipment events are time-ordered": """
        SELECT s.id FROM shipment s, json_each(s.events) a, json_each(s.events) b
        WHERE a.key < b.key AND json_extract(a.value, '$.timestamp') > json_extract(b.value, '$.timestamp')""",
    "shipment status is its last event": """
        SELECT s.id FROM shipment s WHERE json_extract(s.events, '$[#-1].status') != s.status""",
    "shipment starts after the order": """
        SELECT s.id FROM shipment s JOIN orders o ON o.id = s.order_id
        WHERE s.shipped_at < o.created_at OR json_extract(s.events, '$[0].timestamp') != s.shipped_at""",
    "payment processed after the order was placed": "SELECT p.id FROM payment p JOIN orders o ON o.id = p.order_id WHERE p.processed_at < o.created_at",
    "ticket's order belongs to the ticket's customer": """
        SELECT t.id FROM support_ticket t JOIN orders o ON o.id = t.order_id WHERE o.customer_id != t.customer_id""",
    "ticket opened after its order": "SELECT t.id FROM support_ticket t JOIN orders o ON o.id = t.order_id WHERE t.created_at < o.created_at",
    "resolved and closed tickets (only) carry a resolution": """
        SELECT id FROM support_ticket WHERE (status IN ('resolved', 'closed')) != (resolution_id IS NOT NULL)
        OR (status IN ('resolved', 'closed')) != (closure_reason IS NOT NULL)""",
    "a ticket's resolution is about that ticket": """
        SELECT t.id FROM support_ticket t JOIN resolution r ON r.id = t.resolution_id WHERE r.ticket_id != t.id""",
    "resolution comes after the ticket was opened": """
        SELECT r.id FROM resolution r JOIN support_ticket t ON t.id = r.ticket_id WHERE r.created_at < t.created_at""",
    "a resolution's refund belongs to the same ticket": """
        SELECT r.id FROM resolution r JOIN refund f ON f.id = r.refund_id WHERE f.ticket_id IS NOT r.ticket_id""",
    "refund_issued resolutions link a refund": "SELECT id FROM resolution WHERE outcome = 'refund_issued' AND refund_id IS NULL",
    "a refund's ticket is about the refunded order": """
        SELECT f.id FROM refund f JOIN payment p ON p.id = f.payment_id JOIN support_ticket t ON t.id = f.ticket_id
        WHERE t.order_id IS NOT p.order_id""",
    "refunds never exceed what was paid": """
        SELECT p.id FROM payment p JOIN refund f ON f.payment_id = p.id WHERE f.status NOT IN ('denied', 'failed')
        GROUP BY p.id HAVING SUM(f.amount) > p.amount + 0.005""",
    "returns never refund shipping": """
        SELECT f.id FROM refund f JOIN payment p ON p.id = f.payment_id JOIN orders o ON o.id = p.order_id
        WHERE o.status != 'cancelled' AND f.amount > o.total - o.shipping_cost + 0.005""",
    "return refunds are the sum of their itemised lines": """
        SELECT f.id FROM refund f JOIN payment p ON p.id = f.payment_id JOIN orders o ON o.id = p.order_id
        WHERE o.status != 'cancelled' AND ABS(f.amount - (SELECT SUM(amount) FROM refund_line l WHERE l.refund_id = f.id)) > 0.005""",
    # Within a cent: on a full return the last line absorbs the rounding so the refund equals what was paid.
    "refund lines are net of the loyalty discount": f"""
        SELECT f.id FROM refund f JOIN payment p ON p.id = f.payment_id JOIN orders o ON o.id = p.order_id
        JOIN refund_line rl ON rl.refund_id = f.id JOIN order_line ol ON ol.order_id = o.id AND ol.product_id = rl.product_id
        WHERE ABS(rl.amount - (ROUND(ol.unit_price * rl.quantity, 2)
                               - ROUND(ROUND(ol.unit_price * rl.quantity, 2) * {_RATE.format(tier='o.loyalty_tier')} + 1e-9, 2))) > 0.0101""",
    "refunded orders have a refund": """
        SELECT o.id FROM orders o JOIN payment p ON p.order_id = o.id WHERE p.status IN ('refunded', 'partially_refunded')
        AND NOT EXISTS (SELECT 1 FROM refund f WHERE f.payment_id = p.id)""",
    "cancelled orders' refunds are approved or processed": """
        SELECT f.id FROM refund f JOIN payment p ON p.id = f.payment_id JOIN orders o ON o.id = p.order_id
        WHERE o.status = 'cancelled' AND f.status NOT IN ('approved', 'processed')""",
    "refund after the order": """
        SELECT f.id FROM refund f JOIN payment p ON p.id = f.payment_id JOIN orders o ON o.id = p.order_id
        WHERE f.created_at < o.created_at OR f.processed_at < f.created_at""",
    "escalations go where policy routes them": """
        SELECT id FROM escalation WHERE destination != CASE escalation_type WHEN 'technical' THEN 'engineering'
        WHEN 'policy_exception' THEN 'operations' WHEN 'product_specialist' THEN 'product_management'
        WHEN 'warranty' THEN 'product_management' WHEN 'order_fulfillment' THEN 'order_processing'
        WHEN 'billing_payment' THEN 'finance' WHEN 'support_escalation' THEN 'support' END""",
    "escalation after its ticket": """
        SELECT e.id FROM escalation e JOIN support_ticket t ON t.id = e.ticket_id
        WHERE e.created_at < t.created_at OR e.resolved_at < e.created_at""",
    "builds are owned as declared": """
        SELECT id FROM build WHERE (owner_type = 'customer') != (customer_id IS NOT NULL)""",
    "build orders contain the build's parts": """
        SELECT o.id FROM orders o JOIN build_component c ON c.build_id = o.build_id
        WHERE NOT EXISTS (SELECT 1 FROM order_line l WHERE l.order_id = o.id AND l.product_id = c.product_id)""",
    "employees use company e-mail": "SELECT id FROM employee WHERE email NOT LIKE '%@corecraft.com'",
    "managers are in the same department": """
        SELECT e.id FROM employee e JOIN employee m ON m.id = e.manager_id WHERE m.department != e.department""",
    "knowledge-base product references exist": """
        SELECT k.id FROM knowledge_base_article k, json_each(k.product_ids) j WHERE j.value NOT IN (SELECT id FROM product)""",
    "bundle contents exist": """
        SELECT p.id FROM product p, json_each(p.specs, '$.includes') j WHERE j.value NOT IN (SELECT id FROM product)""",
    "order ids carry their creation date": """
        SELECT id FROM orders WHERE substr(id, 5, 6) != substr(created_at, 3, 2) || substr(created_at, 6, 2) || substr(created_at, 9, 2)""",
    "a Slack message is dated after the tickets it mentions": f"""
        SELECT m.id FROM slack_message m JOIN support_ticket t ON {_MENTIONS.format(id='t.id')} WHERE m.timestamp < t.created_at""",
    "a Slack message is dated after the orders it mentions": f"""
        SELECT m.id FROM slack_message m JOIN orders o ON {_MENTIONS.format(id='o.id')} WHERE m.timestamp < o.created_at""",
    "a Slack message naming an order and a ticket is about one case": f"""
        SELECT m.id FROM slack_message m JOIN support_ticket t ON {_MENTIONS.format(id='t.id')}
        JOIN orders o ON {_MENTIONS.format(id='o.id')} WHERE t.order_id IS NOT o.id""",
}

# (table, column) pairs holding timestamps; none may be after the in-world now.
TIMESTAMP_COLUMNS = (
    ("customer", "created_at"), ("build", "created_at"), ("build", "updated_at"), ("orders", "created_at"),
    ("orders", "updated_at"), ("payment", "processed_at"), ("shipment", "shipped_at"), ("support_ticket", "created_at"),
    ("support_ticket", "updated_at"), ("refund", "created_at"), ("refund", "processed_at"), ("resolution", "created_at"),
    ("escalation", "created_at"), ("escalation", "resolved_at"), ("knowledge_base_article", "updated_at"),
    ("slack_message", "timestamp"),
)
