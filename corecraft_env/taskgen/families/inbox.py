"""The inbox: one customer e-mail with several questions, each needing its own lookups, answered in one reply."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ...world.pricing import quote
from .. import rubric as r
from ..core import Context, TaskSpec, customer, difficulty_for, family
from ..facts import eastern_window, long_date, money, outside_window_before
from .orders_info import STATUS_WORDS

# A question adds its lookups and criteria to the spec and returns (what the customer asks, the answer), or None
# when this customer has nothing to ask it about.
Question = Callable[[Context, TaskSpec, dict, str], "tuple[str, str] | None"]


def _orders(ctx: Context, spec: TaskSpec, customer_id: str, *statuses: str, before: str = "9999") -> list[dict]:
    """The customer's orders in these statuses, shuffled, leaving out orders an earlier question of the e-mail uses."""
    used = {call.arguments.get("order_id") for call in spec.calls}
    rows = ctx.db.all(f"SELECT id FROM orders WHERE customer_id = ? AND created_at < ? AND status IN ({', '.join('?' * len(statuses))}) "
                      "ORDER BY id", (customer_id, before, *statuses))
    return [ctx.tool("getOrderDetails", order_id=row["id"])["order"] for row in ctx.pick(rows) if row["id"] not in used]


def ask_tracking(ctx: Context, spec: TaskSpec, person: dict, tag: str) -> tuple[str, str] | None:
    """Where is the order placed <Eastern time phrase>: find it by date, then its shipment."""
    for order in _orders(ctx, spec, person["id"], "shipped"):
        window = eastern_window(order["created_at"])
        found = ctx.tool("searchOrders", customer_id=person["id"], created_after=window.after, created_before=window.before)["orders"]
        if [o["id"] for o in found] != [order["id"]]:
            continue
        shipment = order["shipments"][0]
        spec.call("searchOrders", customer_id=person["id"], created_after=window.after, created_before=window.before)
        spec.call("getOrderDetails", order_id=order["id"])
        spec.check(r.reply(f"tracking{tag}", f"Gives the tracking number of {order['id']}", contains=[shipment["tracking_number"]]),
                   r.reply(f"tracking-status{tag}", f"Gives the shipment status of {order['id']}", contains_any=STATUS_WORDS[shipment["status"]]))
        answer = (f"The order you placed {window.phrase} is {order['id']}: with {shipment['carrier']} (tracking "
                  f"{shipment['tracking_number']}), status {shipment['status'].replace('_', ' ')}.")
        return f"where is the order I placed {window.phrase}?", answer
    return None


def ask_refund(ctx: Context, spec: TaskSpec, person: dict, tag: str) -> tuple[str, str] | None:
    """What happened to the refund for <product>: find the refunded order, read its refund."""
    for status in ("refunded", "refund_requested"):
        orders = _orders(ctx, spec, person["id"], status)
        if not orders:
            continue
        order = orders[0]
        refund = order["refunds"][0]
        product = ctx.db.value("SELECT p.name FROM refund_line l JOIN product p ON p.id = l.product_id WHERE l.refund_id = ? "
                               "ORDER BY p.id LIMIT 1", (refund["id"],))
        spec.call("searchOrders", customer_id=person["id"], status=status)
        spec.call("getOrderDetails", order_id=order["id"])
        spec.check(r.reply(f"refund{tag}", f"Gives the amount of refund {refund['id']}", numbers=[refund["amount"]]),
                   r.reply(f"refund-status{tag}", f"Gives the status of refund {refund['id']} ({refund['status']})", contains=[refund["status"]]))
        return (f"what's happening with my refund for the {product} I sent back?",
                f"The refund for the {product} on {order['id']} ({refund['id']}) is {money(refund['amount'])}, status {refund['status']}.")
    return None


def ask_warranty(ctx: Context, spec: TaskSpec, person: dict, tag: str) -> tuple[str, str] | None:
    """Is <product> from <order> still under warranty: the order's lines, then checkWarrantyStatus."""
    orders = _orders(ctx, spec, person["id"], "delivered", before=outside_window_before())
    if not orders:
        return None
    order = orders[0]
    line = ctx.rng.choice(order["lines"])
    status = ctx.tool("checkWarrantyStatus", order_id=order["id"], product_id=line["product_id"])
    spec.call("getOrderDetails", order_id=order["id"])
    spec.call("checkWarrantyStatus", order_id=order["id"], product_id=line["product_id"])
    end = status["warranty_end_date"]
    spec.check(r.reply(f"warranty{tag}", f"Gives the warranty end date of the {line['product_name']}",
                       contains_any=[end, long_date(end), long_date(end).split(",")[0]]),
               r.called(f"warranty-checked{tag}", "The warranty is checked with checkWarrantyStatus", "checkWarrantyStatus",
                        arguments={"order_id": order["id"], "product_id": line["product_id"]}))
    state = "is under warranty until" if status["under_warranty"] else "went out of warranty on"
    return (f"is the {line['product_name']} from order {order['id']} still under warranty, and until when?",
            f"The {line['product_name']} from {order['id']} {state} {end}.")


