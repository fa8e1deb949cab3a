"""`corecraft eval` and `corecraft report` end to end on the demo tasks: the JSONL records, the summary, resuming,
and the HTML report (parsed: summary table, SVG plots with bars, trajectories with tool calls and verdicts)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from corecraft_env.cli import main

DEMO = Path(__file__).parent / "data" / "demo"


def eval_args(out: Path, *extra: str) -> list[str]:
    return ["eval", "--tasks-dir", str(DEMO), "--split", "all", "-q", "-o", str(out), *extra]


class Page(HTMLParser):
    """Counts tags and collects the text inside each SVG and each episode."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, int] = {}
        self.svg_rects: list[int] = []
        self.episodes: list[dict] = []
        self._in_svg = False
        self._episode_depth = 0
        self._depth = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags[tag] = self.tags.get(tag, 0) + 1
        if tag == "svg":
            self._in_svg = True
            self.svg_rects.append(0)
        elif tag == "rect" and self._in_svg and "bar" in (attrs.get("class") or ""):
            self.svg_rects[-1] += 1
        if tag == "details" and "episode" in (attrs.get("class") or ""):
            self.episodes.append({"id": attrs.get("id"), "status": attrs.get("data-status"), "text": ""})
            self._episode_depth = 1
        elif tag == "details" and self._episode_depth:
            self._episode_depth += 1

    def handle_endtag(self, tag):
        if tag == "svg":
            self._in_svg = False
        if tag == "details" and self._episode_depth:
            self._episode_depth -= 1

    def handle_data(self, data):
        if self._episode_depth and self.episodes:
            self.episodes[-1]["text"] += data


def test_eval_writes_records_and_summary_and_resumes_without_rerunning(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(eval_args(out, "--agent", "oracle", "-k", "2")) == 0
    printed = capsys.readouterr().out
    assert "pass@1" in printed and "category: information_retrieval" in printed
    records = [json.loads(line) for line in (out / "episodes.jsonl").read_text().splitlines()]
    assert len(records) == 4 and all(r["passed"] and r["agent"] == "oracle" and r["judge"] == "none" for r in records)
    first = records[0]
    for key in ("task_id", "trial", "messages", "verdicts", "reward", "passed", "task_hash", "world_hash", "latency_s", "model", "judge"):
        assert key in first
    summary = json.loads((out / "summary.json").read_text())
    assert summary["overall"]["pass@1"] == 1.0 and summary["overall"]["pass^k"]["2"] == 1.0
    run = json.loads((out / "run.json").read_text())
    assert run["agent"] == "oracle" and "CoreCraft" in run["system_prompt"]

    assert main(eval_args(out, "--agent", "oracle", "-k", "3")) == 0  # one more trial per task: only those run
    assert len((out / "episodes.jsonl").read_text().splitlines()) == 6
    assert json.loads((out / "summary.json").read_text())["run"]["ran_now"] == 2

    assert main(eval_args(out, "--agent", "null")) == 2  # other settings in the same directory: refused, nothing written
    assert "holds a run with other settings" in capsys.readouterr().err
    assert len((out / "episodes.jsonl").read_text().splitlines()) == 6


def test_selection_filters_and_bad_options_are_clear(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["eval", "--tasks-dir", str(DEMO), "--difficulty", "easy", "--split", "all", "-q", "-o", str(out), "--agent", "null"]) == 0
    records = [json.loads(line) for line in (out / "episodes.jsonl").read_text().splitlines()]
    assert [r["task_id"] for r in records] == ["demo-order-status-001"] and records[0]["passed"] is False
    assert main(["eval", "--tasks-dir", str(DEMO), "--split", "train", "--category", "communication", "-q", "-o", str(tmp_path / "x")]) == 2
    assert "no tasks match the selection" in capsys.readouterr().err
    assert main(["eval", "--tasks-dir", str(DEMO), "--agent", "litellm", "-o", str(tmp_path / "y")]) == 2
    assert "needs a model" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["eval", "-o", str(tmp_path / "z"), "-k", "0"])


