"""KV-cache text generation for the Flax Llama, compiled once per (batch, prompt bucket) shape.

One jitted function does the whole job: a prefill over the left-padded prompts fills the cache, then a
`lax.while_loop` samples one token per iteration (greedy, or temperature with top-k / top-p) until every row has
produced a stop token or `max_new_tokens` are out. No Python runs per token, so the decode loop costs what the
device costs.

Padding: prompts are left-padded to a common length rounded up to `length_bucket`, and the batch is filled up to
`batch_size` with copies of the first prompt, so a long evaluation reuses one or two compiled programs instead of
compiling for every batch. Positions count from each row's first real token, like transformers does.

On a mesh the parameters keep whatever sharding they have (see `refuseu_jax.parallel.shard_params`), prompts and
the KV cache are split over the batch axes ("data", "fsdp"), and the cache's KV-head axis over "tensor".

Stop strings cannot be checked inside the compiled loop (that needs detokenisation); a stop string that is one
token of the vocabulary stops the loop there, and every stop string truncates the decoded text afterwards.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from refuseu_jax import kernels
from refuseu_jax.batching import fixed_batches
from refuseu_jax.batching import pad_id as default_pad_id
from refuseu_jax.models.llama import KVCache, Linear, Llama, rope_cos_sin
from refuseu_jax.parallel import BATCH_AXES, batch_sharding


@dataclass(frozen=True)
class SamplingConfig:
    max_new_tokens: int = 256
    temperature: float = 0.0  # 0 means greedy (argmax); top_k / top_p are ignored then
    top_k: int = 0  # 0: no top-k filter
    top_p: float = 1.0  # 1.0: no nucleus filter
    seed: int = 0
    stop_strings: tuple[str, ...] = ()
    stop_token_ids: tuple[int, ...] = ()  # in addition to the model's EOS ids
    batch_size: int = 8
    length_bucket: int = 64  # prompt lengths are rounded up to a multiple of this

    def __post_init__(self):
        if self.max_new_tokens < 1:
            raise ValueError("max_new_tokens must be >= 1")
        if self.temperature < 0 or not 0 < self.top_p <= 1 or self.top_k < 0:
            raise ValueError("need temperature >= 0, 0 < top_p <= 1, top_k >= 0")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0


# ----------------------------------------------------------------------------------------------------------------
# Token selection (pure functions, usable on their own)
# ----------------------------------------------------------------------------------------------------------------


def filter_logits(logits: jax.Array, top_k: int, top_p: float | jax.Array) -> jax.Array:
    """Set logits outside the top-k and outside the top-p nucleus to -inf. logits: [B, V] float32.

    The nucleus keeps the smallest set of most likely tokens whose probability reaches top_p (at least one).
    """
    neg_inf = jnp.finfo(logits.dtype).min
    if top_k and top_k < logits.shape[-1]:
        kth = jax.lax.top_k(logits, top_k)[0][:, -1:]
        logits = jnp.where(logits < kth, neg_inf, logits)
    sorted_logits = jnp.sort(logits, axis=-1)[:, ::-1]
    cumulative = jnp.cumsum(jax.nn.softmax(sorted_logits, axis=-1), axis=-1)
    # Number of tokens needed to reach top_p: those whose preceding mass is still below it.
    keep = jnp.sum((cumulative - jax.nn.softmax(sorted_logits, axis=-1)) < top_p, axis=-1, keepdims=True)
    threshold = jnp.take_along_axis(sorted_logits, jnp.maximum(keep, 1) - 1, axis=-1)
    return jnp.where(logits < threshold, neg_inf, logits)


def select_tokens(logits, key, greedy: bool, temperature, top_k: int, top_p) -> jax.Array:
    if greedy:
        return jnp.argmax(logits, axis=-1).astype(jnp.int32)
    logits = filter_logits(logits / temperature, top_k, top_p)
    return jax.random.categorical(key, logits, axis=-1).astype(jnp.int32)


# ----------------------------------------------------------------------------------------------------------------
# The compiled generation program
# ----------------------------------------------------------------------------------------------------------------


def _cache_sharding(mesh: Mesh | None, num_kv_heads: int) -> NamedSharding | None:
    """KV cache [L, B, S, KV, D]: batch over the data axes, KV heads over "tensor" where they divide."""
    if mesh is None:
        return None
    tensor = "tensor" if mesh.shape.get("tensor", 1) > 1 and num_kv_heads % mesh.shape["tensor"] == 0 else None
    return NamedSharding(mesh, P(None, BATCH_AXES, None, tensor, None))


class InOutLinear(nnx.Module):
    """A projection of the sampler's decode copy, its weight held transposed, [in, out]: XLA:CPU multiplies a few
    rows (one token per sequence) by an [in, out] weight faster than by HF's [out, in], which it repacks on every
    call."""

    def __init__(self, linear: Linear):
        self.weight = nnx.Param(jnp.swapaxes(linear.weight[...], -1, -2))
        self.bias = linear.bias
        self.dtype = linear.dtype

    def __call__(self, x: jax.Array) -> jax.Array:
        y = kernels.linear_in_out(x.astype(self.dtype), self.weight[...].astype(self.dtype))
        return y if self.bias is None else y + self.bias[...].astype(y.dtype)


def with_in_out_weights(model: Llama) -> Llama:
    """A copy of the model whose decoder projections are `InOutLinear`s over [in, out] copies of their stacked
    weights; embeddings, norms and the caller's model are untouched."""
    decode_model = nnx.merge(*nnx.split(model))
    for name, module in list(vars(decode_model.layers).items()):
        if isinstance(module, Linear):
            setattr(decode_model.layers, name, InOutLinear(module))
    return decode_model


