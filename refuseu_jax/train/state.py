"""Everything a DPO run trains with, built by one function: `build_state`.

  load_params   HF checkpoint (or random preset) -> (ModelConfig, params on the mesh, tokenizer, source)
  build_state   params + pairs -> TrainState: the step's spec, the optimizer, the variables the step updates
                ({step, params, opt_state}), the reference and the shardings

The reference takes one of three explicit shapes (`Reference`):
  PrecomputedLogps  full fine-tuning, reference log-probs computed once (dpo.reference: precomputed); no weights
  FrozenWeights     full fine-tuning against frozen weights: a compute-dtype copy of the initial policy, or the
                    checkpoint at model.reference_path
  LoraBase          LoRA: the base weights, merged with the adapters as the policy and alone as the reference
                    (its log-probs may still be precomputed)
Every shape answers the two questions the step asks: which weights to pass as `frozen` (`weights`), and which
precomputed log-probs the batches carry (`logps`).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import json
from pathlib import Path
from typing import Any, Union

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from jax.sharding import Mesh, NamedSharding

from data_tools.errors import UserError
from refuseu_jax import kernels, storage
from refuseu_jax.batching import fixed_batches, host_rows
from refuseu_jax.models.config import ModelConfig, get_preset
from refuseu_jax.models.llama import init_model
from refuseu_jax.parallel import PARTITION_RULES, batch_sharding, param_shardings, replicated, with_mesh
from refuseu_jax.train import batches as B
from refuseu_jax.train import hosts
from refuseu_jax.train.config import TrainConfig
from refuseu_jax.train.lora import LORA_RULES, lora_init, policy_params
from refuseu_jax.train.step import StepSpec, cast_floats, sequence_stats

# ---------------------------------------------------------------------------------------------------------------
# Model and tokenizer


def load_tokenizer(path: str):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(str(path))
    except (OSError, ValueError) as err:
        raise UserError(f"{path}: cannot load a tokenizer ({str(err).splitlines()[0]})") from None


def attention_kind(choice: str, backend: str, compute_dtype: str) -> str:
    """ModelSpec.attention -> ModelConfig.attention: "auto" takes the cuDNN kernel where it exists and applies."""
    if choice != "auto":
        return choice
    return "cudnn" if backend == "gpu" and compute_dtype == "bfloat16" else "dense"


def cpu_has_bf16_matrix_units(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether this CPU multiplies bfloat16 matrices in hardware (Intel AMX). Without it XLA:CPU's bfloat16 dot is
    slower than its float32 one; unknown (no /proc/cpuinfo) counts as without."""
    try:
        flags = Path(cpuinfo).read_text()
    except OSError:
        return False
    return "amx_bf16" in flags.split()


def compute_dtype_for(choice: str, backend: str, cpu_bf16: bool | None = None) -> str:
    """ModelSpec.compute_dtype -> the dtype the model computes in: "auto" takes bfloat16 wherever it is the fast
    path (accelerators; CPUs with AMX) and float32 elsewhere."""
    if choice != "auto":
        return choice
    if backend != "cpu":
        return "bfloat16"
    return "bfloat16" if (cpu_has_bf16_matrix_units() if cpu_bf16 is None else cpu_bf16) else "float32"


def resolve_auto_numerics(cfg: TrainConfig) -> TrainConfig:
    """`cfg` with "auto" compute dtype replaced by this machine's choice, so that what ran is what the run
    directory's config.json, the card and the reference-log-prob cache key record."""
    dtype = compute_dtype_for(cfg.model.compute_dtype, jax.default_backend())
    if dtype == cfg.model.compute_dtype:
        return cfg
    return cfg.replace(model=dataclasses.replace(cfg.model, compute_dtype=dtype))


