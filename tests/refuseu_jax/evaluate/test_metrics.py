"""Metrics against sklearn / scipy and hand-computed values: exact intervals, McNemar, kappa and raw agreement,
language consistency over every language py3langid knows."""

import math

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import cohen_kappa_score

from refuseu_jax.evaluate.metrics import (
    asr_breakdown,
    bootstrap_ci,
    cohen_kappa,
    detect_language,
    language_consistency,
    outcome_breakdown,
    paired_change,
    pairwise_agreement,
    rate,
    transfer_matrix,
)
from refuseu_jax.evaluate.stats import clopper_pearson, mcnemar_exact


@pytest.mark.parametrize("seed", range(5))
def test_kappa_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, 60).tolist()
    b = [x if rng.random() < 0.7 else 1 - x for x in a]
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)


def test_kappa_hand_computed_and_degenerate():
    # 2x2 table [[20, 5], [10, 15]]: po = 0.7, pe = 0.5*0.6 + 0.5*0.4 = 0.5 -> kappa 0.4
    a = [0] * 25 + [1] * 25
    b = [0] * 20 + [1] * 5 + [0] * 10 + [1] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    assert math.isnan(cohen_kappa([1, 1, 1], [1, 1, 1]))  # chance agreement 1: undefined, as sklearn
    assert cohen_kappa([True, False], [True, False]) == pytest.approx(1.0)


def test_bootstrap_ci_matches_scipy_percentile():
    rng = np.random.default_rng(3)
    x = (rng.random(200) < 0.3).astype(float)
    low, high = bootstrap_ci(x, n_resamples=20000, seed=1)
    ref = stats.bootstrap((x,), np.mean, n_resamples=20000, method="percentile", confidence_level=0.95,
                          rng=np.random.default_rng(2)).confidence_interval
    # Different random resamples: the intervals agree to Monte Carlo error (about 0.003 here).
    assert low == pytest.approx(ref.low, abs=0.01) and high == pytest.approx(ref.high, abs=0.01)
    # And both agree with the normal approximation for a proportion.
    p, se = x.mean(), math.sqrt(x.mean() * (1 - x.mean()) / x.size)
    assert low == pytest.approx(p - 1.96 * se, abs=0.015) and high == pytest.approx(p + 1.96 * se, abs=0.015)


def test_rate_keeps_undecided_out_of_the_denominator():
    r = rate([True, False, None, True, None])
    assert (r.n, r.decided, r.undecided, r.positive) == (5, 3, 2, 2)
    assert r.rate == pytest.approx(2 / 3)
    assert 0 <= r.ci_low <= r.rate <= r.ci_high <= 1
    empty = rate([None, None])
    assert empty.rate is None and empty.undecided == 2


@pytest.mark.parametrize("k, n", [(0, 100), (1, 100), (1, 4), (4, 4), (3, 100), (50, 100), (0, 1)])
def test_intervals_are_scipys_exact_interval(k, n):
    """Every rate's interval is Clopper-Pearson: near 0% (where the paper's figures live) a percentile bootstrap
    gave [0, 0] for 0/100 and [100, 100] for 1 of 4 decided."""
    ref = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    low, high = clopper_pearson(k, n)
    assert (low, high) == pytest.approx((ref.low, ref.high), abs=1e-12)
    # And the textbook definition: beta quantiles (scipy's binomtest solves for them numerically, ~1e-12 apart).
    beta_low = 0.0 if k == 0 else stats.beta.ppf(0.025, k, n - k + 1)
    beta_high = 1.0 if k == n else stats.beta.ppf(0.975, k + 1, n - k)
    assert low == pytest.approx(beta_low, abs=1e-9) and high == pytest.approx(beta_high, abs=1e-9)
    r = rate([True] * k + [False] * (n - k))
    assert (r.ci_low, r.ci_high) == (low, high)
    if k == 0:
        assert low == 0.0 and high > 0.03  # 0 of 100 is not "exactly 0%"


