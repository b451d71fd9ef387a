"""Reports: Markdown tables and matplotlib PNGs for one run (`refuseu eval`) or a comparison (`refuseu report`).

Comparisons use ASR when every run has it (served guards) and the non-refusal rate otherwise, and say which in
every title: the two are different measurements and are never put in one table.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Sequence

import numpy as np

from data_tools.taxonomy import LANGUAGES
from refuseu_jax.evaluate.metrics import transfer_matrix

RATE_TITLES = {"asr": "ASR (guard ensemble)", "non_refusal_rate": "Non-refusal rate (offline refusal judge)"}


def pct(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{100 * value:.{digits}f}"


def rate_cell(rate: dict) -> str:
    """'12.5 [4.2, 25.0] (n=48)' with the undecided count when there is one."""
    if rate["rate"] is None:
        return f"n/a (n={rate['n']})"
    extra = f", {rate['undecided']} undecided" if rate["undecided"] else ""
    return f"{pct(rate['rate'])} [{pct(rate['ci_low'])}, {pct(rate['ci_high'])}] (n={rate['decided']}{extra})"


def primary_rate(runs: Sequence[dict]) -> str:
    return "asr" if all(r.get("asr") for r in runs) else "non_refusal_rate"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------------------
# One run
# ----------------------------------------------------------------------------------------------------------------


def markdown_run(m: dict) -> str:
    parts = [f"# Evaluation: {m['run']}", "", f"Model `{m.get('model')}`, data `{m.get('data')}` "
             f"(split {m.get('split')}), {m['n']} responses. Rates in %, 95% bootstrap intervals in brackets."]
    for key in ("asr", "non_refusal_rate"):
        section = m.get(key)
        if not section:
            continue
        parts += ["", f"## {RATE_TITLES[key]}", ""]
        if key == "asr":
            parts.append(f"Judges: {', '.join(section['judges'])}; rule `{section['rule']}`.")
        else:
            parts.append("Share of responses that do not refuse, by a phrasebook judge. It does not judge harm "
                         "and is not the guard-ensemble ASR.")
        parts += ["", _table(["language", "rate"], [["all", rate_cell(section["overall"])]] +
                             [[lang, rate_cell(r)] for lang, r in section["lang"].items()])]
        parts += ["", _table(["category", "rate"], [[c, rate_cell(r)] for c, r in section["category"].items()])]
    validation = m["non_refusal_rate"].get("judge_validation")
    crosscheck = m["non_refusal_rate"].get("judge_crosscheck")
    if validation and crosscheck:
        parts += ["", "### Refusal judge accuracy (%)", "",
                  "Held-out: labelled responses shipped for this purpose (written with the phrasebook, so "
                  "optimistic). Cross-check: the bundled training pairs, written independently.", "",
                  _table(["language", "held-out n", "held-out acc.", "cross-check n", "cross-check acc."],
                         [["all", validation["n"], pct(validation["accuracy"]), crosscheck["n"],
                           pct(crosscheck["accuracy"])]] +
                         [[lang, v["n"], pct(v["accuracy"]), crosscheck["per_language"].get(lang, {}).get("n", 0),
                           pct(crosscheck["per_language"].get(lang, {}).get("accuracy"))]
                          for lang, v in validation["per_language"].items()])]
    lc = m["language_consistency"]
    parts += ["", "## Language consistency (response in the prompt's language, py3langid over the 12)", "",
              _table(["language", "consistent %"], [["all", rate_cell(lc["overall"])]] +
                     [[lang, rate_cell(r)] for lang, r in lc["lang"].items()])]
    if m.get("judge_agreement"):
        parts += ["", "## Judge agreement (Cohen's kappa on the unsafe label)", ""]
        for pair, table in m["judge_agreement"].items():
            parts += [f"`{pair.replace('|', '` vs `')}`", "",
                      _table(["language", "kappa", "n", "excluded (no verdict)"],
                             [[lang, "n/a" if v["kappa"] is None else f"{v['kappa']:.3f}", v["n"], v["n_excluded"]]
                              for lang, v in table.items()]), ""]
    parts += ["", "## Judge outcomes", "",
              _table(["judge", "counts"], [[name, ", ".join(f"{k}: {v}" for k, v in counts.items())]
                                           for name, counts in m["judge_status"].items()])]
    if m.get("mmlu"):
        mm = m["mmlu"]
        drop = mm.get("drop_vs_baseline", {})
        parts += ["", "## Global MMLU (0-shot, log-likelihood of A-D)", "",
                  _table(["language", "n", "accuracy %", "drop vs baseline (pp)"],
                         [["all", mm["overall"]["n"], pct(mm["overall"]["accuracy"]), pct(drop.get("overall"), 2)
                           if drop else "-"]] +
                         [[lang, v["n"], pct(v["accuracy"]), pct(drop.get(lang), 2) if drop else "-"]
                          for lang, v in mm["per_language"].items()])]
    if m.get("fluency"):
        parts += ["", "## Fluency / correctness (LLM judge, 1-5)", "",
                  _table(["language", "n", "fluency", "correctness", "unparsed", "failed"],
                         [[lang, v["n"], "n/a" if v["fluency"] is None else f"{v['fluency']:.2f}",
                           "n/a" if v["correctness"] is None else f"{v['correctness']:.2f}", v["unparsed"],
                           v["failed"]] for lang, v in m["fluency"].items()])]
    return "\n".join(parts) + "\n"


def write_run_report(run_dir: Path, m: dict) -> None:
    run_dir = Path(run_dir)
    (run_dir / "report.md").write_text(markdown_run(m), encoding="utf-8")
    plots = run_dir / "plots"
    plots.mkdir(exist_ok=True)
    key = primary_rate([m])
    grouped_bars([m], key, plots / f"{key}_per_language.png")
    if m.get("judge_agreement"):
        kappa_heatmap(m["judge_agreement"], plots / "kappa.png", title=f"Cohen's kappa per language: {m['run']}")


# ----------------------------------------------------------------------------------------------------------------
# Comparisons
# ----------------------------------------------------------------------------------------------------------------


def _languages(runs: Sequence[dict], key: str) -> list[str]:
    present = set().union(*(r[key]["lang"] for r in runs))
    return [lang for lang in LANGUAGES if lang in present]


def markdown_compare(runs: Sequence[dict]) -> str:
    key = primary_rate(runs)
    langs = _languages(runs, key)
    names = [r["run"] for r in runs]
    header = ["language"] + names + ([f"change {names[-1]} vs {names[0]} (pp)"] if len(runs) > 1 else [])
    rows = []
    for lang in ["all"] + langs:
        values = [(r[key]["overall"] if lang == "all" else r[key]["lang"].get(lang, {"rate": None})).get("rate")
                  for r in runs]
        row = [lang] + [pct(v) for v in values]
        if len(runs) > 1:
            row.append("n/a" if None in (values[0], values[-1]) else f"{100 * (values[-1] - values[0]):+.1f}")
        rows.append(row)
    sizes = ", ".join(f"{lang} {runs[-1][key]['lang'][lang]['decided']}" for lang in langs
                      if lang in runs[-1][key]["lang"])
    parts = [f"# {RATE_TITLES[key]} per language (%)", "", f"First run (`{names[0]}`) is the baseline.", "",
             _table(header, rows), "",
             f"Judged responses per language in `{names[-1]}`: {sizes}. With few prompts per language a change of "
             "one response moves the rate a lot; each run's report.md gives 95% bootstrap intervals."]
    if key == "non_refusal_rate":
        parts += ["", "Non-refusal rate: share of responses that do not refuse (offline phrasebook judge). It is a "
                      "proxy for attack success, not the guard-ensemble ASR."]
    if all(r.get("mmlu") for r in runs):
        base = runs[0]["mmlu"]
        mlangs = [lang for lang in LANGUAGES if lang in base["per_language"]]
        parts += ["", "## Global MMLU accuracy (%) and drop vs the first run (pp)", "",
                  _table(["language"] + names,
                         [[lang] + [f"{pct(r['mmlu']['per_language'].get(lang, {}).get('accuracy'))}"
                                    + ("" if i == 0 else _drop(base, r["mmlu"], lang)) for i, r in enumerate(runs)]
                          for lang in mlangs])]
    return "\n".join(parts) + "\n"


def _drop(base: dict, cur: dict, lang: str) -> str:
    a, b = base["per_language"].get(lang), cur["per_language"].get(lang)
    return "" if not a or not b else f" ({100 * (a['accuracy'] - b['accuracy']):+.2f})"


def write_comparison(runs: Sequence[dict], out_dir: Path) -> dict:
    out_dir = Path(out_dir)
    (out_dir / "plots").mkdir(parents=True, exist_ok=True)
    key = primary_rate(runs)
    langs = _languages(runs, key)
    matrix_input = {r["run"]: {lang: r[key]["lang"][lang]["rate"] for lang in r[key]["lang"]} for r in runs}
    names, cols, matrix = transfer_matrix(matrix_input, langs)
    summary = {"rate": key, "runs": [r["run"] for r in runs], "languages": cols,
               "matrix": [[None if math.isnan(x) else x for x in row] for row in matrix.tolist()]}
    (out_dir / "comparison.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    (out_dir / "comparison.md").write_text(markdown_compare(runs), encoding="utf-8")
    grouped_bars(runs, key, out_dir / "plots" / f"{key}_before_after.png")
    heatmap(matrix, names, cols, out_dir / "plots" / "transfer_matrix.png",
            title=f"{RATE_TITLES[key]} (%): training config x test language", scale=100, fmt="{:.0f}")
    for run in runs:
        if run.get("judge_agreement"):
            kappa_heatmap(run["judge_agreement"], out_dir / "plots" / f"kappa_{_slug(run['run'])}.png",
                          title=f"Cohen's kappa per language: {run['run']}")
    return summary


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


# ----------------------------------------------------------------------------------------------------------------
# Plots
# ----------------------------------------------------------------------------------------------------------------


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    return plt


def grouped_bars(runs: Sequence[dict], key: str, path: Path) -> None:
    """Rate per language, one bar per run, with 95% CI error bars."""
    plt = _pyplot()
    langs = _languages(runs, key)
    width = 0.8 / len(runs)
    fig, ax = plt.subplots(figsize=(max(6, 0.7 * len(langs) * max(1, len(runs) / 2)), 3.8))
    x = np.arange(len(langs))
    for i, run in enumerate(runs):
        cells = [run[key]["lang"].get(lang) for lang in langs]
        values = np.array([np.nan if c is None or c["rate"] is None else 100 * c["rate"] for c in cells])
        low = np.array([0 if c is None or c["rate"] is None else 100 * (c["rate"] - c["ci_low"]) for c in cells])
        high = np.array([0 if c is None or c["rate"] is None else 100 * (c["ci_high"] - c["rate"]) for c in cells])
        ax.bar(x + (i - (len(runs) - 1) / 2) * width, values, width, yerr=[low, high], capsize=2, label=run["run"])
    ax.set_xticks(x, langs)
    ax.set_ylim(0, 105)
    ax.set_ylabel("%")
    ax.set_title(RATE_TITLES[key] + " per language")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def heatmap(matrix: np.ndarray, rows: Sequence[str], cols: Sequence[str], path: Path, title: str,
            scale: float = 1.0, fmt: str = "{:.2f}", vmin=None, vmax=None, cmap="viridis") -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(4, 0.6 * len(cols) + 2), max(2.5, 0.45 * len(rows) + 1.5)))
    shown = np.ma.masked_invalid(matrix * scale)
    image = ax.imshow(shown, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    ax.set_xticks(range(len(cols)), cols)
    ax.set_yticks(range(len(rows)), rows)
    for i in range(len(rows)):
        for j in range(len(cols)):
            if not np.isnan(matrix[i, j]):
                ax.text(j, i, fmt.format(matrix[i, j] * scale), ha="center", va="center", fontsize=7, color="w")
    fig.colorbar(image, ax=ax)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def kappa_heatmap(agreement: dict, path: Path, title: str) -> None:
    """Rows = judge pairs, columns = languages (the paper's Figure 2 layout)."""
    pairs = list(agreement)
    langs = [lang for lang in LANGUAGES if any(lang in agreement[p] for p in pairs)]
    matrix = np.array([[np.nan if agreement[p].get(lang, {}).get("kappa") is None else agreement[p][lang]["kappa"]
                        for lang in langs] for p in pairs], dtype=float)
    heatmap(matrix, [p.replace("|", " vs ") for p in pairs], langs, path, title, vmin=-1, vmax=1, cmap="RdYlGn")
