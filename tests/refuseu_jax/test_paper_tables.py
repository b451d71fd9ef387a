"""The paper report's tables from evaluation metrics (the shape `refuseu eval` writes), without running anything:
layout, the numbers carried over unchanged, the over-refusal column beside ASR, changes against the start point,
and the tables left out when a measurement is missing."""

from __future__ import annotations

import pytest

from refuseu_jax.paper.tables import MEAN, POOLED, all_tables, table1


def rate(value, n=10, undecided=0):
    return {"n": n, "decided": n - undecided, "undecided": undecided, "positive": round(value * (n - undecided)),
            "rate": value, "ci_low": max(0.0, value - 0.1), "ci_high": min(1.0, value + 0.1)}


def metrics(asr: dict, consistency: dict, benign: dict | None = None, mmlu: dict | None = None) -> dict:
    return {"asr": {"overall": rate(sum(asr.values()) / len(asr), n=10 * len(asr)), "lang": {k: rate(v) for k, v in
                                                                                          asr.items()}},
            "non_refusal_rate": {"overall": rate(0.5), "lang": {k: rate(0.5) for k in asr}},
            "language_consistency": {"overall": rate(0.8), "lang": {k: rate(v) for k, v in consistency.items()}},
            "benign": None if benign is None else {"refusal_rate": {"overall": rate(0.1), "lang": {
                k: rate(v) for k, v in benign.items()}}},
            "mmlu": mmlu, "judge_agreement": None, "fluency": None}


RUNS = {
    "baseline": metrics({"en": 0.6, "lv": 0.7}, {"en": 0.9, "lv": 0.5}, {"en": 0.0, "lv": 0.1},
                        {"overall": {"n": 8, "accuracy": 0.5}, "per_language": {"en": {"n": 4, "accuracy": 0.75},
                                                                                "lv": {"n": 4, "accuracy": 0.25}}}),
    "balanced": metrics({"en": 0.1, "lv": 0.2}, {"en": 0.95, "lv": 0.6}, {"en": 0.2, "lv": 0.3},
                        {"overall": {"n": 8, "accuracy": 0.375}, "per_language": {"en": {"n": 4, "accuracy": 0.5},
                                                                                  "lv": {"n": 4, "accuracy": 0.25}}}),
}


def test_table1_puts_over_refusal_beside_each_runs_asr():
    t = table1(RUNS)
    assert t.header == ["language", "baseline", "baseline over-refusal", "balanced", "balanced over-refusal"]
    assert [row[0] for row in t.rows] == ["en", "lv", POOLED, MEAN]
    en = t.rows[0]
    assert en[1] == "60.0 [50.0, 70.0]" and en[2] == "0.0 [0.0, 10.0]" and en[3] == "10.0 [0.0, 20.0]"
    assert t.rows[-1] == [MEAN, "65.0", "5.0", "15.0", "25.0"]
    over = [r for r in t.records if r.get("measure") == "over_refusal"]
    assert {(r["run"], r["language"]): r["value"] for r in over if r["language"] != POOLED} == {
        ("baseline", "en"): 0.0, ("baseline", "lv"): 0.1, ("balanced", "en"): 0.2, ("balanced", "lv"): 0.3}
    without = table1({name: {**m, "benign": None} for name, m in RUNS.items()})
    assert without.header == ["language", "baseline", "balanced"] and "Over-refusal" not in without.note


def test_all_tables_carry_the_numbers_and_changes_and_say_what_is_missing():
    tables, missing = all_tables(RUNS, "baseline", ["baseline", "balanced"])
    by = {t.name: t for t in tables}
    assert set(by) == {"table1_asr", "table2_transfer", "table3_mmlu", "language_consistency"}
    assert any("Judge agreement" in m for m in missing) and any("Fluency" in m for m in missing)
    transfer = by["table2_transfer"]
    assert transfer.header == ["trained on", "en", "lv", MEAN]
    assert transfer.rows == [["baseline", "60.0", "70.0", "65.0"], ["balanced", "10.0", "20.0", "15.0"]]
    mmlu = by["table3_mmlu"]
    assert mmlu.header == ["language", "baseline", "balanced", "drop balanced (pp)"]
    assert mmlu.rows[0] == ["en", "75.0", "50.0", "+25.00"] and mmlu.rows[-1] == ["all", "50.0", "37.5", "+12.50"]
    drop = next(r for r in mmlu.records if r["run"] == "balanced" and r["language"] == "en")
    assert drop["drop"] == pytest.approx(0.25)
    consistency = by["language_consistency"]
    assert consistency.rows[1] == ["lv", "50.0 [40.0, 60.0]", "60.0 [50.0, 70.0] (+10.0)"]


def test_without_guards_every_safety_table_uses_the_non_refusal_rate_and_says_so():
    runs = {name: {**m, "asr": None} for name, m in RUNS.items()}
    by = {t.name: t for t in all_tables(runs, "baseline", ["baseline", "balanced"])[0]}
    for name in ("table1_asr", "table2_transfer"):
        assert "Non-refusal rate" in by[name].title and "ASR" not in by[name].title
    assert by["table2_transfer"].rows == [["baseline", "50.0", "50.0", "50.0"], ["balanced", "50.0", "50.0", "50.0"]]
