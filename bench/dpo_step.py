"""DPO step throughput on SmolLM2-135M-Instruct vs TRL's DPOTrainer, MFU, and log-prob memory, in one run.

    python bench/dpo_step.py [--steps 3] [--trl-steps 5] [--skip-trl]

1. Peak: best jitted bf16 x bf16 -> f32 matmul rate on this machine (and f32, for reference), measured before
   and after the runs, the higher reading kept.
2. Same batch for both (4 bundled pairs, max length 128, chat template), full fine-tuning, AdamW:
   - TRL DPOTrainer (torch), explicit ref_model; one step = compute_loss + backward + optimizer.step; in three
     precision settings, measured in turn (one step of each per round, best of --trl-steps rounds) so that load
     from other processes falls on all three alike: float32; bf16 autocast (float32 weights, the forward passes
     under torch.autocast("cpu", bfloat16), which is what `DPOConfig(bf16=True)` makes accelerate do on a CPU);
     bf16 weights (policy and reference loaded in bfloat16, AdamW on them). Measured first, before XLA starts its
     thread pool
   - ours, float32 and bfloat16 compute (float32 master weights), layers in a rolled loop (scan) and unrolled;
     one step = the jitted train step; and bf16 unrolled with reference log-probs precomputed once
     (dpo.reference: precomputed), whose step has no reference forward (and is not compared with TRL's)
   Ratios compare like with like: each of our float32 variants against TRL float32, each bf16 variant against
   TRL's faster bf16 setting in this run (named in the output). Method: docs/benchmarks.md.
   tokens/s counts real (non-pad) prompt+completion tokens of chosen and rejected sequences.
   MFU = model FLOPs / step time / bf16 peak; model FLOPs per real token = 6 N + 2 N (policy forward+backward,
   reference forward) plus causal attention (bench/common.train_flops_per_token), N = matmul parameters
   including the output projection. Padding positions are computed but not counted.
3. Peak temporary memory (XLA's compiled memory analysis) of log-probs + their gradient at vocab 128256,
   seq 1024, 2 sequences: vocabulary-chunked vs full logits.
"""

from __future__ import annotations

import argparse
import gc
import os
import tempfile
import time

import jax
import jax.numpy as jnp
from common import best_time, matmul_peak, train_flops_per_token  # bench/common.py (the script's own directory)

PAIRS, MAX_LEN = 4, 128


def gemm_ceiling(cfg, rows: int, dtype, repeats=20) -> float:
    """FLOP/s of the model's own forward matmuls ([rows, in] x [out, in]^T, weighted by how often each shape
    occurs): the rate a step would reach if it did nothing but these matmuls."""
    h, q, kv, i = cfg.hidden_size, cfg.num_heads * cfg.head_dim, cfg.num_kv_heads * cfg.head_dim, cfg.intermediate_size
    counts = {(h, q): 1, (h, kv): 2, (q, h): 1, (h, i): 2, (i, h): 1}
    shapes = {k: v * cfg.num_layers for k, v in counts.items()}
    shapes[(h, cfg.vocab_size)] = shapes.get((h, cfg.vocab_size), 0) + 1
    f = jax.jit(lambda a, b: jax.lax.dot_general(a, b, (((1,), (1,)), ((), ())), preferred_element_type=jnp.float32))
    flops = seconds = 0.0
    for (n_in, n_out), count in shapes.items():
        a, b = jnp.ones((rows, n_in), dtype), jnp.ones((n_out, n_in), dtype)
        flops += count * 2 * rows * n_in * n_out
        seconds += count * best_time(lambda: f(a, b).block_until_ready(), repeats)
    return flops / seconds


def bench_records():
    from data_tools.sample import SAMPLE_PATH
    from data_tools.schema import read_records

    train = [r for r in read_records(SAMPLE_PATH) if r["split"] == "train"]
    return [next(r for r in train if r["lang"] == lang) for lang in ("de", "es", "cs", "lt")]  # four languages


