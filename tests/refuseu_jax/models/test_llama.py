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


def test_unknown_attention_kind_is_a_config_error():
    from data_tools.errors import UserError

    with pytest.raises(UserError, match="key 'attention'"):
        get_preset("tiny").replace(attention="flash")


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


@pytest.mark.parametrize("w_in_out", [False, True])
def test_mixed_matmul_backward_runs_in_the_input_dtype_and_matches_float32_autodiff(w_in_out):
    import jax

    from refuseu_jax.models.llama import mixed_matmul

    k = jax.random.split(jax.random.key(0), 3)
    x = jax.random.normal(k[0], (6, 16)).astype(jnp.bfloat16)
    w = jax.random.normal(k[1], (8, 16)).astype(jnp.bfloat16)
    stored = w.T if w_in_out else w
    probe = jax.random.normal(k[2], (6, 8))

    def loss(fn):
        return lambda x, w: jnp.sum(fn(x, w) * probe)

    spec = "ni,io->no" if w_in_out else "ni,oi->no"
    ours = jax.grad(loss(lambda x, w: mixed_matmul(x, w, w_in_out)), argnums=(0, 1))
    exact = jax.grad(loss(lambda x, w: jnp.einsum(spec, x.astype(jnp.float32), w.astype(jnp.float32))),
                     argnums=(0, 1))
    np.testing.assert_allclose(mixed_matmul(x, stored, w_in_out), x.astype(np.float32) @ w.astype(np.float32).T,
                               rtol=1e-5, atol=1e-5)
    for got, want, primal in zip(ours(x, stored), exact(x, stored), (x, stored)):
        assert got.dtype == primal.dtype
        np.testing.assert_allclose(np.asarray(got, np.float32), np.asarray(want), rtol=2e-2, atol=2e-2)
    # Both backward matmuls multiply bfloat16 operands (plain autodiff would widen them to float32). The loss is
    # linear in the product, so the forward matmul is dead code in the gradient.
    jaxpr = jax.make_jaxpr(ours)(x, stored)
    dots = [e for e in jaxpr.jaxpr.eqns if e.primitive.name == "dot_general"]
    assert len(dots) == 2 and all(v.aval.dtype == jnp.bfloat16 for e in dots for v in e.invars)


def test_weight_gradient_matmul_stays_bfloat16_on_cpu():
    """a^T b with bfloat16 operands: XLA:CPU would widen both to float32 for the transposed left operand; the
    compiled program must keep a bfloat16 matmul (and still equal the float32 product)."""
    import jax

    from refuseu_jax.models.llama import contract_rows

    k = jax.random.split(jax.random.key(1), 2)
    a = jax.random.normal(k[0], (64, 48)).astype(jnp.bfloat16)
    b = jax.random.normal(k[1], (64, 32)).astype(jnp.bfloat16)
    fn = jax.jit(contract_rows)
    np.testing.assert_allclose(fn(a, b), np.asarray(a, np.float32).T @ np.asarray(b, np.float32), rtol=1e-5,
                               atol=1e-4)
    hlo = fn.lower(a, b).compile().as_text()
    assert "bf16[64,32]" in hlo and "f32[64,32]" not in hlo  # b reaches the matmul unconverted


def _compiled_dot_operand_dtypes(fn, *args) -> list[tuple[str, ...]]:
    """Operand dtypes of every matmul in XLA's compiled program (dots sit inside fusions on CPU)."""
    import re

    import jax

    text = jax.jit(fn).lower(*args).compile().as_text()
    found = []
    for computation in re.split(r"\n(?=%[\w.\-]+ \()", text):
        for line in computation.splitlines():
            if " dot(" in line:
                names = re.search(r"dot\(%?([\w.\-]+), %?([\w.\-]+)\)", line).groups()
                found.append(tuple(re.search(rf"%?{re.escape(n)}(?: = |: )(\w+)\[", computation).group(1)
                                   for n in names))
    return found


def _reference_attention(q, k, v, mask):
    """Plain float32 attention on the folded layout, differentiated by autodiff."""
    q, k, v = (a.astype(jnp.float32) for a in (q, k, v))
    scores = jnp.einsum("bkqd,bksd->bkqs", q, k) / np.sqrt(q.shape[-1])
    import jax

    probs = jax.nn.softmax(jnp.where(mask, scores, -1e30), axis=-1)
    return jnp.einsum("bkqs,bksd->bkqd", probs, v)


