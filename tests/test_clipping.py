"""Unit tests for grpo_trainer.clipping against numbers worked out by hand in the comments."""

import math

import pytest
import torch

from grpo_trainer.clipping import (
    bapo_bounds,
    bapo_search_path,
    clip_fractions,
    dcpo_bounds,
    static_bounds,
    unclipped_gradient_mass,
)


def tokens(*values: float) -> torch.Tensor:
    """One completion of len(values) tokens: shape [1, T]."""
    return torch.tensor([values])


def test_search_path_raises_c_low_to_its_max_then_c_high() -> None:
    lows, highs = bapo_search_path()
    # 6 steps of 0.05 take c_low from 0.6 to 0.9, then 36 steps take c_high from 1.2 to 3.0: 43 pairs.
    assert len(lows) == len(highs) == 43
    assert lows[:7] == pytest.approx([0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9])
    assert highs[:7] == [1.2] * 7
    assert lows[7:] == [0.9] * 36
    assert highs[7:10] == pytest.approx([1.25, 1.3, 1.35])
    assert (lows[-1], highs[-1]) == (0.9, 3.0)


def test_search_path_lands_exactly_on_a_max_that_is_not_a_whole_number_of_steps() -> None:
    lows, highs = bapo_search_path(
        low_start=0.6, low_max=0.7, low_step=0.08, high_start=1.2, high_max=1.3, high_step=0.08
    )
    assert lows == pytest.approx([0.6, 0.68, 0.7, 0.7, 0.7])
    assert highs == pytest.approx([1.2, 1.2, 1.2, 1.28, 1.3])


def test_bapo_keeps_start_bounds_when_they_already_meet_the_target() -> None:
    ratio = tokens(1.0, 1.1, 0.9, 1.0)
    advantages = tokens(1.0, 1.0, -1.0, -0.5)
    mask = torch.ones_like(ratio)
    # P = 1.0·1 + 1.1·1 = 2.1 (both ≤ 1.2); N = 0.9·1 + 1.0·0.5 = 1.4 (both ≥ 0.6); share = 2.1 / 3.5 = 0.6 ≥ 0.5.
    result = bapo_bounds(ratio, advantages, mask)
    assert (result.c_low, result.c_high, result.steps, result.target_met) == (0.6, 1.2, 0, True)
    assert result.positive_share == pytest.approx(0.6)


def test_bapo_raising_c_low_alone_reaches_the_target() -> None:
    ratio = tokens(1.0, 1.0, 0.72, 0.77, 1.0)
    advantages = tokens(1.0, 1.0, -1.0, -1.0, -1.0)
    mask = torch.ones_like(ratio)
    # P = 2.0 throughout (ratios 1.0 ≤ 1.2).
    # c_low 0.60, 0.65, 0.70: N = 0.72 + 0.77 + 1.0 = 2.49, share = 2 / 4.49 = 0.445 < 0.5
    # c_low 0.75: 0.72 is clipped, N = 0.77 + 1.0 = 1.77, share = 2 / 3.77 = 0.5305 ≥ 0.5 -> stop after 3 steps.
    result = bapo_bounds(ratio, advantages, mask)
    assert result.c_low == pytest.approx(0.75)
    assert result.c_high == 1.2
    assert result.steps == 3
    assert result.positive_share == pytest.approx(2 / 3.77, rel=1e-5)
    assert result.target_met


def test_bapo_raises_c_high_once_c_low_is_at_its_max() -> None:
    ratio = tokens(1.0, 1.33, 1.0, 1.0)
    advantages = tokens(1.0, 1.0, -1.0, -1.0)
    mask = torch.ones_like(ratio)
    # c_low 0.6 .. 0.9 (6 steps): the negative ratios 1.0 stay ≥ c_low, N = 2.0; P = 1.0 (1.33 > 1.2): share 1/3.
    # c_high 1.25, 1.30: 1.33 still clipped.  c_high 1.35: P = 1.0 + 1.33 = 2.33, share = 2.33 / 4.33 = 0.538.
    result = bapo_bounds(ratio, advantages, mask)
    assert result.c_low == 0.9
    assert result.c_high == pytest.approx(1.35)
    assert result.steps == 6 + 3
    assert result.positive_share == pytest.approx(2.33 / 4.33, rel=1e-5)
    assert result.target_met


def test_bapo_stops_at_the_widest_pair_when_the_target_is_unreachable() -> None:
    ratio = tokens(1.0, 3.5, 1.0, 1.0)
    advantages = tokens(1.0, 1.0, -1.0, -1.0)
    mask = torch.ones_like(ratio)
    # 3.5 > 3.0 is clipped under every pair: P = 1, N = 2, share = 1/3 all along the 43 pairs.
    result = bapo_bounds(ratio, advantages, mask)
    assert (result.c_low, result.c_high, result.steps, result.target_met) == (0.9, 3.0, 42, False)
    assert result.positive_share == pytest.approx(1 / 3)


