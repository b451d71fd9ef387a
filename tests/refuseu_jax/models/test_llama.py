"""Model internals that the parity tests (tests/refuseu_jax/checkpoints) do not reach: the KV-cache path, the
layer iteration modes, and the parameter layout contract."""

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from refuseu_jax.models.config import get_preset
from refuseu_jax.models.llama import default_positions, init_model, model_from_params, param_shapes, rope_inv_freq


def _batch(cfg, seed=0, b=3, t=24):
    rng = np.random.RandomState(seed)
    ids = rng.randint(3, cfg.vocab_size, (b, t))
    mask = np.ones((b, t), dtype=bool)
    mask[0, :5] = False  # left padding
    mask[1, -4:] = False  # right padding
    return jnp.asarray(ids), jnp.asarray(mask)


def test_cached_decoding_matches_the_full_forward():
    cfg = get_preset("tiny")
    model = init_model(cfg, seed=1)
    ids, mask = _batch(cfg)
    full = np.asarray(model(ids, mask))
    positions = default_positions(mask)
    prefill = 10
    decode = nnx.jit(lambda m, *args: m.decode(*args))  # one compile per block length, not per token
    cache = model.init_cache(ids.shape[0], 32)
    kv_mask = np.zeros((ids.shape[0], 32), dtype=bool)
    kv_mask[:, :prefill] = np.asarray(mask[:, :prefill])
    logits, cache = decode(model, ids[:, :prefill], positions[:, :prefill], cache, jnp.int32(0), kv_mask)
    pieces = [np.asarray(logits)]
    for t in range(prefill, ids.shape[1]):
        kv_mask[:, t] = np.asarray(mask[:, t])
        logits, cache = decode(model, ids[:, t:t + 1], positions[:, t:t + 1], cache, jnp.int32(t), kv_mask)
        pieces.append(np.asarray(logits))
    decoded = np.concatenate(pieces, axis=1)
    real = np.asarray(mask)
    np.testing.assert_allclose(decoded[real], full[real], atol=1e-5)


def test_scan_loop_and_remat_give_the_same_logits():
    cfg = get_preset("tiny")
    params = nnx.to_pure_dict(nnx.state(init_model(cfg, seed=2), nnx.Param))
    ids, mask = _batch(cfg, seed=3)
    reference = np.asarray(model_from_params(cfg, params)(ids, mask))
    for variant in (cfg.replace(scan_layers=False), cfg.replace(remat=True), cfg.replace(scan_layers=False, remat=True)):
        np.testing.assert_allclose(np.asarray(model_from_params(variant, params)(ids, mask)), reference, atol=1e-6)


@pytest.mark.parametrize("param_dtype,dtype", [("float32", "float32"), ("float32", "bfloat16"),
                                               ("bfloat16", "bfloat16")])
def test_unrolled_layers_give_the_scan_gradients(param_dtype, dtype):
    """The unrolled mode's per-layer slices (`unstack_layers`, its own backward pass, uint16 copies of 16-bit
    weights) against autodiff of the rolled scan."""
    import jax

    cfg = get_preset("tiny").replace(param_dtype=param_dtype, dtype=dtype)
    params = nnx.to_pure_dict(nnx.state(init_model(cfg, seed=2), nnx.Param))
    ids, mask = _batch(cfg, seed=3)
    probe = jax.random.normal(jax.random.key(4), (*ids.shape, cfg.vocab_size))

    def grads(variant):
        def loss(p):
            return jnp.sum(model_from_params(variant, p)(ids, mask) * probe)

        return jax.jit(jax.grad(loss))(params)

    rolled, unrolled = grads(cfg), grads(cfg.replace(scan_layers=False))
    tol = 1e-5 if dtype == "float32" else 3e-2
    for (path, want), got in zip(jax.tree_util.tree_leaves_with_path(rolled), jax.tree.leaves(unrolled)):
        assert got.dtype == want.dtype == jnp.dtype(param_dtype), path
        scale = float(jnp.max(jnp.abs(want.astype(jnp.float32)))) or 1.0
        np.testing.assert_allclose(np.asarray(got, np.float32) / scale, np.asarray(want, np.float32) / scale,
                                   atol=tol, err_msg=str(path))


