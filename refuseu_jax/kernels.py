"""Speed kernels, each beside the plain version it must equal.

The model (models/llama.py) computes through `get(cfg.kernels)`, a `Kernels` set: `FAST` (default) or `PLAIN`,
the same arithmetic written the obvious way and differentiated by autodiff. The log-prob head, the trainer and the
sampler call the fast helpers below by name. tests/refuseu_jax/test_kernels.py compares every fast function with
its plain twin (outputs and gradients, float32 and bfloat16), and the model run on both sets.

Why they exist, in one line: XLA:CPU widens bfloat16 operands to float32 whenever an operand reaches a matmul in a
layout its bfloat16 kernel does not take, or a cotangent arrives in float32, and it moves 16-bit floats through
slices and concatenations in float32. The measurements behind each kernel are in docs/training.md ("Kernels").
On accelerators the layout helpers step aside and the custom backward passes are ordinary mixed-precision ones.

This module sits below models/, train/ and sample.py (it imports none of them): the layer-stack helpers serve the
trainer and the sampler, which must not reach into the model for them, and the model must not hold them.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from refuseu_jax.parallel import mesh_declared

MASK_VALUE = -0.7 * float(np.finfo(np.float32).max)  # finite, so fully masked (padding) rows give no NaN


def _is_float(x) -> bool:
    return jnp.issubdtype(x.dtype, jnp.floating)


def accumulation_dtype(dtype):
    """float32, what every product accumulates in, or float64 for float64 operands: the plain kernels then run
    wholly in float64 (parity tests under JAX x64; the fast kernels accumulate in float32 by construction)."""
    return jnp.promote_types(dtype, jnp.float32)


# ---- layouts and products -----------------------------------------------------------------------------------------
def row_major(x: jax.Array) -> jax.Array:
    """x materialised row-major on CPU (a no-op elsewhere): XLA folds a transpose that feeds a matmul into the
    operand's layout, which XLA:CPU's bfloat16 matmul does not take (it widens both operands to float32).
    Also a no-op while a mesh is declared (fake CPU devices): the partitioner cannot see through a layout
    constraint and gathers its whole operand, the batch of every device, onto each."""
    if jax.default_backend() != "cpu" or mesh_declared():
        return x
    from jax.experimental.layout import Layout, with_layout_constraint  # CPU-only; moves between jax releases

    return with_layout_constraint(x, Layout(major_to_minor=tuple(range(x.ndim))))


def _dot(a, b, a_axis: int, b_axis: int) -> jax.Array:
    batch = tuple(range(a.ndim - 2))
    return jax.lax.dot_general(a, b, (((a_axis,), (b_axis,)), (batch, batch)), preferred_element_type=jnp.float32)


def contract_rows(a: jax.Array, b: jax.Array) -> jax.Array:
    """a^T b for a [..., n, p], b [..., n, q] -> [..., p, q] float32 (leading axes batch): a weight gradient.
    On CPU a^T is materialised first: XLA:CPU's bfloat16 matmul needs the left operand's contracted axis last."""
    if jax.default_backend() == "cpu":
        return _dot(row_major(jnp.swapaxes(a, -1, -2)), b, a.ndim - 1, b.ndim - 2)
    return _dot(a, b, a.ndim - 2, b.ndim - 2)


def contract_rows_reference(a, b):
    return jnp.einsum("...np,...nq->...pq", a, b, preferred_element_type=jnp.float32)


def contract_last(a: jax.Array, b: jax.Array) -> jax.Array:
    """a b^T for a [..., m, d], b [..., n, d] -> [..., m, n] float32."""
    return _dot(a, b, a.ndim - 1, b.ndim - 1)


def contract_inner(a: jax.Array, b: jax.Array) -> jax.Array:
    """a b for a [..., m, n], b [..., n, d] -> [..., m, d] float32."""
    return _dot(a, b, a.ndim - 1, b.ndim - 2)


# ---- projections --------------------------------------------------------------------------------------------------
@jax.custom_vjp
def mixed_matmul(x: jax.Array, w: jax.Array) -> jax.Array:
    """x [n, in] times w [out, in] stored as in HF, accumulated and returned in float32. Its backward casts the
    cotangent down to the inputs' dtype and runs both products in it (autodiff would multiply in float32)."""
    return jax.lax.dot_general(x, w, (((1,), (1,)), ((), ())), preferred_element_type=jnp.float32)