def test_bapo_share_never_falls_along_the_search_path() -> None:
    generator = torch.Generator().manual_seed(0)
    ratio = torch.exp(0.4 * torch.randn(8, 32, generator=generator))
    advantages = torch.randn(8, generator=generator)
    mask = (torch.rand(8, 32, generator=generator) > 0.2).float()
    lows, highs = bapo_search_path()
    positive, negative = unclipped_gradient_mass(ratio, advantages, mask, torch.tensor(lows), torch.tensor(highs))
    shares = positive / (positive + negative)
    # Raising c_low only removes negative mass, raising c_high only adds positive mass.
    assert torch.all(positive[1:] >= positive[:-1])
    assert torch.all(negative[1:] <= negative[:-1])
    assert torch.all(shares[1:] >= shares[:-1] - 1e-7)
    # With this spread of ratios the path actually moves the share, so the check above is not vacuous.
    assert shares[-1] > shares[0] + 0.01


def test_bapo_ignores_masked_tokens() -> None:
    ratio = tokens(1.0, 1.1, 0.9, 1.0, 1.0)
    advantages = tokens(1.0, 1.0, -1.0, -0.5, -10.0)
    # The last token would add 10 to N; masked out, this is the start-bounds case: share 0.6.
    masked = bapo_bounds(ratio, advantages, tokens(1, 1, 1, 1, 0))
    assert (masked.c_low, masked.c_high, masked.steps) == (0.6, 1.2, 0)
    assert masked.positive_share == pytest.approx(0.6)
    # Unmasked it dominates: P = 2.1, N = 11.4, and no pair can reach 0.5.
    unmasked = bapo_bounds(ratio, advantages, torch.ones_like(ratio))
    assert unmasked.positive_share == pytest.approx(2.1 / 13.5)
    assert not unmasked.target_met


def test_bapo_broadcasts_per_sequence_advantages_over_tokens() -> None:
    # Same tokens as the c_high case, arranged as two completions: (1.0, 1.33) with A = +1, (1.0, 1.0) with A = -1.
    ratio = torch.tensor([[1.0, 1.33], [1.0, 1.0]])
    per_sequence = bapo_bounds(ratio, torch.tensor([1.0, -1.0]), torch.ones_like(ratio))
    per_token = bapo_bounds(ratio, torch.tensor([[1.0, 1.0], [-1.0, -1.0]]), torch.ones_like(ratio))
    assert per_sequence == per_token
    assert per_sequence.c_high == pytest.approx(1.35)


def test_bapo_accepts_one_sequence_level_ratio_per_completion() -> None:
    # importance_sampling_level="sequence": ratio [B, 1]. P = 2 · 1.0 = 2, N = 2 · 0.7 = 1.4 at c_low 0.6:
    # share 2 / 3.4 = 0.588 ≥ 0.5, start bounds kept.
    result = bapo_bounds(torch.tensor([[1.0], [0.7]]), torch.tensor([1.0, -1.0]), torch.ones(2, 2))
    assert (result.c_low, result.c_high, result.steps) == (0.6, 1.2, 0)
    assert result.positive_share == pytest.approx(2 / 3.4)


