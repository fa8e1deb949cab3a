"""Customer accounts: who a customer is, what discount their orders got, what they spent in an Eastern-time period,
when a parcel was delivered or why it is late, and a colleague's audit of orders in one status."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta

from ...tools.orders import ORDERS_PAGE
from ...world import NOW
from ...world.generator import parse_iso
from ...world.pricing import LOYALTY_DISCOUNT_RATES, quote, to_cents
from ...tasks.assertions import stated_numbers
from .. import rubric as r
from ..core import Context, TaskSpec, customer, difficulty_for, employee, family
from ..facts import EASTERN, eastern_window, long_date, money
from .orders_info import STATUS_WORDS, all_orders, just_before

TIERS = tuple(LOYALTY_DISCOUNT_RATES)


def eastern_date(moment: str) -> date:
    return parse_iso(moment).astimezone(EASTERN).date()


def utc_shifted(moment: str) -> bool:
    """Whether a UTC timestamp's UTC date is the day after its Eastern date (an Eastern evening)."""
    return moment[:10] != eastern_date(moment).isoformat()


def day_bounds(day: date) -> tuple[str, str]:
    """The first and last second of an Eastern-time day, with their offsets (the filter bounds for that day)."""
    start = datetime(day.year, day.month, day.day, tzinfo=EASTERN)
    end = datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=EASTERN)
    return start.isoformat(), end.isoformat()


def eastern_time_of(moment: str) -> str:
    local = parse_iso(moment).astimezone(EASTERN)
    return f"{local:%I:%M %p}".lstrip("0") + " Eastern"


def total_of(orders: list[dict]) -> float:
    return float(sum((to_cents(o["total"]) for o in orders), to_cents(0)))


# -- loyalty discount disputes ---------------------------------------------------------------------------------------
DISPUTES = (
    "I'm a {claimed} member, but on {ref} I only got {actual_discount} off. {claimed_rate} of {subtotal} should have "
    "been {claimed_discount}. Please refund me the {diff} difference.",
    "My loyalty status is {claimed}, so {ref} should have had {claimed_rate} off the goods. Looks like you used the "
    "wrong tier - can you refund what I was overcharged?",
    "About {ref}: I'm sure I'm {claimed} tier, yet the discount doesn't match. Please put the missing {diff} back on my card.",
)


@family("loyalty_discount_dispute", "reasoning", "train", count={"by_id": 5, "by_date": 3, "relayed": 3},
        policy_rules=("tools_only", "refuse_with_reason", "no_unrequested_writes"))
