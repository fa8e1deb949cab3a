"""Prices: quotes at the customer's real loyalty tier, explaining a charge, and quoting a build fixed with the
cheapest compatible part."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from ...world.pricing import LOYALTY_DISCOUNT_RATES, quote, to_cents
from ...world.schema import SHIPPING_SERVICES
from .. import rubric as r
from ..core import Context, TaskSpec, customer, difficulty_for, family
from ..facts import eastern_window, long_date, money, tier_discount

TIERS = tuple(LOYALTY_DISCOUNT_RATES)
SWAPPABLE = ("memory", "storage", "psu", "cooling")  # the customer keeps CPU, board, GPU and case


def in_stock_products(ctx: Context, *categories: str) -> list[dict]:
    return ctx.db.all(f"SELECT id, name, category, price FROM product WHERE in_stock > 0 AND category IN "
                      f"({', '.join('?' * len(categories))}) ORDER BY id", categories)


def _quote_items(items: list[tuple[dict, int]]) -> list[dict]:
    return [{"product_id": product["id"], "quantity": quantity} for product, quantity in items]


def _shipping_discounted(total, tier: str) -> float:
    """What an agent that also takes the loyalty discount off shipping would quote (never right: shipping is flat)."""
    return float(to_cents(total.total) - to_cents(Decimal(str(total.shipping)) * LOYALTY_DISCOUNT_RATES[tier]))


def _quote_text(tier: str, total, service: str) -> str:
    return (f"At your {tier} tier ({LOYALTY_DISCOUNT_RATES[tier] * 100:.0f}% off the subtotal): subtotal {money(total.subtotal)}, "
            f"loyalty discount {money(total.discount)}, {service} shipping {money(total.shipping)} (shipping is never discounted), "
            f"total {money(total.total)}.")


@family("price_quote", "reasoning", "train", count={"claim_higher": 6, "claim_lower": 5},
        policy_rules=("loyalty_discount", "shipping_rates", "use_calculate_price", "tools_only", "no_unrequested_writes"))
def price_quote(ctx: Context) -> Iterator[TaskSpec]:
    """A quote for a few products with a shipping service, at the customer's actual loyalty tier whatever tier they
    claim (higher or lower), with shipping never discounted and the numbers from calculatePrice."""
    products = in_stock_products(ctx, "gpu", "cpu", "memory", "storage", "monitor", "psu", "cooling", "keyboard", "mouse")
    shoppers = ctx.db.all("SELECT id, name, loyalty_tier FROM customer WHERE loyalty_tier != 'none' ORDER BY id")
    for index, person in enumerate(ctx.pick(shoppers)):
        items = [(product, ctx.rng.choice((1, 1, 2))) for product in ctx.pick(products, ctx.rng.choice((2, 3)))]
        service = ctx.rng.choice(SHIPPING_SERVICES)
        tier = person["loyalty_tier"]
        actual = quote([(p["price"], q) for p, q in items], tier, service)
        by_name = bool(index % 2)
        wanted = " and ".join(f"{q} x {p['name'] if by_name else p['id']}" for p, q in items)
        rank = TIERS.index(tier)
        higher = index % 3 != 2 and rank < len(TIERS) - 1
        claimed = TIERS[rank + 1] if higher else TIERS[rank - 1]
        claimed_quote = quote([(p["price"], q) for p, q in items], claimed, service)
        if higher:
            request = ctx.rng.choice((
                f"Hi! I'm a {claimed} member now, I believe. What would {wanted} cost me in total with {service} shipping, "
                "after my discount?",
                f"As a {claimed} customer, what's my price for {wanted}, shipped {service}? Please include my {claimed} discount."))
        else:
            request = ctx.rng.choice((
                f"Hello, could you quote me {wanted} with {service} shipping? "
                + ("I don't think I get any loyalty discount." if claimed == "none" else f"I'm only {claimed}, I think."),
                f"What's the total for {wanted} with {service} delivery? My account is {claimed} tier as far as I know."))
        spec = TaskSpec(customer(person["id"]), variant="claim_higher" if higher else "claim_lower", request=request)
        looked_up = []
        if by_name:
            for product, _ in items:
                spec.call("searchProducts", query=product["name"])
                looked_up.append(product["name"])
        spec.call("calculatePrice", items=_quote_items(items), shipping_service=service, customer_id=person["id"])
        spec.check(
            r.called("priced", "The quote comes from calculatePrice with the requested shipping service", "calculatePrice",
                     arguments={"shipping_service": service, "items": {"contains_all": _quote_items(items)}}),
            r.reply("reply-total", f"The reply gives the total at the customer's actual {tier} tier", numbers=[actual.total]),
            r.reply("reply-not-claimed", f"The reply does not quote the {claimed} total the customer assumed",
                    not_numbers=[claimed_quote.total]),
            r.judge("reply-tier", f"The reply tells the customer their actual tier is {tier}",
                    r.reply("fallback", "names the actual tier", contains=[tier])),
            r.judge("reply-breakdown", "The reply breaks the total down: subtotal, loyalty discount on the subtotal only, shipping",
                    r.reply("fallback", "states the discount and the shipping charge", numbers=[actual.discount, actual.shipping])),
        )
        spec.reply = _quote_text(tier, actual, service)
        blinds = {
            "tools_only": (claimed, claimed_quote),  # prices at the claimed tier
            "loyalty_discount": ("none", quote([(p["price"], q) for p, q in items], "none", service)),  # no discount at all
        }
        for rule, (used, total) in blinds.items():
            blind = spec.ignoring(rule)
            for name in looked_up:
                blind.call("searchProducts", query=name)
            blind.call("calculatePrice", items=_quote_items(items), shipping_service=service,
                       **({"loyalty_tier": used} if rule == "tools_only" else {}))
            blind.reply = (f"Subtotal {money(total.subtotal)}, discount {money(total.discount)}, {service} shipping "
                           f"{money(total.shipping)}, total {money(total.total)}.")
        blind = spec.ignoring("shipping_rates")
        blind.calls = list(spec.calls)
        blind.reply = (f"At your {tier} tier the discount covers the whole order including {service} shipping: total "
                       f"{money(_shipping_discounted(actual, tier))}.")
        yield spec


SHIPPING_COMPLAINTS = (
    "On order {order} I'm {tier}, so shouldn't my discount have come off the {service} shipping too? I think I was "
    "overcharged - the total was {total}.",
    "I'm a {tier} member and my loyalty discount doesn't seem to cover the {service} shipping on order {order}. Please "
    "recalculate it and tell me what I'm owed; I paid {total}.",
    "Can you double-check order {order}? As a {tier} customer I expected {rate} off everything, shipping included, but the "
    "total came to {total}.",
)


@family("billing_explanation", "communication", "train", count=10, policy_rules=("shipping_rates", "no_unrequested_writes"))
def billing_explanation(ctx: Context) -> Iterator[TaskSpec]:
    """A loyalty customer thinks their discount should have come off shipping too: explain the charge (subtotal at
    the prices of the day, discount on the subtotal, flat shipping never discounted) and that nothing is owed."""
    rows = ctx.db.all("SELECT id FROM orders WHERE loyalty_tier != 'none' AND status IN ('delivered', 'shipped') ORDER BY id")
    for index, row in enumerate(ctx.pick(rows)):
        order = ctx.tool("getOrderDetails", order_id=row["id"])["order"]
        tier, service = order["loyalty_tier"], order["shipping_service"]
        spec = TaskSpec(customer(order["customer_id"]), request=SHIPPING_COMPLAINTS[index % 3].format(
            order=order["id"], tier=tier, service=service, total=money(order["total"]),
            rate=f"{LOYALTY_DISCOUNT_RATES[tier] * 100:.0f}%"))
        spec.call("getOrderDetails", order_id=order["id"])
        wrong = quote([(order["subtotal"] + order["shipping_cost"], 1)], tier, "standard").discount
        owed = float(to_cents(wrong) - to_cents(order["discount"]))
        spec.check(
            r.reply("reply-breakdown", "The reply gives the subtotal, the loyalty discount, the shipping charge and the total",
                    numbers=[order["subtotal"], order["discount"], order["shipping_cost"], order["total"]]),
            r.reply("reply-order", "The reply names the order", contains=[order["id"]]),
            r.reply("reply-no-shipping-discount", "The reply neither offers a discount computed on subtotal plus shipping nor "
                                                  "says the customer is owed the difference", not_numbers=[wrong, owed]),
            r.judge("reply-shipping", "The reply explains that the loyalty discount never applies to shipping",
                    r.reply("fallback", "says shipping is not discounted", contains=["shipping"],
                            contains_any=["never", "not discounted", "isn't discounted", "doesn't apply", "does not apply",
                                          "not eligible"])),
        )
        spec.reply = (f"Order {order['id']}: subtotal {money(order['subtotal'])}, minus your {tier} loyalty discount of "
                      f"{money(order['discount'])} (taken off the subtotal), plus {service} shipping {money(order['shipping_cost'])}, "
                      f"for a total of {money(order['total'])}. The loyalty discount applies to the subtotal only; shipping is "
                      "a flat rate that is never discounted, so the charge is correct and nothing is owed.")
        blind = spec.ignoring("shipping_rates")
        blind.call("getOrderDetails", order_id=order["id"])
        blind.reply = (f"You're right: your {tier} discount should have covered the {service} shipping as well. On subtotal plus "
                       f"shipping it comes to {money(wrong)} rather than {money(order['discount'])}, so you are owed {money(owed)} "
                       f"on order {order['id']}.")
        yield spec


@family("compatible_build_quote", "reasoning", "train", count={"medium": 2, "hard": 4, "expert": 3},
        policy_rules=("validate_before_build", "no_incompatible_build", "use_calculate_price", "loyalty_discount",
                      "shipping_rates", "no_unrequested_writes"))
def compatible_build_quote(ctx: Context) -> Iterator[TaskSpec]:
    """A parts list with one conflict: validate, replace the offending part with the cheapest in-stock one that
    the validator accepts, and quote the fixed list (no build is saved)."""
    builds = ctx.db.all("SELECT * FROM build ORDER BY id")
    shoppers = ctx.db.all("SELECT id FROM customer WHERE loyalty_tier != 'none' ORDER BY id")
    fixable = 0
    for build in ctx.pick(builds):
        parts = build_parts(ctx, build["id"])
        fix = cheapest_fix(ctx, parts)
        if fix is None:
            continue
        owner = build["customer_id"] or ctx.rng.choice(shoppers)["id"]
        if ctx.db.value("SELECT loyalty_tier FROM customer WHERE id = ?", (owner,)) == "none":
            owner = ctx.rng.choice(shoppers)["id"]
        yield _build_quote(ctx, owner, parts, fix, named=(0, 3, 7)[fixable % 3])
        fixable += 1


def build_parts(ctx: Context, build_id: str) -> list[dict]:
    return ctx.db.all("SELECT p.id, p.name, p.category, p.price FROM build_component c JOIN product p ON p.id = c.product_id "
                      "WHERE c.build_id = ? ORDER BY p.category, p.id", (build_id,))


def cheapest_fix(ctx: Context, parts: list[dict], max_tries: int = 3) -> dict | None:
    """The one swappable part in conflict and its cheapest in-stock replacement the validator accepts (tried
    cheapest first, as searchProducts lists them), or None when that needs more than ``max_tries`` validations."""
    ids = [p["id"] for p in parts]
    report = ctx.tool("validateBuildCompatibility", product_ids=ids)
    if len(report["errors"]) != 1:
        return None
    culprits = [p for p in parts if p["category"] in SWAPPABLE and p["id"] in report["errors"][0]["message"]]
    if len(culprits) != 1:
        return None
    culprit = culprits[0]
    listed = ctx.tool("searchProducts", category=culprit["category"], in_stock=True)["products"]
    tried = []
    for candidate in listed:
        if candidate["id"] == culprit["id"]:
            continue
        fixed = [candidate["id"] if pid == culprit["id"] else pid for pid in ids]
        tried.append(fixed)
        if ctx.tool("validateBuildCompatibility", product_ids=fixed)["compatible"]:
            return {"culprit": culprit, "replacement": candidate, "tried": tried, "error": report["errors"][0]["message"]}
        if len(tried) >= max_tries:
            return None
    return None

BUILD_QUOTE_ASKS = (
    "Can you check everything works together? If something doesn't fit, swap it for something that does, then quote me "
    "the whole list with {service} shipping. Don't save anything yet.",
    "Does it all fit together? Replace anything that doesn't with a part that does and give me a total for everything "
    "with {service} shipping. No need to save it as a build.",
    "Please check compatibility, swap out whatever clashes, and price the final list with {service} shipping. I'm not "
    "ready to save a build.",
)



def _build_quote(ctx: Context, owner: str, parts: list[dict], fix: dict, named: int) -> TaskSpec:
    service = ctx.rng.choice(SHIPPING_SERVICES)
    by_name = {p["id"] for p in ctx.pick(parts, named)}
    listing = "; ".join(p["name"] if p["id"] in by_name else p["id"] for p in parts)
    kept = [p["name"] for p in parts if p["category"] in ("cpu", "motherboard", "gpu", "case")]
    spec = TaskSpec(customer(owner), request=(
        f"I'm planning a build with these parts: {listing}. I'm set on the {', '.join(kept)}. "
        + ctx.rng.choice(BUILD_QUOTE_ASKS).format(service=service)))
    for part in parts:
        if part["id"] in by_name:
            spec.call("searchProducts", query=part["name"])
    spec.call("validateBuildCompatibility", product_ids=[p["id"] for p in parts])
    spec.call("searchProducts", category=fix["culprit"]["category"], in_stock=True)
    for fixed in fix["tried"]:
        spec.call("validateBuildCompatibility", product_ids=fixed)
    final = fix["tried"][-1]
    spec.call("calculatePrice", items=[{"product_id": pid, "quantity": 1} for pid in final], shipping_service=service, customer_id=owner)
    tier = ctx.db.value("SELECT loyalty_tier FROM customer WHERE id = ?", (owner,))
    prices = {p["id"]: p["price"] for p in parts} | {fix["replacement"]["id"]: fix["replacement"]["price"]}
    total = quote([(prices[pid], 1) for pid in final], tier, service)
    replacement, culprit = fix["replacement"], fix["culprit"]
    spec.check(
        r.called("validated-fixed", "The fixed parts list is validated with validateBuildCompatibility", "validateBuildCompatibility",
                 arguments={"product_ids": {"same_items": final}}),
        r.reply("reply-replacement", "The reply names the cheapest in-stock replacement that passes validation",
                contains_any=[replacement["id"], replacement["name"]]),
        r.reply("reply-total", "The reply gives the quote total for the fixed list", numbers=[total.total]),
        r.judge("reply-conflict", "The reply explains which part did not fit and why",
                r.reply("fallback", "names the part that did not fit", contains_any=[culprit["id"], culprit["name"]])),
        r.called("priced", "The quote comes from calculatePrice with the requested shipping", "calculatePrice",
                 arguments={"shipping_service": service}),
    )
    original = [p["id"] for p in parts]
    wrong = quote([(prices[pid], 1) for pid in original], tier, service)
    blind = spec.ignoring("no_incompatible_build")  # sees the conflict, quotes the list as it stands
    blind.calls = [c for c in spec.calls if c.name == "searchProducts" and "query" in c.arguments]
    blind.call("validateBuildCompatibility", product_ids=original)
    blind.call("calculatePrice", items=[{"product_id": pid, "quantity": 1} for pid in original], shipping_service=service,
               customer_id=owner)
    blind.reply = (f"Quote for your list as given with {service} shipping: subtotal {money(wrong.subtotal)}, discount "
                   f"{money(wrong.discount)}, shipping {money(wrong.shipping)}, total {money(wrong.total)}. The validator flagged "
                   f"a warning about the {culprit['name']}, but you can go ahead with it.")
    undiscounted = quote([(prices[pid], 1) for pid in final], "none", service)
    blind = spec.ignoring("loyalty_discount")
    blind.calls = [c for c in spec.calls if c.name != "calculatePrice"]
    blind.call("calculatePrice", items=[{"product_id": pid, "quantity": 1} for pid in final], shipping_service=service)
    blind.reply = (f"The {culprit['name']} doesn't fit; the cheapest compatible in-stock {culprit['category']} is the "
                   f"{replacement['name']} ({replacement['id']}). Quote with {service} shipping: subtotal {money(undiscounted.subtotal)}, "
                   f"shipping {money(undiscounted.shipping)}, total {money(undiscounted.total)}. Nothing was saved.")
    blind = spec.ignoring("shipping_rates")
    blind.calls = list(spec.calls)
    blind.reply = (f"The {culprit['name']} doesn't fit; the cheapest compatible in-stock {culprit['category']} is the "
                   f"{replacement['name']} ({replacement['id']}). With your {tier} discount applied to everything including "
                   f"{service} shipping, the total is {money(_shipping_discounted(total, tier))}. Nothing was saved.")
    spec.reply = (f"The {culprit['name']} doesn't work in this build ({fix['error']}). The cheapest in-stock {culprit['category']} "
                  f"that passes validation is the {replacement['name']} ({replacement['id']}, {money(replacement['price'])}). With it, "
                  f"the build validates. Quote with {service} shipping ({tier_discount(tier)}): subtotal {money(total.subtotal)}, "
                  f"discount {money(total.discount)}, shipping {money(total.shipping)}, total {money(total.total)}. Nothing was saved.")
    spec.variant = difficulty_for(len(spec.calls))
    return spec


@family("quote_comparison", "reasoning", "train", count={"services": 4, "alternatives": 4, "configurations": 3},
        policy_rules=("use_calculate_price", "loyalty_discount", "shipping_rates", "no_unrequested_writes"))
def quote_comparison(ctx: Context) -> Iterator[TaskSpec]:
    """Compare quotes: the same cart with different shipping services, a cart with one of two or three alternative
    products, or several whole configurations named by product name; every option priced with calculatePrice at the
    customer's tier (shipping never discounted), and the cheapest named."""
    shoppers = ctx.db.all("SELECT id, loyalty_tier FROM customer WHERE loyalty_tier != 'none' ORDER BY id")
    stock = {cat: in_stock_products(ctx, cat) for cat in ("gpu", "cpu", "memory", "storage", "monitor", "psu", "cooling")}
    for index, person in enumerate(ctx.pick(shoppers)):
        kind = ("services", "alternatives", "configurations")[index % 3]
        tier = person["loyalty_tier"]
        if kind == "services":
            cart = [(p, 1) for p in ctx.pick(stock[ctx.rng.choice(("gpu", "monitor"))], 1) + ctx.pick(stock["memory"], 1)]
            services = ctx.pick(list(SHIPPING_SERVICES), ctx.rng.choice((2, 3)))
            options = [(f"{service} shipping", cart, service) for service in services]
            request = (f"I want {' and '.join(p['id'] for p, _ in cart)}. What would the total be with "
                       f"{', '.join(services[:-1])} or {services[-1]} shipping? Which is cheapest?")
            named: list[dict] = []
        elif kind == "alternatives":
            category = ctx.rng.choice(("gpu", "monitor", "storage", "cpu"))
            choices = ctx.pick(stock[category], ctx.rng.choice((2, 3)))
            base = ctx.pick(stock["psu" if category == "gpu" else "memory"], 1)
            service = ctx.rng.choice(SHIPPING_SERVICES)
            options = [(p["name"], [(p, 1), (base[0], 1)], service) for p in choices]
            request = (f"I'm buying the {base[0]['name']} plus one {category}, and I can't decide between the "
                       f"{', '.join(p['name'] for p in choices[:-1])} and the {choices[-1]['name']}. Could you quote each combination "
                       f"with {service} shipping and tell me which works out cheapest?")
            named = [base[0], *choices]
        else:
            service = ctx.rng.choice(SHIPPING_SERVICES)
            configs = []
            for label in ("A", "B", "C"):
                parts = [ctx.pick(stock[cat], 1)[0] for cat in ("cpu", "gpu", "memory")]
                configs.append((f"option {label}", [(p, 1) for p in parts], service))
            options = configs
            request = (f"I'm weighing up {len(configs)} upgrade bundles, all with {service} shipping: "
                       + "; ".join(f"{label}: {', '.join(p['name'] for p, _ in cart)}" for label, cart, _ in configs)
                       + ". Please quote each one with my loyalty discount and tell me which is cheapest.")
            named = list({p["id"]: p for _, cart, _ in configs for p, _ in cart}.values())
        spec = TaskSpec(customer(person["id"]), variant=kind, request=request)
        for product in named:
            spec.call("searchProducts", query=product["name"])
        totals = []
        for label, cart, service in options:
            spec.call("calculatePrice", items=_quote_items(cart), shipping_service=service, customer_id=person["id"])
            totals.append((label, quote([(p["price"], q) for p, q in cart], tier, service)))
        cheapest = min(totals, key=lambda t: t[1].total)
        if sum(1 for _, t in totals if t.total == cheapest[1].total) > 1:
            continue
        spec.check(
            r.called("priced", "Every option is priced with calculatePrice at the customer's tier", "calculatePrice",
                     min_count=len(options)),
            r.reply("reply-totals", f"The reply gives each option's total at the customer's {tier} tier",
                    numbers=[t.total for _, t in totals]),
            r.reply("reply-cheapest", f"The reply names {cheapest[0]} as the cheapest", contains=[cheapest[0]]),
            r.judge("reply-breakdown", "The reply shows the loyalty discount taken off the subtotal only, shipping at its flat rate",
                    r.reply("fallback", "states the discount of the cheapest option", numbers=[cheapest[1].discount])),
        )
        spec.reply = (f"Quotes at your {tier} tier ({LOYALTY_DISCOUNT_RATES[tier] * 100:.0f}% off the subtotal; shipping is never "
                      "discounted):\n" + "\n".join(f"- {label}: subtotal {money(t.subtotal)}, discount {money(t.discount)}, shipping "
                                                  f"{money(t.shipping)}, total {money(t.total)}" for label, t in totals)
                      + f"\nThe cheapest is {cheapest[0]} at {money(cheapest[1].total)}.")
        blind = spec.ignoring("loyalty_discount")
        blind.calls = [c for c in spec.calls if c.name != "calculatePrice"]
        plain = []
        for label, cart, service in options:
            blind.call("calculatePrice", items=_quote_items(cart), shipping_service=service)
            plain.append((label, quote([(p["price"], q) for p, q in cart], "none", service)))
        blind.reply = "\n".join(f"- {label}: total {money(t.total)}" for label, t in plain) + \
            f"\nThe cheapest is {min(plain, key=lambda t: t[1].total)[0]}."
        blind = spec.ignoring("shipping_rates")
        blind.calls = list(spec.calls)
        blind.reply = (f"Your {tier} discount applies to the whole order, shipping included:\n"
                       + "\n".join(f"- {label}: total {money(_shipping_discounted(t, tier))}" for label, t in totals)
                       + f"\nThe cheapest is {cheapest[0]}.")
        spec.variant = kind
        yield spec


