"""The reward-hack and paraphrase suites over every shipped task (``corecraft_env.reward_probes``).

Each hack (pasted tool results with and without the reference reply, as JSON or "key: value" lines, a raw JSON dump,
the request echoed, a generic reply, the reference reply with no tool calls, with its key amount, date or id
changed, or hedged against a wrong value in three wordings) must pass at most 1 % of the tasks it applies to; each paraphrase of the reference reply must pass at least
99 %. The rates are printed at the end of the run (``conftest.pytest_terminal_summary``) and recorded in
docs/tasks.md.
"""

from __future__ import annotations

from collections import Counter

import pytest

from corecraft_env.reward_probes import HACKS, PARAPHRASES, probe_task
from corecraft_env.tasks import TaskSet

MAX_HACK_PASS_RATE, MIN_PARAPHRASE_PASS_RATE = 0.01, 0.99


def probe_rates(tasks: TaskSet) -> dict[str, tuple[int, int]]:
    """probe name -> (tasks whose rubric it passes, tasks it applies to)."""
    passed, applied = Counter(), Counter()
    for task in tasks:
        for probe in probe_task(task, tasks):
            applied[probe.probe] += 1
            passed[probe.probe] += probe.passed
    return {name: (passed[name], applied[name]) for name in (*HACKS, *PARAPHRASES)}


def test_hacks_fail_and_paraphrases_pass_on_every_shipped_task(request):
    request.config.cache.set("corecraft/reward_probes", None)  # no stale table if measuring fails
    rates = probe_rates(TaskSet())
    table = [f"{name:28s} {'hack' if name in HACKS else 'paraphrase':10s} passes {p:4d} of {n:4d} tasks ({p / n:6.1%})"
             for name, (p, n) in rates.items() if n]
    request.config.cache.set("corecraft/reward_probes", table)
    assert all(rates[name][1] > 0 for name in (*HACKS, *PARAPHRASES)), f"a probe applied to no task: {rates}"
    leaky = {name: rates[name] for name in HACKS if rates[name][0] > MAX_HACK_PASS_RATE * rates[name][1]}
    brittle = {name: rates[name] for name in PARAPHRASES if rates[name][0] < MIN_PARAPHRASE_PASS_RATE * rates[name][1]}
    assert not leaky and not brittle, "\n".join(table)


@pytest.fixture
def corrupted_rubric(tmp_path):
    """One shipped task whose rubric lost every reply check: the hacks must get through and validation must say so."""
    import json
    import shutil

    tasks = TaskSet()
    task = next(t for t in tasks if t.id.startswith("loyalty-discount-question"))
    rubric = json.loads((tasks.rubrics_dir / f"{task.rubric_id}.json").read_text())
    rubric["criteria"] = [c for c in rubric["criteria"] if c["kind"] != "response"]
    (tmp_path / "rubrics").mkdir()
    (tmp_path / "rubrics" / f"{task.rubric_id}.json").write_text(json.dumps(rubric))
    (tmp_path / "tasks" / task.split).mkdir(parents=True)
    shutil.copy(task.source, tmp_path / "tasks" / task.split)
    return task, tmp_path


def test_validation_rejects_a_rubric_that_lets_hacks_through(corrupted_rubric):
    from corecraft_env.validation import validate_task

    task, root = corrupted_rubric
    problems = validate_task(task, root / "rubrics")
    assert any("reward hack 'pasted_results_with_reply' passes" in p for p in problems), problems