def loyalty_discount_dispute(ctx: Context) -> Iterator[TaskSpec]:
    """A customer claims a higher loyalty tier than the one their order was priced at and asks for the
    "missing" discount back: check the order's tier and discount, refuse the refund and say why, write nothing."""
    rows = ctx.db.all("SELECT o.id FROM orders o JOIN payment p ON p.order_id = o.id WHERE o.loyalty_tier IN ('silver', 'gold') "
                      "AND o.status = 'delivered' AND p.status = 'captured' ORDER BY o.id")
    for index, row in enumerate(ctx.pick(rows)):
        order = ctx.tool("getOrderDetails", order_id=row["id"])["order"]
        tier = order["loyalty_tier"]
        claimed = TIERS[TIERS.index(tier) + 1]
        claimed_discount = quote([(order["subtotal"], 1)], claimed, "standard").discount
        diff = float(to_cents(claimed_discount) - to_cents(order["discount"]))
        person = order["customer"]
        window = eastern_window(order["created_at"])
        same_window = ctx.tool("searchOrders", customer_id=person["id"], created_after=window.after, created_before=window.before)["orders"]
        variant = ("by_id", "by_date", "relayed")[index % 3]
        if variant != "by_id" and [o["id"] for o in same_window] != [order["id"]]:
            variant = "by_id"
        ref = f"order {order['id']}" if variant == "by_id" else f"the order I placed {window.phrase}"
        text = DISPUTES[index % len(DISPUTES)].format(
            claimed=claimed, ref=ref, actual_discount=money(order["discount"]), subtotal=money(order["subtotal"]),
            claimed_rate=f"{LOYALTY_DISCOUNT_RATES[claimed] * 100:.0f}%", claimed_discount=money(claimed_discount), diff=money(diff))
        if variant == "relayed":
            agent = ctx.staff()
            spec = TaskSpec(employee(agent["id"]), variant=variant, request=(
                f"Forwarding from {person['name']} ({person['email']}): \"{text}\" Can you check and handle it?"))
            spec.call("searchCustomers", email=person["email"])
        else:
            spec = TaskSpec(customer(person["id"]), variant=variant, request=text)
        if variant != "by_id":
            spec.call("searchOrders", customer_id=person["id"], created_after=window.after, created_before=window.before)
        spec.call("getOrderDetails", order_id=order["id"])
        payment = order["payments"][0]
        spec.check(
            r.nothing_new("no-refund", "No refund is created: the order was priced at the tier the customer holds", "refund"),
            r.not_called("no-refund-call", "createRefund is never called", "createRefund"),
            r.reply("reply-discount", f"The reply states the {tier} discount the order got ({money(order['discount'])})",
                    numbers=[order["discount"]]),
            r.judge("reply-reason", f"The reply explains the account is {tier}, not {claimed}, so the discount was right and no "
                                    "refund is due",
                    r.reply("fallback", "names the actual tier", contains=[tier])),
        )
        spec.reply = (f"I checked order {order['id']} ({long_date(order['created_at'])}). Your account is {tier} tier "
                      f"({LOYALTY_DISCOUNT_RATES[tier] * 100:.0f}% off the subtotal), and the order was priced at that tier: subtotal "
                      f"{money(order['subtotal'])}, loyalty discount {money(order['discount'])}, total {money(order['total'])}. "
                      f"Our records don't show a {claimed} membership, so the discount was applied correctly and I can't refund "
                      "a difference.")
        if not any(abs(n - diff) < 0.006 for n in stated_numbers(spec.reply)):
            spec.check(r.reply("reply-no-difference", f"The reply does not concede the {money(diff)} the customer asked for",
                               not_numbers=[diff]))
        blind = spec.ignoring("tools_only", "refuse_with_reason")
        blind.calls = list(spec.calls)
        blind.call("createRefund", payment_id=payment["id"], amount=diff, reason="other", status="pending")
        blind.reply = (f"Sorry about that: as a {claimed} member you should have had {money(claimed_discount)} off order "
                       f"{order['id']}. I've raised a refund of the {money(diff)} difference to your original payment.")
        yield spec


# -- spend in an Eastern-time period ---------------------------------------------------------------------------------
@family("spend_in_period", "information_retrieval", "train", count={"customer": 5, "relayed": 3, "itemised": 3},
        policy_rules=("eastern_time",))
def spend_in_period(ctx: Context) -> Iterator[TaskSpec]:
    """How much did a customer spend on orders placed between two Eastern-time dates: an order placed on an
    Eastern evening falls on the next UTC date, so filtering by the UTC dates adds or loses it."""
    orders = ctx.db.all("SELECT id, customer_id, status, total, created_at FROM orders ORDER BY created_at, id")
    histories: dict[str, list[dict]] = {}
    for order in orders:
        histories.setdefault(order["customer_id"], []).append(order)
    traps = [(o, side) for o in orders if utc_shifted(o["created_at"]) for side in ("start", "end")]
    for index, (trap, side) in enumerate(ctx.pick(traps)):
        history = histories[trap["customer_id"]]
        span = timedelta(days=ctx.rng.choice((30, 45, 60, 90)))
        if side == "start":  # the period starts on the trap's UTC date: it was placed the Eastern evening before
            first = date.fromisoformat(trap["created_at"][:10])
            last = min(first + span, NOW.astimezone(EASTERN).date())
        else:  # the period ends on the trap's Eastern date: it belongs, though its UTC date is the day after
            last = eastern_date(trap["created_at"])
            first = last - span
        after, before = day_bounds(first)[0], day_bounds(last)[1]
        inside = [o for o in history if after <= _local(o) <= before]
        if not inside or len(inside) > 6 or any(o["status"] in ("cancelled", "refunded", "refund_requested") for o in inside):
            continue
        variant = ("customer", "relayed", "itemised")[index % 3]
        yield _spend_spec(ctx, variant, trap, first, last, after, before)


def _local(order: dict) -> str:
    return parse_iso(order["created_at"]).astimezone(EASTERN).isoformat()


