"""How realistic a task corpus is: the measures of issue #14, per split, reported by ``corecraft tasks --stats``.

Every measure is a pure function of Task objects and, where it needs one, the task's world (loaded once per seed by
``WorldIndex``, queried read-only). They are:

- **distinct-sentence ratio**: every request is split into sentences at a line break or after ``.``, ``!`` or ``?``
  followed by white space (the plain regular-expression splitter; requests are short, lists are one item a line);
  each sentence is lower-cased with its white space collapsed; ratio = distinct sentences / all sentences of the
  split. The same ratio over the *masked* requests (see skeleton) tells whether sentences differ only in the
  entities they name.
- **skeleton**: the request with entity ids (``assertions.ID_PATTERN``), e-mail addresses, product names (the
  world's ``product`` table), person names (full and first names from ``customer`` and ``employee``), dates,
  amounts, percentages and other numbers replaced by ``<id>``, ``<email>``, ``<product>``, ``<person>``,
  ``<date>``, ``<amount>``, ``<percent>`` and ``<number>``, then lower-cased with white space collapsed. Reported:
  distinct skeletons of the split, requests byte-identical to another request of the split, and the families of at
  least 5 tasks in which two tasks share a skeleton.
- **dependent lookups**: the reference's read calls are run in order on the pristine world; an argument value (a
  string, or a string in a list) *comes from* the first earlier call whose encoded result holds it as a JSON
  string, unless it is in the text the agent is given (``env.request_text``: the request under its sender's header).
  Only the first such call counts, so a call that merely echoes its arguments back (``validateBuildCompatibility``
  returns the product ids it checked) does not lengthen the chain of the next call that uses them. A call's depth
  is 1 + the largest depth among the calls its values come from (1 if none); the task's chain is its largest
  depth. Write calls are not lookups and are not counted. Reported: the share of tasks whose chain is at least
  ``DEEP_CHAIN`` (4), and the longest chain.
- **boundary cases**: tasks whose reference (tool-call arguments and reply) names an order created 28 to 32 days
  before ``world.NOW`` (the return window is 30 days from the order's creation), or names an order together with
  one of its products (id in the arguments, or name in the reply) whose warranty ends within 7 days either side of
  ``NOW`` (end = order date + the product's warranty months, as ``checkWarrantyStatus`` computes it).
- **trap words**: per entry of ``TRAP_WORDS``, the number of requests that match it: whole words, case-insensitive,
  except ``ET`` which matches only in capitals; "all my orders" also matches "all of my orders". ``internal id``
  counts requests naming a customer or employee id (``cust-…``, ``emp-…``). Apart from the request, the
  observation ``reset`` returns opens with a header naming the sender (``env.request_text``; by name and e-mail by
  default, by internal id with ``requester_form="id"``): ``requester_id_in_observation`` counts the tasks whose
  default header names the requester's id.
- **held-out entity overlap**: the share of held-out tasks that touch a customer case some train task also
  touches. A task's case entities (``cases.CaseIndex``) are the ids, tracking numbers and customer e-mails of the
  world that its request or reference tool-call arguments name, the customers owning them, and the requester when
  it is a customer: customers, orders, payments, shipments, tickets, refunds, resolutions, escalations and builds.
  Products, employees, knowledge-base articles and Slack messages are shared by every task and do not count (an
  earlier definition counted every ``ID_PATTERN`` id and product id, so two tasks quoting the same GPU overlapped).
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Iterable

from ..env import request_text
from ..tools import REGISTRY
from ..tools.products import add_months
from ..tools.registry import encode_result
from ..world import NOW, load_world
from ..world.schema import DEFAULT_WARRANTY_MONTHS
from .assertions import DATE_PATTERN, ID_PATTERN, MONEY_PATTERN, NUMBER_PATTERN, PERCENT_PATTERN
from .cases import EMAIL_PATTERN, CaseIndex, task_text
from .model import Task

DEEP_CHAIN = 4
FAMILY_MIN_SIZE = 5  # families this large must not repeat a skeleton
RETURN_BOUNDARY_DAYS = (28, 32)  # order age at NOW, either side of the 30-day return window
WARRANTY_BOUNDARY_DAYS = 7  # warranty end within this many days of NOW

_SENTENCE_BREAK = re.compile(r"\n+|(?<=[.!?])\s+")
_SPACE = re.compile(r"\s+")
TRAP_WORDS = {
    "cheapest": re.compile(r"\bcheapest\b", re.IGNORECASE),
    "Eastern": re.compile(r"\beastern\b", re.IGNORECASE),
    "ET": re.compile(r"\bET\b"),
    "New York": re.compile(r"\bnew york\b", re.IGNORECASE),
    "all my orders": re.compile(r"\ball (?:of )?my orders\b", re.IGNORECASE),
    "internal id": re.compile(r"\b(?:cust|emp)-\d+\b", re.IGNORECASE),
}


def _normalise(text: str) -> str:
    return _SPACE.sub(" ", text).strip().lower()


def sentences(text: str) -> list[str]:
    """The text's sentences, lower-cased with white space collapsed (empty pieces dropped)."""
    return [s for s in map(_normalise, _SENTENCE_BREAK.split(text)) if s]


