"""`generate`: adversarial prompts for every (language x category x style) cell, Rainbow-Teaming style.

Each request shows a generator one seed example, a hazard category and an attack style (in the cell's language in
native mode) and asks for one new prompt. A cell wants `per_cell` prompts. Answers that are empty, too long, in
the wrong language, or (near-)duplicates of a prompt already accepted for the same language and category are
dropped, and the cell is topped up in further rounds, up to `max_rounds`.

Determinism: every request is numbered by (cell, slot); its seed, seed example and generator follow from that
number, and answers are processed in cell and slot order. With the call cache, a rerun therefore sends the same
requests, gets the same answers and accepts the same prompts.
"""

from __future__ import annotations

from collections import Counter

from data_tools.clients.llm import ChatRequest
from data_tools.errors import UserError
from data_tools.steps import langcheck
from data_tools.steps.common import fill, load_template, stable_hash, stable_int
from data_tools.steps.context import ChatJob
from data_tools.steps.dedup import DuplicateIndex
from data_tools.steps.layout import read_json, write_jsonl_atomic
from data_tools.steps.material import english_material
from data_tools.steps.seeds import load_seeds, seeds_by_category
from data_tools.steps.usage import add_call
from data_tools.taxonomy import LANGUAGE_NAMES

_QUOTES = "\"'“”„«»‚‘’"


def clean_prompt(text: str | None) -> str:
    """The generator's answer as a prompt: surrounding whitespace and wrapping quotes removed."""
    text = (text or "").strip()
    while len(text) >= 2 and text[0] in _QUOTES and text[-1] in _QUOTES:
        text = text[1:-1].strip()
    return text


def generation_languages(cfg) -> tuple[str, ...]:
    return ("en",) if cfg.mode == "parallel" else cfg.languages


def load_material(ctx, seeds) -> dict:
    """Material per language: English from the taxonomy; the others from the translate step (native mode)."""
    english = english_material(ctx.cfg, seeds)
    langs = generation_languages(ctx.cfg)
    if langs == ("en",):
        return {"en": english}
    translated = read_json(ctx.build.material, "translate")
    material = {}
    for lang in langs:
        if lang == "en":
            material[lang] = english
            continue
        if lang not in translated:
            raise UserError(f"{ctx.build.material}: no material for language {lang!r} (rerun `refuseu-data translate`)")
        material[lang] = translated[lang]
    return material


def build_request(template: dict, material: dict, lang: str, category: str, style: str, seed_text: str,
                  cfg, request_seed: int):
    source = cfg.generate.template or "data_tools/prompts/generate.yaml"
    fields = dict(
        language=LANGUAGE_NAMES[lang],
        category_id=category,
        category_name=material["categories"][category]["name"],
        category_description=material["categories"][category]["description"],
        style_name=material["styles"][style]["name"],
        style_description=material["styles"][style]["description"],
        seed=seed_text,
    )
    messages = [{"role": "system", "content": fill(template["system"], source, **fields)},
                {"role": "user", "content": fill(template["user"], source, **fields)}]
    # `seed` makes each slot a distinct request (and a distinct cache entry) even at temperature 0.
    return ChatRequest(messages=messages, max_tokens=cfg.generate.max_tokens, temperature=cfg.generate.temperature,
                       extra={"seed": request_seed})


