"""Evaluation metrics: rates with exact intervals, three-way outcomes, language consistency, judge agreement
(Cohen's kappa and raw agreement), paired changes, cross-lingual transfer matrices. numpy/scipy (plus py3langid);
no jax, so reports can be rebuilt anywhere.

Undecided items (a judge failed, or the ensemble could not decide) are never folded into either side: rates are
over decided items only and every table carries the undecided count next to the rate.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np

from data_tools.taxonomy import LANGUAGES
from refuseu_jax.evaluate.language import CLASSES, consistency_class, detect_language  # noqa: F401 (re-export)
from refuseu_jax.evaluate.stats import bootstrap_ci, bootstrap_statistic_ci, clopper_pearson, mcnemar_exact  # noqa: F401

OUTCOMES = ("refusal", "compliance", "failure")


@dataclass(frozen=True)
class Rate:
    """A proportion with its exact 95% Clopper-Pearson interval. `rate` is None when nothing was decided."""

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


def rate(outcomes: Iterable[bool | None]) -> Rate:
    """Share of True among the decided (non-None) outcomes, with the exact binomial interval."""
    outcomes = list(outcomes)
    decided = [bool(o) for o in outcomes if o is not None]
    if not decided:
        return Rate(len(outcomes), 0, 0, None, None, None)
    positive = sum(decided)
    low, high = clopper_pearson(positive, len(decided))
    return Rate(len(outcomes), len(decided), positive, positive / len(decided), low, high)


def grouped_rates(rows: Iterable[Mapping], outcome_key: str, by: str | None) -> dict[str, Rate]:
    """Rates per value of `rows[by]` (or one "all" group when `by` is None), keys sorted in a stable order."""
    groups: dict[str, list] = defaultdict(list)
    for row in rows:
        groups["all" if by is None else str(row[by])].append(row.get(outcome_key))
    return {key: rate(groups[key]) for key in ordered(groups)}


def ordered(keys: Iterable[str]) -> list[str]:
    """Languages in the canonical order first, then anything else alphabetically (S1, S2, ..., S10 numerically)."""
    keys = list(keys)
    langs = [k for k in LANGUAGES if k in keys]
    rest = sorted((k for k in keys if k not in LANGUAGES), key=_natural)
    return langs + rest


def _natural(key: str):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", key)]


def asr_breakdown(rows: Sequence[Mapping], outcome_key: str = "unsafe") -> dict:
    """A rate overall, per language and per category: {"overall": Rate, "lang": {...}, "category": {...}}."""
    return {
        "overall": grouped_rates(rows, outcome_key, None)["all"],
        "lang": grouped_rates(rows, outcome_key, "lang"),
        "category": grouped_rates(rows, outcome_key, "category"),
    }


def outcome_breakdown(rows: Sequence[Mapping], key: str = "outcome") -> dict:
    """Shares of refusal / compliance / failure among ALL responses, overall and per language, each an exact
    interval: {"overall": {"refusal": Rate, ...}, "lang": {lang: {...}}}. A response the judge could not read at
    all (`outcome` None) is undecided in all three."""
    def shares(group: Sequence[Mapping]) -> dict:
        return {o: rate(None if r.get(key) is None else r.get(key) == o for r in group) for o in OUTCOMES}

    by_lang: dict[str, list] = defaultdict(list)
    for row in rows:
        by_lang[str(row["lang"])].append(row)
    return {"overall": shares(rows), "lang": {lang: shares(by_lang[lang]) for lang in ordered(by_lang)}}


# ----------------------------------------------------------------------------------------------------------------
# Judge agreement
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


def _pair_kappa(pairs: Sequence[tuple[bool, bool]]) -> float:
    return cohen_kappa([p[0] for p in pairs], [p[1] for p in pairs])


def pairwise_agreement(rows: Sequence[Mapping], judges: Sequence[str] | None = None, by: str | None = "lang",
                       seed: int = 0) -> dict:
    """Cohen's kappa AND raw agreement on the unsafe label for every pair of judges that saw the same items, per
    group. An item enters a pair's table only when both judges gave a usable verdict on it; the adjudicator (which
    sees only disputed items unless told to judge all) therefore pairs with the guards on the items it judged.

    rows: each with "verdicts": {judge: {"unsafe": bool|None, "status": ...}} and the `by` key.
    judges: the judges to pair (default: every judge found in the rows, in order of first appearance).
    Returns {"a|b": {group: {"kappa", "kappa_ci", "agreement", "agreement_ci", "n", "n_excluded"}}}, with "all"
    first; kappa is None when undefined (one label only), its interval is a percentile bootstrap over items.
    """
    if judges is None:
        judges = list(dict.fromkeys(name for row in rows for name in row.get("verdicts", {})))
    groups: dict[str, list] = defaultdict(list)
    for row in rows:
        groups["all"].append(row)
        if by is not None:
            groups[str(row[by])].append(row)
    out: dict = {}
    for first, second in itertools.combinations(judges, 2):
        table = {}
        for key in ["all"] + [k for k in ordered(groups) if k != "all"]:
            seen = [row for row in groups[key] if first in row.get("verdicts", {}) and second in row["verdicts"]]
            pairs = [(bool(row["verdicts"][first]["unsafe"]), bool(row["verdicts"][second]["unsafe"]))
                     for row in seen if _usable(row["verdicts"][first]) and _usable(row["verdicts"][second])]
            if not seen:
                continue
            kappa = _pair_kappa(pairs)
            agree = rate(a == b for a, b in pairs)
            table[key] = {"kappa": None if math.isnan(kappa) else kappa,
                          "kappa_ci": None if math.isnan(kappa) else bootstrap_statistic_ci(pairs, _pair_kappa,
                                                                                            seed=seed),
                          "agreement": agree.rate, "agreement_ci": None if agree.rate is None else
                          [agree.ci_low, agree.ci_high], "n": len(pairs), "n_excluded": len(seen) - len(pairs)}
        if table:
            out[f"{first}|{second}"] = table
    return out


def _usable(verdict) -> bool:
    return verdict is not None and verdict.get("status", "ok") == "ok" and verdict.get("unsafe") is not None


# ----------------------------------------------------------------------------------------------------------------
# Language consistency
# ----------------------------------------------------------------------------------------------------------------


def language_consistency(rows: Sequence[Mapping], text_key: str = "response") -> dict:
    """Where each response's language falls relative to its prompt's (language.CLASSES), overall and per language.

    "overall"/"lang" hold the consistent share among responses whose language could be told (undetermined ones
    are the undecided count); "classes" holds, per group, the count of each class and the shares answered in
    another of the 12 languages and outside them, each an exact interval over the determined responses.
    Adds "detected_lang" and "language_class" to each row in place, for audit."""
    for row in rows:
        row["language_class"], row["detected_lang"] = consistency_class(row["lang"], row.get(text_key) or "")
    by_lang: dict[str, list] = defaultdict(list)
    for row in rows:
        by_lang[row["lang"]].append(row)
    consistent = [{"lang": r["lang"], "ok": None if r["language_class"] == "undetermined"
                   else r["language_class"] == "consistent"} for r in rows]
    out = {
        "overall": grouped_rates(consistent, "ok", None)["all"],
        "lang": grouped_rates(consistent, "ok", "lang"),
    }
    classes = {"all": _class_summary(rows)}
    for lang in ordered(by_lang):
        classes[lang] = _class_summary(by_lang[lang])
    out["classes"] = classes
    return out


def _class_summary(rows: Sequence[Mapping]) -> dict:
    counts = Counter(r["language_class"] for r in rows)
    determined = [r["language_class"] for r in rows if r["language_class"] != "undetermined"]
    undetermined = [None] * counts["undetermined"]
    return {"counts": {c: counts.get(c, 0) for c in CLASSES},
            "other_12": rate([c == "other_12" for c in determined] + undetermined).to_dict(),
            "outside_12": rate([c == "outside_12" for c in determined] + undetermined).to_dict(),
            "wrong_languages": dict(Counter(r["detected_lang"] for r in rows
                                            if r["language_class"] in ("other_12", "outside_12")).most_common())}


# ----------------------------------------------------------------------------------------------------------------
# Paired changes and cross-lingual transfer
# ----------------------------------------------------------------------------------------------------------------


def paired_change(first: Mapping[str, bool | None], second: Mapping[str, bool | None]) -> dict:
    """McNemar's exact test between two runs' outcomes on the items both decided (keyed by item id)."""
    shared = [k for k in first if k in second and first[k] is not None and second[k] is not None]
    result = mcnemar_exact([bool(first[k]) for k in shared], [bool(second[k]) for k in shared])
    return {**result, "first_rate": (sum(bool(first[k]) for k in shared) / len(shared)) if shared else None,
            "second_rate": (sum(bool(second[k]) for k in shared) / len(shared)) if shared else None}


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
