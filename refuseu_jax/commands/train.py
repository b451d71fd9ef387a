"""`refuseu train` and `refuseu export-run` (`refuseu quickstart` is in commands/quickstart.py)."""

from __future__ import annotations

import json
from pathlib import Path

import click


def _load(config: str, overrides) -> "TrainConfig":  # noqa: F821
    from refuseu_jax.quickstart import load_train_config

    return load_train_config(config, overrides)


def _print_summary(summary: dict) -> None:
    hist = summary["history"]
    click.echo(f"data: {summary['encode']}")
    if hist:
        first, last = hist[0], hist[-1]
        click.echo(f"steps {summary['start_step'] + 1}..{last['step']}: loss {first['loss']:.4f} -> {last['loss']:.4f}, "
                   f"reward accuracy {first['rewards/accuracies']:.2f} -> {last['rewards/accuracies']:.2f}, "
                   f"{sum(h['tokens_per_s'] for h in hist) / len(hist):.0f} tokens/s")
    click.echo(f"run directory: {summary['run_dir']}")
    if summary.get("export_dir"):
        click.echo(f"exported (Hugging Face format): {summary['export_dir']}")


@click.command("train")
@click.option("--config", type=click.Path(dir_okay=False), required=True, help="Training YAML (configs/train/).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a config key (repeatable).")
def train(config, overrides):
    """DPO-train a Llama on RefusEU pairs (resumes from the run directory's latest checkpoint)."""
    cfg = _load(config, overrides)
    from refuseu_jax.train.trainer import DPOTrainer

    _print_summary(DPOTrainer(cfg).train())


@click.command("export-run")
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True))
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--step", type=int, default=None, help="Checkpoint step (default: the latest).")
def export_run(run_dir, out_dir, step):
    """Write a checkpoint of a training run as a Hugging Face model directory (LoRA merged)."""
    from data_tools.configuration import from_dict
    from data_tools.errors import UserError
    from refuseu_jax.train.config import TrainConfig
    from refuseu_jax.train.trainer import DPOTrainer

    config_file = Path(run_dir) / "config.json"
    if not config_file.is_file():
        raise UserError(f"{config_file}: not found (is {run_dir} a training run directory?)")
    cfg = from_dict(TrainConfig, json.loads(config_file.read_text()), source=str(config_file))
    trainer = DPOTrainer(cfg.replace(run_dir=str(run_dir), progress=False))
    step = trainer.restore(step)
    click.echo(f"step {step} -> {trainer.export(out_dir)}")
