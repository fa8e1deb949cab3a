"""Task families: the generators that produce tasks and rubrics on the world of any seed: the shipped corpus on the
seed-0 world, and a corpus per other seed (``corecraft_env.seeded``).

``python -m corecraft_env.taskgen [--out REPO_ROOT]`` regenerates ``tasks/``, ``rubrics/`` and the tables of
``docs/tasks.md``; ``--seed N --out DIR`` writes the corpus of world N to DIR. See ``core`` for the framework and ``families/`` for one module per area of support work.
"""

from .core import FAMILIES, HELDOUT_RULES, POLICY_RULES, Context, Family, TaskSpec, customer, difficulty_for, employee, family

__all__ = ["FAMILIES", "HELDOUT_RULES", "POLICY_RULES", "Context", "Family", "TaskSpec", "customer", "difficulty_for", "employee", "family"]