@pytest.mark.parametrize("options, message", [
    (["--agent", "litellm", "--model", "openai/gpt-4o-mini"],
     "agent model openai/gpt-4o-mini: OPENAI_API_KEY is not set; export it, or name the variable holding the key with --api-key-env"),
    (["--agent", "litellm", "--model", "nosuchprovider/foo"],
     "agent model 'nosuchprovider/foo': the provider 'nosuchprovider' is unknown to LiteLLM; write provider/model, e.g. "
     "openai/gpt-4o-mini"),
    (["--judge", "gpt4"],
     "judge model 'gpt4': it names no provider; write provider/model, e.g. openai/gpt-4o-mini (did you mean 'gpt-4'?)"),
    (["--judge", "openai/gpt-4o-mini"],
     "judge model openai/gpt-4o-mini: OPENAI_API_KEY is not set; export it, or name the variable holding the key with "
     "--judge-api-key-env"),
    (["--agent", "hf", "--model", "no-such-model"],
     "no-such-model is not a local model folder (no config.json); pass a folder written by save_pretrained, or one of "
     "smollm2-135m-instruct, tiny-random-qwen3 (built locally, no download)"),
])
def test_a_model_that_cannot_work_stops_eval_before_any_episode(tmp_path, capsys, monkeypatch, options, message):
    # Caught by LiteLLM's own checks, before any request: no server is needed, and none is asked.
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert main(eval_args(tmp_path / "run", *options)) == 2
    *before, last = capsys.readouterr().err.splitlines()
    assert last == f"corecraft eval: error: {message}"
    assert all(line.startswith("[eval] loading local model") for line in before) and len(before) == (options[1] == "hf")
    assert not (tmp_path / "run").exists()  # nothing written: the same -o can be used with the mistake fixed


def test_report_renders_summary_plots_and_trajectories(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(eval_args(out, "--agent", "oracle", "-k", "2")) == 0
    assert main(eval_args(tmp_path / "random", "--agent", "random", "-k", "2")) == 0
    capsys.readouterr()
    for run_dir in (out, tmp_path / "random"):
        assert main(["report", str(run_dir)]) == 0
        assert capsys.readouterr().out.strip() == str(run_dir / "report.html")
    text = (out / "report.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text) and "@import" not in text  # self-contained
    page = Page()
    page.feed(text)
    assert len(page.svg_rects) == 4  # category, difficulty, reward distribution, most-failed criteria
    assert page.svg_rects[0] == 4 and page.svg_rects[1] == 4  # 2 categories (difficulties) x (pass@1, pass^2)
    assert page.svg_rects[2] == 10  # reward histogram bins
    assert page.tags.get("table", 0) >= 2
    assert len(page.episodes) == 4 and {e["status"] for e in page.episodes} == {"pass"}
    partial = next(e for e in page.episodes if "demo-partial-return-001" in e["text"])
    for expected in ("tool call", "createRefund", "ref-00221", "Verdicts", "A pending refund of $68.39", "pass"):
        assert expected in partial["text"]

    failing = Page()
    failing.feed((tmp_path / "random" / "report.html").read_text())
    assert {e["status"] for e in failing.episodes} == {"fail"}
    assert failing.svg_rects[3] > 0  # the random agent fails criteria: the most-failed chart has bars


def test_report_of_a_directory_without_a_run_is_an_error(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "not an eval run directory" in capsys.readouterr().err


def test_report_of_a_run_with_no_finished_episode_still_renders(tmp_path):
    from corecraft_env.eval.report import write_report

    (tmp_path / "episodes.jsonl").write_text("")
    page = Page()
    page.feed(write_report(tmp_path).read_text())
    assert page.svg_rects == [0, 0, 10, 0] and page.episodes == []  # empty charts; the histogram keeps its (empty) bins
