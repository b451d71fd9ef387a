"""Tiny random transformers Llama models and their parameters in our layout, for parity tests (no downloads)."""

from __future__ import annotations

import numpy as np


def tiny_hf_llama(seed: int = 0, vocab_size: int = 128, tie: bool = False, **overrides):
    """A random LlamaForCausalLM small enough to run in milliseconds (float32, eval mode)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = dict(vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256, rope_theta=10000.0,
                  tie_word_embeddings=tie, bos_token_id=1, eos_token_id=2, pad_token_id=0, rms_norm_eps=1e-5)
    config.update(overrides)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(LlamaConfig(**config)).eval()
    # The default init (std 0.02) gives near-uniform logits, where argmax ties make greedy parity meaningless.
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() > 1:
                p.normal_(0.0, 0.3)
    return model


LLAMA3_ROPE = dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
                   original_max_position_embeddings=32)
# GQA ratio 3, odd hidden/vocab/MLP sizes, head_dim != hidden/heads, every bias on, tied embeddings.
ODD_GQA3 = dict(vocab_size=101, hidden_size=42, intermediate_size=71, num_hidden_layers=3, num_attention_heads=6,
                num_key_value_heads=2, head_dim=6, attention_bias=True, mlp_bias=True, tie=True)


def save_tiny(directory, name="tiny", dtype=None, seed=0, weight_scale=1.0, **overrides):
    """`tiny_hf_llama` with random biases, saved as a HF checkpoint `directory / name` -> (model, path)."""
    import torch

    model = tiny_hf_llama(seed=seed, **overrides)
    with torch.no_grad():  # biases start at zero; random ones make their mapping observable
        gen = torch.Generator().manual_seed(seed + 1)
        for pname, p in model.named_parameters():
            if pname.endswith(".bias"):
                p.copy_(torch.randn(p.shape, generator=gen) * 0.3)
            elif p.dim() > 1:
                p.mul_(weight_scale)
    model = model.to(dtype or torch.float32)
    path = directory / name
    model.save_pretrained(path)
    return model, path


def params_from_hf(model) -> dict:
    """transformers LlamaForCausalLM state dict -> our nested params (layers stacked, weights [out, in] as in HF)."""
    sd = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
    n = model.config.num_hidden_layers

    def stack(name):
        return np.stack([sd[f"model.layers.{i}.{name}.weight"] for i in range(n)])

    layers = {
        "attn_norm": {"scale": stack("input_layernorm")},
        "mlp_norm": {"scale": stack("post_attention_layernorm")},
    }
    for ours, theirs in [("q_proj", "self_attn.q_proj"), ("k_proj", "self_attn.k_proj"), ("v_proj", "self_attn.v_proj"),
                         ("o_proj", "self_attn.o_proj"), ("gate_proj", "mlp.gate_proj"), ("up_proj", "mlp.up_proj"),
                         ("down_proj", "mlp.down_proj")]:
        layers[ours] = {"weight": stack(theirs)}
    params = {"embed": {"embedding": sd["model.embed_tokens.weight"]}, "layers": layers,
              "final_norm": {"scale": sd["model.norm.weight"]}}
    if not model.config.tie_word_embeddings:
        params["lm_head"] = {"weight": sd["lm_head.weight"]}
    return params


def jax_model_from_hf(model):
    from refuseu_jax.models.config import ModelConfig
    from refuseu_jax.models.llama import model_from_params

    cfg = ModelConfig.from_hf(model.config.to_dict())
    return model_from_params(cfg, params_from_hf(model))


def float64_reference(model):
    """A float64 copy of a transformers LlamaForCausalLM that computes in float64 throughout: the ground truth
    that float32 implementations round away from, and the peer of our float64 forward.

    `.double()` alone is not that: transformers' LlamaRMSNorm casts to float32 and back, its rotary embedding
    computes frequencies (`torch.float`), angles and cos/sin in float32, and eager attention's softmax runs in
    float32. Here the norm and the rotary embedding run in float64 (the same formulas), the frequencies come from
    transformers' own RoPE init functions with `torch.float` standing for float64 while they run, and attention
    is SDPA (float64 on CPU). Returns (model, forward): call `forward(**inputs)` so the patches are in place.
    tests/refuseu_jax/checkpoints/test_float64_parity.py checks it against a numpy float64 forward."""
    import contextlib
    import copy

    import torch
    from transformers.models.llama import modeling_llama as ml

    m = copy.deepcopy(model).double().eval()
    m.set_attn_implementation("sdpa")
    rotary = m.model.rotary_emb
    init = (rotary.compute_default_rope_parameters if rotary.rope_type == "default"
            else ml.ROPE_INIT_FUNCTIONS[rotary.rope_type])
    saved, torch.float = torch.float, torch.float64
    try:
        inv_freq, scaling = init(rotary.config)
    finally:
        torch.float = saved
    assert inv_freq.dtype == torch.float64
    rotary.inv_freq = inv_freq
    rotary.attention_scaling = scaling

    def rms_norm(self, hidden):
        return self.weight * (hidden * torch.rsqrt(hidden.pow(2).mean(-1, keepdim=True) + self.variance_epsilon))

    def rotary_forward(self, x, position_ids):
        freqs = position_ids[..., None].double() * self.inv_freq
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos() * self.attention_scaling, emb.sin() * self.attention_scaling

    @contextlib.contextmanager
    def patched():
        saved_norm, saved_rope = ml.LlamaRMSNorm.forward, ml.LlamaRotaryEmbedding.forward
        ml.LlamaRMSNorm.forward, ml.LlamaRotaryEmbedding.forward = rms_norm, rotary_forward
        try:
            yield
        finally:
            ml.LlamaRMSNorm.forward, ml.LlamaRotaryEmbedding.forward = saved_norm, saved_rope

    def forward(**inputs):
        with patched(), torch.no_grad():
            return m(**inputs)

    return m, forward


def padded_batch(vocab, b=3, t=16, seed=0):
    """Random ids [b, t] with a mask: row 1 left-padded, row 2 right-padded (both padding sides in one batch)."""
    ids = np.random.RandomState(seed).randint(3, vocab, (b, t))
    mask = np.ones((b, t), dtype=bool)
    mask[1, :5] = False  # left padded
    mask[2, -4:] = False  # right padded
    return ids, mask
