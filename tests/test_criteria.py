"""Every criterion kind, the matchers, and scoring (reward, pass, judge fallback, errored judge)."""

from __future__ import annotations

import pytest

from corecraft_env.tasks import Criterion, Episode, JudgeError, Rubric, ToolEvent, score_episode
from corecraft_env.tasks.assertions import stated_numbers
from corecraft_env.tasks.criteria import CHECKS, CriterionError, matches
from corecraft_env.tools import REGISTRY

ORDER, PAYMENT = "ord-250823-104", "pay-000729"


@pytest.fixture
def episode(world0) -> Episode:
    return Episode(conn=world0.connect())


def run(episode: Episode, name: str, arguments: dict) -> dict:
    result = REGISTRY.call(episode.conn, name, arguments)
    episode.events.append(ToolEvent(name, arguments, result))
    return result


def check(kind: str, episode: Episode, spec: dict) -> bool:
    return CHECKS[kind](episode, spec)[0]


# -- matchers --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("actual, matcher, expected", [
    (90.0, 90.004, True), (90.0, 90.01, False), ("a", "a", True), (True, 1, False),
    (5, {"gte": 5}, True), (4, {"gt": 4}, False), (None, {"lt": 3}, False), ("2025-09-01", {"gte": "2025-08-16"}, True),
    ("pending", {"in": ["pending", "approved"]}, True), ("denied", {"not_in": ["denied"]}, False),
    (68.4, {"approx": 68.39, "tol": 0.02}, True), (68.5, {"approx": 68.39, "tol": 0.02}, False),
    ("Hello World", {"contains": "world"}, True), (["a", "b"], {"contains_all": ["b"]}, True), (["a"], {"contains_all": ["b"]}, False),
    (["b", "a"], {"same_items": ["a", "b"]}, True), (["a", "a"], {"same_items": ["a", "b"]}, False),
    ([1, 2.0], {"same_items": [2, 1]}, True), ([1], {"same_items": ["1"]}, False), ([True], {"same_items": [1]}, False),
    (None, {"is_null": True}, True), ("x", {"is_null": True}, False),
    (3, {"ne": 4}, True),
])
def test_matchers(actual, matcher, expected):
    assert matches(actual, matcher) is expected


def test_stated_numbers_ignore_ids_dates_and_units():
    assert stated_numbers("Refund $1,234.50 on ord-250830-110 (2025-09-01), a 16GB kit, 30 days.") == [1234.5, 30.0]


# -- state -----------------------------------------------------------------------------------------------------------
def test_state_expect_count_and_new_only(episode):
    assert check("state", episode, {"table": "orders", "where": {"id": ORDER}, "expect": {"status": "delivered"}})
    assert not check("state", episode, {"table": "orders", "where": {"id": ORDER}, "expect": {"status": "cancelled"}})
    assert not check("state", episode, {"table": "refund", "where": {"payment_id": PAYMENT}, "new_only": True})
    run(episode, "createRefund", {"payment_id": PAYMENT, "amount": 68.39, "reason": "defective"})
    episode.writes = [tuple(r) for r in episode.conn.execute("SELECT 'refund', id, 'insert' FROM refund WHERE id = 'ref-00221'")]
    new_refund = {"table": "refund", "where": {"payment_id": PAYMENT}, "new_only": True, "count": 1}
    assert check("state", episode, {**new_refund, "expect": {"amount": 68.39, "status": "pending"}})
    assert not check("state", episode, {**new_refund, "expect": {"amount": {"approx": 75.99}}})
    assert not check("state", episode, {**new_refund, "count": 2})
    assert check("state", episode, {"table": "refund", "where": {"payment_id": PAYMENT, "status": "approved"}, "count": 0})


def test_state_reason_names_the_wrong_field(episode):
    passed, reason = CHECKS["state"](episode, {"table": "orders", "where": {"id": ORDER}, "expect": {"status": "cancelled"}})
    assert not passed and "status = 'delivered', expected 'cancelled'" in reason


@pytest.mark.parametrize("spec, message", [
    ({"table": "sqlite_master"}, "unknown table"),
    ({"table": "orders", "where": {"colour": "red"}}, "has no column 'colour'"),
])
def test_state_rejects_unknown_tables_and_columns(episode, spec, message):
    with pytest.raises(CriterionError, match=message):
        CHECKS["state"](episode, spec)


# -- no_collateral ---------------------------------------------------------------------------------------------------
def test_no_collateral_allows_listed_rows_only(episode):
    episode.writes = [("orders", ORDER, "update"), ("refund", "ref-00221", "insert")]
    allow = [{"table": "orders", "ids": [ORDER], "ops": ["update"]}, {"table": "refund", "ops": ["insert"]}]
    assert check("no_collateral", episode, {"allow": allow})
    passed, reason = CHECKS["no_collateral"](episode, {"allow": allow[:1]})
    assert not passed and "insert refund ref-00221" in reason
    assert not check("no_collateral", episode, {"allow": [{"table": "orders", "ids": ["ord-other"]}, allow[1]]})
    assert not check("no_collateral", episode, {"allow": [{"table": "orders", "ops": ["delete"]}, allow[1]]})
    assert check("no_collateral", Episode(conn=episode.conn), {"allow": []})


