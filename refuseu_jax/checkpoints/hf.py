"""Hugging Face safetensors <-> our parameter tree, streamed one tensor at a time.

Names: every parameter has one mapping (`_GLOBAL`, `_LAYER`) to its HF tensor name; `hf_name()` and
`parse_hf_name()` are inverses. Layouts are HF's own (Linear weights [out, in], layers stacked on axis 0), so a
tensor's bytes are copied, never transposed, on the way in and out.

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
import os
import re
import shutil
import struct
import tempfile
import weakref
from pathlib import Path
from typing import Any, Callable

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
from jax.sharding import NamedSharding, SingleDeviceSharding
from safetensors import SafetensorError, safe_open

from data_tools.errors import UserError
from refuseu_jax.checkpoints.safetensors_stream import (DEFAULT_MAX_SHARD_BYTES, INDEX_FILE, SINGLE_FILE,
                                                        TensorEntry, write_checkpoint)
from refuseu_jax.models.config import ModelConfig

Path_ = tuple[str, ...]

# Files that travel with a checkpoint and are not weights. Copied verbatim on save when the source had them.
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model",
                   "vocab.json", "merges.txt", "added_tokens.json", "chat_template.jinja", "chat_template.json")
# HF tensors that hold no parameters of ours (older exports saved the RoPE buffer).
_IGNORED = re.compile(r"(^|\.)rotary_emb\.inv_freq$")


# ---- name and tensor mapping ---------------------------------------------------------------------------------
_GLOBAL: dict[Path_, str] = {
    ("embed", "embedding"): "model.embed_tokens.weight",
    ("final_norm", "scale"): "model.norm.weight",
    ("lm_head", "weight"): "lm_head.weight",
}
_LAYER: dict[Path_, str] = {  # `{i}` is the layer
    ("layers", "attn_norm", "scale"): "model.layers.{i}.input_layernorm.weight",
    ("layers", "mlp_norm", "scale"): "model.layers.{i}.post_attention_layernorm.weight",
    **{("layers", f"{p}_proj", kind): f"model.layers.{{i}}.self_attn.{p}_proj.{kind}"
       for p in "qkvo" for kind in ("weight", "bias")},
    **{("layers", f"{p}_proj", kind): f"model.layers.{{i}}.mlp.{p}_proj.{kind}"
       for p in ("gate", "up", "down") for kind in ("weight", "bias")},
}
_BY_HF = {name: path for path, name in (_GLOBAL | _LAYER).items()}


def hf_pattern(path: Path_) -> str:
    """The HF name pattern of one of our parameters."""
    path = tuple(path)
    if path in _GLOBAL:
        return _GLOBAL[path]
    if path in _LAYER:
        return _LAYER[path]
    raise KeyError(f"no Hugging Face mapping for parameter {'/'.join(path)}")


def hf_name(path: Path_, layer: int | None = None) -> str:
    """Our (path, layer) -> HF tensor name."""
    pattern = hf_pattern(path)
    return pattern.format(i=layer) if tuple(path) in _LAYER else pattern


def parse_hf_name(name: str) -> tuple[Path_, int | None]:
    """HF tensor name -> our (path, layer); the exact inverse of `hf_name`. KeyError when unknown."""
    match = re.fullmatch(r"model\.layers\.(\d+)\.(.+)", name)
    if match:
        return _BY_HF["model.layers.{i}." + match.group(2)], int(match.group(1))
    if name in _BY_HF and (_BY_HF[name] in _GLOBAL):
        return _BY_HF[name], None
    raise KeyError(name)


def hf_tensor_shape(path: Path_, our_shape: tuple[int, ...]) -> tuple[int, ...]:
    """HF shape of one tensor (one layer) of a parameter of our shape."""
    hf_pattern(path)  # unknown parameter: KeyError
    return tuple(our_shape[1:]) if tuple(path) in _LAYER else tuple(our_shape)


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


def _np_dtype(name: str) -> np.dtype:
    return np.dtype(ml_dtypes.bfloat16) if name == "bfloat16" else np.dtype(name)


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

    if cfg.weights_in_out:
        raise ValueError("checkpoints hold [out, in] weights; load with weights_in_out=False")
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


def _nested_set(tree: dict, path: Path_, value) -> None:
    for key in path[:-1]:
        tree = tree.setdefault(key, {})
    tree[path[-1]] = value


def _flatten(tree: dict, prefix: Path_ = ()) -> dict[Path_, Any]:
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(_flatten(value, prefix + (str(key),)))
        else:
            out[prefix + (str(key),)] = value
    return out


# ---- writing -------------------------------------------------------------------------------------------------
def _to_host(x: jax.Array) -> np.ndarray:
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
        from jax.experimental import multihost_utils
        return np.asarray(multihost_utils.process_allgather(x, tiled=True))
    return np.asarray(x)


def _param_tree(params_or_model) -> dict:
    if isinstance(params_or_model, dict):
        return params_or_model
    from flax import nnx
    return nnx.state(params_or_model, nnx.Param).to_pure_dict()


def save_hf(params_or_model, cfg: ModelConfig, out_dir: str | Path, tokenizer_src: str | Path | None = None,
            max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES, dtype: str | None = None, progress: bool = False) -> Path:
    """Write a directory that `transformers.AutoModelForCausalLM.from_pretrained` loads.

    Tensors are gathered and written one at a time, in their own dtype unless `dtype` is given. Tokenizer files
    and generation_config.json are copied from `tokenizer_src` when it has them. The directory appears atomically:
    everything is written to a temporary sibling first. Only process 0 writes in a multi-host job.
    """
    if cfg.weights_in_out:
        raise ValueError("checkpoints hold [out, in] weights; save a model with weights_in_out=False")
    flat = _flatten(_param_tree(params_or_model))
    out_dir = Path(out_dir)
    entries, sources = [], {}
    for path in _hf_order(flat, cfg):
        leaf = flat[path]
        out_dtype = _np_dtype(dtype) if dtype else np.dtype(leaf.dtype)
        for i in range(leaf.shape[0]) if path in _LAYER else [None]:
            name = hf_name(path, i)
            entries.append(TensorEntry(name, hf_tensor_shape(path, tuple(leaf.shape)), out_dtype))
            sources[name] = (path, i)

    def produce(entry: TensorEntry) -> np.ndarray:
        path, i = sources[entry.name]
        leaf = flat[path]
        if isinstance(leaf, jax.Array) and len(leaf.sharding.device_set) == 1:
            host = np.asarray(leaf)  # a CPU array is viewed in place, no copy and no compiled slice
            host = host[i] if i is not None else host
        else:
            host = _to_host(leaf[i] if i is not None else leaf)  # one layer of one parameter gathered
        return host.astype(entry.dtype, copy=False)

    def build(tmp: Path) -> None:
        label = f"writing {out_dir.name}" if progress else None
        write_checkpoint(tmp, entries, produce, max_shard_bytes, progress=label)
        _write_metadata(tmp, cfg, entries[0].dtype, tokenizer_src)

    if jax.process_index() == 0:
        write_dir_atomically(out_dir, build)
    else:
        for e in entries:  # the other hosts take part in every gather, and write nothing
            produce(e)
    return out_dir


def _hf_order(flat: dict, cfg: ModelConfig) -> list[Path_]:
    """Parameters in the order HF checkpoints list them (embeddings, layers, norm, head)."""
    for path in flat:
        hf_pattern(path)  # unknown parameter: fail before writing anything
    order = [("embed", "embedding")] + sorted(p for p in flat if p in _LAYER) + [("final_norm", "scale")]
    if ("lm_head", "weight") in flat:
        order.append(("lm_head", "weight"))
    missing = [p for p in order if p not in flat]
    if missing:
        raise ValueError(f"parameter tree lacks {'/'.join(missing[0])}")
    return order


def write_dir_atomically(out_dir: Path, build: Callable[[Path], Any]) -> Path:
    """Run build(tmp) in a temporary sibling of `out_dir`, then swap it into place.

    A crash leaves the previous `out_dir` (or nothing) behind, never a half-written checkpoint. An existing
    `out_dir` is replaced only when it is empty or a model directory (has config.json).
    """
    out_dir = Path(out_dir).absolute()
    if out_dir.exists() and (not out_dir.is_dir() or (any(out_dir.iterdir())
                                                       and not (out_dir / "config.json").exists())):
        raise UserError(f"{out_dir}: exists and is not a model directory; refusing to overwrite it")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        build(tmp)
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
            os.replace(out_dir, old)
            os.replace(tmp, out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def _write_metadata(out, cfg: ModelConfig, saved_dtype: np.dtype, tokenizer_src) -> None:
    """config.json, generation_config.json and the tokenizer files into `out` (a local Path or an epath)."""
    hf = cfg.to_hf()
    hf["torch_dtype"] = "bfloat16" if saved_dtype == np.dtype(ml_dtypes.bfloat16) else str(saved_dtype)
    (out / "config.json").write_text(json.dumps(hf, indent=2) + "\n")
    src = Path(tokenizer_src) if tokenizer_src else None
    if src is not None and src.is_dir():
        for name in TOKENIZER_FILES + ("generation_config.json",):
            if (src / name).is_file():
                (out / name).write_bytes((src / name).read_bytes())
    if not (out / "generation_config.json").exists():
        gen = {"bos_token_id": cfg.bos_token_id, "eos_token_id": _json_ids(cfg.eos_token_id),
               "pad_token_id": cfg.pad_token_id}
        (out / "generation_config.json").write_text(json.dumps({k: v for k, v in gen.items() if v is not None},
                                                               indent=2) + "\n")


def _json_ids(ids):
    return list(ids) if isinstance(ids, tuple) else ids


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


def from_pretrained(path: str | Path, dtype: str = "float32", mesh=None, rules=None, compute_dtype: str | None = None,
                    **config_overrides):
    """Load a HF Llama checkpoint (directory or registry name) as a `Llama` model with weights.

    `dtype` is the parameter dtype and, unless `compute_dtype` is given, the compute dtype too.
    """
    from refuseu_jax.models.llama import model_from_params

    directory = resolve_model_dir(path)
    cfg = ModelConfig.from_hf(directory, dtype=compute_dtype or dtype, param_dtype=dtype, **config_overrides)
    params = load_hf_params(directory, cfg, mesh=mesh, rules=rules)
    model = model_from_params(cfg, params)
    _SOURCES[model] = directory
    return model


# Where a loaded model came from, so save_pretrained can carry its tokenizer along without the caller asking.
_SOURCES: "weakref.WeakKeyDictionary[Any, Path]" = weakref.WeakKeyDictionary()


def save_pretrained(model, out_dir: str | Path, tokenizer_src: str | Path | None = None,
                    max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES, dtype: str | None = None) -> Path:
    """Write `model` (a `Llama`) as a HF checkpoint directory; tokenizer files come from where it was loaded."""
    src = tokenizer_src if tokenizer_src is not None else _SOURCES.get(model)
    return save_hf(model, model.cfg, out_dir, tokenizer_src=src, max_shard_bytes=max_shard_bytes, dtype=dtype)