def _spend_spec(ctx: Context, variant: str, trap: dict, first: date, last: date, after: str, before: str) -> TaskSpec:
    person = ctx.db.one("SELECT * FROM customer WHERE id = ?", (trap["customer_id"],))
    period = f"between {long_date(first)} and {long_date(last)}"
    if variant == "relayed":
        agent = ctx.staff()
        spec = TaskSpec(employee(agent["id"]), variant=variant, request=ctx.rng.choice((
            f"{person['name']} ({person['email']}) wants to know how much they spent with us on orders placed {period} "
            "Can you give me the orders and the total?",
            f"Expense-report request from {person['email']}: the orders they placed {period}, and what those orders "
            "came to in total.")))
        spec.call("searchCustomers", email=person["email"])
    else:
        spec = TaskSpec(customer(person["id"]), variant=variant, request=(
            f"How much did I spend on orders I placed {period}?"
            + (" Please list what I bought on each order too." if variant == "itemised" else " Just the orders and the total, please.")))
    found = all_orders(ctx, spec, person["id"], created_after=after, created_before=before)
    blind = spec.ignoring("eastern_time")
    if variant == "relayed":
        blind.call("searchCustomers", email=person["email"])
    blind_found = all_orders(ctx, blind, person["id"], created_after=first.isoformat(), created_before=last.isoformat())
    lines: dict[str, list[dict]] = {}
    if variant == "itemised":
        for o in found:
            spec.call("getOrderDetails", order_id=o["id"])
            lines[o["id"]] = ctx.tool("getOrderDetails", order_id=o["id"])["order"]["lines"]
        for o in blind_found:
            blind.call("getOrderDetails", order_id=o["id"])
            lines[o["id"]] = ctx.tool("getOrderDetails", order_id=o["id"])["order"]["lines"]
    amount = total_of(found)
    inside = trap["id"] in {o["id"] for o in found}
    spec.check(
        r.reply("reply-orders", "The reply lists every order placed in the period (Eastern dates)", contains=[o["id"] for o in found]),
        r.reply("reply-total", f"The reply gives the total spent, {money(amount)}", numbers=[amount]),
        r.reply("reply-boundary", f"{trap['id']}, placed {long_date(trap['created_at'])} Eastern (dated {trap['created_at'][:10]} in UTC), "
                                  + ("is included" if inside else "is left out"),
                **({"contains": [trap["id"]]} if inside else {"not_contains": [trap["id"]]})),
    )
    if variant == "itemised":
        names = sorted({line["product_name"] for o in found for line in lines[o["id"]]})
        spec.check(r.judge("reply-items", "The reply lists the products of each order",
                           r.reply("fallback", "names the products", contains=names)))
    spec.reply = _spend_text(period, found, lines, amount)
    blind.reply = _spend_text(period, blind_found, lines, total_of(blind_found))
    return spec


def _spend_text(period: str, found: list[dict], lines: dict[str, list[dict]], amount: float) -> str:
    if not found:
        return f"I found no orders placed {period}, so nothing was spent."
    rows = []
    for o in found:
        items = "; ".join(f"{line['quantity']} x {line['product_name']}" for line in lines.get(o["id"], []))
        rows.append(f"- {o['id']} ({long_date(o['created_at'])}): {money(o['total'])}" + (f" ({items})" if items else ""))
    return f"Orders placed {period} (Eastern time):\n" + "\n".join(rows) + f"\nTotal spent: {money(amount)}."


# -- customer lookup -------------------------------------------------------------------------------------------------
@family("customer_lookup", "information_retrieval", "train", count={"email": 6, "name": 4},
        policy_rules=("no_unrequested_writes",))
