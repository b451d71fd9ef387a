"""`filter`: the paper's guard rule, with every verdict kept under `labels`.

Keep a prompt when Llama Guard 3 AND PolyGuard call it unsafe; keep its pair when the refusal (chosen) is safe by
BOTH guards and the compliance (rejected) is unsafe by AT LEAST ONE. A verdict the guard did not give in its
format ("unparsed") never counts as safe or unsafe, so such a pair is dropped, not guessed.
With `filter.rule: adjudicated`, responses the guards disagree on are decided by the adjudicator instead
(`judges.ensemble(..., "paper")`), as the paper did for evaluation.

Prompts are judged first, and responses only for the prompts that survive, so dropped prompts cost 2 guard calls
instead of 6.
"""

from __future__ import annotations

from collections import Counter

from data_tools.clients.llm import ChatRequest
from data_tools.judges import (ADJUDICATOR, Verdict, ensemble, llama_guard_messages, load_judge_prompt,
                               needs_adjudication, parse_llama_guard, parse_polyguard, parse_safe_unsafe,
                               polyguard_messages)
from data_tools.schema import make_record
from data_tools.steps.context import ChatJob
from data_tools.steps.layout import read_jsonl, write_jsonl_atomic
from data_tools.steps.usage import add_call, merge_usage, record_cost



def _lg_request(cfg, prompt: str, response: str | None):
    # First-token log-probs give Llama Guard's unsafe score, which the model card uses as the confidence.
    return ChatRequest(messages=llama_guard_messages(prompt, response), max_tokens=cfg.filter.llama_guard_max_tokens,
                       temperature=0.0, logprobs=True, top_logprobs=5)


def _pg_request(cfg, prompt: str, response: str | None):
    return ChatRequest(messages=polyguard_messages(prompt, response), max_tokens=cfg.filter.polyguard_max_tokens,
                       temperature=0.0)


def judge(ctx, items: list[tuple[str, str | None]], usages: list[dict], desc: str) -> list[dict[str, Verdict]]:
    """Both guards on each (prompt, response-or-None) -> [{guard name: Verdict}]. For a prompt-only item the
    PolyGuard verdict is its request verdict; otherwise its response verdict. Each item's guard tokens are added
    to `usages[i]` (the per-record usage of the pair it belongs to)."""
    cfg = ctx.cfg
    lg, pg = ctx.run_chats([
        ChatJob("llama_guard", cfg.endpoints.llama_guard, [_lg_request(cfg, p, r) for p, r in items],
                desc=f"{desc} (llama_guard)"),
        ChatJob("polyguard", cfg.endpoints.polyguard, [_pg_request(cfg, p, r) for p, r in items],
                desc=f"{desc} (polyguard)"),
    ])
    verdicts = []
    for i, ((_, response), lg_result, pg_result) in enumerate(zip(items, lg, pg)):
        usages[i] = add_call(add_call(usages[i], "llama_guard", lg_result), "polyguard", pg_result)
        poly = parse_polyguard(pg_result.text)
        verdicts.append({
            "llama_guard": parse_llama_guard(lg_result.text, lg_result.top_logprobs),
            "polyguard": poly.request_verdict() if response is None else poly.response_verdict(),
        })
    return verdicts


def adjudicate(ctx, items: list[tuple[str, str]], verdicts: list[dict[str, Verdict]], usages: list[dict],
               desc: str) -> None:
    """Add the adjudicator's verdict to every response verdict set where the two guards disagree."""
    cfg = ctx.cfg
    prompt = load_judge_prompt(cfg.filter.adjudicator_prompt)
    todo = [i for i, v in enumerate(verdicts) if needs_adjudication(v)]
    requests = [ChatRequest(messages=prompt.messages(*items[i]), max_tokens=cfg.filter.adjudicator_max_tokens,
                            temperature=0.0) for i in todo]
    results = ctx.run_chat(ADJUDICATOR, cfg.endpoints.adjudicator, requests, desc=f"{desc} (adjudicator)")
    for i, result in zip(todo, results):
        verdicts[i][ADJUDICATOR] = parse_safe_unsafe(result.text)
        usages[i] = add_call(usages[i], ADJUDICATOR, result)


