"""People: customers and employees."""

from __future__ import annotations

from ..world.schema import DEPARTMENTS, LOYALTY_TIERS, PERMISSIONS, SUPPORT_ROLES
from .base import DEFAULT_LIMIT, Db, Filters, entity_id, enum, limit, string, tool


@tool(
    "searchCustomers",
    "Find customers by id, name, e-mail, phone or loyalty tier. Returns id, name, email, phone, date_of_birth, "
    "addresses, loyalty_tier and created_at, ordered by id.",
    {
        "customer_id": entity_id("Exact customer id, e.g. cust-0042."),
        "name": string("Part of the customer's name (case-insensitive)."),
        "email": string("Part of the e-mail address (case-insensitive)."),
        "phone": string("Part of the phone number.", max_length=40),
        "loyalty_tier": enum("Loyalty tier.", LOYALTY_TIERS),
        "limit": limit(),
    },
)
def search_customers(db: Db, customer_id=None, name=None, email=None, phone=None, loyalty_tier=None, limit=DEFAULT_LIMIT) -> dict:
    where = (Filters().equals("id", customer_id).contains(("name",), name).contains(("email",), email)
             .contains(("phone",), phone).equals("loyalty_tier", loyalty_tier))
    return {"customers": db.all(f"SELECT * FROM customer{where.where()} ORDER BY id LIMIT ?", [*where.params, limit])}


@tool(
    "searchEmployees",
    "Find employees by id, name, e-mail, department, support role or a permission they hold. Returns id, name, "
    "email, department, title, manager_id, permissions and support_role.",
    {
        "employee_id": entity_id("Exact employee id, e.g. emp-0007."),
        "name": string("Part of the employee's name (case-insensitive)."),
        "email": string("Part of the e-mail address."),
        "department": enum("Department.", DEPARTMENTS),
        "support_role": enum("Support role.", SUPPORT_ROLES),
        "permission": enum("Only employees holding this permission.", PERMISSIONS),
        "limit": limit(),
    },
)
def search_employees(db: Db, employee_id=None, name=None, email=None, department=None, support_role=None, permission=None,
                     limit=DEFAULT_LIMIT) -> dict:
    where = (Filters().equals("id", employee_id).contains(("name",), name).contains(("email",), email)
             .equals("department", department).equals("support_role", support_role).has("permissions", permission))
    return {"employees": db.all(f"SELECT * FROM employee{where.where()} ORDER BY id LIMIT ?", [*where.params, limit])}


TOOLS = (search_customers, search_employees)