def per_layer_decode_by_default(platform: str) -> bool:
    """Sampler(unstack_layers=None): the per-layer decode where it was measured faster by a wide margin."""
    return platform == "gpu"


def per_layer_weights(model: Llama):
    """(layer graphdef, per-layer weight states): the stacked decoder layers as separate buffers, in the model's
    own weight layout."""
    graphdef, state = nnx.split(model.layers)
    return graphdef, kernels.get(model.cfg.kernels).unstack_layers(state, None)


def _decode_unrolled(model: Llama, layer_graphdef, layer_states, input_ids, positions, cache, write_index, kv_mask):
    """`Llama.decode` with a Python loop over per-layer weights and a per-layer cache [(k, v), ...].

    Same arithmetic as the model's scan: the mask and rotary tables are built as in `Llama.decode`. It exists
    because XLA on CPU copies each layer's slice out of the stacked weights on every scan step, which triples the
    memory traffic of a decode step; separate buffers are read in place.
    """
    t, s = input_ids.shape[1], cache[0][0].shape[1]
    cos, sin = rope_cos_sin(model.cfg, positions)
    causal = jnp.arange(s)[None, :] <= (write_index + jnp.arange(t))[:, None]
    mask = causal[None] & kv_mask.astype(bool)[:, None, :]
    h = model.embed(input_ids)
    new_cache = []
    for state, (k, v) in zip(layer_states, cache):
        h, k, v = nnx.merge(layer_graphdef, state).decode(h, cos, sin, mask, k, v, write_index)
        new_cache.append((k, v))
    return model.logits_from_hidden(model.final_norm(h)), new_cache


@functools.partial(
    jax.jit,
    static_argnames=("graphdef", "layer_graphdef", "max_new_tokens", "greedy", "top_k", "stop_ids", "pad_id",
                     "cache_sharding"),
)
def _generate(graphdef, state, layer_states, input_ids, attention_mask, key, temperature, top_p, *,
              layer_graphdef, max_new_tokens, greedy, top_k, stop_ids, pad_id, cache_sharding):
    """input_ids/attention_mask [B, T] left-padded -> new tokens [B, max_new_tokens] (pad after a stop).

    layer_states: None to run the model's own (scanned) decode, or per-layer weights from `per_layer_weights`."""
    model: Llama = nnx.merge(graphdef, state)
    batch, prompt_len = input_ids.shape
    mask = attention_mask.astype(bool)
    cache_len = prompt_len + max_new_tokens - 1  # the last sampled token is never fed back
    cache = model.init_cache(batch, cache_len)
    if cache_sharding is not None:
        cache = jax.lax.with_sharding_constraint(cache, KVCache(cache_sharding, cache_sharding))
    if layer_states is None:
        decode = model.decode
    else:
        cache = [(cache.k[i], cache.v[i]) for i in range(model.cfg.num_layers)]
        decode = functools.partial(_decode_unrolled, model, layer_graphdef, layer_states)

    positions = jnp.maximum(jnp.cumsum(mask, axis=-1) - 1, 0)
    kv_mask = jnp.zeros((batch, cache_len), bool).at[:, :prompt_len].set(mask)
    logits, cache = decode(input_ids, positions, cache, jnp.int32(0), kv_mask)
    next_position = jnp.sum(mask, axis=-1).astype(jnp.int32)  # one past each row's last real token
    stop_ids = jnp.asarray(stop_ids, jnp.int32)

    def pick(logits, step, done):
        """Sample for every row; rows already done get pad. Also returns which rows were live for this token."""
        token = select_tokens(logits, jax.random.fold_in(key, step), greedy, temperature, top_k, top_p)
        token = jnp.where(done, pad_id, token)
        return token, done | jnp.isin(token, stop_ids), ~done

    first, done, live = pick(logits[:, -1], 0, jnp.zeros((batch,), bool))
    tokens = jnp.full((batch, max_new_tokens), pad_id, jnp.int32).at[:, 0].set(first)

    def cond(carry):
        step, _, _, done, _, _ = carry
        return (step < max_new_tokens) & ~jnp.all(done)

    def body(carry):
        step, tokens, cache, done, live, kv_mask = carry
        slot = prompt_len + step - 1  # cache slot of the token sampled at step - 1
        previous = jax.lax.dynamic_slice_in_dim(tokens, step - 1, 1, axis=1)
        # Finished rows still run (fixed shapes), but their filler tokens never enter the attention mask.
        kv_mask = jax.lax.dynamic_update_slice_in_dim(kv_mask, live[:, None], slot, axis=1)
        logits, cache = decode(previous, (next_position + step - 1)[:, None], cache, slot, kv_mask)
        token, done, live = pick(logits[:, 0], step, done)
        tokens = jax.lax.dynamic_update_slice_in_dim(tokens, token[:, None], step, axis=1)
        return step + 1, tokens, cache, done, live, kv_mask

    carry = (jnp.int32(1), tokens, cache, done, live, kv_mask)
    tokens = jax.lax.while_loop(cond, body, carry)[1]
    return tokens


