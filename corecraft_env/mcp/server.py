"""The MCP server: the registry's 23 tools, the policy as a resource and, with a task bound, its request as a prompt.

Built on the SDK's low-level ``Server`` so every tool is listed with the registry's own name, description and JSON
Schema. Each client session works in its own world (see ``sessions``): over stdio a process serves one client, so
it holds one session; over streamable HTTP the sessions are keyed by the ``Mcp-Session-Id`` the SDK assigns at the
``initialize`` handshake, and ``ReleaseEndedSessions`` frees a session's world when its MCP session ends.

A tool's error result becomes an MCP tool error (``isError: true``) whose text is the registry's message; a success
is the result as JSON text, as the environment's observation would show it.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import uvicorn
from mcp import types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from mcp.server.streamable_http import MCP_SESSION_ID_HEADER
from mcp.shared.exceptions import MCPError
from mcp.types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.types import ASGIApp, Receive, Scope, Send

from .. import __version__
from ..tools import REGISTRY, Tool, encode_result
from ..world import policy_document
from .sessions import RESET_WORLD, SESSION_TOOLS, SUBMIT_FINAL_REPLY, Binding, Session, session_tool_call

POLICY_URI = "corecraft://policy"
TASK_PROMPT = "task"
# An HTTP session with no request in flight for this long is closed by the SDK, and its world is freed.
SESSION_IDLE_TIMEOUT_S = 30 * 60
DEFAULT_MAX_SESSIONS = 256  # each session's world is a ~2.3 MB in-memory copy

SessionFor = Callable[[ServerRequestContext], Session]


def _instructions(binding: Binding) -> str:
    text = ("You are a support representative of CoreCraft Computers, an online retailer of PC components. Work only "
            f"through these tools and follow the company policy (resource {POLICY_URI}) exactly. This session has its "
            f"own private copy of the company's data: nobody else sees your changes, and {RESET_WORLD} restores it.")
    if binding.task is not None:
        text += (f" A task is bound (prompt '{TASK_PROMPT}' holds its request). Finish with one call to "
                 f"{SUBMIT_FINAL_REPLY}: your final reply to the requester, stating what you found and what you did "
                 "(ids and amounts). It ends the episode and returns its score.")
    return text


def _mcp_tool(tool: Tool) -> types.Tool:
    return types.Tool(name=tool.name, description=tool.description, input_schema=tool.parameters,
                      annotations=types.ToolAnnotations(read_only_hint=not tool.writes, open_world_hint=False))


def _call_result(result: dict) -> types.CallToolResult:
    if "error" in result:
        return types.CallToolResult(content=[types.TextContent(type="text", text=result["error"]["message"])], is_error=True)
    return types.CallToolResult(content=[types.TextContent(type="text", text=encode_result(result))])


def build_server(binding: Binding, session_for: SessionFor) -> Server:
    """The low-level MCP server for ``binding``; ``session_for`` finds the calling client's session."""
    tools = [*REGISTRY, *(SESSION_TOOLS[name] for name in binding.session_tools)]
    listing = types.ListToolsResult(tools=[_mcp_tool(t) for t in tools])
    policy = types.Resource(uri=POLICY_URI, name="policy", title="CoreCraft Computers support policy",
                            description="The company policy every action must follow (returns, refunds, warranty, "
                                        "escalations, builds).", mime_type="text/markdown")

    async def list_tools(ctx: ServerRequestContext, params: Any) -> types.ListToolsResult:
        return listing

    async def call_tool(ctx: ServerRequestContext, params: types.CallToolRequestParams) -> types.CallToolResult:
        session, arguments = session_for(ctx), params.arguments or {}
        if params.name in session.tools:
            return _call_result(session_tool_call(session, params.name, arguments))
        return _call_result(session.call(params.name, arguments))

    async def list_resources(ctx: ServerRequestContext, params: Any) -> types.ListResourcesResult:
        return types.ListResourcesResult(resources=[policy])

    async def read_resource(ctx: ServerRequestContext, params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
        if str(params.uri) != POLICY_URI:
            raise MCPError(code=types.INVALID_PARAMS, message=f"no resource {params.uri!r}; there is {POLICY_URI}",
                           data={"uri": str(params.uri)})
        return types.ReadResourceResult(contents=[_policy_contents()])

    handlers: dict[str, Any] = {}
    if binding.task is not None:
        task = binding.task
        prompt = types.Prompt(name=TASK_PROMPT, title=f"Task {task.id}",
                              description=f"The request of task {task.id} ({task.category}, {task.difficulty}), with the policy.")
        messages = [
            types.PromptMessage(role="user", content=types.EmbeddedResource(type="resource", resource=_policy_contents())),
            types.PromptMessage(role="user", content=types.TextContent(type="text", text=(
                f"{binding.request}\n\nWhen you are done, call {SUBMIT_FINAL_REPLY} with your final reply to the requester."))),
        ]

        async def list_prompts(ctx: ServerRequestContext, params: Any) -> types.ListPromptsResult:
            return types.ListPromptsResult(prompts=[prompt])

        async def get_prompt(ctx: ServerRequestContext, params: types.GetPromptRequestParams) -> types.GetPromptResult:
            if params.name != TASK_PROMPT:
                raise MCPError(code=types.INVALID_PARAMS, message=f"no prompt {params.name!r}; there is {TASK_PROMPT!r}")
            return types.GetPromptResult(description=prompt.description, messages=messages)

        handlers = {"on_list_prompts": list_prompts, "on_get_prompt": get_prompt}

    return Server("corecraft", version=__version__, instructions=_instructions(binding), on_list_tools=list_tools,
                  on_call_tool=call_tool, on_list_resources=list_resources, on_read_resource=read_resource, **handlers)


def _policy_contents() -> types.TextResourceContents:
    return types.TextResourceContents(uri=POLICY_URI, mime_type="text/markdown", text=policy_document())


# -- stdio: one client per process, so one session ---------------------------------------------------------------------
async def serve_stdio(binding: Binding) -> None:
    session = binding.new_session()
    server = build_server(binding, lambda ctx: session)
    try:
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())
    finally:
        session.close()


