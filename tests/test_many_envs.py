"""Many environments per process: one parsed task set shared by all, rubrics checked when an env is built, and
observations inside the space without scanning every result."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import gymnasium as gym
import pytest

import corecraft_env  # noqa: F401  (registers Corecraft-v0)
from corecraft_env.env import CorecraftEnv, contains_outside_charset, world_text_in_charset
from corecraft_env.mcp.sessions import Binding
from corecraft_env.tasks import TaskFormatError, TaskSet
from corecraft_env.world import load_world

DEMO = Path(__file__).parent / "data" / "demo"
RETURN_TASK = "demo-partial-return-001"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A private copy of the demo tasks and rubrics, free to edit."""
    shutil.copytree(DEMO, tmp_path / "demo")
    return tmp_path / "demo"


def test_envs_of_a_process_share_one_task_set(corpus: Path):
    envs = [gym.make("Corecraft-v0", tasks_dir=str(corpus / "tasks")) for _ in range(3)]
    envs.append(CorecraftEnv(split=None, tasks_dir=str(corpus / "tasks"), rubrics_dir=str(corpus / "rubrics")))
    shared = envs[0].unwrapped.tasks
    assert all(env.unwrapped.tasks is shared for env in envs)
    assert TaskSet.from_folder(corpus) is shared  # the CLI's and the MCP server's sets too
    binding = Binding.to_task(TaskSet.from_folder(corpus), RETURN_TASK)
    sessions = [binding.new_session() for _ in range(2)]
    assert all(session._env.tasks is shared for session in sessions)
    # A folder of its own gets a set of its own.
    assert CorecraftEnv(tasks_dir=str(DEMO / "tasks")).tasks is not shared


def edit_request(path: Path, request: str) -> None:
    document = json.loads(path.read_text())
    document["request"] = request
    path.write_text(json.dumps(document))


def test_shared_set_is_parsed_again_when_a_file_changes(corpus: Path):
    task_file = corpus / "tasks" / "train" / f"{RETURN_TASK}.json"
    first = TaskSet.shared(corpus / "tasks")
    assert TaskSet.shared(corpus / "tasks") is first
    edit_request(task_file, "A different request, longer than the first one was.")
    second = TaskSet.shared(corpus / "tasks")
    assert second is not first
    assert second.get(RETURN_TASK).request == "A different request, longer than the first one was."
    assert first.get(RETURN_TASK).request != second.get(RETURN_TASK).request  # a set handed out stays as it was
    # Same size, new modification time: still seen.
    stat = task_file.stat()
    os.utime(task_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert TaskSet.shared(corpus / "tasks") is not second
    # A rubric edit and a removed task file are changes too.
    third = TaskSet.shared(corpus / "tasks")
    rubric = corpus / "rubrics" / f"{RETURN_TASK}.json"
    rubric.write_text(rubric.read_text() + "\n")
    fourth = TaskSet.shared(corpus / "tasks")
    assert fourth is not third
    task_file.unlink()
    assert RETURN_TASK not in TaskSet.shared(corpus / "tasks") and RETURN_TASK in fourth


def test_a_missing_rubric_fails_when_the_env_is_built(corpus: Path):
    (corpus / "rubrics" / f"{RETURN_TASK}.json").unlink()
    with pytest.raises(TaskFormatError, match=f"rubric.*not found.*{RETURN_TASK}"):
        gym.make("Corecraft-v0", tasks_dir=str(corpus / "tasks"), split="heldout")  # even if the pool lacks the task


def test_an_invalid_rubric_fails_when_the_env_is_built(corpus: Path):
    rubric = corpus / "rubrics" / f"{RETURN_TASK}.json"
    document = json.loads(rubric.read_text())
    document["criteria"][0]["kind"] = "telepathy"
    rubric.write_text(json.dumps(document))
    with pytest.raises(TaskFormatError, match="invalid rubric"):
        CorecraftEnv(tasks_dir=str(corpus / "tasks"))


# -- observations inside the space -----------------------------------------------------------------------------------
def test_shipped_worlds_hold_only_charset_text():
    """What lets a step skip scanning results: the world's own text is inside the charset."""
    for seed in (0, 1, 7):
        assert world_text_in_charset(load_world(seed))


def test_outside_charset_is_found_in_nested_values():
    assert contains_outside_charset({"a": [1, {"b": "ok \U0001F600"}]})
    assert contains_outside_charset({"bad\x7fkey": 1})
    assert not contains_outside_charset({"name": "Zoë — 5 × 3 €", "n": [1.5, None, True]})


@pytest.mark.parametrize("action", [
    # A JSON action whose text is ASCII but whose decoded name holds an emoji and DEL.
    '{"tool": "createBuild", "arguments": {"name": "rig \\ud83d\\ude80\\u007f", "product_ids": ["corvex-i7-14700"], "owner_type": "internal"}}',
    # OpenAI form: the arguments are themselves JSON text.
    {"id": "call_1", "type": "function", "function": {"name": "createBuild", "arguments": json.dumps(
        {"name": "rig \U0001F680\x7f", "product_ids": ["corvex-i7-14700"], "owner_type": "internal"})}},
])
def test_agent_text_outside_the_charset_is_replaced_when_read_back(action):
    env = gym.make("Corecraft-v0", tasks_dir=str(DEMO / "tasks"))
    env.reset(options={"task_id": RETURN_TASK})
    observation, *_ = env.step(action)
    assert env.observation_space.contains(observation)
    observation, *_ = env.step({"tool": "searchBuilds", "arguments": {"query": "rig"}})
    assert env.observation_space.contains(observation) and "rig \ufffd\ufffd" in observation
    # A new episode starts from the pristine world: nothing of the agent's is left to replace.
    env.reset(options={"task_id": RETURN_TASK})
    observation, *_ = env.step({"tool": "searchBuilds", "arguments": {"query": "rig"}})
    assert "\ufffd" not in observation and env.observation_space.contains(observation)


@pytest.mark.parametrize("action", [
    {"tool": "getProduct\U0001F600", "arguments": {}},  # unknown tool: the error names it
    {"tool": "getProduct", "arguments": {"product_id": "x\x7f\U0001F600"}},  # the error quotes the argument
    '{"tool": "getProduct", "arguments": \x7f}',  # invalid JSON: the message quotes the text
])
def test_error_observations_echoing_the_action_stay_inside_the_space(action):
    env = gym.make("Corecraft-v0", tasks_dir=str(DEMO / "tasks"))
    env.reset(options={"task_id": RETURN_TASK})
    observation, *_ = env.step(action)
    assert env.observation_space.contains(observation) and '"error"' in observation
