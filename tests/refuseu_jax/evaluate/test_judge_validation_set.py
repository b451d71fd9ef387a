"""Integrity of the refusal judge's independent validation set (refuseu_jax/evaluate/data/judge_validation).

These tests check the files, not the judge: schema, allowed values, per-language counts and phenomenon spread, no
text shared between dev and test, the safety rule for compliance to harmful prompts, and that the README's count
table is the files' real counts. The set is evidence only while it stays independent of the judge, so nothing here
imports the judge.
"""

import collections
import json
import re
import unicodedata
from importlib import resources

import pytest

LANGS = ("en", "de", "fr", "it", "es", "pt", "pl", "cs", "sk", "sl", "lt", "lv")
LABELS = ("refusal", "compliance", "failure")
# Languages a wrong-language answer may be written in: the 12 plus the neighbours models drift into.
RESPONSE_LANGS = set(LANGS) | {"ru", "uk", "hr", "sr", "none"}
PHENOMENA = {
    "refusal-present", "refusal-future", "refusal-decline", "refusal-bare-no", "refusal-late",
    "refusal-alternative", "refusal-indirect", "refusal-other-language",
    "compliance-harmful-opener", "compliance-apology-opener", "compliance-false-friend", "compliance-disclaimer",
    "compliance-benign", "compliance-benign-negation", "compliance-other-language",
    "failure-babble", "failure-loop", "failure-empty", "failure-soup",
}
FIELDS = {"id", "lang", "prompt", "response", "label", "phenomenon", "response_lang", "harmful_prompt"}
MIN_PER_LANG = {"dev": 12, "test": 28}
# The sealed file must hold the hard cases in every language: (tags, at least this many).
TEST_MIN_PHENOMENA = [
    ({"refusal-future"}, 2),
    ({"refusal-bare-no"}, 1),
    ({"refusal-late"}, 2),
    ({"refusal-indirect"}, 1),
    ({"refusal-decline"}, 1),
    ({"refusal-alternative"}, 1),
    ({"refusal-other-language"}, 1),
    ({"compliance-apology-opener", "compliance-false-friend"}, 2),
    ({"compliance-benign"}, 3),
    ({"compliance-benign-negation"}, 1),
    ({"compliance-harmful-opener"}, 1),
    ({"compliance-disclaimer"}, 1),
    ({"compliance-other-language"}, 1),
    ({"failure-babble"}, 1),
    ({"failure-loop"}, 1),
    ({"failure-empty"}, 1),
    ({"failure-soup"}, 1),
]
PLACEHOLDER = re.compile(r"\[[^\[\]\n]{0,40}\]")


def _data_dir():
    return resources.files("refuseu_jax.evaluate.data").joinpath("judge_validation")


def _read(split):
    rows = []
    for number, line in enumerate(_data_dir().joinpath(f"{split}.jsonl").read_text("utf-8").splitlines(), 1):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as err:
            pytest.fail(f"{split}.jsonl line {number}: not JSON ({err})")
    return rows


def normalise(text):
    """Case-, whitespace- and punctuation-blind form: letters and digits only, single spaces."""
    kept = "".join(c if unicodedata.category(c)[0] in "LN" else " " for c in unicodedata.normalize("NFC", text))
    return " ".join(kept.casefold().split())


@pytest.fixture(scope="module", params=["dev", "test"])
def split_rows(request):
    return request.param, _read(request.param)


def test_schema_and_allowed_values(split_rows):
    split, rows = split_rows
    ids = [row.get("id") for row in rows]
    assert len(ids) == len(set(ids)), "duplicate ids"
    for row in rows:
        assert set(row) == FIELDS, (row.get("id"), set(row) ^ FIELDS)
        where = row["id"]
        assert row["lang"] in LANGS, where
        assert re.fullmatch(rf"{row['lang']}-{split}-\d{{3}}", row["id"]), where
        assert row["label"] in LABELS, where
        assert row["phenomenon"] in PHENOMENA, where
        assert row["phenomenon"].split("-")[0] == row["label"], where
        assert row["response_lang"] in RESPONSE_LANGS, where
        assert isinstance(row["harmful_prompt"], bool), where
        assert isinstance(row["prompt"], str) and normalise(row["prompt"]), where
        assert isinstance(row["response"], str), where


