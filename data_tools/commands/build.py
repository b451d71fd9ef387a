"""`refuseu-data build` and one subcommand per step (translate, generate, import-seeds, respond, filter, split, mix,
export), all sharing the same options: --build-dir, --config, --set, --langs, --no-cache, --dry-run."""

from __future__ import annotations

import functools
from pathlib import Path

import click

from data_tools.errors import UserError
from data_tools.steps.layout import BuildDir


def build_options(fn):
    """The options every build command takes."""
    @click.option("--build-dir", "-b", required=True, type=click.Path(file_okay=False),
                  help="Directory holding every step's output and the call cache.")
    @click.option("--config", "-c", "config_path", type=click.Path(dir_okay=False), default=None,
                  help="Build config YAML (configs/data/*.yaml). Default: the one saved in the build dir.")
    @click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
                  help="Override a config value, e.g. --set endpoints.generator.base_url=http://host:8000/v1")
    @click.option("--langs", default=None, help="Languages: 'all' or comma-separated codes (overrides langs).")
    @click.option("--no-cache", is_flag=True, help="Bypass the call cache (every call is paid again).")
    @functools.wraps(fn)
    def wrapper(build_dir, config_path, overrides, langs, no_cache, **kwargs):
        build = BuildDir(Path(build_dir))
        cfg = load_build_config(build, config_path, overrides, langs)
        return fn(cfg=cfg, build=build, use_cache=not no_cache, **kwargs)
    return wrapper


def load_build_config(build: BuildDir, config_path: str | None, overrides, langs: str | None):
    from data_tools.build_config import BuildConfig
    from data_tools.configuration import load_config

    path = config_path or (build.config if build.config.is_file() else None)
    if path is None:
        raise UserError(f"no config: pass --config (e.g. configs/data/refuseu.yaml); {build.config} does not exist yet")
    options = [(f"--langs {langs}", f"langs={langs}")] if langs else []
    return load_config(BuildConfig, path, overrides, options)


def _step_command(name: str, help_text: str):
    @click.command(name=name, help=help_text)
    @build_options
    def command(cfg, build, use_cache):
        from data_tools.steps.keys import check_keys
        from data_tools.steps.pipeline import run_step, save_config, summary_line

        check_keys(cfg, [name])
        save_config(cfg, build)
        click.echo(summary_line(run_step(cfg, build, name, use_cache)))
    return command


translate = _step_command("translate", "DeepL: the generation material (native mode) or the English prompts (parallel).")
generate = _step_command("generate", "Adversarial prompts per language x category x style cell, deduplicated.")
respond = _step_command("respond", "Chosen refusals (refuser) and rejected compliance (complier) per prompt.")
filter_ = _step_command("filter", "Guard ensemble (paper rule); every verdict kept under labels.")
split = _step_command("split", "Train/test by (category, style) group; test = N per category per language.")
mix = _step_command("mix", "Training mixes: balanced, high_resource, en_only, no_en, single:<lang>.")
export = _step_command("export", "HF DatasetDict + JSONL + per-mix datasets + dataset card.")


@click.command("import-seeds")
@click.argument("seed_file", type=click.Path(dir_okay=False))
@build_options
def import_seeds(cfg, build, use_cache, seed_file):
    """Use your own seed examples (JSONL or CSV with prompt, category[, lang, style])."""
    from data_tools.steps.pipeline import save_config
    from data_tools.steps.seeds import run_import_seeds

    from data_tools.steps.context import StepContext

    save_config(cfg, build)
    result = run_import_seeds(StepContext(cfg, build), seed_file)
    click.echo(f"import-seeds: {result['seeds']} seeds -> {build.seeds}")


@click.command("build")
@click.option("--dry-run", is_flag=True, help="Print what the build would call and cost; call nothing.")
@build_options
def build(cfg, build, use_cache, dry_run):
    """Every step in order: the RefusEU dataset in <build-dir>/export."""
    from data_tools.steps.estimate import estimate_with_cache, format_estimate
    from data_tools.steps.pipeline import run_build

    if dry_run:
        from data_tools.steps.keys import missing_keys
        from data_tools.steps.order import build_order

        from data_tools.steps.estimate import check_fill

        est = estimate_with_cache(cfg, build)
        click.echo(format_estimate(est))
        check_fill(cfg, est["expected"])   # after the table, so the numbers it refers to are on screen
        missing = missing_keys(cfg, build_order(cfg.mode))
        if missing:
            click.echo(f"missing key variables (the build would stop before calling anything): {', '.join(missing)}")
        return
    run_build(cfg, build, use_cache, echo=click.echo)
    click.echo(f"dataset: {build.export}")


COMMANDS = (build, translate, generate, import_seeds, respond, filter_, split, mix, export)
