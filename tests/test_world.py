"""The seeded world: determinism, counts, foreign keys, coherence, coverage of what tasks need, and bad input."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from corecraft_env.world import NOW, WorldCacheWarning, load_world, validate_seed, world_hash
from corecraft_env.world.generator import generate_world, iso
from corecraft_env.world.schema import ENTITY_TABLES
from corecraft_env.world.store import build_image, cache_path
from world_invariants import INVARIANTS, TIMESTAMP_COLUMNS

NOW_TEXT = iso(NOW)


@pytest.fixture(scope="module", params=[0, 1, 7])
def world_conn(request, tmp_path_factory) -> sqlite3.Connection:
    if request.param == 0:
        return load_world(0).connect()
    return load_world(request.param, cache_dir=tmp_path_factory.mktemp(f"seed{request.param}")).connect()


# -- determinism ---------------------------------------------------------------------------------------------------
def test_same_seed_gives_identical_rows_and_image():
    assert generate_world(3) == generate_world(3)
    assert build_image(3) == build_image(3)  # byte for byte, for the same SQLite library


def test_hash_is_stable_across_processes_and_differs_between_seeds(world0, tmp_path):
    script = "from corecraft_env.world import load_world; print(load_world(0).hash)"
    env = {**os.environ, "CORECRAFT_CACHE_DIR": str(tmp_path)}  # a cold build in a fresh process
    fresh = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert fresh == world0.hash
    assert load_world(1, cache_dir=tmp_path).hash != world0.hash


def test_hash_tracks_content(world0):
    conn = world0.connect()
    assert world_hash(conn) == world0.hash
    conn.execute("UPDATE orders SET status = 'cancelled' WHERE id = (SELECT MIN(id) FROM orders)")
    assert world_hash(conn) != world0.hash


def test_copies_are_isolated(world0):
    first, second = world0.connect(), world0.connect()
    first.execute("DELETE FROM slack_message")
    assert first.execute("SELECT COUNT(*) FROM slack_message").fetchone()[0] == 0
    assert second.execute("SELECT COUNT(*) FROM slack_message").fetchone()[0] == world0.entity_counts["slack_message"]
    assert world_hash(world0.connect()) == world0.hash


# -- counts and integrity ------------------------------------------------------------------------------------------
def test_fourteen_entity_types_and_at_least_2500_entities(world0):
    assert list(world0.entity_counts) == list(ENTITY_TABLES)
    assert len(world0.entity_counts) == 14
    assert all(count > 0 for count in world0.entity_counts.values()), world0.entity_counts
    assert world0.total >= 2500


def test_every_foreign_key_resolves(world_conn):
    assert world_conn.execute("PRAGMA foreign_key_check").fetchall() == []
    assert world_conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_foreign_keys_are_enforced_on_copies(world0):
    with pytest.raises(sqlite3.IntegrityError):
        world0.connect().execute("UPDATE orders SET customer_id = 'cust-9999' WHERE id = (SELECT MIN(id) FROM orders)")


@pytest.mark.parametrize("rule", sorted(INVARIANTS))
def test_coherence_rule(world_conn, rule):
    violations = world_conn.execute(INVARIANTS[rule]).fetchall()
    assert violations == [], f"{rule}: {len(violations)} violations, e.g. {violations[:5]}"


def test_no_timestamp_after_now(world_conn):
    for table, column in TIMESTAMP_COLUMNS:
        late = world_conn.execute(f'SELECT id, {column} FROM "{table}" WHERE {column} > ?', (NOW_TEXT,)).fetchall()
        assert late == [], f"{table}.{column} after now: {late[:3]}"
    late_events = world_conn.execute(
        "SELECT s.id FROM shipment s, json_each(s.events) e WHERE json_extract(e.value, '$.timestamp') > ?", (NOW_TEXT,)
    ).fetchall()
    assert late_events == []
    assert world_conn.execute("SELECT COUNT(*) FROM customer WHERE date_of_birth > '2007-09-15'").fetchone()[0] == 0


# -- what tasks need ----------------------------------------------------------------------------------------------
def _values(conn, sql):
    return {row[0] for row in conn.execute(sql)}


def test_world_covers_what_tasks_need(world_conn):
    from corecraft_env.world.schema import LOYALTY_TIERS, ORDER_STATUSES, PRODUCT_CATEGORIES

    assert _values(world_conn, "SELECT loyalty_tier FROM customer") == set(LOYALTY_TIERS)
    assert _values(world_conn, "SELECT status FROM orders") == set(ORDER_STATUSES)
    assert _values(world_conn, "SELECT category FROM product") == set(PRODUCT_CATEGORIES)
    inside = "SELECT COUNT(*) FROM orders WHERE status = 'delivered' AND created_at >= '2025-08-16T18:00:00Z'"
    outside = "SELECT COUNT(*) FROM orders WHERE status = 'delivered' AND created_at < '2025-08-16T18:00:00Z'"
    assert world_conn.execute(inside).fetchone()[0] >= 10
    assert world_conn.execute(outside).fetchone()[0] >= 10
    heavy = world_conn.execute("SELECT COUNT(*) FROM (SELECT customer_id FROM orders GROUP BY 1 HAVING COUNT(*) > 10)").fetchone()[0]
    assert heavy >= 5
    warranty_end = "date(o.created_at, '+' || COALESCE(p.warranty_months, 12) || ' months')"
    running = f"""SELECT COUNT(*) FROM order_line l JOIN orders o ON o.id = l.order_id JOIN product p ON p.id = l.product_id
                  WHERE {warranty_end} {{}} '2025-09-15'"""
    assert world_conn.execute(running.format(">")).fetchone()[0] > 0
    assert world_conn.execute(running.format("<=")).fetchone()[0] > 0
    assert world_conn.execute("SELECT COUNT(*) FROM product WHERE warranty_months IS NULL").fetchone()[0] > 0
    assert world_conn.execute("SELECT COUNT(*) FROM knowledge_base_article WHERE deprecated").fetchone()[0] > 0
    assert len(_values(world_conn, "SELECT channel FROM slack_message")) >= 8
    assert world_conn.execute("SELECT COUNT(*) FROM slack_message WHERE text LIKE '%tick-%'").fetchone()[0] > 0


def test_builds_include_compatible_and_incompatible(world_conn):
    from corecraft_env.world.compatibility import Part, evaluate

    rules = [dict(zip(("id", "severity", "condition"), r)) for r in world_conn.execute("SELECT id, severity, condition FROM compatibility_rule")]
    verdicts = []
    for (build_id,) in world_conn.execute("SELECT id FROM build"):
        parts = [Part(pid, cat, json.loads(specs)) for pid, cat, specs in world_conn.execute(
            "SELECT p.id, p.category, p.specs FROM build_component c JOIN product p ON p.id = c.product_id WHERE c.build_id = ?", (build_id,))]
        verdicts.append(evaluate(parts, rules).compatible)
    assert verdicts.count(True) >= 30 and verdicts.count(False) >= 5


def test_knowledge_base_contradicts_some_product_pages(world0):
    conn = world0.connect()
    conflicts = 0
    for body, product_ids in conn.execute("SELECT body, product_ids FROM knowledge_base_article WHERE title LIKE 'Product guide:%'"):
        specs = json.loads(conn.execute("SELECT specs FROM product WHERE id = ?", (json.loads(product_ids)[0],)).fetchone()[0])
        stated = {f"{k.replace('_', ' ')}: {v}" for k, v in specs.items() if not isinstance(v, list)}
        conflicts += not all(s in body for s in stated)
    assert 3 <= conflicts <= 15


# -- bad input ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed, error", [(-1, ValueError), (2**32, ValueError), (1.5, TypeError), ("3", TypeError), (True, TypeError)])
def test_bad_seed_is_rejected_clearly(seed, error):
    with pytest.raises(error, match="world seed must be"):
        validate_seed(seed)
    with pytest.raises(error, match="world seed must be"):
        load_world(seed)


def test_corrupt_cache_is_rebuilt_not_used(tmp_path, world0):
    from corecraft_env.world import store

    path = cache_path(0, tmp_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for garbage in (b"not a database at all", world0.image[: len(world0.image) // 2]):
        path.write_bytes(garbage)
        store._loaded.clear()
        with pytest.warns(WorldCacheWarning, match="unusable"):
            world = load_world(0, cache_dir=tmp_path)
        assert world.hash == world0.hash
        assert path.read_bytes() == world.image  # the cache was replaced by a good copy


def test_tampered_cache_is_rebuilt(tmp_path, world0):
    from corecraft_env.world import store

    conn = world0.connect()
    conn.execute("UPDATE product SET price = 1.0")
    cache_path(0, tmp_path).write_bytes(conn.serialize())
    store._loaded.clear()
    with pytest.warns(WorldCacheWarning, match="content hash"):
        assert load_world(0, cache_dir=tmp_path).hash == world0.hash


def test_unwritable_cache_dir_warns_and_keeps_working(tmp_path, world0):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("a file where the cache directory should be")
    with pytest.warns(WorldCacheWarning, match="cannot write the world cache"):
        world = load_world(0, cache_dir=not_a_dir / "cache")
    assert world.hash == world0.hash
    assert world.connect().execute("SELECT COUNT(*) FROM product").fetchone()[0] == world0.entity_counts["product"]


# -- CLI ----------------------------------------------------------------------------------------------------------
def _corecraft(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "corecraft_env", *args], capture_output=True, text=True, env=env)


def test_cli_world_json(world0):
    result = _corecraft("world", "--seed", "0", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert set(summary) == {"seed", "entity_counts", "total", "hash"}
    assert summary["hash"] == world0.hash and len(summary["entity_counts"]) == 14
    assert summary["total"] == sum(summary["entity_counts"].values()) >= 2500


@pytest.mark.parametrize("seed", ["-1", "abc", "1.5"])
def test_cli_rejects_bad_seed(seed):
    result = _corecraft("world", "--seed", seed)
    assert result.returncode == 2
    assert "must be a non-negative integer" in result.stderr


def test_cli_reports_corrupt_cache_and_rebuilds(tmp_path, world0):
    cache_path(0, tmp_path).write_bytes(b"\x00" * 4096)
    result = _corecraft("world", "--json", "--cache-dir", str(tmp_path))
    assert result.returncode == 0
    assert "WorldCacheWarning" in result.stderr and "rebuilding" in result.stderr
    assert json.loads(result.stdout)["hash"] == world0.hash


def test_cache_written_by_older_generator_code_is_rebuilt(tmp_path, world0):
    """A cache from older generator code (different source fingerprint) must not pass as the current world."""
    from corecraft_env.world import store

    conn = world0.connect()
    conn.execute("UPDATE world_meta SET value = 'olderversion' WHERE key = 'generator_fingerprint'")
    cache_path(0, tmp_path).write_bytes(conn.serialize())
    store._loaded.clear()
    with pytest.warns(WorldCacheWarning, match="built by another generator"):
        assert load_world(0, cache_dir=tmp_path).hash == world0.hash
