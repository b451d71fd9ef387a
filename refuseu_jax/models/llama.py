"""The Llama-3.x decoder in Flax NNX: RMSNorm, RoPE (default / linear / llama3 scaling), grouped-query attention,
SwiGLU MLP, tied or untied embeddings, optional biases, a padding-aware mask and a KV cache for decoding.

Layers are always stored stacked on a leading axis (one array per weight for all layers), whether compute scans
over them or loops. That keeps one parameter layout for checkpoints, sharding rules and optimizers; see the
parameter tree in `param_shapes`.

Numerics follow transformers' LlamaForCausalLM: RMSNorm in float32 then cast back before the scale, softmax in
float32, RoPE in the rotate-half layout, inverse frequencies computed in float32.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from data_tools.errors import UserError
from refuseu_jax.models.config import ModelConfig

MASK_VALUE = -0.7 * float(np.finfo(np.float32).max)  # finite, so fully masked (padding) rows give no NaN


def _dtype(name: str):
    return jnp.dtype(name)


# ---- rotary position embedding --------------------------------------------------------------------------------
def rope_inv_freq(cfg: ModelConfig) -> np.ndarray:
    """Inverse frequencies [head_dim // 2], float32, with the configured scaling applied."""
    dim = cfg.head_dim
    inv_freq = (1.0 / (cfg.rope_theta ** (np.arange(0, dim, 2, dtype=np.int64).astype(np.float32) / dim)))
    inv_freq = inv_freq.astype(np.float32)
    rs = cfg.rope_scaling
    if rs.rope_type == "linear":
        return (inv_freq / rs.factor).astype(np.float32)
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
        return np.where(medium, blended, scaled).astype(np.float32)
    return inv_freq


def rope_cos_sin(cfg: ModelConfig, positions: jax.Array, max_position: int | None = None):
    """cos, sin of shape [B, T, head_dim] (float32) for integer positions [B, T].

    With `max_position` (a bound the caller guarantees: positions < max_position) they are looked up in a table
    computed here, in numpy: XLA:CPU drops optimization barriers and fuses cos/sin of the angles into every
    rotation that reads them, evaluating them again for each head, layer and pass (SmolLM2 bf16 DPO step:
    ~100 ms of 2.5 s). A constant table can only be read. Without a bound they are computed in the graph."""
    inv_freq = rope_inv_freq(cfg)
    if max_position is not None:
        freqs = np.arange(max_position, dtype=np.float32)[:, None] * inv_freq  # [P, D/2], float32 as below
        # cos/sin of those float32 angles in float64, then rounded: numpy's float32 cos is a few ulp off, which
        # doubled SmolLM2's float32 logit error against float64 (1.1e-4 -> 2.0e-4).
        emb = np.concatenate([freqs, freqs], axis=-1).astype(np.float64)
        cos, sin = (jnp.asarray(f(emb).astype(np.float32)) for f in (np.cos, np.sin))
        return cos[positions], sin[positions]
    freqs = positions.astype(jnp.float32)[..., None] * jnp.asarray(inv_freq)  # [B, T, D/2]
    emb = jnp.concatenate([freqs, freqs], axis=-1)
    return jnp.cos(emb), jnp.sin(emb)


def apply_rope(x: jax.Array, cos: jax.Array, sin: jax.Array) -> jax.Array:
    """x [..., D] rotated in the rotate-half layout (first half paired with second half), in float32; cos and
    sin [..., D] broadcast against x (callers insert the head axis where their layout has it)."""
    half = x.shape[-1] // 2
    x32 = x.astype(jnp.float32)
    rotated = jnp.concatenate([-x32[..., half:], x32[..., :half]], axis=-1)
    return (x32 * cos + rotated * sin).astype(x.dtype)


def rope_heads(x: jax.Array, cos: jax.Array, sin: jax.Array) -> jax.Array:
    """x [B, T, heads, D] rotated with cos, sin [B, T, D]."""
    return apply_rope(x, cos[:, :, None, :], sin[:, :, None, :])


# ---- modules ---------------------------------------------------------------------------------------------------
def row_major(x: jax.Array) -> jax.Array:
    """x materialised in row-major layout on CPU (a no-op elsewhere). XLA folds a transpose that feeds a matmul
    into the operand's layout; XLA:CPU's bfloat16 matmul does not take such operands and falls back to
    widening both to float32 (the attention products of a bf16 SmolLM2 step, forward and backward)."""
    if jax.default_backend() != "cpu":
        return x
    from jax.experimental.layout import Layout, with_layout_constraint  # CPU-only; moves between jax releases

    return with_layout_constraint(x, Layout(major_to_minor=tuple(range(x.ndim))))


def contract_rows(a: jax.Array, b: jax.Array) -> jax.Array:
    """a^T b for a [..., n, p], b [..., n, q] -> [..., p, q] float32 (leading axes are batch axes): the
    weight-gradient product, summed over tokens.

    XLA:CPU's fast bfloat16 matmul (YNNPACK) needs the left operand's contracted axis last; for a^T b it falls
    back to converting both operands to float32 (about 350 instead of 700-880 GFLOP/s on SmolLM2's shapes, 2
    cores). So on CPU a^T is materialised first; the layout constraint keeps XLA from folding that transpose back
    into the matmul. Accelerators transpose inside their matmul units for free and get the plain product."""
    batch = tuple(range(a.ndim - 2))
    if jax.default_backend() == "cpu":
        a_t = row_major(jnp.swapaxes(a, -1, -2))
        return jax.lax.dot_general(a_t, b, (((a.ndim - 1,), (b.ndim - 2,)), (batch, batch)),
                                   preferred_element_type=jnp.float32)
    return jax.lax.dot_general(a, b, (((a.ndim - 2,), (b.ndim - 2,)), (batch, batch)),
                               preferred_element_type=jnp.float32)


def contract_last(a: jax.Array, b: jax.Array) -> jax.Array:
    """a b^T for a [..., m, d], b [..., n, d] -> [..., m, n] float32 (leading axes are batch axes)."""
    batch = tuple(range(a.ndim - 2))
    return jax.lax.dot_general(a, b, (((a.ndim - 1,), (b.ndim - 1,)), (batch, batch)),
                               preferred_element_type=jnp.float32)


def contract_inner(a: jax.Array, b: jax.Array) -> jax.Array:
    """a b for a [..., m, n], b [..., n, d] -> [..., m, d] float32 (leading axes are batch axes)."""
    batch = tuple(range(a.ndim - 2))
    return jax.lax.dot_general(a, b, (((a.ndim - 1,), (b.ndim - 2,)), (batch, batch)),
                               preferred_element_type=jnp.float32)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def swiglu(gate: jax.Array, up: jax.Array, dtype) -> jax.Array:
    """silu(gate) * up, computed in float32 and returned in `dtype` (the down projection's input).

    One pass forward and one backward: autodiff kept sigmoid(gate) and silu(gate) as float32 arrays of their
    own, and each float32 pass over [tokens, intermediate] costs as much as its arithmetic on this CPU
    (SmolLM2 bf16 DPO step: ~190 ms of 2.5 s in these element-wise passes). The backward recomputes the
    sigmoid instead of storing it."""
    return _swiglu(gate, up, dtype)


def _swiglu(gate, up, dtype):
    gate32 = gate.astype(jnp.float32)
    return (gate32 * jax.nn.sigmoid(gate32) * up.astype(jnp.float32)).astype(dtype)


def _swiglu_fwd(gate, up, dtype):
    return _swiglu(gate, up, dtype), (gate, up)


def _swiglu_bwd(dtype, residuals, g):
    gate, up = residuals
    gate32, up32, g32 = gate.astype(jnp.float32), up.astype(jnp.float32), g.astype(jnp.float32)
    sig = jax.nn.sigmoid(gate32)
    d_gate = g32 * up32 * sig * (1.0 + gate32 * (1.0 - sig))
    return d_gate.astype(gate.dtype), (g32 * gate32 * sig).astype(up.dtype)


swiglu.defvjp(_swiglu_fwd, _swiglu_bwd)


@jax.custom_vjp
def attention_core(q: jax.Array, k: jax.Array, v: jax.Array, mask: jax.Array) -> jax.Array:
    """softmax(q k^T / sqrt(D), masked) v for q [B, KV, M, D], k and v [B, KV, S, D], mask [B, 1, M, S] bool;
    -> [B, KV, M, D] in q's dtype. Scores and softmax in float32, products in the inputs' dtype.

    Its own backward pass keeps the probabilities in the inputs' dtype and runs every product in that dtype,
    accumulating in float32 (the flash-attention recipe); autodiff would hand the products float32 cotangents.
    On CPU the callers also pass row-major operands (`row_major`), or XLA:CPU widens them to float32."""
    out, _ = _attention_fwd(q, k, v, mask)
    return out


def _attention_fwd(q, k, v, mask):
    scores = contract_last(q, k) * (1.0 / math.sqrt(q.shape[-1]))
    probs = jax.nn.softmax(jnp.where(mask, scores, MASK_VALUE), axis=-1).astype(v.dtype)
    return contract_inner(probs, v).astype(q.dtype), (q, k, v, probs)


def _attention_bwd(residuals, g):
    q, k, v, probs = residuals
    g = g.astype(v.dtype)
    dprobs = contract_last(g, v)  # [B, KV, M, S]
    p32 = probs.astype(jnp.float32)
    # Softmax backward; masked positions have probability 0, so their score gradient is 0 without the mask.
    dscores = p32 * (dprobs - jnp.sum(p32 * dprobs, axis=-1, keepdims=True)) * (1.0 / math.sqrt(q.shape[-1]))
    dscores = dscores.astype(q.dtype)
    dq = contract_inner(dscores, k).astype(q.dtype)
    dk = contract_rows(dscores, q).astype(k.dtype)
    dv = contract_rows(probs, g).astype(v.dtype)
    return dq, dk, dv, None


attention_core.defvjp(_attention_fwd, _attention_bwd)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def mixed_matmul(x: jax.Array, w: jax.Array, w_in_out: bool = False) -> jax.Array:
    """x [n, in] times a weight stored [out, in] (or [in, out] if `w_in_out`), low-precision inputs accumulated
    and returned in float32, with a backward pass that also runs in the inputs' dtype. Autodiff of
    `preferred_element_type=float32` would hand its two transposed matmuls a float32 cotangent, and XLA then
    widens the other operand and multiplies in float32: on this CPU half the speed of the forward (SmolLM2 bf16
    DPO step: backward projections 0.85 s of 3.6 s). Mixed-precision practice instead: the cotangent is cast
    down, products accumulate in float32, gradients come back in the inputs' dtype."""
    return jax.lax.dot_general(x, w, (((1,), (0 if w_in_out else 1,)), ((), ())), preferred_element_type=jnp.float32)


def _mixed_matmul_fwd(x, w, w_in_out):
    return mixed_matmul(x, w, w_in_out), (x, w)


def _mixed_matmul_bwd(w_in_out, residuals, g):
    x, w = residuals
    g = g.astype(x.dtype)
    grad_x = jax.lax.dot_general(g, w, (((1,), (1 if w_in_out else 0,)), ((), ())),
                                 preferred_element_type=jnp.float32)
    grad_w = contract_rows(x, g) if w_in_out else contract_rows(g, x)
    return grad_x.astype(x.dtype), grad_w.astype(w.dtype)


mixed_matmul.defvjp(_mixed_matmul_fwd, _mixed_matmul_bwd)


def _is_float(x) -> bool:
    return jnp.issubdtype(x.dtype, jnp.floating)


def as_uint16(x: jax.Array) -> jax.Array:
    """16-bit floats viewed as uint16 (other arrays unchanged). XLA:CPU has no native bfloat16 slice, dynamic
    slice or concatenate: it widens the whole operand to float32 and narrows the result (on SmolLM2's weights
    about 1 ns per element, scalar code); the same bytes moved as integers are a plain copy."""
    return jax.lax.bitcast_convert_type(x, jnp.uint16) if x.dtype.itemsize == 2 and _is_float(x) else x


def from_uint16(bits: jax.Array, like) -> jax.Array:
    return jax.lax.bitcast_convert_type(bits, like.dtype) if bits.dtype != like.dtype else bits


@functools.partial(jax.custom_vjp, nondiff_argnums=(1,))
def unstack_layers(stacked, dtype=None):
    """A pytree of [L, ...] arrays -> a tuple of L pytrees of per-layer slices, floating ones cast to `dtype`
    (if given). The backward pass stacks the L layer gradients in one concatenation, in the stacked arrays'
    dtypes; autodiff of L slices would instead pad each gradient to the full stack and add them. Casting per
    layer reads each float32 weight once, where casting the stack first and then slicing it reads and writes
    the low-precision copy again. Slices of 16-bit floats move their bytes as uint16 (see `as_uint16`)."""
    leaves, treedef = jax.tree.flatten(stacked)

    def take(x, i):
        if dtype is not None and _is_float(x) and x.dtype != jnp.dtype(dtype):
            return x[i].astype(dtype)
        return from_uint16(as_uint16(x)[i], x)

    return tuple(jax.tree.unflatten(treedef, [take(x, i) for x in leaves]) for i in range(leaves[0].shape[0]))


def _unstack_fwd(stacked, dtype):
    # The backward pass needs only each stack's dtype: empty arrays carry it without keeping the weights alive.
    return unstack_layers(stacked, dtype), jax.tree.map(lambda x: jnp.zeros((0,), x.dtype), stacked)


def stack_leaves(arrays) -> jax.Array:
    """jnp.stack of same-dtype arrays; 16-bit floats moved as uint16 (see `as_uint16`)."""
    return from_uint16(jnp.stack([as_uint16(a) for a in arrays]), arrays[0])


def _unstack_bwd(dtype, like, layer_grads):
    def stack(ref, *grads):
        if ref.dtype.itemsize == 2:
            return stack_leaves([g.astype(ref.dtype) for g in grads])
        return jnp.stack([g.astype(ref.dtype) for g in grads])  # widening fused into the concatenation

    return (jax.tree.map(stack, like, *layer_grads),)


unstack_layers.defvjp(_unstack_fwd, _unstack_bwd)


class RMSNorm(nnx.Module):
    def __init__(self, dim: int, eps: float, param_dtype, *, rngs: nnx.Rngs):
        del rngs
        self.scale = nnx.Param(jnp.ones((dim,), param_dtype))
        self.eps = eps

    def __call__(self, x: jax.Array) -> jax.Array:
        x32 = x.astype(jnp.float32)
        normed = x32 * jax.lax.rsqrt(jnp.mean(x32 * x32, axis=-1, keepdims=True) + self.eps)
        return scale_features(normed.astype(x.dtype), self.scale[...].astype(x.dtype))


@jax.custom_vjp
def scale_features(x: jax.Array, scale: jax.Array) -> jax.Array:
    """x [..., F] * scale [F]. Its backward sums the scale gradient over tokens as a ones-vector matmul:
    XLA:CPU ran autodiff's column sum as a reduce-window at ~1 ms per norm for 1024 x 576 (SmolLM2 bf16 DPO
    step: 61 norms, ~60 ms)."""
    return x * scale


def _scale_features_fwd(x, scale):
    return x * scale, (x, scale)


def _scale_features_bwd(residuals, g):
    x, scale = residuals
    rows = (g * x).reshape(-1, x.shape[-1])
    ones = jnp.ones((1, rows.shape[0]), rows.dtype)
    d_scale = jax.lax.dot_general(ones, rows, (((1,), (0,)), ((), ())), preferred_element_type=jnp.float32)
    return g * scale, d_scale[0].astype(scale.dtype)


scale_features.defvjp(_scale_features_fwd, _scale_features_bwd)


class Linear(nnx.Module):
    """y = x W^T (+ b) with W stored [out, in], exactly as in a Hugging Face checkpoint: loading and exporting
    move bytes without transposing them, and XLA contracts either layout at the same speed (measured on CPU).

    Inputs [..., in] are flattened to one 2-D matmul: the weight gradient of a [B, T, in] input would contract two
    axes, which XLA:CPU runs far slower (one SmolLM2 layer, 8 x 128 tokens, forward + backward: 117 -> 88 ms).
    Low-precision compute accumulates in float32 and returns float32; callers cast back where they need to.
    """

    def __init__(self, n_in: int, n_out: int, *, bias: bool, dtype, param_dtype, init, rngs: nnx.Rngs,
                 in_out: bool = False):
        shape = (n_in, n_out) if in_out else (n_out, n_in)
        self.weight = nnx.Param(init(rngs.params(), shape, param_dtype))
        self.bias = nnx.Param(jnp.zeros((n_out,), param_dtype)) if bias else None
        self.dtype = dtype
        self.in_out = in_out  # weight stored [in, out] (ModelConfig.weights_in_out)

    def __call__(self, x: jax.Array) -> jax.Array:
        flat, weight = x.reshape(-1, x.shape[-1]).astype(self.dtype), self.weight[...].astype(self.dtype)
        if self.dtype == jnp.float32:
            y = jax.lax.dot_general(flat, weight, (((1,), (0 if self.in_out else 1,)), ((), ())))
        else:
            y = mixed_matmul(flat, weight, self.in_out)
        if self.bias is not None:
            y = y + self.bias[...].astype(y.dtype)
        return y.reshape(*x.shape[:-1], -1)


class DecoderLayer(nnx.Module):
    """One pre-norm block: x + attn(norm(x)); x + mlp(norm(x)). Flat attribute names = checkpoint paths."""

    def __init__(self, cfg: ModelConfig, *, rngs: nnx.Rngs):
        dtype, pdtype = _dtype(cfg.dtype), _dtype(cfg.param_dtype)
        init = nnx.initializers.normal(cfg.initializer_range)

        # Low-precision compute accumulates matmuls in float32 (outputs cast back at the call sites): more exact,
        # and on this CPU faster too (SmolLM2 forward, 8 x 128 tokens, bf16: 0.88 s -> 0.64 s).
        def linear(n_in, n_out, bias):
            return Linear(n_in, n_out, bias=bias, dtype=dtype, param_dtype=pdtype, init=init, rngs=rngs,
                          in_out=cfg.weights_in_out)

        h, d = cfg.hidden_size, cfg.head_dim
        self.attn_norm = RMSNorm(h, cfg.rms_norm_eps, pdtype, rngs=rngs)
        self.q_proj = linear(h, cfg.num_heads * d, cfg.attention_bias)
        self.k_proj = linear(h, cfg.num_kv_heads * d, cfg.attention_bias)
        self.v_proj = linear(h, cfg.num_kv_heads * d, cfg.attention_bias)
        self.o_proj = linear(cfg.num_heads * d, h, cfg.attention_bias)
        self.mlp_norm = RMSNorm(h, cfg.rms_norm_eps, pdtype, rngs=rngs)
        self.gate_proj = linear(h, cfg.intermediate_size, cfg.mlp_bias)
        self.up_proj = linear(h, cfg.intermediate_size, cfg.mlp_bias)
        self.down_proj = linear(cfg.intermediate_size, h, cfg.mlp_bias)
        self.num_heads, self.num_kv_heads, self.head_dim = cfg.num_heads, cfg.num_kv_heads, d

    def qkv(self, x: jax.Array):
        """Projections before RoPE: q [B, T, H, D], k and v [B, T, KV, D]."""
        b, t, _ = x.shape
        q = self.q_proj(x).astype(x.dtype).reshape(b, t, self.num_heads, self.head_dim)
        k = self.k_proj(x).astype(x.dtype).reshape(b, t, self.num_kv_heads, self.head_dim)
        v = self.v_proj(x).astype(x.dtype).reshape(b, t, self.num_kv_heads, self.head_dim)
        return q, k, v

    def attend(self, q: jax.Array, k: jax.Array, v: jax.Array, mask: jax.Array, cos=None, sin=None) -> jax.Array:
        """q [B,T,H,D]; k, v [B,S,KV,D]; mask [B,T,S] bool -> [B,T,H*D]. With cos, sin [B, T, D] (S == T), q and
        k arrive unrotated and RoPE is applied here; without, they are already rotated (the KV cache).

        The query heads that share a KV head are folded into the query axis ([B, KV, G*T, D]), so both products
        are plain 4-D batched matmuls: on XLA:CPU twice as fast as a 5-D grouped einsum, forward and backward.
        RoPE runs after the fold, on the row-major result: fused into the transposing copy, XLA:CPU computes it
        at a quarter of the speed (SmolLM2 bf16 queries, forward: 0.67 vs 0.15 ms per layer).
        """
        b, t, _, d = q.shape
        groups = self.num_heads // self.num_kv_heads
        q = q.reshape(b, t, self.num_kv_heads, groups, d).transpose(0, 2, 3, 1, 4)
        q = row_major(q.reshape(b, self.num_kv_heads, groups * t, d))
        k, v = row_major(k.transpose(0, 2, 1, 3)), row_major(v.transpose(0, 2, 1, 3))  # [B, KV, S, D]
        if cos is not None:
            cos, sin = cos[:, None], sin[:, None]  # [B, 1, T, D]: the same rotation for every head
            tiled = (jnp.tile(cos, (1, 1, groups, 1)), jnp.tile(sin, (1, 1, groups, 1)))  # query axis is G*T
            q, k = row_major(apply_rope(q, *tiled)), row_major(apply_rope(k, cos, sin))
        out = attention_core(q, k, v, jnp.tile(mask, (1, groups, 1))[:, None])
        out = out.reshape(b, self.num_kv_heads, groups, t, d)
        return out.transpose(0, 3, 1, 2, 4).reshape(b, t, self.num_heads * d)

    def attend_causal(self, q: jax.Array, k: jax.Array, v: jax.Array) -> jax.Array:
        """Causal attention for right-padded rows with jax.nn.dot_product_attention: cuDNN's flash kernel on
        GPUs, jax's XLA implementation elsewhere. In a right-padded row every padding key comes after every real
        query, so the causal mask alone hides padding from real tokens (padded positions' outputs are never
        read). Grouped query heads and the [B, T, heads, D] layout are native to it: nothing is transposed."""
        b, t, _, d = q.shape
        gpu = jax.default_backend() == "gpu"
        if gpu and q.dtype not in (jnp.bfloat16, jnp.float16):
            raise UserError(f"model config: attention 'cudnn' needs a 16-bit compute dtype, got {q.dtype}")
        out = jax.nn.dot_product_attention(q, k, v, is_causal=True, implementation="cudnn" if gpu else "xla")
        return out.reshape(b, t, self.num_heads * d)

    def mlp(self, x: jax.Array) -> jax.Array:
        return self.down_proj(swiglu(self.gate_proj(x), self.up_proj(x), x.dtype)).astype(x.dtype)

    def __call__(self, x, cos, sin, mask):
        """mask [B, T, S] bool for the dense attention; None: right-padded rows, causal attention by the fused
        kernel (`attend_causal`)."""
        q, k, v = self.qkv(self.attn_norm(x))
        if mask is None:
            attended = self.attend_causal(rope_heads(q, cos, sin), rope_heads(k, cos, sin), v)
        else:
            attended = self.attend(q, k, v, mask, cos, sin)
        x = x + self.o_proj(attended).astype(x.dtype)
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


class KVCache(NamedTuple):
    k: jax.Array  # [L, B, S, KV, D]
    v: jax.Array  # [L, B, S, KV, D]


def default_positions(attention_mask: jax.Array) -> jax.Array:
    """Positions that follow the mask: the first real token is position 0 (left padding works)."""
    return jnp.maximum(jnp.cumsum(attention_mask.astype(jnp.int32), axis=-1) - 1, 0)


class Llama(nnx.Module):
    def __init__(self, cfg: ModelConfig, *, rngs: nnx.Rngs):
        self.cfg = cfg
        dtype, pdtype = _dtype(cfg.dtype), _dtype(cfg.param_dtype)
        self.embed = nnx.Embed(cfg.vocab_size, cfg.hidden_size, dtype=dtype, param_dtype=pdtype,
                               embedding_init=nnx.initializers.normal(cfg.initializer_range), rngs=rngs)

        @nnx.split_rngs(splits=cfg.num_layers)
        @nnx.vmap(in_axes=(0,), out_axes=0)
        def stacked_layers(rngs):
            return DecoderLayer(cfg, rngs=rngs)

        self.layers = stacked_layers(rngs)
        self.final_norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps, pdtype, rngs=rngs)
        if not cfg.tie_word_embeddings:
            self.lm_head = Linear(cfg.hidden_size, cfg.vocab_size, bias=False, dtype=dtype, param_dtype=pdtype,
                                  init=nnx.initializers.normal(cfg.initializer_range), rngs=rngs)

    # -- helpers -----------------------------------------------------------------------------------------------
    def output_embedding(self) -> jax.Array:
        """[V, H] matrix mapping final hidden states to logits (the lm_head, or the embedding when tied).
        Vocabulary-major, as stored: a transposed view would cost XLA:CPU a copy of it in every use."""
        if self.cfg.tie_word_embeddings:
            return self.embed.embedding[...]
        return self.lm_head.weight[...]

    def logits_from_hidden(self, h: jax.Array) -> jax.Array:
        w = self.output_embedding().astype(h.dtype)
        return jnp.einsum("bth,vh->btv", h, w, preferred_element_type=jnp.float32)

    def _run_layers(self, h, carry_fn, extra_xs=None, layers=None):
        """Apply all layers: carry_fn(layer, h, extra) -> (h, extra_out), as a rolled scan or unrolled.

        Unrolled (scan_layers=False), each layer runs on its own slice from `unstack_layers`, whose backward pass
        stacks the layer gradients at once, where the rolled loop slices dynamically and fills zero-initialised
        stacks (SmolLM2 bf16 DPO step on 2 CPU cores: 4.9 -> 3.8 s; compile 11 -> 17 s). `layers`, a sequence of
        per-layer states (see `split_layers`), runs those instead of this module's stacked weights, unrolled:
        weights that are only read (a frozen reference) need not be sliced out of a stack in every call.
        """
        graphdef, state = nnx.split(self.layers)

        def body(h, xs):
            layer_state, extra = xs
            return carry_fn(nnx.merge(graphdef, layer_state), h, extra)

        if self.cfg.remat:
            body = jax.checkpoint(body, policy=jax.checkpoint_policies.nothing_saveable)
        if layers is not None:
            dtype = jnp.dtype(self.cfg.dtype)
            layers = [jax.tree.map(lambda x: x.astype(dtype) if _is_float(x) else x, layer) for layer in layers]
        elif self.cfg.scan_layers:
            return jax.lax.scan(body, h, (state, extra_xs))
        outs = []
        for i, layer_state in enumerate(layers if layers is not None else unstack_layers(state, self.cfg.dtype)):
            h, out = body(h, (layer_state, jax.tree.map(lambda x: x[i], extra_xs)))
            outs.append(out)
        return h, jax.tree.map(lambda *xs: jnp.stack(xs), *outs)

    # -- forward -----------------------------------------------------------------------------------------------
    def hidden_states(self, input_ids, attention_mask=None, positions=None, *, right_padded=False,
                      layers=None) -> jax.Array:
        """Final-norm hidden states [B, T, H] in the compute dtype.

        right_padded: the caller guarantees every row is its real tokens followed by padding (training batches
        are collated so). Only then can `attention: cudnn` run, as its kernel applies the causal mask alone;
        otherwise the dense attention runs, whatever the config says.
        layers: per-layer states to run instead of the stacked ones (see `_run_layers`)."""
        b, t = input_ids.shape
        if attention_mask is None:
            attention_mask = jnp.ones((b, t), dtype=bool)
        attention_mask = attention_mask.astype(bool)
        if positions is None:  # each row's positions count its real tokens: all below t
            cos, sin = rope_cos_sin(self.cfg, default_positions(attention_mask), max_position=t)
        else:
            cos, sin = rope_cos_sin(self.cfg, positions)
        h = self.embed(input_ids)
        mask = None  # the fused kernel's causal mask
        if not (right_padded and self.cfg.attention == "cudnn"):
            mask = jnp.tril(jnp.ones((t, t), dtype=bool))[None] & attention_mask[:, None, :]

        def apply_layer(layer, h, _):
            return layer(h, cos, sin, mask), None

        h, _ = self._run_layers(h, apply_layer, layers=layers)
        return self.final_norm(h)

    def __call__(self, input_ids, attention_mask=None, positions=None) -> jax.Array:
        """Logits [B, T, V] in float32."""
        return self.logits_from_hidden(self.hidden_states(input_ids, attention_mask, positions))

    # -- KV-cache decoding -------------------------------------------------------------------------------------
    def init_cache(self, batch: int, max_len: int, dtype=None) -> KVCache:
        dtype = dtype or _dtype(self.cfg.dtype)
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


# ---- construction helpers -------------------------------------------------------------------------------------
def split_layers(stacked, *, delete_stacks: bool = False) -> tuple:
    """Stacked layer weights ([L, ...] leaves) -> a tuple of L per-layer trees, each leaf placed like its stack
    minus the layer axis. With `delete_stacks` (the caller owns them and drops its tree) each stack's buffer is
    freed once it is split, so the copy never holds more than one extra leaf at a time."""
    leaves, treedef = jax.tree.flatten(stacked)
    per_leaf = []
    for x in leaves:
        sharding = x.sharding
        if isinstance(sharding, NamedSharding):
            sharding = NamedSharding(sharding.mesh, P(*tuple(sharding.spec)[1:]))
        per_leaf.append(jax.jit(lambda a: tuple(a), out_shardings=sharding)(x))
        if delete_stacks:
            x.delete()
    return tuple(jax.tree.unflatten(treedef, list(layer)) for layer in zip(*per_leaf))


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
