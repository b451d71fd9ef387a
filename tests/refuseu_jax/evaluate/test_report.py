"""Report tables from synthetic metrics: MMLU drop columns, transfer matrix, never mixing ASR and non-refusal."""

import json

from refuseu_jax.evaluate.report import markdown_compare, markdown_run, write_comparison


def rate(r, n=4):
    return {"n": n, "decided": n, "undecided": 0, "positive": round(r * n), "rate": r, "ci_low": r / 2,
            "ci_high": min(1.0, r * 1.5)}


def run(name, rates, asr=None, mmlu=None):
    section = {"overall": rate(sum(rates.values()) / len(rates)), "lang": {k: rate(v) for k, v in rates.items()},
               "category": {"S1": rate(0.5)}}
    return {"run": name, "model": name, "data": "bundled", "split": "test", "n": 4 * len(rates),
            "non_refusal_rate": section, "asr": asr, "language_consistency": section, "judge_agreement": None,
            "judge_status": {"refusal_judge": {"ok": 4 * len(rates)}}, "mmlu": mmlu}


def mmlu(de, cs):
    return {"overall": {"n": 20, "accuracy": (de + cs) / 2},
            "per_language": {"de": {"n": 10, "accuracy": de}, "cs": {"n": 10, "accuracy": cs}}}


def test_compare_tables_and_transfer_matrix(tmp_path):
    runs = [run("base", {"en": 0.75, "lv": 1.0}, mmlu=mmlu(0.5, 0.4)),
            run("single:lv", {"en": 0.5, "lv": 0.25}, mmlu=mmlu(0.45, 0.4))]
    md = markdown_compare(runs)
    assert "| en | 75.0 | 50.0 | -25.0 |" in md and "| lv | 100.0 | 25.0 | -75.0 |" in md
    assert "| de | 50.0 | 45.0 (+5.00) |" in md  # accuracy, then the drop vs the first run in points
    summary = write_comparison(runs, tmp_path)
    assert summary["matrix"] == [[0.75, 1.0], [0.5, 0.25]] and summary["runs"] == ["base", "single:lv"]
    assert json.loads((tmp_path / "comparison.json").read_text())["rate"] == "non_refusal_rate"


def test_asr_used_only_when_every_run_has_it():
    with_asr = run("a", {"en": 0.5}, asr={"rule": "paper", "judges": ["lg", "pg"], "overall": rate(0.1),
                                          "lang": {"en": rate(0.1)}, "category": {}})
    assert "ASR (guard ensemble) per language" in markdown_compare([with_asr, with_asr])
    assert "Non-refusal rate (offline refusal judge) per language" in markdown_compare([with_asr, run("b", {"en": 1})])
    single = markdown_run({**with_asr, "mmlu": {**mmlu(0.5, 0.4), "drop_vs_baseline": {"de": 0.01, "overall": 0.0}}})
    assert "## ASR (guard ensemble)" in single and "| de | 10 | 50.0 | 1.00 |" in single
