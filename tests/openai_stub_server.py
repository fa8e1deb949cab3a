"""A scripted OpenAI-compatible chat-completions server for tests and benchmarks (stdlib only, 127.0.0.1 only).

``StubOpenAIServer`` answers ``POST …/chat/completions``. A request that carries ``tools`` is an *agent* request: by
default the server plays the reference solution of the task whose request text appears in the conversation (one
tool call per assistant turn, then the reference reply), so a LiteLLM agent talking to it behaves like the oracle.
A request without tools is a *judge* request: by default the verdict is true when the agent's final reply (as the
judge prompt shows it) mentions "shipping". Both are replaceable callables.

Faults are injected by ``faults(kind, body, seen)`` → ``None`` (answer normally) or one of ``"500"``, ``"429"``,
``"401"`` (a wrong key), ``"404"`` (an unknown model), ``"timeout"`` (hold the connection past the client's timeout,
then answer), ``"bad_json"`` (an HTTP 200 whose body is not JSON), ``"bad_verdict"`` (a well-formed completion whose
text is not the JSON verdict). ``seen`` counts earlier
requests with the same body, so a plan like "the first two tries of every request fail" is deterministic whatever
the concurrency. The server stops in ``stop()`` (or on leaving ``with``); every sleep is interruptible.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

from corecraft_env.judge.core import CHECK_MESSAGES

FAULTS = ("500", "429", "401", "404", "timeout", "bad_json", "bad_verdict")


class OracleScript:
    """Plays each task's reference solution: step n of the conversation gets the n-th reference call.

    ``parallel=True`` sends all reference calls in one assistant message (parallel tool calls)."""

    def __init__(self, task_set, parallel: bool = False) -> None:
        self.tasks = list(task_set)
        self.parallel = parallel

    def task_for(self, messages: list[dict]):
        text = "\n".join(str(m.get("content") or "") for m in messages if m.get("role") == "user")
        for task in self.tasks:
            if task.request in text:
                return task
        return None

    def __call__(self, body: dict) -> dict:
        messages = body.get("messages", [])
        task = self.task_for(messages)
        if task is None:
            return {"role": "assistant", "content": "I could not identify the request."}
        step = sum(1 for m in messages if m.get("role") == "assistant")
        calls = [(c.name, c.arguments) for c in task.reference_tool_calls]
        batches = [calls] if self.parallel else [[c] for c in calls]
        if step < len(batches):
            return {"role": "assistant", "content": None, "tool_calls": [
                {"id": f"call_{step}_{i}", "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}
                for i, (name, arguments) in enumerate(batches[step])]}
        return {"role": "assistant", "content": task.reference_reply}


def default_judge_script(body: dict) -> str:
    prompt = "\n".join(str(m.get("content") or "") for m in body.get("messages", []))
    reply = re.search(r"## Agent's final reply\n(.*?)\n\n## Criterion", prompt, flags=re.S)
    verdict = bool(reply and "shipping" in reply.group(1).lower())
    return json.dumps({"reason": "The reply " + ("explains" if verdict else "does not explain") + " the shipping rule.",
                       "verdict": verdict})


class StubOpenAIServer:
    def __init__(self, agent_script: Callable[[dict], dict] | None = None, judge_script: Callable[[dict], str] | None = None,
                 faults: Callable[[str, dict, int], str | None] | None = None, latency: float = 0.0,
                 timeout_hold: float = 1.5) -> None:
        self.agent_script = agent_script or (lambda body: {"role": "assistant", "content": "Done."})
        self.judge_script = judge_script or default_judge_script
        self.faults = faults
        self.latency = latency
        self.timeout_hold = timeout_hold
        self.counts: Counter = Counter()  # (kind, outcome) -> requests
        self.log: list[dict] = []  # one entry per request: kind, fault, model
        self._seen: Counter = Counter()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------------------------
    def start(self) -> "StubOpenAIServer":
        handler = type("Handler", (_Handler,), {"stub": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(timeout=5)
            self._httpd = None

    def __enter__(self) -> "StubOpenAIServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def running(self) -> bool:
        return self._httpd is not None and self._thread.is_alive()

    # -- answering ---------------------------------------------------------------------------------------------------
    def respond(self, body: dict) -> tuple[int, bytes]:
        kind = "agent" if body.get("tools") else "check" if body.get("messages") == list(CHECK_MESSAGES) else "judge"
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        with self._lock:
            seen = self._seen[digest]
            self._seen[digest] += 1
        fault = self.faults(kind, body, seen) if self.faults else None
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; faults: {FAULTS}")
        with self._lock:
            self.counts[(kind, fault or "ok")] += 1
            self.log.append({"kind": kind, "fault": fault, "model": body.get("model")})
        if self.latency:
            self._stopping.wait(self.latency)
        if fault == "500":
            return 500, json.dumps({"error": {"message": "scripted server error", "type": "server_error"}}).encode()
        if fault == "429":
            return 429, json.dumps({"error": {"message": "scripted rate limit", "type": "rate_limit_error"}}).encode()
        if fault == "401":
            return 401, json.dumps({"error": {"message": "Incorrect API key provided: sk-scripted.", "type": "invalid_request_error",
                                              "code": "invalid_api_key"}}).encode()
        if fault == "404":
            return 404, json.dumps({"error": {"message": f"The model `{body.get('model')}` does not exist.",
                                              "type": "invalid_request_error", "code": "model_not_found"}}).encode()
        if fault == "timeout":
            self._stopping.wait(self.timeout_hold)
        if fault == "bad_json":
            return 200, b'{"id": "chatcmpl-broken", "choices": [{"message": '
        if kind == "agent":
            message = self.agent_script(body)
        elif kind == "check":
            message = {"role": "assistant", "content": "OK"}
        else:
            message = {"role": "assistant", "content": "I think it is fine." if fault == "bad_verdict" else self.judge_script(body)}
        prompt_chars = len(json.dumps(body.get("messages", [])))
        completion_chars = len(json.dumps(message))
        return 200, json.dumps({
            "id": f"chatcmpl-{digest[:12]}-{seen}", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "scripted"),
            "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if message.get("tool_calls") else "stop"}],
            "usage": {"prompt_tokens": prompt_chars // 4, "completion_tokens": completion_chars // 4,
                      "total_tokens": (prompt_chars + completion_chars) // 4},
        }).encode()


class _Handler(BaseHTTPRequestHandler):
    stub: StubOpenAIServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as two writes: without this, delayed ACKs add ~40 ms

    def log_message(self, format, *args) -> None:  # keep test output clean
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if not self.path.rstrip("/").endswith("/chat/completions"):
            return self._send(404, json.dumps({"error": {"message": f"no route {self.path}"}}).encode())
        try:
            body = json.loads(raw)
        except ValueError:
            return self._send(400, json.dumps({"error": {"message": "request body is not JSON"}}).encode())
        try:
            status, payload = self.stub.respond(body)
        except Exception as exc:  # a bug in a script: say so rather than hang the client
            status, payload = 500, json.dumps({"error": {"message": f"stub script failed: {exc!r}"}}).encode()
        self._send(status, payload)

    def _send(self, status: int, payload: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a scripted timeout)


def main(argv: list[str] | None = None) -> None:
    """Serve in a process of its own (benchmarks): prints ``PORT <n>`` once listening, stops on SIGTERM or stdin EOF."""
    import argparse
    import signal
    import sys

    from corecraft_env.tasks import TaskSet

    parser = argparse.ArgumentParser(description="scripted OpenAI-compatible server on 127.0.0.1")
    parser.add_argument("--tasks-dir", required=True)
    parser.add_argument("--rubrics-dir", required=True)
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args(argv)
    server = StubOpenAIServer(agent_script=OracleScript(TaskSet(args.tasks_dir, args.rubrics_dir)), latency=args.latency).start()
    signal.signal(signal.SIGTERM, lambda *_: (server.stop(), sys.exit(0)))
    print(f"PORT {server.port}", flush=True)
    try:
        sys.stdin.read()  # until the parent closes our stdin (or dies)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
