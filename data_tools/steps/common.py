"""Small helpers shared by the steps: stable hashing, the cell grid, prompt templates from data files."""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path

import yaml

from data_tools.errors import UserError


def stable_hash(*parts, length: int = 16) -> str:
    """Hex digest of the JSON of `parts`: the same inputs give the same id on every machine and run."""
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()[:length]


def stable_int(*parts) -> int:
    """A deterministic 31-bit integer (OpenAI's `seed` field, seeded choices) from `parts`."""
    return int(stable_hash(*parts, length=8), 16) & 0x7FFFFFFF


def load_template(path: str | None, default: str, required: dict[str, tuple[str, ...]]) -> dict:
    """Read a YAML prompt template (a packaged default or the user's file) and check its keys.

    `required` maps a top-level key to the sub-keys it must hold ({} for a plain string value)."""
    if path is None:
        text = resources.files("data_tools").joinpath("prompts", default).read_text(encoding="utf-8")
        source = f"data_tools/prompts/{default}"
    else:
        if not Path(path).is_file():
            raise UserError(f"{path}: prompt template not found")
        text, source = Path(path).read_text(encoding="utf-8"), str(path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise UserError(f"{source}: invalid YAML ({err})") from None
    if not isinstance(data, dict):
        raise UserError(f"{source}: expected a mapping")
    for key, subkeys in required.items():
        if key not in data:
            raise UserError(f"{source}: missing key '{key}'")
        for sub in subkeys:
            if not isinstance(data[key], dict) or not isinstance(data[key].get(sub), str):
                raise UserError(f"{source}: missing string key '{key}.{sub}'")
    return data


def fill(template: str, source: str, **fields) -> str:
    try:
        return template.format(**fields)
    except (KeyError, IndexError) as err:
        raise UserError(f"{source}: template uses unknown field {err} (known: {', '.join(sorted(fields))})") from None
