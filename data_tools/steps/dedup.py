"""Exact and near-duplicate detection for generated prompts.

Generators asked for many prompts in one (language, category, style) cell tend to repeat themselves with small
edits. Two prompts count as duplicates when their normalised texts are equal, or when the Jaccard overlap of
their character n-gram sets reaches a threshold. Character n-grams (rather than words) work the same way for all
12 languages, whatever their morphology, and survive small inflection changes.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normalise(text: str) -> str:
    """Casefold, strip diacritics and punctuation, collapse whitespace."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    no_marks = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_NON_WORD.sub(" ", no_marks).split())


def shingles(text: str, n: int) -> frozenset[str]:
    """Character n-grams of the normalised text (the whole text when shorter than n)."""
    norm = normalise(text)
    if len(norm) <= n:
        return frozenset([norm]) if norm else frozenset()
    return frozenset(norm[i:i + n] for i in range(len(norm) - n + 1))


class DuplicateIndex:
    """Remembers accepted texts; `check` says whether a new text duplicates one of them.

    An inverted index from n-gram to accepted texts keeps the check proportional to the candidates that share
    n-grams with the new text instead of to everything accepted so far.
    """

    def __init__(self, n: int = 5, threshold: float = 0.7):
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"near-duplicate threshold must be in (0, 1], got {threshold}")
        self.n = n
        self.threshold = threshold
        self._exact: dict[str, str] = {}
        self._grams: dict[str, frozenset[str]] = {}
        self._postings: dict[str, list[str]] = defaultdict(list)

    def check(self, text: str) -> tuple[str, str | None]:
        """-> ("exact" | "near" | "new", key of the matching accepted text or None)."""
        norm = normalise(text)
        if norm in self._exact:
            return "exact", self._exact[norm]
        grams = shingles(text, self.n)
        shared: dict[str, int] = defaultdict(int)
        for gram in grams:
            for key in self._postings.get(gram, ()):
                shared[key] += 1
        for key, overlap in shared.items():
            union = len(grams) + len(self._grams[key]) - overlap
            if union and overlap / union >= self.threshold:
                return "near", key
        return "new", None

    def add(self, key: str, text: str) -> None:
        self._exact[normalise(text)] = key
        grams = shingles(text, self.n)
        self._grams[key] = grams
        for gram in grams:
            self._postings[gram].append(key)
