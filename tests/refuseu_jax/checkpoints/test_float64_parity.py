"""The weight mapping checked in float64: our forward under JAX x64 (plain kernels) against transformers' float64
forward (`float64_reference`), on the tiny random configurations of test_hf.py and on the real SmolLM2-135M.

In float64 both implementations round at u = 2^-53, so they agree to ~1e-13 on these models whatever the CPU's
summation order, while a mapping error (a swapped or mis-permuted weight) moves logits by O(1): the bar
(`precision.model_bound` at U64) separates the two by many orders of magnitude, and each test shows a deliberately
wrong mapping failing it. Float32 parity (tests/refuseu_jax/checkpoints/test_hf.py, test_gguf.py) then only has
to show float32 rounding, against bounds derived from float32's u.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from flax import nnx

from refuseu_jax import from_pretrained
from refuseu_jax.checkpoints.gguf import permute_qk
from refuseu_jax.models.config import ModelConfigError, get_preset
from refuseu_jax.models.llama import init_model, model_from_params
from tests.refuseu_jax.hf_tiny import LLAMA3_ROPE, ODD_GQA3, float64_reference, padded_batch, save_tiny
from tests.refuseu_jax.precision import U64, model_bound

TINY = {
    "llama3-rope-untied": dict(rope_scaling=LLAMA3_ROPE),
    "linear-rope-gqa2": dict(rope_scaling=dict(rope_type="linear", factor=2.0)),
    "gqa3-odd-biases-tied": ODD_GQA3,
}
# Headroom over the u-derived estimate (C in precision.py) for what the estimate leaves out (softmax, the norms;
# the tiny models' weights of std 0.3 are chaotic enough to amplify rounding) and another CPU's summation order.
# Measured at C = 1: SmolLM2 0.2 of the estimate (2.0e-13 of 9e-13), the tiny models about 2x it (1.6-1.9e-14 of
# 0.9-1.1e-14). A mapping error lands ~1e13 above the bound.
HEADROOM = 16.0
# How far above the bound a deliberately wrong mapping must land: the test is not vacuous by this margin.
WRONG_BY = 1e6


def _reference_logits(forward, ids, mask) -> np.ndarray:
    positions = np.maximum(np.cumsum(mask, axis=1) - 1, 0)  # transformers' forward does not derive them
    out = forward(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask.astype(np.int64)),
                  position_ids=torch.tensor(positions)).logits
    assert out.dtype == torch.float64
    return out.numpy()


def _ours(model, ids, mask) -> np.ndarray:
    logits = model(jnp.asarray(ids), jnp.asarray(mask))
    assert logits.dtype == jnp.float64
    return np.asarray(logits)


def _numpy_forward(model, inv_freq: np.ndarray, ids, mask) -> np.ndarray:
    """The Llama forward in numpy float64 from transformers' weights, written out op by op: the check that
    `float64_reference` really computes in float64 (and the one place that does not share code with either)."""
    c = model.config
    sd = {k: v.detach().double().numpy() for k, v in model.state_dict().items()}
    b, t = ids.shape
    heads, kv = c.num_attention_heads, c.num_key_value_heads
    d = getattr(c, "head_dim", None) or c.hidden_size // heads
    angles = np.maximum(np.cumsum(mask, axis=1) - 1, 0)[..., None] * inv_freq
    cos, sin = (f(np.concatenate([angles, angles], -1))[:, :, None] for f in (np.cos, np.sin))
    allowed = (np.tril(np.ones((t, t), dtype=bool))[None] & mask[:, None, :])[:, None]  # [B, 1, T, S]

    def norm(x, name):
        return sd[name + ".weight"] * (x / np.sqrt(np.mean(x * x, -1, keepdims=True) + c.rms_norm_eps))

    def linear(x, name):
        y = x @ sd[name + ".weight"].T
        return y + sd[name + ".bias"] if name + ".bias" in sd else y

    def rope(x):
        rotated = np.concatenate([-x[..., d // 2:], x[..., : d // 2]], -1)
        return x * cos + rotated * sin

    h = sd["model.embed_tokens.weight"][ids]
    for i in range(c.num_hidden_layers):
        p = f"model.layers.{i}."
        x = norm(h, p + "input_layernorm")
        q = rope(linear(x, p + "self_attn.q_proj").reshape(b, t, heads, d))
        k = np.repeat(rope(linear(x, p + "self_attn.k_proj").reshape(b, t, kv, d)), heads // kv, axis=2)
        v = np.repeat(linear(x, p + "self_attn.v_proj").reshape(b, t, kv, d), heads // kv, axis=2)
        scores = np.where(allowed, np.einsum("bthd,bshd->bhts", q, k) / np.sqrt(d), -1e300)
        probs = np.exp(scores - scores.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        h = h + linear(np.einsum("bhts,bshd->bthd", probs, v).reshape(b, t, heads * d), p + "self_attn.o_proj")
        x = norm(h, p + "post_attention_layernorm")
        gate = linear(x, p + "mlp.gate_proj")
        h = h + linear(gate / (1 + np.exp(-gate)) * linear(x, p + "mlp.up_proj"), p + "mlp.down_proj")
    head = sd.get("lm_head.weight", sd["model.embed_tokens.weight"])
    return norm(h, "model.norm") @ head.T


def test_float64_reference_computes_in_float64(tmp_path):
    """transformers' `.double()` keeps float32 steps (the norm, RoPE); `float64_reference` does not: it agrees with
    a numpy float64 forward to float64 rounding, where `.double()` is off by float32 rounding."""
    ref, _ = save_tiny(tmp_path, rope_scaling=LLAMA3_ROPE)
    ids, mask = padded_batch(ref.config.vocab_size)
    model64, forward = float64_reference(ref)
    inv_freq = model64.model.rotary_emb.inv_freq.numpy()
    # transformers' own (float32) frequencies, the same formula: equal to float32 rounding.
    np.testing.assert_allclose(inv_freq, ref.model.rotary_emb.inv_freq.numpy(), rtol=4 * 2.0 ** -24, atol=0)
    exact = _numpy_forward(ref, inv_freq, ids, mask)
    scale = float(np.abs(exact[mask]).max())
    bound = model_bound(ref.config, scale, unit=U64, headroom=HEADROOM)
    theirs = np.abs(_reference_logits(forward, ids, mask) - exact)[mask].max()
    with torch.no_grad():
        doubled = ref.double()(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask.astype(np.int64)),
                               position_ids=torch.tensor(np.maximum(np.cumsum(mask, axis=1) - 1, 0))).logits
    double_only = np.abs(doubled.numpy() - exact)[mask].max()
    print(f"float64 reference vs numpy: {theirs:.3g}; .double() alone: {double_only:.3g}; bound {bound:.3g}")
    assert theirs <= bound
    assert double_only > 1e3 * bound  # the float32 steps the patches remove are far above this bar


def _wrong_qk(params: dict, cfg) -> dict:
    """The q/k un-permutation of a GGUF conversion skipped: llama.cpp's row order left in place."""
    layers = dict(params["layers"])
    for name, n in (("q_proj", cfg.num_heads), ("k_proj", cfg.num_kv_heads)):
        w = np.asarray(layers[name]["weight"])
        layers[name] = dict(layers[name], weight=np.stack([permute_qk(x, n) for x in w]))
    return dict(params, layers=layers)


