"""Seed examples for generation: the packaged abstract ones, or the user's own from JSONL/CSV (`import-seeds`).

A seed row needs `prompt` and `category`; `lang` (default en) and `style` are optional. English seeds are translated
into every language in native mode; a seed in another language is used for that language as it is.
"""

from __future__ import annotations

import csv
import hashlib
import json
from importlib import resources
from pathlib import Path

import yaml

from data_tools.errors import UserError
from data_tools.schema import iter_jsonl
from data_tools.taxonomy import LANGUAGES, Taxonomy, get_style

SEED_FIELDS = ("prompt", "category", "lang", "style")


def seed_id(category: str, lang: str, text: str) -> str:
    return "seed-" + hashlib.sha256(json.dumps([category, lang, text], ensure_ascii=False).encode()).hexdigest()[:16]


def make_seed(row: dict, where: str, taxonomy: Taxonomy) -> dict:
    """Validate one raw row into {id, category, lang, style, prompt}; errors name file:line and key."""
    if not isinstance(row, dict):
        raise UserError(f"{where}: expected an object with keys prompt and category, got {type(row).__name__}")
    unknown = [k for k in row if k not in SEED_FIELDS and k != "id"]
    if unknown:
        raise UserError(f"{where}: unknown key '{unknown[0]}' (expected {', '.join(SEED_FIELDS)})")
    prompt = row.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise UserError(f"{where}: key 'prompt' must be a non-empty string")
    category = row.get("category")
    if not isinstance(category, str) or category not in taxonomy.ids:
        raise UserError(f"{where}: key 'category' {category!r} is not in taxonomy {taxonomy.name!r} "
                        f"(expected one of {', '.join(taxonomy.ids)})")
    lang = row.get("lang") or "en"
    if lang not in LANGUAGES:
        raise UserError(f"{where}: key 'lang' has unknown language code {lang!r} (expected one of {', '.join(LANGUAGES)})")
    style = row.get("style") or None
    if style is not None:
        try:
            get_style(style)
        except UserError as err:
            raise UserError(f"{where}: key 'style': {err}") from None
    text = " ".join(prompt.split())
    return {"id": seed_id(category, lang, text), "category": category, "lang": lang, "style": style, "prompt": text}


def read_seed_file(path: str | Path, taxonomy: Taxonomy) -> list[dict]:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: seed file not found")
    if path.suffix == ".jsonl":
        rows = ((f"{path}:{lineno}", obj) for lineno, obj in iter_jsonl(path))
    elif path.suffix == ".csv":
        rows = _csv_rows(path)
    else:
        raise UserError(f"{path}: unsupported seed file type (expected .jsonl or .csv)")
    seeds = [make_seed(row, where, taxonomy) for where, row in rows]
    if not seeds:
        raise UserError(f"{path}: no seed rows")
    return _unique(seeds)


def _csv_rows(path: Path):
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        for key in ("prompt", "category"):
            if key not in header:
                raise UserError(f"{path}:1: CSV header lacks column '{key}' (found: {', '.join(header) or 'nothing'})")
        for row in reader:
            # DictReader puts surplus cells under the key None: a row with more cells than the header.
            if None in row:
                raise UserError(f"{path}:{reader.line_num}: row has more cells than the header")
            yield f"{path}:{reader.line_num}", {k: v for k, v in row.items() if v not in (None, "")}


def _unique(seeds: list[dict]) -> list[dict]:
    seen, out = set(), []
    for seed in seeds:
        if seed["id"] not in seen:
            seen.add(seed["id"])
            out.append(seed)
    return out


def packaged_seeds(taxonomy: Taxonomy) -> list[dict]:
    text = resources.files("data_tools").joinpath("prompts", "seeds.yaml").read_text(encoding="utf-8")
    table = yaml.safe_load(text).get(taxonomy.name)
    if not table:
        raise UserError(f"no packaged seed examples for taxonomy {taxonomy.name!r}; import some with import-seeds")
    return [make_seed({"prompt": p, "category": c}, "data_tools/prompts/seeds.yaml", taxonomy)
            for c, prompts in table.items() for p in prompts]


def seeds_by_category(seeds: list[dict], categories, lang: str) -> dict[str, list[dict]]:
    """The seeds usable for `lang`: English ones (translated elsewhere) plus those written in `lang`."""
    table = {c: [] for c in categories}
    for seed in seeds:
        if seed["category"] in table and seed["lang"] in ("en", lang):
            table[seed["category"]].append(seed)
    missing = [c for c, rows in table.items() if not rows]
    if missing:
        raise UserError(f"no seed example for category {missing[0]!r} (language {lang}); add one with import-seeds")
    return table


def load_seeds(ctx) -> list[dict]:
    """The seeds a build generates from: `generate.seeds` if set, else the imported ones, else the packaged ones."""
    from data_tools.taxonomy import get_taxonomy

    taxonomy = get_taxonomy(ctx.cfg.taxonomy)
    if ctx.cfg.generate.seeds:
        return read_seed_file(ctx.cfg.generate.seeds, taxonomy)
    if ctx.build.seeds.is_file():
        return [make_seed(row, f"{ctx.build.seeds}:{n}", taxonomy) for n, row in iter_jsonl(ctx.build.seeds)]
    return packaged_seeds(taxonomy)


def run_import_seeds(ctx, path: str | Path) -> dict:
    """`import-seeds FILE`: validate the user's seed file and keep it in the build directory."""
    from data_tools.schema import write_jsonl_atomic
    from data_tools.taxonomy import get_taxonomy

    seeds = read_seed_file(path, get_taxonomy(ctx.cfg.taxonomy))
    write_jsonl_atomic(ctx.build.seeds, seeds)
    counts: dict[str, int] = {}
    for seed in seeds:
        counts[seed["category"]] = counts.get(seed["category"], 0) + 1
    return {"seeds": len(seeds), "per_category": dict(sorted(counts.items())), "output": ctx.build.seeds.name}
