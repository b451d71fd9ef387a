"""Choosing the refusal direction among the difference-of-means candidates (one per read position and layer).

The paper's three scores, on validation prompts, for every candidate r (position i, layer l):
  bypass   mean refusal score on harmful prompts with r ablated from the weights (lower: refusal bypassed)
  kl       mean KL(original || ablated) of the next-token distribution on harmless prompts (the damage done)
  induce   mean refusal score on harmless prompts with the raw difference vector added to layer l's input
           (positive: adding it makes the model refuse, evidence that it is the refusal feature)
refusal score = log p(R) - log(1 - p(R)) at the first reply position, R = the refusal tokens (below).
A candidate is discarded when its layer is in the last `prune_layers` share of the model (directions read there
act on the output too directly; the paper scores and then drops them, here they are not scored), when
kl > kl_bound, or when induce <= induce_threshold; every other candidate gets all three scores. Of the survivors,
the `judged_candidates` best by bypass are ablated and answer the harmful validation prompts greedily, the
offline refusal judge reads the answers, and the candidate with the fewest answers that are not compliance
(refusals plus unreadable answers) wins, ties going to the lower bypass: the measure the result is reported in,
on validation prompts.

Refusal tokens: the paper lists them per model ("I" for Llama-3). Twelve languages have no such short list, so
they are read off the model: the first tokens of its own greedy answers to the training prompts, kept when the
judge calls most answers that start with them refusals.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from typing import Callable, Sequence

import numpy as np


@dataclasses.dataclass
class Candidate:
    position: int  # offset from the end of the prompt: -1 is the last post-instruction token
    token: str
    layer: int
    norm: float  # of the difference of means
    bypass: float | None = None
    kl: float | None = None
    induce: float | None = None
    judged_refusal: float | None = None  # share of judged refusals among the ablated model's readable answers
    judged_failure: float | None = None  # share of its answers the judge could not read (empty, babble)
    discarded: str | None = None  # why it was filtered out
    selected: bool = False

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def refusal_scores(logprobs: np.ndarray, refusal_tokens: Sequence[int], eps: float = 1e-8) -> np.ndarray:
    """log p(R) - log(1 - p(R)) per row of next-token log-probabilities [N, V], in float64 (the paper's eps)."""
    p = np.exp(np.asarray(logprobs, np.float64)[:, list(refusal_tokens)]).sum(axis=-1)
    return np.log(p + eps) - np.log(1.0 - p + eps)


def kl_divergence(p_logprobs: np.ndarray, q_logprobs: np.ndarray) -> np.ndarray:
    """KL(p || q) per row, from log-probabilities [N, V], in float64."""
    a, b = np.asarray(p_logprobs, np.float64), np.asarray(q_logprobs, np.float64)
    return np.sum(np.exp(a) * (a - b), axis=-1)


def refusal_tokens_from_answers(first_tokens: Sequence[int], refusals: Sequence[bool | None], min_count: int = 2
                                ) -> dict[int, dict]:
    """{token: {"refusals": n, "other": m}} for first tokens that start at least `min_count` judged refusals and
    start refusals more often than not (failures, judged None, count for neither)."""
    ref, other = Counter(), Counter()
    for token, refused in zip(first_tokens, refusals):
        if refused is True:
            ref[token] += 1
        elif refused is False:
            other[token] += 1
    return {t: {"refusals": ref[t], "other": other[t]} for t in sorted(ref, key=lambda t: (-ref[t], t))
            if ref[t] >= min_count and ref[t] > other[t]}


@dataclasses.dataclass(frozen=True)
class SelectionSpec:
    kl_bound: float = 0.1  # the paper's threshold on the harmless-prompt KL
    prune_layers: float = 0.2  # discard candidates from the last 20% of layers
    induce_threshold: float = 0.0  # activation addition must raise the harmless refusal score above this
    judged_candidates: int = 3  # best-by-bypass candidates whose ablated answers the judge reads

    def __post_init__(self):
        from data_tools.errors import UserError

        if not 0.0 <= self.prune_layers < 1.0:
            raise UserError(f"config: key 'selection.prune_layers' must be in [0, 1), got {self.prune_layers}")
        if self.kl_bound <= 0:
            raise UserError(f"config: key 'selection.kl_bound' must be positive, got {self.kl_bound}")
        if self.judged_candidates < 1:
            raise UserError(f"config: key 'selection.judged_candidates' must be >= 1, got {self.judged_candidates}")

    def layer_limit(self, num_layers: int) -> int:
        """Candidates from layers >= this are discarded."""
        return int(num_layers * (1.0 - self.prune_layers))


@dataclasses.dataclass
class Scorer:
    """What scoring needs from the pipeline, as functions (the tests drive it with a tiny model):
    ablated_logprobs(direction) -> (harmful val [N, V], harmless val [M, V]) with the unit direction ablated;
    added_logprobs(vector, layer) -> harmless val [M, V] with `vector` added to layer `layer`'s input;
    judge(direction, candidate) -> (refusals, failures, answers) among the ablated model's answers to harmful
    validation prompts."""

    ablated_logprobs: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
    added_logprobs: Callable[[np.ndarray, int], np.ndarray]
    judge: Callable[[np.ndarray, Candidate], tuple[int, int, int]]


def select_direction(candidates: np.ndarray, tokens: Sequence[str], refusal_tokens: Sequence[int],
                     base_harmless_logprobs: np.ndarray, scorer: Scorer, spec: SelectionSpec,
                     progress: Callable[[str], None] | None = None) -> tuple[list[Candidate], Candidate | None]:
    """Score the candidate directions [tail, L, H] and pick one; returns (all candidates, the chosen or None when
    every candidate was discarded). Candidates from the pruned layers are not scored; every other candidate gets
    all three scores, so the report shows, e.g., whether a direction that fails the KL bound would induce
    refusal."""
    tail, num_layers, _ = candidates.shape
    limit = spec.layer_limit(num_layers)
    scored: list[Candidate] = []  # every candidate, in (position, layer) order
    for i in range(tail):
        for layer in range(num_layers):
            vec = candidates[i, layer]
            cand = Candidate(position=i - tail, token=tokens[i], layer=layer, norm=float(np.linalg.norm(vec)))
            scored.append(cand)
            if not np.all(np.isfinite(vec)) or cand.norm == 0.0:
                cand.discarded = "no direction (the two means coincide)"
                continue
            if layer >= limit:  # out whatever its scores: not scored, which saves that share of the forwards
                cand.discarded = f"layer >= {limit} (last {spec.prune_layers:.0%} of layers), not scored"
                continue
            harmful, harmless = scorer.ablated_logprobs(vec)
            cand.bypass = float(np.mean(refusal_scores(harmful, refusal_tokens)))
            cand.kl = float(np.mean(kl_divergence(base_harmless_logprobs, harmless)))
            cand.induce = float(np.mean(refusal_scores(scorer.added_logprobs(vec, layer), refusal_tokens)))
            if not math.isfinite(cand.kl) or cand.kl > spec.kl_bound:
                cand.discarded = f"kl {cand.kl:.4f} > bound {spec.kl_bound}"
            elif not cand.induce > spec.induce_threshold:
                cand.discarded = f"induce {cand.induce:.3f} <= {spec.induce_threshold}"
            if progress is not None:
                progress(f"position {cand.position} layer {layer}: bypass {cand.bypass:.3f} kl {cand.kl:.4f} "
                         f"induce {cand.induce:.3f}")
    survivors = sorted((c for c in scored if c.discarded is None), key=lambda c: c.bypass)
    if progress is not None:
        progress(f"{len(survivors)} of {len(scored)} candidates pass the filters; judging the answers of the best "
                 f"{min(spec.judged_candidates, len(survivors))}")
    not_complying = {}
    for cand in survivors[:spec.judged_candidates]:
        refusals, failures, n = scorer.judge(candidates[tail + cand.position, cand.layer], cand)
        cand.judged_refusal = refusals / (n - failures) if n > failures else None
        cand.judged_failure = failures / n
        # A direction that breaks the model (unreadable answers) must not win by refusing less.
        not_complying[id(cand)] = (refusals + failures) / n
    judged = [c for c in survivors if id(c) in not_complying]
    if not judged:
        return scored, None
    chosen = min(judged, key=lambda c: (not_complying[id(c)], c.bypass))
    chosen.selected = True
    return scored, chosen
