"""Generation speed of the local agent across an episode's turns: the system prompt's cache only (before) against the
episode's own cache reused from turn to turn (after, `corecraft_env.agents.hf_agent.EpisodeCache`).

Each task's oracle episode is replayed under the CPU recipe's prompt contract (compact tools, no policy, results cut
at 2,000 characters); before each of its assistant turns the model generates `--new-tokens` tokens greedily from the
chat so far (the oracle's turns stay in the history, so both ways see the same prompts). Both ways must generate the
same tokens; the script prints tokens/s, episodes/min, the prompt tokens computed and the ratios.

    python benchmarks/bench_generation.py                      # SmolLM2-135M, 4 easy train tasks
    python benchmarks/bench_generation.py --difficulty hard --tasks 2 --new-tokens 16   # longer episodes
    python benchmarks/bench_generation.py --model corecraft:tiny-random-qwen3 --tasks 2
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def replay(local, contract, conversations: list[list[dict]], new_tokens: int, reuse: bool) -> dict:
    from corecraft_env.agents.hf_agent import EpisodeCache
    from corecraft_env.export.prompts import render_prompt

    outputs, generated, computed, turns = [], 0, 0, 0
    start = time.perf_counter()
    for messages in conversations:
        episode = EpisodeCache() if reuse else None
        prefix = render_prompt(local.tokenizer, messages[:1], contract, add_generation_prompt=False)
        for end in [i for i, m in enumerate(messages) if m["role"] == "assistant"]:
            ids = local.render(messages[:end], contract)
            held = episode.shared(ids) if episode is not None else 0
            computed += len(ids) - max(held, len(prefix) if ids[:len(prefix)] == prefix else 0)
            text, _, count = local.generate(ids, prefix, new_tokens, episode=episode)
            outputs.append(text)
            generated += count
            turns += 1
    seconds = time.perf_counter() - start
    return {"outputs": outputs, "seconds": seconds, "generated": generated, "turns": turns, "computed": computed,
            "tokens_per_s": generated / seconds, "episodes_per_min": 60 * len(conversations) / seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="corecraft:smollm2-135m-instruct")
    parser.add_argument("--tasks", type=int, default=4, help="train tasks of the difficulty, in id order")
    parser.add_argument("--difficulty", default="easy", choices=("easy", "medium", "hard", "expert"))
    parser.add_argument("--new-tokens", type=int, default=32, help="tokens generated before each assistant turn")
    args = parser.parse_args(argv)

    from corecraft_env.agents.hf_agent import LocalModel
    from corecraft_env.export.demonstrations import demonstrations_to_dataset
    from corecraft_env.export.prompts import PromptContract, render_prompt
    from corecraft_env.tasks import TaskSet

    contract = PromptContract(include_policy=False, tool_format="compact", max_observation_chars=2000)
    task_set = TaskSet()
    tasks = task_set.select(split="train", difficulties=[args.difficulty])[: args.tasks]
    conversations = [[{k: v for k, v in m.items() if v is not None} for m in row["messages"]]
                     for row in demonstrations_to_dataset(tasks, task_set, contract)]
    local = LocalModel.get(args.model)
    local.context = 1 << 16
    # Warm-up: first-call overheads and the system prompt's cache, which both ways then share.
    system = render_prompt(local.tokenizer, conversations[0][:1], contract, add_generation_prompt=False)
    local.generate(local.render(conversations[0][:2], contract), system, 2)
    before = replay(local, contract, conversations, args.new_tokens, reuse=False)
    after = replay(local, contract, conversations, args.new_tokens, reuse=True)
    if before["outputs"] != after["outputs"]:
        raise SystemExit("the episode cache changed the generated tokens")
    print(f"{args.model}: {len(tasks)} episodes, {after['turns']} turns, {after['generated']} tokens generated "
          f"(the same both ways), {os.cpu_count()} CPUs")
    for name, run in (("before (system prompt cache)", before), ("after (episode cache)", after)):
        print(f"  {name:<30} {run['seconds']:7.1f} s  {run['tokens_per_s']:6.2f} tokens/s  "
              f"{run['episodes_per_min']:6.2f} episodes/min  {run['computed']:>7} prompt tokens computed")
    print(f"  ratio after/before: tokens/s x{after['tokens_per_s'] / before['tokens_per_s']:.2f}, prompt tokens "
          f"computed x{after['computed'] / before['computed']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
