"""ModelConfig: the shape and numerics of a Llama-architecture model, presets, and Hugging Face config.json I/O.

`from_hf` reads both the hub's older keys (`rope_theta` + `rope_scaling`) and the `rope_parameters` block that
transformers 5 writes. `to_hf` writes the older form, which every transformers version still loads.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SUPPORTED_ARCHITECTURES = ("LlamaForCausalLM",)
SUPPORTED_ROPE_TYPES = ("default", "linear", "llama3")
# float64 is for parity tests (needs JAX x64 and `kernels: plain`): the weight mapping checked against
# transformers' float64 forward, where rounding leaves ~1e-12 and a mapping error O(1).
DTYPES = ("float32", "bfloat16", "float16", "float64")
ATTENTION = ("dense", "cudnn")
KERNELS = ("fast", "plain")


class ModelConfigError(ValueError):
    """A model configuration that cannot work (a bad key or value, an unreadable config.json). The message is one
    line naming the file or key; commands and checkpoint loaders report it as a user error (exit code 2)."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


@dataclass(frozen=True)
class RopeScaling:
    """RoPE frequency scaling. `default` = none; `linear` divides all frequencies; `llama3` is Llama 3.1's
    wavelength-dependent interpolation."""

    rope_type: str = "default"
    factor: float = 1.0
    low_freq_factor: float = 1.0
    high_freq_factor: float = 4.0
    original_max_position_embeddings: int = 8192

    def __post_init__(self):
        if self.rope_type not in SUPPORTED_ROPE_TYPES:
            raise ModelConfigError(f"rope_type {self.rope_type!r} is not supported (expected one of "
                                   f"{', '.join(SUPPORTED_ROPE_TYPES)})")

    def to_hf(self) -> dict | None:
        if self.rope_type == "default":
            return None
        if self.rope_type == "linear":
            return {"rope_type": "linear", "factor": self.factor}
        return {"rope_type": "llama3", "factor": self.factor, "low_freq_factor": self.low_freq_factor,
                "high_freq_factor": self.high_freq_factor,
                "original_max_position_embeddings": self.original_max_position_embeddings}


