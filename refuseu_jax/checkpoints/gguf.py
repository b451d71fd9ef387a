"""GGUF (llama.cpp) -> Hugging Face checkpoint directory.

Weights are dequantised with the `gguf` package's numpy kernels (Q4_1, Q8_0, ... -> float32) one tensor at a time
and streamed into model.safetensors. llama.cpp stores q/k projections with the rows of each head interleaved for
its rotary layout (`convert_hf_to_gguf.py` permutes them); `unpermute_qk` restores HF's rotate-half order.

The tokenizer is rebuilt from the GGUF vocabulary and merges as a byte-level BPE `tokenizer.json`, with the
pre-tokenizer llama.cpp names in `tokenizer.ggml.pre` (for SmolLM2, digits split one by one, as its original
tokenizer does), control tokens as special tokens, and the chat template from `tokenizer.chat_template`.
"""

from __future__ import annotations

import json
from pathlib import Path

import ml_dtypes
import numpy as np

from data_tools.errors import UserError
from refuseu_jax.checkpoints.safetensors_stream import TensorEntry, write_checkpoint
from refuseu_jax.models.config import ModelConfig, ModelConfigError, RopeScaling

_GLOBAL_NAMES = {"token_embd": "model.embed_tokens", "output_norm": "model.norm", "output": "lm_head"}
_LAYER_NAMES = {
    "attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm",
    "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj",
}
# llama.cpp token types (gguf.TokenType): 1 normal, 3 control, 4 user-defined.
_CONTROL, _USER_DEFINED = 3, 4

_LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
                 r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
# llama.cpp's pre-tokenizer names that mean "GPT-2 regex after splitting every digit" (StarCoder-style vocabularies).
_DIGIT_SPLIT_PRE = {"smollm", "starcoder", "refact", "codeshell"}
_GPT2_PRE = {"gpt-2", "gpt2", "default"}
_LLAMA3_PRE = {"llama-bpe", "llama3", "llama-v3", "smaug-bpe"}


