"""The local transformers agent: tool-call parsing (malformed output never crashes), the compact tool list, an
episode with a real (tiny, random) model folder, and the eval runner's hf agent."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import pytest

import corecraft_env  # noqa: F401
from corecraft_env.agents import run_episode
from corecraft_env.agents.hf_agent import HFAgent, parse_output, resolve_model_path
from corecraft_env.export.prompts import PromptContract, describe_tools
from corecraft_env.eval import EvalConfig, run_eval
from corecraft_env.tools import REGISTRY

DEMO = Path(__file__).parent / "data" / "demo"


@pytest.mark.parametrize("text, name, arguments", [
    ('<tool_call>{"name": "getOrderDetails", "arguments": {"order_id": "ord-250906-106"}}</tool_call>', "getOrderDetails", {"order_id": "ord-250906-106"}),
    ('Let me look.\n<tool_call>\n{"name": "getProduct", "arguments": {"product_id": "x"}}\n</tool_call>', "getProduct", {"product_id": "x"}),
    ('<think>order first</think><tool_call>{"name": "searchOrders", "arguments": {}}', "searchOrders", {}),  # unclosed tag
    ('```json\n{"name": "getProduct", "arguments": {"product_id": "y"}}\n```', "getProduct", {"product_id": "y"}),
    ('{"tool": "searchCustomers", "arguments": {"name": "Harris"}} and then I will reply', "searchCustomers", {"name": "Harris"}),
    ('<tool_call>{"function": {"name": "getOrderDetails", "arguments": "{\\"order_id\\": \\"o\\"}"}}</tool_call>', "getOrderDetails", '{"order_id": "o"}'),
])
def test_tool_calls_are_parsed_from_model_text(text, name, arguments):
    action = parse_output(text, step=3)
    assert action["role"] == "assistant" and len(action["tool_calls"]) == 1
    call = action["tool_calls"][0]
    assert call["function"] == {"name": name, "arguments": arguments} and call["id"] == "call_3_0"


def test_several_tool_call_blocks_become_one_message():
    text = '<tool_call>{"name": "a", "arguments": {}}</tool_call>\n<tool_call>{"name": "b", "arguments": {"x": 1}}</tool_call>'
    assert [c["function"]["name"] for c in parse_output(text)["tool_calls"]] == ["a", "b"]


@pytest.mark.parametrize("text, expected", [
    ("Your order has shipped; tracking FE318946901100.", {"reply": "Your order has shipped; tracking FE318946901100."}),
    ('{"reply": "Done."}', {"reply": "Done."}),
    ("", {"reply": ""}),
    ("<think>hmm", {"reply": ""}),
    ('{"order_id": "ord-1"} is the order', {"reply": '{"order_id": "ord-1"} is the order'}),
])
def test_text_without_a_call_is_the_final_reply(text, expected):
    assert parse_output(text) == expected


@pytest.mark.parametrize("text", ['<tool_call>{"name": "getProduct", "arguments": {"product_id": </tool_call>',
                                  "<tool_call>getProduct(product_id='x')</tool_call>", '<tool_call>{"arguments": {}}</tool_call>'])
def test_an_unreadable_call_is_sent_raw_and_the_environment_answers_with_an_error(text):
    action = parse_output(text)
    assert isinstance(action, str)
    env = gym.make("Corecraft-v0", tasks_dir=str(DEMO / "tasks"), rubrics_dir=str(DEMO / "rubrics"), split=None)
    env.reset(options={"task_id": "demo-order-status-001"})
    observation, reward, terminated, truncated, info = env.step(action)
    assert not terminated and "error" in json.loads(observation) and info["action_error"]


def test_the_compact_tool_list_names_every_tool_and_its_required_arguments():
    text = describe_tools(REGISTRY.openai_tools())
    assert len(text.splitlines()) == len(REGISTRY)
    assert "- getOrderDetails(order_id: string): " in text
    assert "status?: pending|paid|fulfilled" in text  # enums are spelled out, optional arguments marked
    assert len(text) < len(json.dumps(REGISTRY.openai_tools())) / 3


class ScriptedLocalModel:
    """Stands in for LocalModel: returns scripted texts, records the prompts it was given."""

    name, context, tokenizer = "scripted", 4096, None

    def __init__(self, outputs: list[str]) -> None:
        self.outputs, self.prompts = list(outputs), []

    def supports_tools(self) -> bool:
        return False

    def render(self, messages, tools=None):
        self.prompts.append(messages)
        return list(range(10))

    def generate(self, ids, prefix_ids, max_new_tokens, temperature=0.0, seed=None, episode=None):
        return self.outputs.pop(0), len(ids), 5


def test_malformed_output_becomes_an_error_observation_and_the_episode_goes_on():
    local = ScriptedLocalModel(['<tool_call>{"name": "getOrderDetails", "arguments": {"order_id": </tool_call>',
                                '<tool_call>{"name": "getOrderDetails", "arguments": {"order_id": "ord-250906-106"}}</tool_call>',
                                "It is in transit with tracking number FE318946901100."])
    env = gym.make("Corecraft-v0", tasks_dir=str(DEMO / "tasks"), rubrics_dir=str(DEMO / "rubrics"), split=None)
    agent = HFAgent(local_model=local)
    result = run_episode(env, agent, "demo-order-status-001")
    assert result.steps == 3 and result.passed, result.info["score"]
    assert agent.stats["unparsed"] == 1
    assert "not valid JSON" in local.prompts[1][-1]["content"]  # the model was shown the environment's error
    assert local.prompts[2][-1]["role"] == "tool" and "FE318946901100" in local.prompts[2][-1]["content"]
    system = local.prompts[0][0]["content"]
    assert "<tool_call>" in system and "- getOrderDetails(order_id: string)" in system


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory, tiny_tokenizer) -> Path:
    from corecraft_env.models import build_tiny_model

    directory = tmp_path_factory.mktemp("tiny-model")
    build_tiny_model(tiny_tokenizer).save_pretrained(directory)
    tiny_tokenizer.save_pretrained(directory)
    return directory


def test_a_real_local_model_folder_runs_episodes_without_crashing(tiny_model_dir, tmp_path):
    summary = run_eval(EvalConfig(out=str(tmp_path / "run"), agent="hf", model=str(tiny_model_dir), tasks_dir=str(DEMO / "tasks"),
                                  rubrics_dir=str(DEMO / "rubrics"), split=None, trials=1, max_steps=2, max_new_tokens=8,
                                  concurrency=2, progress=False))
    records = [json.loads(line) for line in (tmp_path / "run" / "episodes.jsonl").read_text().splitlines()]
    assert len(records) == 2 and all(r["status"] == "ok" for r in records), [r["error"] for r in records]
    assert all(r["model"] == f"hf:{tiny_model_dir}" and r["tokens"]["completion_tokens"] > 0 for r in records)
    assert all(r["messages"][0]["role"] == "user" and len(r["messages"]) >= 2 for r in records)
    assert summary["overall"]["episodes"] == 2 and summary["overall"]["pass@1"] == 0.0  # a random model passes nothing


def test_model_names_resolve_to_the_shared_local_model_cache_and_bad_folders_are_clear_errors(tmp_path, monkeypatch):
    built = []
    monkeypatch.setattr("corecraft_env.models.local_model_path", lambda name, cache_dir=None: built.append(name) or tmp_path / name)
    assert resolve_model_path(None) == tmp_path / "smollm2-135m-instruct"
    assert resolve_model_path("smollm2") == resolve_model_path("corecraft:smollm2-135m-instruct")
    assert resolve_model_path("tiny-random-qwen3") == tmp_path / "tiny-random-qwen3"
    assert built == ["smollm2-135m-instruct"] * 3 + ["tiny-random-qwen3"]
    with pytest.raises(FileNotFoundError, match="not a local model folder"):
        resolve_model_path(tmp_path)


def test_the_reused_system_prompt_cache_gives_the_same_output_as_a_full_forward(tiny_model_dir):
    from corecraft_env.agents.hf_agent import PREFILL_CHUNK, LocalModel

    local = LocalModel(tiny_model_dir)
    local.context = 1 << 16  # the tiny model's nominal 512 would truncate the prompt; its rotary positions go further
    env = gym.make("Corecraft-v0", tasks_dir=str(DEMO / "tasks"), rubrics_dir=str(DEMO / "rubrics"), split=None)
    observation, info = env.reset(options={"task_id": "demo-order-status-001"})
    contract = PromptContract(tool_format="compact", include_policy=False, tools=tuple(t["function"]["name"] for t in info["tools"][:4]))
    agent = HFAgent(local_model=local, max_new_tokens=6, contract=contract)
    agent.reset(observation, info)
    ids, prefix = agent._prompt()
    assert len(prefix) > PREFILL_CHUNK  # the prefix is computed in several chunks
    assert prefix and ids[:len(prefix)] == prefix and len(ids) > len(prefix)
    cached = local.generate(ids, prefix, 6)
    assert local._prefix is not None and local._prefix[0] == prefix
    assert cached == local.generate(ids, None, 6)


def test_the_episode_cache_computes_only_new_tokens_and_gives_the_same_output(tiny_model_dir):
    from corecraft_env.agents.hf_agent import EpisodeCache, LocalModel

    local = LocalModel(tiny_model_dir)
    local.context = 1 << 16
    env = gym.make("Corecraft-v0", tasks_dir=str(DEMO / "tasks"), rubrics_dir=str(DEMO / "rubrics"), split=None)
    agent = HFAgent(local_model=local, max_new_tokens=6)
    agent.reset(*env.reset(options={"task_id": "demo-order-status-001"}))
    ids, prefix = agent._prompt()
    episode = EpisodeCache()
    first = local.generate(ids, prefix, 6, episode=episode)
    assert episode.ids[:len(ids)] == ids and len(episode.ids) == len(ids) + first[2] - 1  # all but the last new token
    # the next turn: this turn's prompt and output, then a tool result and the next header
    following = list(episode.ids) + local.tokenizer("<|im_end|>\n<|im_start|>user\n<tool_response>\n{\"ok\": true}\n"
                                                     "</tool_response><|im_end|>\n<|im_start|>assistant\n",
                                                     add_special_tokens=False)["input_ids"]
    reused = local.generate(following, prefix, 6, episode=episode)
    assert reused == local.generate(following, prefix, 6)  # the same greedy tokens as from the system prompt's cache
    assert episode.ids[:len(following)] == following
    diverging = ids + [following[len(ids)] + 1] + following[len(ids) + 1:]  # the cache is cut where the prompts differ
    assert episode.reusable(diverging).get_seq_length() == len(ids)
