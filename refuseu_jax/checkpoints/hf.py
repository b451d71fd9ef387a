"""Hugging Face safetensors -> our parameter tree, streamed one tensor at a time; loading a model by name.

Names: hf_names.py maps each parameter to its HF tensor name. Writing: hf_write.py (`save_hf`,
`save_pretrained`), re-exported here so `refuseu_jax.checkpoints.hf` stays the one door to HF checkpoints.

In:  every tensor is read on its own (the file is opened per tensor so its memory map never accumulates in RSS),
     checked against the config's shapes before anything is loaded, cast, and placed straight into its target
     sharding: each device reads only its own slice (`get_slice`), and stacked layers are written one layer at a
     time into a donated buffer. On one CPU device the bytes are read straight into the final, 64-byte aligned
     buffer that the device array then borrows without a copy. Host memory above the final parameters stays
     about one tensor.
Out: parameters are gathered one tensor at a time and streamed into safetensors files (see safetensors_stream).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import re
import struct
from pathlib import Path

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
from jax.sharding import NamedSharding, SingleDeviceSharding
from safetensors import SafetensorError, safe_open

from data_tools.errors import UserError
from refuseu_jax.checkpoints.hf_names import (_GLOBAL, _LAYER, Path_, _flatten, _nested_set,  # noqa: F401
                                              _np_dtype, hf_name, hf_pattern, hf_tensor_shape, parse_hf_name)
from refuseu_jax.checkpoints.hf_write import (_SOURCES, TOKENIZER_FILES, _hf_order,  # noqa: F401
                                              _write_metadata, save_hf, save_pretrained, write_dir_atomically)
from refuseu_jax.checkpoints.safetensors_stream import INDEX_FILE, SINGLE_FILE
from refuseu_jax.models.config import ModelConfig, ModelConfigError

# HF tensors that hold no parameters of ours (older exports saved the RoPE buffer).
_IGNORED = re.compile(r"(^|\.)rotary_emb\.inv_freq$")


# ---- reading -------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class _Tensor:
    file: Path
    shape: tuple[int, ...]
    dtype: str  # safetensors dtype string, e.g. "BF16"
    offset: int  # absolute byte offset of the data in the file


_ST_NUMPY = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "BF16": ml_dtypes.bfloat16,
             "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}


class CheckpointIndex:
    """Where each tensor of a HF checkpoint directory lives, with shapes, read from the headers only."""

    def __init__(self, directory: str | Path):
        self.dir = Path(directory)
        if not self.dir.is_dir():
            raise UserError(f"{self.dir}: no such directory (expected a Hugging Face checkpoint directory)")
        files = self._weight_files()
        self.tensors: dict[str, _Tensor] = {}
        for file in files:
            for name, info in _read_header(file).items():
                if name in self.tensors:
                    raise UserError(f"{file}: tensor {name!r} also appears in {self.tensors[name].file}")
                self.tensors[name] = info

    def _weight_files(self) -> list[Path]:
        index = self.dir / INDEX_FILE
        if index.is_file():
            try:
                weight_map = json.loads(index.read_text())["weight_map"]
            except (json.JSONDecodeError, KeyError, TypeError) as err:
                raise UserError(f"{index}: not a safetensors index (expected JSON with a 'weight_map'; {err})")
            files = [self.dir / f for f in dict.fromkeys(weight_map.values())]
            for f in files:
                if not f.is_file():
                    raise UserError(f"{f}: file not found (listed in {index})")
            return files
        if (self.dir / SINGLE_FILE).is_file():
            return [self.dir / SINGLE_FILE]
        others = sorted(p.name for p in self.dir.glob("*.safetensors"))
        if others:
            return [self.dir / name for name in others]
        found = ", ".join(sorted(p.name for p in self.dir.iterdir())[:8]) or "nothing"
        raise UserError(f"{self.dir}: no {SINGLE_FILE} or {INDEX_FILE} (found: {found}; only safetensors "
                        "checkpoints are supported)")

    def read(self, name: str, index: tuple[slice, ...] | None = None, out: np.ndarray | None = None) -> np.ndarray:
        """One tensor (into `out` when given), or the block `index` of it, as numpy in the file's dtype."""
        info = self.tensors[name]
        if index is None or all(s.indices(d) == (0, d, 1) for s, d in zip(index, info.shape)):
            return self._read_whole(info, out)
        # A device's block: safetensors reads just those rows/columns. The file is opened per read because a
        # long-lived memory map keeps every page it touched resident (file-backed RSS grows to the file size).
        with _open(info.file) as f:
            return f.get_slice(name)[index]

    @staticmethod
    def _read_whole(info: _Tensor, out: np.ndarray | None) -> np.ndarray:
        # One positioned read into an array: several times faster than copying out of a memory map.
        if out is None:
            out = np.empty(info.shape, _ST_NUMPY[info.dtype])
        with open(info.file, "rb", buffering=0) as f:
            f.seek(info.offset)
            view = memoryview(out.reshape(-1).view(np.uint8))
            while view.nbytes:
                n = f.readinto(view)
                if not n:
                    raise UserError(f"{info.file}: ends early (truncated file?)")
                view = view[n:]
        return out


