"""The task-family framework: a family is a generator of support tasks drawn from the world of any seed.

Example (the real one is in ``families/returns.py``)::

    @family("return_partial_line", "multi_step_workflow", "train", policy_rules=("return_window", ...))
    def return_partial_line(ctx):
        # (a docstring here: what the family tests, the docs table's summary)
        for order in ...:                                   # entities from ctx.db, picked with ctx.rng
            spec = TaskSpec(customer(order["customer_id"]), "Please refund the RAM kit from ...")
            spec.call("getOrderDetails", order_id=order["id"])
            ...                                             # more calls, spec.check(criteria), spec.allow(writes)
            spec.reply = "..."
            yield spec

A generator queries the world through ``ctx`` (read-only), picks entities with ``ctx.rng`` (seeded from the family
name, so a family's tasks do not move when another family changes) and never names an entity it did not query, so
it instantiates on every world seed. It yields ``TaskSpec`` candidates: requester,
request, reference tool calls, final reply, rubric criteria and the rows the task may write. The framework then

* turns each candidate into a task and a rubric (difficulty from the number of reference calls, the
  ``no_collateral`` criterion from the declared writes, a policy-blind solution for every rule the family tests:
  given with ``spec.ignoring(rule)`` or derived by ``blind.MUTATORS``),
* validates it in the real environment (``corecraft_env.validation.validate_task``: every reference call succeeds,
  the oracle scores 1.0, the null and random agents do not pass, no policy-blind solution passes) plus the corpus
  rules below, dropping failures with a logged reason,
* keeps the first valid candidates up to the family's quota (per variant) and numbers them
  ``<family-with-dashes>-001`` … on the shipped world (seed 0) and ``<family-with-dashes>-w<seed>-001`` … on the
  others, so tasks of several worlds can share a task set.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..tasks.cases import CaseIndex, task_text
from ..tasks.model import CATEGORIES, DIFFICULTIES, SHIPPED_WORLD_SEED, SPLITS, Rubric, Solution, Task, TaskFormatError, ToolCall
from ..tools import REGISTRY
from ..tools.base import Db
from ..world import load_world
from .blind import policy_blind
from .integrity import FRAMEWORK_CRITERIA, discriminating_judges, integrity_criteria, landing_rules
from .rubric import no_collateral
from .voice import FamilyVoice

log = logging.getLogger("corecraft_env.taskgen")

MIN_CRITERIA, MAX_CRITERIA = 3, 18  # the family's own (no_collateral included); all criteria
OVERPRODUCTION = 3  # candidates drawn per wanted task, so dropped instances can be replaced
MAX_CANDIDATES = 500  # per family: a generator that never runs dry cannot stall the build

# The policy rules tasks test (DOMAIN §5, the policy document's working rules and the world's noise). Every rule
# is the trap of at least one family (tests/test_taskgen.py checks it).
POLICY_RULES: dict[str, str] = {
    "tools_only": "Rely only on tools and policy; a requester's claim (tier, price, spec) is checked, not trusted.",
    "refuse_with_reason": "Refuse what policy forbids and say why.",
    "no_unrequested_writes": "Make no write the request did not ask for and policy does not require.",
    "loyalty_discount": "Loyalty discount on the subtotal: none 0 %, silver 5 %, gold 10 %, platinum 15 %.",
    "shipping_rates": "Shipping is a flat 9.99 / 19.99 / 39.99 by service and is never discounted.",
    "return_window": "Returns within 30 days of the order's created_at.",
    "return_condition": "Unopened, or opened and undamaged; no refund for damage, missing packaging or modification.",
    "shipping_not_refunded": "Shipping is never refunded on a return.",
    "refund_net_of_discount": "A refund is net of the loyalty discount the order was priced with.",
    "itemised_refund": "Partial refunds are itemised per returned line.",
    "refund_pending_unless_authorised": "A new refund is pending; approved only when a human authorised it or on cancellation.",
    "post_refund_statuses": "After a refund: order refund_requested/refunded, payment partially_refunded/refunded.",
    "cancel_only_pending_or_paid": "Only pending or paid orders can be cancelled; otherwise offer a return.",
    "cancellation_refund": "Cancelling a captured order: approved refund of the amount charged, payment refunded, order cancelled.",
    "warranty_period": "Warranty ends purchase date + warranty months (calendar months; 12 when none is listed).",
    "defect_within_30_days_is_return": "A defect inside the 30-day window is a return, not a warranty claim.",
    "warranty_exclusions": "No warranty for damage, cosmetic wear, overclocking, improper installation or an expired period.",
    "escalation_routing": "Each escalation type goes to the department that owns it.",
    "ticket_closure": "Close a ticket: do the work, create the resolution, set it resolved with resolved_success.",
    "validate_before_build": "Run validateBuildCompatibility before creating or changing a build.",
    "no_incompatible_build": "Never save a build with compatibility errors; explain and suggest a compatible part.",
    "paginate_orders": "searchOrders shows only the newest 10; narrow the search until every order is seen.",
    "eastern_time": "Requesters speak US Eastern time; convert before filtering UTC timestamps.",
    "product_page_wins": "The product page is the source of truth when a KB article or Slack message disagrees.",
    "deprecated_kb": "A deprecated knowledge-base article is not policy.",
    "large_refund_finance": "Slack practice: refunds over $1,000 stay pending with a billing_payment escalation to finance.",
    "use_calculate_price": "Quotes come from calculatePrice, never mental arithmetic on list prices.",
    "carrier_scan_is_delivery": "The carrier's delivered scan is when a parcel arrived; the order page's estimate is not.",
    "records_over_slack": "Slack is not a record: tickets are the same issue only when their records say so.",
    "one_open_escalation": "A ticket has at most one open escalation; while one is open, create no second one.",
}
# Rules only held-out families test: a held-out task on them measures generalisation to a rule the policy states but
# no train task practises (tests/test_heldout_families.py keeps it so).
HELDOUT_RULES = frozenset({"carrier_scan_is_delivery", "records_over_slack", "one_open_escalation"})


# -- what a generator yields ---------------------------------------------------------------------------------------
def customer(customer_id: str) -> dict:
    return {"type": "customer", "id": customer_id}


def employee(employee_id: str) -> dict:
    return {"type": "employee", "id": employee_id}


@dataclass
class TaskSpec:
    """One candidate task: the request, its reference solution, its rubric and the rows it may write."""

    requester: dict
    request: str
    variant: str = "default"
    reply: str = ""
    calls: list[ToolCall] = field(default_factory=list)
    criteria: list[dict] = field(default_factory=list)
    writes: list[dict] = field(default_factory=list)  # no_collateral allow entries
    blind: dict[str, TaskSpec] = field(default_factory=dict)  # rule -> what an agent blind to it does

    def call(self, tool: str, /, **arguments: Any) -> TaskSpec:
        """Append a reference tool call (``tool`` is positional-only: createBuild takes a ``name`` argument)."""
        if tool not in REGISTRY:
            raise ValueError(f"unknown tool {tool!r}")
        self.calls.append(ToolCall(tool, arguments))
        return self

    def check(self, *criteria: dict) -> TaskSpec:
        self.criteria.extend(criteria)
        return self

    def ignoring(self, *rules: str) -> TaskSpec:
        """A spec to fill with what an agent blind to ``rules`` does on this request (its calls and reply; criteria
        and writes added to it are ignored), e.g. the refund a refusal family's policy forbids. Rules left without
        one get a mutation of the reference solution (``blind.MUTATORS``) where one applies."""
        blind = TaskSpec(self.requester, self.request, self.variant)
        for rule in rules:
            if rule in self.blind:
                raise ValueError(f"a policy-blind solution for {rule!r} is already given")
            self.blind[rule] = blind
        return blind

    def allow(self, table: str, *ids: str, ops: tuple[str, ...]) -> TaskSpec:
        """Declare rows this task may write (the only writes its no_collateral criterion accepts)."""
        self.writes.append({"table": table, "ids": list(ids), "ops": list(ops)})
        return self

    @property
    def writes_anything(self) -> bool:
        return any(REGISTRY[c.name].writes for c in self.calls)


# -- families --------------------------------------------------------------------------------------------------------
Generator = Callable[["Context"], Iterator[TaskSpec]]


@dataclass(frozen=True)
class Family:
    name: str
    category: str
    split: str
    policy_rules: tuple[str, ...]
    quota: dict[str, int]  # variant -> tasks wanted
    summary: str
    generate: Generator

    @property
    def slug(self) -> str:
        return self.name.replace("_", "-")

    @property
    def wanted(self) -> int:
        return sum(self.quota.values())


FAMILIES: dict[str, Family] = {}


def family(name: str, category: str, split: str, *, policy_rules: Iterable[str], count: int | dict[str, int] = 3,
           summary: str | None = None) -> Callable[[Generator], Generator]:
    """Register ``fn(ctx) -> Iterator[TaskSpec]`` as the task family ``name``.

    ``count`` is how many tasks to keep, or per variant (``{"easy": 1, "expert": 2}``; a spec names its variant).
    ``summary`` (default: the generator docstring's first paragraph) is what the family tests, for docs/tasks.md.
    """
    rules = tuple(policy_rules)
    problems = [f"category {category!r} not in {CATEGORIES}"] if category not in CATEGORIES else []
    problems += [f"split {split!r} not in {SPLITS}"] if split not in SPLITS else []
    problems += [f"unknown policy rule {r!r}" for r in rules if r not in POLICY_RULES]
    if problems:
        raise ValueError(f"family {name}: " + "; ".join(problems))

    def register(fn: Generator) -> Generator:
        if name in FAMILIES:
            raise ValueError(f"duplicate family {name!r}")
        text = summary or " ".join((fn.__doc__ or "").strip().split("\n\n")[0].split())
        quota = count if isinstance(count, dict) else {"default": count}
        FAMILIES[name] = Family(name, category, split, rules, dict(quota), text, fn)
        return fn

    return register


def family_seed(name: str) -> int:
    """A stable 64-bit seed from the family name (SHA-256; Python's ``hash`` changes between processes)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big")


def difficulty_for(call_count: int) -> str:
    """easy 1–2 reference tool calls, medium 3–5, hard 6–9, expert 10+."""
    if call_count < 1:
        raise ValueError("a task needs at least one reference tool call")
    return DIFFICULTIES[0 if call_count <= 2 else 1 if call_count <= 5 else 2 if call_count <= 9 else 3]


# -- which customers' cases each split may use ----------------------------------------------------------------------
HELDOUT_CUSTOMER_SHARE = 4  # one customer in four is reserved for held-out tasks


def heldout_customers(conn: sqlite3.Connection, seed: int) -> frozenset[str]:
    """The customers whose cases only held-out tasks may touch: a stable hash of the world seed and the customer id
    picks one in ``HELDOUT_CUSTOMER_SHARE``, so train tasks never practise on the records held-out tasks test."""
    def draw(customer_id: str) -> int:
        return int.from_bytes(hashlib.sha256(f"{seed}:{customer_id}".encode()).digest()[:8], "big")

    return frozenset(c for (c,) in conn.execute("SELECT id FROM customer") if draw(c) % HELDOUT_CUSTOMER_SHARE == 0)


# -- what a generator sees -----------------------------------------------------------------------------------------
_ID_FORMATS = {"refund": ("ref", 5), "resolution": ("res", 4), "escalation": ("esc", 4), "build": ("build", 4)}


class Context:
    """A generator's view of a pristine world: read-only queries, read tools, next ids and a seeded RNG."""

    def __init__(self, name: str, conn: sqlite3.Connection, seed: int = SHIPPED_WORLD_SEED, split: str | None = None) -> None:
        self.seed = seed
        self.db = Db(conn)
        self.rng = random.Random(family_seed(name))
        self.split = split  # None: no customer partition (a generator run outside run_family)
        self.cases = CaseIndex(conn)
        self.heldout_customers = heldout_customers(conn, seed)

    def on_side(self, customer_id: str) -> bool:
        """Whether this family's split may use ``customer_id``'s case (always, outside ``run_family``)."""
        return self.split is None or (customer_id in self.heldout_customers) == (self.split == "heldout")

    def in_partition(self, spec: TaskSpec) -> bool:
        """Whether every customer whose case the spec names (request, reference arguments, requester) is on its side."""
        text = task_text(spec.request, (c.arguments for c in spec.calls))
        return all(self.on_side(c) for c in self.cases.customers(text, spec.requester))

    def tool(self, tool: str, /, **arguments: Any) -> dict:
        """The result a read tool gives on the pristine world (what the oracle will see)."""
        if REGISTRY[tool].writes:
            raise ValueError(f"{tool} writes; generators only read")
        result = REGISTRY.call(self.db.conn, tool, arguments)
        if "error" in result:
            raise LookupError(f"{tool}({arguments}) failed: {result['error']['message']}")
        return result

    def next_id(self, table: str, offset: int = 0) -> str:
        """The id the (offset+1)-th row created in ``table`` during an episode gets (``Db.next_id`` on this world)."""
        prefix, width = _ID_FORMATS[table]
        first = self.db.next_id(table, prefix, width)
        return f"{prefix}-{int(first.rsplit('-', 1)[1]) + offset:0{width}d}"

    def staff(self, department: str = "support") -> dict:
        """A random employee of ``department`` (the requester of an internal request)."""
        return self.rng.choice(self.db.all("SELECT * FROM employee WHERE department = ? ORDER BY id", (department,)))

    def pick(self, rows: list, k: int | None = None) -> list:
        """``rows`` shuffled by the family RNG (the first ``k`` when given), those on this split's side of the customer
        partition first: a batch drawn from a pool is then one the framework keeps (candidates naming a customer of
        the other split are skipped), and nothing is dropped, so a generator still gets ``k`` rows when it asks."""
        chosen = list(rows)
        self.rng.shuffle(chosen)
        chosen.sort(key=lambda row: not all(self.on_side(c) for c in _customers_in(row)))  # stable: keeps the shuffle
        return chosen if k is None else chosen[:k]


def _customers_in(item: Any) -> set[str]:
    """The customers a picked item belongs to: a customer id or row, a row's ``customer_id``, or those of the rows in
    a tuple (a generator's (ticket, order, line) pool entry)."""
    if isinstance(item, str):
        return {item} if item.startswith("cust-") else set()
    if isinstance(item, dict):
        owner = item["id"] if str(item.get("id", "")).startswith("cust-") else item.get("customer_id")
        return {owner} if isinstance(owner, str) else set()
    if isinstance(item, (tuple, list)):
        return set().union(*map(_customers_in, item))
    return set()


def read_only_world(seed: int = SHIPPED_WORLD_SEED) -> sqlite3.Connection:
    conn = load_world(seed).connect()
    conn.execute("PRAGMA query_only = ON")
    return conn


# -- from candidates to validated tasks ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Generated:
    task: dict
    rubric: dict


@dataclass
class FamilyResult:
    family: Family
    kept: list[Generated]
    dropped: list[tuple[str, str]]  # (candidate id, reason)
    error: str = ""  # on a generated world: why the family's generator stopped early (a bug to report)


def task_id_for(fam: Family, seed: int, label: str) -> str:
    """``<family-slug>-<label>`` on the shipped world, ``<family-slug>-w<seed>-<label>`` on any other."""
    return f"{fam.slug}-{label}" if seed == SHIPPED_WORLD_SEED else f"{fam.slug}-w{seed}-{label}"


def render(fam: Family, spec: TaskSpec, task_id: str, blind: dict[str, Solution], seed: int,
           check_schema: bool = True) -> Generated:
    """A candidate as task and rubric documents (schema-valid or ``TaskFormatError`` when ``check_schema``)."""
    task = Task(
        id=task_id, family=fam.name, category=fam.category, difficulty=difficulty_for(len(spec.calls)), split=fam.split,
        world_seed=seed, requester=dict(spec.requester), request=spec.request, rubric_id=task_id,
        reference_tool_calls=tuple(spec.calls), reference_reply=spec.reply, policy_rules=fam.policy_rules, policy_blind=blind,
    ).to_dict()
    rubric = {"id": task_id, "criteria": [*spec.criteria, no_collateral(spec.writes)]}
    if check_schema:
        Task.from_dict(task, source=task_id)
        Rubric.from_dict(rubric, source=task_id)
    return Generated(task, rubric)


def corpus_problems(spec: TaskSpec, generated: Generated, unblinded: list[str]) -> list[str]:
    """The corpus's own rules on top of the environment's validation (``unblinded``: the family's rules this
    candidate has no policy-blind solution for)."""
    criteria = generated.rubric["criteria"]
    kinds = [c["kind"] for c in criteria]
    own = [c for c in criteria if c["id"] not in FRAMEWORK_CRITERIA]
    problems = []
    if len(own) < MIN_CRITERIA or len(criteria) > MAX_CRITERIA:
        problems.append(f"{len(own)} criteria of the family's own and {len(criteria)} in all; a rubric has at least "
                        f"{MIN_CRITERIA} of its own (no_collateral included) and at most {MAX_CRITERIA} in all")
    if spec.writes_anything and "state" not in kinds:
        problems.append("the reference solution writes but no state criterion checks it")
    if not spec.writes_anything and spec.writes:
        problems.append("a read-only task must allow no writes")
    if "response" not in kinds and "judge" not in kinds:
        problems.append("nothing checks the final reply")
    if not spec.reply.strip():
        problems.append("empty reference reply")
    if unblinded:
        problems.append(f"no policy-blind solution for {', '.join(unblinded)}: give one with spec.ignoring(...) or drop the "
                        "rule from the family")
    strays = sorted(set(spec.blind) - set(generated.task.get("policy_rules", ())))
    if strays:
        problems.append(f"policy-blind solutions for rules the family does not test: {', '.join(strays)}")
    if any(not blind.reply.strip() for blind in spec.blind.values()):
        problems.append("a policy-blind solution has an empty reply")
    return problems


def candidates(fam: Family, ctx: Context) -> Iterator[TaskSpec]:
    """The family's candidates, at most ``OVERPRODUCTION`` times its quota per variant, inside the customer partition:
    a train candidate naming a held-out customer's case is skipped; a held-out candidate naming a train customer's
    case waits until the family's candidates on reserved customers are spent (a scarce world may have too few)."""
    drawn: dict[str, int] = {}
    deferred: list[TaskSpec] = []

    def wanted(spec: TaskSpec) -> bool:
        if drawn.get(spec.variant, 0) >= fam.quota[spec.variant] * OVERPRODUCTION:
            return False
        drawn[spec.variant] = drawn.get(spec.variant, 0) + 1
        return True

    for index, spec in enumerate(fam.generate(ctx)):
        if index >= MAX_CANDIDATES or all(drawn.get(v, 0) >= n * OVERPRODUCTION for v, n in fam.quota.items()):
            break
        if spec.variant not in fam.quota:
            if spec.variant in DIFFICULTIES and set(fam.quota) <= set(DIFFICULTIES):
                # A family with a quota per difficulty tier meets, on some world, a case of a tier it does not want
                # (a customer with five duplicate tickets): not a task it asked for, so it is passed over.
                log.info("%s: passed over a %s candidate (quota %s)", fam.name, spec.variant, sorted(fam.quota))
                continue
            raise ValueError(f"family {fam.name}: variant {spec.variant!r} has no quota ({sorted(fam.quota)})")
        if not ctx.in_partition(spec):
            if fam.split == "heldout":
                deferred.append(spec)
            continue
        if wanted(spec):
            yield spec
    yield from (spec for spec in deferred if wanted(spec))


def check_candidate(fam: Family, spec: TaskSpec, candidate_id: str, scratch: Path, blind: dict[str, Solution],
                    unblinded: list[str], seed: int) -> tuple[Generated | None, str]:
    """Render and validate one candidate: ``(documents, "")`` or ``(None, reason)``."""
    try:
        generated = render(fam, spec, candidate_id, blind, seed)
    except TaskFormatError as exc:
        return None, str(exc)
    problems = corpus_problems(spec, generated, unblinded)
    if not problems:
        from ..validation import validate_task  # the project's definition of a valid task (imports pytest)

        (scratch / f"{candidate_id}.json").write_text(json.dumps(generated.rubric), encoding="utf-8")
        problems = validate_task(Task.from_dict(generated.task, source=candidate_id), scratch)
    return (None, "; ".join(problems)) if problems else (generated, "")


def run_family(fam: Family, conn: sqlite3.Connection, seed: int = SHIPPED_WORLD_SEED) -> FamilyResult:
    """Generate, validate and number one family's tasks on ``conn``, the read-only world of ``seed``."""
    ctx = Context(fam.name, conn, seed, fam.split)
    kept: list[tuple[TaskSpec, dict[str, Solution]]] = []
    dropped: list[tuple[str, str]] = []
    taken = {variant: 0 for variant in fam.quota}
    voice = FamilyVoice(fam.name, conn, seed)
    error = ""
    with tempfile.TemporaryDirectory(prefix="taskgen-") as scratch:
        try:
            for index, spec in enumerate(candidates(fam, ctx), start=1):
                if all(taken[v] >= n for v, n in fam.quota.items()):
                    break
                if taken[spec.variant] >= fam.quota[spec.variant]:
                    continue
                candidate_id = task_id_for(fam, seed, f"c{index:03d}")
                spec.request = voice.voiced(spec.request, spec.requester, index)
                spec.criteria = discriminating_judges(spec) + integrity_criteria(spec, ctx)
                spec.writes = landing_rules(spec)
                blind, unblinded = policy_blind(fam.policy_rules, spec, ctx)
                generated, reason = check_candidate(fam, spec, candidate_id, Path(scratch), blind, unblinded, seed)
                if generated is None:
                    log.info("dropped %s (%s/%s): %s", candidate_id, fam.name, spec.variant, reason)
                    dropped.append((candidate_id, reason))
                    continue
                taken[spec.variant] += 1
                voice.keep(spec.request)
                kept.append((spec, blind))
        except Exception as exc:  # noqa: BLE001 - the shipped corpus must be exact; another world stays usable
            if seed == SHIPPED_WORLD_SEED:
                raise
            error = f"{type(exc).__name__}: {exc}"
            log.error("family %s stopped on world seed %d after %d kept tasks: %s (a generator bug: please report it)",
                      fam.name, seed, len(kept), error, exc_info=True)
    short = {v: n - taken[v] for v, n in fam.quota.items() if taken[v] < n}
    if short:
        log.warning("family %s is short of tasks on world seed %d: %s", fam.name, seed, short)
    # Renumbering changes only the ids of documents already validated.
    numbered = [render(fam, spec, task_id_for(fam, seed, f"{number:03d}"), blind, seed, check_schema=False)
                for number, (spec, blind) in enumerate(kept, start=1)]
    return FamilyResult(fam, numbered, dropped, error)
