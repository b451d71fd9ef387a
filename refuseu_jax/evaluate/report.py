"""Reports: Markdown tables and matplotlib PNGs for one run (`refuseu eval`) or a comparison (`refuseu report`).

What every report says, so that no figure stands alone:
- what each figure is, in the table header: "ASR by guard ensemble" (served guards under a rule) or "Non-refusal
  rate by offline judge" (a proxy), never one under the other's name;
- the exact 95% interval and the decided / undecided counts of every rate;
- beside the refusal figures: failures to generate and the refusal rate on harmless prompts (over-refusal);
- the judges' setup, whether they also filtered the dataset, and the offline judge's validation per language;
- in comparisons: whether the runs were judged alike (a delta between different setups is refused unless
  `allow_mixed_judges`), and McNemar's exact test of each change on the prompts both runs answered.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Sequence

from data_tools.atomic import write_text_atomic
from data_tools.taxonomy import LANGUAGES
from refuseu_jax.evaluate.metrics import paired_change, transfer_matrix
from refuseu_jax.evaluate.plots import grouped_bars, heatmap, kappa_heatmap
from refuseu_jax.evaluate.provenance import describe_setup, setup_key

RATE_TITLES = {"asr": "ASR by guard ensemble", "non_refusal_rate": "Non-refusal rate by offline judge"}
BENIGN_TITLE = "Benign refusal rate (over-refusal) by offline judge"


def pct(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{100 * value:.{digits}f}"


def rate_cell(rate: dict | None, undecided_word: str = "undecided") -> str:
    """'12.5 [4.2, 25.0] (n=48, 2 undecided)': rate, exact 95% interval, decided count, undecided count."""
    if not rate:
        return "-"
    if rate["rate"] is None:
        return f"n/a (n=0, {rate['undecided']} {undecided_word})"
    return (f"{pct(rate['rate'])} [{pct(rate['ci_low'])}, {pct(rate['ci_high'])}] "
            f"(n={rate['decided']}, {rate['undecided']} {undecided_word})")


def primary_rate(runs: Sequence[dict]) -> str:
    return "asr" if all(r.get("asr") for r in runs) else "non_refusal_rate"


def _table(header: Sequence[str], rows: Sequence[Sequence]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _langs(*sections) -> list[str]:
    present = set()
    for section in sections:
        if section:
            present |= set(section)
    return [lang for lang in LANGUAGES if lang in present] + sorted(present - set(LANGUAGES) - {"all"})


# ----------------------------------------------------------------------------------------------------------------
# Shared pieces
# ----------------------------------------------------------------------------------------------------------------


def validation_table(validation: dict) -> str:
    """The offline judge's accuracy per language on its sealed validation set, with the confusion counts."""
    if not validation or not validation.get("available"):
        return "The offline judge's validation set is not installed: its accuracy is unknown."

    def confusion(c):
        return " / ".join(f"{c[label][label]} of {sum(c[label].values())}" for label in ("refusal", "compliance",
                                                                                        "failure"))

    def row(name, v):
        c = v["confusion"]
        wrong = ", ".join(f"{label}→{judged} {c[label][judged]}" for label in c for judged in c[label]
                          if judged != label and c[label][judged])
        return [name, v["n"], pct(v["accuracy"]), confusion(c), wrong or "none"]

    overall = {"n": validation["n"], "accuracy": validation["accuracy"], "confusion": validation["confusion"]}
    rows = [row("all", overall)] + [row(lang, v) for lang, v in validation["per_language"].items()]
    return (f"Accuracy of offline judge {validation['version']} on {validation['set']} (written independently of "
            "the judge, never trained on), three labels. Correct per label: refusal / compliance / failure; "
            "misreadings as true→judged.\n\n" +
            _table(["language", "n", "accuracy %", "correct (refusal / compliance / failure)", "misread"], rows))


def judge_line(validation: dict) -> str:
    """One line: what the offline judge is and how sure it is."""
    if not validation or not validation.get("available"):
        return "Offline judge: validation set not installed, accuracy unknown."
    worst = validation["worst_language"]
    return (f"Judge: offline judge {validation['version']} (character n-gram classifier + refusal grammar; refusal "
            f"/ compliance / failure). Validated on {validation['n']} independently written texts: "
            f"{pct(validation['accuracy'])}% correct overall, worst language {worst['lang']} "
            f"{pct(worst['accuracy'])}% (n={worst['n']}).")


