"""The Llama-3.x decoder in Flax NNX: RMSNorm, RoPE (default / linear / llama3 scaling), grouped-query attention,
SwiGLU MLP, tied or untied embeddings, optional biases, a padding-aware mask and a KV cache for decoding.

Numerics follow transformers' LlamaForCausalLM: RMSNorm in float32 then cast back before the scale, softmax in
float32, RoPE in the rotate-half layout, inverse frequencies computed in float32. Low-precision compute
accumulates every matmul in float32. Float64 compute (parity tests under JAX x64, with the plain kernels) does
all of that in float64 instead (`accumulation_dtype`).

Layers are stored stacked on a leading axis (one array per weight for all layers), whether compute scans over
them or loops: one parameter layout for checkpoints, sharding rules and optimizers (see `param_shapes`).

Matmuls, SwiGLU, the norm's scale, attention and the layer loop's slicing go through `refuseu_jax.kernels`,
chosen by `ModelConfig.kernels`: "fast" (hand-written backward passes and CPU layouts) or "plain" (the same
arithmetic with autodiff), which tests compare.

On a declared mesh (the trainer's `parallel.with_mesh`) `shard` pins activations: rows over the data-parallel
axes, heads and MLP width over the tensor axis, as the weights are split. Off a mesh it returns its input.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from refuseu_jax.kernels import accumulation_dtype
from refuseu_jax.kernels import get as get_kernels
from refuseu_jax.models.config import ModelConfig, ModelConfigError
from refuseu_jax.parallel import shard_activation as shard


# ---- RMSNorm ------------------------------------------------------------------------------------------------------
class RMSNorm(nnx.Module):
    def __init__(self, dim: int, eps: float, param_dtype, *, kernels: str = "fast"):
        self.scale = nnx.Param(jnp.ones((dim,), param_dtype))
        self.eps = eps
        self.kernels = kernels

    def __call__(self, x: jax.Array) -> jax.Array:
        x32 = x.astype(accumulation_dtype(x.dtype))
        normed = x32 * jax.lax.rsqrt(jnp.mean(x32 * x32, axis=-1, keepdims=True) + self.eps)
        return get_kernels(self.kernels).scale_features(normed.astype(x.dtype), self.scale[...].astype(x.dtype))


# ---- rotary position embedding ------------------------------------------------------------------------------------
def _rope_dtype(cfg: ModelConfig):
    return np.dtype(accumulation_dtype(cfg.dtype))  # float32, or float64 for float64 compute


def rope_inv_freq(cfg: ModelConfig) -> np.ndarray:
    """Inverse frequencies [head_dim // 2], float32 (float64 for float64 compute), with the configured scaling
    applied."""
    dim, dtype = cfg.head_dim, _rope_dtype(cfg)
    inv_freq = (1.0 / (cfg.rope_theta ** (np.arange(0, dim, 2, dtype=np.int64).astype(dtype) / dim)))
    inv_freq = inv_freq.astype(dtype)
    rs = cfg.rope_scaling
    if rs.rope_type == "linear":
        return (inv_freq / rs.factor).astype(dtype)
    if rs.rope_type == "llama3":
        low_wavelen = rs.original_max_position_embeddings / rs.low_freq_factor
        high_wavelen = rs.original_max_position_embeddings / rs.high_freq_factor
        wavelen = 2 * math.pi / inv_freq
        # Long wavelengths (low frequencies) are interpolated by `factor`, short ones kept, the band between
        # blended smoothly: Llama 3.1's context extension.
        scaled = np.where(wavelen > low_wavelen, inv_freq / rs.factor, inv_freq)
        smooth = (rs.original_max_position_embeddings / wavelen - rs.low_freq_factor) / (
            rs.high_freq_factor - rs.low_freq_factor)
        blended = (1 - smooth) * scaled / rs.factor + smooth * scaled
        medium = (wavelen >= high_wavelen) & (wavelen <= low_wavelen)
        return np.where(medium, blended, scaled).astype(dtype)
    return inv_freq


def rope_cos_sin(cfg: ModelConfig, positions: jax.Array, max_position: int | None = None):
    """cos, sin of shape [B, T, head_dim] (float32; float64 for float64 compute) for integer positions [B, T].

    With `max_position` (a bound the caller guarantees: positions < max_position) they are looked up in a table
    computed here in numpy, a constant that XLA cannot fuse into (and re-evaluate in) every rotation that reads
    it. Without a bound they are computed in the graph."""
    inv_freq, dtype = rope_inv_freq(cfg), _rope_dtype(cfg)
    if max_position is not None:
        freqs = np.arange(max_position, dtype=dtype)[:, None] * inv_freq  # [P, D/2], the dtype used below
        # cos/sin of those float32 angles in float64, then rounded: numpy's float32 cos is a few ulp off.
        emb = np.concatenate([freqs, freqs], axis=-1).astype(np.float64)
        cos, sin = (jnp.asarray(f(emb).astype(dtype)) for f in (np.cos, np.sin))
        return cos[positions], sin[positions]
    freqs = positions.astype(dtype)[..., None] * jnp.asarray(inv_freq)  # [B, T, D/2]
    emb = jnp.concatenate([freqs, freqs], axis=-1)
    return jnp.cos(emb), jnp.sin(emb)


def apply_rope(x: jax.Array, cos: jax.Array, sin: jax.Array) -> jax.Array:
    """x [..., D] rotated in the rotate-half layout (first half paired with second half), in float32; cos and
    sin [..., D] broadcast against x."""
    half = x.shape[-1] // 2
    x32 = x.astype(accumulation_dtype(x.dtype))
    rotated = jnp.concatenate([-x32[..., half:], x32[..., :half]], axis=-1)
    return (x32 * cos + rotated * sin).astype(x.dtype)


def rope_heads(x: jax.Array, cos: jax.Array, sin: jax.Array) -> jax.Array:
    """x [B, T, heads, D] rotated with cos, sin [B, T, D]."""
    return apply_rope(x, cos[:, :, None, :], sin[:, :, None, :])


# ---- projections --------------------------------------------------------------------------------------------------
class Linear(nnx.Module):
    """y = x W^T (+ b) with W stored [out, in], exactly as in a Hugging Face checkpoint, so loading and exporting
    move bytes without transposing them. Returns float32 (low-precision inputs accumulate in float32); callers
    cast back where they need to."""

    def __init__(self, n_in: int, n_out: int, *, bias: bool, dtype, param_dtype, init, rngs: nnx.Rngs,
                 kernels: str = "fast"):
        self.weight = nnx.Param(init(rngs.params(), (n_out, n_in), param_dtype))
        self.bias = nnx.Param(jnp.zeros((n_out,), param_dtype)) if bias else None
        self.dtype = dtype
        self.kernels = kernels

    def __call__(self, x: jax.Array) -> jax.Array:
        y = get_kernels(self.kernels).linear(x.astype(self.dtype), self.weight[...].astype(self.dtype))
        return y if self.bias is None else y + self.bias[...].astype(y.dtype)


# ---- the decoder block: attention (GQA) and MLP (SwiGLU) ----------------------------------------------------------
class DecoderLayer(nnx.Module):
    """One pre-norm block: x + attn(norm(x)); x + mlp(norm(x)). Flat attribute names = checkpoint paths."""

    def __init__(self, cfg: ModelConfig, *, rngs: nnx.Rngs):
        dtype, pdtype = jnp.dtype(cfg.dtype), jnp.dtype(cfg.param_dtype)
        init = nnx.initializers.normal(cfg.initializer_range)

        def linear(n_in, n_out, bias):
            return Linear(n_in, n_out, bias=bias, dtype=dtype, param_dtype=pdtype, init=init, rngs=rngs,
                          kernels=cfg.kernels)

        h, d = cfg.hidden_size, cfg.head_dim
        self.attn_norm = RMSNorm(h, cfg.rms_norm_eps, pdtype, kernels=cfg.kernels)
        self.q_proj = linear(h, cfg.num_heads * d, cfg.attention_bias)
        self.k_proj = linear(h, cfg.num_kv_heads * d, cfg.attention_bias)
        self.v_proj = linear(h, cfg.num_kv_heads * d, cfg.attention_bias)
        self.o_proj = linear(cfg.num_heads * d, h, cfg.attention_bias)
        self.mlp_norm = RMSNorm(h, cfg.rms_norm_eps, pdtype, kernels=cfg.kernels)
        self.gate_proj = linear(h, cfg.intermediate_size, cfg.mlp_bias)
        self.up_proj = linear(h, cfg.intermediate_size, cfg.mlp_bias)
        self.down_proj = linear(cfg.intermediate_size, h, cfg.mlp_bias)
        self.num_heads, self.num_kv_heads, self.head_dim = cfg.num_heads, cfg.num_kv_heads, d
        self.kernels = cfg.kernels

    def qkv(self, x: jax.Array):
        """Projections before RoPE: q [B, T, H, D], k and v [B, T, KV, D]."""
        b, t, _ = x.shape
        q = self.q_proj(x).astype(x.dtype).reshape(b, t, self.num_heads, self.head_dim)
        k = self.k_proj(x).astype(x.dtype).reshape(b, t, self.num_kv_heads, self.head_dim)
        v = self.v_proj(x).astype(x.dtype).reshape(b, t, self.num_kv_heads, self.head_dim)
        return q, k, v

    def attend(self, q, k, v, mask, rope=None) -> jax.Array:
        """softmax(q k^T / sqrt(D), masked) v over grouped heads: q [B, T, H, D]; k, v [B, S, KV, D]; mask
        [B, T, S] bool -> [B, T, H * D]. rope (cos, sin): q and k arrive unrotated and are rotated with them."""
        b, t, _, _ = q.shape
        rotation = None if rope is None else (apply_rope, *rope)
        return get_kernels(self.kernels).attention(q, k, v, mask, rotation).reshape(b, t, -1)

    def attend_causal(self, q: jax.Array, k: jax.Array, v: jax.Array) -> jax.Array:
        """Causal attention over right-padded rows with jax.nn.dot_product_attention: cuDNN's flash kernel on
        GPUs, jax's XLA implementation elsewhere. In a right-padded row every padding key comes after every real
        query, so the causal mask alone hides padding from real tokens (padded positions' outputs are never
        read). q, k rotated."""
        b, t, _, _ = q.shape
        gpu = jax.default_backend() == "gpu"
        if gpu and q.dtype not in (jnp.bfloat16, jnp.float16):
            raise ModelConfigError(f"model config: attention 'cudnn' needs a 16-bit compute dtype, got {q.dtype}")
        out = jax.nn.dot_product_attention(q, k, v, is_causal=True, implementation="cudnn" if gpu else "xla")
        return out.reshape(b, t, -1)

    def mlp(self, x: jax.Array) -> jax.Array:
        gate, up = (shard(proj(x), "batch", None, "mlp") for proj in (self.gate_proj, self.up_proj))
        gated = get_kernels(self.kernels).swiglu(gate, up, x.dtype)
        return self.down_proj(gated).astype(x.dtype)

    def __call__(self, x, cos, sin, mask):
        """mask [B, T, S] bool for the dense attention; None: right-padded rows, causal attention by the fused
        kernel (`attend_causal`)."""
        q, k, v = (shard(a, "batch", None, "heads") for a in self.qkv(self.attn_norm(x)))
        if mask is None:
            attended = self.attend_causal(rope_heads(q, cos, sin), rope_heads(k, cos, sin), v)
        else:
            attended = self.attend(q, k, v, shard(mask, "batch"), rope=(cos, sin))
        x = shard(x + self.o_proj(shard(attended, "batch", None, "heads")).astype(x.dtype), "batch")
        return x + self.mlp(self.mlp_norm(x))

    def decode(self, x, cos, sin, mask, k_cache, v_cache, write_index):
        """Like __call__, but keys/values of the new tokens are written into the cache and attention reads it."""
        q, k, v = self.qkv(self.attn_norm(x))
        q, k = rope_heads(q, cos, sin), rope_heads(k, cos, sin)
        k_cache = jax.lax.dynamic_update_slice(k_cache, k.astype(k_cache.dtype), (0, write_index, 0, 0))
        v_cache = jax.lax.dynamic_update_slice(v_cache, v.astype(v_cache.dtype), (0, write_index, 0, 0))
        attended = self.attend(q, k_cache.astype(q.dtype), v_cache.astype(q.dtype), mask)
        x = x + self.o_proj(attended).astype(x.dtype)
        return x + self.mlp(self.mlp_norm(x)), k_cache, v_cache


# ---- the model ----------------------------------------------------------------------------------------------------
class KVCache(NamedTuple):
    k: jax.Array  # [L, B, S, KV, D]
    v: jax.Array  # [L, B, S, KV, D]


def default_positions(attention_mask: jax.Array) -> jax.Array:
    """Positions that follow the mask: the first real token is position 0 (left padding works)."""
    return jnp.maximum(jnp.cumsum(attention_mask.astype(jnp.int32), axis=-1) - 1, 0)


class Llama(nnx.Module):
    def __init__(self, cfg: ModelConfig, *, rngs: nnx.Rngs):
        if "float64" in (cfg.dtype, cfg.param_dtype) and not jax.config.x64_enabled:
            # Without x64, jax silently truncates float64 to float32: the parity it is for would prove nothing.
            raise ModelConfigError("model config: float64 needs JAX x64 (run under `with jax.enable_x64(True):`)")
        self.cfg = cfg
        dtype, pdtype = jnp.dtype(cfg.dtype), jnp.dtype(cfg.param_dtype)
        self.embed = nnx.Embed(cfg.vocab_size, cfg.hidden_size, dtype=dtype, param_dtype=pdtype,
                               embedding_init=nnx.initializers.normal(cfg.initializer_range), rngs=rngs)

        @nnx.split_rngs(splits=cfg.num_layers)
        @nnx.vmap(in_axes=(0,), out_axes=0)
        def stacked_layers(rngs):
            return DecoderLayer(cfg, rngs=rngs)

        self.layers = stacked_layers(rngs)
        self.final_norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps, pdtype, kernels=cfg.kernels)
        if not cfg.tie_word_embeddings:
            self.lm_head = Linear(cfg.hidden_size, cfg.vocab_size, bias=False, dtype=dtype, param_dtype=pdtype,
                                  init=nnx.initializers.normal(cfg.initializer_range), rngs=rngs,
                                  kernels=cfg.kernels)

    def output_embedding(self) -> jax.Array:
        """[V, H] matrix mapping final hidden states to logits (the lm_head, or the embedding when tied),
        vocabulary-major as stored."""
        if self.cfg.tie_word_embeddings:
            return self.embed.embedding[...]
        return self.lm_head.weight[...]

    def logits_from_hidden(self, h: jax.Array) -> jax.Array:
        w = self.output_embedding().astype(h.dtype)
        return jnp.einsum("bth,vh->btv", h, w, preferred_element_type=accumulation_dtype(h.dtype))

    def _run_layers(self, h, carry_fn, extra_xs=None):
        """Apply all layers: carry_fn(layer, h, extra) -> (h, extra_out), as a rolled scan (`scan_layers`) or
        unrolled over per-layer weights (`kernels.unstack_layers`)."""
        graphdef, state = nnx.split(self.layers)

        def body(h, xs):
            layer_state, extra = xs
            return carry_fn(nnx.merge(graphdef, layer_state), h, extra)

        if self.cfg.remat:
            body = jax.checkpoint(body, policy=jax.checkpoint_policies.nothing_saveable)
        if self.cfg.scan_layers:
            return jax.lax.scan(body, h, (state, extra_xs))
        outs = []
        for i, layer_state in enumerate(get_kernels(self.cfg.kernels).unstack_layers(state, self.cfg.dtype)):
            h, out = body(h, (layer_state, jax.tree.map(lambda x: x[i], extra_xs)))
            outs.append(out)
        return h, jax.tree.map(lambda *xs: jnp.stack(xs), *outs)

    def hidden_states(self, input_ids, attention_mask=None, positions=None, *, right_padded=False) -> jax.Array:
        """Final-norm hidden states [B, T, H] in the compute dtype.

        right_padded: the caller guarantees every row is its real tokens followed by padding. Only then can
        `attention: cudnn` run, as its kernel applies the causal mask alone; otherwise the dense attention runs,
        whatever the config says."""
        b, t = input_ids.shape
        if attention_mask is None:
            attention_mask = jnp.ones((b, t), dtype=bool)
        attention_mask = attention_mask.astype(bool)
        if positions is None:  # each row's positions count its real tokens: all below t
            cos, sin = rope_cos_sin(self.cfg, default_positions(attention_mask), max_position=t)
        else:
            cos, sin = rope_cos_sin(self.cfg, positions)
        h = shard(self.embed(shard(input_ids, "batch")), "batch")
        mask = None  # the fused kernel's causal mask
        if not (right_padded and self.cfg.attention == "cudnn"):
            mask = jnp.tril(jnp.ones((t, t), dtype=bool))[None] & attention_mask[:, None, :]

        def apply_layer(layer, h, _):
            return shard(layer(h, cos, sin, mask), "batch"), None

        h, _ = self._run_layers(h, apply_layer)
        return shard(self.final_norm(h), "batch")

    def __call__(self, input_ids, attention_mask=None, positions=None) -> jax.Array:
        """Logits [B, T, V] in float32 (float64 for float64 compute)."""
        return self.logits_from_hidden(self.hidden_states(input_ids, attention_mask, positions))

    # -- KV-cache decoding ---------------------------------------------------------------------------------------
    def init_cache(self, batch: int, max_len: int, dtype=None) -> KVCache:
        dtype = dtype or jnp.dtype(self.cfg.dtype)
        shape = (self.cfg.num_layers, batch, max_len, self.cfg.num_kv_heads, self.cfg.head_dim)
        return KVCache(jnp.zeros(shape, dtype), jnp.zeros(shape, dtype))

    def decode(self, input_ids, positions, cache: KVCache, write_index, kv_mask):
        """Run T new tokens against the cache.

        input_ids, positions: [B, T]; write_index: int32 scalar, the cache slot of the first new token;
        kv_mask: [B, S] bool, which cache slots hold real tokens once this block is written.
        Returns (logits [B, T, V] float32, updated cache).
        """
        t = input_ids.shape[1]
        s = cache.k.shape[2]
        cos, sin = rope_cos_sin(self.cfg, positions)
        slots = jnp.arange(s)[None, :]
        causal = slots <= (write_index + jnp.arange(t))[:, None]  # [T, S]
        mask = causal[None] & kv_mask.astype(bool)[:, None, :]
        h = self.embed(input_ids)

        def apply_layer(layer, h, kv):
            h, k, v = layer.decode(h, cos, sin, mask, kv[0], kv[1], write_index)
            return h, (k, v)

        h, (k, v) = self._run_layers(h, apply_layer, (cache.k, cache.v))
        return self.logits_from_hidden(self.final_norm(h)), KVCache(k, v)


# ---- construction helpers -----------------------------------------------------------------------------------------
def abstract_model(cfg: ModelConfig) -> Llama:
    """A Llama whose parameters are ShapeDtypeStructs (no memory allocated)."""
    return nnx.eval_shape(lambda: Llama(cfg, rngs=nnx.Rngs(0)))


def param_shapes(cfg: ModelConfig) -> dict[tuple[str, ...], tuple[tuple[int, ...], jnp.dtype]]:
    """{path: (shape, dtype)} for every parameter, e.g. ('layers', 'q_proj', 'weight'): ((L, nH*D, H), f32)."""
    state = nnx.state(abstract_model(cfg), nnx.Param)
    flat = nnx.to_flat_state(state)
    return {tuple(str(p) for p in path): (tuple(v.get_value().shape), v.get_value().dtype) for path, v in flat}


def model_from_params(cfg: ModelConfig, params: dict) -> Llama:
    """Build a Llama around an existing nested dict of arrays (as from `nnx.state(model).to_pure_dict()`)."""
    graphdef, state = nnx.split(abstract_model(cfg))
    nnx.replace_by_pure_dict(state, params)
    return nnx.merge(graphdef, state)


def init_model(cfg: ModelConfig, seed: int = 0) -> Llama:
    return Llama(cfg, rngs=nnx.Rngs(seed))
