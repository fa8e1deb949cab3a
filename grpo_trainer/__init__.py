"""GRPO training on Corecraft with TRL, with adaptive (BAPO), token-wise (DCPO) or static clipping.

`import grpo_trainer` stays light: torch, transformers and trl load on first access to a name below.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grpo_trainer.config import CorecraftEnvConfig, CorecraftGRPOConfig
    from grpo_trainer.rollout import CorecraftRollout, EpisodeRecord, rubric_reward
    from grpo_trainer.trainer import CorecraftGRPOTrainer

_LAZY_NAMES = {
    "CorecraftGRPOConfig": "grpo_trainer.config",
    "CorecraftEnvConfig": "grpo_trainer.config",
    "CorecraftGRPOTrainer": "grpo_trainer.trainer",
    "CorecraftRollout": "grpo_trainer.rollout",
    "EpisodeRecord": "grpo_trainer.rollout",
    "rubric_reward": "grpo_trainer.rollout",
}

__all__ = list(_LAZY_NAMES)


def __getattr__(name: str) -> Any:
    if name not in _LAZY_NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY_NAMES[name]), name)
