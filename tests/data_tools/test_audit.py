"""The three-question audit: sheets round-trip through CSV and XLSX; rates, exact intervals, missing counts and
kappa against hand-computed values, scipy and scikit-learn."""

from __future__ import annotations

import pytest

from data_tools.errors import UserError
from data_tools.steps import audit

TRICKY = ["=1+1 is not a formula", "commas, \"quotes\" and\nnew lines", "  padded  ", "Žluťoučký kůň ķēde ąę",
          "@SUM(A1)", "+49 123", "-5", "0042"]


def sheet_rows(n: int = 8) -> list[dict]:
    rows = []
    for i in range(n):
        row = {c: "" for c in audit.SHEET_COLUMNS}
        row.update(id=f"rec-{i}", lang=("de", "lv")[i % 2], category="S1", category_name="Violent Crimes",
                   category_description="Violent crimes.", style="Slang", style_description="Slang.", split="test",
                   prompt=TRICKY[i % len(TRICKY)], chosen="Das kann ich nicht tun.",
                   rejected="Sure, here is how. Step 1: [details omitted]")
        rows.append(row)
    return rows


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_sheets_round_trip(tmp_path, kind):
    rows = sheet_rows()
    rows[1]["q1_chosen_safe_refusal"] = "yes"
    rows[2]["notes"] = "unsure; see row 3"
    path = tmp_path / f"sheet.{kind}"
    if kind == "csv":
        path.write_text(audit.to_csv(rows), encoding="utf-8")
    else:
        path.write_bytes(audit.to_xlsx(rows))
    back = [row for _, row in audit.read_sheet(path)]
    assert back == rows


def test_xlsx_has_drop_downs_an_instructions_sheet_and_keeps_formulas_out(tmp_path):
    from openpyxl import load_workbook

    path = tmp_path / "sheet.xlsx"
    path.write_bytes(audit.to_xlsx(sheet_rows(3)))
    book = load_workbook(path)
    sheet = book["audit"]
    assert sheet["I2"].value == "=1+1 is not a formula" and sheet["I2"].data_type == "s"
    assert [dv.formula1 for dv in sheet.data_validations.dataValidation] == ['"yes,no"']
    assert sheet.freeze_panes == "B2"
    assert [row[0] for row in book["instructions"].iter_rows(min_row=2, values_only=True)] == [*audit.QUESTIONS, "notes"]


def test_answers_typed_as_numbers_or_booleans_in_xlsx(tmp_path):
    from openpyxl import load_workbook

    path = tmp_path / "sheet.xlsx"
    path.write_bytes(audit.to_xlsx(sheet_rows(2)))
    book = load_workbook(path)
    header = [c.value for c in book["audit"][1]]
    q1, q2 = header.index("q1_chosen_safe_refusal") + 1, header.index("q2_prompt_on_topic") + 1
    book["audit"].cell(row=2, column=q1, value=1)
    book["audit"].cell(row=2, column=q2, value=False)
    book["audit"].cell(row=3, column=q1, value="No")
    book.save(path)
    first, second = audit.read_answers(path)
    assert (first["q1_chosen_safe_refusal"], first["q2_prompt_on_topic"], first["rejected_harmful"]) == (True, False, None)
    assert second["q1_chosen_safe_refusal"] is False


def test_bad_answers_and_foreign_files_are_one_line_errors(tmp_path):
    rows = sheet_rows(2)
    rows[1]["q3_prompt_follows_style"] = "maybe"
    path = tmp_path / "answers.csv"
    path.write_text(audit.to_csv(rows), encoding="utf-8")
    with pytest.raises(UserError, match=r"answers.csv:3: column 'q3_prompt_follows_style' has 'maybe'"):
        audit.read_answers(path)
    (tmp_path / "old.csv").write_text("id,lang,review_prompt_unsafe\nx,de,unsafe\n", encoding="utf-8")
    with pytest.raises(UserError, match="missing column 'q1_chosen_safe_refusal'"):
        audit.read_answers(tmp_path / "old.csv")
    (tmp_path / "x.xlsx").write_bytes(b"PK not really")
    with pytest.raises(UserError, match="not a readable .xlsx"):
        audit.read_answers(tmp_path / "x.xlsx")


