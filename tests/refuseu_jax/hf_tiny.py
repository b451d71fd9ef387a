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
