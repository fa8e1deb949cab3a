"""``ScoreTruncation``: a wrapper below it that truncates a Corecraft episode (``TimeLimit``) gets it scored.

``gym.make("Corecraft-v0", max_episode_steps=N)`` puts Gymnasium's ``TimeLimit`` around the environment. It sets
``truncated`` after N steps, but the environment does not know: it neither scores the episode nor ends it.
``Corecraft-v0`` is registered with this wrapper on top (``gym.make`` applies registered wrappers outside
``TimeLimit``): when a step comes back truncated and the environment is still running, the wrapper ends the episode
with ``CorecraftEnv.truncate``, which scores it exactly as the environment scores its own ``max_steps`` truncation
(empty reply, world and trajectory as they stand). The step keeps its observation; its reward and ``info`` become the
episode's score (``reward``, ``passed``, ``score``, ``final_reply``, ``errored``, ``truncation_reason``).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

SCORE_KEYS = ("reward", "passed", "score", "final_reply", "errored", "truncation_reason")


class ScoreTruncation(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Score a Corecraft episode that a wrapper below (``TimeLimit``) truncates. See the module docstring."""

    def __init__(self, env: gym.Env) -> None:
        gym.utils.RecordConstructorArgs.__init__(self)
        gym.Wrapper.__init__(self, env)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        observation, reward, terminated, truncated, info = self.env.step(action)
        corecraft = self.env.unwrapped
        if truncated and not terminated and not corecraft.done:
            _, reward, _, _, score_info = corecraft.truncate(f"no final reply after {info['step']} steps")
            info = {**info, **{key: score_info[key] for key in SCORE_KEYS}}
        return observation, reward, terminated, truncated, info
