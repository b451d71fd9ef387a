"""HF checkpoints in and out: logits parity with transformers, bit-exact round trips, sharded loading, bad input."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from click.testing import CliRunner
from safetensors.numpy import load_file

from data_tools.errors import UserError
from refuseu_jax import from_pretrained, save_pretrained
from refuseu_jax.checkpoints import hf
from refuseu_jax.cli import main
from refuseu_jax.models.config import ModelConfig
from refuseu_jax.models.llama import param_shapes
from tests.refuseu_jax.hf_tiny import (LLAMA3_ROPE, ODD_GQA3, float64_reference, padded_batch,
                                       params_from_hf)
from tests.refuseu_jax.hf_tiny import save_tiny as _save_tiny
from tests.refuseu_jax.precision import model_bound


def _reference_logits(model, ids, mask):  # model: a transformers model or float64_reference's forward
    # transformers' forward does not derive positions from the mask (generate does); give them explicitly.
    positions = np.maximum(np.cumsum(mask, axis=1) - 1, 0)
    with torch.no_grad():
        out = model(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask.astype(np.int64)),
                    position_ids=torch.tensor(positions))
    return (out.logits if out.logits.dtype == torch.float64 else out.logits.float()).numpy()  # float64 kept


def test_every_parameter_maps_to_one_hf_tensor_and_back():
    cfg = ModelConfig(vocab_size=11, hidden_size=8, intermediate_size=12, num_layers=3, num_heads=2,
                      num_kv_heads=1, attention_bias=True, mlp_bias=True)
    names = set()
    for path, (shape, _) in param_shapes(cfg).items():
        for layer in range(shape[0]) if path[0] == "layers" else [None]:
            name = hf.hf_name(path, layer)
            assert hf.parse_hf_name(name) == (path, layer)
            names.add(name)
        assert hf.hf_tensor_shape(path, shape) == (shape[1:] if path[0] == "layers" else shape)
    assert len(names) == 2 + 3 * 16 + 1  # embed, lm_head, 16 tensors per layer (2 norms, 7 weights, 7 biases), norm
    with pytest.raises(KeyError):
        hf.parse_hf_name("model.layers.0.self_attn.rotary_emb.inv_freq")


@pytest.mark.parametrize("overrides", [
    dict(rope_scaling=LLAMA3_ROPE),  # llama3 RoPE scaling, untied embeddings
    ODD_GQA3,
], ids=["llama3-rope-untied", "gqa3-odd-biases-tied"])
def test_logits_match_transformers_with_left_and_right_padding(tmp_path, overrides):
    ref, path = _save_tiny(tmp_path, **overrides)
    model = from_pretrained(path, dtype="float32")
    ids, mask = padded_batch(ref.config.vocab_size)
    ours = np.asarray(model(jnp.asarray(ids), jnp.asarray(mask)))
    theirs = _reference_logits(ref, ids, mask)
    exact = _reference_logits(float64_reference(ref)[1], ids, mask)
    assert ours.shape == theirs.shape == ids.shape + (ref.config.vocab_size,)
    assert np.abs(theirs).max() > 1.0  # not trivially small logits
    # The mapping is checked in float64 (test_float64_parity.py); here float32 rounding, bounded from float32's
    # unit roundoff (precision.py) with headroom 8: these random weights (std 0.3) amplify rounding, and
    # transformers' own float32 sits at up to 3x the plain estimate (1.8e-5 of 6.1e-6 on the odd GQA model; ours
    # 6.5e-6). Both within the bound of exact, ours and transformers' differ by at most twice it.
    bound = model_bound(ref.config, float(np.abs(exact[mask]).max()), headroom=8.0)
    assert np.abs(ours - exact)[mask].max() <= bound
    assert np.abs(ours - theirs)[mask].max() <= 2 * bound


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["float32", "bfloat16"])
def test_round_trip_is_bit_exact_and_transformers_generates_the_same(tmp_path, dtype):
    ref, src = _save_tiny(tmp_path, dtype=dtype, rope_scaling=LLAMA3_ROPE)
    _add_tokenizer(src)
    name = "float32" if dtype == torch.float32 else "bfloat16"
    model = from_pretrained(src, dtype=name)
    assert model.embed.embedding[...].dtype == jnp.dtype(name)
    out = save_pretrained(model, tmp_path / "out")

    a, b = load_file(src / "model.safetensors"), load_file(out / "model.safetensors")
    assert sorted(a) == sorted(b)
    for key in a:
        assert a[key].dtype == b[key].dtype and a[key].tobytes() == b[key].tobytes(), key
    for name in ("tokenizer.json", "tokenizer_config.json", "generation_config.json"):
        assert (out / name).read_bytes() == (src / name).read_bytes()

    from transformers import AutoModelForCausalLM, AutoTokenizer
    reloaded = AutoModelForCausalLM.from_pretrained(out).eval()
    assert reloaded.dtype == dtype
    AutoTokenizer.from_pretrained(out)  # the copied tokenizer is usable
    prompt = torch.tensor([[5, 17, 42, 9, 77]])
    with torch.no_grad():
        want = ref.generate(prompt, max_new_tokens=8, do_sample=False)
        got = reloaded.generate(prompt, max_new_tokens=8, do_sample=False)
    assert got.tolist() == want.tolist()


def _add_tokenizer(path):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({f"w{i}": i for i in range(128)}, unk_token="w0"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="w2", pad_token="w0").save_pretrained(path)


def test_every_loading_path_gives_the_checkpoint_tensors(tmp_path):
    ref, src = _save_tiny(tmp_path, rope_scaling=LLAMA3_ROPE)
    cfg = ModelConfig.from_hf(src)
    # The paths an accelerator takes: a zero budget forces every stacked parameter through the donated per-layer
    # write (big models); the default budget assembles each one on the host and moves it once.
    per_layer = hf.load_hf_params(src, cfg, host_budget_bytes=0, adopt_host_buffers=False)
    assembled = hf.load_hf_params(src, cfg, adopt_host_buffers=False)
    adopted = hf.load_hf_params(src, cfg)  # the CPU default: file-order reads into buffers the arrays adopt
    reference = params_from_hf(ref)
    for loaded in (per_layer, assembled, adopted):
        jax.tree.map(lambda a, b: np.testing.assert_array_equal(np.asarray(a), np.asarray(b)), loaded, reference)
    assert per_layer["layers"]["q_proj"]["weight"].shape == (2, 32, 32)
    for adopt in (False, True):  # cast while loading
        half = hf.load_hf_params(src, cfg, dtype="bfloat16", host_budget_bytes=0, adopt_host_buffers=adopt)
        assert half["layers"]["up_proj"]["weight"].dtype == jnp.bfloat16
        np.testing.assert_array_equal(np.asarray(half["layers"]["up_proj"]["weight"]),
                                      reference["layers"]["up_proj"]["weight"].astype(jnp.bfloat16))


def test_sharded_export_writes_an_index_and_loads_back(tmp_path):
    ref, src = _save_tiny(tmp_path, rope_scaling=LLAMA3_ROPE)
    model = from_pretrained(src)
    out = save_pretrained(model, tmp_path / "sharded", max_shard_bytes=20_000)
    index = json.loads((out / "model.safetensors.index.json").read_text())
    files = sorted(set(index["weight_map"].values()))
    assert len(files) > 2 and all((out / f).stat().st_size <= 20_000 + 4096 for f in files)
    original = load_file(src / "model.safetensors")
    assert index["metadata"]["total_size"] == sum(v.nbytes for v in original.values())
    for f in files:
        for key, value in load_file(out / f).items():
            assert value.tobytes() == original[key].tobytes()
    again = from_pretrained(out)  # our loader reads the sharded form too
    ids, mask = padded_batch(128)
    np.testing.assert_array_equal(np.asarray(again(ids, mask)), np.asarray(model(ids, mask)))

    from transformers import AutoModelForCausalLM
    reloaded = AutoModelForCausalLM.from_pretrained(out).eval()
    np.testing.assert_array_equal(_reference_logits(reloaded, ids, mask), _reference_logits(ref, ids, mask))


def test_sharded_load_reads_slices_and_forward_matches_one_device(tmp_path, monkeypatch):
    from refuseu_jax.parallel import MeshConfig, batch_sharding, make_mesh

    # Weights of std 0.1 (not 0.3): a random net that chaotic amplifies reduction-order noise past 1e-5.
    _, src = _save_tiny(tmp_path, rope_scaling=LLAMA3_ROPE, weight_scale=1 / 3)
    single = from_pretrained(src)
    mesh = make_mesh(MeshConfig(data=2, fsdp=2, tensor=2))

    reads = []
    original_read = hf.CheckpointIndex.read
    monkeypatch.setattr(hf.CheckpointIndex, "read", lambda self, name, index=None: reads.append(
        (name, original_read(self, name, index).shape)) or original_read(self, name, index))
    sharded = from_pretrained(src, mesh=mesh)

    # HF q_proj [out=32, in=32]: each read is one (tensor, fsdp) block, never the whole tensor.
    q_reads = {shape for name, shape in reads if name == "model.layers.0.self_attn.q_proj.weight"}
    assert q_reads == {(16, 16)}
    weight = sharded.layers.q_proj.weight[...]  # [L, nH*D, H] = [2, 32, 32], spec (None, tensor, fsdp)
    assert weight.sharding.spec == jax.sharding.PartitionSpec(None, "tensor", "fsdp")
    assert {s.data.shape for s in weight.addressable_shards} == {(2, 16, 16)}
    assert {s.data.shape for s in sharded.layers.down_proj.weight[...].addressable_shards} == {(2, 16, 32)}
    assert {s.data.shape for s in sharded.embed.embedding[...].addressable_shards} == {(64, 16)}
    assert len(weight.sharding.device_set) == 8

    ids, mask = padded_batch(128, b=4)
    from flax import nnx
    forward = nnx.jit(lambda m, i, k: m(i, k))
    placed = [jax.device_put(x, batch_sharding(mesh)) for x in (ids, mask)]
    got = forward(sharded, *placed)
    want = np.asarray(forward(single, ids, mask))
    assert np.abs(want).max() > 0.5
    print("sharded vs single max diff", np.abs(np.asarray(got) - want).max())
    np.testing.assert_allclose(np.asarray(got), want, atol=1e-5, rtol=0)


# ---- bad input: one line naming the file, exit code 2 -------------------------------------------------------
def _break_missing_shard(path):
    model = from_pretrained(path)
    save_pretrained(model, path, max_shard_bytes=20_000)
    index = json.loads((path / "model.safetensors.index.json").read_text())
    victim = path / sorted(set(index["weight_map"].values()))[1]
    victim.unlink()
    return victim.name


def _break_architecture(path):
    cfg = json.loads((path / "config.json").read_text())
    cfg.update(architectures=["MistralForCausalLM"], model_type="mistral")
    (path / "config.json").write_text(json.dumps(cfg))
    return "config.json"


def _break_shape(path):
    cfg = json.loads((path / "config.json").read_text())
    cfg["intermediate_size"] = 48
    (path / "config.json").write_text(json.dumps(cfg))
    return "model.safetensors"


def _break_pickle_only(path):
    (path / "model.safetensors").rename(path / "pytorch_model.bin")
    return "pytorch_model.bin"


def _break_truncate(path):
    data = (path / "model.safetensors").read_bytes()
    (path / "model.safetensors").write_bytes(data[: len(data) - 1000])
    return "model.safetensors"


@pytest.mark.parametrize("breaker, expected", [
    (_break_missing_shard, "file not found"),
    (_break_architecture, "unsupported architecture"),
    (_break_shape, "has shape [32, 64], expected [32, 48]"),
    (_break_truncate, "truncated"),
    (_break_pickle_only, "expected *.safetensors"),
], ids=["missing-file", "architecture", "shape-mismatch", "truncated", "pickle-only"])
def test_bad_checkpoints_give_one_line_naming_the_file_and_exit_2(tmp_path, breaker, expected):
    _, src = _save_tiny(tmp_path)
    file_name = breaker(src)
    result = CliRunner().invoke(main, ["convert", str(src), str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    message = result.stderr.strip()
    assert message.startswith("error: ") and "\n" not in message
    assert file_name in message and expected in message
    assert not (tmp_path / "out").exists()  # nothing half-written
    with pytest.raises(UserError):
        from_pretrained(src)


def test_orbax_round_trips_and_training_checkpoints_export_to_hf(tmp_path):
    import orbax.checkpoint as ocp

    _, src = _save_tiny(tmp_path, rope_scaling=LLAMA3_ROPE)
    _add_tokenizer(src)
    runner = CliRunner()
    result = runner.invoke(main, ["convert", str(src), str(tmp_path / "orbax"), "--to", "orbax"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["convert", str(tmp_path / "orbax"), str(tmp_path / "back")])
    assert result.exit_code == 0, result.output
    original = load_file(src / "model.safetensors")
    back = load_file(tmp_path / "back" / "model.safetensors")
    assert all(back[k].tobytes() == v.tobytes() for k, v in original.items()) and back.keys() == original.keys()
    assert (tmp_path / "back" / "tokenizer.json").read_bytes() == (src / "tokenizer.json").read_bytes()

    # A trainer's checkpoint holds more than parameters; only the parameters are restored and exported.
    from flax import nnx
    params = nnx.state(from_pretrained(src), nnx.Param).to_pure_dict()
    state = {"params": params, "opt_state": {"mu": jax.tree.map(jnp.zeros_like, params)}, "step": 7}
    with ocp.StandardCheckpointer() as ckptr:
        ckptr.save((tmp_path / "step_7").absolute(), state)
    result = runner.invoke(main, ["convert", str(tmp_path / "step_7"), str(tmp_path / "export"),
                                  "--config", str(src)])
    assert result.exit_code == 0, result.output
    exported = load_file(tmp_path / "export" / "model.safetensors")
    assert all(exported[k].tobytes() == v.tobytes() for k, v in original.items())
    result = runner.invoke(main, ["convert", str(tmp_path / "step_7"), str(tmp_path / "x")])
    assert result.exit_code == 2 and "--config" in result.stderr
