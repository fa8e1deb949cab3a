"""What generators compute from the world: return windows, refund amounts, Eastern-time phrasing, money text.

Amounts always come from ``world.pricing`` (the functions the tools and the world generator use), never from
arithmetic written in a family.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from ..world import NOW
from ..world.generator import RETURN_WINDOW_DAYS, iso, parse_iso
from ..world.pricing import itemised_refund, to_cents

EASTERN = ZoneInfo("America/New_York")
# Orders this close to the 30-day boundary are left out, so no task hinges on an hour's reading of "30 days".
WINDOW_MARGIN = timedelta(days=2)
# Team practice on Slack (#policy-discussion): refunds over this stay pending and go to finance.
LARGE_REFUND = 1000.00
# SQL condition on a ticket aliased ``t``: no escalation of it is still open (policy allows one open escalation a ticket).
NO_OPEN_ESCALATION = "NOT EXISTS (SELECT 1 FROM escalation e WHERE e.ticket_id = t.id AND e.resolved_at IS NULL)"


def tier_discount(tier: str) -> str:
    return "no loyalty discount" if tier == "none" else f"the {tier} loyalty discount"


def money(amount: float) -> str:
    return f"${amount:,.2f}"


def days_ago(days: float) -> str:
    return iso(NOW - timedelta(days=days))


def inside_window_since() -> str:
    """Orders created at or after this are safely inside the return window."""
    return iso(NOW - timedelta(days=RETURN_WINDOW_DAYS) + WINDOW_MARGIN)


def outside_window_before() -> str:
    """Orders created before this are safely outside the return window."""
    return iso(NOW - timedelta(days=RETURN_WINDOW_DAYS) - WINDOW_MARGIN)


def long_date(moment: str | date) -> str:
    """A date (``2025-08-28``) or a UTC timestamp (read in Eastern time) as "August 28, 2025"."""
    day = moment if isinstance(moment, date) else (
        date.fromisoformat(moment) if len(moment) == 10 else parse_iso(moment).astimezone(EASTERN).date())
    return f"{day:%B} {day.day}, {day.year}"


# -- refunds ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RefundLine:
    product_id: str
    name: str
    quantity: int
    amount: float


def refund_lines(order: dict, returned: dict[str, int]) -> list[RefundLine]:
    """Itemised refund for ``returned`` (product id → units) of an order from ``getOrderDetails``: each line net of
    the order's loyalty discount, shipping never included; a full return sums to exactly what was paid for goods."""
    by_product = {line["product_id"]: line for line in order["lines"]}
    items = [(by_product[pid], qty) for pid, qty in returned.items()]
    list_amounts = [float(to_cents(line["unit_price"]) * qty) for line, qty in items]
    everything = returned == {line["product_id"]: line["quantity"] for line in order["lines"]}
    paid_for_goods = float(to_cents(order["subtotal"]) - to_cents(order["discount"])) if everything else None
    amounts = itemised_refund(list_amounts, order["loyalty_tier"], paid_for_goods)
    return [RefundLine(line["product_id"], line["product_name"], qty, amount) for (line, qty), amount in zip(items, amounts)]


def needs_finance(order: dict, returned: dict[str, int]) -> bool:
    """Whether refunding ``returned`` crosses the Slack practice's line (over $1,000: pending + finance escalation)."""
    return refund_total(refund_lines(order, returned)) > LARGE_REFUND


def refund_total(lines: list[RefundLine]) -> float:
    return float(sum((to_cents(line.amount) for line in lines), to_cents(0)))


def is_full_return(order: dict, returned: dict[str, int]) -> bool:
    """Whether, with ``returned``, every unit of the order has been refunded (earlier active refunds count)."""
    back = dict(returned)
    for refund in order["refunds"]:
        if refund["status"] not in ("denied", "failed"):
            for line in refund["lines"]:
                back[line["product_id"]] = back.get(line["product_id"], 0) + line["quantity"]
    return back == {line["product_id"]: line["quantity"] for line in order["lines"]}


# -- Eastern time ----------------------------------------------------------------------------------------------------
_DAY_PARTS = ((0, 5, "early hours"), (5, 12, "morning"), (12, 17, "afternoon"), (17, 22, "evening"), (22, 24, "night"))


@dataclass(frozen=True)
class EasternWindow:
    """A stretch of an Eastern-time day as a requester says it, with the filter bounds that capture it."""

    phrase: str  # "last Tuesday afternoon"
    after: str  # ISO-8601 with the Eastern offset, e.g. 2025-09-09T12:00:00-04:00
    before: str


def _ordinal(day: int) -> str:
    return f"{day}{'th' if 11 <= day % 100 <= 13 else {1: 'st', 2: 'nd', 3: 'rd'}.get(day % 10, 'th')}"


def _day_phrase(day: date, part: str) -> str:
    today = NOW.astimezone(EASTERN).date()
    back = (today - day).days
    relative = {0: "this", 1: "yesterday"}.get(back)
    if back <= 1:
        return {"early hours": f"in the early hours of {'today' if back == 0 else 'yesterday'}",
                "night": "late last night" if back == 1 else "tonight"}.get(part, f"{relative} {part}")
    if back <= 6:
        weekday = f"{day:%A}"
        return {"early hours": f"in the early hours of last {weekday}", "night": f"late last {weekday} night"}.get(
            part, f"last {weekday} {part}")
    dated = f"{day:%B} {_ordinal(day.day)}"
    return {"early hours": f"in the early hours of {dated}", "night": f"late on the night of {dated}"}.get(
        part, f"on the {part} of {dated}")


def eastern_window(moment: str) -> EasternWindow:
    """How a requester would place the UTC timestamp ``moment`` in their day, and the bounds of that part of day."""
    local = parse_iso(moment).astimezone(EASTERN)
    start_hour, end_hour, part = next(p for p in _DAY_PARTS if p[0] <= local.hour < p[1])
    start = datetime(local.year, local.month, local.day, start_hour, tzinfo=EASTERN)
    end = datetime(local.year, local.month, local.day, tzinfo=EASTERN) + timedelta(hours=end_hour, seconds=-1)
    return EasternWindow(_day_phrase(local.date(), part), start.isoformat(), end.isoformat())


def eastern_day_bounds(moment: str) -> tuple[str, str]:
    """The first and last second of the Eastern-time day a UTC timestamp falls on, with their offsets."""
    local = parse_iso(moment).astimezone(EASTERN)
    start = datetime(local.year, local.month, local.day, tzinfo=EASTERN)
    end = start + timedelta(hours=23, minutes=59, seconds=59)
    return start.isoformat(), end.isoformat()
