"""The DPO step: one jitted update of {step, params, opt_state} against a frozen reference.

One step = one forward over [2 x pairs, T] (chosen and rejected rows together), log-probs from the final hidden
states in vocabulary chunks (never [B, T, V] float32), the reference log-probs from frozen weights (or read from
the batch when precomputed), `dpo_loss`, gradients accumulated over micro-batches, AdamW. The trainable tree is
the full parameters, or only LoRA factors when `lora.rank > 0`; frozen weights never get optimizer state.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from refuseu_jax import kernels
from refuseu_jax.models.config import ModelConfig
from refuseu_jax.models.llama import abstract_model
from refuseu_jax.train.config import DPOSpec, LoraSpec, OptimSpec
from refuseu_jax.train.lora import lora_scale, policy_params
from refuseu_jax.train.losses import dpo_loss, mean_logits, token_logprobs
from refuseu_jax.train.optimizer import make_optimizer, make_schedule


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
        return lora_scale(self.lora)

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


def preference_loss(d: DPOSpec, logps, lengths, ref):
    """`dpo_loss` of the configured kind on [pairs, 2] (chosen, rejected) sequence sums: what the step minimises
    (before the optional NLL term) and what `DPOTrainer.evaluate` reports."""
    return dpo_loss(logps[:, 0], logps[:, 1], ref[:, 0], ref[:, 1], beta=d.beta, loss_type=d.loss_type,
                    label_smoothing=d.label_smoothing, chosen_lengths=lengths[:, 0], rejected_lengths=lengths[:, 1])


def loss_fn(spec: StepSpec, trainable, frozen, batch):
    """DPO loss (+ optional NLL) and metrics of one batch. `frozen` is the reference (full fine-tuning), the base
    model (LoRA), or None when the batch carries precomputed `ref_logps`."""
    d = spec.dpo
    policy = policy_params(spec.lora, trainable, frozen)
    stats = sequence_stats(spec.model, policy, batch, d.logprob_chunk)
    if "ref_logps" in batch:
        ref = batch["ref_logps"]
    else:
        ref = jax.lax.stop_gradient(sequence_stats(spec.model, frozen, batch, d.logprob_chunk)["logps"])
    logps, lengths = stats["logps"], stats["lengths"]
    loss, metrics = preference_loss(d, logps, lengths, ref)
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