def test_fused_attention_gives_the_dense_logits_and_gradients_on_right_padded_rows():
    """`attention: cudnn` runs jax.nn.dot_product_attention with a causal mask alone (its XLA implementation
    on this CPU; the cuDNN kernel itself is checked by bench/gpu_check.py on a GPU). Padded positions are
    excluded from the comparison: only real tokens feed a loss."""
    import jax

    cfg = get_preset("tiny")  # grouped-query heads: 4 query heads over 2 KV heads
    params = nnx.to_pure_dict(nnx.state(init_model(cfg, seed=5), nnx.Param))
    rng = np.random.RandomState(6)
    lengths = np.array([24, 17, 9])
    ids = jnp.asarray(rng.randint(3, cfg.vocab_size, (3, 24)))
    mask = jnp.asarray(np.arange(24)[None] < lengths[:, None])
    probe = jax.random.normal(jax.random.key(7), (3, 24, cfg.hidden_size)) * mask[..., None]

    def run(variant):
        def loss(p):
            h = model_from_params(variant, p).hidden_states(ids, mask, right_padded=True)
            return jnp.sum(h * probe), h

        return jax.jit(jax.value_and_grad(loss, has_aux=True))(params)

    (_, dense_h), dense_g = run(cfg)
    (_, fused_h), fused_g = run(cfg.replace(attention="cudnn"))
    real = np.asarray(mask)
    np.testing.assert_allclose(np.asarray(fused_h)[real], np.asarray(dense_h)[real], atol=2e-5)
    for (path, want), got in zip(jax.tree_util.tree_leaves_with_path(dense_g), jax.tree.leaves(fused_g)):
        scale = float(jnp.max(jnp.abs(want)))
        np.testing.assert_allclose(np.asarray(got) / scale, np.asarray(want) / scale, atol=2e-6, err_msg=str(path))
    # Left-padded input is never given to the fused kernel: without right_padded, both configs run dense.
    left = jnp.asarray(np.arange(24)[None] >= 24 - lengths[:, None])
    np.testing.assert_array_equal(np.asarray(model_from_params(cfg.replace(attention="cudnn"), params)(ids, left)),
                                  np.asarray(model_from_params(cfg, params)(ids, left)))


def test_unknown_attention_or_kernels_kind_is_a_config_error():
    from refuseu_jax.models.config import ModelConfigError

    with pytest.raises(ModelConfigError, match="key 'attention'"):
        get_preset("tiny").replace(attention="flash")
    with pytest.raises(ModelConfigError, match="key 'kernels'"):
        get_preset("tiny").replace(kernels="slow")


def test_left_padding_positions_start_at_the_first_real_token():
    mask = jnp.array([[0, 0, 1, 1, 1], [1, 1, 1, 1, 0]])
    np.testing.assert_array_equal(np.asarray(default_positions(mask)), [[0, 0, 0, 1, 2], [0, 1, 2, 3, 3]])


def test_parameter_layout_is_stacked_per_layer():
    cfg = get_preset("tiny").replace(attention_bias=True)
    shapes = {path: shape for path, (shape, _) in param_shapes(cfg).items()}
    L, H, D = cfg.num_layers, cfg.hidden_size, cfg.head_dim
    assert shapes[("layers", "q_proj", "weight")] == (L, cfg.num_heads * D, H)  # [out, in], as in HF
    assert shapes[("layers", "k_proj", "bias")] == (L, cfg.num_kv_heads * D)
    assert shapes[("layers", "o_proj", "bias")] == (L, H)
    assert shapes[("lm_head", "weight")] == (cfg.vocab_size, H)
    tied = param_shapes(get_preset("smollm2-135m"))
    assert ("lm_head", "weight") not in tied


