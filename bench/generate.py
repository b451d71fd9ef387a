"""Generation throughput: our KV-cache sampler vs transformers `generate`, same model, prompts and run.

    python bench/generate.py [--model smollm2-135m] [--batch 8] [--new-tokens 64] [--dtype float32 bfloat16]

Both sides decode greedily and ignore EOS, so each produces exactly batch * new_tokens tokens. Tokens/s counts
only new tokens and includes the prefill (as a user waiting for the batch sees it). Compilation is excluded:
the sampler is warmed up once with the same shapes; transformers gets a warm-up call too, and the best of
torch with 1 thread and with all cores.

Like with like: for each --dtype, ours in that dtype against transformers at its fastest setting of the same
precision, named in the report (float32: float32 weights; bfloat16: bfloat16 weights, or float32 weights with
the forward under torch.autocast(bfloat16), whichever is faster in this run). Method: docs/benchmarks.md.

The memory-bandwidth bound: each decode step must read every weight once, so a step cannot be faster than
weight_bytes / copy_bandwidth (copy bandwidth measured here with a large numpy copy, read + write bytes). The
report gives our decode-only step time as a fraction of that bound.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

PROMPTS = [
    "What is the capital of France?",
    "Write a short poem about the sea.",
    "Explain in two sentences why the sky is blue.",
    "List three fruits that are yellow.",
    "Translate 'good morning' into German, Polish and Latvian.",
    "What is 17 times 23?",
    "Give me one tip for learning a new language, and explain briefly why it helps beginners.",
    "Hi!",
]


def copy_bandwidth_gbs(n_bytes: int = 512 << 20, repeats: int = 5) -> float:
    src = np.ones(n_bytes // 4, np.float32)
    dst = np.empty_like(src)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - start)
    return 2 * n_bytes / best / 1e9  # bytes read + bytes written


def bench_ours(model_dir, prompts_ids, new_tokens, batch, dtype, unstack_layers=False):
    import jax

    from refuseu_jax.checkpoints.hf import from_pretrained
    from refuseu_jax.sample import Sampler, SamplingConfig

    model = from_pretrained(model_dir, dtype=dtype)
    sampler = Sampler(model, eos_ids=[], unstack_layers=unstack_layers)  # no stop: exactly new_tokens per row
    cfg = SamplingConfig(max_new_tokens=new_tokens, batch_size=batch, length_bucket=16)
    prefill_only = SamplingConfig(max_new_tokens=1, batch_size=batch, length_bucket=16)
    sampler.generate_ids(prompts_ids, cfg)  # compile
    sampler.generate_ids(prompts_ids, prefill_only)  # compile
    timings, prefill = [], []
    for _ in range(3):
        start = time.perf_counter()
        out = sampler.generate_ids(prompts_ids, cfg)
        timings.append(time.perf_counter() - start)
        start = time.perf_counter()
        sampler.generate_ids(prompts_ids, prefill_only)
        prefill.append(time.perf_counter() - start)
    assert all(len(o) == new_tokens for o in out)
    weight_bytes = sum(x.nbytes for x in jax.tree.leaves(sampler.state))
    total, first = min(timings), min(prefill)
    return {"seconds": total, "tokens_per_s": batch * new_tokens / total,
            "decode_step_s": (total - first) / (new_tokens - 1), "weight_bytes": weight_bytes}, out


# transformers' settings per precision: (name, weight dtype, forward under bf16 autocast)
TRANSFORMERS_SETTINGS = {
    "float32": [("float32 weights", "float32", False)],
    "bfloat16": [("bfloat16 weights", "bfloat16", False), ("float32 weights + bf16 autocast", "float32", True)],
}


def bench_transformers(model_dir, prompts_ids, new_tokens, pad_id, precision):
    """The fastest of transformers' settings for `precision`, each the best of torch with 1 thread and with all
    cores: on a shared machine torch's OpenMP threads can collapse (measured here: 11.5 tokens/s with 2 threads
    vs 102 with 1 under a load average of 4), and the peer should get its best configuration."""
    import contextlib

    import torch
    from transformers import AutoModelForCausalLM

    length = max(map(len, prompts_ids))
    ids = torch.tensor([[pad_id] * (length - len(p)) + p for p in prompts_ids])
    mask = torch.tensor([[0] * (length - len(p)) + [1] * len(p) for p in prompts_ids])
    kwargs = dict(input_ids=ids, attention_mask=mask, max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                  do_sample=False, pad_token_id=pad_id)
    best, tried = None, {}
    for name, weights, autocast in TRANSFORMERS_SETTINGS[precision]:
        model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=getattr(torch, weights)).eval()
        context = torch.autocast("cpu", dtype=torch.bfloat16) if autocast else contextlib.nullcontext()
        with torch.no_grad(), context:
            for threads in sorted({1, os.cpu_count() or 1}):
                torch.set_num_threads(threads)
                model.generate(**{**kwargs, "max_new_tokens": 2, "min_new_tokens": 2})  # warm-up
                for _ in range(2):
                    start = time.perf_counter()
                    out = model.generate(**kwargs)
                    seconds = time.perf_counter() - start
                    tried[name] = min(tried.get(name, seconds), seconds)
                    if best is None or seconds < best[0]:
                        best = (seconds, threads, name, out)
        del model
    seconds, threads, name, out = best
    return ({"seconds": seconds, "tokens_per_s": len(prompts_ids) * new_tokens / seconds, "torch_threads": threads,
             "setting": name,
             "tokens_per_s_by_setting": {k: round(len(prompts_ids) * new_tokens / v, 1) for k, v in tried.items()}},
            out[:, length:].tolist())


def main():
    from refuseu_jax.allocator import loaded_allocator

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--dtype", nargs="+", default=["float32", "bfloat16"], choices=["float32", "bfloat16"],
                        help="precisions to compare, each against transformers in the same precision")
    parser.add_argument("--skip-transformers", action="store_true")
    parser.add_argument("--decode", choices=["scan", "unstacked"], default="scan",
                        help="our decode path: the model's scan over stacked layers (default) or the per-layer "
                             "loop over unstacked weights (Sampler(unstack_layers=True))")
    args = parser.parse_args()

    from transformers import AutoTokenizer

    from refuseu_jax.checkpoints.hf import resolve_model_dir

    model_dir = resolve_model_dir(args.model)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    prompts = (PROMPTS * (args.batch // len(PROMPTS) + 1))[: args.batch]
    prompts_ids = [tokenizer.encode(tokenizer.apply_chat_template([{"role": "user", "content": p}], tokenize=False,
                                                                   add_generation_prompt=True),
                                    add_special_tokens=False) for p in prompts]
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

    load_before = os.getloadavg()[0]
    bandwidth = copy_bandwidth_gbs()
    theirs = {}
    if not args.skip_transformers:
        # transformers first: once XLA's CPU thread pool exists in this process it competes with torch's threads.
        theirs = {dtype: bench_transformers(model_dir, prompts_ids, args.new_tokens, pad_id, dtype)
                  for dtype in args.dtype}
    unstack = args.decode == "unstacked"
    runs = {}
    for dtype in args.dtype:
        ours, our_tokens = bench_ours(model_dir, prompts_ids, args.new_tokens, args.batch, dtype, unstack)
        bound_step_s = ours["weight_bytes"] / (bandwidth * 1e9)
        run = {
            "ours_tokens_per_s": round(ours["tokens_per_s"], 1), "ours_seconds": round(ours["seconds"], 3),
            "ours_decode_step_ms": round(ours["decode_step_s"] * 1e3, 2),
            "weight_MB": round(ours["weight_bytes"] / 1e6, 1),
            "bandwidth_bound_step_ms": round(bound_step_s * 1e3, 2),
            "fraction_of_bandwidth_bound": round(bound_step_s / ours["decode_step_s"], 3),
        }
        if dtype in theirs:
            peer, their_tokens = theirs[dtype]
            run["transformers_setting"] = peer["setting"]
            run["transformers_tokens_per_s"] = round(peer["tokens_per_s"], 1)
            run["transformers_tokens_per_s_by_setting"] = peer["tokens_per_s_by_setting"]
            run["transformers_torch_threads"] = peer["torch_threads"]
            run["speedup_vs_transformers"] = round(ours["tokens_per_s"] / peer["tokens_per_s"], 2)
            # Same greedy tokens is a sanity check that both ran the same computation. Compared before each
            # row's first EOS: from there on, min_new_tokens makes transformers suppress EOS while ours keeps it.
            # In bfloat16 the two round differently, and a near tie can go either way.
            eos = tokenizer.eos_token_id
            same = [a[: a.index(eos) if eos in a else None] == b[: a.index(eos) if eos in a else None]
                    for a, b in zip(our_tokens, their_tokens)]
            run["rows_identical_to_transformers_before_eos"] = f"{sum(same)}/{len(same)}"
        runs[dtype] = run
    report = {
        "model": str(args.model), "decode": args.decode, "batch": args.batch, "new_tokens": args.new_tokens,
        "prompt_lengths": [len(p) for p in prompts_ids], "copy_bandwidth_GBps": round(bandwidth, 2),
        "runs": runs,
        # Other processes on the machine distort both sides (torch's OpenMP threads suffer most): check these.
        "load_average_1min_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "cpu_count": os.cpu_count(),
        "allocator": loaded_allocator(),  # both sides run in this one process
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    from refuseu_jax.allocator import use_tcmalloc

    use_tcmalloc(default=True)  # figures are quoted under tcmalloc; REFUSEU_TCMALLOC=0 measures glibc malloc
    main()
