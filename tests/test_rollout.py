"""Corecraft episodes driven by TRL (CPU, tiny random Qwen3, no download): scripted completions with tool calls.

The model's generation is replaced by fixed turns (`ScriptedTrainer._generate_single_turn`, the call TRL's own
generation goes through; those rollouts take `generation="trl"`), so every episode is known in advance and can be
replayed in a plain `CorecraftEnv` to get the observations and the score it must produce. The rollout's own cached
generation is compared with TRL's on the tiny model itself, its turns steered by a logits processor (the benchmark's
`SteeredTurns`).
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import pytest

os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")

import torch

from corecraft_env.env import CorecraftEnv
from corecraft_env.models import build_tiny_model, local_model_path, resolve_model
from corecraft_env.tasks import TaskSet
from corecraft_env.export.prompts import COLUMNS, TASK_ID_KEY, PromptContract, compact_system_prompt, tasks_to_dataset
from corecraft_env.world import policy_document
from grpo_trainer.clipping import clip_fractions
from grpo_trainer.config import CorecraftGRPOConfig
from grpo_trainer.rollout import CorecraftRollout, load_judge, parse_turn, rubric_reward
from grpo_trainer.trainer import CorecraftGRPOTrainer
from benchmarks.bench_generation import SteeredTurns, record_forwards

DEMO = Path(__file__).parent / "data" / "demo"
STATUS, RETURN = "demo-order-status-001", "demo-partial-return-001"
REQUEST_MARK = {STATUS: "ord-250906-106", RETURN: "ord-250823-104"}  # text that identifies each task's prompt
MAX_TURNS = 3
MAX_OBSERVATION_CHARS = 500  # keeps sequences short: attention over long tool results dominates a CPU step
CONTRACT = PromptContract(include_policy=False, tools=("getOrderDetails",), max_observation_chars=MAX_OBSERVATION_CHARS)
SCRIPTED = {"contract": CONTRACT, "generation": "trl"}  # rollouts whose turns ScriptedTrainer plays


# -- scripted episodes ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Turn:
    """One assistant turn: raw tool-call blocks (any text, valid JSON or not), or a final reply."""

    blocks: tuple[str, ...] = ()
    reply: str = ""
    prefix: str = ""  # text before the tool calls (makes a script's first turn unique)
    eos: bool = True  # False: the turn runs on without EOS (only the token budget stops it)

    @property
    def text(self) -> str:
        if self.blocks:
            return self.prefix + "".join(f"<tool_call>\n{block}\n</tool_call>" for block in self.blocks)
        return self.reply


def call(name: str, **arguments: Any) -> str:
    return json.dumps({"name": name, "arguments": arguments})


Script = tuple[Turn, ...]  # a script that ends on tool calls repeats its last turn: it never replies

ORACLE_RETURN = (
    call("getOrderDetails", order_id="ord-250823-104"),
    call("createRefund", payment_id="pay-000729", amount=68.39, reason="customer_remorse", status="pending",
         lines=[{"product_id": "ramforge-ddr5-5600-32gb-2x16gb", "quantity": 1, "amount": 68.39}]),
    call("updateOrderStatus", order_id="ord-250823-104", status="refund_requested"),
    call("updatePaymentStatus", payment_id="pay-000729", status="partially_refunded"),
)
BAD_JSON = '{"name": "getOrderDetails", "arguments": {"order_id":'
UNKNOWN_TOOL = call("launchRocket", target="moon")
# Low-reward scripts are long, so negative-advantage tokens weigh more than in an even split.
SCRIPTS: dict[str, tuple[Script, ...]] = {
    STATUS: (
        (Turn((call("getOrderDetails", order_id="ord-250906-106"),)),
         Turn(reply="Your order ord-250906-106 is in transit with FedEx, tracking number FE318946901100.")),
        (Turn((BAD_JSON,), prefix="Checking."), Turn(reply="Sorry, I could not look it up. " * 6)),
        (Turn((UNKNOWN_TOOL,)), Turn(reply="All done here. " * 10)),
        (Turn((call("getOrderDetails", order_id="ord-250906-106"),), prefix="Let me look."),),
    ),
    RETURN: (
        (Turn(ORACLE_RETURN), Turn(reply="I've created refund ref-00221 of $68.39 (the $75.99 kit less your 10% "
                                         "gold discount; shipping is not refundable). It is pending review.")),
        (Turn((BAD_JSON,), prefix="Checking."), Turn(reply="Sorry, I could not process it. " * 6)),
        (Turn((UNKNOWN_TOOL,)), Turn(reply="Refund noted. " * 10)),
        (Turn((call("getOrderDetails", order_id="ord-250823-104"),), prefix="Let me look."),),
    ),
}


def script_turns(script: Script, max_turns: int) -> list[Turn]:
    """The turns a script plays in an episode of at most `max_turns` turns."""
    turns = list(script[:max_turns])
    while len(turns) < max_turns and turns[-1].blocks:
        turns.append(turns[-1])
    return turns


class Replay(NamedTuple):
    observations: list[list[str]]  # per turn, the observation of each tool call
    reward: float
    passed: bool


def replay(task_set: TaskSet, task_id: str, script: Script, max_turns: int = MAX_TURNS,
           env_max_steps: int = 30) -> Replay:
    """Play a script's actions straight into CorecraftEnv: what the rollout must have shown and scored."""
    env = CorecraftEnv(split=None, task_set=task_set, max_steps=env_max_steps,
                       max_observation_chars=MAX_OBSERVATION_CHARS)
    env.reset(options={"task_id": task_id})
    observations = []
    for turn in script_turns(script, max_turns):
        if not turn.blocks:
            _, reward, _, _, info = env.step({"reply": turn.reply})
            return Replay(observations, reward, info["passed"])
        observations.append([])
        for block in turn.blocks:
            observation, reward, terminated, truncated, info = env.step(block)
            observations[-1].append(observation)
            if terminated or truncated:
                return Replay(observations, reward, info["passed"])
    _, reward, _, _, info = env.step({"reply": ""})  # no reply: scored as it stands
    return Replay(observations, reward, info["passed"])


