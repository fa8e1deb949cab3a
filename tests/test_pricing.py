"""Pricing policy against hand-computed numbers."""

import pytest

from corecraft_env.world import pricing


def test_quote_discounts_the_subtotal_not_shipping():
    # 2 × 100.00 + 49.99 = 249.99; gold 10 % = 24.999 → 25.00; + express 19.99 → 244.98
    assert pricing.quote([(100.00, 2), (49.99, 1)], "gold", "express") == pricing.Quote(249.99, 25.00, 19.99, 244.98)


def test_quote_without_loyalty():
    assert pricing.quote([(10.00, 1)], "none", "overnight") == pricing.Quote(10.00, 0.0, 39.99, 49.99)


def test_half_cent_rounds_up():
    # silver 5 % of 0.10 = 0.005 → 0.01 (half-up), not banker's 0.00
    assert pricing.quote([(0.10, 1)], "silver", "standard").discount == 0.01


def test_refund_is_net_of_discount():
    assert pricing.net_of_discount(100.00, "gold") == 90.00  # the policy's own example
    assert pricing.net_of_discount(59.99, "platinum") == 50.99  # 59.99 − 9.00 (8.9985 → 9.00)


def test_full_return_refund_sums_to_what_was_paid():
    # Three lines of 0.10 at silver: order discount round(0.30 × 5 %) = 0.02 (0.015 half-up), so paid 0.28.
    # Per-line rounding alone would give 3 × (0.10 − 0.01) = 0.27; largest remainder gives one line the spare cent.
    per_line = pricing.itemised_refund([0.10, 0.10, 0.10], "silver")
    assert per_line == [0.09, 0.09, 0.09]
    full = pricing.itemised_refund([0.10, 0.10, 0.10], "silver", paid_for_goods=0.28)
    assert sorted(full) == [0.09, 0.09, 0.10] and round(sum(full), 2) == 0.28


def test_unknown_tier_or_service_is_an_error():
    with pytest.raises(KeyError):
        pricing.quote([(1.0, 1)], "diamond", "standard")
    with pytest.raises(KeyError):
        pricing.quote([(1.0, 1)], "gold", "teleport")
