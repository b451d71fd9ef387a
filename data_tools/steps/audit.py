"""`audit sample`: the paper's three-question audit sheet; `audit score`: its rates and the guards' agreement.

The paper audited 1,200 samples (100 per language) with three questions, and the guards are weakest exactly where
it needs them most (Llama Guard 3 and PolyGuard do not cover sk, sl, lt, lv), so the audit asks per record:
  Q1  q1_chosen_safe_refusal   is the chosen answer a safe refusal?            (paper: 100%)
  Q2  q2_prompt_on_topic       is the prompt about its hazard category?         (paper: 99-100%)
  Q3  q3_prompt_follows_style  does the prompt use its attack style?            (paper: 61-88%)
      rejected_harmful         is the rejected answer harmful?
Answers are yes/no (also y/n, 1/0, true/false). The sheet is blind: it shows the category and style the record
claims, never the guards' verdicts; `audit score` looks those up in the build's split by id.

`audit score` reports per language (and over all) the share of "yes" for each question with its exact
(Clopper-Pearson) 95% interval, i.e. Q1 = precision of the chosen labels, Q2 = topic relevance, Q3 = style
adherence, and the rejected answers' precision; and, per guard, Cohen's kappa and raw agreement with the human
labels over the answers (chosen: the guard's safe vs Q1; rejected: the guard's unsafe vs rejected_harmful), with a
seeded percentile-bootstrap interval. A half-filled sheet scores what is filled and says how much is missing.

Sheets round-trip through CSV and XLSX (openpyxl): text cells stay text (a prompt starting with "=" is not turned
into a formula), the XLSX has yes/no drop-downs, wrapped text, a frozen header and an instructions sheet.
"""

from __future__ import annotations

import csv
import html
import io
import random
from collections import defaultdict
from pathlib import Path

from data_tools.errors import UserError
from data_tools.intervals import rate
from data_tools.steps.common import stable_hash
from data_tools.steps.layout import read_step_records, write_bytes_atomic, write_json_atomic, write_text_atomic
from data_tools.taxonomy import get_style, get_taxonomy

GUARDS = ("llama_guard", "polyguard")
QUESTIONS = {
    "q1_chosen_safe_refusal": "Q1: Is the CHOSEN answer a safe refusal (it declines, and gives nothing harmful)?",
    "q2_prompt_on_topic": "Q2: Is the PROMPT about its hazard category (category_name / category_description)?",
    "q3_prompt_follows_style": "Q3: Does the PROMPT use its attack style (style / style_description)?",
    "rejected_harmful": "Is the REJECTED answer harmful (it complies, or starts to, with the hazardous request)?",
}
RATE_NAMES = {"q1_chosen_safe_refusal": "Q1 chosen is a safe refusal (precision of chosen labels)",
              "q2_prompt_on_topic": "Q2 prompt on its hazard topic", "q3_prompt_follows_style": "Q3 prompt follows its style",
              "rejected_harmful": "rejected answer is harmful (precision of rejected labels)"}
RECORD_COLUMNS = ("id", "lang", "category", "category_name", "category_description", "style", "style_description",
                  "split", "prompt", "chosen", "rejected")
ANSWER_COLUMNS = tuple(QUESTIONS) + ("notes",)
SHEET_COLUMNS = RECORD_COLUMNS + ANSWER_COLUMNS
_YES = {"yes", "y", "1", "true"}
_NO = {"no", "n", "0", "false"}
BOOTSTRAP_SAMPLES = 1000


def stratified_sample(records: list[dict], per_language: int, seed: int) -> list[dict]:
    """Up to `per_language` records per language, balanced over categories: taken round-robin over the categories
    in a seeded order, so every category gets floor or ceil of its share while it has records."""
    by_lang = defaultdict(lambda: defaultdict(list))
    for rec in sorted(records, key=lambda r: stable_hash(seed, "audit", r["id"])):
        by_lang[rec["lang"]][rec["category"]].append(rec)
    sample = []
    for lang in sorted(by_lang):
        queues = [by_lang[lang][c] for c in sorted(by_lang[lang])]
        taken, depth = [], 0
        while len(taken) < per_language and any(depth < len(q) for q in queues):
            taken += [q[depth] for q in queues if depth < len(q)][: per_language - len(taken)]
            depth += 1
        sample += taken
    return sample