class ScriptedTrainer(CorecraftGRPOTrainer):
    """CorecraftGRPOTrainer whose generation plays SCRIPTS, and which records what TRL's loss and reward saw."""

    def __init__(self, *args: Any, scripts: dict[str, tuple[Script, ...]], **kwargs: Any) -> None:
        self.scripts = scripts
        self.loss_inputs: list[dict[str, Any]] = []
        self.clip_records: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, float, float]] = []
        self.rewards: list[torch.Tensor] = []
        super().__init__(*args, **kwargs)

    def _generate_single_turn(self, prompt_ids, images, multimodal_fields, num_generations, has_tool_images=False):
        tokenizer = self.processing_class
        seen: Counter[str] = Counter()
        completions = []
        for ids in prompt_ids:
            text = tokenizer.decode(ids)
            task_id = next(task for task, mark in REQUEST_MARK.items() if mark in text)
            turn = text.count("<|im_start|>assistant") - 1
            if turn == 0:  # the k-th rollout of a task plays its k-th script
                script = self.scripts[task_id][seen[task_id] % len(self.scripts[task_id])]
                seen[task_id] += 1
            else:  # later turns: the script whose first turn opens this episode
                first = text.split("<|im_start|>assistant\n", 1)[1].split("<|im_end|>", 1)[0]
                script = next(s for s in self.scripts[task_id] if s[0].text == first)
            step = script[min(turn, len(script) - 1)]
            eos = [tokenizer.eos_token_id] if step.eos else []
            completions.append(tokenizer.encode(step.text, add_special_tokens=False) + eos)
        return completions, None

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        rewards = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        self.rewards.append(rewards.clone())
        return rewards

    def _compute_loss(self, model, inputs):
        self.loss_inputs.append(inputs)
        return super()._compute_loss(model, inputs)

    def _set_clip_bounds(self, inputs: dict[str, Any], per_token_logps: torch.Tensor) -> None:
        super()._set_clip_bounds(inputs, per_token_logps)
        self.clip_records.append((
            torch.exp(per_token_logps - inputs["old_per_token_logps"]), inputs["advantages"],
            inputs["completion_mask"] * inputs["tool_mask"], 1 - self.epsilon_low, 1 + self.epsilon_high,
        ))


