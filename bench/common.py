"""Helpers shared by the benchmarks: timing, the measured matmul peak, model FLOPs."""

from __future__ import annotations

import time


def timings(fn, repeats: int) -> list[float]:
    """Seconds of each of `repeats` calls, after one warm-up (compile) call."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def best_time(fn, repeats: int) -> float:
    """Seconds of the fastest of `repeats` calls, after one warm-up (compile) call."""
    return min(timings(fn, repeats))


def matmul_peak(dtype=None, n: int = 2048, repeats: int = 5) -> float:
    """FLOP/s of the best n x n x n matmul in `dtype` (default bfloat16), accumulated in float32: the MFU
    denominator. jax is imported here, not at module level, so torch-only callers never load it."""
    import jax
    import jax.numpy as jnp

    a = jax.random.normal(jax.random.key(0), (n, n)).astype(dtype or jnp.bfloat16)
    f = jax.jit(lambda a, b: jnp.dot(a, b, preferred_element_type=jnp.float32))
    return 2 * n**3 / best_time(lambda: f(a, a).block_until_ready(), repeats)


def matmul_params(cfg) -> int:
    """Parameters that take part in a matmul per token: every projection and the output embedding."""
    h, i, layers = cfg.hidden_size, cfg.intermediate_size, cfg.num_layers
    q, kv = cfg.num_heads * cfg.head_dim, cfg.num_kv_heads * cfg.head_dim
    return layers * (h * q + 2 * h * kv + q * h + 3 * h * i) + h * cfg.vocab_size


def train_flops_per_token(cfg, seq: int) -> float:
    """Model FLOPs of one DPO-trained token: 6 N + 6 L T d_attn (policy forward and backward) + 2 N + 2 L T d_attn
    (reference forward). N = `matmul_params`, d_attn = heads x head_dim, T = the padded sequence length; causal
    attention counts half of the full 2 x 2 T d_attn per layer (the PaLM appendix's formula, halved for the mask)."""
    attention = cfg.num_layers * seq * cfg.num_heads * cfg.head_dim
    return 8 * matmul_params(cfg) + 8 * attention