def unpermute_qk(w: np.ndarray, n_heads: int) -> np.ndarray:
    """Undo llama.cpp's q/k row permutation (works for [out, in] weights and [out] biases).

    llama.cpp writes, per head, row pairs (j, j + D/2) next to each other: reshape(n, 2, D/2).swapaxes(1, 2).
    Swapping back the same two axes restores HF's layout.
    """
    head_half = w.shape[0] // n_heads // 2
    return w.reshape(n_heads, head_half, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def permute_qk(w: np.ndarray, n_heads: int) -> np.ndarray:
    """llama.cpp's permutation (the inverse of `unpermute_qk`), for tests and GGUF writers."""
    head_half = w.shape[0] // n_heads // 2
    return w.reshape(n_heads, 2, head_half, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


class GGUFFile:
    """Metadata and tensors of a GGUF file (memory-mapped by gguf.GGUFReader)."""

    def __init__(self, path: str | Path):
        import gguf

        self.path = Path(path)
        if not self.path.is_file():
            raise UserError(f"{self.path}: file not found (expected a GGUF model file)")
        try:
            self.reader = gguf.GGUFReader(str(self.path))
        except Exception as err:  # the reader raises ValueError/struct.error/IndexError on damaged files
            raise UserError(f"{self.path}: not a readable GGUF file ({type(err).__name__}: {err})") from None
        self.tensors = {t.name: t for t in self.reader.tensors}
        self.arch = self.get("general.architecture")

    def get(self, key: str, default=None):
        field = self.reader.fields.get(key)
        return default if field is None else field.contents()

    def require(self, key: str):
        value = self.get(key)
        if value is None:
            raise UserError(f"{self.path}: missing metadata key {key!r}")
        return value


def gguf_config(g: GGUFFile) -> ModelConfig:
    """A ModelConfig from GGUF metadata (architecture 'llama' only)."""
    if g.arch != "llama":
        raise UserError(f"{g.path}: unsupported architecture {g.arch!r} (expected a GGUF of architecture 'llama')")
    a = g.arch
    if "rope_freqs.weight" in g.tensors:
        # Llama 3.1-style scaling is stored as a per-frequency tensor; its parameters are not in the metadata.
        raise UserError(f"{g.path}: RoPE frequency-scaling tensor 'rope_freqs.weight' is not supported; convert "
                        "from the original Hugging Face checkpoint instead")
    scaling = None
    if g.get(f"{a}.rope.scaling.type") == "linear":
        scaling = RopeScaling(rope_type="linear", factor=float(g.require(f"{a}.rope.scaling.factor")))
    heads = int(g.require(f"{a}.attention.head_count"))
    hidden = int(g.require(f"{a}.embedding_length"))
    tokens = g.get("tokenizer.ggml.tokens")
    try:
        return ModelConfig(
            vocab_size=int(g.get(f"{a}.vocab_size") or len(tokens)),
            hidden_size=hidden,
            intermediate_size=int(g.require(f"{a}.feed_forward_length")),
            num_layers=int(g.require(f"{a}.block_count")),
            num_heads=heads,
            num_kv_heads=int(g.get(f"{a}.attention.head_count_kv") or heads),
            head_dim=int(g.get(f"{a}.attention.key_length") or hidden // heads),
            rms_norm_eps=float(g.require(f"{a}.attention.layer_norm_rms_epsilon")),
            rope_theta=float(g.get(f"{a}.rope.freq_base", 10000.0)),
            rope_scaling=scaling,
            max_position_embeddings=int(g.get(f"{a}.context_length", 2048)),
            tie_word_embeddings="output.weight" not in g.tensors,
            attention_bias="blk.0.attn_q.bias" in g.tensors,
            mlp_bias="blk.0.ffn_up.bias" in g.tensors,
            bos_token_id=g.get("tokenizer.ggml.bos_token_id"),
            eos_token_id=g.get("tokenizer.ggml.eos_token_id"),
            pad_token_id=g.get("tokenizer.ggml.padding_token_id"),
        )
    except ModelConfigError as err:  # metadata that no Llama config can hold
        raise UserError(f"{g.path}: {err}") from None


def hf_tensor_name(gguf_name: str) -> str:
    """'blk.3.attn_q.weight' -> 'model.layers.3.self_attn.q_proj.weight'."""
    parts = gguf_name.split(".")
    if parts[0] == "blk" and len(parts) == 4 and parts[2] in _LAYER_NAMES:
        return f"model.layers.{parts[1]}.{_LAYER_NAMES[parts[2]]}.{parts[3]}"
    if len(parts) == 2 and parts[0] in _GLOBAL_NAMES:
        return f"{_GLOBAL_NAMES[parts[0]]}.{parts[1]}"
    raise KeyError(gguf_name)


def _weights(g: GGUFFile, cfg: ModelConfig, dtype: np.dtype):
    """(entries, produce) streaming the dequantised tensors in HF names, q/k un-permuted."""
    import gguf

    plan = []
    for name, t in g.tensors.items():
        try:
            plan.append((hf_tensor_name(name), t))
        except KeyError:
            raise UserError(f"{g.path}: unexpected tensor {name!r} for a llama model") from None
    by_name = dict(plan)
    entries = [TensorEntry(hf, tuple(int(d) for d in reversed(t.shape)), dtype) for hf, t in plan]

    def produce(entry: TensorEntry) -> np.ndarray:
        t = by_name[entry.name]
        w = gguf.dequantize(t.data, t.tensor_type).reshape(entry.shape)
        if ".q_proj." in entry.name:
            w = unpermute_qk(w, cfg.num_heads)
        elif ".k_proj." in entry.name:
            w = unpermute_qk(w, cfg.num_kv_heads)
        return w.astype(dtype)

    return entries, produce


def _pre_tokenizer(kind: str | None, where: Path):
    from tokenizers import Regex, pre_tokenizers

    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    if kind in _DIGIT_SPLIT_PRE:
        return pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level])
    if kind is None or kind in _GPT2_PRE:
        return byte_level
    if kind in _LLAMA3_PRE:
        return pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(_LLAMA3_SPLIT), behavior="isolated"),
                                        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    raise UserError(f"{where}: unsupported pre-tokenizer {kind!r} in 'tokenizer.ggml.pre' (expected one of "
                    f"{', '.join(sorted(_DIGIT_SPLIT_PRE | _GPT2_PRE | _LLAMA3_PRE))})")


