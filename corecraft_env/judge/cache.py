"""On-disk verdict cache: one small JSON file per (judge, criterion, trajectory) key.

The key is the sha256 of a canonical JSON document (sorted keys, no whitespace) holding the judge's identity (model,
sampling settings, prompt version), the criterion, the task's request and the full trajectory (tool calls with
arguments and results, rows written, final reply). Re-scoring the same episode with the same judge therefore costs
nothing and gives the same verdict. Files are written to a temporary name and renamed into place, so concurrent
writers (threads or processes) never leave a half-written entry; an unreadable entry counts as a miss.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def canonical_json(document: Any) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def content_hash(document: Any) -> str:
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()


def default_judge_cache_dir() -> Path:
    from ..world.store import default_cache_dir

    return default_cache_dir() / "judge"


class VerdictCache:
    """Verdicts stored under ``directory/<key[:2]>/<key>.json``."""

    def __init__(self, directory: str | os.PathLike | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_judge_cache_dir()

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict | None:
        try:
            entry = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or not isinstance(entry.get("passed"), bool) or not isinstance(entry.get("reason"), str):
            return None
        return entry

    def put(self, key: str, entry: dict) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(canonical_json(entry))
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def __len__(self) -> int:
        return sum(1 for _ in self.directory.glob("*/*.json")) if self.directory.is_dir() else 0
