"""Knowledge: product pages over outdated guides, current policy over a deprecated article and Slack practice, and
finding the right colleague."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ...world.pricing import LOYALTY_DISCOUNT_RATES
from .. import rubric as r
from ..core import Context, TaskSpec, customer, employee, family

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


@family("kb_spec_conflict", "information_retrieval", "heldout", count={"easy": 2, "medium": 2},
        policy_rules=("product_page_wins", "validate_before_build", "tools_only", "no_unrequested_writes"))
def kb_spec_conflict(ctx: Context) -> Iterator[TaskSpec]:
    """A customer quotes a product guide whose spec disagrees with the product page: answer from the page (and, for
    "will it fit my case", from the validator), saying the guide is out of date."""
    cases = ctx.db.all("SELECT id, name, json_extract(specs, '$.max_cooler_height_mm') AS limit_mm FROM product "
                       "WHERE category = 'case' ORDER BY id")
    buyers = ctx.db.all("SELECT id FROM customer ORDER BY id")
    for conflict in conflicting_guides(ctx):
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
        yield spec
        between = [c for c in cases if page <= c["limit_mm"] < guide]
        if between:
            case = ctx.rng.choice(between)
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
    return spec


@family("policy_kb_question", "communication", "train", count={"returns": 2, "stacking": 1},
        policy_rules=("deprecated_kb", "return_window", "shipping_not_refunded", "loyalty_discount", "no_unrequested_writes"))
def policy_kb_question(ctx: Context) -> Iterator[TaskSpec]:
    """A policy question built on a deprecated article (14 days from delivery, shipping refunded) or on stacking a
    promo code with the loyalty discount: answer from current policy and say what is out of date."""
    people = ctx.db.all("SELECT id, loyalty_tier FROM customer WHERE loyalty_tier != 'none' ORDER BY id")
    for index, person in enumerate(ctx.pick(people)):
        if index % 3 < 2:
            spec = TaskSpec(customer(person["id"]), variant="returns", request=(
                "Quick question before I order: your help article says I have 14 days from delivery to return something, and "
                "that you refund the shipping if an item is defective. Is that still how it works?" if index % 3 == 0 else
                "I found your 'Return policy (2023)' article: if something I buy turns out defective, do I get the shipping "
                "back too? And how long do I have to send it back - 14 days after it arrives?"))
            spec.call("searchKnowledgeBase", query="return")
            spec.check(
                r.reply("reply-window", "The reply gives the 30-day window, counted from the order date", matches=r"30[- ]day"),
                r.judge("reply-shipping", "The reply says shipping is never refunded, defective items included",
                        r.reply("fallback", "says shipping is not refunded", contains=["shipping"],
                                contains_any=["never", "not refunded", "isn't refunded", "non-refundable", "not refundable"])),
                r.judge("reply-outdated", "The reply says the 14-day article is outdated (deprecated)",
                        r.reply("fallback", "flags the old article", contains_any=["deprecated", "outdated", "out of date", "no longer", "old"])),
            )
            spec.reply = ("That article is outdated (it's deprecated). Current policy: returns are accepted within 30 days of the order "
                          "date, unopened or opened and undamaged. Shipping is never refunded, even for defective items; refunds are "
                          "net of any loyalty discount.")
        else:
            rate = float(LOYALTY_DISCOUNT_RATES[person["loyalty_tier"]]) * 100
            spec = TaskSpec(customer(person["id"]), variant="stacking", request=(
                f"I have a promo code from a newsletter. Can I use it on top of my {person['loyalty_tier']} member discount "
                "on my next order?"))
            spec.call("searchKnowledgeBase", query="discount")
            spec.check(
                r.reply("reply-rate", "The reply gives the customer's loyalty discount rate", numbers=[rate]),
                r.judge("reply-no-stacking", "The reply says the loyalty discount is the only discount support can apply",
                        r.reply("fallback", "rules out stacking", contains_any=["only discount", "only the loyalty", "can't be combined",
                                                                              "cannot be combined", "not be combined", "stack", "only one"])),
                r.reply("reply-tier", "The reply names the customer's tier", contains=[person["loyalty_tier"]]),
            )
            spec.reply = (f"I'm sorry, codes can't be combined: the loyalty discount is the only discount we can apply. As a "
                          f"{person['loyalty_tier']} member you get {rate:.0f}% off the subtotal of every order (shipping excluded).")
        yield spec


@family("employee_directory", "information_retrieval", "train", count={"permission": 1, "manager": 1},
        policy_rules=("tools_only", "no_unrequested_writes"))
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