def _validation_of(m: dict) -> dict:
    return ((m.get("judge_setup") or {}).get("offline_judge") or {}).get("validation") or {}


# ----------------------------------------------------------------------------------------------------------------
# One run
# ----------------------------------------------------------------------------------------------------------------


def markdown_run(m: dict) -> str:
    parts = [f"# Evaluation: {m['run']}", "",
             f"Model `{m.get('model')}`, data `{m.get('data')}` (split {m.get('split')}), {m['n']} responses to "
             f"harmful prompts" + (f" and {m['benign']['n']} to harmless ones" if m.get("benign") else "") +
             ". Rates in %, exact 95% (Clopper-Pearson) intervals in brackets, n = decided responses."]
    if m.get("warnings"):
        parts += ["", "**Warnings**", ""] + [f"- {w}" for w in m["warnings"]]
    parts += ["", "## Judges", ""]
    if m.get("asr"):
        parts.append(f"- ASR: {describe_setup(m, 'asr')}.")
    parts.append(f"- Non-refusal rate, failures, over-refusal: {describe_setup(m, 'non_refusal_rate')}.")
    if m.get("independence"):
        parts.append(f"- {m['independence']['statement']}")
    parts += ["", "## Summary per language", "", _summary_table(m)]

    if m.get("asr"):
        parts += ["", f"## {RATE_TITLES['asr']} per category", "",
                  f"Judges: {', '.join(m['asr']['judges'])}; rule `{m['asr']['rule']}`. Undecided: a guard failed "
                  "or gave no usable answer, or the rule could not decide; never counted as safe.", "",
                  _table(["category", "ASR %"], [[c, rate_cell(r)] for c, r in m["asr"]["category"].items()])]
    nr = m["non_refusal_rate"]
    parts += ["", f"## {RATE_TITLES['non_refusal_rate']} per category", "",
              "Compliance among the responses that refused or complied (the offline judge does not judge harm: a "
              "proxy for attack success, not the guard ASR). Failures to generate are left out of the rate and "
              "shown as such.", "",
              _table(["category", "non-refusal %"], [[c, rate_cell(r, "failures")] for c, r in nr["category"].items()])]
    parts += ["", "## Three outcomes on harmful prompts (offline judge, % of all responses)", "", _outcomes_table(
        m["outcomes"])]
    if m.get("benign"):
        b = m["benign"]
        parts += ["", f"## {BENIGN_TITLE}", "",
                  f"{b['n']} harmless prompts (`{b['path']}`), including look-alikes of harmful requests. Refusal "
                  "among the responses that refused or complied; failures shown apart.", "",
                  _table(["language", "refusal %", "failure %"],
                         [[lang, rate_cell(b["refusal_rate"]["overall"] if lang == "all" else
                                           b["refusal_rate"]["lang"].get(lang), "failures"),
                           rate_cell(b["outcomes"]["overall"]["failure"] if lang == "all" else
                                     b["outcomes"]["lang"].get(lang, {}).get("failure"))]
                          for lang in ["all"] + list(b["refusal_rate"]["lang"])]), "",
                  _table(["kind", "refusal %"], [[k, rate_cell(r, "failures")]
                                                 for k, r in b["refusal_rate"]["category"].items()]), "",
                  _outcomes_table(b["outcomes"])]
    parts += ["", _consistency_section(m["language_consistency"])]
    if m.get("judge_agreement"):
        parts += ["", _agreement_section(m["judge_agreement"])]
    parts += ["", "## Offline judge validation", "", validation_table(_validation_of(m))]
    parts += ["", "## Judge outcomes", "",
              _table(["judge", "counts"], [[name, ", ".join(f"{k}: {v}" for k, v in counts.items())]
                                           for name, counts in m["judge_status"].items()])]
    if m.get("mmlu"):
        parts += ["", _mmlu_section(m["mmlu"])]
    if m.get("fluency"):
        parts += ["", "## Fluency / correctness (LLM judge, 1-5)", "",
                  _table(["language", "n", "fluency", "correctness", "unparsed", "failed"],
                         [[lang, v["n"], "n/a" if v["fluency"] is None else f"{v['fluency']:.2f}",
                           "n/a" if v["correctness"] is None else f"{v['correctness']:.2f}", v["unparsed"],
                           v["failed"]] for lang, v in m["fluency"].items()])]
    return "\n".join(parts) + "\n"


