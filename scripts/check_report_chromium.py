#!/usr/bin/env python3
"""Open a `corecraft report` page in headless Chromium and check what a person would see.

    python scripts/check_report_chromium.py RUN_DIR_OR_HTML [--screenshot out.png]

Chromium (Debian: `apt-get install -y chromium`) loads the file with the network disabled, runs its script and dumps
the rendered DOM; the check passes when the rendered page has the summary table, the four plots as SVG with bars, and
at least one trajectory with its verdict table, and every tool call the file holds. A screenshot is written too (default: beside the HTML).
Exit status 0 when every check passes, 1 otherwise (each failed check is printed), 2 when Chromium is missing.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


class Rendered(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.svgs = 0
        self.bars = 0
        self.tables: list[str] = []
        self.episodes = 0
        self.tool_calls = 0
        self.verdict_tables = 0
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get("class") or "").split()
        if tag == "svg":
            self.svgs += 1
        elif tag == "rect" and "bar" in classes:
            self.bars += 1
        elif tag == "table":
            self.tables.append(" ".join(classes))
            self.verdict_tables += "verdicts" in classes
        elif tag == "details" and "episode" in classes:
            self.episodes += 1
        elif tag == "div" and "call" in classes:
            self.tool_calls += 1

    def handle_data(self, data):
        self.text.append(data)


def find_browser() -> str | None:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", help="a run directory (its report.html) or an HTML file")
    parser.add_argument("--screenshot", help="PNG to write (default: report.png beside the HTML)")
    args = parser.parse_args(argv)
    page = Path(args.target)
    page = page / "report.html" if page.is_dir() else page
    if not page.is_file():
        print(f"no report at {page}: run `corecraft report RUN_DIR` first", file=sys.stderr)
        return 1
    browser = find_browser()
    if browser is None:
        print("no Chromium found (apt-get install -y chromium)", file=sys.stderr)
        return 2
    url = page.resolve().as_uri()
    with tempfile.TemporaryDirectory() as profile:
        common = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", f"--user-data-dir={profile}",
                  "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>", "--virtual-time-budget=3000"]
        dom = subprocess.run([*common, "--dump-dom", url], capture_output=True, text=True, timeout=120)
        screenshot = Path(args.screenshot) if args.screenshot else page.with_name("report.png")
        shot = subprocess.run([*common, f"--screenshot={screenshot}", "--window-size=1200,2400", "--hide-scrollbars", url],
                              capture_output=True, text=True, timeout=120)
    if dom.returncode != 0 or not dom.stdout.strip():
        print(f"Chromium could not render {page}: {dom.stderr[-2000:]}", file=sys.stderr)
        return 1
    rendered = Rendered()
    rendered.feed(dom.stdout)
    source = Rendered()
    source.feed(page.read_text(encoding="utf-8"))  # what the file holds; the rendered page must show all of it
    text = " ".join(rendered.text)
    checks = {
        "summary table rendered": "summary" in rendered.tables and "pass@1" in text,
        "four SVG plots": rendered.svgs >= 4,
        "plots have bars": rendered.bars > 0,
        "at least one trajectory": rendered.episodes > 0,
        "every tool call in the file is rendered": rendered.tool_calls == source.tool_calls,
        "a trajectory shows its verdicts": rendered.verdict_tables > 0,
        "screenshot written": shot.returncode == 0 and screenshot.is_file() and screenshot.stat().st_size > 0,
    }
    for name, ok in checks.items():
        print(f"{'ok  ' if ok else 'FAIL'} {name}")
    print(f"{rendered.svgs} svg, {rendered.bars} bars, {rendered.episodes} trajectories, {rendered.tool_calls} tool calls; "
          f"screenshot {screenshot}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
