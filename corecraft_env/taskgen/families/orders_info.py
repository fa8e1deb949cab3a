"""Order information: tracking a parcel, finding purchases in a long history, and an account rundown for a
colleague. All read-only: any write is collateral damage."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from ...tools.orders import ORDERS_PAGE
from ...world.generator import iso, parse_iso
from .. import rubric as r
from ..core import Context, TaskSpec, customer, difficulty_for, employee, family
from ..facts import EASTERN, eastern_day_bounds, eastern_window, long_date, money

STATUS_WORDS = {
    "label_created": ["label", "not yet been picked up", "hasn't been picked up", "not picked up", "awaiting pickup"],
    "in_transit": ["in transit", "in_transit", "on its way"],
    "out_for_delivery": ["out for delivery", "out_for_delivery"],
    "exception": ["exception", "address"],
}


def just_before(moment: str) -> str:
    """One second before a stored timestamp: the ``created_before`` that shows the next page of searchOrders."""
    return iso(parse_iso(moment) - timedelta(seconds=1))


def all_orders(ctx: Context, spec: TaskSpec, customer_id: str, **filters: str) -> list[dict]:
    """Page through searchOrders (newest first, 10 at a time) until a page comes back short, adding each call."""
    orders: list[dict] = []
    while True:
        arguments = {"customer_id": customer_id, **filters}
        if orders:
            arguments["created_before"] = just_before(orders[-1]["created_at"])
        spec.call("searchOrders", **arguments)
        page = ctx.tool("searchOrders", **arguments)["orders"]
        orders += page
        if len(page) < ORDERS_PAGE:
            return orders


@family("order_tracking", "information_retrieval", "train", count={"by_id": 6, "for_customer": 4},
        policy_rules=("no_unrequested_writes",))
def order_tracking(ctx: Context) -> Iterator[TaskSpec]:
    """Where is my parcel: carrier, tracking number, shipment status and expected delivery of a shipped order,
    found by id or, for a colleague, by the customer's e-mail and when they ordered. Reading the order changes nothing:
