"""`refuseu quickstart` (`make demo`) and `refuseu quickstart --compare` (`make compare`); see refuseu_jax/quickstart.py."""

from __future__ import annotations

import click

from refuseu_jax.quickstart import COMPARE_CONFIG, QUICKSTART_CONFIG, EvalSettings


@click.command("quickstart")
@click.option("--config", default=None, metavar="YAML",
              help=f"Training YAML (default: the packaged configs/{QUICKSTART_CONFIG}, with --compare "
                   f"configs/{COMPARE_CONFIG}).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a config key (repeatable).")
@click.option("--examples", type=click.IntRange(1, 24), default=4, show_default=True,
              help="Prompts whose answers are shown before and after training (spread over the languages).")
@click.option("--compare", is_flag=True,
              help="The paper's experiment in miniature: English-only vs balanced 12-language DPO from the same "
                   "start, same steps; per-language table and transfer plot.")
@click.option("--max-new-tokens", type=click.IntRange(8, 512), default=EvalSettings.max_new_tokens,
              show_default=True,
              help="Greedy reply length in the evaluation.")
@click.option("--eval-per-language", type=click.IntRange(1, None), default=EvalSettings.limit_per_language,
              show_default=True,
              help="Harmful test prompts and harmless prompts evaluated per language.")
def quickstart(config, overrides, examples, compare, max_new_tokens, eval_per_language):
    """The main job on the embedded default: prepare SmolLM2-135M-Instruct, DPO on the bundled 12-language
    pairs (harmful and harmless; CPU is fine), export to Hugging Face format, and show per language what changed
    on held-out harmful prompts and on harmless ones."""
    from refuseu_jax.quickstart import load_train_config, run_compare, run_demo

    cfg = load_train_config(config or f"configs/{COMPARE_CONFIG if compare else QUICKSTART_CONFIG}", overrides)
    settings = EvalSettings(max_new_tokens=max_new_tokens, limit_per_language=eval_per_language)
    if compare:
        run_compare(cfg, settings, echo=click.echo)
    else:
        run_demo(cfg, examples, settings, echo=click.echo)
