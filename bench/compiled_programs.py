"""Fingerprints of the compiled CPU programs a refactor must leave alone: the DPO step and the sampler.

    python bench/compiled_programs.py [--out DIR]

Compiles (no timing) the bfloat16 unrolled and float32 rolled DPO train steps and the float32 and bfloat16
generation programs on a 3-layer SmolLM2-shaped model with random weights, and prints for each XLA's cost
analysis (FLOPs, bytes accessed) and a digest of the optimized HLO with instruction names, parameter numbers and
source locations taken out. Run it in two checkouts (PYTHONPATH set to each): equal digests mean XLA compiled the
same program, so the speed is the same whatever the machine's load; the normalized HLO written to --out shows
any difference with `diff`. Timing runs on a shared machine cannot tell a few percent from noise; this can.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import re
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

LAYERS, PAIRS, SEQ = 3, 4, 128


def normalized_hlo(compiled) -> str:
    """The optimized HLO's instructions, sorted, without names, parameter numbers and source metadata."""
    text = compiled.as_text()
    body = []
    skipping = False
    for line in text.splitlines():
        if re.match(r"^(FileNames|FunctionNames|FileLocations|StackFrames)$", line):
            skipping = True
        elif not line.strip():
            skipping = False
        elif not skipping and not line.startswith(("HloModule", "ENTRY")):
            body.append(line)
    text = "\n".join(body)
    text = re.sub(r", metadata=\{[^}]*\}|, frontend_attributes=\{[^}]*\}|, stack_frame_id=[0-9]+", "", text)
    text = re.sub(r"%[\w.\-]+", "%X", text)
    text = re.sub(r"parameter\(\d+\)", "parameter(N)", text)
    return "\n".join(sorted(text.splitlines())) + "\n"


def step_program(dtype: str, scan_layers: bool):
    from flax import nnx

    from refuseu_jax.models.config import get_preset
    from refuseu_jax.models.llama import init_model
    from refuseu_jax.train.config import DPOSpec, LoraSpec, OptimSpec
    from refuseu_jax.train.state import reference_copy, split_reference
    from refuseu_jax.train.step import StepSpec, train_step

    cfg = get_preset("smollm2-135m").replace(num_layers=LAYERS, dtype=dtype, scan_layers=scan_layers)
    params = nnx.state(init_model(cfg, seed=0), nnx.Param).to_pure_dict()
    optim = OptimSpec(learning_rate=1e-6, warmup_ratio=0.0, schedule="constant")
    spec = StepSpec(cfg, DPOSpec(), LoraSpec(), optim, 0)
    state = {"step": jnp.zeros((), jnp.int32), "params": params, "opt_state": spec.optimizer().init(params)}
    frozen = reference_copy(params, cfg.dtype)
    if not scan_layers:  # as DPOTrainer does
        frozen = split_reference(frozen)
    ids = np.random.default_rng(0).integers(3, cfg.vocab_size, (PAIRS, 2, SEQ), dtype=np.int32)
    loss_mask = np.zeros((PAIRS, 2, SEQ), bool)
    loss_mask[..., SEQ // 2:] = True
    batch = {"input_ids": jnp.asarray(ids), "attention_mask": jnp.ones((PAIRS, 2, SEQ), bool),
             "loss_mask": jnp.asarray(loss_mask)}
    step = jax.jit(functools.partial(train_step, spec), donate_argnums=(0,))
    return step.lower(state, frozen, batch).compile()


def generate_program(dtype: str):
    from refuseu_jax.models.config import get_preset
    from refuseu_jax.models.llama import init_model
    from refuseu_jax.sample import Sampler, _generate

    model = init_model(get_preset("smollm2-135m").replace(num_layers=LAYERS, dtype=dtype, param_dtype=dtype), seed=1)
    sampler = Sampler(model, eos_ids=[2], pad_id=0)
    ids, mask = jnp.ones((8, 32), jnp.int32), jnp.ones((8, 32), bool)
    return _generate.lower(sampler.graphdef, sampler.state, sampler.layer_states, ids, mask, jax.random.key(0),
                           jnp.float32(1e-6), jnp.float32(1.0), layer_graphdef=sampler.layer_graphdef,
                           max_new_tokens=16, greedy=True, top_k=0, stop_ids=(2,), pad_id=0,
                           cache_sharding=None).compile()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write each program's normalized HLO here")
    args = parser.parse_args()
    programs = {
        "dpo step, bfloat16, unrolled": lambda: step_program("bfloat16", False),
        "dpo step, float32, rolled": lambda: step_program("float32", True),
        "generate, float32": lambda: generate_program("float32"),
        "generate, bfloat16": lambda: generate_program("bfloat16"),
    }
    for name, build in programs.items():
        compiled = build()
        cost = compiled.cost_analysis()
        cost = cost[0] if isinstance(cost, list) else cost
        hlo = normalized_hlo(compiled)
        print(f"{name:30s} flops {cost.get('flops', 0):.4g}  bytes {cost.get('bytes accessed', 0):.4g}  "
              f"hlo {hashlib.sha256(hlo.encode()).hexdigest()[:16]} ({hlo.count(chr(10))} instructions)")
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / (re.sub(r"\W+", "_", name) + ".hlo")).write_text(hlo)


if __name__ == "__main__":
    main()
