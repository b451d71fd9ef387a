"""`refuseu train`, `refuseu export-run` and `refuseu quickstart` (the README's main job)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import click

REPO_CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "train"
QUICKSTART_CONFIG = REPO_CONFIGS / "smollm2-135m-quickstart.yaml"


def _load(config: str | None, overrides) -> "TrainConfig":  # noqa: F821
    from data_tools.configuration import load_config
    from refuseu_jax.train.config import TrainConfig

    return load_config(TrainConfig, config, overrides)


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


@click.command("quickstart")
@click.option("--config", type=click.Path(dir_okay=False), default=str(QUICKSTART_CONFIG), show_default=True)
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a config key (repeatable).")
@click.option("--examples", default=3, show_default=True, help="Held-out prompts answered before and after.")
def quickstart(config, overrides, examples):
    """The main job on the embedded default: prepare SmolLM2-135M-Instruct, DPO on the bundled RefusEU sample
    (CPU is fine), export to Hugging Face format, and show what changed."""
    t0 = time.time()
    cfg = _load(config, overrides)
    from refuseu_jax.checkpoints.hf import resolve_model_dir

    click.echo(f"[1/5] model: {resolve_model_dir(cfg.model.path)}")
    from refuseu_jax.train.trainer import DPOTrainer

    if Path(cfg.run_dir).exists():  # a demo starts over: the before/after comparison needs the untrained model
        click.echo(f"      removing the previous demo run {cfg.run_dir}")
        shutil.rmtree(cfg.run_dir)
    trainer = DPOTrainer(cfg.replace(resume=False, export_dir=None))
    held_out = trainer.evaluation_pairs("test")
    prompts = _example_prompts(trainer, examples)
    before = _answers(trainer, prompts)
    before_eval = trainer.evaluate(held_out)
    click.echo(f"[2/5] held-out (test split) reward accuracy before training: {before_eval['rewards/accuracies']:.2f}")
    click.echo(f"[3/5] DPO on {len(trainer.pairs)} bundled pairs, {trainer.total_steps} steps")
    summary = trainer.train()
    _print_summary(summary)
    after_eval = trainer.evaluate(held_out)
    click.echo(f"[4/5] held-out reward accuracy {before_eval['rewards/accuracies']:.2f} -> "
               f"{after_eval['rewards/accuracies']:.2f}, margin {before_eval['rewards/margins']:.3f} -> "
               f"{after_eval['rewards/margins']:.3f} ({len(held_out)} test pairs, groups unseen in training)")
    out = Path(cfg.run_dir) / "hf"
    trainer.export(out)
    click.echo(f"[5/5] exported to {out} (loads with transformers.AutoModelForCausalLM.from_pretrained)")
    after = _answers(trainer, prompts)
    for (lang, prompt), b, a in zip(prompts, before, after):
        click.echo(f"\n[{lang}] {prompt}\n  before: {_short(b)}\n  after:  {_short(a)}")
    from refuseu_jax.evaluate.quick import before_after_table
    from refuseu_jax.train.trainer import data_path

    click.echo("\nWhole test split, before vs after (greedy replies judged by the offline refusal judge):\n")
    click.echo(before_after_table(cfg.model.path, out, data=data_path(cfg.data.path),
                                  out_dir=Path(cfg.run_dir) / "eval"))
    click.echo(f"\ndone in {time.time() - t0:.0f} s")


def _example_prompts(trainer, n: int) -> list[tuple[str, str]]:
    """A few test-split prompts, each in a different language and (category, style) group, none used in training."""
    from data_tools.schema import read_records
    from refuseu_jax.train.trainer import data_path

    langs, groups, out = set(), set(), []
    for rec in read_records(data_path(trainer.cfg.data.path)):
        if rec["split"] == "test" and rec["lang"] not in langs and rec["group"] not in groups and len(out) < n:
            langs.add(rec["lang"])
            groups.add(rec["group"])
            out.append((rec["lang"], rec["prompt"][-1]["content"]))
    return out


def _answers(trainer, prompts) -> list[str]:
    from refuseu_jax.sample import Sampler, SamplingConfig

    sampler = Sampler(trainer.policy_model(), trainer.tokenizer)
    return sampler.generate([p for _, p in prompts], SamplingConfig(max_new_tokens=40, batch_size=len(prompts)))


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
