"""Eval throughput (episodes per second) of the LiteLLM agent against a local scripted OpenAI-compatible server.

    python benchmarks/bench_eval.py [--latency 0.05] [--episodes 48] [--concurrency 1 4 16] [--judge]

The server (tests/openai_stub_server.py, in a process of its own on 127.0.0.1, as a model server would be) plays each demo task's reference solution, waiting
``--latency`` seconds per completion to stand in for a model; each episode makes 2 (order status) or 5 (partial
return) completions. With ``--judge`` the LiteLLM judge (same server, verdict cache off) decides the judge criterion
too. Every figure is a full `run_eval`: thread pool, environment, scoring, JSONL append with fsync, summary.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from corecraft_env.eval import EvalConfig, run_eval  # noqa: E402
from corecraft_env.judge import import_litellm  # noqa: E402

DEMO = ROOT / "tests" / "data" / "demo"


class ServerProcess:
    def __init__(self, latency: float) -> None:
        self.process = subprocess.Popen([sys.executable, str(ROOT / "tests" / "openai_stub_server.py"), "--tasks-dir",
                                         str(DEMO / "tasks"), "--rubrics-dir", str(DEMO / "rubrics"), "--latency", str(latency)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        line = self.process.stdout.readline()
        if not line.startswith("PORT "):
            self.process.kill()
            raise RuntimeError(f"the stub server did not start: {line!r}")
        self.url = f"http://127.0.0.1:{int(line.split()[1])}/v1"

    def __enter__(self) -> "ServerProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=10)


def measure(server: ServerProcess, concurrency: int, episodes: int, judge: bool) -> tuple[float, dict]:
    with tempfile.TemporaryDirectory() as out:
        config = EvalConfig(out=out, agent="litellm", model="openai/scripted", api_base=server.url,
                            tasks_dir=str(DEMO / "tasks"), rubrics_dir=str(DEMO / "rubrics"), split=None,
                            trials=max(1, episodes // 2), concurrency=concurrency, progress=False,
                            judge="openai/scripted-judge" if judge else None, judge_api_base=server.url,
                            judge_cache=False, judge_concurrency=max(4, concurrency))
        started = time.perf_counter()
        summary = run_eval(config)
        elapsed = time.perf_counter() - started
    return summary["overall"]["episodes"] / elapsed, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=float, nargs="+", default=[0.0, 0.05], help="seconds per completion (default 0 and 0.05)")
    parser.add_argument("--episodes", type=int, default=48, help="episodes per measurement (default 48)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--judge", action="store_true", help="also ask the LiteLLM judge for the judge criterion")
    args = parser.parse_args()
    import_litellm()  # import once, outside the timings
    print(f"{'latency/completion':>19} {'concurrency':>12} {'episodes':>9} {'episodes/s':>11} {'pass@1':>7}")
    for latency in args.latency:
        with ServerProcess(latency) as server:
            measure(server, 1, 2, args.judge)  # warm-up: world cache, litellm's first-call set-up
            for concurrency in args.concurrency:
                rate, summary = measure(server, concurrency, args.episodes, args.judge)
                print(f"{latency * 1000:>16.0f} ms {concurrency:>12} {summary['overall']['episodes']:>9} {rate:>11.1f} "
                      f"{summary['overall']['pass@1']:>7.2f}", flush=True)


if __name__ == "__main__":
    main()
