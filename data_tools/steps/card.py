"""The dataset card (export/README.md): what is in the dataset, how it was made, and what it cost."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import yaml

from data_tools.build_config import CHAT_ROLES
from data_tools.steps.order import build_order
from data_tools.taxonomy import LANGUAGE_NAMES, LANGUAGES


FILTER_RULES = {
    "paper": "Filter rule (paper): prompt unsafe by both Llama Guard 3 and PolyGuard; chosen safe by both; rejected "
             "unsafe by at least one.",
    "adjudicated": "Filter rule (adjudicated): prompt unsafe by both Llama Guard 3 and PolyGuard; where the guards "
                   "disagree about a response the adjudicator decides; chosen safe, rejected unsafe.",
}


def _table(title: str, counts: dict, columns: tuple[str, ...], order=None) -> str:
    """A markdown table of counts: one row per key (sorted, or in `order`), one column per split."""
    lines = [f"### {title}", "", "| | " + " | ".join(columns) + " | total |",
             "|---|" + "---:|" * (len(columns) + 1)]
    for key in [k for k in order if k in counts] if order else sorted(counts):
        row = [counts[key].get(c, 0) for c in columns]
        lines.append(f"| {key} | " + " | ".join(map(str, row)) + f" | {sum(row)} |")
    return "\n".join(lines) + "\n"


def _by(records: list[dict], field: str) -> dict:
    out: dict = {}
    for rec in records:
        out.setdefault(rec[field], Counter())[rec["split"]] += 1
    return out


def _reports(reports_dir: Path) -> dict:
    out = {}
    for path in sorted(reports_dir.glob("*.json")) if reports_dir.is_dir() else []:
        out[path.stem] = json.loads(path.read_text(encoding="utf-8"))
    return out


def _scalars(report: dict) -> str:
    result = report.get("result", {})
    return ", ".join(f"{k}={v}" for k, v in sorted(result.items()) if isinstance(v, (int, float, str)) and k != "output")


def _cost_lines(reports: dict) -> list[str]:
    """Cost per role over all steps, counting cached results too: what making these records cost."""
    roles: dict = {}
    for step in reports.values():
        for role, tally in (step.get("calls") or {}).items():
            entry = roles.setdefault(role, Counter())
            for key in ("calls", "prompt_tokens", "completion_tokens", "characters"):
                entry[key] += tally.get(key) or 0
            if tally.get("cost_usd") is not None:
                entry["cost_usd"] += tally["cost_usd"]
    lines = ["| role | calls | prompt tokens | completion tokens | DeepL characters | cost (USD) |",
             "|---|---:|---:|---:|---:|---:|"]
    for role, e in sorted(roles.items()):
        cost = f"{e['cost_usd']:.4f}" if "cost_usd" in e else "n/a (no price configured)"
        lines.append(f"| {role} | {e['calls']} | {e['prompt_tokens']} | {e['completion_tokens']} | "
                     f"{e['characters']} | {cost} |")
    total = sum(e.get("cost_usd", 0.0) for e in roles.values())
    lines.append(f"\nTotal priced cost: {total:.4f} USD (roles without a configured price are not included).")
    return lines


def render_card(cfg, records: list[dict], mixes: dict[str, list[dict]], reports_dir: Path) -> str:
    splits = ("train", "test")
    split_counts = Counter(r["split"] for r in records)
    reports = _reports(reports_dir)
    # The export being written has no report yet; an older one would be stale.
    steps_done = [step for step in build_order(cfg.mode) if step in reports and step != "export"]
    endpoints = cfg.endpoints
    models = [f"- {role}: `{getattr(endpoints, role).model}`" for role in CHAT_ROLES]
    models += [f"- extra generator: `{e.model}`" for e in endpoints.extra_generators]
    models.append("- translator: DeepL API v2" + (f" (formality `{endpoints.translator.formality}`)"))
    settings = {
        "mode": cfg.mode, "languages": list(cfg.languages), "taxonomy": cfg.taxonomy,
        "categories": list(cfg.category_ids), "styles": list(cfg.style_names), "seed": cfg.seed,
        "generate": {"per_cell": cfg.generate.per_cell, "max_rounds": cfg.generate.max_rounds,
                     "temperature": cfg.generate.temperature, "ngram": cfg.generate.ngram,
                     "near_duplicate_threshold": cfg.generate.near_duplicate_threshold,
                     "language_check": cfg.generate.language_check},
        "respond": {"max_tokens": cfg.respond.max_tokens, "temperature": cfg.respond.temperature},
        "filter": {"rule": cfg.filter.rule},
        "split": {"test_per_category": cfg.split.test_per_category},
        "mix": {"high_resource": list(cfg.mix.high_resource), "balance": cfg.mix.balance},
    }
    parts = [
        "# RefusEU (built with refuseu-data)\n",
        "Multilingual refusal-preference pairs: an adversarial prompt, a refusal (`chosen`) and a compliance "
        "(`rejected`), in the prompt's language. Conversational prompt/chosen/rejected columns, as TRL's "
        "DPOTrainer reads them. In the Arrow copies, `labels` (every guard verdict) and `meta` (provenance) are "
        "JSON text.\n",
        f"Records: {len(records)} (train {split_counts['train']}, test {split_counts['test']}). Train/test are split "
        f"by (category, style) group; test holds {cfg.split.test_per_category} records per category per language.\n",
        FILTER_RULES[cfg.filter.rule] + "\n",
        "## Counts\n",
        _table("Per language", {f"{k} ({LANGUAGE_NAMES[k]})": v for k, v in _by(records, "lang").items()}, splits,
               order=[f"{k} ({LANGUAGE_NAMES[k]})" for k in LANGUAGES]),
        _table("Per category", _by(records, "category"), splits, order=list(cfg.category_ids)),
        _table("Per style", _by(records, "style"), splits),
        "### Training mixes (train part; every mix shares the full test split)\n",
        "| mix | records | languages |", "|---|---:|---|",
        *[f"| {name} | {len(recs)} | {', '.join(sorted({r['lang'] for r in recs}))} |" for name, recs in mixes.items()],
        "\n## Models\n", *models,
        "\n## Settings\n", "```yaml", yaml.safe_dump(settings, sort_keys=False).rstrip(), "```",
        "\n## Steps\n",
        *[f"- {step}: {_scalars(reports[step])}" for step in steps_done],
        "\n## Cost\n", *_cost_lines(reports),
        "",
    ]
    return "\n".join(parts)