@dataclass(frozen=True)
class ModelConfig:
    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int | None = None  # None: hidden_size // num_heads
    rms_norm_eps: float = 1e-5
    rope_theta: float = 500000.0
    rope_scaling: RopeScaling | dict | None = None
    max_position_embeddings: int = 8192
    tie_word_embeddings: bool = False
    attention_bias: bool = False  # Llama semantics: bias on q, k, v and o projections
    mlp_bias: bool = False
    bos_token_id: int | None = None
    eos_token_id: tuple[int, ...] | int | None = None
    pad_token_id: int | None = None
    initializer_range: float = 0.02
    dtype: str = "float32"        # compute dtype
    param_dtype: str = "float32"  # storage dtype of the parameters
    remat: bool = False           # rematerialise each decoder layer in the backward pass
    scan_layers: bool = True      # a rolled loop over the stacked layers (False: unrolled, see Llama._run_layers)
    # "dense": scores as explicit [B, heads, T, S] matmuls, any mask (CPU, decoding, left padding). "cudnn": the
    # forward over right-padded batches (training, reference log-probs) uses jax.nn.dot_product_attention's cuDNN
    # flash kernel on GPUs (no [T, S] scores in memory); on other backends the same call with jax's XLA
    # implementation, which is what the CPU tests check. Decoding and left-padded inputs always use "dense".
    attention: str = "dense"
    # "fast": the hand-written kernels of refuseu_jax/kernels.py; "plain": the same arithmetic with autodiff (the
    # reference the fast path is tested against).
    kernels: str = "fast"

    def __post_init__(self):
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731 - frozen dataclass normalisation
        if self.head_dim is None:
            set_("head_dim", self.hidden_size // self.num_heads)
        if isinstance(self.rope_scaling, dict):
            set_("rope_scaling", RopeScaling(**self.rope_scaling))
        elif self.rope_scaling is None:
            set_("rope_scaling", RopeScaling())
        if isinstance(self.eos_token_id, list):
            set_("eos_token_id", tuple(self.eos_token_id))
        for key in ("dtype", "param_dtype"):
            if getattr(self, key) not in DTYPES:
                raise ModelConfigError(f"model config: key '{key}' must be one of {', '.join(DTYPES)}, "
                                       f"got {getattr(self, key)!r}")
        if "float64" in (self.dtype, self.param_dtype) and self.kernels != "plain":
            # The fast kernels accumulate in float32 by construction; the plain ones follow their operands.
            raise ModelConfigError("model config: float64 needs key 'kernels' set to 'plain' "
                                   f"(got {self.kernels!r})")
        if self.attention not in ATTENTION:
            raise ModelConfigError(f"model config: key 'attention' must be one of {', '.join(ATTENTION)}, "
                                   f"got {self.attention!r}")
        if self.kernels not in KERNELS:
            raise ModelConfigError(f"model config: key 'kernels' must be one of {', '.join(KERNELS)}, "
                                   f"got {self.kernels!r}")
        if self.num_heads % self.num_kv_heads:
            raise ModelConfigError(f"model config: num_heads ({self.num_heads}) must be a multiple of num_kv_heads "
                                   f"({self.num_kv_heads})")

    @property
    def eos_token_ids(self) -> tuple[int, ...]:
        if self.eos_token_id is None:
            return ()
        return self.eos_token_id if isinstance(self.eos_token_id, tuple) else (self.eos_token_id,)

    def replace(self, **changes) -> "ModelConfig":
        return dataclasses.replace(self, **changes)

    def num_params(self) -> int:
        h, i, v, l = self.hidden_size, self.intermediate_size, self.vocab_size, self.num_layers
        q, kv = self.num_heads * self.head_dim, self.num_kv_heads * self.head_dim
        per_layer = h * q + 2 * h * kv + q * h + 3 * h * i + 2 * h
        if self.attention_bias:
            per_layer += q + 2 * kv + h
        if self.mlp_bias:
            per_layer += 2 * i + h
        return v * h * (1 if self.tie_word_embeddings else 2) + l * per_layer + h

    # ---- Hugging Face config.json ----------------------------------------------------------------------------
    @classmethod
    def from_hf(cls, source: str | Path | dict, **overrides) -> "ModelConfig":
        """Read a HF LlamaForCausalLM config (a dict, a config.json path, or a checkpoint directory)."""
        where = "config"
        if isinstance(source, dict):
            hf = source
        else:
            path = Path(source)
            if path.is_dir():
                path = path / "config.json"
            where = str(path)
            if not path.is_file():
                raise ModelConfigError(f"{path}: file not found (expected a Hugging Face config.json)")
            try:
                hf = json.loads(path.read_text())
            except json.JSONDecodeError as err:
                raise ModelConfigError(f"{path}:{err.lineno}: malformed JSON in config ({err.msg})") from None
        archs = hf.get("architectures") or ["LlamaForCausalLM"]
        if hf.get("model_type", "llama") != "llama" or not set(archs) <= set(SUPPORTED_ARCHITECTURES):
            raise ModelConfigError(f"{where}: unsupported architecture {archs} / model_type "
                                   f"{hf.get('model_type')!r} (expected LlamaForCausalLM, model_type 'llama')")
        missing = [k for k in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                               "num_attention_heads") if k not in hf]
        if missing:
            raise ModelConfigError(f"{where}: missing key '{missing[0]}'")
        rope_theta, scaling = _rope_from_hf(hf, where)
        kwargs: dict[str, Any] = dict(
            vocab_size=hf["vocab_size"], hidden_size=hf["hidden_size"], intermediate_size=hf["intermediate_size"],
            num_layers=hf["num_hidden_layers"], num_heads=hf["num_attention_heads"],
            num_kv_heads=hf.get("num_key_value_heads") or hf["num_attention_heads"], head_dim=hf.get("head_dim"),
            rms_norm_eps=hf.get("rms_norm_eps", 1e-6), rope_theta=rope_theta, rope_scaling=scaling,
            max_position_embeddings=hf.get("max_position_embeddings", 2048),
            tie_word_embeddings=bool(hf.get("tie_word_embeddings", False)),
            attention_bias=bool(hf.get("attention_bias", False)), mlp_bias=bool(hf.get("mlp_bias", False)),
            bos_token_id=hf.get("bos_token_id"), eos_token_id=hf.get("eos_token_id"),
            pad_token_id=hf.get("pad_token_id"), initializer_range=hf.get("initializer_range", 0.02),
        )
        kwargs.update(overrides)
        return cls(**kwargs)

    def to_hf(self) -> dict:
        """A config.json dict that transformers' LlamaForCausalLM loads."""
        eos = list(self.eos_token_id) if isinstance(self.eos_token_id, tuple) else self.eos_token_id
        return {
            "architectures": ["LlamaForCausalLM"], "model_type": "llama",
            "vocab_size": self.vocab_size, "hidden_size": self.hidden_size,
            "intermediate_size": self.intermediate_size, "num_hidden_layers": self.num_layers,
            "num_attention_heads": self.num_heads, "num_key_value_heads": self.num_kv_heads,
            "head_dim": self.head_dim, "hidden_act": "silu", "rms_norm_eps": self.rms_norm_eps,
            "rope_theta": self.rope_theta, "rope_scaling": self.rope_scaling.to_hf(),
            "max_position_embeddings": self.max_position_embeddings,
            "tie_word_embeddings": self.tie_word_embeddings, "attention_bias": self.attention_bias,
            "attention_dropout": 0.0, "mlp_bias": self.mlp_bias, "bos_token_id": self.bos_token_id,
            "eos_token_id": eos, "pad_token_id": self.pad_token_id, "initializer_range": self.initializer_range,
            "torch_dtype": self.param_dtype, "use_cache": True,
        }


