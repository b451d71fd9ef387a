"""Residual-stream reads for abliteration, on the training mesh: per-layer means at the post-instruction positions,
and last-position log-probabilities with an optional activation addition.

The forward here is the model's own, driven layer by layer through its public modules (`embed`, each
`DecoderLayer`, `final_norm`, `logits_from_hidden`) so that the input of every layer (the "resid_pre" the paper
reads) can be taken out, and a vector added to it, without a hook inside the model.

Memory: `collect_means` keeps running float64 sums on the host, one [groups, positions, layers, H] array; the
device holds one batch's activations at the read positions, never the prompts' activations all at once. Batches
are split over the mesh's ("data", "fsdp") axes like training batches, and the parameters keep the layout they
were loaded with (`refuseu_jax.parallel.PARTITION_RULES`), so this runs wherever training runs.
"""

from __future__ import annotations

import functools
import math
from typing import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jax.sharding import Mesh

from refuseu_jax.models.llama import Llama, default_positions, rope_cos_sin
from refuseu_jax.batching import fixed_batches
from refuseu_jax.parallel import batch_sharding
from refuseu_jax.sample import left_pad


def residual_forward(model: Llama, ids: jax.Array, mask: jax.Array, tail: int, add_vec=None, add_layer=None):
    """One forward over left-padded rows: (final-norm hidden state at the last position [B, H], every layer's input
    at the last `tail` positions [L, B, tail, H]). With `add_vec` [H], that vector is added to the input of layer
    `add_layer` (a traced scalar is fine) at every position: the paper's activation addition."""
    cfg = model.cfg
    t = ids.shape[1]
    mask = mask.astype(bool)
    cos, sin = rope_cos_sin(cfg, default_positions(mask), max_position=t)
    attention_mask = jnp.tril(jnp.ones((t, t), dtype=bool))[None] & mask[:, None, :]
    graphdef, stacked = nnx.split(model.layers)

    def body(h, xs):
        layer_state, index = xs
        if add_vec is not None:
            h = h + jnp.where(index == add_layer, 1.0, 0.0).astype(h.dtype) * add_vec.astype(h.dtype)
        read = h[:, t - tail:]
        return nnx.merge(graphdef, layer_state)(h, cos, sin, attention_mask), read

    h, reads = jax.lax.scan(body, model.embed(ids), (stacked, jnp.arange(cfg.num_layers)))
    return model.final_norm(h[:, -1]), reads


@functools.partial(jax.jit, static_argnames=("graphdef", "tail"))
def _group_sums(graphdef, state, ids, mask, weights, tail: int):
    """Sum of each group's layer inputs [G, tail, L, H] (float32); `weights` [B, G] is one-hot, zero for filler
    rows."""
    _, reads = residual_forward(nnx.merge(graphdef, state), ids, mask, tail)
    return jnp.einsum("bg,lbph->gplh", weights, reads.astype(jnp.float32))


@functools.partial(jax.jit, static_argnames=("graphdef",))
def _last_logprobs(graphdef, state, ids, mask, add_vec, add_layer):
    model = nnx.merge(graphdef, state)
    final, _ = residual_forward(model, ids, mask, 1, add_vec, add_layer)
    return jax.nn.log_softmax(model.logits_from_hidden(final[:, None])[:, 0], axis=-1)


class Batcher:
    """Left-padded fixed-size batches placed on the mesh: the batch is rounded up to a multiple of the batch
    shards, and lengths to a multiple of `length_bucket`, so a run compiles a handful of shapes."""

    def __init__(self, mesh: Mesh | None, batch_size: int, pad_id: int, length_bucket: int = 32):
        shards = 1 if mesh is None else mesh.shape["data"] * mesh.shape["fsdp"]
        self.mesh, self.pad_id, self.bucket = mesh, pad_id, length_bucket
        self.batch_size = math.ceil(batch_size / shards) * shards

    def place(self, array: np.ndarray):
        if self.mesh is None:
            return jnp.asarray(array)
        return jax.device_put(array, batch_sharding(self.mesh))

    def batches(self, prompts: Sequence[Sequence[int]]):
        """(first index, real rows, ids, mask) per batch; filler rows repeat the first prompt."""
        for start, chunk, real in fixed_batches(prompts, self.batch_size):
            chunk = [list(p) for p in chunk]  # per batch: the prompts are never all copied at once
            length = math.ceil(max(map(len, chunk)) / self.bucket) * self.bucket
            ids, mask = left_pad(chunk, length, self.pad_id)
            yield start, real, self.place(ids), self.place(mask)


