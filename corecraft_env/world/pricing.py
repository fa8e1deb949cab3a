"""The company's pricing policy as pure functions: loyalty discount on the subtotal, then flat-rate shipping.

Amounts are computed in ``Decimal`` and rounded half-up to cents, so the generator, the ``calculatePrice`` tool
and the rubric checks agree to the cent.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Iterable

LOYALTY_DISCOUNT_RATES: dict[str, Decimal] = {
    "none": Decimal("0"),
    "silver": Decimal("0.05"),
    "gold": Decimal("0.10"),
    "platinum": Decimal("0.15"),
}
SHIPPING_COSTS: dict[str, Decimal] = {
    "standard": Decimal("9.99"),
    "express": Decimal("19.99"),
    "overnight": Decimal("39.99"),
}
CENT = Decimal("0.01")


def to_cents(amount: float | Decimal | str) -> Decimal:
    """Round an amount half-up to cents (``str()`` first so binary floats round as written)."""
    return Decimal(str(amount)).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Quote:
    subtotal: float
    discount: float
    shipping: float
    total: float


def quote(lines: Iterable[tuple[float, int]], loyalty_tier: str, shipping_service: str) -> Quote:
    """Price ``(unit_price, quantity)`` lines: total = subtotal − round(subtotal × tier rate) + shipping.

    Shipping is never discounted. Raises ``KeyError`` for an unknown tier or service.
    """
    subtotal = sum((to_cents(price) * quantity for price, quantity in lines), Decimal("0"))
    discount = to_cents(subtotal * LOYALTY_DISCOUNT_RATES[loyalty_tier])
    shipping = SHIPPING_COSTS[shipping_service]
    return Quote(float(subtotal), float(discount), float(shipping), float(subtotal - discount + shipping))


def net_of_discount(list_amount: float | Decimal, loyalty_tier: str) -> float:
    """What a customer actually paid for goods listed at ``list_amount`` (a refund is net of the discount)."""
    gross = to_cents(list_amount)
    return float(gross - to_cents(gross * LOYALTY_DISCOUNT_RATES[loyalty_tier]))


def itemised_refund(list_amounts: list[float], loyalty_tier: str, paid_for_goods: float | None = None) -> list[float]:
    """Refund per line, net of the loyalty discount.

    Each line is ``net_of_discount`` of its list amount. When every line of an order comes back, pass
    ``paid_for_goods`` (subtotal − discount): the cents are then split by largest remainder, so the lines sum to
    exactly what was paid (per-line rounding alone can drift a few cents from the order's single rounded discount)
    and each line stays within a cent of its exact net.
    """
    if paid_for_goods is None:
        return [net_of_discount(amount, loyalty_tier) for amount in list_amounts]
    keep = 1 - LOYALTY_DISCOUNT_RATES[loyalty_tier]
    exact = [to_cents(amount) * keep for amount in list_amounts]
    floors = [(value / CENT).to_integral_value(rounding="ROUND_FLOOR") * CENT for value in exact]
    spare_cents = int((to_cents(paid_for_goods) - sum(floors, Decimal("0"))) / CENT)
    by_remainder = sorted(range(len(exact)), key=lambda i: (exact[i] - floors[i], -i), reverse=True)
    for index in by_remainder[:spare_cents]:
        floors[index] += CENT
    return [float(value) for value in floors]
