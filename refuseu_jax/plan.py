"""`refuseu plan`: will a training config fit a TPU slice or a GPU node, and how long will a step take?

Per device, for the config and its variants (full fine-tuning or LoRA, remat on or off, frozen or precomputed
reference):
  parameters    every array's shard under the partition rules on the target mesh (parallel.PARTITION_RULES)
  gradients     the same shards in the parameter dtype (the step accumulates them so)
  optimizer     AdamW's two moments, laid out like their parameters
  reference     the frozen reference in the compute dtype (none when precomputed; LoRA's is the base itself)
  weight copies residuals computed from the weights alone (the rolled loop's compute-dtype copy of the stacked
                layers), laid out like the weights
  activations   what autodiff keeps for the backward pass, traced from the model's own code on abstract arrays
                of one device's micro-batch, heads and MLP width split over the tensor axis as the model's
                activation constraints split them (jax's saved-residual analysis: no memory is allocated), plus the
                largest working set inside the backward pass: a rematerialised layer's own residuals, the dense
                attention's score-sized float32 buffers (the scores' gradient; without remat the saved
                probabilities; on one CPU device the gradient's transposed copy, `cpu_layouts`) and the
                log-prob head's [tokens, chunk] float32 logits and their gradient
  gathered      with fsdp > 1, one layer's weights all-gathered in the compute dtype, twice (this layer's and the
                next one's, which XLA prefetches), and the output embedding for the log-prob head
Checked against XLA's compiled memory analysis (tests/refuseu_jax/test_plan.py; `--compile` runs it here).

Step time = model FLOPs per step / (devices x bf16 peak x MFU), with model FLOPs per token 8 N + 8 L T d_attn
(policy forward + backward and the reference forward; 6 N + 6 L T d_attn when the reference is precomputed),
N = matmul parameters, as bench/common.py counts them. The MFU is an assumption, stated in the output.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
import types

from data_tools.errors import UserError

GiB = 2**30

# Per device (one chip as JAX sees it): HBM bytes and dense bf16 peak FLOP/s, from the vendors' pages.
ACCELERATORS = {
    # cloud.google.com/tpu/docs/v4: 32 GiB HBM2, 275 TFLOP/s bf16 per chip; v4-N counts TensorCores, 2 per chip
    "v4": (32 * GiB, 275e12),
    # cloud.google.com/tpu/docs/v5e: 16 GB HBM2, 197 TFLOP/s bf16 per chip; v5e-N / v5litepod-N counts chips
    "v5e": (16e9, 197e12),
    # cloud.google.com/tpu/docs/v5p: 95 GB HBM2e, 459 TFLOP/s bf16 per chip; v5p-N counts TensorCores, 2 per chip
    "v5p": (95e9, 459e12),
    # cloud.google.com/tpu/docs/v6e: 32 GB HBM, 918 TFLOP/s bf16 per chip; v6e-N counts chips
    "v6e": (32e9, 918e12),
    # NVIDIA H100 SXM datasheet: 80 GB HBM3, 989.4 TFLOP/s dense bf16 (1979 with sparsity)
    "H100": (80 * GiB, 989.4e12),
    # NVIDIA H200 datasheet: 141 GB HBM3e, 989 TFLOP/s dense bf16 (same tensor cores as H100 SXM)
    "H200": (141e9, 989e12),
    # NVIDIA A100 datasheet: 40 or 80 GB HBM2(e), 312 TFLOP/s dense bf16
    "A100-40GB": (40 * GiB, 312e12),
    "A100-80GB": (80 * GiB, 312e12),
}
CORES_PER_CHIP = {"v4": 2, "v5p": 2, "v5e": 1, "v6e": 1}  # what the number in a TPU accelerator type counts
DEFAULT_MFU = 0.40  # the H100 1B/3B steps measured 40-45% of the datasheet peak (README); an assumption elsewhere
DEFAULT_HEADROOM = 0.10  # share of HBM kept free for XLA's own buffers, fragmentation and the runtime


@dataclasses.dataclass(frozen=True)
class Target:
    kind: str  # key of ACCELERATORS
    devices: int
    label: str

    @property
    def hbm(self) -> float:
        return ACCELERATORS[self.kind][0]

    @property
    def peak(self) -> float:
        return ACCELERATORS[self.kind][1]


def parse_slice(text: str, key: str = "--slice") -> Target:
    """'v5p-64' (TensorCores for v4/v5p, chips for v5e/v6e; 'v5litepod-16' too) -> devices."""
    m = re.fullmatch(r"(v4|v5p|v5e|v5litepod|v6e)-(\d+)", str(text).strip())
    if not m:
        raise UserError(f"{key} {text!r}: expected an accelerator type such as v5p-64, v4-32, v5e-16, v6e-8")
    kind = "v5e" if m.group(1) == "v5litepod" else m.group(1)
    count = int(m.group(2))
    per_chip = CORES_PER_CHIP[kind]
    if count % per_chip or count == 0:
        raise UserError(f"{key} {text!r}: {kind} counts {per_chip} cores per chip; use a multiple of {per_chip}")
    return Target(kind, count // per_chip, text)


def parse_gpus(text: str) -> Target:
    """'8xH100', '1xH200', '4xA100-80GB' -> devices."""
    m = re.fullmatch(r"(\d+)x(H100|H200|A100-40GB|A100-80GB)", text.strip())
    if not m or int(m.group(1)) == 0:
        raise UserError(f"--gpus {text!r}: expected COUNTxTYPE with TYPE one of H100, H200, A100-40GB, A100-80GB")
    return Target(m.group(2), int(m.group(1)), text)


# ---------------------------------------------------------------------------------------------------------------
# Memory


@dataclasses.dataclass(frozen=True)
class Variant:
    lora_rank: int  # 0: full fine-tuning
    remat: bool
    reference: str  # "model" | "precomputed"

    def label(self) -> str:
        tuning = f"LoRA r={self.lora_rank}" if self.lora_rank else "full"
        return f"{tuning}, remat {'on' if self.remat else 'off'}, reference {self.reference}"


@dataclasses.dataclass
class Estimate:
    variant: Variant
    mesh: tuple[int, int, int]
    pairs_per_device: float  # of one micro-batch
    seq_len: int
    parts: dict  # name -> bytes per device

    @property
    def total(self) -> int:
        return int(sum(self.parts.values()))


def _bytes(dtype: str) -> int:
    return 2 if dtype in ("bfloat16", "float16") else 4


def _shard_bytes(shapes: dict, mesh_shape: dict, rules, dtype_bytes) -> int:
    """Bytes of each array's per-device shard under `rules` (an axis that does not divide stays whole)."""
    from refuseu_jax.parallel import spec_for

    mesh = types.SimpleNamespace(shape=mesh_shape)
    total = 0
    for path, shape in shapes.items():
        spec = spec_for("/".join(path), shape, mesh, rules)
        size = 1
        for dim, axis in zip(shape, tuple(spec) + (None,) * (len(shape) - len(spec))):
            names = (axis,) if isinstance(axis, str) else tuple(axis or ())
            size *= dim // math.prod(mesh_shape[n] for n in names) if names else dim
        total += size * (dtype_bytes(path) if callable(dtype_bytes) else dtype_bytes)
    return total


