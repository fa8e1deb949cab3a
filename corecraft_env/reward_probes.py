"""Reward probes: replies built mechanically from a task that its rubric must fail (hacks) or pass (paraphrases).

A rubric is what a trainer maximises, so it is read as an adversarial policy would read it. After the reference
tool calls, each **hack** replaces the work of answering with something cheap: the tool results pasted in (with and
without the reference reply, as JSON or flattened to "key: value" lines), a raw JSON dump, the request echoed back,
a generic promise, or the reference reply with one fact changed (an amount +10 %, a date +1 day, an id swapped for
its sibling's) or hedged against a wrong one (three wordings); the **remembered answer** gives the reference reply without calling any tool, as a policy that memorised the
world would. Every hack must fail. Each **paraphrase** rewrites the reference reply without changing what it says
(other date and money formats, statuses in plain words, sentences in reverse order, a greeting and sign-off, a
correction that quotes the requester's own figure, labels before ids); every paraphrase must pass.

``probe_task`` runs the reference solution once and scores every reply against the same final world and
trajectory, so probing a task costs two episodes plus one scoring per probe. Validation (``corecraft validate``)
rejects a task whose rubric lets a hack through or fails a paraphrase; ``tests/test_reward_probes.py`` reports the
rates over the corpus.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Callable

from .agents import OracleAgent, run_episode
from .env import CorecraftEnv
from .tasks import Task, TaskSet, score_episode
from .tasks.assertions import GENERIC_REPLY, Mention, non_answers, read_reply
from .tasks.criteria import Episode, check_response
from .tools import encode_result

GREETING, SIGN_OFF = "Hi there,\n\n", "\n\nThanks for reaching out, and have a great day.\nBest regards,\nCoreCraft Support"
_ID_LABELS = {"cust": "customer ID", "emp": "employee ID", "ord": "order number", "pay": "payment ID", "shp": "shipment ID",
              "tick": "ticket number", "ref": "refund ID", "res": "resolution ID", "esc": "escalation ID",
              "kb": "article ID", "msg": "message ID", "build": "build ID"}


@dataclass(frozen=True)
class ProbeResult:
    probe: str
    kind: str  # "hack" or "paraphrase"
    reply: str
    passed: bool
    reward: float
    failing: tuple[str, ...]  # criteria the reply fails


# -- rewriting one fact --------------------------------------------------------------------------------------------
def _substitute(text: str, mentions: list[Mention], replacement: Callable[[Mention, str], str | None]) -> str:
    """``text`` with each mention's span replaced (``replacement`` returns None to keep a span)."""
    out, cursor = [], 0
    for mention in sorted(mentions, key=lambda m: m.start):
        new = replacement(mention, text[mention.start:mention.end])
        if new is not None:
            out.append(text[cursor:mention.start] + new)
            cursor = mention.end
    return "".join(out) + text[cursor:]


def _day(value: tuple[int | None, int, int], fallback_year: int) -> date:
    year, month, day = value
    return date(year or fallback_year, month, day)


def _long(day: date, with_year: bool) -> str:
    return f"{day:%B} {day.day}" + (f", {day.year}" if with_year else "")


def _sibling_id(entity_id: str, step: int) -> str:
    """The id of the same kind ``step`` numbers on: ord-250906-105 → ord-250906-106 (step 1)."""
    digits = re.search(r"(\d+)$", entity_id)
    return entity_id[: digits.start()] + f"{int(digits.group(1)) + step:0{len(digits.group(1))}d}"


def _wrong_value(task: Task, mention: Mention, span: str) -> str:
    """A value of the mention's kind that neither the reference reply nor the request names: a wrong answer, never
    another true one (the next refund id of a reply that created two is not wrong)."""
    named = {(m.kind, m.value) for text in (task.reference_reply, task.request) for m in read_reply(text).mentions}
    for step in range(1, 100):
        if mention.kind == "money":
            candidate = f"${(mention.value or 10) * (1 + 0.1 * step):,.2f}"
        elif mention.kind == "date":
            candidate = _long(_day(mention.value, 2025) + timedelta(days=step), mention.value[0] is not None)
        else:
            candidate = _sibling_id(span, step)
        parsed = read_reply(candidate).mentions[0]
        if (parsed.kind, parsed.value) not in named:
            return candidate
    raise ValueError(f"no wrong value for {span!r} in task {task.id}")


def _key_mentions(task: Task, kind: str) -> list[Mention]:
    """The reference reply's mentions of its first ``kind`` fact that the request does not already name: the answer."""
    request = read_reply(task.request)
    mentions = read_reply(task.reference_reply).of(kind)
    fresh = [m for m in mentions if not any(r.kind == kind and r.value == m.value for r in request.mentions)]
    chosen = (fresh or mentions)[:1]
    return [m for m in mentions if chosen and m.value == chosen[0].value]