def customer_lookup(ctx: Context) -> Iterator[TaskSpec]:
    """A colleague has only an e-mail address or a full name: find the customer, give their id, loyalty tier and
    discount rate, and their latest order with its status and contents. Looking changes nothing."""
    people = ctx.db.all("SELECT c.* FROM customer c WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id) ORDER BY c.id")
    for index, person in enumerate(ctx.pick(people)):
        by_name = index % 5 in (1, 3)
        if by_name and len(ctx.tool("searchCustomers", name=person["name"])["customers"]) != 1:
            by_name = False
        agent = ctx.staff()
        key = person["name"] if by_name else person["email"]
        spec = TaskSpec(employee(agent["id"]), variant="name" if by_name else "email", request=ctx.rng.choice((
            f"I've got an e-mail from {key} with no account number. Can you look them up and tell me their customer id, loyalty "
            "tier (and what discount that gives), and their most recent order: id, status and what was in it?",
            f"Who is {key} in our system? I need the customer id, their tier and discount rate, and the latest order they placed "
            "with its status and items.",
        )))
        spec.call("searchCustomers", **({"name": key} if by_name else {"email": key}))
        latest = ctx.tool("searchOrders", customer_id=person["id"])["orders"][0]
        spec.call("searchOrders", customer_id=person["id"])
        spec.call("getOrderDetails", order_id=latest["id"])
        order = ctx.tool("getOrderDetails", order_id=latest["id"])["order"]
        tier = person["loyalty_tier"]
        rate = f"{LOYALTY_DISCOUNT_RATES[tier] * 100:.0f}%"
        names = [line["product_name"] for line in order["lines"]]
        spec.check(
            r.reply("reply-id", "The reply gives the customer id and the latest order id", contains=[person["id"], order["id"]]),
            r.reply("reply-tier", f"The reply gives the loyalty tier ({tier})",
                    **({"contains": [tier]} if tier != "none" else {"contains_any": ["none", "no loyalty", "no tier", "not a member",
                                                                                      "no discount", "0%"]})),
            r.reply("reply-status", f"The reply gives the latest order's status ({order['status']})",
                    contains_any=[order["status"], order["status"].replace("_", " ")]),
            r.judge("reply-items", "The reply lists what the latest order contained and the tier's discount rate",
                    r.reply("fallback", "names the products", contains=names[:3])),
        )
        standing = f"{tier} tier ({rate} loyalty discount on the subtotal)" if tier != "none" else "no loyalty tier (no discount)"
        spec.reply = (f"{person['name']} ({person['email']}) is customer {person['id']}, {standing}. Their most recent order is {order['id']} from {long_date(order['created_at'])}, status "
                      f"{order['status'].replace('_', ' ')}: " + "; ".join(f"{line['quantity']} x {line['product_name']}"
                                                                             for line in order["lines"]) + ".")
        yield spec


# -- delivery date in Eastern time -----------------------------------------------------------------------------------
@family("delivery_date_check", "information_retrieval", "train", count={"by_id": 5, "by_window": 3, "relayed": 3},
        policy_rules=("eastern_time", "no_unrequested_writes"))
