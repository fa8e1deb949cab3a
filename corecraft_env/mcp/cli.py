"""``corecraft serve-mcp``: serve the world's tools over MCP, on stdio or streamable HTTP (see docs/mcp.md).

The ``mcp`` SDK is imported only inside ``run``, so ``corecraft`` works without it installed.
"""

from __future__ import annotations

import argparse
import ipaddress
import socket
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .sessions import Binding

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--transport", choices=("stdio", "http"), default="stdio",
                        help="stdio (the client starts this command) or streamable HTTP at /mcp (default stdio)")
    parser.add_argument("--host", default=None,
                        help=f"HTTP address to bind (default {DEFAULT_HOST}: this machine only; the server has no authentication)")
    parser.add_argument("--port", type=int, default=None, help=f"HTTP port (default {DEFAULT_PORT}; 0 picks a free one)")
    parser.add_argument("--seed", type=int, default=None, help="world seed when no task is bound (default 0)")
    parser.add_argument("--task", default=None, help="bind this task: its world, its request as a prompt, submitFinalReply")
    parser.add_argument("--tasks-dir", default=None,
                        help="folder of the task: a task folder, or one holding tasks/ and rubrics/ (default: the shipped tasks)")
    parser.add_argument("--max-sessions", type=int, default=None,
                        help="HTTP sessions open at once, each with its own ~2.3 MB world (default 256)")


def _binding(args: argparse.Namespace) -> Binding:
    from ..tasks import TaskSet
    from ..world import validate_seed
    from .sessions import Binding

    if args.task is None:
        if args.tasks_dir is not None:
            raise ValueError("--tasks-dir only applies with --task")
        return Binding.unbound(validate_seed(0 if args.seed is None else args.seed))
    task_set = TaskSet.from_folder(args.tasks_dir)
    try:
        binding = Binding.to_task(task_set, args.task)
    except KeyError as exc:
        raise ValueError(exc.args[0]) from None
    if args.seed is not None and args.seed != binding.world_seed:
        raise ValueError(f"task {args.task} is set in world seed {binding.world_seed}; drop --seed or pass that one")
    return binding


def _bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket. Its protocol is named (IPPROTO_TCP, not 0) because asyncio sets TCP_NODELAY only on
    connections of such a socket; without it every response waits ~40 ms on Nagle's algorithm."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(socket.SOMAXCONN)
    except OSError:
        sock.close()
        raise
    return sock


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def run(args: argparse.Namespace) -> int:
    try:
        from .server import DEFAULT_MAX_SESSIONS, serve_http, serve_stdio
    except ModuleNotFoundError as exc:
        if exc.name != "mcp" and not str(exc.name).startswith("mcp."):
            raise
        print(f"corecraft serve-mcp: error: needs the MCP SDK 2.x ({exc}); install it with: pip install 'corecraft[mcp]'",
              file=sys.stderr)
        return 2

    http_options = (args.host, args.port, args.max_sessions)
    if args.transport == "stdio" and any(option is not None for option in http_options):
        raise ValueError("--host, --port and --max-sessions apply to --transport http only")
    host = DEFAULT_HOST if args.host is None else args.host
    port = DEFAULT_PORT if args.port is None else args.port
    max_sessions = DEFAULT_MAX_SESSIONS if args.max_sessions is None else args.max_sessions
    if not 0 <= port <= 65535:
        raise ValueError(f"--port must be between 0 and 65535, got {port}")
    if max_sessions < 1:
        raise ValueError(f"--max-sessions must be at least 1, got {max_sessions}")
    binding = _binding(args)
    what = f"task {binding.task.id} (world seed {binding.world_seed})" if binding.task else f"world seed {binding.world_seed}"

    if args.transport == "stdio":
        import anyio

        print(f"corecraft serve-mcp: serving {what} over stdio", file=sys.stderr, flush=True)
        anyio.run(serve_stdio, binding)
        return 0

    sock = _bind(host, port)
    host, port = sock.getsockname()[:2]
    url = f"http://{f'[{host}]' if ':' in host else host}:{port}/mcp"
    print(f"corecraft serve-mcp: serving {what} over streamable HTTP at {url}", file=sys.stderr)
    if _is_loopback(host):
        print(f"corecraft serve-mcp: bound to {host}: reachable from this machine only "
              "(--host 0.0.0.0 exposes it to the network; see docs/mcp.md)", file=sys.stderr, flush=True)
    else:
        print(f"corecraft serve-mcp: WARNING: bound to {host}: anyone who can reach port {port} can use this server; "
              "it has no authentication", file=sys.stderr, flush=True)
    serve_http(binding, sock, max_sessions)
    return 0
