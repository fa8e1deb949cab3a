"""The LiteLLM agent and the LiteLLM judge against a real OpenAI-compatible HTTP server on 127.0.0.1 (started and
stopped by each test), including fault injection (500s, 429s, timeouts, malformed JSON) and a SIGKILLed run that
resumes with every (task, trial) recorded exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import gymnasium as gym
import pytest

import corecraft_env  # noqa: F401
from corecraft_env.agents import OracleAgent, run_episode
from corecraft_env.agents.litellm_agent import AgentError, LiteLLMAgent
from corecraft_env.eval import EvalConfig, run_eval
from corecraft_env.judge import RetryPolicy, make_judge
from corecraft_env.tasks import TaskSet
from openai_stub_server import OracleScript, StubOpenAIServer

DEMO = Path(__file__).parent / "data" / "demo"
FAST_RETRY = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05)


@pytest.fixture(scope="module")
def demo() -> TaskSet:
    return TaskSet(DEMO / "tasks", DEMO / "rubrics")


@pytest.fixture
def serve(demo):
    """Start a stub server (kwargs: faults, latency, parallel...) and stop it, checked, at teardown."""
    servers = []

    def start(parallel: bool = False, **kwargs) -> StubOpenAIServer:
        server = StubOpenAIServer(agent_script=OracleScript(demo, parallel=parallel), **kwargs).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
        assert not server.running


def config(tmp_path, server, **overrides) -> EvalConfig:
    options = dict(out=str(tmp_path / "run"), agent="litellm", model="openai/scripted", api_base=server.url,
                   tasks_dir=str(DEMO / "tasks"), rubrics_dir=str(DEMO / "rubrics"), split=None, trials=2, concurrency=4,
                   judge="openai/scripted-judge", judge_api_base=server.url, judge_cache_dir=str(tmp_path / "judge-cache"),
                   retry_base_delay=0.01, retry_max_delay=0.05, agent_timeout=5.0, judge_timeout=5.0, progress=False)
    options.update(overrides)
    return EvalConfig(**options)


def lines(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "episodes.jsonl").read_text().splitlines()]


def test_litellm_agent_talks_to_the_server_with_tools_and_tool_messages(serve, demo):
    server = serve()
    env = gym.make("Corecraft-v0", task_set=demo, split=None)
    agent = LiteLLMAgent("openai/scripted", api_base=server.url, retry=FAST_RETRY)
    result = run_episode(env, agent, "demo-partial-return-001")
    assert result.passed and result.reward == 1.0 and result.steps == 5
    assert server.counts[("agent", "ok")] == 5
    roles = [m["role"] for m in agent.messages]
    assert roles == ["system", "user"] + ["assistant", "tool"] * 4 + ["assistant"]
    refund = next(m for m in agent.messages if m["role"] == "tool" and m["name"] == "createRefund")
    assert refund["tool_call_id"] == "call_1_0" and json.loads(refund["content"])["refund"]["id"] == "ref-00221"
    assert agent.usage["prompt_tokens"] > 0 and agent.stats["retries"] == 0


def test_parallel_tool_calls_in_one_message_get_one_tool_message_each(serve, demo):
    server = serve(parallel=True)
    env = gym.make("Corecraft-v0", task_set=demo, split=None)
    agent = LiteLLMAgent("openai/scripted", api_base=server.url, retry=FAST_RETRY)
    result = run_episode(env, agent, "demo-partial-return-001")
    assert result.passed and result.steps == 2
    tools = [m for m in agent.messages if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in tools] == ["call_0_0", "call_0_1", "call_0_2", "call_0_3"]
    assert json.loads(tools[2]["content"])["status"] == "refund_requested"


def test_litellm_judge_decides_the_judge_criterion_and_caches_it(serve, demo, tmp_path):
    server = serve()
    judge = make_judge("openai/scripted-judge", api_base=server.url, cache_dir=tmp_path, base_delay=0.01)
    env = gym.make("Corecraft-v0", task_set=demo, split=None, judge=judge)
    result = run_episode(env, OracleAgent(demo), "demo-partial-return-001")
    tone = next(v for v in result.info["score"]["verdicts"] if v["criterion_id"] == "tone")
    assert tone["source"] == "judge" and tone["passed"] is True and "shipping" in tone["reason"]
    assert server.counts[("judge", "ok")] == 1
    run_episode(env, OracleAgent(demo), "demo-partial-return-001")  # the same trajectory: the verdict comes from the cache
    assert server.counts[("judge", "ok")] == 1 and judge.stats["cached"] == 1


def test_eval_with_litellm_agent_and_judge_records_everything(serve, tmp_path):
    server = serve()
    summary = run_eval(config(tmp_path, server))
    records = lines(tmp_path / "run")
    assert sorted((r["task_id"], r["trial"]) for r in records) == [(t, k) for t in ("demo-order-status-001", "demo-partial-return-001") for k in (0, 1)]
    assert summary["overall"]["pass@1"] == 1.0 and summary["overall"]["pass^k"]["2"] == 1.0
    partial = next(r for r in records if r["task_id"] == "demo-partial-return-001")
    assert partial["model"] == "openai/scripted" and partial["judge"] == "openai/scripted-judge"
    assert [m["role"] for m in partial["messages"]] == ["user"] + ["assistant", "tool"] * 4 + ["assistant"]
    assert partial["messages"][1]["tool_calls"][0]["function"]["name"] == "getOrderDetails"
    assert partial["tokens"]["prompt_tokens"] > 0 and len(partial["task_hash"]) == 64 and len(partial["world_hash"]) == 64
    assert [c["criterion_id"] for c in partial["judge_calls"]] == ["tone"]
    assert summary["judge_calls"]["calls"] == 2 and summary["judge_calls"]["errored"] == 0


def test_transient_faults_at_a_high_rate_are_retried_and_the_run_completes(serve, tmp_path):
    kinds = ["500", "timeout", "bad_json", "429"]

    def faults(kind, body, seen):  # the first two tries of every distinct request fail: > 60 % of all requests
        if seen < 2:
            return "bad_verdict" if kind == "judge" and seen == 1 else kinds[(len(json.dumps(body)) + seen) % len(kinds)]
        return None

    # A timeout fault holds its answer well past the client's timeout, and an answered request stays far below it even
    # on a loaded 2-core CI machine (a 0.25 s timeout there also cut off slow but healthy answers).
    server = serve(faults=faults, timeout_hold=3.0)
    summary = run_eval(config(tmp_path, server, agent_timeout=1.5, judge_timeout=1.5, judge_cache=False))
    records = lines(tmp_path / "run")
    assert len(records) == 4 and all(r["status"] == "ok" for r in records)
    assert summary["overall"]["pass@1"] == 1.0 and summary["overall"]["errored_criteria"] == 0
    failed = sum(n for (kind, outcome), n in server.counts.items() if outcome != "ok")
    assert failed / sum(server.counts.values()) > 0.6
    assert {outcome for (_, outcome) in server.counts} >= {"500", "timeout", "bad_json", "bad_verdict"}
    # Every distinct request fails exactly twice: 2 trials x 7 agent requests (5 + 2 steps; the seed differs by trial),
    # and one judge request (both trials show the judge the same trajectory).
    assert summary["agent_retries"] == 2 * 2 * 7
    assert summary["judge_calls"] == {"calls": 2, "cached": 0, "attempts": 4, "retries": 2, "errored": 0}


def test_a_judge_that_never_answers_gives_errored_criteria_and_a_failing_agent_gives_error_records(serve, tmp_path):
    def faults(kind, body, seen):
        if kind == "judge":
            return "500"  # the judge is down for the whole run
        if "ord-250906-106" in json.dumps(body["messages"][1]):
            return "bad_json"  # the agent's model never answers for this task
        return None

    server = serve(faults=faults)
    summary = run_eval(config(tmp_path, server, trials=3, judge_attempts=3, agent_attempts=2, judge_cache=False))
    records = {(r["task_id"], r["trial"]): r for r in lines(tmp_path / "run")}
    assert len(records) == 6  # no episode lost
    for trial in range(3):
        partial = records[("demo-partial-return-001", trial)]
        assert partial["status"] == "ok" and partial["errored"] == ["tone"] and partial["passed"] is False
        assert partial["reward"] == 1.0  # the errored criterion is left out of the reward
        assert partial["judge_calls"][0]["attempts"] == 3 and "InternalServerError" in partial["judge_calls"][0]["errors"][0]
        failed = records[("demo-order-status-001", trial)]
        assert failed["status"] == "error" and "AgentError" in failed["error"] and failed["passed"] is False
    overall = summary["overall"]
    assert overall["errored_criteria"] == 3 and overall["agent_errors"] == 3 and overall["pass@1"] == 0.0
    assert summary["errored_by_criterion"] == {"demo-partial-return-001/tone": 3}
    assert server.counts[("judge", "500")] == 9


def test_agent_error_when_the_model_never_answers(serve, demo):
    server = serve(faults=lambda kind, body, seen: "500")
    env = gym.make("Corecraft-v0", task_set=demo, split=None)
    observation, info = env.reset(options={"task_id": "demo-order-status-001"})
    agent = LiteLLMAgent("openai/scripted", api_base=server.url, retry=RetryPolicy(max_attempts=3, base_delay=0.01))
    agent.reset(observation, info)
    with pytest.raises(AgentError, match="after 3 attempt"):
        agent.act(observation, info)
    assert server.counts[("agent", "500")] == 3 and agent.stats["retries"] == 2


def test_sigkill_mid_run_then_resume_records_every_episode_exactly_once(serve, tmp_path):
    server = serve(latency=0.1)
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "corecraft_env", "eval", "--agent", "litellm", "--model", "openai/scripted",
               "--api-base", server.url, "--tasks-dir", str(DEMO), "--split", "all", "-k", "8", "-c", "2", "-q", "-o", str(run_dir)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ})
    deadline = time.monotonic() + 90
    log = run_dir / "episodes.jsonl"
    while time.monotonic() < deadline and process.poll() is None:
        if log.exists() and log.read_text().count("\n") >= 3:
            break
        time.sleep(0.05)
    assert process.poll() is None, f"the run ended before it could be killed: {process.communicate()[1][-2000:]}"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    before = log.read_text().splitlines()
    assert 3 <= len(before) < 16, "the kill must land mid-run"
    with log.open("a") as handle:  # what a write cut short by the kill looks like
        handle.write('{"schema": "corecraft-eval/1", "task_id": "demo-order-st')
    resumed = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "dropped a torn last line" in resumed.stderr
    records = lines(run_dir)
    keys = Counter((r["task_id"], r["trial"]) for r in records)
    assert len(keys) == 16 and set(keys.values()) == {1}
    assert [json.dumps(r, separators=(",", ":"), ensure_ascii=False) for r in records[:len(before)]] == before  # kept as they were
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["overall"]["episodes"] == 16 and summary["run"]["resumed_from"] == len(before)
    assert summary["overall"]["pass@1"] == 1.0 and "pass@1" in resumed.stdout