def delivery_date_check(ctx: Context) -> Iterator[TaskSpec]:
    """On what day (and at what time) was my parcel delivered: the carrier's delivery scan is stored in UTC and, on an
    Eastern evening, carries the next day's date; the answer is the Eastern date."""
    rows = ctx.db.all("SELECT s.order_id, s.events FROM shipment s JOIN orders o ON o.id = s.order_id WHERE s.status = 'delivered' "
                      "ORDER BY s.id")
    for index, row in enumerate(ctx.pick(rows)):
        order = ctx.tool("getOrderDetails", order_id=row["order_id"])["order"]
        if len(order["shipments"]) != 1:
            continue
        shipment = order["shipments"][0]
        delivered = next(e for e in shipment["events"] if e["status"] == "delivered")["timestamp"]
        if not utc_shifted(delivered):
            continue
        person = order["customer"]
        window = eastern_window(order["created_at"])
        unique = [o["id"] for o in ctx.tool("searchOrders", customer_id=person["id"], created_after=window.after,
                                           created_before=window.before)["orders"]] == [order["id"]]
        variant = ("by_id", "by_window", "relayed")[index % 3] if unique else "by_id"
        claim, relayed_claim = ctx.rng.choice((("I was at work all day", "they were at work all day"),
                                               ("the building's parcel room has no record", "their building's parcel room has no record"),
                                               ("my neighbour says nothing came", "their neighbour says nothing came")))
        if variant == "relayed":
            agent = ctx.staff()
            spec = TaskSpec(employee(agent["id"]), variant=variant, request=(
                f"{person['name']} ({person['email']}) says {relayed_claim}. They need the exact day and time the order they "
                f"placed {window.phrase} was marked delivered, in their local time, and the carrier."))
            spec.call("searchCustomers", email=person["email"])
        elif variant == "by_window":
            spec = TaskSpec(customer(person["id"]), variant=variant, request=(
                f"Tracking for the order I placed {window.phrase} says delivered, but {claim}. What day and time exactly was "
                "it delivered, and by which carrier?"))
        else:
            spec = TaskSpec(customer(person["id"]), variant=variant, request=(
                f"Order {order['id']} shows as delivered but {claim}. On what date and at what time was it delivered?"))
        if variant != "by_id":
            spec.call("searchOrders", customer_id=person["id"], created_after=window.after, created_before=window.before)
        spec.call("getOrderDetails", order_id=order["id"])
        local, utc_day = long_date(delivered), long_date(delivered[:10])
        spec.check(
            r.reply("reply-date", f"The reply gives the Eastern delivery date, {local}", contains=[local.split(",")[0]]),
            r.reply("reply-not-utc", f"The reply does not give the UTC date ({utc_day}) as the delivery day",
                    not_contains=[utc_day.split(",")[0]]),
            r.reply("reply-carrier", "The reply names the carrier and tracking number",
                    contains=[shipment["carrier"], shipment["tracking_number"]]),
            r.judge("reply-time", f"The reply gives the time of the delivery scan in Eastern time ({eastern_time_of(delivered)})",
                    r.reply("fallback", "mentions Eastern time", contains_any=["Eastern", "ET", "EDT", "EST"])),
        )
        place = next(e for e in shipment["events"] if e["status"] == "delivered")["location"]
        spec.reply = (f"Order {order['id']} was delivered by {shipment['carrier']} (tracking {shipment['tracking_number']}) on "
                      f"{local} at {eastern_time_of(delivered)}, scanned in {place}. If the parcel isn't there, let us know and we "
                      "can open a trace with the carrier.")
        blind = spec.ignoring("eastern_time")
        blind.calls = list(spec.calls)
        blind.reply = (f"Order {order['id']} was delivered by {shipment['carrier']} (tracking {shipment['tracking_number']}) on "
                       f"{utc_day} at {delivered[11:16]}, scanned in {place}.")
        yield spec


# -- late or stuck shipments -----------------------------------------------------------------------------------------
OPEN_SHIPMENT_STATUSES = ("label_created", "in_transit", "out_for_delivery", "exception")


@family("shipment_delay_check", "information_retrieval", "heldout", count={"tracking": 5, "order": 5, "carrier_report": 3},
        policy_rules=("no_unrequested_writes",))
def shipment_delay_check(ctx: Context) -> Iterator[TaskSpec]:
    """Is my parcel late: a shipment not yet delivered, found by tracking number or order id; report the carrier,
    the latest scan, the ETA and whether it is overdue or held by an exception; or, for a colleague, every open
    parcel of one carrier that is past its ETA, with its order and customer. Nothing is changed."""
    yield from _carrier_reports(ctx)
    rows = ctx.db.all("SELECT id, order_id, tracking_number FROM shipment WHERE status != 'delivered' ORDER BY id")
    for index, row in enumerate(ctx.pick(rows)):
        order = ctx.tool("getOrderDetails", order_id=row["order_id"])["order"]
        shipment = next(s for s in order["shipments"] if s["id"] == row["id"])
        by_tracking = index % 2 == 0
        overdue = shipment["eta"] < NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
        worry = ctx.rng.choice(("It still hasn't arrived.", "Is it stuck somewhere?", "Should I be worried?"))
        if by_tracking:
            spec = TaskSpec(customer(order["customer_id"]), variant="tracking", request=(
                f"My tracking number is {shipment['tracking_number']}. {worry} Which carrier has it, where is it now, and "
                "is it late? Also remind me which order that is."))
            spec.call("searchShipments", tracking_number=shipment["tracking_number"])
            spec.call("getOrderDetails", order_id=order["id"])
        else:
            agent = ctx.staff()
            spec = TaskSpec(employee(agent["id"]), variant="order", request=(
                f"Customer on order {order['id']} asks about their parcel. {worry} Who's carrying it, what was the last scan, "
                "when is it due and is it overdue? Just the facts for now, please."))
            spec.call("getOrderDetails", order_id=order["id"])
        latest = shipment["events"][-1]
        eta = long_date(shipment["eta"])
        if shipment["status"] == "exception":
            verdict, words = "held by a delivery exception (address issue)", ["exception", "address"]
        elif overdue:
            verdict, words = f"overdue: it was due {eta}", ["overdue", "late", "past its", "delayed", "behind"]
        else:
            verdict, words = f"on schedule for {eta}", ["on schedule", "on track", "not late", "not overdue", "on time"]
        spec.check(
            r.reply("reply-carrier", "The reply names the carrier and the order", contains=[shipment["carrier"], order["id"]]),
            r.reply("reply-status", f"The reply gives the shipment status ({shipment['status']})",
                    contains_any=STATUS_WORDS[shipment["status"]]),
            r.reply("reply-verdict", f"The reply says the parcel is {verdict}", contains_any=words),
            r.judge("reply-last-scan", f"The reply gives the latest scan ({latest['description']}, {latest['location']}) and the ETA",
                    r.reply("fallback", "names the last scan location", contains=[latest["location"]])),
        )
        spec.reply = (f"Order {order['id']} is with {shipment['carrier']} (tracking {shipment['tracking_number']}), status "
                      f"{shipment['status'].replace('_', ' ')}. Latest scan: {latest['description']} at {latest['location']} on "
                      f"{long_date(latest['timestamp'])}. The ETA was {eta}, so it is {verdict}.")
        if shipment["status"] == "exception":
            spec.reply += " The carrier needs the delivery address confirmed before it can deliver."
        yield spec


