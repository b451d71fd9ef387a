"""`refuseu-data audit sample|score` and `refuseu-data stats`."""

from __future__ import annotations

import json

import click

from data_tools.commands.build import build_options


@click.group("audit")
def audit():
    """The paper's three-question audit: a balanced sheet to fill in (CSV/XLSX), and its rates and guard kappa."""


@audit.command("sample")
@click.option("--per-language", type=int, default=None, help="Records per language (default: audit.per_language).")
@build_options
def audit_sample(cfg, build, use_cache, per_language):
    """Write <build>/audit/sheet.csv, sheet.xlsx and sheet.html from the split records (Q1-Q3 + rejected harm)."""
    from data_tools.steps.audit import run_audit_sample
    from data_tools.steps.context import StepContext

    result = run_audit_sample(StepContext(cfg, build), per_language)
    click.echo(f"audit sample: {result['records']} records -> {result['xlsx']}, {result['csv']} and {result['html']}")


@audit.command("score")
@click.argument("answers", type=click.Path(dir_okay=False))
@build_options
def audit_score(cfg, build, use_cache, answers):
    """Q1-Q3 rates with exact intervals and each guard's Cohen's kappa vs the answers (a filled sheet.xlsx or
    sheet.csv), per language; a half-filled sheet scores what is filled. Writes <build>/audit/score.json."""
    from data_tools.steps.audit import format_score, run_audit_score
    from data_tools.steps.context import StepContext

    click.echo(format_score(run_audit_score(StepContext(cfg, build), answers)))


@click.command("stats")
@build_options
def stats(cfg, build, use_cache):
    """What a build of this config calls and costs (estimate), and what the build directory holds so far."""
    from data_tools.steps.estimate import estimate_with_cache, format_estimate

    click.echo(format_estimate(estimate_with_cache(cfg, build)))
    reports = sorted(build.root.glob("reports/*.json")) if build.root.is_dir() else []
    for path in reports:
        report = json.loads(path.read_text(encoding="utf-8"))
        calls = report.get("calls", {})
        summary = {k: v for k, v in report.get("result", {}).items() if isinstance(v, (int, float, str))}
        click.echo(f"{report.get('step', path.stem)}: {json.dumps(summary, ensure_ascii=False)}; "
                   f"calls {sum(t['calls'] for t in calls.values())}, "
                   f"paid now {sum(t['calls'] - t['cached'] for t in calls.values())}")
    if build.cache.is_file():
        from data_tools.clients.cache import CallCache

        with CallCache(build.cache) as cache:
            for (endpoint, model), n in sorted(cache.count_by_endpoint().items()):
                click.echo(f"cache: {n} calls for {model} at {endpoint}")


COMMANDS = (audit, stats)