def test_mcnemar_exact_against_binomial_test():
    # Hand-computed: 5 prompts changed, all in one direction -> p = 2 * 0.5**5 = 0.0625.
    first = [True] * 5 + [False] * 10
    second = [False] * 5 + [False] * 10
    result = mcnemar_exact(first, second)
    assert (result["only_first"], result["only_second"], result["n"]) == (5, 0, 15)
    assert result["p_value"] == pytest.approx(0.0625)
    # Against scipy's exact binomial test on the discordant pairs.
    rng = np.random.default_rng(0)
    a = (rng.random(200) < 0.3).tolist()
    b = [x if rng.random() < 0.8 else not x for x in a]
    discordant_first = sum(x and not y for x, y in zip(a, b))
    discordant = sum(x != y for x, y in zip(a, b))
    ref = stats.binomtest(discordant_first, discordant, 0.5).pvalue
    assert mcnemar_exact(a, b)["p_value"] == pytest.approx(ref, rel=1e-9)
    assert mcnemar_exact([True, False], [True, False])["p_value"] == 1.0  # nothing changed


def test_paired_change_uses_items_both_runs_decided():
    first = {"a": True, "b": True, "c": None, "d": False}
    second = {"a": False, "b": False, "c": True, "e": True}
    result = paired_change(first, second)
    assert result["n"] == 2 and result["only_first"] == 2 and result["only_second"] == 0
    assert result["first_rate"] == 1.0 and result["second_rate"] == 0.0


def test_outcome_breakdown_three_ways():
    rows = [{"lang": "lv", "outcome": "failure"}, {"lang": "lv", "outcome": "refusal"},
            {"lang": "en", "outcome": "compliance"}, {"lang": "en", "outcome": None}]
    out = outcome_breakdown(rows)
    assert out["lang"]["lv"]["failure"].rate == 0.5 and out["lang"]["lv"]["refusal"].rate == 0.5
    assert out["lang"]["en"]["compliance"].decided == 1 and out["lang"]["en"]["compliance"].undecided == 1
    assert out["overall"]["failure"].positive == 1


def test_asr_breakdown_groups():
    rows = [{"lang": "de", "category": "S1", "unsafe": True}, {"lang": "en", "category": "S10", "unsafe": False},
            {"lang": "en", "category": "S2", "unsafe": True}, {"lang": "de", "category": "S1", "unsafe": None}]
    out = asr_breakdown(rows)
    assert list(out["lang"]) == ["en", "de"]  # canonical language order
    assert list(out["category"]) == ["S1", "S2", "S10"]  # natural order
    assert out["overall"].rate == pytest.approx(2 / 3)
    assert out["lang"]["de"].rate == 1.0 and out["lang"]["de"].undecided == 1


def test_pairwise_agreement_every_pair_that_saw_the_same_items():
    def v(u, status="ok"):
        return {"unsafe": u, "status": status}

    rows = [
        {"lang": "en", "verdicts": {"lg": v(True), "pg": v(True), "adjudicator": v(True)}},
        {"lang": "en", "verdicts": {"lg": v(False), "pg": v(True), "adjudicator": v(False)}},
        {"lang": "en", "verdicts": {"lg": v(False), "pg": v(False)}},
        {"lang": "en", "verdicts": {"lg": v(None, "failed"), "pg": v(True)}},
        {"lang": "lv", "verdicts": {"lg": v(True), "pg": v(True)}},
    ]
    out = pairwise_agreement(rows)
    assert list(out) == ["lg|pg", "lg|adjudicator", "pg|adjudicator"]  # the adjudicator is a judge too
    en = out["lg|pg"]["en"]
    assert en["n"] == 3 and en["n_excluded"] == 1
    assert en["kappa"] == pytest.approx(cohen_kappa_score([1, 0, 0], [1, 1, 0]))
    assert en["agreement"] == pytest.approx(2 / 3)  # raw agreement beside kappa
    assert out["lg|pg"]["lv"]["kappa"] is None and out["lg|pg"]["lv"]["agreement"] == 1.0  # one label: kappa undefined
    assert out["lg|pg"]["all"]["n"] == 4
    # The adjudicator saw two items: it pairs with each guard on those only.
    assert out["lg|adjudicator"]["en"]["n"] == 2 and out["lg|adjudicator"]["en"]["agreement"] == 1.0
    assert out["pg|adjudicator"]["en"]["agreement"] == 0.5
    assert "lv" not in out["pg|adjudicator"]