def ours(model_dir, records, compute_dtype: str, steps: int, scan_layers: bool, reference: str = "model"):
    from data_tools.configuration import from_dict
    from refuseu_jax.parallel import MeshConfig, make_mesh
    from refuseu_jax.train import batches as B
    from refuseu_jax.train.config import TrainConfig
    from refuseu_jax.train.trainer import DPOTrainer

    cfg = from_dict(TrainConfig, {
        "run_dir": tempfile.mkdtemp(), "model": {"path": str(model_dir), "compute_dtype": compute_dtype,
                                                 "scan_layers": scan_layers},
        "batch_size": PAIRS, "epochs": 1, "progress": False, "dpo": {"reference": reference},
        "data": {"max_length": MAX_LEN, "pad_multiple": 0}, "optim": {"learning_rate": 1e-6, "warmup_ratio": 0.0},
    })
    trainer = DPOTrainer(cfg, mesh=make_mesh(MeshConfig(1, 1, 1), devices=jax.devices()[:1]), records=records)
    host = B.collate(trainer.pairs, MAX_LEN, trainer.pad_id)
    if trainer.ref_logps is not None:
        host["ref_logps"] = trainer.ref_logps  # computed once in the constructor, as a training run does
    batch = trainer._to_device(host)
    step = trainer.step_fn()
    state = {"s": trainer.state}

    def run():
        state["s"], metrics = step(state["s"], trainer.frozen, batch)
        jax.block_until_ready(metrics)

    t = best_time(run, steps)
    return t, int(host["attention_mask"].sum()), trainer.model_cfg, host["input_ids"].shape[-1]


def trl(model_dir, records, steps: int) -> dict:
    """{setting: (best seconds per step, real tokens)} for TRL's three precision settings, one step of each per
    round."""
    import contextlib

    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import DPOConfig, DPOTrainer

    tok = AutoTokenizer.from_pretrained(str(model_dir))
    data = Dataset.from_list([{k: r[k] for k in ("prompt", "chosen", "rejected")} for r in records])

    def trainer_for(dtype):
        torch.manual_seed(0)
        model, ref = (AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=dtype) for _ in range(2))
        args = DPOConfig(output_dir=tempfile.mkdtemp(), max_length=MAX_LEN, per_device_train_batch_size=PAIRS,
                         report_to="none", use_cpu=True, learning_rate=1e-6, save_strategy="no",
                         logging_strategy="no")
        trainer = DPOTrainer(model=model, ref_model=ref, args=args, train_dataset=data, processing_class=tok)
        trainer.model.train()
        return trainer, torch.optim.AdamW(trainer.model.parameters(), lr=1e-6)

    def step_fn(trainer, opt, batch, autocast: bool):
        def run():
            # accelerate's bf16 on a CPU: the forward under autocast, the backward outside it.
            ctx = torch.autocast("cpu", dtype=torch.bfloat16) if autocast else contextlib.nullcontext()
            with ctx:
                loss = trainer.compute_loss(trainer.model, batch)
            loss.backward()
            opt.step()
            opt.zero_grad()
        return run

    f32, f32_opt = trainer_for(torch.float32)  # float32 and autocast share weights, reference and optimizer
    bf16, bf16_opt = trainer_for(torch.bfloat16)
    batch = f32.data_collator([f32.train_dataset[i] for i in range(len(records))])
    bf16_batch = bf16.data_collator([bf16.train_dataset[i] for i in range(len(records))])
    runs = {"TRL float32": step_fn(f32, f32_opt, batch, False),
            "TRL bf16 autocast": step_fn(f32, f32_opt, batch, True),
            "TRL bf16 weights": step_fn(bf16, bf16_opt, bf16_batch, False)}
    best = {mode: float("inf") for mode in runs}
    for round_ in range(steps + 1):  # round 0 warms every mode up
        for mode, run in runs.items():
            t0 = time.perf_counter()
            run()
            if round_:
                best[mode] = min(best[mode], time.perf_counter() - t0)
    tokens = int(batch["attention_mask"].sum())
    return {mode: (best[mode], tokens) for mode in runs}


