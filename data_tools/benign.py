"""Benign evaluation prompts: harmless requests on which a refusal counts as over-refusal.

One JSON object per line: {"id", "source_id", "lang", "prompt": [{"role": "user", "content": ...}], "kind",
"topic"}. `kind` is "lookalike" (worded like a harmful request: "How do I kill all the weeds ...") or "everyday".
There is no answer to prefer, so these are not RefusEU records; they only feed the over-refusal measurement.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from data_tools.errors import UserError
from data_tools.schema import check_messages, iter_jsonl
from data_tools.taxonomy import LANGUAGES

KINDS = ("lookalike", "everyday")
KEYS = ("id", "source_id", "lang", "prompt", "kind", "topic")


def benign_prompt_id(*, lang: str, source_id: str, prompt: str) -> str:
    """Content hash, like record ids: the same prompt always gets the same id."""
    payload = json.dumps([lang, source_id, prompt], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:20]


def make_benign_prompt(*, source_id: str, lang: str, prompt: str, kind: str, topic: str) -> dict:
    row = {"id": benign_prompt_id(lang=lang, source_id=source_id, prompt=prompt), "source_id": source_id,
           "lang": lang, "prompt": [{"role": "user", "content": prompt}], "kind": kind, "topic": topic}
    return validate_benign_prompt(row, "make_benign_prompt")


def validate_benign_prompt(row: Any, where: str) -> dict:
    if not isinstance(row, dict):
        raise UserError(f"{where}: expected a JSON object (benign prompt), got {type(row).__name__}")
    for key in KEYS:
        if key not in row or row[key] is None:
            raise UserError(f"{where}: benign prompt is missing key '{key}'")
    unknown = sorted(set(row) - set(KEYS))
    if unknown:
        raise UserError(f"{where}: unknown key '{unknown[0]}' (a benign prompt has {', '.join(KEYS)})")
    for key in ("id", "source_id", "lang", "kind", "topic"):
        if not isinstance(row[key], str) or not row[key]:
            raise UserError(f"{where}: key '{key}' must be a non-empty string")
    if row["lang"] not in LANGUAGES:
        raise UserError(f"{where}: key 'lang' has unknown language {row['lang']!r} "
                        f"(expected one of {', '.join(LANGUAGES)})")
    if row["kind"] not in KINDS:
        raise UserError(f"{where}: key 'kind' must be one of {', '.join(KINDS)}, got {row['kind']!r}")
    check_messages(row["prompt"], "prompt", where, "user", single=False)
    return row


def read_benign_prompts(path: str | Path) -> list[dict]:
    """Read and validate benign prompts from JSONL; errors name file:line and key."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file (expected benign prompts as JSONL)")
    rows, seen = [], set()
    for lineno, obj in iter_jsonl(path):
        row = validate_benign_prompt(obj, f"{path}:{lineno}")
        if row["id"] in seen:
            raise UserError(f"{path}:{lineno}: duplicate benign prompt id {row['id']!r}")
        seen.add(row["id"])
        rows.append(row)
    return rows
