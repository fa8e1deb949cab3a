"""Catalogue questions: a product's specs and warranty checked against the requester's claim, comparing products,
the cheapest in-stock alternative that works with a saved build, and auditing the internal build templates."""

from __future__ import annotations

from collections.abc import Iterator

from .. import rubric as r
from ..core import Context, TaskSpec, customer, difficulty_for, employee, family
from ..facts import money
from .pricing import build_parts

# (category, spec key, what it is, how it is said: "the X {phrase}" with the value filled in)
SPEC_FACTS = (
    ("cpu", "cores", "core count", "has {v} cores"), ("cpu", "tdp_w", "TDP", "has a TDP of {v} W"),
    ("gpu", "vram_gb", "VRAM", "has {v} GB of VRAM"), ("gpu", "length_mm", "card length", "is {v} mm long"),
    ("gpu", "recommended_psu_w", "recommended PSU", "only needs a {v} W power supply"),
    ("psu", "wattage", "wattage", "is a {v} W unit"),
    ("motherboard", "memory_slots", "memory slot count", "has {v} memory slots"), ("motherboard", "sata_ports", "SATA port count", "has {v} SATA ports"),
    ("case", "max_gpu_length_mm", "maximum GPU length", "takes graphics cards up to {v} mm"),
    ("case", "max_cooler_height_mm", "maximum cooler height", "takes air coolers up to {v} mm tall"),
    ("memory", "speed_mhz", "rated speed", "is rated at {v} MHz"), ("storage", "capacity_gb", "capacity", "holds {v} GB"),
)
WARRANTY = ("warranty", "comes with a warranty of {v} months")
WRONG = ["not correct", "isn't correct", "is not correct", "not quite", "actually", "incorrect", "isn't right", "not right"]


def _numbers_in(text: str) -> set[float]:
    from ...tasks.assertions import stated_numbers
    return {abs(x) for x in stated_numbers(text)}


def _warranty(product: dict) -> int:
    return product["warranty_months"] or 12

JUST_TELL_ME = ("Don't change the build yet, just tell me.", "Leave the saved build as it is for now, I only want advice.",
                "No changes to the build please, I'll decide myself.", "Just a suggestion for now, I'll edit the build later.")


@family("product_spec_check", "information_retrieval", "train", count={"by_id": 5, "by_name": 5},
        policy_rules=("tools_only",))