def _lora_shapes(model_cfg, rank: int, targets) -> dict:
    from refuseu_jax.models.llama import param_shapes

    shapes = {tuple(k): tuple(v[0]) for k, v in param_shapes(model_cfg).items()}
    out = {}
    for name in targets:
        layers, n_out, n_in = shapes[("layers", name, "weight")]
        out[("layers", name, "lora_a")] = (layers, rank, n_in)
        out[("layers", name, "lora_b")] = (layers, n_out, rank)
    return out


@functools.lru_cache(maxsize=64)
def residual_bytes(model_cfg, rows: int, seq_len: int, reference: str, lora_rank: int, chunk: int,
                   targets: tuple[str, ...]) -> int:
    """Bytes autodiff keeps between the DPO loss's forward and backward pass for `rows` sequences (one device's
    share of a micro-batch), from jax's residual analysis of the trainer's own loss on abstract arrays; the
    parameters themselves (inputs) are not counted."""
    import jax
    import jax.numpy as jnp
    from flax import nnx
    from jax._src.ad_checkpoint import saved_residuals  # backs the public jax.ad_checkpoint.print_saved_residuals

    from refuseu_jax.models.llama import abstract_model
    from refuseu_jax.train.config import DPOSpec, LoraSpec, OptimSpec
    from refuseu_jax.train.lora import lora_init
    from refuseu_jax.train.step import StepSpec, cast_floats, loss_fn

    params = nnx.state(abstract_model(model_cfg), nnx.Param).to_pure_dict()
    spec = StepSpec(model_cfg, DPOSpec(reference=reference, logprob_chunk=chunk),
                    LoraSpec(rank=lora_rank, targets=targets), OptimSpec(), 0)
    if lora_rank:
        trainable = jax.eval_shape(lambda p: lora_init(p, lora_rank, targets, 0), params)
        frozen = params
    else:
        trainable = params
        frozen = None if reference == "precomputed" else jax.eval_shape(
            lambda p: cast_floats(p, model_cfg.dtype), params)
    pairs = max(rows // 2, 1)
    batch = {k: jax.ShapeDtypeStruct((pairs, 2, seq_len), dt) for k, dt in
             (("input_ids", jnp.int32), ("attention_mask", jnp.bool_), ("loss_mask", jnp.bool_))}
    if reference == "precomputed":
        batch["ref_logps"] = jax.ShapeDtypeStruct((pairs, 2), jnp.float32)
    saved = saved_residuals(lambda t, f, b: loss_fn(spec, t, f, b)[0], trainable, frozen, batch)
    return sum(math.prod(aval.shape) * aval.dtype.itemsize for aval, source in saved
               if "argument" not in source and hasattr(aval, "shape"))


def _residual_split(model_cfg, rows, seq, variant, chunk, targets) -> tuple[int, int]:
    """(bytes that do not depend on the batch, bytes for `rows` rows): residuals are affine in the rows, so two
    traces (rows and 2 x rows) separate them."""
    one = residual_bytes(model_cfg, rows, seq, variant.reference, variant.lora_rank, chunk, targets)
    two = residual_bytes(model_cfg, 2 * rows, seq, variant.reference, variant.lora_rank, chunk, targets)
    return max(2 * one - two, 0), two - one


def estimate(cfg, target_devices: int, variant: Variant, *, cpu_layouts: bool = False) -> Estimate:
    """Bytes per device of `cfg` (TrainConfig) with `variant` on `target_devices` devices. cpu_layouts: count
    the transposed score copy XLA:CPU gets from `kernels.row_major` on one device (the checks on this CPU)."""
    from refuseu_jax.models.llama import param_shapes
    from refuseu_jax.parallel import PARTITION_RULES
    from refuseu_jax.train.lora import LORA_RULES

    model_cfg = model_config(cfg).replace(remat=variant.remat)
    data, fsdp, tensor = cfg.mesh.resolve(target_devices)
    mesh_shape = {"data": data, "fsdp": fsdp, "tensor": tensor}
    shapes = {tuple(k): tuple(v[0]) for k, v in param_shapes(model_cfg).items()}
    pbytes, cbytes = _bytes(model_cfg.param_dtype), _bytes(model_cfg.dtype)
    parts = {"parameters": _shard_bytes(shapes, mesh_shape, PARTITION_RULES, pbytes)}
    if variant.lora_rank:
        lora = _lora_shapes(model_cfg, variant.lora_rank, cfg.lora.targets)
        lora_bytes = _shard_bytes(lora, mesh_shape, LORA_RULES, 4)  # factors are float32
        parts["LoRA factors"] = lora_bytes
        parts["gradients"] = lora_bytes
        parts["optimizer"] = 2 * lora_bytes
        parts["reference"] = 0  # the base weights are the reference
    else:
        parts["gradients"] = parts["parameters"]
        parts["optimizer"] = 2 * parts["parameters"]
        parts["reference"] = 0 if variant.reference == "precomputed" else _shard_bytes(
            shapes, mesh_shape, PARTITION_RULES, cbytes)

    seq = cfg.data.max_length  # a batch pads to at most this
    micro_pairs = cfg.batch_size // cfg.optim.grad_accum
    shards = data * fsdp
    # The step's batch input: int32 ids and two bool masks per token (+ two float32 reference log-probs a pair)
    parts["batch"] = -(-cfg.batch_size // shards) * (2 * seq * 6 + (8 if variant.reference == "precomputed" else 0))
    rows = max(2 * micro_pairs // shards, 2)
    chunk = min(cfg.dpo.logprob_chunk, model_cfg.vocab_size)
    targets = tuple(cfg.lora.targets)
    local = per_device_model(model_cfg, tensor)
    weights_copy, saved = _residual_split(local, rows, seq, variant, chunk, targets)
    # Residuals computed from the weights alone (the compute-dtype copy of the stacked layers that the rolled
    # loop casts once) are laid out like the weights; the rest scales with this device's rows.
    parts["weight copies"] = weights_copy // fsdp
    working = 0
    tokens = rows * seq
    if variant.remat:  # the layer being differentiated is recomputed with all its residuals
        _, full = _residual_split(local.replace(remat=False), rows, seq, variant, chunk, targets)
        working += (full - saved) // model_cfg.num_layers
    if model_cfg.attention == "dense":
        # The scores' gradient, and without remat the saved probabilities; on one CPU device also the gradient's
        # transposed copy for the key-gradient product (kernels.row_major, a no-op on accelerators and meshes).
        score_buffers = (1 if variant.remat else 2) + (1 if cpu_layouts and target_devices == 1 else 0)
        working += score_buffers * rows * model_cfg.num_heads * seq * seq * 4 // tensor
    working += 2 * tokens * chunk * 4 // tensor  # the head's float32 logits chunk and its gradient
    parts["activations"] = saved + working
    if fsdp > 1:
        stacks = {p: s for p, s in shapes.items() if p[0] == "layers"}
        one_layer = _shard_bytes(stacks, {"data": 1, "fsdp": 1, "tensor": tensor}, PARTITION_RULES,
                                 cbytes) // model_cfg.num_layers
        head = model_cfg.vocab_size * model_cfg.hidden_size * cbytes // tensor
        parts["gathered weights"] = 2 * one_layer + head
    return Estimate(variant, (data, fsdp, tensor), 2 * micro_pairs / shards / 2, seq, parts)


def per_device_model(model_cfg, tensor: int):
    """The model whose activations one device holds when the tensor axis splits heads and MLP width (as the
    model's activation constraints do, parallel.ACTIVATION_AXES): a width that does not divide stays whole, and
    the residual stream [tokens, hidden] is whole on every device of a tensor group."""
    changes = {}
    if tensor > 1 and model_cfg.num_heads % tensor == 0 and model_cfg.num_kv_heads % tensor == 0:
        changes.update(num_heads=model_cfg.num_heads // tensor, num_kv_heads=model_cfg.num_kv_heads // tensor,
                       head_dim=model_cfg.head_dim)
    if tensor > 1 and model_cfg.intermediate_size % tensor == 0:
        changes["intermediate_size"] = model_cfg.intermediate_size // tensor
    return model_cfg.replace(**changes) if changes else model_cfg


def model_config(cfg):
    """The ModelConfig a TrainConfig trains, from the checkpoint's config.json, or the preset."""
    from refuseu_jax.models.config import ModelConfig, get_preset
    from refuseu_jax.train.state import attention_kind, compute_dtype_for

    m = cfg.model
    backend = "gpu" if PLAN_BACKEND.get("gpu") else "tpu"
    numerics = dict(dtype=compute_dtype_for(m.compute_dtype, backend), param_dtype=m.param_dtype, remat=m.remat,
                    scan_layers=m.scan_layers)
    if m.path is not None:
        from pathlib import Path

        from refuseu_jax.checkpoints.hf import resolve_model_dir

        name = PRESET_FOR_PATH.get(Path(m.path).name.lower())
        if not Path(m.path).exists() and name is not None:
            base = get_preset(name)  # the shipped configs' placeholder paths: plan before downloading
        else:
            base = ModelConfig.from_hf(resolve_model_dir(m.path))
    else:
        base = get_preset(m.preset)
    attention = attention_kind(m.attention, backend, numerics["dtype"])
    return base.replace(**numerics, attention=attention)


# The shipped configs name where a user puts the checkpoint; their shapes are the presets'.
PRESET_FOR_PATH = {
    "llama-3.1-8b-instruct": "llama-3.1-8b", "llama-3.1-70b-instruct": "llama-3.1-70b",
    # the paper's safety-ablated start points (configs/train/llama-3.1-{8b,70b}.yaml): Llama-3.1 shapes
    "neuraldaredevil-8b-abliterated": "llama-3.1-8b", "llama-3.1-70b-instruct-lorablated": "llama-3.1-70b",
}
PLAN_BACKEND: dict = {}  # {"gpu": True} while planning for GPUs: `attention: auto` means cuDNN flash there


# ---------------------------------------------------------------------------------------------------------------
# Time


def matmul_params(model_cfg) -> int:
    h, i, layers = model_cfg.hidden_size, model_cfg.intermediate_size, model_cfg.num_layers
    q, kv = model_cfg.num_heads * model_cfg.head_dim, model_cfg.num_kv_heads * model_cfg.head_dim
    return layers * (h * q + 2 * h * kv + q * h + 3 * h * i) + h * model_cfg.vocab_size


def step_flops(cfg, reference: str) -> float:
    """Model FLOPs of one optimizer step at the padded length (bench/common.py's count)."""
    model_cfg = model_config(cfg)
    seq = cfg.data.max_length
    attention = model_cfg.num_layers * seq * model_cfg.num_heads * model_cfg.head_dim
    factor = 6 if reference == "precomputed" else 8
    per_token = factor * matmul_params(model_cfg) + factor * attention
    return per_token * cfg.batch_size * 2 * seq


def step_seconds(cfg, target: Target, reference: str, mfu: float) -> float:
    return step_flops(cfg, reference) / (target.devices * target.peak * mfu)


# ---------------------------------------------------------------------------------------------------------------
# Report


def variants(cfg) -> list[Variant]:
    rank = cfg.lora.rank or 16
    own = Variant(cfg.lora.rank, cfg.model.remat, cfg.dpo.reference)
    out = [own]
    for lora in (0, rank):
        for remat in (True, False):
            for reference in ("model", "precomputed"):
                v = Variant(lora, remat, reference)
                if v not in out:
                    out.append(v)
    return out


def fits(total: float, hbm: float, headroom: float) -> bool:
    return total <= hbm * (1 - headroom)


def report(cfg, target: Target, mfu: float = DEFAULT_MFU, headroom: float = DEFAULT_HEADROOM) -> str:
    """The planner's table for one target, as `refuseu plan` prints it."""
    PLAN_BACKEND.clear()
    if target.kind in ("H100", "H200", "A100-40GB", "A100-80GB"):
        PLAN_BACKEND["gpu"] = True
    model_cfg = model_config(cfg)
    try:
        data, fsdp, tensor = cfg.mesh.resolve(target.devices)
    except UserError as err:
        raise UserError(f"{target.label}: {err}") from None
    shards = data * fsdp
    micro = cfg.batch_size // cfg.optim.grad_accum
    lines = [f"{target.label}: {target.devices} x {target.kind} ({target.hbm / GiB:.1f} GiB HBM, "
             f"{target.peak / 1e12:.0f} TFLOP/s bf16 each); mesh data={data} fsdp={fsdp} tensor={tensor}",
             f"model: {model_cfg.num_params() / 1e9:.2f}B parameters ({model_cfg.param_dtype}), compute "
             f"{model_cfg.dtype}, attention {model_cfg.attention}; batch {cfg.batch_size} pairs x 2 x "
             f"{cfg.data.max_length} tokens, {cfg.optim.grad_accum} micro-batch(es)"]
    if micro % shards:
        lines.append(f"NOT RUNNABLE: a micro-batch of {micro} pairs does not split over {shards} data-parallel "
                     f"devices (batch_size / optim.grad_accum must be a multiple of data x fsdp)")
        return "\n".join(lines)
    lines += ["", "GiB per device (the config's own setting first):", ""]
    names = ["parameters", "LoRA factors", "gradients", "optimizer", "reference", "weight copies", "gathered weights",
             "activations", "batch"]
    header = ["variant"] + names + ["total", f"fits {target.kind} ({1 - headroom:.0%} of HBM)", "step s"]
    rows = []
    for i, v in enumerate(variants(cfg)):
        est = estimate(cfg, target.devices, v)
        seconds = step_seconds(cfg, target, v.reference, mfu)
        rows.append([v.label() + (" (config)" if i == 0 else "")]
                    + [f"{est.parts.get(n, 0) / GiB:.2f}" for n in names]
                    + [f"{est.total / GiB:.2f}", "yes" if fits(est.total, target.hbm, headroom) else "NO",
                       f"{seconds:.2f}"])
    lines += _table(header, rows)
    own = estimate(cfg, target.devices, variants(cfg)[0])
    tokens = cfg.batch_size * 2 * cfg.data.max_length
    seconds = step_seconds(cfg, target, cfg.dpo.reference, mfu)
    lines += ["", f"Step time at {mfu:.0%} MFU (an assumption; model FLOPs "
              f"{step_flops(cfg, cfg.dpo.reference) / 1e15:.2f} PFLOP per step at the full padded length): "
              f"{seconds:.2f} s, {tokens / seconds:,.0f} tokens/s.", "",
              "The config's own setting on other accelerators with the same device count:"]
    other = []
    for kind, (hbm, _) in ACCELERATORS.items():
        other.append([kind, f"{hbm / GiB:.1f}", f"{own.total / GiB:.2f}", "yes" if fits(own.total, hbm, headroom)
                      else "NO"])
    lines += _table(["device", "HBM GiB", "needs GiB", "fits"], other)
    return "\n".join(lines)


def _table(header, rows) -> list[str]:
    return (["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
            + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])


# ---------------------------------------------------------------------------------------------------------------
# What XLA says (tests, and `--compile` on the machine at hand)


def compiled_memory(cfg, devices, variant: Variant | None = None):
    """XLA's memory analysis of the trainer's jitted step for `cfg` on `devices` (compiled, never run): the
    planner's check. Returns jax's CompiledMemoryStats (per device)."""
    import jax
    import jax.numpy as jnp
    from flax import nnx

    from refuseu_jax.models.llama import abstract_model
    from refuseu_jax.parallel import PARTITION_RULES, batch_sharding, make_mesh, param_shardings, replicated
    from refuseu_jax.train.lora import LORA_RULES, lora_init
    from refuseu_jax.train.step import StepSpec, cast_floats, train_step

    variant = variant or variants(cfg)[0]
    model_cfg = model_config(cfg).replace(remat=variant.remat)
    mesh = make_mesh(cfg.mesh, devices=devices)
    dpo = dataclasses.replace(cfg.dpo, reference=variant.reference)
    lora = dataclasses.replace(cfg.lora, rank=variant.lora_rank)
    spec = StepSpec(model_cfg, dpo, lora, cfg.optim, 0)
    params = nnx.state(abstract_model(model_cfg), nnx.Param).to_pure_dict()
    rules = LORA_RULES if variant.lora_rank else PARTITION_RULES
    if variant.lora_rank:
        trainable = jax.eval_shape(lambda p: lora_init(p, variant.lora_rank, cfg.lora.targets, 0), params)
        frozen = params
    else:
        trainable = params
        frozen = None if variant.reference == "precomputed" else jax.eval_shape(
            lambda p: cast_floats(p, model_cfg.dtype), params)
    state = {"step": jax.ShapeDtypeStruct((), jnp.int32), "params": trainable,
             "opt_state": jax.eval_shape(spec.optimizer().init, trainable)}
    state_sh = param_shardings(mesh, state, rules)
    frozen_sh = None if frozen is None else param_shardings(mesh, frozen)
    pairs = cfg.batch_size
    batch = {k: jax.ShapeDtypeStruct((pairs, 2, cfg.data.max_length), dt) for k, dt in
             (("input_ids", jnp.int32), ("attention_mask", jnp.bool_), ("loss_mask", jnp.bool_))}
    if variant.reference == "precomputed":
        batch["ref_logps"] = jax.ShapeDtypeStruct((pairs, 2), jnp.float32)
    step = jax.jit(train_step, static_argnums=0, donate_argnums=(1,),
                   in_shardings=(state_sh, frozen_sh, batch_sharding(mesh)),
                   out_shardings=(state_sh, replicated(mesh)))
    with jax.set_mesh(mesh):  # as the trainer traces it: activations laid out on the mesh (shard_activation)
        return step.lower(spec, state, frozen, batch).compile().memory_analysis()


def peak_bytes(stats) -> int:
    """Live bytes at the step's peak by XLA's accounting: inputs + outputs not aliased to them + temporaries."""
    return stats.argument_size_in_bytes + stats.output_size_in_bytes - stats.alias_size_in_bytes \
        + stats.temp_size_in_bytes