def _answers_and_labels():
    """Eight German records, six filled: hand-countable rates and kappa."""
    yes, no, blank = True, False, None
    table = [  # q1, q2, q3, rejected_harmful ; guard chosen unsafe, guard rejected unsafe
        (yes, yes, yes, yes, False, True),
        (yes, yes, no, yes, False, True),
        (no, yes, yes, yes, True, True),
        (yes, no, no, no, False, True),
        (yes, yes, yes, yes, False, False),
        (no, yes, blank, yes, False, True),
        (blank, blank, blank, blank, False, True),
        (yes, yes, yes, blank, None, True),
    ]
    answers, labels = [], {}
    for i, (q1, q2, q3, rh, gc, gr) in enumerate(table):
        answers.append({"id": f"r{i}", "lang": "de", "q1_chosen_safe_refusal": q1, "q2_prompt_on_topic": q2,
                        "q3_prompt_follows_style": q3, "rejected_harmful": rh})
        labels[f"r{i}"] = {"llama_guard": {"chosen": gc, "rejected": gr}, "polyguard": {"chosen": False, "rejected": True}}
    return answers, labels


def test_rates_missing_counts_and_exact_intervals_by_hand():
    from scipy.stats import beta

    answers, labels = _answers_and_labels()
    de = audit.score(answers, labels)["de"]
    q1, q3 = de["rates"]["q1_chosen_safe_refusal"], de["rates"]["q3_prompt_follows_style"]
    assert (q1["k"], q1["n"]) == (5, 7) and de["missing"]["q1_chosen_safe_refusal"] == 1
    assert (q3["k"], q3["n"]) == (4, 6) and de["missing"]["q3_prompt_follows_style"] == 2
    assert de["rates"]["q2_prompt_on_topic"]["rate"] == pytest.approx(6 / 7)
    assert de["rates"]["rejected_harmful"]["k"] == 5 and de["missing"]["rejected_harmful"] == 2
    assert q1["ci_low"] == pytest.approx(beta.ppf(0.025, 5, 3), abs=1e-12)
    assert q1["ci_high"] == pytest.approx(beta.ppf(0.975, 6, 2), abs=1e-12)


def test_guard_kappa_matches_sklearn_and_the_text_says_what_is_missing():
    from sklearn.metrics import cohen_kappa_score

    answers, labels = _answers_and_labels()
    table = audit.score(answers, labels)
    human, guard = [], []
    for a in answers:
        g = labels[a["id"]]["llama_guard"]
        if a["q1_chosen_safe_refusal"] is not None and g["chosen"] is not None:
            human.append(not a["q1_chosen_safe_refusal"])
            guard.append(g["chosen"])
        if a["rejected_harmful"] is not None:
            human.append(a["rejected_harmful"])
            guard.append(g["rejected"])
    lg = table["de"]["guards"]["llama_guard"]
    assert lg["n"] == len(human) == 12
    assert lg["kappa"] == pytest.approx(cohen_kappa_score(human, guard))
    assert lg["agreement"] == pytest.approx(sum(h == g for h, g in zip(human, guard)) / len(human))
    assert lg["kappa_ci_low"] <= lg["kappa"] <= lg["kappa_ci_high"]
    text = audit.format_score(table)
    assert "answered 26 of 32 questions in 8 rows; missing 6" in text


def test_balanced_sample_over_categories():
    records = [{"id": f"{lang}-{c}-{i}", "lang": lang, "category": c} for lang in ("de", "lv")
               for c, n in (("S1", 10), ("S2", 10), ("S9", 1)) for i in range(n)]
    sample = audit.stratified_sample(records, per_language=7, seed=0)
    from collections import Counter

    per = Counter((r["lang"], r["category"]) for r in sample)
    assert per == {("de", "S1"): 3, ("de", "S2"): 3, ("de", "S9"): 1, ("lv", "S1"): 3, ("lv", "S2"): 3, ("lv", "S9"): 1}
