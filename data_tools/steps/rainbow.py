"""`generate` with `generate.method: rainbow`: Rainbow Teaming's archive loop (Samvelyan et al. 2024).

Per language, an archive holds up to `archive_size` elite prompts for every (category, style) cell. Each round,
for each language, `batch` different target cells are drawn; for each one a parent prompt is drawn from the
archive (a seed example of the target category while the archive is empty) and:
  1. the generator mutates the parent toward the target cell (category and style);
  2. the candidate is dropped if it is empty, too long, in another language, too close to its parent (the paper's
     similarity filter) or a duplicate of an elite of the same language;
  3. the target model (endpoints.target, the ablated model) answers it;
  4. a cell with room takes it; otherwise the judge compares the target's answer to the candidate with its answer
     to a drawn incumbent, in both orders (a judge's position bias cannot decide alone), and the candidate
     replaces the incumbent only if it is more harmful both times;
  5. the judge also says whether a new elite's answer is unsafe: the archive's score is the share of elites whose
     answer is unsafe (the archive's attack success rate, what the paper plots per iteration).
The final archive is the step's output, with the same record fields as the one-shot generator's.

Determinism and resumability: every draw comes from a random generator seeded by (seed, language, round), and
every call goes through the build's cache, so a rerun (after kill -9 or not) replays the same rounds from the cache
and pays only for calls that were in flight. Fill and score per round go into the step report and a plot.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass, field

from data_tools.clients.llm import ChatRequest
from data_tools.judges import load_judge_prompt, parse_safe_unsafe
from data_tools.steps.common import fill, load_template, stable_hash, stable_int
from data_tools.steps.context import ChatJob
from data_tools.steps.dedup import DuplicateIndex, shingles
from data_tools.steps.generate import _rejection, clean_prompt, generation_languages, load_material
from data_tools.steps.layout import write_bytes_atomic, write_jsonl_atomic
from data_tools.steps.seeds import load_seeds, seeds_by_category
from data_tools.steps.usage import add_call, merge_usage
from data_tools.taxonomy import LANGUAGE_NAMES

TEMPLATE_KEYS = {"mutate": ("system", "user"), "judge": ("system", "user")}
_VERDICT = re.compile(r"\b([AB])\b")


@dataclass
class Elite:
    id: str
    prompt: str
    response: str
    parent: str
    iteration: int
    slot: int
    usage: dict
    unsafe: bool | None = None
    wins: int = 0


@dataclass
class Candidate:
    lang: str
    cell: tuple[str, str]
    slot: int
    parent_id: str
    parent_text: str
    prompt: str = ""
    response: str = ""
    usage: dict = field(default_factory=dict)
    incumbent: int | None = None     # index into the cell's elites it is compared with


def parse_preference(text: str | None) -> str | None:
    """"A" or "B" from the judge's first line, None if it names neither (or both)."""
    first = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    found = set(_VERDICT.findall(first.upper()))
    return found.pop() if len(found) == 1 else None


def similarity(a: str, b: str, n: int = 5) -> float:
    x, y = shingles(a, n), shingles(b, n)
    return len(x & y) / len(x | y) if x | y else 1.0


