"""Forward throughput of SmolLM2-135M: our jitted Flax model vs transformers' LlamaForCausalLM, same batch, same run.

    python bench/forward.py [--batch 8] [--seq 128] [--repeats 5] [--dtype float32 bfloat16]

Both sides compute full logits [batch, seq, vocab] for the same token ids (with an all-ones attention mask).
Tokens/s = batch * seq / wall time of a forward, best and median of --repeats (the best is the steadier figure on a
shared machine: torch's threads slow down badly whenever another process takes a core); compilation (ours) and a
first call (theirs) are warm-ups and not timed.

Like with like: for each --dtype, ours in that dtype against transformers at its fastest setting of the same
precision (float32: float32 weights; bfloat16: bfloat16 weights, or float32 weights under
torch.autocast(bfloat16)), each with torch on 1 thread and on all cores; the report names the setting.
Method: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import statistics

import numpy as np
from common import timings  # bench/common.py (the script's own directory)


def timed(fn, repeats: int) -> tuple[float, float]:
    """(best, median) seconds of `repeats` calls after one warm-up call (which compiles ours)."""
    times = timings(fn, repeats)
    return min(times), statistics.median(times)


# transformers' settings per precision: (name, weight dtype, forward under bf16 autocast)
TRANSFORMERS_SETTINGS = {
    "float32": [("float32 weights", "float32", False)],
    "bfloat16": [("bfloat16 weights", "bfloat16", False), ("float32 weights + bf16 autocast", "float32", True)],
}


def bench_transformers(directory, ids, mask, precision, repeats):
    """(best, median) seconds and the setting name of transformers' fastest setting for `precision`."""
    import contextlib

    import torch
    from transformers import AutoModelForCausalLM

    tids, tmask = torch.tensor(ids), torch.tensor(mask.astype(np.int64))
    best = None
    for name, weights, autocast in TRANSFORMERS_SETTINGS[precision]:
        model = AutoModelForCausalLM.from_pretrained(directory, dtype=getattr(torch, weights)).eval()
        for threads in sorted({1, os.cpu_count() or 1}):
            torch.set_num_threads(threads)

            def forward():
                context = torch.autocast("cpu", dtype=torch.bfloat16) if autocast else contextlib.nullcontext()
                with torch.inference_mode(), context:
                    model(input_ids=tids, attention_mask=tmask)

            seconds = timed(forward, repeats)
            if best is None or seconds[0] < best[0][0]:
                best = (seconds, f"{name}, {threads} thread{'s' if threads > 1 else ''}")
        del model
    return best


def main():
    from refuseu_jax.allocator import loaded_allocator

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--dtype", nargs="+", choices=["float32", "bfloat16"], default=["float32", "bfloat16"],
                    help="precisions to compare, each against transformers in the same precision")
    args = ap.parse_args()

    import jax
    import jax.numpy as jnp
    from flax import nnx

    from refuseu_jax import from_pretrained
    from refuseu_jax.checkpoints.hf import resolve_model_dir

    directory = resolve_model_dir(args.model)
    ids = np.random.default_rng(0).integers(100, 49000, (args.batch, args.seq))
    mask = np.ones_like(ids, dtype=bool)

    # transformers first: once XLA has run, its thread pool keeps competing with torch's threads for the cores.
    theirs = {dtype: bench_transformers(directory, ids, mask, dtype, args.repeats) for dtype in args.dtype}
    ours = {}
    forward = nnx.jit(lambda m, i, k: m(i, k))
    jids, jmask = jnp.asarray(ids), jnp.asarray(mask)
    for dtype in args.dtype:
        model = from_pretrained(directory, dtype=dtype)
        ours[dtype] = timed(lambda: jax.block_until_ready(forward(model, jids, jmask)), args.repeats)
    tokens = args.batch * args.seq
    print(f"SmolLM2-135M forward, batch {args.batch} x {args.seq} tokens, {jax.device_count()} JAX device(s) "
          f"({jax.devices()[0].platform}), allocator {loaded_allocator()}")
    for dtype in args.dtype:
        (their_best, their_median), setting = theirs[dtype]
        for label, (best, median) in ((f"ours ({dtype})", ours[dtype]),
                                      (f"transformers ({setting})", (their_best, their_median))):
            print(f"  {label:50s}: best {best * 1e3:8.1f} ms = {tokens / best:7.0f} tokens/s, "
                  f"median {median * 1e3:8.1f} ms = {tokens / median:7.0f} tokens/s")
        print(f"  {dtype}: ours / transformers ({setting}): best {their_best / ours[dtype][0]:.2f}x, "
              f"median {their_median / ours[dtype][1]:.2f}x")
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    from refuseu_jax.allocator import use_tcmalloc

    use_tcmalloc(default=True)  # figures are quoted under tcmalloc; REFUSEU_TCMALLOC=0 measures glibc malloc
    main()
