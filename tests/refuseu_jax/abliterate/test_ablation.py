"""The weight edit: residual-stream writes lose their component along the direction, the edit is idempotent, the
exported checkpoint runs the same in transformers, and it equals the paper's hook-based directional ablation."""

from __future__ import annotations

import jax
import numpy as np
import pytest
import torch

from refuseu_jax.abliterate.ablation import cosine_matrix, orthogonalise, unit
from refuseu_jax.abliterate.activations import residual_forward
from refuseu_jax.checkpoints.hf import load_hf_params, save_hf
from refuseu_jax.models.config import ModelConfig
from refuseu_jax.models.llama import model_from_params
from tests.refuseu_jax.hf_tiny import tiny_hf_llama

EPS32 = float(np.finfo(np.float32).eps)


def _tiny(tmp_path, tie: bool, bias: bool = True, seed: int = 0):
    """A random transformers Llama with random biases and norm scales (they start at 0 and 1: a final norm of
    ones would hide what a tied head reads along r), saved and loaded as our params."""
    model = tiny_hf_llama(seed=seed, tie=tie, attention_bias=bias, mlp_bias=bias)
    with torch.no_grad():
        gen = torch.Generator().manual_seed(seed + 1)
        for name, p in model.named_parameters():
            if name.endswith(".bias"):
                p.copy_(torch.randn(p.shape, generator=gen) * 0.3)
            elif p.dim() == 1:
                p.copy_(0.5 + torch.rand(p.shape, generator=gen))
    path = tmp_path / f"tiny-{tie}-{bias}"
    model.save_pretrained(path)
    cfg = ModelConfig.from_hf(path)
    return model, cfg, load_hf_params(path, cfg)


def _direction(hidden: int, seed: int = 3) -> np.ndarray:
    return np.random.RandomState(seed).normal(size=hidden) * 5.0  # not unit: orthogonalise normalises it


def _ids(vocab: int, b: int = 3, t: int = 12):
    ids = np.random.RandomState(7).randint(3, vocab, (b, t))
    mask = np.ones((b, t), bool)
    mask[1, :4] = False  # left padding, as the sampler and the activation reads use
    return ids, mask


def _hf_logits(model, ids, mask):
    positions = np.maximum(np.cumsum(mask, axis=1) - 1, 0)  # transformers' forward does not derive them from the mask
    with torch.no_grad():
        out = model(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask.astype(np.int64)),
                    position_ids=torch.tensor(positions))
    return out.logits.float().numpy()


@pytest.mark.parametrize("tie", [False, True])
def test_every_residual_write_has_no_component_along_the_direction(tmp_path, tie):
    _, cfg, params = _tiny(tmp_path, tie)
    r_raw = _direction(cfg.hidden_size)
    edited, _ = orthogonalise(params, cfg, r_raw)
    r = unit(r_raw).astype(np.float64)
    inputs = np.random.RandomState(0).normal(size=(16, cfg.intermediate_size))
    inputs /= np.linalg.norm(inputs, axis=1, keepdims=True)  # unit inputs: the residue is relative to |x| = 1
    # Evaluated in float64 from the stored float32 weights, so only the edit's own rounding is measured: each
    # stored element is within 2^-24 of the exact orthogonal value, which bounds r . (W x) by ~2^-24 |W|_F |x|
    # (~1e-7 for these 32 x 64 matrices of N(0, 0.3) entries); 1e-6 leaves a factor of ~10.
    for name in ("o_proj", "down_proj"):
        for layer in range(cfg.num_layers):
            w = np.asarray(edited["layers"][name]["weight"][layer], np.float64)  # [H, in]
            out = w @ inputs[:, :w.shape[1]].T
            assert np.abs(r @ out).max() <= 1e-6, (name, layer)
            bias = np.asarray(edited["layers"][name]["bias"][layer], np.float64)
            assert abs(r @ bias) <= 1e-6, (name, layer)
            # and the edit did something: the original wrote along r
            before = np.asarray(params["layers"][name]["weight"][layer], np.float64) @ inputs[:, :w.shape[1]].T
            assert np.abs(r @ before).max() > 1e-2
    embedding = np.asarray(edited["embed"]["embedding"], np.float64)  # a token's write is its row
    assert np.abs(embedding @ r).max() <= 1e-6
    # the other projections read the stream and stay as they were
    np.testing.assert_array_equal(np.asarray(edited["layers"]["q_proj"]["weight"]),
                                  np.asarray(params["layers"]["q_proj"]["weight"]))


def test_ablated_model_residual_stream_is_orthogonal_to_the_direction(tmp_path):
    """Consequence of the edit, in the running model: every layer's input has no component along r (float32
    forward: the residue is a few ulps of the activation's norm)."""
    _, cfg, params = _tiny(tmp_path, tie=False)
    r_raw = _direction(cfg.hidden_size)
    edited, edited_cfg = orthogonalise(params, cfg, r_raw)
    ids, mask = _ids(cfg.vocab_size)
    _, reads = residual_forward(model_from_params(edited_cfg, edited), ids, mask, tail=ids.shape[1] - 4)
    reads = np.asarray(reads, np.float64)
    along = np.abs(reads @ unit(r_raw).astype(np.float64))
    assert (along <= 64 * EPS32 * np.linalg.norm(reads, axis=-1)).all()
    _, before = residual_forward(model_from_params(cfg, params), ids, mask, tail=ids.shape[1] - 4)
    assert np.abs(np.asarray(before, np.float64) @ unit(r_raw)).max() > 1e-2


