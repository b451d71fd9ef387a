"""Global MMLU, scored as lm-evaluation-harness scores multiple choice: log-likelihood of " A" .. " D".

Prompt (zero-shot): "{question}\\nA. {a}\\nB. {b}\\nC. {c}\\nD. {d}\\nAnswer:"; the prediction is the letter whose
continuation has the highest summed log-probability. Tokenisation follows the harness: the continuation's tokens
are those of tokenize(context + continuation) after the tokens of tokenize(context), without special tokens
unless `add_bos` is set.

Languages: any of Global-MMLU's 42 (`GLOBAL_MMLU_LANGUAGES`; the paper also reports a non-European one); of the
RefusEU twelve it has all but sk, sl and lv. The drop against a baseline run is computed only over the languages
and questions (sample_id) both runs answered, and says how many that was.

Data: a local Parquet file, a directory of per-language Parquet files (`de.parquet` or `de/*.parquet`, the layout
of the Global-MMLU dataset's configs), a JSONL file, or a `datasets.save_to_disk` directory; with Global-MMLU's
columns (question, option_a .. option_d, answer as a letter, subject, ...). A single file names each row's
language in a `language` or `lang` column.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Sequence

import jax.numpy as jnp
import numpy as np
from flax import nnx

from data_tools.errors import UserError
from refuseu_jax.batching import fixed_batches, pad_id_of
from refuseu_jax.sample import left_pad, tail_logprobs

LETTERS = ("A", "B", "C", "D")
# The language configs of CohereForAI/Global-MMLU.
GLOBAL_MMLU_LANGUAGES = ("am", "ar", "bn", "cs", "de", "el", "en", "es", "fa", "fil", "fr", "ha", "he", "hi", "id",
                         "ig", "it", "ja", "ko", "ky", "lt", "mg", "ms", "ne", "nl", "ny", "pl", "pt", "ro", "ru",
                         "si", "sn", "so", "sr", "sv", "sw", "te", "tr", "uk", "vi", "yo", "zh")


def check_mmlu_languages(languages) -> tuple[str, ...]:
    """"all" or a list (or comma-separated string) of Global-MMLU language codes; unknown codes are an error."""
    if languages == "all" or languages == ["all"]:
        return GLOBAL_MMLU_LANGUAGES
    if isinstance(languages, str):
        languages = [code.strip() for code in languages.split(",") if code.strip()]
    unknown = [code for code in languages if code not in GLOBAL_MMLU_LANGUAGES]
    if unknown:
        raise UserError(f"key 'mmlu.languages': {', '.join(unknown)} not in Global-MMLU (its languages: "
                        f"{', '.join(GLOBAL_MMLU_LANGUAGES)})")
    return tuple(languages)
REQUIRED = ("question", "option_a", "option_b", "option_c", "option_d", "answer")


def format_prompt(row: dict) -> str:
    return (f"{row['question'].strip()}\nA. {row['option_a']}\nB. {row['option_b']}\nC. {row['option_c']}\n"
            f"D. {row['option_d']}\nAnswer:")


# ----------------------------------------------------------------------------------------------------------------
# Loading
# ----------------------------------------------------------------------------------------------------------------


def load_questions(path: str | Path, languages: Sequence[str] = GLOBAL_MMLU_LANGUAGES, limit: int | None = None,
                   split: str = "test") -> dict[str, list[dict]]:
    """{lang: [row, ...]} for the requested languages found at `path` (first `limit` rows per language)."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: Global MMLU data not found")
    by_lang: dict[str, list[dict]] = defaultdict(list)
    if path.is_dir() and any((path / f"{lang}.parquet").exists() or (path / lang).is_dir() for lang in languages):
        for lang in languages:
            files = [path / f"{lang}.parquet"] if (path / f"{lang}.parquet").exists() else sorted(
                (path / lang).glob(f"{split}*.parquet")) or sorted((path / lang).glob("*.parquet"))
            for file in files:
                if file.exists():
                    by_lang[lang].extend(_read_table(file))
    else:
        for row in _read_table(path, split):
            lang = row.get("language", row.get("lang"))
            if lang is None:
                raise UserError(f"{path}: a single Global MMLU file needs a 'language' or 'lang' column")
            by_lang[str(lang)].append(row)
    out = {}
    for lang in [lang for lang in languages if by_lang.get(lang)]:
        rows = by_lang[lang][:limit] if limit else by_lang[lang]
        for i, row in enumerate(rows):
            missing = [c for c in REQUIRED if c not in row]
            if missing:
                raise UserError(f"{path}: {lang} row {i}: missing column(s) {', '.join(missing)}")
            if str(row["answer"]).strip() not in LETTERS:
                raise UserError(f"{path}: {lang} row {i}: answer must be one of A-D, got {row['answer']!r}")
        out[lang] = rows
    if not out:
        raise UserError(f"{path}: no Global MMLU rows for languages {', '.join(languages)}")
    return out


