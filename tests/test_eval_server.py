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
from corecraft_env.cli import main
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
        if kind == "check":
            return None  # the model checks before the run pass: the failures come later
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


# -- `corecraft eval` against a server that refuses: fatal at once, errored episodes, --retry-errors ------------------
def eval_command(server, run_dir: Path, *extra: str) -> list[str]:
    return ["eval", "--agent", "litellm", "--model", "openai/scripted", "--api-base", server.url, "--tasks-dir", str(DEMO),
            "--split", "all", "-k", "2", "-c", "2", "-q", "--retry-base-delay", "0.01", "--agent-timeout", "5",
            "--judge-timeout", "5", "--no-judge-cache", "-o", str(run_dir), *extra]


def test_a_wrong_key_stops_eval_before_any_episode(serve, tmp_path, capsys):
    server = serve(faults=lambda kind, body, seen: "401")
    assert main(eval_command(server, tmp_path / "run")) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("corecraft eval: error: agent model openai/scripted refused a test request: AuthenticationError")
    assert "Incorrect API key provided" in err and err.endswith("check the API key (--api-key-env names the variable holding it)")
    assert "\n" not in err
    assert server.counts == Counter({("check", "401"): 1})  # one request, not retried, and no episode started
    assert not (tmp_path / "run").exists()  # nothing written: the same -o can be used with other settings


def test_an_unknown_judge_model_stops_eval_before_any_episode(serve, tmp_path, capsys):
    server = serve(faults=lambda kind, body, seen: "404" if body["model"] == "no-such-judge" else None)
    command = eval_command(server, tmp_path / "run", "--judge", "openai/no-such-judge", "--judge-api-base", server.url)
    assert main(command) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("corecraft eval: error: judge model openai/no-such-judge refused a test request: NotFoundError")
    assert "The model `no-such-judge` does not exist" in err and err.endswith("check the model name and the API base URL")
    assert server.counts == Counter({("check", "ok"): 1, ("check", "404"): 1})  # the agent's check, then the judge's
    assert not (tmp_path / "run").exists()


def test_a_key_revoked_mid_run_stops_it_at_once_and_the_same_command_runs_it_after_the_fix(serve, tmp_path, capsys):
    state = {"key_valid": True}
    # The checks pass; then every agent request is refused until the key is fixed.
    server = serve(faults=lambda kind, body, seen: None if kind == "check" or state["key_valid"] else "401")
    state["key_valid"] = False
    command = eval_command(server, tmp_path / "run")
    assert main(command) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("corecraft eval: error: the agent's model openai/scripted failed: AuthenticationError")
    assert server.counts[("agent", "401")] <= 2  # at most the two episodes in flight, each asked once: not 4 x 4 tries
    assert not (tmp_path / "run" / "episodes.jsonl").exists()  # the refused episodes are not recorded
    state["key_valid"] = True
    assert main(command) == 0
    assert "(ran 4 episodes now, 0 before)" in capsys.readouterr().out
    assert all(r["status"] == "ok" and r["passed"] for r in lines(tmp_path / "run"))


def test_a_server_error_then_an_answer_is_retried_and_eval_succeeds(serve, tmp_path, capsys):
    server = serve(faults=lambda kind, body, seen: "500" if seen == 0 else None)  # every request fails once, then answers
    command = eval_command(server, tmp_path / "run", "--judge", "openai/scripted-judge", "--judge-api-base", server.url)
    assert main(command) == 0, capsys.readouterr().err
    assert server.counts[("check", "500")] == 2 and server.counts[("check", "ok")] == 2  # agent and judge checks
    assert server.counts[("agent", "500")] == server.counts[("agent", "ok")] > 0
    # Both trials show the judge the same transcript: the first request fails, the other trial's and the retry answer.
    assert server.counts[("judge", "500")] == 1 and server.counts[("judge", "ok")] == 2
    records = lines(tmp_path / "run")
    assert len(records) == 4 and all(r["status"] == "ok" and r["passed"] and not r["errored"] for r in records)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["errors"] == [] and summary["agent_retries"] == server.counts[("agent", "500")]


def test_errored_episodes_exit_nonzero_with_each_cause_and_retry_errors_runs_them_again(serve, tmp_path, capsys):
    state = {"down": True}

    def faults(kind, body, seen):
        if kind == "check" or not state["down"]:
            return None
        if kind == "judge":
            return "500"  # no verdict for the judge criterion of demo-partial-return-001
        return "500" if "ord-250906-106" in json.dumps(body["messages"][1]) else None  # demo-order-status-001's agent

    server = serve(faults=faults)
    command = eval_command(server, tmp_path / "run", "--agent-retries", "2", "--judge-retries", "2", "--judge",
                           "openai/scripted-judge", "--judge-api-base", server.url)
    assert main(command) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "corecraft eval: 4 of 4 episodes errored; the first error of each kind:"
    assert err[1].startswith("  agent InternalServerError (2 episodes): AgentError: model openai/scripted failed after 2 attempt(s)")
    assert err[2].startswith("  judge InternalServerError (2 verdicts): judge openai/scripted-judge gave no verdict after 2 attempt(s)")
    assert err[3] == ("corecraft eval: fix the cause, then run the same command with --retry-errors to run those episodes "
                      "again")
    assert main(command) == 1  # resuming runs nothing new: the errored episodes are still there, and still counted
    assert "(ran 0 episodes now, 4 before)" in capsys.readouterr().out
    state["down"] = False
    assert main([*command, "--retry-errors"]) == 0
    captured = capsys.readouterr()
    assert "running 4 errored episode(s) again (--retry-errors)" in captured.err and "(ran 4 episodes now, 0 before)" in captured.out
    records = lines(tmp_path / "run")
    assert sorted((r["task_id"], r["trial"]) for r in records) == [(t, k) for t in ("demo-order-status-001", "demo-partial-return-001")
                                                                    for k in (0, 1)]
    assert all(r["status"] == "ok" and r["passed"] for r in records)
