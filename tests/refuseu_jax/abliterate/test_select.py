"""Selection: the paper's scores against scipy, refusal tokens read off judged answers, filters and the choice."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import log_softmax
from scipy.stats import entropy

from data_tools.errors import UserError
from refuseu_jax.abliterate.select import (Scorer, SelectionSpec, kl_divergence, refusal_scores,
                                           refusal_tokens_from_answers, select_direction)


def _logprobs(rng, n, v=11):
    return log_softmax(rng.normal(size=(n, v)) * 2.0, axis=-1)


def test_refusal_score_is_the_log_odds_of_the_refusal_tokens():
    lp = _logprobs(np.random.RandomState(0), 4)
    p = np.exp(lp)[:, [2, 5]].sum(axis=1)
    np.testing.assert_allclose(refusal_scores(lp, [2, 5]), np.log(p + 1e-8) - np.log(1 - p + 1e-8), rtol=1e-12)
    assert (refusal_scores(np.log(np.eye(3) + 1e-30), [0])[[0, 1]] * [1, -1] > 15).all()  # sure refusal / sure not


def test_kl_matches_scipy():
    rng = np.random.RandomState(1)
    p, q = _logprobs(rng, 5), _logprobs(rng, 5)
    np.testing.assert_allclose(kl_divergence(p, q), [entropy(np.exp(a), np.exp(b)) for a, b in zip(p, q)], rtol=1e-9)
    np.testing.assert_allclose(kl_divergence(p, p), 0.0, atol=1e-12)


def test_refusal_tokens_are_first_tokens_that_mostly_start_refusals():
    first = [7, 7, 7, 3, 3, 3, 3, 9, 9, 5]
    refused = [True, True, False, True, False, False, None, True, True, True]
    tokens = refusal_tokens_from_answers(first, refused)
    # 7: 2 refusals vs 1 other (kept); 3: 1 vs 2 (dropped); 9: 2 vs 0 (kept); 5: a single refusal (dropped)
    assert tokens == {7: {"refusals": 2, "other": 1}, 9: {"refusals": 2, "other": 0}}


class _Synthetic:
    """A stand-in model: candidate directions are one-hot [tail, L, H] codes, and each score is a table lookup,
    so the selection logic is checked against known answers."""

    def __init__(self, bypass, kl, induce, judged):
        self.bypass, self.kl, self.induce, self.judged = bypass, kl, induce, judged
        self.calls = {"added": 0, "judged": 0}
        self.judged_pairs = []

    @staticmethod
    def code(vec):
        return int(np.argmax(vec))

    def ablated(self, vec):
        c = self.code(vec)
        p0 = 1.0 / (1 + np.exp(-self.bypass[c]))  # token 0 (the refusal token) at the bypass log-odds
        harmful = np.log(np.array([[p0, 1 - p0]]))
        q = _q_for_kl(self.kl[c])  # harmless: a distribution at KL kl[c] from the base [0.5, 0.5]
        return harmful, np.log(np.array([[q, 1 - q]]))

    def added(self, vec, layer):
        self.calls["added"] += 1
        p0 = 1.0 / (1 + np.exp(-self.induce[self.code(vec)]))
        return np.log(np.array([[p0, 1 - p0]]))

    def judge(self, vec, cand):
        self.calls["judged"] += 1
        self.judged_pairs.append((self.code(vec), cand))
        return self.judged[self.code(vec)]


def _q_for_kl(kl: float) -> float:
    """q with KL([0.5, 0.5] || [q, 1 - q]) = kl (bisection on q in (0, 0.5])."""
    lo, hi = 1e-12, 0.5
    for _ in range(200):
        mid = (lo + hi) / 2
        value = 0.5 * np.log(0.5 / mid) + 0.5 * np.log(0.5 / (1 - mid))
        lo, hi = (mid, hi) if value > kl else (lo, mid)
    return (lo + hi) / 2


def test_selection_filters_and_picks_by_judged_answers_then_bypass():
    tail, layers = 2, 5
    n = tail * layers
    candidates = np.eye(n).reshape(tail, layers, n) * 3.0  # candidate (i, l) has code i * layers + l
    bypass = np.linspace(-5, 4, n)  # code 0 bypasses best
    kl = np.full(n, 0.01)
    induce = np.full(n, 1.0)
    judged = {c: (4, 0, 8) for c in range(n)}
    kl[0] = 0.5  # code 0: best bypass, but breaks harmless answers
    induce[1] = -2.0  # code 1: adding it does not induce refusal
    # code 4 (layer 4 of 5) is in the last 20% of layers; codes 2, 3, 5 are the three best survivors
    judged[2] = (3, 2, 8)  # fewer refusals but unreadable answers: 5 of 8 not compliance
    judged[3] = (2, 0, 8)  # 2 of 8: the winner
    judged[5] = (2, 0, 8)  # tie on answers, worse bypass
    syn = _Synthetic(bypass, kl, induce, judged)
    base = np.log(np.array([[0.5, 0.5]]))
    scored, chosen = select_direction(candidates, ["a", "b"], [0], base, Scorer(syn.ablated, syn.added, syn.judge),
                                      SelectionSpec(kl_bound=0.1, prune_layers=0.2, judged_candidates=3))
    assert len(scored) == n
    by_code = {c.layer + layers * (c.position + tail): c for c in scored}
    assert [c.position for c in scored[:layers]] == [-2] * layers and scored[0].token == "a"
    for code, cand in by_code.items():
        if cand.layer == 4:  # pruned layer: not scored
            assert cand.bypass is None and cand.kl is None and cand.induce is None
            continue
        assert cand.bypass == pytest.approx(bypass[code], abs=1e-5)  # the score's eps of 1e-8
        assert cand.kl == pytest.approx(kl[code], abs=1e-6)
    # KL-filtered, still scored in full: the report shows whether it would have induced refusal
    assert by_code[0].discarded.startswith("kl") and by_code[0].induce is not None
    assert by_code[1].discarded.startswith("induce")
    assert by_code[4].discarded.startswith("layer") and by_code[9].discarded.startswith("layer")
    assert syn.calls["judged"] == 3
    assert all(code == cand.layer + layers * (cand.position + tail) for code, cand in syn.judged_pairs)
    assert {c for c, cand in by_code.items() if cand.judged_refusal is not None} == {2, 3, 5}
    assert by_code[2].judged_refusal == pytest.approx(3 / 6) and by_code[2].judged_failure == pytest.approx(2 / 8)
    assert chosen is by_code[3] and chosen.selected and sum(c.selected for c in scored) == 1
    # activation addition ran once for every candidate outside the pruned layers
    assert syn.calls["added"] == sum(1 for c in scored if c.induce is not None) == n - 2
    for code, cand in by_code.items():
        if cand.induce is not None:
            assert cand.induce == pytest.approx(induce[code], abs=1e-5)


def test_selection_returns_none_when_everything_is_discarded():
    candidates = np.eye(4).reshape(1, 4, 4)
    syn = _Synthetic(np.zeros(4), np.full(4, 1.0), np.ones(4), {c: (0, 0, 1) for c in range(4)})
    scored, chosen = select_direction(candidates, ["x"], [0], np.log(np.array([[0.5, 0.5]])),
                                      Scorer(syn.ablated, syn.added, syn.judge), SelectionSpec(kl_bound=0.1))
    assert chosen is None and all(c.discarded for c in scored) and syn.calls["judged"] == 0


def test_selection_spec_rejects_bad_values():
    with pytest.raises(UserError, match="prune_layers"):
        SelectionSpec(prune_layers=1.0)
    with pytest.raises(UserError, match="kl_bound"):
        SelectionSpec(kl_bound=0)
    assert SelectionSpec(prune_layers=0.2).layer_limit(30) == 24  # the paper: discard the last 20%
