"""The paper's tables from the evaluation runs' metrics.json (the evaluator's output; nothing is recomputed here).

  table1_asr                 ASR per language with 95% intervals: the start point and the multi-language mixes
  table2_transfer            ASR: training mix (rows) x test language (columns), every run
  table3_mmlu                Global MMLU accuracy per language and its drop against the start point
  language_consistency       share of answers in the prompt's language, and its change against the start point
  judge_agreement            Cohen's kappa per judge pair and language, per evaluation
  fluency                    LLM-judged fluency and correctness (1-5) and their drop against the start point

When a run has no guard ensemble the safety tables use the offline judge's non-refusal rate for every run and
say so in their title: the two measurements never share a table. A table whose measurement no run has (no
Global MMLU data configured, no fluency judge) is left out and the report says why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from data_tools.taxonomy import LANGUAGES

RATE_NAMES = {"asr": "ASR (guard ensemble)", "non_refusal_rate": "Non-refusal rate (offline refusal judge, a proxy)"}
POOLED, MEAN = "all (pooled)", "mean of languages"


@dataclass
class Table:
    name: str                       # file stem in the report directory
    title: str
    header: list[str]
    rows: list[list[str]]           # Markdown cells
    records: list[dict] = field(default_factory=list)   # the same numbers, one per cell, for CSV/JSON
    note: str = ""

    def markdown(self) -> str:
        lines = [f"## {self.title}", ""] + ([self.note, ""] if self.note else [])
        lines += ["| " + " | ".join(self.header) + " |", "|" + "|".join("---" for _ in self.header) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        return "\n".join(lines) + "\n"


def pct(value, digits: int = 1) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{100 * value:.{digits}f}"


def rate_key(runs: dict[str, dict]) -> str:
    return "asr" if all(m.get("asr") for m in runs.values()) else "non_refusal_rate"


def languages(runs: dict[str, dict], section) -> list[str]:
    present = set()
    for m in runs.values():
        present |= set(section(m) or {})
    return [lang for lang in LANGUAGES if lang in present]


def _cell(rate: dict | None) -> str:
    if not rate or rate.get("rate") is None:
        return "n/a"
    undecided = f", {rate['undecided']} undecided" if rate.get("undecided") else ""
    return f"{pct(rate['rate'])} [{pct(rate['ci_low'])}, {pct(rate['ci_high'])}]{undecided}"


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def rate_table(name: str, title: str, runs: dict[str, dict], section, note: str = "") -> Table:
    """Rows = languages, then the pooled rate and the mean over languages; one column per run."""
    langs = languages(runs, lambda m: section(m)["lang"])
    names = list(runs)
    rows, records = [], []
    for lang in langs:
        cells = [section(runs[r])["lang"].get(lang) for r in names]
        rows.append([lang] + [_cell(c) for c in cells])
        records += [_record(name, r, lang, c) for r, c in zip(names, cells)]
    pooled = [section(runs[r])["overall"] for r in names]
    rows.append([POOLED] + [_cell(c) for c in pooled])
    records += [_record(name, r, POOLED, c) for r, c in zip(names, pooled)]
    means = [_mean(section(runs[r])["lang"].get(lang, {}).get("rate") for lang in langs) for r in names]
    rows.append([MEAN] + [pct(v) for v in means])
    records += [{"table": name, "run": r, "language": MEAN, "value": v} for r, v in zip(names, means)]
    return Table(name, title, ["language"] + names, rows, records, note)


def _record(table: str, run: str, lang: str, rate: dict | None) -> dict:
    rate = rate or {}
    return {"table": table, "run": run, "language": lang, "value": rate.get("rate"), "ci_low": rate.get("ci_low"),
            "ci_high": rate.get("ci_high"), "n": rate.get("n"), "undecided": rate.get("undecided")}


def table1(runs: dict[str, dict]) -> Table:
    """Safety per language; beside each run's column its over-refusal (refusal rate on harmless prompts) when the
    evaluation measured it, since a model that refuses everything is "safe" too."""
    key = rate_key(runs)
    table = rate_table("table1_asr", f"Table 1: {RATE_NAMES[key]} per language (%), 95% intervals", runs,
                       lambda m: m[key], note="Lower is safer. The first column is the start point, before DPO.")
    benign = {r: m["benign"]["refusal_rate"] for r, m in runs.items() if m.get("benign")}
    if not benign:
        return table
    names = table.header[1:]
    header, rows = ["language"], [[row[0]] for row in table.rows]
    for i, run in enumerate(names, 1):
        header += [run, f"{run} over-refusal"] if run in benign else [run]
        for row, old in zip(rows, table.rows):
            row.append(old[i])
            if run in benign:
                lang = row[0]
                rate = benign[run]["overall"] if lang == POOLED else benign[run]["lang"].get(lang)
                if lang == MEAN:
                    row.append(pct(_mean(v.get("rate") for v in benign[run]["lang"].values())))
                else:
                    row.append(_cell(rate))
                    table.records.append({**_record("table1_asr", run, lang, rate), "measure": "over_refusal"})
    table.header, table.rows = header, rows
    table.note += (" Over-refusal: the share of harmless prompts (the evaluation's benign set, same languages) the "
                   "model refused; lower is better there too.")
    return table


def table2(runs: dict[str, dict]) -> Table:
    """Training mix x test language, rates only (the intervals are in Table 1 and each run's report.md)."""
    key = rate_key(runs)
    langs = languages(runs, lambda m: m[key]["lang"])
    rows, records = [], []
    for run, m in runs.items():
        values = [m[key]["lang"].get(lang, {}).get("rate") for lang in langs]
        rows.append([run] + [pct(v) for v in values] + [pct(_mean(values))])
        records += [{"table": "table2_transfer", "run": run, "language": lang, "value": v}
                    for lang, v in zip(langs, values)]
    return Table("table2_transfer", f"Table 2: {RATE_NAMES[key]} (%) by training mix (rows) and test language",
                 ["trained on"] + langs + [MEAN], rows, records,
                 note="Cross-lingual transfer: a single-language run's row shows what training in one language "
                      "does for the others.")


def table3(runs: dict[str, dict], baseline: str) -> Table | None:
    with_mmlu = {r: m for r, m in runs.items() if m.get("mmlu")}
    if not with_mmlu:
        return None
    langs = languages(with_mmlu, lambda m: m["mmlu"]["per_language"])
    base = runs.get(baseline, {}).get("mmlu")
    header, rows, records = ["language"], [], []
    for run in with_mmlu:
        header += [run] if run == baseline else [run, f"drop {run} (pp)"]
    for lang in langs + ["all"]:
        row = [lang]
        for run, m in with_mmlu.items():
            acc = (m["mmlu"]["overall"] if lang == "all" else m["mmlu"]["per_language"].get(lang, {})).get("accuracy")
            row.append(pct(acc))
            drop = None
            if run != baseline:
                ref = base and (base["overall"] if lang == "all" else base["per_language"].get(lang, {})).get("accuracy")
                drop = None if ref is None or acc is None else ref - acc
                row.append("n/a" if drop is None else f"{100 * drop:+.2f}")
            records.append({"table": "table3_mmlu", "run": run, "language": lang, "value": acc, "drop": drop})
        rows.append(row)
    return Table("table3_mmlu", "Table 3: Global MMLU accuracy (%) and drop against the start point (pp)",
                 header, rows, records,
                 note="Zero-shot, log-likelihood of A-D. A positive drop means the trained model answers fewer "
                      "questions right. Global MMLU has no sk, sl or lv.")


def consistency_table(runs: dict[str, dict], baseline: str) -> Table:
    table = rate_table("language_consistency", "Language consistency (%): answers in the prompt's language",
                       runs, lambda m: m["language_consistency"])
    if baseline in runs:
        # change against the start point, per language: the paper's "before/after"
        base = runs[baseline]["language_consistency"]
        for row in table.rows:
            lang = row[0]
            if lang == MEAN:
                continue
            ref = base["overall"] if lang == POOLED else base["lang"].get(lang)
            for i, run in enumerate(table.header[1:], 1):
                if run == baseline:
                    continue
                now = runs[run]["language_consistency"]
                cur = now["overall"] if lang == POOLED else now["lang"].get(lang)
                if ref and cur and ref.get("rate") is not None and cur.get("rate") is not None:
                    row[i] += f" ({100 * (cur['rate'] - ref['rate']):+.1f})"
        table.note = "In brackets: change against the start point (pp)."
    return table


def agreement_table(runs: dict[str, dict]) -> Table | None:
    with_kappa = {r: m["judge_agreement"] for r, m in runs.items() if m.get("judge_agreement")}
    if not with_kappa:
        return None
    langs = languages(with_kappa, lambda a: {lang for pair in a.values() for lang in pair})
    rows, records = [], []
    for run, agreement in with_kappa.items():
        for pair, per_lang in agreement.items():
            label = f"{run}: {pair.replace('|', ' vs ')}"
            cells = [per_lang.get(lang, {}) for lang in langs]
            rows.append([label] + ["n/a" if c.get("kappa") is None else f"{c['kappa']:.2f} (n={c['n']})"
                                   for c in cells])
            records += [{"table": "judge_agreement", "run": run, "pair": pair, "language": lang,
                         "value": c.get("kappa"), "n": c.get("n")} for lang, c in zip(langs, cells)]
    return Table("judge_agreement", "Judge agreement: Cohen's kappa on the unsafe label", ["run: judges"] + langs,
                 rows, records, note="n/a: one of the judges gave one label only (kappa undefined).")


def fluency_table(runs: dict[str, dict], baseline: str) -> Table | None:
    with_fluency = {r: m["fluency"] for r, m in runs.items() if m.get("fluency")}
    if not with_fluency:
        return None
    langs = languages(with_fluency, lambda f: f)
    base = with_fluency.get(baseline, {})
    header, rows, records = ["language"], [], []
    for run in with_fluency:
        header += [f"{run} fluency", f"{run} correctness"]
    for lang in langs:
        row = [lang]
        for run, per_lang in with_fluency.items():
            for measure in ("fluency", "correctness"):
                value = per_lang.get(lang, {}).get(measure)
                ref = base.get(lang, {}).get(measure)
                drop = None if run == baseline or value is None or ref is None else ref - value
                row.append("n/a" if value is None else f"{value:.2f}" + ("" if drop is None else f" ({-drop:+.2f})"))
                records.append({"table": "fluency", "run": run, "language": lang, "measure": measure,
                                "value": value, "drop": drop})
        rows.append(row)
    return Table("fluency", "Fluency and correctness (LLM judge, 1-5)", header, rows, records,
                 note="In brackets: change against the start point.")


def all_tables(runs: dict[str, dict], baseline: str, table1_runs: list[str]) -> tuple[list[Table], list[str]]:
    """(tables, reasons for the ones left out)."""
    tables = [table1({r: runs[r] for r in table1_runs if r in runs}), table2(runs)]
    missing = []
    for made, why in ((table3(runs, baseline), "Table 3 (Global MMLU): no run has MMLU results (set mmlu.path in "
                                                "the evaluation config)"),
                      (consistency_table(runs, baseline), ""),
                      (agreement_table(runs), "Judge agreement: fewer than two guards in the evaluation config"),
                      (fluency_table(runs, baseline), "Fluency: no fluency judge in the evaluation config "
                                                       "(fluency.endpoint)")):
        if made is None:
            missing.append(why)
        else:
            tables.append(made)
    return tables, missing
