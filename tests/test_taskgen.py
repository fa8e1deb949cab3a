"""The task-family framework and the corpus it produces: deterministic regeneration that matches the committed files,
full category x difficulty coverage in both splits, the call-count difficulty rule, held-out families, and the
framework's own checks (drops with reasons, Eastern-time filters, registration errors).

Oracle/null/random validation of every shipped task is the validation plugin's job (tasks/ is a test path).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from corecraft_env.taskgen import FAMILIES, POLICY_RULES, TaskSpec, customer, difficulty_for, family
from corecraft_env.taskgen import rubric as r
from corecraft_env.taskgen.build import DOCS_BEGIN, DOCS_END, build, cell_counts, docs_section, families_table, write_corpus
from corecraft_env.taskgen.core import Family, read_only_world, run_family
from corecraft_env.taskgen.facts import eastern_window
from corecraft_env.tasks.model import CATEGORIES, DIFFICULTIES, SPLITS
from corecraft_env.tools import REGISTRY

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ("tasks", "rubrics")


def corpus_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for folder in CORPUS for p in sorted((root / folder).rglob("*.json"))}


def docs_block(text: str) -> str:
    return text.split(DOCS_BEGIN, 1)[1].split(DOCS_END, 1)[0]


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """Two independent builds into fresh folders."""
    first, second = tmp_path_factory.mktemp("build1"), tmp_path_factory.mktemp("build2")
    return (first, build(first)), (second, build(second))


@pytest.fixture(scope="module")
def shipped() -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((ROOT / "tasks").rglob("*.json"))]


@pytest.fixture(scope="module")
def rubrics() -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted((ROOT / "rubrics").glob("*.json"))}


# -- regeneration --------------------------------------------------------------------------------------------------------
def test_regeneration_is_byte_identical_and_matches_the_committed_corpus(builds):
    (first, _), (second, _) = builds
    built = corpus_bytes(first)
    assert len(built) >= 80  # 40+ tasks, each with its rubric
    assert built == corpus_bytes(second)
    committed = corpus_bytes(ROOT)
    assert sorted(committed) == sorted(built), "run `python -m corecraft_env.taskgen` and commit the result"
    assert [name for name in built if committed[name] != built[name]] == []


def test_files_are_canonical_json(builds):
    (first, _), _ = builds
    for name, data in corpus_bytes(first).items():
        text = data.decode()
        assert text == json.dumps(json.loads(text), sort_keys=True, indent=1, ensure_ascii=False) + "\n", name


def test_writing_removes_stale_corpus_files_only(tmp_path):
    stale = tmp_path / "tasks" / "heldout" / "no-such-family-001.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")
    readme = tmp_path / "tasks" / "README.md"
    readme.write_text("kept")
    fresh = Path("tasks") / "train" / "toy-001.json"
    removed = write_corpus({fresh: "{}\n"}, tmp_path)
    assert removed == [stale] and not stale.exists()
    assert readme.read_text() == "kept" and (tmp_path / fresh).read_text() == "{}\n"


def test_docs_tables_are_generated_from_the_registry(builds):
    (first, report), _ = builds
    section = docs_section(report.results)
    assert docs_block((ROOT / "docs" / "tasks.md").read_text()).strip() == section.strip()
    assert docs_block((first / "docs" / "tasks.md").read_text()).strip() == section.strip()
    table = families_table(report.results)
    for fam in FAMILIES.values():
        assert f"| `{fam.name}` | {fam.category} | {fam.split} |" in table


def test_generation_does_not_depend_on_the_hash_seed(builds):
    (first, _), _ = builds
    script = ("import hashlib; from corecraft_env.taskgen.build import generate, corpus_files; "
              "files = corpus_files(generate(['return_partial_line', 'account_review'])); "
              "print(hashlib.sha256(repr(sorted(files.items())).encode()).hexdigest())")
    expected = hashlib.sha256(repr(sorted(
        (Path(name), data.decode()) for name, data in corpus_bytes(first).items()
        if Path(name).stem.rsplit("-", 1)[0] in ("return-partial-line", "account-review"))).encode()).hexdigest()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True).stdout.strip()
        assert out == expected


# -- the corpus ------------------------------------------------------------------------------------------------------------
def test_the_shipped_corpus_meets_its_scale_targets():
    """What `corecraft tasks --stats --json` reports: 600+ tasks, 60+ families, 20 %+ of the families held out,
    400+ train tasks, and the expert tier at least 10 % of all tasks."""
    result = subprocess.run([sys.executable, "-m", "corecraft_env", "tasks", "--stats", "--json"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    assert stats["tasks"] >= 600 and stats["families"] >= 60 and stats["by_split"]["train"] >= 400
    assert stats["heldout_families"] / stats["families"] >= 0.2
    expert = sum(row["expert"] for grid in stats["grid"].values() for row in grid.values())
    assert expert / stats["tasks"] >= 0.1


def test_every_category_difficulty_cell_is_filled_in_both_splits(shipped):
    counts = cell_counts(shipped)
    empty = [cell for cell, n in counts.items() if n == 0]
    assert empty == []
    assert len(counts) == len(SPLITS) * len(CATEGORIES) * len(DIFFICULTIES)


def test_difficulty_follows_the_reference_call_count(shipped):
    for task in shipped:
        assert task["difficulty"] == difficulty_for(len(task["reference_solution"]["tool_calls"])), task["id"]


@pytest.mark.parametrize(("calls", "difficulty"), [(1, "easy"), (2, "easy"), (3, "medium"), (5, "medium"), (6, "hard"),
                                                   (9, "hard"), (10, "expert"), (25, "expert")])
def test_difficulty_boundaries(calls, difficulty):
    assert difficulty_for(calls) == difficulty


def test_difficulty_needs_a_call():
    with pytest.raises(ValueError):
        difficulty_for(0)


def test_whole_families_are_held_out(shipped):
    held = [f for f in FAMILIES.values() if f.split == "heldout"]
    assert len(held) / len(FAMILIES) >= 0.2
    for task in shipped:
        fam = FAMILIES[task["family"]]
        assert (task["split"], task["category"]) == (fam.split, fam.category), task["id"]
        assert task["id"].startswith(fam.slug + "-") and task["rubric_id"] == task["id"]
    assert {t["family"] for t in shipped} == set(FAMILIES), "every family ships at least one task"


def test_every_policy_rule_is_a_trap_somewhere(shipped):
    tested = {rule for task in shipped for rule in task.get("policy_rules", [])}
    assert set(POLICY_RULES) - tested == set()


def test_rubrics_check_writes_and_forbid_unrequested_ones(shipped, rubrics):
    for task in shipped:
        criteria = rubrics[task["rubric_id"]]["criteria"]
        assert 4 <= len(criteria) <= 18, task["id"]
        collateral = [c for c in criteria if c["kind"] == "no_collateral"]
        assert len(collateral) == 1, task["id"]
        writes = [c for c in task["reference_solution"]["tool_calls"] if REGISTRY[c["name"]].writes]
        if writes:
            assert any(c["kind"] == "state" for c in criteria), task["id"]
            assert collateral[0]["check"]["allow"], task["id"]
        else:
            assert collateral[0]["check"]["allow"] == [], task["id"]
        for criterion in criteria:
            if criterion["kind"] == "judge":
                assert criterion["fallback"]["kind"] in ("state", "tool_called", "tool_not_called", "response")


# -- the framework -----------------------------------------------------------------------------------------------------------
def _toy_family(specs: list[TaskSpec], count: int) -> Family:
    return Family("toy_family", "information_retrieval", "train", ("tools_only",), {"default": count}, "toy", lambda ctx: iter(specs))


def _tracking_spec(reply: str, criteria: int = 3, blind_reply: str | None = "It was delivered yesterday, as you said.") -> TaskSpec:
    spec = TaskSpec(customer("cust-0001"), "Where is my order ord-250911-102? I think it was delivered yesterday?", reply=reply)
    spec.call("getOrderDetails", order_id="ord-250911-102")
    checks = [r.reply("tracking", "Gives the tracking number", contains=["UP1021733211859"]),
              r.reply("carrier", "Gives the carrier", contains=["UPS"]),
              r.reply("status", "Gives the status", contains=["in transit"])]
    spec.check(*checks[:criteria])
    if blind_reply is not None:  # an agent that trusts the customer's claim instead of looking the order up
        spec.ignoring("tools_only").reply = blind_reply
    return spec


def test_run_family_keeps_valid_candidates_and_drops_the_rest_with_reasons():
    good = "Order ord-250911-102 is in transit with UPS, tracking UP1021733211859."
    specs = [_tracking_spec("It's on its way."), _tracking_spec(good, criteria=1), _tracking_spec(good, blind_reply=None),
             _tracking_spec(good, blind_reply=good), _tracking_spec(good), _tracking_spec(good)]
    conn = read_only_world()
    try:
        result = run_family(_toy_family(specs, count=2), conn)
    finally:
        conn.close()
    assert [g.task["id"] for g in result.kept] == ["toy-family-001", "toy-family-002"]
    first = result.kept[0]
    assert first.task["reference_solution"]["final_reply"] == good
    assert first.task["difficulty"] == "easy"
    # The agent that answers right without looking anything up (candidate 4) no longer passes: read-only rubrics
    # require the lookup that holds the answer, so a remembered answer fails.
    assert first.task["policy_blind"] == {"tools_only": {"tool_calls": [], "final_reply": good}}
    consulted = next(c for c in first.rubric["criteria"] if c["id"] == "consulted")
    assert consulted["check"] == {"name": "getOrderDetails", "arguments": {"order_id": "ord-250911-102"}}
    reasons = dict(result.dropped)
    assert "scores" in reasons["toy-family-c001"] and "tracking" in reasons["toy-family-c001"]
    assert "2 criteria of the family's own" in reasons["toy-family-c002"]
    assert "no policy-blind solution for tools_only" in reasons["toy-family-c003"]
    assert len(result.dropped) == 3


def test_a_tier_outside_a_per_tier_quota_is_passed_over_and_an_unknown_variant_is_an_error():
    good = "Order ord-250911-102 is in transit with UPS, tracking UP1021733211859."
    too_hard, wanted = _tracking_spec(good), _tracking_spec(good)
    too_hard.variant, wanted.variant = "hard", "easy"  # a world can hold a case harder than the family asked for
    tiered = Family("toy_family", "information_retrieval", "train", ("tools_only",), {"easy": 1}, "toy",
                    lambda ctx: iter([too_hard, wanted]))
    misspelt = _tracking_spec(good)
    misspelt.variant = "by_tme"
    named = Family("toy_family", "information_retrieval", "train", ("tools_only",), {"by_time": 1}, "toy",
                   lambda ctx: iter([misspelt]))
    conn = read_only_world()
    try:
        result = run_family(tiered, conn)
        with pytest.raises(ValueError, match="variant 'by_tme' has no quota"):
            run_family(named, conn)
    finally:
        conn.close()
    assert [g.task["id"] for g in result.kept] == ["toy-family-001"] and result.dropped == []


def test_a_generator_bug_stops_its_family_on_a_generated_world_but_fails_the_shipped_corpus():
    def broken(ctx):
        yield from ()
        raise KeyError("no_such_column")

    fam = Family("toy_family", "information_retrieval", "train", ("tools_only",), {"default": 1}, "toy", broken)
    for seed in (0, 1):
        conn = read_only_world(seed)
        try:
            if seed == 0:
                with pytest.raises(KeyError, match="no_such_column"):
                    run_family(fam, conn, seed)
            else:
                result = run_family(fam, conn, seed)
                assert (result.kept, result.error) == ([], "KeyError: 'no_such_column'")
        finally:
            conn.close()


def test_family_registration_rejects_unknown_rules_and_categories():
    with pytest.raises(ValueError, match="unknown policy rule"):
        family("bad_family", "reasoning", "train", policy_rules=("no_such_rule",))
    with pytest.raises(ValueError, match="category"):
        family("bad_family", "gossip", "train", policy_rules=())
    assert "bad_family" not in FAMILIES


@pytest.mark.parametrize(("moment", "phrase", "after", "before"), [
    ("2025-09-10T02:22:03Z", "late last Tuesday night", "2025-09-09T22:00:00-04:00", "2025-09-09T23:59:59-04:00"),
    ("2025-09-09T17:30:00Z", "last Tuesday afternoon", "2025-09-09T12:00:00-04:00", "2025-09-09T16:59:59-04:00"),
    ("2025-09-15T13:00:00Z", "this morning", "2025-09-15T05:00:00-04:00", "2025-09-15T11:59:59-04:00"),
    ("2025-01-14T01:00:00Z", "on the evening of January 13th", "2025-01-13T17:00:00-05:00", "2025-01-13T21:59:59-05:00"),
])
def test_eastern_window_converts_to_the_requester_day(moment, phrase, after, before):
    window = eastern_window(moment)
    assert (window.phrase, window.after, window.before) == (phrase, after, before)


# -- rubric sensitivity: the reference solution with one policy mistake must not pass ------------------------------------
class Replay:
    """Plays a fixed list of actions (tool calls, then a reply)."""

    def __init__(self, actions: list[dict]) -> None:
        self.actions = actions

    def reset(self, observation: str, info: dict) -> None:
        self.queue = list(self.actions)

    def act(self, observation: str, info: dict) -> dict:
        return self.queue.pop(0)


@pytest.fixture(scope="module")
def corpus_env():
    from corecraft_env.env import CorecraftEnv

    env = CorecraftEnv(split=None, tasks_dir=str(ROOT / "tasks"), rubrics_dir=str(ROOT / "rubrics"))
    yield env
    env.close()


def _reference(task) -> list[dict]:
    return [{"tool": c.name, "arguments": json.loads(json.dumps(c.arguments))} for c in task.reference_tool_calls]


def _passes(env, task, calls: list[dict], reply: str | None = None) -> bool:
    from corecraft_env.agents import run_episode

    return run_episode(env, Replay([*calls, {"reply": task.reference_reply if reply is None else reply}]), task.id).passed


def test_every_reference_write_is_required(corpus_env):
    survivors = []
    for task in corpus_env.tasks:
        calls = _reference(task)
        for index, call in enumerate(calls):
            if REGISTRY[call["tool"]].writes and _passes(corpus_env, task, calls[:index] + calls[index + 1:]):
                survivors.append(f"{task.id} without {call['tool']}")
    assert survivors == []


def test_an_unrequested_write_or_a_bare_reply_fails_every_task(corpus_env):
    stray = {"tool": "updateTicketStatus", "arguments": {"ticket_id": "tick-0001", "status": "closed"}}
    for task in corpus_env.tasks:
        assert not _passes(corpus_env, task, [*_reference(task), stray]), task.id
        assert not _passes(corpus_env, task, _reference(task), reply="Done."), task.id


def test_wrong_refund_status_amount_or_routing_fails(corpus_env):
    mutated = 0
    for task in corpus_env.tasks:
        for index, call in enumerate(_reference(task)):
            arguments = call["arguments"]
            mutants = []
            if call["tool"] == "createRefund":
                mutants.append({**arguments, "status": "approved" if arguments["status"] == "pending" else "pending"})
                if arguments.get("lines"):
                    lines = [{**arguments["lines"][0], "amount": round(arguments["lines"][0]["amount"] + 0.5, 2)}, *arguments["lines"][1:]]
                    mutants.append({**arguments, "amount": round(arguments["amount"] + 0.5, 2), "lines": lines})
            if call["tool"] == "createEscalation":
                mutants.append({**arguments, "destination": "finance" if arguments["destination"] == "support" else "support"})
            for mutant in mutants:
                calls = _reference(task)
                calls[index] = {"tool": call["tool"], "arguments": mutant}
                assert not _passes(corpus_env, task, calls), f"{task.id}: {call['tool']} {mutant}"
                mutated += 1
    assert mutated >= 30


def test_cli_exports_the_tasks_as_a_dataset_dict_by_split(tmp_path):
    import subprocess
    import sys

    from datasets import DatasetDict, load_from_disk

    result = subprocess.run([sys.executable, "-m", "corecraft_env", "tasks", "--export", str(tmp_path / "ds")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    datasets = load_from_disk(str(tmp_path / "ds"))
    assert isinstance(datasets, DatasetDict) and set(datasets) == {"train", "heldout"}
    for split, dataset in datasets.items():
        assert set(dataset["split"]) == {split} and len(dataset) == len(set(dataset["task_id"]))
    assert not set(datasets["train"]["task_id"]) & set(datasets["heldout"]["task_id"])
    assert [m["role"] for m in datasets["heldout"][0]["prompt"]] == ["system", "user"]
    assert f"train: {len(datasets['train'])}, heldout: {len(datasets['heldout'])}" in result.stdout
    assert "load_from_disk" in result.stdout
    heldout = subprocess.run([sys.executable, "-m", "corecraft_env", "tasks", "--split", "heldout", "--export", str(tmp_path / "h")],
                             capture_output=True, text=True)
    assert heldout.returncode == 0, heldout.stderr
    assert set(load_from_disk(str(tmp_path / "h"))) == {"heldout"}