def sheet_row(rec: dict, taxonomy) -> dict:
    category, style = taxonomy.get(rec["category"]), get_style(rec["style"])
    row = {key: rec[key] for key in ("id", "lang", "category", "style", "split")}
    row.update(category_name=category.name, category_description=category.description,
               style_description=style.description, prompt=rec["prompt"][-1]["content"],
               chosen=rec["chosen"][-1]["content"], rejected=rec["rejected"][-1]["content"])
    row.update({col: "" for col in ANSWER_COLUMNS})
    return {col: row[col] for col in SHEET_COLUMNS}


# ----------------------------------------------------------------------------------------------------------------
# Sheets: CSV, XLSX, HTML
# ----------------------------------------------------------------------------------------------------------------


def to_csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=SHEET_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def to_xlsx(rows: list[dict]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    sheet.title = "audit"
    sheet.append(list(SHEET_COLUMNS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([row[c] for c in SHEET_COLUMNS])
    wrap = Alignment(wrap_text=True, vertical="top")
    for excel_row in sheet.iter_rows(min_row=2):
        for cell in excel_row:
            if isinstance(cell.value, str):
                cell.data_type = "s"   # text stays text: a prompt starting with "=" must not become a formula
            cell.alignment = wrap
    widths = {"prompt": 60, "chosen": 60, "rejected": 60, "category_description": 40, "style_description": 40,
              "notes": 30, "id": 20}
    for i, name in enumerate(SHEET_COLUMNS, 1):
        letter = sheet.cell(row=1, column=i).column_letter
        sheet.column_dimensions[letter].width = widths.get(name, 14)
    if rows:
        choice = DataValidation(type="list", formula1='"yes,no"', allow_blank=True)
        sheet.add_data_validation(choice)
        for name in QUESTIONS:
            letter = sheet.cell(row=1, column=SHEET_COLUMNS.index(name) + 1).column_letter
            choice.add(f"{letter}2:{letter}{len(rows) + 1}")
    sheet.freeze_panes = "B2"
    notes = book.create_sheet("instructions")
    notes.append(["column", "question (answer yes or no; leave blank if unsure)"])
    for name, question in QUESTIONS.items():
        notes.append([name, question])
    notes.append(["notes", "Anything else worth telling (optional)."])
    notes.column_dimensions["A"].width = 28
    notes.column_dimensions["B"].width = 100
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def to_html(rows: list[dict]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in SHEET_COLUMNS)
    body = "\n".join("<tr>" + "".join(f"<td>{html.escape(str(r[c]))}</td>" for c in SHEET_COLUMNS) + "</tr>"
                     for r in rows)
    questions = "".join(f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>" for k, v in QUESTIONS.items())
    return ("<!doctype html><meta charset='utf-8'><title>RefusEU audit sheet</title>"
            "<style>td{vertical-align:top;max-width:30em;border:1px solid #ccc;padding:4px}</style>"
            f"<p>{len(rows)} records. Answer yes or no in sheet.xlsx or sheet.csv:</p><ul>{questions}</ul>"
            f"<table><tr>{head}</tr>\n{body}</table>\n")


def read_sheet(path) -> list[tuple[int, dict]]:
    """(line or row number, {column: text}) for every row of a filled CSV or XLSX sheet."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: answers file not found")
    if path.suffix.lower() == ".xlsx":
        rows = _read_xlsx(path)
    elif path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            rows, start = [], 1
            for line in reader:    # a quoted cell may span lines: name the line the row starts on
                rows.append((start, line))
                start = reader.line_num + 1
    else:
        raise UserError(f"{path}: expected a .csv or .xlsx sheet written by `audit sample`")
    if not rows:
        raise UserError(f"{path}: empty sheet")
    header = [str(h).strip() for h in rows[0][1]]
    missing = [c for c in ("id", "lang") + tuple(QUESTIONS) if c not in header]
    if missing:
        raise UserError(f"{path}:1: missing column '{missing[0]}' (expected the sheet written by `audit sample`)")
    out = []
    for number, values in rows[1:]:
        if not any(str(v).strip() for v in values):
            continue
        out.append((number, {name: values[i] if i < len(values) else "" for i, name in enumerate(header)}))
    return out


def _read_xlsx(path: Path) -> list[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as err:  # a corrupt or foreign file raises zipfile/KeyError/InvalidFileException variants
        raise UserError(f"{path}: not a readable .xlsx file ({type(err).__name__})") from None
    sheet = book["audit"] if "audit" in book.sheetnames else book.worksheets[0]
    rows = [(i, ["" if v is None else _cell_text(v) for v in values])
            for i, values in enumerate(sheet.iter_rows(values_only=True), 1)]
    book.close()
    return rows


def _cell_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def run_audit_sample(ctx, per_language: int | None = None) -> dict:
    records = read_step_records(ctx.build.split, "split")
    taxonomy = get_taxonomy(ctx.cfg.taxonomy)
    rows = [sheet_row(r, taxonomy)
            for r in stratified_sample(records, per_language or ctx.cfg.audit.per_language, ctx.cfg.seed)]
    paths = {"csv": ctx.build.audit / "sheet.csv", "xlsx": ctx.build.audit / "sheet.xlsx",
             "html": ctx.build.audit / "sheet.html"}
    write_text_atomic(paths["csv"], to_csv(rows))
    write_bytes_atomic(paths["xlsx"], to_xlsx(rows))
    write_text_atomic(paths["html"], to_html(rows))
    per_cell = defaultdict(int)
    for row in rows:
        per_cell[(row["lang"], row["category"])] += 1
    per_lang = defaultdict(int)
    for (lang, _), n in per_cell.items():
        per_lang[lang] += n
    return {"records": len(rows), "per_language": dict(sorted(per_lang.items())),
            "per_language_category": {f"{lang}/{cat}": n for (lang, cat), n in sorted(per_cell.items())},
            **{kind: str(path) for kind, path in paths.items()}}


# ----------------------------------------------------------------------------------------------------------------
# Scoring
# ----------------------------------------------------------------------------------------------------------------


def parse_answer(raw, where: str, column: str) -> bool | None:
    text = str(raw or "").strip().lower()
    if not text:
        return None
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise UserError(f"{where}: column '{column}' has {str(raw).strip()!r} (expected yes or no, y/n, 1/0, true/false)")


def read_answers(path) -> list[dict]:
    """-> [{"id", "lang", <question>: True/False/None}] for every non-empty row."""
    out = []
    for number, row in read_sheet(path):
        where = f"{path}:{number}"
        if not str(row.get("id") or "").strip():
            raise UserError(f"{where}: empty 'id'")
        answer = {"id": str(row["id"]).strip(), "lang": str(row["lang"]).strip()}
        for question in QUESTIONS:
            answer[question] = parse_answer(row.get(question), where, question)
        out.append(answer)
    return out


def guard_labels(records: list[dict]) -> dict:
    """{record id: {guard: {"chosen": unsafe?, "rejected": unsafe?}}} from the records' kept verdicts."""
    out = {}
    for rec in records:
        labels = rec.get("labels") or {}
        out[rec["id"]] = {guard: {item: _unsafe(labels, item, guard) for item in ("chosen", "rejected")}
                          for guard in GUARDS}
    return out


def _unsafe(labels: dict, item: str, guard: str) -> bool | None:
    verdict = (labels.get(item) or {}).get(guard) or {}
    if verdict.get("status", "ok") != "ok":
        return None
    return verdict.get("unsafe")


def cohen_kappa(pairs: list[tuple[bool, bool]]) -> float | None:
    """Kappa of two binary raters; None when chance agreement is total (both raters constant), where it is 0/0."""
    n = len(pairs)
    if n == 0:
        return None
    observed = sum(a == b for a, b in pairs) / n
    p_a, p_b = sum(a for a, _ in pairs) / n, sum(b for _, b in pairs) / n
    expected = p_a * p_b + (1 - p_a) * (1 - p_b)
    return None if expected >= 1.0 else (observed - expected) / (1 - expected)


def kappa_interval(pairs: list[tuple[bool, bool]], seed: int, samples: int = BOOTSTRAP_SAMPLES):
    """95% percentile-bootstrap interval of kappa over items (resamples where kappa is 0/0 are skipped)."""
    if len(pairs) < 2:
        return None, None
    rng = random.Random(seed)
    values = []
    for _ in range(samples):
        kappa = cohen_kappa([pairs[rng.randrange(len(pairs))] for _ in pairs])
        if kappa is not None:
            values.append(kappa)
    if len(values) < samples // 2:
        return None, None
    values.sort()
    return values[int(0.025 * (len(values) - 1))], values[int(round(0.975 * (len(values) - 1)))]


def _agreement(human_vs_guard: dict, seed: int) -> dict:
    out = {}
    for guard, pairs in sorted(human_vs_guard.items()):
        low, high = kappa_interval(pairs, seed)
        out[guard] = {"n": len(pairs), "agreement": sum(a == b for a, b in pairs) / len(pairs) if pairs else None,
                      "kappa": cohen_kappa(pairs), "kappa_ci_low": low, "kappa_ci_high": high,
                      "kappa_interval": "percentile bootstrap 95%"}
    return out


def score(answers: list[dict], labels: dict, seed: int = 0) -> dict:
    """Per language and "all": the four rates with exact intervals, what is missing, and each guard's kappa."""
    groups = defaultdict(list)
    for answer in answers:
        groups[answer["lang"]].append(answer)
        groups["all"].append(answer)
    table = {}
    for lang in sorted(groups, key=lambda g: (g == "all", g)):
        rows = groups[lang]
        entry = {"rows": len(rows), "rates": {}, "missing": {}}
        for question in QUESTIONS:
            given = [r[question] for r in rows if r[question] is not None]
            entry["rates"][question] = rate(sum(given), len(given))
            entry["missing"][question] = len(rows) - len(given)
        pairs = defaultdict(list)   # guard -> [(human says unsafe, guard says unsafe)]
        for r in rows:
            for guard, verdicts in labels[r["id"]].items():
                if r["q1_chosen_safe_refusal"] is not None and verdicts["chosen"] is not None:
                    pairs[guard].append((not r["q1_chosen_safe_refusal"], verdicts["chosen"]))
                if r["rejected_harmful"] is not None and verdicts["rejected"] is not None:
                    pairs[guard].append((r["rejected_harmful"], verdicts["rejected"]))
        entry["guards"] = _agreement(pairs, seed)
        table[lang] = entry
    return table


def format_score(table: dict) -> str:
    def pct(r):
        if r["rate"] is None:
            return "n/a"
        return f"{100 * r['rate']:.1f} [{100 * r['ci_low']:.1f}, {100 * r['ci_high']:.1f}] ({r['k']}/{r['n']})"

    lines = ["rates: % yes [Clopper-Pearson 95%] (yes/answered)"]
    lines.append(f"{'lang':<5} " + " | ".join(f"{q[:24]:<30}" for q in QUESTIONS))
    for lang, entry in table.items():
        lines.append(f"{lang:<5} " + " | ".join(f"{pct(entry['rates'][q]):<30}" for q in QUESTIONS))
    lines.append("guard agreement with the human labels (chosen via Q1, rejected via rejected_harmful)")
    lines.append(f"{'lang':<5} {'guard':<12} {'n':>5} {'agree':>7} {'kappa':>7}  kappa 95% (bootstrap)")
    for lang, entry in table.items():
        for guard, s in entry["guards"].items():
            kappa = f"{s['kappa']:.3f}" if s["kappa"] is not None else "n/a"
            agree = f"{s['agreement']:.3f}" if s["agreement"] is not None else "n/a"
            ci = (f"[{s['kappa_ci_low']:.3f}, {s['kappa_ci_high']:.3f}]" if s["kappa_ci_low"] is not None else "n/a")
            lines.append(f"{lang:<5} {guard:<12} {s['n']:>5} {agree:>7} {kappa:>7}  {ci}")
    overall = table.get("all")
    if overall:
        total = overall["rows"] * len(QUESTIONS)
        missing = sum(overall["missing"].values())
        detail = ", ".join(f"{q}: {n}" for q, n in overall["missing"].items() if n)
        lines.append(f"answered {total - missing} of {total} questions in {overall['rows']} rows"
                     + (f"; missing {missing} ({detail}): the rates cover what is filled" if missing else ""))
    return "\n".join(lines)


def run_audit_score(ctx, answers_path) -> dict:
    answers = read_answers(answers_path)
    if not any(a[q] is not None for a in answers for q in QUESTIONS):
        raise UserError(f"{answers_path}: no answers filled in (columns {', '.join(QUESTIONS)})")
    labels = guard_labels(read_step_records(ctx.build.split, "split"))
    unknown = [a["id"] for a in answers if a["id"] not in labels]
    if unknown:
        raise UserError(f"{answers_path}: id {unknown[0]!r} is not in {ctx.build.split} "
                        f"({len(unknown)} unknown ids; was the sheet made from this build?)")
    table = score(answers, labels, ctx.cfg.seed)
    write_json_atomic(ctx.build.audit / "score.json", table)
    return table
