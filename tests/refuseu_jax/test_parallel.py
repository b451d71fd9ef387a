"""Mesh construction, partition rules and the distributed hook (8 fake CPU devices from tests/conftest.py)."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from jax.sharding import PartitionSpec as P

from refuseu_jax import parallel
from refuseu_jax.models.config import get_preset
from refuseu_jax.models.llama import param_shapes
from data_tools.errors import UserError
from refuseu_jax.parallel import MeshConfig, batch_sharding, make_mesh, param_shardings, shard_params, spec_for


def test_mesh_sizes_fill_the_rest_and_reject_impossible_shapes():
    assert jax.device_count() == 8
    assert MeshConfig().resolve(8) == (1, 8, 1)
    assert MeshConfig(data=2, fsdp=-1, tensor=2).resolve(8) == (2, 2, 2)
    assert MeshConfig(data=-1, fsdp=1, tensor=4).resolve(8) == (2, 1, 4)
    for bad in (MeshConfig(data=3), MeshConfig(data=-1, fsdp=-1), MeshConfig(data=2, fsdp=2, tensor=1),
                MeshConfig(tensor=0)):
        with pytest.raises(UserError, match="config key 'mesh'"):
            bad.resolve(8)
    mesh = make_mesh(MeshConfig(data=2, fsdp=2, tensor=2))
    assert dict(mesh.shape) == {"data": 2, "fsdp": 2, "tensor": 2}
    assert make_mesh(MeshConfig(), devices=jax.devices()[:1]).devices.size == 1  # one device works too


def test_rules_cover_every_parameter_and_split_the_big_ones():
    mesh = make_mesh(MeshConfig(data=2, fsdp=2, tensor=2))
    cfg = get_preset("llama-3.1-8b")
    specs = {"/".join(k): s.spec for k, s in param_shardings(mesh, param_shapes(cfg.replace(num_layers=2))).items()}
    assert specs["embed/embedding"] == P("tensor", "fsdp")
    assert specs["layers/q_proj/weight"] == P(None, "tensor", "fsdp")
    assert specs["layers/down_proj/weight"] == P(None, "fsdp", "tensor")
    assert specs["lm_head/weight"] == P("tensor", "fsdp")
    assert specs["final_norm/scale"] == P() and specs["layers/attn_norm/scale"] == P()


def test_axes_that_do_not_divide_are_dropped_and_unknown_parameters_fail():
    mesh = make_mesh(MeshConfig(data=2, fsdp=2, tensor=2))
    assert spec_for("embed/embedding", (101, 64), mesh) == P(None, "fsdp")  # odd vocabulary: not split over tensor
    assert spec_for("opt_state/mu/layers/up_proj/weight", (2, 96, 64), mesh) == P(None, "tensor", "fsdp")
    assert spec_for("count", (), mesh) == P()
    with pytest.raises(ValueError, match="no partition rule"):
        spec_for("layers/new_thing/weight", (2, 4, 4), mesh)


def test_shard_params_and_batch_sharding_place_real_arrays():
    mesh = make_mesh(MeshConfig(data=2, fsdp=2, tensor=2))
    params = {"layers": {"gate_proj": {"weight": np.arange(2 * 8 * 4, dtype=np.float32).reshape(2, 8, 4)}}}
    placed = shard_params(params, mesh)
    weight = placed["layers"]["gate_proj"]["weight"]
    assert {s.data.shape for s in weight.addressable_shards} == {(2, 4, 2)}
    np.testing.assert_array_equal(np.asarray(weight), params["layers"]["gate_proj"]["weight"])
    batch = jax.device_put(np.zeros((8, 5), np.int32), batch_sharding(mesh))
    assert {s.data.shape for s in batch.addressable_shards} == {(2, 5)}  # split 4 ways, replicated over tensor


def test_initialize_distributed_is_a_no_op_on_one_host(monkeypatch):
    for name in ("JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID", "REFUSEU_DISTRIBUTED"):
        monkeypatch.delenv(name, raising=False)
    calls = []
    monkeypatch.setattr(jax.distributed, "initialize", lambda *a, **k: calls.append((a, k)))
    assert parallel.initialize_distributed() is False
    assert parallel.initialize_distributed("127.0.0.1:1234", num_processes=1, process_id=0) is False
    assert calls == []
    # With a coordinator and several processes it hands over to jax.distributed (mocked: no second process here).
    assert parallel.initialize_distributed("127.0.0.1:1234", num_processes=2, process_id=0) is True
    assert calls == [(("127.0.0.1:1234", 2, 0), {})]



def test_activation_shardings_apply_only_on_a_declared_mesh_of_several_devices():
    """Off a mesh (and on a one-device mesh) the model traces exactly as before, with no constraint at all; with
    the trainer's data 2 x fsdp 2 x tensor 2 mesh declared, its hidden states come out split over the batch
    (each device 8 / 4 rows, all of the hidden dimension) and equal the unsharded ones."""
    import jax.numpy as jnp
    from flax import nnx

    from refuseu_jax.models.llama import init_model, model_from_params

    x = jnp.ones((8, 4, 6))
    assert parallel.shard_activation(x, "batch", None, "mlp") is x
    cfg = get_preset("tiny")
    params = nnx.state(init_model(cfg, seed=3), nnx.Param).to_pure_dict()
    fn = lambda params, ids: model_from_params(cfg, params).hidden_states(ids)  # noqa: E731
    ids = jnp.asarray(np.random.default_rng(0).integers(0, cfg.vocab_size, (8, 16)), jnp.int32)
    count = lambda: str(jax.make_jaxpr(fn)(params, ids)).count("sharding_constraint")  # noqa: E731
    assert count() == 0
    with jax.set_mesh(make_mesh(MeshConfig(1, 1, 1), devices=jax.devices()[:1])):
        assert count() == 0
    mesh = make_mesh(MeshConfig(data=2, fsdp=2, tensor=2))
    with jax.set_mesh(mesh):
        assert count() > 0
        out = jax.jit(fn)(shard_params(params, mesh), jax.device_put(ids, batch_sharding(mesh)))
    assert {s.data.shape for s in out.addressable_shards} == {(2, 16, cfg.hidden_size)}
    # float32 sums of at most intermediate_size terms, reordered by the split: a few units of roundoff each
    np.testing.assert_allclose(np.asarray(out), np.asarray(jax.jit(fn)(params, ids)), rtol=1e-5, atol=1e-5)
