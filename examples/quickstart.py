"""Quickstart: make Corecraft-v0, run one episode with the oracle and one with the random agent, print the verdicts.

    python examples/quickstart.py [--task TASK_ID] [--tasks-dir DIR]

Without --task it takes the first held-out task of the shipped corpus.
"""

from __future__ import annotations

import argparse

import gymnasium as gym

import corecraft_env  # noqa: F401  (registers Corecraft-v0)
from corecraft_env.agents import OracleAgent, RandomAgent, run_episode


def print_verdicts(title: str, result) -> None:
    print(f"\n{title}: reward {result.reward:.2f}, {'PASSED' if result.passed else 'failed'} after {result.steps} steps")
    for verdict in result.info["score"]["verdicts"]:
        mark = {True: "ok  ", False: "FAIL", None: "ERR "}[verdict["passed"]]
        print(f"  [{mark}] {verdict['description']}\n         {verdict['reason']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", help="task id (default: the first held-out task)")
    parser.add_argument("--tasks-dir", help="task folder (default: the shipped corpus)")
    args = parser.parse_args()

    env = gym.make("Corecraft-v0", split=None, tasks_dir=args.tasks_dir)
    tasks = env.unwrapped.tasks
    task = tasks.get(args.task) if args.task else (tasks.select(split="heldout") or list(tasks))[0]
    observation, info = env.reset(options={"task_id": task.id})
    print(f"Task {info['task_id']} ({info['category']}, {info['difficulty']}, {info['split']})")
    print(observation)
    print(f"{len(info['tools'])} tools; world {info['world_hash'][:12]}…")

    print_verdicts("Oracle (reference solution)", run_episode(env, OracleAgent(tasks), task.id))
    print_verdicts("Random agent", run_episode(env, RandomAgent(seed=0), task.id))
    env.close()


if __name__ == "__main__":
    main()