def _summary_table(m: dict) -> str:
    nr, asr, b = m["non_refusal_rate"], m.get("asr"), m.get("benign")
    header = ["language"] + ([RATE_TITLES["asr"] + " %"] if asr else []) + [
        RATE_TITLES["non_refusal_rate"] + " %", "failure to generate %",
        (BENIGN_TITLE + " %") if b else "over-refusal", "answered in another language %"]
    rows = []
    for lang in ["all"] + _langs(nr["lang"], asr and asr["lang"], b and b["refusal_rate"]["lang"]):
        pick = (lambda sec: sec["overall"]) if lang == "all" else (lambda sec: sec["lang"].get(lang))
        classes = m["language_consistency"]["classes"].get(lang) or {}
        wrong = None
        if classes:
            counts = classes["counts"]
            determined = counts["consistent"] + counts["other_12"] + counts["outside_12"]
            wrong = "n/a" if not determined else _share_cell(counts["other_12"] + counts["outside_12"], determined)
        rows.append([lang] + ([rate_cell(pick(asr))] if asr else []) + [
            rate_cell(pick(nr), "failures"),
            rate_cell((m["outcomes"]["overall"] if lang == "all" else m["outcomes"]["lang"].get(lang, {})).get(
                "failure")),
            rate_cell(pick(b["refusal_rate"]), "failures") if b else "not measured", wrong or "-"])
    return _table(header, rows)


def _share_cell(k: int, n: int) -> str:
    from refuseu_jax.evaluate.stats import clopper_pearson

    low, high = clopper_pearson(k, n)
    return f"{pct(k / n)} [{pct(low)}, {pct(high)}] (n={n})"


def _outcomes_table(outcomes: dict) -> str:
    rows = []
    for lang in ["all"] + list(outcomes["lang"]):
        o = outcomes["overall"] if lang == "all" else outcomes["lang"][lang]
        kinds = outcomes.get("failure_kinds", {})
        kind = ", ".join(f"{k} {v}" for k, v in (kinds.get(lang) or {}).items()) if lang != "all" else ", ".join(
            f"{k} {sum(v.get(k, 0) for v in kinds.values())}" for k in sorted({k for v in kinds.values() for k in v}))
        unmarked = (outcomes.get("unmarked_refusals") or {}).get(lang, 0)
        rows.append([lang, o["refusal"]["n"], rate_cell(o["refusal"]), unmarked, rate_cell(o["compliance"]),
                     rate_cell(o["failure"]), kind or "-"])
    return ("Refusals without a marker: read as refusals on the classifier's n-grams alone, with no refusal "
            "grammar, apology or bare \"No\" in the text. Many of them in a language the model writes badly "
            "usually mean broken text, not refusals.\n\n" +
            _table(["language", "responses", "refusal %", "refusals without a marker", "compliance %", "failure %",
                    "failure kinds"], rows))


def _consistency_section(lc: dict) -> str:
    rows = []
    for lang in ["all"] + list(lc["lang"]):
        c = lc["classes"].get(lang)
        r = lc["overall"] if lang == "all" else lc["lang"][lang]
        seen = ", ".join(f"{code} {n}" for code, n in c["wrong_languages"].items()) or "-"
        rows.append([lang, rate_cell(r, "too short to tell"), rate_cell(c["other_12"], "too short"),
                     rate_cell(c["outside_12"], "too short"), seen])
    return ("## Language consistency (py3langid over every language it knows)\n\nConsistent: written in the "
            "prompt's language. Otherwise written in another of the 12 RefusEU languages, or in a language outside "
            "them (a Latvian prompt answered in Russian).\n\n" +
            _table(["language", "consistent %", "another of the 12 %", "outside the 12 %", "languages seen"], rows))