def _mixed_matmul_fwd(x, w):
    return mixed_matmul(x, w), (x, w)


def _mixed_matmul_bwd(residuals, g):
    x, w = residuals
    g = g.astype(x.dtype)
    grad_x = jax.lax.dot_general(g, w, (((1,), (0,)), ((), ())), preferred_element_type=jnp.float32)
    return grad_x.astype(x.dtype), contract_rows(g, x).astype(w.dtype)


mixed_matmul.defvjp(_mixed_matmul_fwd, _mixed_matmul_bwd)


def linear(x: jax.Array, w: jax.Array) -> jax.Array:
    """x [..., in] W^T for W [out, in] -> [..., out] float32. Flattened to one 2-D matmul: a weight gradient that
    contracts two token axes runs far slower on XLA:CPU."""
    flat = x.reshape(-1, x.shape[-1])
    if x.dtype == jnp.float32:
        y = jax.lax.dot_general(flat, w, (((1,), (1,)), ((), ())))
    else:
        y = mixed_matmul(flat, w)
    return y.reshape(*x.shape[:-1], w.shape[0])


def linear_reference(x, w):
    return jnp.einsum("...i,oi->...o", x, w, preferred_element_type=accumulation_dtype(x.dtype))


def linear_in_out(x: jax.Array, w: jax.Array) -> jax.Array:
    """x [..., in] W for W stored [in, out] -> [..., out] float32: the sampler's decode copy (XLA:CPU repacks an
    [out, in] weight on every few-row product). Forward only; `linear_reference(x, W.T)` is its plain version."""
    y = jax.lax.dot_general(x.reshape(-1, x.shape[-1]), w, (((1,), (0,)), ((), ())),
                            preferred_element_type=jnp.float32)
    return y.reshape(*x.shape[:-1], w.shape[1])


# ---- element-wise -----------------------------------------------------------------------------------------------
@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def swiglu(gate: jax.Array, up: jax.Array, dtype) -> jax.Array:
    """silu(gate) * up in float32, returned in `dtype`. One pass each way: the backward recomputes the sigmoid
    instead of keeping autodiff's float32 sigmoid and silu arrays."""
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


def swiglu_reference(gate, up, dtype):
    wide = accumulation_dtype(dtype)
    return (jax.nn.silu(gate.astype(wide)) * up.astype(wide)).astype(dtype)


@jax.custom_vjp
def scale_features(x: jax.Array, scale: jax.Array) -> jax.Array:
    """x [..., F] * scale [F]; the backward sums the scale gradient over tokens as a ones-vector matmul, where
    XLA:CPU ran autodiff's column sum as a slow reduce-window."""
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


def scale_features_reference(x, scale):
    return x * scale


# ---- attention ----------------------------------------------------------------------------------------------------
@jax.custom_vjp
def attention_core(q: jax.Array, k: jax.Array, v: jax.Array, mask: jax.Array) -> jax.Array:
    """softmax(q k^T / sqrt(D), masked) v for q [B, KV, M, D], k and v [B, KV, S, D], mask [B, 1, M, S] bool
    -> [B, KV, M, D] in q's dtype; scores and softmax in float32. The backward keeps the probabilities in the
    inputs' dtype and runs every product in it, accumulating in float32 (the flash-attention recipe)."""
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


