"""Prompts for abliteration: harmful and harmless sets in the 12 languages, their splits, and their token ids.

Harmful prompts are RefusEU records (the bundled sample by default; a `refuseu-data` export works the same).
Harmless prompts are RefusEU-format records of the `benign` category (the bundled benign pairs by default) or
benign evaluation prompts (`data_tools.benign`); only the user turns are read. The bundled benign evaluation
prompts (topics disjoint from the pairs) stay out of direction finding and are kept for the final measurement.

Splits: directions come from `train` prompts, the selection is scored on `val` prompts taken from the train split,
and the final per-language numbers use the harmful `test` split. A validation prompt's translations (same
`source_id`) never sit in the direction set, so selection is not scored on a translation of a prompt it was fitted
on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from data_tools.errors import UserError
from data_tools.taxonomy import LANGUAGES

BUNDLED = "bundled"


@dataclass(frozen=True)
class Prompt:
    id: str
    source_id: str
    lang: str
    messages: tuple  # ({"role": ..., "content": ...}, ...), ending with the user turn
    split: str = "train"

    @property
    def text(self) -> str:
        return self.messages[-1]["content"]


def _from_rows(rows, languages) -> list[Prompt]:
    return [Prompt(r["id"], r["source_id"], r["lang"], tuple(r["prompt"]), r.get("split", "train"))
            for r in rows if r["lang"] in languages]


def read_harmful(data: str, languages) -> list[Prompt]:
    """Harmful prompts of RefusEU records, every split."""
    from data_tools.sample import SAMPLE_PATH, bundled_or
    from data_tools.schema import read_records

    return _from_rows(read_records(bundled_or(data, BUNDLED, SAMPLE_PATH)), languages)


def read_harmless(data: str, languages) -> list[Prompt]:
    """Harmless prompts: benign RefusEU records, or benign evaluation prompts (told apart by their `kind` key)."""
    from data_tools.sample import BENIGN_PAIRS_PATH, bundled_or

    return _from_rows(_read_prompt_file(Path(bundled_or(data, BUNDLED, BENIGN_PAIRS_PATH))), languages)


def read_benign_eval(data: str, languages) -> list[Prompt]:
    """Held-out harmless prompts (benign prompt format) for the final over-refusal and KL measurement (bundled:
    benign_eval.jsonl), the same file the evaluation table reads."""
    from data_tools.benign import read_benign_prompts
    from data_tools.sample import BENIGN_EVAL_PATH, bundled_or

    return _from_rows(read_benign_prompts(bundled_or(data, BUNDLED, BENIGN_EVAL_PATH)), languages)


def _read_prompt_file(path: Path) -> list[dict]:
    from data_tools.benign import read_benign_prompts
    from data_tools.schema import iter_jsonl, read_records

    if path.is_file() and path.suffix == ".jsonl":
        first = next((obj for _, obj in iter_jsonl(path)), None)
        if isinstance(first, dict) and "kind" in first and "chosen" not in first:
            return read_benign_prompts(path)
    return read_records(path)


def _rank(source_id: str, seed: int) -> str:
    return hashlib.sha256(f"{seed}:{source_id}".encode("utf-8")).hexdigest()


def split_train_val(prompts: list[Prompt], n_val: int, n_train: int | None, seed: int
                    ) -> tuple[list[Prompt], list[Prompt]]:
    """(train, val) from `prompts`: per language the `n_val` prompts whose source ids rank first under a seeded
    hash, and up to `n_train` of the rest (in the same order). Ranking by source id picks the same sources in
    every language for parallel (translated) data, and any prompt sharing a source id with a validation prompt is
    left out of train."""
    by_lang: dict[str, list[Prompt]] = {}
    for p in sorted(prompts, key=lambda p: (_rank(p.source_id, seed), p.id)):
        by_lang.setdefault(p.lang, []).append(p)
    val = [p for items in by_lang.values() for p in items[:n_val]]
    held = {p.source_id for p in val}
    train = []
    for items in by_lang.values():
        rest = [p for p in items[n_val:] if p.source_id not in held]
        train += rest if n_train is None else rest[:n_train]
    order = {lang: i for i, lang in enumerate(LANGUAGES)}
    key = lambda p: (order.get(p.lang, len(order)), _rank(p.source_id, seed), p.id)  # noqa: E731
    return sorted(train, key=key), sorted(val, key=key)


# ---- tokens ----------------------------------------------------------------------------------------------------
def encode(tokenizer, prompt: Prompt) -> list[int]:
    """Token ids of the conversation rendered with the model's chat template, ready for the reply (as the sampler
    encodes it: the template holds any BOS it wants)."""
    text = tokenizer.apply_chat_template(list(prompt.messages), tokenize=False, add_generation_prompt=True)
    return tokenizer.encode(text, add_special_tokens=False)


def post_instruction_tokens(tokenizer) -> list[int]:
    """The tokens the chat template puts after the user's instruction (Llama 3: <|eot_id|>, the assistant header,
    "\\n\\n"): the longest common token suffix of two conversations whose instructions end differently. These are
    the positions whose activations the candidate directions come from."""
    if tokenizer.chat_template is None:
        raise UserError("the model's tokenizer has no chat template: abliteration reads the post-instruction tokens "
                        "of the chat format")
    a = encode(tokenizer, Prompt("a", "a", "en", ({"role": "user", "content": "Name a colour"},)))
    b = encode(tokenizer, Prompt("b", "b", "en", ({"role": "user", "content": "Zähle bis 3?"},)))
    n = 0
    while n < min(len(a), len(b)) and a[-1 - n] == b[-1 - n]:
        n += 1
    if n == 0:
        raise UserError("the chat template puts no tokens after the instruction; there is no post-instruction "
                        "position to read")
    return a[len(a) - n:]


def encode_all(tokenizer, prompts: list[Prompt], suffix: list[int]) -> list[list[int]]:
    """Every prompt's ids, checked to end with the post-instruction tokens (the positions read must be the same
    tokens in every prompt)."""
    out = []
    for p in prompts:
        ids = encode(tokenizer, p)
        if ids[-len(suffix):] != suffix:
            raise UserError(f"prompt {p.id} ({p.lang}): its tokens do not end with the chat template's "
                            f"post-instruction tokens {suffix} (the instruction's last characters merged with them)")
        out.append(ids)
    return out
