"""DPO train step and sampler on a Llama-3.2-1B/3B-shaped model with random weights: step time, tokens/s, MFU.

    python bench/accelerator.py [--preset llama-3.2-1b] [--pairs 8] [--seq 1024] [--steps 5]
                                [--gen-batch 16] [--prompt-len 128] [--new-tokens 128] [--dtype bfloat16]
                                [--attention auto|dense|cudnn] [--remat] [--decode auto|scan|per-layer]
                                [--no-train] [--json OUT.json]

Written for a lent GPU (or TPU) session: one command, a few minutes, every figure the README asks for. Runs on
the CPU too (tests call it with the tiny preset).
  check  with --attention cudnn (the default on GPUs): the fused attention against the dense one on a 2-layer
         cut of the preset (hidden states and parameter gradients, relative L2 error); a mismatch exits 1
  peak   best rate of a large bf16 x bf16 -> f32 matmul on this device, measured here (the MFU denominator), next to
         the datasheet's dense bf16 figure when the device kind is known
  train  one jitted DPO step (policy forward + backward, reference forward, AdamW) on [pairs, 2, seq] random
         tokens, completion = the second half of each row; best of --steps after a compile step
  sample greedy KV-cache generation of --new-tokens for --gen-batch random prompts of --prompt-len tokens (no EOS),
         with the sampler's default decode loop for the device (--decode to choose)
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


def check_fused_attention(cfg, rows: int = 4, seq: int = 512, tolerance: float = 3e-2) -> dict:
    """Relative L2 error of the fused (cuDNN) attention against the dense one: hidden states and every parameter
    gradient of sum(h * probe) over real tokens, on right-padded rows of different lengths, in cfg's dtypes."""
    from flax import nnx

    from refuseu_jax.models.llama import init_model, model_from_params

    dense = cfg.replace(num_layers=2, attention="dense")
    params = nnx.state(init_model(dense, seed=2), nnx.Param).to_pure_dict()
    rng = np.random.default_rng(2)
    lengths = np.linspace(seq, seq // 3, rows).astype(int)
    mask = jnp.asarray(np.arange(seq)[None] < lengths[:, None])
    ids = jnp.asarray(rng.integers(3, cfg.vocab_size, (rows, seq), dtype=np.int32))
    probe = jax.random.normal(jax.random.key(3), (rows, seq, cfg.hidden_size)) * mask[..., None]

    def run(variant):
        def loss(p):
            h = model_from_params(variant, p).hidden_states(ids, mask, right_padded=True).astype(jnp.float32)
            return jnp.sum(h * probe), h

        (_, h), grads = jax.jit(jax.value_and_grad(loss, has_aux=True))(params)
        return h[mask], grads

    def rel(a, b):
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))

    want_h, want_g = run(dense)
    got_h, got_g = run(dense.replace(attention="cudnn"))
    grad_errors = {jax.tree_util.keystr(path): rel(got, want) for (path, want), got
                   in zip(jax.tree_util.tree_leaves_with_path(want_g), jax.tree.leaves(got_g))}
    worst = max(grad_errors, key=grad_errors.get)
    result = {"hidden_rel_error": rel(got_h, want_h), "worst_grad": worst, "worst_grad_rel_error": grad_errors[worst],
              "tolerance": tolerance}
    result["ok"] = bool(max(result["hidden_rel_error"], result["worst_grad_rel_error"]) <= tolerance)
    return result


def bench_train(cfg, pairs: int, seq: int, steps: int) -> dict:
    from flax import nnx

    from refuseu_jax.models.llama import init_model
    from refuseu_jax.train.config import DPOSpec, LoraSpec, OptimSpec
    from refuseu_jax.train.state import reference_copy, split_reference
    from refuseu_jax.train.step import StepSpec, train_step

    params = nnx.state(init_model(cfg, seed=0), nnx.Param).to_pure_dict()
    optim = OptimSpec(learning_rate=1e-6, warmup_ratio=0.0, schedule="constant")
    spec = StepSpec(cfg, DPOSpec(), LoraSpec(), optim, 0)
    state = {"step": jnp.zeros((), jnp.int32), "params": params, "opt_state": spec.optimizer().init(params)}
    frozen = reference_copy(params, cfg.dtype)
    if not cfg.scan_layers:  # as DPOTrainer does
        frozen = split_reference(frozen)
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