class RunningMeans:
    """float64 running sums per group: the only state kept while activations stream past."""

    def __init__(self, groups: int, tail: int, layers: int, hidden: int):
        self.sums = np.zeros((groups, tail, layers, hidden), np.float64)
        self.counts = np.zeros((groups,), np.int64)

    def add(self, batch_sums: np.ndarray, batch_counts: np.ndarray) -> None:
        self.sums += batch_sums
        self.counts += batch_counts

    def means(self) -> np.ndarray:
        """[G, tail, L, H]; NaN for groups with no prompt."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.sums / self.counts[:, None, None, None]

    def pooled(self) -> np.ndarray:
        """Mean over every prompt of every group [tail, L, H]."""
        return self.sums.sum(axis=0) / max(int(self.counts.sum()), 1)


def difference_of_means(harmful: RunningMeans, harmless: RunningMeans, balance_groups: bool
                        ) -> tuple[np.ndarray, list[int]]:
    """Candidate directions [tail, L, H] and the groups they were taken from.

    Pooled (`balance_groups=False`, the paper's single-language setting): mean of all harmful prompts - mean of all
    harmless prompts. Balanced: the unweighted mean over groups of each group's own harmful - harmless difference,
    over the groups that have prompts on both sides. Why: with twelve languages the two sets rarely have the same
    language mix (a model refuses more in some languages, and the filter keeps only refused harmful and answered
    harmless prompts), and the pooled difference then carries the language identity that separates the two mixes.
    Within one language that component cancels."""
    if not balance_groups:
        return harmful.pooled() - harmless.pooled(), [g for g in range(len(harmful.counts))
                                                      if harmful.counts[g] or harmless.counts[g]]
    both = [g for g in range(len(harmful.counts)) if harmful.counts[g] > 0 and harmless.counts[g] > 0]
    if not both:
        return np.zeros_like(harmful.sums[0]), []
    return (harmful.means()[both] - harmless.means()[both]).mean(axis=0), both


def collect_means(model: Llama, prompts: Sequence[Sequence[int]], groups: Sequence[int], n_groups: int, tail: int,
                  batcher: Batcher, on_batch: Callable[[int], None] | None = None) -> RunningMeans:
    """Means of every layer's input at the last `tail` positions, per group (e.g. language), over `prompts`
    (token ids ending with the post-instruction tokens). `on_batch(done)` is called after each batch (progress;
    the memory test reads the live buffers there)."""
    cfg = model.cfg
    graphdef, state = nnx.split(model)
    acc = RunningMeans(n_groups, tail, cfg.num_layers, cfg.hidden_size)
    for start, real, ids, mask in batcher.batches(prompts):
        weights = np.zeros((batcher.batch_size, n_groups), np.float32)
        weights[np.arange(real), np.asarray(groups[start:start + real])] = 1.0
        sums = _group_sums(graphdef, state, ids, mask, batcher.place(weights), tail)
        acc.add(np.asarray(jax.device_get(sums), np.float64), weights.sum(axis=0).astype(np.int64))
        if on_batch is not None:
            on_batch(start + real)
    return acc


def last_logprobs(model: Llama, prompts: Sequence[Sequence[int]], batcher: Batcher, add_vec=None,
                  add_layer: int = 0) -> np.ndarray:
    """Log-probabilities of the next token after each prompt [N, V] (float32), with `add_vec` optionally added to
    the input of layer `add_layer`. One compiled program serves every layer and vector."""
    graphdef, state = nnx.split(model)
    vec = jnp.zeros((model.cfg.hidden_size,), jnp.float32) if add_vec is None else jnp.asarray(add_vec, jnp.float32)
    out = []
    for _, real, ids, mask in batcher.batches(prompts):
        logprobs = _last_logprobs(graphdef, state, ids, mask, vec, jnp.int32(add_layer))
        out.append(np.asarray(jax.device_get(logprobs))[:real])
    return np.concatenate(out) if out else np.zeros((0, model.cfg.vocab_size), np.float32)