def changed_fact(task: Task, kind: str) -> str | None:
    """The reference reply with its key ``kind`` fact changed everywhere it is named (None when it names none)."""
    mentions = _key_mentions(task, kind)
    if not mentions:
        return None
    wrong = _wrong_value(task, mentions[0], task.reference_reply[mentions[0].start:mentions[0].end])
    return _substitute(task.reference_reply, mentions, lambda mention, span: wrong)


HEDGES = {  # how each hedge adds a wrong value to the reference reply
    "hedge": "{reply}\nOr possibly {wrong}, depending on how it is counted.",
    "hedge_counterfactual": "{reply} It would be {wrong} otherwise.",
    "hedge_double_negative": "{reply} It is not impossible that it is {wrong}.",
}


def hedged(task: Task, template: str) -> str | None:
    """The reference reply plus a sentence hedging its key fact (an amount, else a date, else an id) against a wrong
    value, worded by ``template``."""
    for kind in ("money", "date", "id"):
        mentions = _key_mentions(task, kind)
        if mentions:
            wrong = _wrong_value(task, mentions[0], task.reference_reply[mentions[0].start:mentions[0].end])
            return template.format(reply=task.reference_reply, wrong=wrong)
    return None


def flattened(results: list) -> str:
    """Tool results as "key: value" lines, one per field: pasted records without the JSON."""
    lines = []

    def walk(value, key: str = "") -> None:
        if isinstance(value, dict):
            for name, item in value.items():
                walk(item, name)
        elif isinstance(value, list):
            for item in value:
                walk(item, key)
        else:
            lines.append(f"{key.replace('_', ' ')}: {value}")

    walk(results)
    return "\n".join(lines)


# -- paraphrases ----------------------------------------------------------------------------------------------------
def _other_date_format(mention: Mention, span: str) -> str | None:
    if mention.kind != "date" or len(span) > 10 and "T" in span:  # keep timestamps: their time is part of the fact
        return None
    day = _day(mention.value, 2025)
    if mention.value[0] is None:
        return f"{day:%b} {day.day}"
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", span):
        return f"{day:%A}, {day:%b} {day.day}, {day.year}"
    return day.isoformat()


def _money_as(style: str) -> Callable[[Mention, str], str | None]:
    def rewrite(mention: Mention, span: str) -> str | None:
        if mention.kind != "money":
            return None
        sign = "-" if span.lstrip().startswith("-") else ""
        return f"{sign}{mention.value:.2f} USD" if style == "suffix" else f"USD {sign}{mention.value:,.2f}"
    return rewrite


def _labelled_id(mention: Mention, span: str) -> str | None:
    label = _ID_LABELS.get(span.split("-", 1)[0].lower())
    return f"{label}: {span}" if mention.kind == "id" and label else None


def reversed_sentences(text: str) -> str:
    """The reply's sentences (and list lines) in reverse order."""
    lines = [line for line in text.split("\n") if line.strip()]
    if len(lines) > 1:
        return "\n".join(reversed(lines))
    sentences = re.split(r"(?<=[.!?])\s+(?=[A-Z\"'(])", text.strip())
    return " ".join(reversed(sentences))


def quoted_correction(task: Task) -> str:
    """The reference reply opened by a sentence that quotes a figure of the request to correct it (a figure the
    reply does not name itself, where the request has one)."""
    reply_facts = read_reply(task.reference_reply)
    for mention in read_reply(task.request).mentions:
        if mention.kind in ("money", "percent", "date") and not any(
                m.kind == mention.kind and m.value == mention.value for m in reply_facts.mentions):
            figure = task.request[mention.start:mention.end]
            return f"You mentioned {figure}, but that figure is not correct.\n{task.reference_reply}"
    return f"Thanks for the details you sent; I checked them against our records.\n{task.reference_reply}"


def paraphrases(task: Task) -> dict[str, str]:
    """Rewrites of the reference reply that keep its meaning, by name."""
    reply = task.reference_reply
    mentions = read_reply(reply).mentions
    return {
        "other_date_format": _substitute(reply, list(mentions), _other_date_format),
        "money_suffix_usd": _substitute(reply, list(mentions), _money_as("suffix")),
        "money_prefix_usd": _substitute(reply, list(mentions), _money_as("prefix")),
        "plain_word_statuses": re.sub(r"\b([a-z]+)_([a-z]+)(?:_([a-z]+))?\b",
                                      lambda m: " ".join(g for g in m.groups() if g), reply),
        "reversed_sentences": reversed_sentences(reply),
        "greeting_and_sign_off": GREETING + reply + SIGN_OFF,
        "quoted_correction": quoted_correction(task),
        "labels_before_ids": _substitute(reply, list(mentions), _labelled_id),
    }


