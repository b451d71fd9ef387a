"""`translate`: DeepL into the build's languages.

native mode (the paper): the generation material (category and style names and descriptions, English seed
examples) goes into every language, and `generate` then writes prompts in each language from it.
parallel mode: the English prompts from `generate` go into every language; a translation keeps its English
prompt's id as `source_id`, so every language holds the same questions.
"""

from __future__ import annotations

from collections import Counter

from data_tools.steps import langcheck
from data_tools.steps.common import stable_hash
from data_tools.steps.layout import read_jsonl, write_json_atomic, write_jsonl_atomic
from data_tools.steps.material import english_material, material_texts, place
from data_tools.steps.seeds import load_seeds


def translator(ctx):
    from data_tools.clients.translate import DeepLTranslator

    return DeepLTranslator(ctx.cfg.endpoints.translator, cache=ctx.cache)


def _account(ctx, tr, texts_by_lang: dict[str, list[str]]) -> None:
    """Tally the translator like a chat role: DeepL bills source characters, cached or not for the card."""
    tally = ctx.ledger.tally("translator")
    price = ctx.cfg.endpoints.translator.price_per_mchar
    total_chars = sum(len(t) for texts in texts_by_lang.values() for t in set(texts) if t.strip())
    ctx.other_client_stats["translator (DeepL)"] = tr.stats.as_dict()
    tally.calls += sum(len(texts) for texts in texts_by_lang.values())
    tally.cached += tr.stats.cache_hits
    tally.characters += total_chars
    tally.paid_characters += tr.stats.billed_characters
    if price is not None:
        tally.cost_usd = (tally.cost_usd or 0.0) + total_chars * price / 1e6
        tally.paid_cost_usd = (tally.paid_cost_usd or 0.0) + tr.stats.billed_characters * price / 1e6


def translate_material(ctx) -> dict:
    english = english_material(ctx.cfg, load_seeds(ctx))
    items = material_texts(english)
    texts = [text for _, text in items]
    material = {"en": english}
    tr = translator(ctx)
    sent = {}
    try:
        for lang, translated in tr.translate_many(texts, ctx.cfg.languages, source="en",
                                                  desc="generation material").items():
            sent[lang] = texts
            material[lang] = {}
            for (address, _), text in zip(items, translated):
                place(material[lang], address, text)
    finally:
        _account(ctx, tr, sent)
        tr.close()
    write_json_atomic(ctx.build.material, material)
    return {"languages": len(material), "texts_per_language": len(texts), "output": ctx.build.material.name}


def translate_prompts(ctx) -> dict:
    source = read_jsonl(ctx.build.source_prompts, "generate")
    texts = [row["prompt"] for row in source]
    rows = [dict(row) for row in source] if "en" in ctx.cfg.languages else []
    off_language = Counter()
    tr = translator(ctx)
    sent = {}
    try:
        for lang, translated in tr.translate_many(texts, ctx.cfg.languages, source="en", desc="prompts").items():
            sent[lang] = texts
            for row, text in zip(source, translated):
                # Kept even when the language check disagrees: dropping would break "same questions everywhere";
                # the count goes into the report for a human to look at.
                if ctx.cfg.generate.language_check and not langcheck.is_language(text, lang):
                    off_language[lang] += 1
                meta = dict(row.get("meta", {}), translated_from="en", translator="deepl",
                            translated_characters=len(row["prompt"]))
                rows.append({"id": "tr-" + stable_hash(row["id"], lang), "source_id": row["id"], "lang": lang,
                             "category": row["category"], "style": row["style"], "prompt": text, "meta": meta})
    finally:
        _account(ctx, tr, sent)
        tr.close()
    write_jsonl_atomic(ctx.build.prompts, rows)
    return {"prompts": len(rows), "source_prompts": len(source), "language_check_mismatches": dict(off_language),
            "output": ctx.build.prompts.name}


def run_translate(ctx) -> dict:
    return translate_material(ctx) if ctx.cfg.mode == "native" else translate_prompts(ctx)