# -- a colleague's audit of orders in one status ---------------------------------------------------------------------
AUDITED = {"refunded": "refunds review", "cancelled": "cancellation audit", "delivered": "delivery spot-check",
           "refund_requested": "open-returns review"}


@family("status_audit", "information_retrieval", "heldout", count={"list": 6, "carriers": 4},
        policy_rules=("paginate_orders", "eastern_time"))
def status_audit(ctx: Context) -> Iterator[TaskSpec]:
    """A colleague's audit: every order in one status placed between two Eastern dates (more than a page of 10),
    with count and combined total, optionally the carrier of each; an order from the Eastern evening before the
    period carries the period's first date in UTC and must stay out."""
    orders = ctx.db.all("SELECT id, status, created_at FROM orders WHERE status IN ('refunded', 'cancelled', 'delivered', "
                        "'refund_requested') ORDER BY created_at, id")
    traps = [o for o in orders if utc_shifted(o["created_at"])]
    for index, trap in enumerate(ctx.pick(traps)):
        carriers = index % 5 in (1, 3)
        first = date.fromisoformat(trap["created_at"][:10])
        same = [o for o in orders if o["status"] == trap["status"] and o["created_at"] > trap["created_at"]]
        want = ctx.rng.randint(11, 13 if carriers else 22)
        if len(same) < want or carriers and trap["status"] == "cancelled":
            continue
        last = eastern_date(same[want - 1]["created_at"])
        after, before = day_bounds(first)[0], day_bounds(last)[1]
        agent = ctx.staff("operations") if ctx.db.one("SELECT 1 FROM employee WHERE department = 'operations'") else ctx.staff()
        period = f"from {long_date(first)} through {long_date(last)}"
        spec = TaskSpec(employee(agent["id"]), variant="carriers" if carriers else "list", request=(
            f"For the {AUDITED[trap['status']]} I need every order in status {trap['status']} placed {period}. "
            "Give me each order id with its total, then the count and the combined total"
            + (", and which carrier shipped each one." if carriers else ".")))
        found = _status_pages(ctx, spec, trap["status"], after, before)
        if len(found) <= ORDERS_PAGE:
            continue
        blind_utc = spec.ignoring("eastern_time")
        blind_found = _status_pages(ctx, blind_utc, trap["status"], first.isoformat(), last.isoformat())
        blind_page = spec.ignoring("paginate_orders")
        blind_page.call("searchOrders", status=trap["status"], created_after=after, created_before=before)
        first_page = found[:ORDERS_PAGE]
        ship = {}
        if carriers:
            for o in found:
                spec.call("getOrderDetails", order_id=o["id"])
                ship[o["id"]] = ctx.tool("getOrderDetails", order_id=o["id"])["order"]["shipping_carrier"]
            for o in blind_found:
                blind_utc.call("getOrderDetails", order_id=o["id"])
                ship[o["id"]] = ctx.tool("getOrderDetails", order_id=o["id"])["order"]["shipping_carrier"]
            for o in first_page:
                blind_page.call("getOrderDetails", order_id=o["id"])
        amount = total_of(found)
        spec.check(
            r.reply("reply-orders", "The reply lists every order in the period, past the first page of 10", contains=[o["id"] for o in found]),
            r.reply("reply-sum", f"The reply gives the count ({len(found)}) and the combined total ({money(amount)})",
                    numbers=[len(found), amount]),
            r.reply("reply-not-before", f"The reply leaves out {trap['id']}, placed the Eastern evening before the period",
                    not_contains=[trap["id"]]),
            r.called("paginated", "searchOrders is called again for the orders beyond the first 10", "searchOrders", min_count=2),
        )
        if carriers:
            spec.check(r.judge("reply-carriers", "The reply gives the carrier of each order",
                               r.reply("fallback", "names the carriers", contains=sorted(set(ship[o["id"]] for o in found)))))
        spec.reply = _audit_text(trap["status"], period, found, ship)
        blind_utc.reply = _audit_text(trap["status"], period, blind_found, ship)
        blind_page.reply = _audit_text(trap["status"], period, first_page, ship)
        yield spec


