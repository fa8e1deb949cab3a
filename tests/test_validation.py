"""`corecraft validate`: good tasks pass; each kind of broken task is reported with a message saying what is wrong."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from corecraft_env.tasks.model import TaskSet, load_task, shipped_data_dir, task_folders
from corecraft_env.validation import named_ids, validate_task

DEMO = Path(__file__).parent / "data" / "demo"
RETURN_TASK = "demo-partial-return-001"


def validate(directory: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "corecraft_env", "validate", str(directory)], capture_output=True, text=True)


@pytest.fixture
def broken(tmp_path) -> Path:
    """A copy of the demo tasks that a test then breaks."""
    shutil.copytree(DEMO, tmp_path / "demo")
    return tmp_path / "demo"


def edit(path: Path, change) -> None:
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


def task_file(root: Path) -> Path:
    return root / "tasks" / "train" / f"{RETURN_TASK}.json"


def rubric_file(root: Path) -> Path:
    return root / "rubrics" / f"{RETURN_TASK}.json"


def test_valid_tasks_pass():
    result = validate(DEMO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_a_bare_task_folder_validates_against_the_rubrics_beside_it():
    result = validate(DEMO / "tasks")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_task_folders_leave_a_bare_folders_rubrics_to_the_reader(tmp_path):
    assert task_folders(DEMO) == (DEMO / "tasks", DEMO / "rubrics")
    assert task_folders(DEMO / "tasks") == (DEMO / "tasks", None)
    assert TaskSet.from_folder(DEMO / "tasks").rubrics_dir == DEMO / "rubrics"  # the sibling rubrics/
    # A folder of tasks written against the shipped rubrics, with no rubrics/ beside it: TaskSet's own fallback.
    shipped = next(iter(TaskSet()))
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "task.json").write_text(json.dumps(shipped.to_dict()))
    mine = TaskSet.from_folder(tmp_path / "mine")
    assert mine.rubrics_dir == shipped_data_dir("rubrics")
    assert mine.rubric(shipped.rubric_id).id == shipped.rubric_id


def test_named_ids_cover_request_and_reference_arguments():
    ids = named_ids(load_task(task_file(DEMO)))
    assert {"ord-250823-104", "pay-000729", "ramforge-ddr5-5600-32gb-2x16gb"} <= set(ids)


def test_wrong_id_is_reported(broken):
    edit(task_file(broken), lambda t: t.update(request=t["request"].replace("ord-250823-104", "ord-999999-999")))
    result = validate(broken)
    assert result.returncode == 1
    assert "names ids that do not exist in the seed-0 world: ord-999999-999" in result.stdout


def test_unsatisfiable_rubric_is_reported(broken):
    edit(rubric_file(broken), lambda r: r["criteria"][0]["check"]["expect"].update(amount=1.23))
    result = validate(broken)
    assert result.returncode == 1
    assert "the reference solution scores 0.875, not 1.0; failing criteria: refund (" in result.stdout
    assert "amount = 68.39, expected 1.23" in result.stdout


def test_failing_reference_call_is_reported(broken):
    edit(task_file(broken), lambda t: t["reference_solution"]["tool_calls"][1]["arguments"].update(amount=99999.0))
    result = validate(broken)
    assert "reference call createRefund(" in result.stdout and "exceeds what remains refundable" in result.stdout


def test_weak_rubric_that_the_null_agent_passes_is_reported(broken):
    edit(rubric_file(broken), lambda r: r.update(criteria=[
        {"id": "a", "description": "No refund approved", "kind": "tool_not_called", "check": {"name": "deleteAll"}},
        {"id": "b", "description": "Nothing unexpected", "kind": "no_collateral",
         "check": {"allow": [{"table": "refund"}, {"table": "refund_line"}, {"table": "orders"}, {"table": "payment"}]}},
        {"id": "c", "description": "The order still exists", "kind": "state", "check": {"table": "orders", "where": {"id": "ord-250823-104"}}}]))
    result = validate(broken)
    assert "the null agent (empty reply, no tool calls) passes" in result.stdout


def test_too_few_criteria_and_missing_state_criterion(broken, world0):
    edit(rubric_file(broken), lambda r: r.update(criteria=[c for c in r["criteria"] if c["id"] == "reply"]))
    problems = validate_task(load_task(task_file(broken)), broken / "rubrics")
    assert "rubric demo-partial-return-001 has 1 criteria; at least 3 are required" in problems
    assert any("the reference solution writes (createRefund, updateOrderStatus, updatePaymentStatus) but the rubric has no state criterion" in p
               for p in problems)


def test_missing_rubric_and_invalid_task_file(broken):
    rubric_file(broken).unlink()
    edit(broken / "tasks" / "heldout" / "demo-order-status-001.json", lambda t: t.pop("request"))
    result = validate(broken)
    assert "rubric 'demo-partial-return-001' not found" in result.stdout
    assert "invalid task: (top level): 'request' is a required property" in result.stdout
    assert "2 failed" in result.stdout


def test_task_in_the_wrong_split_folder(broken):
    edit(task_file(broken), lambda t: t.update(split="heldout"))
    assert "split is 'heldout' but the file is in the 'train' folder" in validate(broken).stdout


def plain_pytest(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """`pytest ARGS` run by a user in `cwd`: no options, no conftest; the plugin comes from the pytest11 entry point
    that installing the package registers."""
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600)


def test_plain_pytest_validates_a_copied_task_folder(tmp_path):
    shutil.copytree(DEMO, tmp_path / "my_tasks")
    result = plain_pytest(tmp_path, "my_tasks")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
    result = plain_pytest(tmp_path, "my_tasks/tasks")  # the bare tasks folder, rubrics/ beside it
    assert result.returncode == 0 and "2 passed" in result.stdout, result.stdout + result.stderr
    edit(task_file(tmp_path / "my_tasks"), lambda t: t["requester"].update(id="cust-9999"))
    result = plain_pytest(tmp_path, "my_tasks")
    assert result.returncode == 1 and "1 failed, 1 passed" in result.stdout
    assert "requester customer cust-9999 does not exist" in result.stdout


def test_plain_pytest_leaves_other_json_files_alone(tmp_path):
    # A project's data/train/*.json is not a task folder: no rubrics/ beside it, not named on the command line.
    (tmp_path / "data" / "train").mkdir(parents=True)
    (tmp_path / "data" / "train" / "sample.json").write_text('{"text": "not a task"}')
    (tmp_path / "test_project.py").write_text("def test_project():\n    assert True\n")
    result = plain_pytest(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout and "sample" not in result.stdout
