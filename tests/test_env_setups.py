"""Gymnasium setups that used to go silently wrong: async vector envs with Gymnasium's defaults, ``TimeLimit``
truncation, judges given as model strings or failing in any way, bad options and constructor arguments, and
hostile text a model can send to ``env.step`` (fuzzed). Uses the fixture tasks in tests/data/demo."""

from __future__ import annotations

import json
import string
from pathlib import Path

import gymnasium as gym
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import corecraft_env  # noqa: F401  (registers Corecraft-v0)
from corecraft_env.agents import OracleAgent, run_episode
from corecraft_env.tasks import TaskSet

DEMO = Path(__file__).parent / "data" / "demo"
RETURN_TASK = "demo-partial-return-001"  # its rubric has a judge criterion, "tone"
STATUS_TASK = "demo-order-status-001"
LOOKUP = {"tool": "getOrderDetails", "arguments": {"order_id": "ord-250906-106"}}


def make(**kwargs) -> gym.Env:
    return gym.make("Corecraft-v0", tasks_dir=str(DEMO / "tasks"), **kwargs)


def tone_verdict(info: dict) -> dict:
    return next(v for v in info["score"]["verdicts"] if v["criterion_id"] == "tone")


# -- vector envs with Gymnasium's defaults ---------------------------------------------------------------------------
def play_vector(envs) -> list:
    """Observations of a reset and two steps (a lookup and a reply in one env, a bad action and a lookup in the other)."""
    try:
        seen = [envs.reset(seed=0)[0]]
        seen.append(envs.step((json.dumps(LOOKUP), "{not json"))[0])
        seen.append(envs.step((json.dumps({"reply": "on its way"}), json.dumps(LOOKUP)))[0])
        return seen
    finally:
        envs.close()


def test_async_vector_env_with_defaults_matches_sync():
    kwargs = dict(num_envs=2, tasks_dir=str(DEMO / "tasks"), task_ids=[STATUS_TASK])
    sync = play_vector(gym.make_vec("Corecraft-v0", vectorization_mode="sync", **kwargs))
    async_ = play_vector(gym.make_vec("Corecraft-v0", vectorization_mode="async", **kwargs))
    assert async_ == sync
    assert all(isinstance(batch, tuple) and all(isinstance(o, str) for o in batch) for batch in async_)
    assert sync[0][0].startswith("From: ") and json.loads(sync[1][0])["order"]["id"] == "ord-250906-106"
    assert "not valid JSON" in sync[1][1]


def test_async_vector_env_class_defaults_share_memory_and_decode_each_step():
    envs = gym.vector.AsyncVectorEnv([lambda: make(task_ids=[STATUS_TASK])] * 2)  # shared_memory=True, copy=True
    assert envs.shared_memory
    try:
        first, _ = envs.reset(seed=0)
        second, *_ = envs.step((json.dumps(LOOKUP), json.dumps(LOOKUP)))
        assert first[0].startswith("From: ") and json.loads(second[1])["order"]["status"] == "shipped"
        assert first != second  # the copy handed out earlier does not change with the shared buffer
    finally:
        envs.close()


# -- TimeLimit -------------------------------------------------------------------------------------------------------
def steps_until_done(env, actions) -> tuple:
    env.reset(options={"task_id": STATUS_TASK})
    for action in actions:
        result = env.step(action)
        if result[2] or result[3]:
            return result
    raise AssertionError("the episode did not end")


def test_time_limit_truncation_is_scored_like_max_steps():
    _, reward, terminated, truncated, info = steps_until_done(make(max_episode_steps=2), [LOOKUP] * 3)
    own = steps_until_done(make(max_steps=2), [LOOKUP] * 3)
    assert (terminated, truncated) == (False, True) == own[2:4]
    assert reward == pytest.approx(2 / 6) == own[1]
    assert info["passed"] is False and info["score"] == own[4]["score"]
    assert info["truncation_reason"] == "no final reply after 2 steps" == own[4]["truncation_reason"]
    assert info["step"] == 2 and info["tool_calls"] == own[4]["tool_calls"]