# -- tool calls ------------------------------------------------------------------------------------------------------
def test_tool_called_with_arguments_order_and_failures(episode):
    run(episode, "getProduct", {"product_id": "nope"})  # fails: not found
    run(episode, "validateBuildCompatibility", {"product_ids": ["corvex-i7-14700"]})
    run(episode, "createBuild", {"name": "x", "product_ids": ["corvex-i7-14700"], "owner_type": "internal"})
    assert not check("tool_called", episode, {"name": "getProduct"})
    assert check("tool_called", episode, {"name": "getProduct", "include_failed": True})
    assert check("tool_called", episode, {"name": "validateBuildCompatibility", "arguments": {"product_ids": {"contains_all": ["corvex-i7-14700"]}},
                                          "before": "createBuild"})
    assert not check("tool_called", episode, {"name": "validateBuildCompatibility", "min_count": 2})
    assert not check("tool_called", episode, {"name": "createBuild", "before": "validateBuildCompatibility"})
    assert check("tool_not_called", episode, {"name": "createRefund"})
    assert not check("tool_not_called", episode, {"name": "createBuild"})
    assert check("tool_not_called", episode, {"name": "getProduct"})
    assert not check("tool_not_called", episode, {"name": "getProduct", "include_failed": True})


# -- response --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("spec, passed", [
    ({"contains": ["REF-00221", "pending"]}, True), ({"contains": ["approved"]}, False),
    ({"contains_any": ["denied", "pending"]}, True), ({"not_contains": ["shipping fee refunded"]}, True),
    ({"numbers": [68.39]}, True), ({"numbers": [75.99]}, False), ({"not_numbers": [75.99]}, True), ({"not_numbers": [68.39]}, False),
    ({"numbers": [68.4], "tolerance": 0.02}, True), ({"matches": r"ref-\d{5}.*pending"}, True), ({"matches": r"^approved"}, False),
])
def test_response_checks(spec, passed):
    episode = Episode(conn=None, final_reply="Refund ref-00221 of $68.39 is pending review.")
    assert check("response", episode, spec) is passed


def test_numbers_are_compared_by_magnitude():
    episode = Episode(conn=None, final_reply="Subtotal $554.00, discount -$55.40.")
    assert check("response", episode, {"numbers": [55.40]})
    assert not check("response", episode, {"not_numbers": [55.40]})


def test_empty_reply_fails_every_response_check():
    assert CHECKS["response"](Episode(conn=None, final_reply="  "), {"not_contains": ["x"]}) == (False, "the final reply is empty")


def test_bad_regex_is_a_criterion_error():
    with pytest.raises(CriterionError, match="invalid regular expression"):
        CHECKS["response"](Episode(conn=None, final_reply="x"), {"matches": "("})


# -- scoring and the judge ------------------------------------------------------------------------------------------
RUBRIC = Rubric("r", (
    Criterion("amount", "States the amount", "response", {"numbers": [68.39]}),
    Criterion("tone", "Apologises politely", "judge", fallback={"kind": "response", "check": {"contains_any": ["sorry", "apolog"]}}),
    Criterion("nothing", "No writes", "no_collateral", {"allow": []}),
))


def test_reward_is_the_fraction_met_and_pass_needs_all(world0):
    episode = Episode(conn=world0.connect(), final_reply="Refund of $68.39.")
    score = score_episode(None, RUBRIC, episode)
    assert score.reward == pytest.approx(2 / 3) and not score.passed
    assert [v.source for v in score.verdicts] == ["code", "fallback", "code"]
    episode.final_reply = "Sorry! Refund of $68.39."
    assert score_episode(None, RUBRIC, episode).passed


def test_a_configured_judge_decides_judge_criteria(world0):
    calls = []

    def judge(task, criterion, episode):
        calls.append(criterion.id)
        return False, "curt"

    score = score_episode(None, RUBRIC, Episode(conn=world0.connect(), final_reply="Sorry, $68.39."), judge=judge)
    assert calls == ["tone"] and score.verdicts[1].source == "judge" and score.verdicts[1].reason == "curt"
    assert score.reward == pytest.approx(2 / 3)


def test_a_failing_judge_is_errored_not_silently_scored(world0):
    def judge(task, criterion, episode):
        raise JudgeError("timed out after 3 attempts")

    score = score_episode(None, RUBRIC, Episode(conn=world0.connect(), final_reply="Sorry, $68.39."), judge=judge)
    assert score.errored == ["tone"] and score.verdicts[1].passed is None
    assert score.reward == 1.0 and score.passed is False  # reward over decided criteria; an errored episode cannot pass
    assert "timed out" in score.to_dict()["verdicts"][1]["reason"]
