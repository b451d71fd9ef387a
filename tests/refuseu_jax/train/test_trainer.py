"""The DPO loop on a tiny model: learning, sharding, resume, crash safety, LoRA, precomputed reference, export."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import numpy as np
import pytest

from data_tools.configuration import from_dict
from data_tools.errors import UserError
from refuseu_jax.parallel import MeshConfig, make_mesh
from refuseu_jax.train.config import TrainConfig
from refuseu_jax.train.trainer import DPOTrainer

from tests.refuseu_jax.train.tiny_assets import build_checkpoint

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny")
    build_checkpoint(path)
    return path


def make_cfg(ckpt, run_dir, **over):
    tree = {"run_dir": str(run_dir), "model": {"path": str(ckpt), "scan_layers": False}, "batch_size": 8, "epochs": 1, "progress": False,
            "data": {"max_length": 320, "pad_multiple": 0, "limit": 48},
            "optim": {"learning_rate": 1e-3, "warmup_ratio": 0.0, "schedule": "constant"}}
    for key, value in over.items():
        node = tree
        *parents, leaf = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return from_dict(TrainConfig, tree)


def one_device():
    return make_mesh(MeshConfig(1, 1, 1), devices=jax.devices()[:1])


def losses(summary):
    return [h["loss"] for h in summary["history"]]


def test_starts_at_ln2_then_loss_falls_and_reward_accuracy_rises(ckpt, tmp_path):
    out = DPOTrainer(make_cfg(ckpt, tmp_path, max_steps=6, tensorboard=True), mesh=one_device()).train()
    hist = out["history"]
    assert abs(hist[0]["loss"] - math.log(2)) < 1e-5
    assert np.mean(losses(out)[-2:]) < hist[0]["loss"] - 0.05
    assert np.mean([h["rewards/accuracies"] for h in hist[-2:]]) > hist[0]["rewards/accuracies"] + 0.3
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 6 and '"rewards/margins"' in lines[0] and '"tokens_per_s"' in lines[0]
    assert any((tmp_path / "tensorboard").iterdir())


@pytest.mark.parametrize("compute_dtype,atol", [("float32", 1e-4), ("bfloat16", 5e-3)])
def test_eight_devices_match_one_device(ckpt, tmp_path, compute_dtype, atol):
    # bfloat16 runs the mixed-precision matmuls and their CPU weight-gradient layout under the sharded mesh too
    # (measured 2e-3 apart over 3 steps: bf16 sums in a different order per shard).
    over = {"max_steps": 3, "model.compute_dtype": compute_dtype}
    sharded = DPOTrainer(make_cfg(ckpt, tmp_path / "a", **over), mesh=make_mesh(MeshConfig(2, 4, 1)))
    assert len(sharded.state["params"]["layers"]["q_proj"]["weight"].sharding.device_set) == 8
    single = DPOTrainer(make_cfg(ckpt, tmp_path / "b", **over), mesh=one_device())
    np.testing.assert_allclose(losses(sharded.train()), losses(single.train()), atol=atol)


def test_loss_and_gradients_sharded_over_data_fsdp_tensor_equal_one_device(ckpt, tmp_path):
    """With the mesh declared, activations are split over the batch and the tensor axis (parallel.
    shard_activation): the float32 loss and every gradient equal one device's. A gradient entry sums over up to
    8 x 2 x 320 tokens times the MLP width (64), now in shards and in another order: float32 roundoff grows like
    sqrt(10240 x 64) x 2^-24 ~ 5e-5 of the largest entry; 2e-4 leaves headroom."""
    from refuseu_jax.train import batches as B

    sharded = DPOTrainer(make_cfg(ckpt, tmp_path / "a", max_steps=1), mesh=make_mesh(MeshConfig(2, 2, 2)))
    single = DPOTrainer(make_cfg(ckpt, tmp_path / "b", max_steps=1), mesh=one_device())
    pairs = single.pairs[:8]
    host = B.collate(pairs, B.padded_length(pairs, 320, 0), single.pad_id)
    loss, _, grads = sharded.loss_and_grads(host)
    want_loss, _, want = single.loss_and_grads(host)
    assert float(loss) == pytest.approx(float(want_loss), abs=1e-5)
    for got, expected in zip(jax.tree.leaves(grads), jax.tree.leaves(want)):
        expected = np.asarray(expected)
        np.testing.assert_allclose(np.asarray(got), expected, rtol=0, atol=2e-4 * np.abs(expected).max())


def test_reference_layers_are_split_once_placed_like_their_stack_and_score_the_same(ckpt, tmp_path):
    """Unrolled full fine-tuning keeps the frozen reference as per-layer arrays (no slicing in the step): each
    sharded like its stack minus the layer axis, holding the stack's rows, and scoring exactly like it."""
    from refuseu_jax import kernels
    from refuseu_jax.train import batches as B
    from refuseu_jax.train.step import cast_floats, sequence_stats

    trainer = DPOTrainer(make_cfg(ckpt, tmp_path, max_steps=1, **{"model.compute_dtype": "bfloat16"}),
                         mesh=make_mesh(MeshConfig(2, 4, 1)))
    stacked = cast_floats(trainer.state["params"], "bfloat16")  # the policy starts as the reference
    assert kernels.is_unstacked(trainer.frozen["layers"])
    split = kernels.layer_trees(trainer.frozen["layers"])
    assert len(split) == trainer.model_cfg.num_layers
    for name in ("q_proj", "down_proj"):
        stack = stacked["layers"][name]["weight"]
        for i, layer in enumerate(split):
            w = layer[name]["weight"]
            assert w.dtype == stack.dtype and tuple(w.sharding.spec) == tuple(stack.sharding.spec)[1:]
            np.testing.assert_array_equal(np.asarray(w), np.asarray(stack[i]))
    pairs = trainer.pairs[:8]
    batch = trainer._to_device(B.collate(pairs, B.padded_length(pairs, 320, 0), trainer.pad_id))
    score = jax.jit(lambda params, b: sequence_stats(trainer.model_cfg, params, b, 64)["logps"])
    np.testing.assert_array_equal(np.asarray(score(trainer.frozen, batch)), np.asarray(score(stacked, batch)))