def test_time_limit_longer_than_max_steps_and_replies_are_left_alone():
    _, _, _, truncated, info = steps_until_done(make(max_steps=2, max_episode_steps=5), [LOOKUP] * 3)
    assert truncated and info["truncation_reason"] == "no final reply after 2 steps"
    _, reward, terminated, _, info = steps_until_done(make(max_episode_steps=1), [{"reply": "FE318946901100"}])
    assert terminated and "truncation_reason" not in info and info["final_reply"] == "FE318946901100"  # the reply's score stands


# -- judges ----------------------------------------------------------------------------------------------------------
def test_judge_as_a_litellm_model_string(monkeypatch):
    from openai_stub_server import StubOpenAIServer

    with StubOpenAIServer() as server:
        for name in ("OPENAI_API_BASE", "OPENAI_BASE_URL"):
            monkeypatch.setenv(name, server.url)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        env = make(judge="openai/stub-judge", split=None)
        task_set = TaskSet(DEMO / "tasks", DEMO / "rubrics")
        result = run_episode(env.unwrapped, OracleAgent(task_set), RETURN_TASK)
    verdict = tone_verdict(result.info)
    assert verdict["source"] == "judge" and verdict["passed"] is True
    assert result.passed and result.reward == 1.0


@pytest.mark.parametrize("judge, reason", [
    (lambda task, criterion, episode: 1 / 0, "ZeroDivisionError"),
    (lambda task, criterion, episode: None, "TypeError"),
    (lambda task, criterion, episode: (True, "a", "b"), "ValueError"),
], ids=["raises", "returns-none", "wrong-shape"])
def test_any_judge_failure_is_an_errored_criterion_not_an_exception(judge, reason):
    env = make(judge=judge, split=None)
    env.reset(options={"task_id": RETURN_TASK})
    _, reward, terminated, _, info = env.step({"reply": "We refunded the RAM; shipping is not refundable."})
    assert terminated and info["errored"] == ["tone"] and info["passed"] is False
    verdict = tone_verdict(info)
    assert verdict["passed"] is None and verdict["source"] == "error" and reason in verdict["reason"]


# -- bad arguments ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, error, message", [
    ({"split": "nope"}, ValueError, "split must be one of 'train', 'heldout' or None"),
    ({"tasks_dir": "/nonexistent"}, FileNotFoundError, "'/nonexistent' is not a folder"),
    ({"judge": 3}, TypeError, "LiteLLM model string"),
])
def test_bad_constructor_arguments_say_what_is_valid(kwargs, error, message):
    with pytest.raises(error, match=message):
        gym.make("Corecraft-v0", **{"tasks_dir": str(DEMO / "tasks"), **kwargs})


@pytest.mark.parametrize("options, error, message", [
    ({"taskid": STATUS_TASK}, ValueError, r"unknown reset option\(s\) \['taskid'\]; valid options: 'task_id', 'split'"),
    ({"split": "test"}, ValueError, "must be one of 'train', 'heldout'"),
    (["task_id"], TypeError, "must be a dict"),
])
def test_bad_reset_options_say_what_is_valid(options, error, message):
    with pytest.raises(error, match=message):
        make().reset(options=options)