def _names_pattern(names: Iterable[str], flags: int = 0) -> re.Pattern:
    """One alternation of the names, longest first, as whole words."""
    ordered = sorted(set(names), key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(map(re.escape, ordered)) + r")\b", flags)


@dataclass
class WorldIndex:
    """What the measures need from one seeded world, read once: names, product ids, order dates, warranties."""

    seed: int

    @classmethod
    def on(cls, conn, seed: int) -> WorldIndex:
        """The index of an already open (read-only) connection to the world of ``seed``."""
        index = cls(seed)
        index.__dict__["conn"] = conn  # what the cached property would have opened
        return index

    @cached_property
    def conn(self):
        conn = load_world(self.seed).connect()
        conn.execute("PRAGMA query_only = ON")
        return conn

    @cached_property
    def product_names(self) -> dict[str, str]:
        return dict(self.conn.execute("SELECT id, name FROM product"))

    @cached_property
    def product_pattern(self) -> re.Pattern:
        return _names_pattern(self.product_names.values(), re.IGNORECASE)

    @cached_property
    def person_pattern(self) -> re.Pattern:
        """Full names, then first names (case-sensitive: a first name such as "May" is also an English word)."""
        full = [n for (n,) in self.conn.execute("SELECT name FROM customer UNION SELECT name FROM employee")]
        return _names_pattern(full + [n.split()[0] for n in full])

    @cached_property
    def orders(self) -> dict[str, date]:
        return {i: date.fromisoformat(created[:10]) for i, created in self.conn.execute("SELECT id, created_at FROM orders")}

    @cached_property
    def warranty_ends(self) -> dict[tuple[str, str], date]:
        """(order id, product id) → the day that product's warranty from that order ends."""
        rows = self.conn.execute("SELECT l.order_id, l.product_id, p.warranty_months FROM order_line l "
                                 "JOIN product p ON p.id = l.product_id")
        return {(o, p): add_months(self.orders[o], months or DEFAULT_WARRANTY_MONTHS) for o, p, months in rows}

    def skeleton(self, request: str) -> str:
        return _normalise(self.masked(request))

    def masked(self, request: str) -> str:
        """The request with its entity ids, e-mail addresses, product and person names, dates, amounts and numbers masked."""
        text = EMAIL_PATTERN.sub("<email>", ID_PATTERN.sub("<id>", request))
        text = self.product_pattern.sub("<product>", text)
        text = self.person_pattern.sub("<person>", text)
        for pattern, mask in ((DATE_PATTERN, "<date>"), (MONEY_PATTERN, "<amount>"), (PERCENT_PATTERN, "<percent>"),
                              (NUMBER_PATTERN, "<number>")):
            text = pattern.sub(mask, text)
        return text

    @cached_property
    def cases(self) -> CaseIndex:
        return CaseIndex(self.conn)

    def entity_ids(self, task: Task) -> set[str]:
        """The customer-case entities the task names, with their customers (see the module docstring)."""
        return self.cases.entities(task_text(task.request, (c.arguments for c in task.reference_tool_calls)), task.requester)

    def chain_length(self, task: Task) -> int:
        """The longest chain of reference read calls each taking an argument value from the one before it."""
        given = request_text(task, self.conn)
        depths: list[tuple[str, int]] = []  # (encoded result, depth) of each earlier read call, in call order
        for call in task.reference_tool_calls:
            if call.name not in REGISTRY or REGISTRY[call.name].writes:
                continue
            sources = [next((d for result, d in depths if value in result), 0)  # the first result holding the value
                       for value in (json.dumps(v, ensure_ascii=False) for v in _strings(call.arguments) if v and v not in given)]
            depths.append((encode_result(REGISTRY.call(self.conn, call.name, call.arguments)), 1 + max(sources, default=0)))
        return max((d for _, d in depths), default=0)

    def is_boundary_case(self, task: Task) -> bool:
        reference = json.dumps([c.arguments for c in task.reference_tool_calls]) + "\n" + task.reference_reply
        named = {m.lower() for m in ID_PATTERN.findall(reference)} & self.orders.keys()
        low, high = RETURN_BOUNDARY_DAYS
        if any(low <= (NOW.date() - self.orders[o]).days <= high for o in named):
            return True
        for (order, product), ends in self.warranty_ends.items():
            if order in named and abs((ends - NOW.date()).days) <= WARRANTY_BOUNDARY_DAYS and (
                    f'"{product}"' in reference or self.product_names[product].lower() in task.reference_reply.lower()):
                return True
        return False


