"""CorecraftGRPOTrainer on a tiny random Qwen3 (CPU, a few seconds): the bounds reach TRL's loss and its metrics."""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path
from typing import Any, NamedTuple

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")

import torch
from datasets import Dataset
from trl import GRPOConfig

from grpo_trainer.clipping import clip_fractions
from grpo_trainer.config import CorecraftGRPOConfig
from grpo_trainer.trainer import CorecraftGRPOTrainer

NUM_STEPS = 4  # two generation batches, each optimised twice (num_iterations=2)


class ClipRecord(NamedTuple):
    """What one loss call saw: the ratio of TRL's policy pass and the bounds TRL's clamp then used."""

    ratio: torch.Tensor
    advantages: torch.Tensor
    mask: torch.Tensor
    c_low: float | torch.Tensor
    c_high: float | torch.Tensor


class RecordingTrainer(CorecraftGRPOTrainer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.records: list[ClipRecord] = []
        super().__init__(*args, **kwargs)

    def _set_clip_bounds(self, inputs: dict[str, Any], per_token_logps: torch.Tensor) -> None:
        super()._set_clip_bounds(inputs, per_token_logps)
        self.records.append(
            ClipRecord(
                ratio=torch.exp(per_token_logps - inputs["old_per_token_logps"]),
                advantages=inputs["advantages"],
                mask=inputs["completion_mask"],
                c_low=1 - self.epsilon_low,
                c_high=1 + self.epsilon_high,
            )
        )


def shorter_is_better(completion_ids: list[list[int]], **kwargs: Any) -> list[float]:
    # Short completions get positive advantages, long ones negative: the negative completions carry more tokens,
    # so N > P at r ≈ 1 and BAPO has to move its bounds.
    return [-float(len(ids)) for ids in completion_ids]


def make_config(output_dir: Path, clip_mode: str, **overrides: Any) -> CorecraftGRPOConfig:
    settings: dict[str, Any] = dict(
        output_dir=str(output_dir),
        clip_mode=clip_mode,
        use_cpu=True,
        bf16=False,
        report_to=[],
        save_strategy="no",
        seed=0,
        max_steps=NUM_STEPS,
        logging_steps=1,
        per_device_train_batch_size=4,
        num_generations=4,
        max_completion_length=12,
        num_iterations=2,  # off-policy on the second pass, so the ratios move and clipping acts
        learning_rate=0.01,  # large enough for a visible ratio change after one step of a random model
    )
    settings.update(overrides)
    return CorecraftGRPOConfig(**settings)


def train(model: Any, tokenizer: Any, args: CorecraftGRPOConfig) -> RecordingTrainer:
    prompts = Dataset.from_list([{"prompt": [{"role": "user", "content": f"Refund order {i}?"}]} for i in range(8)])
    # A random model almost never samples EOS; biasing it makes completion lengths, hence rewards, differ.
    args.generation_kwargs = {"sequence_bias": {(tokenizer.eos_token_id,): 5.0}}
    trainer = RecordingTrainer(
        model=model, reward_funcs=shorter_is_better, args=args, train_dataset=prompts, processing_class=tokenizer
    )
    trainer.train()
    return trainer


def step_logs(trainer: RecordingTrainer) -> list[dict[str, float]]:
    return [entry for entry in trainer.state.log_history if "clip/c_low" in entry]


def assert_trl_clip_fractions_match_the_bounds(trainer: RecordingTrainer) -> None:
    """TRL's clip_ratio metrics, recomputed from the recorded ratio and bounds; at least one step clips."""
    logs = step_logs(trainer)
    assert len(logs) == len(trainer.records) == NUM_STEPS
    for log, record in zip(logs, trainer.records, strict=True):
        expected = clip_fractions(record.ratio, record.advantages, record.mask, record.c_low, record.c_high)
        assert log["clip_ratio/low_mean"] == pytest.approx(expected.low, abs=1e-6)
        assert log["clip_ratio/high_mean"] == pytest.approx(expected.high, abs=1e-6)
    assert any(log["clip_ratio/region_mean"] > 0 for log in logs)


def test_bapo_bounds_move_and_drive_trl_loss(tmp_path: Path, tiny_model: Any, tiny_tokenizer: Any) -> None:
    trainer = train(tiny_model, tiny_tokenizer, make_config(tmp_path, "bapo"))
    logs = step_logs(trainer)

    for log, record in zip(logs, trainer.records, strict=True):
        assert 0.6 <= log["clip/c_low"] <= 0.9
        assert 1.2 <= log["clip/c_high"] <= 3.0
        assert 0.0 <= log["clip/positive_share"] <= 1.0
        # The logged bounds are the ones TRL's clamp used.
        assert log["clip/c_low"] == pytest.approx(record.c_low)
        assert log["clip/c_high"] == pytest.approx(record.c_high)
    assert any(log["clip/c_low"] > 0.6 or log["clip/c_high"] > 1.2 for log in logs)
    assert any(log["clip/bapo_steps"] > 0 for log in logs)
    assert_trl_clip_fractions_match_the_bounds(trainer)
    assert all(math.isfinite(log["loss"]) for log in logs)


def test_dcpo_token_wise_bounds_drive_trl_loss(tmp_path: Path, tiny_model: Any, tiny_tokenizer: Any) -> None:
    trainer = train(tiny_model, tiny_tokenizer, make_config(tmp_path, "dcpo"))
    for log, record in zip(step_logs(trainer), trainer.records, strict=True):
        assert isinstance(record.c_low, torch.Tensor) and record.c_low.shape == record.ratio.shape
        # Bounds lie in [0.5, 1) and (1, 10]; the logged values are their mean over unmasked tokens.
        assert 0.5 <= log["clip/c_low"] < 1.0 < log["clip/c_high"] <= 10.0
        mask = record.mask.bool()
        assert log["clip/c_low"] == pytest.approx(record.c_low[mask].mean().item(), rel=1e-5)
        assert log["clip/c_high"] == pytest.approx(record.c_high[mask].mean().item(), rel=1e-5)
    assert_trl_clip_fractions_match_the_bounds(trainer)


def test_static_mode_is_trl_stock_clipping(tmp_path: Path, tiny_model: Any, tiny_tokenizer: Any) -> None:
    trainer = train(tiny_model, tiny_tokenizer, make_config(tmp_path, "static"))
    assert (trainer.epsilon_low, trainer.epsilon_high) == (0.2, 0.28)
    for log in step_logs(trainer):
        assert (log["clip/c_low"], log["clip/c_high"]) == pytest.approx((0.8, 1.28))
        assert math.isfinite(log["loss"])
    assert_trl_clip_fractions_match_the_bounds(trainer)


def test_config_warns_when_training_is_on_policy(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="on-policy"):
        make_config(tmp_path, "bapo", num_iterations=1)
    # Generation batches spanning optimiser steps are off-policy too: no warning.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        make_config(tmp_path, "bapo", num_iterations=1, steps_per_generation=2)
    assert not [w for w in caught if "on-policy" in str(w.message)]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"clip_mode": "ppo"}, "clip_mode must be one of"),
        ({"loss_type": "sapo"}, "does not use"),
        ({"clip_mode": "dcpo", "importance_sampling_level": "sequence"}, "importance_sampling_level='token'"),
        ({"bapo_low_max": 1.1}, "BAPO bounds"),
        ({"bapo_high_step": 0.0}, "steps must be positive"),
        ({"delta": 2.0}, "delta must exceed"),
    ],
)
def test_config_rejects_inconsistent_clipping(tmp_path: Path, overrides: dict[str, Any], message: str) -> None:
    settings = {"clip_mode": "bapo", **overrides}
    with pytest.raises(ValueError, match=message):
        make_config(tmp_path, **settings)


def test_trainer_requires_the_corecraft_config(tmp_path: Path, tiny_model: Any, tiny_tokenizer: Any) -> None:
    with pytest.raises(TypeError, match="CorecraftGRPOConfig"):
        CorecraftGRPOTrainer(
            model=tiny_model,
            reward_funcs=shorter_is_better,
            args=GRPOConfig(output_dir=str(tmp_path), use_cpu=True, report_to=[]),
            processing_class=tiny_tokenizer,
        )
