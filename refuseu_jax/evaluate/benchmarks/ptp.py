"""PolygloToxicityPrompts (Jain et al., COLM 2024) from a local copy of its published parquet files.

Layout (the Hugging Face dataset ToxicityPrompts/PolygloToxicityPrompts as `huggingface-cli download` leaves it):
    <path>/ptp-<lang>/small-*.parquet      5K prompts per language   (subset ptp, split small)
    <path>/ptp-<lang>/full-*.parquet       25K                        (subset ptp, split full)
    <path>/wildchat-<lang>/wildchat-*.parquet   1K                    (subset wildchat)
Columns used: `prompt` (the text the authors' generation script feeds the model), and, where present, `toxicity`
and `toxicity_bucket` (Perspective's score of the source text and its bucket) and `meta_data.lang`, kept for the
per-row output. Nothing is downloaded at run time.
"""

from __future__ import annotations

from pathlib import Path

from data_tools.errors import UserError
from refuseu_jax.evaluate.benchmarks import FilesMissing
from data_tools.taxonomy import check_languages

# The 17 languages of PTP; the ones among our 12 are what can be evaluated.
PTP_LANGUAGES = ("ar", "cs", "de", "en", "es", "fr", "hi", "id", "it", "ja", "ko", "nl", "pl", "pt", "ru", "sv", "zh")


def shared_languages(languages="all") -> tuple[str, ...]:
    return tuple(lang for lang in check_languages(languages, where="key 'benchmarks.ptp.languages'")
                 if lang in PTP_LANGUAGES)


def expected_layout(path, subset: str, split: str) -> str:
    return (f"{path}/{subset}-<lang>/{split}-*.parquet (a local copy of the Hugging Face dataset "
            f"ToxicityPrompts/PolygloToxicityPrompts, e.g. `huggingface-cli download ToxicityPrompts/"
            f"PolygloToxicityPrompts --repo-type dataset --local-dir {path}`)")


def files_for(path, subset: str, split: str, lang: str) -> list[Path]:
    return sorted((Path(path) / f"{subset}-{lang}").glob(f"{split}-*.parquet"))


def load(path, subset: str = "ptp", split: str = "small", languages="all",
         limit_per_language: int | None = None) -> tuple[list[dict], list[str]]:
    """-> (rows, languages without files). A row: id, lang, prompt, source_toxicity, toxicity_bucket.

    FilesMissing naming the expected layout when no language has files; UserError for an unreadable file."""
    import pyarrow.parquet as pq

    rows, absent = [], []
    for lang in shared_languages(languages):
        files = files_for(path, subset, split, lang)
        if not files:
            absent.append(lang)
            continue
        taken = 0
        for file in files:
            try:
                table = pq.read_table(file)
            except Exception as err:  # pyarrow raises several types for a truncated or foreign file
                raise UserError(f"{file}: not a readable parquet file ({type(err).__name__})") from None
            if "prompt" not in table.column_names:
                raise UserError(f"{file}: no column 'prompt' (columns: {', '.join(table.column_names)}); "
                                f"expected PolygloToxicityPrompts' published columns")
            data = table.to_pylist()
            for i, record in enumerate(data):
                if limit_per_language is not None and taken >= limit_per_language:
                    break
                prompt = record.get("prompt")
                if not isinstance(prompt, str) or not prompt.strip():
                    raise UserError(f"{file}: row {i}: 'prompt' is empty or not a string")
                meta_lang = (record.get("meta_data") or {}).get("lang") if isinstance(record.get("meta_data"), dict) \
                    else None
                if meta_lang and meta_lang != lang:
                    raise UserError(f"{file}: row {i}: meta_data.lang is {meta_lang!r} in the {lang!r} folder")
                rows.append({"id": f"ptp-{subset}-{split}-{lang}-{file.stem}-{i}", "lang": lang, "prompt": prompt,
                             "source_toxicity": record.get("toxicity"),
                             "toxicity_bucket": record.get("toxicity_bucket")})
                taken += 1
    if not rows:
        raise FilesMissing(f"PolygloToxicityPrompts: no files for {', '.join(absent) or 'any language'}; "
                        f"expected {expected_layout(path, subset, split)}")
    return rows, absent
