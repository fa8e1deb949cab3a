"""The rubric judge without a server: answer parsing, retries and backoff, the verdict cache, bounded concurrency,
errored verdicts through the environment, judge specs, and light imports."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import gymnasium as gym
import pytest

import corecraft_env  # noqa: F401 - registers Corecraft-v0
from corecraft_env.agents import OracleAgent, run_episode
from corecraft_env.judge import (Attempts, MalformedOutput, RetriesExhausted, RetryPolicy, RubricJudge, VerdictCache,
                                 build_messages, call_with_retries, is_fatal, is_transient, judge_input, make_judge,
                                 parse_verdict)
from corecraft_env.tasks import Episode, JudgeError, TaskSet, ToolEvent

DEMO = Path(__file__).parent / "data" / "demo"
NO_SLEEP = lambda seconds: None  # noqa: E731


@pytest.fixture(scope="module")
def demo() -> TaskSet:
    return TaskSet(DEMO / "tasks", DEMO / "rubrics")


@pytest.fixture(scope="module")
def tone(demo):
    task = demo.get("demo-partial-return-001")
    return task, next(c for c in demo.rubric(task.rubric_id).criteria if c.kind == "judge")


def episode(reply: str) -> Episode:
    import sqlite3

    return Episode(conn=sqlite3.connect(":memory:"), final_reply=reply,
                   events=[ToolEvent("getOrderDetails", {"order_id": "ord-250823-104"}, {"order": {"id": "ord-250823-104"}})],
                   writes=[("refund", "ref-00221", "insert")])


@pytest.mark.parametrize("answer, expected", [
    ('{"reason": "It says shipping is not refundable.", "verdict": true}', (True, "It says shipping is not refundable.")),
    ('```json\n{"reason": "No mention.", "verdict": false}\n```', (False, "No mention.")),
    ('Sure! {"reason": "ok", "verdict": "yes"} hope that helps', (True, "ok")),
    ({"reason": "given as a dict", "verdict": False}, (False, "given as a dict")),
    ((True, "a pair"), (True, "a pair")),
])
def test_verdicts_are_read_from_the_forms_judges_answer_in(answer, expected):
    assert parse_verdict(answer) == expected


@pytest.mark.parametrize("answer, message", [
    ("I think it passes.", "no JSON object"),
    ('{"reason": "x", "verdict": maybe}', "not valid JSON"),
    ('{"verdict": true}', 'no "reason"'),
    ('{"reason": "x", "verdict": "perhaps"}', 'no boolean "verdict"'),
    (["reason", True], "must be a JSON object"),
])
def test_malformed_answers_raise_malformed_output(answer, message):
    with pytest.raises(MalformedOutput, match=message):
        parse_verdict(answer)


def test_transient_errors_are_told_from_permanent_ones():
    class Status(Exception):
        def __init__(self, code):
            self.status_code = code

    class APITimeoutError(Exception):
        pass

    assert all(is_transient(e) for e in (Status(500), Status(503), Status(429), Status(408), APITimeoutError(), TimeoutError(),
                                         MalformedOutput("x")))
    assert not any(is_transient(e) for e in (Status(400), Status(401), Status(404), ValueError("bad")))


def test_errors_every_request_would_meet_are_fatal():
    import litellm

    # What LiteLLM raises for the OpenAI client without a key: an InternalServerError (status 500), yet no retry helps.
    no_key = litellm.InternalServerError("OpenAIException - Missing credentials. Please pass an `api_key`, or set the "
                                         "`OPENAI_API_KEY` environment variable.", llm_provider="openai", model="gpt-4o-mini")
    assert no_key.status_code == 500 and not is_transient(no_key) and is_fatal(no_key)
    wrong_key = litellm.AuthenticationError("Incorrect API key", llm_provider="openai", model="gpt-4o-mini")
    unknown = litellm.NotFoundError("The model does not exist", llm_provider="openai", model="gpt-5o")
    bad = litellm.BadRequestError("unsupported parameter", model="gpt-4o-mini", llm_provider="openai")
    assert all(is_fatal(e) for e in (wrong_key, unknown, bad))
    too_long = litellm.ContextWindowExceededError("too many tokens", model="gpt-4o-mini", llm_provider="openai")
    server = litellm.InternalServerError("upstream overloaded", llm_provider="openai", model="gpt-4o-mini")
    assert not any(is_fatal(e) for e in (too_long, server, ValueError("a bug in a judge callable"), TimeoutError()))


def test_backoff_doubles_up_to_the_cap():
    policy = RetryPolicy(max_attempts=6, base_delay=0.5, max_delay=3.0, jitter=0.0)
    assert [policy.delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_retries_until_success_and_records_each_attempt():
    outcomes = iter([TimeoutError("slow"), MalformedOutput("garbled"), "done"])
    slept: list[float] = []

    def flaky():
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    attempts = Attempts()
    assert call_with_retries(flaky, RetryPolicy(max_attempts=4, base_delay=0.1, jitter=0), attempts, sleep=slept.append) == "done"
    assert attempts.count == 3 and attempts.retries == 2 and slept == [0.1, 0.2]
    assert attempts.errors == ["TimeoutError: slow", "MalformedOutput: garbled"]


def test_retries_give_up_after_max_attempts_and_never_retry_permanent_errors():
    calls = []

    def always_slow():
        calls.append(1)
        raise TimeoutError("slow")

    with pytest.raises(RetriesExhausted, match="3 attempt"):
        call_with_retries(always_slow, RetryPolicy(max_attempts=3), sleep=NO_SLEEP)
    assert len(calls) == 3

    def bad_request():
        calls.append(1)
        raise ValueError("unknown model")

    calls.clear()
    with pytest.raises(ValueError):
        call_with_retries(bad_request, RetryPolicy(max_attempts=3), sleep=NO_SLEEP)
    assert len(calls) == 1


def test_the_judge_sees_request_criterion_trajectory_writes_and_reply(tone):
    task, criterion = tone
    payload = judge_input(task, criterion, episode("Shipping is never refunded."))
    user = build_messages(payload)[1]["content"]
    for expected in (task.request, criterion.description, "getOrderDetails", "insert refund ref-00221", "Shipping is never refunded."):
        assert expected in user
    assert '"verdict"' in build_messages(payload)[0]["content"]


def test_verdicts_are_cached_by_judge_criterion_and_trajectory(tmp_path, tone):
    task, criterion = tone
    asked = []

    def judge_fn(task, criterion, ep):
        asked.append(ep.final_reply)
        return {"reason": "checked", "verdict": "shipping" in ep.final_reply.lower()}

    judge = make_judge(judge_fn, cache_dir=tmp_path, judge_id="py:test:judge_fn")
    assert judge(task, criterion, episode("Shipping is not refunded.")) == (True, "checked")
    again = judge.decide(task, criterion, episode("Shipping is not refunded."))
    assert again.cached and again.passed is True and len(asked) == 1  # served from disk, the callable was not asked
    assert judge(task, criterion, episode("Refund created.")) == (False, "checked")
    assert len(asked) == 2 and len(VerdictCache(tmp_path)) == 2
    other = make_judge(judge_fn, cache_dir=tmp_path, judge_id="py:test:another_judge")
    assert not other.decide(task, criterion, episode("Refund created.")).cached  # the judge's identity is in the key


def test_a_judge_that_keeps_failing_raises_judge_error_with_its_attempts(tmp_path, tone):
    task, criterion = tone
    judge = make_judge(lambda t, c, e: "no verdict here", cache_dir=tmp_path, max_attempts=3, base_delay=0)
    call = judge.decide(task, criterion, episode("x"))
    assert call.errored and call.attempts == 3 and call.retries == 2 and len(call.errors) == 3
    assert "after 3 attempt(s)" in call.reason
    with pytest.raises(JudgeError, match="gave no verdict after 3 attempt"):
        judge(task, criterion, episode("x"))
    assert len(VerdictCache(tmp_path)) == 0  # failures are never cached
    assert judge.stats["errored"] == 2


def test_an_errored_judge_criterion_is_excluded_from_reward_and_blocks_pass(tmp_path, demo):
    judge = make_judge(lambda t, c, e: (_ for _ in ()).throw(TimeoutError("judge down")), use_cache=False, max_attempts=2, base_delay=0)
    env = gym.make("Corecraft-v0", task_set=demo, split=None, judge=judge.recorder())
    result = run_episode(env, OracleAgent(demo), "demo-partial-return-001")
    assert result.info["errored"] == ["tone"]
    assert result.reward == 1.0 and result.passed is False  # 5 of 5 decided criteria met, but one is undecided
    tone_verdict = next(v for v in result.info["score"]["verdicts"] if v["criterion_id"] == "tone")
    assert tone_verdict["source"] == "error" and tone_verdict["passed"] is None
    assert env.unwrapped.judge.calls[0].attempts == 2


def test_one_semaphore_bounds_judge_calls_across_episodes(tone):
    task, criterion = tone
    in_flight, peak, lock = [0], [0], threading.Lock()

    def slow_judge(task, criterion, ep):
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        time.sleep(0.02)
        with lock:
            in_flight[0] -= 1
        return True, "fine"

    judge = make_judge(slow_judge, use_cache=False, concurrency=2)
    threads = [threading.Thread(target=lambda i=i: judge.recorder()(task, criterion, episode(f"reply {i}"))) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert judge.stats["calls"] == 8 and 1 <= peak[0] <= 2


def test_judge_specs(tmp_path):
    assert make_judge(None) is None and make_judge("none") is None
    judge = make_judge("py:corecraft_env.judge.prompt:parse_verdict", use_cache=False)
    assert isinstance(judge, RubricJudge) and judge.judge_id == "py:corecraft_env.judge.prompt:parse_verdict"
    llm = make_judge("openai/my-judge", api_base="http://127.0.0.1:9/v1", cache_dir=tmp_path)
    assert llm.takes_messages and llm.backend.model == "openai/my-judge" and llm.backend.temperature == 0.0
    assert llm.backend.seed == 0 and llm.identity["model"] == "openai/my-judge"
    with pytest.raises(ValueError, match="py:package.module:function"):
        make_judge("py:no_colon_here")
    with pytest.raises(ValueError, match="cannot import judge module"):
        make_judge("py:not_a_module_anywhere:fn")


def test_importing_the_package_loads_no_heavy_library():
    code = ("import sys, corecraft_env.judge, corecraft_env.eval, corecraft_env.eval.cli, corecraft_env.eval.report, "
            "corecraft_env.eval.report_cli, corecraft_env.agents.litellm_agent, corecraft_env.agents.hf_agent\n"
            "print(sorted(m for m in ('litellm', 'torch', 'transformers', 'openai') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
