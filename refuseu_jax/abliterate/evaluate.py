"""What abliteration measures on its own prompts: greedy answers read by the offline judge (refusal tokens, the
filter, the judged choice), refusal rates per language, and the next-token KL between two models.

The final per-language table of several models (harmful test split and benign prompts) is the project's
`refuseu_jax.evaluate.quick.evaluate_models`, so it reads like every other evaluation here.
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


def judge(texts: Sequence[str], prompts: Sequence[Prompt]) -> list[bool | None]:
    """The offline judge's verdict per answer: True (refusal), False (compliance) or None (failure: empty, loops,
    echoes, babble), each read against its prompt and the prompt's language."""
    from refuseu_jax.evaluate.refusal import default_judge

    judged = default_judge().judge_many(list(texts), [p.lang for p in prompts], [p.text for p in prompts])
    return [j.refusal for j in judged]


def rate(verdicts: Sequence[bool | None]) -> dict:
    """{n, judged, refusals, failures, rate, ci_low, ci_high}: refusals among refusals and compliances, with the
    exact 95% interval; failures counted apart (rate None when nothing was judged)."""
    from data_tools.intervals import exact_interval

    judged = [v for v in verdicts if v is not None]
    low, high = exact_interval(sum(judged), len(judged))
    return {"n": len(verdicts), "judged": len(judged), "refusals": sum(judged), "failures": len(verdicts) - len(judged),
            "rate": sum(judged) / len(judged) if judged else None, "ci_low": low, "ci_high": high}


def by_language(prompts: Sequence[Prompt], values: Sequence, reduce) -> dict:
    """{"all": reduce(all values), lang: reduce(that language's values), ...} in the project's language order."""
    groups: dict[str, list] = defaultdict(list)
    for p, v in zip(prompts, values):
        groups[p.lang].append(v)
    langs = [lang for lang in LANGUAGES if lang in groups] + sorted(set(groups) - set(LANGUAGES))
    return {"all": reduce(list(values)), **{lang: reduce(groups[lang]) for lang in langs}}


def kl_by_language(prompts: Sequence[Prompt], p_logprobs: np.ndarray, q_logprobs: np.ndarray) -> dict:
    """Mean next-token KL(p || q) after each prompt, per language and overall."""
    from refuseu_jax.abliterate.select import kl_divergence

    kls = kl_divergence(p_logprobs, q_logprobs)
    return by_language(prompts, kls.tolist(), lambda xs: {"n": len(xs), "kl": float(np.mean(xs)) if xs else None})