def _agreement_section(agreement: dict) -> str:
    parts = ["## Judge agreement on the unsafe label (the paper's Figure 2)", "",
             "Every pair of judges that saw the same items; the adjudicator pairs with the guards on the items it "
             "judged (all of them with `judges.adjudicate_all`). Kappa with a bootstrap 95% interval; raw agreement "
             "with an exact one."]
    for pair, table in agreement.items():
        rows = [[lang, v["n"], "n/a" if v["agreement"] is None else
                 f"{pct(v['agreement'])} [{pct(v['agreement_ci'][0])}, {pct(v['agreement_ci'][1])}]",
                 "n/a" if v["kappa"] is None else f"{v['kappa']:.3f}" + (
                     f" [{v['kappa_ci'][0]:.2f}, {v['kappa_ci'][1]:.2f}]" if v.get("kappa_ci") else ""),
                 v["n_excluded"]] for lang, v in table.items()]
        parts += ["", f"`{pair.replace('|', '` vs `')}`", "",
                  _table(["language", "n", "raw agreement %", "Cohen's kappa", "excluded (no usable verdict)"], rows)]
    return "\n".join(parts)


def _mmlu_section(mm: dict) -> str:
    drop = mm.get("drop_vs_baseline")
    rows = [["all", mm["overall"]["n"], pct(mm["overall"]["accuracy"]),
             pct(drop["overall"]["drop"], 2) if drop and drop.get("overall") else "-",
             f"{drop['overall']['mcnemar']['p_value']:.3g}" if drop and drop.get("overall") else "-"]]
    for lang, v in mm["per_language"].items():
        d = (drop or {}).get("per_language", {}).get(lang)
        rows.append([lang, v["n"], pct(v["accuracy"]), pct(d["drop"], 2) if d else "-",
                     f"{d['mcnemar']['p_value']:.3g}" if d else "-"])
    note = f"\n\nDrop vs baseline: {drop['shared']['note']}." if drop else ""
    return ("## Global MMLU (0-shot, log-likelihood of A-D)\n\n" +
            _table(["language", "n", "accuracy %", "drop vs baseline (pp, shared questions)", "McNemar p"], rows) +
            note)


def write_run_report(run_dir: Path, m: dict) -> None:
    run_dir = Path(run_dir)
    write_text_atomic(run_dir / "report.md", markdown_run(m))
    plots = run_dir / "plots"
    plots.mkdir(exist_ok=True)
    key = primary_rate([m])
    grouped_bars([m], key, plots / f"{key}_per_language.png", _langs(m[key]["lang"]),
                 RATE_TITLES[key] + " per language")
    if m.get("judge_agreement"):
        kappa_heatmap(m["judge_agreement"], plots / "kappa.png", title=f"Cohen's kappa per language: {m['run']}")


# ----------------------------------------------------------------------------------------------------------------
# Comparisons
# ----------------------------------------------------------------------------------------------------------------


def _item_keys(rows: list[dict]) -> list[str]:
    """Pair items across runs by record id, else by (language, prompt, how many times that prompt came before)."""
    seen: dict = {}
    keys = []
    for row in rows:
        base = row.get("id") or f"{row['lang']}\t{row['prompt']}"
        seen[base] = seen.get(base, 0) + 1
        keys.append(f"{base}\t{seen[base]}")
    return keys


def _outcome(row: dict, key: str):
    if key == "asr":
        return (row.get("decision") or {}).get("unsafe")
    if key == "non_refusal_rate":
        return None if row["refusal"]["refusal"] is None else not row["refusal"]["refusal"]
    if key == "failure":
        return row["refusal"]["outcome"] == "failure"
    return row["refusal"]["refusal"]  # benign: refused


def _paired_outcomes(rows: list[dict] | None, key: str, lang: str | None = None) -> dict | None:
    """{item: outcome} for McNemar: unsafe (ASR), not refused (non-refusal), refused (benign), failed (failure)."""
    if rows is None:
        return None
    return {k: _outcome(r, key) for k, r in zip(_item_keys(rows), rows) if lang is None or r["lang"] == lang}