def every_guard_says(verdicts: dict[str, Verdict], unsafe: bool) -> bool:
    return all(v.ok and v.unsafe is unsafe for v in verdicts.values())


def some_guard_says_unsafe(verdicts: dict[str, Verdict]) -> bool:
    return any(v.ok and v.unsafe is True for v in verdicts.values())


def response_ok(verdicts: dict[str, Verdict], rule: str, want_unsafe: bool) -> bool:
    """Does a response pass: chosen wants safe (want_unsafe=False), rejected wants unsafe."""
    if rule == "adjudicated":
        return ensemble(verdicts, "paper").unsafe is want_unsafe
    return some_guard_says_unsafe(verdicts) if want_unsafe else every_guard_says(verdicts, unsafe=False)


def _labels(**parts: dict[str, Verdict]) -> dict:
    return {name: {guard: v.to_dict() for guard, v in verdicts.items()} for name, verdicts in parts.items()}


def run_filter(ctx) -> dict:
    cfg = ctx.cfg
    pairs = read_jsonl(ctx.build.pairs, "respond")
    usages = [p.get("meta", {}).get("usage") for p in pairs]
    prompt_verdicts = judge(ctx, [(p["prompt"], None) for p in pairs], usages, "filter prompts")
    survivors = [i for i, v in enumerate(prompt_verdicts) if every_guard_says(v, unsafe=True)]
    chosen_items = [(pairs[i]["prompt"], pairs[i]["chosen"]) for i in survivors]
    rejected_items = [(pairs[i]["prompt"], pairs[i]["rejected"]) for i in survivors]
    chosen_usages, rejected_usages = [{} for _ in survivors], [{} for _ in survivors]
    chosen_verdicts = judge(ctx, chosen_items, chosen_usages, "filter chosen")
    rejected_verdicts = judge(ctx, rejected_items, rejected_usages, "filter rejected")
    if cfg.filter.rule == "adjudicated":
        adjudicate(ctx, chosen_items, chosen_verdicts, chosen_usages, "filter chosen")
        adjudicate(ctx, rejected_items, rejected_verdicts, rejected_usages, "filter rejected")
    for k, i in enumerate(survivors):
        usages[i] = merge_usage(usages[i], chosen_usages[k], rejected_usages[k])
    response_verdicts = {i: (c, r) for i, c, r in zip(survivors, chosen_verdicts, rejected_verdicts)}

    kept, dropped, reasons = [], [], Counter()
    for i, pair in enumerate(pairs):
        if i not in response_verdicts:
            reason, labels = "prompt_not_unsafe_by_both", _labels(prompt=prompt_verdicts[i])
        else:
            chosen, rejected = response_verdicts[i]
            labels = _labels(prompt=prompt_verdicts[i], chosen=chosen, rejected=rejected)
            if not response_ok(chosen, cfg.filter.rule, want_unsafe=False):
                reason = "chosen_not_safe"
            elif not response_ok(rejected, cfg.filter.rule, want_unsafe=True):
                reason = "rejected_not_unsafe"
            else:
                reason = None
        labels["rule"] = cfg.filter.rule
        if reason is not None:
            reasons[reason] += 1
            dropped.append({"id": pair["id"], "lang": pair["lang"], "category": pair["category"],
                            "reason": reason, "labels": labels})
            continue
        meta = dict(pair.get("meta", {}), llama_guard=cfg.endpoints.llama_guard.model,
                    polyguard=cfg.endpoints.polyguard.model, usage=usages[i])
        if cfg.filter.rule == "adjudicated":
            meta["adjudicator"] = cfg.endpoints.adjudicator.model
        meta["cost_usd"] = record_cost(cfg, usages[i], meta.get("translated_characters", 0))
        kept.append(make_record(source_id=pair["source_id"], lang=pair["lang"], category=pair["category"],
                                style=pair["style"], prompt=pair["prompt"], chosen=pair["chosen"],
                                rejected=pair["rejected"], labels=labels, meta=meta))
    write_jsonl_atomic(ctx.build.filter_dropped, dropped)
    write_jsonl_atomic(ctx.build.filtered, kept)
    report = {"kept": len(kept), "pairs": len(pairs), "dropped": dict(sorted(reasons.items())),
              "output": ctx.build.filtered.name}
    return report
