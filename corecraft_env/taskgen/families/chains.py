"""Deep chains: answers that need four or more dependent lookups, each taking its argument from the one before
(customer by e-mail → their orders or tickets → the order → the product → its warranty, product guide, stock or
price), one family paging past a searchOrders page of exactly ten."""

from __future__ import annotations

from collections.abc import Iterator

from ...tools.orders import ORDERS_PAGE
from ...world import NOW
from .. import rubric as r
from ..core import Context, TaskSpec, customer, employee, family
from ..facts import long_date, money, outside_window_before
from ..recipes import escalate
from .knowledge import OUTDATED, conflicting_guides
from .orders_info import all_orders
from .returns import _unique_in_window
from .warranty import SYMPTOMS, _coverage_spec, _date_forms, _open_troubleshooting, months_phrase, one_year_end

# How a person names a category of part (categories a customer would not reorder one of are left out).
PART_WORDS = {"cpu": "processor", "motherboard": "motherboard", "gpu": "graphics card", "memory": "memory kit",
              "storage": "drive", "psu": "power supply", "case": "case", "cooling": "cooler", "monitor": "monitor",
              "keyboard": "keyboard", "mouse": "mouse"}
# Greetings a request may open with, run into its first sentence (a greeting of its own would be a sentence that
# every request repeats).
GREETINGS = ("", "Hi, ", "Hello, ", "Hey there, ", "Good afternoon, ")
COVERED = ["covered", "under warranty", "still valid", "still active"]
EXPIRED = ["expired", "ended", "ran out", "no longer", "out of warranty"]


def find_customer(spec: TaskSpec, person: dict) -> None:
    """The first lookup of every chain: the customer's record from the e-mail the request or its header gives."""
    spec.call("searchCustomers", email=person["email"])


def greeted(ctx: Context, text: str) -> str:
    """``text`` opened with one of the greetings ("Hi, my ..."; "I" keeps its capital)."""
    greeting = ctx.rng.choice(GREETINGS)
    if not greeting or text.startswith(("I ", "I'")):
        return greeting + text
    return greeting + text[0].lower() + text[1:]


def history(ctx: Context, customer_id: str) -> list[dict]:
    """Every order of the customer, newest first (the order searchOrders pages in), each with its lines."""
    return [ctx.tool("getOrderDetails", order_id=row["id"])["order"] for row in ctx.db.all(
        "SELECT id FROM orders WHERE customer_id = ? ORDER BY created_at DESC, id DESC", (customer_id,))]


def bought_once(orders: list[dict], product_id: str) -> bool:
    """Whether exactly one of ``orders`` has ``product_id`` (so naming the product names the order)."""
    return sum(any(line["product_id"] == product_id for line in o["lines"]) for o in orders) == 1


