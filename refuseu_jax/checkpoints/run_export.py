"""Release export of a training run: one orbax checkpoint step -> a Hugging Face directory, one tensor at a time.

What `refuseu export-run` runs. It needs neither the devices nor the optimizer state that trained the model:
each parameter array of the checkpoint is opened with tensorstore (what orbax wrote it with) and read one layer
at a time (the trainer stores stacked arrays in one-layer chunks, see train/checkpointing.py), cast to the
release dtype and appended to the safetensors file being written (safetensors_stream). Host memory therefore
stays near one HF tensor, whatever the model size (70B: 280 GB of float32 parameters, largest tensor 4.2 GB);
checkpoints written before layer chunking still export, reading a whole per-device chunk at a time.
LoRA runs read the base weights from the run's `model.path` tensor by tensor and merge W + (alpha/r) B A in
float32, exactly as the trainer's own `merge_lora` does.

The run directory and the output may be local paths or bucket URLs (refuseu_jax.storage). A local output appears
atomically; in a bucket the files are written in place, the model card last.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from data_tools.errors import UserError
from refuseu_jax import storage
from refuseu_jax.checkpoints import hf
from refuseu_jax.checkpoints.safetensors_stream import DEFAULT_MAX_SHARD_BYTES, TensorEntry, write_checkpoint
from refuseu_jax.models.config import ModelConfig


@dataclasses.dataclass
class Run:
    """A training run directory as export needs it."""

    directory: storage.Location
    config: Any  # TrainConfig
    model_cfg: ModelConfig

    @property
    def lora_scale(self) -> float:
        lora = self.config.lora
        return lora.alpha / lora.rank if lora.rank else 0.0


def open_run(run_dir: storage.PathOrUrl) -> Run:
    from data_tools.configuration import from_dict
    from refuseu_jax.train.config import TrainConfig

    directory = storage.location(run_dir, key="RUN_DIR")
    config_file = directory / "config.json"
    if not config_file.exists():
        raise UserError(f"{config_file}: not found (is {run_dir} a training run directory?)")
    cfg = from_dict(TrainConfig, json.loads(storage.read_text(config_file)), source=str(config_file))
    model_file = directory / "model.json"
    if model_file.exists():  # written by the trainer: the model's exact shape (a preset's vocabulary included)
        model_cfg = ModelConfig.from_hf(json.loads(storage.read_text(model_file)))
    elif cfg.model.path is not None:
        model_cfg = ModelConfig.from_hf(hf.resolve_model_dir(cfg.model.path))
    else:
        raise UserError(f"{directory}: no model.json (a run from an older version on a preset); export the "
                        f"checkpoint with `refuseu convert CHECKPOINT OUT --config MODEL_DIR`")
    model_cfg = model_cfg.replace(param_dtype=cfg.model.param_dtype, dtype=cfg.model.param_dtype)
    return Run(directory, cfg, model_cfg)


class CheckpointArrays:
    """The arrays of an orbax training checkpoint's `state` item, opened lazily with tensorstore."""

    def __init__(self, state_dir: storage.Location):
        import orbax.checkpoint as ocp
        from orbax.checkpoint._src.serialization import tensorstore_utils

        self.dir = state_dir
        try:
            metadata = ocp.PyTreeCheckpointer().metadata(state_dir).item_metadata
        except Exception as err:  # orbax raises several types for a directory that is not a checkpoint
            raise UserError(f"{state_dir}: not a readable orbax checkpoint ({type(err).__name__}: {err})") from None
        self.metadata = metadata
        self.context = tensorstore_utils.get_ts_context(use_ocdbt=True)
        self._open: dict[str, Any] = {}

    def info(self, path: tuple[str, ...]):
        node = self.metadata
        for key in path:
            if not hasattr(node, "keys") or key not in node.keys():
                raise UserError(f"{self.dir}: array {'/'.join(path)} not in this checkpoint")
            node = node[key]
        return node

    def array(self, path: tuple[str, ...]):
        """A tensorstore over one array; indexing and `.read().result()` read only the chunks touched."""
        import tensorstore as ts
        from orbax.checkpoint._src.serialization.tensorstore_utils import ArrayReadSpec

        name = ".".join(path)
        if name not in self._open:
            self.info(path)
            errors = []
            for zarr3 in (False, True):  # orbax's default is zarr2; newer writers may choose zarr3
                spec = ArrayReadSpec(os.fspath(self.dir), name, use_zarr3=zarr3, use_ocdbt=True).json
                try:
                    self._open[name] = ts.open(spec, context=self.context).result()
                    break
                except ValueError as err:
                    errors.append(str(err).splitlines()[0])
            else:
                raise UserError(f"{self.dir}: cannot read array {name} ({errors[-1]})")
        return self._open[name]

    def read(self, path: tuple[str, ...], layer: int | None = None) -> np.ndarray:
        store = self.array(path)
        return np.asarray((store[layer] if layer is not None else store).read().result())

    def dtype(self, path: tuple[str, ...]) -> np.dtype:
        return np.dtype(self.info(path).dtype)