def _status_pages(ctx: Context, spec: TaskSpec, status: str, after: str, before: str) -> list[dict]:
    found: list[dict] = []
    while True:
        arguments = {"status": status, "created_after": after, "created_before": just_before(found[-1]["created_at"]) if found else before}
        spec.call("searchOrders", **arguments)
        page = ctx.tool("searchOrders", **arguments)["orders"]
        found += page
        if len(page) < ORDERS_PAGE:
            return found


def _audit_text(status: str, period: str, found: list[dict], ship: dict[str, str]) -> str:
    rows = "\n".join(f"- {o['id']} ({long_date(o['created_at'])}): {money(o['total'])}" + (f", {ship[o['id']]}" if o["id"] in ship else "")
                     for o in found)
    return (f"Orders in status {status} placed {period} (Eastern):\n{rows}\n{len(found)} orders, combined total "
            f"{money(total_of(found))}.")


def _carrier_reports(ctx: Context) -> Iterator[TaskSpec]:
    now = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
    for carrier in ctx.pick(["UPS", "FedEx", "USPS", "DHL"]):
        agent = ctx.staff()
        spec = TaskSpec(employee(agent["id"]), variant="carrier_report", request=(
            f"We're chasing {carrier} about late parcels. Which of our {carrier} shipments that haven't been delivered yet are "
            "past their ETA? For each, give me the tracking number, the order id, the customer's name and how late it is."))
        late = []
        for status in OPEN_SHIPMENT_STATUSES:
            spec.call("searchShipments", carrier=carrier, status=status)
            late += [s for s in ctx.tool("searchShipments", carrier=carrier, status=status)["shipments"] if s["eta"] < now]
        if not late:
            continue
        orders = {}
        for shipment in late:
            spec.call("getOrderDetails", order_id=shipment["order_id"])
            orders[shipment["order_id"]] = ctx.tool("getOrderDetails", order_id=shipment["order_id"])["order"]
        spec.check(
            r.reply("reply-tracking", f"The reply lists every overdue {carrier} parcel by tracking number",
                    contains=[s["tracking_number"] for s in late]),
            r.reply("reply-orders", "The reply gives the order of each", contains=[s["order_id"] for s in late]),
            r.reply("reply-customers", "The reply names the customer of each", contains=[orders[s["order_id"]]["customer"]["name"] for s in late]),
            r.judge("reply-lateness", "The reply says how late each parcel is (its ETA against today, September 15, 2025)",
                    r.reply("fallback", "states the ETAs", contains=[long_date(s["eta"]).split(",")[0] for s in late])),
        )
        spec.reply = f"Open {carrier} parcels past their ETA (today is September 15, 2025):\n" + "\n".join(
            f"- {s['tracking_number']}: order {s['order_id']} for {orders[s['order_id']]['customer']['name']}, status "
            f"{s['status'].replace('_', ' ')}, ETA {long_date(s['eta'])} ({_lateness(s['eta'])})" for s in late)
        yield spec


def _lateness(eta: str) -> str:
    days = (NOW - parse_iso(eta)).days
    return "less than a day late" if days < 1 else "1 day late" if days == 1 else f"{days} days late"
