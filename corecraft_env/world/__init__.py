"""The CoreCraft Computers world: schema, seeded generator, policy document and the store of isolated copies."""

from functools import cache
from importlib.resources import files

from .generator import GENERATOR_VERSION, NOW
from .store import World, WorldCacheWarning, load_world, validate_seed, world_hash


@cache
def policy_document() -> str:
    """The company policy an agent receives, as Markdown (shipped inside the package)."""
    return files(__package__).joinpath("policy.md").read_text(encoding="utf-8")


__all__ = [
    "GENERATOR_VERSION", "NOW", "World", "WorldCacheWarning", "load_world", "policy_document", "validate_seed",
    "world_hash",
]
