"""Generation speed of the local agent across an episode's turns: the system prompt's cache only (before) against the
episode's own cache reused from turn to turn (after, `corecraft_env.agents.hf_agent.EpisodeCache`); with `--rollout`,
the same for the GRPO rollout (`grpo_trainer.rollout.CorecraftRollout`): TRL's `_generate_single_turn` against its
cached generation.

Each task's oracle episode is replayed under the CPU recipe's prompt contract (compact tools, no policy, results cut
at 2,000 characters); before each of its assistant turns the model generates `--new-tokens` tokens greedily from the
chat so far (the oracle's turns stay in the history, so both ways see the same prompts). Both ways must generate the
same tokens; the script prints tokens/s, episodes/min, the prompt tokens computed and the ratios.

    python benchmarks/bench_generation.py                      # SmolLM2-135M, 4 easy train tasks
    python benchmarks/bench_generation.py --difficulty hard --tasks 2 --new-tokens 16   # longer episodes
    python benchmarks/bench_generation.py --model corecraft:tiny-random-qwen3 --tasks 2

`--rollout`: one rollout call plays the tasks' oracle episodes (G = 2 rollouts each) under the same contract,
greedily, the model steered through the oracle's turns (`SteeredTurns`: each token still costs the forward pass
that picks it); TRL's way batches the live episodes each turn, prefills them whole and runs each turn until its
longest episode's turn ends; the cached way generates episode by episode from each one's cache. Both ways must give
the same completions; the script prints model tokens/s, episodes/min, the tokens the model computed (all forward
passes, padding included) and the ratios.

    python benchmarks/bench_generation.py --rollout --model corecraft:tiny-random-qwen3 --tasks 4
"""

from __future__ import annotations

import argparse
import functools
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


class SteeredTurns:
    """A logits processor that makes the model write scripted assistant turns, each ending with EOS: a row whose text
    contains a key of ``scripts`` gets that script's turn for its number of assistant turns so far; other rows, and
    turns after the script, are the model's own."""

    def __init__(self, tokenizer, scripts: dict[str, list[str]]) -> None:
        self.tokenizer = tokenizer
        self.header = tokenizer.encode("<|im_start|>assistant\n", add_special_tokens=False)
        if tokenizer.decode(self.header) != "<|im_start|>assistant\n":
            raise ValueError("SteeredTurns needs a ChatML template (<|im_start|>assistant)")
        self.turns = {mark: [tokenizer.encode(text, add_special_tokens=False) + [tokenizer.eos_token_id]
                             for text in texts] for mark, texts in scripts.items()}

    def __call__(self, input_ids, scores):
        scores = scores.clone()
        for row, ids in enumerate(input_ids):
            candidates = (ids == self.header[0]).nonzero().flatten().tolist()
            starts = [i + len(self.header) for i in candidates if ids[i:i + len(self.header)].tolist() == self.header]
            turns = self._script(tuple(ids[:starts[0]].tolist()))  # the prompt (and any padding) names the script
            turn, written = len(starts) - 1, len(ids) - starts[-1]
            if turn < len(turns) and written < len(turns[turn]):
                scores[row] = float("-inf")
                scores[row, turns[turn][written]] = 0.0
        return scores

    @functools.lru_cache(maxsize=None)  # noqa: B019 - one processor per run; decoding every step would dominate
    def _script(self, prompt: tuple[int, ...]) -> list[list[int]]:
        text = self.tokenizer.decode(list(prompt))
        return next((turns for mark, turns in self.turns.items() if mark in text), [])


def record_forwards(model) -> tuple[list[tuple[int, int]], object]:
    """(rows, tokens) of each forward pass of ``model`` from now on, and the hook's handle (``.remove()`` it)."""
    forwards: list[tuple[int, int]] = []

    def record(_, args, kwargs) -> None:
        ids = kwargs["input_ids"] if "input_ids" in kwargs else args[0]
        forwards.append(tuple(ids.shape))

    return forwards, model.register_forward_pre_hook(record, with_kwargs=True)


def oracle_turns(messages: list[dict]) -> list[str]:
    """The assistant turns of a demonstration as the rollout reads them: `<tool_call>` blocks, or the reply."""
    import json

    turns = []
    for message in messages:
        if message["role"] != "assistant":
            continue
        calls = message.get("tool_calls") or []
        blocks = [json.dumps({"name": c["function"]["name"], "arguments": json.loads(c["function"]["arguments"])})
                  for c in calls]
        turns.append("".join(f"<tool_call>\n{block}\n</tool_call>" for block in blocks) or message["content"])
    return turns


