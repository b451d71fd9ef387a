"""`mix`: the paper's training mixes, drawn from the train split only (test records never enter a mix).

balanced, high_resource, en_only, no_en and single:<lang>. With `mix.balance`, a mix of several languages is cut
to the size of its smallest language (seeded choice, spread over categories in proportion), so that "balanced"
means the same number of pairs per language.
"""

from __future__ import annotations

from collections import defaultdict

from data_tools.errors import UserError
from data_tools.steps.common import stable_hash
from data_tools.steps.layout import read_step_records, write_jsonl_atomic
from data_tools.taxonomy import mix_languages


def build_mix(train: list[dict], name: str, high_resource: tuple[str, ...], balance: bool, seed: int) -> list[dict]:
    langs = mix_languages(name, tuple(high_resource))
    by_lang = defaultdict(list)
    for rec in train:
        if rec["lang"] in langs:
            by_lang[rec["lang"]].append(rec)
    present = [lang for lang in langs if by_lang[lang]]
    if not present:
        raise UserError(f"mix {name!r}: no training records in {', '.join(langs)} (did the build include them?)")
    if not balance or len(present) == 1:
        return [rec for lang in present for rec in by_lang[lang]]
    size = min(len(by_lang[lang]) for lang in present)
    out = []
    for lang in present:
        # Sorting by (rank within category, hash) and cutting takes records round-robin over categories, so a cut
        # language keeps its category proportions.
        ranked = _round_robin_by_category(by_lang[lang], seed)
        out += ranked[:size]
    return out


def _round_robin_by_category(records: list[dict], seed: int) -> list[dict]:
    per_cat = defaultdict(list)
    for rec in sorted(records, key=lambda r: stable_hash(seed, "mix", r["id"])):
        per_cat[rec["category"]].append(rec)
    order = []
    for cat, recs in per_cat.items():
        order += [((rank, stable_hash(seed, "mix-cat", cat)), rec) for rank, rec in enumerate(recs)]
    return [rec for _, rec in sorted(order, key=lambda pair: pair[0])]


def default_mix_names(langs: tuple[str, ...], high_resource: tuple[str, ...]) -> list[str]:
    names = ["balanced"]
    if set(high_resource) & set(langs):
        names.append("high_resource")
    if "en" in langs:
        names.append("en_only")
    if set(langs) - {"en"}:
        names.append("no_en")
    return names + [f"single:{lang}" for lang in langs]


def run_mix(ctx) -> dict:
    cfg = ctx.cfg
    records = read_step_records(ctx.build.split, "split")
    train = [r for r in records if r["split"] == "train"]
    report = {}
    for name in cfg.mix.names or default_mix_names(cfg.languages, tuple(cfg.mix.high_resource)):
        mixed = build_mix(train, name, tuple(cfg.mix.high_resource), cfg.mix.balance, cfg.seed)
        write_jsonl_atomic(ctx.build.mix_file(name), mixed)
        per_lang = defaultdict(int)
        for rec in mixed:
            per_lang[rec["lang"]] += 1
        report[name] = {"records": len(mixed), "per_language": dict(sorted(per_lang.items()))}
    return {"mixes": len(report), "train_records": len(train), "per_mix": report}