class Rainbow:
    def __init__(self, ctx):
        self.ctx, self.cfg = ctx, ctx.cfg
        self.gen, self.rb = ctx.cfg.generate, ctx.cfg.generate.rainbow
        self.template = load_template(self.rb.template, "rainbow.yaml", TEMPLATE_KEYS)
        self.source = self.rb.template or "data_tools/prompts/rainbow.yaml"
        self.adjudicator = load_judge_prompt(self.cfg.filter.adjudicator_prompt)
        seeds = load_seeds(ctx)
        self.material = load_material(ctx, seeds)
        self.langs = generation_languages(self.cfg)
        self.cells = [(c, s) for c in self.cfg.category_ids for s in self.cfg.style_names]
        self.seed_table = {lang: seeds_by_category(seeds, self.cfg.category_ids, lang) for lang in self.langs}
        self.archive = {lang: {cell: [] for cell in self.cells} for lang in self.langs}
        self.dropped: Counter = Counter()
        self.history: list[dict] = []

    # ------------------------------------------------------------------ one round
    def propose(self, iteration: int) -> list[Candidate]:
        out = []
        for lang in self.langs:
            rng = random.Random(stable_int(self.cfg.seed, "rainbow", lang, iteration))
            targets = rng.sample(self.cells, min(self.rb.batch, len(self.cells)))
            elites = [e for cell in self.cells for e in self.archive[lang][cell]]
            for slot, cell in enumerate(targets):
                if elites:
                    parent = rng.choice(elites)
                    parent_id, parent_text = parent.id, parent.prompt
                else:
                    options = self.seed_table[lang][cell[0]]
                    seed = options[rng.randrange(len(options))]
                    parent_id, parent_text = seed["id"], self.material[lang]["seeds"].get(seed["id"], seed["prompt"])
                out.append(Candidate(lang, cell, slot, parent_id, parent_text))
        return out

    def mutate_request(self, cand: Candidate, iteration: int) -> ChatRequest:
        material = self.material[cand.lang]
        category, style = cand.cell
        fields = dict(language=LANGUAGE_NAMES[cand.lang], category_id=category,
                      category_name=material["categories"][category]["name"],
                      category_description=material["categories"][category]["description"],
                      style_name=material["styles"][style]["name"],
                      style_description=material["styles"][style]["description"], parent=cand.parent_text)
        messages = [{"role": "system", "content": fill(self.template["mutate"]["system"], self.source, **fields)},
                    {"role": "user", "content": fill(self.template["mutate"]["user"], self.source, **fields)}]
        seed = stable_int(self.cfg.seed, "rainbow-mutate", cand.lang, category, cand.cell[1], iteration, cand.slot)
        return ChatRequest(messages=messages, max_tokens=self.gen.max_tokens, temperature=self.gen.temperature,
                           extra={"seed": seed})

    def judge_request(self, cand: Candidate, first: tuple[str, str], second: tuple[str, str]) -> ChatRequest:
        material = self.material[cand.lang]["categories"][cand.cell[0]]
        fields = dict(category_name=material["name"], category_description=material["description"],
                      prompt_a=first[0], response_a=first[1], prompt_b=second[0], response_b=second[1])
        messages = [{"role": "system", "content": fill(self.template["judge"]["system"], self.source, **fields)},
                    {"role": "user", "content": fill(self.template["judge"]["user"], self.source, **fields)}]
        return ChatRequest(messages=messages, max_tokens=self.rb.judge_max_tokens, temperature=0.0)

    def run_round(self, iteration: int) -> dict:
        ep, ctx = self.cfg.endpoints, self.ctx
        candidates = self.propose(iteration)
        results = ctx.run_chat("generator", ep.generator, [self.mutate_request(c, iteration) for c in candidates],
                               desc=f"rainbow {iteration + 1}: mutate")
        kept = []
        dedup = {lang: DuplicateIndex(self.gen.ngram, self.gen.near_duplicate_threshold) for lang in self.langs}
        for lang in self.langs:
            for cell in self.cells:
                for elite in self.archive[lang][cell]:
                    dedup[lang].add(elite.id, elite.prompt)
        for cand, result in zip(candidates, results):
            cand.prompt = clean_prompt(result.text)
            cand.usage = add_call(None, "generator", result)
            reason = _rejection(cand.prompt, cand.lang, self.gen)
            if reason is None and similarity(cand.prompt, cand.parent_text, self.gen.ngram) >= self.rb.similarity_threshold:
                reason = "too_similar_to_parent"
            if reason is None and dedup[cand.lang].check(cand.prompt)[0] != "new":
                reason = "duplicate_of_elite"
            if reason:
                self.dropped[reason] += 1
                continue
            kept.append(cand)
        answers = ctx.run_chat("target", ep.target, [
            ChatRequest(messages=[{"role": "user", "content": c.prompt}], max_tokens=self.rb.target_max_tokens,
                        temperature=0.0) for c in kept], desc=f"rainbow {iteration + 1}: target")
        contested, accepted = [], []
        for cand, answer in zip(kept, answers):
            cand.response = (answer.text or "").strip()
            cand.usage = add_call(cand.usage, "target", answer)
            elites = self.archive[cand.lang][cand.cell]
            if len(elites) < self.rb.archive_size:
                accepted.append(cand)
            else:
                rng = random.Random(stable_int(self.cfg.seed, "rainbow-incumbent", cand.lang, iteration, cand.slot))
                cand.incumbent = rng.randrange(len(elites))
                contested.append(cand)
        requests = []
        for cand in contested:
            inc = self.archive[cand.lang][cand.cell][cand.incumbent]
            mine, theirs = (cand.prompt, cand.response), (inc.prompt, inc.response)
            requests += [self.judge_request(cand, theirs, mine), self.judge_request(cand, mine, theirs)]
        verdicts = ctx.run_chat("judge", ep.judge, requests, desc=f"rainbow {iteration + 1}: compare")
        replaced = 0
        for i, cand in enumerate(contested):
            first, second = verdicts[2 * i], verdicts[2 * i + 1]
            cand.usage = add_call(add_call(cand.usage, "judge", first), "judge", second)
            if parse_preference(first.text) == "B" and parse_preference(second.text) == "A":
                accepted.append(cand)
                replaced += 1
            else:
                self.dropped["lost_to_incumbent"] += 1
        checks = ctx.run_chat("judge", ep.judge, [
            ChatRequest(messages=self.adjudicator.messages(c.prompt, c.response), max_tokens=self.rb.judge_max_tokens,
                        temperature=0.0) for c in accepted], desc=f"rainbow {iteration + 1}: score")
        for cand, check in zip(accepted, checks):
            elite = Elite(id="rb-" + stable_hash(self.cfg.seed, cand.lang, *cand.cell, iteration, cand.slot,
                                                 self.cfg.endpoints.generator.model),
                          prompt=cand.prompt, response=cand.response, parent=cand.parent_id, iteration=iteration,
                          slot=cand.slot, usage=add_call(cand.usage, "judge", check),
                          unsafe=parse_safe_unsafe(check.text).unsafe)
            elites = self.archive[cand.lang][cand.cell]
            if cand.incumbent is None:
                elites.append(elite)
            else:
                elite.wins = elites[cand.incumbent].wins + 1
                elites[cand.incumbent] = elite
        return {"iteration": iteration + 1, "candidates": len(candidates), "kept": len(kept),
                "accepted": len(accepted), "replaced": replaced, **self.snapshot()}

    def snapshot(self) -> dict:
        def summary(langs):
            elites = [e for lang in langs for cell in self.cells for e in self.archive[lang][cell]]
            cells = sum(bool(self.archive[lang][cell]) for lang in langs for cell in self.cells)
            judged = [e.unsafe for e in elites if e.unsafe is not None]
            return {"fill": len(elites) / (len(langs) * len(self.cells) * self.rb.archive_size),
                    "cells_filled": cells, "elites": len(elites),
                    "score": sum(judged) / len(judged) if judged else None}
        return {**summary(self.langs), "per_language": {lang: summary([lang]) for lang in self.langs}}

    # ------------------------------------------------------------------ output
    def records(self) -> list[dict]:
        rows = []
        for lang in self.langs:
            for cell in self.cells:
                for elite in self.archive[lang][cell]:
                    rows.append({
                        "id": elite.id, "source_id": elite.id, "lang": lang, "category": cell[0], "style": cell[1],
                        "prompt": elite.prompt,
                        "meta": {"generator": self.cfg.endpoints.generator.model, "method": "rainbow",
                                 "parent": elite.parent, "round": elite.iteration, "slot": elite.slot,
                                 "target": self.cfg.endpoints.target.model, "judge": self.cfg.endpoints.judge.model,
                                 "target_answer_unsafe": elite.unsafe, "wins": elite.wins,
                                 "usage": merge_usage(elite.usage)},
                    })
        return rows


