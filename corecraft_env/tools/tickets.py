"""Support tickets, their escalations and resolutions."""

from __future__ import annotations

from ..world.schema import (
    CLOSURE_REASONS, DEPARTMENTS, ESCALATION_TYPES, RESOLUTION_OUTCOMES, TICKET_PRIORITIES, TICKET_STATUSES, TICKET_TYPES,
)
from .base import DEFAULT_LIMIT, NOW_ISO, Db, Filters, ToolError, entity_id, enum, limit, string, timestamp, tool


@tool(
    "searchTickets",
    "Find support tickets by id, customer, order, status, type, priority, assignee, text in subject or body, or "
    "creation date. Newest first.",
    {
        "ticket_id": entity_id("Exact ticket id, e.g. tick-0042."),
        "customer_id": entity_id("Tickets of this customer."),
        "order_id": entity_id("Tickets about this order."),
        "status": enum("Ticket status.", TICKET_STATUSES),
        "type": enum("Ticket type.", TICKET_TYPES),
        "priority": enum("Priority.", TICKET_PRIORITIES),
        "assignee_id": entity_id("Employee the ticket is assigned to."),
        "query": string("Words in the subject or body (case-insensitive)."),
        "created_after": timestamp("Created at or after this time."),
        "created_before": timestamp("Created at or before this time."),
        "limit": limit(),
    },
)
def search_tickets(db: Db, ticket_id=None, customer_id=None, order_id=None, status=None, type=None, priority=None, assignee_id=None,
                   query=None, created_after=None, created_before=None, limit=DEFAULT_LIMIT) -> dict:
    where = (Filters().equals("id", ticket_id).equals("customer_id", customer_id).equals("order_id", order_id).equals("status", status)
             .equals("type", type).equals("priority", priority).equals("assignee_id", assignee_id).contains(("subject", "body"), query)
             .since("created_at", created_after, "created_after").until("created_at", created_before, "created_before"))
    return {"tickets": db.all(f"SELECT * FROM support_ticket{where.where()} ORDER BY created_at DESC, id LIMIT ?", [*where.params, limit])}


@tool(
    "getCustomerTicketHistory",
    "A customer's whole support history: every ticket (newest first) with its escalations and resolutions.",
    {"customer_id": entity_id("The customer, e.g. cust-0042.")},
    required=("customer_id",),
)
def get_customer_ticket_history(db: Db, customer_id: str) -> dict:
    customer = db.get("customer", "customer", customer_id, "id, name, email, loyalty_tier")
    tickets = db.all("SELECT * FROM support_ticket WHERE customer_id = ? ORDER BY created_at DESC, id", (customer_id,))
    by_id = {ticket["id"]: ticket for ticket in tickets}
    for ticket in tickets:
        ticket["escalations"], ticket["resolutions"] = [], []
    if tickets:  # two queries for all tickets, not two per ticket
        of_customer = "ticket_id IN (SELECT id FROM support_ticket WHERE customer_id = ?) ORDER BY created_at, id"
        for escalation in db.all(f"SELECT * FROM escalation WHERE {of_customer}", (customer_id,)):
            by_id[escalation["ticket_id"]]["escalations"].append(escalation)
        for resolution in db.all(f"SELECT * FROM resolution WHERE {of_customer}", (customer_id,)):
            by_id[resolution["ticket_id"]]["resolutions"].append(resolution)
    return {"customer": customer, "tickets": tickets}


@tool(
    "createEscalation",
    "Escalate a ticket to a department. Company policy routes each escalation type to one department; the system "
    "records the destination you give.",
    {
        "ticket_id": entity_id("The ticket to escalate."),
        "escalation_type": enum("Kind of escalation.", ESCALATION_TYPES),
        "destination": enum("Department that receives it.", DEPARTMENTS),
        "notes": string("What the receiving team needs to know.", max_length=4000),
        "created_by": entity_id("Employee id of the person escalating."),
    },
    required=("ticket_id", "escalation_type", "destination", "notes"),
    writes=True,
)
def create_escalation(db: Db, ticket_id: str, escalation_type: str, destination: str, notes: str, created_by=None) -> dict:
    db.get("support_ticket", "support ticket", ticket_id, "id")
    if created_by is not None:
        db.get("employee", "employee", created_by, "id")
    escalation_id = db.next_id("escalation", "esc", 4)
    db.execute("INSERT INTO escalation (id, ticket_id, escalation_type, destination, notes, created_by, created_at, resolved_at) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, NULL)", (escalation_id, ticket_id, escalation_type, destination, notes, created_by, NOW_ISO))
    return {"escalation": {"id": escalation_id, "ticket_id": ticket_id, "escalation_type": escalation_type, "destination": destination,
                           "notes": notes, "created_by": created_by, "created_at": NOW_ISO}}


