"""The README holds exactly two set-up commands (main job, test suite), and CI runs the second one."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _commands() -> dict[str, str]:
    readme = (ROOT / "README.md").read_text()
    return {tag: command for command, tag in re.findall(r"^(pip install .+?)\s+# (main-job|test-suite)$", readme, flags=re.M)}


def test_readme_has_exactly_the_two_setup_commands():
    readme = (ROOT / "README.md").read_text()
    assert len(re.findall(r"^pip install ", readme, flags=re.M)) == 2
    commands = _commands()
    assert set(commands) == {"main-job", "test-suite"}
    for command in commands.values():
        assert "torch==2.13.0" in command  # the CPU wheel, never an unpinned torch pulling CUDA packages
    assert "pytest" in commands["test-suite"]


def test_ci_runs_the_readme_test_command():
    # Run .ci/run's extraction step alone (not the suite) and compare with what the README says.
    script = (ROOT / ".ci" / "run").read_text()
    extraction = re.search(r"^command=\$\((.+)\)$", script, flags=re.M).group(1)
    extracted = subprocess.run(["bash", "-c", extraction], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    assert extracted == _commands()["test-suite"]
