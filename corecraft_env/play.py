"""``corecraft play``: a person is the agent. One episode of Corecraft-v0 in the terminal.

The request is shown; each line typed is one action: a tool call by name (``getOrderDetails {"order_id": "…"}``, or
``getOrderDetails order_id=…``), ``reply TEXT`` (the final reply: the episode ends and is scored; ``reply`` alone
reads several lines, up to a line holding only ``.``), or a command
(``help``, ``tools``, ``help TOOL``, ``request``, ``policy``, ``quit``). Tab completes commands, tool names and a
tool's argument names (readline, where the Python build has it). The tool calls go through ``env.step`` exactly as a
model's would, errors included. At the end each rubric criterion's verdict is shown with its reason; ``quit`` (or
end of input) ends the episode without a reply, scored as it stands, as a truncation is.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from typing import Callable, TextIO

COMMANDS = {
    "reply": "reply TEXT - send the final reply (ends the episode; it is scored); `reply` alone: several lines, then '.'",
    "tools": "tools - list the tools",
    "help": "help [TOOL] - this help, or a tool's description and arguments",
    "request": "request - show the request again",
    "policy": "policy - show the company policy",
    "quit": "quit - end the episode without a reply (scored as it stands)",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Play one Corecraft episode as the agent: call tools by name, send the final reply, see each "
                          "rubric criterion's verdict.")
    parser.add_argument("--task", metavar="ID", help="the task to play (default: drawn from --split by --seed)")
    parser.add_argument("--split", choices=("train", "heldout"), default="heldout", help="split to draw from (default heldout)")
    parser.add_argument("--seed", type=int, default=None, help="seed for drawing the task (default: random)")
    parser.add_argument("--tasks", metavar="DIR", help="a task folder, or a folder with tasks/ and rubrics/ (default: shipped)")
    parser.add_argument("--max-steps", type=int, default=30, help="actions before the episode is truncated (default 30)")
    parser.add_argument("--judge", default=None, help="judge for judge criteria: a LiteLLM model string (default: none, "
                                                      "their deterministic fallbacks decide)")


def run(args: argparse.Namespace) -> int:
    from .env import CorecraftEnv
    from .tasks import TaskSet

    task_set = TaskSet.from_folder(args.tasks)
    if args.task is not None and args.task not in task_set:
        print(f"corecraft play: error: no task {args.task!r} in {task_set.tasks_dir} (`corecraft tasks` lists them)",
              file=sys.stderr)
        return 2
    env = CorecraftEnv(split=None if args.task else args.split, task_set=task_set, max_steps=args.max_steps, judge=args.judge)
    try:
        Session(env).play(task_id=args.task, seed=args.seed)
    finally:
        env.close()
    return 0


def parse_tool_call(line: str) -> dict:
    """``name {json}`` or ``name key=value …`` (each value read as JSON when it parses, else as text) as an action."""
    name, _, rest = line.strip().partition(" ")
    rest = rest.strip()
    if not rest or rest.startswith("{"):
        return {"tool": name, "arguments": rest or {}}  # JSON text goes to the environment as a model's would
    try:
        words = shlex.split(rest)
    except ValueError as exc:
        raise ValueError(f"cannot read the arguments ({exc}); write them as JSON: {name} {{\"key\": \"value\"}}") from None
    arguments = {}
    for word in words:
        key, equals, value = word.partition("=")
        if not equals or not key:
            raise ValueError(f"{word!r} is not key=value; write the arguments as key=value pairs or as one JSON object")
        try:
            arguments[key] = json.loads(value)
        except ValueError:
            arguments[key] = value
    return {"tool": name, "arguments": arguments}


def pretty(observation: str) -> str:
    try:
        return json.dumps(json.loads(observation), indent=2, ensure_ascii=False)
    except ValueError:
        return observation


class Session:
    """One interactive episode over ``env`` (a ``CorecraftEnv``), reading lines from ``read`` and writing to ``out``."""

    def __init__(self, env, read: Callable[[str], str] = input, out: TextIO | None = None) -> None:
        from .tools import REGISTRY

        self.env, self.read, self.out = env, read, out or sys.stdout
        self.registry = REGISTRY
        self.request = ""

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def play(self, task_id: str | None = None, seed: int | None = None) -> dict:
        """Play until the episode ends; returns the final ``info`` (with ``score``)."""
        options = {"task_id": task_id} if task_id else {}
        self.request, info = self.env.reset(seed=seed, options=options)
        self.say(f"Task {info['task_id']} ({info['category']}, {info['difficulty']}); up to {info['max_steps']} actions.")
        self.say(self.request)
        self.say("\nType a tool call (getOrderDetails order_id=...), `reply TEXT` to finish, `help` for more; Tab completes.")
        self._enable_completion()
        while True:
            try:
                line = self.read("corecraft> ").strip()
            except (EOFError, KeyboardInterrupt):
                self.say()
                line = "quit"
            if not line:
                continue
            result = self._handle(line)
            if result is not None:
                return result

    def _handle(self, line: str) -> dict | None:
        word, _, rest = line.partition(" ")
        if word == "quit":
            return self._show_end(*self.env.truncate("the player quit")[1:])
        if word == "reply":
            text = rest.strip() or self._read_lines()
            if not text:
                self.say("no reply sent; the episode goes on")
                return None
            action = {"reply": text}
        elif word in COMMANDS:
            self.say(self._command(word, rest.strip()))
            return None
        elif word not in self.registry:
            action = {"tool": word, "arguments": {}}  # the environment names the tools, as it would to a model
        else:
            try:
                action = parse_tool_call(line)
            except ValueError as exc:
                self.say(str(exc))
                return None
        observation, reward, terminated, truncated, info = self.env.step(action)
        if terminated or truncated:
            if "reply" not in action:
                self.say(pretty(observation))
            return self._show_end(reward, terminated, truncated, info)
        self.say(pretty(observation))
        return None

    def _read_lines(self) -> str:
        """A reply of several lines, ended by a line holding only ``.``."""
        self.say("Type the reply; end it with a line holding only '.'")
        lines = []
        while True:
            try:
                line = self.read("... ")
            except (EOFError, KeyboardInterrupt):
                break
            if line.strip() == ".":
                break
            lines.append(line)
        return "\n".join(lines).strip()

    def _command(self, word: str, rest: str) -> str:
        if word == "tools":
            return "\n".join(f"{tool.name:<28} {'write' if tool.writes else 'read'}" for tool in self.registry)
        if word == "request":
            return self.request
        if word == "policy":
            from .world import policy_document

            return policy_document()
        if rest:  # help TOOL
            if rest not in self.registry:
                return f"no tool {rest!r}; `tools` lists them"
            tool = self.registry[rest]
            required = set(tool.parameters.get("required", ()))
            lines = [tool.description, "", "arguments:"]
            for name, schema in tool.parameters["properties"].items():
                lines.append(f"  {name}{' (required)' if name in required else ''}: {schema.get('type', '')} - "
                             f"{schema.get('description', '')}")
            return "\n".join(lines)
        return "\n".join(["tool calls:  NAME key=value ...   or   NAME {\"key\": \"value\"}", *COMMANDS.values()])

    def _show_end(self, reward: float, terminated: bool, truncated: bool, info: dict) -> dict:
        score = info["score"]
        decided = [v for v in score["verdicts"] if v["passed"] is not None]
        self.say(f"\nEpisode over{' (truncated: ' + info['truncation_reason'] + ')' if truncated else ''}. "
                 f"Reward {reward:.3f}: {sum(v['passed'] for v in decided)} of {len(score['verdicts'])} criteria met; "
                 f"{'PASSED' if info['passed'] else 'not passed'}.")
        for verdict in score["verdicts"]:
            mark = {True: "PASS", False: "FAIL", None: "ERROR"}[verdict["passed"]]
            self.say(f"  [{mark}] {verdict['criterion_id']}: {verdict['description']}\n         {verdict['reason']}")
        return info

    # -- readline ------------------------------------------------------------------------------------------------------
    def _enable_completion(self) -> None:
        try:
            import readline
        except ImportError:  # Python builds without readline (Windows): no completion, input still works
            return
        readline.set_completer(self.complete)
        readline.set_completer_delims(" \t\n")
        readline.parse_and_bind("bind ^I rl_complete" if "libedit" in (readline.__doc__ or "") else "tab: complete")

    def completions(self, line: str, text: str) -> list[str]:
        """What Tab offers for the word ``text`` at the end of ``line``: commands and tool names first, then the
        named tool's argument names (``key=``)."""
        words = line[: len(line) - len(text)].split()
        if not words:
            return sorted(name for name in [*COMMANDS, *self.registry.names] if name.startswith(text))
        if words[0] == "help" and len(words) == 1:
            return sorted(name for name in self.registry.names if name.startswith(text))
        if words[0] in self.registry:
            return sorted(f"{key}=" for key in self.registry[words[0]].parameters["properties"] if key.startswith(text))
        return []

    def complete(self, text: str, state: int) -> str | None:
        import readline

        options = self.completions(readline.get_line_buffer()[: readline.get_endidx()], text)
        options = [option if option.endswith("=") else option + " " for option in options]  # key= waits for its value
        return options[state] if state < len(options) else None
