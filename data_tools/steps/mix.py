"""`mix`: the paper's training mixes, drawn from the train split only (test records never enter a mix).

balanced, high_resource, en_only, no_en and single:<lang>. "balanced" always means every built language with the
same number of pairs: each language is cut to the size of the smallest one. `mix.balance` says whether the other
multi-language mixes (high_resource, no_en) are cut the same way (the default) or take every pair they have.

`select_mix` is the one place that decides which records a mix holds: this step writes its choice into
export/mixes/<mix>, and the trainer (`data.mix` on the full export) calls the same function, so both pick the same
records. The choice depends only on the records (a hash of each id), not on the build's seed or the order of the
file: ids already carry the seed, and the trainer cannot know it.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Sequence

from data_tools.errors import UserError
from data_tools.steps.common import stable_hash
from data_tools.steps.layout import read_step_records, write_jsonl_atomic
from data_tools.taxonomy import HIGH_RESOURCE, mix_languages


def select_mix(train: Sequence[dict], name: str, high_resource: Sequence[str] = HIGH_RESOURCE, balance: bool = True,
               languages: Sequence[str] = ()) -> list[dict]:
    """The records of mix `name` among `train` (records of the train split), in language order.

    `languages` restricts the mix further (the trainer's `data.languages`); equal counts then hold over what is
    left. Cut languages keep their category shares."""
    langs = mix_languages(name, tuple(high_resource))
    if languages:
        langs = tuple(lang for lang in langs if lang in set(languages))
    by_lang = defaultdict(list)
    for rec in train:
        if rec["lang"] in langs:
            by_lang[rec["lang"]].append(rec)
    present = [lang for lang in langs if by_lang[lang]]
    if not present:
        raise UserError(f"mix {name!r}: no training records in {', '.join(langs) or 'any language'} "
                        f"(did the build include them?)")
    if len(present) == 1 or not (balance or name == "balanced"):
        return [rec for lang in present for rec in _ranked(by_lang[lang])]
    size = min(len(by_lang[lang]) for lang in present)
    return [rec for lang in present for rec in _round_robin_by_category(by_lang[lang])[:size]]


def _ranked(records: list[dict]) -> list[dict]:
    return sorted(records, key=lambda r: stable_hash("mix", r["id"]))


def _round_robin_by_category(records: list[dict]) -> list[dict]:
    """Ranked so that any prefix takes categories round-robin: a language cut to a prefix keeps its shares."""
    per_cat = defaultdict(list)
    for rec in _ranked(records):
        per_cat[rec["category"]].append(rec)
    order = []
    for cat, recs in per_cat.items():
        order += [((rank, stable_hash("mix-cat", cat)), rec) for rank, rec in enumerate(recs)]
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
        mixed = select_mix(train, name, cfg.mix.high_resource, cfg.mix.balance)
        write_jsonl_atomic(ctx.build.mix_file(name), mixed)
        per_lang = defaultdict(int)
        for rec in mixed:
            per_lang[rec["lang"]] += 1
        report[name] = {"records": len(mixed), "per_language": dict(sorted(per_lang.items()))}
    return {"mixes": len(report), "train_records": len(train), "per_mix": report}
