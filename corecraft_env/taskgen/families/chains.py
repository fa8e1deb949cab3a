"""Deep chains: answers that need four or more dependent lookups, each taking its argument from the one before
(customer by e-mail → their orders or tickets → the order → the product → its warranty, stock or price), one family
paging past a searchOrders page of exactly ten."""

from __future__ import annotations

from collections.abc import Iterator

from ...tools.orders import ORDERS_PAGE
from .. import rubric as r
from ..core import Context, TaskSpec, customer, employee, family
from ..facts import money, outside_window_before
from ..recipes import escalate
from .orders_info import all_orders
from .warranty import SYMPTOMS, _coverage_spec, _date_forms, _open_troubleshooting, months_phrase, one_year_end

# How a person names a category of part (categories a customer would not reorder one of are left out).
PART_WORDS = {"cpu": "processor", "motherboard": "motherboard", "gpu": "graphics card", "memory": "memory kit",
              "storage": "drive", "psu": "power supply", "case": "case", "cooling": "cooler", "monitor": "monitor",
              "keyboard": "keyboard", "mouse": "mouse"}
# Openings and sign-offs a request may carry, so requests that name no entity still differ.
OPENERS = ("", "Hi! ", "Hello there. ", "Quick one for you. ", "Hope you're well. ", "Good afternoon. ")
SIGN_OFFS = ("", " Thanks!", " Thanks in advance.", " Cheers.", " Appreciate the help.")
COVERED = ["covered", "under warranty", "still valid", "still active"]
EXPIRED = ["expired", "ended", "ran out", "no longer", "out of warranty"]


def find_customer(spec: TaskSpec, person: dict) -> None:
    """The first lookup of every chain: the customer's record from the e-mail the request or its header gives."""
    spec.call("searchCustomers", email=person["email"])


def dressed(ctx: Context, text: str) -> str:
    """``text`` with one of the openings and one of the sign-offs."""
    return f"{ctx.rng.choice(OPENERS)}{text}{ctx.rng.choice(SIGN_OFFS)}"


def history(ctx: Context, customer_id: str) -> list[dict]:
    """Every order of the customer, newest first (the order searchOrders pages in), each with its lines."""
    return [ctx.tool("getOrderDetails", order_id=row["id"])["order"] for row in ctx.db.all(
        "SELECT id FROM orders WHERE customer_id = ? ORDER BY created_at DESC, id DESC", (customer_id,))]


def bought_once(orders: list[dict], product_id: str) -> bool:
    """Whether exactly one of ``orders`` has ``product_id`` (so naming the product names the order)."""
    return sum(any(line["product_id"] == product_id for line in o["lines"]) for o in orders) == 1


# -- warranty of an item named by product only --------------------------------------------------------------------
def warranty_chain(ctx: Context, order: dict, line: dict) -> TaskSpec:
    """Is the item the customer bought still under warranty: the customer names only the product (and, relayed by a
    colleague, their name and e-mail), so the chain runs customer → orders → the order → checkWarrantyStatus."""
    person, product, symptom = order["customer"], line["product_name"], ctx.rng.choice(SYMPTOMS)
    if ctx.rng.random() < 0.5:
        spec = TaskSpec(customer(order["customer_id"]), variant="customer", request=ctx.rng.choice((
            f"My {product} {symptom}. Is it still under warranty, and until what date? I don't have the order number.",
            f"Hi, I bought a {product} from you a while ago and it {symptom}. Could you check whether the warranty still "
            "covers it and tell me the exact end date?",
            f"Quick question before I open it up: the {product} I got from you {symptom}. Am I still covered by the warranty? "
            "If so, until when?",
        )))
    else:
        spec = TaskSpec(employee(ctx.staff()["id"]), variant="relayed", request=ctx.rng.choice((
            f"{person['name']} ({person['email']}) is on the line: their {product} {symptom}. They don't have the order "
            "number. Is it still under warranty, and until when? I'll pass it on.",
            f"Can you check something for me? {person['name']}, {person['email']}, says the {product} they bought from us "
            f"{symptom}. Which order was it on, and is it still covered by the warranty?",
            f"Customer {person['email']} ({person['name']}) wants to know if the {product} they bought is still under warranty. "
            f"It {symptom}. Give me the order and the warranty end date please.",
        )))
    find_customer(spec, person)
    spec.call("searchOrders", customer_id=order["customer_id"])
    spec.call("getOrderDetails", order_id=order["id"])
    status = ctx.tool("checkWarrantyStatus", order_id=order["id"], product_id=line["product_id"])
    spec.call("checkWarrantyStatus", order_id=order["id"], product_id=line["product_id"])
    end, covered = status["warranty_end_date"], status["under_warranty"]
    spec.check(
        r.called("checked", "The warranty is checked with checkWarrantyStatus for the order the product was bought in",
                 "checkWarrantyStatus", arguments={"order_id": order["id"], "product_id": line["product_id"]}),
        r.reply("reply-order", "The reply names the order the item was bought in", contains=[order["id"]]),
        r.reply("reply-end", "The reply gives the warranty end date", contains_any=_date_forms(end)),
        r.judge("reply-verdict", f"The reply says the item is {'still covered' if covered else 'no longer covered'}",
                r.reply("fallback", "states the verdict", contains_any=COVERED if covered else EXPIRED)),
    )
    months = f"{months_phrase(status['warranty_months'])} warranty"
    verdict = (f"still under warranty until {end} ({status['days_remaining']} days left)" if covered
               else f"no longer covered: the warranty expired on {end}")
    spec.reply = (f"The {product} was bought in order {order['id']} on {status['purchase_date']} with {months}, so it is "
                  f"{verdict}.")
    guess = one_year_end(status["purchase_date"])
    blind = spec.ignoring("warranty_period")
    blind.calls = spec.calls[:3]
    blind.reply = (f"The {product} was bought in order {order['id']} on {status['purchase_date']}; our warranty runs a year, so "
                   f"it {'is covered until' if guess >= '2025-09-15' else 'expired on'} {guess}.")
    return spec