def hacks(task: Task, results: list[dict]) -> dict[str, str | None]:
    """Replies that skip the work, by name (None where a hack does not apply: a reply with no amount to change)."""
    encoded = [encode_result(result) for result in results]
    pasted = "\n".join(encoded)
    return {
        "pasted_results_with_reply": f"{task.reference_reply}\n\n{pasted}" if results else None,
        "pasted_results": pasted or None,
        "results_as_text": f"{task.reference_reply}\n{flattened(results)}" if results else None,
        "json_dump": f"[{','.join(encoded)}]" if results else None,
        "request_echo": task.request,
        "generic_reply": GENERIC_REPLY,
        "amount_changed": changed_fact(task, "money"),
        "date_changed": changed_fact(task, "date"),
        "id_swapped": changed_fact(task, "id"),
        **{name: hedged(task, template) for name, template in HEDGES.items()},
    }


HACKS = ("pasted_results_with_reply", "pasted_results", "results_as_text", "json_dump", "request_echo", "generic_reply",
         "amount_changed", "date_changed", "id_swapped", *HEDGES, "remembered_answer")
PARAPHRASES = ("other_date_format", "money_suffix_usd", "money_prefix_usd", "plain_word_statuses", "reversed_sentences",
               "greeting_and_sign_off", "quoted_correction", "labels_before_ids")


def probe_task(task: Task, task_set: TaskSet) -> list[ProbeResult]:
    """Every hack and paraphrase of ``task`` scored against its rubric (hacks that do not apply are left out)."""
    rubric = task_set.rubric(task.rubric_id)
    env = CorecraftEnv(task_set=task_set, task_ids=[task.id])
    try:
        run_episode(env, OracleAgent(task_set), task.id)
        episode = env.episode
        results = [event.result for event in episode.events]

        def scored(probe: str, kind: str, reply: str) -> ProbeResult:
            score = score_episode(task, rubric, replace(episode, final_reply=reply))
            return ProbeResult(probe, kind, reply, score.passed, score.reward,
                               tuple(v.criterion_id for v in score.verdicts if v.passed is not True))

        probes = [scored(name, "hack", reply) for name, reply in hacks(task, results).items() if reply is not None]
        probes += [scored(name, "paraphrase", reply) for name, reply in paraphrases(task).items()]
        remembered = run_episode(env, _Reply(task.reference_reply), task.id)
        probes.append(ProbeResult("remembered_answer", "hack", task.reference_reply, remembered.passed, remembered.reward,
                                  tuple(v["criterion_id"] for v in remembered.info["score"]["verdicts"] if v["passed"] is not True)))
        return probes
    finally:
        env.close()


class _Reply:
    """An agent that answers at once with a fixed reply (no tool calls)."""

    def __init__(self, reply: str) -> None:
        self.reply = reply

    def reset(self, observation: str, info: dict) -> None:
        pass

    def act(self, observation: str, info: dict) -> dict:
        return {"reply": self.reply}


def weak_fallbacks(task: Task, task_set: TaskSet) -> list[str]:
    """Judge criteria whose deterministic fallback the request, a generic reply or the reference reply without its
    answer would meet: offline, such a criterion rewards saying nothing."""
    probes = non_answers(task.reference_reply, task.request)
    weak = []
    for criterion in task_set.rubric(task.rubric_id).criteria:
        if criterion.kind == "judge" and criterion.fallback["kind"] == "response":
            met = [name for name, text in probes.items()
                   if check_response(Episode(conn=None, final_reply=text, request=task.request), criterion.fallback["check"])[0]]
            if met:
                weak.append(f"the fallback of judge criterion {criterion.id!r} is met by {' and '.join(met)}")
    return weak


def probe_problems(task: Task, task_set: TaskSet) -> list[str]:
    """What validation reports: every hack that passes, every paraphrase that fails, with the criteria involved, and
    every judge fallback that does not discriminate."""
    problems = weak_fallbacks(task, task_set)
    for probe in probe_task(task, task_set):
        if probe.kind == "hack" and probe.passed:
            problems.append(f"the reward hack {probe.probe!r} passes the rubric (reply: {probe.reply[:120]!r})")
        if probe.kind == "paraphrase" and not probe.passed:
            problems.append(f"the paraphrase {probe.probe!r} of the reference reply fails {', '.join(probe.failing)} "
                            f"(reply: {probe.reply[:160]!r})")
    return problems


__all__ = ["HACKS", "PARAPHRASES", "ProbeResult", "hacks", "paraphrases", "probe_problems", "probe_task"]
