"""The product catalogue and warranties."""

from __future__ import annotations

import calendar
from datetime import date

from ..world.generator import NOW
from ..world.schema import DEFAULT_WARRANTY_MONTHS, PRODUCT_CATEGORIES
from .base import DEFAULT_LIMIT, Db, Filters, ToolError, boolean, entity_id, enum, limit, number, string, tool


@tool(
    "searchProducts",
    "Search the catalogue by text (name, brand, description), category, brand, price range or stock. Returns id, "
    "sku, name, brand, category, price, in_stock, backorderable, warranty_months and specs, cheapest first.",
    {
        "query": string("Words to find in the name, brand or description (case-insensitive)."),
        "category": enum("Product category.", PRODUCT_CATEGORIES),
        "brand": string("Exact brand name.", max_length=60),
        "min_price": number("Lowest price.", maximum=1_000_000),
        "max_price": number("Highest price.", maximum=1_000_000),
        "in_stock": boolean("Only products with stock on hand."),
        "limit": limit(),
    },
)
def search_products(db: Db, query=None, category=None, brand=None, min_price=None, max_price=None, in_stock=None, limit=DEFAULT_LIMIT) -> dict:
    where = (Filters().contains(("name", "brand", "description"), query).equals("category", category).equals("brand", brand)
             .compare("price", ">=", min_price).compare("price", "<=", max_price).compare("in_stock", ">", 0 if in_stock else None))
    sql = (f"SELECT id, sku, name, brand, category, price, in_stock, backorderable, warranty_months, specs FROM product"
           f"{where.where()} ORDER BY price, id LIMIT ?")
    return {"products": db.all(sql, [*where.params, limit])}


@tool(
    "getProduct",
    "One product's full page: name, brand, category, price, stock, warranty_months (null means the standard 12 "
    "months), specifications and description. The product page is the source of truth for specs.",
    {"product_id": entity_id("Product id (slug), e.g. corvex-i7-14700.")},
    required=("product_id",),
)
def get_product(db: Db, product_id: str) -> dict:
    return {"product": db.get("product", "product", product_id)}


def add_months(start: date, months: int) -> date:
    """Calendar months later, clamped to the month's last day (Jan 31 + 1 month = Feb 28/29)."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


@tool(
    "checkWarrantyStatus",
    "Whether a product bought in an order is still under warranty: purchase date (the order date), warranty months, "
    "end date (purchase date + warranty months), under_warranty and days remaining as of today.",
    {"order_id": entity_id("The order the product was bought in."), "product_id": entity_id("The product.")},
    required=("order_id", "product_id"),
)
def check_warranty_status(db: Db, order_id: str, product_id: str) -> dict:
    order = db.get("orders", "order", order_id, "created_at")
    product = db.get("product", "product", product_id, "warranty_months")
    if not db.value("SELECT 1 FROM order_line WHERE order_id = ? AND product_id = ?", (order_id, product_id)):
        raise ToolError("invalid_argument", f"product {product_id!r} is not in order {order_id!r}")
    purchased = date.fromisoformat(order["created_at"][:10])
    months = product["warranty_months"] or DEFAULT_WARRANTY_MONTHS
    ends = add_months(purchased, months)
    today = NOW.date()
    return {"order_id": order_id, "product_id": product_id, "purchase_date": purchased.isoformat(), "warranty_months": months,
            "warranty_end_date": ends.isoformat(), "under_warranty": today <= ends, "days_remaining": max((ends - today).days, 0)}


TOOLS = (search_products, get_product, check_warranty_status)
