"""LoRA for DPO: adapter factors in PEFT's layout, stacked over layers, and the one place they meet the base.

With `lora.rank > 0` the trainable tree holds only the factors; the base weights stay frozen and serve twice,
merged with the factors as the policy and alone as the reference (train/state.py, `LoraBase`).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax.sharding import PartitionSpec as P

from data_tools.errors import UserError
from refuseu_jax.parallel import PARTITION_RULES
from refuseu_jax.train.config import LoraSpec

# LoRA factors are small: replicate them rather than fit them to the model's rules.
LORA_RULES = ((r"lora_(a|b)$", P()),) + PARTITION_RULES


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


def lora_scale(lora: LoraSpec) -> float:
    return lora.alpha / lora.rank if lora.rank else 0.0


def policy_params(lora: LoraSpec, trainable: dict, base: dict | None) -> dict:
    """The policy's full parameters: the trainable tree itself, or under LoRA the base with the factors merged in.
    Every caller that needs the policy (step, validation, evaluation, export, sampling) goes through here."""
    if not lora.rank:
        return trainable
    return merge_lora(base, trainable, lora_scale(lora))
