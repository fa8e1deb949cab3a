"""Corecraft: a Gymnasium environment of an enterprise customer-support organisation for LLM agents.

``import corecraft_env`` registers ``Corecraft-v0``; ``gym.make("corecraft_env:Corecraft-v0")`` works without the
import. ``gym.make("Corecraft-v0", world_seed=N)`` draws tasks from the world of seed ``N`` (``seeded``). ``gym.make`` puts ``ScoreTruncation`` around it (outside any ``TimeLimit``), so a ``max_episode_steps``
truncation is scored like the environment's own ``max_steps``. Heavy optional libraries (torch, trl, litellm, mcp)
are never imported here.
"""

from gymnasium.envs.registration import WrapperSpec, register, registry

__version__ = "0.1.0"

if "Corecraft-v0" not in registry:
    register(id="Corecraft-v0", entry_point="corecraft_env.seeded:make_env", additional_wrappers=(
        WrapperSpec("ScoreTruncation", "corecraft_env.wrappers:ScoreTruncation", {}),))
