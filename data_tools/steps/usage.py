"""Per-record usage and cost: the tokens (and DeepL characters) of the calls that made one record, in its `meta`.

Only the calls whose answers ended up in the record count (the accepted generation, its two answers, the guard
checks); calls spent on dropped candidates are in the step reports and the card's totals, not in any record.
Usage comes from the cached answers too, so a rerun writes the same numbers.
"""

from __future__ import annotations

from data_tools.steps.context import chat_cost


def add_call(usage: dict | None, role: str, result) -> dict:
    """A copy of `usage` ({role: [prompt_tokens, completion_tokens]}) with one chat result added."""
    out = {k: list(v) for k, v in (usage or {}).items()}
    got = result.usage or {}
    current = out.setdefault(role, [0, 0])
    current[0] += int(got.get("prompt_tokens") or 0)
    current[1] += int(got.get("completion_tokens") or 0)
    return out


def merge_usage(*usages: dict | None) -> dict:
    out: dict = {}
    for usage in usages:
        for role, (p, c) in (usage or {}).items():
            current = out.setdefault(role, [0, 0])
            current[0] += p
            current[1] += c
    return out


def role_endpoints(cfg) -> dict:
    endpoints = {role: getattr(cfg.endpoints, role) for role in
                 ("refuser", "complier", "llama_guard", "polyguard", "adjudicator")}
    for role in ("target", "judge"):   # generate.method: rainbow
        if getattr(cfg.endpoints, role, None) is not None:
            endpoints[role] = getattr(cfg.endpoints, role)
    for g, endpoint in enumerate(cfg.endpoints.generators):
        endpoints["generator" if g == 0 else f"generator[{g}]"] = endpoint
    return endpoints


def record_cost(cfg, usage: dict, translated_characters: int = 0) -> float | None:
    """USD for one record's calls; None when no role involved has a price configured."""
    endpoints = role_endpoints(cfg)
    costs = [chat_cost(endpoints[role], p, c) for role, (p, c) in usage.items() if role in endpoints]
    price = cfg.endpoints.translator.price_per_mchar
    if translated_characters and price is not None:
        costs.append(translated_characters * price / 1e6)
    priced = [c for c in costs if c is not None]
    return round(sum(priced), 8) if priced else None
