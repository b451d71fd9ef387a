"""Typed configuration of a DPO run (frozen dataclasses; YAML + `--set a.b=value` via data_tools.configuration).

Every field is read somewhere in train/: a field that is declared and ignored is a bug.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal

from data_tools.errors import UserError
from data_tools.taxonomy import HIGH_RESOURCE
from refuseu_jax.parallel import MeshConfig


@dataclass(frozen=True)
class ModelSpec:
    # Exactly one of `path` (a HF directory or registry name such as "smollm2-135m") or `preset` (random init,
    # for tests and smoke runs; needs `tokenizer`).
    path: str | None = None
    preset: str | None = None
    tokenizer: str | None = None  # directory with tokenizer files; default: `path`
    reference_path: str | None = None  # reference weights from another checkpoint (default: the initial policy)
    param_dtype: Literal["float32", "bfloat16"] = "float32"
    # "auto": bfloat16 on GPUs/TPUs and on CPUs with bfloat16 matrix units (AMX), float32 on other CPUs, where
    # bfloat16 matmuls run slower than float32 ones (state.compute_dtype_for; measured in docs/training.md).
    compute_dtype: Literal["auto", "float32", "bfloat16"] = "float32"
    remat: bool = False  # recompute each layer in the backward pass (long sequences / big models)
    # Rolled loop over the layers: compile time independent of depth. False unrolls it: longer compiles, and on
    # XLA:CPU a faster bfloat16 step (static per-layer slices cast once, gradients stacked once, instead of
    # dynamic slices and slice-by-slice gradient updates inside the loop).
    scan_layers: bool = True
    # "cudnn": cuDNN flash attention for the training forward (no [T, T] scores held for the backward; needs
    # 16-bit compute on GPUs); "dense": explicit scores. "auto": cudnn on GPUs with bfloat16 compute, dense
    # otherwise (Llama-3.2-1B step on an H100: 397 vs 579 ms, both with remat). See ModelConfig.attention.
    attention: Literal["auto", "dense", "cudnn"] = "auto"

    def __post_init__(self):
        if (self.path is None) == (self.preset is None):
            raise UserError("config: set exactly one of key 'model.path' (checkpoint) or 'model.preset' (random init)")
        if self.preset is not None and self.tokenizer is None:
            raise UserError("config: key 'model.tokenizer' is required with 'model.preset'")
        if self.reference_path is not None and self.path is None:
            raise UserError("config: key 'model.reference_path' needs 'model.path' (a checkpoint policy)")


@dataclass(frozen=True)
class DataSpec:
    path: str = "sample"  # JSONL / Parquet / save_to_disk directory; "sample" = the bundled sample
    split: Literal["train", "test"] = "train"
    # balanced | high_resource | en_only | no_en | single:<lang>, chosen by the dataset build's own function
    # (data_tools.steps.mix.select_mix), so the full export with `mix: X` trains on export/mixes/X's records.
    # "balanced": every language, cut to equal counts.
    mix: str = "balanced"
    languages: tuple[str, ...] = ()  # further restrict the mix's languages (empty: no restriction)
    high_resource: tuple[str, ...] = HIGH_RESOURCE  # what "high_resource" means (the paper: en de fr it es pt)
    balance: bool = True  # cut high_resource and no_en to equal counts per language too (the build's mix.balance)
    max_length: int = 512  # prompt + completion tokens per sequence
    max_prompt_length: int | None = None
    pad_multiple: int = 64  # pad each batch to the longest pair rounded up to this (0: always max_length)
    shuffle_seed: int = 0
    limit: int | None = None  # use only the first N selected pairs (after a seeded shuffle): quick runs
    # Against over-refusal (beyond the paper, whose recipe is 0): the share of the training mix that is benign
    # pairs (harmless prompt, helpful answer chosen, a refusal rejected), drawn per language in the mix's languages
    # from `benign_path` ("sample": the bundled benign pairs). 0.25 = one benign pair for every three harmful.
    benign_ratio: float = 0.0
    benign_path: str = "sample"

    def __post_init__(self):
        if not 0.0 <= self.benign_ratio < 1.0:
            raise UserError(f"config: key 'data.benign_ratio' must be in [0, 1), got {self.benign_ratio}")
        if self.limit is not None and self.limit < 1:
            raise UserError(f"config: key 'data.limit' must be >= 1 (or null), got {self.limit}")


@dataclass(frozen=True)
class OptimSpec:
    learning_rate: float = 1e-6
    schedule: Literal["linear", "cosine", "constant"] = "linear"  # decay after warmup (TRL's default: linear)
    warmup_ratio: float = 0.1
    weight_decay: float = 0.0
    b1: float = 0.9
    b2: float = 0.999
    eps: float = 1e-8
    max_grad_norm: float = 1.0  # global-norm clip; <= 0 disables
    grad_accum: int = 1  # micro-batches per optimizer step (batch_size must divide by it)


@dataclass(frozen=True)
class DPOSpec:
    beta: float = 0.1
    loss_type: Literal["sigmoid", "ipo", "hinge", "robust"] = "sigmoid"
    label_smoothing: float = 0.0
    sft_weight: float = 0.0  # weight of an added NLL term on the chosen completions (TRL's "sft" loss)
    # "model": reference log-probs from frozen reference weights each step (with LoRA the base weights are the
    # reference, so no second copy exists); "precomputed": computed once before training, saved in the run
    # directory, and the reference weights are dropped (70B never holds two models).
    reference: Literal["model", "precomputed"] = "model"
    logprob_chunk: int = 8192  # vocabulary chunk of the log-prob computation


@dataclass(frozen=True)
class LoraSpec:
    rank: int = 0  # 0: full fine-tuning
    alpha: float = 16.0
    targets: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class ValidationSpec:
    """A validation split carved from the TRAINING data (never the test split) and early stopping on it."""

    # Share of the training groups ((category, style) groups, and benign groups) held out, whole groups at a
    # time, so validation prompts (and their translations) are unseen in training, as the test split's are.
    fraction: float = 0.0
    every: int = 0  # evaluate every N steps and at the last step (0: only when training ends, if fraction > 0)
    # Stop after this many evaluations without improvement of the validation objective (0: never stop early).
    patience: int = 0
    min_delta: float = 0.0  # an improvement must lower the objective by more than this
    keep_best: bool = True  # end (and export) with the state of the best evaluation, not the last step's

    def __post_init__(self):
        if not 0.0 <= self.fraction < 1.0:
            raise UserError(f"config: key 'validation.fraction' must be in [0, 1), got {self.fraction}")
        if self.every < 0 or self.patience < 0:
            raise UserError("config: keys 'validation.every' and 'validation.patience' must be >= 0")
        if (self.every or self.patience) and not self.fraction:
            raise UserError("config: 'validation.every'/'validation.patience' need 'validation.fraction' > 0")


@dataclass(frozen=True)
class TrainConfig:
    run_dir: str = "runs/dpo"  # a local path, file:///abs/path or a bucket (gs://...); shared by every host
    model: ModelSpec = field(default_factory=lambda: ModelSpec(path="smollm2-135m"))
    data: DataSpec = field(default_factory=DataSpec)
    optim: OptimSpec = field(default_factory=OptimSpec)
    dpo: DPOSpec = field(default_factory=DPOSpec)
    lora: LoraSpec = field(default_factory=LoraSpec)
    validation: ValidationSpec = field(default_factory=ValidationSpec)
    mesh: MeshConfig = field(default_factory=MeshConfig)
    seed: int = 0  # parameter init (presets, LoRA) and LoRA-free runs' data order default
    batch_size: int = 8  # pairs per optimizer step, over all hosts
    epochs: int = 3
    max_steps: int | None = None  # stop earlier than `epochs` would
    log_every: int = 1
    checkpoint_every: int = 0  # steps; 0: only at the end
    keep_checkpoints: int = 3
    resume: bool = True  # continue from the latest checkpoint in run_dir when there is one
    tensorboard: bool = False
    export_dir: str | None = None  # write the final model here as a HF checkpoint (LoRA merged); local or gs://
    # The TPU slice this config is sized for (e.g. v5p-64): `refuseu plan` plans for it by default, and on TPUs
    # the trainer refuses to start on another number of chips (null: no check).
    slice: str | None = None
    progress: bool = True

    def __post_init__(self):
        for key in ("batch_size", "epochs", "max_steps", "log_every"):
            value = getattr(self, key)
            if value is not None and value < 1:
                raise UserError(f"config: key '{key}' must be >= 1, got {value}")
        if self.optim.grad_accum < 1:
            raise UserError(f"config: key 'optim.grad_accum' must be >= 1, got {self.optim.grad_accum}")
        if self.batch_size % self.optim.grad_accum:
            raise UserError(f"config: key 'batch_size' ({self.batch_size}) must be divisible by "
                            f"'optim.grad_accum' ({self.optim.grad_accum})")
        if self.slice is not None:
            from refuseu_jax.plan import parse_slice

            parse_slice(self.slice, key="config: key 'slice'")
        if self.dpo.loss_type == "robust" and not 0.0 <= self.dpo.label_smoothing < 0.5:
            raise UserError("config: key 'dpo.label_smoothing' must be in [0, 0.5) for the robust loss")

    def replace(self, **changes) -> "TrainConfig":
        return dataclasses.replace(self, **changes)
