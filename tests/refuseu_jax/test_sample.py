"""KV-cache sampler: token-for-token parity with transformers' generate, sharded == single device, sampling."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

from refuseu_jax.parallel import MeshConfig, make_mesh, shard_params
from refuseu_jax.sample import Sampler, SamplingConfig, filter_logits, truncate_at_stop_strings
from refuseu_jax.models.llama import model_from_params
from tests.refuseu_jax.hf_tiny import jax_model_from_hf, params_from_hf, tiny_hf_llama
from tests.refuseu_jax.precision import assert_same_until_near_tie, model_bound


def hf_greedy(hf, prompts, max_new_tokens, eos_id, pad_id=0, scores=False):
    """transformers generate on the same left-padded batch; returns new tokens cut after the first EOS (and with
    `scores`, each step's top-1 minus top-2 logit and the largest |logit| seen, for `assert_same_until_near_tie`)."""
    length = max(map(len, prompts))
    ids = torch.tensor([[pad_id] * (length - len(p)) + list(p) for p in prompts])
    mask = torch.tensor([[0] * (length - len(p)) + [1] * len(p) for p in prompts])
    with torch.no_grad():
        out = hf.generate(input_ids=ids, attention_mask=mask, max_new_tokens=max_new_tokens, do_sample=False,
                          eos_token_id=eos_id, pad_token_id=pad_id, output_logits=True, return_dict_in_generate=True)
    rows = out.sequences[:, length:].tolist()
    rows = [row[: row.index(eos_id) + 1] if eos_id in row else row for row in rows]
    if not scores:
        return rows
    logits = torch.stack(out.logits, dim=1).float()  # [B, steps, V], raw (no processors with greedy)
    top2 = logits.topk(2, dim=-1).values
    return rows, (top2[..., 0] - top2[..., 1]).tolist(), float(logits.abs().max())


def tie_threshold(hf, scale):
    """Margins below this may flip between two float32 implementations (each within the derived bound)."""
    return 2 * model_bound(hf.config, scale, headroom=2.0)


@pytest.fixture(scope="module")
def tiny():
    hf = tiny_hf_llama(seed=0)
    rng = np.random.default_rng(0)
    prompts = [rng.integers(3, 128, n).tolist() for n in (5, 17, 1, 9, 12, 3)]
    return hf, jax_model_from_hf(hf), prompts


def test_cpu_sampler_decodes_through_its_own_in_out_weight_copies(tiny):
    _, model, _ = tiny
    sampler = Sampler(model)
    own = sampler.state["layers"]["up_proj"]["weight"][...]
    theirs = model.layers.up_proj.weight[...]
    assert own.shape == (theirs.shape[0], theirs.shape[2], theirs.shape[1])  # [L, in, out]
    np.testing.assert_array_equal(np.asarray(own), np.swapaxes(np.asarray(theirs), 1, 2))
    assert sampler.state["embed"]["embedding"][...].shape == model.embed.embedding[...].shape  # [V, H], shared


def test_per_layer_decode_is_the_default_on_gpus_only(tiny):
    from refuseu_jax.sample import per_layer_decode_by_default

    assert per_layer_decode_by_default("gpu") and not per_layer_decode_by_default("cpu")
    assert not per_layer_decode_by_default("tpu")  # unmeasured there
    _, model, _ = tiny
    assert Sampler(model).unstack_layers is False and Sampler(model, unstack_layers=True).layer_states is not None


def test_greedy_matches_transformers_with_padding_and_eos(tiny):
    hf, model, prompts = tiny
    # Pick as EOS a token that greedy decoding emits mid-way for some rows, so rows stop at different steps.
    free_run = hf_greedy(hf, prompts, 24, eos_id=2)
    eos = free_run[0][6]
    expected, margins, scale = hf_greedy(hf, prompts, 24, eos_id=eos, scores=True)
    assert any(len(r) < 24 for r in expected) and any(len(r) == 24 for r in expected)
    # Both decode paths: the model's scan over stacked layers, and the opt-in per-layer loop.
    for unstack in (False, True):
        sampler = Sampler(model, eos_ids=[eos], pad_id=0, unstack_layers=unstack)
        # Batch size 4 over 6 prompts: the second batch is filled with copies, which must not leak into results.
        got = sampler.generate_ids(prompts, SamplingConfig(max_new_tokens=24, batch_size=4, length_bucket=32))
        assert_same_until_near_tie(got, expected, margins, tie_threshold(hf, scale), min_compared=0.9)


def test_pad_token_generated_mid_sequence_is_not_masked(tiny):
    # The tiny config's pad id (0) is a normal vocabulary entry; a live row that emits it must keep attending to it.
    hf, model, prompts = tiny
    expected, margins, scale = hf_greedy(hf, prompts, 16, eos_id=2, scores=True)
    pad = expected[1][3]
    got = Sampler(model, eos_ids=[2], pad_id=pad).generate_ids(prompts, SamplingConfig(max_new_tokens=16))
    assert_same_until_near_tie(got, expected, margins, tie_threshold(hf, scale), min_compared=0.9)
    assert got[1][:4] == expected[1][:4]  # the pad token itself was generated, and decoding went on after it


def test_sharded_sampling_equals_single_device(tiny):
    hf, model, prompts = tiny
    _, margins, scale = hf_greedy(hf, prompts, 12, eos_id=2, scores=True)
    assert jax.device_count() == 8
    mesh = make_mesh(MeshConfig(data=2, fsdp=2, tensor=2))
    sharded = model_from_params(model.cfg, shard_params(params_from_hf(tiny[0]), mesh))
    assert len(sharded.layers.q_proj.weight[...].sharding.device_set) == 8
    for cfg in (SamplingConfig(max_new_tokens=12, batch_size=6),
                SamplingConfig(max_new_tokens=12, batch_size=6, temperature=0.8, top_k=20, top_p=0.9, seed=3)):
        single = Sampler(model, eos_ids=[2], pad_id=0).generate_ids(prompts, cfg)
        multi = Sampler(sharded, mesh=mesh, eos_ids=[2], pad_id=0).generate_ids(prompts, cfg)
        if cfg.greedy:  # sharded sums run in another order: compare up to the first near tie
            assert_same_until_near_tie(multi, single, margins, tie_threshold(hf, scale), min_compared=0.9)
        else:  # the same draws from distributions equal within rounding (ties between draws are measure-zero)
            assert multi == single
    # The per-layer decode path slices the sharded stacked weights; it must give the same tokens too.
    unstacked = Sampler(sharded, mesh=mesh, eos_ids=[2], pad_id=0, unstack_layers=True).generate_ids(prompts, cfg)
    assert unstacked == single


def test_sampling_is_seeded_and_top_k_one_is_greedy(tiny):
    _, model, prompts = tiny
    sampler = Sampler(model, eos_ids=[2], pad_id=0)
    hot = SamplingConfig(max_new_tokens=10, temperature=1.5, seed=7)
    first, again = sampler.generate_ids(prompts, hot), sampler.generate_ids(prompts, hot)
    other = sampler.generate_ids(prompts, SamplingConfig(max_new_tokens=10, temperature=1.5, seed=8))
    assert first == again and first != other
    greedy = sampler.generate_ids(prompts, SamplingConfig(max_new_tokens=10))
    assert sampler.generate_ids(prompts, SamplingConfig(max_new_tokens=10, temperature=1.5, top_k=1)) == greedy
    assert first != greedy


def test_filter_logits_top_k_and_top_p():
    probs = jnp.array([[0.5, 0.3, 0.15, 0.05]])
    logits = jnp.log(probs)
    kept = lambda out: np.isfinite(np.asarray(out)).tolist()[0] and (np.asarray(out) > -1e30).tolist()[0]  # noqa
    assert kept(filter_logits(logits, 2, 1.0)) == [True, True, False, False]
    assert kept(filter_logits(logits, 0, 0.5)) == [True, False, False, False]  # 0.5 reached by the first alone
    assert kept(filter_logits(logits, 0, 0.8)) == [True, True, False, False]
    assert kept(filter_logits(logits, 0, 0.81)) == [True, True, True, False]
    assert kept(filter_logits(logits, 0, 1.0)) == [True, True, True, True]
    # Sampling after the filter never draws a removed token.
    draws = jax.random.categorical(jax.random.key(0), filter_logits(jnp.repeat(logits, 500, 0), 0, 0.8))
    assert set(np.asarray(draws).tolist()) == {0, 1}


def test_stop_strings_truncate_text():
    assert truncate_at_stop_strings("Sure.\nUser: next", ["\nUser:", "###"]) == "Sure."
    assert truncate_at_stop_strings("no stop here", ["###"]) == "no stop here"
    assert truncate_at_stop_strings("a###b\nUser:", ["\nUser:", "###"]) == "a"


def test_greedy_matches_transformers_on_smollm2():
    """The real embedded default (prepared from the bundled GGUF) on a padded batch of chat prompts."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from refuseu_jax.checkpoints.hf import from_pretrained
    from refuseu_jax.checkpoints.registry import prepare_model

    directory = prepare_model("smollm2-135m")
    tokenizer = AutoTokenizer.from_pretrained(directory)
    model = from_pretrained(directory)
    sampler = Sampler(model, tokenizer)
    questions = ["Hi!", "What is the capital of France? Answer in one word.",
                 "Name a colour.", "Write one sentence about the sea and the wind at night, please."]
    prompts = [sampler.encode_chat([{"role": "user", "content": q}]) for q in questions]
    assert len(set(map(len, prompts))) == len(prompts)
    eos = tokenizer.eos_token_id
    got = sampler.generate_ids(prompts, SamplingConfig(max_new_tokens=20, batch_size=4, length_bucket=16))
    hf = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32).eval()
    expected, margins, scale = hf_greedy(hf, prompts, 20, eos_id=eos, pad_id=tokenizer.pad_token_id or eos,
                                         scores=True)
    assert_same_until_near_tie(got, expected, margins, tie_threshold(hf, scale), min_compared=0.75)
    assert any(row[-1] == eos for row in got)  # at least one row stopped on EOS before the limit