def warranty_candidates(ctx: Context, before: str) -> Iterator[tuple[dict, dict]]:
    """(order, line) of delivered orders placed before ``before`` whose customer has fewer than a page of orders and
    bought that product only once, shuffled."""
    rows = ctx.db.all("SELECT o.id, o.customer_id FROM orders o WHERE o.status = 'delivered' AND o.created_at < ? "
                      "AND (SELECT COUNT(*) FROM orders x WHERE x.customer_id = o.customer_id) < ? ORDER BY o.id",
                      (before, ORDERS_PAGE))
    for row in ctx.pick(rows):
        orders = history(ctx, row["customer_id"])
        order = next(o for o in orders if o["id"] == row["id"])
        line = ctx.rng.choice(order["lines"])
        if bought_once(orders, line["product_id"]):
            yield order, line


@family("warranty_lookup_by_product", "reasoning", "train", count={"customer": 16, "relayed": 16},
        policy_rules=("warranty_period", "no_unrequested_writes"))
def warranty_lookup_by_product(ctx: Context) -> Iterator[TaskSpec]:
    """A customer (or a colleague with their name and e-mail) names only the product that failed: find the customer,
    their orders, the order holding that product, then checkWarrantyStatus; answer with the order, the end date and
    whether it still covers the item (the product's own months, not a flat year)."""
    for order, line in warranty_candidates(ctx, outside_window_before()):
        yield warranty_chain(ctx, order, line)


# -- an open ticket's item, escalated when covered ------------------------------------------------------------------
@family("ticket_warranty_followup", "multi_step_workflow", "heldout", count=12,
        policy_rules=("escalation_routing", "no_unrequested_writes"))
def ticket_warranty_followup(ctx: Context) -> Iterator[TaskSpec]:
    """A colleague gives a customer's name and e-mail and the failed product: find the customer, their open
    troubleshooting ticket in the ticket history, the ticket's order, check the item's warranty and, as it is
    covered, escalate the ticket as warranty to product management (nothing else changes)."""
    for ticket, order, line in _open_troubleshooting(ctx, before=outside_window_before()):
        status = ctx.tool("checkWarrantyStatus", order_id=order["id"], product_id=line["product_id"])
        person = order["customer"]
        tickets = ctx.tool("getCustomerTicketHistory", customer_id=order["customer_id"])["tickets"]
        naming = [t for t in tickets if t["status"] in ("new", "open", "pending_customer") and line["product_name"] in t["body"]]
        if not status["under_warranty"] or len(naming) != 1 or naming[0]["escalations"]:
            continue
        agent = ctx.staff()
        spec = TaskSpec(employee(agent["id"]), request=ctx.rng.choice((
            f"{person['name']} ({person['email']}) emailed again: they opened a ticket about their {line['product_name']} that "
            f"{ctx.rng.choice(SYMPTOMS)} and nobody got back to them. No damage or overclocking. If it's still under warranty, "
            "please get the claim to the team that handles those, and tell me the ticket and the warranty end date.",
            f"Chasing one for {person['email']} ({person['name']}): there's an open ticket about their faulty "
            f"{line['product_name']}. Can you dig it out, check the warranty on it and, if it's covered, raise the claim with "
            "the right department? Let me know what you did.",
            f"{person['name']} says their {line['product_name']} {ctx.rng.choice(SYMPTOMS)}, and they already have a ticket "
            f"open with us about it (email on file: {person['email']}). Please check whether it's covered and, if it is, "
            "escalate it properly as a warranty claim.",
        )))
        find_customer(spec, person)
        spec.call("getCustomerTicketHistory", customer_id=order["customer_id"])
        spec.call("getOrderDetails", order_id=order["id"])
        spec.call("checkWarrantyStatus", order_id=order["id"], product_id=line["product_id"])
        end = status["warranty_end_date"]
        escalation_id = escalate(spec, ctx, ticket["id"], "warranty",
                                 f"Warranty claim on {ticket['id']}: {line['product_name']} from {order['id']} failed; covered "
                                 f"until {end}.", agent["id"])
        spec.check(
            r.called("checked", "The warranty is checked with checkWarrantyStatus for the ticket's order and product",
                     "checkWarrantyStatus", arguments={"order_id": order["id"], "product_id": line["product_id"]}),
            r.reply("reply-ticket", "The reply names the ticket and the new escalation", contains=[ticket["id"], escalation_id]),
            r.reply("reply-end", "The reply gives the warranty end date", contains_any=_date_forms(end)),
        )
        spec.reply = (f"{person['name']}'s open ticket is {ticket['id']}, about the {line['product_name']} from order {order['id']} "
                      f"(bought {status['purchase_date']}, {status['warranty_months']}-month warranty). It is covered until {end}, so "
                      f"I escalated {ticket['id']} as a warranty claim to product management: {escalation_id}.")
        yield spec


