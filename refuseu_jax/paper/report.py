"""The paper's report directory: every table as Markdown and CSV, the figures, report.md with all of it, and
report.json with every number. Built from the finished evaluations of a plan; runs not finished yet are listed
as missing, so a partial report is never mistaken for a complete one."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from data_tools.atomic import write_text_atomic
from refuseu_jax.evaluate.benchmarks.report import benchmark_table
from refuseu_jax.paper.figures import write_figures
from refuseu_jax.paper.plan import BASELINE, Plan
from refuseu_jax.paper.runner import state
from refuseu_jax.paper.tables import RATE_NAMES, all_tables, rate_key


def finished_metrics(plan: Plan) -> tuple[dict[str, dict], list[str]]:
    """({run: metrics} of finished evaluations in plan order, [runs whose evaluation is not finished])."""
    from refuseu_jax.evaluate.run import load_metrics

    runs, missing = {}, []
    for unit in plan.evaluations():
        if state(unit) == "done":
            runs[unit.run] = load_metrics(unit.directory)
        else:
            missing.append(unit.run)
    return runs, missing


def _judges(runs: dict[str, dict], key: str) -> list[str]:
    """Who judged (the evaluator's own description), whether the judges also filtered the data, and every run's
    warnings: a number without its instrument is not a result."""
    from refuseu_jax.evaluate.provenance import describe_setup, setup_key

    base = runs[BASELINE]
    lines = ["", f"Judges: {describe_setup(base, key)}."]
    if len({setup_key(m, key) for m in runs.values()}) > 1:
        lines.append("**Mixed judge setups**: " + "; ".join(f"{r}: {describe_setup(m, key)}" for r, m in runs.items())
                     + ". Differences between these runs are not comparable.")
    independence = (base.get("independence") or {}).get("statement")
    if independence:
        lines.append(f"Independence from the dataset's filter: {independence}")
    warnings = [f"- {run}: {w}" for run, m in runs.items() for w in m.get("warnings") or []]
    if warnings:
        lines += ["", "Warnings from the evaluations:", *warnings]
    return lines


def _csv(records: list[dict]) -> str:
    columns = list(dict.fromkeys(k for r in records for k in r))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return buffer.getvalue()


def write_report(plan: Plan) -> Path | None:
    """Write <root>/report; None when not even the baseline evaluation is finished."""
    runs, missing = finished_metrics(plan)
    if BASELINE not in runs:
        return None
    out = plan.report_dir
    out.mkdir(parents=True, exist_ok=True)
    multi = [BASELINE] + [u.run for u in plan.evaluations() if u.run != BASELINE and not u.run.startswith("single-")]
    tables, left_out = all_tables(runs, BASELINE, multi)
    key = rate_key(runs)
    by_name = {t.name: t for t in tables}
    figures = write_figures(by_name, BASELINE, out / "figures", RATE_NAMES[key])
    for stale in set((out / "figures").glob("*.png")) - set(figures):   # from a report with more measurements
        stale.unlink()
    for table in tables:
        write_text_atomic(out / f"{table.name}.md", table.markdown())
        write_text_atomic(out / f"{table.name}.csv", _csv(table.records))
    parts = [f"# {plan.paper.name}: the paper's tables and figures", "",
             f"Data `{plan.paper.data}`; training `{plan.paper.train}`; evaluation `{plan.paper.eval}`. "
             f"Runs: {', '.join(runs)}. Safety measure: {RATE_NAMES[key]}."] + _judges(runs, key)
    if missing:
        parts += ["", f"**Incomplete**: not evaluated yet: {', '.join(missing)} (rerun `refuseu paper` to finish)."]
    if left_out:
        parts += ["", "Not in this report: " + "; ".join(left_out) + "."]
    parts += [""] + [t.markdown() for t in tables]
    # Always present: with no benchmark files it says, per run, which benchmarks were absent or not configured.
    parts += [benchmark_table(runs)]
    parts += ["## Figures", ""] + [f"![{p.stem}](figures/{p.name})" for p in figures]
    write_text_atomic(out / "report.md", "\n".join(parts) + "\n")
    write_text_atomic(out / "report.json", json.dumps(
        {"name": plan.paper.name, "rate": key, "runs": list(runs), "missing": missing, "left_out": left_out,
         "tables": {t.name: {"title": t.title, "header": t.header, "records": t.records} for t in tables},
         "figures": [f"figures/{p.name}" for p in figures]}, indent=1, ensure_ascii=False))
    return out