def _open(file: Path):
    try:
        return safe_open(str(file), framework="numpy")
    except (SafetensorError, OSError) as err:
        raise UserError(f"{file}: not a readable safetensors file ({err}); the file may be truncated") from None


def _read_header(file: Path) -> dict[str, _Tensor]:
    """Shapes, dtypes and data offsets; safe_open validates the file (sizes, overlaps) first."""
    with _open(file) as f:
        names = set(f.keys())
    with open(file, "rb") as fh:
        (length,) = struct.unpack("<Q", fh.read(8))
        header = json.loads(fh.read(length))
    return {name: _Tensor(file, tuple(meta["shape"]), meta["dtype"], 8 + length + meta["data_offsets"][0])
            for name, meta in header.items() if name in names}


class _Scratch:
    """Host buffers reused across the layers of a stacked parameter: writing into fresh memory costs a page
    fault per 4 KiB (about 1 GB/s here), more than the copy itself."""

    def __init__(self):
        self.buffers: dict[tuple, np.ndarray] = {}

    def get(self, role: str, shape: tuple[int, ...], dtype) -> np.ndarray:
        key = (role, tuple(shape), np.dtype(dtype))
        if key not in self.buffers:
            self.buffers[key] = np.empty(shape, dtype)
        return self.buffers[key]


def aligned_empty(shape: tuple[int, ...], dtype, alignment: int = 64) -> np.ndarray:
    """An uninitialised array whose data starts on an `alignment`-byte boundary. XLA:CPU adopts such a buffer
    as a device array without copying it (jax.device_put), so a loaded parameter is written exactly once."""
    dtype = np.dtype(dtype)
    raw = np.empty(math.prod(shape) * dtype.itemsize + alignment, np.uint8)
    start = -raw.ctypes.data % alignment
    return raw[start:start + math.prod(shape) * dtype.itemsize].view(dtype).reshape(shape)


def check_checkpoint(index: CheckpointIndex, shapes: dict[Path_, tuple[int, ...]], config_file: Path | str):
    """Every expected tensor present with the expected shape, no unknown tensor: checked before loading."""
    wanted: dict[str, tuple[Path_, tuple[int, ...]]] = {}
    for path, shape in shapes.items():
        layers = range(shape[0]) if path in _LAYER else [None]
        for i in layers:
            wanted[hf_name(path, i)] = (path, hf_tensor_shape(path, shape))
    for name, (path, shape) in wanted.items():
        if name not in index.tensors:
            raise UserError(f"{index.dir}: tensor {name!r} not found in the checkpoint (expected by {config_file})")
        got = index.tensors[name]
        if got.shape != shape:
            raise UserError(f"{got.file}: tensor {name!r} has shape {list(got.shape)}, expected {list(shape)} "
                            f"from {config_file}")
    for name, got in index.tensors.items():
        if name in wanted or _IGNORED.search(name):
            continue
        if name == "lm_head.weight" and ("lm_head", "weight") not in shapes:
            continue  # some tied checkpoints store the duplicate anyway
        raise UserError(f"{got.file}: unexpected tensor {name!r} for a LlamaForCausalLM with config {config_file}")