@pytest.mark.parametrize("compute_dtype", ["float32", "bfloat16"])
def test_step_gradients_through_layer_copies_equal_autodiff_of_the_stacked_weights(ckpt, tmp_path, compute_dtype):
    """The step differentiates per-layer copies in the compute dtype and stacks their gradients; autodiff through
    the stacked weights (kernels.unstack's own backward pass) must give the same gradients, in the same dtypes."""
    from refuseu_jax import kernels
    from refuseu_jax.train import batches as B
    from refuseu_jax.train.step import compute_grads, layer_copies

    trainer = DPOTrainer(make_cfg(ckpt, tmp_path, max_steps=1, **{"model.compute_dtype": compute_dtype}),
                         mesh=one_device())
    assert kernels.is_unstacked(layer_copies(trainer.spec, trainer.state["params"])["layers"])
    pairs = trainer.pairs[:8]
    host = B.collate(pairs, B.padded_length(pairs, 320, 0), trainer.pad_id)
    loss, _, expected = trainer.loss_and_grads(host)
    metrics, grads = jax.jit(compute_grads, static_argnums=0)(trainer.spec, trainer.state["params"], trainer.frozen,
                                                              trainer._to_device(host))
    assert float(metrics["loss"]) == pytest.approx(float(loss), abs=1e-6)
    assert jax.tree.structure(grads) == jax.tree.structure(expected)
    for got, want in zip(jax.tree.leaves(grads), jax.tree.leaves(expected)):
        assert got.dtype == want.dtype == np.float32
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-7)


