"""The optimizer: AdamW behind an optional global-norm clip, on a warmup-then-decay learning-rate schedule."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import optax

from refuseu_jax.train.config import OptimSpec


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