class RecordingRollout(CorecraftRollout):
    """Keeps each batch's prompts and output next to the episodes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.batches: list[tuple[list, dict]] = []

    def __call__(self, prompts, trainer):
        output = super().__call__(prompts, trainer)
        self.batches.append((prompts, output))
        return output


# -- fixtures ---------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def task_set() -> TaskSet:
    return TaskSet(DEMO / "tasks")


@pytest.fixture(scope="module")
def dataset(task_set: TaskSet):
    return tasks_to_dataset(task_set.select(), CONTRACT)


def make_trainer(tmp_path: Path, tokenizer: Any, dataset: Any, rollout: CorecraftRollout,
                 scripts: dict[str, tuple[Script, ...]] = SCRIPTS, **overrides: Any) -> ScriptedTrainer:
    settings: dict[str, Any] = {
        "output_dir": str(tmp_path), "use_cpu": True, "bf16": False, "report_to": [], "save_strategy": "no",
        "seed": 0, "max_steps": 2, "logging_steps": 1, "learning_rate": 0.01, "gradient_checkpointing": False,
        "per_device_train_batch_size": 8, "num_generations": 4,  # one generation batch: both demo tasks × 4 rollouts
        "num_iterations": 2,  # ... optimised twice: the second pass is off-policy
        "max_completion_length": 6000, "clip_mode": "bapo",
        "bapo_target_positive_share": 0.75,  # above the batch's share at r = 1, so BAPO has to move its bounds
    }
    settings.update(overrides)
    # The tiny model of corecraft_env.models takes long contexts (the fixture model of conftest stops at 512).
    return ScriptedTrainer(model=build_tiny_model(tokenizer), reward_funcs=rubric_reward,
                           args=CorecraftGRPOConfig(**settings), train_dataset=dataset, processing_class=tokenizer,
                           rollout_func=rollout, scripts=scripts)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, tiny_tokenizer: Any, task_set: TaskSet, dataset: Any):
    """One BAPO run: a generation batch of both demo tasks × 4 scripted rollouts, optimised twice (2 steps)."""
    rollout = RecordingRollout(task_set, **SCRIPTED, max_turns=MAX_TURNS)
    trainer = make_trainer(tmp_path_factory.mktemp("bapo"), tiny_tokenizer, dataset, rollout)
    trainer.train()
    return trainer, rollout


def expected_scripts(rollout: RecordingRollout) -> list[tuple[str, Script]]:
    """(task, script) of each rollout of the first batch, as ScriptedTrainer assigned them."""
    prompts, _ = rollout.batches[0]
    seen: Counter[str] = Counter()
    assigned = []
    for prompt in prompts:
        task_id = prompt[-1][TASK_ID_KEY]
        assigned.append((task_id, SCRIPTS[task_id][seen[task_id] % 4]))
        seen[task_id] += 1
    return assigned


def tool_span(observations: list[str]) -> str:
    """What the chat template (Qwen3) writes after an assistant turn's EOS for these tool results."""
    responses = "".join(f"\n<tool_response>\n{observation}\n</tool_response>" for observation in observations)
    return f"\n<|im_start|>user{responses}<|im_end|>\n<|im_start|>assistant\n"


# -- the trainer on scripted episodes ---------------------------------------------------------------------------------
def test_env_mask_zeroes_exactly_the_tool_results(trained: Any, tiny_tokenizer: Any, task_set: TaskSet) -> None:
    _, rollout = trained
    _, output = rollout.batches[0]
    assert len(rollout.batches) == 1 and len(output["completion_ids"]) == 8
    for row, (task_id, script) in enumerate(expected_scripts(rollout)):
        ids, mask = output["completion_ids"][row], output["env_mask"][row]
        assert len(ids) == len(mask)
        expected = replay(task_set, task_id, script)
        turns = script_turns(script, MAX_TURNS)
        # Split the completion into its runs of equal mask: model turn, tool results, model turn, ...
        runs, start = [], 0
        for i in range(1, len(mask) + 1):
            if i == len(mask) or mask[i] != mask[start]:
                runs.append((mask[start], tiny_tokenizer.decode(ids[start:i])))
                start = i
        model_runs = [text for flag, text in runs if flag == 1]
        tool_runs = [text for flag, text in runs if flag == 0]
        assert model_runs == [turn.text + "<|im_end|>" for turn in turns[: len(model_runs)]]
        # Every tool result the episode showed, and nothing else, is masked; the last turn's results are not shown
        # when the episode ended there (reply, or max_turns reached).
        shown = expected.observations[: len(model_runs) - 1] if not turns[-1].blocks else expected.observations[:-1]
        assert tool_runs == [tool_span(observations) for observations in shown]
        assert runs[0][0] == 1 and runs[-1][0] == 1


def test_tool_mask_reaches_the_loss(trained: Any) -> None:
    trainer, rollout = trained
    _, output = rollout.batches[0]
    masks = {tuple(ids): mask for ids, mask in zip(output["completion_ids"], output["env_mask"])}
    assert len(trainer.loss_inputs) == 2
    for inputs in trainer.loss_inputs:
        for ids, completion_mask, tool_mask in zip(inputs["completion_ids"], inputs["completion_mask"],
                                                   inputs["tool_mask"]):
            length = int(completion_mask.sum())
            expected = masks[tuple(ids[:length].tolist())]
            assert tool_mask[:length].tolist() == expected
            assert 0 in expected and 1 in expected  # every scripted episode shows at least one tool result


