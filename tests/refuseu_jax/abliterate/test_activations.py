"""Residual reads: per-layer means equal transformers' hidden states, activation addition equals a transformers
pre-hook, 8 fake devices equal one, and memory stays at one batch whatever the number of prompts."""

from __future__ import annotations

import tracemalloc

import jax
import numpy as np
import pytest
import torch

from refuseu_jax.abliterate.activations import (Batcher, RunningMeans, collect_means, difference_of_means,
                                                 last_logprobs)
from refuseu_jax.models.config import ModelConfig
from refuseu_jax.models.llama import model_from_params
from refuseu_jax.parallel import MeshConfig, make_mesh, shard_params
from tests.refuseu_jax.hf_tiny import params_from_hf, tiny_hf_llama


@pytest.fixture(scope="module")
def tiny():
    hf = tiny_hf_llama(seed=1)
    cfg = ModelConfig.from_hf(hf.config.to_dict())
    return hf, cfg, params_from_hf(hf)


def _prompts(n: int, vocab: int, seed: int = 0, min_len: int = 5, max_len: int = 20) -> list[list[int]]:
    rng = np.random.RandomState(seed)
    return [rng.randint(3, vocab, rng.randint(min_len, max_len + 1)).tolist() for _ in range(n)]


def _hf_layer_inputs(hf, prompt: list[int]) -> np.ndarray:
    """[L, T, H]: hidden_states[l] is the input of layer l (hidden_states[0] = the embeddings)."""
    with torch.no_grad():
        out = hf(input_ids=torch.tensor([prompt]), output_hidden_states=True)
    return np.stack([h[0].float().numpy() for h in out.hidden_states[:hf.config.num_hidden_layers]])


def test_means_equal_transformers_hidden_states(tiny):
    hf, cfg, params = tiny
    model = model_from_params(cfg, params)
    prompts = _prompts(11, cfg.vocab_size)
    groups = [i % 3 for i in range(len(prompts))]
    tail = 4
    acc = collect_means(model, prompts, groups, 3, tail, Batcher(None, batch_size=4, pad_id=0, length_bucket=8))
    reads = np.stack([_hf_layer_inputs(hf, p)[:, -tail:] for p in prompts])  # [N, L, tail, H]
    reads = reads.transpose(0, 2, 1, 3)  # [N, tail, L, H]
    for g in range(3):
        expected = reads[[i for i, x in enumerate(groups) if x == g]].mean(axis=0)
        np.testing.assert_allclose(acc.means()[g], expected, atol=1e-4, rtol=0)
    np.testing.assert_allclose(acc.pooled(), reads.mean(axis=0), atol=1e-4, rtol=0)
    assert acc.counts.tolist() == [4, 4, 3]


def _means_of(rows_by_group: list[np.ndarray]) -> RunningMeans:
    """Running means of [n, H] rows per group, at one position and one layer."""
    acc = RunningMeans(len(rows_by_group), 1, 1, rows_by_group[0].shape[-1])
    for g, rows in enumerate(rows_by_group):
        if len(rows):
            acc.sums[g, 0, 0] = rows.sum(axis=0)
            acc.counts[g] = len(rows)
    return acc


def test_balanced_difference_removes_the_language_mix_that_the_pooled_one_carries():
    """Three languages, each with its own large offset; harmful = offset + r, harmless = offset. The model refuses
    mostly in language 0 and answers mostly in language 1, so the pooled difference is dominated by offset 0 -
    offset 1; the mean of the per-language differences is r. Language 2 has no harmless prompt: left out."""
    rng = np.random.RandomState(0)
    hidden = 16
    offsets = rng.normal(size=(3, hidden)) * 10.0
    r = np.zeros(hidden)
    r[0] = 1.0
    noise = lambda n: rng.normal(size=(n, hidden)) * 1e-3  # noqa: E731
    harmful = _means_of([offsets[0] + r + noise(30), offsets[1] + r + noise(2), offsets[2] + r + noise(5)])
    harmless = _means_of([offsets[0] + noise(2), offsets[1] + noise(25), np.zeros((0, hidden))])

    balanced, groups = difference_of_means(harmful, harmless, balance_groups=True)
    assert groups == [0, 1]
    np.testing.assert_allclose(balanced[0, 0], r, atol=1e-2)
    pooled, pooled_groups = difference_of_means(harmful, harmless, balance_groups=False)
    assert pooled_groups == [0, 1, 2]
    cosine = pooled[0, 0] @ r / np.linalg.norm(pooled[0, 0])
    assert cosine < 0.2  # the pooled "direction" is mostly the language mix
    # the same mix on both sides: balanced and pooled agree
    same = _means_of([offsets[0] + noise(10), offsets[1] + noise(10)])
    same_harmful = _means_of([offsets[0] + r + noise(10), offsets[1] + r + noise(10)])
    np.testing.assert_allclose(difference_of_means(same_harmful, same, True)[0],
                               difference_of_means(same_harmful, same, False)[0], atol=1e-3)
    # no language on both sides: nothing to take a difference of
    empty, none = difference_of_means(_means_of([offsets[0] + noise(3), np.zeros((0, hidden))]),
                                      _means_of([np.zeros((0, hidden)), offsets[1] + noise(3)]), True)
    assert none == [] and not np.any(empty)


