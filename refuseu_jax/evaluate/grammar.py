"""The refusal grammar (data/refusal_grammar.yaml): per-language markers, scoped to a response's own language.

Markers are evidence for the judge's classifier, counted separately in the opening of a response and in the rest;
only `bare` decides anything by itself (a response that is nothing but "No."). A response is matched against its
identified language(s), the prompt's language and English, never against every language: Lithuanian "deja"
("unfortunately") must not fire on Spanish "Deja que te explique...".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Iterable

import yaml

from data_tools.errors import UserError

DATA = "refuseu_jax.evaluate.data"
KINDS = ("refusal", "apology", "comply")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")
OPENING_SENTENCES = 2
OPENING_MAX_CHARS = 300
_BARE_STRIP = re.compile(r"^[\W_]+|[\W_]+$")


def normalise(text: str) -> str:
    """Lower case, typographic apostrophes folded, whitespace collapsed: the form every marker is matched on."""
    text = (text or "").replace("’", "'").replace("ʼ", "'").replace("`", "'")
    return re.sub(r"[ \t\r\f\v]+", " ", text).strip().lower()


def opening(text: str, sentences: int = OPENING_SENTENCES) -> str:
    """The first `sentences` sentences (at most OPENING_MAX_CHARS characters): where a refusal usually says so."""
    parts = [p for p in _SENTENCE_END.split(text) if p.strip()]
    return " ".join(parts[:sentences])[:OPENING_MAX_CHARS]


@dataclass(frozen=True)
class Grammar:
    markers: dict[str, dict[str, tuple[re.Pattern, ...]]]  # lang -> kind -> patterns
    bare: dict[str, frozenset[str]]
    function_words: frozenset[str]
    source: str

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self.markers)

    @classmethod
    def load(cls, path: str | Path | None = None) -> "Grammar":
        if path is None:
            text, source = resources.files(DATA).joinpath("refusal_grammar.yaml").read_text("utf-8"), "packaged"
        else:
            try:
                text, source = Path(path).read_text(encoding="utf-8"), str(path)
            except OSError as err:
                raise UserError(f"{path}: cannot read the refusal grammar ({err.strerror})") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise UserError(f"{source}: invalid YAML ({err})") from None
        if not isinstance(data, dict) or not isinstance(data.get("function_words"), dict):
            raise UserError(f"{source}: expected language sections and a 'function_words' mapping")
        markers, bare = {}, {}
        for lang, section in data.items():
            if lang == "function_words":
                continue
            if not isinstance(section, dict) or not set(section) <= {*KINDS, "bare"}:
                raise UserError(f"{source}: key '{lang}': expected a mapping with keys from "
                                f"{', '.join((*KINDS, 'bare'))}")
            markers[lang] = {}
            for kind in KINDS:
                try:
                    markers[lang][kind] = tuple(re.compile(p, re.IGNORECASE) for p in section.get(kind) or ())
                except re.error as err:
                    raise UserError(f"{source}: key '{lang}.{kind}': bad regular expression ({err})") from None
            bare[lang] = frozenset(normalise(str(w)) for w in section.get("bare") or ())
        words = frozenset(str(w).lower() for ws in data["function_words"].values() for w in ws)
        return cls(markers, bare, words, source)

    def scope(self, languages: Iterable[str | None]) -> tuple[str, ...]:
        """The grammar languages to match: the given ones that the grammar has, plus English, in a fixed order."""
        wanted = {lang for lang in languages if lang} | {"en"}
        return tuple(lang for lang in self.markers if lang in wanted)

    def is_bare_refusal(self, text: str, scope: Iterable[str]) -> bool:
        core = _BARE_STRIP.sub("", normalise(text))
        return bool(core) and any(core in self.bare[lang] for lang in scope)

    def evidence(self, text: str, scope: Iterable[str]) -> dict[str, list[str]]:
        """{"refusal_first": [matched text, ...], "refusal_opening": [...], "refusal_rest": [...], and the same for
        "apology" and "comply"}: every marker found in the first sentence, the opening (first two sentences) and
        the rest of the response."""
        norm = normalise(text)
        first, head = opening(norm, 1), opening(norm)
        rest = norm[len(head):] if norm.startswith(head) else norm
        parts = (("first", first), ("opening", head), ("rest", rest))
        found: dict[str, list[str]] = {f"{kind}_{part}": [] for kind in KINDS for part, _ in parts}
        for lang in scope:
            for kind in KINDS:
                for pattern in self.markers[lang][kind]:
                    for part, segment in parts:
                        if part == "rest" and pattern.pattern.startswith("^"):
                            continue  # anchored at the start of the response: the opening only
                        match = pattern.search(segment)
                        if match:
                            found[f"{kind}_{part}"].append(f"{lang}: {match.group(0).strip()}")
        return found


@lru_cache(maxsize=4)
def load_grammar(path: str | None = None) -> Grammar:
    return Grammar.load(path)