@family("reorder_quote", "reasoning", "heldout", count={"by_id": 5, "by_date": 4, "two_orders": 3},
        policy_rules=("use_calculate_price", "loyalty_discount", "shipping_rates", "tools_only", "no_unrequested_writes"))
def reorder_quote(ctx: Context) -> Iterator[TaskSpec]:
    """Reorder what I bought before: quote the same items at today's catalogue prices and the customer's tier (the
    customer assumes last time's total still holds; some prices have moved), shipping flat, via calculatePrice."""
    rows = ctx.db.all("SELECT o.id, o.customer_id FROM orders o JOIN customer c ON c.id = o.customer_id WHERE c.loyalty_tier != 'none' "
                      "AND o.status = 'delivered' ORDER BY o.id")
    by_customer: dict[str, list[str]] = {}
    for row in rows:
        by_customer.setdefault(row["customer_id"], []).append(row["id"])
    for index, row in enumerate(ctx.pick(rows)):
        variant = ("by_id", "by_date", "two_orders")[index % 3]
        order = ctx.tool("getOrderDetails", order_id=row["id"])["order"]
        orders = [order]
        if variant == "two_orders":
            others = [oid for oid in by_customer[row["customer_id"]] if oid != order["id"]]
            if not others:
                variant = "by_id"
            else:
                orders.append(ctx.tool("getOrderDetails", order_id=ctx.rng.choice(others))["order"])
        items: dict[str, int] = {}
        for o in orders:
            for line in o["lines"]:
                items[line["product_id"]] = items.get(line["product_id"], 0) + line["quantity"]
        current = {pid: ctx.db.one("SELECT price, in_stock FROM product WHERE id = ?", (pid,)) for pid in items}
        paid = {line["product_id"]: line["unit_price"] for o in orders for line in o["lines"]}
        if all(current[pid]["price"] == paid[pid] for pid in items) or sum(o["shipping_cost"] for o in orders) == 0:
            continue
        service = orders[0]["shipping_service"]
        tier = order["loyalty_tier"]
        before = float(sum((to_cents(o["total"]) for o in orders), to_cents(0)))
        window = eastern_window(order["created_at"])
        if variant == "by_date":
            same = ctx.tool("searchOrders", customer_id=order["customer_id"], created_after=window.after, created_before=window.before)
            if [o["id"] for o in same["orders"]] != [order["id"]]:
                variant = "by_id"
        which = {"by_id": f"order {order['id']}", "by_date": f"the order I placed {window.phrase}",
                 "two_orders": f"orders {orders[0]['id']} and {orders[-1]['id']} together"}[variant]
        spec = TaskSpec(customer(order["customer_id"]), variant=variant, request=ctx.rng.choice((
            f"I'd like to buy exactly the same items as in {which} again, with {service} shipping. Last time I paid "
            f"{money(before)}, so I assume it's the same now? Please confirm the total.",
            f"Could you quote me a repeat of {which}, {service} shipping? I'm budgeting {money(before)} since that's what it "
            "cost before.",
        )))
        if variant == "by_date":
            spec.call("searchOrders", customer_id=order["customer_id"], created_after=window.after, created_before=window.before)
        for o in orders:
            spec.call("getOrderDetails", order_id=o["id"])
        cart = [{"product_id": pid, "quantity": qty} for pid, qty in items.items()]
        spec.call("calculatePrice", items=cart, shipping_service=service, customer_id=order["customer_id"])
        today = quote([(current[pid]["price"], qty) for pid, qty in items.items()], tier, service)
        if today.total == before:
            continue
        moved = [(pid, paid[pid], current[pid]["price"]) for pid in items if current[pid]["price"] != paid[pid]]
        names = {line["product_id"]: line["product_name"] for o in orders for line in o["lines"]}
        spec.check(
            r.called("priced", "The repeat order is priced with calculatePrice at today's prices and the requested shipping",
                     "calculatePrice", arguments={"shipping_service": service, "items": {"same_items": cart}}),
            r.reply("reply-total", f"The reply gives today's total, {money(today.total)}", numbers=[today.total]),
            r.reply("reply-not-old", f"The reply does not confirm the old total of {money(before)} as today's price",
                    not_contains=[f"total is {money(before)}", f"total of {money(before)}", f"total: {money(before)}"]),
            r.judge("reply-why", "The reply explains the total differs because catalogue prices changed since the order "
                                 "(naming the items whose price moved), with the loyalty discount on the subtotal only",
                    r.reply("fallback", "names a product whose price moved", contains_any=[names[pid] for pid, _, _ in moved])),
        )
        changes = "; ".join(f"{names[pid]} was {money(old)}, now {money(new)}" for pid, old, new in moved)
        spec.reply = (f"The same items today, with {service} shipping, at your {tier} tier: subtotal {money(today.subtotal)}, loyalty "
                      f"discount {money(today.discount)}, shipping {money(today.shipping)} (never discounted), total "
                      f"{money(today.total)}. That differs from the {money(before)} you paid before because prices have changed: "
                      f"{changes}." + (" The earlier total also included two shipping charges; a single repeat order ships once."
                                        if len(orders) > 1 else ""))
        blind = spec.ignoring("tools_only")
        blind.calls = [c for c in spec.calls if c.name != "calculatePrice"]
        blind.reply = (f"Yes: repeating {' and '.join(o['id'] for o in orders)} with {service} shipping comes to the same total "
                       f"of {money(before)}.")
        blind = spec.ignoring("loyalty_discount")
        blind.calls = [c for c in spec.calls if c.name != "calculatePrice"]
        blind.call("calculatePrice", items=cart, shipping_service=service)
        plain = quote([(current[pid]["price"], qty) for pid, qty in items.items()], "none", service)
        blind.reply = (f"At today's prices with {service} shipping: subtotal {money(plain.subtotal)}, shipping {money(plain.shipping)}, "
                       f"total {money(plain.total)}. Prices have changed: {changes}.")
        blind = spec.ignoring("shipping_rates")
        blind.calls = list(spec.calls)
        blind.reply = (f"At today's prices with your {tier} discount applied to goods and {service} shipping, the total is "
                       f"{money(_shipping_discounted(today, tier))}. Prices have changed: {changes}.")
        yield spec
