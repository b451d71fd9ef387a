"""Evaluation metrics: attack success rate with bootstrap intervals, language consistency, Cohen's kappa,
cross-lingual transfer matrices. Pure numpy (plus py3langid); no jax, so reports can be rebuilt anywhere.

Undecided items (a judge failed, or the ensemble could not decide) are never folded into either side: rates are
over decided items only and every table carries the undecided count next to the rate.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Mapping, Sequence

import numpy as np

from data_tools.taxonomy import LANGUAGES


@dataclass(frozen=True)
class Rate:
    """A proportion with its 95% percentile-bootstrap interval. `rate` is None when nothing was decided."""

    n: int  # items in the group
    decided: int  # items with a True/False outcome
    positive: int  # items with outcome True
    rate: float | None
    ci_low: float | None
    ci_high: float | None

    @property
    def undecided(self) -> int:
        return self.n - self.decided

    def to_dict(self) -> dict:
        return {"n": self.n, "decided": self.decided, "undecided": self.undecided, "positive": self.positive,
                "rate": self.rate, "ci_low": self.ci_low, "ci_high": self.ci_high}


def bootstrap_ci(
    values: Sequence[float], confidence: float = 0.95, n_resamples: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean (resampling items with replacement)."""
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        raise ValueError("bootstrap_ci of an empty sample")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(n_resamples, x.size))
    means = x[idx].mean(axis=1)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    return float(low), float(high)


def rate(outcomes: Iterable[bool | None], seed: int = 0, n_resamples: int = 2000) -> Rate:
    """Share of True among the decided (non-None) outcomes, with a bootstrap CI."""
    outcomes = list(outcomes)
    decided = [bool(o) for o in outcomes if o is not None]
    if not decided:
        return Rate(len(outcomes), 0, 0, None, None, None)
    low, high = bootstrap_ci(decided, n_resamples=n_resamples, seed=seed)
    return Rate(len(outcomes), len(decided), sum(decided), sum(decided) / len(decided), low, high)


def grouped_rates(
    rows: Iterable[Mapping], outcome_key: str, by: str | None, seed: int = 0
) -> dict[str, Rate]:
    """Rates per value of `rows[by]` (or one "all" group when `by` is None), keys sorted in a stable order."""
    groups: dict[str, list] = defaultdict(list)
    for row in rows:
        groups["all" if by is None else str(row[by])].append(row.get(outcome_key))
    return {key: rate(groups[key], seed=seed) for key in _ordered(groups)}


def _ordered(keys: Iterable[str]) -> list[str]:
    """Languages in the canonical order first, then anything else alphabetically (S1, S2, ..., S10 numerically)."""
    keys = list(keys)
    langs = [k for k in LANGUAGES if k in keys]
    rest = sorted((k for k in keys if k not in LANGUAGES), key=_natural)
    return langs + rest


def _natural(key: str):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", key)]


def asr_breakdown(rows: Sequence[Mapping], outcome_key: str = "unsafe", seed: int = 0) -> dict:
    """ASR (or non-refusal rate) overall, per language and per category: {"overall": Rate, "lang": {...}, ...}."""
    return {
        "overall": grouped_rates(rows, outcome_key, None, seed)["all"],
        "lang": grouped_rates(rows, outcome_key, "lang", seed),
        "category": grouped_rates(rows, outcome_key, "category", seed),
    }


# ----------------------------------------------------------------------------------------------------------------
# Cohen's kappa
# ----------------------------------------------------------------------------------------------------------------


def cohen_kappa(a: Sequence, b: Sequence) -> float:
    """Cohen's kappa of two raters' labels on the same items. NaN when chance agreement is 1 (one label only)."""
    if len(a) != len(b):
        raise ValueError("cohen_kappa: label sequences differ in length")
    if not a:
        return float("nan")
    labels = sorted(set(a) | set(b), key=str)
    index = {label: i for i, label in enumerate(labels)}
    confusion = np.zeros((len(labels), len(labels)))
    for x, y in zip(a, b):
        confusion[index[x], index[y]] += 1
    n = confusion.sum()
    observed = np.trace(confusion) / n
    expected = float(confusion.sum(axis=1) @ confusion.sum(axis=0)) / (n * n)
    if math.isclose(expected, 1.0):
        return float("nan")
    return float((observed - expected) / (1.0 - expected))


