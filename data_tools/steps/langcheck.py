"""Is a text in the language we asked for? Offline identification with py3langid restricted to our 12 languages.

Restricting the candidate set matters: unrestricted, short Slovak text is often called Czech-or-Croatian and short
Portuguese Galician; with only the RefusEU languages on the table the classifier is right far more often.
"""

from __future__ import annotations

from functools import lru_cache

from data_tools.taxonomy import LANGUAGES


@lru_cache(maxsize=1)
def _identifier():
    # Imported lazily: loading the model takes ~0.3 s, which commands that never check languages should not pay.
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(LANGUAGES))
    return identifier


def detect(text: str) -> tuple[str, float]:
    """-> (language code among LANGUAGES, probability)."""
    lang, prob = _identifier().classify(text)
    return lang, float(prob)


def is_language(text: str, lang: str, min_prob: float = 0.0) -> bool:
    detected, prob = detect(text)
    return detected == lang and prob >= min_prob