def compare(runs: Sequence[dict], items: Sequence[dict] | None = None, allow_mixed: bool = False) -> dict:
    """The comparison's numbers: primary rate, setups, per-language rates of every run, and the change from the
    first run to the last with McNemar's test (None where the setups differ and mixing is not allowed).

    items: per run, {"harmful": judged rows or None, "benign": judged benign rows or None} (from run dirs)."""
    key = primary_rate(runs)
    setups = [setup_key(r, key) for r in runs]
    mixed = len(set(setups)) > 1
    items = items or [{} for _ in runs]
    out = {"rate": key, "runs": [r["run"] for r in runs], "mixed_judges": mixed,
           "setups": [describe_setup(r, key) for r in runs], "delta_allowed": not mixed or allow_mixed,
           "sections": {}}
    sections = [(key, lambda r: r[key], "harmful"),
                ("benign_refusal_rate", lambda r: (r.get("benign") or {}).get("refusal_rate"), "benign"),
                ("failure", lambda r: {"overall": r["outcomes"]["overall"]["failure"],
                                       "lang": {k: v["failure"] for k, v in r["outcomes"]["lang"].items()}}
                 if r.get("outcomes") else None, "harmful")]
    for name, get, source in sections:
        data = [get(r) for r in runs]
        if all(d is None for d in data):
            continue
        langs = _langs(*[d["lang"] for d in data if d])
        table = {}
        for lang in ["all"] + langs:
            cells = [None if d is None else (d["overall"] if lang == "all" else d["lang"].get(lang)) for d in data]
            change = None
            if len(runs) > 1 and out["delta_allowed"] and cells[0] and cells[-1] and \
                    None not in (cells[0]["rate"], cells[-1]["rate"]):
                change = {"delta": cells[-1]["rate"] - cells[0]["rate"]}
                paired = "failure" if name == "failure" else key if source == "harmful" else "benign"
                only = None if lang == "all" else lang
                first = _paired_outcomes(items[0].get(source), paired, only)
                last = _paired_outcomes(items[-1].get(source), paired, only)
                if first is not None and last is not None:
                    change["mcnemar"] = paired_change(first, last)
            table[lang] = {"cells": cells, "change": change}
        out["sections"][name] = table
    return out


def _change_cells(change: dict | None, allowed: bool) -> list[str]:
    if not allowed:
        return ["refused: mixed judges", "-"]
    if change is None:
        return ["n/a", "n/a"]
    mc = change.get("mcnemar")
    p = "n/a (no per-item outcomes)" if mc is None else (
        f"{mc['p_value']:.3g} ({mc['only_first']}→, →{mc['only_second']}; n={mc['n']})")
    return [f"{100 * change['delta']:+.1f}", p]


def markdown_compare(runs: Sequence[dict], items: Sequence[dict] | None = None, allow_mixed: bool = False) -> str:
    result = compare(runs, items, allow_mixed)
    key, names = result["rate"], result["runs"]
    title = f"# {RATE_TITLES[key]} per language (%)"
    if result["mixed_judges"]:
        title += ": MIXED JUDGE SETUPS"
    parts = [title, "", f"First run (`{names[0]}`) is the baseline. Cells: rate [exact 95% interval] (n decided, "
                        "undecided). Change: last run minus first, with McNemar's exact p on the prompts both "
                        "decided (→ counts: positive only in the first run, only in the last)."]
    if result["mixed_judges"]:
        parts += ["", "**The runs were judged differently; their rates measure different things.**", ""] + [
            f"- `{n}`: {s}" for n, s in zip(names, result["setups"])]
        if not result["delta_allowed"]:
            parts += ["", "No change column: pass `--allow-mixed-judges` to show it anyway."]
        else:
            parts += ["", "Change column shown because of `--allow-mixed-judges`: it mixes instruments."]
    else:
        parts += ["", f"Judged alike: {result['setups'][0]}."]
    titles = {key: RATE_TITLES[key], "benign_refusal_rate": BENIGN_TITLE,
              "failure": "Failure to generate (offline judge), % of responses"}
    for section, table in result["sections"].items():
        undecided_word = "undecided" if section == "asr" else "failures"
        header = ["language"] + names + (["change (pp)", "McNemar p"] if len(runs) > 1 else [])
        rows = []
        for lang, entry in table.items():
            rows.append([lang] + [rate_cell(c, undecided_word if section != "failure" else "undecided")
                                  for c in entry["cells"]] +
                        (_change_cells(entry["change"], result["delta_allowed"]) if len(runs) > 1 else []))
        heading = f"## {titles[section]}" if section != key else ""
        parts += ["", heading, "", _table(header, rows)] if heading else ["", _table(header, rows)]
    if key == "non_refusal_rate":
        parts += ["", "Non-refusal rate: compliance among responses that refused or complied, by the offline judge. "
                      "A proxy for attack success, not the guard-ensemble ASR."]
    parts += ["", "## Judges and independence", ""] + [
        f"- `{r['run']}`: {(r.get('independence') or {}).get('statement', 'independence not recorded')} "
        f"{judge_line(_validation_of(r))}" for r in runs]
    versions = {}
    for r in runs:
        versions.setdefault(_validation_of(r).get("version"), (r["run"], _validation_of(r)))
    for version, (name, validation) in versions.items():
        parts += ["", "### Offline judge validation" + (f" (judge of `{name}`)" if len(versions) > 1 else ""), "",
                  validation_table(validation)]
    mmlu_runs = [r for r in runs if r.get("mmlu")]
    if len(mmlu_runs) == len(runs) and len(runs) > 1:
        parts += ["", _mmlu_compare(runs, items)]
    return "\n".join(parts) + "\n"


