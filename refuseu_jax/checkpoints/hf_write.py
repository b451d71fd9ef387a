"""Our parameter tree -> a Hugging Face checkpoint directory, gathered and streamed one tensor at a time (see
safetensors_stream); the directory appears atomically."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import Any, Callable

import jax
import ml_dtypes
import numpy as np

from data_tools.errors import UserError
from refuseu_jax.checkpoints.hf_names import (_LAYER, Path_, _flatten, _np_dtype, hf_name, hf_pattern,
                                              hf_tensor_shape)
from refuseu_jax.checkpoints.safetensors_stream import DEFAULT_MAX_SHARD_BYTES, TensorEntry, write_checkpoint
from refuseu_jax.models.config import ModelConfig

# Files that travel with a checkpoint and are not weights. Copied verbatim on save when the source had them.
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model",
                   "vocab.json", "merges.txt", "added_tokens.json", "chat_template.jinja", "chat_template.json")


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


# Where a loaded model came from, so save_pretrained can carry its tokenizer along without the caller asking.
_SOURCES: "weakref.WeakKeyDictionary[Any, Path]" = weakref.WeakKeyDictionary()


def save_pretrained(model, out_dir: str | Path, tokenizer_src: str | Path | None = None,
                    max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES, dtype: str | None = None) -> Path:
    """Write `model` (a `Llama`) as a HF checkpoint directory; tokenizer files come from where it was loaded."""
    src = tokenizer_src if tokenizer_src is not None else _SOURCES.get(model)
    return save_hf(model, model.cfg, out_dir, tokenizer_src=src, max_shard_bytes=max_shard_bytes, dtype=dtype)
