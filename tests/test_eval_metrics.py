"""Metrics (pass@1, pass^k, reward spread, errored counts) and the run log (atomic lines, torn-line recovery)."""

from __future__ import annotations

import json
import statistics
from math import comb

import pytest

from corecraft_env.eval import EpisodeLog, RunFileError, format_table, pass_hat_k, summarize


def record(task: str, trial: int, passed: bool, reward: float, category: str = "reasoning", difficulty: str = "easy", **extra) -> dict:
    return {"task_id": task, "trial": trial, "passed": passed, "reward": reward, "category": category,
            "difficulty": difficulty, "status": "ok", "verdicts": [], "errored": [], **extra}


def test_pass_hat_k_matches_the_tau_bench_definition():
    assert pass_hat_k(4, 4, 4) == 1.0
    assert pass_hat_k(2, 4, 2) == comb(2, 2) / comb(4, 2) == pytest.approx(1 / 6)
    assert pass_hat_k(1, 4, 2) == 0.0
    assert pass_hat_k(3, 4, 1) == 0.75
    with pytest.raises(ValueError, match="1 <= k <= n"):
        pass_hat_k(1, 2, 3)


def test_summary_pass_rates_reward_spread_and_groups():
    records = [record("a", t, p, r) for t, (p, r) in enumerate([(True, 1.0), (True, 1.0), (False, 0.5), (True, 1.0)])]
    records += [record("b", t, t == 0, 1.0 if t == 0 else 0.0, category="communication", difficulty="hard") for t in range(4)]
    summary = summarize(records)
    overall = summary["overall"]
    assert overall["tasks"] == 2 and overall["episodes"] == 8
    assert overall["pass@1"] == pytest.approx((3 / 4 + 1 / 4) / 2)
    assert overall["pass^k"]["2"] == pytest.approx((comb(3, 2) / comb(4, 2) + 0) / 2)
    assert overall["pass^k"]["4"] == 0.0
    # per-trial means: (1+1)/2, (1+0)/2, (0.5+0)/2, (1+0)/2 -> sample std of [1, .5, .25, .5]
    assert overall["reward"]["trial_means"] == [1.0, 0.5, 0.25, 0.5]
    assert overall["reward"]["std_over_trials"] == pytest.approx(statistics.stdev([1.0, 0.5, 0.25, 0.5]))
    assert list(summary["by_category"]) == ["communication", "reasoning"]  # the categories' canonical order
    assert summary["by_category"]["communication"]["pass@1"] == 0.25
    assert summary["by_difficulty"]["easy"]["pass^k"]["3"] == pytest.approx(comb(3, 3) / comb(4, 3))


def test_pass_hat_k_uses_only_tasks_with_enough_trials():
    records = [record("a", 0, True, 1.0), record("a", 1, True, 1.0), record("b", 0, False, 0.0)]
    overall = summarize(records)["overall"]
    assert overall["pass^k"]["2"] == 1.0 and overall["pass^k_tasks"]["2"] == 1
    assert overall["pass^k"]["1"] == pytest.approx(0.5)


def test_errored_criteria_agent_errors_and_most_failed_are_counted():
    verdicts = [{"criterion_id": "tone", "kind": "judge", "description": "explains shipping", "passed": None, "reason": "judge failed", "source": "error"},
                {"criterion_id": "refund", "kind": "state", "description": "refund made", "passed": False, "reason": "none", "source": "code"}]
    records = [record("a", 0, False, 0.0, verdicts=verdicts, errored=["tone"],
                      judge_calls=[{"criterion_id": "tone", "passed": None, "attempts": 3, "retries": 2, "cached": False}]),
               record("a", 1, False, 0.0, status="error", error="AgentError: down")]
    summary = summarize(records)
    assert summary["overall"]["errored_criteria"] == 1 and summary["overall"]["agent_errors"] == 1
    assert summary["errored_by_criterion"] == {"a/tone": 1}
    assert summary["judge_calls"] == {"calls": 1, "cached": 0, "attempts": 3, "retries": 2, "errored": 1}
    top = summary["criteria_most_failed"][0]
    assert (top["criterion_id"], top["failed"], top["fail_rate"]) == ("refund", 1, 1.0)
    table = format_table(summary)
    assert "all" in table and "category: reasoning" in table and "judge: 1 verdicts" in table


def test_log_appends_whole_lines_and_reloads(tmp_path):
    log = EpisodeLog(tmp_path / "episodes.jsonl")
    for trial in range(3):
        log.append(record("a", trial, True, 1.0))
    log.close()
    lines = (tmp_path / "episodes.jsonl").read_text().splitlines()
    assert len(lines) == 3 and all(json.loads(line)["task_id"] == "a" for line in lines)
    assert [r["trial"] for r in EpisodeLog(tmp_path / "episodes.jsonl").load()] == [0, 1, 2]


def test_a_torn_last_line_is_dropped_and_cut_from_the_file(tmp_path):
    path = tmp_path / "episodes.jsonl"
    whole = json.dumps(record("a", 0, True, 1.0)) + "\n"
    path.write_text(whole + '{"task_id": "a", "trial": 1, "pas')
    log = EpisodeLog(path)
    assert [r["trial"] for r in log.load()] == [0]
    assert log.dropped_torn_line
    assert path.read_text() == whole  # repaired: the next append starts on a fresh line
    log.append(record("a", 1, True, 1.0))
    log.close()
    assert [r["trial"] for r in EpisodeLog(path).load()] == [0, 1]


def test_a_damaged_line_inside_the_file_or_a_duplicate_is_an_error(tmp_path):
    path = tmp_path / "episodes.jsonl"
    path.write_text(json.dumps(record("a", 0, True, 1.0)) + "\nnot json\n" + json.dumps(record("a", 1, True, 1.0)) + "\n")
    with pytest.raises(RunFileError, match="line 2 is not a valid episode record"):
        EpisodeLog(path).load()
    path.write_text((json.dumps(record("a", 0, True, 1.0)) + "\n") * 2)
    with pytest.raises(RunFileError, match="line 2 repeats task 'a' trial 0"):
        EpisodeLog(path).load()