def test_clip_by_global_norm_matches_optax_below_and_above_the_threshold():
    import jax.numpy as jnp
    import optax

    from refuseu_jax.train.optimizer import clip_by_global_norm

    tree = {"a": jnp.arange(6.0).reshape(2, 3) - 2.0, "b": jnp.full((4,), 0.5)}
    norm = float(optax.tree.norm(tree))
    for max_norm in (2 * norm, norm / 3):
        ours, theirs = clip_by_global_norm(max_norm), optax.clip_by_global_norm(max_norm)
        got, state = ours.update(tree, ours.init(tree))
        want, _ = theirs.update(tree, theirs.init(tree))
        assert jax.tree.structure(state) == jax.tree.structure(theirs.init(tree))  # checkpoints keep their layout
        for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
            np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-6)
    assert float(optax.tree.norm(ours.update(tree, ours.init(tree))[0])) == pytest.approx(norm / 3, rel=1e-6)


def test_fused_attention_trains_like_the_dense_one(ckpt, tmp_path, monkeypatch):
    """model.attention=cudnn reaches the training forward (jax's XLA implementation of the fused call on this
    CPU): the same losses over 3 steps on right-padded batches (pad_multiple 0: most positions are padding)."""
    from refuseu_jax.models.llama import DecoderLayer

    traced = []
    fused_call = DecoderLayer.attend_causal
    monkeypatch.setattr(DecoderLayer, "attend_causal", lambda self, *a: traced.append(1) or fused_call(self, *a))
    over = {"max_steps": 3}
    fused = DPOTrainer(make_cfg(ckpt, tmp_path / "a", **over, **{"model.attention": "cudnn"}), mesh=one_device())
    assert fused.model_cfg.attention == "cudnn"
    fused_losses = losses(fused.train())
    assert traced  # the step really ran the fused call
    traced.clear()
    dense = DPOTrainer(make_cfg(ckpt, tmp_path / "b", **over, **{"model.attention": "dense"}), mesh=one_device())
    np.testing.assert_allclose(fused_losses, losses(dense.train()), atol=1e-5)
    assert not traced


def test_auto_attention_takes_cudnn_only_on_gpus_with_bfloat16():
    from refuseu_jax.train.state import attention_kind

    assert attention_kind("auto", "gpu", "bfloat16") == "cudnn"
    assert attention_kind("auto", "gpu", "float32") == "dense"
    assert attention_kind("auto", "tpu", "bfloat16") == attention_kind("auto", "cpu", "bfloat16") == "dense"
    assert attention_kind("cudnn", "cpu", "float32") == "cudnn"  # an explicit choice is kept


def test_auto_compute_dtype_is_bfloat16_where_the_hardware_multiplies_it(tmp_path):
    from refuseu_jax.train.state import compute_dtype_for, cpu_has_bf16_matrix_units

    assert compute_dtype_for("auto", "gpu") == compute_dtype_for("auto", "tpu") == "bfloat16"
    assert compute_dtype_for("auto", "cpu", cpu_bf16=True) == "bfloat16"
    assert compute_dtype_for("auto", "cpu", cpu_bf16=False) == "float32"
    assert compute_dtype_for("bfloat16", "cpu", cpu_bf16=False) == "bfloat16"  # an explicit choice is kept
    amx, avx = tmp_path / "amx", tmp_path / "avx"
    amx.write_text("flags\t\t: fpu avx512f avx512_bf16 amx_bf16 amx_tile amx_int8\n")
    avx.write_text("flags\t\t: fpu avx512f avx512_bf16\n")  # bf16 vector instructions only: no matrix unit
    assert cpu_has_bf16_matrix_units(str(amx)) and not cpu_has_bf16_matrix_units(str(avx))
    assert not cpu_has_bf16_matrix_units(str(tmp_path / "missing"))


def test_the_trainer_runs_and_records_the_resolved_auto_dtype(ckpt, tmp_path):
    from refuseu_jax.train.state import compute_dtype_for, load_params

    trainer = DPOTrainer(make_cfg(ckpt, tmp_path, max_steps=1, **{"model.compute_dtype": "auto"}), mesh=one_device())
    expected = compute_dtype_for("auto", jax.default_backend())
    assert trainer.cfg.model.compute_dtype == expected
    assert np.dtype(trainer.model_cfg.dtype) == np.dtype(expected)
    trainer.train()
    assert json.loads((tmp_path / "config.json").read_text())["model"]["compute_dtype"] == expected
    # The loader resolves "auto" itself: the paper driver writes preset start points through it without a trainer.
    model_cfg, *_ = load_params(make_cfg(ckpt, tmp_path / "b", **{"model.compute_dtype": "auto"}), one_device())
    assert np.dtype(model_cfg.dtype) == np.dtype(expected)