# -- hostile model output -------------------------------------------------------------------------------------------
TOOLS = ["getOrderDetails", "searchCustomers", "createRefund", "updateOrderStatus", "searchOrders", "noSuchTool"]
NASTY_TEXT = ['{"a":' * 10000 + "1" + "}" * 10000, "[" * 100000, '{"a":' * 900 + "1" + "}" * 900, "1" * 50000,
              "1e999999", "-Infinity", "NaN", '"\\ud800"', '{"query": "\\udfff\\u0000"}', "\x00", "\ufeff{}", "",
              '{"order_id": ' + "9" * 5000 + "}", '{"limit": 1e308}', '{"limit": -0.0}', '{"order_id": null}']
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
hostile_text = st.one_of(
    st.sampled_from(NASTY_TEXT),
    st.text(alphabet=st.sampled_from(list('{}[]":,\\ud0-9eE.+ntrulfas' + string.ascii_letters)), max_size=200),
    st.builds(lambda depth, opener: opener * depth, st.integers(1, 5000), st.sampled_from(["[", '{"a":', '[{"b":'])),
    json_values.map(lambda value: json.dumps(value, allow_nan=True)),
)


def tool_call_with(name: str, arguments: str) -> list:
    """The forms a model may put hostile arguments text in (agent JSON text, OpenAI call, assistant message)."""
    openai = {"type": "function", "function": {"name": name, "arguments": arguments}}
    return [json.dumps({"tool": name, "arguments": arguments}), {"tool": name, "arguments": arguments}, openai,
            json.dumps({"role": "assistant", "content": None, "tool_calls": [openai, openai]}),
            '{"tool": "' + name + '", "arguments": ' + arguments + "}"]


@pytest.fixture(scope="module")
def fuzz_env():
    env = make(max_steps=1000)
    yield env
    env.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(TOOLS), arguments=hostile_text, reply=hostile_text)
def test_step_never_raises_on_hostile_model_text(fuzz_env, name, arguments, reply):
    fuzz_env.reset(options={"task_id": RETURN_TASK})
    for action in [arguments, *tool_call_with(name, arguments)]:
        observation, reward, terminated, truncated, info = fuzz_env.step(action)
        assert fuzz_env.observation_space.contains(observation)
        assert not terminated or info["final_reply"] is not None
        if terminated:
            fuzz_env.reset(options={"task_id": RETURN_TASK})
    for final in (reply, json.dumps({"reply": reply}), {"role": "assistant", "content": reply}):
        observation, reward, terminated, truncated, info = fuzz_env.step(final)
        assert fuzz_env.observation_space.contains(observation) and 0.0 <= reward <= 1.0
        if terminated:
            json.dumps(info["score"])  # the score an evaluation stores is plain JSON
            fuzz_env.reset(options={"task_id": RETURN_TASK})
    fuzz_env.unwrapped.truncate("fuzz")  # scoring a trajectory full of hostile calls does not raise either


def deeply_nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.parametrize("action", [
    {1: "a", "b": 2},  # keys that cannot be sorted together
    deeply_nested(10000),
    {"tool": "getOrderDetails", "arguments": deeply_nested(10000)},
    {"tool_calls": [{"function": {"name": "getOrderDetails", "arguments": deeply_nested(5000)}}]},
    {"tool": "getOrderDetails", "arguments": {"order_id": float("nan")}},
    None,
], ids=["mixed-keys", "deep-action", "deep-arguments", "deep-openai-arguments", "nan", "none"])
def test_step_never_raises_on_hostile_python_values(action):
    env = make()
    env.reset(options={"task_id": STATUS_TASK})
    observation, reward, terminated, truncated, info = env.step(action)
    assert "error" in json.loads(observation) and (reward, terminated, truncated) == (0.0, False, False)
    _, reward, terminated, _, info = env.step({"reply": "on its way"})
    assert terminated and json.dumps(info["score"])


@settings(max_examples=200, deadline=None)
@given(prefix=hostile_text, block=hostile_text, tail=st.sampled_from(["", "</tool_call>", "<tool_call>", "<think>"]))
def test_the_grpo_rollout_parses_any_model_turn(prefix, block, tail):
    from grpo_trainer.rollout import parse_turn, tool_name

    blocks, reply = parse_turn(f"{prefix}<tool_call>{block}{tail}")
    assert isinstance(reply, str) and len(blocks) >= 1
    for text in blocks:
        name = tool_name(text)
        assert isinstance(name, str) and 0 < len(name) <= 100
