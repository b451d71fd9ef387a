"""DPO training of a Flax Llama on RefusEU pairs: train state, one jitted step, the loop, metrics, checkpoints.

The pieces, in the order a run uses them:
  load_model      HF checkpoint (or random preset) -> (ModelConfig, params on the mesh, tokenizer)
  prepare_pairs   records -> filtered, tokenized pairs (train/batches.py)
  DPOTrainer      owns the state {step, params, opt_state}, the frozen weights, the jitted step and the loop

One step = one forward over [2 x pairs, T] (chosen and rejected rows together), log-probs from the final hidden
states in vocabulary chunks (never [B, T, V] float32), the reference log-probs from frozen weights (or read from
the batch when precomputed), `dpo_loss`, gradients accumulated over micro-batches, AdamW. The trainable tree is
the full parameters, or only LoRA factors when `lora.rank > 0`; frozen weights never get optimizer state.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import json
import math
import os
import time
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from data_tools.configuration import to_dict
from data_tools.errors import UserError
from refuseu_jax import kernels, storage
from refuseu_jax.models.config import ModelConfig, get_preset
from refuseu_jax.models.llama import abstract_model, init_model
from refuseu_jax.parallel import BATCH_AXES, PARTITION_RULES, make_mesh, param_shardings, with_mesh
from refuseu_jax.train import batches as B
from refuseu_jax.train import hosts
from refuseu_jax.train import mixture
from refuseu_jax.train.checkpointing import RunCheckpoints
from refuseu_jax.train.config import DPOSpec, LoraSpec, OptimSpec, TrainConfig
from refuseu_jax.train.losses import dpo_loss, mean_logits, token_logprobs

# LoRA factors are small: replicate them rather than fit them to the model's rules.
LORA_RULES = ((r"lora_(a|b)$", P()),) + PARTITION_RULES


# ---------------------------------------------------------------------------------------------------------------
# Model, tokenizer, data


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


def load_model(cfg: TrainConfig, mesh) -> tuple[ModelConfig, dict, Any, str | None]:
    """(model config, parameters placed on the mesh, tokenizer, checkpoint directory or None for presets)."""
    spec = cfg.model
    numerics = dict(dtype=spec.compute_dtype, param_dtype=spec.param_dtype, remat=spec.remat,
                    scan_layers=spec.scan_layers,
                    attention=attention_kind(spec.attention, jax.default_backend(), spec.compute_dtype))
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


def data_path(path: str) -> str:
    if path == "sample":
        from data_tools.sample import SAMPLE_PATH

        return str(SAMPLE_PATH)
    return path


def benign_data_path(path: str) -> str:
    if path == "sample":
        from data_tools.sample import BENIGN_PAIRS_PATH

        return str(BENIGN_PAIRS_PATH)
    return path


def selected_records(cfg: TrainConfig, records=None) -> list[dict]:
    """The records of the configured split and mix (and the first `data.limit` of them, seeded)."""
    from data_tools.schema import read_records

    path = data_path(cfg.data.path)
    records = read_records(path) if records is None else records
    selected = B.select_records(records, split=cfg.data.split, mix=cfg.data.mix, languages=cfg.data.languages,
                                high_resource=cfg.data.high_resource, balance=cfg.data.balance, source=path)
    if cfg.data.limit is not None and cfg.data.limit < len(selected):
        order = np.random.default_rng(cfg.data.shuffle_seed).permutation(len(selected))
        selected = [selected[i] for i in sorted(order[: cfg.data.limit])]
    return selected


def training_mixture(cfg: TrainConfig, records=None, benign=None) -> mixture.Mixture:
    """Harmful pairs of the configured mix, plus `data.benign_ratio` benign pairs (same languages), minus the
    groups held out for validation (`validation.fraction`); see train/mixture.py."""
    harmful = selected_records(cfg, records)
    source = "benign pairs"
    if cfg.data.benign_ratio > 0:
        if benign is None:
            from data_tools.schema import read_records

            source = benign_data_path(cfg.data.benign_path)
            benign = read_records(source)
        benign = B.select_records(benign, split="train", mix=cfg.data.mix, languages=cfg.data.languages,
                                  high_resource=cfg.data.high_resource, source=source)
    return mixture.build_mixture(harmful, benign or [], benign_ratio=cfg.data.benign_ratio,
                                 validation_fraction=cfg.validation.fraction, seed=cfg.data.shuffle_seed,
                                 source=source)


def encode(cfg: TrainConfig, tokenizer, records) -> tuple[list[B.EncodedPair], B.EncodeStats]:
    return B.encode_records(tokenizer, records, max_length=cfg.data.max_length,
                            max_prompt_length=cfg.data.max_prompt_length, source=data_path(cfg.data.path))


def prepare_pairs(cfg: TrainConfig, tokenizer, records=None) -> tuple[list[B.EncodedPair], B.EncodeStats]:
    return encode(cfg, tokenizer, selected_records(cfg, records))


def pad_id_of(tokenizer) -> int:
    for tid in (tokenizer.pad_token_id, tokenizer.eos_token_id):
        if tid is not None:
            return int(tid)
    return 0  # masks come from lengths, so the pad id never matters for the loss


# ---------------------------------------------------------------------------------------------------------------
# LoRA


def lora_init(params: dict, rank: int, targets, seed: int) -> dict:
    """PEFT's layout, stacked over layers: A [L, r, in] ~ N(0, 1/in), B [L, out, r] = 0, so the adapted model starts
    equal to the base (loss ln 2)."""
    lora: dict = {"layers": {}}
    keys = jax.random.split(jax.random.key(seed), len(targets))
    for key, name in zip(keys, targets):
        if name not in params["layers"]:
            raise UserError(f"key 'lora.targets': {name!r} is not a projection of this model")
        layers, n_out, n_in = params["layers"][name]["weight"].shape
        lora["layers"][name] = {
            "lora_a": jax.random.normal(key, (layers, rank, n_in), jnp.float32) / math.sqrt(n_in),
            "lora_b": jnp.zeros((layers, n_out, rank), jnp.float32),
        }
    return lora


def merge_lora(base: dict, lora: dict, scale: float) -> dict:
    """Base parameters with W + scale * B @ A in every adapted projection (used every step and on export)."""
    layers = dict(base["layers"])
    for name, factors in lora["layers"].items():
        weight = layers[name]["weight"]
        delta = jnp.einsum("lor,lri->loi", factors["lora_b"], factors["lora_a"])
        layers[name] = {**layers[name], "weight": (weight.astype(jnp.float32) + scale * delta).astype(weight.dtype)}
    return {**base, "layers": layers}


# ---------------------------------------------------------------------------------------------------------------
# Optimizer


def make_schedule(o: OptimSpec, total_steps: int):
    # Rounded up, as transformers' TrainingArguments.get_warmup_steps does for TRL: the same warmup length, so
    # the learning rate of every step equals TRL's (tests/refuseu_jax/train/test_paper_configs.py).
    warmup = math.ceil(o.warmup_ratio * total_steps)
    rest = max(total_steps - warmup, 1)
    decay = {
        "constant": optax.constant_schedule(o.learning_rate),
        "linear": optax.linear_schedule(o.learning_rate, 0.0, rest),
        "cosine": optax.cosine_decay_schedule(o.learning_rate, rest),
    }[o.schedule]
    if warmup == 0:
        return decay
    return optax.join_schedules([optax.linear_schedule(0.0, o.learning_rate, warmup), decay], [warmup])


def clip_by_global_norm(max_norm: float) -> optax.GradientTransformation:
    """optax.clip_by_global_norm's rule (updates unchanged below `max_norm`, scaled to it above) as one scalar
    factor: optax divides every element and selects, an expensive element-wise op that XLA:CPU materialises as
    a pass of its own over all gradients before Adam reads them (SmolLM2 bf16 step: ~25 ms). Same state."""

    def update(updates, state, params=None):
        del params
        norm = optax.tree.norm(updates)
        factor = jnp.where(norm < max_norm, 1.0, max_norm / norm)
        return jax.tree.map(lambda t: t * factor.astype(t.dtype), updates), state

    return optax.GradientTransformation(lambda params: optax.EmptyState(), update)


def make_optimizer(o: OptimSpec, schedule) -> optax.GradientTransformation:
    parts = [clip_by_global_norm(o.max_grad_norm)] if o.max_grad_norm > 0 else []
    parts.append(optax.adamw(schedule, b1=o.b1, b2=o.b2, eps=o.eps, weight_decay=o.weight_decay))
    return optax.chain(*parts)


# ---------------------------------------------------------------------------------------------------------------
# The step


@dataclasses.dataclass(frozen=True)
class StepSpec:
    """Everything static about the step, hashable: trainers with equal specs (and shardings) share one compiled
    step, which matters when tests or sweeps build many trainers in one process."""

    model: ModelConfig
    dpo: DPOSpec
    lora: LoraSpec
    optim: OptimSpec
    schedule_steps: int  # the schedule's horizon (0 when the schedule does not depend on it)

    @property
    def lora_scale(self) -> float:
        return self.lora.alpha / self.lora.rank if self.lora.rank else 0.0

    def schedule(self):
        return make_schedule(self.optim, self.schedule_steps)

    def optimizer(self):
        return make_optimizer(self.optim, self.schedule())


@functools.lru_cache(maxsize=None)
def graphdef_of(model_cfg: ModelConfig):
    return nnx.split(abstract_model(model_cfg))[0]


def cast_floats(params: dict, dtype) -> dict:
    """Floating parameters in `dtype` (others untouched); a no-op for arrays already in it."""
    dtype = jnp.dtype(dtype)
    return jax.tree.map(lambda x: x.astype(dtype) if jnp.issubdtype(x.dtype, jnp.floating) else x, params)


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


def sequence_stats(model_cfg: ModelConfig, params: dict, batch: dict, chunk: int) -> dict:
    """Per-sequence sums over completion tokens for a [pairs, 2, T] batch: logps, lengths, logit sums [pairs, 2]."""
    # Rolled loop: every layer would cast its weights to the compute dtype anyway. Casting the stacked weights
    # once, before the scan, gives the same numbers, and the backward pass then stacks compute-dtype gradients
    # and widens them once, instead of converting inside each layer's slice update (SmolLM2 bf16 step on this
    # CPU, with the bf16 reference copy: 5.4 -> 4.9 s). Unrolled, `kernels.unstack` casts each layer's slice. The
    # embedding stays in its stored dtype: the lookup casts the rows it gathers, the log-prob head its chunks.
    # Pre-split layers (`split_reference`, `layer_copies`) run as they are.
    if model_cfg.scan_layers:
        params = {**params, "layers": cast_floats(params["layers"], model_cfg.dtype)}
    ids = batch["input_ids"]
    pairs, _, t = ids.shape
    ids = ids.reshape(2 * pairs, t)
    model = nnx.merge(graphdef_of(model_cfg), params)
    h = model.hidden_states(ids, batch["attention_mask"].reshape(2 * pairs, t), right_padded=True)  # see collate
    w = model.output_embedding()
    # Position t predicts token t+1; the loss mask marks target tokens, so it is read from column 1 on.
    mask = batch["loss_mask"].reshape(2 * pairs, t)[:, 1:].astype(jnp.float32)
    token_logps = token_logprobs(h[:, :-1], w, ids[:, 1:], chunk_size=chunk)
    shape = (pairs, 2)
    return {
        "logps": jnp.sum(token_logps * mask, axis=-1).reshape(shape),
        "lengths": jnp.sum(mask, axis=-1).reshape(shape),
        "logit_sums": jnp.sum(mean_logits(h[:, :-1], w) * mask, axis=-1).reshape(shape),
    }


def loss_fn(spec: StepSpec, trainable, frozen, batch):
    """DPO loss (+ optional NLL) and metrics of one batch. `frozen` is the reference (full fine-tuning), the base
    model (LoRA), or None when the batch carries precomputed `ref_logps`."""
    d = spec.dpo
    policy = merge_lora(frozen, trainable, spec.lora_scale) if spec.lora.rank else trainable
    stats = sequence_stats(spec.model, policy, batch, d.logprob_chunk)
    if "ref_logps" in batch:
        ref = batch["ref_logps"]
    else:
        ref = jax.lax.stop_gradient(sequence_stats(spec.model, frozen, batch, d.logprob_chunk)["logps"])
    logps, lengths = stats["logps"], stats["lengths"]
    loss, metrics = dpo_loss(logps[:, 0], logps[:, 1], ref[:, 0], ref[:, 1], beta=d.beta,
                             loss_type=d.loss_type, label_smoothing=d.label_smoothing,
                             chosen_lengths=lengths[:, 0], rejected_lengths=lengths[:, 1])
    if d.sft_weight:
        # Mean NLL per chosen completion token over the batch (TRL's "sft" term).
        nll = -jnp.sum(logps[:, 0]) / jnp.maximum(jnp.sum(lengths[:, 0]), 1.0)
        loss = loss + d.sft_weight * nll
        metrics["nll"] = jax.lax.stop_gradient(nll)
        metrics["loss"] = jax.lax.stop_gradient(loss)
    sums = jax.lax.stop_gradient(stats["logit_sums"])
    metrics["logits/chosen"] = jnp.sum(sums[:, 0]) / jnp.maximum(jnp.sum(lengths[:, 0]), 1.0)
    metrics["logits/rejected"] = jnp.sum(sums[:, 1]) / jnp.maximum(jnp.sum(lengths[:, 1]), 1.0)
    return loss, metrics


def layer_copies(spec: StepSpec, trainable):
    """What the step differentiates: unrolled full fine-tuning takes per-layer copies of the stacked weights in
    the compute dtype, made before differentiation, so each weight gradient comes back in that dtype (as the
    mixed-precision matmuls produce it) and `stack_layer_grads` stacks it at that width: widening each layer's
    gradient and stacking it in float32 wrote every gradient twice at twice the size, and Adam then read it at
    that size (SmolLM2 bf16 step on this CPU: ~40 ms). Otherwise the trainable tree itself."""
    if spec.lora.rank or spec.model.scan_layers:
        return trainable
    return {**trainable, "layers": kernels.unstack(trainable["layers"], spec.model.dtype)}


def stack_layer_grads(grads, trainable):
    """Gradients of `layer_copies(trainable)` -> the trainable tree's structure: per-layer gradients stacked
    (`kernels.restack`), every leaf in its parameter's dtype (a widening XLA fuses into the optimizer's reads)."""
    if kernels.is_unstacked(grads["layers"]):
        grads = {**grads, "layers": kernels.restack(grads["layers"])}
    return jax.tree.map(lambda g, p: g.astype(p.dtype), grads, trainable)


def compute_grads(spec: StepSpec, trainable, frozen, batch):
    """Metrics and gradients averaged over `grad_accum` micro-batches of equal size."""
    accum = spec.optim.grad_accum
    value_and_grad = jax.value_and_grad(functools.partial(loss_fn, spec), has_aux=True)
    copies = layer_copies(spec, trainable)

    def grad_fn(batch):
        (_, metrics), grads = value_and_grad(copies, frozen, batch)
        return metrics, stack_layer_grads(grads, trainable)

    if accum == 1:
        return grad_fn(batch)
    # Micro-batch a takes rows a, a+accum, ...: every device holds a slice of every micro-batch.
    micro = jax.tree.map(lambda x: jnp.swapaxes(x.reshape(x.shape[0] // accum, accum, *x.shape[1:]), 0, 1), batch)

    def body(carry, mb):
        return jax.tree.map(jnp.add, carry, grad_fn(mb)), None

    shapes = jax.eval_shape(grad_fn, jax.tree.map(lambda x: x[0], micro))
    zeros = jax.tree.map(lambda x: jnp.zeros(x.shape, x.dtype), shapes)
    (metrics, grads), _ = jax.lax.scan(body, zeros, micro)
    return jax.tree.map(lambda x: x / accum, (metrics, grads))


def train_step(spec: StepSpec, state, frozen, batch):
    """One optimizer update: {step, params, opt_state} -> (new state, metrics)."""
    metrics, grads = compute_grads(spec, state["params"], frozen, batch)
    updates, opt_state = spec.optimizer().update(grads, state["opt_state"], state["params"])
    params = optax.apply_updates(state["params"], updates)
    metrics["grad_norm"] = optax.tree.norm(grads)
    metrics["learning_rate"] = spec.schedule()(state["step"])
    return {"step": state["step"] + 1, "params": params, "opt_state": opt_state}, metrics


class DPOTrainer:
    """Build with a config (and optionally ready-made model/tokenizer/records, as tests do), then `train()`."""

    def __init__(self, cfg: TrainConfig, *, mesh=None, model=None, tokenizer=None, records=None,
                 model_source: str | None = None, benign_records=None):
        self.cfg = cfg
        if cfg.slice and jax.default_backend() == "tpu":
            from refuseu_jax.plan import parse_slice

            chips = parse_slice(cfg.slice, key="key 'slice'").devices
            if jax.device_count() != chips:
                raise UserError(f"key 'slice': the config is sized for {cfg.slice} ({chips} chips), this job has "
                                f"{jax.device_count()}; check with `refuseu plan --config ... --slice TYPE`, then "
                                f"--set slice=TYPE (or slice=null)")
        self.mesh = mesh if mesh is not None else make_mesh(cfg.mesh)
        if model is None:
            self.model_cfg, params, self.tokenizer, self.model_source = load_model(cfg, self.mesh)
        else:  # (ModelConfig, params) given directly
            self.model_cfg, params = model
            params = jax.device_put(params, param_shardings(self.mesh, params))
            self.tokenizer, self.model_source = tokenizer, model_source
        self.mixture = training_mixture(cfg, records, benign_records)
        self.pairs, self.encode_stats = encode(cfg, self.tokenizer, self.mixture.train)
        self.validation_pairs = encode(cfg, self.tokenizer, self.mixture.validation)[0] if self.mixture.validation \
            else []
        self.pad_id = pad_id_of(self.tokenizer)
        # One directory every host shares (a bucket on a pod); checked before anything depends on it.
        self.run_dir = storage.location(cfg.run_dir)
        hosts.check_shared(self.run_dir)

        shards = self.mesh.shape["data"] * self.mesh.shape["fsdp"]
        micro = cfg.batch_size // cfg.optim.grad_accum
        if micro % shards:
            raise UserError(f"config: micro-batch of {micro} pairs (batch_size / optim.grad_accum) does not split "
                            f"over {shards} data-parallel devices; change 'batch_size' or 'mesh'")
        self.batch_sharding = NamedSharding(self.mesh, P(BATCH_AXES))

        # Trainable tree and frozen weights. Frozen weights get no optimizer state.
        if cfg.lora.rank and cfg.model.reference_path is not None:
            raise UserError("config: with LoRA the base weights are the reference; unset 'model.reference_path'")
        if cfg.lora.rank:
            lora = lora_init(params, cfg.lora.rank, cfg.lora.targets, cfg.seed)
            trainable = jax.device_put(lora, param_shardings(self.mesh, lora, LORA_RULES))
            self.frozen = params  # the base model: merged with LoRA for the policy, alone for the reference
        else:
            trainable = params
            if cfg.model.reference_path is not None:
                from refuseu_jax.checkpoints.hf import load_hf_params, resolve_model_dir

                reference = load_hf_params(resolve_model_dir(cfg.model.reference_path), self.model_cfg, mesh=self.mesh)
                self.frozen = cast_floats(reference, self.model_cfg.dtype)
                del reference
            elif cfg.dpo.reference == "precomputed":
                self.frozen = params  # read once below, before any step can donate these buffers, then dropped
            else:
                self.frozen = reference_copy(params, self.model_cfg.dtype)
            if cfg.dpo.reference != "precomputed" and not self.model_cfg.scan_layers:
                self.frozen = split_reference(self.frozen)
        self.rules = LORA_RULES if cfg.lora.rank else PARTITION_RULES

        self.validation_ref = None  # reference log-probs of the validation pairs, computed once
        self._stats_fn = None
        if self.validation_pairs and cfg.model.reference_path is not None:
            self.validation_ref = self._pair_stats(self.validation_pairs, self.frozen)["logps"]

        self.ref_logps = None
        if cfg.dpo.reference == "precomputed":
            self.ref_logps = self._reference_logps(self.frozen)
            if not cfg.lora.rank:
                self.frozen = None  # the reference weights are no longer needed

        self.data = self._make_batches()
        self.total_steps = min(self.data.num_steps, cfg.max_steps or self.data.num_steps)
        needs_horizon = cfg.optim.schedule != "constant" or cfg.optim.warmup_ratio > 0
        self.spec = StepSpec(self.model_cfg, cfg.dpo, cfg.lora, cfg.optim, self.total_steps if needs_horizon else 0)
        self.optimizer = self.spec.optimizer()
        self.state = {"step": jnp.zeros((), jnp.int32), "params": trainable,
                      "opt_state": self.optimizer.init(trainable)}
        self.state = jax.device_put(self.state, self._state_shardings(self.state))
        self._step_fn = None
        if self.validation_pairs and self.validation_ref is None:  # the untrained policy is the reference
            self.validation_ref = self._pair_stats(self.validation_pairs)["logps"]

    # -- data ----------------------------------------------------------------------------------------------------
    def _make_batches(self) -> B.PairBatches:
        return B.PairBatches(self.pairs, global_batch=self.cfg.batch_size, epochs=self.cfg.epochs,
                             seed=self.cfg.data.shuffle_seed, max_length=self.cfg.data.max_length,
                             pad_id=self.pad_id, pad_multiple=self.cfg.data.pad_multiple,
                             process_index=jax.process_index(), process_count=jax.process_count(),
                             ref_logps=self.ref_logps)

    def _to_device(self, batch: dict) -> dict:
        out = {}
        for key in ("input_ids", "attention_mask", "loss_mask", "ref_logps"):
            if key in batch:
                out[key] = jax.make_array_from_process_local_data(self.batch_sharding, np.asarray(batch[key]))
        return out

    # -- shardings -----------------------------------------------------------------------------------------------
    def _state_shardings(self, state):
        # Optimizer-state paths embed the parameter paths ("opt_state/1/0/mu/layers/q_proj/weight"), so the same
        # rules lay out Adam's moments exactly like the parameters they belong to.
        return param_shardings(self.mesh, state, self.rules)

    def policy_params(self, trainable):
        return merge_lora(self.frozen, trainable, self.spec.lora_scale) if self.spec.lora.rank else trainable

    def step_fn(self):
        """The jitted step with explicit shardings: state and frozen weights by the partition rules, batch split
        over (data, fsdp), metrics replicated. The old state's buffers are donated to the new one."""
        if self._step_fn is None:
            state_sh = self._state_shardings(self.state)
            frozen_sh = None if self.frozen is None else frozen_shardings(self.mesh, self.frozen)
            self._step_fn = functools.partial(with_mesh(self.mesh, jax.jit(
                train_step, static_argnums=0, donate_argnums=(1,),
                in_shardings=(state_sh, frozen_sh, self.batch_sharding),
                out_shardings=(state_sh, NamedSharding(self.mesh, P())))), self.spec)
        return self._step_fn

    def loss_and_grads(self, host_batch: dict):
        """(loss, metrics, grads) for one host batch without updating anything (parity tests, debugging)."""
        fn = with_mesh(self.mesh, jax.jit(jax.value_and_grad(loss_fn, argnums=1, has_aux=True), static_argnums=0))
        (loss, metrics), grads = fn(self.spec, self.state["params"], self.frozen, self._to_device(host_batch))
        return loss, metrics, grads

    # -- reference log-probs, computed once ---------------------------------------------------------------------
    def reference_cache_key(self) -> str:
        """What the cached reference log-probs depend on: the tokenized pairs (ids, prompts, completions after
        truncation) and where the reference weights come from, at which precision."""
        digest = hashlib.sha256()
        m = self.cfg.model
        digest.update(json.dumps([m.path, m.reference_path, m.preset, self.cfg.seed, m.param_dtype,
                                  m.compute_dtype]).encode())
        for p in self.pairs:
            digest.update(p.record_id.encode() + b"\0")
            for ids in (p.prompt_ids, p.chosen_ids, p.rejected_ids):
                digest.update(np.asarray(ids, np.int32).tobytes() + b"\xff\xff\xff\xff")
        return digest.hexdigest()

    def _reference_logps(self, ref_params) -> np.ndarray:
        """[pairs, 2] reference log-probs in pair order, cached in the (shared) run directory.

        Whether the cache is used decides whether the mesh-wide reference computation runs at all, so process 0
        alone reads it and every host follows its decision and receives its values (a host that trusted its own
        disk would skip a collective the others are waiting in)."""
        cache = self.run_dir / "reference_logps.npz"
        key = self.reference_cache_key()
        shape = (len(self.pairs), 2)
        saved = _read_reference_cache(cache, key, shape) if jax.process_index() == 0 else None
        if hosts.decided_int(saved is not None):
            return np.asarray(hosts.from_process_0(saved if saved is not None else np.zeros(shape, np.float32)))
        chunk = self.cfg.dpo.logprob_chunk
        model_cfg = self.model_cfg
        fn = with_mesh(self.mesh, jax.jit(lambda p, b: sequence_stats(model_cfg, p, b, chunk)["logps"],
                                          out_shardings=NamedSharding(self.mesh, P())))
        bs, out = self.cfg.batch_size, []
        n_proc, rank = jax.process_count(), jax.process_index()
        for start in range(0, len(self.pairs), bs):
            chunk_pairs = self.pairs[start:start + bs]
            real = len(chunk_pairs)
            chunk_pairs = chunk_pairs + [chunk_pairs[0]] * (bs - real)  # keep one compiled shape per length
            seq_len = B.padded_length(chunk_pairs, self.cfg.data.max_length, self.cfg.data.pad_multiple)
            per_host = bs // n_proc
            host = B.collate(chunk_pairs[rank * per_host:(rank + 1) * per_host], seq_len, self.pad_id)
            out.append(np.asarray(jax.device_get(fn(ref_params, self._to_device(host))))[:real])
        logps = np.concatenate(out).astype(np.float32)
        if jax.process_index() == 0:
            buffer = io.BytesIO()
            np.savez(buffer, key=np.asarray(key), ids=np.asarray([p.record_id for p in self.pairs]), logps=logps)
            storage.makedirs(self.run_dir)
            storage.write_bytes(cache, buffer.getvalue())
        return logps

    # -- validation (held-out training groups, train/validation.py) ----------------------------------------------
    def _pair_stats(self, pairs: list[B.EncodedPair], params=None) -> dict[str, np.ndarray]:
        """logps and lengths [pairs, 2] of the current policy, or of `params` (reference weights) when given.
        Every batch is padded to the longest pair's length, so one compiled forward serves them all."""
        if params is None:
            params = self.state["params"]
            if self.cfg.lora.rank:
                params = merge_lora(self.frozen, params, self.cfg.lora.alpha / self.cfg.lora.rank)
        if self._stats_fn is None:
            model_cfg, chunk = self.model_cfg, self.cfg.dpo.logprob_chunk
            self._stats_fn = with_mesh(self.mesh, jax.jit(
                lambda p, b: {k: v for k, v in sequence_stats(model_cfg, p, b, chunk).items() if k != "logit_sums"},
                out_shardings=NamedSharding(self.mesh, P())))
        bs, n_proc, rank = self.cfg.batch_size, jax.process_count(), jax.process_index()
        seq_len = B.padded_length(pairs, self.cfg.data.max_length, self.cfg.data.pad_multiple)
        out = []
        for start in range(0, len(pairs), bs):
            chunk_pairs = list(pairs[start:start + bs])
            real = len(chunk_pairs)
            chunk_pairs += [chunk_pairs[0]] * (bs - real)
            per_host = bs // n_proc
            host = B.collate(chunk_pairs[rank * per_host:(rank + 1) * per_host], seq_len, self.pad_id)
            result = jax.device_get(self._stats_fn(params, self._to_device(host)))
            out.append({k: np.asarray(v)[:real] for k, v in result.items()})
        return {k: np.concatenate([o[k] for o in out]).astype(np.float32) for k in out[0]}

    def validate(self) -> dict[str, float]:
        """The validation objective and metrics of the current policy (see train/validation.py)."""
        from refuseu_jax.train.validation import validation_metrics

        if not self.validation_pairs:
            raise UserError("validation needs held-out groups: set 'validation.fraction' > 0")
        stats = self._pair_stats(self.validation_pairs)
        benign = np.asarray([p.record_id in self.mixture.benign_ids for p in self.validation_pairs])
        return validation_metrics(stats["logps"], self.validation_ref, stats["lengths"], benign, self.cfg.dpo)

    def _early_stopping(self):
        from refuseu_jax.train.validation import EarlyStopping

        if not self.validation_pairs:
            return None
        v = self.cfg.validation
        return EarlyStopping(v.patience, v.min_delta, v.keep_best)

    def _validation_point(self, step: int, stopper, logger) -> dict:
        point = {"step": step, **self.validate()}
        if stopper is not None:
            point["stop"] = stopper.update(step, point["val/loss"], self.state["params"])
            point["best_step"] = stopper.best_step
        logger.log(point)
        return point

    # -- the loop ------------------------------------------------------------------------------------------------
    def train(self) -> dict:
        """Run (or resume) to the end; returns a summary. Raises UserError on a non-finite loss."""
        cfg = self.cfg
        primary = jax.process_index() == 0
        written = True
        if primary:  # the shared run directory gets one copy of each, from process 0
            try:
                storage.makedirs(self.run_dir)
                storage.write_text(self.run_dir / "config.json", json.dumps(to_dict(cfg), indent=1))
                storage.write_text(self.run_dir / "model.json", json.dumps(self.model_cfg.to_hf(), indent=1))
            except OSError as err:
                written = str(err)
        detail = "" if written is True else f" ({written})"
        hosts.raise_unless_all(written is True, f"{self.run_dir}: process 0 cannot write the run's config there{detail}")
        ckpt = RunCheckpoints(self.run_dir / "checkpoints", keep=cfg.keep_checkpoints)
        # Process 0's view of the latest checkpoint decides for every host (restoring is a collective).
        latest = hosts.decided_int(-1 if ckpt.latest_step() is None else ckpt.latest_step())
        start = 0
        if latest >= 0 and not cfg.resume:
            ckpt.close()
            raise UserError(f"{ckpt.directory}: holds checkpoints (latest step {latest}) but key "
                            f"'resume' is false; resume, or choose a new 'run_dir'")
        if latest >= 0:
            start = latest
            self.state, data_state, _ = ckpt.restore(start, self.state)
            self.data.set_state(data_state)
        logger = MetricsLogger(self.run_dir, start_step=start, tensorboard=cfg.tensorboard, enabled=primary)
        step_fn = self.step_fn()
        bar = _progress(start, self.total_steps, cfg.progress and jax.process_index() == 0)
        history, last_saved = [], start if start else None
        stopper, validations, stopped_at = self._early_stopping(), [], None
        if stopper is not None and start == 0:  # the untrained policy's figures: a baseline, not a candidate
            validations.append(self._validation_point(0, None, logger))
        try:
            for step in range(start + 1, self.total_steps + 1):
                host_batch = next(self.data)
                tokens = int(np.asarray(host_batch["attention_mask"]).sum()) * jax.process_count()
                t0 = time.perf_counter()
                self.state, metrics = step_fn(self.state, self.frozen, self._to_device(host_batch))
                metrics = {k: float(v) for k, v in jax.device_get(metrics).items()}
                elapsed = time.perf_counter() - t0
                if not math.isfinite(metrics["loss"]):
                    ckpt.wait()
                    where = f"step {last_saved} in {ckpt.directory}" if last_saved else "none saved yet"
                    raise UserError(f"step {step}: loss is {metrics['loss']} (non-finite); training stopped, "
                                    f"nothing saved for this step. Last good checkpoint: {where}")
                metrics.update(step=step, tokens_per_s=tokens / elapsed, step_time_s=elapsed, epoch=
                               (step - 1) // max(self.data.steps_per_epoch, 1) + 1)
                history.append(metrics)
                if step % cfg.log_every == 0 or step == self.total_steps:
                    logger.log(metrics)
                bar.update(1)
                bar.set_postfix(loss=f"{metrics['loss']:.4f}", acc=f"{metrics['rewards/accuracies']:.2f}",
                                tok_s=f"{metrics['tokens_per_s']:.0f}")
                if (cfg.checkpoint_every and step % cfg.checkpoint_every == 0) or step == self.total_steps:
                    ckpt.save(step, self.state, self.data.get_state(), {"step": step, "loss": metrics["loss"]})
                    logger.sync()  # a bucket's metrics.jsonl is at least as recent as its latest checkpoint
                    last_saved = step
                v = cfg.validation
                if stopper is not None and ((v.every and step % v.every == 0) or step == self.total_steps):
                    validations.append(self._validation_point(step, stopper, logger))
                    if (v.keep_best and stopper.best_step == step and last_saved != step
                            and (cfg.checkpoint_every or cfg.export_dir)):  # the best state, on disk
                        ckpt.save(step, self.state, self.data.get_state(), {"step": step, "loss": metrics["loss"],
                                                                            "best": True})
                        last_saved = step
                    if validations[-1]["stop"]:
                        stopped_at = step
                        if last_saved != step:  # where the run ended: what export-run and a resume find
                            ckpt.save(step, self.state, self.data.get_state(), {"step": step, "loss": metrics["loss"],
                                                                                "early_stop": True})
                        break
        finally:
            bar.close()
            logger.close()
            ckpt.close()
        summary = {"steps": self.total_steps, "start_step": start, "history": history,
                   "encode": self.encode_stats.summary(), "mixture": self.mixture.summary(),
                   "run_dir": str(self.run_dir)}
        best_on_disk = None
        if stopper is not None:
            summary.update(validation=validations, stopped_at=stopped_at, best_step=stopper.best_step)
            if validations and validations[0]["step"] == 0 and stopper.best_step is not None:
                summary["improved_on_start"] = stopper.best < validations[0]["val/loss"]
            if stopper.best_params is not None and history and stopper.best_step != history[-1]["step"]:
                # The parameters only: export, sampling and evaluation read nothing else (step and optimizer
                # state stay the last step's). A run that checkpoints also saved each new best to disk, so
                # export_dir (below) and `refuseu export-run RUN OUT --step BEST` find it.
                self.state = {**self.state, "params": stopper.best_params}
                best_on_disk = stopper.best_step
            stopper.best_params = None
        if cfg.export_dir:
            summary["export_dir"] = str(self.export_final(cfg.export_dir, best_on_disk))
        return summary

    # -- evaluation ----------------------------------------------------------------------------------------------
    def evaluation_pairs(self, split: str = "test") -> list[B.EncodedPair]:
        """Tokenized pairs of another split of the same data (same mix, languages and max_length, no limit)."""
        cfg = self.cfg.replace(data=dataclasses.replace(self.cfg.data, split=split, limit=None))
        return prepare_pairs(cfg, self.tokenizer)[0]

    def evaluate(self, pairs: list[B.EncodedPair]) -> dict:
        """DPO loss and TRL-named metrics of the current policy on `pairs`, without updating anything."""
        if self.frozen is None:
            raise UserError("evaluation needs the reference weights; set dpo.reference: model (or use LoRA)")
        spec, chunk = self.spec, self.cfg.dpo.logprob_chunk

        def both(trainable, frozen, batch):
            policy = merge_lora(frozen, trainable, spec.lora_scale) if spec.lora.rank else trainable
            stats = sequence_stats(spec.model, policy, batch, chunk)
            return stats["logps"], stats["lengths"], sequence_stats(spec.model, frozen, batch, chunk)["logps"]

        fn = with_mesh(self.mesh, jax.jit(both, out_shardings=NamedSharding(self.mesh, P())))
        bs, n_proc, rank = self.cfg.batch_size, jax.process_count(), jax.process_index()
        outs = []
        for start in range(0, len(pairs), bs):
            chunk_pairs = list(pairs[start:start + bs])
            real = len(chunk_pairs)
            chunk_pairs += [chunk_pairs[0]] * (bs - real)
            seq_len = B.padded_length(chunk_pairs, self.cfg.data.max_length, self.cfg.data.pad_multiple)
            per_host = bs // n_proc
            host = B.collate(chunk_pairs[rank * per_host:(rank + 1) * per_host], seq_len, self.pad_id)
            result = jax.device_get(fn(self.state["params"], self.frozen, self._to_device(host)))
            outs.append([np.asarray(x)[:real] for x in result])
        logps, lengths, ref = (np.concatenate(parts) for parts in zip(*outs))
        d = self.cfg.dpo
        _, metrics = dpo_loss(logps[:, 0], logps[:, 1], ref[:, 0], ref[:, 1], beta=d.beta, loss_type=d.loss_type,
                              label_smoothing=d.label_smoothing, chosen_lengths=lengths[:, 0],
                              rejected_lengths=lengths[:, 1])
        return {k: float(v) for k, v in metrics.items()}

    # -- export --------------------------------------------------------------------------------------------------
    def export(self, out_dir: str | Path) -> Path:
        """Write the current policy (LoRA merged into the base) as a HF checkpoint with the run's tokenizer."""
        from refuseu_jax.checkpoints.hf import resolve_model_dir, save_hf

        params = self.policy_params(self.state["params"])
        tokenizer = self.cfg.model.tokenizer
        tokenizer_src = str(resolve_model_dir(tokenizer)) if tokenizer else self.model_source
        return save_hf(params, self.model_cfg, out_dir, tokenizer_src=tokenizer_src)

    def export_final(self, out_dir: storage.PathOrUrl, step: int | None = None) -> storage.Location:
        """The release export of the run's final checkpoint, or of checkpoint `step` (the best one under early
        stopping): process 0 writes it, from the checkpoint, one tensor at a time, with a model card; the other
        hosts wait."""
        from refuseu_jax.checkpoints.run_export import export_run

        out = storage.location(out_dir, key="export_dir")
        try:
            if jax.process_index() == 0:
                export_run(self.run_dir, out, step=step)
        finally:  # also when process 0 fails: the others must not wait for ever
            if jax.process_count() > 1:
                from jax.experimental import multihost_utils

                multihost_utils.sync_global_devices("export")
        return out

    def restore(self, step: int | None = None) -> int:
        """Load a checkpoint of this run into the trainer (e.g. to export it); returns its step."""
        ckpt = RunCheckpoints(self.run_dir / "checkpoints", keep=self.cfg.keep_checkpoints)
        try:
            wanted = ckpt.latest_step() if step is None else step
            # Process 0's listing decides, for every host (restoring is a collective).
            step = hosts.decided_int(wanted if wanted is not None and wanted in ckpt.all_steps() else -1)
            if step < 0:
                raise UserError(f"{ckpt.directory}: no checkpoint for step {wanted} (have {ckpt.all_steps()})")
            self.state, data_state, _ = ckpt.restore(step, self.state)
            self.data.set_state(data_state)
        finally:
            ckpt.close()
        return step

    def policy_model(self):
        """The current policy as an nnx `Llama` (for sampling)."""
        return nnx.merge(graphdef_of(self.model_cfg), self.policy_params(self.state["params"]))


# ---------------------------------------------------------------------------------------------------------------
# Metrics and progress


class MetricsLogger:
    """metrics.jsonl in the run directory and optional TensorBoard (process 0 only; the others pass
    enabled=False).

    A resumed run first drops lines past the step it resumes from (a killed run may have logged steps after its
    last checkpoint; they are run again), so the file holds one trajectory. On a local disk lines are appended
    and flushed one by one. Object stores cannot append: there the file (and TensorBoard's event files, written
    to a local temporary directory) is uploaded whole at most every `sync_seconds`, and on close."""

    def __init__(self, run_dir: storage.Location, start_step: int = 0, tensorboard: bool = False,
                 enabled: bool = True, sync_seconds: float = 30.0):
        self.enabled = enabled
        self.path = run_dir / "metrics.jsonl"
        self.local = storage.is_local(run_dir)
        self.sync_seconds, self.last_sync = sync_seconds, time.monotonic()
        self.file = self.writer = self.tb_local = None
        self.lines: list[str] = []
        if not enabled:
            return
        storage.makedirs(run_dir)
        if self.path.exists():
            old = storage.read_text(self.path).splitlines()
            self.lines = [line for line in old if _logged_step(line) is not None and _logged_step(line) <= start_step]
            if len(self.lines) != len(old):
                storage.write_text(self.path, "".join(line + "\n" for line in self.lines))
        if self.local:
            self.file = open(storage.local_path(self.path), "a", encoding="utf-8")
        if tensorboard:
            import tempfile

            from tensorboardX import SummaryWriter

            self.tb_remote = run_dir / "tensorboard"
            self.tb_local = None if self.local else tempfile.mkdtemp(prefix="refuseu-tensorboard-")
            self.writer = SummaryWriter(self.tb_local or str(storage.local_path(self.tb_remote)))

    def log(self, metrics: dict) -> None:
        if not self.enabled:
            return
        line = json.dumps(metrics)
        if self.file is not None:
            self.file.write(line + "\n")
            self.file.flush()
        else:
            self.lines.append(line)
        if self.writer is not None:
            for key, value in metrics.items():
                if key != "step":
                    self.writer.add_scalar(f"train/{key}", value, metrics["step"])
        if not self.local and time.monotonic() - self.last_sync >= self.sync_seconds:
            self.sync()

    def sync(self) -> None:
        """Upload the metrics (and event files) to a bucket run directory; a no-op on local disks."""
        if not self.enabled or self.local:
            return
        storage.write_text(self.path, "".join(line + "\n" for line in self.lines))
        if self.writer is not None:
            self.writer.flush()
            for name in os.listdir(self.tb_local):
                with open(os.path.join(self.tb_local, name), "rb") as fh:
                    storage.write_bytes(self.tb_remote / name, fh.read())
        self.last_sync = time.monotonic()

    def close(self) -> None:
        if not self.enabled:
            return
        if self.writer is not None:
            self.writer.flush()
        self.sync()
        if self.file is not None:
            self.file.close()
        if self.writer is not None:
            self.writer.close()
        if self.tb_local is not None:
            import shutil

            shutil.rmtree(self.tb_local, ignore_errors=True)


def _logged_step(line: str) -> int | None:
    """The step of a metrics line, None for a line a killed process left half-written."""
    try:
        return int(json.loads(line)["step"])
    except (ValueError, KeyError, TypeError):
        return None


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


def _progress(start: int, total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, initial=start, desc="dpo", unit="step", disable=not enabled, dynamic_ncols=True)
