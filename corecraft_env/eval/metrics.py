"""Metrics of an evaluation run, computed from its episode records.

For a task with ``n`` trials of which ``c`` passed (every rubric criterion met):

* pass@1 = mean over tasks of c / n;
* pass^k (τ-bench) = mean over tasks of C(c, k) / C(n, k): the chance that k trials drawn without replacement
  *all* pass, i.e. reliability. It is computed for every k up to the largest n, over the tasks with n ≥ k.
* reward: the mean over episodes of the fraction of criteria met; ``std_over_trials`` is the sample standard
  deviation of the per-trial means (trial j's mean over the tasks that have a trial j), i.e. how much the benchmark
  score moves from one repetition to the next (0 with a single trial).

Intervals: ``pass@1_ci95`` and ``reward.ci95`` are 95 % percentile-bootstrap intervals over tasks (tasks resampled
with replacement, ``BOOTSTRAP_RESAMPLES`` times, a fixed seed: the same records give the same interval), since the
tasks, not the trials, are the sample a benchmark draws. ``tool_calls``: the calls made and the share that were
well-formed (``validity``: readable, a known tool, arguments its schema accepts). ``hack_flagged``: the share of final
replies that trip a rubric's task-independent reward-hack checks (``corecraft_env.tasks.criteria.reply_hack_flags``:
pasted tool output, an echo of the request), with the count per check.

Episodes whose agent failed (``status: "error"``) count as failed with reward 0 and are also counted apart.
Errored criteria (a judge that gave no verdict) are counted per criterion; they never count as met or failed.
``first_errors`` lists the kinds of error (agent and judge) with the first message of each.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from math import comb
from typing import Iterable

from ..tasks import CATEGORIES, DIFFICULTIES


def pass_hat_k(successes: int, trials: int, k: int) -> float:
    if not 0 <= successes <= trials or not 1 <= k <= trials:
        raise ValueError(f"pass^k needs 0 <= c <= n and 1 <= k <= n, got c={successes}, n={trials}, k={k}")
    return comb(successes, k) / comb(trials, k)


BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0


def bootstrap_ci95(values: list[float], resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED) -> list[float] | None:
    """The 95 % percentile-bootstrap interval of the mean of ``values`` (one value per task), or None without values."""
    import numpy as np

    if not values:
        return None
    data = np.asarray(values, dtype=float)
    means = data[np.random.default_rng(seed).integers(0, len(data), size=(resamples, len(data)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return [float(low), float(high)]


def _tool_calls_and_flags(records: list[dict]) -> dict:
    counted = [r["tool_call_counts"] for r in records if isinstance(r.get("tool_call_counts"), dict)]
    calls, valid = sum(c["calls"] for c in counted), sum(c["valid"] for c in counted)
    replies = [r["hack_flags"] for r in records if isinstance(r.get("hack_flags"), list) and r.get("final_reply")]
    by_check = Counter(flag for flags in replies for flag in flags)
    return {"tool_calls": {"calls": calls, "valid": valid, "validity": valid / calls if calls else None},
            "hack_flagged": {"replies": len(replies), "share": sum(bool(f) for f in replies) / len(replies) if replies else None,
                             "by_check": dict(sorted(by_check.items()))}}


def _block(records: list[dict]) -> dict:
    per_task: dict[str, list[dict]] = defaultdict(list)
    for record in records:
        per_task[record["task_id"]].append(record)
    if not per_task:
        return {"tasks": 0, "episodes": 0, "pass@1": None, "pass@1_ci95": None, "pass^k": {},
                "reward": {"mean": None, "std_over_trials": None, "ci95": None},
                "errored_criteria": 0, "episodes_with_errored_criteria": 0, "agent_errors": 0, **_tool_calls_and_flags([])}
    counts = {task: (sum(bool(r.get("passed")) for r in rs), len(rs)) for task, rs in per_task.items()}
    max_n = max(n for _, n in counts.values())
    pass_k = {}
    for k in range(1, max_n + 1):
        eligible = [(c, n) for c, n in counts.values() if n >= k]
        pass_k[str(k)] = sum(pass_hat_k(c, n, k) for c, n in eligible) / len(eligible)
    by_trial: dict[int, list[float]] = defaultdict(list)
    for record in records:
        by_trial[record["trial"]].append(float(record.get("reward") or 0.0))
    trial_means = [statistics.fmean(values) for _, values in sorted(by_trial.items())]
    rewards = [float(r.get("reward") or 0.0) for r in records]
    task_rewards = [statistics.fmean(float(r.get("reward") or 0.0) for r in rs) for rs in per_task.values()]
    return {
        "tasks": len(per_task),
        "episodes": len(records),
        "pass@1": statistics.fmean(c / n for c, n in counts.values()),
        "pass@1_ci95": bootstrap_ci95([c / n for c, n in counts.values()]),
        "pass^k": pass_k,
        "pass^k_tasks": {str(k): sum(1 for _, n in counts.values() if n >= k) for k in range(1, max_n + 1)},
        "reward": {"mean": statistics.fmean(rewards), "std_over_trials": statistics.stdev(trial_means) if len(trial_means) > 1 else 0.0,
                   "trial_means": trial_means, "ci95": bootstrap_ci95(task_rewards)},
        "errored_criteria": sum(len(r.get("errored") or []) for r in records),
        "episodes_with_errored_criteria": sum(1 for r in records if r.get("errored")),
        "agent_errors": sum(1 for r in records if r.get("status") == "error"),
        **_tool_calls_and_flags(records),
    }


def episode_errored(record: dict) -> bool:
    """Whether an episode did not get a full score: its agent failed, or a judge gave no verdict on a criterion."""
    return record.get("status") == "error" or bool(record.get("errored"))


def first_errors(records: Iterable[dict]) -> list[dict]:
    """One entry per kind of error, in order of first appearance: ``source`` (agent or judge), ``kind`` (the error's
    type), ``count`` (episodes for the agent, verdicts for the judge) and ``first`` (the first message)."""
    kinds: dict[tuple[str, str], dict] = {}

    def add(source: str, kind: str, message: str) -> None:
        entry = kinds.setdefault((source, kind), {"source": source, "kind": kind, "count": 0, "first": message})
        entry["count"] += 1

    for record in records:
        if record.get("status") == "error":
            add("agent", record.get("error_kind") or str(record.get("error")).split(":", 1)[0], str(record.get("error")))
        for call in record.get("judge_calls") or []:
            if call.get("passed") is None:
                add("judge", (call.get("errors") or ["JudgeError"])[-1].split(":", 1)[0], call.get("reason") or "")
    return list(kinds.values())


def summarize(records: Iterable[dict], top_failed: int = 20) -> dict:
    records = list(records)
    summary = {"overall": _block(records)}
    for field, order in (("category", CATEGORIES), ("difficulty", DIFFICULTIES)):
        groups: dict[str, list[dict]] = defaultdict(list)
        for record in records:
            groups[record.get(field) or "unknown"].append(record)
        ordered = [g for g in order if g in groups] + sorted(g for g in groups if g not in order)
        summary[f"by_{field}"] = {group: _block(groups[group]) for group in ordered}

    failed: Counter = Counter()
    errored: Counter = Counter()
    seen: Counter = Counter()
    described: dict[tuple[str, str], dict] = {}
    failed_by_kind: Counter = Counter()
    for record in records:
        for verdict in record.get("verdicts") or []:
            key = (record["task_id"], verdict["criterion_id"])
            described.setdefault(key, {"description": verdict.get("description", ""), "kind": verdict.get("kind", "")})
            seen[key] += 1
            if verdict.get("passed") is False:
                failed[key] += 1
                failed_by_kind[verdict.get("kind", "")] += 1
            elif verdict.get("passed") is None:
                errored[key] += 1
    ranked = sorted(seen, key=lambda key: (-failed[key], -errored[key], key))
    summary["criteria_most_failed"] = [
        {"task_id": t, "criterion_id": c, **described[(t, c)], "failed": failed[(t, c)], "errored": errored[(t, c)],
         "episodes": seen[(t, c)], "fail_rate": failed[(t, c)] / seen[(t, c)]}
        for t, c in ranked[:top_failed] if failed[(t, c)] or errored[(t, c)]]
    summary["failed_by_kind"] = dict(failed_by_kind.most_common())
    summary["errored_by_criterion"] = {f"{t}/{c}": n for (t, c), n in sorted(errored.items())}

    judge = Counter()
    for record in records:
        for call in record.get("judge_calls") or []:
            judge["calls"] += 1
            judge["cached"] += bool(call.get("cached"))
            judge["attempts"] += call.get("attempts") or 0
            judge["retries"] += call.get("retries") or 0
            judge["errored"] += call.get("passed") is None
    summary["judge_calls"] = {name: judge[name] for name in ("calls", "cached", "attempts", "retries", "errored")}
    tokens = [r["tokens"] for r in records if isinstance(r.get("tokens"), dict)]
    summary["tokens"] = ({"prompt": sum(t.get("prompt_tokens") or 0 for t in tokens),
                          "completion": sum(t.get("completion_tokens") or 0 for t in tokens), "episodes": len(tokens)}
                         if tokens else None)
    agent_retries = [r["agent_stats"].get("retries", 0) for r in records if isinstance(r.get("agent_stats"), dict)]
    summary["agent_retries"] = sum(agent_retries)
    latencies = [r["latency_s"] for r in records if isinstance(r.get("latency_s"), (int, float))]
    summary["latency_s"] = {"mean": statistics.fmean(latencies), "max": max(latencies)} if latencies else None
    return summary


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:5.1f}%"


def format_table(summary: dict) -> str:
    """The summary as a plain-text table: one row overall, one per category and difficulty."""
    overall = summary["overall"]
    ks = sorted(int(k) for k in overall.get("pass^k", {}))
    shown = [k for k in ks if k > 1][:3] if len(ks) <= 4 else [2, ks[len(ks) // 2], ks[-1]]
    shown = sorted(set(shown))
    header = f"{'group':<34}{'tasks':>6}{'eps':>6}{'pass@1':>9}" + "".join(f"{f'pass^{k}':>9}" for k in shown) + \
             f"{'reward (mean ± std)':>22}{'errored':>9}{'agent err':>10}"
    rows = [header, "-" * len(header)]

    def row(name: str, block: dict) -> str:
        reward = block["reward"]
        reward_text = "—" if reward["mean"] is None else f"{reward['mean']:.3f} ± {reward['std_over_trials']:.3f}"
        return (f"{name[:33]:<34}{block['tasks']:>6}{block['episodes']:>6}{_pct(block['pass@1']):>9}"
                + "".join(f"{_pct(block['pass^k'].get(str(k))):>9}" for k in shown)
                + f"{reward_text:>22}{block['errored_criteria']:>9}{block['agent_errors']:>10}")

    rows.append(row("all", overall))
    for field in ("category", "difficulty"):
        for name, block in summary[f"by_{field}"].items():
            rows.append(row(f"{field}: {name}", block))
    ci, reward_ci = overall.get("pass@1_ci95"), overall["reward"].get("ci95")
    if ci and reward_ci:
        rows.append(f"95% bootstrap intervals over tasks: pass@1 [{_pct(ci[0]).strip()}, {_pct(ci[1]).strip()}], "
                    f"reward [{reward_ci[0]:.3f}, {reward_ci[1]:.3f}]")
    calls, flagged = overall.get("tool_calls") or {}, overall.get("hack_flagged") or {}
    if calls.get("calls") or flagged.get("replies"):
        rows.append(f"tool calls: {calls.get('calls', 0)}, well-formed {_pct(calls.get('validity')).strip()}; replies flagged by "
                    f"reward-hack checks: {_pct(flagged.get('share')).strip()} of {flagged.get('replies', 0)}")
    judge = summary.get("judge_calls") or {}
    if judge.get("calls"):
        rows.append(f"judge: {judge['calls']} verdicts, {judge['cached']} from cache, {judge['retries']} retries, "
                    f"{judge['errored']} errored")
    return "\n".join(rows)
