"""Builds: validate before saving, refuse to save an incompatible build (suggesting a part the validator accepts),
and repair a saved build with the cheapest compatible part."""

from __future__ import annotations

from collections.abc import Iterator

from .. import rubric as r
from ..core import Context, TaskSpec, customer, difficulty_for, family
from ..facts import money
from .pricing import build_parts, cheapest_fix

NAMES = ("Living room gaming PC", "Home office workstation", "Streaming rig", "Quiet editing box", "LAN party build")
NOT_SAVED = ["not saved", "haven't saved", "didn't save", "did not save", "won't save", "can't save", "cannot save",
             "not been saved", "unable to save", "not able to save", "hold off"]


def compatible_builds(ctx: Context) -> list[tuple[dict, list[dict]]]:
    found = []
    for build in ctx.db.all("SELECT * FROM build ORDER BY id"):
        parts = build_parts(ctx, build["id"])
        if ctx.tool("validateBuildCompatibility", product_ids=[p["id"] for p in parts])["compatible"]:
            found.append((build, parts))
    return ctx.pick(found)


def conflicted_builds(ctx: Context) -> list[tuple[dict, list[dict], dict]]:
    """Builds with exactly one conflict that a swappable part (memory, storage, PSU, cooler) fixes."""
    found = []
    for build in ctx.db.all("SELECT * FROM build ORDER BY id"):
        parts = build_parts(ctx, build["id"])
        fix = cheapest_fix(ctx, parts)
        if fix:
            found.append((build, parts, fix))
    return ctx.pick(found)


def accepted_alternatives(ctx: Context, parts: list[dict], culprit: dict) -> list[dict]:
    """Every in-stock product of the culprit's category that makes the build pass validation."""
    ids = [p["id"] for p in parts]
    return [candidate for candidate in ctx.tool("searchProducts", category=culprit["category"], in_stock=True)["products"]
            if ctx.tool("validateBuildCompatibility", product_ids=[candidate["id"] if pid == culprit["id"] else pid for pid in ids])["compatible"]]


@family("build_save_validated", "multi_step_workflow", "train", count={"easy": 2, "medium": 1},
        policy_rules=("validate_before_build", "no_unrequested_writes"))
def build_save_validated(ctx: Context) -> Iterator[TaskSpec]:
    """Save a customer's compatible parts list as a build: validate first, then createBuild with exactly those
    parts, owned by the customer."""
    shoppers = ctx.db.all("SELECT id FROM customer ORDER BY id")
    for index, (build, parts) in enumerate(compatible_builds(ctx)):
        owner = build["customer_id"] or ctx.rng.choice(shoppers)["id"]
        name = ctx.rng.choice(NAMES)
        named = {p["id"] for p in ctx.pick(parts, 2)} if index % 3 == 2 else set()
        listing = "; ".join(p["name"] if p["id"] in named else p["id"] for p in parts)
        spec = TaskSpec(customer(owner), request=(
            f"Please save a build called \"{name}\" to my account with these parts: {listing}. Make sure it all works together."))
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


@family("build_incompatible_refusal", "communication", "train", count=2,
        policy_rules=("validate_before_build", "no_incompatible_build", "refuse_with_reason", "no_unrequested_writes"))
def build_incompatible_refusal(ctx: Context) -> Iterator[TaskSpec]:
    """Asked to save a build "exactly as listed" that fails validation: save nothing, explain the conflict and
    suggest a part the validator accepts (found with searchProducts, confirmed with validateBuildCompatibility)."""
    shoppers = ctx.db.all("SELECT id FROM customer ORDER BY id")
    for build, parts, fix in conflicted_builds(ctx):
        owner = build["customer_id"] or ctx.rng.choice(shoppers)["id"]
        ids = [p["id"] for p in parts]
        kept = [p["name"] for p in parts if p["category"] in ("cpu", "motherboard", "gpu", "case")]
        spec = TaskSpec(customer(owner), request=(
            f"Please save this build to my account exactly as listed: {'; '.join(ids)}. I've already got the "
            f"{', '.join(kept)}, so those stay."))
        spec.call("validateBuildCompatibility", product_ids=ids)
        spec.call("searchProducts", category=fix["culprit"]["category"], in_stock=True)
        spec.call("validateBuildCompatibility", product_ids=fix["tried"][-1])
        culprit, replacement = fix["culprit"], fix["replacement"]
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
        yield spec


@family("build_repair", "multi_step_workflow", "heldout", count={"medium": 1, "hard": 1},
        policy_rules=("validate_before_build", "no_incompatible_build", "no_unrequested_writes"))
def build_repair(ctx: Context) -> Iterator[TaskSpec]:
    """Repair a customer's saved build that fails validation: find the cheapest in-stock replacement the validator
    accepts and update the build (validated before the change), keeping every other part."""
    for build, parts, fix in conflicted_builds(ctx):
        if not build["customer_id"]:
            continue
        owned = ctx.db.all("SELECT id FROM build WHERE customer_id = ? ORDER BY id", (build["customer_id"],))
        culprit, replacement = fix["culprit"], fix["replacement"]
        if len(owned) > 1:  # which build? the customer does not say: check each of theirs
            spec = TaskSpec(customer(build["customer_id"]), request=(
                "One of my saved builds fails the compatibility check, I'm not sure which. Please find it, replace whatever doesn't "
                "fit with the cheapest in-stock part that works and update that build. Keep my CPU, motherboard, graphics card and case."))
            spec.call("searchBuilds", customer_id=build["customer_id"])
            for other in owned:
                spec.call("validateBuildCompatibility", product_ids=[p["id"] for p in build_parts(ctx, other["id"])])
        else:
            spec = TaskSpec(customer(build["customer_id"]), request=(
                f"My saved build {build['id']} (\"{build['name']}\") fails the compatibility check. Please replace whatever doesn't "
                "fit with the cheapest in-stock part that works and update the saved build. Keep my CPU, motherboard, graphics card "
                "and case."))
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
        yield spec
