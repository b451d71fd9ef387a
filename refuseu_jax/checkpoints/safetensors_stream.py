"""Write Hugging Face safetensors checkpoints one tensor at a time.

`safetensors.numpy.save_file` wants every tensor of a file in memory at once. Here the header is computed from
shapes and dtypes alone, written first, and each tensor's bytes are appended as soon as the caller produces them,
so exporting a 70B model needs host memory for one tensor, not one shard (Levanter's approach, made finer).

Layout written (the format is: u64 little-endian header length, JSON header, raw little-endian data):
  <= max_shard_bytes in total: model.safetensors
  otherwise:                  model-00001-of-0000N.safetensors ... + model.safetensors.index.json
"""

from __future__ import annotations

import dataclasses
import json
import struct
from pathlib import Path
from typing import Callable, Sequence

import ml_dtypes
import numpy as np

SINGLE_FILE = "model.safetensors"
INDEX_FILE = "model.safetensors.index.json"
DEFAULT_MAX_SHARD_BYTES = 2 * 1024**3

_ST_DTYPES = {
    np.dtype(np.float64): "F64", np.dtype(np.float32): "F32", np.dtype(np.float16): "F16",
    np.dtype(ml_dtypes.bfloat16): "BF16", np.dtype(np.int64): "I64", np.dtype(np.int32): "I32",
    np.dtype(np.int16): "I16", np.dtype(np.int8): "I8", np.dtype(np.uint8): "U8", np.dtype(np.bool_): "BOOL",
}


@dataclasses.dataclass(frozen=True)
class TensorEntry:
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * np.dtype(self.dtype).itemsize


def plan_shards(entries: Sequence[TensorEntry], max_shard_bytes: int) -> list[list[TensorEntry]]:
    """Greedy split in order; a tensor bigger than the limit gets a file of its own."""
    shards: list[list[TensorEntry]] = [[]]
    size = 0
    for entry in entries:
        if shards[-1] and size + entry.nbytes > max_shard_bytes:
            shards.append([])
            size = 0
        shards[-1].append(entry)
        size += entry.nbytes
    return shards


def _header(entries: Sequence[TensorEntry], metadata: dict[str, str]) -> bytes:
    header: dict = {"__metadata__": metadata}
    offset = 0
    for e in entries:
        header[e.name] = {"dtype": _ST_DTYPES[np.dtype(e.dtype)], "shape": list(e.shape),
                          "data_offsets": [offset, offset + e.nbytes]}
        offset += e.nbytes
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)  # the data section starts 8-byte aligned, as the reference writer does
    return struct.pack("<Q", len(raw)) + raw


def write_safetensors(path: Path, entries: Sequence[TensorEntry], produce: Callable[[TensorEntry], np.ndarray],
                      metadata: dict[str, str] | None = None, progress=None) -> None:
    """Write one file; `produce(entry)` is called once per entry, in order, and its result written at once.
    `path` is a pathlib.Path or an etils.epath.Path (a bucket object, uploaded as it is written)."""
    with path.open("wb") as f:
        f.write(_header(entries, metadata or {"format": "pt"}))
        for e in entries:
            if progress is not None:
                progress.update(1)
            array = np.asarray(produce(e))
            if array.shape != tuple(e.shape) or array.dtype != np.dtype(e.dtype):
                raise ValueError(f"{e.name}: produced {array.dtype}{list(array.shape)}, "
                                 f"planned {np.dtype(e.dtype)}{list(e.shape)}")
            # Little-endian on every platform JAX runs on; C order is what the format specifies.
            # (viewed as bytes: numpy's buffer protocol rejects ml_dtypes such as bfloat16)
            f.write(np.ascontiguousarray(array).reshape(-1).view(np.uint8).data)
            del array


def write_checkpoint(out_dir: Path, entries: Sequence[TensorEntry], produce: Callable[[TensorEntry], np.ndarray],
                     max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES, progress: str | None = None) -> list[str]:
    """Write the tensors of a checkpoint into `out_dir`, sharded with an index above `max_shard_bytes`.

    `progress`: a label for a tqdm bar over tensors (shown on terminals only). Returns the file names written.
    """
    from tqdm import tqdm

    out_dir = out_dir if hasattr(out_dir, "open") else Path(out_dir)  # a local Path or an etils.epath.Path
    total = sum(e.nbytes for e in entries)
    bar = tqdm(total=len(entries), desc=progress, unit="tensor", disable=None) if progress else None
    try:
        if total <= max_shard_bytes:
            write_safetensors(out_dir / SINGLE_FILE, entries, produce, progress=bar)
            return [SINGLE_FILE]
        shards = plan_shards(entries, max_shard_bytes)
        names = [f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors" for i in range(len(shards))]
        weight_map = {}
        for name, shard in zip(names, shards):
            write_safetensors(out_dir / name, shard, produce, progress=bar)
            weight_map.update({e.name: name for e in shard})
    finally:
        if bar is not None:
            bar.close()
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    (out_dir / INDEX_FILE).write_text(json.dumps(index, indent=2) + "\n")
    return names + [INDEX_FILE]
