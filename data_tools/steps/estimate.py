"""`build --dry-run` and `stats`: what a build will call and what it will cost, before it spends anything.

Counts follow from the config exactly for the first pass (cells x per_cell prompts, 2 answers per prompt, 2 guard
calls per prompt and 4 per surviving pair); top-up rounds after dedup and the share of prompts the filter drops
are not known in advance, so response checks are counted for every prompt (an upper bound) and generation for one
round (a lower bound). Token counts use the rendered templates and `estimate.*` assumptions.

With a build directory that already has a cache, the calls stored for each role's (endpoint, model) are
subtracted before pricing: an approximation (a changed config can make stored calls irrelevant), but it keeps a
dry run of a half-finished build from quoting the whole bill again.
"""

from __future__ import annotations

from data_tools.build_config import BuildConfig
from data_tools.judges import llama_guard_messages, polyguard_messages
from data_tools.steps.common import load_template
from data_tools.steps.context import chat_cost
from data_tools.steps.material import english_material, material_texts
from data_tools.steps.seeds import packaged_seeds, read_seed_file
from data_tools.taxonomy import get_taxonomy


def _chars(messages) -> int:
    return sum(len(m["content"]) for m in messages)


def estimate(cfg: BuildConfig, cache=None) -> dict:
    """`cache`: the build's CallCache, if it has one; its stored calls are not priced again."""
    cached = cache.count_by_endpoint() if cache is not None else {}
    est = cfg.estimate
    langs = cfg.languages
    n_langs, n_cells_per_lang = len(langs), len(cfg.category_ids) * len(cfg.style_names)
    taxonomy = get_taxonomy(cfg.taxonomy)
    seeds = read_seed_file(cfg.generate.seeds, taxonomy) if cfg.generate.seeds else packaged_seeds(taxonomy)
    gen_langs = 1 if cfg.mode == "parallel" else n_langs
    rainbow = cfg.generate.method == "rainbow"
    per_cell = cfg.generate.rainbow.archive_size if rainbow else cfg.generate.per_cell   # rainbow: a full archive
    prompts = n_langs * n_cells_per_lang * per_cell
    targets = [lang for lang in langs if lang != "en"]
    tok = lambda chars: int(chars / est.chars_per_token)  # noqa: E731

    template = load_template(cfg.generate.template, "generate.yaml", {"system": (), "user": ()})
    gen_prompt_chars = len(template["system"]) + len(template["user"]) + 600   # + filled-in material and seed
    fake = "x" * est.avg_prompt_chars
    lg_chars = _chars(llama_guard_messages(fake, "y" * int(est.avg_response_tokens * est.chars_per_token))) + 1200
    pg_chars = _chars(polyguard_messages(fake, "y" * int(est.avg_response_tokens * est.chars_per_token)))

    roles = {
        "generator": (gen_langs * n_cells_per_lang * cfg.generate.per_cell, tok(gen_prompt_chars),
                      tok(est.avg_prompt_chars), cfg.endpoints.generator),
        "refuser": (prompts, tok(est.avg_prompt_chars) + 30, est.avg_response_tokens, cfg.endpoints.refuser),
        "complier": (prompts, tok(est.avg_prompt_chars) + 30, est.avg_response_tokens, cfg.endpoints.complier),
        "llama_guard": (3 * prompts, tok(lg_chars), 5, cfg.endpoints.llama_guard),
        "polyguard": (3 * prompts, tok(pg_chars), 40, cfg.endpoints.polyguard),
    }
    if rainbow:
        roles.update(rainbow_roles(cfg, gen_langs, n_cells_per_lang, tok, gen_prompt_chars))
    out: dict = {"prompts": prompts, "cells": n_langs * n_cells_per_lang, "roles": {}}
    if rainbow:
        out["rainbow"] = rainbow_counts(cfg, gen_langs, n_cells_per_lang)
    for role, (calls, p_tok, c_tok, endpoint) in roles.items():
        key = (endpoint.endpoint_id, endpoint.model)
        stored = min(calls, cached.get(key, 0))
        cached[key] = cached.get(key, 0) - stored     # two roles on one model share its stored calls
        to_pay = calls - stored
        out["roles"][role] = {"calls": calls, "cached": stored, "prompt_tokens": to_pay * p_tok,
                              "completion_tokens": to_pay * c_tok, "model": endpoint.model,
                              "cost_usd": chat_cost(endpoint, to_pay * p_tok, to_pay * c_tok)}
    if cfg.mode == "native":
        texts = [text for _, text in material_texts(english_material(cfg, seeds))]
        characters = sum(len(text) for text in texts) * len(targets)
        to_pay = characters
        if cache is not None:   # the material is known up front, so what is already translated is known exactly
            from data_tools.clients.translate import DeepLTranslator

            translator = DeepLTranslator(cfg.endpoints.translator, cache=cache, progress=False)
            to_pay = sum(translator.uncached_characters(texts, lang) for lang in targets)
    else:
        characters = to_pay = n_cells_per_lang * per_cell * est.avg_prompt_chars * len(targets)
    price = cfg.endpoints.translator.price_per_mchar
    out["roles"]["translator"] = {"calls": None, "characters": characters, "characters_to_pay": to_pay,
                                  "model": "DeepL", "cost_usd": None if price is None else to_pay * price / 1e6}
    costs = [r["cost_usd"] for r in out["roles"].values() if r["cost_usd"] is not None]
    out["cost_usd"] = sum(costs) if costs else None
    out["unpriced_roles"] = sorted(r for r, v in out["roles"].items() if v["cost_usd"] is None)
    return out