def _read_table(path: Path, split: str = "test") -> list[dict]:
    if path.is_dir():
        import datasets

        data = datasets.load_from_disk(str(path))
        if isinstance(data, datasets.DatasetDict):
            if split not in data:
                raise UserError(f"{path}: dataset has no split '{split}' (has {', '.join(data)})")
            data = data[split]
        return data.to_list()
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    if path.suffix in (".jsonl", ".json"):
        import json

        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    raise UserError(f"{path}: expected .parquet, .jsonl or a dataset directory")


# ----------------------------------------------------------------------------------------------------------------
# Log-likelihood scoring
# ----------------------------------------------------------------------------------------------------------------


def encode_pair(tokenizer, context: str, continuation: str, add_bos: bool = False) -> tuple[list[int], list[int]]:
    """(context ids, continuation ids) as the harness splits them (trailing context spaces move over)."""
    spaces = len(context) - len(context.rstrip(" "))
    if spaces:
        context, continuation = context[:-spaces], context[-spaces:] + continuation
    whole = tokenizer.encode(context + continuation, add_special_tokens=False)
    ctx = tokenizer.encode(context, add_special_tokens=False)
    cont = whole[len(ctx):]
    if add_bos and tokenizer.bos_token_id is not None:
        ctx = [tokenizer.bos_token_id] + ctx
    return ctx, cont


