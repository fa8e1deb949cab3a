"""Seed -> a coherent CoreCraft world, as rows per table.

Coherence is built in, not checked after the fact: every order is priced by ``pricing.quote``; its payment, shipment,
refunds and tickets are created from its status; nothing is dated after ``NOW``. One ``random.Random`` and one seeded
Faker drive everything, always consumed in the same order, so a seed gives the same rows on every run and machine
(for the pinned Faker major version, which is part of the cache key).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from . import pricing
from .catalog import build_catalog
from .compatibility import RULES, Part, evaluate
from .schema import (
    CARRIERS, CONTENT_TABLES, ESCALATION_ROUTING, PAYMENT_METHODS, SLACK_CHANNELS, TICKET_CHANNELS,
)

GENERATOR_VERSION = "1"
NOW = datetime(2025, 9, 15, 18, 0, tzinfo=timezone.utc)
RETURN_WINDOW_DAYS = 30
_TRANSIT_DAYS = {"standard": 5, "express": 2, "overnight": 1}


def iso(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` in UTC; a naive moment is read as UTC. ``isoformat`` rather than ``strftime``: it
    keeps a year below 1000 at four digits (so times still sort as text) and is C-fast for the tools' time filters."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.isoformat(timespec="seconds") + "Z"


def parse_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def generate_world(seed: int) -> dict[str, list[dict]]:
    """Rows for every content table, keyed by table name, for a world seed."""
    return _WorldBuilder(seed).build()


class _WorldBuilder:
    def __init__(self, seed: int) -> None:
        from faker import Faker  # only building a world needs it; loading a cached one does not

        self.rng = random.Random(seed)
        self.fake = Faker("en_US")
        self.fake.seed_instance(seed)
        self.rows: dict[str, list[dict]] = {table: [] for table in CONTENT_TABLES}
        self.counters: dict[str, int] = {}
        self.lines_by_order: dict[str, list[dict]] = {}

    def next_id(self, prefix: str, width: int) -> str:
        self.counters[prefix] = self.counters.get(prefix, 0) + 1
        return f"{prefix}-{self.counters[prefix]:0{width}d}"

    def moment_between(self, start: datetime, end: datetime) -> datetime:
        seconds = max(int((end - start).total_seconds()), 1)
        return (start + timedelta(seconds=self.rng.randrange(seconds))).replace(microsecond=0)

    def build(self) -> dict[str, list[dict]]:
        self.employees()
        self.customers()
        self.rows["product"] = build_catalog(self.rng)
        self.products = {p["id"]: p for p in self.rows["product"]}
        self.rows["compatibility_rule"] = [
            {"id": rid, "name": name, "severity": sev, "condition": cond, "message": msg, "categories": list(cats)}
            for rid, name, sev, cond, msg, cats in RULES
        ]
        self.builds()
        self.orders()
        self.tickets()
        self.knowledge_base()
        self.slack()
        return self.rows

    # -- people ---------------------------------------------------------------------------------------------------
    def employees(self) -> None:
        staffing = {"support": 28, "engineering": 7, "operations": 6, "product_management": 6, "order_processing": 7, "finance": 6}
        titles = {"engineering": "Support Engineer", "operations": "Operations Analyst", "product_management": "Product Specialist",
                  "order_processing": "Fulfillment Coordinator", "finance": "Billing Analyst"}
        used_emails: set[str] = set()
        for department, headcount in staffing.items():
            manager_id = None
            for index in range(headcount):
                first, last = self.fake.first_name(), self.fake.last_name()
                email = f"{first}.{last}".lower().replace("'", "") + "@corecraft.com"
                while email in used_emails:
                    email = email.replace("@", f"{self.rng.randrange(10)}@")
                used_emails.add(email)
                if index == 0:
                    role, title = "admin", f"{department.replace('_', ' ').title()} Manager"
                    permissions = ["issue_refund", "edit_order", "cancel_order", "escalate", "kb_edit", "policy_override"]
                elif department == "support":
                    role = "specialist" if index < 10 else "frontline"
                    title = "Support Specialist" if role == "specialist" else "Support Representative"
                    permissions = ["issue_refund", "edit_order", "cancel_order", "escalate"] if role == "specialist" else ["escalate"]
                else:
                    role, title = "specialist", titles[department]
                    permissions = {"finance": ["issue_refund", "escalate"], "order_processing": ["edit_order", "cancel_order", "escalate"],
                                   "product_management": ["kb_edit", "escalate"]}.get(department, ["escalate"])
                employee_id = self.next_id("emp", 4)
                self.rows["employee"].append({
                    "id": employee_id, "name": f"{first} {last}", "email": email, "department": department, "title": title,
                    "manager_id": manager_id, "permissions": permissions, "support_role": role,
                })
                manager_id = manager_id or employee_id
        self.support_staff = [e["id"] for e in self.rows["employee"] if e["department"] == "support"]
        self.by_department = {d: [e["id"] for e in self.rows["employee"] if e["department"] == d] for d in staffing}

    def customers(self) -> None:
        used_emails: set[str] = set()
        tiers = ("none",) * 9 + ("silver",) * 5 + ("gold",) * 4 + ("platinum",) * 2
        for _ in range(320):
            first, last = self.fake.first_name(), self.fake.last_name()
            domain = self.rng.choice(("gmail.com", "yahoo.com", "outlook.com", "proton.me", "icloud.com"))
            email = f"{first}.{last}".lower().replace("'", "") + f"@{domain}"
            while email in used_emails:
                email = email.replace("@", f"{self.rng.randrange(100)}@")
            used_emails.add(email)
            addresses = [self.address("Home")]
            if self.rng.random() < 0.3:
                addresses.append(self.address(self.rng.choice(("Work", "Parents", "Studio"))))
            birth = self.moment_between(datetime(1950, 1, 1, tzinfo=timezone.utc), datetime(2006, 1, 1, tzinfo=timezone.utc))
            self.rows["customer"].append({
                "id": self.next_id("cust", 4), "name": f"{first} {last}", "email": email,
                "phone": f"+1-{self.rng.randrange(201, 990)}-{self.rng.randrange(200, 999)}-{self.rng.randrange(1000, 9999)}",
                "date_of_birth": birth.strftime("%Y-%m-%d"), "addresses": addresses, "loyalty_tier": self.rng.choice(tiers),
                "created_at": iso(self.moment_between(datetime(2021, 1, 1, tzinfo=timezone.utc), datetime(2025, 6, 1, tzinfo=timezone.utc))),
            })

    def address(self, label: str) -> dict:
        return {"label": label, "line1": self.fake.street_address(), "line2": self.fake.secondary_address() if self.rng.random() < 0.25 else "",
                "city": self.fake.city(), "region": self.fake.state_abbr(include_territories=False),
                "postal_code": self.fake.zipcode(), "country": "US"}

    # -- builds ---------------------------------------------------------------------------------------------------
    def builds(self) -> None:
        """Customer and internal builds; most are compatible, about a quarter carry one deliberate conflict."""
        by_category: dict[str, list[dict]] = {}
        for product in self.rows["product"]:
            by_category.setdefault(product["category"], []).append(product)
        self.by_category = by_category
        customers = self.rows["customer"]
        for index in range(90):
            internal = index < 25
            parts = self.pick_build_parts(want_conflict=self.rng.random() < 0.25)
            created = self.moment_between(datetime(2024, 1, 1, tzinfo=timezone.utc), NOW - timedelta(days=2))
            build_id = self.next_id("build", 4)
            owner = None if internal else self.rng.choice(customers)
            if owner and owner["created_at"] > iso(created):
                created = parse_iso(owner["created_at"]) + timedelta(days=1)
            self.rows["build"].append({
                "id": build_id, "owner_type": "internal" if internal else "customer",
                "customer_id": owner["id"] if owner else None,
                "name": (f"{self.rng.choice(('Creator', 'Gaming', 'Studio', 'Compact', 'Budget'))} template {index + 1}" if internal
                         else f"{owner['name'].split()[0]}'s {self.rng.choice(('gaming rig', 'workstation', 'streaming PC', 'SFF build', 'upgrade'))}"),
                "created_at": iso(created), "updated_at": iso(self.moment_between(created, NOW - timedelta(days=1))),
            })
            for product in parts:
                self.rows["build_component"].append({"build_id": build_id, "product_id": product["id"], "quantity": 1})

    def pick_build_parts(self, want_conflict: bool) -> list[dict]:
        """Assemble a compatible build part by part; if ``want_conflict``, swap one part so exactly one rule fails."""
        pick, of = self.rng.choice, self.by_category
        cpu = pick(of["cpu"])
        board = pick([b for b in of["motherboard"] if b["specs"]["socket"] == cpu["specs"]["socket"]])
        memory = pick([m for m in of["memory"] if m["specs"]["type"] == board["specs"]["memory_type"]
                       and m["specs"]["modules"] <= board["specs"]["memory_slots"]])
        case = pick([c for c in of["case"] if board["specs"]["form_factor"] in c["specs"]["supported_form_factors"]])
        fitting_gpus = [g for g in of["gpu"] if g["specs"]["length_mm"] <= case["specs"]["max_gpu_length_mm"]]
        gpu = pick(fitting_gpus) if fitting_gpus else None  # a mini case may take no card at all
        cooler = pick([c for c in of["cooling"] if c["specs"]["type"] == "liquid" or c["specs"]["height_mm"] <= case["specs"]["max_cooler_height_mm"]])
        need_watts = max(cpu["specs"]["tdp_w"], gpu["specs"]["recommended_psu_w"] if gpu else 0)
        psu = pick([p for p in of["psu"] if p["specs"]["wattage"] >= need_watts])
        storage = pick(of["storage"])
        parts = [p for p in (cpu, board, memory, gpu, storage, psu, case, cooler) if p]
        if not want_conflict:
            return parts
        rule_rows = self.rows["compatibility_rule"]
        for _ in range(500):
            swap_index = self.rng.randrange(len(parts))
            candidate = list(parts)
            candidate[swap_index] = pick(of[parts[swap_index]["category"]])
            report = evaluate([Part(p["id"], p["category"], p["specs"]) for p in candidate], rule_rows)
            if len(report.errors) == 1:
                return candidate
        raise RuntimeError("could not make a build with exactly one conflict; the catalogue templates are inconsistent")

    # -- orders and their money trail ------------------------------------------------------------------------------
    def orders(self) -> None:
        customers = self.rows["customer"]
        heavy = set(self.rng.sample(range(len(customers)), 10))  # customers whose orders overflow searchOrders' page of 10
        builds_by_customer: dict[str, list[dict]] = {}
        for build in self.rows["build"]:
            if build["customer_id"]:
                builds_by_customer.setdefault(build["customer_id"], []).append(build)
        components = {}
        for row in self.rows["build_component"]:
            components.setdefault(row["build_id"], []).append(row["product_id"])
        shoppable = [p for p in self.rows["product"] if p["category"] not in ("prebuilt", "workstation")]
        systems = [p for p in self.rows["product"] if p["category"] in ("prebuilt", "workstation")]
        per_day: dict[str, int] = {}
        planned = []
        for index, customer in enumerate(customers):
            count = self.rng.randrange(11, 23) if index in heavy else self.rng.choice((0, 1, 1, 2, 2, 2, 3, 3, 4, 5))
            start = parse_iso(customer["created_at"])
            for _ in range(count):
                recent = self.rng.random() < 0.4
                created = self.moment_between(max(start, NOW - timedelta(days=45)) if recent else start, NOW - timedelta(hours=1))
                planned.append((created, customer))
            for build in builds_by_customer.get(customer["id"], []):
                planned.append((parse_iso(build["created_at"]) + timedelta(hours=self.rng.randrange(1, 48)), customer, build))
        planned.sort(key=lambda item: (item[0], item[1]["id"]))
        for item in planned:
            created, customer = item[0], item[1]
            build = item[2] if len(item) > 2 else None
            if created >= NOW:
                continue
            if build:
                lines = [(self.products[pid], 1) for pid in components[build["id"]]]
            else:
                pool = systems if self.rng.random() < 0.08 else shoppable
                picked = self.rng.sample(pool, self.rng.choice((1, 1, 2, 2, 3, 4)))
                lines = [(p, 2 if self.rng.random() < 0.1 else 1) for p in picked]
            day = created.strftime("%y%m%d")
            per_day[day] = per_day.get(day, 0) + 1
            order_id = f"ord-{day}-{100 + per_day[day]}"
            self.add_order(order_id, customer, created, lines, build)

    def choose_status(self, age: timedelta) -> str:
        days = age.total_seconds() / 86400
        if days < 2:
            return self.rng.choice(("pending", "pending", "paid", "fulfilled"))
        if days < 6:
            return self.rng.choice(("paid", "fulfilled", "shipped", "shipped", "shipped", "delivered", "cancelled"))
        if days < 10:
            return self.rng.choice(("shipped", "delivered", "delivered", "delivered", "refund_requested", "cancelled"))
        return self.rng.choice(("delivered",) * 14 + ("refunded", "refunded", "refund_requested", "refund_requested", "cancelled"))

    def add_order(self, order_id: str, customer: dict, created: datetime, lines: list[tuple[dict, int]], build: dict | None) -> None:
        status = self.choose_status(NOW - created)
        if status == "refund_requested" and len(lines) == 1:
            status = "refunded"  # returning the only line is a full refund
        service = self.rng.choice(("standard",) * 6 + ("express",) * 3 + ("overnight",))
        tier = customer["loyalty_tier"]
        # Prices drift: orders older than six months were sold at the price of the day.
        old = (NOW - created).days > 180
        priced = [(p, q, pricing.to_cents(p["price"] * self.rng.uniform(0.9, 1.08)) if old else pricing.to_cents(p["price"])) for p, q in lines]
        quote = pricing.quote([(float(price), q) for _, q, price in priced], tier, service)
        updated = created if status == "pending" else self.moment_between(created, min(created + timedelta(days=12), NOW))
        self.rows["orders"].append({
            "id": order_id, "customer_id": customer["id"], "status": status, "build_id": build["id"] if build else None,
            "shipping_address": self.rng.choice(customer["addresses"]), "shipping_carrier": self.rng.choice(CARRIERS),
            "shipping_service": service, "loyalty_tier": tier, "subtotal": quote.subtotal, "discount": quote.discount,
            "shipping_cost": quote.shipping, "total": quote.total, "created_at": iso(created), "updated_at": iso(updated),
        })
        order = self.rows["orders"][-1]
        for line_no, (product, quantity, price) in enumerate(priced, start=1):
            self.rows["order_line"].append({"order_id": order_id, "line_no": line_no, "product_id": product["id"],
                                            "quantity": quantity, "unit_price": float(price)})
        self.lines_by_order[order_id] = self.rows["order_line"][-len(priced):]
        captured = status not in ("pending",) and not (status == "cancelled" and self.rng.random() < 0.4)
        payment_status = {"pending": "pending", "refunded": "refunded", "refund_requested": "partially_refunded"}.get(status, "captured")
        if status == "cancelled":
            payment_status = "refunded" if captured else "failed"
        paid_at = created + timedelta(minutes=self.rng.randrange(1, 30))
        payment = {
            "id": self.next_id("pay", 6), "order_id": order_id, "method": self.rng.choice(PAYMENT_METHODS), "status": payment_status,
            "amount": quote.total, "transaction_id": f"txn_{self.rng.getrandbits(48):012x}",
            "processed_at": iso(min(paid_at, NOW)) if status != "pending" else iso(created),
        }
        self.rows["payment"].append(payment)
        if status in ("shipped", "delivered", "refund_requested", "refunded"):
            self.add_shipment(order, service, status)
        if status == "cancelled" and captured:
            self.add_refund(order, payment, [(o["line_no"], o["product_id"], o["quantity"]) for o in self.order_lines(order_id)],
                            reason="other", status="approved" if (NOW - created).days < 20 else "processed",
                            at=self.moment_between(paid_at, min(paid_at + timedelta(days=2), NOW)), include_shipping=True)
        elif status in ("refunded", "refund_requested"):
            self.add_return(order, payment, full=status == "refunded")

    def order_lines(self, order_id: str) -> list[dict]:
        return self.lines_by_order[order_id]

    def add_shipment(self, order: dict, service: str, status: str) -> None:
        created = parse_iso(order["created_at"])
        shipped = created + timedelta(hours=self.rng.randrange(4, 40))
        if shipped >= NOW:
            shipped = created + (NOW - created) / 2
        transit = timedelta(days=_TRANSIT_DAYS[service])
        delivered = shipped + transit + timedelta(hours=self.rng.randrange(-10, 30))
        if status == "shipped":
            shipment_status = self.rng.choice(("label_created", "in_transit", "in_transit", "out_for_delivery", "exception"))
        else:
            shipment_status = "delivered"
            if delivered >= NOW:  # too recent to have arrived: keep the story consistent
                delivered = shipped + (NOW - shipped) * 0.9
        city = order["shipping_address"]["city"]
        stages = ["label_created", "in_transit", "out_for_delivery", "delivered"]
        reached = stages[: stages.index(shipment_status) + 1] if shipment_status in stages else ["label_created", "in_transit", "exception"]
        end = delivered if shipment_status == "delivered" else NOW
        moments = sorted(self.moment_between(shipped, end) for _ in reached[1:])
        events = [{"timestamp": iso(shipped), "status": "label_created", "location": "CoreCraft Fulfillment, Reno NV",
                   "description": "Shipping label created"}]
        for stage, moment in zip(reached[1:], moments):
            location = {"in_transit": self.rng.choice(("Sparks NV hub", "Salt Lake City UT hub", "Denver CO hub", "Memphis TN hub")),
                        "exception": "Carrier facility"}.get(stage, city)
            description = {"in_transit": "Departed facility", "out_for_delivery": "Out for delivery", "delivered": "Delivered",
                           "exception": "Delivery exception: address issue"}[stage]
            events.append({"timestamp": iso(moment), "status": stage, "location": location, "description": description})
        if shipment_status == "delivered":
            events[-1]["timestamp"] = iso(delivered.replace(microsecond=0))
            events.sort(key=lambda e: e["timestamp"])
        carrier = order["shipping_carrier"]
        self.rows["shipment"].append({
            "id": self.next_id("shp", 6), "order_id": order["id"], "carrier": carrier,
            "tracking_number": f"{carrier[:2].upper()}{self.rng.getrandbits(40):012d}"[:16], "status": shipment_status,
            "events": events, "shipped_at": iso(shipped), "eta": iso(shipped + transit),
        })

    def add_return(self, order: dict, payment: dict, full: bool) -> None:
        """A return ticket, its refund (net of the loyalty discount, never shipping) and, when done, the resolution."""
        lines = self.order_lines(order["id"])
        returned = lines if full or len(lines) == 1 else self.rng.sample(lines, self.rng.randrange(1, len(lines)))
        delivered = parse_iso(self.rows["shipment"][-1]["events"][-1]["timestamp"])
        opened = self.moment_between(delivered, min(delivered + timedelta(days=20), NOW))
        reason = self.rng.choice(("customer_remorse", "defective", "incompatible", "shipping_issue"))
        ticket = self.add_ticket(order["customer_id"], order, "return", opened,
                                 status="resolved" if full else self.rng.choice(("open", "pending_customer", "resolved")),
                                 subject=f"Return request for order {order['id']}",
                                 body=f"I'd like to return {', '.join(self.products[l['product_id']]['name'] for l in returned)} "
                                      f"from order {order['id']}. Reason: {reason.replace('_', ' ')}.")
        refund_at = self.moment_between(opened, min(opened + timedelta(days=3), NOW))
        status = "processed" if full else self.rng.choice(("pending", "approved"))
        refund = self.add_refund(order, payment, [(l["line_no"], l["product_id"], l["quantity"]) for l in returned],
                                 reason=reason, status=status, at=refund_at, include_shipping=False, ticket_id=ticket["id"])
        if ticket["status"] == "resolved":
            self.resolve(ticket, "refund_issued", refund["id"], f"Refund {refund['id']} of ${refund['amount']:.2f} for returned items.",
                         at=max(refund_at, opened))

    def add_refund(self, order: dict, payment: dict, lines: list[tuple[int, str, int]], *, reason: str, status: str,
                   at: datetime, include_shipping: bool, ticket_id: str | None = None) -> dict:
        refund_id = self.next_id("ref", 5)
        unit_prices = {row["line_no"]: row["unit_price"] for row in self.order_lines(order["id"])}
        all_goods = sum(q for _, _, q in lines) == sum(row["quantity"] for row in self.order_lines(order["id"]))
        paid_for_goods = float(pricing.to_cents(order["subtotal"]) - pricing.to_cents(order["discount"])) if all_goods else None
        amounts = pricing.itemised_refund([float(pricing.to_cents(unit_prices[n] * q)) for n, _, q in lines], order["loyalty_tier"], paid_for_goods)
        for (_, product_id, quantity), amount in zip(lines, amounts):
            self.rows["refund_line"].append({"refund_id": refund_id, "product_id": product_id, "quantity": quantity, "amount": amount})
        total = pricing.to_cents(sum(Decimal(str(a)) for a in amounts))
        if include_shipping:  # a cancellation returns everything that was charged
            total = pricing.to_cents(order["total"])
        refund = {"id": refund_id, "payment_id": payment["id"], "ticket_id": ticket_id, "amount": float(total), "reason": reason,
                  "status": status, "created_at": iso(at), "processed_at": iso(at + timedelta(hours=6)) if status == "processed" and at + timedelta(hours=6) < NOW else None}
        if status == "processed" and refund["processed_at"] is None:
            refund["status"] = "approved"
        self.rows["refund"].append(refund)
        return refund

    # -- tickets ----------------------------------------------------------------------------------------------------
    def add_ticket(self, customer_id: str, order: dict | None, ticket_type: str, created: datetime, *, status: str,
                   subject: str, body: str, build_id: str | None = None) -> dict:
        ticket = {
            "id": self.next_id("tick", 4), "customer_id": customer_id, "order_id": order["id"] if order else None,
            "build_id": build_id, "type": ticket_type, "channel": self.rng.choice(TICKET_CHANNELS),
            "priority": self.rng.choice(("low", "normal", "normal", "normal", "high")), "status": status,
            "subject": subject, "body": body, "assignee_id": None if status == "new" else self.rng.choice(self.support_staff),
            "resolution_id": None, "closure_reason": None, "created_at": iso(created),
            "updated_at": iso(created if status == "new" else self.moment_between(created, min(created + timedelta(days=5), NOW))),
        }
        self.rows["support_ticket"].append(ticket)
        return ticket

    def resolve(self, ticket: dict, outcome: str, refund_id: str | None, details: str, at: datetime) -> None:
        at = max(at, parse_iso(ticket["created_at"]))
        resolution_id = self.next_id("res", 4)
        self.rows["resolution"].append({"id": resolution_id, "ticket_id": ticket["id"], "outcome": outcome,
                                        "resolved_by": ticket["assignee_id"] or self.rng.choice(self.support_staff),
                                        "refund_id": refund_id, "details": details, "created_at": iso(at)})
        ticket["resolution_id"] = resolution_id
        ticket["closure_reason"] = "resolved_success"
        ticket["updated_at"] = max(ticket["updated_at"], iso(at))

    def tickets(self) -> None:
        """Support work beyond returns: troubleshooting, shipping, billing, recommendations; some escalated."""
        orders = self.rows["orders"]
        customers = {c["id"]: c for c in self.rows["customer"]}
        templates = {
            "troubleshooting": ("{product} not working as expected", "My {product} from order {order} {symptom}. What should I do?"),
            "shipping": ("Where is my order {order}?", "Tracking for order {order} hasn't updated. Can you check?"),
            "billing": ("Question about charge for {order}", "I see a charge for order {order} that looks wrong. Can you explain the total?"),
            "order_issue": ("Problem with order {order}", "Order {order} arrived with the wrong item or something missing."),
            "recommendation": ("Upgrade advice", "I'm planning an upgrade and would like a recommendation for a {category}."),
            "other": ("General question", "Do you offer gift wrapping or business invoices?"),
        }
        symptoms = ("won't power on", "crashes under load", "runs very hot", "makes a clicking noise", "is not detected in BIOS")
        ticket_types = ("troubleshooting",) * 4 + ("shipping",) * 2 + ("billing", "order_issue", "recommendation", "other")
        for _ in range(200):
            ticket_type = self.rng.choice(ticket_types)
            order = None
            if ticket_type in ("recommendation", "other"):
                customer = self.rng.choice(self.rows["customer"])
                created = self.moment_between(max(parse_iso(customer["created_at"]), NOW - timedelta(days=300)), NOW)
            else:
                eligible = [o for o in orders if o["status"] in ("shipped",)] if ticket_type == "shipping" else orders
                order = self.rng.choice(eligible)
                customer = customers[order["customer_id"]]
                created = self.moment_between(parse_iso(order["created_at"]), min(parse_iso(order["created_at"]) + timedelta(days=200), NOW))
            lines = self.order_lines(order["id"]) if order else []
            product = self.products[self.rng.choice(lines)["product_id"]]["name"] if lines else ""
            subject, body = templates[ticket_type]
            fields = {"product": product, "order": order["id"] if order else "", "symptom": self.rng.choice(symptoms),
                      "category": self.rng.choice(("gpu", "cpu", "monitor", "psu"))}
            status = self.rng.choice(("new", "open", "open", "pending_customer", "resolved", "resolved", "closed"))
            build_id = order["build_id"] if order and ticket_type == "troubleshooting" else None
            ticket = self.add_ticket(customer["id"], order, ticket_type, created, status=status, subject=subject.format(**fields),
                                     body=body.format(**fields), build_id=build_id)
            if status in ("resolved", "closed"):
                outcome = {"troubleshooting": "troubleshooting_steps", "recommendation": "recommendation_provided",
                           "order_issue": self.rng.choice(("replacement_sent", "order_updated")), "billing": "no_action",
                           "shipping": "no_action", "other": "no_action"}[ticket_type]
                self.resolve(ticket, outcome, None, f"{outcome.replace('_', ' ').capitalize()} for {ticket['id']}.",
                             at=self.moment_between(created, min(created + timedelta(days=4), NOW)))
                if status == "closed":
                    ticket["closure_reason"] = self.rng.choice(("resolved_success", "customer_unresponsive", "duplicate"))
            elif status in ("open", "pending_customer") and self.rng.random() < 0.35:
                self.escalate(ticket, {"troubleshooting": "technical", "shipping": "order_fulfillment", "billing": "billing_payment",
                                       "order_issue": "order_fulfillment", "recommendation": "product_specialist",
                                       "other": "support_escalation"}[ticket_type], created)
        for ticket in self.rows["support_ticket"]:  # a few returns disputed beyond frontline authority
            if ticket["type"] == "return" and ticket["status"] in ("open", "pending_customer") and self.rng.random() < 0.4:
                self.escalate(ticket, self.rng.choice(("policy_exception", "warranty")), parse_iso(ticket["created_at"]))

    def escalate(self, ticket: dict, escalation_type: str, after: datetime) -> None:
        created = self.moment_between(after, NOW)
        resolved = self.moment_between(created, NOW) if self.rng.random() < 0.3 else None
        destination = ESCALATION_ROUTING[escalation_type]
        self.rows["escalation"].append({
            "id": self.next_id("esc", 4), "ticket_id": ticket["id"], "escalation_type": escalation_type, "destination": destination,
            "notes": f"{escalation_type.replace('_', ' ').capitalize()} escalation for {ticket['id']}: {ticket['subject']}.",
            "created_by": ticket["assignee_id"] or self.rng.choice(self.support_staff), "created_at": iso(created),
            "resolved_at": iso(resolved) if resolved else None,
        })

    # -- knowledge and chatter -------------------------------------------------------------------------------------
    def knowledge_base(self) -> None:
        policy_articles = [
            ("Return policy", "returns,policy", "Items may be returned within 30 days of the order date if unopened, or opened and undamaged. "
             "We cannot accept items with physical or liquid damage, missing original packaging, or modifications. Shipping charges are never "
             "refunded. Refunds are issued net of any loyalty discount applied to the order, itemised per returned line."),
            ("Return policy (2023)", "returns,policy", "Items may be returned within 14 days of delivery. Shipping is refunded for defective items."),
            ("Loyalty program tiers", "loyalty,pricing", "Silver members save 5%, Gold 10% and Platinum 15% on the order subtotal. "
             "Discounts never apply to shipping. Shipping: standard $9.99, express $19.99, overnight $39.99."),
            ("Warranty coverage", "warranty,policy", "Warranty runs from the purchase date for the product's warranty period in months "
             "(12 months when none is listed). It does not cover physical or liquid damage, cosmetic wear, overclocking or other "
             "unauthorised modification, or damage from improper installation. A defect reported within 30 days of purchase is handled as a return."),
            ("Order cancellations", "orders,policy", "Orders can be cancelled only while pending or paid. If payment was captured, "
             "issue an approved refund for the full amount and mark the payment refunded; the order stays cancelled."),
            ("Escalation routing", "escalation,policy", "Technical issues go to engineering; policy exceptions to operations; product "
             "specialist and warranty questions to product management; fulfillment problems to order processing; billing and payment "
             "issues to finance; general support escalations to the support leads."),
            ("Closing a ticket", "tickets,policy", "Finish the work, record a resolution with the right outcome (linking the refund "
             "if one was issued), then set the ticket to resolved with closure reason resolved_success."),
            ("Building a custom PC", "builds,compatibility", "Always run the compatibility validator before creating or changing a build. "
             "Do not rely on reading spec sheets: the validator checks sockets, form factors, memory type and slots, SATA ports, "
             "GPU length, cooler height and PSU wattage."),
        ]
        created_base = datetime(2023, 1, 1, tzinfo=timezone.utc)
        for index, (title, tags, body) in enumerate(policy_articles):
            deprecated = "(2023)" in title
            self.rows["knowledge_base_article"].append({
                "id": self.next_id("kb", 4), "title": title, "body": body, "tags": tags.split(","), "product_ids": [],
                "version": 1 if deprecated else 2 + index % 3, "deprecated": deprecated,
                "updated_at": iso(self.moment_between(created_base, NOW - timedelta(days=30))),
            })
        troubleshooting = {
            "gpu": "Reseat the card, connect every PCIe power lead, and update the driver. Coil whine under load is normal.",
            "psu": "Check the 24-pin and EPS connectors and test with the paperclip method. A clicking PSU must be replaced, not repaired.",
            "cpu": "Update the motherboard BIOS before installing a new-generation CPU; bent socket pins void the warranty.",
            "memory": "Enable the XMP/EXPO profile in BIOS and seat modules in the recommended slots (A2/B2 first).",
            "storage": "If the drive is not detected, check the M.2 slot's lane sharing with SATA ports in the motherboard manual.",
            "cooling": "Remove the protective film from the cold plate and apply a pea-sized amount of thermal paste.",
            "monitor": "Use DisplayPort for refresh rates above 144 Hz and enable the high refresh rate in the OS.",
        }
        for category, advice in troubleshooting.items():
            products = self.rng.sample(self.by_category[category], 2)
            self.rows["knowledge_base_article"].append({
                "id": self.next_id("kb", 4), "title": f"Troubleshooting {category.upper() if len(category) <= 3 else category} issues",
                "body": advice + " Applies to: " + ", ".join(p["name"] for p in products) + ".", "tags": ["troubleshooting", category],
                "product_ids": [p["id"] for p in products], "version": self.rng.randrange(1, 4), "deprecated": False,
                "updated_at": iso(self.moment_between(created_base, NOW - timedelta(days=5))),
            })
        # Product guides; every seventh one disagrees with the product page (the catalogue is the source of truth).
        guide_categories = ("gpu", "case", "psu", "cooling", "motherboard", "cpu", "memory")
        for index in range(60):
            product = self.rng.choice(self.by_category[guide_categories[index % len(guide_categories)]])
            specs = dict(product["specs"])
            conflict = index % 7 == 3
            if conflict:
                key = next(k for k, v in specs.items() if isinstance(v, int) and not isinstance(v, bool))
                specs[key] = specs[key] + self.rng.choice((10, 15, 20, 50))
            spec_text = "; ".join(f"{k.replace('_', ' ')}: {', '.join(v) if isinstance(v, list) else v}" for k, v in specs.items())
            self.rows["knowledge_base_article"].append({
                "id": self.next_id("kb", 4), "title": f"Product guide: {product['name']}",
                "body": f"Overview of the {product['name']} ({product['brand']}). Key specifications — {spec_text}. "
                        f"Warranty: {product['warranty_months'] or 12} months from purchase.",
                "tags": ["product-guide", product["category"]], "product_ids": [product["id"]], "version": self.rng.randrange(1, 3),
                "deprecated": False, "updated_at": iso(self.moment_between(created_base, NOW - timedelta(days=2))),
            })

    def slack(self) -> None:
        """Channel chatter: practice that is not in the written policy, ticket mentions, and threads."""
        practice = {
            "policy-discussion": [
                "Reminder: refunds over $1,000 stay pending and get a billing_payment escalation to finance so they can sign off.",
                "Opened-but-undamaged returns are fine inside 30 days. Missing box = no refund, even if it's day 2.",
                "Loyalty discount comes off refunds too. Gold customer returning a $100 item gets $90 back, not $100.",
            ],
            "returns-updates": [
                "For DOA GPUs inside 30 days, process as a return (defective), not warranty.",
                "Please itemise partial refunds per line — finance bounced two yesterday that were lump sums.",
            ],
            "escalations": ["Warranty disputes go to product management, not engineering — engineering only takes technical escalations."],
            "engineering-support": ["If a build fails validation on PSU wattage, recommend the next PSU up rather than overriding."],
            "fulfillment-updates": ["Carrier delays in the Midwest this week; tracking may lag a day behind actual delivery."],
            "kb-updates": ["Heads up: some product guides list old specs. The product page is the source of truth for specs."],
            "promotions-planning": ["No stacking: loyalty discounts are the only discount support may apply."],
            "support-general": ["Always close tickets with a resolution first, then set resolved + resolved_success."],
        }
        tickets = self.rows["support_ticket"]
        orders = self.rows["orders"]
        employees = [e["id"] for e in self.rows["employee"]]
        start = NOW - timedelta(days=120)
        messages: list[dict] = []
        for channel, notes in practice.items():
            for note in notes:
                messages.append({"channel": channel, "text": note, "timestamp": self.moment_between(start, NOW - timedelta(days=1))})
        # A message is written after everything it mentions exists; a ticket and an order in one message are the same
        # case. A "same issue" thread pairs two tickets of one customer, about different orders where the customer has
        # such tickets: Slack's claim, which the ticket records contradict.
        chatter = {  # template -> weight: the threads that conflict with the records are the noise tasks reconcile
            "Customer on {ticket} is asking for an update, can someone take it?": 2,
            "Tracking for {order} says delivered but the customer says nothing arrived. Opened {ticket}.": 2,
            "{ticket} and {ticket2} look like the same issue — merging notes here.": 3,
            "Anyone know if {order} shipped? The order page and the carrier disagree on dates.": 3,
            "Got great feedback on {ticket}, nice work!": 1,
            "Restock ETA for popular SKUs is next week per the product team.": 1,
        }
        tickets_by_customer: dict[str, list[dict]] = {}
        for ticket in tickets:
            tickets_by_customer.setdefault(ticket["customer_id"], []).append(ticket)
        shipped = [o for o in orders if o["status"] in ("shipped", "delivered", "refund_requested", "refunded")]
        orders_by_id = {o["id"]: o for o in shipped}
        order_tickets = [t for t in tickets if t["order_id"] in orders_by_id]
        for _ in range(230):
            template = self.rng.choices(list(chatter), weights=list(chatter.values()))[0]
            ticket = self.rng.choice(order_tickets if "{order}" in template else tickets)
            order = orders_by_id[ticket["order_id"]] if "{ticket}" in template and "{order}" in template else self.rng.choice(shipped)
            others = [t for t in tickets_by_customer[ticket["customer_id"]] if t is not ticket]
            mixed = [t for t in others if t["order_id"] != ticket["order_id"]]
            ticket2 = self.rng.choice(mixed or others or tickets)
            mentioned = [parse_iso(e["created_at"]) for e, key in ((ticket, "{ticket}"), (ticket2, "{ticket2}"), (order, "{order}"))
                         if key in template]
            text = template.format(ticket=ticket["id"], ticket2=ticket2["id"], order=order["id"])
            messages.append({"channel": self.rng.choice(SLACK_CHANNELS), "text": text,
                             "timestamp": self.moment_between(max([start, *mentioned]), NOW)})
        messages.sort(key=lambda m: (m["timestamp"], m["channel"], m["text"]))
        last_in_channel: dict[str, str] = {}
        for message in messages:
            message_id = self.next_id("msg", 5)
            thread = last_in_channel.get(message["channel"]) if self.rng.random() < 0.2 else None
            self.rows["slack_message"].append({"id": message_id, "channel": message["channel"], "author_id": self.rng.choice(employees),
                                               "text": message["text"], "timestamp": iso(message["timestamp"]), "thread_id": thread})
            last_in_channel[message["channel"]] = message_id
