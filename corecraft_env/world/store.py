"""Build a seeded world once, cache it on disk, and hand each episode its own isolated in-memory copy.

* ``load_world(seed)`` returns a ``World``: the serialized SQLite image of the seed's world, its content hash and
  entity counts. It is built once per (seed, generator version, Faker major version), written to the user cache
  directory, and memoised in the process.
* ``World.connect()`` gives an independent in-memory ``sqlite3.Connection`` over a private copy of that image
  (``sqlite3_deserialize``: one memcpy, no SQL replay), so episodes never see each other's writes.
* ``world_hash(conn)`` is a SHA-256 over every content row in primary-key order, serialized canonically; it is the
  same on every run and machine for a given seed, and changes when any row changes.

The cache file is verified on load (SQLite integrity check, provenance, content hash); a corrupt or stale file is
rebuilt, never used. An unwritable cache directory is reported and the world is kept in memory instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import sys
import tempfile
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from importlib.metadata import version

from .generator import GENERATOR_VERSION, generate_world
from .schema import CONTENT_TABLES, ENTITY_TABLES, JSON_COLUMNS, column_names, create_schema

MAX_SEED = 2**32 - 1
_FAKER_MAJOR = version("faker").split(".")[0]
# Any change to the code that shapes a world changes this, so a cache written by older code is never mistaken for
# the current world (a hand-bumped version number is too easy to forget).
_GENERATOR_SOURCES = ("schema.py", "catalog.py", "generator.py", "pricing.py", "compatibility.py")
GENERATOR_FINGERPRINT = hashlib.sha256(
    b"".join((Path(__file__).with_name(name)).read_bytes().replace(b"\r\n", b"\n") for name in _GENERATOR_SOURCES)
).hexdigest()[:12]


class WorldCacheWarning(UserWarning):
    """The on-disk world cache could not be used (unwritable or corrupt); the world was rebuilt."""


def validate_seed(seed: object) -> int:
    """Return ``seed`` if it is a world seed (an integer in [0, 2**32 − 1]); raise a clear error otherwise."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"world seed must be a non-negative integer, got {seed!r} ({type(seed).__name__})")
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"world seed must be between 0 and {MAX_SEED}, got {seed}")
    return seed


def default_cache_dir() -> Path:
    """``$CORECRAFT_CACHE_DIR``, else the platform's user cache directory + ``/corecraft``."""
    if os.environ.get("CORECRAFT_CACHE_DIR"):
        return Path(os.environ["CORECRAFT_CACHE_DIR"])
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "corecraft"


@dataclass(frozen=True)
class World:
    """A built world: its seed, content hash, entity counts and serialized SQLite image."""

    seed: int
    hash: str
    entity_counts: dict[str, int]
    image: bytes = field(repr=False)

    @property
    def total(self) -> int:
        return sum(self.entity_counts.values())

    def connect(self) -> sqlite3.Connection:
        """A private, writable in-memory copy of this world (foreign keys enforced)."""
        return open_image(self.image)


def open_image(image: bytes) -> sqlite3.Connection:
    """A new in-memory connection over a private copy of a serialized database (one memcpy), foreign keys on."""
    conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
    conn.deserialize(image)
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def world_hash(conn: sqlite3.Connection) -> str:
    """SHA-256 of every content row, table by table in a fixed order, rows in primary-key order."""
    digest = hashlib.sha256()
    for table, model in CONTENT_TABLES.items():
        keys = ", ".join(col.name for col in model.__table__.primary_key.columns)
        digest.update(f"\x1e{table}\x1f".encode())
        for row in conn.execute(f'SELECT * FROM "{table}" ORDER BY {keys}'):
            digest.update(json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode())
            digest.update(b"\n")
    return digest.hexdigest()


def entity_counts(conn: sqlite3.Connection) -> dict[str, int]:
    return {name: conn.execute(f'SELECT COUNT(*) FROM "{model.__tablename__}"').fetchone()[0] for name, model in ENTITY_TABLES.items()}


