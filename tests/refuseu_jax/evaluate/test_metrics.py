"""Metrics against sklearn / scipy and hand-computed values."""

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
    pairwise_kappa,
    rate,
    transfer_matrix,
)


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


def test_asr_breakdown_groups():
    rows = [{"lang": "de", "category": "S1", "unsafe": True}, {"lang": "en", "category": "S10", "unsafe": False},
            {"lang": "en", "category": "S2", "unsafe": True}, {"lang": "de", "category": "S1", "unsafe": None}]
    out = asr_breakdown(rows)
    assert list(out["lang"]) == ["en", "de"]  # canonical language order
    assert list(out["category"]) == ["S1", "S2", "S10"]  # natural order
    assert out["overall"].rate == pytest.approx(2 / 3)
    assert out["lang"]["de"].rate == 1.0 and out["lang"]["de"].undecided == 1


def test_pairwise_kappa_per_language_excludes_failures():
    def v(u, status="ok"):
        return {"unsafe": u, "status": status}

    rows = [
        {"lang": "en", "verdicts": {"lg": v(True), "pg": v(True)}},
        {"lang": "en", "verdicts": {"lg": v(False), "pg": v(True)}},
        {"lang": "en", "verdicts": {"lg": v(False), "pg": v(False)}},
        {"lang": "en", "verdicts": {"lg": v(None, "failed"), "pg": v(True)}},
        {"lang": "lv", "verdicts": {"lg": v(True), "pg": v(True)}},
    ]
    out = pairwise_kappa(rows, ["lg", "pg"])["lg|pg"]
    assert out["en"]["n"] == 3 and out["en"]["n_excluded"] == 1
    assert out["en"]["kappa"] == pytest.approx(cohen_kappa_score([1, 0, 0], [1, 1, 0]))
    assert out["lv"]["kappa"] is None  # one label only: undefined, reported as missing


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
    assert out["lang"]["de"].rate == 0.5 and out["lang"]["sk"].rate == 0.0
    assert [r["detected_lang"] for r in rows] == ["de", "en", None]


def test_transfer_matrix_layout():
    names, cols, m = transfer_matrix({"single:de": {"de": 0.1, "en": 0.5}, "balanced": {"en": 0.0}})
    assert names == ["single:de", "balanced"] and cols == ["en", "de"]
    assert m[0].tolist() == [0.5, 0.1] and m[1, 0] == 0.0 and math.isnan(m[1, 1])
