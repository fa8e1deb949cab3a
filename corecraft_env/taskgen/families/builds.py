"""Builds: validate before saving, refuse to save an incompatible build (suggesting a part the validator accepts),
repair or upgrade a saved build with the cheapest compatible part, copy an internal template to a customer, and
save several customers' builds in one go."""

from __future__ import annotations

from collections.abc import Iterator

from ...world.pricing import quote
from .. import rubric as r
from ..core import Context, TaskSpec, customer, difficulty_for, employee, family
from ..facts import money
from ..voice import wording
from .pricing import build_parts

NAMES = ("Living room gaming PC", "Home office workstation", "Streaming rig", "Quiet editing box", "LAN party build",
         "Weekend project", "Study desk PC", "Photo editing tower", "Sim racing rig", "Family media PC")
NOT_SAVED = ["not saved", "haven't saved", "didn't save", "did not save", "won't save", "can't save", "cannot save",
             "not been saved", "unable to save", "not able to save", "hold off", "haven't been saved", "wasn't saved"]
# Which part of a conflicting pair is swapped (the first listed whose id the error names); the rest is kept.
SWAP_ORDER = ("memory", "storage", "psu", "cooling", "case", "cpu", "motherboard", "gpu")
CORE = ("cpu", "motherboard", "gpu", "case")


def compatible_builds(ctx: Context) -> list[tuple[dict, list[dict]]]:
    found = []
    for build in ctx.db.all("SELECT * FROM build ORDER BY id"):
        parts = build_parts(ctx, build["id"])
        if ctx.tool("validateBuildCompatibility", product_ids=[p["id"] for p in parts])["compatible"]:
            found.append((build, parts))
    return ctx.pick(found)


def part_fix(ctx: Context, parts: list[dict], max_tries: int = 4) -> dict | None:
    """For a parts list with exactly one compatibility error: the part to swap (by ``SWAP_ORDER`` among those the
    error names), and the cheapest in-stock product of its category that makes the list pass (tried cheapest first,
    as searchProducts lists them); None when that takes more than ``max_tries`` validations."""
    ids = [p["id"] for p in parts]
    report = ctx.tool("validateBuildCompatibility", product_ids=ids)
    if len(report["errors"]) != 1:
        return None
    message = report["errors"][0]["message"]
    named = [p for p in parts if p["id"] in message]
    named.sort(key=lambda p: SWAP_ORDER.index(p["category"]) if p["category"] in SWAP_ORDER else 99)
    if not named or named[0]["category"] not in SWAP_ORDER:
        return None
    culprit = named[0]
    tried = []
    for candidate in ctx.tool("searchProducts", category=culprit["category"], in_stock=True)["products"]:
        if candidate["id"] in ids:
            continue
        fixed = [candidate["id"] if pid == culprit["id"] else pid for pid in ids]
        tried.append(fixed)
        if ctx.tool("validateBuildCompatibility", product_ids=fixed)["compatible"]:
            return {"culprit": culprit, "replacement": candidate, "tried": tried, "error": message}
        if len(tried) >= max_tries:
            return None
    return None


def conflicted_builds(ctx: Context, max_tries: int = 4) -> list[tuple[dict, list[dict], dict]]:
    """Builds with exactly one conflict that swapping one part for an in-stock one fixes."""
    found = []
    for build in ctx.db.all("SELECT * FROM build ORDER BY id"):
        parts = build_parts(ctx, build["id"])
        fix = part_fix(ctx, parts, max_tries)
        if fix:
            found.append((build, parts, fix))
    return ctx.pick(found)


def accepted_alternatives(ctx: Context, parts: list[dict], culprit: dict) -> list[dict]:
    """Every in-stock product of the culprit's category that makes the build pass validation."""
    ids = [p["id"] for p in parts]
    return [candidate for candidate in ctx.tool("searchProducts", category=culprit["category"], in_stock=True)["products"]
            if ctx.tool("validateBuildCompatibility", product_ids=[candidate["id"] if pid == culprit["id"] else pid for pid in ids])["compatible"]]


