"""The 14 entity types of the CoreCraft Computers world as SQLModel tables.

Every relation is a real SQLite foreign key. Three child tables (order lines, build components, refund lines)
hold the many-to-many details; they are rows of their parent entity, not entities of their own, so they are not
counted in ``ENTITY_TABLES``. JSON columns hold small nested values (addresses, specs, shipment events, tags).

All timestamps are ISO-8601 UTC strings (``2025-09-15T18:00:00Z``), so they sort and compare as text. Money is
stored in dollars rounded to cents.
"""

from __future__ import annotations

import sqlite3
from typing import Any, Optional

from sqlalchemy import JSON, Column, Index
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.schema import CreateIndex, CreateTable
from sqlmodel import Field, SQLModel

# ---------------------------------------------------------------------------------------------------------------
# Enumerations (the values the company's system accepts; the tools' JSON Schemas are built from these)
# ---------------------------------------------------------------------------------------------------------------
LOYALTY_TIERS = ("none", "silver", "gold", "platinum")
PRODUCT_CATEGORIES = (
    "cpu", "motherboard", "gpu", "memory", "storage", "psu", "case", "cooling",
    "prebuilt", "workstation", "monitor", "keyboard", "mouse", "bundle",
)
ORDER_STATUSES = (
    "pending", "paid", "fulfilled", "shipped", "delivered", "cancelled", "refund_requested", "refunded",
)
SHIPPING_SERVICES = ("standard", "express", "overnight")
CARRIERS = ("UPS", "FedEx", "USPS", "DHL")
PAYMENT_METHODS = ("card", "paypal", "apple_pay", "google_pay", "bank_transfer")
PAYMENT_STATUSES = ("pending", "captured", "failed", "refunded", "partially_refunded")
SHIPMENT_STATUSES = ("label_created", "in_transit", "out_for_delivery", "delivered", "exception")
TICKET_TYPES = ("return", "troubleshooting", "recommendation", "order_issue", "shipping", "billing", "other")
TICKET_CHANNELS = ("email", "chat", "phone", "web_form")
TICKET_PRIORITIES = ("low", "normal", "high")
TICKET_STATUSES = ("new", "open", "pending_customer", "resolved", "closed")
CLOSURE_REASONS = ("resolved_success", "customer_unresponsive", "duplicate", "declined_by_policy", "other")
REFUND_REASONS = ("customer_remorse", "defective", "incompatible", "shipping_issue", "other")
REFUND_STATUSES = ("pending", "approved", "denied", "processed", "failed")
RESOLUTION_OUTCOMES = (
    "refund_issued", "replacement_sent", "recommendation_provided", "troubleshooting_steps", "order_updated",
    "no_action",
)
ESCALATION_TYPES = (
    "technical", "policy_exception", "product_specialist", "warranty", "order_fulfillment", "billing_payment",
    "support_escalation",
)
DEPARTMENTS = ("support", "engineering", "operations", "product_management", "order_processing", "finance")
# Company policy: where each kind of escalation must go.
ESCALATION_ROUTING = {
    "technical": "engineering",
    "policy_exception": "operations",
    "product_specialist": "product_management",
    "warranty": "product_management",
    "order_fulfillment": "order_processing",
    "billing_payment": "finance",
    "support_escalation": "support",
}
PERMISSIONS = ("issue_refund", "edit_order", "cancel_order", "escalate", "kb_edit", "policy_override")
SUPPORT_ROLES = ("frontline", "specialist", "admin")
BUILD_OWNER_TYPES = ("customer", "internal")
RULE_SEVERITIES = ("error", "warning")
SLACK_CHANNELS = (
    "policy-discussion", "customer-feedback", "escalations", "engineering-support", "product-team",
    "fulfillment-updates", "promotions-planning", "returns-updates", "support-general", "kb-updates",
)
WARRANTY_MONTHS = (12, 24, 36, 60, 84)
DEFAULT_WARRANTY_MONTHS = 12


# Every key is text (``ord-250830-110``), so a rowid table finds a row through two B-trees: the key's index, then
# the table by rowid. Stored WITHOUT ROWID, the table is that one B-tree, ordered by its key: an id lookup or an
# id-ordered scan reads one tree (the tools' raw SQL: up to 37 % faster; see docs/tools.md).
WITHOUT_ROWID = {"sqlite_with_rowid": False}


def _json(default_factory: Any = list) -> Any:
    return Field(default_factory=default_factory, sa_column=Column(JSON, nullable=False))


# ---------------------------------------------------------------------------------------------------------------
# Entity tables
# ---------------------------------------------------------------------------------------------------------------
class Employee(SQLModel, table=True):
    __tablename__ = "employee"
    __table_args__ = WITHOUT_ROWID
    id: str = Field(primary_key=True)  # emp-0001
    name: str
    email: str = Field(index=True)
    department: str
    title: str
    manager_id: Optional[str] = Field(default=None, foreign_key="employee.id")
    permissions: list = _json()
    support_role: str