def _rope_from_hf(hf: dict, where: str) -> tuple[float, RopeScaling]:
    """(rope_theta, scaling) from either `rope_parameters` (transformers 5) or `rope_theta` + `rope_scaling`."""
    params = hf.get("rope_parameters")
    if isinstance(params, dict) and "rope_theta" in params:
        theta, scaling = params["rope_theta"], dict(params)
    else:
        theta, scaling = hf.get("rope_theta", 10000.0), dict(hf.get("rope_scaling") or {})
    rope_type = scaling.get("rope_type", scaling.get("type", "default"))
    if rope_type not in SUPPORTED_ROPE_TYPES:
        raise ModelConfigError(f"{where}: rope_type {rope_type!r} is not supported (expected one of "
                               f"{', '.join(SUPPORTED_ROPE_TYPES)})")
    fields = {f.name for f in dataclasses.fields(RopeScaling)} - {"rope_type"}
    return float(theta), RopeScaling(rope_type=rope_type, **{k: v for k, v in scaling.items() if k in fields})


_LLAMA31_ROPE = dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
                     original_max_position_embeddings=8192)
_LLAMA32_ROPE = dict(_LLAMA31_ROPE, factor=32.0)
_LLAMA3_TOKENS = dict(vocab_size=128256, bos_token_id=128000, eos_token_id=(128001, 128008, 128009),
                      rope_theta=500000.0, rms_norm_eps=1e-5, max_position_embeddings=131072)

PRESETS: dict[str, ModelConfig] = {
    # For tests: every feature on (llama3 rope scaling, GQA, untied) at a size that compiles in seconds.
    "tiny": ModelConfig(vocab_size=256, hidden_size=64, intermediate_size=160, num_layers=2, num_heads=4,
                        num_kv_heads=2, rope_theta=10000.0, max_position_embeddings=512,
                        rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0,
                                          high_freq_factor=4.0, original_max_position_embeddings=64),
                        bos_token_id=1, eos_token_id=2, pad_token_id=0),
    "smollm2-135m": ModelConfig(vocab_size=49152, hidden_size=576, intermediate_size=1536, num_layers=30,
                                num_heads=9, num_kv_heads=3, head_dim=64, rms_norm_eps=1e-5, rope_theta=100000.0,
                                max_position_embeddings=8192, tie_word_embeddings=True, bos_token_id=1,
                                eos_token_id=2, pad_token_id=2),
    "llama-3.2-1b": ModelConfig(hidden_size=2048, intermediate_size=8192, num_layers=16, num_heads=32,
                                num_kv_heads=8, head_dim=64, tie_word_embeddings=True, rope_scaling=_LLAMA32_ROPE,
                                **_LLAMA3_TOKENS),
    "llama-3.2-3b": ModelConfig(hidden_size=3072, intermediate_size=8192, num_layers=28, num_heads=24,
                                num_kv_heads=8, head_dim=128, tie_word_embeddings=True, rope_scaling=_LLAMA32_ROPE,
                                **_LLAMA3_TOKENS),
    "llama-3.1-8b": ModelConfig(hidden_size=4096, intermediate_size=14336, num_layers=32, num_heads=32,
                                num_kv_heads=8, rope_scaling=_LLAMA31_ROPE, **_LLAMA3_TOKENS),
    "llama-3.1-70b": ModelConfig(hidden_size=8192, intermediate_size=28672, num_layers=80, num_heads=64,
                                 num_kv_heads=8, rope_scaling=_LLAMA31_ROPE, **_LLAMA3_TOKENS),
}


def get_preset(name: str, **overrides) -> ModelConfig:
    if name not in PRESETS:
        raise ModelConfigError(f"unknown model preset {name!r} (expected one of {', '.join(PRESETS)})")
    return PRESETS[name].replace(**overrides) if overrides else PRESETS[name]
