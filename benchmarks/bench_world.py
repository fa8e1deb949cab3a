"""World store benchmark: cold build, cached load, isolated-copy hand-out and memory per live copy.

Run: python benchmarks/bench_world.py [--seed 0] [--copies 500]
Targets on a 2-core CPU machine: copy <= 1 ms median, <= 5 MB per live copy, cold build <= 5 s.
Ratios are between figures of the same run (this project's machines differ 3-5x in speed from day to day).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import tempfile
import time
from pathlib import Path


def rss_mib() -> float:
    """Resident set size of this process in MiB (Linux /proc)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * 4096 / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--copies", type=int, default=500, help="isolated copies timed (median over them)")
    parser.add_argument("--live", type=int, default=200, help="copies held at once to measure memory per copy")
    args = parser.parse_args()

    from corecraft_env.world import store

    with tempfile.TemporaryDirectory() as cache_dir:
        start = time.perf_counter()
        world = store.load_world(args.seed, cache_dir=cache_dir)  # generate, insert, verify, write the cache
        cold = time.perf_counter() - start

        store._loaded.clear()  # forget the in-process memo: the next load reads and verifies the disk cache
        start = time.perf_counter()
        store.load_world(args.seed, cache_dir=cache_dir)
        cached = time.perf_counter() - start

    copy_times = []
    for _ in range(args.copies):
        start = time.perf_counter()
        conn = world.connect()
        copy_times.append(time.perf_counter() - start)
        conn.close()
    copy_times.sort()

    gc.collect()
    before = rss_mib()
    live = [world.connect() for _ in range(args.live)]
    for conn in live:  # touch every copy so its pages are really resident
        conn.execute("SELECT COUNT(*) FROM orders").fetchone()
    per_copy = (rss_mib() - before) / len(live)

    print(f"world seed {args.seed}: {world.total} entities, image {len(world.image) / 2**20:.2f} MiB, hash {world.hash[:16]}")
    print(f"cold build (generate + insert + verify + cache write): {cold * 1000:8.1f} ms   target <= 5000 ms")
    print(f"cached load (read + integrity check + hash verify):   {cached * 1000:8.1f} ms")
    print(f"isolated copy, median of {args.copies}:                   {statistics.median(copy_times) * 1e3:8.3f} ms   "
          f"p90 {copy_times[int(0.9 * len(copy_times))] * 1e3:.3f} ms   target <= 1 ms")
    print(f"memory per live copy ({args.live} held):                    {per_copy:8.2f} MiB   target <= 5 MB")
    copy_median = statistics.median(copy_times)
    print(f"same run: a copy costs {cached / copy_median:.0f}x less than a cached load and {cold / copy_median:,.0f}x "
          f"less than a cold build; a live copy holds {per_copy / (len(world.image) / 2**20):.2f}x its image")


if __name__ == "__main__":
    main()
