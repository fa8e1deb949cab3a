"""Corecraft-v0 through Gymnasium: registration, check_env, episodes, malformed actions, truncation, isolation,
vector envs. Uses the two fixture tasks in tests/data/demo so it does not depend on the shipped corpus."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import corecraft_env  # noqa: F401  (registers Corecraft-v0)
from corecraft_env.agents import NullAgent, OracleAgent, RandomAgent, run_episode
from corecraft_env.env import CorecraftEnv
from corecraft_env.tasks import TaskSet
from corecraft_env.world import world_hash

DEMO = Path(__file__).parent / "data" / "demo"
RETURN_TASK = "demo-partial-return-001"  # writes: refund, order and payment status
STATUS_TASK = "demo-order-status-001"  # read-only, held out


def make(**kwargs) -> gym.Env:
    return gym.make("Corecraft-v0", tasks_dir=str(DEMO / "tasks"), **kwargs)


@pytest.fixture
def env():
    environment = make()
    yield environment
    environment.close()


def oracle_actions(env, task_id: str) -> list[dict]:
    task = env.unwrapped.tasks.get(task_id)
    return [{"tool": c.name, "arguments": c.arguments} for c in task.reference_tool_calls] + [{"reply": task.reference_reply}]


# -- registration and API conformance --------------------------------------------------------------------------------
def test_registered_on_import_and_by_module_path():
    assert "Corecraft-v0" in gym.registry
    script = (f"import gymnasium as gym; e = gym.make('corecraft_env:Corecraft-v0', tasks_dir={str(DEMO / 'tasks')!r}); "
              "o, i = e.reset(options={'task_id': 'demo-order-status-001'}); print(i['task_id'])")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == STATUS_TASK


def test_the_requester_is_shown_as_an_inbox_shows_them_or_by_id_on_request():
    employee_task = next(t for t in TaskSet() if t.requester["type"] == "employee")
    observation, _ = CorecraftEnv(split=None).reset(options={"task_id": employee_task.id})
    header = observation.split("\n", 1)[0]
    assert header.startswith("From: ") and "@corecraft.com>" in header and "(internal)" in header
    assert employee_task.requester["id"] not in header
    by_id, _ = CorecraftEnv(split=None, requester_form="id").reset(options={"task_id": employee_task.id})
    assert by_id.startswith(f"Request from employee {employee_task.requester['id']}:")
    with pytest.raises(ValueError, match="requester_form must be one of 'inbox', 'id'"):
        CorecraftEnv(split=None, requester_form="name")


def test_check_env_passes(env):
    check_env(env.unwrapped, skip_render_check=False)


def test_reset_info_carries_what_an_agent_and_trainer_need(env):
    observation, info = env.reset(options={"task_id": RETURN_TASK})
    assert observation.startswith("From: Sarah Harris <") and "cust-0237" not in observation
    assert env.observation_space.contains(observation)
    assert {"task_id", "family", "category", "difficulty", "split", "requester", "world_seed", "world_hash", "system_prompt",
            "policy", "tools", "action_format", "max_steps"} <= set(info)
    assert len(info["tools"]) == 23 and info["tools"][0]["type"] == "function"
    assert "30 days" in info["policy"] and info["policy"] in info["system_prompt"]
    assert info["world_hash"] == corecraft_env.world.load_world(0).hash


def test_scripted_oracle_episode_passes(env):
    env.reset(options={"task_id": RETURN_TASK})
    actions = oracle_actions(env, RETURN_TASK)
    for action in actions[:-1]:
        observation, reward, terminated, truncated, info = env.step(json.dumps(action))  # as JSON text, the space's form
        assert (reward, terminated, truncated) == (0.0, False, False)
        assert "error" not in json.loads(observation)
    observation, reward, terminated, truncated, info = env.step(actions[-1])
    assert terminated and not truncated
    assert reward == 1.0 and info["passed"] is True
    assert [v["passed"] for v in info["score"]["verdicts"]] == [True] * 8
    with pytest.raises(RuntimeError, match="call reset"):
        env.step({"reply": "again"})


def test_the_random_agent_acts_the_same_under_any_hash_seed():
    """Validation and `corecraft eval --agent random` rely on it: a seed gives the same calls in every process."""
    script = ("import json; from corecraft_env.agents import RandomAgent; agent = RandomAgent(seed=5, calls=30); "
              "agent.reset('', {}); print(json.dumps([agent.act('', {}) for _ in range(31)]))")
    runs = {subprocess.run([sys.executable, "-c", script], env={**os.environ, "PYTHONHASHSEED": seed}, capture_output=True,
                           text=True, check=True).stdout for seed in ("1", "2", "3")}
    assert len(runs) == 1


@pytest.mark.parametrize("agent", [NullAgent(), RandomAgent(seed=3)], ids=["null", "random"])
def test_reference_baselines_fail(env, agent):
    result = run_episode(env.unwrapped, agent, RETURN_TASK)
    assert not result.passed and result.reward < 1.0


def test_reset_without_task_id_draws_from_the_split_reproducibly():
    first, second = make(split="heldout"), make(split="heldout")
    assert first.reset(seed=5)[1]["task_id"] == STATUS_TASK == second.reset(seed=5)[1]["task_id"]
    assert make(split="train").reset(seed=1)[1]["task_id"] == RETURN_TASK
    assert make().reset(options={"split": "heldout"})[1]["split"] == "heldout"


def test_unknown_task_and_bad_arguments_are_clear():
    with pytest.raises(KeyError, match="no task 'nope'"):
        make().reset(options={"task_id": "nope"})
    with pytest.raises(ValueError, match="max_steps"):
        make(max_steps=0)
    with pytest.raises(ValueError, match="render_mode"):
        make(render_mode="human")


# -- action forms ----------------------------------------------------------------------------------------------------
def test_openai_tool_call_and_assistant_message_forms(env):
    env.reset(options={"task_id": STATUS_TASK})
    openai_call = {"id": "call_1", "type": "function", "function": {"name": "getOrderDetails", "arguments": '{"order_id": "ord-250906-106"}'}}
    observation, *_ , info = env.step(openai_call)
    assert json.loads(observation)["order"]["id"] == "ord-250906-106"
    assert info["tool_calls"] == [{"name": "getOrderDetails", "id": "call_1", "ok": True}]
    message = {"role": "assistant", "content": None, "tool_calls": [
        openai_call, {"id": "call_2", "type": "function", "function": {"name": "getProduct", "arguments": '{"product_id": "nope"}'}}]}
    observation, *_, info = env.step(message)
    results = json.loads(observation)
    assert [r["tool_call_id"] for r in results] == ["call_1", "call_2"]
    assert results[1]["result"]["error"]["type"] == "not_found"
    assert [c["ok"] for c in info["tool_calls"]] == [True, False]
    observation, reward, terminated, truncated, info = env.step({"role": "assistant", "content": "It is in transit, FE318946901100."})
    assert terminated and info["final_reply"].startswith("It is in transit")
    assert reward == 1.0 and info["passed"]  # OpenAI's JSON-text arguments satisfy tool_called criteria


@pytest.mark.parametrize("action, expected", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "must be a JSON object"),
    (42, "must be a JSON object"),
    ({"foo": 1}, "unrecognised action"),
    ({"tool_calls": "getProduct"}, "must be a list"),
    ({"tool_calls": [7]}, "must be an object"),
    ({"reply": 5}, '"reply" must be a string'),
    ({"arguments": {}, "tool": ""}, "no tool name"),
])
def test_malformed_actions_are_observations_and_the_episode_goes_on(env, action, expected):
    env.reset(options={"task_id": STATUS_TASK})
    observation, reward, terminated, truncated, info = env.step(action)
    assert expected in json.loads(observation)["error"]["message"] and expected in info["action_error"]
    assert (reward, terminated, truncated) == (0.0, False, False)
    assert env.observation_space.contains(observation)
    _, reward, terminated, _, info = env.step({"tool": "getOrderDetails", "arguments": {"order_id": "ord-250906-106"}})
    assert not terminated and info["step"] == 2


@pytest.mark.parametrize("action, error_type", [
    ({"tool": "deleteEverything", "arguments": {}}, "unknown_tool"),
    ({"tool": "getOrderDetails", "arguments": {"order": "x"}}, "invalid_arguments"),
    ({"tool": "getOrderDetails", "arguments": "{broken"}, "invalid_json"),
    ({"tool": "getOrderDetails", "arguments": {"order_id": "ord-000000-000"}}, "not_found"),
])
def test_bad_tool_calls_come_back_as_tool_errors(env, action, error_type):
    env.reset(options={"task_id": STATUS_TASK})
    observation, reward, terminated, truncated, info = env.step(action)
    assert json.loads(observation)["error"]["type"] == error_type
    assert not terminated and info["tool_calls"][0]["ok"] is False


# -- truncation, observation limits -----------------------------------------------------------------------------------
def test_max_steps_truncates_and_still_scores():
    env = make(max_steps=2)
    env.reset(options={"task_id": STATUS_TASK})
    lookup = {"tool": "getOrderDetails", "arguments": {"order_id": "ord-250906-106"}}
    assert env.step(lookup)[2:4] == (False, False)
    observation, reward, terminated, truncated, info = env.step(lookup)
    assert truncated and not terminated
    assert info["passed"] is False and info["truncation_reason"] == "no final reply after 2 steps"
    by_id = {v["criterion_id"]: v["passed"] for v in info["score"]["verdicts"]}
    assert by_id == {"looked_up": True, "tracking": False, "status": False, "reply_form": False, "reply_facts": False,
                     "no_writes": True}
    assert reward == pytest.approx(2 / 6)


def test_truncate_ends_the_episode_from_outside_and_scores_it_as_it_stands():
    env = make()
    env.reset(options={"task_id": STATUS_TASK})
    env.step({"tool": "getOrderDetails", "arguments": {"order_id": "ord-250906-106"}})
    observation, reward, terminated, truncated, info = env.unwrapped.truncate("token_budget")  # gym wrappers do not forward it
    assert (terminated, truncated) == (False, True) and info["truncation_reason"] == "token_budget"
    assert info["final_reply"] == "" and info["passed"] is False and reward == pytest.approx(2 / 6)
    with pytest.raises(RuntimeError, match="call reset"):
        env.unwrapped.truncate("again")
    with pytest.raises(RuntimeError, match="call reset"):
        env.step({"reply": "late"})


def test_long_observations_are_cut_with_a_marker():
    env = make(max_observation_chars=500)
    env.reset(options={"task_id": STATUS_TASK})
    observation, *_ = env.step({"tool": "searchCustomers", "arguments": {"limit": 200}})
    assert len(observation) == 500 and "[observation truncated:" in observation
    assert env.observation_space.contains(observation)


def test_characters_outside_the_space_are_replaced(env):
    env.reset(options={"task_id": RETURN_TASK})
    env.step({"tool": "createBuild", "arguments": {"name": "rig \U0001F680 \u4e2d", "product_ids": ["corvex-i7-14700"], "owner_type": "internal"}})
    observation, *_ = env.step({"tool": "searchBuilds", "arguments": {"query": "rig"}})
    assert env.observation_space.contains(observation)
    assert "rig \ufffd \ufffd" in observation


def test_render_ansi_shows_the_last_observation():
    env = make(render_mode="ansi")
    observation, _ = env.reset(options={"task_id": STATUS_TASK})
    assert env.render() == observation


# -- isolation ------------------------------------------------------------------------------------------------------
def test_interleaved_envs_never_see_each_others_writes():
    first, second = make(), make()
    first.reset(options={"task_id": RETURN_TASK})
    second.reset(options={"task_id": RETURN_TASK})
    cancel = {"tool": "updateOrderStatus", "arguments": {"order_id": "ord-250823-104", "status": "cancelled"}}
    lookup = {"tool": "searchOrders", "arguments": {"order_id": "ord-250823-104"}}
    first.step(cancel)
    assert json.loads(second.step(lookup)[0])["orders"][0]["status"] == "delivered"
    assert json.loads(first.step(lookup)[0])["orders"][0]["status"] == "cancelled"


def test_reset_always_returns_the_pristine_world(env):
    _, info = env.reset(options={"task_id": RETURN_TASK})
    for action in oracle_actions(env, RETURN_TASK)[:-1]:
        env.step(action)
    assert world_hash(env.unwrapped.episode.conn) != info["world_hash"]
    _, info = env.reset(options={"task_id": RETURN_TASK})
    assert world_hash(env.unwrapped.episode.conn) == info["world_hash"]
    assert env.unwrapped.episode.conn.execute("SELECT COUNT(*) FROM _episode_writes").fetchone()[0] == 0


# -- vector envs ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("vector_cls, kwargs", [(gym.vector.SyncVectorEnv, {}), (gym.vector.AsyncVectorEnv, {}),
                                               (gym.vector.AsyncVectorEnv, {"shared_memory": False})],
                         ids=["sync", "async", "async-no-shared-memory"])
def test_vector_envs_step_independent_episodes(vector_cls, kwargs):
    envs = vector_cls([lambda: make(task_ids=[STATUS_TASK]), lambda: make(task_ids=[STATUS_TASK])], **kwargs)
    try:
        observations, infos = envs.reset(seed=0)
        assert len(observations) == 2 and list(infos["task_id"]) == [STATUS_TASK, STATUS_TASK]
        lookup = json.dumps({"tool": "getOrderDetails", "arguments": {"order_id": "ord-250906-106"}})
        observations, rewards, terminated, truncated, _ = envs.step((lookup, json.dumps({"reply": ""})))
        assert json.loads(observations[0])["order"]["id"] == "ord-250906-106"
        assert list(terminated) == [False, True] and rewards[1] == pytest.approx(1 / 6)  # no lookup, empty reply: 1 of 6
    finally:
        envs.close()
