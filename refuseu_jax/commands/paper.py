"""`refuseu paper --config configs/paper/X.yaml [--only RUNS] [--dry-run]`."""

from __future__ import annotations

import click


@click.command("paper")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), required=True,
              help="Paper YAML (configs/paper/): dataset, training and evaluation configs, mixes.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a key of the paper config, "
              "e.g. --set 'train_set=[batch_size=32]'. Repeatable.")
@click.option("--only", default=None, metavar="RUNS", help="Comma-separated runs to do, e.g. balanced,en-only "
              "(the baseline evaluation always runs first when it is not finished).")
@click.option("--dry-run", is_flag=True, help="Print the plan (each unit, whether it is done, its command); run nothing.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def paper(config_path, overrides, only, dry_run, quiet):
    """Reproduce the paper: evaluate the start point, train and evaluate one model per mix, write the tables and
    figures into <output_dir>/<name>/report. Finished runs are skipped; a killed run resumes."""
    from data_tools.configuration import load_config
    from refuseu_jax.paper.plan import PaperConfig, build_plan
    from refuseu_jax.paper.runner import format_plan, run_plan

    plan = build_plan(load_config(PaperConfig, config_path, overrides), only)
    click.echo(format_plan(plan))
    if dry_run:
        return
    run_plan(plan, echo=click.echo, progress=not quiet)
    from refuseu_jax.paper.report import write_report

    out = write_report(plan)
    click.echo(f"report: {out / 'report.md'}" if out else "no report: the baseline evaluation is not finished")
