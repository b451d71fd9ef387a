"""The paper's figures as matplotlib PNGs, drawn from the report's tables (refuseu_jax/paper/tables.py).

  fig2_judge_agreement.png      kappa per judge pair (and run) and language            (paper: Figure 2)
  fig3_asr.png                  ASR per language, start point and mixes, with intervals (paper: Figure 3)
  fig4_asr_vs_consistency.png   ASR against language consistency, per run and language (paper: Figure 4)
  fig6_fluency_drop.png         change of fluency and correctness per language          (paper: Figure 6)
  fig8_consistency_delta.png    change of language consistency per language             (paper: Figure 8)
  fig_transfer.png              Table 2 as a heatmap
  fig_mmlu_drop.png             Table 3's drops per language
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from refuseu_jax.evaluate.plots import pyplot
from refuseu_jax.paper.tables import MEAN, POOLED, Table


def _by(table: Table, key: str = "value") -> dict[tuple[str, str], float | None]:
    return {(r["run"], r["language"]): r.get(key) for r in table.records if "measure" not in r}


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    pyplot().close(fig)
    return path


def grouped_bars(table: Table, path: Path, ylabel: str, title: str, errors: bool = True, key: str = "value",
                 runs: list[str] | None = None) -> Path:
    plt = pyplot()
    runs = runs or list(dict.fromkeys(r["run"] for r in table.records))
    langs = [lang for lang in dict.fromkeys(r["language"] for r in table.records) if lang not in (POOLED, MEAN)]
    values = _by(table, key)
    width = 0.8 / max(len(runs), 1)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.6 * len(langs) * max(1.0, len(runs) / 2)), 3.8))
    x = np.arange(len(langs))
    for i, run in enumerate(runs):
        y = np.array([np.nan if values.get((run, l)) is None else 100 * values[(run, l)] for l in langs])
        yerr = None
        if errors:
            rec = {r["language"]: r for r in table.records if r["run"] == run and "measure" not in r}
            low = [0 if rec.get(l, {}).get("ci_low") is None else 100 * (rec[l]["value"] - rec[l]["ci_low"])
                   for l in langs]
            high = [0 if rec.get(l, {}).get("ci_high") is None else 100 * (rec[l]["ci_high"] - rec[l]["value"])
                    for l in langs]
            yerr = [low, high]
        ax.bar(x + (i - (len(runs) - 1) / 2) * width, y, width, yerr=yerr, capsize=2, label=run)
    ax.set_xticks(x, langs)
    ax.axhline(0, color="black", linewidth=0.5)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, ncol=max(1, len(runs) // 6))
    return _save(fig, path)


def heatmap(matrix: np.ndarray, rows: list[str], cols: list[str], path: Path, title: str, fmt: str,
            vmin=None, vmax=None, cmap: str = "viridis") -> Path:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(max(4.0, 0.6 * len(cols) + 2.5), max(2.5, 0.4 * len(rows) + 1.5)))
    image = ax.imshow(np.ma.masked_invalid(matrix), cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    ax.set_xticks(range(len(cols)), cols)
    ax.set_yticks(range(len(rows)), rows, fontsize=7)
    for i in range(len(rows)):
        for j in range(len(cols)):
            if not np.isnan(matrix[i, j]):
                ax.text(j, i, fmt.format(matrix[i, j]), ha="center", va="center", fontsize=6, color="w")
    fig.colorbar(image, ax=ax)
    ax.set_title(title, fontsize=9)
    return _save(fig, path)


def _matrix(table: Table, row_key: str, rows: list[str], cols: list[str], scale: float = 1.0) -> np.ndarray:
    values = {(r[row_key], r["language"]): r.get("value") for r in table.records}
    return np.array([[np.nan if values.get((row, c)) is None else scale * values[(row, c)] for c in cols]
                     for row in rows], dtype=float)


def transfer_heatmap(table: Table, path: Path) -> Path:
    runs = list(dict.fromkeys(r["run"] for r in table.records))
    langs = list(dict.fromkeys(r["language"] for r in table.records))
    return heatmap(_matrix(table, "run", runs, langs, 100), runs, langs, path, table.title, "{:.0f}", 0, 100,
                   "viridis")


def agreement_heatmap(table: Table, path: Path) -> Path:
    labelled = Table(table.name, table.title, [], [], [
        {**r, "row": f"{r['run']}: {r['pair'].replace('|', ' vs ')}"} for r in table.records])
    rows = list(dict.fromkeys(r["row"] for r in labelled.records))
    langs = list(dict.fromkeys(r["language"] for r in labelled.records))
    return heatmap(_matrix(labelled, "row", rows, langs), rows, langs, path, "Cohen's kappa per language", "{:.2f}",
                   -1, 1, "RdYlGn")


def asr_vs_consistency(asr: Table, consistency: Table, path: Path, rate_title: str) -> Path:
    plt = pyplot()
    a, c = _by(asr), _by(consistency)
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    for run in dict.fromkeys(r["run"] for r in asr.records):
        points = [(100 * c[(run, lang)], 100 * a[(run, lang)]) for (r, lang) in a
                  if r == run and lang not in (POOLED, MEAN) and a.get((run, lang)) is not None
                  and c.get((run, lang)) is not None]
        if points:
            xs, ys = zip(*points)
            ax.scatter(xs, ys, s=18, label=run)
    ax.set_xlabel("language consistency (%)")
    ax.set_ylabel(f"{rate_title} (%)")
    ax.set_title("Safety against language consistency, per language", fontsize=9)
    ax.legend(fontsize=7)
    return _save(fig, path)


def deltas(table: Table, baseline: str, measure: str | None = None) -> Table:
    """A table of changes against the baseline (value - baseline), same layout, for bar charts."""
    keep = [r for r in table.records if measure is None or r.get("measure") == measure]
    base = {r["language"]: r.get("value") for r in keep if r["run"] == baseline}
    out = []
    for r in keep:
        if r["run"] == baseline or r.get("value") is None or base.get(r["language"]) is None:
            continue
        out.append({"run": r["run"], "language": r["language"], "value": r["value"] - base[r["language"]]})
    return Table(table.name, table.title, [], [], out)


def write_figures(tables: dict[str, Table], baseline: str, out: Path, rate_title: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    made = [grouped_bars(tables["table1_asr"], out / "fig3_asr.png", "%", tables["table1_asr"].title),
            transfer_heatmap(tables["table2_transfer"], out / "fig_transfer.png"),
            asr_vs_consistency(tables["table2_transfer"], tables["language_consistency"],
                               out / "fig4_asr_vs_consistency.png", rate_title)]
    consistency = deltas(tables["language_consistency"], baseline)
    if consistency.records:
        made.append(grouped_bars(consistency, out / "fig8_consistency_delta.png", "pp", "Change of language "
                                 "consistency against the start point (pp)", errors=False))
    if "judge_agreement" in tables:
        made.append(agreement_heatmap(tables["judge_agreement"], out / "fig2_judge_agreement.png"))
    if "fluency" in tables:
        plt = pyplot()
        fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
        for ax, measure in zip(axes, ("fluency", "correctness")):
            delta = deltas(tables["fluency"], baseline, measure)
            runs = list(dict.fromkeys(r["run"] for r in delta.records))
            langs = list(dict.fromkeys(r["language"] for r in delta.records))
            width = 0.8 / max(len(runs), 1)
            for i, run in enumerate(runs):
                values = {r["language"]: r["value"] for r in delta.records if r["run"] == run}
                ax.bar(np.arange(len(langs)) + (i - (len(runs) - 1) / 2) * width,
                       [values.get(lang, np.nan) for lang in langs], width, label=run)
            ax.set_xticks(np.arange(len(langs)), langs)
            ax.axhline(0, color="black", linewidth=0.5)
            ax.set_title(f"Change of {measure} against the start point (1-5 scale)", fontsize=9)
            ax.legend(fontsize=7)
        made.append(_save(fig, out / "fig6_fluency_drop.png"))
    if "table3_mmlu" in tables:
        drops = Table("mmlu_drop", "", [], [], [
            {"run": r["run"], "language": r["language"], "value": r["drop"]}
            for r in tables["table3_mmlu"].records if r.get("drop") is not None])
        if drops.records:
            made.append(grouped_bars(drops, out / "fig_mmlu_drop.png", "pp", "Global MMLU: accuracy drop against "
                                     "the start point (pp)", errors=False))
    return made
