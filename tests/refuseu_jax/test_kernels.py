"""Every fast kernel against its plain version (refuseu_jax/kernels.py): outputs and gradients, float32 and
bfloat16, on odd shapes; and the compiled programs keep the bfloat16 matmuls the kernels exist for.

Tolerances come from the precision: differences are measured relative to the largest reference value, and
allowed a few units of the format's epsilon (float32: 64 eps, for sums over a few hundred terms in different
orders; bfloat16: 4 eps, for a handful of roundings to bfloat16 that one side does and the other does not).
"""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from refuseu_jax import kernels as K

DTYPES = ["float32", "bfloat16"]


def tolerance(dtype) -> float:
    eps = float(jnp.finfo(jnp.dtype(dtype)).eps)
    return 64 * eps if jnp.dtype(dtype) == jnp.float32 else 4 * eps


def assert_close(got, want, dtype, what=""):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    scale = float(np.max(np.abs(want))) or 1.0
    np.testing.assert_allclose(got / scale, want / scale, rtol=0, atol=tolerance(dtype), err_msg=what)


def normal(key, shape, dtype, scale=1.0):
    return (jax.random.normal(jax.random.key(key), shape) * scale).astype(dtype)


def compare(fast, plain, args, dtype, argnums):
    """Outputs and gradients (of a random projection of the output) of two functions of `args`."""
    out = fast(*args)
    probe = normal(99, out.shape, jnp.float32)

    def grads(fn):
        return jax.jit(jax.grad(lambda *a: jnp.sum(fn(*a).astype(jnp.float32) * probe), argnums=argnums))(*args)

    assert out.dtype == plain(*args).dtype
    assert_close(out, plain(*args), dtype, "output")
    for i, got, want in zip(argnums, grads(fast), grads(plain)):
        assert got.dtype == want.dtype == args[i].dtype, i
        assert_close(got, want, dtype, f"gradient of argument {i}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_linear_matches_plain_matmul(dtype):
    x, w = normal(0, (3, 5, 37), dtype), normal(1, (23, 37), dtype)
    compare(K.linear, K.linear_reference, (x, w), dtype, (0, 1))
    assert K.linear(x, w).dtype == jnp.float32


def test_linear_in_out_is_linear_on_the_transposed_weight():
    x, w = normal(2, (3, 1, 37), "bfloat16"), normal(3, (23, 37), "bfloat16")
    np.testing.assert_allclose(np.asarray(K.linear_in_out(x, w.T)), np.asarray(K.linear_reference(x, w)),
                               rtol=tolerance("float32"))


@pytest.mark.parametrize("dtype", DTYPES)
def test_contract_rows_matches_the_plain_product(dtype):
    a, b = normal(4, (2, 19, 13), dtype), normal(5, (2, 19, 7), dtype)
    compare(K.contract_rows, K.contract_rows_reference, (a, b), dtype, (0, 1))


@pytest.mark.parametrize("dtype", DTYPES)
def test_swiglu_matches_silu_times_up(dtype):
    gate, up = normal(6, (5, 7, 29), dtype, 3.0), normal(7, (5, 7, 29), dtype, 3.0)
    compare(lambda g, u: K.swiglu(g, u, dtype), lambda g, u: K.swiglu_reference(g, u, dtype), (gate, up), dtype,
            (0, 1))


@pytest.mark.parametrize("dtype", DTYPES)
def test_scale_features_matches_the_product(dtype):
    x, scale = normal(8, (5, 7, 29), dtype), (1 + normal(9, (29,), jnp.float32)).astype(dtype)
    compare(K.scale_features, K.scale_features_reference, (x, scale), dtype, (0, 1))


def _rope(x, cos, sin):  # rotate-half RoPE, as the model passes it
    half = x.shape[-1] // 2
    x32 = x.astype(jnp.float32)
    return (x32 * cos + jnp.concatenate([-x32[..., half:], x32[..., :half]], -1) * sin).astype(x.dtype)


def _attention_inputs(dtype, b=2, t=7, heads=6, kv=3, d=10):
    q = normal(10, (b, t, heads, d), dtype)
    k, v = normal(11, (b, t, kv, d), dtype), normal(12, (b, t, kv, d), dtype)
    lengths = np.array([t, 3])  # the second row right-padded: some queries see one key
    mask = jnp.asarray(np.tril(np.ones((t, t), bool))[None] & (np.arange(t)[None, None] < lengths[:, None, None]))
    angles = jnp.arange(t, dtype=jnp.float32)[None, :, None] * (0.3 ** jnp.arange(d // 2))[None, None]
    angles = jnp.broadcast_to(jnp.concatenate([angles, angles], -1), (b, t, d))
    return q, k, v, mask, (_rope, jnp.cos(angles), jnp.sin(angles))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("with_rope", [False, True])
def test_attention_matches_the_grouped_einsum(dtype, with_rope):
    """Grouped-query heads (6 over 3), RoPE applied inside (after the fold) or before, a padded row."""
    q, k, v, mask, rope = _attention_inputs(dtype)
    rope = rope if with_rope else None
    compare(lambda q, k, v: K.attention(q, k, v, mask, rope), lambda q, k, v: K.attention_reference(q, k, v, mask, rope),
            (q, k, v), dtype, (0, 1, 2))


def _compiled_dot_operand_dtypes(fn, *args) -> list[tuple[str, ...]]:
    """Operand dtypes of every matmul in XLA's compiled program (dots sit inside fusions on CPU)."""
    text = jax.jit(fn).lower(*args).compile().as_text()
    found = []
    for computation in re.split(r"\n(?=%[\w.\-]+ \()", text):
        for line in computation.splitlines():
            if " dot(" in line:
                names = re.search(r"dot\(%?([\w.\-]+), %?([\w.\-]+)\)", line).groups()
                found.append(tuple(re.search(rf"%?{re.escape(n)}(?: = |: )(\w+)\[", computation).group(1)
                                   for n in names))
    return found


def test_bf16_attention_backward_multiplies_in_bf16_on_cpu():
    """Every attention matmul of the differentiated program keeps bfloat16 operands. Without `row_major`, XLA
    folded the k/v transposes and the query-head folding into the operands' layouts and widened them to
    float32; the plain version shows what the kernel avoids."""
    q, k, v, mask, rope = _attention_inputs("bfloat16", t=16, d=16)

    def loss(attention):
        return jax.grad(lambda q, k, v: jnp.sum(attention(q, k, v, mask, rope).astype(jnp.float32)),
                        argnums=(0, 1, 2))

    dots = _compiled_dot_operand_dtypes(loss(K.attention), q, k, v)
    assert len(dots) >= 4 and all(d == ("bf16", "bf16") for d in dots), dots


def test_linear_backward_multiplies_in_the_input_dtype():
    """Both backward matmuls of the bfloat16 projection multiply bfloat16 operands (autodiff of the plain one
    hands them a float32 cotangent). The loss is linear in the product, so the forward matmul is dead code."""
    x, w = normal(13, (6, 16), "bfloat16"), normal(14, (8, 16), "bfloat16")
    probe = normal(15, (6, 8), jnp.float32)
    grads = jax.grad(lambda x, w: jnp.sum(K.linear(x, w) * probe), argnums=(0, 1))
    dots = [e for e in jax.make_jaxpr(grads)(x, w).jaxpr.eqns if e.primitive.name == "dot_general"]
    assert len(dots) == 2 and all(v.aval.dtype == jnp.bfloat16 for e in dots for v in e.invars)


def test_weight_gradient_matmul_stays_bfloat16_on_cpu():
    """a^T b with bfloat16 operands: XLA:CPU would widen both to float32 for the transposed left operand."""
    a, b = normal(16, (64, 48), "bfloat16"), normal(17, (64, 32), "bfloat16")
    hlo = jax.jit(K.contract_rows).lower(a, b).compile().as_text()
    assert "bf16[64,32]" in hlo and "f32[64,32]" not in hlo  # b reaches the matmul unconverted


# ---- layer stacks -----------------------------------------------------------------------------------------------
def _stacks(param_dtype):
    return {"w": normal(20, (3, 5, 7), param_dtype), "b": normal(21, (3, 9), param_dtype),
            "n": jnp.arange(6, dtype=jnp.int32).reshape(3, 2)}


@pytest.mark.parametrize("param_dtype,dtype", [("float32", None), ("float32", "bfloat16"),
                                               ("bfloat16", "bfloat16"), ("bfloat16", None)])
def test_unstack_matches_slicing_and_its_backward_matches_autodiff(param_dtype, dtype):
    """Per-layer slices (cast per layer, 16-bit moved as uint16) equal plain slicing bit for bit; gradients of a
    function of the slices come back stacked in the stacks' dtypes, equal to autodiff of the slicing."""
    stacks = _stacks(param_dtype)
    fast, plain = K.unstack(stacks, dtype), K.unstack_reference(stacks, dtype)
    for got, want in zip(jax.tree.leaves(fast), jax.tree.leaves(plain)):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    floats = {k: v for k, v in stacks.items() if k != "n"}
    probes = [normal(22 + i, x.shape[1:], jnp.float32) for i, x in enumerate(jax.tree.leaves(floats))]

    def loss(unstack):
        def f(tree):
            layers = K.layer_trees(unstack(tree, dtype))
            return sum(jnp.sum(leaf.astype(jnp.float32) * p * (i + 1))
                       for i, layer in enumerate(layers) for leaf, p in zip(jax.tree.leaves(layer), probes))
        return jax.jit(jax.grad(f))(floats)

    for got, want, stack in zip(jax.tree.leaves(loss(K.unstack)), jax.tree.leaves(loss(K.unstack_reference)),
                                jax.tree.leaves(floats)):
        assert got.dtype == want.dtype == stack.dtype
        assert_close(got, want, stack.dtype)


def test_restack_inverts_unstack_bit_for_bit():
    for dtype in ("float32", "bfloat16"):
        stacks = _stacks(dtype)
        back = K.restack(K.unstack(stacks))
        for got, want in zip(jax.tree.leaves(back), jax.tree.leaves(stacks)):
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    x = normal(30, (4, 3), "bfloat16")
    assert K.as_uint16(x).dtype == jnp.uint16 and K.from_uint16(K.as_uint16(x), x).dtype == jnp.bfloat16
    np.testing.assert_array_equal(np.asarray(K.from_uint16(K.as_uint16(x), x)), np.asarray(x))
    assert K.as_uint16(jnp.ones(3, jnp.float32)).dtype == jnp.float32  # only 16-bit floats are reinterpreted


def test_split_layers_places_each_layer_like_its_stack_and_layer_trees_regroup_them():
    mesh = jax.make_mesh((2, 4), ("data", "fsdp"))
    stack = jax.device_put(normal(31, (3, 8, 6), "bfloat16"), NamedSharding(mesh, P(None, "fsdp", "data")))
    split = K.split_layers({"w": stack})
    assert K.is_unstacked(split) and not K.is_unstacked({"w": stack})
    layers = K.layer_trees(split)
    assert len(layers) == 3
    for i, layer in enumerate(layers):
        assert tuple(layer["w"].sharding.spec) == ("fsdp", "data")
        np.testing.assert_array_equal(np.asarray(layer["w"]), np.asarray(stack[i]))