def test_resume_continues_the_same_trajectory(ckpt, tmp_path):
    straight = DPOTrainer(make_cfg(ckpt, tmp_path / "a", max_steps=6, checkpoint_every=3), mesh=one_device()).train()
    # "Stop after 3": the same run directory with only the step-3 checkpoint, then resume.
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    shutil.rmtree(tmp_path / "b" / "checkpoints" / "6")
    resumed = DPOTrainer(make_cfg(ckpt, tmp_path / "b", max_steps=6, checkpoint_every=3), mesh=one_device())
    out = resumed.train()
    assert out["start_step"] == 3 and [h["step"] for h in out["history"]] == [4, 5, 6]
    np.testing.assert_allclose(losses(out), losses(straight)[3:], rtol=0, atol=1e-6)
    # the copied metrics held steps 1-6; the resumed run dropped 4-6 before logging them again: one trajectory
    logged = [json.loads(line) for line in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in logged] == [1, 2, 3, 4, 5, 6]
    np.testing.assert_allclose([m["loss"] for m in logged], losses(straight), rtol=0, atol=1e-6)


def test_reference_cache_is_used_only_for_the_same_pairs_and_weights(ckpt, tmp_path):
    cfg = make_cfg(ckpt, tmp_path, max_steps=1, **{"dpo.reference": "precomputed"})
    first = DPOTrainer(cfg, mesh=one_device()).ref_logps
    cache = tmp_path / "reference_logps.npz"
    saved = dict(np.load(cache))
    np.savez(cache, **{**saved, "logps": np.zeros_like(saved["logps"])})  # a marker: read back means reused
    assert not DPOTrainer(cfg, mesh=one_device()).ref_logps.any()
    # shorter sequences truncate completions (and drop pairs): other log-probs, so the cache must not be reused
    shorter = DPOTrainer(cfg.replace(data=dataclasses.replace(cfg.data, max_length=200)), mesh=one_device())
    assert shorter.ref_logps.all() and first.all()


CRASH_SCRIPT = """
import os, sys
import jax.numpy as jnp
from orbax.checkpoint._src.path import atomicity
sys.path.insert(0, {root!r})
from refuseu_jax.train.checkpointing import RunCheckpoints

real_finalize = atomicity.AtomicRenameTemporaryPath.finalize

async def finalize(self, *args, **kwargs):
    if self._final_path.name == "2":  # every file of checkpoint 2 is written; die before it is committed
        os._exit(9)
    return await real_finalize(self, *args, **kwargs)

atomicity.AtomicRenameTemporaryPath.finalize = finalize
ckpt = RunCheckpoints({run!r}, keep=3)
for step in (1, 2):
    state = {{"step": jnp.int32(step), "params": {{"w": jnp.full((64, 64), float(step))}}}}
    ckpt.save(step, state, {{"next_index": step}}, {{"step": step}})
    ckpt.wait()
"""


def test_kill_during_checkpoint_write_keeps_previous_checkpoint(tmp_path):
    import jax.numpy as jnp

    from refuseu_jax.train.checkpointing import RunCheckpoints

    script = tmp_path / "crash.py"
    script.write_text(CRASH_SCRIPT.format(root=str(ROOT), run=str(tmp_path / "ckpts")))
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=1", JAX_PLATFORMS="cpu")
    proc = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 9, proc.stderr[-2000:]
    assert any("2" in p.name for p in (tmp_path / "ckpts").iterdir())  # the half-written step-2 directory
    ckpt = RunCheckpoints(tmp_path / "ckpts")
    assert ckpt.latest_step() == 1
    like = {"step": jnp.int32(0), "params": {"w": jnp.zeros((64, 64))}}
    state, data, meta = ckpt.restore(1, like)
    assert int(state["step"]) == 1 and float(state["params"]["w"][0, 0]) == 1.0 and data == {"next_index": 1}
    ckpt.close()