def test_llama3_rope_scaling_keeps_high_and_divides_low_frequencies():
    cfg = get_preset("llama-3.1-8b")
    scaled = rope_inv_freq(cfg)
    plain = rope_inv_freq(cfg.replace(rope_scaling=None))
    assert scaled[0] == plain[0]  # shortest wavelength untouched
    np.testing.assert_allclose(scaled[-1], plain[-1] / 8.0, rtol=1e-6)  # longest wavelength interpolated
    assert np.all(scaled <= plain)


def test_rope_table_is_the_correctly_rounded_cos_and_sin_of_the_float32_angles():
    """The lookup table used for default positions: cos/sin evaluated in float64 at the same float32 angles
    the in-graph path forms, then rounded; it matches the in-graph values to float32 rounding."""
    from refuseu_jax.models.llama import rope_cos_sin

    cfg = get_preset("smollm2-135m")
    positions = jnp.asarray([[0, 1, 2, 500], [7, 7, 3, 1023]])
    cos, sin = rope_cos_sin(cfg, positions, max_position=1024)
    angles = np.asarray(positions, np.float32)[..., None] * rope_inv_freq(cfg)
    angles = np.concatenate([angles, angles], -1).astype(np.float64)
    np.testing.assert_array_equal(np.asarray(cos), np.cos(angles).astype(np.float32))
    np.testing.assert_array_equal(np.asarray(sin), np.sin(angles).astype(np.float32))
    graph_cos, graph_sin = rope_cos_sin(cfg, positions)
    np.testing.assert_allclose(np.asarray(graph_cos), np.asarray(cos), atol=2e-6)
    np.testing.assert_allclose(np.asarray(graph_sin), np.asarray(sin), atol=2e-6)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("scan_layers", [True, False])
def test_fast_kernels_give_the_plain_kernels_logits_and_gradients(dtype, scan_layers):
    """ModelConfig.kernels switches every kernel the model uses (refuseu_jax/kernels.py) to its plain version:
    the tiny model (GQA, llama3 RoPE, untied) gives the same logits and parameter gradients either way, within
    the compute dtype's precision (tolerances as in tests/refuseu_jax/test_kernels.py: relative to the largest
    reference value, 64 eps in float32; in bfloat16 8 eps, for two layers of roundings one side skips)."""
    import jax

    cfg = get_preset("tiny").replace(dtype=dtype, scan_layers=scan_layers)
    params = nnx.to_pure_dict(nnx.state(init_model(cfg, seed=2), nnx.Param))
    ids, mask = _batch(cfg, seed=3)
    probe = jax.random.normal(jax.random.key(4), (*ids.shape, cfg.vocab_size))
    real = np.asarray(mask)

    def run(variant):
        def loss(p):
            logits = model_from_params(variant, p)(ids, mask)
            return jnp.sum(logits * probe * mask[..., None]), logits

        return jax.jit(jax.value_and_grad(loss, has_aux=True))(params)

    (_, fast_logits), fast_grads = run(cfg)
    (_, plain_logits), plain_grads = run(cfg.replace(kernels="plain"))
    # The switch reaches every kernel: the plain model's program has no hand-written backward pass left.
    traced = {kind: str(jax.make_jaxpr(lambda p, c=cfg.replace(kernels=kind): model_from_params(c, p)(ids, mask))(
        params)) for kind in ("fast", "plain")}
    assert "custom_vjp" in traced["fast"] and "custom_vjp" not in traced["plain"]
    eps = float(jnp.finfo(jnp.dtype(dtype)).eps)
    tol = 64 * eps if dtype == "float32" else 8 * eps

    def close(got, want, what):
        got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
        scale = float(np.max(np.abs(want)))
        np.testing.assert_allclose(got / scale, want / scale, rtol=0, atol=tol, err_msg=what)

    close(np.asarray(fast_logits)[real], np.asarray(plain_logits)[real], "logits")
    for (path, want), got in zip(jax.tree_util.tree_leaves_with_path(plain_grads), jax.tree.leaves(fast_grads)):
        assert got.dtype == want.dtype, path
        close(got, want, jax.tree_util.keystr(path))
