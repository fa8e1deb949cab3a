"""Generation and validation time of the task corpus, per world seed, in one run on one core.

For each seed: ``taskgen.build.generate(seed=…)`` (every family draws, renders and validates its candidates: the
whole cost of a first ``gym.make("Corecraft-v0", world_seed=N)``), then ``validation.validate_task`` on every kept
task (what ``corecraft validate`` runs per task). Machines differ 3–5× between sessions, so the table states each
seed's times as a ratio to seed 0's (the shipped corpus, measured in the same run) beside the seconds.

    python benchmarks/bench_taskgen.py [--seeds 0 1 2 3 4] [--record]

``--record`` writes the table into the ``bench-taskgen`` block of docs/tasks.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from corecraft_env.taskgen.build import corpus_files, generate
from corecraft_env.tasks import Task
from corecraft_env.validation import validate_task

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from docblocks import write_block  # noqa: E402


def measure(seed: int) -> dict:
    start = time.perf_counter()
    results = generate(seed=seed)
    generation = time.perf_counter() - start
    tasks = [Task.from_dict(g.task, source=g.task["id"]) for result in results for g in result.kept]
    with tempfile.TemporaryDirectory() as folder:
        rubrics = Path(folder)
        for relative, text in corpus_files(results).items():
            if relative.parts[0] == "rubrics":
                (rubrics / relative.name).write_text(text, encoding="utf-8")
        start = time.perf_counter()
        invalid = sum(bool(validate_task(task, rubrics)) for task in tasks)
        validation = time.perf_counter() - start
    short = sum(len(result.kept) < result.family.wanted for result in results)
    return {"seed": seed, "tasks": len(tasks), "families": sum(bool(r.kept) for r in results), "short": short,
            "invalid": invalid, "generation": generation, "validation": validation}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--record", action="store_true", help="write the table into docs/tasks.md")
    args = parser.parse_args()
    rows = [measure(seed) for seed in args.seeds]
    base = rows[0]
    lines = ["| world seed | tasks | families (short of quota) | invalid | generation | validation | per task: generation / validation |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        lines.append(f"| {row['seed']} | {row['tasks']} | {row['families']} ({row['short']}) | {row['invalid']} | "
                     f"{row['generation']:.0f} s ({row['generation'] / base['generation']:.2f}× seed {base['seed']}) | "
                     f"{row['validation']:.0f} s ({row['validation'] / base['validation']:.2f}×) | "
                     f"{row['generation'] / row['tasks'] * 1e3:.0f} ms / {row['validation'] / row['tasks'] * 1e3:.0f} ms |")
    setup = (f"One process on a {os.cpu_count()}-core machine; generation includes each candidate's validation in the "
             f"environment, validation re-runs `validate_task` on every kept task. Seconds vary 3–5× between machines: "
             f"compare the ratios.")
    table = "\n".join(lines)
    print(setup + "\n\n" + table)
    if args.record:
        name = "bench-taskgen"
        write_block(ROOT / "docs" / "tasks.md", name,
                    f"<!-- {name}:begin (written by benchmarks/bench_taskgen.py --record) -->\n{setup}\n\n{table}\n"
                    f"<!-- {name}:end -->")
        print("recorded in docs/tasks.md")


if __name__ == "__main__":
    main()