def load_params(cfg: TrainConfig, mesh) -> tuple[ModelConfig, dict, Any, str | None]:
    """(model config, parameter tree placed on the mesh, tokenizer, checkpoint directory or None for presets): the
    trainer works on the parameter tree; evaluate.run.load_model gives a ready `Llama` model instead."""
    spec = cfg.model
    dtype = compute_dtype_for(spec.compute_dtype, jax.default_backend())  # callers other than the trainer pass "auto"
    numerics = dict(dtype=dtype, param_dtype=spec.param_dtype, remat=spec.remat, scan_layers=spec.scan_layers,
                    attention=attention_kind(spec.attention, jax.default_backend(), dtype))
    if spec.path is not None:
        from refuseu_jax.checkpoints.hf import load_hf_params, resolve_model_dir

        directory = resolve_model_dir(spec.path)
        model_cfg = ModelConfig.from_hf(directory, **numerics)
        params = load_hf_params(directory, model_cfg, mesh=mesh)
        tokenizer = load_tokenizer(spec.tokenizer or str(directory))
        source = str(directory)
    else:
        from refuseu_jax.checkpoints.hf import resolve_model_dir

        tokenizer = load_tokenizer(str(resolve_model_dir(spec.tokenizer)))
        # A random-init preset is sized to its tokenizer, so any tokenizer can drive a smoke run.
        vocab = max(get_preset(spec.preset).vocab_size, len(tokenizer))
        model_cfg = get_preset(spec.preset, vocab_size=vocab, **numerics)
        params = nnx.state(init_model(model_cfg, cfg.seed), nnx.Param).to_pure_dict()
        params = jax.device_put(params, param_shardings(mesh, params))
        source = str(resolve_model_dir(spec.tokenizer))
    if len(tokenizer) > model_cfg.vocab_size:
        raise UserError(f"key 'model.tokenizer': tokenizer has {len(tokenizer)} tokens, more than the model's "
                        f"vocabulary ({model_cfg.vocab_size})")
    return model_cfg, params, tokenizer, source


# ---------------------------------------------------------------------------------------------------------------
# The reference


@dataclasses.dataclass
class PrecomputedLogps:
    """Full fine-tuning with the reference's log-probs computed once, before the first step; no weights kept."""

    logps: np.ndarray  # [pairs, 2] (chosen, rejected), in pair order

    @property
    def weights(self) -> None:
        return None


@dataclasses.dataclass
class FrozenWeights:
    """Full fine-tuning against frozen weights in the compute dtype, in buffers of their own (the step donates the
    policy's); layers pre-split when the model runs unrolled (`split_reference`)."""

    weights: dict

    @property
    def logps(self) -> None:
        return None


@dataclasses.dataclass
class LoraBase:
    """LoRA: the frozen base weights, under the adapters the policy and alone the reference; `logps` holds the
    reference's log-probs when they were precomputed (the base is still needed for the policy)."""

    weights: dict
    logps: np.ndarray | None = None


Reference = Union[PrecomputedLogps, FrozenWeights, LoraBase]


def reference_copy(params: dict, dtype) -> dict:
    """The frozen reference: `params` in the compute dtype (all the reference forward reads; with bfloat16
    compute half the memory and no per-step cast), in buffers of its own, since the step donates the trainable
    ones. A cast already makes a new buffer; only arrays the cast left as they were are copied."""
    cast = cast_floats(params, dtype)
    return jax.tree.map(lambda c, p: jnp.copy(c) if c is p else c, cast, params)


def split_reference(frozen: dict) -> dict:
    """A frozen reference (buffers the caller owns) with its layers pre-split for an unrolled forward: slicing
    layer i out of a stack copies it, in every step, since XLA has no views (SmolLM2 bf16 DPO step on this
    CPU: ~60 ms of 2.3 s). Only for reference weights: the policy's gradients are stacked anyway."""
    return {**frozen, "layers": kernels.split_layers(frozen["layers"], delete_stacks=True)}


def frozen_shardings(mesh, frozen: dict):
    """Frozen weights' shardings: by the partition rules; pre-split layers keep the placement of their split."""
    if kernels.is_unstacked(frozen["layers"]):
        rest = param_shardings(mesh, {k: v for k, v in frozen.items() if k != "layers"})
        return {**rest, "layers": jax.tree.map(lambda x: x.sharding, frozen["layers"])}
    return param_shardings(mesh, frozen)


# ---------------------------------------------------------------------------------------------------------------
# Scoring pairs outside the step (reference log-probs, validation, evaluation)


@functools.lru_cache(maxsize=None)
def _stats_fn(model_cfg: ModelConfig, chunk: int, mesh: Mesh, keys: tuple[str, ...]):
    # Only the requested sums leave the program, so XLA drops the others' work. Traced with the mesh declared,
    # as the step is (the model's activation constraints).
    return with_mesh(mesh, jax.jit(
        lambda p, b: {k: v for k, v in sequence_stats(model_cfg, p, b, chunk).items() if k in keys},
        out_shardings=replicated(mesh)))


