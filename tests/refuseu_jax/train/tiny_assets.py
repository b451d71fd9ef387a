"""A tiny byte-level tokenizer with a chat template, and a tiny random HF Llama beside it, built on the fly.

The tokenizer is deliberately awkward in the ways real ones are: its post-processor adds BOS (like Llama 3's),
its chat template also writes BOS, and pad == eos. Naive tokenization would double the BOS and a mask built from
`ids != pad_id` would drop the end-of-turn token; the tests check we do neither.
"""

from __future__ import annotations

from pathlib import Path

CHAT_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPECIALS = ["<s>", "<|im_start|>", "<|im_end|>"]


def build_tokenizer(out_dir: str | Path, chat_template: str | None = CHAT_TEMPLATE):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {tok: i for i, tok in enumerate(SPECIALS)}
    vocab.update({ch: len(SPECIALS) + i for i, ch in enumerate(alphabet)})
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(SPECIALS)
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 0)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="<|im_end|>",
                                   pad_token="<|im_end|>")
    if chat_template is not None:
        fast.chat_template = chat_template
    fast.save_pretrained(str(out_dir))
    return fast


VOCAB = len(SPECIALS) + 256


def build_checkpoint(out_dir: str | Path, seed: int = 0, tie: bool = False, chat_template: str | None = CHAT_TEMPLATE):
    """Tiny random LlamaForCausalLM + tokenizer saved as a HF directory; returns the torch model."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                         rope_theta=10000.0, tie_word_embeddings=tie, bos_token_id=0, eos_token_id=2,
                         pad_token_id=2, rms_norm_eps=1e-5)
    model = LlamaForCausalLM(config).eval()
    with torch.no_grad():  # larger weights than the 0.02 default, so log-probs differ visibly between tokens
        for p in model.parameters():
            if p.dim() > 1:
                p.normal_(0.0, 0.2)
    model.save_pretrained(str(out_dir))
    build_tokenizer(out_dir, chat_template)
    return model
