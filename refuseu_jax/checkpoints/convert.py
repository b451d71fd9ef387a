"""Checkpoint conversion between the formats the project meets: what `refuseu convert` runs.

Sources (detected from what SRC is):
  hf     a directory with config.json and *.safetensors (single file or sharded with an index)
  gguf   a llama.cpp .gguf file
  orbax  our orbax layout (a directory with config.json and an orbax `params/` checkpoint), or any orbax
         checkpoint holding a parameter tree (a trainer step directory) together with --config (the HF
         directory or config.json of the model it was trained from; its tokenizer files travel along)
  name   a registry name such as smollm2-135m (prepared into the cache first)
Targets:
  hf     a Hugging Face directory that transformers loads (tokenizer files copied from the source)
  orbax  our orbax layout: OUT/config.json, tokenizer files, OUT/params (orbax checkpoint of the parameter tree)

Every path except GGUF -> HF goes through our parameter tree, one tensor at a time on the way in and out.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from data_tools.errors import UserError
from refuseu_jax.checkpoints.hf import write_dir_atomically
from refuseu_jax.checkpoints.safetensors_stream import DEFAULT_MAX_SHARD_BYTES, INDEX_FILE

ORBAX_PARAMS = "params"
_ST_TO_DTYPE = {"F32": "float32", "BF16": "bfloat16", "F16": "float16"}


def detect_format(src: str | Path) -> str:
    path = Path(src)
    if not path.exists():
        from refuseu_jax.checkpoints.registry import MODELS
        if str(src) in MODELS:
            return "name"
        raise UserError(f"{path}: not found (expected a HF directory, a .gguf file, an orbax checkpoint, or one of "
                        f"{', '.join(MODELS)})")
    if path.is_file():
        if path.suffix == ".gguf":
            return "gguf"
        raise UserError(f"{path}: unsupported file (expected a .gguf file or a checkpoint directory)")
    if (path / "config.json").is_file() and (path / ORBAX_PARAMS).is_dir():
        return "orbax"
    if (path / "config.json").is_file() and ((path / INDEX_FILE).is_file() or any(path.glob("*.safetensors"))):
        return "hf"
    if any((path / marker).exists() for marker in ("_CHECKPOINT_METADATA", "_METADATA", "manifest.ocdbt")):
        return "orbax"
    pickles = sorted(p.name for p in path.glob("*.bin"))
    if pickles:
        raise UserError(f"{path / pickles[0]}: PyTorch pickle weights are not read (expected *.safetensors; re-save "
                        "with transformers' save_pretrained, which writes safetensors)")
    raise UserError(f"{path}: not a recognised checkpoint (expected config.json with *.safetensors, or an orbax "
                    "checkpoint)")


def checkpoint_dtype(directory: Path) -> str:
    """The dtype the weights are stored in (from the embedding tensor's header)."""
    from refuseu_jax.checkpoints.hf import CheckpointIndex

    index = CheckpointIndex(directory)
    info = index.tensors.get("model.embed_tokens.weight")
    if info is None:
        raise UserError(f"{directory}: tensor 'model.embed_tokens.weight' not found in the checkpoint")
    if info.dtype not in _ST_TO_DTYPE:
        raise UserError(f"{info.file}: weights stored as {info.dtype}, expected one of {', '.join(_ST_TO_DTYPE)}")
    return _ST_TO_DTYPE[info.dtype]


def _load(src: Path, fmt: str, config: Path | None, dtype: str | None, progress: bool = False):
    """(cfg, params, tokenizer source directory) from an hf or orbax source."""
    from refuseu_jax.checkpoints.hf import load_hf_params, read_config
    from refuseu_jax.checkpoints.orbax_params import restore_params

    if fmt == "hf":
        dtype = dtype or checkpoint_dtype(src)
        cfg = read_config(src, dtype=dtype, param_dtype=dtype)
        return cfg, load_hf_params(src, cfg, progress=progress), src
    # orbax
    if (src / ORBAX_PARAMS).is_dir() and (src / "config.json").is_file():
        config_dir, ckpt = src, src / ORBAX_PARAMS
    elif config is None:
        raise UserError(f"{src}: an orbax checkpoint without config.json needs --config (the HF model directory "
                        "or config.json it was trained from)")
    else:
        config_dir, ckpt = (config if config.is_dir() else config.parent), src
    cfg = read_config(config or config_dir)
    params = restore_params(ckpt, cfg)
    if dtype is not None:
        import jax
        import jax.numpy as jnp
        params = jax.tree.map(lambda x: x.astype(jnp.dtype(dtype)), params)
    stored = str(next(iter(params["embed"].values())).dtype)
    return cfg.replace(dtype=stored, param_dtype=stored), params, config_dir


def convert(src: str | Path, out: str | Path, to: str = "hf", config: str | Path | None = None,
            dtype: str | None = None, max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES, progress: bool = False) -> Path:
    """Convert SRC into OUT in format `to` ("hf" or "orbax"); `dtype` None keeps the stored dtype.

    `progress` shows tqdm bars on a terminal."""
    if to not in ("hf", "orbax"):
        raise UserError(f"--to {to!r}: expected 'hf' or 'orbax'")
    out = Path(out)
    fmt = detect_format(src)
    src = Path(src)
    if fmt == "name":
        from refuseu_jax.checkpoints.registry import prepare_model
        src, fmt = prepare_model(str(src), progress=progress), "hf"
    if fmt == "gguf":
        from refuseu_jax.checkpoints.gguf import gguf_to_hf
        if to == "hf":
            return write_dir_atomically(out, lambda tmp: gguf_to_hf(src, tmp, dtype=dtype or "float32",
                                                                    progress=progress))
        staging = Path(tempfile.mkdtemp(prefix=".gguf-staging-", dir=_parent(out)))
        try:
            src, fmt = gguf_to_hf(src, staging / "hf", dtype=dtype or "float32", progress=progress), "hf"
            return convert(src, out, to=to, dtype=dtype, progress=progress)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    cfg, params, tokenizer_src = _load(src, fmt, Path(config) if config else None, dtype, progress)
    if to == "hf":
        from refuseu_jax.checkpoints.hf import save_hf
        return save_hf(params, cfg, out, tokenizer_src=tokenizer_src, max_shard_bytes=max_shard_bytes,
                       progress=progress)
    return write_dir_atomically(out, lambda tmp: _write_orbax(tmp, cfg, params, tokenizer_src))


def _write_orbax(tmp: Path, cfg, params, tokenizer_src: Path) -> None:
    from refuseu_jax.checkpoints.hf import TOKENIZER_FILES
    from refuseu_jax.checkpoints.orbax_params import save_params

    save_params(params, tmp / ORBAX_PARAMS)
    hf = cfg.to_hf()
    (tmp / "config.json").write_text(json.dumps(hf, indent=2) + "\n")
    for name in TOKENIZER_FILES + ("generation_config.json",):
        if (tokenizer_src / name).is_file():
            shutil.copy2(tokenizer_src / name, tmp / name)


def _parent(out: Path) -> Path:
    out.absolute().parent.mkdir(parents=True, exist_ok=True)
    return out.absolute().parent


def parse_size(text: str) -> int:
    """'2GB', '500MB', '1.5GiB', '1000' -> bytes."""
    units = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30}
    s = text.strip().upper()
    number = s.rstrip("KMGIB")
    try:
        value = float(number) * units[s[len(number):]]
    except (ValueError, KeyError):
        raise UserError(f"--max-shard-size {text!r}: expected a size such as 2GB, 500MB or 1GiB") from None
    if value <= 0:
        raise UserError(f"--max-shard-size {text!r}: must be positive")
    return int(value)