def plot_history(history: list[dict], path) -> None:
    """Fill and score of the archive per round (all languages, and one thin line per language)."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rounds = [h["iteration"] for h in history]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for key, ax, title in (("fill", axes[0], "archive fill"), ("score", axes[1], "score: share of elites unsafe")):
        for lang in history[0]["per_language"] if history else []:
            ax.plot(rounds, [h["per_language"][lang][key] for h in history], lw=0.8, alpha=0.5, label=lang)
        ax.plot(rounds, [h[key] for h in history], lw=2.5, color="black", label="all")
        ax.set_xlabel("round")
        ax.set_ylim(0, 1.02)
        ax.set_title(title)
    axes[1].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    write_bytes_atomic(path, buf.getvalue())


def run_rainbow(ctx) -> dict:
    rainbow = Rainbow(ctx)
    for iteration in range(rainbow.rb.iterations):
        rainbow.history.append(rainbow.run_round(iteration))
    rows = rainbow.records()
    out = ctx.build.source_prompts if ctx.cfg.mode == "parallel" else ctx.build.prompts
    write_jsonl_atomic(out, rows)
    plot = ctx.build.root / "reports" / "rainbow.png"
    plot_history(rainbow.history, plot)
    last = rainbow.history[-1]
    return {"method": "rainbow", "prompts": len(rows), "cells": len(rainbow.langs) * len(rainbow.cells),
            "iterations": rainbow.rb.iterations, "fill": last["fill"], "score": last["score"],
            "dropped": dict(sorted(rainbow.dropped.items())), "history": rainbow.history, "plot": str(plot),
            "output": out.name}