def build_image(seed: int) -> bytes:
    """Generate the world for ``seed`` into a fresh SQLite database and return its serialized image."""
    rows = generate_world(validate_seed(seed))
    conn = sqlite3.connect(":memory:", isolation_level=None)
    create_schema(conn)
    conn.execute("BEGIN")
    for table in CONTENT_TABLES:
        columns = column_names(table)
        json_columns = set(JSON_COLUMNS[table])
        placeholders = ", ".join("?" for _ in columns)
        conn.executemany(
            f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES ({placeholders})',
            ([json.dumps(r[c], sort_keys=True, separators=(",", ":")) if c in json_columns else r[c] for c in columns] for r in rows[table]),
        )
    violations = conn.execute("PRAGMA foreign_key_check").fetchall()
    if violations:
        raise RuntimeError(f"generator produced {len(violations)} dangling foreign keys, e.g. {violations[:3]}")
    provenance = {"seed": str(seed), "generator_version": GENERATOR_VERSION, "generator_fingerprint": GENERATOR_FINGERPRINT,
                  "faker_major": _FAKER_MAJOR, "hash": world_hash(conn)}
    conn.executemany("INSERT INTO world_meta (key, value) VALUES (?, ?)", sorted(provenance.items()))
    conn.execute("COMMIT")
    conn.execute("VACUUM")
    image = conn.serialize()
    conn.close()
    return image


def _world_from_image(seed: int, image: bytes) -> World:
    """Open an image, verify it is intact and is the world it claims to be; raise ``ValueError`` if not."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.deserialize(image)
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        if integrity != "ok":
            raise ValueError(f"integrity check failed: {integrity}")
        meta = dict(conn.execute("SELECT key, value FROM world_meta"))
        expected = {"seed": str(seed), "generator_version": GENERATOR_VERSION, "generator_fingerprint": GENERATOR_FINGERPRINT,
                    "faker_major": _FAKER_MAJOR}
        if any(meta.get(k) != v for k, v in expected.items()):
            raise ValueError(f"built by another generator or seed: {meta}")
        content_hash = world_hash(conn)
        if content_hash != meta.get("hash"):
            raise ValueError("content hash does not match the recorded one")
        return World(seed=seed, hash=content_hash, entity_counts=entity_counts(conn), image=image)
    except sqlite3.DatabaseError as exc:
        raise ValueError(f"not a readable SQLite database ({exc})") from exc
    finally:
        conn.close()


def cache_path(seed: int, cache_dir: Path | None = None) -> Path:
    name = f"world-seed{seed}-gen{GENERATOR_VERSION}-{GENERATOR_FINGERPRINT}-faker{_FAKER_MAJOR}.sqlite"
    return (cache_dir or default_cache_dir()) / name


_loaded: dict[tuple[int, str], World] = {}
_lock = threading.Lock()


def load_world(seed: int = 0, cache_dir: str | os.PathLike | None = None) -> World:
    """The world for ``seed``: from this process's memo, else the verified disk cache, else built and cached."""
    validate_seed(seed)
    directory = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    key = (seed, str(directory))
    with _lock:
        if key not in _loaded:
            _loaded[key] = _load_or_build(seed, directory)
        return _loaded[key]


def _load_or_build(seed: int, directory: Path) -> World:
    path = cache_path(seed, directory)
    if path.exists():
        try:
            return _world_from_image(seed, path.read_bytes())
        except (ValueError, OSError) as exc:
            warnings.warn(f"world cache {path} is unusable ({exc}); rebuilding it", WorldCacheWarning, stacklevel=3)
    world = _world_from_image(seed, build_image(seed))
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=path.name, suffix=".tmp", delete=False) as handle:
            handle.write(world.image)
        os.replace(handle.name, path)  # atomic: a reader never sees a half-written cache
    except OSError as exc:
        warnings.warn(
            f"cannot write the world cache in {directory} ({exc.strerror or exc}); using the world from memory, so each new "
            f"process rebuilds it. Set CORECRAFT_CACHE_DIR (or pass cache_dir) to a writable directory.",
            WorldCacheWarning, stacklevel=3,
        )
    return world
