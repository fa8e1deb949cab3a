"""The examples run as documented."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quickstart_runs_an_oracle_and_a_random_episode():
    command = [sys.executable, str(ROOT / "examples" / "quickstart.py"), "--tasks-dir", str(ROOT / "tests" / "data" / "demo" / "tasks")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Task demo-order-status-001 (information_retrieval, easy, heldout)" in result.stdout
    assert "Oracle (reference solution): reward 1.00, PASSED" in result.stdout
    assert "Random agent: reward" in result.stdout and "Random agent: reward 1.00" not in result.stdout
    assert result.stdout.count("[ok  ]") >= 4 and "[FAIL]" in result.stdout