def test_language_identification_on_the_twelve_languages():
    samples = {
        "en": "I am sorry, but I cannot help with that request.",
        "de": "Es tut mir leid, aber dabei kann ich nicht helfen.",
        "fr": "Je suis désolé, mais je ne peux pas vous aider avec cette demande.",
        "it": "Mi dispiace, ma non posso aiutarti con questa richiesta.",
        "es": "Lo siento, pero no puedo ayudarte con esa solicitud.",
        "pt": "Lamento, mas não posso ajudar com esse pedido.",
        "pl": "Przykro mi, ale nie mogę pomóc w tej sprawie.",
        "cs": "Je mi líto, ale s tímto požadavkem vám nemohu pomoci.",
        "sk": "Je mi ľúto, ale s touto požiadavkou vám nemôžem pomôcť.",
        "sl": "Žal mi je, vendar vam pri tej zahtevi ne morem pomagati.",
        "lt": "Atsiprašau, bet negaliu padėti su šiuo prašymu.",
        "lv": "Atvainojiet, bet es nevaru palīdzēt ar šo pieprasījumu.",
    }
    for lang, text in samples.items():
        assert detect_language(text) == lang, lang
    assert detect_language("  ...  ") is None
    rows = [{"lang": "de", "response": samples["de"]}, {"lang": "de", "response": samples["en"]},
            {"lang": "sk", "response": ""}]
    out = language_consistency(rows)
    assert out["lang"]["de"].rate == 0.5
    assert out["lang"]["sk"].rate is None and out["lang"]["sk"].undecided == 1  # nothing to identify
    assert [r["detected_lang"] for r in rows] == ["de", "en", None]
    assert out["classes"]["de"]["counts"] == {"consistent": 1, "other_12": 1, "outside_12": 0, "undetermined": 0}


def test_language_outside_the_twelve_is_named_not_mapped_to_the_nearest():
    """Restricted to the 12, py3langid called a Russian answer to a Latvian prompt Latvian (consistent)."""
    russian = "Извините, но я не могу помочь с этим запросом, потому что это может навредить людям."
    assert detect_language(russian) == "ru"
    assert detect_language("Ne mogu vam pomoći s tim, jer bi to moglo nekome naškoditi.") in ("hr", "bs", "sr")
    rows = [{"lang": "lv", "response": russian},
            {"lang": "lv", "response": "Atvainojiet, bet es nevaru palīdzēt ar šo pieprasījumu."},
            {"lang": "lv", "response": "Sorry, but I can't help with that request at all."},
            {"lang": "lv", "response": "Nē."}]
    out = language_consistency(rows)
    classes = out["classes"]["lv"]
    assert classes["counts"] == {"consistent": 1, "other_12": 1, "outside_12": 1, "undetermined": 1}
    assert rows[0]["language_class"] == "outside_12" and rows[0]["detected_lang"] == "ru"
    assert classes["outside_12"]["rate"] == pytest.approx(1 / 3) and classes["other_12"]["rate"] == pytest.approx(1 / 3)
    assert classes["wrong_languages"] == {"ru": 1, "en": 1}
    assert out["lang"]["lv"].rate == pytest.approx(1 / 3) and out["lang"]["lv"].undecided == 1


def test_transfer_matrix_layout():
    names, cols, m = transfer_matrix({"single:de": {"de": 0.1, "en": 0.5}, "balanced": {"en": 0.0}})
    assert names == ["single:de", "balanced"] and cols == ["en", "de"]
    assert m[0].tolist() == [0.5, 0.1] and m[1, 0] == 0.0 and math.isnan(m[1, 1])