def kept_names(parts: list[dict], culprit: dict) -> list[str]:
    return [p["name"] for p in parts if p["category"] in CORE and p["id"] != culprit["id"]]

DESK_BUILD_WORDINGS = (  # (what the colleague has, what they ask)
    ("Some customers left parts lists with me at the pickup desk and want them saved as builds on their accounts",
     "Can you save them all? Let me know if anything's off."),
    ("I collected these parts lists at the counter; each customer wants theirs saved to their account as a build",
     "Please set them all up and flag anything that won't work."),
    ("From the walk-in desk: these customers asked us to store their parts lists as builds on their accounts",
     "Could you create them and tell me if any has a problem?"),
    ("Counter requests to turn into saved builds on each customer's account",
     "Save each one, and tell me about any that can't be saved as written."))
CHANGE_WHAT_IT_TAKES = ("If anything else has to change for it to work, change that too.",
                        "Whatever else needs swapping to make it work, swap it.",
                        "If the rest of the build can't handle it, replace what's needed.")
QUOTE_AND_UPDATE = ("Quote me the new parts with {service} shipping and update the saved build.",
                    "Then update the saved build and tell me what the new parts cost with {service} shipping.",
                    "Give me a price for the new parts with {service} shipping and save the changes to the build.")


@family("build_save_validated", "multi_step_workflow", "train", count={"easy": 6, "medium": 4},
        policy_rules=("validate_before_build", "no_unrequested_writes"))
def build_save_validated(ctx: Context) -> Iterator[TaskSpec]:
    """Save a customer's compatible parts list as a build: validate first, then createBuild with exactly those
    parts, owned by the customer."""
    shoppers = ctx.db.all("SELECT id FROM customer ORDER BY id")
    asks = ("Please save a build called \"{name}\" to my account with these parts: {listing}. Make sure it all works together.",
            "Can you put these parts on my account as a saved build named \"{name}\"? {listing}. Check they're compatible first.",
            "I'd like to keep this parts list for later - save it as \"{name}\", please: {listing}.")
    for index, (build, parts) in enumerate(compatible_builds(ctx)):
        owner = build["customer_id"] or ctx.rng.choice(shoppers)["id"]
        name = ctx.rng.choice(NAMES)
        named = {p["id"] for p in ctx.pick(parts, 1 + index % 2)} if index % 3 == 2 else set()
        listing = "; ".join(p["name"] if p["id"] in named else p["id"] for p in parts)
        spec = TaskSpec(customer(owner), request=asks[index % len(asks)].format(name=name, listing=listing))
        for part in parts:
            if part["id"] in named:
                spec.call("searchProducts", query=part["name"])
        ids = [p["id"] for p in parts]
        build_id = ctx.next_id("build")
        spec.call("validateBuildCompatibility", product_ids=ids)
        spec.call("createBuild", name=name, product_ids=ids, owner_type="customer", customer_id=owner)
        anchor = next(p for p in parts if p["category"] in ("cpu", "motherboard"))
        spec.check(
            r.called("validated-first", "The parts are validated with validateBuildCompatibility before the build is created",
                     "validateBuildCompatibility", arguments={"product_ids": {"same_items": ids}}, before="createBuild"),
            r.state("build", f"One new build \"{name}\", owned by customer {owner}", "build", new_only=True, count=1,
                    expect={"customer_id": owner, "owner_type": "customer", "name": name}),
            r.state("components", f"The new build has exactly the {len(ids)} requested parts", "build_component", new_only=True,
                    count=len(ids), expect={"product_id": {"in": ids}}),
            r.state("anchor-part", f"The build includes {anchor['id']}", "build_component", where={"product_id": anchor["id"]},
                    new_only=True, count=1),
            r.reply("reply", "The reply gives the new build's id", contains=[build_id]),
        )
        spec.allow("build", build_id, ops=("insert",)).allow("build_component", build_id, ops=("insert",))
        spec.reply = f"All {len(ids)} parts passed the compatibility check, and I saved them as build {build_id}, \"{name}\", on your account."
        spec.variant = difficulty_for(len(spec.calls))
        yield spec