class Customer(SQLModel, table=True):
    __tablename__ = "customer"
    __table_args__ = WITHOUT_ROWID
    id: str = Field(primary_key=True)  # cust-0001
    name: str = Field(index=True)
    email: str = Field(index=True)
    phone: str
    date_of_birth: str
    addresses: list = _json()  # [{label, line1, line2, city, region, postal_code, country}]
    loyalty_tier: str
    created_at: str


class Product(SQLModel, table=True):
    __tablename__ = "product"
    __table_args__ = WITHOUT_ROWID
    id: str = Field(primary_key=True)  # slug, e.g. coreflow-750w-gold-modular
    sku: str = Field(index=True)
    name: str
    brand: str
    category: str = Field(index=True)
    price: float
    in_stock: int
    backorderable: bool
    warranty_months: Optional[int] = None  # missing means the default of 12
    specs: dict = _json(dict)
    description: str


class Build(SQLModel, table=True):
    __tablename__ = "build"
    __table_args__ = WITHOUT_ROWID
    id: str = Field(primary_key=True)  # build-0001
    owner_type: str
    customer_id: Optional[str] = Field(default=None, foreign_key="customer.id", index=True)
    name: str
    created_at: str
    updated_at: str


class BuildComponent(SQLModel, table=True):
    """A product in a build (child rows of ``build``)."""

    __tablename__ = "build_component"
    __table_args__ = WITHOUT_ROWID
    build_id: str = Field(foreign_key="build.id", primary_key=True)
    product_id: str = Field(foreign_key="product.id", primary_key=True)
    quantity: int = 1


class Order(SQLModel, table=True):
    __tablename__ = "orders"  # "order" is an SQL keyword
    # searchOrders by status, newest first: equality on status, then range and order on created_at from one index
    __table_args__ = (Index("ix_orders_status_created_at", "status", "created_at"), WITHOUT_ROWID)
    id: str = Field(primary_key=True)  # ord-250830-110
    customer_id: str = Field(foreign_key="customer.id", index=True)
    status: str = Field(index=True)
    build_id: Optional[str] = Field(default=None, foreign_key="build.id")
    shipping_address: dict = _json(dict)
    shipping_carrier: str
    shipping_service: str
    loyalty_tier: str  # the tier the order was priced at
    subtotal: float
    discount: float
    shipping_cost: float
    total: float
    created_at: str = Field(index=True)
    updated_at: str


class OrderLine(SQLModel, table=True):
    """One product line of an order (child rows of ``order``)."""

    __tablename__ = "order_line"
    __table_args__ = WITHOUT_ROWID
    order_id: str = Field(foreign_key="orders.id", primary_key=True)
    line_no: int = Field(primary_key=True)
    product_id: str = Field(foreign_key="product.id", index=True)
    quantity: int
    unit_price: float


class Payment(SQLModel, table=True):
    __tablename__ = "payment"
    __table_args__ = WITHOUT_ROWID
    id: str = Field(primary_key=True)  # pay-000001
    order_id: str = Field(foreign_key="orders.id", index=True)
    method: str
    status: str
    amount: float
    transaction_id: str
    processed_at: str


class Shipment(SQLModel, table=True):
    __tablename__ = "shipment"
    __table_args__ = WITHOUT_ROWID
    id: str = Field(primary_key=True)  # shp-000001
    order_id: str = Field(foreign_key="orders.id", index=True)
    carrier: str
    tracking_number: str = Field(index=True)
    status: str
    events: list = _json()  # [{timestamp, status, location, description}], oldest first
    shipped_at: str
    eta: str


class SupportTicket(SQLModel, table=True):
    __tablename__ = "support_ticket"
    __table_args__ = WITHOUT_ROWID
    id: str = Field(primary_key=True)  # tick-0001
    customer_id: str = Field(foreign_key="customer.id", index=True)
    order_id: Optional[str] = Field(default=None, foreign_key="orders.id", index=True)
    build_id: Optional[str] = Field(default=None, foreign_key="build.id")
    type: str
    channel: str
    priority: str
    status: str
    subject: str
    body: str
    assignee_id: Optional[str] = Field(default=None, foreign_key="employee.id")
    resolution_id: Optional[str] = Field(default=None, foreign_key="resolution.id")
    closure_reason: Optional[str] = None
    created_at: str
    updated_at: str


class Refund(SQLModel, table=True):
    __tablename__ = "refund"
    __table_args__ = WITHOUT_ROWID
    id: str = Field(primary_key=True)  # ref-00001
    payment_id: str = Field(foreign_key="payment.id", index=True)
    ticket_id: Optional[str] = Field(default=None, foreign_key="support_ticket.id")
    amount: float
    reason: str
    status: str
    created_at: str
    processed_at: Optional[str] = None


class RefundLine(SQLModel, table=True):
    """The itemised part of a refund (child rows of ``refund``)."""

    __tablename__ = "refund_line"
    __table_args__ = WITHOUT_ROWID
    refund_id: str = Field(foreign_key="refund.id", primary_key=True)
    product_id: str = Field(foreign_key="product.id", primary_key=True)
    quantity: int
    amount: float


