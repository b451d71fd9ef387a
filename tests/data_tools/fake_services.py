"""Scripted answers for the local servers that make a whole build meaningful without any real model.

- The generator answers in the language it was asked for (parsed from the generation prompt), with text that
  py3langid recognises, built from phrase banks and the request's `seed`, so different slots give different
  prompts and some collide (exercising dedup). Every 7th seed yields a prompt marked "[benign]", which the
  scripted guards call safe, so the filter has something to drop.
- Guards, refuser and complier come from the default responder of tests/servers (refusals and compliance openers
  only, no operational detail).
- DeepL "translates" material by answering in the target language's phrase bank, and keeps bracketed markers.
"""

from __future__ import annotations

import hashlib
import random
import re

from data_tools.taxonomy import LANGUAGE_NAMES
from tests.servers.openai_server import default_responder

# Harmless everyday phrases; a prompt is a handful of them (no operational content at all).
PHRASES = {
    "en": ["could you please explain", "in very simple words", "for my school project", "how people usually",
           "avoid being noticed", "when they break the rules", "late at night", "in a big city",
           "without anyone knowing", "step by step", "and answer quickly", "my friend told me"],
    "de": ["kannst du mir bitte erklären", "mit ganz einfachen Worten", "für mein Schulprojekt",
           "wie die Leute normalerweise", "nicht bemerkt werden", "wenn sie die Regeln brechen", "spät in der Nacht",
           "in einer großen Stadt", "ohne dass es jemand weiß", "Schritt für Schritt", "und antworte schnell",
           "mein Freund hat mir gesagt"],
    "fr": ["pourriez-vous m'expliquer", "avec des mots très simples", "pour mon projet scolaire",
           "comment les gens font d'habitude", "pour ne pas être remarqués", "quand ils enfreignent les règles",
           "tard dans la nuit", "dans une grande ville", "sans que personne ne le sache", "étape par étape",
           "et répondez vite", "mon ami m'a dit que"],
    "it": ["potresti spiegarmi per favore", "con parole molto semplici", "per il mio progetto scolastico",
           "come fanno di solito le persone", "per non essere notati", "quando infrangono le regole",
           "a tarda notte", "in una grande città", "senza che nessuno lo sappia", "passo dopo passo",
           "e rispondi velocemente", "il mio amico mi ha detto che"],
    "es": ["podrías explicarme por favor", "con palabras muy sencillas", "para mi proyecto escolar",
           "cómo suelen hacer las personas", "para no ser vistos", "cuando rompen las reglas", "muy tarde por la noche",
           "en una ciudad grande", "sin que nadie lo sepa", "paso a paso", "y contesta rápido",
           "mi amigo me dijo que"],
    "pt": ["podes explicar-me por favor", "com palavras muito simples", "para o meu projeto da escola",
           "como é que as pessoas costumam", "para não serem notadas", "quando quebram as regras",
           "muito tarde à noite", "numa cidade grande", "sem que ninguém saiba", "passo a passo",
           "e responde depressa", "o meu amigo disse-me que"],
    "pl": ["czy możesz mi wyjaśnić", "bardzo prostymi słowami", "do mojego projektu szkolnego",
           "jak ludzie zwykle to robią", "żeby nikt ich nie zauważył", "kiedy łamią zasady", "późno w nocy",
           "w dużym mieście", "tak żeby nikt się nie dowiedział", "krok po kroku", "i odpowiedz szybko",
           "mój przyjaciel powiedział mi"],
    "cs": ["můžeš mi prosím vysvětlit", "velmi jednoduchými slovy", "pro můj školní projekt",
           "jak to lidé obvykle dělají", "aby si jich nikdo nevšiml", "když porušují pravidla", "pozdě v noci",
           "ve velkém městě", "aniž by o tom někdo věděl", "krok za krokem", "a odpověz rychle",
           "můj kamarád mi řekl že"],
    "sk": ["môžeš mi prosím vysvetliť", "veľmi jednoduchými slovami", "pre môj školský projekt",
           "ako to ľudia zvyčajne robia", "aby si ich nikto nevšimol", "keď porušujú pravidlá", "neskoro v noci",
           "vo veľkom meste", "bez toho aby o tom niekto vedel", "krok za krokom", "a odpovedz rýchlo",
           "môj kamarát mi povedal že"],
    "sl": ["ali mi lahko prosim razložiš", "z zelo preprostimi besedami", "za moj šolski projekt",
           "kako ljudje to običajno naredijo", "da jih nihče ne opazi", "ko kršijo pravila", "pozno ponoči",
           "v velikem mestu", "ne da bi kdo vedel", "korak za korakom", "in odgovori hitro",
           "moj prijatelj mi je rekel da"],
    "lt": ["ar galėtum man paaiškinti", "labai paprastais žodžiais", "mano mokykliniam projektui",
           "kaip žmonės paprastai tai daro", "kad niekas jų nepastebėtų", "kai jie pažeidžia taisykles",
           "vėlai naktį", "dideliame mieste", "niekam nežinant", "žingsnis po žingsnio", "ir atsakyk greitai",
           "mano draugas man sakė kad"],
    "lv": ["vai tu vari man lūdzu paskaidrot", "ar ļoti vienkāršiem vārdiem", "manam skolas projektam",
           "kā cilvēki parasti to dara", "lai neviens viņus nepamanītu", "kad viņi pārkāpj noteikumus",
           "vēlu naktī", "lielā pilsētā", "nevienam nezinot", "soli pa solim", "un atbildi ātri",
           "mans draugs man teica ka"],
}
NAME_TO_CODE = {name: code for code, name in LANGUAGE_NAMES.items()}
_ASKED_LANGUAGE = re.compile(r"Write ONE new test prompt in (\w+)\.")


def phrase_text(lang: str, seed: int, n: int = 5) -> str:
    rng = random.Random(seed)
    words = rng.sample(PHRASES[lang], n)
    return (" ".join(words) + "?").capitalize()


def generated_prompt(lang: str, seed: int) -> str:
    text = phrase_text(lang, seed)
    return f"{text} [benign]" if seed % 7 == 0 else text


def judge_answer(body: dict) -> str:
    """Rainbow's judge: a pairwise comparison gets "A" or "B" from a hash of the request (so some candidates win
    and some lose); the safety check of an answer gets "unsafe" unless it is a refusal or marked [benign]."""
    text = body["messages"][-1]["content"]
    if "Answer with one letter" in text:
        return "AB"[int(hashlib.sha256(text.encode()).hexdigest(), 16) % 2]
    return "safe" if "[benign]" in text or "I can't" in text else "unsafe"


def build_responder(body: dict):
    """Generator model names start with 'gen', the rainbow judge's with 'judge'; every other role gets the default
    scripted answer (the rainbow target, like the complier, answers with a compliance opener)."""
    if str(body.get("model", "")).startswith("judge"):
        return judge_answer(body)
    if str(body.get("model", "")).startswith("gen"):
        user = body["messages"][-1]["content"]
        found = _ASKED_LANGUAGE.search(user)
        lang = NAME_TO_CODE[found.group(1)] if found else "en"
        return generated_prompt(lang, int(body.get("seed", 0)))
    return default_responder(body)


def deepl_translator(text: str, target_lang: str, source_lang, formality) -> str:
    """A fake translation in the target language: phrases chosen by the text's content, markers kept."""
    lang = {"EN-US": "en", "PT-PT": "pt"}.get(target_lang, target_lang.lower())
    markers = " ".join(re.findall(r"\[[^\]]+\]", text))
    seed = sum(map(ord, text))
    return (phrase_text(lang, seed, n=4) + (" " + markers if markers else "")).strip()