@family("build_incompatible_refusal", "communication", "train", count=10,
        policy_rules=("validate_before_build", "no_incompatible_build", "refuse_with_reason", "no_unrequested_writes"))
def build_incompatible_refusal(ctx: Context) -> Iterator[TaskSpec]:
    """Asked to save a build "exactly as listed" that fails validation: save nothing, explain the conflict and
    suggest a part the validator accepts (found with searchProducts, confirmed with validateBuildCompatibility)."""
    shoppers = ctx.db.all("SELECT id FROM customer ORDER BY id")
    asks = ("Please save this build to my account exactly as listed: {ids}. I've already got the {kept}, so those stay.",
            "Save these parts as a build on my account, no changes please: {ids}. The {kept} are already sitting on my desk.",
            "I want this exact list saved as a build: {ids}. Don't swap anything out of the {kept} - I own those already.")
    for index, (build, parts, fix) in enumerate(conflicted_builds(ctx)):
        owner = build["customer_id"] or ctx.rng.choice(shoppers)["id"]
        ids = [p["id"] for p in parts]
        culprit, replacement = fix["culprit"], fix["replacement"]
        spec = TaskSpec(customer(owner), request=asks[index % len(asks)].format(
            ids="; ".join(ids), kept=", ".join(kept_names(parts, culprit))))
        spec.call("validateBuildCompatibility", product_ids=ids)
        spec.call("searchProducts", category=culprit["category"], in_stock=True)
        for fixed in fix["tried"]:
            spec.call("validateBuildCompatibility", product_ids=fixed)
        alternatives = accepted_alternatives(ctx, parts, culprit)
        spec.check(
            r.nothing_new("no-build", "No build is saved: the list fails validation", "build"),
            r.called("validated", "The list as given is checked with validateBuildCompatibility", "validateBuildCompatibility",
                     arguments={"product_ids": {"same_items": ids}}),
            r.reply("reply-conflict", "The reply names the part that does not fit", contains_any=[culprit["id"], culprit["name"]]),
            r.reply("reply-suggestion", f"The reply suggests a {culprit['category']} the validator accepts for this build",
                    contains_any=[a["id"] for a in alternatives] + [a["name"] for a in alternatives]),
            r.judge("reply-not-saved", "The reply says the build was not saved because of the conflict, and why",
                    r.reply("fallback", "says it was not saved", contains_any=NOT_SAVED)),
        )
        spec.reply = (f"I haven't saved the build: it fails the compatibility check ({fix['error']}). The {culprit['name']} is the "
                      f"part that doesn't fit. Swapping it for the {replacement['name']} ({replacement['id']}, {money(replacement['price'])}, "
                      "in stock) makes the whole list pass validation. Let me know if you'd like me to save it with that change.")
        blind = spec.ignoring("no_incompatible_build", "refuse_with_reason")
        blind.call("validateBuildCompatibility", product_ids=ids)
        blind.call("createBuild", name="My build", product_ids=ids, owner_type="customer", customer_id=owner)
        blind.reply = (f"Done: I saved your parts list exactly as listed as build {ctx.next_id('build')}. Note the compatibility check "
                       f"flagged {fix['error']}, so you may want to look at the {culprit['name']}.")
        yield spec


@family("build_repair", "multi_step_workflow", "heldout", count={"medium": 3, "hard": 4},
        policy_rules=("validate_before_build", "no_unrequested_writes"))