def test_response_language_matches_phenomenon(split_rows):
    _, rows = split_rows
    for row in rows:
        tag, where = row["phenomenon"], row["id"]
        if tag.endswith("-other-language"):
            assert row["response_lang"] not in (row["lang"], "none"), where
        elif tag in ("failure-babble", "failure-empty", "failure-soup"):
            assert row["response_lang"] == "none", where
        elif tag == "failure-loop":
            assert row["response_lang"] != "none", where
        else:
            assert row["response_lang"] == row["lang"], where
        # Empty means nothing but whitespace, punctuation or symbols; everything else has words.
        assert (normalise(row["response"]) == "") == (tag == "failure-empty"), where


def test_counts_per_language(split_rows):
    split, rows = split_rows
    counts = collections.Counter((row["lang"], row["label"]) for row in rows)
    for lang in LANGS:
        assert sum(counts[lang, label] for label in LABELS) >= MIN_PER_LANG[split], (split, lang)
        for label in LABELS:
            assert counts[lang, label] >= 1, (split, lang, label)


def test_hard_cases_in_every_language_of_test():
    rows = _read("test")
    tags = collections.Counter((row["lang"], row["phenomenon"]) for row in rows)
    for lang in LANGS:
        for wanted, at_least in TEST_MIN_PHENOMENA:
            assert sum(tags[lang, tag] for tag in wanted) >= at_least, (lang, sorted(wanted))
        # Roughly balanced: a judge that says "refusal" to everything must not reach the bar.
        labels = collections.Counter(row["label"] for row in rows if row["lang"] == lang)
        assert labels["refusal"] >= 10 and labels["compliance"] >= 10 and labels["failure"] >= 3, (lang, labels)
        # The refusal of a late item sits after a long preamble: past the first 250 characters.
        late = [row["response"] for row in rows if row["lang"] == lang and row["phenomenon"] == "refusal-late"]
        assert max(len(text) for text in late) >= 300, lang


def test_no_duplicates_within_a_file(split_rows):
    split, rows = split_rows
    raw = [row["response"] for row in rows]
    assert len(raw) == len(set(raw)), f"{split}: identical responses"
    texts = collections.Counter(normalise(text) for text in raw if normalise(text))
    assert not [text for text, n in texts.items() if n > 1], split
    prompts = collections.Counter(normalise(row["prompt"]) for row in rows)
    assert not [text for text, n in prompts.items() if n > 1], split


def test_dev_and_test_share_no_text():
    dev, test = _read("dev"), _read("test")
    for field in ("response", "prompt"):
        shared = {normalise(row[field]) for row in dev} & {normalise(row[field]) for row in test}
        assert shared <= {""}, (field, sorted(shared))
    # Empty-looking failures normalise to "", so compare them raw.
    assert not {row["response"] for row in dev} & {row["response"] for row in test}


def test_compliance_to_harmful_prompts_is_only_an_opener(split_rows):
    # Safety rule of the set: compliance to a harmful request shows that the model went along with it, never how.
    _, rows = split_rows
    for row in rows:
        if row["label"] == "compliance" and row["harmful_prompt"]:
            assert PLACEHOLDER.search(row["response"]), row["id"]
            assert len(PLACEHOLDER.sub("", row["response"])) <= 300, row["id"]


def test_readme_table_matches_the_files():
    readme = _data_dir().joinpath("README.md").read_text("utf-8")
    table = {}
    for split, lang, *numbers in re.findall(r"^\|\s*(dev|test)\s*\|\s*([a-z]{2})\s*\|" + r"\s*(\d+)\s*\|" * 4,
                                            readme, flags=re.M):
        assert (split, lang) not in table, (split, lang)
        table[split, lang] = tuple(int(n) for n in numbers)
    for split in ("dev", "test"):
        counts = collections.Counter((row["lang"], row["label"]) for row in _read(split))
        for lang in LANGS:
            wanted = tuple(counts[lang, label] for label in LABELS)
            assert table.get((split, lang)) == wanted + (sum(wanted),), (split, lang)
    assert len(table) == 2 * len(LANGS)
    for tag in PHENOMENA:
        assert f"`{tag}`" in readme, tag
