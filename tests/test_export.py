"""Oracle demonstrations as an SFT dataset (``corecraft tasks --export DIR --format sft``) and the prompt contract that
SFT, GRPO and evaluation share: the export loads in TRL's SFTTrainer with assistant-only loss, and one contract gives
the same prompt token ids in the export, the GRPO rollout and the local evaluation agent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from corecraft_env.cli import main
from corecraft_env.env import CorecraftEnv
from corecraft_env.export.demonstrations import SFT_COLUMNS, demonstrations_to_dataset
from corecraft_env.export.prompts import PromptContract, render_prompt, task_prompts
from corecraft_env.tasks import TaskSet

DEMO = Path(__file__).parent / "data" / "demo"
RETURN = "demo-partial-return-001"  # train split: four reference calls, then the reply


@pytest.fixture(scope="module")
def task_set() -> TaskSet:
    return TaskSet(DEMO / "tasks")


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from datasets import load_from_disk

    out = tmp_path_factory.mktemp("sft") / "demos"
    assert main(["tasks", str(DEMO / "tasks"), "--export", str(out), "--format", "sft", "--max-observation-chars", "800"]) == 0
    return load_from_disk(str(out))


def test_export_replays_each_reference_solution_through_the_environment(exported: Any, task_set: TaskSet) -> None:
    assert set(exported) == {"train", "heldout"}
    row = exported["train"][0]
    assert tuple(exported["train"].column_names) == SFT_COLUMNS and row["task_id"] == RETURN and row["reward"] == 1.0
    task = task_set.get(RETURN)
    roles = [m["role"] for m in row["messages"]]
    assert roles == ["system", "user"] + ["assistant", "tool"] * len(task.reference_tool_calls) + ["assistant"]
    env = CorecraftEnv(split=None, task_set=task_set, max_observation_chars=800)
    observation, info = env.reset(options={"task_id": RETURN})
    assert row["messages"][0]["content"] == info["system_prompt"] and row["messages"][1]["content"] == observation
    for call, assistant, tool in zip(task.reference_tool_calls, row["messages"][2::2], row["messages"][3::2]):
        (tool_call,) = assistant["tool_calls"]
        assert tool_call["function"]["name"] == call.name == tool["name"]
        assert json.loads(tool_call["function"]["arguments"]) == call.arguments
        assert tool["content"] == env.step({"tool": call.name, "arguments": call.arguments})[0]  # the real observation
    assert row["messages"][-1]["content"] == task.reference_reply
    assert [t["function"]["name"] for t in json.loads(row["tools"])] == [t["function"]["name"] for t in info["tools"]]


def test_export_filters_by_family_and_difficulty(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from datasets import load_from_disk

    out = tmp_path / "easy"
    args = ["tasks", "--export", str(out), "--format", "sft", "--family", "account_review", "--difficulty", "easy",
            "--tool-format", "compact", "--no-policy"]
    assert main(args) == 0
    (split,) = load_from_disk(str(out)).values()
    assert len(split) > 0 and set(split["family"]) == {"account_review"} and set(split["difficulty"]) == {"easy"}
    assert split[0]["tools"] == "null" and "- getOrderDetails(" in split[0]["messages"][0]["content"]
    assert main(["tasks", "--export", str(tmp_path / "none"), "--family", "no_such_family"]) == 2
    assert "no tasks to export" in capsys.readouterr().err


def test_oracle_that_fails_is_not_exported(task_set: TaskSet, monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    task = task_set.get(RETURN)
    broken = dataclasses.replace(task, reference_tool_calls=task.reference_tool_calls[:1])  # no refund is made
    monkeypatch.setattr(task_set, "get", lambda task_id: broken)
    with pytest.raises(ValueError, match="does not pass"):
        demonstrations_to_dataset([broken], task_set)


def test_sft_trainer_trains_on_the_export_with_assistant_only_loss(exported: Any, tiny_tokenizer: Any, tiny_model: Any,
                                                                   tmp_path: Path) -> None:
    from trl import SFTConfig, SFTTrainer

    args = SFTConfig(output_dir=str(tmp_path), use_cpu=True, bf16=False, report_to=[], save_strategy="no", max_steps=1,
                     per_device_train_batch_size=1, assistant_only_loss=True, max_length=None, logging_steps=1,
                     learning_rate=1e-3)
    trainer = SFTTrainer(model=tiny_model, args=args, train_dataset=exported["train"], processing_class=tiny_tokenizer)
    (example,) = trainer.train_dataset
    trained = [token for token, label in zip(example["input_ids"], example["labels"]) if label != -100]
    untrained = [token for token, label in zip(example["input_ids"], example["labels"]) if label == -100]
    trained_text, untrained_text = tiny_tokenizer.decode(trained), tiny_tokenizer.decode(untrained)
    row = exported["train"][0]
    assert row["messages"][-1]["content"] in trained_text  # the reply and the calls are learned ...
    assert '"name": "createRefund"' in trained_text
    assert row["messages"][3]["content"][:200] in untrained_text  # ... the tool results and the request are not
    assert row["messages"][1]["content"][:200] in untrained_text and row["messages"][1]["content"][:200] not in trained_text
    result = trainer.train()
    assert result.global_step == 1 and result.training_loss > 0


def test_one_contract_gives_the_same_prompt_ids_in_export_rollout_and_eval(
        exported: Any, task_set: TaskSet, tiny_tokenizer: Any, tiny_model: Any, tmp_path: Path) -> None:
    from corecraft_env.agents.hf_agent import HFAgent, LocalModel
    from grpo_trainer.rollout import CorecraftRollout

    for contract in (PromptContract(max_observation_chars=800), PromptContract(tool_format="compact", include_policy=False)):
        task = task_set.get(RETURN)
        demonstration = demonstrations_to_dataset([task], task_set, contract)[0]
        sft_ids = render_prompt(tiny_tokenizer, demonstration["messages"][:2], contract)
        # TRL's SFTTrainer renders with the row's own tools column
        assert json.loads(demonstration["tools"]) == contract.template_tools()

        rollout = CorecraftRollout(task_set, contract=contract)
        rollout._prepare(tiny_tokenizer)
        (_, prompt), = task_prompts([task], contract)
        rollout_ids = rollout._start(0, prompt, {}, None).prompt_ids

        folder = tmp_path / contract.tool_format
        tiny_model.save_pretrained(folder)
        tiny_tokenizer.save_pretrained(folder)
        agent = HFAgent(local_model=LocalModel(folder), contract=contract)
        env = CorecraftEnv(split=None, task_set=task_set, max_observation_chars=contract.observation_chars)
        agent.reset(*env.reset(options={"task_id": RETURN}))
        eval_ids, _ = agent._prompt()

        assert sft_ids == rollout_ids == eval_ids
        tools_in_prompt = "createRefund" in tiny_tokenizer.decode(eval_ids)
        assert tools_in_prompt  # every task sees every tool, natively or compactly