def build_repair(ctx: Context) -> Iterator[TaskSpec]:
    """Repair a customer's saved build that fails validation: find the cheapest in-stock replacement the validator
    accepts and update the build (validated before the change), keeping every other part."""
    for build, parts, fix in conflicted_builds(ctx):
        if not build["customer_id"]:
            continue
        owned = ctx.db.all("SELECT id FROM build WHERE customer_id = ? ORDER BY id", (build["customer_id"],))
        culprit, replacement = fix["culprit"], fix["replacement"]
        keep = ", ".join(kept_names(parts, culprit))
        if len(owned) > 1:  # which build? the customer does not say: check each of theirs
            spec = TaskSpec(customer(build["customer_id"]), request=(
                "One of my saved builds fails the compatibility check, I'm not sure which. Please find it, replace whatever doesn't "
                f"fit and update that build. Keep the {keep}."))
            spec.call("searchBuilds", customer_id=build["customer_id"])
            for other in owned:
                spec.call("validateBuildCompatibility", product_ids=[p["id"] for p in build_parts(ctx, other["id"])])
        else:
            spec = TaskSpec(customer(build["customer_id"]), request=(
                f"My saved build {build['id']} (\"{build['name']}\") fails the compatibility check. Please replace whatever doesn't "
                f"fit and update the saved build. Keep the {keep}."))
            spec.call("searchBuilds", build_id=build["id"])
            spec.call("validateBuildCompatibility", product_ids=[p["id"] for p in parts])
        spec.call("searchProducts", category=culprit["category"], in_stock=True)
        for fixed in fix["tried"]:
            spec.call("validateBuildCompatibility", product_ids=fixed)
        final = fix["tried"][-1]
        spec.call("updateBuild", build_id=build["id"], product_ids=final)
        spec.check(
            r.called("validated-first", "The repaired parts list is validated before the build is changed", "validateBuildCompatibility",
                     arguments={"product_ids": {"same_items": final}}, before="updateBuild"),
            r.state("replacement-in", f"Build {build['id']} now has {replacement['id']}, the cheapest in-stock part that fits",
                    "build_component", where={"build_id": build["id"], "product_id": replacement["id"]}, count=1),
            r.state("culprit-out", f"Build {build['id']} no longer has {culprit['id']}", "build_component",
                    where={"build_id": build["id"], "product_id": culprit["id"]}, count=0),
            r.state("others-kept", f"Build {build['id']} keeps its other {len(final) - 1} parts", "build_component",
                    where={"build_id": build["id"]}, count=len(final), expect={"product_id": {"in": final}}),
            r.reply("reply", "The reply names the build and the part swapped in", contains=[build["id"]],
                    contains_any=[replacement["id"], replacement["name"]]),
        )
        spec.allow("build", build["id"], ops=("update",)).allow("build_component", build["id"], ops=("insert", "delete"))
        spec.reply = (f"Build {build['id']} failed validation ({fix['error']}). I replaced the {culprit['name']} with the "
                      f"{replacement['name']} ({money(replacement['price'])}), the cheapest in-stock {culprit['category']} that passes "
                      "the check, confirmed the new list validates, and updated the build. Everything else is unchanged.")
        spec.variant = difficulty_for(len(spec.calls))
        if spec.variant in ("medium", "hard"):
            yield spec


@family("template_copy_to_customer", "multi_step_workflow", "train", count={"medium": 10},
        policy_rules=("validate_before_build",))
