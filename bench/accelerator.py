"""DPO train step and sampler on a Llama-3.2-1B/3B-shaped model with random weights: step time, tokens/s, MFU.

    python bench/accelerator.py [--preset llama-3.2-1b] [--pairs 8] [--seq 1024] [--steps 5]
                                [--gen-batch 16] [--prompt-len 128] [--new-tokens 128] [--dtype bfloat16]
                                [--json OUT.json]

Written for a lent GPU (or TPU) session: one command, a few minutes, every figure the README asks for. Runs on
the CPU too (tests call it with the tiny preset).
  peak   best rate of a large bf16 x bf16 -> f32 matmul on this device, measured here (the MFU denominator), next to
         the datasheet's dense bf16 figure when the device kind is known
  train  one jitted DPO step (policy forward + backward, reference forward, AdamW) on [pairs, 2, seq] random
         tokens, completion = the second half of each row; best of --steps after a compile step
  sample greedy KV-cache generation of --new-tokens for --gen-batch random prompts of --prompt-len tokens (no EOS)
Model FLOPs per trained token: 6 N + 6 L T d_attn (policy, causal attention) + 2 N + 2 L T d_attn (reference
forward), N = matmul parameters incl. the output projection, d_attn = heads x head_dim.
"""

from __future__ import annotations

import argparse
import functools
import json

import jax
import jax.numpy as jnp
import numpy as np
from common import best_time, matmul_peak, train_flops_per_token  # bench/common.py (the script's own directory)

# Dense bf16 peaks from the vendors' datasheets (no sparsity), FLOP/s per device.
DATASHEET_BF16 = {"H100": 989.4e12, "H200": 989.4e12, "A100": 312e12, "L4": 121e12, "TPU v4": 275e12,
                  "TPU v5 lite": 197e12, "TPU v5e": 197e12, "TPU v5p": 459e12, "TPU v6 lite": 918e12}


def datasheet_peak(device_kind: str) -> float | None:
    for name, peak in DATASHEET_BF16.items():
        if name.lower() in device_kind.lower():
            return peak
    return None


def bench_train(cfg, pairs: int, seq: int, steps: int) -> dict:
    from flax import nnx

    from refuseu_jax.models.llama import init_model
    from refuseu_jax.train.config import DPOSpec, LoraSpec, OptimSpec
    from refuseu_jax.train.trainer import StepSpec, reference_copy, train_step

    params = nnx.state(init_model(cfg, seed=0), nnx.Param).to_pure_dict()
    optim = OptimSpec(learning_rate=1e-6, warmup_ratio=0.0, schedule="constant")
    spec = StepSpec(cfg, DPOSpec(), LoraSpec(), optim, 0)
    state = {"step": jnp.zeros((), jnp.int32), "params": params, "opt_state": spec.optimizer().init(params)}
    frozen = reference_copy(params, cfg.dtype)
    rng = np.random.default_rng(0)
    ids = rng.integers(3, cfg.vocab_size, (pairs, 2, seq), dtype=np.int32)
    loss_mask = np.zeros((pairs, 2, seq), bool)
    loss_mask[..., seq // 2:] = True
    batch = {"input_ids": jnp.asarray(ids), "attention_mask": jnp.ones((pairs, 2, seq), bool),
             "loss_mask": jnp.asarray(loss_mask)}
    step = jax.jit(functools.partial(train_step, spec), donate_argnums=(0,))
    holder = {"state": state}

    def run():
        holder["state"], metrics = step(holder["state"], frozen, batch)
        jax.block_until_ready(metrics)
        holder["loss"] = float(metrics["loss"])

    seconds = best_time(run, steps)
    tokens = pairs * 2 * seq
    return {"step_s": seconds, "tokens_per_s": tokens / seconds, "tokens": tokens, "loss": holder["loss"],
            "flops_per_step": train_flops_per_token(cfg, seq) * tokens}


def bench_sample(cfg, batch: int, prompt_len: int, new_tokens: int, repeats: int = 2) -> dict:
    from refuseu_jax.models.llama import init_model
    from refuseu_jax.sample import Sampler, SamplingConfig

    sampler = Sampler(init_model(cfg, seed=1), eos_ids=[], pad_id=0)
    rng = np.random.default_rng(1)
    prompts = [rng.integers(3, cfg.vocab_size, prompt_len).tolist() for _ in range(batch)]
    config = SamplingConfig(max_new_tokens=new_tokens, temperature=0.0, batch_size=batch)
    out = {}

    def run():
        out["ids"] = sampler.generate_ids(prompts, config)

    seconds = best_time(run, repeats)
    generated = sum(len(row) for row in out["ids"])
    return {"seconds": seconds, "tokens_per_s": generated / seconds, "generated": generated}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="llama-3.2-1b")
    parser.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float32"],
                        help="parameter and compute dtype")
    parser.add_argument("--pairs", type=int, default=8)
    parser.add_argument("--seq", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--gen-batch", type=int, default=16)
    parser.add_argument("--prompt-len", type=int, default=128)
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--peak-n", type=int, default=8192, help="matmul size for the measured peak")
    parser.add_argument("--remat", action="store_true", help="recompute layers in the backward (less memory)")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)
    from refuseu_jax.models.config import get_preset

    cfg = get_preset(args.preset, dtype=args.dtype, param_dtype=args.dtype, remat=args.remat)
    device = jax.devices()[0]
    peak = matmul_peak(jnp.bfloat16, args.peak_n, repeats=10)
    sheet = datasheet_peak(device.device_kind)
    result = {"device": device.device_kind, "platform": device.platform, "preset": args.preset,
              "dtype": args.dtype, "params": cfg.num_params(), "measured_bf16_peak": peak, "datasheet_bf16_peak": sheet}
    print(f"device: {device.device_kind} ({device.platform}); {args.preset}, {cfg.num_params() / 1e9:.2f}B params, "
          f"{args.dtype}; measured bf16 matmul peak {peak / 1e12:.1f} TFLOP/s"
          + (f", datasheet {sheet / 1e12:.1f}" if sheet else ""))
    train = bench_train(cfg, args.pairs, args.seq, args.steps)
    achieved = train["flops_per_step"] / train["step_s"]
    train["mfu_measured_peak"] = achieved / peak
    train["mfu_datasheet_peak"] = achieved / sheet if sheet else None
    result["train"] = train
    print(f"DPO step, {args.pairs} pairs x 2 x {args.seq} tokens: {train['step_s'] * 1e3:.1f} ms, "
          f"{train['tokens_per_s']:.0f} tokens/s, {achieved / 1e12:.1f} TFLOP/s = MFU "
          f"{100 * train['mfu_measured_peak']:.1f}% of the measured peak"
          + (f", {100 * train['mfu_datasheet_peak']:.1f}% of the datasheet" if sheet else "")
          + f" (loss {train['loss']:.4f})")
    sample = bench_sample(cfg, args.gen_batch, args.prompt_len, args.new_tokens)
    result["sample"] = sample
    print(f"sampling, batch {args.gen_batch}, prompt {args.prompt_len}, {args.new_tokens} new tokens (greedy): "
          f"{sample['seconds']:.2f} s, {sample['tokens_per_s']:.0f} tokens/s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == "__main__":
    main()