class Resolution(SQLModel, table=True):
    __tablename__ = "resolution"
    __table_args__ = WITHOUT_ROWID
    id: str = Field(primary_key=True)  # res-0001
    ticket_id: str = Field(foreign_key="support_ticket.id", index=True)
    outcome: str
    resolved_by: str = Field(foreign_key="employee.id")
    refund_id: Optional[str] = Field(default=None, foreign_key="refund.id")
    details: str
    created_at: str


class Escalation(SQLModel, table=True):
    __tablename__ = "escalation"
    __table_args__ = WITHOUT_ROWID
    id: str = Field(primary_key=True)  # esc-0001
    ticket_id: str = Field(foreign_key="support_ticket.id", index=True)
    escalation_type: str
    destination: str
    notes: str
    created_by: Optional[str] = Field(default=None, foreign_key="employee.id")
    created_at: str
    resolved_at: Optional[str] = None


class KnowledgeBaseArticle(SQLModel, table=True):
    __tablename__ = "knowledge_base_article"
    __table_args__ = WITHOUT_ROWID
    id: str = Field(primary_key=True)  # kb-0001
    title: str
    body: str
    tags: list = _json()
    product_ids: list = _json()  # products the article mentions
    version: int
    deprecated: bool
    updated_at: str


class CompatibilityRule(SQLModel, table=True):
    __tablename__ = "compatibility_rule"
    __table_args__ = WITHOUT_ROWID
    id: str = Field(primary_key=True)  # rule-cpu-socket
    name: str
    severity: str
    condition: str  # machine-readable check name, evaluated by corecraft_env.world.compatibility
    message: str
    categories: list = _json()


class SlackMessage(SQLModel, table=True):
    __tablename__ = "slack_message"
    __table_args__ = WITHOUT_ROWID
    id: str = Field(primary_key=True)  # msg-00001
    channel: str = Field(index=True)
    author_id: str = Field(foreign_key="employee.id")
    text: str
    timestamp: str
    thread_id: Optional[str] = Field(default=None, foreign_key="slack_message.id")


class WorldMeta(SQLModel, table=True):
    """Provenance of a built world: seed, generator version and content hash (not an entity)."""

    __tablename__ = "world_meta"
    __table_args__ = WITHOUT_ROWID
    key: str = Field(primary_key=True)
    value: str


# The 14 entity types (type name -> table model; the table of "order" is "orders").
ENTITY_TABLES: dict[str, type[SQLModel]] = {
    "employee": Employee,
    "customer": Customer,
    "product": Product,
    "compatibility_rule": CompatibilityRule,
    "build": Build,
    "order": Order,
    "payment": Payment,
    "shipment": Shipment,
    "support_ticket": SupportTicket,
    "refund": Refund,
    "resolution": Resolution,
    "escalation": Escalation,
    "knowledge_base_article": KnowledgeBaseArticle,
    "slack_message": SlackMessage,
}
CHILD_TABLES: dict[str, type[SQLModel]] = {
    "build_component": BuildComponent,
    "order_line": OrderLine,
    "refund_line": RefundLine,
}
# Every table holding world content, in insertion order; world_meta is bookkeeping and is not hashed.
CONTENT_TABLES: dict[str, type[SQLModel]] = {
    "employee": Employee,
    "customer": Customer,
    "product": Product,
    "compatibility_rule": CompatibilityRule,
    "build": Build,
    "build_component": BuildComponent,
    "orders": Order,
    "order_line": OrderLine,
    "payment": Payment,
    "shipment": Shipment,
    "support_ticket": SupportTicket,
    "refund": Refund,
    "refund_line": RefundLine,
    "resolution": Resolution,
    "escalation": Escalation,
    "knowledge_base_article": KnowledgeBaseArticle,
    "slack_message": SlackMessage,
}
JSON_COLUMNS: dict[str, tuple[str, ...]] = {
    name: tuple(col.name for col in model.__table__.columns if isinstance(col.type, JSON))
    for name, model in CONTENT_TABLES.items()
}


def column_names(table: str) -> list[str]:
    """Column names of a content table, in declaration order."""
    return [col.name for col in CONTENT_TABLES[table].__table__.columns]


def schema_ddl() -> list[str]:
    """CREATE TABLE / CREATE INDEX statements for every table, compiled for SQLite from the SQLModel models."""
    dialect = sqlite_dialect.dialect()
    statements = []
    for model in [*CONTENT_TABLES.values(), WorldMeta]:
        table = model.__table__
        statements.append(str(CreateTable(table).compile(dialect=dialect)).strip())
        statements.extend(str(CreateIndex(index).compile(dialect=dialect)) for index in sorted(table.indexes, key=lambda i: i.name))
    return statements


def create_schema(conn: sqlite3.Connection) -> None:
    """Create every table and index in an empty SQLite database."""
    for statement in schema_ddl():
        conn.execute(statement)
