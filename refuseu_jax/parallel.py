"""Device mesh, partition rules and multi-host start-up.

One mesh with three named axes serves every job:
  data    pure data parallelism (parameters replicated)
  fsdp    data parallelism with parameters (and optimizer state) sharded along it, ZeRO-3 style
  tensor  Megatron-style tensor parallelism inside each layer (heads, MLP width, vocabulary)

Batches are split over ("data", "fsdp"); parameters follow `PARTITION_RULES`, a short list of
(regex, PartitionSpec) pairs matched against the "/"-joined parameter path, first match wins. Activations inside
the model are pinned by `shard_activation` with logical axis names (`ACTIVATION_AXES`).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import re
from typing import Any, Mapping, Sequence

import jax
import numpy as np

from data_tools.errors import UserError
from jax.sharding import AxisType, Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

AXES = ("data", "fsdp", "tensor")
BATCH_AXES = ("data", "fsdp")


@dataclasses.dataclass(frozen=True)
class MeshConfig:
    """Mesh axis sizes; exactly one may be -1, meaning "all remaining devices"."""

    data: int = 1
    fsdp: int = -1
    tensor: int = 1

    def resolve(self, num_devices: int) -> tuple[int, int, int]:
        sizes = [self.data, self.fsdp, self.tensor]
        free = [i for i, s in enumerate(sizes) if s == -1]
        if len(free) > 1 or any(s == 0 or s < -1 for s in sizes):
            raise UserError(f"config key 'mesh': mesh sizes {dict(zip(AXES, sizes))}: use positive sizes and at most one -1")
        fixed = math.prod(s for s in sizes if s != -1)
        if free:
            if num_devices % fixed:
                raise UserError(f"config key 'mesh': mesh {dict(zip(AXES, sizes))}: {num_devices} devices not divisible by {fixed}")
            sizes[free[0]] = num_devices // fixed
        if math.prod(sizes) != num_devices:
            raise UserError(f"config key 'mesh': mesh {dict(zip(AXES, sizes))} needs {math.prod(sizes)} devices, have {num_devices}")
        return tuple(sizes)


def make_mesh(cfg: MeshConfig | None = None, devices: Sequence[Any] | None = None) -> Mesh:
    """A (data, fsdp, tensor) mesh over `devices` (default: all devices of all processes)."""
    cfg = cfg or MeshConfig()
    devices = list(devices) if devices is not None else jax.devices()
    shape = cfg.resolve(len(devices))
    # Auto axes: shardings propagate through jit as in GSPMD; the model code carries no sharding types.
    return jax.make_mesh(shape, AXES, axis_types=(AxisType.Auto,) * len(AXES), devices=devices)


# Linear weights are [out, in] (Hugging Face's layout) with a leading stacked-layer axis. "fsdp" splits the model
# dimension H, "tensor" splits heads / MLP width / vocabulary, so each layer's matmuls need one all-gather (fsdp)
# and one reduce (tensor).
PARTITION_RULES: tuple[tuple[str, P], ...] = (
    (r"embed/embedding$", P("tensor", "fsdp")),  # [V, H]
    (r"layers/(q|k|v|gate|up)_proj/weight$", P(None, "tensor", "fsdp")),  # [L, out, H]
    (r"layers/(q|k|v)_proj/bias$", P(None, "tensor")),  # [L, out]
    (r"layers/(o|down)_proj/weight$", P(None, "fsdp", "tensor")),  # [L, H, in]
    (r"norm/scale$", P()),  # tiny: replicate
    (r"lm_head/weight$", P("tensor", "fsdp")),  # [V, H]
)


# Activations' logical axes -> mesh axes, the counterpart of PARTITION_RULES: rows over the data-parallel axes,
# and the dimensions the tensor axis splits in the weights (heads, MLP width) split likewise, so the weights'
# tensor shards meet activations split the same way. Without these constraints XLA takes the layout of the
# embedding table (hidden dimension over fsdp) for every activation, and every device holds the whole batch
# (docs/tpu.md, "Activations on a mesh").
ACTIVATION_AXES: dict[str, str | tuple[str, ...]] = {"batch": BATCH_AXES, "heads": "tensor", "mlp": "tensor"}


def _declared_mesh():
    """The mesh `jax.set_mesh` declares (`with_mesh`) if it has several devices, else None. Only a declared mesh
    counts, not one an input's sharding happens to carry into jit: callers that declare none (the sampler, the
    abliteration) trace exactly as before."""
    mesh = jax.sharding.get_abstract_mesh()
    return None if mesh.empty or mesh.size == 1 else mesh


def mesh_declared() -> bool:
    """Whether a mesh of several devices is declared (where `shard_activation` constrains)."""
    return _declared_mesh() is not None


def with_mesh(mesh: Mesh, fn):
    """fn (a jitted function) called with `mesh` declared (`jax.set_mesh`): the model's activation constraints
    apply where it is traced. jit keys its cache on the declared mesh, so one function traced with and without
    it never shares a compilation."""
    @functools.wraps(fn)
    def call(*args, **kwargs):
        with jax.set_mesh(mesh):
            return fn(*args, **kwargs)

    return call


def shard_activation(x: jax.Array, *logical: str | None) -> jax.Array:
    """x with its leading dimensions laid out by logical axis names (ACTIVATION_AXES; None: not split; the rest
    not split) while a mesh of several devices is declared; x itself otherwise (one device, no mesh), so code
    off a mesh computes exactly what it did. An axis that does not divide its dimension is left out."""
    mesh = _declared_mesh()
    if mesh is None:
        return x
    spec = []
    for dim, name in zip(x.shape, logical):
        axes = ACTIVATION_AXES[name] if name is not None else ()
        axes = tuple(a for a in ((axes,) if isinstance(axes, str) else axes) if a in mesh.axis_names)
        size = math.prod(mesh.shape[a] for a in axes)
        spec.append(axes if axes and size > 1 and dim % size == 0 else None)
    return jax.lax.with_sharding_constraint(x, NamedSharding(mesh, P(*spec)))


def path_str(path: Sequence[Any]) -> str:
    """'layers/q_proj/weight' from a jax key path or a tuple of names."""
    parts = []
    for key in path:
        for attr in ("key", "name", "idx"):
            if hasattr(key, attr):
                key = getattr(key, attr)
                break
        parts.append(str(key))
    return "/".join(parts)


def spec_for(path: str, shape: Sequence[int], mesh: Mesh, rules=PARTITION_RULES) -> P:
    """The PartitionSpec of one array; an axis that does not divide its dimension is dropped (replicated)."""
    if len(shape) == 0:
        return P()
    for pattern, spec in rules:
        if re.search(pattern, path):
            break
    else:
        # Silent replication of a new 8B-sized parameter would only show up as an OOM much later.
        raise ValueError(f"no partition rule matches parameter {path!r} (shape {tuple(shape)})")
    if len(spec) > len(shape):
        raise ValueError(f"partition rule {pattern!r} has {len(spec)} axes, parameter {path!r} has shape {shape}")
    fitted = []
    for dim, axis in zip(shape, tuple(spec) + (None,) * (len(shape) - len(spec))):
        names = (axis,) if isinstance(axis, str) else tuple(axis or ())
        size = math.prod(mesh.shape[n] for n in names)
        # Odd test configs (and odd vocabularies) must still run; they lose that axis' split for this array only.
        fitted.append(axis if size > 1 and dim % size == 0 else None)
    while fitted and fitted[-1] is None:  # canonical form: P() for "replicated", whatever the rank
        fitted.pop()
    return P(*fitted)


def _shape_of(leaf) -> tuple[int, ...]:
    if isinstance(leaf, (tuple, list)):
        # param_shapes() values are (shape, dtype); plain shape tuples are accepted too
        return tuple(leaf[0]) if leaf and isinstance(leaf[0], (tuple, list)) else tuple(leaf)
    return tuple(leaf.shape)


def param_shardings(mesh: Mesh, tree, rules=PARTITION_RULES):
    """NamedShardings for a pytree whose leaves are arrays, ShapeDtypeStructs, or shape tuples.

    Paths are matched with `re.search`, so optimizer-state trees that embed the parameter paths
    ("mu/layers/q_proj/weight") get the same layout as the parameters.
    """
    if isinstance(tree, Mapping) and tree and all(isinstance(k, tuple) for k in tree):
        # param_shapes(cfg) form: {("layers", "q_proj", "weight"): shape}
        return {k: NamedSharding(mesh, spec_for("/".join(k), _shape_of(v), mesh, rules)) for k, v in tree.items()}
    is_shape = lambda x: isinstance(x, tuple) and all(isinstance(d, (int, np.integer)) for d in x)  # noqa: E731
    return jax.tree_util.tree_map_with_path(
        lambda p, x: NamedSharding(mesh, spec_for(path_str(p), _shape_of(x), mesh, rules)), tree, is_leaf=is_shape
    )


def shard_params(params, mesh: Mesh, rules=PARTITION_RULES):
    """Place an (unsharded) parameter tree on the mesh according to the rules."""
    return jax.device_put(params, param_shardings(mesh, params, rules))


def batch_sharding(mesh: Mesh) -> NamedSharding:
    """Leading (batch) axis split over data and fsdp; everything else replicated."""
    return NamedSharding(mesh, P(BATCH_AXES))


def replicated(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, P())


def initialize_distributed(
    coordinator_address: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    auto: bool | None = None,
) -> bool:
    """Join a multi-process JAX job; returns True when it did, False on a single host (a no-op).

    Explicit arguments win; otherwise the standard JAX_COORDINATOR_ADDRESS / JAX_NUM_PROCESSES / JAX_PROCESS_ID
    variables are used, and `auto=True` (or REFUSEU_DISTRIBUTED=1) lets JAX detect TPU pods, SLURM and the like.
    Call it before anything touches jax.devices().
    """
    env = os.environ
    coordinator_address = coordinator_address or env.get("JAX_COORDINATOR_ADDRESS")
    if num_processes is None and env.get("JAX_NUM_PROCESSES"):
        num_processes = int(env["JAX_NUM_PROCESSES"])
    if process_id is None and env.get("JAX_PROCESS_ID"):
        process_id = int(env["JAX_PROCESS_ID"])
    if auto is None:
        auto = env.get("REFUSEU_DISTRIBUTED", "") in ("1", "true", "yes")
    if jax.distributed.is_initialized():
        return True
    if coordinator_address is None and not auto:
        return False
    if num_processes == 1:
        return False
    if env.get("JAX_PLATFORMS", "").startswith("cpu"):
        # CPU processes need an explicit collectives backend to talk to each other.
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address, num_processes, process_id)
    return True
