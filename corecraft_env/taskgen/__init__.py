"""Task families: the generators that produce the shipped corpus of tasks and rubrics from the seed-0 world.

``python -m corecraft_env.taskgen [--out REPO_ROOT]`` regenerates ``tasks/``, ``rubrics/`` and the tables of
``docs/tasks.md``. See ``core`` for the framework and ``families/`` for one module per area of support work.
"""

from .core import FAMILIES, POLICY_RULES, Context, Family, TaskSpec, customer, difficulty_for, employee, family

__all__ = ["FAMILIES", "POLICY_RULES", "Context", "Family", "TaskSpec", "customer", "difficulty_for", "employee", "family"]
