"""The offline judge's validation: its accuracy per language on the independently written labelled set
(data/judge_validation/test.jsonl, never trained on), copied into every report that uses the judge."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Sequence

from data_tools.errors import UserError
from data_tools.taxonomy import LANGUAGES
from refuseu_jax.evaluate.grammar import DATA
from refuseu_jax.evaluate.refusal import CLASSES, OfflineJudge, WrongLanguage, default_judge

VALIDATION_DIR = "judge_validation"


def validation_path(split: str = "test") -> Path | None:
    path = Path(str(resources.files(DATA).joinpath(VALIDATION_DIR).joinpath(f"{split}.jsonl")))
    return path if path.is_file() else None


def validation_rows(split: str = "test", path: str | Path | None = None) -> list[dict]:
    path = Path(path) if path else validation_path(split)
    if path is None:
        return []
    rows = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        missing = [k for k in ("lang", "response", "label") if k not in row]
        if missing or row["label"] not in CLASSES:
            raise UserError(f"{path}:{lineno}: expected lang, response and label in {', '.join(CLASSES)}")
        rows.append(row)
    return rows


def validate(judge: OfflineJudge | None = None, rows: Sequence[dict] | None = None, split: str = "test",
             wrong_language: WrongLanguage = "keep") -> dict:
    """Accuracy of the judge on labelled rows (default: the shipped validation split), overall and per language,
    with the confusion counts (label -> judged -> count) and the misses listed."""
    judge = judge or default_judge()
    rows = validation_rows(split) if rows is None else list(rows)
    judged = judge.judge_many([r["response"] for r in rows], [r.get("lang") for r in rows],
                              [r.get("prompt") for r in rows], wrong_language)
    per_lang: dict[str, list[bool]] = defaultdict(list)
    confusion: dict[str, dict] = defaultdict(lambda: {c: Counter() for c in CLASSES})
    misses = []
    for row, j in zip(rows, judged):
        ok = j.outcome == row["label"]
        per_lang[row["lang"]].append(ok)
        for key in ("all", row["lang"]):
            confusion[key][row["label"]][j.outcome] += 1
        if not ok:
            misses.append({"id": row.get("id"), "lang": row["lang"], "label": row["label"], "judged": j.outcome,
                           "reason": j.reason, "phenomenon": row.get("phenomenon"), "response": row["response"]})
    order = [lang for lang in LANGUAGES if lang in per_lang] + sorted(set(per_lang) - set(LANGUAGES))
    every = [c for lang in order for c in per_lang[lang]]

    def confusion_of(key):
        return {label: {c: confusion[key][label][c] for c in CLASSES} for label in CLASSES}

    return {
        "split": split, "n": len(every), "wrong_language": wrong_language,
        "accuracy": sum(every) / len(every) if every else None,
        "per_language": {lang: {"n": len(per_lang[lang]), "correct": sum(per_lang[lang]),
                                "accuracy": sum(per_lang[lang]) / len(per_lang[lang]),
                                "confusion": confusion_of(lang)} for lang in order},
        "confusion": confusion_of("all") if every else None,
        "misses": misses,
    }


@lru_cache(maxsize=4)
def validation_summary(grammar_path: str | None = None, wrong_language: WrongLanguage = "keep") -> dict:
    """The judge's figures on the sealed test split, for run records and reports: overall, per language, worst
    language, confusion counts. {"available": False} when the validation set is not installed."""
    judge = default_judge(grammar_path)
    if validation_path("test") is None:
        return {"available": False, "version": judge.version}
    result = validate(judge, split="test", wrong_language=wrong_language)
    worst = min(result["per_language"].items(), key=lambda kv: (kv[1]["accuracy"], kv[0]))
    return {"available": True, "version": judge.version, "set": f"refuseu_jax/evaluate/data/{VALIDATION_DIR}/test.jsonl",
            **{k: result[k] for k in ("n", "accuracy", "per_language", "confusion", "wrong_language")},
            "worst_language": {"lang": worst[0], **{k: worst[1][k] for k in ("n", "accuracy")}}}


def main() -> None:
    from refuseu_jax.evaluate.report import validation_table

    print(validation_table(validation_summary()))


if __name__ == "__main__":  # python -m refuseu_jax.evaluate.judge_validation: the table in docs/evaluation.md
    main()