def loglikelihoods(model, requests: Sequence[tuple[list[int], list[int]]], batch_size: int = 8,
                   pad_id: int = 0, length_bucket: int = 32) -> list[float]:
    """Summed log p(continuation | context) for each (context ids, continuation ids).

    The model reads context + continuation[:-1]; requests with the same input (the four single-token letters of
    one question) share one forward pass.
    """
    graphdef, state = nnx.split(model)
    inputs = {}
    for ctx, cont in requests:
        if not cont:
            raise ValueError("empty continuation")
        key = tuple(ctx + cont[:-1])
        inputs[key] = max(inputs.get(key, 0), len(cont))
    unique = sorted(inputs, key=len)  # similar lengths together: less padding
    tails: dict[tuple, np.ndarray] = {}
    for _, chunk, n_real in fixed_batches(unique, batch_size):  # fixed batch shape: one compile per length bucket
        k = max(inputs[seq] for seq in chunk)
        length = -(-max(map(len, chunk)) // length_bucket) * length_bucket
        ids, mask = left_pad(chunk, length, pad_id)
        logprobs = np.asarray(tail_logprobs(graphdef, state, jnp.asarray(ids), jnp.asarray(mask), k=k))
        for row, seq in enumerate(chunk[:n_real]):
            tails[seq] = logprobs[row]
    out = []
    for ctx, cont in requests:
        tail = tails[tuple(ctx + cont[:-1])]
        # The last len(cont) positions predict the continuation's tokens.
        out.append(float(sum(tail[-len(cont) + i, token] for i, token in enumerate(cont))))
    return out


def evaluate(model, tokenizer, questions: dict[str, list[dict]], batch_size: int = 8, add_bos: bool = False) -> dict:
    """Accuracy per language and overall (micro-averaged), plus each question's prediction for audit."""
    pad_id = pad_id_of(tokenizer)
    requests, index = [], []
    for lang, rows in questions.items():
        for i, row in enumerate(rows):
            context = format_prompt(row)
            for letter in LETTERS:
                requests.append(encode_pair(tokenizer, context, f" {letter}", add_bos))
                index.append((lang, i))
    scores = loglikelihoods(model, requests, batch_size=batch_size, pad_id=pad_id)
    per_question: dict[tuple, list[float]] = defaultdict(list)
    for key, score in zip(index, scores):
        per_question[key].append(score)
    per_language, predictions = {}, []
    for lang, rows in questions.items():
        correct = 0
        for i, row in enumerate(rows):
            letter_scores = per_question[(lang, i)]
            predicted = LETTERS[int(np.argmax(letter_scores))]
            correct += predicted == str(row["answer"]).strip()
            predictions.append({"lang": lang, "sample_id": row.get("sample_id", i), "predicted": predicted,
                                "answer": str(row["answer"]).strip(), "loglik": letter_scores})
        per_language[lang] = {"n": len(rows), "accuracy": correct / len(rows)}
    total = sum(v["n"] for v in per_language.values())
    overall = sum(v["accuracy"] * v["n"] for v in per_language.values()) / total
    return {"overall": {"n": total, "accuracy": overall}, "per_language": per_language, "predictions": predictions}


def read_predictions(run_dir: str | Path) -> list[dict] | None:
    """An evaluation run's per-question predictions (mmlu_predictions.jsonl), or None when it has none."""
    import json

    path = Path(run_dir) / "mmlu_predictions.jsonl"
    if not path.is_file():
        return None
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def accuracy_drop(current: Sequence[dict], baseline: Sequence[dict]) -> dict:
    """Baseline accuracy minus current (positive = the model got worse), over the languages and questions both
    runs answered (matched by language and sample_id), per language and overall, with McNemar's exact test of the
    change in correctness. Says which languages and how many questions that was, and what was left out."""
    from refuseu_jax.evaluate.stats import mcnemar_exact

    def index(predictions):
        return {(p["lang"], str(p["sample_id"])): p["predicted"] == p["answer"] for p in predictions}

    now, before = index(current), index(baseline)
    shared = sorted(set(now) & set(before))
    langs = sorted({lang for lang, _ in shared})
    out: dict = {"per_language": {}}
    for lang in langs:
        keys = [k for k in shared if k[0] == lang]
        a, b = [before[k] for k in keys], [now[k] for k in keys]
        out["per_language"][lang] = {"n": len(keys), "baseline": sum(a) / len(keys), "current": sum(b) / len(keys),
                                     "drop": (sum(a) - sum(b)) / len(keys), "mcnemar": mcnemar_exact(a, b)}
    if shared:
        a, b = [before[k] for k in shared], [now[k] for k in shared]
        out["overall"] = {"n": len(shared), "baseline": sum(a) / len(shared), "current": sum(b) / len(shared),
                          "drop": (sum(a) - sum(b)) / len(shared), "mcnemar": mcnemar_exact(a, b)}
    only_now = sorted({lang for lang, _ in set(now) - set(before)})
    only_before = sorted({lang for lang, _ in set(before) - set(now)})
    out["shared"] = {"languages": langs, "questions": len(shared),
                     "left_out": {"current_only": len(set(now) - set(before)),
                                  "baseline_only": len(set(before) - set(now))},
                     "note": f"computed over the {len(shared)} questions in {len(langs)} language(s) both runs "
                             f"answered ({', '.join(langs) or 'none'})" +
                             (f"; not in the baseline: {', '.join(only_now)}" if only_now else "") +
                             (f"; not in this run: {', '.join(only_before)}" if only_before else "")}
    return out