# -- streamable HTTP: one session per Mcp-Session-Id ----------------------------------------------------------------
class Sessions:
    """The live sessions of an HTTP server by MCP session id, each opened on its first use."""

    def __init__(self, binding: Binding) -> None:
        self._binding = binding
        self._live: dict[str, Session] = {}

    def __len__(self) -> int:
        return len(self._live)

    def __contains__(self, session_id: object) -> bool:
        return session_id in self._live

    def get(self, session_id: str) -> Session:
        if session_id not in self._live:
            self._live[session_id] = self._binding.new_session()
        return self._live[session_id]

    def discard(self, session_id: str) -> None:
        session = self._live.pop(session_id, None)
        if session is not None:
            session.close()


class ReleaseEndedSessions:
    """ASGI middleware that frees a session's world once its MCP session is over.

    Over: the client ended it (``DELETE``), or none of its HTTP requests has been in flight for ``idle_timeout``
    seconds (an open GET stream counts as in flight). The SDK closes idle sessions after the same timeout, measured
    inside these requests, so a world always outlives its session. Idle worlds are swept when a new session opens.
    """

    def __init__(self, app: ASGIApp, sessions: Sessions, idle_timeout: float) -> None:
        self.app, self.sessions, self.idle_timeout = app, sessions, idle_timeout
        self._in_flight: dict[str, int] = {}
        self._last_active: dict[str, float] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        session_id = _header(scope, MCP_SESSION_ID_HEADER) if scope["type"] == "http" else None
        if session_id is None:
            if scope["type"] == "http":
                self._sweep()
            await self.app(scope, receive, send)
            return
        self._in_flight[session_id] = self._in_flight.get(session_id, 0) + 1
        try:
            await self.app(scope, receive, send)
        finally:
            self._in_flight[session_id] -= 1
            if not self._in_flight[session_id]:
                del self._in_flight[session_id]
            if scope["method"] == "DELETE":
                self._release(session_id)
            elif session_id in self.sessions:
                self._last_active[session_id] = time.monotonic()

    def _sweep(self) -> None:
        cutoff = time.monotonic() - self.idle_timeout
        for session_id, last_active in list(self._last_active.items()):
            if last_active < cutoff and session_id not in self._in_flight:
                self._release(session_id)

    def _release(self, session_id: str) -> None:
        self._last_active.pop(session_id, None)
        self.sessions.discard(session_id)


def _header(scope: Scope, name: str) -> str | None:
    key = name.lower().encode("latin-1")
    return next((value.decode("latin-1") for header, value in scope["headers"] if header == key), None)


def _session_id(ctx: ServerRequestContext) -> str:
    session_id = ctx.request.headers.get(MCP_SESSION_ID_HEADER) if ctx.request is not None else None
    if session_id is None:
        raise MCPError(code=types.INVALID_REQUEST, message=(
            "this server keeps a private world per MCP session: connect with the initialize handshake (protocol "
            f"{HANDSHAKE_PROTOCOL_VERSIONS[-1]} or earlier) so that it can assign your session an Mcp-Session-Id"))
    return session_id


def http_app(binding: Binding, host: str, max_sessions: int = DEFAULT_MAX_SESSIONS) -> ASGIApp:
    """The streamable-HTTP ASGI app (endpoint ``/mcp``); ``host`` is the bound address (loopback enables the SDK's
    DNS-rebinding protection)."""
    sessions = Sessions(binding)
    server = build_server(binding, lambda ctx: sessions.get(_session_id(ctx)))

    async def discover_handshake_only(ctx: ServerRequestContext, params: types.RequestParams) -> types.DiscoverResult:
        # Sessions come from the handshake; the 2026 per-request protocol has none. Advertising only the handshake
        # versions makes clients that probe first (mcp.Client's default) fall back to initialize.
        return types.DiscoverResult(supported_versions=list(HANDSHAKE_PROTOCOL_VERSIONS), capabilities=server.get_capabilities())

    server.add_request_handler("server/discover", types.RequestParams, discover_handshake_only)
    app = server.streamable_http_app(host=host, json_response=True, session_idle_timeout=SESSION_IDLE_TIMEOUT_S,
                                     max_sessions=max_sessions)
    return ReleaseEndedSessions(app, sessions, SESSION_IDLE_TIMEOUT_S)


def serve_http(binding: Binding, sock: socket.socket, max_sessions: int = DEFAULT_MAX_SESSIONS) -> None:
    """Serve ``http_app`` on an already bound socket until SIGINT or SIGTERM."""
    host = sock.getsockname()[0]
    config = uvicorn.Config(http_app(binding, host, max_sessions), log_level="warning", timeout_graceful_shutdown=2)
    uvicorn.Server(config).run(sockets=[sock])
