"""The evaluation's plots (matplotlib, written to files only): rates per language as grouped bars with their
intervals, matrices (transfer, Cohen's kappa) as annotated heatmaps. `pyplot()` is the one way every report module
(evaluate, abliterate, paper) gets matplotlib: the Agg backend, never a window."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from data_tools.taxonomy import LANGUAGES


def pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    return plt


def grouped_bars(runs: Sequence[dict], key: str, path: Path, langs: Sequence[str], title: str) -> None:
    """Rate `key` per language (in the order `langs`), one bar per run, with exact 95% interval error bars."""
    plt = pyplot()
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
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def heatmap(matrix: np.ndarray, rows: Sequence[str], cols: Sequence[str], path: Path, title: str,
            scale: float = 1.0, fmt: str = "{:.2f}", vmin=None, vmax=None, cmap="viridis") -> None:
    plt = pyplot()
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