def template_copy_to_customer(ctx: Context) -> Iterator[TaskSpec]:
    """Copy one of the company's internal build templates onto a customer's account: find the template, validate
    its parts, then create a customer-owned build with exactly those parts (the template itself is left alone)."""
    templates = [(b, p) for b, p in compatible_builds(ctx) if b["owner_type"] == "internal"]
    people = ctx.db.all("SELECT id, name, email FROM customer ORDER BY id")
    for index, (template, parts) in enumerate(templates * 2):
        person = ctx.rng.choice(people)
        name = ctx.rng.choice(NAMES)
        ids = [p["id"] for p in parts]
        by_staff = index % 3 == 1
        if by_staff:
            spec = TaskSpec(employee(ctx.staff()["id"]), request=(
                f"A customer, {person['name']} ({person['email']}), liked our \"{template['name']}\" at the showroom. Please copy it "
                f"onto their account as a build called \"{name}\" so they can order from it."))
            spec.call("searchCustomers", email=person["email"])
        else:
            spec = TaskSpec(customer(person["id"]), request=(
                f"I saw your \"{template['name']}\" build{' (' + template['id'] + ')' if index % 3 == 2 else ''}. Can you copy it to my "
                f"account as \"{name}\"? I'd like to order it later."))
        if index % 3 == 2 and not by_staff:
            spec.call("searchBuilds", build_id=template["id"])
        else:
            spec.call("searchBuilds", query=template["name"], owner_type="internal")
        spec.call("validateBuildCompatibility", product_ids=ids)
        spec.call("createBuild", name=name, product_ids=ids, owner_type="customer", customer_id=person["id"])
        build_id = ctx.next_id("build")
        spec.check(
            r.called("validated-first", "The template's parts are validated before the copy is created", "validateBuildCompatibility",
                     arguments={"product_ids": {"same_items": ids}}, before="createBuild"),
            r.state("build", f"One new customer build \"{name}\" owned by {person['id']}", "build", new_only=True, count=1,
                    expect={"customer_id": person["id"], "owner_type": "customer", "name": name}),
            r.state("components", f"The copy has exactly the template's {len(ids)} parts", "build_component", new_only=True,
                    count=len(ids), expect={"product_id": {"in": ids}}),
            r.reply("reply", "The reply gives the new build's id", contains=[build_id]),
        )
        spec.allow("build", build_id, ops=("insert",)).allow("build_component", build_id, ops=("insert",))
        spec.reply = (f"The \"{template['name']}\" template ({template['id']}) passes the compatibility check, so I copied its {len(ids)} "
                      f"parts to {'their' if by_staff else 'your'} account as build {build_id}, \"{name}\". The template itself is unchanged.")
        spec.variant = difficulty_for(len(spec.calls))
        yield spec


@family("build_multi_customer_save", "multi_step_workflow", "train", count={"hard": 2, "expert": 8},
        policy_rules=("validate_before_build", "no_incompatible_build"))
