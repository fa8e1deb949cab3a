"""A static HTML report of an eval run: one self-contained file (inline CSS, SVG and a few lines of JS; no server, no
CDN, nothing fetched), with the summary table, plots (pass rate by category and by difficulty, reward distribution,
criteria most often failed) and every trajectory (messages, tool calls and results, verdicts) to browse.
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Any

from .metrics import summarize
from .store import read_run

SHOWN_CHARS = 4000
PALETTE = ("#3b6fb6", "#e08a2c", "#4e9a5b", "#b84a62")


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


# -- SVG plots --------------------------------------------------------------------------------------------------------
def bar_chart(title: str, groups: list[tuple[str, list[float | None]]], series: list[str], ymax: float = 1.0,
              percent: bool = True, width: int = 560, height: int = 260) -> str:
    """Vertical grouped bars: one group per label, one bar per series."""
    left, right, top, bottom = 48, 12, 30, 58
    plot_w, plot_h = width - left - right, height - top - bottom
    parts = [f'<svg class="plot" role="img" aria-label="{_e(title)}" xmlns="http://www.w3.org/2000/svg" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}"><title>{_e(title)}</title>',
             f'<text x="{width / 2}" y="18" text-anchor="middle" class="plot-title">{_e(title)}</text>']
    for i in range(5):
        value = ymax * i / 4
        y = top + plot_h - plot_h * i / 4
        label = f"{100 * value:.0f}%" if percent else f"{value:g}"
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{label}</text>')
    slot = plot_w / max(1, len(groups))
    bar_w = min(40.0, slot * 0.8 / max(1, len(series)))
    for g, (label, values) in enumerate(groups):
        x0 = left + g * slot + (slot - bar_w * len(series)) / 2
        for s, value in enumerate(values):
            v = 0.0 if value is None else max(0.0, min(ymax, value))
            h = plot_h * v / ymax if ymax else 0
            x, y = x0 + s * bar_w, top + plot_h - h
            shown = "n/a" if value is None else (_pct(value) if percent else f"{value:g}")
            parts.append(f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}" '
                         f'fill="{PALETTE[s % len(PALETTE)]}"><title>{_e(label)} — {_e(series[s])}: {shown}</title></rect>')
        parts.append(f'<text x="{left + g * slot + slot / 2:.1f}" y="{top + plot_h + 16}" text-anchor="middle" class="tick">'
                     f'{_e(label.replace("_", " ")[:24])}</text>')
    for s, name in enumerate(series):
        x = left + s * 150
        parts.append(f'<rect x="{x}" y="{height - 18}" width="10" height="10" fill="{PALETTE[s % len(PALETTE)]}"/>'
                     f'<text x="{x + 14}" y="{height - 9}" class="tick">{_e(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def histogram(title: str, values: list[float], bins: int = 10, width: int = 560, height: int = 240) -> str:
    counts = [0] * bins
    for value in values:
        counts[min(bins - 1, max(0, int(value * bins)))] += 1
    ymax = max(4, -(-max(counts) // 4) * 4)  # a multiple of 4, so the 5 grid lines fall on whole counts
    left, right, top, bottom = 48, 12, 30, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    parts = [f'<svg class="plot" role="img" aria-label="{_e(title)}" xmlns="http://www.w3.org/2000/svg" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}"><title>{_e(title)}</title>',
             f'<text x="{width / 2}" y="18" text-anchor="middle" class="plot-title">{_e(title)}</text>']
    for i in range(5):
        y = top + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{ymax * i // 4}</text>')
    bar_w = plot_w / bins
    for i, count in enumerate(counts):
        h = plot_h * count / ymax
        low, high = i / bins, (i + 1) / bins
        parts.append(f'<rect class="bar" x="{left + i * bar_w + 1:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w - 2:.1f}" '
                     f'height="{h:.1f}" fill="{PALETTE[0]}"><title>reward {low:.1f}–{high:.1f}'
                     f'{"" if i < bins - 1 else " (incl. 1.0)"}: {count} episode(s)</title></rect>')
    for i in range(0, bins + 1, 2):
        parts.append(f'<text x="{left + i * bar_w:.1f}" y="{top + plot_h + 16}" text-anchor="middle" class="tick">{i / bins:.1f}</text>')
    parts.append(f'<text x="{left + plot_w / 2}" y="{height - 4}" text-anchor="middle" class="tick">reward (fraction of criteria met)</text>')
    parts.append("</svg>")
    return "".join(parts)


def hbar_chart(title: str, items: list[tuple[str, float, str]], width: int = 760) -> str:
    """Horizontal bars of rates in 0..1; items are (label, rate, tooltip)."""
    row, top, left, right = 22, 30, 330, 60
    height = top + row * max(1, len(items)) + 10
    plot_w = width - left - right
    parts = [f'<svg class="plot" role="img" aria-label="{_e(title)}" xmlns="http://www.w3.org/2000/svg" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}"><title>{_e(title)}</title>',
             f'<text x="{width / 2}" y="18" text-anchor="middle" class="plot-title">{_e(title)}</text>']
    if not items:
        parts.append(f'<text x="{width / 2}" y="{top + 14}" text-anchor="middle" class="tick">no criterion failed</text>')
    for i, (label, rate, tooltip) in enumerate(items):
        y = top + i * row
        parts.append(f'<text x="{left - 6}" y="{y + 14}" text-anchor="end" class="tick">{_e(label[:52])}</text>'
                     f'<rect class="bar" x="{left}" y="{y + 3}" width="{plot_w * max(0.0, min(1.0, rate)):.1f}" height="{row - 6}" '
                     f'fill="{PALETTE[3]}"><title>{_e(tooltip)}</title></rect>'
                     f'<text x="{left + plot_w * max(0.0, min(1.0, rate)) + 4:.1f}" y="{y + 14}" class="tick">{_pct(rate)}</text>')
    parts.append("</svg>")
    return "".join(parts)


# -- page pieces ------------------------------------------------------------------------------------------------------
def _summary_table(summary: dict) -> str:
    ks = sorted(int(k) for k in summary["overall"].get("pass^k", {}))
    head = "".join(f"<th>pass^{k}</th>" for k in ks if k > 1)
    rows = []

    def row(name: str, block: dict, cls: str = "") -> str:
        reward = block["reward"]
        reward_text = "—" if reward["mean"] is None else f"{reward['mean']:.3f} ± {reward['std_over_trials']:.3f}"
        cells = "".join(f"<td>{_pct(block['pass^k'].get(str(k)))}</td>" for k in ks if k > 1)
        return (f'<tr class="{cls}"><th scope="row">{_e(name)}</th><td>{block["tasks"]}</td><td>{block["episodes"]}</td>'
                f'<td>{_pct(block["pass@1"])}</td>{cells}<td>{reward_text}</td><td>{block["errored_criteria"]}</td>'
                f'<td>{block["agent_errors"]}</td></tr>')

    rows.append(row("all", summary["overall"], "total"))
    for field in ("category", "difficulty"):
        for name, block in summary[f"by_{field}"].items():
            rows.append(row(f"{field}: {name}", block))
    return (f'<table class="summary"><thead><tr><th>group</th><th>tasks</th><th>episodes</th><th>pass@1</th>{head}'
            f'<th>reward (mean ± std over trials)</th><th>errored criteria</th><th>agent errors</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def _content(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=1)
    try:
        parsed = json.loads(text)
        if isinstance(parsed, (dict, list)):
            text = json.dumps(parsed, ensure_ascii=False, indent=1)
    except (ValueError, TypeError):
        pass
    if len(text) > SHOWN_CHARS:
        text = text[:SHOWN_CHARS] + f"\n… [{len(text) - SHOWN_CHARS} more characters in episodes.jsonl]"
    return _e(text)


def _message(message: dict) -> str:
    role = message.get("role", "?")
    parts = [f'<div class="msg {_e(role)}"><div class="role">{_e(role)}'
             + (f' → {_e(message.get("name"))} <span class="id">{_e(message.get("tool_call_id", ""))}</span>' if role == "tool" else "")
             + (' <span class="bad">invalid action</span>' if message.get("invalid_action") else "") + "</div>"]
    if message.get("content"):
        parts.append(f"<pre>{_content(message['content'])}</pre>")
    for call in message.get("tool_calls") or []:
        function = call.get("function", {})
        parts.append(f'<div class="call">tool call <b>{_e(function.get("name"))}</b> <span class="id">{_e(call.get("id", ""))}</span>'
                     f"<pre>{_content(function.get('arguments'))}</pre></div>")
    parts.append("</div>")
    return "".join(parts)


def _episode(index: int, record: dict) -> str:
    verdicts = "".join(
        f'<tr class="{"ok" if v.get("passed") else ("err" if v.get("passed") is None else "fail")}"><td>{_e(v.get("criterion_id"))}</td>'
        f'<td>{_e(v.get("kind"))}</td><td>{_e(v.get("description"))}</td>'
        f'<td>{"pass" if v.get("passed") else ("errored" if v.get("passed") is None else "fail")}</td>'
        f'<td>{_e(v.get("source"))}</td><td>{_e(v.get("reason"))}</td></tr>' for v in record.get("verdicts") or [])
    judge = "".join(
        f"<li>{_e(c.get('criterion_id'))}: {'cached' if c.get('cached') else str(c.get('attempts')) + ' attempt(s)'}"
        + (f" — errors: {_e('; '.join(c.get('errors') or []))}" if c.get("errors") else "") + "</li>"
        for c in record.get("judge_calls") or [])
    status = "pass" if record.get("passed") else ("error" if record.get("status") == "error" else "fail")
    search = " ".join(str(record.get(k, "")) for k in ("task_id", "category", "difficulty", "family")) + f" {status}"
    tokens = record.get("tokens") or {}
    meta = (f"trial {record.get('trial')} · {_e(record.get('category'))} · {_e(record.get('difficulty'))} · "
            f"{record.get('steps')} step(s) · {record.get('latency_s', 0):.2f} s"
            + (f" · {tokens.get('prompt_tokens', 0)}+{tokens.get('completion_tokens', 0)} tokens" if tokens else "")
            + (" · truncated" if record.get("truncated") else ""))
    error = f'<p class="bad">agent error: {_e(record.get("error"))}</p>' if record.get("error") else ""
    return (f'<details class="episode {status}" id="ep-{index}" data-search="{_e(search.lower())}" data-status="{status}">'
            f'<summary><span class="badge {status}">{status}</span> <b>{_e(record.get("task_id"))}</b> #{record.get("trial")} '
            f'— reward {float(record.get("reward") or 0):.3f}</summary><p class="meta">{meta}</p>{error}'
            f'<h4>Verdicts</h4><table class="verdicts"><thead><tr><th>criterion</th><th>kind</th><th>description</th>'
            f'<th>verdict</th><th>source</th><th>reason</th></tr></thead><tbody>{verdicts}</tbody></table>'
            + (f"<h4>Judge calls</h4><ul>{judge}</ul>" if judge else "")
            + f'<h4>Trajectory</h4><div class="messages">{"".join(_message(m) for m in record.get("messages") or [])}</div></details>')


_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:24px auto;max-width:1100px;color:#222;padding:0 16px}
h1{font-size:22px}h2{margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
table.summary td{text-align:right}tr.total{font-weight:bold;background:#f4f6fa}
.plots{display:flex;flex-wrap:wrap;gap:16px}.plot{background:#fff;border:1px solid #e3e3e3}
.plot .grid{stroke:#eee}.plot .tick{font-size:11px;fill:#555}.plot .plot-title{font-size:13px;font-weight:600;fill:#222}
details.episode{border:1px solid #ddd;border-radius:4px;margin:6px 0;padding:4px 8px}
details.episode>summary{cursor:pointer}.badge{display:inline-block;min-width:40px;text-align:center;border-radius:3px;color:#fff;font-size:12px;padding:0 4px}
.badge.pass{background:#4e9a5b}.badge.fail{background:#b84a62}.badge.error{background:#777}
tr.ok td:nth-child(4){color:#2e7d32}tr.fail td:nth-child(4){color:#c62828}tr.err td:nth-child(4){color:#777;font-style:italic}
.msg{border-left:3px solid #ccc;margin:6px 0;padding:2px 8px}.msg.user{border-color:#3b6fb6}.msg.assistant{border-color:#e08a2c}
.msg.tool{border-color:#4e9a5b}.msg.environment{border-color:#b84a62}.role{font-weight:600;font-size:12px;color:#555}
.id{color:#999;font-weight:normal;font-size:11px}.bad{color:#c62828}.meta{color:#666;margin:2px 0}
pre{white-space:pre-wrap;word-break:break-word;background:#f7f7f7;padding:6px;margin:4px 0;max-height:360px;overflow:auto;font-size:12px}
#filter{padding:4px 8px;width:320px}
"""

