"""Exact intervals for rates: every share of k in n that a report prints carries its Clopper-Pearson interval.

An exact interval stays honest where the rates this project cares about live (0-5%, or 100% of a small audit),
where percentile bootstraps collapse to [0, 0] or [1, 1].
"""

from __future__ import annotations


def exact_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float | None, float | None]:
    """Clopper-Pearson interval of a binomial proportion; (None, None) when n is 0."""
    if n == 0:
        return None, None
    from scipy.stats import binomtest

    ci = binomtest(int(successes), int(n)).proportion_ci(confidence_level=confidence, method="exact")
    return float(ci.low), float(ci.high)


def rate(successes: int, n: int, confidence: float = 0.95) -> dict:
    """{"k", "n", "rate", "ci_low", "ci_high", "interval"}; rate and bounds are None when n is 0."""
    low, high = exact_interval(successes, n, confidence)
    return {"k": int(successes), "n": int(n), "rate": successes / n if n else None, "ci_low": low, "ci_high": high,
            "interval": f"clopper-pearson {round(confidence * 100)}%"}