@functools.partial(jax.jit, donate_argnums=0)
def _set_layer(stack: jax.Array, value: jax.Array, i: jax.Array) -> jax.Array:
    # Donated: XLA writes in place, so a stacked [L, ...] parameter is filled without a second copy of it.
    return jax.lax.dynamic_update_index_in_dim(stack, value.astype(stack.dtype), i, 0)


def _zeros(shape, dtype, sharding) -> jax.Array:
    return jax.jit(lambda: jnp.zeros(shape, dtype), out_shardings=sharding)()


def _read_host(index: CheckpointIndex, name: str, dtype: np.dtype, scratch: _Scratch | None = None,
               out: np.ndarray | None = None) -> np.ndarray:
    """The whole tensor on the host in `dtype`, written into `out` (e.g. one layer's slot) when given."""
    info = index.tensors[name]
    if np.dtype(_ST_NUMPY[info.dtype]) == dtype:
        return index.read(name, out=out)
    raw = index.read(name, out=scratch.get("raw", info.shape, _ST_NUMPY[info.dtype]) if scratch else None)
    if out is None:
        return raw.astype(dtype)
    out[...] = raw
    return out


def _read_array(index: CheckpointIndex, name: str, shape: tuple[int, ...], dtype: np.dtype,
                sharding, scratch: _Scratch | None = None) -> jax.Array | np.ndarray:
    """One HF tensor as an array of `shape`, each device shard reading only its block of the file.

    On a single device the host array is returned as is (the caller's jitted write moves it to the device);
    `scratch` holds the file-dtype bytes when a cast is needed.
    """
    if len(sharding.device_set) == 1:
        return _read_host(index, name, dtype, scratch)
    cache: dict[tuple, np.ndarray] = {}  # a block replicated over several devices is read once

    def shard(idx: tuple[slice, ...]) -> np.ndarray:
        key = tuple((s.start, s.stop, s.step) for s in idx)
        if key not in cache:
            cache[key] = np.ascontiguousarray(index.read(name, tuple(idx)).astype(dtype, copy=False))
        return cache[key]

    array = jax.make_array_from_callback(shape, sharding, shard)
    cache.clear()
    return array


