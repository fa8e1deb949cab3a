"""Scoring cost over every shipped task, beside the episode it ends (same run, same machine).

For each task: the oracle episode through ``CorecraftEnv`` (reset, reference tool calls, final reply with scoring),
then ``score_episode`` alone on that finished episode, and the reply reading it relies on
(``assertions.read_reply``). Every measurement starts with the reply-reading cache cleared, as the first scoring of
a fresh reply in a training run does. Prints the median, p90 and max of each, and scoring's share of the episode.

    python benchmarks/bench_scoring.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace

from corecraft_env.agents import OracleAgent, run_episode
from corecraft_env.env import CorecraftEnv
from corecraft_env.tasks import TaskSet, score_episode


def _best_of(repeat: int, fn) -> float:
    """The fastest of ``repeat`` runs of ``fn``, in microseconds (the least disturbed by other work)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best * 1e6


def _summary(name: str, values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[int(0.9 * (len(ordered) - 1))]
    return f"{name:34s} median {statistics.median(ordered):8.1f} µs   p90 {p90:8.1f} µs   max {ordered[-1]:8.1f} µs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the fastest is kept")
    args = parser.parse_args()
    try:
        from corecraft_env.tasks.assertions import read_reply
    except ImportError:  # a version from before reply reading, kept runnable for before/after tables
        read_reply = None

    def cold(fn):
        """``fn`` as the first scoring of its reply: the reply-reading cache cleared first, as in a training run."""
        return (lambda: (read_reply.cache_clear(), fn())) if read_reply else fn

    tasks = TaskSet()
    env = CorecraftEnv(task_set=tasks, split=None)
    oracle = OracleAgent(tasks)
    episode_us, scoring_us, reading_us = [], [], []
    for task in tasks:
        rubric = tasks.rubric(task.rubric_id)
        episode_us.append(_best_of(args.repeat, cold(lambda: run_episode(env, oracle, task.id))))
        finished = replace(env.episode)
        scoring_us.append(_best_of(args.repeat, cold(lambda: score_episode(task, rubric, finished))))
        if read_reply is not None:
            reading_us.append(_best_of(args.repeat, lambda: read_reply.__wrapped__(task.reference_reply)))
    env.close()
    print(f"{len(tasks)} shipped tasks, oracle episodes, best of {args.repeat}")
    print(_summary("whole episode (scoring included)", episode_us))
    print(_summary("score_episode alone", scoring_us))
    if reading_us:
        print(_summary("reading the reply (uncached)", reading_us))
    share = [s / e for s, e in zip(scoring_us, episode_us)]
    print(f"scoring's share of its episode: median {statistics.median(share):.1%}, max {max(share):.1%}")


if __name__ == "__main__":
    main()