def test_non_finite_loss_stops_naming_the_step_and_keeps_last_checkpoint(ckpt, tmp_path):
    cfg = make_cfg(ckpt, tmp_path, max_steps=6, checkpoint_every=1, **{"dpo.reference": "precomputed"})
    trainer = DPOTrainer(cfg, mesh=one_device())
    # A corrupted reference value for one pair: the loss turns NaN at the first step whose batch holds it.
    order = [b["index"] for b in DPOTrainer(cfg, mesh=one_device()).data]
    victim = int(order[2][0])
    trainer.data.ref_logps[victim, 0] = np.nan
    with pytest.raises(UserError, match=r"step 3: loss is nan.*Last good checkpoint: step 2"):
        trainer.train()
    assert DPOTrainer(cfg, mesh=one_device()).restore() == 2


def test_precomputed_reference_and_grad_accumulation_give_the_same_losses(ckpt, tmp_path):
    base = DPOTrainer(make_cfg(ckpt, tmp_path / "a", max_steps=2), mesh=one_device())
    pre = DPOTrainer(make_cfg(ckpt, tmp_path / "b", max_steps=2, **{"dpo.reference": "precomputed"}),
                     mesh=one_device())
    accum = DPOTrainer(make_cfg(ckpt, tmp_path / "c", max_steps=2, **{"optim.grad_accum": 2}), mesh=one_device())
    assert pre.frozen is None  # no reference weights kept
    assert (tmp_path / "b" / "reference_logps.npz").is_file()
    expected = losses(base.train())
    np.testing.assert_allclose(losses(pre.train()), expected, atol=1e-5)
    np.testing.assert_allclose(losses(accum.train()), expected, atol=1e-5)


def test_lora_starts_at_ln2_learns_and_exports_merged(ckpt, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM

    cfg = make_cfg(ckpt, tmp_path / "run", max_steps=4, export_dir=str(tmp_path / "hf"),
                   **{"lora.rank": 4, "lora.alpha": 8.0, "optim.learning_rate": 1e-2})
    trainer = DPOTrainer(cfg, mesh=one_device())
    assert set(trainer.state["params"]["layers"]) == set(cfg.lora.targets)  # only adapters are trained
    out = trainer.train()
    assert abs(out["history"][0]["loss"] - math.log(2)) < 1e-5 and out["history"][-1]["loss"] < math.log(2)
    ids = np.asarray([[0, 1, 87, 85, 71, 84, 201, 42]])
    ours = np.asarray(trainer.policy_model()(ids))
    hf = AutoModelForCausalLM.from_pretrained(str(tmp_path / "hf"), dtype=torch.float32).eval()
    with torch.no_grad():
        theirs = hf(torch.tensor(ids)).logits.numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-4)
    base = AutoModelForCausalLM.from_pretrained(str(ckpt), dtype=torch.float32).eval()
    with torch.no_grad():
        assert np.abs(base(torch.tensor(ids)).logits.numpy() - theirs).max() > 1e-3  # the adapters were merged in
    assert (tmp_path / "hf" / "tokenizer_config.json").is_file()


def test_bfloat16_params_and_compute_train(ckpt, tmp_path):
    cfg = make_cfg(ckpt, tmp_path, max_steps=4, **{"model.param_dtype": "bfloat16", "model.compute_dtype": "bfloat16"})
    trainer = DPOTrainer(cfg, mesh=one_device())
    assert trainer.state["params"]["layers"]["up_proj"]["weight"].dtype == jax.numpy.bfloat16
    hist = trainer.train()["history"]
    assert abs(hist[0]["loss"] - math.log(2)) < 1e-2 and hist[-1]["loss"] < hist[0]["loss"] - 0.05
