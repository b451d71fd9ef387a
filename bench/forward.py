"""Forward throughput of SmolLM2-135M: our jitted Flax model vs transformers' LlamaForCausalLM, same batch, same run.

    python bench/forward.py [--batch 8] [--seq 128] [--repeats 5] [--dtype float32]

Both sides compute full logits [batch, seq, vocab] for the same token ids (with an all-ones attention mask).
Tokens/s = batch * seq / wall time of a forward, best and median of --repeats (the best is the steadier figure on a
shared machine: torch's threads slow down badly whenever another process takes a core); compilation (ours) and a
first call (theirs) are warm-ups and not timed. transformers runs in float32 (its CPU reference); ours in --dtype.
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


def main():
    from refuseu_jax.allocator import loaded_allocator

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    args = ap.parse_args()

    import jax
    import jax.numpy as jnp
    import torch
    from flax import nnx
    from transformers import AutoModelForCausalLM

    from refuseu_jax import from_pretrained
    from refuseu_jax.checkpoints.hf import resolve_model_dir

    directory = resolve_model_dir(args.model)
    ids = np.random.default_rng(0).integers(100, 49000, (args.batch, args.seq))
    mask = np.ones_like(ids, dtype=bool)

    # transformers first: once XLA has run, its thread pool keeps competing with torch's threads for the cores.
    theirs = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32).eval()
    tids, tmask = torch.tensor(ids), torch.tensor(mask.astype(np.int64))

    def torch_forward():
        with torch.inference_mode():
            theirs(input_ids=tids, attention_mask=tmask)

    theirs_s = timed(torch_forward, args.repeats)
    del theirs

    ours = from_pretrained(directory, dtype=args.dtype)
    forward = nnx.jit(lambda m, i, k: m(i, k))
    jids, jmask = jnp.asarray(ids), jnp.asarray(mask)
    ours_s = timed(lambda: jax.block_until_ready(forward(ours, jids, jmask)), args.repeats)
    tokens = args.batch * args.seq
    print(f"SmolLM2-135M forward, batch {args.batch} x {args.seq} tokens, {jax.device_count()} JAX device(s) "
          f"({jax.devices()[0].platform}), torch threads {torch.get_num_threads()}, allocator {loaded_allocator()}")
    for label, (best, median) in ((f"ours ({args.dtype})", ours_s), ("transformers (float32)", theirs_s)):
        print(f"{label:24s}: best {best * 1e3:8.1f} ms = {tokens / best:7.0f} tokens/s, "
              f"median {median * 1e3:8.1f} ms = {tokens / median:7.0f} tokens/s")
    print(f"ratio ours / transformers: best {theirs_s[0] / ours_s[0]:.2f}x, median {theirs_s[1] / ours_s[1]:.2f}x   "
          f"(load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    from refuseu_jax.allocator import use_tcmalloc

    use_tcmalloc(default=True)  # figures are quoted under tcmalloc; REFUSEU_TCMALLOC=0 measures glibc malloc
    main()