_JS = """
function applyFilter(){var q=document.getElementById('filter').value.toLowerCase();var s=document.getElementById('status').value;
var shown=0;document.querySelectorAll('details.episode').forEach(function(d){var ok=d.dataset.search.indexOf(q)>=0&&(!s||d.dataset.status===s);
d.style.display=ok?'':'none';if(ok)shown++;});document.getElementById('shown').textContent=shown;}
"""


def render_report(config: dict, records: list[dict], summary: dict | None = None, max_episodes: int = 2000) -> str:
    summary = summary if summary is not None else summarize(records)
    overall = summary["overall"]
    ks = sorted(int(k) for k in overall.get("pass^k", {}))
    kmax = ks[-1] if ks else 1
    series = ["pass@1"] + ([f"pass^{kmax}"] if kmax > 1 else [])

    def groups(field: str) -> list[tuple[str, list[float | None]]]:
        return [(name, [block["pass@1"]] + ([block["pass^k"].get(str(kmax))] if kmax > 1 else []))
                for name, block in summary[f"by_{field}"].items()]

    failed = [(f"{c['task_id']} / {c['criterion_id']}", c["fail_rate"],
               f"{c['description']} ({c['kind']}): failed {c['failed']} of {c['episodes']}, errored {c['errored']}")
              for c in summary.get("criteria_most_failed", [])[:15]]
    plots = [bar_chart("Pass rate by category", groups("category"), series),
             bar_chart("Pass rate by difficulty", groups("difficulty"), series),
             histogram("Reward distribution (episodes)", [float(r.get("reward") or 0.0) for r in records]),
             hbar_chart("Criteria most often failed (fail rate)", failed)]
    ordered = sorted(records, key=lambda r: (r["task_id"], r["trial"]))
    shown = ordered[:max_episodes]
    judge = summary.get("judge_calls") or {}
    info_rows = [("agent", config.get("agent") or summary.get("run", {}).get("agent")), ("model", config.get("model") or "—"),
                 ("judge", config.get("judge") or "none"), ("max steps", config.get("max_steps")),
                 ("tasks", overall["tasks"]), ("episodes", overall["episodes"]),
                 ("judge verdicts", f"{judge.get('calls', 0)} ({judge.get('cached', 0)} cached, {judge.get('retries', 0)} retries, "
                                    f"{judge.get('errored', 0)} errored)"),
                 ("agent retries", summary.get("agent_retries", 0)),
                 ("tokens", "—" if not summary.get("tokens") else f"{summary['tokens']['prompt']} prompt + {summary['tokens']['completion']} completion"),
                 ("created", config.get("created_at", "—")), ("updated", config.get("updated_at", "—"))]
    title = f"Corecraft eval — {config.get('agent', '?')}" + (f" ({config['model']})" if config.get("model") else "")
    more = (f"<p>{len(ordered) - len(shown)} more episode(s) are in episodes.jsonl (raise --max-episodes to include them).</p>"
            if len(ordered) > len(shown) else "")
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{_e(title)}</h1><table class=\"info\">{''.join(f'<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>' for k, v in info_rows)}</table>"
        f"<h2>Summary</h2>{_summary_table(summary)}"
        f'<p class="meta">pass@1: mean over tasks of passed/trials. pass^k: mean over tasks of C(c,k)/C(n,k) (all k trials pass). '
        f"Reward: fraction of rubric criteria met; ± is the standard deviation of the per-trial means.</p>"
        f'<h2>Plots</h2><div class="plots">{"".join(plots)}</div>'
        f'<h2>Trajectories</h2><p><input id="filter" type="search" placeholder="filter: task id, category, difficulty…" '
        f'oninput="applyFilter()"> <select id="status" onchange="applyFilter()"><option value="">all</option>'
        f'<option value="pass">passed</option><option value="fail">failed</option><option value="error">errored</option></select> '
        f'<span id="shown">{len(shown)}</span> shown</p>'
        f'<div id="episodes">{"".join(_episode(i, r) for i, r in enumerate(shown))}</div>{more}'
        f"<script>{_JS}</script></body></html>")


def write_report(run_dir: str | os.PathLike, output: str | os.PathLike | None = None, max_episodes: int = 2000) -> Path:
    config, records, _ = read_run(run_dir)
    html_text = render_report(config, records, summarize(records), max_episodes=max_episodes)
    path = Path(output) if output else Path(run_dir) / "report.html"
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(html_text, encoding="utf-8")
    os.replace(temporary, path)
    return path
