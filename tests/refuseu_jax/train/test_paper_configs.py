"""The shipped training configs: the paper's start points and values, every other value marked as an assumption,
and a `trl-defaults` variant equal to TRL's DPOConfig() defaults, with the learning rate of every step equal to
the scheduler TRL builds (transformers' get_scheduler with TRL's settings)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from data_tools.configuration import load_config
from refuseu_jax.train.config import TrainConfig

CONFIGS = Path(__file__).resolve().parents[3] / "configs" / "train"
PAPER_VALUES = {"dpo.beta": 0.1, "optim.learning_rate": 1e-6, "epochs": 3}
START_POINTS = {
    "llama-3.1-8b.yaml": "mlabonne/NeuralDaredevil-8B-abliterated",
    "llama-3.1-70b.yaml": "mlabonne/Llama-3.1-70B-Instruct-lorablated",
}


def load(name: str, *overrides: str) -> TrainConfig:
    return load_config(TrainConfig, CONFIGS / name, overrides)


def value(cfg, dotted: str):
    for part in dotted.split("."):
        cfg = getattr(cfg, part)
    return cfg


@pytest.mark.parametrize("name, repo", START_POINTS.items())
def test_paper_configs_start_from_the_papers_ablated_models(name, repo):
    text = (CONFIGS / name).read_text()
    command = re.search(rf"huggingface-cli download {re.escape(repo)} --local-dir (\S+)", text)
    assert command, f"{name}: no download command for {repo}"
    cfg = load(name)
    assert cfg.model.path == command.group(1)          # the directory the command fills is the one trained from
    assert "refuseu abliterate" in text and "issue 16" in text
    for key, expected in PAPER_VALUES.items():
        assert value(cfg, key) == expected, key
    assert cfg.data.mix == "balanced" and cfg.data.path == "build/export/refuseu"


def test_every_value_of_the_8b_recipe_is_the_papers_or_a_marked_assumption():
    """Each `key: value` line of the recipe says where its value comes from (or that it changes no number)."""
    places = ("run_dir", "path", "split", "export_dir", "checkpoint_every", "keep_checkpoints", "tensorboard",
              "data", "fsdp", "tensor", "slice")   # where things are kept and the devices, not how they train
    checked = 0
    for line in (CONFIGS / "llama-3.1-8b.yaml").read_text().splitlines():
        found = re.match(r"\s*(\w+): (\S+)", line)
        if line.lstrip().startswith("#") or not found or found.group(1) in places:
            continue
        note = line.split("#", 1)[1] if "#" in line else ""
        assert re.search(r"\b(paper|assumption|memory only|shapes only)\b", note), f"unmarked: {line.strip()}"
        checked += 1
    assert checked >= 18


def test_trl_defaults_variant_equals_trls_dpoconfig_defaults(tmp_path):
    from trl import DPOConfig

    trl = DPOConfig(output_dir=str(tmp_path), use_cpu=True)
    ours = load("llama-3.1-8b-trl-defaults.yaml")
    pairs = {
        "optim.learning_rate": trl.learning_rate,
        "optim.schedule": trl.lr_scheduler_type.value,
        "optim.warmup_ratio": trl.warmup_steps,          # 0: no warmup
        "optim.max_grad_norm": trl.max_grad_norm,
        "optim.weight_decay": trl.weight_decay,
        "optim.b1": trl.adam_beta1, "optim.b2": trl.adam_beta2, "optim.eps": trl.adam_epsilon,
        "optim.grad_accum": trl.gradient_accumulation_steps,
        "batch_size": trl.per_device_train_batch_size * trl.gradient_accumulation_steps,   # one device
        "epochs": trl.num_train_epochs,
        "data.max_length": trl.max_length,
        "dpo.beta": trl.beta,
        "dpo.loss_type": trl.loss_type[0],
        "dpo.label_smoothing": trl.label_smoothing,
        "dpo.reference": "precomputed" if trl.precompute_ref_log_probs else "model",
        "model.compute_dtype": "bfloat16" if trl.bf16 else "float32",
        "model.param_dtype": "float32",                 # TRL loads the model in float32 (model_init_kwargs unset)
        "model.remat": trl.gradient_checkpointing,
        "seed": trl.seed,
        "data.shuffle_seed": trl.data_seed if trl.data_seed is not None else trl.seed,
    }
    assert trl.loss_type == ["sigmoid"] and trl.truncation_mode == "keep_start" and trl.model_init_kwargs is None
    for key, expected in pairs.items():
        assert value(ours, key) == expected, key
    # the same start point and data as the recipe it varies
    recipe = load("llama-3.1-8b.yaml")
    assert (ours.model.path, ours.data.path, ours.data.mix) == (recipe.model.path, recipe.data.path, recipe.data.mix)


def transformers_learning_rates(trl_args, total_steps: int) -> list[float]:
    """What TRL's Trainer sets per optimizer step: get_scheduler(lr_scheduler_type, warmup from get_warmup_steps)."""
    import torch
    from transformers import get_scheduler

    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=trl_args.learning_rate)
    scheduler = get_scheduler(trl_args.lr_scheduler_type, optimizer,
                              num_warmup_steps=trl_args.get_warmup_steps(total_steps),
                              num_training_steps=total_steps, scheduler_specific_kwargs=trl_args.lr_scheduler_kwargs)
    rates = []
    for _ in range(total_steps):
        rates.append(optimizer.param_groups[0]["lr"])   # the rate this step's update uses
        optimizer.step()
        scheduler.step()
    return rates


@pytest.mark.parametrize("config, trl_overrides", [
    ("llama-3.1-8b-trl-defaults.yaml", {}),
    ("llama-3.1-8b.yaml", {"warmup_steps": 0.1}),                      # our assumption, TRL's way of writing it
    ("llama-3.1-8b.yaml", {"warmup_steps": 0.1, "lr_scheduler_type": "cosine"}),
])
@pytest.mark.parametrize("total_steps", [300, 433])
def test_learning_rate_per_step_equals_trls_scheduler(tmp_path, config, trl_overrides, total_steps):
    import numpy as np
    from trl import DPOConfig

    from refuseu_jax.train.step import StepSpec

    trl_args = DPOConfig(output_dir=str(tmp_path), use_cpu=True, **trl_overrides)
    ours = load(config, f"optim.schedule={trl_args.lr_scheduler_type.value}")
    assert ours.optim.learning_rate == trl_args.learning_rate
    schedule = StepSpec(None, ours.dpo, ours.lora, ours.optim, total_steps).schedule()   # what the jitted step uses
    got = np.asarray([float(schedule(step)) for step in range(total_steps)])
    want = np.asarray(transformers_learning_rates(trl_args, total_steps))
    # optax evaluates in float32: agreement to float32 rounding of the rate (lr 1e-6 -> ~1e-13 absolute)
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-6 * 2 ** -23)
    assert want[0] == (1e-6 if not trl_overrides else 0.0) and want[-1] > 0
