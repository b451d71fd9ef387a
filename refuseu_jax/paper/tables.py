"""The paper's tables from the evaluation runs' metrics.json (the evaluator's output; nothing is recomputed here).

  table1_asr                 ASR per language with 95% intervals: the start point and the multi-language mixes
  table2_transfer            ASR: training mix (rows) x test language (columns), every run
  table3_mmlu                Global MMLU accuracy per language and its drop against the start point
  language_consistency       share of answers in the prompt's language, and its change against the start point
  outcomes                   refusal / compliance / failure to generate per language
  judge_agreement            Cohen's kappa and raw agreement per judge pair and language, per evaluation
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
    if not rate:
        return "n/a"
    if rate.get("rate") is None:
        return f"n/a ({rate['undecided']} undecided)" if rate.get("undecided") else "n/a"
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
                if lang == MEAN:   # over the languages of the table, as the safety column's mean
                    langs = [r[0] for r in table.rows if r[0] not in (POOLED, MEAN)]
                    row.append(pct(_mean(benign[run]["lang"].get(l, {}).get("rate") for l in langs)))
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
            drop = p_value = None
            if run != baseline:
                drop, p_value = _mmlu_drop(m["mmlu"], base, lang, acc)
                row.append("n/a" if drop is None else f"{100 * drop:+.2f}" + (
                    "" if p_value is None else f" (p={p_value:.2f})"))
            records.append({"table": "table3_mmlu", "run": run, "language": lang, "value": acc, "drop": drop,
                            "p_value": p_value})
        rows.append(row)
    return Table("table3_mmlu", "Table 3: Global MMLU accuracy (%) and drop against the start point (pp)",
                 header, rows, records,
                 note="Zero-shot, log-likelihood of A-D. A positive drop means the trained model answers fewer "
                      "questions right; the drop is taken over the questions both models answered, with McNemar's "
                      "exact p-value. Global MMLU has no sk, sl or lv.")


def _mmlu_drop(mmlu: dict, base: dict | None, lang: str, acc) -> tuple[float | None, float | None]:
    """(drop, McNemar p) as the evaluator computed it against the baseline (over shared questions); from the two
    accuracies when the run has no such record."""
    recorded = mmlu.get("drop_vs_baseline") or {}
    entry = recorded.get("overall") if lang == "all" else (recorded.get("per_language") or {}).get(lang)
    if isinstance(entry, dict) and entry.get("drop") is not None:
        return entry["drop"], (entry.get("mcnemar") or {}).get("p_value")
    ref = base and (base["overall"] if lang == "all" else base["per_language"].get(lang, {})).get("accuracy")
    return (None if ref is None or acc is None else ref - acc), None


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
    langs = ["all"] + languages(with_kappa, lambda a: {lang for pair in a.values() for lang in pair})
    rows, records = [], []
    for run, agreement in with_kappa.items():
        for pair, per_lang in agreement.items():
            label = f"{run}: {pair.replace('|', ' vs ')}"
            cells = [per_lang.get(lang) for lang in langs]
            rows.append([label] + [_kappa_cell(c) for c in cells])
            records += [{"table": "judge_agreement", "run": run, "pair": pair, "language": lang,
                         "value": (c or {}).get("kappa"), "agreement": (c or {}).get("agreement"),
                         "n": (c or {}).get("n")} for lang, c in zip(langs, cells)]
    return Table("judge_agreement", "Judge agreement: Cohen's kappa (raw agreement %) on the unsafe label",
                 ["run: judges"] + langs, rows, records,
                 note="Items both judges gave a verdict on; kappa n/a: one judge gave one label only. With "
                      "judges.adjudicate_all the adjudicator is paired on every item (the paper's Figure 2).")


def _kappa_cell(cell: dict | None) -> str:
    if not cell:
        return "-"
    kappa = "n/a" if cell.get("kappa") is None else f"{cell['kappa']:.2f}"
    agreement = f"{pct(cell['agreement'])}%, " if cell.get("agreement") is not None else ""
    return f"{kappa} ({agreement}n={cell['n']})"


def outcomes_table(runs: dict[str, dict]) -> Table | None:
    """Refusal, compliance and failure to generate (empty, babble, loops, wrong language) per language and run: a
    model that cannot write a language looks safe in it by ASR alone."""
    with_outcomes = {r: m["outcomes"] for r, m in runs.items() if m.get("outcomes")}
    if not with_outcomes:
        return None
    langs = languages(with_outcomes, lambda o: o["lang"])
    rows, records = [], []
    for lang in langs + [POOLED]:
        row = [lang]
        for run, outcomes in with_outcomes.items():
            cell = outcomes["overall"] if lang == POOLED else outcomes["lang"].get(lang, {})
            shares = [(cell.get(kind) or {}).get("rate") for kind in ("refusal", "compliance", "failure")]
            row.append(" / ".join(pct(v) for v in shares))
            records += [{"table": "outcomes", "run": run, "language": lang, "measure": kind, "value": v}
                        for kind, v in zip(("refusal", "compliance", "failure"), shares)]
        rows.append(row)
    return Table("outcomes", "Outcomes on the test prompts (%): refusal / compliance / failure to generate",
                 ["language"] + list(with_outcomes), rows, records,
                 note="By the offline judge (refusal, compliance, or failure: empty, babble, loops, another "
                      "language).")


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
                      (outcomes_table(runs), "Outcomes: the evaluations recorded no refusal/compliance/failure "
                                             "counts"),
                      (agreement_table(runs), "Judge agreement: fewer than two guards in the evaluation config"),
                      (fluency_table(runs, baseline), "Fluency: no fluency judge in the evaluation config "
                                                       "(fluency.endpoint)")):
        if made is None:
            missing.append(why)
        else:
            tables.append(made)
    return tables, missing