@pytest.mark.parametrize("dtype,tol", [("float32", 1e-5), ("bfloat16", 3e-2)])
def test_attention_core_matches_autodiff_of_plain_attention(dtype, tol):
    """The attention's own backward pass (16-bit probabilities and products, float32 accumulation) against
    float32 autodiff, with a causal mask that leaves some rows one key."""
    import jax

    from refuseu_jax.models.llama import attention_core

    keys = jax.random.split(jax.random.key(8), 4)
    q = jax.random.normal(keys[0], (2, 3, 12, 16)).astype(dtype)
    k, v = (jax.random.normal(key, (2, 3, 6, 16)).astype(dtype) for key in keys[1:3])
    mask = jnp.tile(jnp.tril(jnp.ones((6, 6), bool)), (2, 1))[None, None]  # 2 query groups over 6 keys
    mask = jnp.broadcast_to(mask, (2, 1, 12, 6))
    probe = jax.random.normal(keys[3], (2, 3, 12, 16))

    def grads(fn):
        return jax.grad(lambda q, k, v: jnp.sum(fn(q, k, v, mask).astype(jnp.float32) * probe), argnums=(0, 1, 2))

    np.testing.assert_allclose(np.asarray(attention_core(q, k, v, mask), np.float32),
                               np.asarray(_reference_attention(q, k, v, mask)), atol=tol, rtol=tol)
    for got, want, primal in zip(grads(attention_core)(q, k, v), grads(_reference_attention)(q, k, v), (q, k, v)):
        assert got.dtype == primal.dtype
        scale = float(jnp.max(jnp.abs(want)))
        np.testing.assert_allclose(np.asarray(got, np.float32) / scale, np.asarray(want) / scale, atol=tol)


def test_bf16_attention_backward_multiplies_in_bf16_on_cpu():
    """Through DecoderLayer.attend (transposed k/v, folded query heads): every attention matmul of the
    differentiated program keeps bfloat16 operands. Without `row_major`, XLA folded the transposes into the
    operands' layouts and widened them to float32."""
    import jax

    from refuseu_jax.models.llama import DecoderLayer

    cfg = get_preset("tiny", dtype="bfloat16")
    layer = DecoderLayer(cfg, rngs=nnx.Rngs(0))
    q = jnp.ones((2, 16, cfg.num_heads, cfg.head_dim), jnp.bfloat16)
    k = v = jnp.ones((2, 16, cfg.num_kv_heads, cfg.head_dim), jnp.bfloat16)
    mask = jnp.tril(jnp.ones((16, 16), bool))[None] & jnp.ones((2, 1, 16), bool)
    loss = jax.grad(lambda q, k, v: jnp.sum(layer.attend(q, k, v, mask).astype(jnp.float32)), argnums=(0, 1, 2))
    dots = _compiled_dot_operand_dtypes(loss, q, k, v)
    assert len(dots) >= 4 and all(d == ("bf16", "bf16") for d in dots), dots


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_swiglu_and_norm_scale_match_autodiff(dtype):
    import jax

    from refuseu_jax.models.llama import scale_features, swiglu

    keys = jax.random.split(jax.random.key(9), 5)
    gate, up = (jax.random.normal(key, (5, 7, 24)) * 3 for key in keys[:2])
    probe = jax.random.normal(keys[2], (5, 7, 24))
    ours = jax.grad(lambda g, u: jnp.sum(swiglu(g, u, dtype).astype(jnp.float32) * probe), argnums=(0, 1))
    plain = jax.grad(lambda g, u: jnp.sum(jax.nn.silu(g) * u * probe), argnums=(0, 1))
    tol = 1e-5 if dtype == "float32" else 1e-2
    assert swiglu(gate, up, dtype).dtype == jnp.dtype(dtype)
    for got, want in zip(ours(gate, up), plain(gate, up)):
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * float(jnp.max(jnp.abs(want))))

    x = jax.random.normal(keys[3], (5, 7, 24)).astype(dtype)
    scale = (1 + jax.random.normal(keys[4], (24,))).astype(dtype)
    ours = jax.grad(lambda x, s: jnp.sum(scale_features(x, s).astype(jnp.float32) * probe), argnums=(0, 1))
    plain = jax.grad(lambda x, s: jnp.sum((x.astype(jnp.float32) * s.astype(jnp.float32)) * probe), argnums=(0, 1))
    for got, want, primal in zip(ours(x, scale), plain(x, scale), (x, scale)):
        assert got.dtype == primal.dtype
        np.testing.assert_allclose(np.asarray(got, np.float32), want, rtol=tol, atol=tol * float(jnp.max(jnp.abs(want))))


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