def bench_sample(cfg, batch: int, prompt_len: int, new_tokens: int, repeats: int = 2,
                 unstack_layers: bool | None = None) -> dict:
    from refuseu_jax.models.llama import init_model
    from refuseu_jax.sample import Sampler, SamplingConfig

    sampler = Sampler(init_model(cfg, seed=1), eos_ids=[], pad_id=0, unstack_layers=unstack_layers)
    out = {}
    rng = np.random.default_rng(1)
    prompts = [rng.integers(3, cfg.vocab_size, prompt_len).tolist() for _ in range(batch)]
    config = SamplingConfig(max_new_tokens=new_tokens, temperature=0.0, batch_size=batch)

    def run():
        out["ids"] = sampler.generate_ids(prompts, config)

    seconds = best_time(run, repeats)
    generated = sum(len(row) for row in out["ids"])
    return {"seconds": seconds, "tokens_per_s": generated / seconds, "generated": generated,
            "per_layer_decode": sampler.unstack_layers}


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
    parser.add_argument("--attention", default="auto", choices=["auto", "dense", "cudnn"],
                        help="training attention (ModelConfig.attention); auto: the trainer's choice (cudnn on GPUs "
                             "with bf16 compute, dense elsewhere)")
    parser.add_argument("--decode", default="auto", choices=["auto", "scan", "per-layer"],
                        help="sampler's decode loop (Sampler(unstack_layers=None/False/True)); auto: per-layer on GPUs")
    parser.add_argument("--no-train", action="store_true", help="skip the attention check and the DPO step")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)
    from refuseu_jax.models.config import get_preset

    from refuseu_jax.train.state import attention_kind

    device = jax.devices()[0]
    attention = attention_kind(args.attention, device.platform, args.dtype)
    cfg = get_preset(args.preset, dtype=args.dtype, param_dtype=args.dtype, remat=args.remat, attention=attention)
    peak = matmul_peak(jnp.bfloat16, args.peak_n, repeats=10)
    sheet = datasheet_peak(device.device_kind)
    result = {"device": device.device_kind, "platform": device.platform, "preset": args.preset,
              "dtype": args.dtype, "attention": attention, "remat": args.remat, "params": cfg.num_params(),
              "measured_bf16_peak": peak, "datasheet_bf16_peak": sheet}
    print(f"device: {device.device_kind} ({device.platform}); {args.preset}, {cfg.num_params() / 1e9:.2f}B params, "
          f"{args.dtype}, {attention} attention{', remat' if args.remat else ''}; measured bf16 matmul peak "
          f"{peak / 1e12:.1f} TFLOP/s" + (f", datasheet {sheet / 1e12:.1f}" if sheet else ""))
    if not args.no_train:
        train_section(result, cfg, args, peak, sheet)
    unstack = {"auto": None, "scan": False, "per-layer": True}[args.decode]
    sample = bench_sample(cfg, args.gen_batch, args.prompt_len, args.new_tokens, unstack_layers=unstack)
    result["sample"] = sample
    decode = "per-layer" if sample["per_layer_decode"] else "scanned"
    print(f"sampling ({decode} decode), batch {args.gen_batch}, prompt {args.prompt_len}, {args.new_tokens} new "
          f"tokens (greedy): {sample['seconds']:.2f} s, {sample['tokens_per_s']:.0f} tokens/s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return result


def train_section(result: dict, cfg, args, peak: float, sheet: float | None) -> None:
    """The fused-attention check (when it is used), then the DPO step: results into `result`, and printed."""
    if cfg.attention == "cudnn":
        check = result["attention_check"] = check_fused_attention(cfg)
        print(f"fused attention vs dense (2 layers): hidden states {check['hidden_rel_error']:.1e}, worst gradient "
              f"{check['worst_grad']} {check['worst_grad_rel_error']:.1e} (relative L2; tolerance "
              f"{check['tolerance']:.0e}): {'ok' if check['ok'] else 'MISMATCH'}")
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


if __name__ == "__main__":
    outcome = main()
    raise SystemExit(0 if outcome.get("attention_check", {}).get("ok", True) else 1)
