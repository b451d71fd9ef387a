"""Markdown for the external benchmarks: one run's section of report.md, and the comparison table of several runs
(the paper driver's external-benchmark table), which says which benchmarks were absent and why."""

from __future__ import annotations

from typing import Mapping

from refuseu_jax.evaluate.benchmarks.rtplx import CATEGORIES

NAMES = {"ptp": "PolygloToxicityPrompts", "rtplx": "RTP-LX"}


def _pct(value) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}"


def _num(value, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _rate(r: dict) -> str:
    if r["rate"] is None:
        return f"n/a (n=0)"
    return f"{_pct(r['rate'])} [{_pct(r['ci_low'])}, {_pct(r['ci_high'])}] ({r['k']}/{r['n']})"


def _table(header, rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])


def scorer_line(scorer: dict | None) -> str:
    if not scorer:
        return "No toxicity scorer was needed."
    if scorer["kind"] == "perspective":
        what = f"Perspective-API-compatible endpoint `{scorer['endpoint']}`, attribute {scorer['attribute']}"
    else:
        what = (f"guard `{scorer['name']}` ({scorer['format']}, {scorer['backend']}, `{scorer['model']}`): its unsafe "
                f"probability, not Perspective's toxicity, so not comparable to published figures")
    return (f"Toxicity scorer: {what}; languages scored: {', '.join(scorer['languages'])}; toxic at >= "
            f"{scorer['threshold']}.")


def _continuation_rows(m: dict) -> list:
    def row(name, s):
        emt = s["expected_max_toxicity"]
        emt_cell = "n/a" if emt is None else f"{emt:.3f} ± {s['expected_max_toxicity_std']:.3f}"
        return [name, s["scored_prompts"], emt_cell, _rate(s["toxicity_probability"]), _num(s["average_toxicity"]),
                f"{s['unscored_samples']}/{s['samples']}"]
    return [row("all", m["overall"])] + [row(lang, s) for lang, s in m["lang"].items()]


CONTINUATION_HEADER = ["language", "prompts", "expected max. toxicity (± sd)", "toxicity probability % [95% CI]",
                       "average toxicity", "unscored samples"]


def _annotation_rows(m: dict) -> list:
    def row(name, s):
        tox = s["categories"]["Toxicity"]
        return [name, s["items"], _rate(s["parse_failures"]), _num(tox["kappa_linear"]), _rate(tox["accuracy"]),
                _num(s["mean_kappa_linear"])]
    return [row("all", m["overall"])] + [row(lang, s) for lang, s in m["lang"].items()]


ANNOTATION_HEADER = ["language", "items", "unparsed answers %", "Toxicity kappa (linear)", "Toxicity accuracy %",
                     f"mean kappa over {len(CATEGORIES)} categories"]


def _status_line(name: str, section: dict) -> str | None:
    status = section.get("status")
    if status == "absent":
        return f"{NAMES[name]}: absent ({section['reason']})"
    if status == "skipped":
        return f"{NAMES[name]}: skipped ({section['reason']})"
    if status == "not_configured":
        return f"{NAMES[name]}: not configured"
    return None


def markdown(result: dict) -> str:
    """The "External toxicity benchmarks" section of one run's report."""
    parts = ["## External toxicity benchmarks", "", scorer_line(result.get("scorer"))]
    for name in ("ptp", "rtplx"):
        section = result.get(name) or {"status": "not_configured"}
        line = _status_line(name, section)
        if line:
            parts += ["", line]
            continue
        parts += ["", f"### {NAMES[name]}: {section['protocol']}", ""]
        notes = []
        if section.get("absent_languages"):
            notes.append(f"no files for {', '.join(section['absent_languages'])}")
        if section.get("not_scored_languages"):
            notes.append(f"not scored (outside the scorer's languages): {', '.join(section['not_scored_languages'])}")
        if section.get("sampling"):
            s = section["sampling"]
            notes.append(f"{s['samples']} samples per prompt, {s['max_new_tokens']} new tokens, temperature "
                         f"{s['temperature']}, top-p {s['top_p']}")
        if notes:
            parts += ["; ".join(notes).capitalize() + ".", ""]
        if section["protocol"].startswith("annotate"):
            parts.append(_table(ANNOTATION_HEADER, _annotation_rows(section["metrics"])))
        else:
            parts.append(_table(CONTINUATION_HEADER, _continuation_rows(section["metrics"])))
    return "\n".join(parts) + "\n"


def benchmark_table(runs: Mapping[str, dict]) -> str:
    """Several runs' metrics.json (name -> metrics) side by side: one row per run and benchmark, overall figures,
    and a line for every run whose benchmark files were absent (or that ran no benchmarks at all)."""
    rows, notes = [], []
    for run, m in runs.items():
        result = m.get("benchmarks")
        if not result:
            notes.append(f"{run}: no external benchmarks configured")
            continue
        for name in ("ptp", "rtplx"):
            section = result.get(name) or {"status": "not_configured"}
            line = _status_line(name, section)
            if line:
                notes.append(f"{run}: {line}")
                continue
            overall = section["metrics"]["overall"]
            if section["protocol"].startswith("annotate"):
                tox = overall["categories"]["Toxicity"]
                rows.append([run, NAMES[name], "annotate", overall["items"], "-", "-",
                             f"kappa {_num(tox['kappa_linear'])}, accuracy {_rate(tox['accuracy'])}"])
            else:
                rows.append([run, NAMES[name], "continuation", overall["scored_prompts"],
                             _num(overall["expected_max_toxicity"]), _rate(overall["toxicity_probability"]), "-"])
    scorers = {run: scorer_line(m["benchmarks"].get("scorer")) for run, m in runs.items() if m.get("benchmarks")}
    parts = ["## External toxicity benchmarks", ""]
    if rows:
        parts.append(_table(["run", "benchmark", "protocol", "items", "expected max. toxicity",
                             "toxicity probability % [95% CI]", "annotation agreement (Toxicity)"], rows))
    else:
        parts.append("No external benchmark ran.")
    if len(set(scorers.values())) > 1:
        parts += ["", "The runs used different scorers; their numbers are not comparable:"]
        parts += [f"- {run}: {line}" for run, line in scorers.items()]
    elif scorers:
        parts += ["", next(iter(scorers.values()))]
    if notes:
        parts += ["", "Absent or not run:"] + [f"- {note}" for note in notes]
    return "\n".join(parts) + "\n"
