"""Whose case a task is about: the customer behind every case entity a task names.

A *case entity* is a record that belongs to one customer's business with the shop: the customer, their orders,
payments, shipments (by id or tracking number), tickets, refunds, resolutions, escalations and builds. Employees,
products, knowledge-base articles and Slack messages are shared by every case and are not case entities. Ids that do
not exist in the pristine world (the rows a task creates) belong to no case.

Used by the task framework to keep the held-out customers' cases out of train tasks (``taskgen.core``) and by the
realism report to measure how much held-out tasks share with train tasks (``tasks.realism``).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Mapping

from .assertions import ID_PATTERN

EMAIL_PATTERN = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")

# (key, owning customer) of every case entity; keys are lower-cased ids, tracking numbers and customer e-mails.
_OWNERS_SQL = (
    "SELECT id, id FROM customer",
    "SELECT lower(email), id FROM customer",
    "SELECT id, customer_id FROM orders",
    "SELECT p.id, o.customer_id FROM payment p JOIN orders o ON o.id = p.order_id",
    "SELECT s.id, o.customer_id FROM shipment s JOIN orders o ON o.id = s.order_id",
    "SELECT lower(s.tracking_number), o.customer_id FROM shipment s JOIN orders o ON o.id = s.order_id",
    "SELECT id, customer_id FROM support_ticket",
    "SELECT f.id, o.customer_id FROM refund f JOIN payment p ON p.id = f.payment_id JOIN orders o ON o.id = p.order_id",
    "SELECT r.id, t.customer_id FROM resolution r JOIN support_ticket t ON t.id = r.ticket_id",
    "SELECT e.id, t.customer_id FROM escalation e JOIN support_ticket t ON t.id = e.ticket_id",
    "SELECT id, customer_id FROM build WHERE customer_id IS NOT NULL",
)


class CaseIndex:
    """The owning customer of every case entity of one world, read once."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.owner: dict[str, str] = {}
        for sql in _OWNERS_SQL:
            self.owner.update((key.lower(), customer) for key, customer in conn.execute(sql))

    def named(self, text: str) -> set[str]:
        """The case entities ``text`` names: ids, tracking numbers and customer e-mails of this world."""
        keys = {m.lower() for m in ID_PATTERN.findall(text)} | {m.lower() for m in EMAIL_PATTERN.findall(text)}
        return {key for key in keys if key in self.owner}

    def customers(self, text: str, requester: Mapping | None = None) -> set[str]:
        """The customers whose cases ``text`` touches, and the requester when it is a customer."""
        found = {self.owner[key] for key in self.named(text)}
        return found | {requester["id"]} if requester and requester.get("type") == "customer" else found

    def entities(self, text: str, requester: Mapping | None = None) -> set[str]:
        """The case entities ``text`` names together with the customers owning them."""
        return self.named(text) | self.customers(text, requester)


def task_text(request: str, arguments: Iterable[Mapping]) -> str:
    """What a task names: its request and its reference tool-call arguments."""
    return request + "\n" + json.dumps(list(arguments), ensure_ascii=False)
