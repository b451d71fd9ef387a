"""The RefusEU record: one preference pair in one language (see DESIGN.md), and reading/writing it safely.

Records are plain dicts so they pass unchanged through JSONL, Parquet, `datasets` and TRL's DPOTrainer
(conversational prompt/chosen/rejected). Every reader validates and names file:line (or row) on error.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Iterable, Iterator

from data_tools.atomic import atomic_open
from data_tools.errors import UserError
from data_tools.taxonomy import BENIGN, BENIGN_STYLES, LANGUAGES, Taxonomy

SPLITS = ("train", "test")
REQUIRED_KEYS = ("id", "source_id", "lang", "category", "style", "group", "prompt", "chosen", "rejected", "split")
OPTIONAL_DICT_KEYS = ("labels", "meta")


def record_id(*, lang: str, source_id: str, prompt: str, chosen: str, rejected: str) -> str:
    """Stable id from content and provenance: the same record always gets the same id."""
    payload = json.dumps([lang, source_id, prompt, chosen, rejected], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:20]


def make_record(*, source_id: str, lang: str, category: str, style: str, prompt: str, chosen: str, rejected: str,
                split: str = "train", labels: dict | None = None, meta: dict | None = None,
                group: str | None = None) -> dict:
    """Build a schema-valid record from plain strings; `group` defaults to category/style (benign records name
    their own, "benign/<topic>")."""
    rec = {
        "id": record_id(lang=lang, source_id=source_id, prompt=prompt, chosen=chosen, rejected=rejected),
        "source_id": source_id,
        "lang": lang,
        "category": category,
        "style": style,
        "group": group or f"{category}/{style}",
        "prompt": [{"role": "user", "content": prompt}],
        "chosen": [{"role": "assistant", "content": chosen}],
        "rejected": [{"role": "assistant", "content": rejected}],
        "split": split,
        "labels": labels or {},
        "meta": meta or {},
    }
    return validate_record(rec, "make_record")


def check_messages(value: Any, key: str, where: str, last_role: str, single: bool) -> None:
    if not isinstance(value, list) or not value:
        raise UserError(f"{where}: key '{key}' must be a non-empty list of {{role, content}} messages")
    for i, msg in enumerate(value):
        if not isinstance(msg, dict) or not isinstance(msg.get("role"), str) or not isinstance(msg.get("content"), str):
            raise UserError(f"{where}: key '{key}[{i}]' must be a {{role, content}} message with string values")
    if single and len(value) != 1:
        raise UserError(f"{where}: key '{key}' must hold exactly one assistant message, got {len(value)}")
    if value[-1]["role"] != last_role:
        raise UserError(f"{where}: key '{key}' must end with a '{last_role}' message, got '{value[-1]['role']}'")
    if not value[-1]["content"].strip():
        raise UserError(f"{where}: key '{key}' has an empty '{last_role}' message")


def validate_record(rec: Any, where: str, taxonomy: Taxonomy | None = None) -> dict:
    """Check one record against the schema; return it (labels/meta decoded from JSON strings if needed)."""
    if not isinstance(rec, dict):
        raise UserError(f"{where}: expected a JSON object (record), got {type(rec).__name__}")
    for key in REQUIRED_KEYS:
        if key not in rec or rec[key] is None:
            raise UserError(f"{where}: record is missing key '{key}'")
    for key in ("id", "source_id", "lang", "category", "style", "group", "split"):
        if not isinstance(rec[key], str) or not rec[key]:
            raise UserError(f"{where}: key '{key}' must be a non-empty string")
    if rec["lang"] not in LANGUAGES:
        raise UserError(f"{where}: key 'lang' has unknown language {rec['lang']!r} (expected one of {', '.join(LANGUAGES)})")
    if rec["split"] not in SPLITS:
        raise UserError(f"{where}: key 'split' must be 'train' or 'test', got {rec['split']!r}")
    if rec["category"] == BENIGN:
        # Harmless requests sit outside every hazard taxonomy; their group is a topic, not category/style.
        if rec["style"] not in BENIGN_STYLES:
            raise UserError(f"{where}: key 'style' of a '{BENIGN}' record must be one of {', '.join(BENIGN_STYLES)}, "
                            f"got {rec['style']!r}")
        if not rec["group"].startswith(f"{BENIGN}/") or rec["group"] == f"{BENIGN}/":
            raise UserError(f"{where}: key 'group' of a '{BENIGN}' record must be '{BENIGN}/<topic>', "
                            f"got {rec['group']!r}")
    else:
        if rec["group"] != f"{rec['category']}/{rec['style']}":
            raise UserError(f"{where}: key 'group' must be '{rec['category']}/{rec['style']}', got {rec['group']!r}")
        if taxonomy is not None and rec["category"] not in taxonomy.ids:
            raise UserError(f"{where}: key 'category' {rec['category']!r} is not in taxonomy {taxonomy.name!r}")
    check_messages(rec["prompt"], "prompt", where, "user", single=False)
    check_messages(rec["chosen"], "chosen", where, "assistant", single=True)
    check_messages(rec["rejected"], "rejected", where, "assistant", single=True)
    for key in OPTIONAL_DICT_KEYS:
        value = rec.get(key)
        if value is None or value == "":
            rec[key] = {}
        elif isinstance(value, str):  # Arrow exports may carry free-form dicts as JSON text
            try:
                rec[key] = json.loads(value)
            except json.JSONDecodeError:
                raise UserError(f"{where}: key '{key}' is neither a mapping nor JSON text") from None
        if not isinstance(rec[key], dict):
            raise UserError(f"{where}: key '{key}' must be a mapping")
    return rec


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, Any]]:
    """Yield (line number, parsed object) for each non-blank line; malformed JSON names file:line."""
    path = Path(path)
    with path.open("r", encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                yield lineno, json.loads(line)
            except json.JSONDecodeError as err:
                raise UserError(f"{path}:{lineno}: malformed JSON ({err.msg} at column {err.colno})") from None


def read_records(path: str | Path, taxonomy: Taxonomy | None = None) -> list[dict]:
    """Read and validate records from JSONL, Parquet, or a `datasets.save_to_disk` directory."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such file or directory (expected RefusEU records: .jsonl, .parquet or a "
                        f"dataset saved with datasets.save_to_disk)")
    if path.is_dir():
        rows = _rows_from_dataset_dir(path)
    elif path.suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except Exception as err:  # pyarrow raises several types for corrupt files
            raise UserError(f"{path}: not a readable Parquet file ({err})") from None
        rows = ((f"{path}: row {i}", row) for i, row in enumerate(table.to_pylist()))
    elif path.suffix in (".jsonl", ".json"):
        rows = ((f"{path}:{lineno}", obj) for lineno, obj in iter_jsonl(path))
    else:
        raise UserError(f"{path}: unsupported file type (expected .jsonl, .parquet or a dataset directory)")
    records = [validate_record(dict(row), where, taxonomy) for where, row in rows]
    seen: dict[str, str] = {}
    for rec in records:
        if rec["id"] in seen:
            raise UserError(f"{path}: duplicate record id {rec['id']!r}")
        seen[rec["id"]] = rec["id"]
    return records


def _rows_from_dataset_dir(path: Path) -> Iterator[tuple[str, dict]]:
    import datasets

    try:
        data = datasets.load_from_disk(str(path))
    except FileNotFoundError:
        raise UserError(f"{path}: directory is not a dataset saved with datasets.save_to_disk") from None
    parts = data.items() if isinstance(data, datasets.DatasetDict) else [("", data)]
    for name, part in parts:
        for i, row in enumerate(part):
            yield f"{path}[{name}]: row {i}" if name else f"{path}: row {i}", row


def write_jsonl_atomic(path: str | Path, records: Iterable[dict]) -> Path:
    """Write records as JSONL atomically: never a half-written file, the old one kept if writing fails."""
    with atomic_open(path, "w") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n")
    return Path(path)