def _strings(value) -> Iterable[str]:
    """The string values inside arguments (dict values and list items, recursively)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 3) if whole else 0.0


def split_realism(tasks: list[Task], worlds: dict[int, WorldIndex], train_ids: set[str] | None = None) -> dict:
    """The measures for one split's tasks; ``train_ids`` (entity ids named by train tasks) adds the overlap share."""
    all_sentences = [s for t in tasks for s in sentences(t.request)]
    masked_sentences = [s for t in tasks for s in sentences(worlds[t.world_seed].masked(t.request))]
    skeletons = {t.id: worlds[t.world_seed].skeleton(t.request) for t in tasks}
    by_family: dict[str, list[str]] = defaultdict(list)
    for t in tasks:
        by_family[t.family].append(skeletons[t.id])
    chains = [worlds[t.world_seed].chain_length(t) for t in tasks]
    requests = Counter(t.request for t in tasks)
    report = {
        "tasks": len(tasks),
        "sentences": len(all_sentences),
        "distinct_sentences": len(set(all_sentences)),
        "distinct_sentence_ratio": _ratio(len(set(all_sentences)), len(all_sentences)),
        "distinct_masked_sentence_ratio": _ratio(len(set(masked_sentences)), len(masked_sentences)),
        "distinct_skeletons": len(set(skeletons.values())),
        "identical_requests": sum(n for n in requests.values() if n > 1),
        "families_repeating_a_skeleton": sorted(f for f, s in by_family.items()
                                                if len(s) >= FAMILY_MIN_SIZE and len(set(s)) < len(s)),
        "deep_chain_share": _ratio(sum(c >= DEEP_CHAIN for c in chains), len(tasks)),
        "longest_chain": max(chains, default=0),
        "boundary_cases": sum(worlds[t.world_seed].is_boundary_case(t) for t in tasks),
        "trap_words": {word: sum(bool(p.search(t.request)) for t in tasks) for word, p in TRAP_WORDS.items()},
        "requester_id_in_observation": sum(t.requester["id"] in request_text(t, worlds[t.world_seed].conn).split("\n\n", 1)[0]
                                           for t in tasks),
    }
    if train_ids is not None:
        overlapping = sum(bool(worlds[t.world_seed].entity_ids(t) & train_ids) for t in tasks)
        report["heldout_entity_overlap"] = _ratio(overlapping, len(tasks))
        report["heldout_tasks_overlapping"] = overlapping
    return report


def realism_statistics(tasks: Iterable[Task], train_tasks: Iterable[Task] = ()) -> dict[str, dict]:
    """Per split of ``tasks``, the measures above; the held-out split is compared with ``train_tasks``."""
    tasks, train_tasks = list(tasks), list(train_tasks)
    worlds = {seed: WorldIndex(seed) for seed in sorted({t.world_seed for t in tasks + train_tasks})}
    by_split: dict[str, list[Task]] = defaultdict(list)
    for t in tasks:
        by_split[t.split].append(t)
    train_ids = set().union(*(worlds[t.world_seed].entity_ids(t) for t in train_tasks))
    return {split: split_realism(members, worlds, train_ids if split == "heldout" else None)
            for split, members in by_split.items()}
