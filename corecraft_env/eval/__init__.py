"""Evaluation: run agents on tasks (resumable JSONL runs), metrics (pass@1, pass^k, reward), static HTML reports.

Light to import; agents' heavy libraries (litellm, torch, transformers) load only when such an agent is used.
"""

from .metrics import format_table, pass_hat_k, summarize
from .runner import AGENTS, EvalConfig, run_eval, select_tasks
from .store import EpisodeLog, RunFileError, read_run

__all__ = ["AGENTS", "EpisodeLog", "EvalConfig", "RunFileError", "format_table", "pass_hat_k", "read_run", "run_eval",
           "select_tasks", "summarize"]
