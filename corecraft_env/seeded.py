"""Tasks on the world of any seed: generated on first use, cached on disk, and drawn by ``gym.make``.

The shipped corpus (``tasks/``, ``rubrics/``) is set in the seed-0 world, so numbers stay comparable across
releases. Every task family instantiates on any other world too (``taskgen``), so a policy can be trained on fresh
worlds, where no answer can be memorised, and evaluated on worlds it never saw:

    env = gym.make("Corecraft-v0", world_seed=3)          # tasks of world 3 (generated once, ~1 min, then cached)
    task_set = seeded_task_set(1000)                      # an unseen world, for evaluation
    corecraft tasks --seed 3 --out DIR                    # the same corpus as files, for `corecraft validate DIR`

Two held-out axes: **held-out families** (tasks of families no training task comes from: ``split="heldout"``) and
**unseen worlds**: seeds from ``FIRST_UNSEEN_WORLD_SEED`` up are reserved for evaluation; training recipes draw
their worlds from ``TRAINING_WORLD_SEEDS``. Task ids carry the seed (``return-partial-line-w3-001``), so tasks of
several worlds can share a task set.

A generated corpus is cached as ``<cache>/tasks-seed<N>-<fingerprint>/{tasks,rubrics}`` beside the world cache
(``$CORECRAFT_CACHE_DIR`` or the user cache). The fingerprint hashes the package's source and data files, so code
that would generate other tasks never reuses a stale corpus. It is written to a temporary folder and renamed into
place, so a reader never sees half a corpus and concurrent first uses cost only duplicated work.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import time
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable

from .tasks.model import SHIPPED_WORLD_SEED
from .world.store import default_cache_dir, validate_seed

log = logging.getLogger("corecraft_env.seeded")

FIRST_UNSEEN_WORLD_SEED = 1000
TRAINING_WORLD_SEEDS = range(1, FIRST_UNSEEN_WORLD_SEED)  # seed 0 is the shipped corpus's world
UNSEEN_WORLD_SEEDS = range(FIRST_UNSEEN_WORLD_SEED, FIRST_UNSEEN_WORLD_SEED + 5)  # the evaluation worlds reported
_PACKAGE = Path(__file__).resolve().parent
_COMPLETE = "COMPLETE"  # written last: a folder without it is not a corpus


@lru_cache(maxsize=1)
def corpus_fingerprint() -> str:
    """12 hex digits of SHA-256 over the package's source and data files (paths and bytes, sorted by path)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in _PACKAGE.rglob("*") if p.suffix in {".py", ".md", ".json"} and "__pycache__" not in p.parts):
        digest.update(path.relative_to(_PACKAGE).as_posix().encode() + b"\0")
        digest.update(path.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    return digest.hexdigest()[:12]


def is_unseen_world(seed: int) -> bool:
    """Whether ``seed`` is reserved for evaluation (no training recipe may draw it)."""
    return validate_seed(seed) >= FIRST_UNSEEN_WORLD_SEED


def generated_corpus(seed: int, cache_dir: str | os.PathLike | None = None) -> Path:
    """The folder holding ``tasks/`` and ``rubrics/`` of world ``seed``: generated and validated by every task
    family on first use, then read from the cache. Seed 0 is the shipped corpus: use ``TaskSet()`` for it."""
    if validate_seed(seed) == SHIPPED_WORLD_SEED:
        raise ValueError("world seed 0 is the shipped corpus (TaskSet() or tasks_dir=None); generated corpora are for seeds ≥ 1")
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    folder = root / f"tasks-seed{seed}-{corpus_fingerprint()}"

    def generate(scratch: Path) -> str:
        from .taskgen.build import build  # generation validates in the environment: imported only when needed

        start = time.perf_counter()
        log.warning("generating the tasks of world seed %d (first use: about a minute); cached in %s", seed, folder)
        report = build(scratch, docs=False, seed=seed)
        log.warning("world seed %d: %d tasks generated in %.0f s", seed, len(report.tasks), time.perf_counter() - start)
        return f"{len(report.tasks)} tasks\n"

    return _cached_folder(folder, generate)


def worlds_corpus(seeds: Iterable[int], cache_dir: str | os.PathLike | None = None) -> tuple[Path, Path]:
    """The (tasks folder, rubrics folder) of the tasks of several worlds together, for a trainer that draws fresh
    worlds: each seed's corpus (the shipped one for 0) hard-linked into one cached folder (task ids carry the seed,
    so they never collide). One seed gives its own folders."""
    seeds = sorted({validate_seed(seed) for seed in seeds})
    if not seeds:
        raise ValueError("world_seeds: give at least one world seed")
    sources = [_corpus_folders(seed, cache_dir) for seed in seeds]
    if len(seeds) == 1:
        return sources[0]
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()

    def link(scratch: Path) -> str:
        for tasks_dir, rubrics_dir in sources:
            for source, target in ((tasks_dir, scratch / "tasks"), (rubrics_dir, scratch / "rubrics")):
                shutil.copytree(source, target, dirs_exist_ok=True, copy_function=_link_or_copy)
        return f"worlds {seeds}\n"

    folder = _cached_folder(root / f"tasks-seeds{'-'.join(map(str, seeds))}-{corpus_fingerprint()}", link)
    return folder / "tasks", folder / "rubrics"


def _cached_folder(folder: Path, fill: Callable[[Path], str]) -> Path:
    """``folder``, made on first use: ``fill`` writes it in a temporary sibling (returning the text of the marker
    written last) that is then renamed into place, so a reader never sees half a folder and concurrent first uses
    cost only duplicated work."""
    if (folder / _COMPLETE).is_file():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        (scratch / _COMPLETE).write_text(fill(scratch), encoding="utf-8")
        try:
            os.replace(scratch, folder)
        except OSError:  # another process finished first: its folder is the same bytes
            if not (folder / _COMPLETE).is_file():
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return folder


def _corpus_folders(seed: int, cache_dir: str | os.PathLike | None) -> tuple[Path, Path]:
    """(tasks folder, rubrics folder) of world ``seed``: the shipped corpus for 0, else the generated one."""
    if seed == SHIPPED_WORLD_SEED:
        from .tasks.model import task_folders

        return task_folders(None)
    folder = generated_corpus(seed, cache_dir)
    return folder / "tasks", folder / "rubrics"


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)  # the files never change in place: a link costs no space
    except OSError:
        shutil.copy2(source, target)


def seeded_task_set(seed: int, cache_dir: str | os.PathLike | None = None):
    """The ``TaskSet`` of world ``seed``: the shipped corpus for 0, else the generated one (see ``generated_corpus``)."""
    from .tasks import TaskSet

    return TaskSet.shared(*_corpus_folders(validate_seed(seed), cache_dir))


def make_env(world_seed: int | None = None, **kwargs):
    """``gym.make("Corecraft-v0", world_seed=N, …)``'s entry point: a ``CorecraftEnv`` drawing its tasks from world
    ``N`` (the shipped corpus when omitted or 0); every other keyword goes to ``CorecraftEnv``."""
    from .env import CorecraftEnv

    if world_seed is None:
        return CorecraftEnv(**kwargs)
    given = [key for key in ("task_set", "tasks_dir", "rubrics_dir") if kwargs.get(key) is not None]
    if given:
        raise ValueError(f"pass world_seed or {', '.join(given)}, not both: world_seed picks the task set of that world")
    return CorecraftEnv(task_set=seeded_task_set(world_seed), **kwargs)