def attention(q, k, v, mask, rope=None):
    """Grouped-query attention: q [B, T, H, D]; k, v [B, S, KV, D]; mask [B, T, S] bool -> [B, T, H, D] in q's
    dtype. rope: None (q and k already rotated), or (fn, cos, sin) with cos, sin [B, T, D] (S == T): q and k are
    rotated here by fn(x, cos, sin), the caller's position-wise RoPE, with cos and sin broadcast against x.

    The query heads sharing a KV head are folded into the query axis ([B, KV, G*T, D]), so both products are
    4-D batched matmuls; RoPE runs after the fold on row-major operands: fused into the folding copy, XLA:CPU
    computes the rotation at a quarter of the speed."""
    b, t, h, d = q.shape
    kv = k.shape[2]
    groups = h // kv
    q = q.reshape(b, t, kv, groups, d).transpose(0, 2, 3, 1, 4)
    q = row_major(q.reshape(b, kv, groups * t, d))
    k, v = row_major(k.transpose(0, 2, 1, 3)), row_major(v.transpose(0, 2, 1, 3))  # [B, KV, S, D]
    if rope is not None:
        fn, cos, sin = rope
        cos, sin = cos[:, None], sin[:, None]  # [B, 1, T, D]: the same rotation for every head
        q = row_major(fn(q, jnp.tile(cos, (1, 1, groups, 1)), jnp.tile(sin, (1, 1, groups, 1))))  # axis G*T
        k = row_major(fn(k, cos, sin))
    out = attention_core(q, k, v, jnp.tile(mask, (1, groups, 1))[:, None])
    return out.reshape(b, kv, groups, t, d).transpose(0, 3, 1, 2, 4).reshape(b, t, h, d)


