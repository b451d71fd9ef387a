"""What a run trains and validates on, beyond the paper's harmful pairs: a share of benign pairs against
over-refusal, and a validation split carved from the training data.

    harmful train records (select_records, data.limit)    benign pairs (data.benign_path, the mix's languages)
            |                                                      |
            +---- carve_validation: whole groups held out ---------+---> validation (harmful + benign)
            |                                                      |
            +---- train: harmful + mix_benign(data.benign_ratio) --+

Pure functions of records (no jax), seeded by `data.shuffle_seed`, so a run's mix is reproducible and testable.
Groups are held out whole: a harmful group is a (category, style) cell, as in the paper's train/test split, and
in parallel data one group holds every translation of its prompts, so no validation prompt is trained on in
another language.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from typing import Sequence

import numpy as np

from data_tools.errors import UserError


@dataclasses.dataclass(frozen=True)
class Mixture:
    train: list[dict]
    validation: list[dict]
    benign_ids: frozenset[str]  # ids of the benign records among train + validation

    def summary(self) -> str:
        def count(records):
            benign = sum(r["id"] in self.benign_ids for r in records)
            return f"{len(records) - benign} harmful + {benign} benign"

        text = f"train {count(self.train)}"
        return text + (f", validation {count(self.validation)} (held-out training groups)" if self.validation else "")


def benign_count(n_harmful: int, ratio: float) -> int:
    """Benign pairs to add to `n_harmful` so that they are `ratio` of the result."""
    return int(round(n_harmful * ratio / (1.0 - ratio)))


def carve_validation(records: Sequence[dict], fraction: float, seed: int) -> tuple[list[dict], list[dict]]:
    """(kept, held out): whole groups, in a seeded order, until at least `fraction` of the records are held out.
    Keeps at least one group for training."""
    if fraction <= 0 or not records:
        return list(records), []
    sizes = Counter(r["group"] for r in records)
    groups = sorted(sizes)
    if len(groups) < 2:
        raise UserError(f"key 'validation.fraction': {len(groups)} group(s) cannot be split into training and "
                        f"validation (groups are held out whole)")
    held, n = set(), 0
    for i in np.random.default_rng(seed).permutation(len(groups)):
        if n >= fraction * len(records) or len(held) == len(groups) - 1:
            break
        held.add(groups[i])
        n += sizes[groups[i]]
    return [r for r in records if r["group"] not in held], [r for r in records if r["group"] in held]


def mix_benign(harmful: Sequence[dict], benign: Sequence[dict], ratio: float, seed: int,
               source: str = "benign pairs") -> list[dict]:
    """Benign records to train beside `harmful`: in each language, `ratio` of that language's training pairs,
    drawn (seeded, without replacement) from `benign`. A language short of benign pairs is an error."""
    if ratio <= 0:
        return []
    pools: dict[str, list[dict]] = defaultdict(list)
    for rec in benign:
        pools[rec["lang"]].append(rec)
    rng = np.random.default_rng(seed)
    out = []
    for lang, n_harmful in sorted(Counter(r["lang"] for r in harmful).items()):
        want, pool = benign_count(n_harmful, ratio), pools.get(lang, [])
        if want > len(pool):
            raise UserError(f"{source}: key 'data.benign_ratio' = {ratio} needs {want} benign pairs in '{lang}' "
                            f"beside {n_harmful} harmful ones, but {len(pool)} are available for training")
        out.extend(pool[i] for i in sorted(rng.permutation(len(pool))[:want]))
    return out


def build_mixture(harmful: Sequence[dict], benign: Sequence[dict], *, benign_ratio: float,
                  validation_fraction: float, seed: int, source: str = "benign pairs") -> Mixture:
    """The run's training and validation records. Benign pairs are held out for validation only when benign
    pairs are trained on (the over-refusal they guard against is then part of the objective)."""
    benign = list(benign) if benign_ratio > 0 else []
    seeds = np.random.SeedSequence(seed).spawn(3)  # independent draws: changing one part leaves the others
    harm_train, harm_val = carve_validation(harmful, validation_fraction, int(seeds[0].generate_state(1)[0]))
    ben_pool, ben_val = carve_validation(benign, validation_fraction, int(seeds[1].generate_state(1)[0]))
    ben_train = mix_benign(harm_train, ben_pool, benign_ratio, int(seeds[2].generate_state(1)[0]), source)
    ids = Counter(r["id"] for r in list(harmful) + benign)
    repeated = [i for i, n in ids.items() if n > 1]
    if repeated:
        raise UserError(f"{source}: record id {repeated[0]!r} occurs in both the harmful and the benign data")
    return Mixture(train=harm_train + ben_train, validation=harm_val + ben_val,
                   benign_ids=frozenset(r["id"] for r in benign))
