"""Test leakage: a training record that shares a test record's (category, style) group, or its prompt.

Prompts are compared normalised (case, whitespace, punctuation and accents: `dedup.normalise`) within one language,
whatever category or style produced them: the same question asked in two categories is still the same question.
`split` drops train records that repeat a test prompt; `export` refuses a dataset that still has a leak (a split
file edited by hand, or written by an older version); the trainer checks the group rule again on what it reads.
"""

from __future__ import annotations

from data_tools.steps.dedup import normalise


def prompt_key(rec: dict) -> tuple[str, str]:
    """(language, normalised prompt text): two records with equal keys ask the same question."""
    return rec["lang"], normalise("\n".join(m["content"] for m in rec["prompt"]))


def repeats_test_prompt(records: list[dict]) -> list[tuple[dict, dict]]:
    """(train record, test record it repeats) for every train record whose prompt is a test prompt."""
    test = {}
    for rec in records:
        if rec["split"] == "test":
            test.setdefault(prompt_key(rec), rec)
    return [(rec, test[prompt_key(rec)]) for rec in records
            if rec["split"] == "train" and prompt_key(rec) in test]


def find_leaks(records: list[dict]) -> list[str]:
    """One line per leaking train record: its id, and the test record or group it leaks."""
    test_groups = {rec["group"] for rec in records if rec["split"] == "test"}
    leaks = [f"{rec['id']} (train) is in test group {rec['group']!r}" for rec in records
             if rec["split"] == "train" and rec["group"] in test_groups]
    leaks += [f"{train['id']} (train) repeats the prompt of {test['id']} (test, {test['lang']})"
              for train, test in repeats_test_prompt(records)]
    return leaks