def ask_quote(ctx: Context, spec: TaskSpec, person: dict, tag: str) -> tuple[str, str] | None:
    """What would two products cost with <service> shipping after the loyalty discount: find them, calculatePrice."""
    products = ctx.pick(ctx.db.all("SELECT id, name, price FROM product WHERE in_stock > 0 AND category IN "
                                   "('gpu', 'monitor', 'memory', 'storage', 'keyboard', 'mouse') ORDER BY id"), 2)
    service = ctx.rng.choice(("standard", "express", "overnight"))
    total = quote([(p["price"], 1) for p in products], person["loyalty_tier"], service)
    for product in products:
        spec.call("searchProducts", query=product["name"])
    spec.call("calculatePrice", items=[{"product_id": p["id"], "quantity": 1} for p in products], shipping_service=service,
              customer_id=person["id"])
    spec.check(r.reply(f"quote{tag}", f"Quotes both products with {service} shipping at the customer's tier", numbers=[total.total]),
               r.called(f"quote-priced{tag}", "The quote comes from calculatePrice", "calculatePrice", arguments={"shipping_service": service}))
    names = " and a ".join(p["name"] for p in products)
    answer = (f"A {names} with {service} shipping come to {money(total.total)} (subtotal {money(total.subtotal)}, loyalty discount "
              f"{money(total.discount)}, shipping {money(total.shipping)}).")
    return f"how much would a {names} cost me together with {service} shipping, after my discount?", answer


def ask_late_return(ctx: Context, spec: TaskSpec, person: dict, tag: str) -> tuple[str, str] | None:
    """Can I still return something from an order placed more than 30 days ago: no."""
    orders = _orders(ctx, spec, person["id"], "delivered", before=outside_window_before())
    if not orders:
        return None
    order = orders[0]
    spec.call("getOrderDetails", order_id=order["id"])
    spec.check(r.judge(f"late-return{tag}", f"Says order {order['id']} can no longer be returned (past the 30-day window)",
                       r.reply("fallback", "names the order and the window", contains=[order["id"]], matches=r"30[- ]day")),
               r.nothing_new(f"late-no-refund{tag}", f"No refund is created for {order['id']}", "refund"))
    answer = (f"Order {order['id']} was placed on {long_date(order['created_at'])}, more than 30 days ago, so it is outside the "
              "30-day return window.")
    return f"can I still return something from order {order['id']}?", answer


QUESTIONS: tuple[Question, ...] = (ask_tracking, ask_refund, ask_warranty, ask_quote, ask_late_return)


def ask_until(ctx: Context, spec: TaskSpec, person: dict, questions: list[Question], size: int) -> list[tuple[str, str]]:
    """Ask ``questions`` in turn until ``size`` are answered; one that does not fit this person leaves no calls or
    criteria behind."""
    asked: list[tuple[str, str]] = []
    for ask in questions:
        if len(asked) == size:
            break
        before = (len(spec.calls), len(spec.criteria))
        answered = ask(ctx, spec, person, f"-{len(asked) + 1}")
        if answered is None:
            del spec.calls[before[0]:], spec.criteria[before[1]:]
            continue
        asked.append(answered)
    return asked


@family("multi_question_email", "communication", "heldout", count={"easy": 2, "medium": 3, "hard": 3, "expert": 2},
        policy_rules=("no_unrequested_writes",))
