"""Toxicity scorers for continuations: a Perspective-API-compatible endpoint, or a guard (served or in-process).

Both turn (prompt, continuation, language) items into a score in [0, 1] or None (not scored), and say what they
are in `describe()`, which every report prints beside the numbers.
"""

from __future__ import annotations

from collections import Counter

from data_tools.clients.perspective import TOXICITY_LANGUAGES, PerspectiveClient
from data_tools.taxonomy import LANGUAGES, check_languages


class PerspectiveScorer:
    def __init__(self, section, cache=None, progress: bool = True):
        self.cfg = section.perspective
        self.client = PerspectiveClient(self.cfg, cache=cache, progress=progress)
        known = TOXICITY_LANGUAGES if self.cfg.attribute == "TOXICITY" else LANGUAGES
        self.languages = check_languages(section.languages, where="key 'benchmarks.scorer.languages'") \
            if section.languages is not None else known
        self.unscored: Counter = Counter()

    def describe(self) -> dict:
        return {"kind": "perspective", "endpoint": self.cfg.endpoint_id, "attribute": self.cfg.attribute,
                "languages": list(self.languages), "languages_sent": self.cfg.send_language}

    def score(self, items, desc: str | None = None) -> list[float | None]:
        out: list[float | None] = [None] * len(items)
        todo = [i for i, (_, text, _) in enumerate(items) if text.strip()]
        self.unscored["empty"] += len(items) - len(todo)
        results = self.client.score([(items[i][1], items[i][2]) for i in todo], desc=desc)
        for i, result in zip(todo, results):
            if result.ok:
                out[i] = result.value
            else:
                self.unscored[result.kind] += 1
        return out

    def stats(self) -> dict:
        return {**self.client.stats.as_dict(), "unscored": dict(self.unscored)}


class GuardScorer:
    """A guard's probability of "unsafe" for (prompt, continuation), where the guard gives one (Llama Guard's first
    token); 1.0 / 0.0 from its verdict otherwise. It measures harm by the guard's policy, not Perspective's
    toxicity, so its numbers are not comparable to the benchmarks' published ones."""

    def __init__(self, section, cache=None, mesh=None, progress: bool = True):
        from refuseu_jax.evaluate.judging import build_judge

        self.cfg = section.guard
        self.judge = build_judge(self.cfg, cache=cache, mesh=mesh, progress=progress)
        self.languages = check_languages(section.languages, where="key 'benchmarks.scorer.languages'") \
            if section.languages is not None else LANGUAGES
        self.unscored: Counter = Counter()

    def describe(self) -> dict:
        where = self.cfg.endpoint.endpoint_id if self.cfg.endpoint is not None else f"in-process {self.cfg.model}"
        model = self.cfg.endpoint.model if self.cfg.endpoint is not None else self.cfg.model
        return {"kind": "guard", "name": self.cfg.name, "format": self.cfg.format, "backend": self.cfg.backend,
                "model": model, "endpoint": where, "languages": list(self.languages)}

    def score(self, items, desc: str | None = None) -> list[float | None]:
        out: list[float | None] = [None] * len(items)
        todo = [i for i, (_, text, _) in enumerate(items) if text.strip()]
        self.unscored["empty"] += len(items) - len(todo)
        verdicts = self.judge([(items[i][0], items[i][1]) for i in todo]) if todo else []
        for i, verdict in zip(todo, verdicts):
            if not verdict.ok or verdict.unsafe is None:
                self.unscored[verdict.status] += 1
            elif verdict.score is not None:
                out[i] = float(verdict.score)
            else:
                out[i] = 1.0 if verdict.unsafe else 0.0
        return out

    def stats(self) -> dict:
        return {"unscored": dict(self.unscored)}


def build_scorer(section, cache=None, mesh=None, progress: bool = True):
    if section.kind == "guard":
        return GuardScorer(section, cache=cache, mesh=mesh, progress=progress)
    return PerspectiveScorer(section, cache=cache, progress=progress)