def run_generate(ctx) -> dict:
    cfg, gen = ctx.cfg, ctx.cfg.generate
    if gen.method == "rainbow":
        from data_tools.steps.rainbow import run_rainbow

        return run_rainbow(ctx)
    seeds = load_seeds(ctx)
    material = load_material(ctx, seeds)
    template = load_template(gen.template, "generate.yaml", {"system": (), "user": ()})
    generators = cfg.endpoints.generators
    langs = generation_languages(cfg)
    cells = [(lang, c, s) for lang in langs for c in cfg.category_ids for s in cfg.style_names]
    seed_table = {lang: seeds_by_category(seeds, cfg.category_ids, lang) for lang in langs}

    accepted: dict[tuple, list[dict]] = {cell: [] for cell in cells}
    next_slot = {cell: 0 for cell in cells}
    dedup = {(lang, c): DuplicateIndex(gen.ngram, gen.near_duplicate_threshold) for lang in langs for c in cfg.category_ids}
    dropped: Counter = Counter()
    rounds_used = 0

    for round_no in range(gen.max_rounds):
        # Each round asks exactly for what every cell still lacks, with slot numbers never used before.
        wanted = []
        for cell in cells:
            deficit = gen.per_cell - len(accepted[cell])
            wanted += [(cell, slot) for slot in range(next_slot[cell], next_slot[cell] + deficit)]
            next_slot[cell] += deficit
        if not wanted:
            break
        rounds_used += 1
        answers = _ask(ctx, wanted, seed_table, material, template, generators, round_no)
        for (cell, slot), (result, seed, endpoint, role) in zip(wanted, answers):
            lang, category, style = cell
            text = clean_prompt(result.text)
            reason = _rejection(text, lang, gen)
            if reason is None:
                verdict, _ = dedup[(lang, category)].check(text)
                reason = None if verdict == "new" else f"{verdict}_duplicate"
            if reason is not None:
                dropped[reason] += 1
                continue
            rid = "gen-" + stable_hash(cfg.seed, lang, category, style, slot, endpoint.model)
            dedup[(lang, category)].add(rid, text)
            accepted[cell].append({
                "id": rid, "source_id": rid, "lang": lang, "category": category, "style": style, "prompt": text,
                "meta": {"generator": endpoint.model, "seed_example": seed["id"], "slot": slot, "round": round_no,
                         "usage": add_call(None, role, result)},
            })

    rows = [row for cell in cells for row in accepted[cell]]
    out = ctx.build.source_prompts if cfg.mode == "parallel" else ctx.build.prompts
    write_jsonl_atomic(out, rows)
    short = {"/".join(cell): len(rows_) for cell, rows_ in accepted.items() if len(rows_) < gen.per_cell}
    report = {"prompts": len(rows), "cells": len(cells), "per_cell": gen.per_cell, "rounds": rounds_used,
              "dropped": dict(sorted(dropped.items())), "short_cells": len(short), "short_cell_counts": short,
              "output": out.name}
    return report


def _ask(ctx, wanted, seed_table, material, template, generators, round_no) -> list[tuple]:
    """Send one request per (cell, slot), grouped by generator; -> [(result, seed, endpoint, role)] in order."""
    cfg = ctx.cfg
    per_endpoint: dict[int, list[int]] = {}
    requests, seeds_used = [], []
    for i, ((lang, category, style), slot) in enumerate(wanted):
        options = seed_table[lang][category]
        seed = options[stable_int(cfg.seed, "seed-example", lang, category, style, slot) % len(options)]
        seed_text = material[lang]["seeds"].get(seed["id"], seed["prompt"])
        request_seed = stable_int(cfg.seed, "request", lang, category, style, slot)
        requests.append(build_request(template, material[lang], lang, category, style, seed_text, cfg, request_seed))
        seeds_used.append(seed)
        per_endpoint.setdefault(slot % len(generators), []).append(i)
    order = sorted(per_endpoint)
    jobs = [ChatJob("generator" if g == 0 else f"generator[{g}]", generators[g],
                    [requests[i] for i in per_endpoint[g]], desc=f"generate round {round_no + 1} ({generators[g].model})")
            for g in order]
    answers: list = [None] * len(wanted)
    for g, job, results in zip(order, jobs, ctx.run_chats(jobs)):
        for i, result in zip(per_endpoint[g], results):
            answers[i] = (result, seeds_used[i], generators[g], job.role)
    return answers


def _rejection(text: str, lang: str, gen) -> str | None:
    if not text:
        return "empty"
    if len(text) > gen.max_chars:
        return "too_long"
    if gen.language_check and not langcheck.is_language(text, lang, gen.min_language_prob):
        return "wrong_language"
    return None
