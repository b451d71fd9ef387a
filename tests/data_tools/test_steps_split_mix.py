"""Split by (category, style) group with exact test counts, and the training mixes."""

from __future__ import annotations

from collections import Counter

import pytest

from data_tools.errors import UserError
from data_tools.schema import make_record
from data_tools.steps.mix import build_mix, default_mix_names
from data_tools.steps.split import assign_splits


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
    mixed = build_mix(train, "balanced", ("en", "de"), balance=True, seed=0)
    per_lang = Counter(r["lang"] for r in mixed)
    assert set(per_lang.values()) == {24}
    en_categories = Counter(r["category"] for r in mixed if r["lang"] == "en")
    assert en_categories == {"S1": 12, "S2": 12}
    assert len(build_mix(train, "balanced", ("en",), balance=False, seed=0)) == len(train)
    assert {r["lang"] for r in build_mix(train, "high_resource", ("en", "de"), True, 0)} == {"en", "de"}
    assert {r["lang"] for r in build_mix(train, "single:lv", ("en",), True, 0)} == {"lv"}
    with pytest.raises(UserError, match="no training records"):
        build_mix(train, "single:pl", ("en",), True, 0)


def test_default_mixes_follow_the_built_languages():
    assert default_mix_names(("en", "de"), ("en", "de", "fr")) == [
        "balanced", "high_resource", "en_only", "no_en", "single:en", "single:de"]
    assert default_mix_names(("lv",), ("en",)) == ["balanced", "no_en", "single:lv"]
