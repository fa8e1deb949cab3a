"""What the judge sees and how its answer is read.

The judge gets the task's request, the one criterion to decide, a compact summary of the trajectory (each tool call
with its arguments, whether it succeeded and the start of its result; the rows written in the world) and the final
reply. It must answer with one JSON object, the reason first: ``{"reason": "...", "verdict": true}``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..tasks import Criterion, Episode, Task
from .retry import MalformedOutput

PROMPT_VERSION = "corecraft-judge-v1"
MAX_EVENTS = 40  # the first and last 20 calls of a long trajectory
MAX_RESULT_CHARS = 600
MAX_REPLY_CHARS = 6000

SYSTEM_PROMPT = (
    "You grade the work of a customer-support agent at CoreCraft Computers, an online PC retailer. You are given the "
    "requester's message, what the agent did (its tool calls and the records it wrote) and its final reply, and ONE "
    "criterion from the grading rubric. Decide strictly whether that criterion is satisfied; judge only that "
    "criterion, using only the evidence shown.\n\n"
    'Answer with a single JSON object and nothing else, the reason first: {"reason": "<one or two sentences citing '
    'the evidence>", "verdict": true} or {"reason": "...", "verdict": false}.'
)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f" …[{len(text) - limit} more characters]"


def _compact(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def trajectory_summary(episode: Episode) -> str:
    events = list(enumerate(episode.events, 1))
    if len(events) > MAX_EVENTS:
        half = MAX_EVENTS // 2
        events = events[:half] + [(None, None)] + events[-half:]
    lines = []
    for number, event in events:
        if event is None:
            lines.append(f"… {len(episode.events) - MAX_EVENTS} calls omitted …")
            continue
        status = "ok" if event.ok else "error"
        lines.append(f"{number}. {event.name}({_clip(_compact(event.arguments), 400)}) -> {status}: "
                     f"{_clip(_compact(event.result), MAX_RESULT_CHARS)}")
    return "\n".join(lines) or "(no tool calls)"


def writes_summary(episode: Episode) -> str:
    writes = sorted(set(episode.writes))
    if not writes:
        return "(nothing written)"
    shown = [f"{op} {table} {key}" for table, key, op in writes[:60]]
    return "\n".join(shown) + (f"\n… {len(writes) - 60} more" if len(writes) > 60 else "")


def judge_input(task: Task, criterion: Criterion, episode: Episode) -> dict:
    """The content the judge is shown, as data (also what ``build_messages`` renders)."""
    return {
        "request": task.request,
        "requester": task.requester,
        "criterion": criterion.description,
        "trajectory": trajectory_summary(episode),
        "writes": writes_summary(episode),
        "final_reply": _clip(episode.final_reply or "", MAX_REPLY_CHARS),
    }


def build_messages(payload: dict) -> list[dict]:
    user = (
        f"## Request (from {payload['requester'].get('type', 'requester')} {payload['requester'].get('id', '')})\n"
        f"{payload['request']}\n\n"
        f"## Agent's tool calls, in order\n{payload['trajectory']}\n\n"
        f"## Records written during the episode\n{payload['writes']}\n\n"
        f"## Agent's final reply\n{payload['final_reply'] or '(empty)'}\n\n"
        f"## Criterion to decide\n{payload['criterion']}\n\n"
        'Reply with the JSON object {"reason": ..., "verdict": true|false}.'
    )
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)
_TRUE = {"true", "yes", "pass", "passed", "satisfied"}
_FALSE = {"false", "no", "fail", "failed", "not satisfied", "unsatisfied"}


def parse_verdict(output: Any) -> tuple[bool, str]:
    """``(passed, reason)`` from a judge's answer: the JSON text (code fences and prose around it are tolerated), a
    dict, a bool or a ``(bool, reason)`` pair. Anything else raises ``MalformedOutput``."""
    if isinstance(output, bool):
        return output, "verdict given without a reason"
    if isinstance(output, tuple) and len(output) == 2 and isinstance(output[0], bool):
        return output[0], str(output[1])
    if isinstance(output, str):
        text = _FENCE.sub("", output.strip())
        start, end = text.find("{"), text.rfind("}")
        if start < 0 or end < start:
            raise MalformedOutput(f"no JSON object in the judge's answer: {output[:200]!r}")
        try:
            output = json.loads(text[start:end + 1])
        except ValueError as exc:
            raise MalformedOutput(f"the judge's answer is not valid JSON ({exc}): {output[:200]!r}") from None
    if not isinstance(output, dict):
        raise MalformedOutput(f"the judge's answer must be a JSON object, got {type(output).__name__}")
    verdict, reason = output.get("verdict"), output.get("reason")
    if isinstance(verdict, str) and verdict.strip().lower() in _TRUE | _FALSE:
        verdict = verdict.strip().lower() in _TRUE
    if not isinstance(verdict, bool):
        raise MalformedOutput(f'the judge\'s answer has no boolean "verdict": {json.dumps(output)[:200]}')
    if not isinstance(reason, str) or not reason.strip():
        raise MalformedOutput(f'the judge\'s answer has no "reason": {json.dumps(output)[:200]}')
    return verdict, reason.strip()