def rollout_both_ways(model_path: str, tasks, task_set, contract, conversations: list[list[dict]]) -> dict:
    """One rollout call over the tasks (2 rollouts each), TRL's generation then the cached one, both steered through
    the oracle's turns."""
    import tempfile

    import torch
    from transformers import AutoTokenizer, LogitsProcessorList

    from corecraft_env.export.prompts import tasks_to_dataset
    from grpo_trainer import CorecraftGRPOConfig, CorecraftGRPOTrainer, CorecraftRollout, rubric_reward

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    dataset = tasks_to_dataset(tasks, contract)
    args = CorecraftGRPOConfig(output_dir=tempfile.mkdtemp(prefix="bench-rollout-"), use_cpu=True, bf16=False,
                               report_to=[], save_strategy="no", seed=0, per_device_train_batch_size=2,
                               num_generations=2, max_completion_length=8192, generation_kwargs={"do_sample": False})
    trainer = CorecraftGRPOTrainer(model=model_path, reward_funcs=rubric_reward, args=args, train_dataset=dataset,
                                   processing_class=tokenizer)
    model = trainer.model
    steer = LogitsProcessorList([SteeredTurns(tokenizer, {task.request[:120]: oracle_turns(messages)
                                                          for task, messages in zip(tasks, conversations)})])
    generate = type(model).generate
    model.generate = lambda *a, **k: generate(model, *a, logits_processor=steer, **k)
    forwards, _ = record_forwards(model)
    prompts = [row["prompt"] for row in dataset for _ in range(2)]
    runs = {}
    for generation in ("trl", "cached"):
        rollout = CorecraftRollout(task_set, contract=contract, max_turns=12, generation=generation)
        forwards.clear()
        torch.manual_seed(0)
        start = time.perf_counter()
        output = rollout(prompts, trainer)
        seconds = time.perf_counter() - start - rollout.env_seconds
        generated = sum(sum(mask) for mask in output["env_mask"])
        runs[generation] = {"completions": output["completion_ids"], "seconds": seconds, "generated": generated,
                            "computed": sum(rows * tokens for rows, tokens in forwards), "turns": sum(output["episode_turns"]),
                            "tokens_per_s": generated / seconds, "episodes_per_min": 60 * len(prompts) / seconds}
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="corecraft:smollm2-135m-instruct")
    parser.add_argument("--tasks", type=int, default=4, help="train tasks of the difficulty, in id order")
    parser.add_argument("--difficulty", default="easy", choices=("easy", "medium", "hard", "expert"))
    parser.add_argument("--new-tokens", type=int, default=32, help="tokens generated before each assistant turn")
    parser.add_argument("--rollout", action="store_true", help="time the GRPO rollout's generation instead")
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
    if args.rollout:
        from corecraft_env.models import resolve_model

        runs = rollout_both_ways(resolve_model(args.model), tasks, task_set, contract, conversations)
        trl, cached = runs["trl"], runs["cached"]
        if trl["completions"] != cached["completions"]:
            raise SystemExit("the cached rollout generation changed the completions")
        print_comparison(f"{args.model} rollout: {2 * len(tasks)} episodes, {cached['turns']} turns, {cached['generated']} "
                         f"model tokens (the same both ways), {os.cpu_count()} CPUs; generation time (environment excluded)",
                         ("TRL _generate_single_turn", trl), ("cached (episode caches)", cached), "tokens computed")
        return 0
    local = LocalModel.get(args.model)
    local.context = 1 << 16
    # Warm-up: first-call overheads and the system prompt's cache, which both ways then share.
    system = render_prompt(local.tokenizer, conversations[0][:1], contract, add_generation_prompt=False)
    local.generate(local.render(conversations[0][:2], contract), system, 2)
    before = replay(local, contract, conversations, args.new_tokens, reuse=False)
    after = replay(local, contract, conversations, args.new_tokens, reuse=True)
    if before["outputs"] != after["outputs"]:
        raise SystemExit("the episode cache changed the generated tokens")
    print_comparison(f"{args.model}: {len(tasks)} episodes, {after['turns']} turns, {after['generated']} tokens generated "
                     f"(the same both ways), {os.cpu_count()} CPUs",
                     ("before (system prompt cache)", before), ("after (episode cache)", after), "prompt tokens computed")
    return 0


def print_comparison(header: str, old: tuple[str, dict], new: tuple[str, dict], computed: str) -> None:
    """Both runs' speeds and the new one's ratios to the old one (measured in the same process, so comparable)."""
    print(header)
    for name, run in (old, new):
        print(f"  {name:<30} {run['seconds']:7.1f} s  {run['tokens_per_s']:6.2f} tokens/s  "
              f"{run['episodes_per_min']:6.2f} episodes/min  {run['computed']:>7} {computed}")
    (_, before), (_, after) = old, new
    print(f"  ratio new/old: tokens/s x{after['tokens_per_s'] / before['tokens_per_s']:.2f}, episodes/min "
          f"x{after['episodes_per_min'] / before['episodes_per_min']:.2f}, {computed} x{after['computed'] / before['computed']:.2f}")


if __name__ == "__main__":
    sys.exit(main())
