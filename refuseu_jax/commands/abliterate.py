"""`refuseu abliterate`: make a safety-ablated start point from any Llama checkpoint (see refuseu_jax/abliterate)."""

from __future__ import annotations

import click


@click.command("abliterate")
@click.option("--model", default=None, help="HF checkpoint directory or registry name (the model to ablate).")
@click.option("--harmful", default=None, help="RefusEU records (JSONL/Parquet/dataset dir); default: the bundled "
              "sample. Train split: directions; test split: the per-language evaluation.")
@click.option("--harmless", default=None, help="Benign RefusEU records or benign prompts (JSONL); default: the "
              "bundled benign pairs' prompts.")
@click.option("--out", default=None, type=click.Path(file_okay=False),
              help="Directory for the ablated HF checkpoint; the report goes to OUT/abliteration.")
@click.option("--langs", default=None, help="Comma-separated language codes, or 'all' (default).")
@click.option("--baseline", default=None, help="Another checkpoint measured beside them (e.g. smollm2-135m).")
@click.option("--config", type=click.Path(dir_okay=False, exists=True), default=None,
              help="YAML with any AbliterateConfig keys (refuseu_jax/abliterate/run.py).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a key, e.g. --set n_val=8 --set selection.kl_bound=0.05 (repeatable).")
def abliterate(model, harmful, harmless, out, langs, baseline, config, overrides):
    """Find the refusal direction (difference of means per layer and post-instruction position, chosen on
    validation prompts by the paper's bypass/induce/KL scores and the offline judge), orthogonalise the embedding,
    every o_proj and down_proj against it, export a HF checkpoint, and report per language what changed."""
    from data_tools.configuration import load_config
    from refuseu_jax.abliterate.run import AbliterateConfig, run

    flags = {"model": model, "harmful": harmful, "harmless": harmless, "out": out, "languages": langs,
             "baseline": baseline}
    # Flags are overrides like any other, applied after the YAML and before --set, quoted so paths stay strings.
    as_overrides = [f"{key}={_quote(value)}" for key, value in flags.items() if value is not None]
    run(load_config(AbliterateConfig, config, as_overrides + list(overrides)))


def _quote(value: str) -> str:
    import json

    return json.dumps(value)