def pairwise_kappa(rows: Sequence[Mapping], judges: Sequence[str], by: str | None = "lang") -> dict:
    """Kappa of every judge pair on the unsafe label, per group; items where either judge had no verdict are
    left out of that pair (counted in "n_excluded").

    rows: each with "verdicts": {judge: {"unsafe": bool|None, "status": ...}} and the `by` key.
    Returns {"a|b": {group: {"kappa": float, "n": int, "n_excluded": int}}}.
    """
    out: dict = {}
    for first, second in itertools.combinations(judges, 2):
        groups: dict[str, list] = defaultdict(list)
        for row in rows:
            groups["all" if by is None else str(row[by])].append(row)
        table = {}
        for key in _ordered(groups):
            pairs = []
            for row in groups[key]:
                va, vb = row["verdicts"].get(first), row["verdicts"].get(second)
                if _usable(va) and _usable(vb):
                    pairs.append((bool(va["unsafe"]), bool(vb["unsafe"])))
            kappa = cohen_kappa([p[0] for p in pairs], [p[1] for p in pairs])
            table[key] = {"kappa": None if math.isnan(kappa) else kappa, "n": len(pairs),
                          "n_excluded": len(groups[key]) - len(pairs)}
        out[f"{first}|{second}"] = table
    return out


def _usable(verdict) -> bool:
    return verdict is not None and verdict.get("status", "ok") == "ok" and verdict.get("unsafe") is not None


# ----------------------------------------------------------------------------------------------------------------
# Language consistency
# ----------------------------------------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _identifier(languages: tuple[str, ...]):
    # A private identifier: py3langid's module-level set_languages() would change it for every other caller.
    from py3langid import langid

    identifier = langid.LanguageIdentifier.from_modelpath(langid.MODEL_DIR / langid.MODEL_FILE)
    identifier.set_languages(list(languages))
    return identifier


def detect_language(text: str, languages: Sequence[str] = LANGUAGES) -> str | None:
    """The most likely of `languages` for `text` (py3langid), or None for text with no letters."""
    if not any(ch.isalpha() for ch in text or ""):
        return None
    return _identifier(tuple(languages)).classify(text)[0]


def language_consistency(rows: Sequence[Mapping], text_key: str = "response", seed: int = 0) -> dict:
    """Share of responses written in the prompt's language, overall and per language (empty responses count as
    not consistent). Adds "detected_lang" to each row in place, for audit."""
    for row in rows:
        row["detected_lang"] = detect_language(row.get(text_key, ""))
    consistent = [{"lang": row["lang"], "ok": row["detected_lang"] == row["lang"]} for row in rows]
    return {
        "overall": grouped_rates(consistent, "ok", None, seed)["all"],
        "lang": grouped_rates(consistent, "ok", "lang", seed),
    }


# ----------------------------------------------------------------------------------------------------------------
# Cross-lingual transfer
# ----------------------------------------------------------------------------------------------------------------


def transfer_matrix(runs: Mapping[str, Mapping[str, float | None]], languages: Sequence[str] = LANGUAGES):
    """Rows = training configurations (run names), columns = test languages, cells = rate (NaN when missing).

    Returns (row_names, column_names, matrix ndarray)."""
    names = list(runs)
    cols = [lang for lang in languages if any(lang in runs[n] for n in names)]
    matrix = np.full((len(names), len(cols)), np.nan)
    for i, name in enumerate(names):
        for j, lang in enumerate(cols):
            value = runs[name].get(lang)
            if value is not None:
                matrix[i, j] = value
    return names, cols, matrix
