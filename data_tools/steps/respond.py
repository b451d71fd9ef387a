"""`respond`: for every prompt, a refusal (chosen) from the refuser and a compliance (rejected) from the complier.

Both are asked to answer in the prompt's language, and every answer is checked for it (counted in the report; with
`respond.drop_wrong_language` the pair is dropped). An empty answer drops the pair: an empty completion would give
the trainer nothing to compare.
"""

from __future__ import annotations

from collections import Counter

from data_tools.clients.llm import ChatRequest
from data_tools.steps import langcheck
from data_tools.steps.common import fill, load_template
from data_tools.steps.context import ChatJob
from data_tools.steps.usage import add_call
from data_tools.steps.layout import read_jsonl, write_jsonl_atomic
from data_tools.taxonomy import LANGUAGE_NAMES

ROLES = ("refuser", "complier")


def respond_requests(cfg, template: dict, role: str, prompts: list[dict]) -> list:
    source = cfg.respond.template or "data_tools/prompts/respond.yaml"
    requests = []
    for row in prompts:
        system = fill(template[role]["system"], source, language=LANGUAGE_NAMES[row["lang"]])
        messages = [{"role": "system", "content": system}, {"role": "user", "content": row["prompt"]}]
        requests.append(ChatRequest(messages=messages, max_tokens=cfg.respond.max_tokens,
                                    temperature=cfg.respond.temperature))
    return requests


def run_respond(ctx) -> dict:
    cfg = ctx.cfg
    prompts = read_jsonl(ctx.build.prompts, "generate" if cfg.mode == "native" else "translate")
    template = load_template(cfg.respond.template, "respond.yaml", {role: ("system",) for role in ROLES})
    jobs = [ChatJob(role, getattr(cfg.endpoints, role), respond_requests(cfg, template, role, prompts),
                    desc=f"respond ({role})") for role in ROLES]
    results = dict(zip(ROLES, ctx.run_chats(jobs)))
    pairs, dropped, off_language = [], Counter(), Counter()
    for row, refusal, compliance in zip(prompts, results["refuser"], results["complier"]):
        chosen, rejected = (refusal.text or "").strip(), (compliance.text or "").strip()
        if not chosen or not rejected:
            dropped["empty_chosen" if not chosen else "empty_rejected"] += 1
            continue
        wrong = [role for role, text in (("chosen", chosen), ("rejected", rejected))
                 if not langcheck.is_language(text, row["lang"])]
        for role in wrong:
            off_language[f"{row['lang']}/{role}"] += 1
        if wrong and cfg.respond.drop_wrong_language:
            dropped[f"{wrong[0]}_wrong_language"] += 1
            continue
        meta = dict(row.get("meta", {}), refuser=cfg.endpoints.refuser.model, complier=cfg.endpoints.complier.model)
        meta["usage"] = add_call(add_call(meta.get("usage"), "refuser", refusal), "complier", compliance)
        pairs.append(dict(row, chosen=chosen, rejected=rejected, meta=meta))
    write_jsonl_atomic(ctx.build.pairs, pairs)
    report = {"pairs": len(pairs), "prompts": len(prompts), "dropped": dict(dropped),
              "answers_in_another_language": dict(sorted(off_language.items())), "output": ctx.build.pairs.name}
    return report
