"""Clipping bounds for the GRPO surrogate: BAPO (adaptive), DCPO (token-wise) and static (DAPO clip-higher).

Every function here is pure: tensors in, tensors or floats out. The trainer turns the bounds into TRL's
``epsilon_low = 1 - c_low`` and ``epsilon_high = c_high - 1``.

Notation, shared by all functions: ``r = π_θ / π_old`` is the per-token importance ratio, ``A`` the advantage
(one scalar per completion, shape ``[B]``, or one per token, ``[B, T]``), ``mask`` marks the tokens that enter the
loss (``[B, T]``; tool-output and padding tokens are 0). The clipped surrogate is

    L = min(r·A, clip(r, c_low, c_high)·A)

so a token with A > 0 carries gradient only while r ≤ c_high, and a token with A < 0 only while r ≥ c_low.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch

AllReduce = Callable[[torch.Tensor], torch.Tensor]
"""Sums a tensor over data-parallel ranks, e.g. ``lambda t: accelerator.reduce(t, reduction="sum")``."""


class BapoBounds(NamedTuple):
    """Result of the BAPO search for one update batch."""

    c_low: float
    c_high: float
    positive_share: float  # P / (P + N) at the chosen bounds; 0.0 when no token carries gradient
    steps: int  # bound increments taken from the start pair (0 = start bounds kept)
    target_met: bool  # False when even the widest pair stays below the target (both bounds at their max)


class ClipFractions(NamedTuple):
    """Fractions of unmasked tokens whose gradient the clip removes."""

    low: float  # A < 0 and r < c_low
    high: float  # A > 0 and r > c_high


def _broadcast_flat(
    ratio: torch.Tensor, advantages: torch.Tensor, mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Broadcast ratio ([B, T] or [B, 1]), advantages ([B] or [B, T]) and mask ([B, T]) to flat float32 vectors."""
    if advantages.dim() == 1:
        advantages = advantages.unsqueeze(-1)
    ratio, advantages, mask = torch.broadcast_tensors(ratio.detach(), advantages.detach(), mask)
    return ratio.float().flatten(), advantages.float().flatten(), mask.float().flatten()


def bapo_search_path(
    *,
    low_start: float = 0.6,
    low_max: float = 0.9,
    low_step: float = 0.05,
    high_start: float = 1.2,
    high_max: float = 3.0,
    high_step: float = 0.05,
) -> tuple[list[float], list[float]]:
    """The (c_low, c_high) pairs BAPO visits, in order: raise c_low to its max first, then c_high.

    Path: (a⁻, a⁺), (a⁻+δ⁻, a⁺), …, (b⁻, a⁺), (b⁻, a⁺+δ⁺), …, (b⁻, b⁺). The last step of each bound is shortened so
    that it lands exactly on its max. Returns the c_low and c_high lists, both of length K.
    """
    if low_step <= 0 or high_step <= 0:
        raise ValueError("BAPO steps must be positive")
    if not (low_start <= low_max and high_start <= high_max):
        raise ValueError("BAPO start bounds must not exceed their max")
    # The 1e-9 keeps (0.9 - 0.6) / 0.05 = 6.000000000000001 from becoming 7 steps.
    n_low = math.ceil((low_max - low_start) / low_step - 1e-9)
    n_high = math.ceil((high_max - high_start) / high_step - 1e-9)
    lows = [min(low_start + k * low_step, low_max) for k in range(n_low + 1)] + [low_max] * n_high
    highs = [high_start] * (n_low + 1) + [min(high_start + k * high_step, high_max) for k in range(1, n_high + 1)]
    return lows, highs