@functools.partial(jax.jit, static_argnames=("graphdef", "k"))
def tail_logprobs(graphdef, state, ids, mask, *, k):
    """Log-softmax over the vocabulary at the last k positions of left-padded rows: [B, k, V] float32.

    One forward pass without a cache: what scoring needs (next-token distributions, continuation likelihoods).
    Logits are computed for those k positions only, not for the whole sequence."""
    model = nnx.merge(graphdef, state)
    hidden = model.hidden_states(ids, mask)[:, -k:]
    return jax.nn.log_softmax(model.logits_from_hidden(hidden), axis=-1)


# ----------------------------------------------------------------------------------------------------------------
# Host-side driver
# ----------------------------------------------------------------------------------------------------------------


def left_pad(prompts: Sequence[Sequence[int]], length: int, pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    ids = np.full((len(prompts), length), pad_id, np.int32)
    mask = np.zeros((len(prompts), length), bool)
    for row, prompt in enumerate(prompts):
        if len(prompt):
            ids[row, -len(prompt):] = prompt
            mask[row, -len(prompt):] = True
    return ids, mask


class Sampler:
    """Generation for one model (and optionally its tokenizer) on an optional mesh.

    eos_ids default to the model config's EOS ids; pad_id to the config's pad id, else the first EOS id (the
    token written after a row stops, never attended to).
    """

    def __init__(self, model: Llama, tokenizer=None, mesh: Mesh | None = None,
                 eos_ids: Sequence[int] | None = None, pad_id: int | None = None,
                 unstack_layers: bool | None = None):
        self.model = model
        self.tokenizer = tokenizer
        self.mesh = mesh
        cfg = model.cfg
        self.eos_ids = tuple(eos_ids) if eos_ids is not None else tuple(cfg.eos_token_ids)
        if tokenizer is not None and tokenizer.eos_token_id is not None and eos_ids is None:
            self.eos_ids = tuple(dict.fromkeys(self.eos_ids + (tokenizer.eos_token_id,)))
        self.pad_id = int(pad_id) if pad_id is not None else default_pad_id(cfg.pad_token_id, self.eos_ids)
        # On one CPU device the sampler decodes through its own [in, out] copy of the projections (see
        # InOutLinear), which costs memory while the caller keeps the model; elsewhere the weights are used as is.
        cpu = mesh is None and jax.devices()[0].platform == "cpu"
        decode_model = with_in_out_weights(model) if cpu else model
        self.graphdef, self.state = nnx.split(decode_model)
        # unstack_layers: decode through per-layer weight copies (see _decode_unrolled); None: on GPUs only, where
        # the scanned decode is bound by kernel launches. On CPU the gain is small and each prompt-length bucket
        # compiles longer; TPUs are unmeasured. Measurements: docs/evaluation.md.
        if unstack_layers is None:
            unstack_layers = per_layer_decode_by_default(jax.devices()[0].platform)
        self.unstack_layers = unstack_layers
        self.layer_graphdef, self.layer_states = per_layer_weights(decode_model) if unstack_layers else (None, None)

    # -- token level ---------------------------------------------------------------------------------------------
    def generate_ids(self, prompts: Sequence[Sequence[int]], config: SamplingConfig = SamplingConfig()):
        """New token ids for each prompt, up to and including the stop token (EOS or stop id) when one came."""
        stop_ids = tuple(sorted(set(self.eos_ids) | set(config.stop_token_ids) | set(self._stop_string_ids(config))))
        batch = self._padded_batch_size(config.batch_size)
        if any(len(p) == 0 for p in prompts):
            raise ValueError("empty prompt: generation needs at least one prompt token")
        # Batches of similar lengths: less padding, fewer distinct length buckets (compiles). Results are returned
        # in the caller's order.
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        by_length = [list(prompts[i]) for i in order]
        out: list[list[int]] = []
        for start, chunk, n_real in fixed_batches(by_length, batch):
            length = _round_up(max(len(p) for p in chunk), config.length_bucket)
            ids, mask = left_pad(chunk, length, self.pad_id)
            ids, mask = self._place(ids), self._place(mask)
            key = jax.random.key(config.seed)
            key = jax.random.fold_in(key, start)  # different batches draw different noise, reproducibly
            tokens = _generate(
                self.graphdef, self.state, self.layer_states, ids, mask, key,
                jnp.float32(max(config.temperature, 1e-6)), jnp.float32(config.top_p), max_new_tokens=config.max_new_tokens, greedy=config.greedy,
                layer_graphdef=self.layer_graphdef, top_k=config.top_k, stop_ids=stop_ids, pad_id=self.pad_id,
                cache_sharding=_cache_sharding(self.mesh, self.model.cfg.num_kv_heads),
            )
            tokens = np.asarray(jax.device_get(tokens))[:n_real]
            out.extend(_cut_at_stop(row, stop_ids) for row in tokens)
        result: list[list[int]] = [[] for _ in prompts]
        for position, index in enumerate(order):
            result[index] = out[position]
        return result

    def _padded_batch_size(self, batch_size: int) -> int:
        if self.mesh is None:
            return batch_size
        shards = self.mesh.shape.get("data", 1) * self.mesh.shape.get("fsdp", 1)
        return _round_up(batch_size, shards)

    def _place(self, array: np.ndarray):
        if self.mesh is None:
            return jnp.asarray(array)
        return jax.device_put(array, batch_sharding(self.mesh))

    def _stop_string_ids(self, config: SamplingConfig) -> list[int]:
        """Stop strings that are a single vocabulary token can stop the compiled loop early."""
        if self.tokenizer is None:
            return []
        ids = []
        for text in config.stop_strings:
            encoded = self.tokenizer.encode(text, add_special_tokens=False)
            if len(encoded) == 1:
                ids.append(encoded[0])
        return ids

    def next_token_logprobs(self, prompts: Sequence[Sequence[int]], batch_size: int = 8,
                            length_bucket: int = 64) -> np.ndarray:
        """Log-probabilities of the first token each prompt would generate: [N, V]."""
        batch = self._padded_batch_size(batch_size)
        out = []
        for _, chunk, n_real in fixed_batches(prompts, batch):
            chunk = [list(p) for p in chunk]
            ids, mask = left_pad(chunk, _round_up(max(map(len, chunk)), length_bucket), self.pad_id)
            logprobs = tail_logprobs(self.graphdef, self.state, self._place(ids), self._place(mask), k=1)
            out.append(np.asarray(jax.device_get(logprobs))[:n_real, 0])
        return np.concatenate(out)

    # -- text level ----------------------------------------------------------------------------------------------
    def encode_chat(self, messages: list[dict]) -> list[int]:
        """Token ids of a conversation rendered with the tokenizer's own chat template, ready for the reply."""
        text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        # The template already holds any BOS it wants; adding special tokens again would double it.
        return self.tokenizer.encode(text, add_special_tokens=False)

    def generate(self, prompts: Sequence[str | list[dict]], config: SamplingConfig = SamplingConfig(),
                 chat: bool = True) -> list[str]:
        """Reply texts. A str prompt is one user message when `chat` (else raw text); a list is a conversation."""
        if self.tokenizer is None:
            raise ValueError("Sampler.generate needs a tokenizer; use generate_ids for token ids")
        encoded = []
        for prompt in prompts:
            if isinstance(prompt, str) and not chat:
                encoded.append(self.tokenizer.encode(prompt))
            else:
                messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt
                encoded.append(self.encode_chat(messages))
        outputs = self.generate_ids(encoded, config)
        return [truncate_at_stop_strings(self.tokenizer.decode(ids, skip_special_tokens=True), config.stop_strings)
                for ids in outputs]


def truncate_at_stop_strings(text: str, stop_strings: Sequence[str]) -> str:
    cut = min((i for i in (text.find(s) for s in stop_strings if s) if i >= 0), default=len(text))
    return text[:cut]


def _cut_at_stop(row: np.ndarray, stop_ids: Sequence[int]) -> list[int]:
    hits = np.flatnonzero(np.isin(row, stop_ids))
    return row[: hits[0] + 1].tolist() if hits.size else row.tolist()


def _round_up(n: int, multiple: int) -> int:
    return int(math.ceil(n / multiple) * multiple) if multiple > 1 else n
