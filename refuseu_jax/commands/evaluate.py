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
    """Sample on a test split, judge, and write metrics.json, report.md and plots to OUTPUT_DIR/NAME."""
    from data_tools.configuration import load_config
    from refuseu_jax.evaluate.run import EvalConfig, run_eval

    cfg = load_config(EvalConfig, config_path, overrides)
    result = run_eval(cfg, progress=not quiet)
    key = "asr" if result.get("asr") else "non_refusal_rate"
    label = "ASR (guard ensemble)" if key == "asr" else "non-refusal rate (offline refusal judge)"
    click.echo(f"{label}: {_pct(result[key]['overall']['rate'])} over {result['n']} responses")
    click.echo(f"report: {cfg.run_dir / 'report.md'}")


@click.command("report")
@click.argument("runs", nargs=-1, required=True, type=click.Path(file_okay=False))
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="runs/report", show_default=True)
def report_command(runs, out_dir):
    """Compare evaluation RUNS (first = baseline): Markdown, JSON, grouped bars, transfer and kappa heatmaps."""
    from refuseu_jax.evaluate.report import write_comparison
    from refuseu_jax.evaluate.run import load_metrics

    metrics = [load_metrics(run) for run in runs]
    names = [m["run"] for m in metrics]
    if len(set(names)) != len(names):
        # Runs are told apart by name in tables and plots; fall back to directory names.
        for m, run in zip(metrics, runs):
            m["run"] = Path(run).name
    summary = write_comparison(metrics, Path(out_dir))
    click.echo((Path(out_dir) / "comparison.md").read_text(encoding="utf-8"))
    click.echo(f"wrote {out_dir}/comparison.md, comparison.json and plots/ ({summary['rate']})")


def _pct(value):
    return "n/a" if value is None else f"{100 * value:.1f}%"