@dataclasses.dataclass(frozen=True)
class PairScorer:
    """Sequence sums of tokenized pairs under given weights, batch by batch on the mesh, in pair order."""

    model_cfg: ModelConfig
    mesh: Mesh
    batch_size: int
    pad_id: int
    max_length: int
    pad_multiple: int
    chunk: int  # dpo.logprob_chunk

    def to_device(self, batch: dict) -> dict:
        """A host batch (this host's rows) -> global arrays split over (data, fsdp)."""
        sharding = batch_sharding(self.mesh)
        return {key: jax.make_array_from_process_local_data(sharding, np.asarray(batch[key]))
                for key in ("input_ids", "attention_mask", "loss_mask", "ref_logps") if key in batch}

    def __call__(self, params, pairs: list[B.EncodedPair], keys: tuple[str, ...] = ("logps", "lengths"),
                 one_length: bool = False) -> dict[str, np.ndarray]:
        """{key: [pairs, 2] float32}. Batches are padded to their own longest pair, or with `one_length` all to the
        longest of `pairs` (one compiled forward for all of them)."""
        fn = _stats_fn(self.model_cfg, self.chunk, self.mesh, tuple(keys))
        seq_len = B.padded_length(pairs, self.max_length, self.pad_multiple) if one_length else None
        out = []
        for _, batch, real in fixed_batches(pairs, self.batch_size):
            length = seq_len or B.padded_length(batch, self.max_length, self.pad_multiple)
            host = B.collate(host_rows(batch, jax.process_index(), jax.process_count()), length, self.pad_id)
            result = jax.device_get(fn(params, self.to_device(host)))
            out.append({k: np.asarray(v)[:real] for k, v in result.items()})
        return {k: np.concatenate([o[k] for o in out]).astype(np.float32) for k in keys}


def reference_cache_key(cfg: TrainConfig, pairs: list[B.EncodedPair]) -> str:
    """What cached reference log-probs depend on: the tokenized pairs (ids, prompts, completions after
    truncation) and where the reference weights come from, at which precision."""
    digest = hashlib.sha256()
    m = cfg.model
    digest.update(json.dumps([m.path, m.reference_path, m.preset, cfg.seed, m.param_dtype,
                              m.compute_dtype]).encode())
    for p in pairs:
        digest.update(p.record_id.encode() + b"\0")
        for ids in (p.prompt_ids, p.chosen_ids, p.rejected_ids):
            digest.update(np.asarray(ids, np.int32).tobytes() + b"\xff\xff\xff\xff")
    return digest.hexdigest()


def reference_logps(cfg: TrainConfig, run_dir: storage.Location, pairs: list[B.EncodedPair], weights,
                    score: PairScorer) -> np.ndarray:
    """[pairs, 2] reference log-probs in pair order, cached in the (shared) run directory.

    Whether the cache is used decides whether the mesh-wide reference computation runs at all, so process 0
    alone reads it and every host follows its decision and receives its values (a host that trusted its own
    disk would skip a collective the others are waiting in)."""
    cache = run_dir / "reference_logps.npz"
    key = reference_cache_key(cfg, pairs)
    shape = (len(pairs), 2)
    saved = _read_reference_cache(cache, key, shape) if jax.process_index() == 0 else None
    if hosts.decided_int(saved is not None):
        return np.asarray(hosts.from_process_0(saved if saved is not None else np.zeros(shape, np.float32)))
    logps = score(weights, pairs, keys=("logps",))["logps"]
    if jax.process_index() == 0:
        buffer = io.BytesIO()
        np.savez(buffer, key=np.asarray(key), ids=np.asarray([p.record_id for p in pairs]), logps=logps)
        storage.makedirs(run_dir)
        storage.write_bytes(cache, buffer.getvalue())
    return logps


def _read_reference_cache(path: storage.Location, key: str, shape: tuple[int, int]) -> np.ndarray | None:
    """The cached reference log-probs when they were computed for `key`; None when missing, stale or unreadable."""
    try:
        if not path.exists():
            return None
        saved = np.load(io.BytesIO(storage.read_bytes(path)), allow_pickle=False)
        if "key" not in saved.files or str(saved["key"]) != key or saved["logps"].shape != shape:
            return None
        return saved["logps"].astype(np.float32)
    except (OSError, ValueError, KeyError):
        return None


# ---------------------------------------------------------------------------------------------------------------
# The state


@dataclasses.dataclass(frozen=True)
class Shardings:
    state: Any  # of {step, params, opt_state}: the partition rules (LoRA factors replicated)
    frozen: Any  # of the reference weights; None without any
    batch: NamedSharding  # leading axis over (data, fsdp)
    replicated: NamedSharding  # metrics, scores


