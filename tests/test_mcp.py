"""`corecraft serve-mcp` through the official MCP client, over stdio (a server subprocess per client; the
single-session tests share one, each starting with resetWorld) and streamable HTTP (a server subprocess on a free
127.0.0.1 port per module, stopped at teardown). The client sessions run in a blocking portal's event loop, so the
tests read as plain calls.

Covers: the tool listing equals the registry's, a write seen by a later read, isolated concurrent sessions, tool
errors as `isError` results with the registry's message, a bound task replayed to reward 1.0, the policy resource and
the task prompt, the handshake fallback over HTTP, freeing ended HTTP sessions, and the CLI without the SDK.
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import threading
from contextlib import asynccontextmanager, contextmanager
from functools import partial
from pathlib import Path

import anyio
import pytest
from mcp import Client, ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from corecraft_env.cli import main as corecraft_main
from corecraft_env.env import DEFAULT_MAX_STEPS
from corecraft_env.mcp.server import ReleaseEndedSessions, Sessions
from corecraft_env.mcp.sessions import Binding, TaskSession
from corecraft_env.tasks import TaskSet
from corecraft_env.tools import REGISTRY
from corecraft_env.world import policy_document

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "tests" / "data" / "demo"
RETURN_TASK = "demo-partial-return-001"  # writes: refund, order and payment status
ORDER = "ord-250823-104"  # delivered, in world 0
STARTUP_TIMEOUT_S = 60


class ServerProcess:
    """A `serve-mcp --transport http --port 0` subprocess; `url` comes from its startup line on stderr."""

    def __init__(self, *options: str) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "corecraft_env", "serve-mcp", "--transport", "http",
                                         "--port", "0", *options], cwd=REPO, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._drain, daemon=True).start()  # keeps the pipe from filling up
        try:
            first = self.lines.get(timeout=STARTUP_TIMEOUT_S)
        except queue.Empty:
            self.stop()
            raise RuntimeError(f"serve-mcp printed nothing in {STARTUP_TIMEOUT_S} s") from None
        match = re.search(r"http://\S+/mcp", first)
        if match is None:
            self.stop()
            raise RuntimeError(f"serve-mcp did not start: {''.join(self.stderr)}")
        self.url = match.group(0)

    def _drain(self) -> None:
        for line in self.process.stderr:
            self.stderr.append(line)
            self.lines.put(line)
        self.lines.put("")  # end of output: the server exited

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def portal():
    """An event loop in a thread: the MCP client sessions live there and the tests drive them synchronously."""
    with anyio.from_thread.start_blocking_portal() as blocking_portal:
        yield blocking_portal


class SyncSession:
    """An MCP client session (``ClientSession`` or ``Client``) called from test code: ``session.call_tool(...)``."""

    def __init__(self, portal, session) -> None:
        self._portal, self._session = portal, session

    def __getattr__(self, name: str):
        attribute = getattr(self._session, name)
        if not callable(attribute):
            return attribute
        return lambda *args, **kwargs: self._portal.call(partial(attribute, *args, **kwargs))


@asynccontextmanager
async def initialized(streams):
    async with streams as (read_stream, write_stream), ClientSession(read_stream, write_stream) as session:
        await session.initialize()
        yield session


def stdio_parameters(*options: str) -> StdioServerParameters:
    """`serve-mcp` over stdio, using the tests' world cache (the client passes on only a minimal environment)."""
    return StdioServerParameters(command=sys.executable, args=["-m", "corecraft_env", "serve-mcp", *options], cwd=REPO,
                                 env={"CORECRAFT_CACHE_DIR": os.environ["CORECRAFT_CACHE_DIR"]})


@contextmanager
def open_session(portal, transport: str, server: ServerProcess | None, *stdio_options: str):
    """A new session: a new stdio server process, or a new session on the running HTTP server."""
    streams = stdio_client(stdio_parameters(*stdio_options)) if transport == "stdio" else streamable_http_client(server.url)
    with portal.wrap_async_context_manager(initialized(streams)) as session:
        yield SyncSession(portal, session)


@pytest.fixture(scope="module")
def http_server(world0):  # world0: the seed-0 world is in the test cache before any server starts
    server = ServerProcess()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def bound_http_server(world0):
    server = ServerProcess("--task", RETURN_TASK, "--tasks-dir", str(DEMO))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stdio_session(portal, world0):
    """One stdio server process for the module's single-session tests (each starts with resetWorld)."""
    with open_session(portal, "stdio", None) as session:
        yield session


@pytest.fixture(params=["stdio", "http"])
def transport(request) -> str:
    return request.param


@pytest.fixture
def new_session(transport, portal, request, world0):
    """Opens a new unbound session on this transport."""
    server = request.getfixturevalue("http_server") if transport == "http" else None
    return lambda: open_session(portal, transport, server)