# -- the first order, past the first page -------------------------------------------------------------------------
@family("first_order_warranty", "information_retrieval", "heldout", count={"hard": 4, "expert": 8},
        policy_rules=("paginate_orders", "warranty_period"))
def first_order_warranty(ctx: Context) -> Iterator[TaskSpec]:
    """A long-standing customer asks whether anything from their first order (or first two) is still under warranty:
    the first page of searchOrders is exactly ten orders, so it is paged until a short page shows the oldest, then
    every item of that order is checked."""
    customers = ctx.db.all("SELECT customer_id FROM orders GROUP BY customer_id HAVING COUNT(*) > ? ORDER BY customer_id",
                           (ORDERS_PAGE,))
    for first_count in (1, 2):
        for row in ctx.pick(customers):
            orders = history(ctx, row["customer_id"])
            oldest = orders[-first_count:][::-1]
            which = "the very first order I placed with you" if first_count == 1 else "my first two orders with you"
            since = ctx.db.one("SELECT created_at FROM customer WHERE id = ?", (row["customer_id"],))["created_at"][:4]
            spec = TaskSpec(customer(row["customer_id"]), request=dressed(ctx, ctx.rng.choice((
                f"I've been a customer since {since}. Is anything from {which} still under warranty? For each item give me the "
                "end date as YYYY-MM-DD.",
                f"Nostalgia question: what was in {which}, and is any of it still covered by the warranty? Dates as "
                "YYYY-MM-DD please, I keep a spreadsheet.",
                f"Going through my old receipts: which items from {which} are still under warranty, and until when "
                "(YYYY-MM-DD)?",
                f"I've shopped with you since {since}. Which parts of {which} does the warranty still cover, and until what "
                "date? YYYY-MM-DD format please.",
            ))))
            find_customer(spec, orders[0]["customer"])
            all_orders(ctx, spec, row["customer_id"])
            for order in oldest:
                spec.call("getOrderDetails", order_id=order["id"])
            spec.check(r.reply("reply-orders", "The reply names the first order(s), found past the first page of ten",
                               contains=[o["id"] for o in oldest]),
                       r.called("paginated", "searchOrders is paged past the first page of ten", "searchOrders", min_count=2))
            built = _coverage_spec(ctx, spec, [(order, line) for order in oldest for line in order["lines"]])
            if not built:
                continue
            built.variant = "hard" if len(built.calls) <= 9 else "expert"
            page = orders[:ORDERS_PAGE]
            wrong = page[-first_count:][::-1]
            blind = built.ignoring("paginate_orders")
            find_customer(blind, orders[0]["customer"])
            blind.call("searchOrders", customer_id=row["customer_id"])
            for order in wrong:
                blind.call("getOrderDetails", order_id=order["id"])
            blind.reply = (f"Your first order{'s were' if first_count > 1 else ' was'} {' and '.join(o['id'] for o in wrong)}; "
                           + "; ".join(f"{line['product_name']}: warranty until "
                                       f"{ctx.tool('checkWarrantyStatus', order_id=o['id'], product_id=line['product_id'])['warranty_end_date']}"
                                       for o in wrong for line in o["lines"]) + ".")
            yield built


# -- reorder the part from the last order ---------------------------------------------------------------------------
@family("reorder_last_part", "reasoning", "train", count={"in_stock": 12, "out_of_stock": 16},
        policy_rules=("use_calculate_price", "no_unrequested_writes"))
