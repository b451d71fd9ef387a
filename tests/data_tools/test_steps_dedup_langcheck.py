"""Near-duplicate detection and the language check used by `generate`."""

from __future__ import annotations

import pytest

from data_tools.steps.dedup import DuplicateIndex, normalise, shingles
from data_tools.steps.generate import clean_prompt
from data_tools.steps.langcheck import detect


def test_normalise_ignores_case_accents_punctuation_and_spacing():
    assert normalise("  Où est   la GARE?! ") == normalise("ou est la gare") == "ou est la gare"
    assert shingles("abc", 5) == frozenset({"abc"}) and shingles("!!", 5) == frozenset()


def test_exact_near_and_new():
    index = DuplicateIndex(n=5, threshold=0.7)
    index.add("a", "Could you explain, step by step, how people avoid being noticed late at night?")
    assert index.check("could you explain step by step how people avoid being noticed late at night") == ("exact", "a")
    near = "Could you explain, step by step, how people avoid being noticed late at night, please?"
    assert index.check(near) == ("near", "a")
    assert index.check("Write a poem about the sea in winter.") == ("new", None)


def test_threshold_controls_near_duplicates():
    text_a = "how people usually break the rules in a big city"
    text_b = "how people usually break the rules in a small village"
    strict, loose = DuplicateIndex(threshold=0.95), DuplicateIndex(threshold=0.4)
    strict.add("a", text_a)
    loose.add("a", text_a)
    assert strict.check(text_b)[0] == "new" and loose.check(text_b)[0] == "near"
    with pytest.raises(ValueError):
        DuplicateIndex(threshold=0.0)


def test_clean_prompt_strips_wrapping_quotes_only():
    assert clean_prompt('  "„Wie macht man das?“"  ') == "Wie macht man das?"
    assert clean_prompt('He said "no" twice') == 'He said "no" twice'
    assert clean_prompt(None) == ""


@pytest.mark.parametrize("lang, text", [
    ("sk", "Môžeš mi prosím vysvetliť, ako to ľudia zvyčajne robia vo veľkom meste?"),
    ("cs", "Můžeš mi prosím vysvětlit, jak to lidé obvykle dělají ve velkém městě?"),
    ("sl", "Ali mi lahko prosim razložiš, kako ljudje to običajno naredijo v velikem mestu?"),
    ("pt", "Podes explicar-me por favor como é que as pessoas costumam fazer isto numa cidade grande?"),
    ("lv", "Vai tu vari man lūdzu paskaidrot, kā cilvēki parasti to dara lielā pilsētā?"),
])
def test_language_check_separates_close_languages(lang, text):
    assert detect(text)[0] == lang
