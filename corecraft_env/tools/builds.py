"""Custom PC builds and their compatibility."""

from __future__ import annotations

from ..world.compatibility import Part, evaluate
from ..world.schema import BUILD_OWNER_TYPES
from .base import DEFAULT_LIMIT, NOW_ISO, Db, Filters, ToolError, array, entity_id, enum, limit, string, tool

_PRODUCT_IDS = array("Product ids of the build's parts (one entry per unit).", entity_id("Product id."), max_items=20)


def _products(db: Db, product_ids: list[str], columns: str) -> dict[str, dict]:
    """These products' ``columns`` by id, in one query, or a ``not_found`` error naming every missing one."""
    rows = {row["id"]: row for row in db.all(f"SELECT {columns} FROM product WHERE id IN ({', '.join('?' * len(product_ids))})", product_ids)}
    missing = [pid for pid in dict.fromkeys(product_ids) if pid not in rows]
    if missing:
        raise ToolError("not_found", f"no product with id {', '.join(map(repr, missing))}")
    return rows


def _components(product_ids: list[str]) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for pid in product_ids:
        counts[pid] = counts.get(pid, 0) + 1
    return list(counts.items())


@tool(
    "searchBuilds",
    "Find custom PC builds by id, owner, owner type, a product they contain, or words in their name. Each build "
    "lists its components (product id, name, category, quantity).",
    {
        "build_id": entity_id("Exact build id, e.g. build-0007."),
        "customer_id": entity_id("Builds of this customer."),
        "owner_type": enum("Customer builds or internal templates.", BUILD_OWNER_TYPES),
        "product_id": entity_id("Builds containing this product."),
        "query": string("Words in the build's name (case-insensitive)."),
        "limit": limit(),
    },
)
def search_builds(db: Db, build_id=None, customer_id=None, owner_type=None, product_id=None, query=None, limit=DEFAULT_LIMIT) -> dict:
    where = (Filters().equals("id", build_id).equals("customer_id", customer_id).equals("owner_type", owner_type)
             .exists("SELECT 1 FROM build_component c WHERE c.build_id = build.id AND c.product_id = ?", product_id)
             .contains(("name",), query))
    builds = db.all(f"SELECT * FROM build{where.where()} ORDER BY id LIMIT ?", [*where.params, limit])
    components: dict[str, list] = {}
    for build in builds:
        build["components"] = components[build["id"]] = []
    if builds:  # the components of every build found, in one query
        for build_id, product_id, name, category, quantity in db.rows(
                "SELECT c.build_id, c.product_id, p.name, p.category, c.quantity FROM build_component c JOIN product p ON p.id = c.product_id "
                f"WHERE c.build_id IN ({', '.join('?' * len(components))}) ORDER BY c.build_id, p.category, c.product_id", list(components)):
            components[build_id].append({"product_id": product_id, "name": name, "category": category, "quantity": quantity})
    return {"builds": builds}


@tool(
    "validateBuildCompatibility",
    "Check whether a set of parts works together: CPU socket vs motherboard, form factor vs case, memory type and "
    "slots, SATA ports, GPU length and cooler height vs case, PSU wattage vs CPU and GPU, one CPU and one board. "
    "Returns compatible, errors and warnings (each with the rule id and a message).",
    {"product_ids": _PRODUCT_IDS},
    required=("product_ids",),
)
def validate_build_compatibility(db: Db, product_ids: list[str]) -> dict:
    products = _products(db, product_ids, "id, category, specs")
    rules = db.all("SELECT id, severity, condition FROM compatibility_rule ORDER BY id")
    report = evaluate([Part(pid, products[pid]["category"], products[pid]["specs"]) for pid in product_ids], rules)
    return {"compatible": report.compatible, "errors": report.errors, "warnings": report.warnings, "product_ids": product_ids}


@tool(
    "createBuild",
    "Save a new build from a list of parts, for a customer or as an internal template. The system stores the parts "
    "as given; validating compatibility first is your responsibility.",
    {
        "name": string("Name of the build."),
        "product_ids": _PRODUCT_IDS,
        "owner_type": enum("Who owns it.", BUILD_OWNER_TYPES),
        "customer_id": entity_id("The customer who owns it (required when owner_type is customer)."),
    },
    required=("name", "product_ids", "owner_type"),
    writes=True,
)
def create_build(db: Db, name: str, product_ids: list[str], owner_type: str, customer_id=None) -> dict:
    if (owner_type == "customer") != (customer_id is not None):
        raise ToolError("invalid_argument", "customer_id is required for a customer build and must be omitted for an internal one")
    if customer_id is not None:
        db.get("customer", "customer", customer_id, "id")
    _products(db, product_ids, "id")
    build_id = db.next_id("build", "build", 4)
    db.execute("INSERT INTO build (id, owner_type, customer_id, name, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
               (build_id, owner_type, customer_id, name, NOW_ISO, NOW_ISO))
    db.execute_many("INSERT INTO build_component (build_id, product_id, quantity) VALUES (?, ?, ?)",
                    [(build_id, product_id, quantity) for product_id, quantity in _components(product_ids)])
    return {"build": {"id": build_id, "name": name, "owner_type": owner_type, "customer_id": customer_id, "product_ids": product_ids,
                      "created_at": NOW_ISO}}


@tool(
    "updateBuild",
    "Change a build: rename it and/or replace its parts list. The system stores the parts as given; validating "
    "compatibility first is your responsibility.",
    {"build_id": entity_id("The build."), "name": string("New name."), "product_ids": _PRODUCT_IDS},
    required=("build_id",),
    writes=True,
)
def update_build(db: Db, build_id: str, name=None, product_ids=None) -> dict:
    build = db.get("build", "build", build_id, "name")
    if name is None and product_ids is None:
        raise ToolError("invalid_argument", "nothing to change: give name and/or product_ids")
    if product_ids is None:
        parts = db.rows("SELECT product_id, quantity FROM build_component WHERE build_id = ? ORDER BY product_id", (build_id,))
    else:
        _products(db, product_ids, "id")
        components = _components(product_ids)
        db.execute("DELETE FROM build_component WHERE build_id = ?", (build_id,))
        db.execute_many("INSERT INTO build_component (build_id, product_id, quantity) VALUES (?, ?, ?)",
                        [(build_id, product_id, quantity) for product_id, quantity in components])
        parts = sorted(components)  # as stored, ORDER BY product_id: code-point order is SQLite's UTF-8 byte order
    db.execute("UPDATE build SET name = ?, updated_at = ? WHERE id = ?", (name or build["name"], NOW_ISO, build_id))
    return {"build": {"id": build_id, "name": name or build["name"],
                      "components": [{"product_id": product_id, "quantity": quantity} for product_id, quantity in parts], "updated_at": NOW_ISO}}


TOOLS = (search_builds, validate_build_compatibility, create_build, update_build)
