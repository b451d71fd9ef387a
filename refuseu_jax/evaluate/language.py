"""Which language a response is written in: py3langid over every language it knows (about 140 labels).

Restricting the identifier to the 12 RefusEU languages makes it name the nearest of them for anything else (a
Russian answer becomes Latvian, Croatian becomes Slovenian, Catalan becomes Portuguese), so a model that answers
in the wrong language would look consistent. Identification is unrestricted here, and a response is placed in one
of four classes:

  consistent   written in the prompt's language
  other_12     in another of the 12 languages (typically English)
  outside_12   in a language outside the 12 (Russian for a Latvian prompt, ...)
  undetermined too little text to tell (fewer than MIN_LETTERS letters), or no letters at all

Near relatives (cs/sk, lt/ltg) are hard to tell apart on a sentence or two: the prompt's language counts as
identified when the identifier gives it at least PLAUSIBLE of the probability mass, so a short Slovak reply that
py3langid rates 60% Czech / 34% Slovak is not called inconsistent.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from data_tools.taxonomy import LANGUAGES

MIN_LETTERS = 12  # below this py3langid's answer is close to a guess ("No." comes out Serbian)
PLAUSIBLE = 0.25
CLASSES = ("consistent", "other_12", "outside_12", "undetermined")


@lru_cache(maxsize=1)
def _identifier():
    # A private identifier: py3langid's module-level set_languages() would change it for every other caller.
    from py3langid import langid

    return langid.LanguageIdentifier.from_modelpath(langid.MODEL_DIR / langid.MODEL_FILE, norm_probs=True)


def letters(text: str) -> int:
    return sum(1 for ch in text or "" if ch.isalpha())


@dataclass(frozen=True)
class Identification:
    lang: str | None  # py3langid's best label, None without enough text
    probability: float  # its normalised probability
    candidates: tuple[tuple[str, float], ...]  # labels with at least PLAUSIBLE / 2 of the mass, best first

    def plausible(self, lang: str) -> bool:
        return self.lang == lang or any(code == lang and p >= PLAUSIBLE for code, p in self.candidates)


def identify(text: str, min_letters: int = MIN_LETTERS) -> Identification:
    """The response's language over all of py3langid's labels (None when the text is too short to tell)."""
    if letters(text) < min_letters:
        return Identification(None, 0.0, ())
    ranked = _identifier().rank(text)
    candidates = tuple((code, float(p)) for code, p in ranked[:5] if p >= PLAUSIBLE / 2)
    return Identification(ranked[0][0], float(ranked[0][1]), candidates)


def detect_language(text: str) -> str | None:
    """py3langid's best label for `text` over all languages it knows, or None for text without enough letters."""
    return identify(text).lang


def consistency_class(prompt_lang: str, text: str) -> tuple[str, str | None]:
    """(class, identified language) for one response to a prompt in `prompt_lang`; classes as in CLASSES."""
    found = identify(text)
    if found.lang is None:
        return "undetermined", None
    if found.plausible(prompt_lang):
        return "consistent", prompt_lang
    return ("other_12" if found.lang in LANGUAGES else "outside_12"), found.lang
