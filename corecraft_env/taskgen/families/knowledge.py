"""Knowledge: product pages over outdated guides, current policy over a deprecated article and Slack practice, and
finding the right colleague."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ...world.pricing import LOYALTY_DISCOUNT_RATES
from .. import rubric as r
from ..core import Context, TaskSpec, customer, difficulty_for, employee, family

OUTDATED = ["product page", "outdated", "out of date", "incorrect", "wrong", "error", "old"]
# "fits" / "will fit" / "compatible", unless negated just before.
FITS = r"(?<!not )(?<!n't )(?<!won't )\b(fits|will fit|does fit|compatible)\b"


def conflicting_guides(ctx: Context) -> list[dict]:
    """Product guides whose stated air-cooler height differs from the product page: (article, product, guide value)."""
    found = []
    for article in ctx.db.all("SELECT * FROM knowledge_base_article WHERE title LIKE 'Product guide:%' ORDER BY id"):
        product = ctx.tool("getProduct", product_id=article["product_ids"][0])["product"]
        if product["category"] != "cooling" or product["specs"].get("type") != "air":
            continue
        stated = re.search(r"height mm: (\d+)", article["body"])
        if stated and int(stated.group(1)) != product["specs"]["height_mm"]:
            found.append({"article": article, "product": product, "guide": int(stated.group(1)), "page": product["specs"]["height_mm"]})
    return ctx.pick(found)


@family("kb_spec_conflict", "information_retrieval", "heldout", count={"easy": 4, "medium": 6},
        policy_rules=("product_page_wins", "tools_only"))
def kb_spec_conflict(ctx: Context) -> Iterator[TaskSpec]:
    """A customer quotes a product guide whose spec disagrees with the product page: answer from the page (and, for
    "will it fit my case", from the validator), saying the guide is out of date."""
    cases = ctx.db.all("SELECT id, name, json_extract(specs, '$.max_cooler_height_mm') AS limit_mm FROM product "
                       "WHERE category = 'case' ORDER BY id")
    buyers = ctx.db.all("SELECT id FROM customer ORDER BY id")
    conflicts = conflicting_guides(ctx)
    for conflict in conflicts:
        product, guide, page = conflict["product"], conflict["guide"], conflict["page"]
        spec = TaskSpec(customer(ctx.rng.choice(buyers)["id"]), variant="easy", request=(
            f"Your product guide for the {product['name']} says it's {guide} mm tall. Is that the real height? I'm measuring "
            "up my case before I order."))
        spec.call("searchKnowledgeBase", product_id=product["id"])
        spec.call("getProduct", product_id=product["id"])
        spec.check(
            r.reply("reply-height", "The reply gives the height from the product page", numbers=[page]),
            r.judge("reply-source", "The reply says the product page is authoritative and the guide is out of date",
                    r.reply("fallback", "flags the guide", contains_any=OUTDATED)),
            r.called("page-read", "The product page is read with getProduct", "getProduct", arguments={"product_id": product["id"]}),
        )
        spec.reply = (f"The {product['name']} is {page} mm tall according to its product page, which is the source of truth. The "
                      f"guide's {guide} mm figure ({conflict['article']['id']}) is out of date.")
        blind = spec.ignoring("product_page_wins", "tools_only")
        blind.call("searchKnowledgeBase", product_id=product["id"])
        blind.reply = f"Yes, that's right: our product guide lists the {product['name']} at {guide} mm tall."
        yield spec
    for conflict, case in ctx.pick([(conflict, case) for conflict in conflicts for case in cases
                                    if conflict["page"] <= case["limit_mm"] < conflict["guide"]]):
        yield _fit_question(ctx, ctx.rng.choice(buyers)["id"], conflict, case)


def _fit_question(ctx: Context, requester: str, conflict: dict, case: dict) -> TaskSpec:
    product, guide, page = conflict["product"], conflict["guide"], conflict["page"]
    spec = TaskSpec(customer(requester), variant="medium", request=(
        f"Will the {product['name']} cooler fit in my {case['name']} case? Your product guide says the cooler is {guide} mm tall, "
        f"and my case only takes {case['limit_mm']} mm, so it looks like it won't."))
    spec.call("getProduct", product_id=product["id"])
    spec.call("getProduct", product_id=case["id"])
    spec.call("validateBuildCompatibility", product_ids=[product["id"], case["id"]])
    spec.check(
        r.reply("reply-height", "The reply gives the cooler's real height from the product page", numbers=[page]),
        r.judge("reply-fits", "The reply says the cooler fits the case, because the product page (not the guide) is right",
                r.reply("fallback", "says it fits", matches=FITS)),
        r.called("validated", "Compatibility is checked with validateBuildCompatibility, not inferred",
                 "validateBuildCompatibility", arguments={"product_ids": {"same_items": [product["id"], case["id"]]}}),
    )
    spec.reply = (f"Good news: it fits. The {product['name']} is {page} mm tall per its product page (the source of truth; the "
                  f"guide's {guide} mm is out of date), and your {case['name']} takes coolers up to {case['limit_mm']} mm. The "
                  "compatibility check passes for the two together.")
    blind = spec.ignoring("product_page_wins", "tools_only")
    blind.call("searchKnowledgeBase", product_id=product["id"])
    blind.call("getProduct", product_id=case["id"])
    blind.reply = (f"Unfortunately you're right: the guide lists the {product['name']} at {guide} mm and the {case['name']} "
                   f"takes at most {case['limit_mm']} mm, so it won't fit. A lower-profile cooler would be needed.")
    return spec


@family("guide_spec_recheck", "reasoning", "train", count={"medium": 5, "hard": 3, "expert": 4},
        policy_rules=("product_page_wins", "tools_only"))
def guide_spec_recheck(ctx: Context) -> Iterator[TaskSpec]:
    """An employee relays a product guide's cooler height that the product page contradicts, and asks which case
    takes the cooler: answer from the product page and the validator, and say the guide is out of date."""
    cases = ctx.db.all("SELECT id, name, in_stock, json_extract(specs, '$.max_cooler_height_mm') AS limit_mm FROM product "
                       "WHERE category = 'case' ORDER BY price, id")
    conflicts = conflicting_guides(ctx)
    pairs = ctx.pick([(conflict, case) for conflict in conflicts for case in cases
                      if conflict["page"] <= case["limit_mm"] < conflict["guide"]])
    jobs = [("pair", conflict, case) for conflict, case in pairs[:len(conflicts)]]
    jobs += [(scope, conflict, None) for scope in ("all", "in_stock") for conflict in conflicts]
    jobs += [("pair", conflict, case) for conflict, case in pairs[len(conflicts):]]
    for index, (scope, conflict, case) in enumerate(jobs):
        product, guide, page, article = conflict["product"], conflict["guide"], conflict["page"], conflict["article"]
        asker = ctx.staff()
        if scope == "pair":
            spec = TaskSpec(employee(asker["id"]), variant="medium", request=(
                f"Customer wants the {product['name']} in a {case['name']}. Per {article['id']} the cooler is {guide} mm and the case "
                f"takes {case['limit_mm']} mm, so I was going to tell them no. Can you double-check before I reply?"))
            spec.call("searchKnowledgeBase", article_id=article["id"])
            spec.call("getProduct", product_id=product["id"])
            spec.call("validateBuildCompatibility", product_ids=[product["id"], case["id"]])
            spec.check(
                r.reply("reply-height", "The reply gives the cooler's height from the product page", numbers=[page]),
                r.judge("reply-fits", "The reply says the cooler does fit the case (validator passes)",
                        r.reply("fallback", "says it fits", matches=FITS)),
                r.judge("reply-guide", f"The reply says {article['id']} is out of date and the product page wins",
                        r.reply("fallback", "flags the guide", contains_any=OUTDATED)),
                r.called("validated", "The pair is checked with validateBuildCompatibility", "validateBuildCompatibility",
                         arguments={"product_ids": {"same_items": [product["id"], case["id"]]}}),
            )
            spec.reply = (f"Don't tell them no: it fits. The product page (the source of truth) lists the {product['name']} at {page} mm; "
                          f"{article['id']}'s {guide} mm is out of date. The {case['name']} takes {case['limit_mm']} mm and the compatibility "
                          "check passes for the pair.")
            blind = spec.ignoring("product_page_wins", "tools_only")
            blind.call("searchKnowledgeBase", article_id=article["id"])
            blind.reply = (f"Confirmed: {article['id']} lists the {product['name']} at {guide} mm, above the {case['name']}'s "
                           f"{case['limit_mm']} mm, so it won't fit. Go ahead and tell them no.")
        else:
            scoped = cases if scope == "all" else [c for c in cases if c["in_stock"]]
            fitting = [c for c in scoped if c["limit_mm"] >= page]
            by_guide = [c for c in scoped if c["limit_mm"] >= guide]
            spec = TaskSpec(employee(asker["id"]), request=(
                f"Product guide {article['id']} says the {product['name']} is {guide} mm tall. Which of our cases can take it? List "
                "every case that fits and say which are in stock - I'm putting together a recommendation sheet." if scope == "all" else
                f"A customer wants the {product['name']} and a case we can ship today. {article['id']} puts the cooler at {guide} mm - "
                "which in-stock cases will take it?"))
            spec.call("searchKnowledgeBase", article_id=article["id"])
            spec.call("getProduct", product_id=product["id"])
            spec.call("searchProducts", category="case", **({} if scope == "all" else {"in_stock": True}))
            for case in scoped:
                spec.call("validateBuildCompatibility", product_ids=[product["id"], case["id"]])
            missing = [c for c in fitting if c not in by_guide]
            spec.check(
                r.reply("reply-height", "The reply gives the cooler's height from the product page", numbers=[page]),
                r.reply("reply-cases", "The reply lists every case the validator accepts, including those the guide's height rules out",
                        contains=[c["name"] for c in missing] or [c["name"] for c in fitting]),
                r.reply("reply-not-unfit", "The reply does not list a case that is too short",
                        not_contains=[c["name"] for c in scoped if c["limit_mm"] < page][:4] or ["no such case"]),
                r.judge("reply-guide", f"The reply says {article['id']} is out of date and the product page wins",
                        r.reply("fallback", "flags the guide", contains_any=OUTDATED)),
                r.called("validated", "Each case is checked with validateBuildCompatibility", "validateBuildCompatibility",
                         min_count=len(fitting)),
            )
            listing = "; ".join(f"{c['name']} ({c['limit_mm']} mm, {'in stock' if c['in_stock'] else 'out of stock'})" for c in fitting)
            spec.reply = (f"Heads up: {article['id']} is out of date. The product page (the source of truth) lists the {product['name']} "
                          f"at {page} mm. The cases that pass the compatibility check with it: {listing}.")
            blind = spec.ignoring("product_page_wins", "tools_only")
            blind.call("searchKnowledgeBase", article_id=article["id"])
            blind.call("searchProducts", category="case", **({} if scope == "all" else {"in_stock": True}))
            guide_list = "; ".join(c["name"] for c in by_guide) or "none of them"
            blind.reply = f"At {guide} mm (per {article['id']}), the cases that can take it: {guide_list}."
            if not missing:
                continue
        spec.variant = difficulty_for(len(spec.calls))
        yield spec


@family("policy_kb_question", "communication", "train", count={"customer": 6, "employee": 4},
        policy_rules=("deprecated_kb", "return_window", "shipping_not_refunded"))
def policy_kb_question(ctx: Context) -> Iterator[TaskSpec]:
    """A return-policy question built on the deprecated 2023 article (14 days from delivery, shipping refunded for
    defective items): answer from current policy and say the article is out of date."""
    people = ctx.db.all("SELECT id, name FROM customer ORDER BY id")
    asks = (("Quick question before I order: your help article says I have 14 days from delivery to return something, and "
             "that you refund the shipping if an item is defective. Is that still how it works?"),
            ("I found your 'Return policy (2023)' article: if something I buy turns out defective, do I get the shipping "
             "back too? And how long do I have to send it back - 14 days after it arrives?"),
            ("According to kb-0002 I get my shipping back on a defective return and have 14 days from delivery. Can you confirm "
             "both before I place a big order?"))
    staff_asks = (("{name} is asking about returns and quoting kb-0002: 14 days from delivery, shipping refunded on defective "
                   "items. What should I tell them?"),
                  ("Customer {name} says our article promises a shipping refund on defective returns and 14 days after delivery. "
                   "Is that current? I need to answer today."))
    for index, person in enumerate(ctx.pick(people)):
        by_staff = index % 5 in (1, 3)
        if by_staff:
            spec = TaskSpec(employee(ctx.staff()["id"]), variant="employee", request=staff_asks[index % 2].format(name=person["name"]))
            spec.call("searchKnowledgeBase", article_id="kb-0002")
            spec.call("searchKnowledgeBase", tag="returns", include_deprecated=False, sources=["articles"])
        else:
            spec = TaskSpec(customer(person["id"]), variant="customer", request=asks[index % 3])
            spec.call("searchKnowledgeBase", query="return")
        spec.check(
            r.reply("reply-window", "The reply gives the 30-day window, counted from the order date", matches=r"30[- ]day"),
            r.reply("reply-not-14", "The reply does not confirm the 14-day window", not_contains=["14 days from delivery is correct",
                                                                                                 "still 14 days"]),
            r.judge("reply-shipping", "The reply says shipping is never refunded, defective items included",
                    r.reply("fallback", "says shipping is not refunded", contains=["shipping"],
                            contains_any=["never", "not refunded", "isn't refunded", "non-refundable", "not refundable"])),
            r.judge("reply-outdated", "The reply says the 14-day article is outdated (deprecated)",
                    r.reply("fallback", "flags the old article", contains_any=["deprecated", "outdated", "out of date", "no longer", "old"])),
        )
        who = "They have" if by_staff else "You have"
        spec.reply = (f"That article (kb-0002) is outdated - it's deprecated. Current policy (kb-0001): {who} 30 days "
                      "from the order date to return an item, unopened or opened and undamaged. Shipping is never refunded, even for "
                      "defective items; refunds are net of any loyalty discount.")
        blind = spec.ignoring("deprecated_kb", "return_window", "shipping_not_refunded")
        blind.call("searchKnowledgeBase", article_id="kb-0002")
        blind.reply = ("Yes, per our Return policy article: returns are accepted within 14 days of delivery, and if the item is "
                       "defective the shipping is refunded as well.")
        yield spec


@family("loyalty_discount_question", "communication", "train", count={"claimed": 6, "stacking": 4},
        policy_rules=("tools_only", "loyalty_discount"))
def loyalty_discount_question(ctx: Context) -> Iterator[TaskSpec]:
    """A customer asks what their loyalty discount is (claiming a higher tier than they hold) or whether a promo code
    stacks on it: answer from their real tier and the loyalty policy, not from their claim."""
    people = ctx.db.all("SELECT id, name, loyalty_tier FROM customer ORDER BY id")
    tiers = list(LOYALTY_DISCOUNT_RATES)
    for index, person in enumerate(ctx.pick(people)):
        tier = person["loyalty_tier"]
        if tier == "platinum":
            continue
        claimed = tiers[min(tiers.index(tier) + 1 + index % 2, len(tiers) - 1)]
        rate, claimed_rate = (float(LOYALTY_DISCOUNT_RATES[t]) * 100 for t in (tier, claimed))
        stacking = index % 5 in (2, 4)
        spec = TaskSpec(customer(person["id"]), variant="stacking" if stacking else "claimed", request=(
            f"I'm a {claimed} member, so I get {claimed_rate:.0f}% off, right? I also have a newsletter promo code - can I use "
            "it on top of that on my next order?" if stacking else
            f"As a {claimed} member, my discount is {claimed_rate:.0f}% on everything including shipping, correct? Just checking "
            "before I order."))
        spec.call("searchCustomers", customer_id=person["id"])
        spec.call("searchKnowledgeBase", query="loyalty" if not stacking else "discount")
        spec.check(
            r.reply("reply-rate", "The reply gives the customer's real loyalty discount rate", numbers=[rate]),
            r.reply("reply-not-claimed", f"The reply does not confirm the {claimed_rate:.0f}% rate the customer claimed",
                    not_numbers=[claimed_rate]),
            r.reply("reply-tier", "The reply names the customer's actual tier", contains=[tier]),
            r.judge("reply-rule", "The reply explains the rule: subtotal only, never shipping" if not stacking else
                    "The reply says the loyalty discount is the only discount support can apply (no stacking)",
                    r.reply("fallback", "states the rule", contains=["shipping"]) if not stacking else
                    r.reply("fallback", "rules out stacking", contains_any=["only discount", "can't be combined", "cannot be combined",
                                                                            "not be combined", "stack", "only one"])),
        )
        discount = "no loyalty discount (0%)" if tier == "none" else f"{rate:.0f}% off the order subtotal"
        spec.reply = (f"Our records show your tier is {tier}, not {claimed}, so you get {discount}; shipping is never discounted." +
                      (" Promo codes can't be combined with it: the loyalty discount is the only discount we can apply." if stacking else ""))
        blind = spec.ignoring("tools_only", "loyalty_discount")
        blind.call("searchKnowledgeBase", query="loyalty")
        blind.reply = (f"Yes - as a {claimed} member you get {claimed_rate:.0f}% off." +
                       (" Promo codes can't be stacked on top, though." if stacking else " Shipping isn't discounted, though."))
        yield spec


@family("employee_directory", "information_retrieval", "train", count={"permission": 4, "manager": 6},
        policy_rules=())
def employee_directory(ctx: Context) -> Iterator[TaskSpec]:
    """An employee needs the right colleague: who holds a permission in a department, or who someone's manager is."""
    staff = ctx.db.all("SELECT * FROM employee ORDER BY id")
    for index, person in enumerate(ctx.pick([e for e in staff if e["manager_id"]])):
        asker = ctx.rng.choice([e for e in staff if e["id"] != person["id"]])
        if index % 2:
            manager = next(e for e in staff if e["id"] == person["manager_id"])
            spec = TaskSpec(employee(asker["id"]), variant="manager", request=(
                f"Who is {person['name']}'s manager? I need their email to loop them in."))
            spec.call("searchEmployees", name=person["name"])
            spec.call("searchEmployees", employee_id=manager["id"])
            others = [e["name"] for e in staff if e["department"] == person["department"] and e["id"] not in (manager["id"], person["id"])][:3]
            spec.check(
                r.reply("reply-manager", "The reply names the manager", contains=[manager["name"]]),
                r.reply("reply-email", "The reply gives the manager's email", contains=[manager["email"]]),
                r.reply("reply-not-others", "The reply does not name other colleagues as the manager", not_contains=others),
            )
            spec.reply = f"{person['name']}'s manager is {manager['name']} ({manager['title']}), {manager['email']}."
        else:
            department = person["department"]
            holders = [e for e in staff if e["department"] == department and "issue_refund" in e["permissions"]]
            lacking = [e["name"] for e in staff if e["department"] == department and "issue_refund" not in e["permissions"]]
            if not lacking:
                continue
            spec = TaskSpec(employee(asker["id"]), variant="permission", request=(
                f"Who in {department.replace('_', ' ')} can issue refunds? I need someone with that permission."))
            spec.call("searchEmployees", department=department, permission="issue_refund")
            spec.check(
                r.reply("reply-holders", "The reply names everyone in the department with the issue_refund permission",
                        contains=[e["name"] for e in holders]),
                r.reply("reply-not-lacking", "The reply names nobody who lacks the permission", not_contains=lacking[:5]),
                r.called("searched", "The directory is searched by department and permission", "searchEmployees",
                         arguments={"permission": "issue_refund"}),
            )
            spec.reply = f"In {department.replace('_', ' ')}, these people can issue refunds: " + "; ".join(
                f"{e['name']} ({e['title']}, {e['email']})" for e in holders) + "."
        yield spec
