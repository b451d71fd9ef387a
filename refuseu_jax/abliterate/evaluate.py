"""Per-language measurements of an ablation: greedy answers judged by the offline refusal judge (harmful and benign
prompts), and the next-token KL between two models on benign prompts.

Refusal rates count judged refusals over judged answers; answers the judge cannot read (empty, no letters) are
counted apart as failures. Intervals are exact binomial (Clopper-Pearson) 95% intervals from scipy.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Sequence

import numpy as np

from data_tools.taxonomy import LANGUAGES
from refuseu_jax.abliterate.prompts import Prompt


def generate(model, tokenizer, prompts: Sequence[Prompt], mesh, max_new_tokens: int, batch_size: int,
             length_bucket: int = 32) -> tuple[list[list[int]], list[str]]:
    """Greedy answers: (new token ids, decoded texts) per prompt, in order."""
    from refuseu_jax.abliterate.prompts import encode
    from refuseu_jax.sample import Sampler, SamplingConfig

    sampler = Sampler(model, tokenizer, mesh=mesh)
    ids = sampler.generate_ids([encode(tokenizer, p) for p in prompts],
                               SamplingConfig(max_new_tokens=max_new_tokens, batch_size=batch_size,
                                              length_bucket=length_bucket))
    return ids, [tokenizer.decode(row, skip_special_tokens=True) for row in ids]


def judge(texts: Sequence[str]) -> list[bool | None]:
    """The offline judge's refusal verdict per answer: True, False, or None when it cannot read it."""
    from refuseu_jax.evaluate.refusal import default_judge

    j = default_judge()
    return [j.judge(text).refusal for text in texts]


def rate(verdicts: Sequence[bool | None]) -> dict:
    """{n, judged, refusals, failures, rate, ci_low, ci_high}; rate None when nothing was judged."""
    from scipy.stats import binomtest

    judged = [v for v in verdicts if v is not None]
    out = {"n": len(verdicts), "judged": len(judged), "refusals": sum(judged), "failures": len(verdicts) - len(judged),
           "rate": None, "ci_low": None, "ci_high": None}
    if judged:
        ci = binomtest(out["refusals"], len(judged)).proportion_ci(confidence_level=0.95, method="exact")
        out.update(rate=out["refusals"] / len(judged), ci_low=float(ci.low), ci_high=float(ci.high))
    return out


def by_language(prompts: Sequence[Prompt], values: Sequence, reduce) -> dict:
    """{"all": reduce(all values), lang: reduce(that language's values), ...} in the project's language order."""
    groups: dict[str, list] = defaultdict(list)
    for p, v in zip(prompts, values):
        groups[p.lang].append(v)
    langs = [lang for lang in LANGUAGES if lang in groups] + sorted(set(groups) - set(LANGUAGES))
    return {"all": reduce(list(values)), **{lang: reduce(groups[lang]) for lang in langs}}


def refusal_by_language(model, tokenizer, prompts: Sequence[Prompt], mesh, max_new_tokens: int, batch_size: int,
                        length_bucket: int = 32) -> tuple[dict, list[dict]]:
    """(per-language refusal rates, one row per answer: id, lang, prompt, response, refusal)."""
    _, texts = generate(model, tokenizer, prompts, mesh, max_new_tokens, batch_size, length_bucket)
    verdicts = judge(texts)
    rows = [{"id": p.id, "lang": p.lang, "prompt": p.text, "response": t, "refusal": v}
            for p, t, v in zip(prompts, texts, verdicts)]
    return by_language(prompts, verdicts, rate), rows


def kl_by_language(prompts: Sequence[Prompt], p_logprobs: np.ndarray, q_logprobs: np.ndarray) -> dict:
    """Mean next-token KL(p || q) after each prompt, per language and overall."""
    from refuseu_jax.abliterate.select import kl_divergence

    kls = kl_divergence(p_logprobs, q_logprobs)
    return by_language(prompts, kls.tolist(), lambda xs: {"n": len(xs), "kl": float(np.mean(xs)) if xs else None})