def checkpoint_step(run: Run, step: int | None) -> int:
    directory = run.directory / "checkpoints"
    # Committed steps: orbax renames a finished step directory to its number on disks, and writes
    # commit_success.txt into it on object stores (where there is no rename).
    steps = sorted(int(p.name) for p in directory.iterdir() if p.name.isdigit()
                   and (storage.is_local(p) or (p / "commit_success.txt").exists())) if directory.exists() else []
    if not steps:
        raise UserError(f"{directory}: no checkpoints")
    if step is None:
        return steps[-1]
    if step not in steps:
        raise UserError(f"{directory}: no checkpoint for step {step} (have {steps})")
    return step


def export_run(run_dir: storage.PathOrUrl, out: storage.PathOrUrl, step: int | None = None, dtype: str | None = None,
               max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES, report: str | Path | None = None,
               progress: bool = False) -> tuple[int, storage.Location]:
    """Write checkpoint `step` (default: the latest) of a run as a HF directory; returns (step, out).

    dtype: "bfloat16" / "float32" (default: the parameters' dtype in the checkpoint). report: a `refuseu eval`
    output directory whose metrics go into the model card."""
    from refuseu_jax.checkpoints.card import model_card
    from refuseu_jax.models.llama import param_shapes

    run = open_run(run_dir)
    step = checkpoint_step(run, step)
    arrays = CheckpointArrays(run.directory / "checkpoints" / str(step) / "state")
    lora = run.config.lora.rank > 0
    shapes = {tuple(k): tuple(shape) for k, (shape, _) in param_shapes(run.model_cfg).items()}
    if lora:
        base = hf.CheckpointIndex(hf.resolve_model_dir(run.config.model.path))
        stored = np.dtype(hf._np_dtype(run.config.model.param_dtype))
    else:
        stored = arrays.dtype(("params", "embed", "embedding"))
    out_dtype = np.dtype(hf._np_dtype(dtype)) if dtype else stored

    entries, sources = [], {}
    for path in hf._hf_order(shapes, run.model_cfg):
        for i in range(shapes[path][0]) if path in hf._LAYER else [None]:
            name = hf.hf_name(path, i)
            entries.append(TensorEntry(name, hf.hf_tensor_shape(path, shapes[path]), out_dtype))
            sources[name] = (path, i)
    targets = {name for name in run.config.lora.targets} if lora else set()

    def produce(entry: TensorEntry) -> np.ndarray:
        path, i = sources[entry.name]
        if not lora:
            value = arrays.read(("params",) + path, i)
        else:
            value = hf._read_host(base, entry.name, stored)  # the base weight, in the run's parameter dtype
            if path[0] == "layers" and path[1] in targets and path[2] == "weight":
                a = arrays.read(("params", "layers", path[1], "lora_a"), i).astype(np.float32)
                b = arrays.read(("params", "layers", path[1], "lora_b"), i).astype(np.float32)
                value = (value.astype(np.float32) + np.float32(run.lora_scale) * (b @ a)).astype(stored)
        return value.astype(entry.dtype, copy=False)

    tokenizer_src = hf.resolve_model_dir(run.config.model.tokenizer or run.config.model.path)
    card = model_card(run, step, out_dtype, report)

    def build(directory) -> None:
        write_checkpoint(directory, entries, produce, max_shard_bytes,
                         progress=f"exporting step {step}" if progress else None)
        hf._write_metadata(directory, run.model_cfg, out_dtype, tokenizer_src)
        (directory / "README.md").write_text(card)

    target = storage.location(out, key="OUT_DIR")
    if storage.is_local(target):
        hf.write_dir_atomically(storage.local_path(target), build)
    else:
        if target.exists() and any(True for _ in target.iterdir()) and not (target / "config.json").exists():
            raise UserError(f"{target}: exists and is not a model directory; refusing to write into it")
        build(target)
    return step, target


def push_to_hub(directory: storage.Location, repo: str, *, endpoint: str | None = None, token: str | None = None,
                private: bool = True, message: str | None = None) -> str:
    """Upload an exported directory to a Hugging Face Hub model repository (created when missing, private by
    default); returns the commit URL. The token comes from HF_TOKEN / the huggingface-cli login unless given."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    if not storage.is_local(directory):
        raise UserError(f"--push-to-hub: {directory} is in a bucket; export to a local directory to push it")
    api = HfApi(endpoint=endpoint, token=token)
    try:
        api.create_repo(repo, repo_type="model", private=private, exist_ok=True)
        info = api.upload_folder(folder_path=os.fspath(directory), repo_id=repo, repo_type="model",
                                 commit_message=message or "RefusEU-JAX export")
    except HfHubHTTPError as err:
        raise UserError(f"--push-to-hub {repo}: {str(err).splitlines()[0]}") from None
    return str(getattr(info, "commit_url", info))