def test_activation_addition_equals_a_transformers_pre_hook(tiny):
    hf, cfg, params = tiny
    model = model_from_params(cfg, params)
    prompts = _prompts(5, cfg.vocab_size, seed=2)
    vec = np.random.RandomState(4).normal(size=cfg.hidden_size).astype(np.float32)
    batcher = Batcher(None, batch_size=4, pad_id=0, length_bucket=8)

    def theirs():
        with torch.no_grad():
            return np.stack([torch.log_softmax(hf(input_ids=torch.tensor([p])).logits[0, -1], -1).numpy()
                             for p in prompts])

    for layer in range(cfg.num_layers):
        ours = last_logprobs(model, prompts, batcher, vec, layer)

        def add(module, args, kwargs):
            if args:
                return (args[0] + torch.tensor(vec), *args[1:]), kwargs
            return args, {**kwargs, "hidden_states": kwargs["hidden_states"] + torch.tensor(vec)}

        handle = hf.model.layers[layer].register_forward_pre_hook(add, with_kwargs=True)
        try:
            added = theirs()
        finally:
            handle.remove()
        np.testing.assert_allclose(ours, added, atol=1e-4, rtol=0)
        assert np.abs(added - theirs()).max() > 1e-2  # the vector changes the distribution
    np.testing.assert_allclose(last_logprobs(model, prompts, batcher), theirs(), atol=1e-4, rtol=0)  # no vector


def test_eight_devices_equal_one(tiny):
    _, cfg, params = tiny
    assert len(jax.devices()) == 8
    prompts = _prompts(21, cfg.vocab_size, seed=5)
    groups = [i % 2 for i in range(len(prompts))]
    one = collect_means(model_from_params(cfg, params), prompts, groups, 2, 3,
                        Batcher(None, batch_size=8, pad_id=0, length_bucket=8))
    mesh = make_mesh(MeshConfig(data=2, fsdp=2, tensor=2))
    sharded = shard_params(params, mesh)
    assert not sharded["layers"]["q_proj"]["weight"].sharding.is_fully_replicated  # weights really split
    batcher = Batcher(mesh, batch_size=6, pad_id=0, length_bucket=8)
    assert batcher.batch_size == 8  # rounded up to the 4 batch shards
    eight = collect_means(model_from_params(cfg, sharded), prompts, groups, 2, 3, batcher)
    np.testing.assert_array_equal(eight.counts, one.counts)
    # Same arithmetic split differently: reductions over sharded axes may add in another order (float32).
    np.testing.assert_allclose(eight.means(), one.means(), atol=2e-5, rtol=1e-5)
    vec = np.ones(cfg.hidden_size, np.float32)
    np.testing.assert_allclose(last_logprobs(model_from_params(cfg, sharded), prompts, batcher, vec, 1),
                               last_logprobs(model_from_params(cfg, params), prompts,
                                             Batcher(None, 8, 0, 8), vec, 1), atol=2e-5)


def test_memory_grows_with_the_batch_not_with_the_prompts(tiny):
    """Peak host memory (numpy and Python, traced) and peak live device buffers during `collect_means` for N and
    4N prompts at the same batch size: equal up to a small slack, while keeping 4N prompts' activations would
    need far more than that slack."""
    _, cfg, params = tiny
    model = model_from_params(cfg, params)
    length, tail, batch = 32, 32, 8  # every position read: the largest per-prompt activation footprint
    batcher = Batcher(None, batch_size=batch, pad_id=0, length_bucket=length)

    def peaks(n: int) -> tuple[int, int]:
        prompts = _prompts(n, cfg.vocab_size, seed=n, min_len=length, max_len=length)
        groups = [i % 4 for i in range(n)]
        live = [0]

        def on_batch(done):
            live[0] = max(live[0], sum(a.nbytes for a in jax.live_arrays()))

        tracemalloc.start()
        try:
            collect_means(model, prompts, groups, 4, tail, batcher, on_batch)
            host_peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        return host_peak, live[0]

    peaks(batch)  # compile once outside the measurement
    n = 64
    host_n, live_n = peaks(n)
    host_4n, live_4n = peaks(4 * n)
    slack = 64 * 1024
    per_prompt = tail * cfg.num_layers * cfg.hidden_size * 4  # float32 activations read per prompt
    assert 4 * n * per_prompt > 10 * slack  # holding every activation would break the bounds below
    print(f"N={n}: host {host_n} B, live {live_n} B; 4N: host {host_4n} B, live {live_4n} B; "
          f"4N activations {4 * n * per_prompt} B")
    assert host_4n <= host_n + slack, (host_n, host_4n)
    assert live_4n <= live_n + slack, (live_n, live_4n)