# -- warranty of an item named by product only --------------------------------------------------------------------
def warranty_chain(ctx: Context, items: list[tuple[dict, dict]]) -> TaskSpec:
    """Are the items (one, or two from different orders) still under warranty: the customer names only the products
    (and, relayed by a colleague, their name and e-mail), so the chain runs customer → orders → each order →
    checkWarrantyStatus."""
    person, symptom = items[0][0]["customer"], ctx.rng.choice(SYMPTOMS)
    names = [line["product_name"] for _, line in items]
    if len(items) == 1:
        own = (f"My {names[0]} {symptom}: is it still under warranty, and until what date? (I don't have the order number.)",
               f"I bought a {names[0]} from you a while ago and it {symptom}, so could you check whether the warranty still "
               "covers it and tell me the exact end date?",
               f"Before I open up my {names[0]}, which {symptom}: am I still covered by the warranty, and if so until when?")
        relayed = (f"{person['name']} ({person['email']}) is on the line because their {names[0]} {symptom}; is it still under "
                   "warranty, and until when? They don't have the order number.",
                   f"Can you check for {person['name']} ({person['email']}) which order their {names[0]} was on and whether it "
                   f"is still covered by the warranty? It {symptom}.",
                   f"Customer {person['email']} ({person['name']}) wants to know if the {names[0]} they bought, which {symptom}, "
                   "is still under warranty: give me the order and the warranty end date please.")
    else:
        own = (f"Bad week: the {names[0]} and the {names[1]} I bought from you have both given up, so which of them is still "
               "under warranty, and until when? (No order numbers to hand, sorry.)",
               f"Two of my parts from you are faulty, the {names[0]} and the {names[1]} (bought at different times): can you "
               "tell me for each whether the warranty still covers it and its end date?",
               f"My {names[0]} {symptom}, and the {names[1]} has developed a fault too; is either of them still under "
               "warranty, and until exactly when?")
        relayed = (f"{person['name']} ({person['email']}) has two faulty items from us, the {names[0]} and the {names[1]}, and no "
                   "order numbers: which orders were they on, and is each still under warranty (until when)?",
                   f"For {person['email']} ({person['name']}): can you check the warranty on their {names[0]} and their "
                   f"{names[1]}, which have both stopped working properly, and give me the end dates?",
                   f"Customer {person['name']}, {person['email']}, wants to claim on the {names[0]} and the {names[1]} they "
                   "bought from us, so are they still covered? Give me each order and warranty end date.")
    if ctx.rng.random() < 0.5:
        spec = TaskSpec(customer(person["id"]), request=ctx.rng.choice(own))
    else:
        spec = TaskSpec(employee(ctx.staff()["id"]), request=ctx.rng.choice(relayed))
    spec.variant = "two_items" if len(items) > 1 else spec.requester["type"].replace("employee", "relayed")
    find_customer(spec, person)
    spec.call("searchOrders", customer_id=person["id"])
    for order, _ in items:
        spec.call("getOrderDetails", order_id=order["id"])
    reads = list(spec.calls)
    said, guessed = [], []
    for index, (order, line) in enumerate(items, start=1):
        tag = f"-{index}" if len(items) > 1 else ""
        status = ctx.tool("checkWarrantyStatus", order_id=order["id"], product_id=line["product_id"])
        spec.call("checkWarrantyStatus", order_id=order["id"], product_id=line["product_id"])
        end, covered = status["warranty_end_date"], status["under_warranty"]
        spec.check(
            r.called(f"checked{tag}", f"The warranty of the {line['product_name']} is checked with checkWarrantyStatus for the "
                                      "order it was bought in",
                     "checkWarrantyStatus", arguments={"order_id": order["id"], "product_id": line["product_id"]}),
            r.reply(f"reply-order{tag}", f"The reply names the order the {line['product_name']} was bought in", contains=[order["id"]]),
            r.reply(f"reply-end{tag}", f"The reply gives the {line['product_name']}'s warranty end date", contains_any=_date_forms(end)),
            r.judge(f"reply-verdict{tag}", f"The reply says the {line['product_name']} is {'still covered' if covered else 'no longer covered'}",
                    r.reply("fallback", "states the verdict", contains_any=COVERED if covered else EXPIRED)),
        )
        verdict = (f"still under warranty until {end} ({status['days_remaining']} days left)" if covered
                   else f"no longer covered: the warranty expired on {end}")
        said.append(f"the {line['product_name']} was bought in order {order['id']} on {status['purchase_date']} with "
                    f"{months_phrase(status['warranty_months'])} warranty, so it is {verdict}")
        guess = one_year_end(status["purchase_date"])
        guessed.append(f"the {line['product_name']} (order {order['id']}, {status['purchase_date']}) "
                       f"{'is covered until' if guess >= '2025-09-15' else 'expired on'} {guess}")
    reply = "; ".join(said)
    spec.reply = reply[0].upper() + reply[1:] + "."
    blind = spec.ignoring("warranty_period")
    blind.calls = reads
    blind.reply = "Our warranty runs a year from purchase: " + "; ".join(guessed) + "."
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