def load_hf_params(directory: str | Path, cfg: ModelConfig, mesh=None, rules=None, dtype: str | None = None,
                   progress: bool = False, host_budget_bytes: int | None = None,
                   adopt_host_buffers: bool | None = None) -> dict:
    """Read a HF Llama checkpoint into our nested parameter dict (layers stacked on axis 0).

    With `mesh`, every array is created directly in its `param_shardings` layout; otherwise on the default
    device. `dtype` (default `cfg.param_dtype`) is the storage dtype of the result. `host_budget_bytes` bounds the
    host memory used beyond the parameters (default: the largest tensor, or 10% of the parameters if more).
    `adopt_host_buffers` (default: when the parameter's only device is a CPU) reads every such parameter into its
    final host buffer, in file order, and lets the device array adopt that buffer; False takes the paths that
    accelerators take (tests use it to exercise them on CPU).
    """
    from refuseu_jax.models.llama import param_shapes  # imported late: keeps `refuseu --help` light

    directory = Path(directory)
    shapes = {tuple(k): tuple(shape) for k, (shape, _) in param_shapes(cfg).items()}
    index = CheckpointIndex(directory)
    check_checkpoint(index, shapes, directory / "config.json")
    target = _np_dtype(dtype or cfg.param_dtype)
    if mesh is not None:
        from refuseu_jax.parallel import PARTITION_RULES, param_shardings
        shardings = param_shardings(mesh, shapes, rules or PARTITION_RULES)
    else:
        device = SingleDeviceSharding(jax.devices()[0])
        shardings = {path: device for path in shapes}

    # On one device a stacked parameter is assembled on the host and moved once (no compiled per-layer writes)
    # when that extra copy fits the memory budget: the largest tensor, or 10% of the parameters.
    itemsize = target.itemsize
    if host_budget_bytes is None:
        host_budget_bytes = max(max(math.prod(t.shape) for t in index.tensors.values()) * itemsize,
                                sum(math.prod(v) for v in shapes.values()) * itemsize // 10)
    params: dict = {}
    # On a CPU device the host buffer *is* the parameter (adopted without a copy), so every such buffer is
    # allocated up front and the tensors are read in file order: sequential I/O, which a cold page cache needs.
    def adoptable(sharding) -> bool:
        single = len(sharding.device_set) == 1
        return single and (next(iter(sharding.device_set)).platform == "cpu" if adopt_host_buffers is None
                           else adopt_host_buffers)

    adopted = {path: aligned_empty(shape, target) for path, shape in shapes.items() if adoptable(shardings[path])}
    reads = [(hf_name(path, i), host[i] if i is not None else host)
             for path, host in adopted.items() for i in (range(host.shape[0]) if path in _LAYER else [None])]
    reads.sort(key=lambda r: (str(index.tensors[r[0]].file), index.tensors[r[0]].offset))
    items = [path for path in shapes if path not in adopted]
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=len(reads) + len(items), desc=f"loading {directory.name}", unit="tensor", disable=None)
    scratch = _Scratch()
    for name, out in reads:
        _read_host(index, name, target, scratch, out=out)
        if bar is not None:
            bar.update(1)
    del scratch
    for path, host in adopted.items():
        _nested_set(params, path, jax.device_put(host, shardings[path]))
    del adopted, reads

    for path in items:
        shape, sharding = shapes[path], shardings[path]
        if path in _LAYER and len(sharding.device_set) == 1 and math.prod(shape) * itemsize <= host_budget_bytes:
            # One accelerator: the stacked parameter is assembled on the host and moved once.
            host, scratch = np.empty(shape, target), _Scratch()
            for i in range(shape[0]):
                _read_host(index, hf_name(path, i), target, scratch, out=host[i])
            array = jax.device_put(host, sharding)
            del host, scratch
        elif path in _LAYER:
            layer_sharding = _drop_leading_axis(sharding)
            stack = _zeros(shape, target, sharding)
            scratch = _Scratch()
            for i in range(shape[0]):
                value = _read_array(index, hf_name(path, i), shape[1:], target, layer_sharding, scratch)
                stack = _set_layer(stack, value, jnp.int32(i))
                stack.block_until_ready()  # keep at most one layer in flight: bounded host memory
                del value
            del scratch
            array = stack
        else:
            array = jax.device_put(_read_array(index, hf_name(path), shape, target, sharding), sharding)
        _nested_set(params, path, array)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return params


def _drop_leading_axis(sharding):
    if isinstance(sharding, NamedSharding):
        spec = tuple(sharding.spec)
        if spec and spec[0] is not None:
            raise ValueError(f"stacked layer axis must not be sharded (spec {sharding.spec})")
        return NamedSharding(sharding.mesh, jax.sharding.PartitionSpec(*spec[1:]))
    return sharding


# ---- the public API ------------------------------------------------------------------------------------------
def resolve_model_dir(path_or_name: str | Path) -> Path:
    """A checkpoint directory, or a registry name ("smollm2-135m") prepared on first use."""
    path = Path(path_or_name)
    if path.exists():
        return path
    from refuseu_jax.checkpoints.registry import MODELS, prepare_model
    if str(path_or_name) in MODELS:
        return prepare_model(str(path_or_name))
    raise UserError(f"{path}: no such checkpoint directory (and not a known model name: {', '.join(MODELS)})")


def read_config(source, **overrides) -> ModelConfig:
    """`ModelConfig.from_hf` for loaders: a config that cannot work is a `UserError` (one line naming the file or
    key; exit code 2 in the CLI)."""
    try:
        return ModelConfig.from_hf(source, **overrides)
    except ModelConfigError as err:
        raise UserError(str(err)) from None


def from_pretrained(path: str | Path, dtype: str = "float32", mesh=None, rules=None, compute_dtype: str | None = None,
                    **config_overrides):
    """Load a HF Llama checkpoint (directory or registry name) as a `Llama` model with weights.

    `dtype` is the parameter dtype and, unless `compute_dtype` is given, the compute dtype too.
    """
    from refuseu_jax.models.llama import model_from_params

    directory = resolve_model_dir(path)
    cfg = read_config(directory, dtype=compute_dtype or dtype, param_dtype=dtype, **config_overrides)
    params = load_hf_params(directory, cfg, mesh=mesh, rules=rules)
    model = model_from_params(cfg, params)
    _SOURCES[model] = directory
    return model