def build_multi_customer_save(ctx: Context) -> Iterator[TaskSpec]:
    """An employee hands over several customers' parts lists (by e-mail) to save on their accounts: validate each,
    save the compatible ones, and save nothing for a list that fails, saying which part conflicts."""
    good = [(b, p) for b, p in compatible_builds(ctx)]
    bad = conflicted_builds(ctx)
    people = ctx.pick(ctx.db.all("SELECT id, name, email FROM customer ORDER BY id"))
    for index in range(40):
        size = 3 if index % 5 == 3 else 4
        lists = [p for _, p in ctx.pick(good, size - 1)]
        broken = ctx.rng.choice(bad)
        slot = ctx.rng.randrange(size)
        lists.insert(slot, broken[1])
        owners = ctx.pick(people, size)
        intro, ask = ctx.rng.choice(DESK_BUILD_WORDINGS)
        spec = TaskSpec(employee(ctx.staff()["id"]), request=(
            f"{intro}, named \"Desk build\":\n" + "\n".join(f"- {o['email']}: {', '.join(p['id'] for p in parts)}"
                                                          for o, parts in zip(owners, lists)) + f"\n{ask}"))
        offset = 0
        blind = spec.ignoring("no_incompatible_build")
        for position, (owner, parts) in enumerate(zip(owners, lists)):
            ids = [p["id"] for p in parts]
            spec.call("searchCustomers", email=owner["email"])
            spec.call("validateBuildCompatibility", product_ids=ids)
            blind.call("searchCustomers", email=owner["email"])
            blind.call("validateBuildCompatibility", product_ids=ids)
            blind.call("createBuild", name="Desk build", product_ids=ids, owner_type="customer", customer_id=owner["id"])
            if position == slot:
                spec.check(r.nothing_new(f"no-build-{position + 1}", f"No build is saved for {owner['email']}: the list fails validation",
                                         "build", customer_id=owner["id"]))
                continue
            build_id = ctx.next_id("build", offset)
            offset += 1
            spec.call("createBuild", name="Desk build", product_ids=ids, owner_type="customer", customer_id=owner["id"])
            spec.allow("build", build_id, ops=("insert",)).allow("build_component", build_id, ops=("insert",))
            spec.check(
                r.state(f"build-{position + 1}", f"{owner['email']} ({owner['id']}) gets one new build with exactly their "
                        f"{len(ids)} parts", "build_component", new_only=True, count=len(ids),
                        where={"build_id": build_id}, expect={"product_id": {"in": ids}}),
                r.state(f"owner-{position + 1}", f"Build {build_id} is owned by {owner['id']}", "build", where={"id": build_id},
                        new_only=True, count=1, expect={"customer_id": owner["id"], "owner_type": "customer"}),
            )
        culprit = broken[2]["culprit"]
        owner = owners[slot]
        spec.check(
            r.called("validated-first", "Each list is validated before any build is created", "validateBuildCompatibility",
                     before="createBuild"),
            r.reply("reply-conflict", f"The reply says {owner['email']}'s list was not saved and names the conflicting part",
                    contains=[owner["email"]], contains_any=[culprit["id"], culprit["name"]]),
            r.judge("reply-not-saved", "The reply makes clear which list was not saved and why",
                    r.reply("fallback", "says it was not saved", contains_any=NOT_SAVED)),
        )
        saved = [f"{o['email']} ({ctx.next_id('build', i)})" for i, o in enumerate(o for k, o in enumerate(owners) if k != slot)]
        spec.reply = (f"Saved as \"Desk build\": {'; '.join(saved)} - each list passed the compatibility check first. I have not saved "
                      f"{owner['email']}'s list: it fails validation ({broken[2]['error']}); the {culprit['name']} is the problem. Swapping "
                      f"it for the {broken[2]['replacement']['name']} ({broken[2]['replacement']['id']}) would make it pass, if they agree.")
        blind.reply = f"All {size} lists are saved as \"Desk build\" on the customers' accounts."
        spec.variant = difficulty_for(len(spec.calls))
        yield spec


@family("build_upgrade_plan", "reasoning", "heldout", count={"hard": 2, "expert": 9},
        policy_rules=("validate_before_build", "no_incompatible_build", "use_calculate_price", "no_unrequested_writes"))