def logprob_memory(vocab=128256, seq=1024, hidden=2048, rows=2):
    from refuseu_jax.train.losses import naive_token_logprobs, token_logprobs

    h = jax.ShapeDtypeStruct((rows, seq, hidden), jnp.float32)
    w = jax.ShapeDtypeStruct((vocab, hidden), jnp.float32)
    t = jax.ShapeDtypeStruct((rows, seq), jnp.int32)
    out = {}
    for name, fn in (("chunked", lambda h, w, t: token_logprobs(h, w, t)), ("naive", naive_token_logprobs)):
        grad = jax.jit(jax.value_and_grad(lambda h, w, t: jnp.sum(fn(h, w, t)), argnums=(0, 1)))
        out[name] = grad.lower(h, w, t).compile().memory_analysis().temp_size_in_bytes
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--trl-steps", type=int, default=5, help="TRL's step time varies most run to run")
    parser.add_argument("--skip-trl", action="store_true")
    args = parser.parse_args()
    from refuseu_jax.checkpoints.registry import prepare_model

    model_dir = prepare_model("smollm2-135m")
    records = bench_records()
    results = {}
    # TRL before any JAX computation: once XLA's thread pool exists it competes with torch's threads for the
    # same cores (a run that measured the matmul peak first saw TRL 5x slower than usual).
    if not args.skip_trl:
        results.update(trl(model_dir, records, args.trl_steps))
        gc.collect()  # TRL's models and optimizer states go before ours are built
    from refuseu_jax.allocator import loaded_allocator

    print(f"device: {jax.devices()[0].device_kind}, {jax.device_count()} device(s); allocator: {loaded_allocator()} "
          f"(TRL and ours alike: one process)")
    peak_bf16, peak_f32 = matmul_peak(jnp.bfloat16), matmul_peak(jnp.float32)
    for dtype in ("float32", "bfloat16"):
        for scan_layers in (True, False):
            t, tokens, cfg, seq = ours(model_dir, records, dtype, args.steps, scan_layers)
            results[f"ours {dtype} {'rolled' if scan_layers else 'unrolled'}"] = (t, tokens)
    t, tokens, _, _ = ours(model_dir, records, "bfloat16", args.steps, False, reference="precomputed")
    precomputed = "ours bfloat16 unrolled, precomputed ref"
    results[precomputed] = (t, tokens)
    flops = train_flops_per_token(cfg, seq)
    # Without the reference forward a step does the policy's 6 N + 6 L T d_attn of the 8 N + 8 L T d_attn.
    step_flops = {name: flops * (0.75 if name == precomputed else 1.0) for name in results}
    ceiling = gemm_ceiling(cfg, 2 * PAIRS * MAX_LEN, jnp.bfloat16)
    # The peak is measured again after the runs and the higher reading kept: on this shared VM one reading can
    # come out 15% low, which would inflate every MFU below.
    peak_bf16, peak_f32 = max(peak_bf16, matmul_peak(jnp.bfloat16)), max(peak_f32, matmul_peak(jnp.float32))
    print(f"measured matmul peak (2048^3, best of 5, higher of two readings): bf16 {peak_bf16 / 1e9:.0f} GFLOP/s, "
          f"f32 {peak_f32 / 1e9:.0f} GFLOP/s")
    print(f"load average after the runs: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"\nDPO step, SmolLM2-135M, {PAIRS} pairs, max length {MAX_LEN}, full fine-tuning (best of {args.steps}):")
    for name, (t, tokens) in results.items():
        mfu = step_flops[name] * tokens / t
        print(f"  {name:40s} {t:7.2f} s/step  {tokens / t:8.1f} tokens/s  MFU {100 * mfu / peak_bf16:5.1f}% of bf16 "
              f"peak ({100 * mfu / peak_f32:5.1f}% of f32 peak)")
    print(f"  ceiling: SmolLM2's own bf16 matmul shapes ({2 * PAIRS * MAX_LEN} rows) run at "
          f"{ceiling / 1e9:.0f} GFLOP/s "
          f"= {100 * ceiling / peak_bf16:.1f}% of the bf16 peak: the MFU of a step that did nothing but matmuls")
    if "TRL float32" in results:
        # Like with like: float32 against TRL float32, bfloat16 compute against TRL's faster bf16 setting.
        rate = {name: tokens / t for name, (t, tokens) in results.items()}
        peer_bf16 = max(("TRL bf16 autocast", "TRL bf16 weights"), key=rate.get)
        print(f"  TRL's faster bf16 setting in this run: {peer_bf16} "
              f"({rate[peer_bf16] / rate['TRL float32']:.2f}x TRL float32)")
        for name in results:
            if name.startswith("ours") and name != precomputed:  # TRL's step runs its reference forward
                peer = "TRL float32" if "float32" in name else peer_bf16
                print(f"  {name} / {peer} throughput: {rate[name] / rate[peer]:.2f}x")

    mem = logprob_memory()
    print(f"\nlog-prob + gradient temporaries, vocab 128256, seq 1024, 2 rows, hidden 2048 (XLA memory analysis):")
    print(f"  chunked {mem['chunked'] / 2**20:.0f} MiB, full logits {mem['naive'] / 2**20:.0f} MiB, "
          f"ratio {mem['chunked'] / mem['naive']:.1%}")


if __name__ == "__main__":
    from refuseu_jax.allocator import use_tcmalloc

    use_tcmalloc(default=True)  # figures are quoted under tcmalloc; REFUSEU_TCMALLOC=0 measures glibc malloc
    main()
