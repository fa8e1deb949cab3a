"""Prices: quotes at the customer's real loyalty tier, explaining a charge, and quoting a build fixed with the
cheapest compatible part."""

from __future__ import annotations

from collections.abc import Iterator

from ...world.pricing import LOYALTY_DISCOUNT_RATES, quote
from ...world.schema import SHIPPING_SERVICES
from .. import rubric as r
from ..core import Context, TaskSpec, customer, difficulty_for, family
from ..facts import long_date, money, tier_discount

TIERS = tuple(LOYALTY_DISCOUNT_RATES)
SWAPPABLE = ("memory", "storage", "psu", "cooling")  # the customer keeps CPU, board, GPU and case


def in_stock_products(ctx: Context, *categories: str) -> list[dict]:
    return ctx.db.all(f"SELECT id, name, category, price FROM product WHERE in_stock > 0 AND category IN "
                      f"({', '.join('?' * len(categories))}) ORDER BY id", categories)


def _quote_items(items: list[tuple[dict, int]]) -> list[dict]:
    return [{"product_id": product["id"], "quantity": quantity} for product, quantity in items]


@family("price_quote", "reasoning", "train", count={"by_id": 1, "by_name": 2},
        policy_rules=("loyalty_discount", "shipping_rates", "use_calculate_price", "tools_only", "no_unrequested_writes"))
def price_quote(ctx: Context) -> Iterator[TaskSpec]:
    """A quote for a few products with a shipping service, at the customer's actual loyalty tier (even when they
    claim a higher one) with shipping never discounted."""
    products = in_stock_products(ctx, "gpu", "cpu", "memory", "storage", "monitor", "psu", "cooling", "keyboard", "mouse")
    shoppers = ctx.db.all("SELECT id, name, loyalty_tier FROM customer WHERE loyalty_tier != 'none' ORDER BY id")
    for index, person in enumerate(ctx.pick(shoppers)):
        items = [(product, ctx.rng.choice((1, 1, 2))) for product in ctx.pick(products, ctx.rng.choice((2, 3)))]
        service = ctx.rng.choice(SHIPPING_SERVICES)
        actual = quote([(p["price"], q) for p, q in items], person["loyalty_tier"], service)
        wanted = " and ".join(f"{q} x {p['name'] if index % 3 else p['id']}" for p, q in items)
        if index % 3:
            claimed = TIERS[min(TIERS.index(person["loyalty_tier"]) + 1, len(TIERS) - 1)]
            if claimed == person["loyalty_tier"]:
                continue
            claimed_quote = quote([(p["price"], q) for p, q in items], claimed, service)
            spec = TaskSpec(customer(person["id"]), variant="by_name", request=(
                f"Hi! I'm a {claimed} member now, I believe. What would {wanted} cost me in total with {service} shipping, "
                "after my discount?"))
            for product, _ in items:
                spec.call("searchProducts", query=product["name"])
            spec.check(
                r.reply("reply-not-claimed", f"The reply does not quote the {claimed} price the customer assumed",
                        not_numbers=[claimed_quote.total]),
                r.judge("reply-tier", f"The reply tells the customer their actual tier is {person['loyalty_tier']}",
                        r.reply("fallback", "names the actual tier", contains=[person["loyalty_tier"]])),
            )
        else:
            spec = TaskSpec(customer(person["id"]), variant="by_id", request=(
                f"Hello, could you quote me {wanted} with {service} shipping? I'd like the total with my loyalty discount."))
        spec.call("calculatePrice", items=_quote_items(items), shipping_service=service, customer_id=person["id"])
        spec.check(
            r.called("priced", "The quote comes from calculatePrice with the requested shipping service", "calculatePrice",
                     arguments={"shipping_service": service, "items": {"contains_all": _quote_items(items)}}),
            r.reply("reply-total", "The reply gives the total", numbers=[actual.total]),
            r.judge("reply-breakdown", "The reply breaks the total down: subtotal, loyalty discount on the subtotal only, shipping",
                    r.reply("fallback", "states the discount and the shipping charge", numbers=[actual.discount, actual.shipping])),
        )
        spec.reply = (f"At your {person['loyalty_tier']} tier ({LOYALTY_DISCOUNT_RATES[person['loyalty_tier']] * 100:.0f}% off the "
                      f"subtotal): subtotal {money(actual.subtotal)}, loyalty discount {money(actual.discount)}, {service} shipping "
                      f"{money(actual.shipping)} (shipping is never discounted), total {money(actual.total)}.")
        yield spec


@family("billing_explanation", "communication", "train", count={"breakdown": 1, "shipping": 1, "price_drift": 1},
        policy_rules=("loyalty_discount", "shipping_rates", "tools_only", "no_unrequested_writes"))