def test_reward_is_the_rubric_score(trained: Any, task_set: TaskSet) -> None:
    trainer, rollout = trained
    expected = [replay(task_set, task_id, script) for task_id, script in expected_scripts(rollout)]
    _, output = rollout.batches[0]
    assert output["rubric_score"] == pytest.approx([e.reward for e in expected])
    assert output["rubric_passed"] == [e.passed for e in expected]
    # What TRL turned into advantages: one reward function (the rubric), one row per rollout.
    (rewards,) = trainer.rewards
    assert rewards.shape == (8, 1)
    assert rewards[:, 0].tolist() == pytest.approx([e.reward for e in expected])
    assert sorted({round(e.reward, 4) for e in expected}) == [0.125, 0.3333, 0.375, 0.5, 1.0]
    log = next(entry for entry in trainer.state.log_history if "reward" in entry)
    assert log["rewards/rubric_reward/mean"] == pytest.approx(sum(e.reward for e in expected) / 8)
    assert log["corecraft/pass_rate"] == pytest.approx(2 / 8)  # the two oracle scripts


def test_malformed_tool_calls_are_error_observations(trained: Any) -> None:
    trainer, rollout = trained
    _, output = rollout.batches[0]
    by_script = {(task_id, script[0].blocks[0]): row for row, (task_id, script) in enumerate(expected_scripts(rollout))}
    for task_id in (STATUS, RETURN):
        records = [r for r in rollout.records if r.task_id == task_id]
        bad = trainer.processing_class.decode(output["completion_ids"][by_script[task_id, BAD_JSON]])
        unknown = trainer.processing_class.decode(output["completion_ids"][by_script[task_id, UNKNOWN_TOOL]])
        assert '"type":"invalid_action"' in bad and "not valid JSON" in bad
        assert '"type":"unknown_tool"' in unknown and "launchRocket" in unknown
        assert sorted(r.tool_errors for r in records) == [0, 0, 1, 1]
    assert log_value(trainer, "corecraft/tool_error_rate") == pytest.approx(4 / sum(r.tool_calls for r in rollout.records))


def test_no_reply_episode_is_scored_as_truncated(trained: Any, task_set: TaskSet) -> None:
    _, rollout = trained
    never_replies = [r for r in rollout.records if r.turns == MAX_TURNS]
    assert len(never_replies) == 2
    for record in never_replies:
        assert record.truncated and record.truncation_reason == "max_turns" and record.final_reply == ""
        assert record.tool_calls == MAX_TURNS  # the last turn's call ran, though its result was never shown
        script = SCRIPTS[record.task_id][3]
        assert record.reward == pytest.approx(replay(task_set, record.task_id, script).reward)
    assert all(not r.truncated for r in rollout.records if r.turns < MAX_TURNS)


def log_value(trainer: Any, key: str) -> float:
    return next(entry[key] for entry in trainer.state.log_history if key in entry)


def test_bapo_bounds_move_and_trl_clip_fractions_agree(trained: Any) -> None:
    trainer, _ = trained
    logs = [entry for entry in trainer.state.log_history if "clip/c_low" in entry]
    assert len(logs) == len(trainer.clip_records) == 2
    assert any(log["clip/c_low"] > 0.6 or log["clip/c_high"] > 1.2 for log in logs)
    assert any(log["clip/bapo_steps"] > 0 for log in logs)
    for log, (ratio, advantages, mask, c_low, c_high) in zip(logs, trainer.clip_records, strict=True):
        assert (log["clip/c_low"], log["clip/c_high"]) == pytest.approx((c_low, c_high))
        expected = clip_fractions(ratio, advantages, mask, c_low, c_high)
        assert log["clip_ratio/low_mean"] == pytest.approx(expected.low, abs=1e-6)
        assert log["clip_ratio/high_mean"] == pytest.approx(expected.high, abs=1e-6)
    # Off-policy: after the first update the ratios leave 1.
    assert any(not torch.allclose(ratio[mask.bool()], torch.ones(())) for ratio, _, mask, _, _ in trainer.clip_records)


# -- truncation and malformed calls, one rollout call at a time -------------------------------------------------------
@pytest.fixture(scope="module")
def idle_trainer(tmp_path_factory: pytest.TempPathFactory, tiny_tokenizer: Any, task_set: TaskSet, dataset: Any):
    """A scripted trainer that is never trained: each test calls the rollout with it directly."""
    rollout = CorecraftRollout(task_set, **SCRIPTED, max_turns=MAX_TURNS)
    return make_trainer(tmp_path_factory.mktemp("idle"), tiny_tokenizer, dataset, rollout, scripts={})


