"""Shared pytest fixtures. Heavy libraries are imported inside the fixtures that need them."""

from __future__ import annotations

import os
import tempfile
from typing import TYPE_CHECKING

import pytest

# Tests build worlds in a private cache, never the user's (each pytest process builds the seed-0 world once).
os.environ["CORECRAFT_CACHE_DIR"] = tempfile.mkdtemp(prefix="corecraft-test-cache-")
for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "TRL_EXPERIMENTAL_SILENCE", "LITELLM_LOCAL_MODEL_COST_MAP"):
    os.environ.setdefault(name, "1" if name != "LITELLM_LOCAL_MODEL_COST_MAP" else "True")

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast, Qwen3ForCausalLM


@pytest.fixture(scope="session")
def tiny_tokenizer() -> PreTrainedTokenizerFast:
    """Byte-level BPE tokenizer with the Qwen3 chat template, trained in-process (``corecraft_env.models``)."""
    from corecraft_env.models import build_tiny_tokenizer

    return build_tiny_tokenizer()


@pytest.fixture
def tiny_model(tiny_tokenizer: PreTrainedTokenizerFast) -> Qwen3ForCausalLM:
    """A fresh random 2-layer Qwen3 for each test, since training mutates it."""
    from corecraft_env.models import build_tiny_model

    return build_tiny_model(tiny_tokenizer)


@pytest.fixture(scope="session")
def world0():
    """The seed-0 world (built once per test process)."""
    from corecraft_env.world import load_world

    return load_world(0)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Print the reward-probe pass rates that tests/test_reward_probes.py measured (possibly in an xdist worker)."""
    cache = getattr(config, "cache", None)
    table = cache.get("corecraft/reward_probes", None) if cache else None
    if table and "test_reward_probes" in " ".join(str(r.nodeid) for reports in terminalreporter.stats.values()
                                                  for r in reports if hasattr(r, "nodeid")):
        terminalreporter.section("reward probes: share of shipped tasks each reply passes")
        for line in table:
            terminalreporter.write_line(line)
