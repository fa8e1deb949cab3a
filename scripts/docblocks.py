"""Generated blocks in markdown files: ``<!-- name:begin ... -->`` … ``<!-- name:end -->``, rewritten in place."""

from __future__ import annotations

from pathlib import Path


def write_block(path: Path, name: str, block: str) -> None:
    """Replace the ``name`` block of a markdown file (or append it); ``block`` includes its own markers."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Results\n"
    begin, end = f"<!-- {name}:begin", f"<!-- {name}:end -->"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")
