"""One static HTML page comparing eval runs side by side (two agents, two checkpoints, …).

For each run: pass@1, pass^k, mean reward, overall and by category and difficulty, with the first run as the
baseline for the deltas; plots of the same (grouped bars, one colour per run, inline SVG like the single-run report);
and the tasks where the runs differ (pass rate or mean reward), with each run's passes and reward on that task.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from .metrics import summarize
from .report import _CSS, _e, _pct, bar_chart
from .store import RunFileError, read_run

MAX_DIFFERING_TASKS = 500


@dataclass
class Run:
    """One run directory, read and summarised."""

    label: str
    path: Path
    config: dict
    records: list[dict]
    summary: dict = field(init=False)
    per_task: dict[str, dict] = field(init=False)

    def __post_init__(self) -> None:
        self.summary = summarize(self.records)
        episodes: dict[str, list[dict]] = defaultdict(list)
        for record in self.records:
            episodes[record["task_id"]].append(record)
        self.per_task = {task_id: {
            "passed": sum(bool(r.get("passed")) for r in rs), "trials": len(rs),
            "reward": sum(float(r.get("reward") or 0.0) for r in rs) / len(rs),
            "category": rs[0].get("category") or "unknown", "difficulty": rs[0].get("difficulty") or "unknown",
        } for task_id, rs in episodes.items()}


def load_runs(run_dirs: list[str | os.PathLike]) -> list[Run]:
    """The runs, labelled by their folder names (their paths where two names are the same)."""
    if len(run_dirs) < 2:
        raise ValueError("a comparison needs at least two run directories")
    paths = [Path(d) for d in run_dirs]
    if len({p.resolve() for p in paths}) != len(paths):
        raise ValueError("the same run directory is given twice")
    names = [p.name or str(p) for p in paths]
    labels = [name if names.count(name) == 1 else str(path) for name, path in zip(names, paths)]
    runs = []
    for label, path in zip(labels, paths):
        config, records, _ = read_run(path)
        if not records:
            raise RunFileError(f"{path} has no finished episodes yet")
        runs.append(Run(label, path, config, records))
    return runs


def differing_tasks(runs: list[Run]) -> list[dict]:
    """Tasks whose pass rate or mean reward is not the same in every run, the largest pass-rate spread (then reward
    spread) first; then the tasks some runs lack."""
    rows = []
    for task_id in sorted(set().union(*(run.per_task for run in runs))):
        cells = [run.per_task.get(task_id) for run in runs]
        present = [c for c in cells if c is not None]
        rates = [c["passed"] / c["trials"] for c in present]
        rewards = [c["reward"] for c in present]
        missing = len(present) < len(runs)
        if not missing and max(rates) - min(rates) < 1e-9 and max(rewards) - min(rewards) < 1e-9:
            continue
        rows.append({"task_id": task_id, "category": present[0]["category"], "difficulty": present[0]["difficulty"],
                     "cells": cells, "missing": missing, "spread": max(rates) - min(rates),
                     "reward_spread": max(rewards) - min(rewards)})
    rows.sort(key=lambda row: (row["missing"], -row["spread"], -row["reward_spread"], row["task_id"]))
    return rows


def _common_k(runs: list[Run]) -> int:
    """The largest k every run has pass^k for."""
    return min(max((int(k) for k in run.summary["overall"]["pass^k"]), default=1) for run in runs)


def _delta(value: float | None, baseline: float | None, percent: bool) -> str:
    if value is None or baseline is None:
        return ""
    change = value - baseline
    if abs(change) < 1e-12:
        return ' <span class="same">±0</span>'
    text = f"{100 * change:+.1f} pt" if percent else f"{change:+.3f}"
    return f' <span class="{"up" if change > 0 else "down"}">{text}</span>'


def _metrics_table(runs: list[Run], k: int) -> str:
    metrics = [("pass@1", lambda b: b["pass@1"], True)]
    if k > 1:
        metrics.append((f"pass^{k}", lambda b: b["pass^k"].get(str(k)), True))
    metrics.append(("reward", lambda b: b["reward"]["mean"], False))
    groups = [("all", "overall", None)]
    for field in ("category", "difficulty"):
        names = list(dict.fromkeys(name for run in runs for name in run.summary[f"by_{field}"]))
        groups += [(f"{field}: {name}", f"by_{field}", name) for name in names]
    head = "".join(f'<th colspan="{len(metrics)}">{_e(run.label)}</th>' for run in runs)
    subhead = "".join(f"<th>{name}</th>" for _ in runs for name, _, _ in metrics)
    rows = []
    for title, key, name in groups:
        blocks = [run.summary[key] if name is None else run.summary[key].get(name) for run in runs]
        cells = []
        for index, block in enumerate(blocks):
            for _, read, percent in metrics:
                value = None if block is None else read(block)
                shown = _pct(value) if percent else ("—" if value is None else f"{value:.3f}")
                baseline = None if index == 0 or blocks[0] is None else read(blocks[0])
                cells.append(f"<td>{shown}{_delta(value, baseline, percent)}</td>")
        tasks = " / ".join(str(b["tasks"]) if b else "0" for b in blocks)
        rows.append(f'<tr class="{"total" if name is None else ""}"><th scope="row">{_e(title)}</th><td>{tasks}</td>{"".join(cells)}</tr>')
    return (f'<table class="summary"><thead><tr><th rowspan="2">group</th><th rowspan="2">tasks per run</th>{head}</tr>'
            f"<tr>{subhead}</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _plots(runs: list[Run], k: int) -> list[str]:
    labels = [run.label[:22] for run in runs]
    width = max(560, 60 + 150 * len(runs))

    def by(field: str, read) -> list[tuple[str, list[float | None]]]:
        names = list(dict.fromkeys(name for run in runs for name in run.summary[f"by_{field}"]))
        return [(name, [read(run.summary[f"by_{field}"][name]) if name in run.summary[f"by_{field}"] else None for run in runs])
                for name in names]

    pass_at_1 = lambda block: block["pass@1"]  # noqa: E731
    reward = lambda block: block["reward"]["mean"]  # noqa: E731
    plots = [bar_chart("pass@1 by category", by("category", pass_at_1), labels, width=width),
             bar_chart("pass@1 by difficulty", by("difficulty", pass_at_1), labels, width=width),
             bar_chart("Mean reward by category", by("category", reward), labels, percent=False, width=width),
             bar_chart("Mean reward by difficulty", by("difficulty", reward), labels, percent=False, width=width)]
    if k > 1:
        plots.append(bar_chart("pass^k (all k trials pass)", [(f"k={i}", [run.summary["overall"]["pass^k"].get(str(i)) for run in runs])
                                                             for i in range(1, k + 1)], labels, width=width))
    return plots


def _differences(runs: list[Run]) -> str:
    rows = differing_tasks(runs)
    common = set.intersection(*(set(run.per_task) for run in runs))
    lines = [f"<p>{len(common)} task(s) in every run; {len(rows)} task(s) where the runs differ"
             f"{f' (the first {MAX_DIFFERING_TASKS} shown)' if len(rows) > MAX_DIFFERING_TASKS else ''}.</p>"]
    if not rows:
        return lines[0]
    head = "".join(f"<th>{_e(run.label)}</th>" for run in runs)
    body = []
    for row in rows[:MAX_DIFFERING_TASKS]:
        cells = "".join("<td>not run</td>" if c is None else
                        f'<td class="{"ok" if c["passed"] == c["trials"] else ("fail" if c["passed"] == 0 else "some")}">'
                        f'{c["passed"]}/{c["trials"]} passed · reward {c["reward"]:.3f}</td>' for c in row["cells"])
        body.append(f"<tr><th scope=\"row\">{_e(row['task_id'])}</th><td>{_e(row['category'])}</td>"
                    f"<td>{_e(row['difficulty'])}</td>{cells}</tr>")
    lines.append(f'<table class="diff"><thead><tr><th>task</th><th>category</th><th>difficulty</th>{head}</tr></thead>'
                 f"<tbody>{''.join(body)}</tbody></table>")
    return "".join(lines)


_COMPARE_CSS = """
.up{color:#2e7d32;font-size:11px}.down{color:#c62828;font-size:11px}.same{color:#999;font-size:11px}
table.diff td.ok{background:#eef7ef}table.diff td.fail{background:#fbeef0}table.diff td.some{background:#fdf6e6}
"""


def render_comparison(runs: list[Run]) -> str:
    k = _common_k(runs)
    info = "".join(
        f"<tr><th>{_e(run.label)}</th><td>{_e(run.path)}</td><td>{_e(run.config.get('agent', '?'))}</td>"
        f"<td>{_e(run.config.get('model') or '—')}</td><td>{_e(run.config.get('judge') or 'none')}</td>"
        f"<td>{run.summary['overall']['tasks']}</td><td>{run.summary['overall']['episodes']}</td></tr>" for run in runs)
    title = "Corecraft eval comparison — " + " vs ".join(run.label for run in runs)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">'
        f"<title>{_e(title)}</title><style>{_CSS}{_COMPARE_CSS}</style></head><body><h1>{_e(title)}</h1>"
        f"<table class=\"info\"><thead><tr><th>run</th><th>directory</th><th>agent</th><th>model</th><th>judge</th>"
        f"<th>tasks</th><th>episodes</th></tr></thead><tbody>{info}</tbody></table>"
        f"<h2>Summary</h2>{_metrics_table(runs, k)}"
        f'<p class="meta">Deltas are against the first run ({_e(runs[0].label)}); pass rates in percentage points. '
        f"pass@1: mean over tasks of passed/trials; pass^{k}: mean over tasks of C(c,{k})/C(n,{k}) (k is the most trials "
        f"every run has); reward: mean fraction of rubric criteria met. Groups are over each run's own tasks: compare runs "
        f"of the same task set.</p>"
        f'<h2>Plots</h2><div class="plots">{"".join(_plots(runs, k))}</div>'
        f"<h2>Tasks where the runs differ</h2>{_differences(runs)}</body></html>")


def write_comparison(run_dirs: list[str | os.PathLike], output: str | os.PathLike) -> Path:
    html_text = render_comparison(load_runs(run_dirs))
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(html_text, encoding="utf-8")
    os.replace(temporary, path)
    return path