marking it delivered (or anything else) is an unrequested write."""
    rows = ctx.db.all("SELECT o.id FROM orders o WHERE o.status = 'shipped' ORDER BY o.id")
    for index, row in enumerate(ctx.pick(rows)):
        order = ctx.tool("getOrderDetails", order_id=row["id"])["order"]
        shipment = order["shipments"][0]
        window = eastern_window(order["created_at"])
        unique = [o["id"] for o in ctx.tool("searchOrders", customer_id=order["customer_id"], created_after=window.after,
                                            created_before=window.before)["orders"]] == [order["id"]]
        if index % 2 and unique:
            agent, person = ctx.staff(), order["customer"]
            spec = TaskSpec(employee(agent["id"]), variant="for_customer", request=(
                f"{person['name']} ({person['email']}) is asking where the order they placed {window.phrase} is. "
                "Can you find it and give me the carrier, tracking number, current status and expected delivery date?"))
            spec.call("searchCustomers", email=person["email"])
            spec.call("searchOrders", customer_id=order["customer_id"], created_after=window.after, created_before=window.before)
        else:
            spec = TaskSpec(customer(order["customer_id"]), variant="by_id", request=(
                f"Hi, where is my order {order['id']}? Could you give me the tracking number and when it should arrive?"))
        spec.call("getOrderDetails", order_id=order["id"])
        latest = shipment["events"][-1]
        eta = shipment["eta"]
        spec.check(
            r.reply("reply-tracking", "The reply gives the carrier and tracking number", contains=[shipment["tracking_number"], shipment["carrier"]]),
            r.reply("reply-status", f"The reply gives the shipment status ({shipment['status']})", contains_any=STATUS_WORDS[shipment["status"]]),
            r.judge("reply-eta", "The reply gives the expected delivery date from the shipment's ETA",
                    r.reply("fallback", "states the ETA date", contains_any=[eta[:10], long_date(eta), long_date(eta).split(",")[0],
                                                                              long_date(eta[:10]).split(",")[0]])),
        )
        spec.reply = (f"Order {order['id']} shipped with {shipment['carrier']}, tracking number {shipment['tracking_number']}. Its status "
                      f"is {shipment['status'].replace('_', ' ')} (latest event: {latest['description']}, {latest['location']}). The "
                      f"expected delivery is {long_date(eta)}.")
        if shipment["status"] == "exception":
            spec.reply += " The carrier reports an address issue, so please check the shipping address with the carrier."
        yield spec


@family("purchase_history_search", "information_retrieval", "train", count={"expert": 10},
        policy_rules=("paginate_orders", "no_unrequested_writes"))
def purchase_history_search(ctx: Context) -> Iterator[TaskSpec]:
    """Which of my orders contained a <category>, and at what price: a customer with more than 10 orders, so the
    answer needs orders past the first page of searchOrders, each order read for its lines."""
    heavy = ctx.db.all("SELECT customer_id FROM orders GROUP BY customer_id HAVING COUNT(*) > 10 ORDER BY customer_id")
    for round_ in range(3):
        for row in ctx.pick(heavy):
            history = ctx.db.all("SELECT id, created_at FROM orders WHERE customer_id = ? ORDER BY created_at DESC, id DESC",
                                 (row["customer_id"],))
            details = {o["id"]: ctx.tool("getOrderDetails", order_id=o["id"])["order"] for o in history}
            newest = [o["id"] for o in history[:ORDERS_PAGE]]
            since = history[min(len(history) - 1, ORDERS_PAGE + 1 + round_)]["created_at"] if round_ == 1 else None
            scope = [o["id"] for o in history if since is None or o["created_at"] >= eastern_day_bounds(since)[0][:10]]
            categories = ctx.pick(sorted({line["category"] for oid in scope for line in details[oid]["lines"]}))
            for category in categories[round_ % 2:]:
                holding = [oid for oid in scope if any(line["category"] == category for line in details[oid]["lines"])]
                if holding and any(oid not in newest for oid in holding) and any(oid in newest for oid in holding):
                    yield _history_spec(ctx, row["customer_id"], category, details, newest, since=since)
                    break


def _history_spec(ctx: Context, customer_id: str, category: str, details: dict[str, dict], newest: list[str], since: str | None) -> TaskSpec:
    scope = f"the orders I've placed with you since {long_date(since)}" if since else "all the orders I've ever placed with you"
    spec = TaskSpec(customer(customer_id), request=ctx.rng.choice((
        f"I'm doing an inventory of my rig. Which of {scope} included a {category} product? For each one, tell me the order id, "
        f"the {category} product and the price it was on the order.",
        f"For my insurance records I need every {category} I bought from you: go through {scope} and give me the order id, "
        "the product and what I paid per unit.",
    )))
    filters = {"created_after": eastern_day_bounds(since)[0]} if since else {}
    found = all_orders(ctx, spec, customer_id, **filters)
    matches = []
    for summary in found:
        order = details[summary["id"]]
        spec.call("getOrderDetails", order_id=order["id"])
        matches += [(order, line) for line in order["lines"] if line["category"] == category]
    beyond = sorted({o["id"] for o, _ in matches if o["id"] not in newest})
    spec.check(
        r.reply("reply-orders", f"The reply lists every order with a {category}", contains=sorted({o["id"] for o, _ in matches})),
        r.reply("reply-prices", "The reply gives each item's price on the order", numbers=[line["unit_price"] for _, line in matches]),
        r.judge("reply-products", f"The reply names the {category} product of each order, and no order without one",
                r.reply("fallback", "names the products", contains=sorted({line["product_name"] for _, line in matches}))),
        r.reply("reply-older", "The reply includes the orders past the first page of 10 (the search was paginated)", contains=beyond),
        r.called("paginated", "searchOrders is called again for the older orders (the first page of 10 is not the whole history)",
                 "searchOrders", min_count=2),
    )
    spec.reply = f"Orders with a {category} product:\n" + "\n".join(
        f"- {order['id']} ({long_date(order['created_at'])}): {line['product_name']} at {money(line['unit_price'])}" for order, line in matches)
    # Blind to pagination: one search, the first page read order by order, the answer from it alone.
    blind = spec.ignoring("paginate_orders")
    blind.call("searchOrders", customer_id=customer_id, **filters)
    seen = [(details[oid], line) for oid in newest if oid in {o["id"] for o in found} for line in details[oid]["lines"]]
    for oid in newest:
        if oid in {o["id"] for o in found}:
            blind.call("getOrderDetails", order_id=oid)
    blind.reply = f"Orders with a {category} product:\n" + "\n".join(
        f"- {order['id']} ({long_date(order['created_at'])}): {line['product_name']} at {money(line['unit_price'])}"
        for order, line in seen if line["category"] == category)
    spec.variant = difficulty_for(len(spec.calls))
    return spec


def utc_shifted(moment: str) -> bool:
    """Whether a UTC timestamp falls on the next UTC date compared with its Eastern date (evening in Eastern)."""
    return moment[:10] != parse_iso(moment).astimezone(EASTERN).date().isoformat()


@family("account_review", "information_retrieval", "heldout", count={"easy": 3, "medium": 3, "hard": 2, "expert": 2},
        policy_rules=("eastern_time",))
def account_review(ctx: Context) -> Iterator[TaskSpec]:
    """A colleague wants a rundown of a customer's orders since an Eastern date (id, status, total, and carrier +
    tracking for what shipped); an order placed the Eastern evening before falls on that date in UTC and does not
    belong in the list. From one search for a known customer to a paginated history with a shipment per order."""
    orders = ctx.db.all("SELECT id, customer_id, created_at FROM orders ORDER BY created_at")
    by_customer: dict[str, list[dict]] = {}
    for order in orders:
        by_customer.setdefault(order["customer_id"], []).append(order)
    traps = [(cid, o) for cid, history in sorted(by_customer.items()) for i, o in enumerate(history)
             if utc_shifted(o["created_at"]) and 1 <= len(history) - i - 1 <= 14]
    for index, (cid, trap) in enumerate(ctx.pick(traps)):
        person = ctx.db.one("SELECT * FROM customer WHERE id = ?", (cid,))
        spec = _review(ctx, ctx.staff(), person, trap, tracking=bool(index % 2))
        if spec is not None:
            yield spec


def _review(ctx: Context, agent: dict, person: dict, trap: dict, tracking: bool) -> TaskSpec | None:
    """Orders from the Eastern day after the trap order's Eastern day (= its UTC date) up to today; None when the
    customer's later orders all fall on the trap's own Eastern day (nothing to list: a world can hold that)."""
    day = trap["created_at"][:10]
    after = eastern_day_bounds(f"{day}T16:00:00Z")[0]
    since = long_date(day)
    if tracking:
        spec = TaskSpec(employee(agent["id"]), request=(
            f"{person['name']} ({person['email']}) is on the phone about their recent orders. Can you give me a rundown of every "
            f"order they've placed since {since}: order id, status and total, plus the carrier and tracking number "
            "for anything that has shipped?"))
    else:
        spec = TaskSpec(employee(agent["id"]), request=ctx.rng.choice((
            f"Quick one: what orders has {person['name']} ({person['email']}) placed since {since}? I just need the "
            "order ids, statuses and totals.",
            f"For a callback note: list {person['name']}'s orders from {since} onwards, with status and total for "
            f"each. Their e-mail is {person['email']}.")))
    spec.call("searchCustomers", email=person["email"])
    found = all_orders(ctx, spec, person["id"], created_after=after)
    if not found:
        return None
    blind = spec.ignoring("eastern_time")
    blind.call("searchCustomers", email=person["email"])
    blind_found = all_orders(ctx, blind, person["id"], created_after=day)
    shipped = _shipped(ctx, spec, found) if tracking else {}
    blind_shipped = _shipped(ctx, blind, blind_found) if tracking else {}
    statuses = sorted({o["status"] for o in found})
    spec.check(
        r.reply("reply-orders", "The reply lists every order in the period", contains=[o["id"] for o in found]),
        r.reply("reply-totals", "The reply gives each order's total", numbers=sorted({o["total"] for o in found})),
        r.reply("reply-not-before", f"The reply leaves out {trap['id']}, placed the Eastern evening before {since} (it is dated "
                                    f"{day} only in UTC)", not_contains=[trap["id"]]),
        r.judge("reply-statuses", "The reply gives each order's current status, correctly",
                r.reply("fallback", "states the statuses", contains=[s for s in statuses if "_" not in s] or [o["id"] for o in found])),
    )
    if shipped:
        spec.check(r.reply("reply-tracking", "The reply gives the tracking number of every shipped order",
                           contains=[s["tracking_number"] for s in shipped.values()]))
    if len(found) > ORDERS_PAGE:
        spec.check(r.reply("reply-oldest", "The reply includes the orders past the first page of 10 (the search was paginated)",
                           contains=[o["id"] for o in found[ORDERS_PAGE:]]))
    spec.reply = _rundown(person, since, found, shipped)
    blind.reply = _rundown(person, since, blind_found, blind_shipped)
    spec.variant = difficulty_for(len(spec.calls))
    return spec


def _shipped(ctx: Context, spec: TaskSpec, found: list[dict]) -> dict[str, dict]:
    shipped = {}
    for summary in found:
        order = ctx.tool("getOrderDetails", order_id=summary["id"])["order"]
        if order["shipments"]:
            spec.call("getOrderDetails", order_id=order["id"])
            shipped[order["id"]] = order["shipments"][0]
    return shipped


def _rundown(person: dict, since: str, found: list[dict], shipping: dict[str, dict]) -> str:
    return f"Orders of {person['name']} since {since}:\n" + "\n".join(
        f"- {o['id']} ({long_date(o['created_at'])}): {o['status']}, total {money(o['total'])}"
        + (f"; {shipping[o['id']]['carrier']} {shipping[o['id']]['tracking_number']}" if o["id"] in shipping else "") for o in found)