@family("warranty_lookup_by_product", "reasoning", "train", count={"customer": 13, "relayed": 13, "two_items": 10},
        policy_rules=("warranty_period", "no_unrequested_writes"))
def warranty_lookup_by_product(ctx: Context) -> Iterator[TaskSpec]:
    """A customer (or a colleague with their name and e-mail) names only the product that failed, or two bought at
    different times: find the customer, their orders, the order holding each product, then checkWarrantyStatus;
    answer with the order, the end date and whether it still covers the item (the product's own months, not a flat
    year)."""
    pending: dict[str, tuple[dict, dict]] = {}  # a customer's first item, waiting for a second from another order
    for order, line in warranty_candidates(ctx, outside_window_before()):
        yield warranty_chain(ctx, [(order, line)])
        first = pending.pop(order["customer_id"], None)
        if first and first[0]["id"] != order["id"]:
            yield warranty_chain(ctx, sorted([first, (order, line)], key=lambda item: item[0]["created_at"]))
        elif not first:
            pending[order["customer_id"]] = (order, line)


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
            f"{ctx.rng.choice(SYMPTOMS)} (no damage or overclocking) and nobody got back to them. If the {line['product_name']} "
            "is still under warranty, please get the claim to the team that handles those, and tell me the ticket and the "
            "warranty end date.",
            f"Chasing one for {person['email']} ({person['name']}): there's an open ticket about their faulty "
            f"{line['product_name']}; can you dig it out, check the warranty on it and, if it's covered, raise the claim with "
            f"the right department, then let me know what you did for {person['name'].split()[0]}?",
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
@family("first_order_warranty", "information_retrieval", "heldout", count={"first": 6, "first_two": 6},
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
            spec = TaskSpec(customer(row["customer_id"]), request=greeted(ctx, ctx.rng.choice((
                f"I've been a customer since {since}: is anything from {which} still under warranty? For each item give me "
                "the end date as YYYY-MM-DD.",
                f"Nostalgia question from a customer since {since}: what was in {which}, and is any of it still covered by "
                "the warranty (dates as YYYY-MM-DD please, I keep a spreadsheet)?",
                f"Going through my receipts back to {since}: which items from {which} are still under warranty, and until "
                "when (YYYY-MM-DD)?",
                f"I've shopped with you since {since}, so which parts of {which} does the warranty still cover, and until "
                "what date (YYYY-MM-DD format please)?",
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
            built.variant = "first" if first_count == 1 else "first_two"
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
            if not found or (len(found) > 1 and found[-2]["price"] == found[-1]["price"]):
                continue  # none, or two equally close: the request would have no single answer
            pick = found[-1]  # cheapest first: the last is the closest to what was paid
        yield _reorder_spec(ctx, newest, line, product, pick, search)


def _reorder_spec(ctx: Context, order: dict, line: dict, product: dict, pick: dict, search: dict) -> TaskSpec:
    word, person = PART_WORDS[line["category"]], order["customer"]
    placed, paid = long_date(order["created_at"]), money(line["unit_price"])
    in_stock = pick is product
    spec = TaskSpec(customer(order["customer_id"]), variant="in_stock" if in_stock else "out_of_stock", request=greeted(ctx, ctx.rng.choice((
        f"I'd like another {word} exactly like the one in my most recent order ({placed}), shipped the same way as last time: "
        f"what would it cost me today? If that {word} is sold out, quote me the closest one in stock that costs no more than "
        f"the {paid} I paid.",
        f"Loved the {word} from my last order on {placed} and I want a second one for my other PC, with the same shipping as "
        f"that order, so can you give me the total? If you don't have that {word} any more, price the in-stock one closest "
        f"to my {paid} without going over.",
        f"Please quote me one more of the {word} I got in my latest order ({placed}), same delivery option; in case it's out "
        f"of stock, what's the nearest in-stock {word} at or under the {paid} I paid, and what would that come to?",
        f"My last order, from {placed}, had a {word} in it that I'd like to buy again with the same shipping: how much would it "
        f"be now? If it's out of stock, price the in-stock {word} closest to the {paid} I paid, but not above it.",
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


# -- the product guide of an item bought on a given day ---------------------------------------------------------------
@family("ordered_cooler_guide_check", "information_retrieval", "heldout", count=12,
        policy_rules=("product_page_wins", "tools_only"))
def ordered_cooler_guide_check(ctx: Context) -> Iterator[TaskSpec]:
    """A customer quotes the product guide's height for the cooler they ordered on a day they name (Eastern time):
    find the customer, the order of that day, the cooler on it, then the guide and the product page; answer with the
    page's height and say the guide is out of date."""
    guides: dict[str, list[dict]] = {}
    for conflict in conflicting_guides(ctx):
        guides.setdefault(conflict["product"]["id"], []).append(conflict)
    rows = ctx.db.all("SELECT DISTINCT l.order_id FROM order_line l JOIN orders o ON o.id = l.order_id WHERE o.status = 'delivered' "
                      f"AND l.product_id IN ({', '.join('?' * len(guides))}) ORDER BY l.order_id", tuple(sorted(guides)))
    for row in ctx.pick(rows):
        order = ctx.tool("getOrderDetails", order_id=row["order_id"])["order"]
        coolers = [line for line in order["lines"] if line["category"] == "cooling"]
        window = _unique_in_window(ctx, order)
        if len(coolers) != 1 or coolers[0]["product_id"] not in guides or not window:
            continue
        placed = long_date(order["created_at"])
        when = window.phrase if placed.endswith(str(NOW.year)) else f"{window.phrase}, {placed[-4:]}"  # an older year is said
        conflict = ctx.rng.choice(guides[coolers[0]["product_id"]])
        product, guide, page, article = conflict["product"], conflict["guide"], conflict["page"], conflict["article"]
        spec = TaskSpec(customer(order["customer_id"]), request=greeted(ctx, ctx.rng.choice((
            f"I'm picking a new case for the cooler I ordered {when}, which your product guide says is {guide} mm tall: is "
            "that the real height? I don't want to buy a case it won't fit in.",
            f"How tall exactly is the CPU cooler from the order I placed {when}? The guide on your site says {guide} mm, "
            "which seems a lot.",
            f"Before I order a case: the cooler I bought {when} is {guide} mm tall according to your product guide, can you "
            "confirm that's right?",
        ))))
        find_customer(spec, order["customer"])
        spec.call("searchOrders", customer_id=order["customer_id"], created_after=window.after, created_before=window.before)
        spec.call("getOrderDetails", order_id=order["id"])
        spec.call("searchKnowledgeBase", product_id=product["id"])
        spec.call("getProduct", product_id=product["id"])
        spec.check(
            r.reply("reply-height", "The reply gives the height from the product page", numbers=[page]),
            r.reply("reply-cooler", "The reply names the cooler on that order", contains_any=[product["name"], product["id"]]),
            r.judge("reply-source", "The reply says the product page is authoritative and the guide is out of date",
                    r.reply("fallback", "flags the guide", contains_any=OUTDATED)),
            r.called("page-read", "The cooler's product page is read with getProduct", "getProduct",
                     arguments={"product_id": product["id"]}),
        )
        spec.reply = (f"The cooler on your order {order['id']} from {placed} is the {product['name']}. Its "
                      f"product page, which is the source of truth for specs, gives a height of {page} mm; the guide's {guide} mm "
                      f"({article['id']}) is out of date.")
        blind = spec.ignoring("product_page_wins", "tools_only")
        blind.calls = spec.calls[:4]
        blind.reply = (f"Yes: the cooler on order {order['id']} is the {product['name']}, and its product guide lists it at "
                       f"{guide} mm tall.")
        yield spec
