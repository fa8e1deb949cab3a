"""MCP server benchmark: tool calls per second over streamable HTTP on 127.0.0.1, at 1 and 8 concurrent sessions.

Run: python benchmarks/bench_mcp.py [--calls 2000] [--sessions 1 8]
Starts `corecraft serve-mcp --transport http --port 0` (world seed 0) as a subprocess, opens the sessions with the
official MCP client (`ClientSession` over `streamable_http_client`) in this process, and has them share a fixed
number of calls, alternating getProduct and searchOrders (a 10-order page). The client and the server share the
machine, so on a small machine the client's own cost is part of the figure. For scale, the same calls through the
registry in-process are timed too. Figures are recorded in docs/mcp.md.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CALLS = [("getProduct", {"product_id": "ramforge-ddr5-5600-32gb-2x16gb"}), ("searchOrders", {"status": "delivered"})]


def start_server() -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen([sys.executable, "-m", "corecraft_env", "serve-mcp", "--transport", "http", "--port", "0"],
                               cwd=REPO, stderr=subprocess.PIPE, text=True)
    line = process.stderr.readline()  # the startup line: printed once the port is listening
    match = re.search(r"http://127\.0\.0\.1:\d+/mcp", line)
    if match is None:
        process.kill()
        raise RuntimeError(f"serve-mcp did not start: {line}{process.stderr.read()}")
    return process, match.group(0)


async def run_sessions(url: str, sessions: int, calls: int) -> tuple[float, list[float]]:
    """Open ``sessions`` sessions, then time them making ``calls`` calls in all; (seconds, per-call latencies)."""
    from contextlib import AsyncExitStack

    import anyio
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    latencies: list[float] = []

    async def work(session: ClientSession, count: int) -> None:
        for index in range(count):
            name, arguments = CALLS[index % len(CALLS)]
            start = time.perf_counter()
            result = await session.call_tool(name, arguments)
            latencies.append(time.perf_counter() - start)
            assert not result.is_error, result.content[0].text

    async with AsyncExitStack() as stack:
        opened = []
        for _ in range(sessions):
            read_stream, write_stream = await stack.enter_async_context(streamable_http_client(url))
            session = await stack.enter_async_context(ClientSession(read_stream, write_stream))
            await session.initialize()
            await work(session, 2)  # warm: the session's world is created on its first call
            opened.append(session)
        latencies.clear()
        start = time.perf_counter()
        async with anyio.create_task_group() as group:
            for index, session in enumerate(opened):
                group.start_soon(work, session, calls // sessions + (index < calls % sessions))
        return time.perf_counter() - start, latencies


def registry_rate(calls: int) -> float:
    from corecraft_env.tools import REGISTRY
    from corecraft_env.world import load_world

    conn = load_world(0).connect()
    start = time.perf_counter()
    for index in range(calls):
        name, arguments = CALLS[index % len(CALLS)]
        REGISTRY.call(conn, name, arguments)
    return calls / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="tool calls per row, shared by its sessions")
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 8], help="concurrent sessions, one row each")
    args = parser.parse_args()

    import anyio

    process, url = start_server()
    try:
        print(f"server {url}; {args.calls} calls per row, alternating {' and '.join(name for name, _ in CALLS)}")
        print(f"{'sessions':>8}  {'calls/s':>9}  {'p50 ms':>7}  {'p90 ms':>7}")
        for sessions in args.sessions:
            elapsed, latencies = anyio.run(run_sessions, url, sessions, args.calls)
            latencies.sort()
            print(f"{sessions:>8}  {args.calls / elapsed:>9.0f}  {statistics.median(latencies) * 1e3:>7.2f}  "
                  f"{latencies[int(0.9 * len(latencies))] * 1e3:>7.2f}")
    finally:
        process.terminate()
        process.wait(timeout=10)
    print(f"{'registry in-process':>20}  {registry_rate(args.calls):>9.0f} calls/s (no MCP, no HTTP)")


if __name__ == "__main__":
    main()
