"""Agents that act in Corecraft-v0, and ``run_episode`` to drive one through an episode."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from .reference import NullAgent, OracleAgent, PolicyBlindAgent, RandomAgent


class Agent(Protocol):
    def reset(self, observation: str, info: dict) -> None: ...

    def act(self, observation: str, info: dict) -> dict | str: ...


@dataclass
class EpisodeResult:
    task_id: str
    reward: float
    passed: bool
    steps: int
    truncated: bool
    info: dict = field(repr=False)


def run_episode(env, agent: Agent, task_id: str | None = None, seed: int | None = None) -> EpisodeResult:
    """Reset ``env`` (on ``task_id`` if given) and let ``agent`` act until the episode ends."""
    observation, info = env.reset(seed=seed, options={"task_id": task_id} if task_id else None)
    agent.reset(observation, info)
    task_id = info["task_id"]
    while True:
        observation, reward, terminated, truncated, step_info = env.step(agent.act(observation, info))
        if terminated or truncated:
            return EpisodeResult(task_id, reward, step_info["passed"], step_info["step"], truncated, step_info)


__all__ = ["Agent", "EpisodeResult", "NullAgent", "OracleAgent", "PolicyBlindAgent", "RandomAgent", "run_episode"]