def attention_reference(q, k, v, mask, rope=None):
    """The same attention written with a grouped einsum, RoPE in the [B, T, heads, D] layout, autodiff."""
    if rope is not None:
        fn, cos, sin = rope
        q, k = fn(q, cos[:, :, None], sin[:, :, None]), fn(k, cos[:, :, None], sin[:, :, None])
    b, t, h, d = q.shape
    kv = k.shape[2]
    q = q.reshape(b, t, kv, h // kv, d)
    wide = accumulation_dtype(q.dtype)
    scores = jnp.einsum("btkgd,bskd->bkgts", q, k, preferred_element_type=wide) / math.sqrt(d)
    probs = jax.nn.softmax(jnp.where(mask[:, None, None], scores, MASK_VALUE), axis=-1).astype(v.dtype)
    out = jnp.einsum("bkgts,bskd->btkgd", probs, v, preferred_element_type=wide)
    return out.reshape(b, t, h, d).astype(q.dtype)


# ---- layer stacks -------------------------------------------------------------------------------------------------
def as_uint16(x: jax.Array) -> jax.Array:
    """16-bit floats viewed as uint16 (other arrays unchanged): XLA:CPU slices and concatenates bfloat16 by
    widening the whole operand to float32 and back; the same bytes moved as integers are a plain copy."""
    return jax.lax.bitcast_convert_type(x, jnp.uint16) if x.dtype.itemsize == 2 and _is_float(x) else x


def from_uint16(bits: jax.Array, like) -> jax.Array:
    return jax.lax.bitcast_convert_type(bits, like.dtype) if bits.dtype != like.dtype else bits


def stack_leaves(arrays) -> jax.Array:
    """jnp.stack of same-dtype arrays; 16-bit floats moved as uint16."""
    return from_uint16(jnp.stack([as_uint16(a) for a in arrays]), arrays[0])


@jax.tree_util.register_pytree_node_class
class Unstacked:
    """A stacked [L, ...] weight held as its L per-layer arrays: in place of the stack in a parameter tree, the
    model's unrolled layer loop (`unstack_layers`) runs them as they are, with no slicing."""

    def __init__(self, parts):
        self.parts = tuple(parts)

    def tree_flatten(self):
        return self.parts, None

    @classmethod
    def tree_unflatten(cls, _, parts):
        return cls(parts)


def is_unstacked(tree) -> bool:
    return any(isinstance(x, Unstacked) for x in jax.tree.leaves(tree, is_leaf=lambda x: isinstance(x, Unstacked)))


def _cast(x, dtype):
    return x.astype(dtype) if dtype is not None and _is_float(x) and x.dtype != jnp.dtype(dtype) else x


@functools.partial(jax.custom_vjp, nondiff_argnums=(1,))
def unstack(stacked, dtype=None):
    """A pytree of [L, ...] arrays -> the same pytree of `Unstacked` per-layer slices, floating ones cast to
    `dtype`. Each float32 slice is cast on its own (one read of the weight); 16-bit slices move as uint16. The
    backward stacks the L gradients in one concatenation, where autodiff pads each to the full stack and adds."""
    def take(x):
        if dtype is not None and _is_float(x) and x.dtype != jnp.dtype(dtype):
            return Unstacked(x[i].astype(dtype) for i in range(x.shape[0]))
        return Unstacked(from_uint16(as_uint16(x)[i], x) for i in range(x.shape[0]))

    return jax.tree.map(take, stacked)


def _unstack_fwd(stacked, dtype):
    # The backward needs only each stack's dtype: empty arrays carry it without keeping the weights alive.
    return unstack(stacked, dtype), jax.tree.map(lambda x: jnp.zeros((0,), x.dtype), stacked)


def _restack_like(ref, grads: Unstacked):
    parts = [g.astype(ref.dtype) for g in grads.parts]
    return stack_leaves(parts) if ref.dtype.itemsize == 2 else jnp.stack(parts)  # widening fused into the stack


def _unstack_bwd(dtype, like, grads):
    return (jax.tree.map(_restack_like, like, grads),)


unstack.defvjp(_unstack_fwd, _unstack_bwd)


def unstack_reference(stacked, dtype=None):
    return jax.tree.map(lambda x: Unstacked(_cast(x[i], dtype) for i in range(x.shape[0])), stacked)


def restack(tree):
    """Inverse of `unstack` (gradients of per-layer copies back to the stacked layout), 16-bit as uint16."""
    return jax.tree.map(lambda u: stack_leaves(u.parts), tree, is_leaf=lambda x: isinstance(x, Unstacked))


def layer_trees(tree) -> tuple:
    """A pytree whose leaves are `Unstacked` -> a tuple of L pytrees, one per layer."""
    leaves, treedef = jax.tree.flatten(tree, is_leaf=lambda x: isinstance(x, Unstacked))
    return tuple(jax.tree.unflatten(treedef, list(layer)) for layer in zip(*(u.parts for u in leaves)))


def _unstack_layers(split, stacked, dtype) -> tuple:
    if is_unstacked(stacked):  # given pre-split: run as it is
        return layer_trees(jax.tree.map(lambda x: _cast(x, dtype), stacked))
    return layer_trees(split(stacked, dtype))


def split_layers(stacked, *, delete_stacks: bool = False):
    """Stacked weights -> the same tree of `Unstacked` per-layer device buffers, each placed like its stack minus
    the layer axis: weights that are only read (a frozen reference) are then never sliced in a step. With
    `delete_stacks` (the caller drops its tree) each stack is freed once split, so at most one extra leaf is held."""
    def split(x):
        sharding = x.sharding
        if isinstance(sharding, NamedSharding):
            sharding = NamedSharding(sharding.mesh, P(*tuple(sharding.spec)[1:]))
        parts = jax.jit(lambda a: tuple(a), out_shardings=sharding)(x)
        if delete_stacks:
            x.delete()
        return Unstacked(parts)

    return jax.tree.map(split, stacked)


# ---- the sets the model chooses from ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Kernels:
    """What the model computes through (see the functions of the same names)."""

    linear: Callable  # (x [..., in], w [out, in]) -> [..., out] float32
    swiglu: Callable  # (gate, up, dtype) -> silu(gate) * up in dtype
    scale_features: Callable  # (x [..., F], scale [F]) -> x * scale
    attention: Callable  # (q, k, v, mask, rope=None) -> [B, T, H, D]
    unstack_layers: Callable  # (stacked state, dtype) -> tuple of per-layer states in dtype


FAST = Kernels(linear, swiglu, scale_features, attention, functools.partial(_unstack_layers, unstack))
PLAIN = Kernels(linear_reference, swiglu_reference, scale_features_reference, attention_reference,
                functools.partial(_unstack_layers, unstack_reference))


def get(kind: str) -> Kernels:
    return {"fast": FAST, "plain": PLAIN}[kind]