def build_tokenizer(g: GGUFFile):
    """A transformers fast tokenizer (byte-level BPE) from the GGUF vocabulary, merges and special tokens."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, processors
    from transformers import PreTrainedTokenizerFast

    model = g.get("tokenizer.ggml.model")
    if model != "gpt2":
        raise UserError(f"{g.path}: unsupported tokenizer model {model!r} in 'tokenizer.ggml.model' "
                        "(expected 'gpt2', byte-level BPE)")
    tokens = list(g.require("tokenizer.ggml.tokens"))
    types = list(g.get("tokenizer.ggml.token_type") or [1] * len(tokens))
    merges = [tuple(m.split(" ", 1)) for m in g.require("tokenizer.ggml.merges")]
    tok = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(tokens)}, merges=merges, fuse_unk=False,
                               byte_fallback=False))
    tok.pre_tokenizer = _pre_tokenizer(g.get("tokenizer.ggml.pre"), g.path)
    tok.decoder = decoders.ByteLevel()
    # Control tokens (<|im_start|>, <|endoftext|>, ...) must match whole in text and never be split by BPE.
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t, k in zip(tokens, types)
                            if k == _CONTROL])
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t, k in zip(tokens, types)
                    if k == _USER_DEFINED])

    def token(key):
        i = g.get(f"tokenizer.ggml.{key}")
        return tokens[i] if i is not None and 0 <= i < len(tokens) else None

    bos = token("bos_token_id")
    if g.get("tokenizer.ggml.add_bos_token") and bos is not None:
        tok.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, tokens.index(bos))])
    else:
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
    kwargs = dict(bos_token=bos, eos_token=token("eos_token_id"), unk_token=token("unknown_token_id"),
                  pad_token=token("padding_token_id"), model_max_length=int(g.get(f"{g.arch}.context_length", 2048)),
                  clean_up_tokenization_spaces=False)
    template = g.get("tokenizer.chat_template")
    if template:
        kwargs["chat_template"] = template
    return PreTrainedTokenizerFast(tokenizer_object=tok, **{k: v for k, v in kwargs.items() if v is not None})


def gguf_to_hf(gguf_path: str | Path, out_dir: str | Path, dtype: str = "float32", progress: bool = False) -> Path:
    """Convert a llama GGUF into a HF checkpoint directory (config, safetensors, tokenizer, chat template).

    `out_dir` should be new or a temporary directory; the registry renames it into place atomically.
    """
    g = GGUFFile(gguf_path)
    cfg = gguf_config(g)
    if dtype not in ("float32", "bfloat16"):
        raise UserError(f"dtype {dtype!r}: expected float32 or bfloat16 for dequantised GGUF weights")
    np_dtype = np.dtype(np.float32) if dtype == "float32" else np.dtype(ml_dtypes.bfloat16)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    build_tokenizer(g).save_pretrained(str(out))
    entries, produce = _weights(g, cfg, np_dtype)
    write_checkpoint(out, entries, produce, progress=f"dequantising {g.path.name}" if progress else None)
    hf = cfg.to_hf()
    hf["torch_dtype"] = dtype
    (out / "config.json").write_text(json.dumps(hf, indent=2) + "\n")
    gen = {"bos_token_id": cfg.bos_token_id, "eos_token_id": cfg.eos_token_id, "pad_token_id": cfg.pad_token_id}
    (out / "generation_config.json").write_text(json.dumps({k: v for k, v in gen.items() if v is not None},
                                                           indent=2) + "\n")
    return out
