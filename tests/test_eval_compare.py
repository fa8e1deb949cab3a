"""`corecraft report RUN_DIR RUN_DIR …`: one page comparing runs (parsed: the side-by-side table with deltas, the
plots with one bar per run, the tasks where the runs differ), and the differences computed from records."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from corecraft_env.cli import main
from corecraft_env.eval.compare import Run, differing_tasks

DEMO = Path(__file__).parent / "data" / "demo"


class ComparisonPage(HTMLParser):
    """The bars of each SVG (with their tooltips) and the rows of each table, as text cells."""

    def __init__(self) -> None:
        super().__init__()
        self.plots: list[list[str]] = []
        self.tables: list[list[list[str]]] = []
        self._in_bar = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "svg":
            self.plots.append([])
        elif tag == "rect" and "bar" in (attrs.get("class") or ""):
            self.plots[-1].append("")
            self._in_bar = True
        elif tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "rect":
            self._in_bar = False
        elif tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._in_bar:
            self.plots[-1][-1] += data
        if self._cell is not None:
            self._cell.append(data)


def evaluate(out: Path, agent: str, trials: int) -> Path:
    assert main(["eval", "--tasks-dir", str(DEMO), "--split", "all", "-q", "-o", str(out), "--agent", agent, "-k", str(trials)]) == 0
    return out


def test_report_of_several_runs_compares_them_side_by_side(tmp_path, capsys):
    oracle = evaluate(tmp_path / "oracle", "oracle", 2)
    random = evaluate(tmp_path / "random", "random", 3)
    capsys.readouterr()
    output = tmp_path / "compare.html"
    assert main(["report", str(oracle), str(random), "-o", str(output)]) == 0
    assert capsys.readouterr().out.strip() == str(output)
    text = output.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)  # self-contained, like the one-run report
    page = ComparisonPage()
    page.feed(text)

    info, summary, differences = page.tables
    assert [row[0] for row in info[1:]] == ["oracle", "random"]
    header, subheader, overall = summary[0], summary[1], summary[2]
    assert header[2:] == ["oracle", "random"] and subheader == ["pass@1", "pass^2", "reward"] * 2  # k = 2: both have it
    assert summary[0][:2] == ["group", "tasks per run"] and overall[:5] == ["all", "2 / 2", "100.0%", "100.0%", "1.000"]
    assert overall[5] == "0.0% -100.0 pt" and overall[6] == "0.0% -100.0 pt"  # random fails every episode
    assert overall[7].startswith("0.") and re.search(r"-0\.\d{3}$", overall[7])

    assert len(page.plots) == 5  # pass@1 and reward by category and by difficulty, pass^k for k = 1, 2
    assert all(len(bars) == 4 for bars in page.plots)  # 2 groups x 2 runs
    assert any(bar.startswith("k=2 — random: ") for bar in page.plots[4])

    assert differences[0] == ["task", "category", "difficulty", "oracle", "random"]
    rows = {row[0]: row for row in differences[1:]}
    assert set(rows) == {"demo-order-status-001", "demo-partial-return-001"}
    assert rows["demo-order-status-001"][3] == "2/2 passed · reward 1.000"
    assert rows["demo-order-status-001"][4].startswith("0/3 passed · reward 0.")
    assert "2 task(s) in every run; 2 task(s) where the runs differ" in text


def test_differences_skip_equal_tasks_and_name_missing_ones():
    def run(label: str, results: dict[str, list[tuple[bool, float]]]) -> Run:
        records = [{"task_id": task, "trial": i, "passed": passed, "reward": reward, "category": "reasoning",
                    "difficulty": "easy"} for task, trials in results.items() for i, (passed, reward) in enumerate(trials)]
        return Run(label, Path(label), {}, records)

    first = run("a", {"same": [(True, 1.0)], "rate": [(True, 1.0), (False, 0.5)], "reward": [(False, 0.2)], "only-a": [(True, 1.0)]})
    second = run("b", {"same": [(True, 1.0)], "rate": [(True, 1.0), (True, 1.0)], "reward": [(False, 0.4)]})
    rows = differing_tasks([first, second])
    assert [row["task_id"] for row in rows] == ["rate", "reward", "only-a"]  # pass-rate spread, reward spread, missing
    assert rows[2]["cells"][1] is None and rows[0]["spread"] == pytest.approx(0.5)


def test_comparison_arguments_are_checked(tmp_path, capsys):
    run = evaluate(tmp_path / "oracle", "oracle", 1)
    capsys.readouterr()
    assert main(["report", str(run), str(run), "-o", str(tmp_path / "c.html")]) == 2
    assert "the same run directory is given twice" in capsys.readouterr().err
    assert main(["report", str(run), str(tmp_path), "-o", str(tmp_path / "c.html")]) == 2
    assert "is not an eval run directory" in capsys.readouterr().err
    assert not (tmp_path / "c.html").exists()
