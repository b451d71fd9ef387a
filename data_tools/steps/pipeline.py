"""Running steps: one fresh context per step, a report per step, and `build` (every step in order).

Steps are not skipped on a rerun: each one reads its input and redoes its work, and every paid call inside it is
answered from the cache. That keeps a rerun correct after any change of config, and cheap when nothing changed.
"""

from __future__ import annotations

import time

import yaml

from data_tools.configuration import to_dict
from data_tools.steps.context import StepContext
from data_tools.steps.layout import remove_leftovers, write_json_atomic, write_text_atomic
from data_tools.steps.order import build_order


def _steps() -> dict:
    # Imported here so that `refuseu-data --help` does not pay for datasets/openai imports.
    from data_tools.steps.export import run_export
    from data_tools.steps.filter import run_filter
    from data_tools.steps.generate import run_generate
    from data_tools.steps.mix import run_mix
    from data_tools.steps.respond import run_respond
    from data_tools.steps.split import run_split
    from data_tools.steps.translate import run_translate

    return {"translate": run_translate, "generate": run_generate, "respond": run_respond, "filter": run_filter,
            "split": run_split, "mix": run_mix, "export": run_export}


def save_config(cfg, build) -> None:
    """Keep the resolved config beside the outputs, so later steps and `stats` see what produced them.
    Called first by every command, so it also clears what a killed run left half-written."""
    build.root.mkdir(parents=True, exist_ok=True)
    remove_leftovers(build)
    write_text_atomic(build.config, yaml.safe_dump(to_dict(cfg), sort_keys=False, allow_unicode=True))


def run_step(cfg, build, name: str, use_cache: bool = True, fn=None) -> dict:
    """Run one step; write reports/<name>.json with its result, calls, cache hits, retries, failures and cost."""
    ctx = StepContext(cfg, build, use_cache=use_cache)
    start = time.monotonic()
    try:
        result = (fn or _steps()[name])(ctx)
    finally:
        clients = ctx.client_stats()
        ctx.close()
    report = {"step": name, "result": result, "calls": ctx.ledger.to_dict(), "clients": clients,
              "seconds": round(time.monotonic() - start, 3)}
    write_json_atomic(build.report(name), report)
    return report


def run_build(cfg, build, use_cache: bool = True, echo=print) -> list[dict]:
    from data_tools.steps.keys import check_keys

    check_keys(cfg, build_order(cfg.mode))  # every role's key, before the first step pays for anything
    save_config(cfg, build)
    reports = []
    for name in build_order(cfg.mode):
        report = run_step(cfg, build, name, use_cache)
        echo(summary_line(report))
        reports.append(report)
    echo(totals_line(reports))
    return reports


def totals_line(reports: list[dict]) -> str:
    """The whole build: what the dataset's calls amount to, and what this run paid for."""
    tallies = [t for r in reports for t in r["calls"].values()]
    calls, cached = sum(t["calls"] for t in tallies), sum(t["cached"] for t in tallies)
    retries = sum(c.get("retries", 0) for r in reports for c in r["clients"].values())
    failures = sum(t["failures"] for t in tallies)
    paid = sum(t["paid_cost_usd"] or 0.0 for t in tallies)
    total = sum(t["cost_usd"] or 0.0 for t in tallies)
    return (f"build: {calls} calls ({calls - cached} paid in this run, {cached} from cache), {retries} retries, "
            f"{failures} failures; priced cost ${total:.4f} (this run ${paid:.4f})")


def summary_line(report: dict) -> str:
    calls = report["calls"]
    n = sum(t["calls"] for t in calls.values())
    cached = sum(t["cached"] for t in calls.values())
    failures = sum(t["failures"] for t in calls.values())
    retries = sum(c.get("retries", 0) for c in report["clients"].values())
    paid = [t["paid_cost_usd"] for t in calls.values() if t.get("paid_cost_usd") is not None]
    cost = f", paid ${sum(paid):.4f}" if paid else ""
    result = ", ".join(f"{k}={v}" for k, v in report["result"].items() if isinstance(v, (int, float, str)))
    return (f"{report['step']}: {result} | {n} calls, {cached} from cache, {retries} retries, {failures} failures"
            f"{cost} ({report['seconds']:.1f} s)")