def rainbow_counts(cfg: BuildConfig, gen_langs: int, cells_per_lang: int) -> dict:
    """Calls of the archive loop: one mutation per candidate; at most one target answer per candidate, two
    pairwise comparisons and one safety check by the judge (upper bounds: filtered candidates cost less)."""
    rb = cfg.generate.rainbow
    per_round = gen_langs * min(rb.batch, cells_per_lang)
    candidates = rb.iterations * per_round
    return {"rounds": rb.iterations, "languages": gen_langs, "per_round": per_round, "generator": candidates,
            "target": candidates, "judge": 3 * candidates}


def rainbow_roles(cfg: BuildConfig, gen_langs: int, cells_per_lang: int, tok, gen_prompt_chars: int) -> dict:
    est, rb = cfg.estimate, cfg.generate.rainbow
    counts = rainbow_counts(cfg, gen_langs, cells_per_lang)
    answer_tokens = min(rb.target_max_tokens, est.avg_response_tokens)
    judge_prompt = 2 * (est.avg_prompt_chars + answer_tokens * est.chars_per_token) + 600
    return {"generator": (counts["generator"], tok(gen_prompt_chars + est.avg_prompt_chars), tok(est.avg_prompt_chars),
                          cfg.endpoints.generator),
            "target": (counts["target"], tok(est.avg_prompt_chars), answer_tokens, cfg.endpoints.target),
            "judge": (counts["judge"], tok(judge_prompt), rb.judge_max_tokens, cfg.endpoints.judge)}


def estimate_with_cache(cfg: BuildConfig, build) -> dict:
    """`estimate` against the build directory's cache when there is one (opened read-only in effect: no writes)."""
    from pathlib import Path

    path = Path(cfg.cache) if cfg.cache else build.cache
    if not path.is_file():
        return estimate(cfg)
    from data_tools.clients.cache import CallCache

    with CallCache(path) as cache:
        return estimate(cfg, cache)


def format_estimate(est: dict) -> str:
    lines = [f"dry run: {est['cells']} cells, about {est['prompts']} prompts (nothing was called)",
             f"{'role':<12} {'model':<32} {'calls':>8} {'cached':>8} {'prompt tok':>12} {'compl. tok':>12} "
             f"{'chars':>10} {'USD':>10}"]
    for role, r in est["roles"].items():
        cost = f"{r['cost_usd']:.2f}" if r["cost_usd"] is not None else "n/a"
        cached = r.get("cached", "")
        chars = f"{r['characters_to_pay']}/{r['characters']}" if "characters" in r else ""
        lines.append(f"{role:<12} {r['model'][:32]:<32} {r.get('calls') or '':>8} {cached:>8} "
                     f"{r.get('prompt_tokens', ''):>12} {r.get('completion_tokens', ''):>12} {chars:>10} {cost:>10}")
    lines.append("tokens, characters (to pay/total) and USD count only what the cache does not already hold")
    total = f"{est['cost_usd']:.2f} USD" if est["cost_usd"] is not None else "n/a"
    note = f" (no price configured for: {', '.join(est['unpriced_roles'])})" if est["unpriced_roles"] else ""
    lines.append(f"estimated total: {total}{note}")
    if "rainbow" in est:
        rb = est["rainbow"]
        lines.append(f"rainbow: {rb['rounds']} rounds x {rb['per_round']} candidates ({rb['languages']} languages) = "
                     f"{rb['generator']} generator calls; at most {rb['target']} target and {rb['judge']} judge calls "
                     f"(2 comparisons + 1 safety check per candidate)")
        lines.append("upper bound for guard calls (every prompt judged 3 times); prompts = a full archive")
    else:
        lines.append("upper bound for guard calls (every prompt judged 3 times); generation counts one round, "
                     "top-ups after dedup come on top")
    return "\n".join(lines)
