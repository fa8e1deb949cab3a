"""Evaluation that can tell: bootstrap intervals over tasks, tool-call validity and replies flagged by the rubrics'
reward-hack checks, from synthetic records and from real episodes on the demo tasks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from corecraft_env.env import CorecraftEnv
from corecraft_env.eval import format_table, summarize
from corecraft_env.eval.metrics import bootstrap_ci95
from corecraft_env.eval.runner import EvalConfig, run_episode_record
from corecraft_env.tasks import TaskSet
from corecraft_env.tasks.criteria import reply_hack_flags

DEMO = Path(__file__).parent / "data" / "demo"
STATUS = "demo-order-status-001"


def record(task: str, trial: int, passed: bool, reward: float, **extra) -> dict:
    return {"task_id": task, "trial": trial, "passed": passed, "reward": reward, "category": "reasoning",
            "difficulty": "easy", "status": "ok", "verdicts": [], "errored": [], **extra}


def test_bootstrap_interval_is_seeded_holds_the_mean_and_narrows_with_more_tasks():
    values = [1.0, 0.0, 1.0, 1.0, 0.0, 0.5]
    low, high = bootstrap_ci95(values)
    assert bootstrap_ci95(values) == [low, high] and low < sum(values) / len(values) < high
    assert bootstrap_ci95([0.7] * 5) == [pytest.approx(0.7), pytest.approx(0.7)]
    wide, narrow = bootstrap_ci95(values), bootstrap_ci95(values * 20)
    assert narrow[1] - narrow[0] < (wide[1] - wide[0]) / 2
    assert bootstrap_ci95([]) is None


def test_summary_reports_intervals_over_tasks_validity_and_flagged_replies():
    records = [record(f"t{i}", 0, i % 2 == 0, 1.0 if i % 2 == 0 else 0.25, final_reply="ok",
                      tool_call_counts={"calls": 4, "valid": 3 if i < 2 else 4}, hack_flags=["raw_output"] if i == 0 else [])
               for i in range(8)]
    overall = summarize(records)["overall"]
    assert overall["pass@1"] == 0.5 and overall["pass@1_ci95"][0] < 0.5 < overall["pass@1_ci95"][1]
    assert overall["reward"]["ci95"][0] < overall["reward"]["mean"] < overall["reward"]["ci95"][1]
    assert overall["tool_calls"] == {"calls": 32, "valid": 30, "validity": 30 / 32}
    assert overall["hack_flagged"] == {"replies": 8, "share": 1 / 8, "by_check": {"raw_output": 1}}
    table = format_table(summarize(records))
    assert "95% bootstrap intervals over tasks: pass@1 [" in table and "well-formed 93.8%" in table and "12.5% of 8" in table


def test_reply_hack_flags_catch_pasted_output_and_echoes():
    request = "Where is my order ord-250906-106? It was supposed to arrive last week and I still have nothing."
    assert reply_hack_flags('{"order_id": "ord-250906-106", "status": "shipped"}', request) == ["raw_output"]
    assert reply_hack_flags(request, request) == ["echo"]
    assert reply_hack_flags("Your order ord-250906-106 is in transit with FedEx.", request) == []


class Scripted:
    """Sends fixed actions: raw text the environment cannot read, an unknown tool, a call that runs, then a reply."""

    def __init__(self, actions: list) -> None:
        self.actions = list(actions)

    def reset(self, observation: str, info: dict) -> None:
        pass

    def act(self, observation: str, info: dict):
        return self.actions.pop(0)


def test_episode_records_count_well_formed_calls_and_flag_the_reply(tmp_path: Path):
    task_set = TaskSet(DEMO / "tasks")
    env = CorecraftEnv(split=None, task_set=task_set)
    config = EvalConfig(out=str(tmp_path))
    actions = ["<tool_call>{not json", {"tool": "launchRocket", "arguments": {}},
               {"tool": "getOrderDetails", "arguments": {"order_id": "ord-250906-106"}},
               {"tool": "getOrderDetails", "arguments": {"order_id": "ord-000000-000"}},  # runs, finds nothing: valid
               {"reply": json.dumps({"order_id": "ord-250906-106", "status": "shipped"})}]
    rec = run_episode_record(env, Scripted(actions), task_set.get(STATUS), 0, config, None, {STATUS: "h"})
    assert rec["tool_call_counts"] == {"calls": 4, "valid": 2} and rec["hack_flags"] == ["raw_output"]
    task = task_set.get(STATUS)
    oracle = [{"tool": c.name, "arguments": c.arguments} for c in task.reference_tool_calls] + [{"reply": task.reference_reply}]
    rec = run_episode_record(env, Scripted(oracle), task, 0, config, None, {STATUS: "h"})
    assert rec["passed"] and rec["hack_flags"] == []
    assert rec["tool_call_counts"] == {"calls": len(task.reference_tool_calls), "valid": len(task.reference_tool_calls)}