def reorder_last_part(ctx: Context) -> Iterator[TaskSpec]:
    """Another one of the <part> from my most recent order, same shipping as last time: find the customer, their
    newest order, its line of that category, the product page (stock), and quote it with calculatePrice at the
    customer's tier; when it is out of stock, quote instead the in-stock part of that category closest in price
    without going over what was paid."""
    customers = ctx.db.all("SELECT DISTINCT customer_id FROM orders ORDER BY customer_id")
    for row in ctx.pick(customers):
        newest = history(ctx, row["customer_id"])[0]
        lines = [line for line in newest["lines"] if line["category"] in PART_WORDS
                 and sum(other["category"] == line["category"] for other in newest["lines"]) == 1]
        if not lines or newest["status"] in ("cancelled", "pending"):
            continue
        line = ctx.rng.choice(lines)
        product = ctx.tool("getProduct", product_id=line["product_id"])["product"]
        pick = product
        search = {"category": line["category"], "in_stock": True, "max_price": line["unit_price"]}
        if not product["in_stock"]:
            found = [p for p in ctx.tool("searchProducts", **search)["products"] if p["id"] != product["id"]]
            if not found:
                continue
            pick = found[-1]  # cheapest first: the last is the closest to what was paid
        yield _reorder_spec(ctx, newest, line, product, pick, search)


def _reorder_spec(ctx: Context, order: dict, line: dict, product: dict, pick: dict, search: dict) -> TaskSpec:
    word, person = PART_WORDS[line["category"]], order["customer"]
    in_stock = pick is product
    spec = TaskSpec(customer(order["customer_id"]), variant="in_stock" if in_stock else "out_of_stock", request=dressed(ctx, ctx.rng.choice((
        f"I'd like another {word} exactly like the one in my most recent order, shipped the same way as last time. What would "
        f"it cost me today? If it's sold out, quote me the closest thing in stock of the same kind that costs no more than I "
        "paid.",
        f"Loved the {word} from my last order, I want a second one for my other PC. Same shipping as that order. Can you give "
        "me the total? If you don't have it any more, suggest an in-stock alternative that's as close as possible in price "
        "without going over what I paid, and price that instead.",
        f"Please quote me one more of the {word} I got in my latest order (same delivery option). In case it's out of stock, "
        "what's the nearest in-stock option at or under the price I paid, and what would that come to?",
        f"My last order had a {word} in it that I'd like to buy again, with the same shipping as that order. How much would "
        "it be now? And if it's out of stock, price the in-stock one of the same kind closest to what I paid, but not above it.",
    ))))
    find_customer(spec, person)
    spec.call("searchOrders", customer_id=order["customer_id"])
    spec.call("getOrderDetails", order_id=order["id"])
    spec.call("getProduct", product_id=product["id"])
    if not in_stock:
        spec.call("searchProducts", **search)
    pricing = {"items": [{"product_id": pick["id"], "quantity": 1}], "shipping_service": order["shipping_service"],
               "customer_id": order["customer_id"]}
    spec.call("calculatePrice", **pricing)
    quote = ctx.tool("calculatePrice", **pricing)
    spec.check(
        r.called("quoted", f"The quote comes from calculatePrice for the {pick['name']} with {order['shipping_service']} shipping",
                 "calculatePrice", arguments={"items": {"same_items": [{"product_id": pick["id"], "quantity": 1}]},
                                             "shipping_service": order["shipping_service"]}),
        r.reply("reply-total", "The reply gives the quoted total", numbers=[quote["total"]]),
        r.reply("reply-part", f"The reply names the {pick['name']}", contains_any=[pick["name"], pick["id"]]),
    )
    discount = f" less your {quote['loyalty_tier']} discount of {money(quote['discount'])}" if quote["discount"] else ""
    priced = (f"{money(quote['subtotal'])}{discount}, plus {money(quote['shipping'])} {order['shipping_service']} shipping: "
              f"{money(quote['total'])} in total")
    if in_stock:
        spec.reply = (f"The {word} from your latest order {order['id']} is the {product['name']}, and it's in stock. One more, "
                      f"shipped {order['shipping_service']} like last time, comes to {priced}.")
    else:
        spec.check(r.judge("reply-out", f"The reply says the {product['name']} is out of stock",
                           r.reply("fallback", "says it is out of stock", contains_any=["out of stock", "sold out", "not in stock",
                                                                                        "no stock", "unavailable"])))
        spec.reply = (f"The {word} from your latest order {order['id']} is the {product['name']}, which is out of stock right now. "
                      f"The in-stock {word} closest to the {money(line['unit_price'])} you paid without going over is the "
                      f"{pick['name']} at {money(pick['price'])}; shipped {order['shipping_service']}, it comes to {priced}.")
    return spec