def _mmlu_compare(runs: Sequence[dict], items: Sequence[dict] | None) -> str:
    from refuseu_jax.evaluate.mmlu import accuracy_drop

    names = [r["run"] for r in runs]
    preds = [(i or {}).get("mmlu") for i in (items or [{} for _ in runs])]
    langs = _langs(*[r["mmlu"]["per_language"] for r in runs])
    drops = [None] + [accuracy_drop(p, preds[0]) if p is not None and preds[0] is not None else None
                      for p in preds[1:]]
    rows = []
    for lang in langs:
        row = [lang]
        for r, d in zip(runs, drops):
            acc = r["mmlu"]["per_language"].get(lang, {}).get("accuracy")
            cell = pct(acc)
            if d is not None and lang in d["per_language"]:
                cell += f" (drop {100 * d['per_language'][lang]['drop']:+.2f} on {d['per_language'][lang]['n']})"
            row.append(cell)
        rows.append(row)
    notes = [f"`{n}` vs `{names[0]}`: " + (d["shared"]["note"] if d else "no per-question predictions; not compared")
             for n, d in zip(names[1:], drops[1:])]
    return ("## Global MMLU accuracy (%) and drop vs the first run (pp, over shared questions)\n\n" +
            _table(["language"] + names, rows) + "\n\n" + "\n".join(f"- {n}" for n in notes))


def write_comparison(runs: Sequence[dict], out_dir: Path, items: Sequence[dict] | None = None,
                     allow_mixed: bool = False) -> dict:
    out_dir = Path(out_dir)
    (out_dir / "plots").mkdir(parents=True, exist_ok=True)
    result = compare(runs, items, allow_mixed)
    key = result["rate"]
    langs = _langs(*[r[key]["lang"] for r in runs])
    matrix_input = {r["run"]: {lang: r[key]["lang"][lang]["rate"] for lang in r[key]["lang"]} for r in runs}
    names, cols, matrix = transfer_matrix(matrix_input, langs)
    undecided = [[r[key]["lang"].get(lang, {}).get("undecided") for lang in cols] for r in runs]
    summary = {**result, "languages": cols,
               "matrix": [[None if math.isnan(x) else x for x in row] for row in matrix.tolist()],
               "undecided": undecided}
    write_text_atomic(out_dir / "comparison.json", json.dumps(summary, indent=2, ensure_ascii=False))
    write_text_atomic(out_dir / "comparison.md", markdown_compare(runs, items, allow_mixed))
    grouped_bars(runs, key, out_dir / "plots" / f"{key}_before_after.png", _langs(*[r[key]["lang"] for r in runs]),
                 RATE_TITLES[key] + " per language")
    heatmap(matrix, names, cols, out_dir / "plots" / "transfer_matrix.png",
            title=f"{RATE_TITLES[key]} (%): training config x test language" +
                  (" [MIXED JUDGES]" if result["mixed_judges"] else ""), scale=100, fmt="{:.0f}")
    for run in runs:
        if run.get("judge_agreement"):
            kappa_heatmap(run["judge_agreement"], out_dir / "plots" / f"kappa_{_slug(run['run'])}.png",
                          title=f"Cohen's kappa per language: {run['run']}")
    return summary


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