def billing_explanation(ctx: Context) -> Iterator[TaskSpec]:
    """Explain an order's charge: subtotal at the prices of the day, loyalty discount on the subtotal, flat
    shipping never discounted; the customer's own arithmetic or today's catalogue price is not the answer."""
    rows = ctx.db.all("SELECT id FROM orders WHERE loyalty_tier != 'none' AND status IN ('delivered', 'shipped') ORDER BY id")
    for index, row in enumerate(ctx.pick(rows)):
        order = ctx.tool("getOrderDetails", order_id=row["id"])["order"]
        tier, service = order["loyalty_tier"], order["shipping_service"]
        line = ctx.rng.choice(order["lines"])
        product = ctx.tool("getProduct", product_id=line["product_id"])["product"]
        variant = ("breakdown", "shipping", "price_drift")[index % 3]
        if variant == "price_drift" and product["price"] == line["unit_price"]:
            continue
        spec = TaskSpec(customer(order["customer_id"]), variant=variant, request={
            "breakdown": f"I was charged {money(order['total'])} for order {order['id']} and I can't work out how you got that "
                         "number. Can you break it down for me?",
            "shipping": f"On order {order['id']} I'm {tier}, so shouldn't my discount have come off the {service} shipping too? "
                        f"I think I was overcharged - the total was {money(order['total'])}.",
            "price_drift": f"Your site lists the {line['product_name']} at {money(product['price'])}, but on order {order['id']} "
                           f"I was charged a different price for it. Why? Please explain the whole charge of {money(order['total'])}.",
        }[variant])
        spec.call("getOrderDetails", order_id=order["id"])
        if variant == "price_drift":
            spec.call("getProduct", product_id=line["product_id"])
        spec.check(
            r.reply("reply-breakdown", "The reply gives the subtotal, the loyalty discount, the shipping charge and the total",
                    numbers=[order["subtotal"], order["discount"], order["shipping_cost"], order["total"]]),
            r.reply("reply-order", "The reply names the order", contains=[order["id"]]),
        )
        text = (f"Order {order['id']}: subtotal {money(order['subtotal'])}, minus your {tier} loyalty discount of "
                f"{money(order['discount'])} (taken off the subtotal), plus {service} shipping {money(order['shipping_cost'])}, "
                f"for a total of {money(order['total'])}.")
        if variant == "shipping":
            wrong = quote([(order["subtotal"] + order["shipping_cost"], 1)], tier, "standard").discount
            spec.check(
                r.reply("reply-no-shipping-discount", "The reply does not offer a discount computed on subtotal plus shipping",
                        not_numbers=[wrong]),
                r.judge("reply-shipping", "The reply explains that the loyalty discount never applies to shipping",
                        r.reply("fallback", "says shipping is not discounted", contains=["shipping"],
                                contains_any=["never", "not discounted", "isn't discounted", "doesn't apply", "does not apply",
                                              "only", "not eligible"])),
            )
            text += " The loyalty discount applies to the subtotal only; shipping is never discounted, so the charge is correct."
        elif variant == "price_drift":
            spec.check(r.judge("reply-price-of-the-day", "The reply explains the order was priced at the price of the day, "
                                                         "not today's catalogue price",
                               r.reply("fallback", "states both prices", numbers=[line["unit_price"], product["price"]])))
            text += (f" The {line['product_name']} was {money(line['unit_price'])} on the day you ordered ({long_date(order['created_at'])}); "
                     f"today's catalogue price of {money(product['price'])} does not change a past order.")
        else:
            spec.check(r.judge("reply-tone", "The reply explains each part of the charge clearly and politely",
                               r.reply("fallback", "mentions discount and shipping", contains=["discount", "shipping"])))
        spec.reply = text
        yield spec


@family("compatible_build_quote", "reasoning", "train", count={"medium": 1, "hard": 1, "expert": 1},
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


def _build_quote(ctx: Context, owner: str, parts: list[dict], fix: dict, named: int) -> TaskSpec:
    service = ctx.rng.choice(SHIPPING_SERVICES)
    by_name = {p["id"] for p in ctx.pick(parts, named)}
    listing = "; ".join(p["name"] if p["id"] in by_name else p["id"] for p in parts)
    kept = [p["name"] for p in parts if p["category"] in ("cpu", "motherboard", "gpu", "case")]
    spec = TaskSpec(customer(owner), request=(
        f"I'm planning a build with these parts: {listing}. I'm set on the {', '.join(kept)}. Can you check everything works "
        "together? If something doesn't fit, swap it for the cheapest in-stock part that does, then quote me the whole "
        f"list with {service} shipping. Don't save anything yet."))
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
    spec.reply = (f"The {culprit['name']} doesn't work in this build ({fix['error']}). The cheapest in-stock {culprit['category']} "
                  f"that passes validation is the {replacement['name']} ({replacement['id']}, {money(replacement['price'])}). With it, "
                  f"the build validates. Quote with {service} shipping ({tier_discount(tier)}): subtotal {money(total.subtotal)}, "
                  f"discount {money(total.discount)}, shipping {money(total.shipping)}, total {money(total.total)}. Nothing was saved.")
    spec.variant = difficulty_for(len(spec.calls))
    return spec