@pytest.mark.parametrize("tie", [False, True])
def test_ablating_twice_equals_ablating_once(tmp_path, tie):
    _, cfg, params = _tiny(tmp_path, tie)
    r = _direction(cfg.hidden_size)
    once, cfg_once = orthogonalise(params, cfg, r)
    twice, cfg_twice = orthogonalise(once, cfg_once, r)
    assert cfg_twice == cfg_once
    # Idempotent up to rounding: the second edit subtracts r (r^T W') with r^T W' at the float32 residue
    # (<= a few ulps of W's entries), so elements move by at most a few ulps of the largest entry.
    for (path, a), (_, b) in zip(jax.tree_util.tree_leaves_with_path(once), jax.tree_util.tree_leaves_with_path(twice)):
        a, b = np.asarray(a), np.asarray(b)
        assert np.abs(a - b).max() <= 4 * EPS32 * np.abs(a).max(), jax.tree_util.keystr(path)


@pytest.mark.parametrize("tie,untie", [(False, True), (True, True), (True, False)])
def test_exported_checkpoint_matches_in_transformers(tmp_path, tie, untie):
    """The HF export of the edited weights gives transformers' float32 logits equal to ours from the same weights:
    the tolerance of the model's own float32 parity tests (1e-4 on logits of this size)."""
    from transformers import AutoModelForCausalLM

    _, cfg, params = _tiny(tmp_path, tie)
    edited, edited_cfg = orthogonalise(params, cfg, _direction(cfg.hidden_size), untie=untie)
    assert edited_cfg.tie_word_embeddings == (tie and not untie)
    out = save_hf(edited, edited_cfg, tmp_path / "ablated")
    theirs = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32).eval()
    assert theirs.config.tie_word_embeddings == edited_cfg.tie_word_embeddings
    ids, mask = _ids(cfg.vocab_size)
    ours = np.asarray(model_from_params(edited_cfg, edited)(ids, mask))
    np.testing.assert_allclose(ours[mask], _hf_logits(theirs, ids, mask)[mask], atol=1e-4, rtol=0)


def _hook_ablated_logits(model, r: np.ndarray, ids, mask):
    """The paper's intervention on the unedited transformers model: r projected out of every decoder layer's
    input and out of every attention and MLP output (as forward hooks)."""
    direction = torch.tensor(r, dtype=torch.float32)

    def ablate(x):
        return x - (x @ direction)[..., None] * direction

    def pre_hook(module, args, kwargs):
        if args:
            return (ablate(args[0]), *args[1:]), kwargs
        return args, {**kwargs, "hidden_states": ablate(kwargs["hidden_states"])}

    def out_hook(module, args, output):
        return (ablate(output[0]), *output[1:]) if isinstance(output, tuple) else ablate(output)

    handles = []
    for layer in model.model.layers:
        handles.append(layer.register_forward_pre_hook(pre_hook, with_kwargs=True))
        handles.append(layer.self_attn.register_forward_hook(out_hook))
        handles.append(layer.mlp.register_forward_hook(out_hook))
    try:
        return _hf_logits(model, ids, mask)
    finally:
        for h in handles:
            h.remove()


def test_edit_equals_hook_based_directional_ablation(tmp_path):
    """Against the reference definition: the edited weights (tied embedding untied) give the logits of the
    original model with the direction ablated by hooks at every layer (1e-4, float32). Editing the shared matrix
    of a tied model instead also changes the output head, and the logits move away from it."""
    hf_model, cfg, params = _tiny(tmp_path, tie=True)
    r_raw = _direction(cfg.hidden_size)
    ids, mask = _ids(cfg.vocab_size)
    reference = _hook_ablated_logits(hf_model, unit(r_raw), ids, mask)
    untied, untied_cfg = orthogonalise(params, cfg, r_raw, untie=True)
    ours = np.asarray(model_from_params(untied_cfg, untied)(ids, mask))
    np.testing.assert_allclose(ours[mask], reference[mask], atol=1e-4, rtol=0)
    shared, shared_cfg = orthogonalise(params, cfg, r_raw, untie=False)
    other = np.asarray(model_from_params(shared_cfg, shared)(ids, mask))
    assert np.abs(other[mask] - reference[mask]).max() > 1e-2
    # and the hooks did something the unablated model does not
    assert np.abs(_hf_logits(hf_model, ids, mask)[mask] - reference[mask]).max() > 1e-2


def test_cosine_matrix_matches_sklearn():
    from sklearn.metrics.pairwise import cosine_similarity

    vectors = np.random.RandomState(0).normal(size=(5, 7))
    np.testing.assert_allclose(cosine_matrix(vectors), cosine_similarity(vectors), atol=1e-12)
    with_zero = np.vstack([vectors, np.zeros(7)])
    out = cosine_matrix(with_zero)
    assert np.isnan(out[-1]).all() and np.isnan(out[:, -1]).all()
    np.testing.assert_allclose(out[:5, :5], cosine_similarity(vectors), atol=1e-12)


def test_unit_rejects_a_zero_direction():
    with pytest.raises(ValueError):
        unit(np.zeros(4))
