"""The run directory's files: ``episodes.jsonl`` (append-only, one line per finished (task, trial)), ``run.json`` and
``summary.json`` (written whole, atomically).

Appending: each record is one line written with a single ``os.write`` on an ``O_APPEND`` descriptor, then
``fsync``; a lock serialises the writer threads. A process killed mid-write can leave at most a torn last line:
``EpisodeLog.load`` drops it (cutting the file back to its last complete line) so the run resumes cleanly. A broken
line anywhere else means the file was edited or damaged, and loading stops with an error naming the line.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any, Iterable

RECORD_SCHEMA = "corecraft-eval/1"


class RunFileError(ValueError):
    """A run directory file that cannot be used as it is (the message says which and why)."""


def write_json_atomic(path: Path, document: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=1, ensure_ascii=False)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class EpisodeLog:
    """``episodes.jsonl``: load what a previous (possibly killed) run wrote, then append new records."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._fd: int | None = None
        self.dropped_torn_line = False

    def load(self, repair: bool = True) -> list[dict]:
        """Every complete record, in file order. A torn last line (no newline, or not JSON) is dropped and, with
        ``repair``, cut from the file. Raises ``RunFileError`` on a damaged line elsewhere or a duplicate key."""
        if not self.path.exists():
            return []
        data = self.path.read_bytes()
        complete, newline, tail = data.rpartition(b"\n")
        good_end = len(complete) + len(newline)
        self.dropped_torn_line = bool(tail.strip())  # bytes after the last newline: a write cut short
        records, seen = [], set()
        for number, raw in enumerate(complete.split(b"\n") if newline else [], 1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
                if not isinstance(record, dict) or "task_id" not in record or "trial" not in record:
                    raise ValueError("not an episode record")
            except ValueError as exc:
                raise RunFileError(f"{self.path}: line {number} is not a valid episode record ({exc}); the file was "
                                   "changed by hand or damaged: repair or remove that line") from None
            key = (record["task_id"], record["trial"])
            if key in seen:
                raise RunFileError(f"{self.path}: line {number} repeats task {key[0]!r} trial {key[1]}")
            seen.add(key)
            records.append(record)
        if self.dropped_torn_line and repair:
            with open(self.path, "r+b") as handle:
                handle.truncate(good_end)
                handle.flush()
                os.fsync(handle.fileno())
        return records

    @staticmethod
    def _line(record: dict) -> bytes:
        return (json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str) + "\n").encode("utf-8")

    def rewrite(self, records: list[dict]) -> None:
        """Replace the file by ``records`` (e.g. without the errored ones, to run them again), atomically: a crash
        leaves the old file or the new one."""
        self.close()
        fd, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(b"".join(map(self._line, records)))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def append(self, record: dict) -> None:
        line = self._line(record)
        with self._lock:
            if self._fd is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            view = memoryview(line)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            os.fsync(self._fd)

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> "EpisodeLog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_run(run_dir: str | os.PathLike) -> tuple[dict, list[dict], dict | None]:
    """(run.json, episode records, summary.json or None) of a run directory, read-only."""
    run_dir = Path(run_dir)
    episodes = run_dir / "episodes.jsonl"
    if not episodes.is_file():
        raise RunFileError(f"{run_dir} is not an eval run directory (no episodes.jsonl); `corecraft eval --out DIR` writes one")
    config = json.loads((run_dir / "run.json").read_text(encoding="utf-8")) if (run_dir / "run.json").is_file() else {}
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8")) if (run_dir / "summary.json").is_file() else None
    return config, EpisodeLog(episodes).load(repair=False), summary


def done_keys(records: Iterable[dict]) -> set[tuple[str, int]]:
    return {(r["task_id"], r["trial"]) for r in records}
