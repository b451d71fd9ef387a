"""`refuseu train` and `refuseu export-run` (`refuseu quickstart` is in commands/quickstart.py)."""

from __future__ import annotations

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
@click.argument("run_dir")
@click.argument("out_dir")
@click.option("--step", type=int, default=None, help="Checkpoint step (default: the latest).")
@click.option("--dtype", type=click.Choice(["bfloat16", "float32"]), default=None,
              help="Weights' dtype in the export (default: the checkpoint's parameter dtype).")
@click.option("--max-shard-size", default="2GiB", show_default=True, help="Largest safetensors file.")
@click.option("--report", type=click.Path(file_okay=False, exists=True), default=None,
              help="A `refuseu eval` output directory: its judges and per-language table go into the model card.")
@click.option("--push-to-hub", "repo", default=None, metavar="REPO",
              help="Upload the export to this Hugging Face Hub model repository (created private if missing; "
                   "token from HF_TOKEN or `hf auth login`, endpoint from HF_ENDPOINT).")
@click.option("--public", is_flag=True, help="With --push-to-hub: create the repository public.")
def export_run(run_dir, out_dir, step, dtype, max_shard_size, report, repo, public):
    """Write a checkpoint of a training run (local or gs:// run directory) as a Hugging Face model directory:
    LoRA merged, read and written one tensor at a time, with a model card (README.md)."""
    import jax

    from refuseu_jax.checkpoints.convert import parse_size
    from refuseu_jax.checkpoints.run_export import export_run as export, push_to_hub

    try:
        if jax.process_index() == 0:  # one writer; the other hosts of a multi-host launch (run.sh) wait for it
            step, out = export(run_dir, out_dir, step=step, dtype=dtype, max_shard_bytes=parse_size(max_shard_size),
                               report=report, progress=True)
            click.echo(f"step {step} -> {out}")
            if repo:
                click.echo(f"pushed: {push_to_hub(out, repo, private=not public)}")
    finally:  # also when process 0 fails: the others must not wait for ever
        if jax.process_count() > 1:
            from jax.experimental import multihost_utils

            multihost_utils.sync_global_devices("export-run")