def multi_question_email(ctx: Context) -> Iterator[TaskSpec]:
    """A customer e-mail with one to five questions (tracking by date, a refund, warranty, a quote, a late return):
    every question answered in one reply, nothing changed."""
    people = ctx.db.all("SELECT c.* FROM customer c WHERE (SELECT COUNT(*) FROM orders o WHERE o.customer_id = c.id) >= 4 ORDER BY c.id")
    for index, person in enumerate(ctx.pick(people)):
        size = index % len(QUESTIONS) + 1
        spec = TaskSpec(customer(person["id"]), request="")
        asked = ask_until(ctx, spec, person, ctx.pick(QUESTIONS), size)
        if len(asked) < size:
            continue
        first = person["name"].split()[0]
        if size == 1:
            spec.request = f"Hi! {asked[0][0][0].upper()}{asked[0][0][1:]} Thanks, {first}"
        else:
            numbered = "\n".join(f"{n}. {q[0].upper()}{q[1:]}" for n, (q, _) in enumerate(asked, start=1))
            spec.request = f"Hello, I have a few questions:\n{numbered}\nThanks in advance, {first}"
        spec.check(r.judge("reply-complete", "One friendly reply answers every question, in order",
                           r.reply("fallback", "greets the customer", contains=[first])))
        spec.reply = f"Hi {first},\n" + "\n".join(f"{n}. {a}" for n, (_, a) in enumerate(asked, start=1))
        spec.variant = difficulty_for(len(spec.calls))
        yield spec


def ask_ticket(ctx: Context, spec: TaskSpec, person: dict, tag: str) -> tuple[str, str] | None:
    """What is happening with my ticket about order X: the customer's tickets on that order, their status."""
    used = {call.arguments.get("order_id") for call in spec.calls}
    rows = ctx.db.all("SELECT order_id FROM support_ticket WHERE customer_id = ? AND order_id IS NOT NULL GROUP BY order_id "
                      "HAVING COUNT(*) = 1 ORDER BY order_id", (person["id"],))
    for row in ctx.pick(rows):
        if row["order_id"] in used:
            continue
        ticket = ctx.db.one("SELECT * FROM support_ticket WHERE order_id = ? AND customer_id = ?", (row["order_id"], person["id"]))
        spec.call("searchTickets", customer_id=person["id"], order_id=row["order_id"])
        spec.check(r.reply(f"ticket{tag}", f"Names ticket {ticket['id']} and its status ({ticket['status']})",
                           contains=[ticket["id"]], contains_any=[ticket["status"], ticket["status"].replace("_", " ")]))
        return (f"what's the status of the ticket I opened about order {row['order_id']}?",
                f"Your ticket {ticket['id']} about order {row['order_id']} ({ticket['subject']}) is {ticket['status'].replace('_', ' ')}.")
    return None


ACCOUNT_QUESTIONS: tuple[Question, ...] = (ask_ticket, ask_refund, ask_warranty, ask_late_return, ask_tracking)


@family("account_questions_email", "communication", "train", count={"medium": 5, "hard": 5},
        policy_rules=("no_unrequested_writes",))
def account_questions_email(ctx: Context) -> Iterator[TaskSpec]:
    """A customer e-mail about their own account with two to five questions (a ticket's status, a refund, a warranty
    end date, a late return, a parcel placed on an Eastern-time day): each answered from the records in one reply,
    nothing changed, not even the tickets and orders read."""
    people = ctx.db.all("SELECT c.* FROM customer c WHERE (SELECT COUNT(*) FROM orders o WHERE o.customer_id = c.id) >= 4 AND "
                        "EXISTS (SELECT 1 FROM support_ticket t WHERE t.customer_id = c.id AND t.order_id IS NOT NULL) ORDER BY c.id")
    for index, person in enumerate(ctx.pick(people)):
        size = (2, 3, 4, 5)[index % 4]
        spec = TaskSpec(customer(person["id"]), request="")
        asked = ask_until(ctx, spec, person, [ask_ticket, *ctx.pick(ACCOUNT_QUESTIONS[1:])], size)
        if len(asked) < size or not any(c.name == "getOrderDetails" for c in spec.calls):
            continue
        first = person["name"].split()[0]
        numbered = "\n".join(f"- {q[0].upper()}{q[1:]}" for q, _ in asked)
        spec.request = ctx.rng.choice((f"Hi there,\nA few things about my account:\n{numbered}\nCheers, {first}",
                                       f"Hello CoreCraft,\nI'd appreciate answers to these:\n{numbered}\nThank you, {person['name']}"))
        spec.check(r.judge("reply-complete", "One friendly reply answers every question, accurately and in order",
                           r.reply("fallback", "greets the customer", contains=[first])))
        spec.reply = f"Hi {first},\n" + "\n".join(f"- {a}" for _, a in asked) + "\nBest regards,\nCoreCraft Support"
        spec.variant = difficulty_for(len(spec.calls))
        if spec.variant in ("medium", "hard"):
            yield spec