def run_rollout(trainer: ScriptedTrainer, task_set: TaskSet, dataset: Any, task_id: str, scripts: tuple[Script, ...],
                monkeypatch: pytest.MonkeyPatch, **rollout_options: Any) -> tuple[CorecraftRollout, dict]:
    rollout = CorecraftRollout(task_set, **{**SCRIPTED, "max_turns": MAX_TURNS, **rollout_options})
    monkeypatch.setattr(trainer, "scripts", {task_id: scripts})
    prompt = next(row["prompt"] for row in dataset if row["task_id"] == task_id)
    return rollout, rollout([prompt] * len(scripts), trainer)


def test_malformed_calls_of_every_kind_never_raise(idle_trainer: Any, task_set: TaskSet, dataset: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = {
        "invalid_action": BAD_JSON,                                        # JSON cut short
        "unknown_tool": UNKNOWN_TOOL,                                      # no such tool
        "invalid_arguments": call("getOrderDetails", order_id=17),         # violates the tool's schema
        "invalid_action ": "[1, 2, 3]",                                    # JSON, but not an object
        "invalid_action  ": '{"arguments": {"order_id": "ord-250906-106"}}',  # no tool name
    }
    script = (Turn(tuple(blocks.values())), Turn(reply="Sorry."))
    rollout, output = run_rollout(idle_trainer, task_set, dataset, STATUS, (script,), monkeypatch)
    (record,) = rollout.records
    assert record.tool_calls == record.tool_errors == len(blocks) and not record.truncated
    text = idle_trainer.processing_class.decode(output["completion_ids"][0])
    for kind in blocks:
        assert f'"type":"{kind.strip()}"' in text
    assert record.reward == pytest.approx(replay(task_set, STATUS, script).reward)


def test_unclosed_tool_call_runs_as_a_call() -> None:
    blocks, reply = parse_turn('<think>plan</think>Sure.<tool_call>\n{"name": "getProduct"}')
    assert blocks == ['{"name": "getProduct"}'] and reply == "Sure."
    assert parse_turn("<think>x</think> Your order shipped. ") == ([], "Your order shipped.")


CALL_STATUS = call("getOrderDetails", order_id="ord-250906-106")


@pytest.mark.parametrize(
    ("script", "options", "settings", "reason", "replayed"),
    [
        # a reply cut by the budget: nothing ran, the episode is scored empty
        ((Turn(reply="on and on " * 40, eos=False),), {}, {"max_completion_length": 64}, "token_budget",
         (Turn(reply=""),)),
        # the tool result does not fit the budget: the call ran, its result is not shown
        ((Turn((CALL_STATUS,)),), {}, {"max_completion_length": 200}, "token_budget", (Turn((CALL_STATUS,)),)),
        # the environment stops at its max_steps, in the middle of a turn
        ((Turn((CALL_STATUS,) * 3),), {"env_max_steps": 2}, {}, "env_max_steps", (Turn((CALL_STATUS,) * 3),)),
        # TRL's max_tool_calling_iterations=0 leaves one turn
        ((Turn((CALL_STATUS,)),), {}, {"args.max_tool_calling_iterations": 0}, "max_turns", (Turn((CALL_STATUS,)),)),
    ],
    ids=["reply-over-budget", "tool-result-over-budget", "env-max-steps", "max-tool-calling-iterations"],
)
def test_truncated_episodes_are_scored_as_they_stand(idle_trainer: Any, task_set: TaskSet, dataset: Any,
                                                     monkeypatch: pytest.MonkeyPatch, script: Script, options: dict,
                                                     settings: dict, reason: str, replayed: Script) -> None:
    for name, value in settings.items():
        owner = idle_trainer.args if name.startswith("args.") else idle_trainer
        monkeypatch.setattr(owner, name.removeprefix("args."), value)
    rollout, output = run_rollout(idle_trainer, task_set, dataset, STATUS, (script,), monkeypatch, **options)
    (record,) = rollout.records
    assert record.truncated and record.truncation_reason == reason and record.final_reply == ""
    assert output["episode_truncated"] == [True] and output["truncation_reason"] == [reason]
    assert len(output["completion_ids"][0]) <= idle_trainer.max_completion_length
    assert 0 not in output["env_mask"][0]  # no tool result was appended
    expected = replay(task_set, STATUS, replayed, max_turns=1, env_max_steps=options.get("env_max_steps", 30))
    assert record.reward == pytest.approx(expected.reward)


def test_context_length_truncation(idle_trainer: Any, task_set: TaskSet, dataset: Any,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    _, output = run_rollout(idle_trainer, task_set, dataset, STATUS, ((Turn(reply="Hi."),),), monkeypatch)
    prompt_length = len(output["prompt_ids"][0])
    script = (Turn((CALL_STATUS,)),)
    monkeypatch.setattr(idle_trainer.model.config, "max_position_embeddings", prompt_length + 100)
    rollout, output = run_rollout(idle_trainer, task_set, dataset, STATUS, (script,), monkeypatch)
    assert rollout.records[0].truncation_reason == "context_length"
    assert len(output["prompt_ids"][0]) + len(output["completion_ids"][0]) < prompt_length + 100
    monkeypatch.setattr(idle_trainer.model.config, "max_position_embeddings", prompt_length)
    with pytest.raises(ValueError, match="more than the model's context"):
        run_rollout(idle_trainer, task_set, dataset, STATUS, (script,), monkeypatch)


def test_prompts_without_task_key_are_found_by_request(idle_trainer: Any, task_set: TaskSet, dataset: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    script = (Turn(reply="It is in transit, tracking FE318946901100."),)
    monkeypatch.setattr(idle_trainer, "scripts", {STATUS: (script,)})
    prompt = next(row["prompt"] for row in dataset if row["task_id"] == STATUS)
    bare = [{"role": m["role"], "content": m["content"]} for m in prompt]
    rollout = CorecraftRollout(task_set, **SCRIPTED)
    rollout([bare], idle_trainer)
    assert rollout.records[0].task_id == STATUS and rollout.records[0].reward == pytest.approx(5 / 6)
    with pytest.raises(ValueError, match="cannot tell which task"):
        rollout([[{"role": "user", "content": "Hello?"}]], idle_trainer)


def strict_judge(task: Any, criterion: Any, episode: Any) -> tuple[bool, str]:
    """A judge (the environment's `Judge` protocol) that fails every judge criterion."""
    return False, "strict test judge"


def test_judge_decides_judge_criteria(idle_trainer: Any, task_set: TaskSet, dataset: Any,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    oracle = SCRIPTS[RETURN][0]
    rollout, _ = run_rollout(idle_trainer, task_set, dataset, RETURN, (oracle,), monkeypatch)
    assert rollout.records[0].reward == pytest.approx(1.0)  # no judge: the fallback (reply mentions shipping) passes
    rollout, _ = run_rollout(idle_trainer, task_set, dataset, RETURN, (oracle,), monkeypatch,
                             judge=load_judge(f"py:{__name__}:strict_judge"))
    (record,) = rollout.records
    assert record.reward == pytest.approx(7 / 8) and not record.passed
    assert [(v["source"], v["passed"]) for v in record.verdicts if v["criterion_id"] == "tone"] == [("judge", False)]


def test_contract_shows_every_task_the_same_tools(task_set: TaskSet) -> None:
    def names(contract: PromptContract) -> list[str]:
        return [schema["function"]["name"] for schema in contract.tool_schemas()]

    assert len(names(PromptContract())) == 23
    assert names(PromptContract(tools=("createRefund", "getOrderDetails"))) == ["getOrderDetails", "createRefund"]
    compact = PromptContract(tool_format="compact")
    assert compact.template_tools() is None and "- createRefund(" in compact.system_prompt()
    with pytest.raises(ValueError, match="unknown tools"):
        PromptContract(tools=("fly",))


# -- the dataset and the local models ---------------------------------------------------------------------------------
def test_tasks_to_dataset_is_trl_conversational(task_set: TaskSet) -> None:
    from trl.data_utils import is_conversational

    dataset = tasks_to_dataset(task_set.select(), repeat=2)
    assert dataset.column_names == list(COLUMNS) and len(dataset) == 4
    row = dataset[0]
    assert is_conversational(row)
    system, user = row["prompt"]
    env = CorecraftEnv(split=None, task_set=task_set)
    observation, info = env.reset(options={"task_id": row["task_id"]})
    assert (system["role"], system["content"]) == ("system", info["system_prompt"])
    assert (user["role"], user["content"], user[TASK_ID_KEY]) == ("user", observation, row["task_id"])
    task = task_set.get(row["task_id"])
    assert (row["family"], row["category"], row["difficulty"], row["split"], row["world_seed"]) == (
        task.family, task.category, task.difficulty, task.split, task.world_seed)
    compact = tasks_to_dataset(task_set.select(), PromptContract(include_policy=False))[0]["prompt"][0]["content"]
    assert compact == compact_system_prompt() and policy_document()[:80] not in compact and len(compact) < 400
    assert len(tasks_to_dataset([])) == 0


def _build_on_rank(rank: int, port: int, cache_dir: str) -> None:
    torch.distributed.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    try:
        if rank == 0:
            time.sleep(1.0)  # rank 1 asks first, as it may in a real run
        local_model_path("tiny-random-qwen3", cache_dir=cache_dir)
        torch.distributed.barrier()
    finally:
        torch.distributed.destroy_process_group()


def test_every_rank_of_a_distributed_run_gets_a_complete_local_model(tmp_path: Path) -> None:
    """transformers writes weights on rank 0 only: a model built by rank 1 would have none (a real race when
    `corecraft-grpo` runs in several processes), so rank 1 waits for rank 0's build."""
    import socket

    with socket.socket() as probe:  # a free port on the loopback for the process group's store
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    torch.multiprocessing.spawn(_build_on_rank, args=(port, str(tmp_path)), nprocs=2, join=True)
    folder = tmp_path / "models" / "tiny-random-qwen3"
    assert {"config.json", "model.safetensors", "corecraft_model.json", "tokenizer.json"} <= {p.name for p in folder.iterdir()}


def test_local_tiny_model_is_built_once_and_resolved(tmp_path: Path) -> None:
    path = local_model_path("tiny-random-qwen3", cache_dir=tmp_path)
    assert (path / "corecraft_model.json").is_file() and (path / "model.safetensors").is_file()
    stamp = (path / "model.safetensors").stat().st_mtime_ns
    assert resolve_model("corecraft:tiny-random-qwen3", cache_dir=tmp_path) == str(path)
    assert (path / "model.safetensors").stat().st_mtime_ns == stamp  # cached, not rebuilt
    assert resolve_model("Qwen/Qwen3-0.6B") == "Qwen/Qwen3-0.6B"
    with pytest.raises(KeyError, match="unknown local model"):
        local_model_path("gpt-5", cache_dir=tmp_path)


# -- the rollout's own generation (cached) against TRL's, on the tiny model ------------------------------------------
@pytest.fixture(scope="module")
def model_trainer(tmp_path_factory: pytest.TempPathFactory, tiny_tokenizer: Any, dataset: Any):
    """A trainer whose rollouts the tiny random model generates (greedy unless a test samples); never trained."""
    args = CorecraftGRPOConfig(output_dir=str(tmp_path_factory.mktemp("generate")), use_cpu=True, bf16=False,
                               report_to=[], save_strategy="no", seed=0, per_device_train_batch_size=2,
                               num_generations=2, max_completion_length=700, generation_kwargs={"do_sample": False})
    return CorecraftGRPOTrainer(model=build_tiny_model(tiny_tokenizer), reward_funcs=rubric_reward, args=args,
                                train_dataset=dataset, processing_class=tiny_tokenizer)


class Generated(NamedTuple):
    output: dict
    records: list
    forwards: list[tuple[int, int]]  # (rows, tokens) of each forward pass of the model


def generate_episodes(trainer: Any, task_set: TaskSet, dataset: Any, monkeypatch: pytest.MonkeyPatch,
                      scripts: dict[str, list[str]], generation: str, group: int = 1) -> Generated:
    """One rollout call on the demo tasks of `scripts` (`group` episodes each), the model steered by SteeredTurns."""
    from transformers import LogitsProcessorList

    model = trainer.model
    steer = LogitsProcessorList([SteeredTurns(trainer.processing_class,
                                              {REQUEST_MARK[task_id]: turns for task_id, turns in scripts.items()})])
    generate = type(model).generate
    forwards, hook = record_forwards(model)
    try:
        with monkeypatch.context() as patch:
            patch.setattr(model, "generate", lambda *a, **k: generate(model, *a, logits_processor=steer, **k))
            rollout = CorecraftRollout(task_set, contract=CONTRACT, max_turns=MAX_TURNS, generation=generation)
            prompts = [next(row["prompt"] for row in dataset if row["task_id"] == task_id)
                       for task_id in scripts for _ in range(group)]
            output = rollout(prompts, trainer)
    finally:
        hook.remove()
    return Generated(output, rollout.records, forwards)


def each_token_computed_once(generated: Generated) -> bool:
    """Every forward pass takes one sequence, and each episode's tokens are computed once over all its turns (all
    but the last generated one, which no pass needs): the episode's cache held everything before, and no padding. A
    prompt shared by a group is computed once (its other episodes compute only its last token again)."""
    output, prompts, expected = generated.output, set(), 0
    for prompt, completion in zip(output["prompt_ids"], output["completion_ids"]):
        expected += len(prompt) + len(completion) - 1 - (len(prompt) - 1 if tuple(prompt) in prompts else 0)
        prompts.add(tuple(prompt))
    return all(rows == 1 for rows, _ in generated.forwards) and sum(t for _, t in generated.forwards) == expected


def test_cached_generation_gives_trls_greedy_tokens(model_trainer: Any, task_set: TaskSet, dataset: Any,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # Turn 1 is a scripted tool call; turn 2 is the random model's own greedy text, after the tool results.
    scripts = {STATUS: [Turn((CALL_STATUS,)).text], RETURN: [Turn((ORACLE_RETURN[0],)).text]}
    trl = generate_episodes(model_trainer, task_set, dataset, monkeypatch, scripts, "trl")
    cached = generate_episodes(model_trainer, task_set, dataset, monkeypatch, scripts, "cached")
    for key in ("prompt_ids", "completion_ids", "env_mask", "logprobs", "rubric_score", "truncation_reason"):
        assert cached.output[key] == trl.output[key], key
    assert cached.output["logprobs"] is None  # as TRL's transformers generation: TRL computes them itself
    for record, mask in zip(cached.records, cached.output["env_mask"]):
        assert record.turns == 2 and record.tool_calls == 1
        tool_start = mask.index(0)
        model_turn = mask[mask.index(1, tool_start):]  # the second turn: the model's own tokens
        assert len(model_turn) > 10 and set(model_turn) == {1}
    assert each_token_computed_once(cached)
    assert not each_token_computed_once(trl)  # TRL's prefills the whole episode again in turn 2


def test_a_groups_prompt_is_computed_once(model_trainer: Any, task_set: TaskSet, dataset: Any,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    scripts = {STATUS: [Turn((CALL_STATUS,)).text]}  # then the model's own turn
    trl = generate_episodes(model_trainer, task_set, dataset, monkeypatch, scripts, "trl", group=2)
    cached = generate_episodes(model_trainer, task_set, dataset, monkeypatch, scripts, "cached", group=2)
    assert cached.output["completion_ids"] == trl.output["completion_ids"]
    assert cached.output["env_mask"] == trl.output["env_mask"] and 0 in cached.output["env_mask"][1]
    assert each_token_computed_once(cached)


def test_each_episode_stops_at_its_own_end(model_trainer: Any, task_set: TaskSet, dataset: Any,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # STATUS replies at once (a few tokens and EOS); RETURN's first turn is the model's own, to the budget.
    scripts = {STATUS: ["Done."], RETURN: []}
    monkeypatch.setattr(model_trainer, "max_completion_length", 120)
    trl = generate_episodes(model_trainer, task_set, dataset, monkeypatch, scripts, "trl")
    cached = generate_episodes(model_trainer, task_set, dataset, monkeypatch, scripts, "cached")
    assert cached.output["completion_ids"] == trl.output["completion_ids"]
    short, long = cached.output["completion_ids"]
    assert model_trainer.processing_class.decode(short) == "Done.<|im_end|>"
    assert cached.records[0].final_reply == "Done." and cached.records[1].truncation_reason == "token_budget"
    assert len(long) == model_trainer.max_completion_length
    # The short episode got no padded tokens: one forward per token it generated, not one per token of the longest.
    assert each_token_computed_once(cached)
    decode_steps = [rows for rows, tokens in trl.forwards if tokens == 1]
    assert set(decode_steps) == {2} and len(decode_steps) == len(long) - 1  # TRL's: both rows to the end


def test_cached_generation_follows_the_sampling_settings(model_trainer: Any, task_set: TaskSet, dataset: Any,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    config = model_trainer.generation_config
    monkeypatch.setattr(model_trainer, "max_completion_length", 60)

    def completions(**settings: Any) -> list[list[int]]:
        saved = {name: getattr(config, name) for name in settings}
        for name, value in settings.items():
            setattr(config, name, value)
        try:
            torch.manual_seed(0)  # TRL seeds the process's generator; sampling draws from it
            return generate_episodes(model_trainer, task_set, dataset, monkeypatch, {STATUS: []},
                                     "cached").output["completion_ids"]
        finally:
            for name, value in saved.items():
                setattr(config, name, value)

    greedy = completions()
    assert completions(do_sample=True, temperature=1.0, top_k=1) == greedy  # top_k=1 sampling is greedy
    sampled = completions(do_sample=True, temperature=1.0, top_k=0, top_p=1.0)
    assert sampled != greedy and completions(do_sample=True, temperature=1.0, top_k=0, top_p=1.0) == sampled
    assert completions(max_new_tokens=5) == greedy  # the rollout's budget, not TRL's setting, caps a turn
    assert len(greedy[0]) == 60
