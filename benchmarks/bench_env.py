"""Environment benchmark: reset, per-step overhead above the tool call itself, scoring, oracle episodes per second.

Run: python benchmarks/bench_env.py [--repeat 2000]
Targets on a 2-core CPU machine: reset <= 1 ms, env overhead per step <= 20 us above the tool call, scoring <= 2 ms.
For scale: tau2-bench needs 28 ms per reset and 114 ms for its end-of-episode evaluation on the same machine.
Uses the fixture tasks in tests/data/demo (a partial return with 4 writes, 6 criteria) so figures are comparable
across corpus changes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

DEMO_TASKS = Path(__file__).resolve().parents[1] / "tests" / "data" / "demo" / "tasks"
TASK = "demo-partial-return-001"


def timed(function, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return sorted(samples)


def report(label: str, samples: list[float], target_us: float | None = None) -> float:
    median, p90 = statistics.median(samples) * 1e6, samples[int(0.9 * len(samples))] * 1e6
    target = f"   target <= {target_us:g} us" if target_us else ""
    print(f"{label:<48} median {median:9.1f} us   p90 {p90:9.1f} us{target}")
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args()

    from corecraft_env.agents import OracleAgent, run_episode
    from corecraft_env.env import CorecraftEnv
    from corecraft_env.tasks import score_episode
    from corecraft_env.tools import REGISTRY, encode_result

    env = CorecraftEnv(tasks_dir=str(DEMO_TASKS), max_steps=10**9)  # never truncate while timing steps
    options = {"task_id": TASK}
    env.reset(options=options)  # warm: world, episode image, rubric cache
    report("reset (fresh isolated world + request)", timed(lambda: env.reset(options=options), args.repeat), 1000)

    action = {"tool": "getProduct", "arguments": {"product_id": "corvex-i7-14700"}}
    conn = env.episode.conn
    bare = report("tool call alone (registry + encode_result)",
                  timed(lambda: encode_result(REGISTRY.call(conn, action["tool"], action["arguments"])), args.repeat))
    stepped = report("env.step(tool call as dict)", timed(lambda: env.step(action), args.repeat))
    as_text = json.dumps(action)
    stepped_text = report("env.step(tool call as JSON text)", timed(lambda: env.step(as_text), args.repeat))
    print(f"{'env overhead per step above the tool call':<48} dict {stepped - bare:6.1f} us, text {stepped_text - bare:6.1f} us   target <= 20 us")

    oracle = OracleAgent(env.tasks)
    run_episode(env, oracle, TASK)
    task, rubric, episode = env.task, env.tasks.rubric(env.task.rubric_id), env.episode
    report("scoring (6 criteria, change log read)", timed(lambda: score_episode(task, rubric, episode), args.repeat), 2000)

    episodes = max(args.repeat // 4, 50)
    start = time.perf_counter()
    for _ in range(episodes):
        assert run_episode(env, oracle, TASK).passed
    elapsed = time.perf_counter() - start
    print(f"{'oracle episodes (reset, 4 tool calls, reply, score)':<48} {episodes / elapsed:9.0f} episodes/s  "
          f"({elapsed / episodes * 1e3:.2f} ms each)")


if __name__ == "__main__":
    main()