@pytest.fixture
def session(transport, new_session, request):
    """An unbound session in the pristine world."""
    if transport == "http":
        with new_session() as fresh:
            yield fresh
        return
    shared = request.getfixturevalue("stdio_session")
    result_json(shared.call_tool("resetWorld", {}))
    yield shared


def result_json(result) -> dict:
    assert not result.is_error, result.content[0].text
    return json.loads(result.content[0].text)


def order_status(session) -> str:
    return result_json(session.call_tool("getOrderDetails", {"order_id": ORDER}))["order"]["status"]


# -- tools, resources ---------------------------------------------------------------------------------------------------
def test_tools_are_the_registrys_and_the_policy_is_a_resource(session):
    listed = {tool.name: tool for tool in session.list_tools().tools}
    assert set(listed) == {*REGISTRY.names, "resetWorld"}  # submitFinalReply only with a task bound
    for tool in REGISTRY:
        assert listed[tool.name].input_schema == tool.parameters
        assert listed[tool.name].description == tool.description
        assert listed[tool.name].annotations.read_only_hint is (not tool.writes)
    assert [r.uri for r in session.list_resources().resources] == ["corecraft://policy"]
    policy = session.read_resource("corecraft://policy")
    assert policy.contents[0].text == policy_document()
    assert policy.contents[0].mime_type == "text/markdown"
    with pytest.raises(MCPError, match="no resource"):
        session.read_resource("corecraft://no-such-resource")


def test_a_write_is_seen_by_later_reads_until_reset(session):
    assert order_status(session) == "delivered"
    product = result_json(session.call_tool("getProduct", {"product_id": "ramforge-ddr5-5600-32gb-2x16gb"}))
    assert product["product"]["id"] == "ramforge-ddr5-5600-32gb-2x16gb"
    update = result_json(session.call_tool("updateOrderStatus", {"order_id": ORDER, "status": "cancelled"}))
    assert update["previous_status"] == "delivered"
    assert order_status(session) == "cancelled"
    assert result_json(session.call_tool("resetWorld", {}))["world_seed"] == 0
    assert order_status(session) == "delivered"


def test_concurrent_sessions_never_see_each_others_writes(session, new_session):
    session.call_tool("updateOrderStatus", {"order_id": ORDER, "status": "cancelled"})
    with new_session() as other:
        assert order_status(other) == "delivered"
        other.call_tool("updateOrderStatus", {"order_id": ORDER, "status": "refunded"})
        assert order_status(session) == "cancelled"
        assert order_status(other) == "refunded"


def test_tool_errors_are_error_results_with_the_registrys_message(session, world0):
    conn = world0.connect()
    calls = [("getProduct", {"product_id": 5}), ("getProduct", {"product_id": "no-such-product"}),
             ("updateOrderStatus", {"order_id": ORDER}), ("noSuchTool", {})]
    for name, arguments in calls:
        result = session.call_tool(name, arguments)
        assert result.is_error
        assert result.content[0].text == REGISTRY.call(conn, name, arguments)["error"]["message"]
    assert "is not of type 'string'" in session.call_tool("getProduct", {"product_id": 5}).content[0].text
    assert session.call_tool("resetWorld", {"unexpected": 1}).is_error
    assert order_status(session) == "delivered"  # still serving


# -- a bound task -------------------------------------------------------------------------------------------------------
@pytest.fixture
def bound_session(transport, portal, request, world0):
    server = request.getfixturevalue("bound_http_server") if transport == "http" else None
    with open_session(portal, transport, server, "--task", RETURN_TASK, "--tasks-dir", str(DEMO)) as session:
        yield session


def test_bound_task_replayed_through_mcp_scores_one(bound_session):
    session, task = bound_session, TaskSet(DEMO / "tasks").get(RETURN_TASK)
    assert {"resetWorld", "submitFinalReply"} <= {t.name for t in session.list_tools().tools}
    assert [p.name for p in session.list_prompts().prompts] == ["task"]
    prompt = session.get_prompt("task")
    assert prompt.messages[0].content.resource.text == policy_document()
    assert task.request in prompt.messages[1].content.text
    assert "submitFinalReply" in prompt.messages[1].content.text

    for call in task.reference_tool_calls:
        result_json(session.call_tool(call.name, call.arguments))
    score = result_json(session.call_tool("submitFinalReply", {"reply": task.reference_reply}))
    assert score["reward"] == 1.0 and score["passed"] is True
    assert score["verdicts"] and all(v["passed"] for v in score["verdicts"])

    over = session.call_tool("getOrderDetails", {"order_id": ORDER})
    assert over.is_error and "final reply was already submitted" in over.content[0].text
    result_json(session.call_tool("resetWorld", {}))  # a new episode: the writes are gone
    assert order_status(session) == "delivered"
    unfinished = result_json(session.call_tool("submitFinalReply", {"reply": "Done."}))
    assert unfinished["reward"] < 1.0 and unfinished["passed"] is False


