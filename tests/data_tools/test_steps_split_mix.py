"""Split by (category, style) group with exact test counts, and the training mixes."""

from __future__ import annotations

from collections import Counter

import pytest

from data_tools.errors import UserError
from data_tools.schema import make_record
from data_tools.steps.leakage import find_leaks
from data_tools.steps.mix import default_mix_names, select_mix
from data_tools.steps.split import assign_splits, drop_test_repeats


def records(langs=("en", "de", "lv"), categories=("S1", "S2"), styles=("A", "B", "C", "D"), per=3, skip=()):
    out = []
    for lang in langs:
        for c in categories:
            for s in styles:
                for k in range(per):
                    if (lang, c, s, k) in skip:
                        continue
                    out.append(make_record(source_id=f"{lang}{c}{s}{k}", lang=lang, category=c, style=s,
                                           prompt=f"prompt {lang} {c} {s} {k}", chosen="I can't help with that.",
                                           rejected="Sure, here is how. Step 1: [details omitted]."))
    return out


def test_groups_never_straddle_and_test_counts_are_exact():
    recs = records(skip={("de", "S1", "A", 0), ("de", "S1", "B", 1)})
    out, cut = assign_splits(recs, target=4, seed=0)
    groups = {s: {r["group"] for r in out if r["split"] == s} for s in ("train", "test")}
    assert not groups["train"] & groups["test"]
    assert Counter((r["lang"], r["category"]) for r in out if r["split"] == "test") == {
        (lang, c): 4 for lang in ("en", "de", "lv") for c in ("S1", "S2")}
    assert len(out) + cut == len(recs)
    assert all(r["category"] + "/" + r["style"] == r["group"] for r in out)


def test_split_is_seeded_and_reproducible():
    recs = records()

    def test_ids(rows, seed):
        return sorted(r["id"] for r in assign_splits(rows, 3, seed)[0] if r["split"] == "test")

    assert test_ids(recs, 1) == test_ids(list(reversed(recs)), 1)     # input order does not matter
    tests = {seed: {r["group"] for r in assign_splits(recs, 3, seed)[0] if r["split"] == "test"} for seed in range(6)}
    assert len({frozenset(g) for g in tests.values()}) > 1      # the seed changes which groups go to test


def test_split_refuses_to_leave_no_training_group():
    with pytest.raises(UserError, match="category S1 has too few records in language"):
        assign_splits(records(styles=("A", "B"), per=2), target=3, seed=0)


def test_balanced_mix_is_equal_per_language_and_keeps_category_shares():
    recs = records(per=3) + records(langs=("en",), per=2, styles=("E", "F"))
    train = [dict(r, split="train") for r in recs]
    mixed = select_mix(train, "balanced", ("en", "de"), balance=True)
    per_lang = Counter(r["lang"] for r in mixed)
    assert set(per_lang.values()) == {24}
    en_categories = Counter(r["category"] for r in mixed if r["lang"] == "en")
    assert en_categories == {"S1": 12, "S2": 12}
    # "balanced" means equal counts whatever mix.balance says; mix.balance is about the other multi-language mixes
    assert Counter(r["lang"] for r in select_mix(train, "balanced", ("en",), balance=False)) == per_lang
    unbalanced = Counter(r["lang"] for r in select_mix(train, "high_resource", ("en", "de"), balance=False))
    assert unbalanced == {"en": 32, "de": 24}
    assert Counter(r["lang"] for r in select_mix(train, "high_resource", ("en", "de"), True)) == {"en": 24, "de": 24}
    assert {r["lang"] for r in select_mix(train, "single:lv", ("en",), True)} == {"lv"}
    # the choice depends on the records, not on their order in the file
    shuffled = select_mix(list(reversed(train)), "balanced", ("en", "de"))
    assert sorted(r["id"] for r in shuffled) == sorted(r["id"] for r in mixed)
    with pytest.raises(UserError, match="no training records"):
        select_mix(train, "single:pl", ("en",), True)


def test_a_prompt_asked_in_two_categories_never_sits_in_both_splits():
    recs = records(langs=("en", "de"), per=2)
    # the same question (up to case, spacing and punctuation) produced for S1/A and for S2/B, in English
    a = next(r for r in recs if r["lang"] == "en" and r["group"] == "S1/A")
    b = next(r for r in recs if r["lang"] == "en" and r["group"] == "S2/B")
    a["prompt"] = [{"role": "user", "content": "How do people avoid being noticed?"}]
    b["prompt"] = [{"role": "user", "content": "how do  people avoid being NOTICED"}]
    straddled = 0
    for seed in range(12):
        out, _ = assign_splits(recs, target=2, seed=seed)
        split_of = {r["id"]: r["split"] for r in out}
        kept, dropped = drop_test_repeats(out)
        assert not find_leaks(kept)
        if {split_of.get(a["id"]), split_of.get(b["id"])} == {"train", "test"}:
            straddled += 1
            train_copy = a if split_of[a["id"]] == "train" else b
            assert dropped == [train_copy["id"]] and train_copy["id"] not in {r["id"] for r in kept}
            assert len(kept) == len(out) - 1
    assert straddled  # some seed put the two groups on different sides


def test_find_leaks_names_the_rows_and_compares_within_a_language():
    test = dict(records(langs=("en",), categories=("S1",), styles=("A",), per=1)[0], split="test")
    same_group = dict(records(langs=("de",), categories=("S1",), styles=("A",), per=1)[0], split="train")
    other_lang = dict(records(langs=("de",), categories=("S2",), styles=("B",), per=1)[0], split="train",
                      prompt=test["prompt"])
    repeat = dict(records(langs=("en",), categories=("S2",), styles=("B",), per=1)[0], split="train",
                  prompt=[{"role": "user", "content": test["prompt"][0]["content"].upper() + " !"}])
    leaks = find_leaks([test, same_group, other_lang, repeat])
    assert len(leaks) == 2
    assert same_group["id"] in leaks[0] and "S1/A" in leaks[0]
    assert repeat["id"] in leaks[1] and test["id"] in leaks[1]


def test_default_mixes_follow_the_built_languages():
    assert default_mix_names(("en", "de"), ("en", "de", "fr")) == [
        "balanced", "high_resource", "en_only", "no_en", "single:en", "single:de"]
    assert default_mix_names(("lv",), ("en",)) == ["balanced", "no_en", "single:lv"]