def unclipped_gradient_mass(
    ratio: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    c_low: torch.Tensor,
    c_high: torch.Tensor,
    all_reduce: AllReduce | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Positive and negative gradient mass P and N for each of K candidate bound pairs (BAPO, arXiv 2510.18927).

        P(c_high) = Σ_t mask_t · r_t · A_t   · [A_t > 0] · [r_t ≤ c_high]
        N(c_low)  = Σ_t mask_t · r_t · |A_t| · [A_t < 0] · [r_t ≥ c_low]

    Only tokens that still carry gradient are counted (a clipped token has zero gradient), so raising c_low can
    only lower N and raising c_high can only raise P. ``c_low`` and ``c_high`` have shape [K]; the sums are taken
    over all tokens and, through ``all_reduce``, over all ranks (one collective call). Returns (P, N), each [K].
    Memory is K × tokens booleans (43 pairs with the default BAPO path).
    """
    ratio, advantages, mask = _broadcast_flat(ratio, advantages, mask)
    positive_weight = ratio * advantages.clamp(min=0) * mask
    negative_weight = ratio * (-advantages).clamp(min=0) * mask
    c_low, c_high = c_low.to(ratio).unsqueeze(-1), c_high.to(ratio).unsqueeze(-1)
    positive_mass = ((ratio <= c_high) * positive_weight).sum(-1)
    negative_mass = ((ratio >= c_low) * negative_weight).sum(-1)
    masses = torch.stack([positive_mass, negative_mass])
    if all_reduce is not None:
        masses = all_reduce(masses)
    return masses[0], masses[1]


def bapo_bounds(
    ratio: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    *,
    target_positive_share: float = 0.5,
    low_start: float = 0.6,
    low_max: float = 0.9,
    low_step: float = 0.05,
    high_start: float = 1.2,
    high_max: float = 3.0,
    high_step: float = 0.05,
    all_reduce: AllReduce | None = None,
) -> BapoBounds:
    """BAPO adaptive clipping bounds for one update batch (Balanced Policy Optimization, arXiv 2510.18927).

    Starting from (c_low, c_high) = (a⁻, a⁺), while

        P / (P + N) < ρ₀

    raise c_low by δ⁻ up to b⁻ (clips more low-ratio negative tokens, so N falls), then raise c_high by δ⁺ up to
    b⁺ (lets more high-ratio positive tokens through, so P rises). P and N are the unclipped gradient masses of
    :func:`unclipped_gradient_mass`. This is the gradient definition of DOMAIN.md §6: the public verl recipe
    instead counts a clipped negative token at its bound, max(r, c_low)·|A|, under which raising c_low raises N.

    Every pair on :func:`bapo_search_path` is evaluated at once (one all-reduce, one copy to the host) and the first
    pair meeting ρ₀ is kept; if none does, the widest pair (b⁻, b⁺) is kept, as the iterative loop would.
    If no positive token can carry gradient under any pair (none exist, or all are masked), moving the bounds
    cannot help and the start pair is returned.
    """
    lows, highs = bapo_search_path(
        low_start=low_start,
        low_max=low_max,
        low_step=low_step,
        high_start=high_start,
        high_max=high_max,
        high_step=high_step,
    )
    positive_mass, negative_mass = unclipped_gradient_mass(
        ratio, advantages, mask, torch.tensor(lows), torch.tensor(highs), all_reduce
    )
    total_mass = positive_mass + negative_mass
    shares = torch.where(total_mass > 0, positive_mass / total_mass.clamp(min=1e-30), 0.0)
    # One copy to the host. P is non-decreasing along the path, so the last pair holds the largest P.
    *shares, widest_positive_mass = torch.cat([shares, positive_mass[-1:]]).tolist()

    if widest_positive_mass <= 0:
        return BapoBounds(low_start, high_start, shares[0], steps=0, target_met=False)
    step = next((k for k, share in enumerate(shares) if share >= target_positive_share), len(shares) - 1)
    return BapoBounds(
        c_low=lows[step],
        c_high=highs[step],
        positive_share=shares[step],
        steps=step,
        target_met=shares[step] >= target_positive_share,
    )


def dcpo_bounds(
    old_probs: torch.Tensor,
    *,
    eps_low: float = 0.16,
    eps_high: float = 0.2,
    max_ratio: float = 10.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Token-wise ratio bounds from the old-policy probability q (DCPO, Dynamic Clipping, arXiv 2509.02333).

        c_low(q)  = 0.5 + 0.5 · √max(1 − 4·ε_low / q, 0)
        c_high(q) = 0.5 + 0.5 · √(1 + 4·ε_high / q)

    derived from the probability-weighted constraint |(r − 1)·r·q| ≤ ε, so rare tokens get a wider window. The
    defaults ε_low = 0.16, ε_high = 0.2 are the paper's. As q → 0 the upper bound diverges; like the authors'
    code (verl ``get_clip_low_high``) it is capped at ``max_ratio``. Returns (c_low, c_high), each shaped like q.
    """
    old_probs = old_probs.detach().float()
    c_low = 0.5 + 0.5 * torch.sqrt((1 - 4 * eps_low / old_probs).clamp(min=0))
    c_high = 0.5 + 0.5 * torch.sqrt(1 + 4 * eps_high / old_probs)
    return c_low, c_high.clamp(max=max_ratio)


def static_bounds(eps_low: float = 0.2, eps_high: float = 0.28) -> tuple[float, float]:
    """Fixed asymmetric bounds, DAPO clip-higher (arXiv 2503.14476): (c_low, c_high) = (1 − ε_low, 1 + ε_high)."""
    return 1 - eps_low, 1 + eps_high


def clip_fractions(
    ratio: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    c_low: float | torch.Tensor,
    c_high: float | torch.Tensor,
    all_reduce: AllReduce | None = None,
) -> ClipFractions:
    """Fractions of unmasked tokens whose gradient is removed by clip(r, c_low, c_high):

        low  = Σ mask·[A < 0]·[r < c_low]  / Σ mask
        high = Σ mask·[A > 0]·[r > c_high] / Σ mask

    ``c_low`` / ``c_high`` are floats or tensors broadcastable to the tokens (DCPO). Both fractions are 0.0
    when every token is masked. Counts are summed over ranks through ``all_reduce``.
    """
    if advantages.dim() == 1:
        advantages = advantages.unsqueeze(-1)
    ratio, advantages = ratio.detach().float(), advantages.detach().float()
    mask = mask.float()
    low_clipped = (advantages < 0) & (ratio < c_low)
    high_clipped = (advantages > 0) & (ratio > c_high)
    counts = torch.stack([(low_clipped * mask).sum(), (high_clipped * mask).sum(), mask.sum()])
    if all_reduce is not None:
        counts = all_reduce(counts)
    low, high, total = counts.tolist()
    if total == 0:
        return ClipFractions(0.0, 0.0)
    return ClipFractions(low / total, high / total)
