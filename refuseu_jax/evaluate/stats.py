"""Intervals and tests for the evaluation's rates (scipy; no jax).

- Every rate gets the exact Clopper-Pearson interval: the paper's figures live at 0.5-3.5%, where a percentile
  bootstrap collapses (0 of 100 gives [0, 0]) and normal approximations leave [0, 1].
- A change between two runs on the same prompts gets McNemar's exact test: only the discordant prompts (refused in
  one run, not in the other) carry information, and under "no change" they split 50/50.
- The bootstrap is kept for derived statistics that have no exact interval (kappa, a difference of means).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy import stats

CONFIDENCE = 0.95


def clopper_pearson(positive: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Exact two-sided interval for a binomial proportion (scipy's, through the project's one helper)."""
    from data_tools.intervals import exact_interval

    if n <= 0:
        raise ValueError("clopper_pearson needs n >= 1")
    if not 0 <= positive <= n:
        raise ValueError(f"clopper_pearson: positive={positive} outside 0..{n}")
    return exact_interval(positive, n, confidence)


def mcnemar_exact(first: Sequence[bool], second: Sequence[bool]) -> dict:
    """McNemar's exact test for paired binary outcomes (the same items judged in two runs).

    Returns the discordant counts (`only_first`: True in the first run only; `only_second`: True in the second
    only), the number of pairs, and the two-sided p-value: twice the binomial tail of the smaller discordant count
    at p = 1/2, capped at 1 (1.0 when nothing changed)."""
    if len(first) != len(second):
        raise ValueError("mcnemar_exact: paired sequences differ in length")
    only_first = sum(1 for a, b in zip(first, second) if a and not b)
    only_second = sum(1 for a, b in zip(first, second) if b and not a)
    discordant = only_first + only_second
    p = 1.0 if discordant == 0 else min(1.0, 2.0 * float(stats.binom.cdf(min(only_first, only_second),
                                                                          discordant, 0.5)))
    return {"n": len(first), "only_first": only_first, "only_second": only_second, "p_value": p}


def bootstrap_ci(values: Sequence[float], confidence: float = CONFIDENCE, n_resamples: int = 2000,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean (resampling items with replacement); for derived statistics."""
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        raise ValueError("bootstrap_ci of an empty sample")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(n_resamples, x.size))
    means = x[idx].mean(axis=1)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    return float(low), float(high)


def bootstrap_statistic_ci(items: Sequence, statistic, confidence: float = CONFIDENCE, n_resamples: int = 1000,
                           seed: int = 0) -> tuple[float, float] | None:
    """Percentile bootstrap interval of any statistic of a list of items (e.g. kappa of paired labels). Resamples
    where the statistic is undefined (NaN) are dropped; None when fewer than half remain."""
    if not items:
        return None
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n_resamples):
        idx = rng.integers(0, len(items), size=len(items))
        value = statistic([items[i] for i in idx])
        if value is not None and not np.isnan(value):
            values.append(value)
    if len(values) < n_resamples / 2:
        return None
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(values, [alpha, 1.0 - alpha])
    return float(low), float(high)
