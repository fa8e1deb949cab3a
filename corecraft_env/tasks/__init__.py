"""Tasks, rubrics and scoring: the data formats (JSON + JSON Schema), criterion checks and the episode score."""

from .criteria import Episode, ToolEvent
from .model import CATEGORIES, DIFFICULTIES, SPLITS, Criterion, Rubric, Solution, Task, TaskFormatError, TaskSet, ToolCall
from .scoring import Judge, JudgeError, Score, Verdict, score_episode

__all__ = [
    "CATEGORIES", "DIFFICULTIES", "SPLITS", "Criterion", "Episode", "Judge", "JudgeError", "Rubric", "Score", "Solution",
    "Task", "TaskFormatError", "TaskSet", "ToolCall", "ToolEvent", "Verdict", "score_episode",
]