def test_task_episode_ends_at_the_environments_step_limit(world0):
    session = TaskSession(TaskSet(DEMO / "tasks"), RETURN_TASK)
    for _ in range(DEFAULT_MAX_STEPS):  # the last call still answers, and the episode is scored as it stands
        assert session.call("getOrderDetails", {"order_id": ORDER})["order"]["id"] == ORDER
    over = session.call("getOrderDetails", {"order_id": ORDER})["error"]
    assert over["type"] == "episode_over" and f"after {DEFAULT_MAX_STEPS} steps without a final reply" in over["message"]
    assert session.submit("Done.")["error"]["type"] == "episode_over"
    session.reset()
    assert "order" in session.call("getOrderDetails", {"order_id": ORDER})
    session.close()


# -- HTTP specifics -----------------------------------------------------------------------------------------------------
def test_http_binds_loopback_by_default_and_says_so(http_server):
    assert http_server.url.startswith("http://127.0.0.1:")
    assert "reachable from this machine only" in "".join(http_server.stderr)


def test_http_client_that_probes_first_falls_back_to_a_session(http_server, portal):
    with portal.wrap_async_context_manager(Client(http_server.url)) as connected:  # mode "auto": discover first
        client = SyncSession(portal, connected)
        assert client.protocol_version == "2025-11-25"
        client.call_tool("updateOrderStatus", {"order_id": ORDER, "status": "cancelled"})
        assert order_status(client) == "cancelled"


def test_ended_http_sessions_free_their_worlds(monkeypatch):
    """DELETE frees a session's world at once; an idle one is freed when a new session opens, unless a request of
    it (e.g. its GET stream) is still in flight."""
    from corecraft_env.mcp import server as server_module

    class Clock:
        now = 0.0

        def monotonic(self) -> float:
            return self.now

    clock = Clock()
    monkeypatch.setattr(server_module, "time", clock)
    sessions = Sessions(Binding.unbound(0))
    stream_open, stream_closed = anyio.Event(), anyio.Event()

    async def app(scope, receive, send):  # stands in for the SDK: the GET "stream" stays open until told
        if scope["method"] == "GET":
            stream_open.set()
            await stream_closed.wait()

    middleware = ReleaseEndedSessions(app, sessions, idle_timeout=60)

    def http(method: str, session_id: str | None = None) -> dict:
        headers = [(b"mcp-session-id", session_id.encode())] if session_id else []
        return {"type": "http", "method": method, "headers": headers}

    async def scenario():
        for session_id in ("idle", "streaming", "deleted"):
            sessions.get(session_id)
            await middleware(http("POST", session_id), None, None)
        await middleware(http("DELETE", "deleted"), None, None)
        assert "deleted" not in sessions and len(sessions) == 2
        async with anyio.create_task_group() as group:
            group.start_soon(middleware, http("GET", "streaming"), None, None)
            await stream_open.wait()
            clock.now = 61.0
            await middleware(http("POST"), None, None)  # a new session opens: the sweep runs
            assert "idle" not in sessions and "streaming" in sessions
            stream_closed.set()
        clock.now = 200.0
        await middleware(http("POST"), None, None)
        assert len(sessions) == 0

    anyio.run(scenario)


# -- the command line -----------------------------------------------------------------------------------------------
def test_cli_rejects_bad_options_clearly(capsys, world0):
    assert corecraft_main(["serve-mcp", "--task", "no-such-task", "--tasks-dir", str(DEMO)]) == 2
    assert "no task 'no-such-task'" in capsys.readouterr().err
    assert corecraft_main(["serve-mcp", "--transport", "stdio", "--port", "9000"]) == 2
    assert "apply to --transport http only" in capsys.readouterr().err
    assert corecraft_main(["serve-mcp", "--task", RETURN_TASK, "--tasks-dir", str(DEMO), "--seed", "7"]) == 2
    assert "world seed 0" in capsys.readouterr().err


def test_corecraft_command_works_without_the_mcp_sdk():
    script = ("import sys; sys.modules['mcp'] = None  # as if not installed\n"
              "from corecraft_env.cli import build_parser, main\n"
              "print(build_parser().parse_args(['serve-mcp', '--transport', 'http']).command)\n"
              "sys.exit(main(['serve-mcp']))")
    result = subprocess.run([sys.executable, "-c", script], check=False, cwd=REPO, capture_output=True, text=True)
    assert result.stdout.strip() == "serve-mcp"  # the subcommand is there without the SDK
    assert result.returncode == 2
    assert "needs the MCP SDK" in result.stderr and "pip install 'corecraft[mcp]'" in result.stderr
