"""The judge for rubric ``judge`` criteria: a LiteLLM model, a user callable, or none (deterministic fallbacks).

Light to import: litellm is imported only when a LiteLLM judge makes its first call. See ``core`` for the judge,
``prompt`` for what it sees and how its answer is parsed, ``cache`` for the verdict cache, ``retry`` for backoff.
"""

from .cache import VerdictCache, canonical_json, content_hash, default_judge_cache_dir
from .core import JudgeCall, JudgeRecorder, LiteLLMBackend, RubricJudge, check_model, import_litellm, make_judge
from .prompt import PROMPT_VERSION, build_messages, judge_input, parse_verdict
from .retry import (
    Attempts,
    FatalModelError,
    MalformedOutput,
    RetriesExhausted,
    RetryPolicy,
    call_with_retries,
    is_fatal,
    is_transient,
)

__all__ = [
    "Attempts", "FatalModelError", "JudgeCall", "JudgeRecorder", "LiteLLMBackend", "MalformedOutput", "PROMPT_VERSION", "RetriesExhausted",
    "RetryPolicy", "RubricJudge", "VerdictCache", "build_messages", "call_with_retries", "canonical_json", "check_model", "content_hash",
    "default_judge_cache_dir", "import_litellm", "is_fatal", "is_transient", "judge_input", "make_judge", "parse_verdict",
]