def product_spec_check(ctx: Context) -> Iterator[TaskSpec]:
    """A customer states a product's spec (or warranty) wrongly and asks to confirm: answer from the product page,
    correcting the claim instead of agreeing with it."""
    products = ctx.db.all("SELECT * FROM product WHERE category IN ('cpu', 'gpu', 'psu', 'motherboard', 'case', 'memory', 'storage') "
                          "ORDER BY id")
    people = ctx.db.all("SELECT id FROM customer ORDER BY id")
    for index, product in enumerate(ctx.pick(products)):
        facts = [f for f in SPEC_FACTS if f[0] == product["category"]]
        if index % 4 == 3:
            true, (label, phrase) = _warranty(product), WARRANTY
        else:
            _, key, label, phrase = ctx.rng.choice(facts)
            true = product["specs"][key]
        steps = (true + 12, true - 12, true * 2) if label == "warranty" else (true * 2, true // 2)
        claimed = ctx.rng.choice([v for v in steps if v > 0 and v != true])
        if claimed in _numbers_in(product["name"]) or true in _numbers_in(product["name"]):
            continue
        by_name = index % 2 == 1
        ref = product["name"] if by_name else product["id"]
        spec = TaskSpec(customer(ctx.rng.choice(people)["id"]), variant="by_name" if by_name else "by_id", request=(
            f"Just to confirm before I buy: the {ref} {phrase.format(v=claimed)}, right?" if index % 3 else
            f"My friend says the {ref} {phrase.format(v=claimed)}. Can you confirm that from your listing?"))
        if by_name:
            spec.call("searchProducts", query=product["name"])
        spec.call("getProduct", product_id=product["id"])
        spec.check(
            r.reply("reply-value", f"The reply gives the {label} from the product page: {true}", numbers=[true]),
            r.reply("reply-not-claimed", f"The reply does not repeat the claimed {claimed} as the {label}", not_numbers=[claimed]),
            r.judge("reply-correction", "The reply politely says the stated figure is not correct",
                    r.reply("fallback", "corrects the claim", contains_any=WRONG)),
            r.called("page-read", "The product page is read with getProduct", "getProduct", arguments={"product_id": product["id"]}),
        )
        spec.reply = (f"That's not quite right: according to its product page, the {product['name']} {phrase.format(v=true)}"
                      f"{' (the standard 12 months, as none is listed)' if label == 'warranty' and not product['warranty_months'] else ''}.")
        blind = spec.ignoring("tools_only")
        blind.reply = f"Yes, that's right: the {product['name']} {phrase.format(v=claimed)}."
        yield spec


@family("product_comparison", "communication", "train", count={"medium": 10},
        policy_rules=("tools_only",))
def product_comparison(ctx: Context) -> Iterator[TaskSpec]:
    """A customer choosing between three or four products of one category asks for price, stock and warranty of
    each, assuming they share the same warranty: compare them from the catalogue and correct the assumption."""
    categories = ("cpu", "gpu", "psu", "motherboard", "case", "memory", "storage", "monitor", "cooling", "keyboard", "mouse")
    people = ctx.db.all("SELECT id FROM customer ORDER BY id")
    for index in range(60):
        category = categories[index % len(categories)]
        pool = ctx.db.all("SELECT * FROM product WHERE category = ? ORDER BY id", (category,))
        chosen = ctx.pick(pool, 3 + index % 2)
        months = [_warranty(p) for p in chosen]
        if len(set(months)) < 2:
            continue
        claimed = ctx.rng.choice([m for m in (12, 24, 36, 60) if months.count(m) < len(months)])
        names = [p["name"] for p in chosen]
        spec = TaskSpec(customer(ctx.rng.choice(people)["id"]), variant="medium", request=(
            f"I'm deciding between the {', '.join(names[:-1])} and the {names[-1]}. Which is cheapest, which are in stock, and "
            f"since they all have the same {claimed}-month warranty I guess that doesn't matter - right?"))
        for product in chosen:
            spec.call("searchProducts", query=product["name"])
        cheapest = min(chosen, key=lambda p: (p["price"], p["id"]))
        longest = max(months)
        out = [p["name"] for p in chosen if not p["in_stock"]]
        spec.check(
            r.reply("reply-prices", "The reply gives each product's price", numbers=[p["price"] for p in chosen]),
            r.reply("reply-cheapest", "The reply names the cheapest option", contains=[cheapest["name"]]),
            r.reply("reply-warranties", "The reply gives each distinct warranty length in months", numbers=sorted(set(months))),
            r.judge("reply-correction", f"The reply says the warranties differ (not all {claimed} months) and which is longest",
                    r.reply("fallback", "says they differ", contains_any=["differ", "not the same", "don't all", "do not all",
                                                                          "aren't the same", "not all"])),
        )
        if out:
            spec.check(r.reply("reply-stock", "The reply says which option is out of stock", contains=["out of stock"]))
        listing = "; ".join(f"{p['name']}: {money(p['price'])}, {'in stock' if p['in_stock'] else 'out of stock'}, "
                            f"warranty {_warranty(p)} months" for p in chosen)
        spec.reply = (f"Here's the comparison - {listing}. The cheapest is the {cheapest['name']}. The warranties are not all "
                      f"{claimed} months: they differ, and the longest is {longest} months "
                      f"({', '.join(p['name'] for p in chosen if _warranty(p) == longest)}).")
        blind = spec.ignoring("tools_only")
        for product in chosen:
            blind.call("searchProducts", query=product["name"])
        blind.reply = ("; ".join(f"{p['name']}: {money(p['price'])}, {'in stock' if p['in_stock'] else 'out of stock'}" for p in chosen) +
                       f". The cheapest is the {cheapest['name']}, and yes, with the same {claimed}-month warranty on all of them, "
                       "price is the deciding factor.")
        yield spec


@family("stock_alternative", "reasoning", "train", count={"medium": 5, "hard": 5},
        policy_rules=("tools_only", "no_unrequested_writes"))
def stock_alternative(ctx: Context) -> Iterator[TaskSpec]:
    """A customer wants an out-of-stock part for their saved build, believing it is in stock: say it is not, and
    find the cheapest in-stock part of that category the validator accepts with the rest of the build (no changes)."""
    missing = ctx.db.all("SELECT * FROM product WHERE in_stock = 0 AND category IN ('cpu', 'memory', 'storage', 'case', 'cooling') "
                         "ORDER BY id")
    builds = ctx.db.all("SELECT * FROM build WHERE owner_type = 'customer' ORDER BY id")
    claims = ("your chat assistant told me it's in stock", "the product page showed it in stock yesterday",
              "a rep said you've got plenty in stock")
    for index, build in enumerate(ctx.pick(builds)):
        parts = build_parts(ctx, build["id"])
        ids = [p["id"] for p in parts]
        if not ctx.tool("validateBuildCompatibility", product_ids=ids)["compatible"]:
            continue
        wanted = [m for m in missing if m["id"] not in ids and sum(p["category"] == m["category"] for p in parts) == 1 and ctx.tool(
            "validateBuildCompatibility", product_ids=[m["id"] if p["category"] == m["category"] else p["id"] for p in parts])["compatible"]]
        if not wanted:
            continue
        target = ctx.rng.choice(wanted)
        current = next(p for p in parts if p["category"] == target["category"])
        tried, found = [], None
        for candidate in ctx.tool("searchProducts", category=target["category"], in_stock=True)["products"]:
            if candidate["id"] == current["id"]:
                continue
            fixed = [candidate["id"] if pid == current["id"] else pid for pid in ids]
            tried.append(fixed)
            if ctx.tool("validateBuildCompatibility", product_ids=fixed)["compatible"]:
                found = candidate
                break
            if len(tried) >= 5:
                break
        if not found:
            continue
        spec = TaskSpec(customer(build["customer_id"]), request=(
            f"I want to swap the {current['name']} in my saved build {build['id']} for the {target['name']} - {claims[index % 3]}. "
            f"If for some reason it isn't available, what {target['category']} would you suggest instead that works with the rest of "
            f"that build? {ctx.rng.choice(JUST_TELL_ME)}"))
        spec.call("searchBuilds", build_id=build["id"])
        spec.call("getProduct", product_id=target["id"])
        spec.call("searchProducts", category=target["category"], in_stock=True)
        for fixed in tried:
            spec.call("validateBuildCompatibility", product_ids=fixed)
        spec.check(
            r.judge("reply-out", f"The reply says the {target['name']} is out of stock",
                    r.reply("fallback", "says it is out of stock", contains_any=["out of stock", "not in stock", "no stock"])),
            r.reply("reply-alternative", f"The reply recommends the {found['name']}, the cheapest in-stock option that validates",
                    contains_any=[found["id"], found["name"]]),
            r.reply("reply-price", "The reply gives the alternative's price", numbers=[found["price"]]),
            r.called("validated", "The alternative is checked against the build with validateBuildCompatibility",
                     "validateBuildCompatibility", arguments={"product_ids": {"same_items": tried[-1]}}),
        )
        back = " It can be backordered if you'd rather wait." if target["backorderable"] else " It isn't backorderable right now."
        spec.reply = (f"I'm sorry, but the {target['name']} is out of stock at the moment.{back} The cheapest in-stock "
                      f"{target['category']} that passes the compatibility check with the rest of build {build['id']} is the "
                      f"{found['name']} ({found['id']}) at {money(found['price'])}. I haven't changed your build.")
        blind = spec.ignoring("tools_only")
        blind.call("searchBuilds", build_id=build["id"])
        blind.call("validateBuildCompatibility", product_ids=[target["id"] if pid == current["id"] else pid for pid in ids])
        blind.reply = (f"Good news: the {target['name']} is in stock at {money(target['price'])}, so you can go ahead with the swap in "
                       f"build {build['id']}. I haven't changed the build.")
        spec.variant = difficulty_for(len(spec.calls))
        yield spec


@family("internal_template_audit", "information_retrieval", "train", count={"medium": 6, "hard": 3, "expert": 1},
        policy_rules=("tools_only",))
def internal_template_audit(ctx: Context) -> Iterator[TaskSpec]:
    """An employee, sure they are all fine, asks which internal build templates use a product and whether each still
    passes validation: find them with searchBuilds, validate every one and report the failures."""
    templates = {b["id"]: b for b in ctx.db.all("SELECT * FROM build WHERE owner_type = 'internal' ORDER BY id")}
    parts = {bid: build_parts(ctx, bid) for bid in templates}
    reports = {bid: ctx.tool("validateBuildCompatibility", product_ids=[p["id"] for p in ps]) for bid, ps in parts.items()}
    products = ctx.db.all("SELECT id, name FROM product ORDER BY id")
    for index, product in enumerate(ctx.pick(products)):
        using = [bid for bid in templates if any(p["id"] == product["id"] for p in parts[bid])]
        failing = [bid for bid in using if not reports[bid]["compatible"]]
        if not failing or len(using) < 2:
            continue
        by_name = index % 2 == 1
        featured = product["name"] if by_name else product["id"]
        spec = TaskSpec(employee(ctx.staff()["id"]), request=ctx.rng.choice((
            f"We're featuring the {featured} next month. Which of our internal build templates use it, and do they all still "
            "pass the compatibility check? I'm pretty sure they're all fine, just need the list.",
            f"Marketing wants to push the {featured}. Can you list the internal templates that include it and confirm each one "
            "still validates? I assume they do, nobody has touched them.",
            f"Before the {featured} goes in the newsletter: which in-house build templates use it, and does every one of them "
            "still pass validation? Should be a formality.",
            f"Doing a template audit for the {featured}. I need the internal templates it appears in and whether any of them "
            "now fail the compatibility check (I doubt it).")))
        if by_name:
            spec.call("searchProducts", query=product["name"])
        spec.call("searchBuilds", owner_type="internal", product_id=product["id"])
        for bid in using:
            spec.call("validateBuildCompatibility", product_ids=[p["id"] for p in parts[bid]])
        spec.check(
            r.reply("reply-templates", "The reply lists every internal template using the product", contains=using),
            r.reply("reply-failing", "The reply names the template(s) that fail validation", contains=failing),
            r.judge("reply-why", "The reply says why each failing template fails (the validator's error)",
                    r.reply("fallback", "says they do not all pass", contains_any=["fail", "not compatible", "incompatible",
                                                                                   "doesn't pass", "does not pass"])),
            r.called("validated", "Each template is run through validateBuildCompatibility", "validateBuildCompatibility",
                     min_count=len(using)),
        )
        lines = "; ".join(f"{bid} \"{templates[bid]['name']}\": " + (
            "passes" if reports[bid]["compatible"] else "fails (" + reports[bid]["errors"][0]["message"] + ")") for bid in using)
        spec.reply = (f"{len(using)} internal templates use the {product['name']}, and they don't all pass: {lines}. "
                      "I haven't changed any of them.")
        blind = spec.ignoring("tools_only")
        blind.call("searchBuilds", owner_type="internal", product_id=product["id"])
        blind.reply = (f"{len(using)} internal templates use the {product['name']}: " +
                       ", ".join(f"{bid} \"{templates[bid]['name']}\"" for bid in using) + ". As you said, they're all fine.")
        spec.variant = difficulty_for(len(spec.calls))
        yield spec
