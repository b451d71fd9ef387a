"""`split`: train/test by (category, style) group, never splitting a group, test = N per category per language.

Per category, groups are taken into test in a seeded order until every language has at least N test records of
that category; the test records of each (language, category) are then cut to exactly N in a seeded order. Records
cut away are in neither split: they share a group with test records, so training on them would leak the test
groups. At least one group per category stays in train, or the step stops and says so. Last, a train record whose
prompt (normalised) is a test prompt of its language, from whatever group, is dropped too (`leakage`).
"""

from __future__ import annotations

import random
from collections import defaultdict

from data_tools.errors import UserError
from data_tools.steps.common import stable_hash, stable_int
from data_tools.steps.layout import read_step_records, write_jsonl_atomic
from data_tools.steps.leakage import repeats_test_prompt


def choose_test_groups(records: list[dict], target: int, seed: int) -> set[str]:
    count = defaultdict(int)                      # (lang, category, style) -> records
    langs_of = defaultdict(set)                   # category -> languages with records
    styles_of = defaultdict(set)                  # category -> styles with records
    for rec in records:
        count[(rec["lang"], rec["category"], rec["style"])] += 1
        langs_of[rec["category"]].add(rec["lang"])
        styles_of[rec["category"]].add(rec["style"])
    test_groups: set[str] = set()
    if target == 0:
        return test_groups
    for category in sorted(styles_of):
        styles = sorted(styles_of[category])
        random.Random(stable_int(seed, "split", category)).shuffle(styles)
        have = defaultdict(int)
        taken = 0
        for style in styles:
            short = [lang for lang in sorted(langs_of[category]) if have[lang] < target]
            if not short:
                break
            if taken == len(styles) - 1:
                raise UserError(
                    f"split: category {category} has too few records in language {short[0]} to hold out "
                    f"{target} for test while keeping a training group; lower split.test_per_category or "
                    f"generate more (generate.per_cell)")
            test_groups.add(f"{category}/{style}")
            taken += 1
            for lang in langs_of[category]:
                have[lang] += count[(lang, category, style)]
    return test_groups


def assign_splits(records: list[dict], target: int, seed: int) -> tuple[list[dict], int]:
    """-> (records with `split` set, number of test-group records cut to keep test at exactly `target`)."""
    test_groups = choose_test_groups(records, target, seed)
    by_cell = defaultdict(list)
    for rec in records:
        if rec["group"] in test_groups:
            by_cell[(rec["lang"], rec["category"])].append(rec)
    keep_test = set()
    for cell_records in by_cell.values():
        ordered = sorted(cell_records, key=lambda r: stable_hash(seed, "test-order", r["id"]))
        keep_test.update(r["id"] for r in ordered[:target])
    out, cut = [], 0
    for rec in records:
        if rec["group"] not in test_groups:
            out.append(dict(rec, split="train"))
        elif rec["id"] in keep_test:
            out.append(dict(rec, split="test"))
        else:
            cut += 1
    return out, cut


def drop_test_repeats(records: list[dict]) -> tuple[list[dict], list[str]]:
    """Records without the train ones that repeat a test prompt of their language; -> (kept, dropped ids)."""
    dropped = {train["id"] for train, _ in repeats_test_prompt(records)}
    return [rec for rec in records if rec["id"] not in dropped], sorted(dropped)


def run_split(ctx) -> dict:
    records = read_step_records(ctx.build.filtered, "filter")
    out, cut = assign_splits(records, ctx.cfg.split.test_per_category, ctx.cfg.seed)
    out, repeats = drop_test_repeats(out)
    write_jsonl_atomic(ctx.build.split, out)
    counts = defaultdict(int)
    for rec in out:
        counts[rec["split"]] += 1
    groups = {s: sorted({r["group"] for r in out if r["split"] == s}) for s in ("train", "test")}
    report = {"train": counts["train"], "test": counts["test"], "cut_from_test_groups": cut,
              "dropped_repeating_test_prompts": len(repeats), "dropped_ids": repeats,
              "test_groups": groups["test"], "train_groups": len(groups["train"]), "output": ctx.build.split.name}
    return report
