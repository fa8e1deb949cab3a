"""A tiny random Qwen3 model and a byte-level BPE tokenizer with Qwen3's chat template, built in-process.

Nothing is downloaded: the tokenizer is trained on a few sentences with the `tokenizers` library and carries TRL's
copy of the Qwen3 chat template (`trl.chat_template_utils.qwen3_chat_template`), so TRL recognises it (tool calling,
response parsing) as it would the real Qwen3 tokenizer. The model is a 2-layer, 64-wide `Qwen3ForCausalLM` with
random weights. Import this module only where transformers is wanted: it imports torch and transformers.
"""

from __future__ import annotations

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast, Qwen3Config, Qwen3ForCausalLM
from trl.chat_template_utils import qwen3_chat_template

PAD_TOKEN = "<|endoftext|>"
EOS_TOKEN = "<|im_end|>"
SPECIAL_TOKENS = [PAD_TOKEN, "<|im_start|>", EOS_TOKEN]
# Added as plain tokens, as in Qwen3: decoding with skip_special_tokens=True must keep them for tool-call parsing.
MARKUP_TOKENS = ["<think>", "</think>", "<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>"]

CORPUS = [
    "Hello, how can I help you with your order today?",
    "The customer asked for a refund on order 1042 because the build failed.",
    "Please look up the ticket, check the payment status and reply politely.",
    '{"name": "get_order", "arguments": {"order_id": "ORD-1042"}}',
    "Our policy allows refunds within 30 days of delivery for unused products.",
    "user assistant system tool: the quick brown fox jumps over the lazy dog 0123456789.",
]


def build_tokenizer(vocab_size: int = 512) -> PreTrainedTokenizerFast:
    """Byte-level BPE trained on `CORPUS`; eos `<|im_end|>`, pad `<|endoftext|>`, Qwen3 chat template."""
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # every byte is encodable, whatever the text
    )
    bpe.train_from_iterator(CORPUS, trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, eos_token=EOS_TOKEN, pad_token=PAD_TOKEN, chat_template=qwen3_chat_template
    )
    tokenizer.add_tokens(MARKUP_TOKENS)
    return tokenizer


def build_model(tokenizer: PreTrainedTokenizerFast, seed: int = 0) -> Qwen3ForCausalLM:
    """A random 2-layer Qwen3 (hidden 64, 4 heads, 2 KV heads) sized to `tokenizer`'s vocabulary."""
    torch.manual_seed(seed)
    config = Qwen3Config(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )
    model = Qwen3ForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    return model