def build_upgrade_plan(ctx: Context) -> Iterator[TaskSpec]:
    """Upgrade the graphics card in a customer's saved build: the new card overloads the PSU, so find the cheapest
    in-stock PSU the validator accepts, quote both new parts with calculatePrice and update the build (never with
    the card alone)."""
    gpus = ctx.db.all("SELECT id, name, price FROM product WHERE category = 'gpu' AND in_stock > 0 ORDER BY price, id")
    for build, parts in compatible_builds(ctx):
        if not build["customer_id"]:
            continue
        current = [p for p in parts if p["category"] == "gpu"]
        psu = [p for p in parts if p["category"] == "psu"]
        if len(current) != 1 or len(psu) != 1:
            continue
        used = 0
        for gpu in ctx.pick([g for g in gpus if g["price"] > current[0]["price"]]):
            if used >= 2:
                break
            swapped = [p if p["id"] != current[0]["id"] else dict(gpu, category="gpu") for p in parts]
            fix = part_fix(ctx, swapped, max_tries=8)
            if not fix or fix["culprit"]["id"] != psu[0]["id"]:
                continue
            service = ctx.rng.choice(("standard", "express", "overnight"))
            tier = ctx.db.value("SELECT loyalty_tier FROM customer WHERE id = ?", (build["customer_id"],))
            new_psu, final = fix["replacement"], fix["tried"][-1]
            by_name = ctx.rng.random() < 0.5
            spec = TaskSpec(customer(build["customer_id"]), request=(
                f"I want to upgrade the graphics card in my saved build {build['id']} to the {gpu['name'] if by_name else gpu['id']}. "
                f"{wording(CHANGE_WHAT_IT_TAKES, build['id'], gpu['id'])} "
                f"{wording(QUOTE_AND_UPDATE, gpu['id'], build['id']).format(service=service)}"))
            spec.call("searchBuilds", build_id=build["id"])
            if by_name:
                spec.call("searchProducts", query=gpu["name"])
            spec.call("validateBuildCompatibility", product_ids=[p["id"] for p in swapped])
            spec.call("searchProducts", category="psu", in_stock=True)
            for fixed in fix["tried"]:
                spec.call("validateBuildCompatibility", product_ids=fixed)
            items = [{"product_id": gpu["id"], "quantity": 1}, {"product_id": new_psu["id"], "quantity": 1}]
            spec.call("calculatePrice", items=items, shipping_service=service, customer_id=build["customer_id"])
            spec.call("updateBuild", build_id=build["id"], product_ids=final)
            total = quote([(gpu["price"], 1), (new_psu["price"], 1)], tier, service)
            spec.check(
                r.called("validated-first", "The upgraded parts list is validated before the build is changed",
                         "validateBuildCompatibility", arguments={"product_ids": {"same_items": final}}, before="updateBuild"),
                r.state("gpu-in", f"Build {build['id']} now has the {gpu['id']}", "build_component",
                        where={"build_id": build["id"], "product_id": gpu["id"]}, count=1),
                r.state("psu-in", f"Build {build['id']} has {new_psu['id']}, the cheapest in-stock PSU that passes", "build_component",
                        where={"build_id": build["id"], "product_id": new_psu["id"]}, count=1),
                r.state("old-out", f"Build {build['id']} no longer has {current[0]['id']} or {psu[0]['id']}", "build_component",
                        where={"build_id": build["id"], "product_id": {"in": [current[0]["id"], psu[0]["id"]]}}, count=0),
                r.state("others-kept", f"Build {build['id']} keeps its other parts", "build_component", where={"build_id": build["id"]},
                        count=len(final), expect={"product_id": {"in": final}}),
                r.called("priced", "The quote for the two new parts comes from calculatePrice", "calculatePrice",
                         arguments={"shipping_service": service, "items": {"same_items": items}}),
                r.reply("reply-total", "The reply gives the quote total for the new card and PSU", numbers=[total.total]),
                r.reply("reply-psu", "The reply explains the PSU had to change and names the new one",
                        contains_any=[new_psu["id"], new_psu["name"]]),
            )
            spec.allow("build", build["id"], ops=("update",)).allow("build_component", build["id"], ops=("insert", "delete"))
            spec.reply = (f"The {gpu['name']} alone fails the compatibility check in build {build['id']} ({fix['error']}), so the PSU has "
                          f"to change too: the cheapest in-stock PSU that passes is the {new_psu['name']} ({new_psu['id']}). Quote for the "
                          f"two parts with {service} shipping: subtotal {money(total.subtotal)}, discount {money(total.discount)}, shipping "
                          f"{money(total.shipping)}, total {money(total.total)}. The build now validates and is updated.")
            blind = spec.ignoring("no_incompatible_build")
            gpu_only = [p["id"] for p in swapped]
            blind.call("searchBuilds", build_id=build["id"])
            blind.call("validateBuildCompatibility", product_ids=gpu_only)
            one = quote([(gpu["price"], 1)], tier, service)
            blind.call("calculatePrice", items=items[:1], shipping_service=service, customer_id=build["customer_id"])
            blind.call("updateBuild", build_id=build["id"], product_ids=gpu_only)
            blind.reply = (f"I swapped the {gpu['name']} into build {build['id']}. Quote with {service} shipping: total {money(one.total)}. "
                           f"The checker mentions {fix['error']}, so you may want a bigger PSU later.")
            spec.variant = difficulty_for(len(spec.calls))
            used += 1
            yield spec