def _swapped_gate_up(params: dict, cfg) -> dict:
    layers = dict(params["layers"], gate_proj=params["layers"]["up_proj"], up_proj=params["layers"]["gate_proj"])
    return dict(params, layers=layers)


@pytest.mark.parametrize("overrides", TINY.values(), ids=TINY.keys())
def test_tiny_logits_match_transformers_in_float64(tmp_path, overrides):
    ref, path = save_tiny(tmp_path, **overrides)
    ids, mask = padded_batch(ref.config.vocab_size)
    theirs = _reference_logits(float64_reference(ref)[1], ids, mask)
    with jax.enable_x64(True):
        model = from_pretrained(path, dtype="float64", kernels="plain")
        assert model.layers.q_proj.weight[...].dtype == jnp.float64
        ours = _ours(model, ids, mask)
        params = nnx.to_pure_dict(nnx.state(model, nnx.Param))
        wrong = {how: _ours(model_from_params(model.cfg, f(params, model.cfg)), ids, mask)
                 for how, f in (("q/k permuted", _wrong_qk), ("gate/up swapped", _swapped_gate_up))}
    scale = float(np.abs(theirs[mask]).max())
    bound = model_bound(ref.config, scale, unit=U64, headroom=HEADROOM)
    error = np.abs(ours - theirs)[mask].max()
    print(f"float64 ours vs transformers: {error:.3g} (bound {bound:.3g}, max |logit| {scale:.3g}); wrong: "
          + ", ".join(f"{how} {np.abs(w - theirs)[mask].max():.3g}" for how, w in wrong.items()))
    assert scale > 1.0  # not trivially small logits
    assert error <= bound
    for how, logits in wrong.items():
        assert np.abs(logits - theirs)[mask].max() > WRONG_BY * bound, how


@pytest.mark.slow  # shares the session's SmolLM2 fixtures; ~1.2 GB of float64 weights on each side
def test_smollm2_logits_match_transformers_in_float64(smollm2_dir, smollm2_reference):
    from tests.refuseu_jax.checkpoints.test_gguf import PROMPTS, chat_rows

    ids, mask = chat_rows(smollm2_dir, PROMPTS)
    _, forward = float64_reference(smollm2_reference)
    theirs = _reference_logits(forward, ids, mask)
    del forward
    with jax.enable_x64(True):
        model = from_pretrained(smollm2_dir, dtype="float64", kernels="plain")
        ours = _ours(model, ids, mask)
        cfg, params = model.cfg, nnx.to_pure_dict(nnx.state(model, nnx.Param))
        del model
        wrong = _ours(model_from_params(cfg, _wrong_qk(params, cfg)), ids, mask)
    scale = float(np.abs(theirs[mask]).max())
    bound = model_bound(smollm2_reference.config, scale, unit=U64, headroom=HEADROOM)
    error = np.abs(ours - theirs)[mask].max()
    wrong_error = np.abs(wrong - theirs)[mask].max()
    print(f"SmolLM2 float64 ours vs transformers: {error:.3g} (bound {bound:.3g}, max |logit| {scale:.3g}); "
          f"q/k permuted {wrong_error:.3g}")
    assert error <= bound
    assert wrong_error > WRONG_BY * bound



def test_float64_needs_plain_kernels_and_jax_x64():
    """Either missing would silently compute in float32: the fast kernels accumulate in float32, and jax without
    x64 truncates float64 arrays. Both are one-line config errors instead."""
    with pytest.raises(ModelConfigError, match="float64 needs key 'kernels'"):
        get_preset("tiny").replace(dtype="float64", param_dtype="float64")
    cfg = get_preset("tiny").replace(dtype="float64", param_dtype="float64", kernels="plain")
    with pytest.raises(ModelConfigError, match="needs JAX x64"):
        init_model(cfg)
    with jax.enable_x64(True):
        model = init_model(cfg)
        assert model.embed.embedding[...].dtype == jnp.float64
        # Every step of the forward in float64: no float32 value anywhere in the traced program.
        program = str(jax.make_jaxpr(lambda ids: model(ids))(jnp.ones((1, 4), jnp.int32)))
        assert "f64" in program and "f32" not in program
