"""The bundled data: harmful sample, benign training pairs, benign evaluation prompts (data_tools/sample)."""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter, defaultdict

import pytest

from data_tools.benign import KINDS, read_benign_prompts
from data_tools.errors import UserError
from data_tools.sample import BENIGN_EVAL_PATH, BENIGN_PAIRS_PATH, SAMPLE_PATH
from data_tools.sample.refusals import REFUSALS
from data_tools.schema import make_record, read_records, validate_record
from data_tools.taxonomy import (ATTACK_STYLE_NAMES, BENIGN, BENIGN_STYLES, LANGUAGES, LLAMA_GUARD3, TAXONOMIES)


def norm(text: str) -> str:
    """Case-, whitespace- and punctuation-folded text: two prompts that differ only in those are the same prompt."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(ch if ch.isalnum() else " " for ch in text)
    return " ".join(text.split())


def prompt_text(row: dict) -> str:
    return row["prompt"][-1]["content"]


@pytest.fixture(scope="module")
def harmful():
    return read_records(SAMPLE_PATH, taxonomy=LLAMA_GUARD3)


@pytest.fixture(scope="module")
def pairs():
    return read_records(BENIGN_PAIRS_PATH, taxonomy=LLAMA_GUARD3)


@pytest.fixture(scope="module")
def evals():
    return read_benign_prompts(BENIGN_EVAL_PATH)


def assert_parallel(rows, same_keys):
    by_source = defaultdict(list)
    for row in rows:
        by_source[row["source_id"]].append(row)
    for source_id, group in by_source.items():
        assert sorted(r["lang"] for r in group) == sorted(LANGUAGES), source_id
        for key in same_keys:
            assert len({r[key] for r in group}) == 1, (source_id, key)
    return by_source


# ---------------------------------------------------------------------------------------------- harmful sample


def test_harmful_sample_counts_per_language_and_split(harmful):
    counts = Counter((r["lang"], r["split"]) for r in harmful)
    for lang in LANGUAGES:
        assert counts[lang, "train"] >= 36 and counts[lang, "test"] >= 12, lang
        assert counts[lang, "train"] + counts[lang, "test"] >= 48, lang


def test_harmful_sample_is_parallel_and_covers_safe_categories_and_styles(harmful):
    by_source = assert_parallel(harmful, ("category", "style", "group", "split"))
    assert len(by_source) * len(LANGUAGES) == len(harmful)
    categories = {r["category"] for r in harmful}
    assert len(categories) >= 10 and not categories & {"S3", "S4", "S12"}
    styles = {r["style"] for r in harmful}
    assert len(styles) >= 6 and styles <= set(ATTACK_STYLE_NAMES) and "Misspellings" not in styles


def test_test_split_is_by_group_spread_and_never_leaks_a_prompt(harmful):
    train = {r["group"] for r in harmful if r["split"] == "train"}
    test = {r["group"] for r in harmful if r["split"] == "test"}
    assert len(test) >= 12 and not train & test
    # spread: most categories and every style appear among the held-out groups
    assert len({g.split("/")[0] for g in test}) >= 10
    assert {g.split("/")[1] for g in test} == {r["style"] for r in harmful}
    for lang in LANGUAGES:
        seen = {split: {norm(prompt_text(r)) for r in harmful if r["lang"] == lang and r["split"] == split}
                for split in ("train", "test")}
        assert not seen["train"] & seen["test"], lang
    assert len({(r["lang"], norm(prompt_text(r))) for r in harmful}) == len(harmful)  # no duplicate prompt


def test_refusals_are_varied_and_in_the_prompts_language(harmful):
    for lang in LANGUAGES:
        chosen = [r["chosen"][0]["content"] for r in harmful if r["lang"] == lang]
        assert len(set(chosen)) >= 6, lang
        assert set(chosen) <= set(REFUSALS[lang].values()), lang  # the language's own refusal table
        # train shows every refusal that test uses
        train = {r["chosen"][0]["content"] for r in harmful if r["lang"] == lang and r["split"] == "train"}
        assert set(chosen) <= train, lang
    # the phrasebook of each language is distinct from every other's
    texts = [t for lang in LANGUAGES for t in REFUSALS[lang].values()]
    assert len(texts) == len(set(texts))


def test_rejected_is_a_compliance_opener_without_details(harmful):
    for lang in LANGUAGES:
        rejected = [r["rejected"][0]["content"] for r in harmful if r["lang"] == lang]
        openers = {re.split(r"[\s,!]", text, maxsplit=1)[0] for text in rejected}
        assert len(openers) >= 3, (lang, openers)
        for text in rejected:
            # one step whose content is a bracketed placeholder, and nothing after it: no operational content
            assert re.search(r"\b1\b[^\[]*\[[^\]]+\]$", text) and text.count("[") == 1 and len(text) < 200, text
            assert text not in REFUSALS[lang].values()


# ---------------------------------------------------------------------------------------------- benign pairs


def test_benign_pairs_counts_schema_and_parallel(pairs):
    assert {r["category"] for r in pairs} == {BENIGN}
    assert {r["split"] for r in pairs} == {"train"}
    by_source = assert_parallel(pairs, ("style", "group"))
    for source_id, group in by_source.items():
        assert group[0]["group"] == f"{BENIGN}/{source_id.removeprefix('benign-')}"
    for lang in LANGUAGES:
        mine = [r for r in pairs if r["lang"] == lang]
        styles = Counter(r["style"] for r in mine)
        assert len(mine) >= 24 and set(styles) == set(BENIGN_STYLES), lang
        assert min(styles.values()) >= 10, (lang, styles)  # about half look-alikes
        rejected = {r["rejected"][0]["content"] for r in mine}
        assert len(rejected) >= 3 and rejected <= set(REFUSALS[lang].values()), lang
        for r in mine:  # chosen is an answer: not a refusal, a few sentences
            answer = r["chosen"][0]["content"]
            assert answer not in REFUSALS[lang].values() and 60 < len(answer) < 600, answer


def test_every_text_is_in_its_records_language(harmful, pairs, evals):
    """py3langid restricted to the 12 languages, as the build's language check does; code and placeholders are
    left out, and texts under 30 characters are too short to identify reliably (it calls "Proč je obloha
    modrá?" Slovak)."""
    from data_tools.steps.langcheck import detect

    def check(text, lang):
        text = re.sub(r"`[^`]*`|\[[^\]]*\]", " ", text)
        if len(text.strip()) >= 30:
            assert detect(text)[0] == lang, (lang, text)

    for r in harmful + pairs:
        for key in ("prompt", "chosen", "rejected"):
            check(r[key][-1]["content"], r["lang"])
    for r in evals:
        check(prompt_text(r), r["lang"])


# ---------------------------------------------------------------------------------------------- benign eval


def test_benign_eval_counts_kinds_and_parallel(evals):
    by_source = assert_parallel(evals, ("kind", "topic"))
    for source_id, group in by_source.items():
        assert source_id == f"benign-eval-{group[0]['topic']}"
    for lang in LANGUAGES:
        kinds = Counter(r["kind"] for r in evals if r["lang"] == lang)
        assert sum(kinds.values()) >= 14 and kinds["lookalike"] >= 6 and kinds["everyday"] >= 1, lang
    assert {r["kind"] for r in evals} == set(KINDS)


def test_benign_eval_is_disjoint_from_every_training_prompt(harmful, pairs, evals):
    eval_topics = {r["topic"] for r in evals}
    pair_topics = {r["group"].removeprefix(f"{BENIGN}/") for r in pairs}
    assert not eval_topics & pair_topics
    eval_texts = {norm(prompt_text(r)) for r in evals}
    pair_texts = {norm(prompt_text(r)) for r in pairs}
    harmful_texts = {norm(prompt_text(r)) for r in harmful}
    assert len(eval_texts) == len(evals) and len(pair_texts) == len(pairs)
    assert not eval_texts & pair_texts and not eval_texts & harmful_texts and not pair_texts & harmful_texts


def test_read_benign_prompts_errors_name_file_line_and_key(tmp_path, evals):
    good = json.dumps(evals[0], ensure_ascii=False)
    cases = [
        ("{not json", r"b.jsonl:2: malformed JSON"),
        (json.dumps({k: v for k, v in evals[1].items() if k != "kind"}), r"b.jsonl:2: .*missing key 'kind'"),
        (json.dumps(dict(evals[1], kind="harmful")), r"b.jsonl:2: key 'kind' must be one of lookalike, everyday"),
        (json.dumps(dict(evals[1], lang="xx")), r"b.jsonl:2: key 'lang' has unknown language 'xx'"),
        (json.dumps(dict(evals[1], answer="...")), r"b.jsonl:2: unknown key 'answer'"),
        (json.dumps(dict(evals[1], prompt=[{"role": "assistant", "content": "x"}])),
         r"b.jsonl:2: key 'prompt' must end with a 'user' message"),
        (good, r"b.jsonl:2: duplicate benign prompt id"),
    ]
    path = tmp_path / "b.jsonl"
    for line, message in cases:
        path.write_text(good + "\n" + line + "\n", encoding="utf-8")
        with pytest.raises(UserError, match=message):
            read_benign_prompts(path)
    with pytest.raises(UserError, match="no such file"):
        read_benign_prompts(tmp_path / "missing.jsonl")


# ---------------------------------------------------------------------------------------------- schema, build


def test_benign_category_is_a_record_category_but_never_a_hazard_category(pairs):
    assert all(BENIGN not in taxonomy.ids for taxonomy in TAXONOMIES.values())
    rec = dict(pairs[0])
    for bad, message in [(dict(rec, style="Role Play"), "key 'style' of a 'benign' record"),
                         (dict(rec, group="benign/"), "key 'group' of a 'benign' record"),
                         (dict(rec, group="Look-alike/kill-stuck-process"), "key 'group' of a 'benign' record"),
                         (dict(rec, category="S1", group="benign/kill-stuck-process"), "key 'group' must be")]:
        with pytest.raises(UserError, match=message):
            validate_record(bad, "r.jsonl:1", LLAMA_GUARD3)
    made = make_record(source_id="b", lang="en", category=BENIGN, style="Everyday", group="benign/tea",
                       prompt="How do I make tea?", chosen="Boil water, then steep the tea.", rejected="I can't.")
    assert made["group"] == "benign/tea"


def test_data_build_config_rejects_benign_as_a_generation_category():
    from pathlib import Path

    from data_tools.build_config import BuildConfig
    from data_tools.configuration import load_config

    shipped = Path(__file__).parents[2] / "configs" / "data" / "refuseu.yaml"
    with pytest.raises(UserError, match="unknown hazard category 'benign'"):
        load_config(BuildConfig, shipped, ["categories=[S1, benign]"])
    assert "S1" in load_config(BuildConfig, shipped, ["categories=[S1]"]).category_ids


def test_regeneration_is_byte_identical(tmp_path):
    from data_tools.sample.build_sample import write_all

    written = write_all(tmp_path)
    assert [p.name for p in written] == [SAMPLE_PATH.name, BENIGN_PAIRS_PATH.name, BENIGN_EVAL_PATH.name]
    for path, committed in zip(written, (SAMPLE_PATH, BENIGN_PAIRS_PATH, BENIGN_EVAL_PATH)):
        assert path.read_bytes() == committed.read_bytes(), f"{committed.name}: rerun build_sample and commit"
