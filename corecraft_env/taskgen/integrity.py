"""Criteria every generated rubric gets so that its reward cannot be had without the work.

A family writes the criteria of its own trap; the framework adds, from the candidate itself:

* ``reply-form``: the reply reads as a reply to a person: at most three times the reference reply's length (at least
  400 characters of slack), no raw tool output (JSON text, record field names), not mostly the request's own words.
  A dump or an echo fails it.
* ``reply-facts``: every id, amount, date and percentage the reply *asserts* is one the reference reply states, the
  request names (ids and dates), or the policy sets (loyalty percentages, shipping rates). A hedge between the right
  and a wrong figure, a changed figure, or pasted records fail it; a figure quoted to correct it does not count.
* ``consulted``: for a read-only task, the tool whose result holds the answer was called on the right entity, so an
  answer remembered from training on the same world does not pass.
* judge fallbacks that discriminate: a fallback that the request, a generic reply or the reference reply with its
  answer removed would meet also requires the answer's facts; where there are none, the criterion is dropped.
* ``where`` on every allowed insert: a created row must land on the task's own ticket, payment or customer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..tasks.assertions import ID_PATTERN, answer_facts, non_answers, read_reply
from ..tasks.criteria import Episode, check_response
from ..tools import encode_result
from ..world.schema import column_names
from . import rubric as r

if TYPE_CHECKING:
    from .core import Context, TaskSpec

REPLY_LENGTH_FACTOR, REPLY_LENGTH_SLACK = 3, 400
# Figures the policy itself states: a reply may always cite them (loyalty tiers, shipping rates, the finance line).
POLICY_PERCENTS = (5.0, 10.0, 15.0)
POLICY_AMOUNTS = (9.99, 19.99, 39.99, 1000.0)
# Ids of the criteria added here (the corpus rules count a family's own criteria apart from them).
FRAMEWORK_CRITERIA = ("reply-form", "reply-facts", "consulted")
# The table each creating tool inserts into (its id-valued arguments pin where the new row may land).
INSERTS = {"createRefund": "refund", "createResolution": "resolution", "createEscalation": "escalation", "createBuild": "build"}


def _iso(value: tuple[int | None, int, int]) -> str:
    """ISO 8601: 2025-09-04, or --09-04 for a date named without its year."""
    year, month, day = value
    return f"{year:04d}-{month:02d}-{day:02d}" if year else f"--{month:02d}-{day:02d}"


def reply_form(spec: TaskSpec) -> dict:
    limit = max(REPLY_LENGTH_FACTOR * len(spec.reply), len(spec.reply) + REPLY_LENGTH_SLACK)
    return {"id": "reply-form", "kind": "response", "check": {"max_chars": limit, "plain_text": True, "not_echo": True},
            "description": "Answers as a reply to a person: no pasted records or JSON, no echo of the request, no longer than the answer needs"}


def reply_facts(spec: TaskSpec) -> dict:
    said = read_reply(spec.reply).mentions
    asked = read_reply(spec.request).mentions

    def values(kind: str, mentions) -> list:
        return [m.value for m in mentions if m.kind == kind]

    only = {
        "ids": sorted(set(values("id", said) + values("id", asked))),
        "amounts": sorted(set(values("money", said)) | set(POLICY_AMOUNTS)),
        "dates": sorted({_iso(v) for v in values("date", said) + values("date", asked)}),
        "percents": sorted(set(values("percent", said)) | set(POLICY_PERCENTS)),
    }
    return {"id": "reply-facts", "kind": "response", "check": {"only_facts": only},
            "description": "States only what the records support: no other id, amount or date, no hedging between answers"}


def _entity_arguments(arguments: dict) -> dict:
    """The arguments that name an entity (ids and product slugs): what "the right entity" means for a lookup."""
    return {k: v for k, v in arguments.items() if isinstance(v, str) and (ID_PATTERN.fullmatch(v) or k == "product_id")}


def consulted(spec: TaskSpec, ctx: Context) -> dict | None:
    """For a read-only task with no tool criterion: the reference call whose result holds most of the answer."""
    if spec.writes_anything or any(c["kind"] == "tool_called" for c in spec.criteria):
        return None
    answer = answer_facts(spec.reply, spec.request) or [m for m in read_reply(spec.reply).mentions if m.kind != "number"]
    best, best_hits = None, 0
    for call in spec.calls:
        text = encode_result(ctx.tool(call.name, **call.arguments)).lower()
        hits = sum(1 for m in answer if (str(m.value) if m.kind == "id" else f"{m.value:g}" if m.kind == "money" else
                                         _iso(m.value)[-5:] if m.kind == "date" else "\0") in text)
        if hits >= best_hits and hits:
            best, best_hits = call, hits
    best = best or spec.calls[-1]
    arguments = _entity_arguments(best.arguments)
    target = ", ".join(f"{v}" for v in arguments.values())
    return r.called("consulted", f"Looks the answer up with {best.name}" + (f" on {target}" if target else ""),
                    best.name, arguments=arguments or None)


def discriminating_judges(spec: TaskSpec) -> list[dict]:
    """The spec's criteria with every judge fallback made to fail the request, a generic reply and the reference
    reply without its answer; judge criteria that cannot be made so are dropped."""
    probes = non_answers(spec.reply, spec.request).values()
    answer = answer_facts(spec.reply, spec.request)
    kept = []
    for criterion in spec.criteria:
        fallback = criterion.get("fallback")
        if criterion["kind"] != "judge" or fallback["kind"] != "response" or not any(
                check_response(Episode(conn=None, final_reply=text), fallback["check"])[0] for text in probes):
            kept.append(criterion)
            continue
        if not answer:
            continue
        check = dict(fallback["check"])
        check["contains"] = list(dict.fromkeys([*check.get("contains", []),
                                                *(spec.reply[m.start:m.end] for m in answer if m.kind != "money")]))
        check["numbers"] = list(dict.fromkeys([*check.get("numbers", []), *(m.value for m in answer if m.kind == "money")]))
        kept.append({**criterion, "fallback": {"kind": "response", "check": {k: v for k, v in check.items() if v}}})
    return kept


def landing_rules(spec: TaskSpec) -> list[dict]:
    """The spec's allow entries, each insert pinned to where the reference solution puts its rows: every id-valued
    column the creating calls set takes one of their values (None where a call leaves it unset)."""
    pinned = []
    for entry in spec.writes:
        creating = [c for c in spec.calls if INSERTS.get(c.name) == entry["table"]] if "insert" in entry["ops"] else []
        columns = set(column_names(entry["table"]))
        keys = sorted({k for c in creating for k in _entity_arguments(c.arguments) if k in columns})
        where = {}
        for key in keys:
            values = sorted({c.arguments.get(key) for c in creating}, key=str)
            where[key] = values[0] if len(values) == 1 else {"in": values}
        pinned.append({**entry, "where": where} if where else entry)
    return pinned


def integrity_criteria(spec: TaskSpec, ctx: Context) -> list[dict]:
    """The criteria the framework adds to a family's own (see the module docstring)."""
    extra = [reply_form(spec), reply_facts(spec)]
    source = consulted(spec, ctx)
    return extra + ([source] if source else [])


__all__ = ["FRAMEWORK_CRITERIA", "INSERTS", "discriminating_judges", "integrity_criteria", "landing_rules"]
