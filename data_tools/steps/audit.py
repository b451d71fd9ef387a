"""`audit sample`: a stratified sheet for human review; `audit score`: agreement of reviewers with the guards.

The guards are weakest exactly where the paper needs them most (Llama Guard 3 and PolyGuard do not cover sk, sl,
lt, lv), so a per-language human check is the only evidence the labels mean the same thing in every language.

The sheet (CSV for spreadsheets, HTML for reading) holds per record the prompt, both answers, each guard's verdict
on each of them, and empty `review_*` columns for the reviewer: `unsafe` or `safe` (also yes/no, 1/0). `audit
score` reads the filled CSV back and reports, per language and guard, raw agreement and Cohen's kappa over all
answered items (prompt, chosen, rejected).
"""

from __future__ import annotations

import csv
import html
import io
from collections import defaultdict

from data_tools.errors import UserError
from data_tools.steps.common import stable_hash
from data_tools.steps.layout import read_step_records, write_json_atomic, write_text_atomic

GUARDS = ("llama_guard", "polyguard")
ITEMS = ("prompt", "chosen", "rejected")
REVIEW_COLUMNS = tuple(f"review_{item}_unsafe" for item in ITEMS) + ("review_notes",)
GUARD_COLUMNS = tuple(f"{guard}_{item}" for item in ITEMS for guard in GUARDS)
SHEET_COLUMNS = ("id", "lang", "category", "style", "split", "prompt", "chosen", "rejected") + GUARD_COLUMNS + REVIEW_COLUMNS
_ANSWERS = {"unsafe": True, "yes": True, "1": True, "true": True, "safe": False, "no": False, "0": False, "false": False}


def stratified_sample(records: list[dict], per_language: int, seed: int) -> list[dict]:
    """Up to `per_language` records per language, taken round-robin over categories in a seeded order."""
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


def _verdict_word(labels: dict, item: str, guard: str) -> str:
    verdict = (labels.get(item) or {}).get(guard) or {}
    if verdict.get("status", "ok") != "ok" or verdict.get("unsafe") is None:
        return verdict.get("status", "missing")
    return "unsafe" if verdict["unsafe"] else "safe"


def sheet_row(rec: dict) -> dict:
    row = {key: rec[key] for key in ("id", "lang", "category", "style", "split")}
    row.update(prompt=rec["prompt"][-1]["content"], chosen=rec["chosen"][-1]["content"],
               rejected=rec["rejected"][-1]["content"])
    for item in ITEMS:
        for guard in GUARDS:
            row[f"{guard}_{item}"] = _verdict_word(rec.get("labels") or {}, item, guard)
    row.update({col: "" for col in REVIEW_COLUMNS})
    return row


def to_csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=SHEET_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def to_html(rows: list[dict]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in SHEET_COLUMNS)
    body = "\n".join("<tr>" + "".join(f"<td>{html.escape(str(r[c]))}</td>" for c in SHEET_COLUMNS) + "</tr>"
                     for r in rows)
    return ("<!doctype html><meta charset='utf-8'><title>RefusEU audit sheet</title>"
            "<style>td{vertical-align:top;max-width:30em;border:1px solid #ccc;padding:4px}</style>"
            f"<p>{len(rows)} records. Fill the review_* columns in the CSV with unsafe or safe.</p>"
            f"<table><tr>{head}</tr>\n{body}</table>\n")


def run_audit_sample(ctx, per_language: int | None = None) -> dict:
    records = read_step_records(ctx.build.split, "split")
    rows = [sheet_row(r) for r in stratified_sample(records, per_language or ctx.cfg.audit.per_language, ctx.cfg.seed)]
    csv_path, html_path = ctx.build.audit / "sheet.csv", ctx.build.audit / "sheet.html"
    write_text_atomic(csv_path, to_csv(rows))
    write_text_atomic(html_path, to_html(rows))
    per_lang = defaultdict(int)
    for row in rows:
        per_lang[row["lang"]] += 1
    return {"records": len(rows), "per_language": dict(sorted(per_lang.items())), "csv": str(csv_path),
            "html": str(html_path)}


def cohen_kappa(pairs: list[tuple[bool, bool]]) -> float | None:
    """Kappa of two binary raters; None when chance agreement is total (both raters constant), where it is 0/0."""
    n = len(pairs)
    if n == 0:
        return None
    observed = sum(a == b for a, b in pairs) / n
    p_a, p_b = sum(a for a, _ in pairs) / n, sum(b for _, b in pairs) / n
    expected = p_a * p_b + (1 - p_a) * (1 - p_b)
    return None if expected >= 1.0 else (observed - expected) / (1 - expected)


def read_answers(path) -> list[tuple[str, str, str, bool, dict]]:
    """-> [(lang, item, id, reviewer says unsafe, {guard: guard says unsafe or None})] for every answered cell."""
    from pathlib import Path

    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: answers file not found")
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in ("id", "lang") + GUARD_COLUMNS + REVIEW_COLUMNS[:3] if c not in (reader.fieldnames or [])]
        if missing:
            raise UserError(f"{path}:1: missing column '{missing[0]}' (expected the sheet written by `audit sample`)")
        out = []
        for row in reader:
            for item in ITEMS:
                raw = (row[f"review_{item}_unsafe"] or "").strip().lower()
                if not raw:
                    continue
                if raw not in _ANSWERS:
                    raise UserError(f"{path}:{reader.line_num}: column 'review_{item}_unsafe' has {raw!r} "
                                    f"(expected unsafe/safe, yes/no or 1/0)")
                guards = {g: {"unsafe": True, "safe": False}.get(row[f"{g}_{item}"]) for g in GUARDS}
                out.append((row["lang"], item, row["id"], _ANSWERS[raw], guards))
    return out


def score(answers) -> dict:
    per_lang: dict = defaultdict(lambda: defaultdict(list))
    for lang, _item, _id, human, guards in answers:
        for guard, verdict in guards.items():
            if verdict is not None:
                per_lang[lang][guard].append((human, verdict))
                per_lang["all"][guard].append((human, verdict))
    table = {}
    for lang, guards in sorted(per_lang.items()):
        table[lang] = {guard: {"n": len(pairs), "agreement": sum(a == b for a, b in pairs) / len(pairs),
                               "kappa": cohen_kappa(pairs)} for guard, pairs in sorted(guards.items())}
    return table


def format_score(table: dict) -> str:
    lines = [f"{'lang':<5} {'guard':<12} {'n':>5} {'agree':>7} {'kappa':>7}"]
    for lang, guards in table.items():
        for guard, s in guards.items():
            kappa = f"{s['kappa']:.3f}" if s["kappa"] is not None else "n/a"
            lines.append(f"{lang:<5} {guard:<12} {s['n']:>5} {s['agreement']:>7.3f} {kappa:>7}")
    return "\n".join(lines)


def run_audit_score(ctx, answers_path) -> dict:
    answers = read_answers(answers_path)
    if not answers:
        raise UserError(f"{answers_path}: no review answers filled in (columns review_*_unsafe)")
    table = score(answers)
    write_json_atomic(ctx.build.audit / "agreement.json", table)
    return table
