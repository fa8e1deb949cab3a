"""`CorecraftGRPOTrainer`: TRL's `GRPOTrainer` with BAPO, DCPO or static clipping bounds.

TRL's loss is used as is. Its clipped surrogate (trl 1.16, `GRPOTrainer._compute_loss`)

    coef_2 = clamp(r, 1 − self.epsilon_low, 1 + self.epsilon_high);  loss = −min(r·A, coef_2·A)

reads `self.epsilon_low` / `self.epsilon_high` on every call, and so do its `clip_ratio/low_mean` and
`clip_ratio/high_mean` metrics. This trainer sets them, per micro-batch, to 1 − c_low and c_high − 1 right after
TRL's own forward pass of the policy, from the ratio of that very pass; no extra forward pass, no copied loss code.
"""

from __future__ import annotations

from typing import Any

import torch
from trl import GRPOTrainer

from grpo_trainer.clipping import bapo_bounds, dcpo_bounds, static_bounds
from grpo_trainer.config import CorecraftGRPOConfig


class CorecraftGRPOTrainer(GRPOTrainer):
    r"""GRPO with adaptive clipping bounds (see `CorecraftGRPOConfig.clip_mode` and docs/clipping.md).

    `clip_mode="bapo"` (BAPO, arXiv 2510.18927): for each micro-batch, summed over data-parallel ranks,

        P(c_high) = Σ_{A>0, r ≤ c_high} r·A,    N(c_low) = Σ_{A<0, r ≥ c_low} r·|A|

    over unmasked completion tokens (tool outputs excluded), and (c_low, c_high) is the first pair on the path
    (a⁻, a⁺) → … → (b⁻, a⁺) → … → (b⁻, b⁺) (c_low raised first, by δ⁻, then c_high, by δ⁺) with

        P / (P + N) ≥ ρ₀,

    or (b⁻, b⁺) if none. `clip_mode="dcpo"` (arXiv 2509.02333): token-wise bounds from q = π_old(token),
    c_low = 0.5 + 0.5·√max(1 − 4ε_low/q, 0), c_high = 0.5 + 0.5·√(1 + 4ε_high/q), passed to TRL as tensors.
    `clip_mode="static"`: TRL's `epsilon` / `epsilon_high` untouched.

    The bounds follow the ratio of the micro-batch being optimised. The paper adapts them per update batch; with
    gradient accumulation each micro-batch of an optimiser step gets its own bounds here, since the ratios of the
    later micro-batches do not exist before their forward pass.

    Clipping only acts off-policy: with `num_iterations == 1` and optimiser steps aligned with generation
    (`gradient_accumulation_steps % steps_per_generation == 0`), TRL uses the current log-probabilities as the old
    ones, every ratio is 1 and no clip rule changes anything (the config warns).

    Logged metrics (train/eval, averaged per logging step): `clip/c_low`, `clip/c_high` (for DCPO the mean over
    tokens), and for BAPO `clip/positive_share` (P / (P + N) at the chosen pair) and `clip/bapo_steps`. The
    fractions of tokens clipped low (A < 0, r < c_low) and high (A > 0, r > c_high) are TRL's own
    `clip_ratio/low_mean` and `clip_ratio/high_mean`, computed against the bounds set here.

    The bounds count the loss mask only: tokens that TRL's entropy mask (`top_entropy_quantile`) or off-policy
    sequence mask drops still enter P and N.
    """

    def __init__(
        self,
        model: Any,
        reward_funcs: Any = None,
        args: CorecraftGRPOConfig | None = None,
        **kwargs: Any,
    ) -> None:
        if not isinstance(args, CorecraftGRPOConfig):
            raise TypeError(f"CorecraftGRPOTrainer needs a CorecraftGRPOConfig, got {type(args).__name__}")
        # Set by _compute_loss, consumed by the policy forward pass that follows it.
        self._loss_inputs: dict[str, Any] | None = None
        super().__init__(model, reward_funcs, args, **kwargs)

    def _compute_loss(self, model: Any, inputs: dict[str, Any]) -> torch.Tensor:
        self._loss_inputs = inputs
        try:
            return super()._compute_loss(model, inputs)
        finally:
            self._loss_inputs = None

    def _get_per_token_logps_and_entropies(
        self, *args: Any, **kwargs: Any
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        per_token_logps, entropies, aux_loss = super()._get_per_token_logps_and_entropies(*args, **kwargs)
        # The first call inside _compute_loss is the policy pass the loss is taken on; the other callers (old and
        # reference log-probs, during generation) run outside it and leave the bounds alone.
        if self._loss_inputs is not None:
            inputs, self._loss_inputs = self._loss_inputs, None
            self._set_clip_bounds(inputs, per_token_logps.detach())
        return per_token_logps, entropies, aux_loss

    def _set_clip_bounds(self, inputs: dict[str, Any], per_token_logps: torch.Tensor) -> None:
        """Set `self.epsilon_low` / `self.epsilon_high` for this micro-batch and log the bounds."""
        mode = "train" if self.model.training else "eval"
        metrics = self._metrics[mode]
        mask = inputs["completion_mask"]
        if "tool_mask" in inputs:
            mask = mask * inputs["tool_mask"]
        # As in TRL: without stored old log-probs the data is on-policy and π_old is the current policy.
        old_per_token_logps = inputs.get("old_per_token_logps")
        if old_per_token_logps is None:
            old_per_token_logps = per_token_logps

        if self.args.clip_mode == "bapo":
            ratio = self._importance_ratio(per_token_logps - old_per_token_logps, mask)
            bapo = bapo_bounds(
                ratio,
                inputs["advantages"],
                mask,
                target_positive_share=self.args.bapo_target_positive_share,
                low_start=self.args.bapo_low_start,
                low_max=self.args.bapo_low_max,
                low_step=self.args.bapo_low_step,
                high_start=self.args.bapo_high_start,
                high_max=self.args.bapo_high_max,
                high_step=self.args.bapo_high_step,
                all_reduce=self._sum_over_ranks,
            )
            self.epsilon_low, self.epsilon_high = 1 - bapo.c_low, bapo.c_high - 1
            metrics["clip/c_low"].append(bapo.c_low)
            metrics["clip/c_high"].append(bapo.c_high)
            metrics["clip/positive_share"].append(bapo.positive_share)
            metrics["clip/bapo_steps"].append(float(bapo.steps))
        elif self.args.clip_mode == "dcpo":
            c_low, c_high = dcpo_bounds(
                old_per_token_logps.exp(),
                eps_low=self.args.dcpo_epsilon_low,
                eps_high=self.args.dcpo_epsilon_high,
                max_ratio=self.args.dcpo_max_ratio,
            )
            self.epsilon_low, self.epsilon_high = 1 - c_low, c_high - 1
            mask = mask.float()
            low_sum, high_sum, count = self._sum_over_ranks(
                torch.stack([(c_low * mask).sum(), (c_high * mask).sum(), mask.sum()])
            ).tolist()
            metrics["clip/c_low"].append(low_sum / max(count, 1.0))
            metrics["clip/c_high"].append(high_sum / max(count, 1.0))
        else:
            c_low, c_high = static_bounds(self.epsilon_low, self.epsilon_high)
            metrics["clip/c_low"].append(c_low)
            metrics["clip/c_high"].append(c_high)

    def _importance_ratio(self, log_ratio: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """r per token ([B, T]), or per sequence ([B, 1]) for importance_sampling_level="sequence", as TRL uses it."""
        if self.importance_sampling_level == "sequence":
            log_ratio = ((log_ratio * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).unsqueeze(-1)
        return torch.exp(log_ratio)

    def _sum_over_ranks(self, tensor: torch.Tensor) -> torch.Tensor:
        return self.accelerator.reduce(tensor, reduction="sum")
