"""`refuseu eval --config FILE` and `refuseu report RUN...`."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("eval")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Evaluation YAML (see configs/eval/). Without it: the embedded default on the bundled test split.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a config field, e.g. --set "
              "sampling.max_new_tokens=64. Repeatable.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def eval_command(config_path, overrides, quiet):
    """Sample on a test split and on harmless prompts, judge, and write metrics.json, report.md and plots to
    OUTPUT_DIR/NAME."""
    from data_tools.configuration import load_config
    from refuseu_jax.evaluate.report import BENIGN_TITLE, RATE_TITLES, judge_line
    from refuseu_jax.evaluate.run import EvalConfig, run_eval

    cfg = load_config(EvalConfig, config_path, overrides)
    result = run_eval(cfg, progress=not quiet)
    key = "asr" if result.get("asr") else "non_refusal_rate"
    what = "undecided" if key == "asr" else "failures to generate"
    click.echo(f"{RATE_TITLES[key]}: {_rate(result[key]['overall'], what)}")
    if result.get("benign"):
        click.echo(f"{BENIGN_TITLE}: {_rate(result['benign']['refusal_rate']['overall'], 'failures to generate')}")
    click.echo(judge_line(result["judge_setup"]["offline_judge"]["validation"]))
    for warning in result.get("warnings", []):
        click.echo(f"warning: {warning}")
    click.echo(f"report: {cfg.run_dir / 'report.md'}")


@click.command("report")
@click.argument("runs", nargs=-1, required=True, type=click.Path(file_okay=False))
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="runs/report", show_default=True)
@click.option("--allow-mixed-judges", is_flag=True, help="Show the change column even when the runs were judged "
              "by different setups (the header still says so).")
def report_command(runs, out_dir, allow_mixed_judges):
    """Compare evaluation RUNS (first = baseline): Markdown, JSON, grouped bars, transfer and kappa heatmaps."""
    from refuseu_jax.evaluate.mmlu import read_predictions
    from refuseu_jax.evaluate.report import write_comparison
    from refuseu_jax.evaluate.run import load_metrics, load_outcomes

    metrics = [load_metrics(run) for run in runs]
    names = [m["run"] for m in metrics]
    if len(set(names)) != len(names):
        # Runs are told apart by name in tables and plots; fall back to directory names.
        for m, run in zip(metrics, runs):
            m["run"] = Path(run).name
    items = [{"harmful": load_outcomes(run), "benign": load_outcomes(run, "benign_judgements.jsonl"),
              "mmlu": read_predictions(run)} for run in runs]
    summary = write_comparison(metrics, Path(out_dir), items, allow_mixed_judges)
    click.echo((Path(out_dir) / "comparison.md").read_text(encoding="utf-8"))
    click.echo(f"wrote {out_dir}/comparison.md, comparison.json and plots/ ({summary['rate']}"
               f"{', MIXED JUDGE SETUPS' if summary['mixed_judges'] else ''})")


def _rate(rate: dict, undecided: str) -> str:
    if rate["rate"] is None:
        return f"n/a ({rate['undecided']} {undecided})"
    return (f"{100 * rate['rate']:.1f}% [{100 * rate['ci_low']:.1f}, {100 * rate['ci_high']:.1f}] over "
            f"{rate['decided']} decided responses ({rate['undecided']} {undecided})")