@tool(
    "createResolution",
    "Record how a ticket was resolved: the outcome, the employee who resolved it, details, and the refund issued if "
    "any. Then set the ticket resolved with updateTicketStatus.",
    {
        "ticket_id": entity_id("The ticket."),
        "outcome": enum("Outcome.", RESOLUTION_OUTCOMES),
        "resolved_by": entity_id("Employee id of the person resolving it."),
        "details": string("What was done.", max_length=4000),
        "refund_id": entity_id("The refund issued for this ticket, if any."),
    },
    required=("ticket_id", "outcome", "resolved_by", "details"),
    writes=True,
)
def create_resolution(db: Db, ticket_id: str, outcome: str, resolved_by: str, details: str, refund_id=None) -> dict:
    ticket = db.get("support_ticket", "support ticket", ticket_id, "order_id")
    db.get("employee", "employee", resolved_by, "id")
    if refund_id is not None:
        refund = db.get("refund", "refund", refund_id, "ticket_id, (SELECT order_id FROM payment p WHERE p.id = refund.payment_id) AS order_id")
        if refund["ticket_id"] not in (None, ticket_id):
            raise ToolError("invalid_argument", f"refund {refund_id} belongs to ticket {refund['ticket_id']}, not {ticket_id}")
        refund_order = refund["order_id"]
        if ticket["order_id"] not in (None, refund_order):
            raise ToolError("invalid_argument", f"refund {refund_id} is for order {refund_order}, but {ticket_id} is about {ticket['order_id']}")
    resolution_id = db.next_id("resolution", "res", 4)
    db.execute("INSERT INTO resolution (id, ticket_id, outcome, resolved_by, refund_id, details, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
               (resolution_id, ticket_id, outcome, resolved_by, refund_id, details, NOW_ISO))
    return {"resolution": {"id": resolution_id, "ticket_id": ticket_id, "outcome": outcome, "resolved_by": resolved_by,
                           "refund_id": refund_id, "details": details, "created_at": NOW_ISO}}


@tool(
    "updateTicketStatus",
    "Change a ticket's status; when resolving or closing, give the resolution id and a closure reason. The system "
    "checks the resolution belongs to the ticket, not whether the workflow was followed.",
    {
        "ticket_id": entity_id("The ticket."),
        "status": enum("The new status.", TICKET_STATUSES),
        "resolution_id": entity_id("The ticket's resolution (when resolving or closing)."),
        "closure_reason": enum("Why the ticket is closed.", CLOSURE_REASONS),
    },
    required=("ticket_id", "status"),
    writes=True,
)
def update_ticket_status(db: Db, ticket_id: str, status: str, resolution_id=None, closure_reason=None) -> dict:
    ticket = db.get("support_ticket", "support ticket", ticket_id, "status, resolution_id, closure_reason")
    if resolution_id is not None:
        resolution = db.get("resolution", "resolution", resolution_id, "ticket_id")
        if resolution["ticket_id"] != ticket_id:
            raise ToolError("invalid_argument", f"resolution {resolution_id} belongs to ticket {resolution['ticket_id']}, not {ticket_id}")
    db.execute("UPDATE support_ticket SET status = ?, resolution_id = COALESCE(?, resolution_id), "
               "closure_reason = COALESCE(?, closure_reason), updated_at = ? WHERE id = ?",
               (status, resolution_id, closure_reason, NOW_ISO, ticket_id))
    return {"ticket_id": ticket_id, "previous_status": ticket["status"], "status": status,
            "resolution_id": resolution_id or ticket["resolution_id"], "closure_reason": closure_reason or ticket["closure_reason"]}


TOOLS = (search_tickets, get_customer_ticket_history, create_escalation, create_resolution, update_ticket_status)