@dataclasses.dataclass
class TrainState:
    spec: StepSpec
    optimizer: optax.GradientTransformation
    variables: dict  # {step, params, opt_state}: what the step updates and checkpoints hold
    reference: Reference
    shardings: Shardings
    score: PairScorer
    validation_ref: np.ndarray | None  # reference log-probs of the validation pairs, or None without them
    # The untrained policy's scores of the validation pairs ({"logps", "lengths"}) when the reference is the
    # untrained policy: step 0's validation reads them instead of running the same forward again.
    validation_start: dict | None = None


def build_state(cfg: TrainConfig, mesh: Mesh, model_cfg: ModelConfig, params: dict, *, pairs: list[B.EncodedPair],
                validation_pairs: list[B.EncodedPair], pad_id: int, run_dir: storage.Location,
                total_steps: int) -> TrainState:
    """Trainable tree, reference, optimizer and shardings for `params` (placed on `mesh`). `params` become the
    policy's (full fine-tuning) or the frozen base (LoRA); frozen weights never get optimizer state."""
    shards = mesh.shape["data"] * mesh.shape["fsdp"]
    micro = cfg.batch_size // cfg.optim.grad_accum
    if micro % shards:
        raise UserError(f"config: micro-batch of {micro} pairs (batch_size / optim.grad_accum) does not split "
                        f"over {shards} data-parallel devices; change 'batch_size' or 'mesh'")
    if cfg.lora.rank and cfg.model.reference_path is not None:
        raise UserError("config: with LoRA the base weights are the reference; unset 'model.reference_path'")
    score = PairScorer(model_cfg, mesh, cfg.batch_size, pad_id, cfg.data.max_length, cfg.data.pad_multiple,
                       cfg.dpo.logprob_chunk)
    precomputed = cfg.dpo.reference == "precomputed"
    validation_ref = None
    reference: Reference
    if cfg.lora.rank:
        lora = lora_init(params, cfg.lora.rank, cfg.lora.targets, cfg.seed)
        trainable = jax.device_put(lora, param_shardings(mesh, lora, LORA_RULES))
        logps = reference_logps(cfg, run_dir, pairs, params, score) if precomputed else None
        reference = LoraBase(params, logps)
    else:
        trainable = params
        if cfg.model.reference_path is not None:
            from refuseu_jax.checkpoints.hf import load_hf_params, resolve_model_dir

            weights = cast_floats(load_hf_params(resolve_model_dir(cfg.model.reference_path), model_cfg, mesh=mesh),
                                  model_cfg.dtype)
        elif precomputed:
            weights = params  # read once below, before any step can donate these buffers, then dropped
        else:
            weights = reference_copy(params, model_cfg.dtype)
        if not precomputed and not model_cfg.scan_layers:
            weights = split_reference(weights)
        if validation_pairs and cfg.model.reference_path is not None:
            validation_ref = score(weights, validation_pairs, one_length=True)["logps"]
        if precomputed:
            reference = PrecomputedLogps(reference_logps(cfg, run_dir, pairs, weights, score))
        else:
            reference = FrozenWeights(weights)
        del weights

    needs_horizon = cfg.optim.schedule != "constant" or cfg.optim.warmup_ratio > 0
    spec = StepSpec(model_cfg, cfg.dpo, cfg.lora, cfg.optim, total_steps if needs_horizon else 0)
    optimizer = spec.optimizer()
    variables = {"step": jnp.zeros((), jnp.int32), "params": trainable, "opt_state": optimizer.init(trainable)}
    # Optimizer-state paths embed the parameter paths ("opt_state/1/0/mu/layers/q_proj/weight"), so the same
    # rules lay out Adam's moments exactly like the parameters they belong to.
    state_sh = param_shardings(mesh, variables, LORA_RULES if cfg.lora.rank else PARTITION_RULES)
    variables = jax.device_put(variables, state_sh)
    frozen_sh = None if reference.weights is None else frozen_shardings(mesh, reference.weights)
    shardings = Shardings(state_sh, frozen_sh, batch_sharding(mesh), replicated(mesh))
    validation_start = None
    if validation_pairs and validation_ref is None:  # the untrained policy is the reference
        policy = policy_params(cfg.lora, variables["params"], reference.weights)
        validation_start = score(policy, validation_pairs, one_length=True)
        validation_ref = validation_start["logps"]
    return TrainState(spec, optimizer, variables, reference, shardings, score, validation_ref, validation_start)