class FakeTwoRankSum:
    """all_reduce for a simulated second rank: adds that rank's local tensor and counts the calls."""

    def __init__(self, other_rank: torch.Tensor) -> None:
        self.other_rank = other_rank
        self.calls = 0

    def __call__(self, local: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return local + self.other_rank


def test_bapo_sums_the_masses_across_ranks() -> None:
    # Rank 0 holds only positive tokens, rank 1 only negative ones: alone, each keeps the start bounds.
    ratio_0, advantages_0 = tokens(1.0, 1.0), tokens(1.0, 1.0)
    ratio_1, advantages_1 = tokens(0.95, 1.0, 0.72), tokens(-1.0, -1.0, -1.0)
    mask_0, mask_1 = torch.ones_like(ratio_0), torch.ones_like(ratio_1)
    assert bapo_bounds(ratio_0, advantages_0, mask_0).steps == 0
    assert bapo_bounds(ratio_1, advantages_1, mask_1).steps == 0

    lows, highs = torch.tensor(bapo_search_path()[0]), torch.tensor(bapo_search_path()[1])
    rank_1_masses = torch.stack(unclipped_gradient_mass(ratio_1, advantages_1, mask_1, lows, highs))
    reducer = FakeTwoRankSum(rank_1_masses)
    # Together: P = 2; N = 0.95 + 1.0 + 0.72 = 2.67, share 2 / 4.67 = 0.428 for c_low ≤ 0.70;
    # c_low 0.75 clips 0.72: N = 1.95, share 2 / 3.95 = 0.506 -> (0.75, 1.2) after 3 steps.
    result = bapo_bounds(ratio_0, advantages_0, mask_0, all_reduce=reducer)
    assert reducer.calls == 1
    assert result.c_low == pytest.approx(0.75)
    assert result.steps == 3
    assert result.positive_share == pytest.approx(2 / 3.95, rel=1e-5)


@pytest.mark.parametrize(
    ("advantages", "mask", "expected_share", "expected_met"),
    [
        # No negative token: N = 0, share 1.
        (tokens(1.0, 0.5), tokens(1, 1), 1.0, True),
        # No positive token: P = 0 under every pair, nothing to rebalance.
        (tokens(-1.0, -0.5), tokens(1, 1), 0.0, False),
        # Everything masked: P = N = 0.
        (tokens(1.0, -1.0), tokens(0, 0), 0.0, False),
    ],
)
def test_bapo_degenerate_batches_keep_the_start_bounds(
    advantages: torch.Tensor, mask: torch.Tensor, expected_share: float, expected_met: bool
) -> None:
    result = bapo_bounds(tokens(0.5, 1.0), advantages, mask)
    assert (result.c_low, result.c_high, result.steps) == (0.6, 1.2, 0)
    assert result.positive_share == expected_share
    assert result.target_met is expected_met
    assert not math.isnan(result.positive_share)


def test_dcpo_bounds_by_hand() -> None:
    q = torch.tensor([1.0, 0.5, 0.01])
    c_low, _ = dcpo_bounds(q, eps_low=0.1875)
    # q = 1:    1 − 4·0.1875/1   = 0.25, √ = 0.5  -> 0.75
    # q = 0.5:  1 − 4·0.1875/0.5 = −0.5 -> 0     -> 0.5
    # q = 0.01: far below zero                    -> 0.5
    assert c_low.tolist() == pytest.approx([0.75, 0.5, 0.5])
    _, c_high = dcpo_bounds(q, eps_high=0.375)
    # q = 1:    1 + 1.5 = 2.5, √ = 1.5811 -> 1.2906
    # q = 0.5:  1 + 3   = 4,   √ = 2      -> 1.5
    # q = 0.01: 1 + 150 = 151, √ = 12.288 -> 6.644
    assert c_high.tolist() == pytest.approx([0.5 + 0.5 * math.sqrt(2.5), 1.5, 0.5 + 0.5 * math.sqrt(151)])


def test_dcpo_defaults_reproduce_the_paper_table() -> None:
    # DCPO paper table, ε_low = 0.16, ε_high = 0.2, q = 0.9: smallest unclipped new probability 0.69.
    # c_low = 0.5 + 0.5·√(1 − 0.64/0.9) = 0.76874; 0.9 · 0.76874 = 0.6919.
    # q = 0.01: largest new probability 0.05; c_high = 0.5 + 0.5·√(1 + 80) = 5.0; 0.01 · 5.0 = 0.05.
    c_low, c_high = dcpo_bounds(torch.tensor([0.9, 0.01]))
    assert 0.9 * c_low[0].item() == pytest.approx(0.6919, abs=1e-4)
    assert c_high[1].item() == pytest.approx(5.0)


def test_dcpo_upper_bound_is_capped_and_zero_probability_gives_no_nan() -> None:
    # q = 0.001: 0.5 + 0.5·√(1 + 800) = 14.65, capped at 10.  q = 0: 4ε/q = inf, bounds 0.5 and the cap.
    c_low, c_high = dcpo_bounds(torch.tensor([0.001, 0.0]))
    assert c_high.tolist() == [10.0, 10.0]
    assert c_low.tolist() == [0.5, 0.5]


def test_static_bounds_are_dapo_clip_higher() -> None:
    assert static_bounds() == pytest.approx((0.8, 1.28))
    assert static_bounds(0.1, 0.3) == pytest.approx((0.9, 1.3))


def test_clip_fractions_by_hand() -> None:
    ratio = tokens(0.5, 1.0, 1.5, 0.3, 1.3)
    advantages = tokens(-1.0, -1.0, 1.0, -1.0, 1.0)
    mask = tokens(1, 1, 1, 0, 1)
    # 4 unmasked tokens. Low: token 0 (A < 0, 0.5 < 0.6); token 3 would be, but is masked.
    # High: token 2 (A > 0, 1.5 > 1.4); token 4 (1.3) is inside.  -> (1/4, 1/4)
    assert clip_fractions(ratio, advantages, mask, 0.6, 1.4) == (0.25, 0.25)


def test_clip_fractions_with_token_wise_bounds_and_ranks() -> None:
    ratio = tokens(0.5, 1.5)
    advantages = torch.tensor([-1.0])  # one completion, A < 0: only low clipping can happen
    mask = tokens(1, 1)
    # Token-wise c_low (0.4, 0.6): 0.5 ≥ 0.4 kept, 1.5 ≥ 0.6 kept -> low 0; with (0.6, 0.6): token 0 clipped.
    assert clip_fractions(ratio, advantages, mask, tokens(0.4, 0.6), tokens(1.2, 1.2)).low == 0.0
    assert clip_fractions(ratio, advantages, mask, tokens(0.6, 0.6), tokens(1.2, 1.2)).low == 0.5
    # A second rank contributing 2 unclipped tokens: counts (1 low, 0 high, 4 tokens) -> 1/4.
    reducer = FakeTwoRankSum(torch.tensor([0.0, 0.0, 2.0]))
    assert clip_fractions(ratio, advantages, mask, 0.6, 1.2, all_reduce=reducer) == (0.25, 0.0)
    assert reducer.calls == 1


def test_clip_fractions_all_masked_is_zero() -> None:
    assert clip_fractions(tokens(0.1), tokens(-1.0), tokens(0), 0.8, 1.2) == (0.0, 0.0)
